"""Helpers for end-to-end tests: build a notebook from the template, grade it for real."""
from pathlib import Path

import nbformat

import notebooks
from grader import assignments
from grader.grade.pipeline import grade

FAST = assignments.load(str(Path(__file__).with_name("fast.toml")))
TRAINING_MARKERS = ("CaptioningSolver(", "small_rnn_model")


def without_training(path):
    """Drop the notebook's own training and sampling cells (the overfit item is off in FAST)."""
    nb_path = path if str(path).endswith(".ipynb") else Path(path) / notebooks.NOTEBOOK_NAME
    nb = nbformat.read(str(nb_path), as_version=4)
    nb.cells = [c for c in nb.cells if not any(m in c.source for m in TRAINING_MARKERS)]
    nbformat.write(nb, str(nb_path))
    return path


def build(tmp_path, form="notebook", solutions="reference", replace=None, extra_cells=None, train=False):
    path = notebooks.build_submission(form, tmp_path / "sub", solutions=solutions, replace=replace,
                                      extra_cells=extra_cells)
    return path if train else without_training(path)


def item(results, name):
    """The results.json entry of item ``name``."""
    return next(i for i in results["items"] if i["name"] == name)


def statuses(results):
    return {i["name"]: i["status"] for i in results["items"]}


def failing(results):
    return {name for name, status in statuses(results).items() if status != "passed"}


def grade_fast(path, seed=3, **kwargs):
    return grade(path, FAST, seed=seed, **kwargs)
