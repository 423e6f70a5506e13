"""The pipeline as a list of steps: a prefix runs alone, leaves its findings, and cleans up."""
import json

import nbformat
import pytest

import notebooks
from bugs import BY_NAME
from e2e import build, grade_fast, item
from grader import assignments
from grader.grade.pipeline import DATA_DIR, STEPS, Grading, run
from grader.results.schema import Results

SETTINGS = assignments.load("rnn")
COLAB_CELL = "from google.colab import drive\ndrive.mount('/content/drive')\nx = 1"


def prefix(last):
    """The steps up to and including the one named ``last``."""
    names = [step.name for step in STEPS]
    return STEPS[:names.index(last) + 1]


def test_steps_are_named_once_in_the_order_of_the_design():
    names = [step.name for step in STEPS]
    assert len(set(names)) == len(names)
    assert names.index("find") < names.index("execute") < names.index("judge") < names.index("score") \
        < names.index("policy") < names.index("results")


def test_a_prefix_runs_without_a_kernel_and_leaves_what_it_found(tmp_path):
    path = notebooks.build_submission("module", tmp_path / "sub", extra_cells=[("start", COLAB_CELL)])
    with Grading(path, SETTINGS, seed=5) as grading:
        run(grading, prefix("prepare"))
        assert grading.submission.id == "sub" and grading.box is not None
        assert "cs231n/rnn_layers.py" in grading.files
        assert "drive.mount('/content/drive')" in grading.submitted.cells[0].source  # as handed in
        assert grading.notebook.cells[0].source.splitlines()[1].startswith("pass  # [grader] neutralised drive mount")
        assert {"colab import", "drive mount"} <= set(grading.neutralised[0])
        assert (grading.submission.workdir / DATA_DIR).is_dir()
        assert grading.session is None and grading.verdicts == [] and grading.results is None
        assert list(grading.timings) == ["sandbox_s", "find_s", "prepare_s"]
        assert all(seconds >= 0 for seconds in grading.timings.values())
        work = grading.work_root
        assert nbformat.validate(grading.notebook) is None
    assert not work.exists()  # leaving the context removes the work folder


@pytest.mark.slow
def test_a_full_run_times_every_step_and_its_results_read_back_as_types(tmp_path):
    results = grade_fast(build(tmp_path, "module", replace=BY_NAME["rnn_step_forward_no_bias"].replace))
    assert list(results["execution"]["timings"]) == [step.name + "_s" for step in STEPS]
    assert sum(results["execution"]["timings"].values()) <= results["elapsed_s"] + 0.1
    failed = item(results, "rnn_step_forward")
    assert failed["status"] == "failed" and failed["hint"] and failed["source"]
    assert not any(failed["hint"] in c["message"] for c in failed["checks"])
    stored = json.loads(json.dumps(results))
    assert Results.from_json(stored).to_json() == stored
