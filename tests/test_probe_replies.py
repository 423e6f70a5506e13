"""The probe's one reply type: each kind from a kernel's cell outcome, damaged replies, and what
the judge makes of each. The kernel is a stand-in here: these tests start no process."""
import ast
import json

import numpy as np
import pytest

from grader import assignments
from grader.assignments.calibrate import reference_namespace
from grader.check.judge import Judge
from grader.grade.execute import CellOutcome
from grader.grade.kernel_probe import MIME, decode, encode_tree
from grader.grade.probe import PROBE_NAME, KernelBackend, LocalBackend, ProbeReply, Raised, ReplyKind

LAYER = {"forward": "rnn_step_forward", "args": [np.ones((2, 3))]}


class FakeSession:
    """A kernel that installs the probe and answers each request with ``answer(request)``."""

    restarts = 0

    def __init__(self, answer):
        self.answer = answer
        self.requests = []

    def run(self, source, timeout, record=True):
        prefix = PROBE_NAME + ".run("
        if not source.startswith(prefix):
            return CellOutcome(-1, "ok")  # the install
        request = decode(json.loads(ast.literal_eval(source[len(prefix):-1])))
        self.requests.append(request)
        return self.answer(request)


def published(*payloads):
    return CellOutcome(-1, "ok", outputs=[{"output_type": "display_data", "data": {MIME: p}} for p in payloads])


def replying(**result):
    """An answer that sends ``result`` back as the probe would, with the request's nonce."""
    return lambda request: published(json.dumps(encode_tree(dict(result, nonce=request["nonce"], output="hi\n"))))


def ask(answer, op="layer", **fields):
    return KernelBackend(FakeSession(answer)).request(op, 5, **(fields or LAYER))


def test_ok_reply_carries_the_decoded_values_and_what_was_printed():
    reply = ask(replying(forward=[np.arange(3.0), None]))
    assert reply.kind is ReplyKind.OK and reply.output == "hi\n"
    assert np.array_equal(reply.values["forward"][0], np.arange(3.0)) and reply.values["forward"][1] is None


def test_missing_reply_names_the_function_and_why_modules_did_not_import():
    reply = ask(replying(missing="rnn_step_forward", import_errors={"cs231n.rnn_layers": "SyntaxError: bad"}))
    assert reply.kind is ReplyKind.MISSING and reply.name == "rnn_step_forward"
    assert reply.import_errors == {"cs231n.rnn_layers": "SyntaxError: bad"}


def test_error_reply_says_what_was_raised_and_where():
    error = {"stage": "forward", "ename": "ValueError", "evalue": "shapes", "traceback": "Traceback ..."}
    reply = ask(replying(error=error, forward=[1.0]))
    assert reply.kind is ReplyKind.ERROR and reply.raised == Raised("forward", "ValueError", "shapes", "Traceback ...")
    assert reply.values == {}


@pytest.mark.parametrize("status, kind", [("dead", ReplyKind.DEAD), ("timeout", ReplyKind.TIMEOUT)])
def test_a_dead_or_stuck_kernel_gives_its_own_kind(status, kind):
    assert ask(lambda request: CellOutcome(-1, status)) == ProbeReply(kind)


def test_a_probe_that_cannot_be_installed_is_an_error_reply():
    class Broken(FakeSession):
        def run(self, source, timeout, record=True):
            return CellOutcome(-1, "error", "NameError", "name 'types' is not defined")
    reply = KernelBackend(Broken(None)).request("layer", 5, **LAYER)
    assert reply.kind is ReplyKind.ERROR and reply.raised.ename == "ProbeUnavailable"
    assert "could not install the probe" in reply.raised.evalue and "NameError" in reply.raised.evalue


def test_a_probe_that_raised_in_its_cell_is_an_error_reply():
    reply = ask(lambda request: CellOutcome(-1, "error", "AttributeError", "json has no loads", "tb"))
    assert reply == ProbeReply(ReplyKind.ERROR, raised=Raised("probe", "AttributeError", "json has no loads", "tb"))


def _with_nonce(result):
    return lambda request: published(json.dumps(dict(result, nonce=request["nonce"])))


DAMAGED = {
    "not JSON": (lambda request: published("all checks passed"), "could not be decoded: JSONDecodeError"),
    "no reply": (lambda request: published(json.dumps({"nonce": "guessed"})), "no reply"),
    "bad base64": (_with_nonce({"forward": {"__nd__": "%%%", "dtype": "<f8", "shape": [1]}}), "could not be decoded"),
    "bad dtype": (_with_nonce({"forward": {"__nd__": "", "dtype": "no such", "shape": [0]}}), "could not be decoded"),
    "deep nesting": (lambda request: published('{"nonce": "%s", "forward": %s%s}' % (
        request["nonce"], "[" * 100000, "]" * 100000)), "could not be decoded"),
    "data not a dict": (lambda request: CellOutcome(-1, "ok", outputs=[{"data": ["x"]}]), "AttributeError"),
    "values dropped": (replying(), "no forward in the reply"),
    "not a list": (replying(forward=3.0), "forward is not a list"),
    "output not text": (_with_nonce({"forward": [], "output": [1]}), "output is a list, not text"),
    "error not a dict": (replying(error="boom"), "error is a str"),
    "missing not text": (replying(missing=["x"]), "missing is a list, not text"),
}


@pytest.mark.parametrize("case", sorted(DAMAGED))
def test_a_reply_the_notebook_tampered_with_is_damaged(case):
    answer, words = DAMAGED[case]
    reply = ask(answer)
    assert reply.kind is ReplyKind.DAMAGED and words in reply.reason, reply


def test_the_right_nonce_wins_over_forged_replies():
    def answer(request):
        genuine = json.dumps(encode_tree({"forward": [1.0], "nonce": request["nonce"], "output": ""}))
        return published(genuine, json.dumps({"forward": [2.0], "nonce": "forged"}))
    assert ask(answer).values["forward"] == [1.0]


def test_batch_parts_are_replies_and_a_wrong_count_is_damaged():
    calls = [dict(LAYER, op="layer"), dict(LAYER, op="layer")]
    parts = [{"forward": [1.0]}, {"missing": "rnn_step_forward", "import_errors": {}}]
    reply = ask(replying(results=parts), "batch", calls=calls)
    assert [p.kind for p in reply.values["results"]] == [ReplyKind.OK, ReplyKind.MISSING]
    short = ask(replying(results=parts[:1]), "batch", calls=calls)
    assert short.kind is ReplyKind.DAMAGED and "1 results for 2 calls" in short.reason


@pytest.mark.parametrize("perturbed", [[[np.ones(2)]], [[np.ones(2), np.ones(3)]], [], [[np.ones(2), [1.0, 2.0]]]])
def test_nudged_outputs_must_be_pairs_of_float_arrays(perturbed):
    fields = dict(LAYER, perturb={"wrt": [0], "h": 1e-5, "output": 0})
    reply = ask(replying(forward=[1.0], perturbed=perturbed), **fields)
    assert reply.kind is ReplyKind.DAMAGED and "nudged" in reply.reason


def test_nudged_losses_are_one_number_per_nudge():
    fields = {"perturb": {"h": 1e-5, "params": ["W"]}}
    flat = ask(replying(loss=1.0, grads={}, perturbed={"W": [np.ones(2), np.ones(2)]}), "model_loss", **fields)
    assert flat.kind is ReplyKind.OK
    rows = ask(replying(loss=1.0, grads={}, perturbed={"W": [np.ones((2, 2)), np.ones((2, 3))]}), "model_loss",
               **fields)
    assert rows.kind is ReplyKind.DAMAGED and "nudged" in rows.reason


@pytest.mark.parametrize("found", [{"f": {"module": 3, "source": None}}, {"f": "here"}, ["f"]])
def test_resolve_answers_must_name_places_as_text(found):
    reply = ask(replying(found=found), "resolve", names=["f"])
    assert reply.kind is ReplyKind.DAMAGED and reply.values == {}


def test_overfit_record_must_be_float_losses_and_seconds():
    good = ask(replying(loss_history=np.ones(3), train_seconds=1.5), "overfit")
    assert good.kind is ReplyKind.OK and good.values["train_seconds"] == 1.5
    bad = ask(replying(loss_history=["low"], train_seconds=1.5), "overfit")
    assert bad.kind is ReplyKind.DAMAGED and "training record" in bad.reason


def test_local_backend_gives_the_same_reply_kinds():
    def raising(x, prev_h, Wx, Wh, b):
        raise ValueError("not yet")
    args = [np.ones((2, 3)), np.ones((2, 4)), np.ones((3, 4)), np.ones((4, 4)), np.ones(4)]
    ok = LocalBackend(reference_namespace()).request("layer", 5, forward="rnn_step_forward", args=args)
    assert ok.kind is ReplyKind.OK and ok.values["forward"][0].shape == (2, 4)
    missing = LocalBackend({}).request("layer", 5, forward="rnn_step_forward", args=args)
    assert missing.kind is ReplyKind.MISSING and missing.name == "rnn_step_forward"
    error = LocalBackend({"rnn_step_forward": raising}).request("layer", 5, forward="rnn_step_forward", args=args)
    assert error.kind is ReplyKind.ERROR and (error.raised.stage, error.raised.ename) == ("forward", "ValueError")


# ------------------------------------------------------------------------ what the judge makes of each kind
class Replies:
    """A backend that answers every request with ``reply``."""

    def __init__(self, reply):
        self.reply = reply

    def request(self, op, timeout, **fields):
        return self.reply


VERDICTS = {
    "missing": (ProbeReply(ReplyKind.MISSING, name="rnn_step_forward", import_errors={"cs231n.rnn_layers": "E: x"}),
                "missing", "rnn_step_forward is not defined (looked in the notebook and in cs231n/); "
                           "cs231n.rnn_layers did not import (E: x)"),
    "timeout": (ProbeReply(ReplyKind.TIMEOUT), "timeout", "did not finish within"),
    "dead": (ProbeReply(ReplyKind.DEAD), "error", "the kernel died during the call"),
    "error": (ProbeReply(ReplyKind.ERROR, raised=Raised("forward", "ValueError", "shapes", "tb")),
              "error", "forward raised ValueError: shapes\ntb"),
    "damaged": (ProbeReply(ReplyKind.DAMAGED, reason="no forward in the reply"),
                "error", "the probe's reply was damaged (no forward in the reply)"),
}


@pytest.mark.parametrize("kind", sorted(VERDICTS))
def test_each_reply_kind_becomes_the_item_status_with_its_message(kind):
    reply, status, words = VERDICTS[kind]
    settings = assignments.load("rnn")
    verdict = Judge(Replies(reply), settings, seed=1).judge(settings.items[0])
    assert verdict.status == status and words in verdict.problem, verdict.problem


def test_a_problem_in_one_part_of_a_batch_stops_the_item():
    settings = assignments.load("rnn")
    parts = [ProbeReply(ReplyKind.ERROR, output="printed\n", raised=Raised("forward", "KeyError", "'b'"))] * 50
    replies = Replies(ProbeReply(ReplyKind.OK, {"results": parts}))
    verdict = Judge(replies, settings, seed=1).judge(settings.items[0])
    assert verdict.status == "error" and verdict.problem.startswith("forward raised KeyError: 'b'")
    assert verdict.output == "printed\n"  # the first part flags the item; the rest are not read
