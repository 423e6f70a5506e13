"""A function of the grader's that stands in for a failing one of the student's, and cannot run
on what the student's code passes it, is reported as that, without the grader's traceback."""
import numpy as np
import pytest

import bugs
import bugs_lstm
from grader import assignments
from grader.check.judge import Judge
from grader.grade import kernel_probe
from grader.grade.probe import LocalBackend
from test_judge_bugs import namespace_with

JUDGED = ("layer", "model_loss", "sample")


def judged(assignment, replace, seed=7):
    """{item name: verdict} of the items judged in-process."""
    settings = assignments.load(assignment)
    judge = Judge(LocalBackend(namespace_with(replace)), settings, seed)
    return {item.name: judge.judge(item) for item in settings.items if item.kind in JUDGED}


# A submission whose rnn_step_forward fails while its rnn_forward computes the steps inline and
# keeps its own cache: rnn_backward builds step caches in its own layout for rnn_step_backward.
OWN_LAYOUT = {
    "rnn_step_forward": bugs.RNN_STEP_FORWARD_NO_BIAS.replace("(x, prev_h, Wx, Wh, next_h)", "(x, prev_h, next_h, Wx, Wh)"),
    "rnn_step_backward": bugs.STEP_BACKWARD_FROM_OUTPUT.replace("x, prev_h, Wx, Wh, next_h = cache",
                                                                "x, prev_h, next_h, Wx, Wh = cache"),
    "rnn_forward": '''
def rnn_forward(x, h0, Wx, Wh, b):
    h = np.zeros((x.shape[0], x.shape[1], h0.shape[1]))
    prev_h = h0
    for t in range(x.shape[1]):
        prev_h = np.tanh(x[:, t].dot(Wx) + prev_h.dot(Wh) + b)
        h[:, t] = prev_h
    return h, (x, h0, Wx, Wh, h)
''',
    "rnn_backward": '''
def rnn_backward(dh, cache):
    x, h0, Wx, Wh, h = cache
    dx, dprev = np.zeros_like(x), np.zeros_like(h0)
    dWx = dWh = db = 0
    for t in reversed(range(dh.shape[1])):
        prev = h[:, t - 1] if t > 0 else h0
        dx[:, t], dprev, dWx_t, dWh_t, db_t = rnn_step_backward(dh[:, t] + dprev, (x[:, t], prev, h[:, t], Wx, Wh))
        dWx, dWh, db = dWx + dWx_t, dWh + dWh_t, db + db_t
    return dx, dprev, dWx, dWh, db
''',
}


def test_a_stand_in_that_cannot_run_on_the_students_cache_is_reported_as_such():
    """The grader's rnn_step_backward, put in place of the student's, meets the student's layout."""
    verdicts = judged("rnn", OWN_LAYOUT)
    assert verdicts["rnn_step_forward"].status == "failed" and verdicts["rnn_forward"].status == "passed"
    problem = verdicts["rnn_backward"].problem
    assert verdicts["rnn_backward"].status == "error"
    assert problem.startswith("could not isolate this item from rnn_step_backward: the grader's rnn_step_backward "
                              "stands in for yours here") and "could not be broadcast" in problem
    assert "Traceback" not in problem and "grader reference" not in problem


def test_an_error_in_student_code_keeps_its_traceback():
    problem = judged("lstm", bugs_lstm.BY_NAME["captioning_loss_always_rnn"].replace)["CaptioningRNN.loss"].problem
    assert problem.startswith("loss raised ValueError") and "Traceback" in problem


def _raised(call):
    with pytest.raises(ValueError) as info:
        call()
    return info.value


def test_the_stand_in_is_the_grader_function_whose_own_code_raised_numpy_aside():
    grader = kernel_probe.Reference({"m": "import numpy as np\n\ndef f(a, b):\n    return np.stack([a, b])\n"})
    in_grader = _raised(lambda: grader.function("f")(np.zeros(2), np.zeros(3)))
    in_student = _raised(lambda: np.stack([np.zeros(2), np.zeros(3)]))
    assert kernel_probe._raised_within(in_grader, ["f"]) == "f"
    assert kernel_probe._raised_within(in_grader, ["g"]) == "" and kernel_probe._raised_within(in_student, ["f"]) == ""
