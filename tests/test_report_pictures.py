"""What a failing item's lead shows beside its message (results.json 0.3): the smallest case's inputs,
a failed sample's caption beside the reference's greedy one, the overfit curve against the reference's.
Judged in-process on the reference with one catalogued bug (tests/bugs.py)."""
import json

import numpy as np
import pytest

from bugs import BY_NAME
from grader import assignments
from grader.check import cases as C
from grader.check.judge import Judge
from grader.check.kinds import kind_of
from grader.check.sampling import check_sample
from grader.grade.probe import LocalBackend, ProbeReply, ReplyKind
from grader.results.report import inputs_line, lead, render_html
from grader.results.schema import ItemResult, Results
from grader.results.score import item_result
from reference.captioning_rnn import CaptioningRNN
from test_judge_bugs import namespace_with

SETTINGS = assignments.load("rnn")
SEED = 7


def judged(name, bug=None, backend=None):
    """``name``'s ItemResult, judged in-process on the reference with ``bug`` made."""
    backend = backend or LocalBackend(namespace_with(BY_NAME[bug].replace if bug else {}))
    item = next(i for i in SETTINGS.items if i.name == name)
    return item_result(item, SETTINGS, Judge(backend, SETTINGS, SEED).judge(item))


def as_json(*items):
    """results.json of ``items``, through JSON."""
    return json.loads(json.dumps(Results("amy", "rnn", 0.0, 0.0, list(items), [], [],
                                         {"cells": [], "errors": 0, "kernel_restarts": 0}, False, [], SEED,
                                         1.0).to_json()))


def test_each_check_names_its_cases_inputs_after_the_functions_parameters():
    item = judged("rnn_backward", "rnn_backward_only_last_dh")
    assert item.status == "failed"
    for check in item.checks:
        shapes = {name: tuple(value["shape"]) for name, value in check.inputs.items()}
        assert list(shapes) == ["x", "h0", "Wx", "Wh", "b", "dh"]
        (N, T, D), H = shapes["x"], shapes["b"][0]
        assert shapes["h0"] == (N, H) and shapes["Wx"] == (D, H) and shapes["dh"] == (N, T, H)
        dtype = "float32" if "float32" in check.name else "float64"
        assert {value["dtype"] for value in check.inputs.values()} == {dtype}
    public = next(c for c in item.checks if c.visibility == "public")
    assert inputs_line(public.inputs) == ("x (2, 10, 3) float64, h0 (2, 5) float64, Wx (3, 5) float64, "
                                          "Wh (5, 5) float64, b (5,) float64, dh (2, 10, 5) float64")
    loss = judged("CaptioningRNN.loss", "captioning_loss_without_mask")
    assert loss.status == "failed" and all(list(c.inputs) == ["features", "captions"] for c in loss.checks)
    assert loss.checks[0].inputs["captions"]["dtype"] in ("int64", "int32")


@pytest.mark.parametrize("assignment", assignments.builtin_names())
def test_every_case_of_every_item_has_a_name_for_each_input(assignment):
    settings = assignments.load(assignment)
    for item in settings.items:
        args, upstream = kind_of(item).parameters(item)
        if item.kind in ("layer", "autograd_layer"):
            case = C.hidden_cases(item, np.random.default_rng(0))[0]
            assert len(args) >= len(case.args) and len(upstream) >= len(case.upstream or ()) * bool(
                item.backward or item.conf.get("reference_backward")), item.name
        elif item.kind in ("model_loss", "sample"):
            assert args[0] == "features", item.name


def test_a_failed_sample_carries_its_first_differing_caption_and_the_references_greedy_words():
    item = judged("CaptioningRNN.sample", "sample_start_in_column_0")
    cases = {c.name: c for c in C.sample_cases(Judge(None, SETTINGS, SEED).rng(
        next(i for i in SETTINGS.items if i.name == item.name)), public=False)}
    for check in item.checks:
        caption, case = check.caption, cases[check.name.split(": greedy")[0]]
        words = case.extra["init"]["word_to_idx"]
        model = CaptioningRNN(dtype=np.float64, **case.extra["init"])
        model.params = case.extra["params"]
        greedy = model.sample(case.args[0][caption["row"]:caption["row"] + 1], case.extra["max_length"] or 30)[0]
        names = {i: w for w, i in words.items()}
        expected = [names[int(i)] for i in greedy]
        expected = expected[:expected.index("<END>") + 1] if "<END>" in expected else expected
        assert (caption["row"], caption["step"], caption["got"][0]) == (0, 0, "<START>")
        assert caption["expected"] == expected and caption["expected"][0] != "<START>"
        assert check.to_json()["caption"] == caption


def test_a_caption_that_differs_later_shares_the_words_before():
    case = C.sample_cases(np.random.default_rng(3), public=True)[0]
    model = CaptioningRNN(dtype=np.float64, **case.extra["init"])
    model.params = case.extra["params"]
    captions = model.sample(case.args[0])
    assert check_sample(case, captions).caption is None
    words = case.extra["init"]["word_to_idx"]
    n = next(n for n in range(len(captions)) if words["<END>"] not in captions[n, :3])
    captions[n, 2] = words["<UNK>"] if captions[n, 2] != words["<UNK>"] else words["<NULL>"]
    caption = check_sample(case, captions).caption
    assert (caption["row"], caption["step"]) == (n, 2) and caption["got"][:2] == caption["expected"][:2]
    assert caption["got"][2] != caption["expected"][2] and caption["got"][2] in ("<UNK>", "<NULL>")


class Trained:
    """A probe whose overfitting run returns ``history``."""

    def __init__(self, history):
        self.history = np.asarray(history, dtype=np.float64)

    def request(self, op, timeout, **fields):
        return ProbeReply(ReplyKind.OK, {"loss_history": self.history, "train_seconds": 1.0})


def test_the_overfit_item_carries_the_references_recorded_curve():
    item = judged("overfit_small_data", backend=Trained(np.geomspace(30, 0.5, 100)))
    recorded = json.loads(assignments.curve_path("rnn").read_text())
    assert item.status == "failed" and item.extra["reference_curve"] == {
        "assignment": "rnn", "seed": 0, "loss_history": recorded["loss_history"]}


def test_the_new_fields_survive_a_round_trip_and_are_absent_where_not_set():
    items = [judged("rnn_backward", "rnn_backward_only_last_dh"),
             judged("CaptioningRNN.sample", "sample_start_in_column_0"),
             judged("overfit_small_data", backend=Trained(np.geomspace(30, 0.05, 100)))]
    data = as_json(*items)
    assert Results.from_json(data).to_json() == data
    checks = {i["name"]: i["checks"][0] for i in data["items"]}
    assert "inputs" in checks["rnn_backward"] and "caption" not in checks["rnn_backward"]
    assert "inputs" not in checks["overfit_small_data"] and "reference_curve" in data["items"][2]
    assert ItemResult.from_json(data["items"][1]).checks[0].caption == items[1].checks[0].caption


def test_the_report_leads_with_the_inputs_the_captions_word_by_word_and_both_curves():
    backward = judged("rnn_backward", "rnn_backward_only_last_dh")
    sample = judged("CaptioningRNN.sample", "sample_start_in_column_0")
    overfit = judged("overfit_small_data", backend=Trained(np.geomspace(30, 0.05, 100)))
    data = as_json(backward, sample, overfit)
    html = render_html(data)
    section = html[html.index('<section class="item failing" id="rnn_backward"'):]
    shown = lead(data["items"][0])
    line = 'its inputs</th><td class="inputs">%s</td>' % inputs_line(shown["check"]["inputs"])
    assert section.index("smallest failing case") < section.index(line) < section.index("worst element")
    section = html[html.index('<section class="item failing" id="CaptioningRNN.sample"'):]
    section = section[:section.index("</section>")]
    caption = lead(data["items"][1])["check"]["caption"]
    assert section.count('<g class="word differs">') >= 2 and section.count('<g class="word') == len(
        caption["got"]) + len(caption["expected"])
    assert "&lt;START&gt;</text>" in section and ">step 0</text>" in section
    curve = html[html.index('<svg width="480" height="160"'):]
    curve = curve[:curve.index("</svg>")]
    assert '<polyline class="yours"' in curve and '<polyline class="reference"' in curve
    assert "reference: final %.3g" % overfit.extra["reference_curve"]["loss_history"][-1] in curve


def test_an_autograd_items_checks_name_the_forwards_inputs_then_the_upstream_gradient(tmp_path):
    pytest.importorskip("torch")
    import pytorch_solution
    settings = assignments.load("rnn-pytorch")
    item = next(i for i in settings.items if i.name == "rnn_forward")
    verdict = Judge(settings.local_backend(pytorch_solution.namespaces(tmp_path)), settings, SEED).judge(item)
    assert verdict.status == "passed"
    forward = ("x", "h0", "Wx", "Wh", "b")  # the notebook's forward cell has no upstream dh
    assert {tuple(c.inputs) for c in verdict.checks} == {forward, forward + ("dh",)}
