"""Whose failure is it: the user's input (exit 2), the grader's own (exit 1), or the student's (an
item's status). One mapping turns an exception into what the CLI, the batch and Gradescope report."""
import json
from functools import partial

import nbformat
import numpy as np
import pytest

from grader import assignments, cli
from grader.assignments.calibrate import reference_namespace
from grader.check.judge import Judge
from grader.classroom import runner, worker
from grader.errors import KernelStartError, ProbeUnavailable, UsageError, failure
from grader.export import gradescope
from grader.grade.execute import CappedClient, KernelSession
from grader.grade.kernel_probe import Opaque
from grader.grade.probe import LocalBackend, ProbeReply, ReplyKind
from reference.captioning_rnn import CaptioningRNN

BY_NAME = {item.name: item for item in assignments.load("rnn").items}

SETTINGS = assignments.load("rnn")


@pytest.mark.parametrize("exc, kind, status, message", [
    (UsageError("x.ipynb: no such file or folder"), "usage", 2, "x.ipynb: no such file or folder"),
    (KernelStartError("the kernel did not start (isolation: rlimits): Kernel died"), "internal", 1,
     "internal error: the kernel did not start (isolation: rlimits): Kernel died"),
    (TypeError("unsupported operand\n  for +"), "internal", 1, "internal error: TypeError: unsupported operand for +"),
    (RuntimeError(), "internal", 1, "internal error: RuntimeError"),
    (ProbeUnavailable("could not install the probe"), "internal", 1, "internal error: could not install the probe"),
])
def test_failure_record_says_whose_fault_in_one_line(exc, kind, status, message):
    record = failure(exc)
    assert (record.kind, record.exit_status, record.message) == (kind, status, message)


# ------------------------------------------------------------------------ the student's values
class Tampered:
    """The reference's replies, with ``edit(values)`` applied to every part of every batch."""

    def __init__(self, edit):
        self.inner, self.edit = LocalBackend(reference_namespace()), edit

    def request(self, op, timeout, **fields):
        reply = self.inner.request(op, timeout, **fields)
        for part in reply.values.get("results", []):
            self.edit(part.values)
        return reply


HOSTILE = [None, "text", [1.0, [2.0, 3.0]], {"a": 1.0}, Opaque("function"), np.array(["a"]), np.ones(0),
           np.float64("nan"), True, 10**30, np.ones(3, dtype=complex)]


def returning(value, values):
    """What student code chose, replaced by ``value``; what the probe built around it kept."""
    for key in ("forward", "backward"):
        if key in values:
            values[key] = [value] * len(values[key])
    values.update({key: value for key in ("loss", "grads", "captions") if key in values})


@pytest.mark.parametrize("value", HOSTILE, ids=repr)
def test_whatever_student_code_returns_gets_a_verdict(value):
    judge = Judge(Tampered(partial(returning, value)), SETTINGS, 3, public_only=True)
    for graded in SETTINGS.items:
        if graded.kind not in ("manual", "overfit"):
            assert judge.judge(graded).status in ("failed", "error", "not_implemented"), graded.name


def test_a_loss_that_is_no_number_fails_with_what_it_was():
    class Model(CaptioningRNN):
        def loss(self, features, captions=None):
            return object(), {}
    verdict = Judge(LocalBackend(dict(reference_namespace(), CaptioningRNN=Model)), SETTINGS, 3).judge(
        BY_NAME["CaptioningRNN.loss"])
    assert verdict.status == "error" and verdict.problem.startswith("numeric gradient raised TypeError")
    assert "loss should be an array, got a object" in [c.message for c in verdict.checks]


def test_parameters_replaced_by_the_loss_are_the_students_error():
    def shrink(values):
        for name, (plus, minus) in values.get("perturbed", {}).items():
            values["perturbed"][name] = [plus[:1], minus[:1]]
    verdict = Judge(Tampered(shrink), SETTINGS, 3).judge(BY_NAME["CaptioningRNN.loss"])
    assert verdict.status == "error"
    assert "has 1 values after your loss ran, expected" in verdict.problem, verdict.problem


def test_training_losses_that_are_arrays_are_the_students_error():
    reply = ProbeReply(ReplyKind.OK, {"loss_history": np.ones((40, 2)), "train_seconds": 3.0})

    class Backend:
        def request(self, op, timeout, **fields):
            return reply
    verdict = Judge(Backend(), SETTINGS, 3).judge(BY_NAME["overfit_small_data"])
    assert verdict.status == "error"
    assert verdict.problem == ("loss returned an array of shape (2,) and dtype float64 during training; "
                               "it should return a number")


# ------------------------------------------------------------------------ the grader's own failures
@pytest.mark.parametrize("name, function, exc", [("rnn_step_forward", "layer.compare", TypeError),
                                                 ("CaptioningRNN.sample", "model.check_sample", KeyError)])
def test_a_grader_bug_propagates_instead_of_failing_the_student(monkeypatch, name, function, exc):
    def broken(*args, **kwargs):
        raise exc("grader bug")
    monkeypatch.setattr("grader.check.kinds." + function, broken)
    with pytest.raises(exc, match="grader bug"):
        Judge(LocalBackend(reference_namespace()), SETTINGS, 3).judge(BY_NAME[name])


@pytest.mark.slow
def test_a_grader_bug_during_grading_is_exit_1_with_one_line(tmp_path, monkeypatch, capsys):
    source = ("import numpy as np\n"
              "def rnn_step_forward(x, prev_h, Wx, Wh, b):\n"
              "    return np.tanh(x @ Wx + prev_h @ Wh + b), None\n")
    notebook = tmp_path / "student.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source)]), str(notebook))

    def broken(*args, **kwargs):
        raise TypeError("grader bug")
    monkeypatch.setattr("grader.check.kinds.layer.compare", broken)
    with pytest.raises(SystemExit) as exit:
        cli.main([str(notebook), "--public-only", "--out", str(tmp_path / "out")])
    assert exit.value.code == 1
    assert capsys.readouterr().err.splitlines()[-1:] == ["grade: internal error: TypeError: grader bug"]
    assert not (tmp_path / "out" / "student").exists()


def test_a_kernel_that_does_not_start_is_the_graders_failure(tmp_path, monkeypatch):
    def died(self, **kwargs):
        raise RuntimeError("Kernel died before replying to kernel_info")
    monkeypatch.setattr(CappedClient, "setup_kernel", died)
    (tmp_path / "submission").mkdir()
    with pytest.raises(KernelStartError) as raised:
        with KernelSession(tmp_path / "submission"):
            pass
    assert failure(raised.value).message == ("internal error: the kernel did not start (isolation: rlimits): "
                                             "Kernel died before replying to kernel_info")


def test_an_unreachable_scheduler_is_a_usage_error(monkeypatch):
    distributed = pytest.importorskip("distributed")

    def unreachable(address, timeout):
        raise OSError("Timed out trying to connect to %s after %d s" % (address, timeout))
    monkeypatch.setattr(distributed, "Client", unreachable)
    with pytest.raises(UsageError, match="cannot reach the Dask scheduler at tcp://10.0.0.1:8786: Timed out"):
        runner.run_dask("tcp://10.0.0.1:8786", [], on_done=None)


# ------------------------------------------------------------------------ the batch and Gradescope
@pytest.mark.parametrize("exc, record", [
    (UsageError("x.zip is not a valid zip file"), {"error": "x.zip is not a valid zip file", "cache": True}),
    (ValueError("bad"), {"error": "internal error: ValueError: bad", "cache": False}),
])
def test_a_batch_worker_records_the_failure_and_caches_only_the_students(monkeypatch, exc, record):
    def grade(*args, **kwargs):
        raise exc
    monkeypatch.setattr(worker, "grade", grade)
    spec = {"path": "x.zip", "assignment": "rnn", "seed": 1}
    assert worker.grade_spec(spec) == record


def test_gradescope_gives_the_student_a_result_and_the_staff_a_traceback(tmp_path, monkeypatch, capsys):
    def grade(*args, **kwargs):
        raise ValueError("grader bug")
    monkeypatch.setattr(gradescope, "grade", grade)
    assert gradescope.main(["run", str(tmp_path), str(tmp_path / "results" / "results.json")]) == 0
    result = json.loads((tmp_path / "results" / "results.json").read_text())
    assert result["score"] == 0 and result["output"].endswith("internal error: ValueError: grader bug")
    assert "Traceback" in capsys.readouterr().err


def test_gradescope_entry_point_refuses_bad_arguments_with_exit_2(capsys):
    assert gradescope.main(["run"]) == 2
    assert capsys.readouterr().err.startswith("grader.export.gradescope: error: ")
