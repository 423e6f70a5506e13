"""Helpers for the student-kit tests: kits built once per test process and imported from
their folder, and what the kit and the grader's pre-check say, in one comparable form."""
from __future__ import annotations

import atexit
import contextlib
import functools
import importlib
import os
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np

from grader import assignments
from grader.check.judge import Judge
from grader.check.kinds import kind_of
from grader.kit.build import build_kit, package_name

# A last cell a student left in the notebook: a minute more of training (the pre-checks skip it).
LONG_TRAINING = '''
import time
began = time.time()
while time.time() - began < 60:
    small_rnn_solver.train()  # the NumPy and the PyTorch solver alike
'''


@functools.lru_cache(maxsize=None)
def kit_folder(assignment="rnn"):
    """A folder holding the kit of ``assignment`` (built once, removed at exit)."""
    folder = Path(tempfile.mkdtemp(prefix="kit-test-"))
    atexit.register(shutil.rmtree, folder, True)
    build_kit(folder, assignment)
    return folder


def kit_module(assignment="rnn", module="session"):
    """A module of the built kit, imported from its folder as a student's notebook would."""
    folder = str(kit_folder(assignment))
    if folder not in sys.path:
        sys.path.insert(0, folder)
    return importlib.import_module("%s.%s" % (package_name(assignments.load(assignment)), module))


def kit_text(assignment="rnn"):
    """Every text the kit holds: its files and the JSON inside its data."""
    package = kit_folder(assignment) / package_name(assignments.load(assignment))
    texts = [p.read_text() for p in sorted(package.rglob("*")) if p.suffix in (".py", ".md")]
    with np.load(package / "data" / "public.npz") as data:
        texts.append(data["json"].tobytes().decode())
    return "\n".join(texts)


def kit_buffers(assignment="rnn"):
    """{dtype: the kit's numbers of that dtype, one array}."""
    with np.load(kit_folder(assignment) / package_name(assignments.load(assignment)) / "data" / "public.npz") as data:
        return {key: data[key] for key in data.files if key.startswith("buffer ")}


def sample_seed(assignment="rnn"):
    """The seed whose public sampling case the kit holds (grade --public-only --seed gives the same)."""
    kit = kit_module(assignment).Kit(kit_module(assignment).DATA)
    return next((i["cases"][0]["seed"] for i in kit.items if i["kind"] == "sample"), 0)


def view(status, checks, notes, problem, hint):
    """What both sides must agree on: the status, each check's name, verdict and message, the
    notes, the first line of the problem (tracebacks name different files) and the hint."""
    return status, [tuple(c) for c in checks], list(notes), (problem or "").split("\n")[0], hint or None


def of_verdict(verdict):
    hint = next((c.hint for c in verdict.checks if not c.passed and c.hint), None)  # as results.json's
    return view(verdict.status, [(c.name, c.passed, c.message) for c in verdict.checks], verdict.notes,
                verdict.problem, hint)


def of_results(item):
    """The same view of a results.json item."""
    return view(item["status"], [(c["name"], c["passed"], c["message"]) for c in item["checks"]], item["notes"],
                item["message"], item["hint"])


def kit_views(assignment, namespace):
    """{item: view} of the kit's checks on the functions in ``namespace`` (a dict, or a list of
    dicts searched in order: a PyTorch submission's notebook and cs231n modules)."""
    spaces = namespace if isinstance(namespace, list) else [namespace]
    return {item["name"]: of_verdict(verdict)
            for item, verdict in kit_module(assignment).verdicts(spaces[0], None, spaces[1:])}


def grader_views(assignment, namespace):
    """{item: view} of the grader's public checks (``grade --public-only``'s judge), in-process."""
    settings = assignments.load(assignment)
    judge = Judge(settings.local_backend(namespace), settings, sample_seed(assignment), public_only=True)
    return {item.name: of_verdict(judge.judge(item)) for item in settings.items
            if item.kind != "manual" and kind_of(item).has_public(item)}


@contextlib.contextmanager
def notebook_process(folder):
    """A notebook's process, in this one: no ``cs231n`` imported yet (another test's may be), and
    what running the notebook changes undone afterwards: the working folder, sys.path and the
    student's ``cs231n`` modules."""
    cwd, path = os.getcwd(), list(sys.path)
    _forget_cs231n()
    try:
        yield
    finally:
        os.chdir(cwd)
        sys.path[:] = path
        _forget_cs231n()


def _forget_cs231n():
    for name in [m for m in sys.modules if m == "cs231n" or m.startswith("cs231n.")]:
        del sys.modules[name]


def agreeing_views(assignment, namespace):
    """The kit's views of ``namespace``'s items, after asserting they are the grader pre-check's."""
    grader, kit = grader_views(assignment, namespace), kit_views(assignment, namespace)
    assert list(kit) == list(grader)
    for name in grader:
        assert kit[name] == grader[name], name
    return kit
