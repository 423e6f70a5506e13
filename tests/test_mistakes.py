"""Hints name a catalogued mistake only when the outputs are that mistake's (grader/check/mistakes.py).

Judged in-process: every mistake made in the reference gets its own hint; every bug of the
catalogues (tests/bugs.py, bugs_lstm.py, bugs_hints.py) gets exactly the hints listed here,
the line quoted where the student's source shows it. One slow test grades a notebook. The
PyTorch version's hints (the ``pytorch`` catalogue) are tests/test_mistakes_pytorch.py's.
"""
import textwrap

import numpy as np
import pytest

import bugs
import bugs_hints
import bugs_lstm
import e2e
from grader import assignments
from grader.check import mistakes
from grader.check.judge import Judge
from grader.errors import UsageError
from grader.grade.probe import LocalBackend
from grader.results.score import item_result
from student_code import namespace_with
from test_stand_in import OWN_LAYOUT

pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")  # bugs dividing by a zero mask sum, in-process
JUDGED = ("layer", "model_loss", "sample")
ASSIGNMENTS = ("rnn", "lstm")  # the NumPy versions; rnn-pytorch's hints: test_mistakes_pytorch.py
NUMPY_CATALOGUES = {g for a in ASSIGNMENTS for g in assignments.load(a).raw["mistakes"]}
HINTS = {m.hint: m.name for group in mistakes.catalogue().values() for m in group}
HINTS_BY_NAME = {name: hint for hint, name in HINTS.items()}


def judged(settings, ns, seed=7):
    """[(item, verdict)] of the items judged in-process, in order."""
    judge = Judge(LocalBackend(ns), settings, seed)
    return [(item, judge.judge(item)) for item in settings.items if item.kind in JUDGED]


def hints(assignment, ns):
    """{failing item: (mistake named by its hint or None, the line the hint quotes or None)}."""
    settings = assignments.load(assignment)
    found = {}
    for item, verdict in judged(settings, ns):
        if verdict.status != "passed":
            hint = item_result(item, settings, verdict).hint
            text, _, line = (hint or "").partition(" (line ")
            found[item.name] = (HINTS[text] if hint else None, line.split(": `", 1)[1][:-2] if line else None)
    return found


def made_in_reference(mistake):
    """Sources of the functions ``mistake`` edits, as the reference with the mistake made has them,
    then a loss of the student's own when the mistake is not in it (the reference's calls the
    reference's layers, a student's calls the student's)."""
    sources = mistakes.edited_sources(mistake.edits)
    replace = {}
    for function in sorted({function for function, _, _ in mistake.edits}):
        module, start, end = mistakes.span(sources, function)
        replace[function] = textwrap.dedent("".join(sources[module].splitlines(keepends=True)[start:end]))
    replace.setdefault("CaptioningRNN.loss", bugs_hints.LOSS_EITHER_CELL)
    return replace


# Each bug's failing item: (the mistake its hint names, part of the line it quotes); None: no hint, no line.
EXPECTED = {
    # tests/bugs.py (rnn)
    'rnn_step_forward_no_bias': ('rnn_step_forward_no_bias', 'np.tanh(np.dot(x, Wx) + np.dot(prev_h, Wh))'),
    'rnn_step_backward_tanh_at_preactivation': ('rnn_step_backward_tanh_at_preactivation', 'da = dnext_h * (1 - a ** 2)'),
    'rnn_forward_no_state_update': ('rnn_forward_h0_every_step', 'rnn_step_forward(x[:, t, :], prev_h, Wx, Wh, b)'),
    'rnn_backward_only_last_dh': ('rnn_backward_only_last_dh', 'rnn_step_backward(dnext_h, cache[t])'),
    'word_embedding_backward_assign': ('word_embedding_backward_no_accumulation', 'dW[x] += dout'),
    'word_embedding_backward_vocab_from_max': ('word_embedding_backward_vocab_from_x', 'V = x.max() + 1'),
    'temporal_affine_forward_time_major': ('temporal_affine_forward_time_major', 'x.transpose(1, 0, 2)'),
    'temporal_affine_backward_db_axis': ('temporal_affine_backward_db_axis', 'db = dout.sum(axis=0)'),
    'temporal_softmax_loss_over_mask': ('temporal_softmax_loss_over_mask_sum', 'loss = -np.sum(mask_flat'),
    'temporal_softmax_loss_over_NT': ('temporal_softmax_loss_over_NT', 'loss = -(log_probs[idx'),
    'captioning_loss_without_mask': ('loss_without_mask', 'temporal_softmax_loss(scores, captions_out, np.ones('),
    'captioning_loss_null_is_zero': ('loss_null_is_zero', 'mask = captions_out != 0'),
    'sample_start_every_step': ('sample_start_every_step', None),
    'sample_always_30': ('sample_ignores_max_length', 'np.ones((N, 30), dtype=np.int32)'),
    'sample_start_in_column_0': ('sample_start_in_column_0', 'captions[:, 0] = self._start'),
    'rnn_step_forward_hardcoded': (None, None),
    'word_embedding_forward_hardcoded': (None, None),
    'rnn_step_backward_db_keepdims': ('rnn_step_backward_db_keepdims', 'db = np.sum(dtanh, axis=0, keepdims=True)'),
    'word_embedding_forward_squeeze': ('word_embedding_forward_squeeze', 'out = W[x, :].squeeze()'),
    # tests/bugs_lstm.py
    'lstm_step_forward_forget_one_minus': ('lstm_step_forward_forget_one_minus', 'next_c = (1 - f) * prev_c + i * g'),
    'lstm_step_forward_gates_ifgo': ('lstm_step_forward_gates_ifgo', None),
    'lstm_step_forward_tanh_prev_c': ('lstm_step_forward_tanh_prev_c', 'next_c = f * np.tanh(prev_c) + i * g'),
    'lstm_step_backward_no_tanh_derivative': ('lstm_step_backward_no_tanh_derivative', None),
    'lstm_step_backward_ignores_dnext_c': ('lstm_step_backward_ignores_dnext_c', 'dc = dnext_h * o * (1 - tanh_c ** 2)'),
    'lstm_step_backward_g_as_sigmoid': ('lstm_step_backward_g_as_sigmoid', None),
    'lstm_forward_h0_every_step': ('lstm_forward_h0_every_step', 'lstm_step_forward(x[:, t, :], h0, prev_c, Wx, Wh, b)'),
    'lstm_forward_c0_is_h0': ('lstm_forward_c0_is_h0', None),
    'lstm_backward_dc_not_carried': ('lstm_backward_dc_not_carried', 'dx[t], dnext_h, _, dWx_t, dWh_t, db_t = lstm_step_backward('),
    'sample_without_cell_state': ('sample_lstm_cell_reset', 'c = np.zeros_like(h)'),
    'captioning_loss_always_rnn': (None, None),  # raises: an error has no hint
    # tests/bugs_hints.py
    'rnn_step_forward_no_tanh': ('rnn_step_forward_no_tanh', 'next_h = x @ Wx + prev_h @ Wh + b'),
    'rnn_step_backward_tanh_twice': ('rnn_step_backward_tanh_twice', 'dtanh = (1 - np.tanh(next_h) ** 2) * dnext_h'),
    'rnn_step_backward_no_derivative': ('rnn_step_backward_no_tanh_derivative', None),
    'rnn_step_backward_db_axis_1': ('rnn_step_backward_db_axis', 'db = np.sum(da, axis=1)'),
    'rnn_backward_not_carried': ('rnn_backward_gradient_not_carried', 'rnn_step_backward(dh[:, t, :], cache[t])'),
    'rnn_backward_not_summed': ('rnn_backward_weights_not_summed', None),
    'temporal_affine_forward_no_bias': ('temporal_affine_forward_no_bias', 'out = np.dot(x.reshape(N * T, D), w)'),
    'temporal_affine_backward_dw_transposed': ('temporal_affine_backward_dw_transposed', 'dw = dout.reshape(N * T, M).T'),
    'temporal_softmax_loss_mask_ignored': ('temporal_softmax_loss_mask_ignored', None),
    'temporal_softmax_loss_dx_unmasked': ('temporal_softmax_loss_dx_unmasked', None),
    'captioning_loss_captions_swapped': ('loss_captions_swapped', 'captions_in = captions[:, 1:]'),
    'lstm_step_forward_no_tanh_on_c': ('lstm_step_forward_no_tanh_on_c', 'next_h = o * next_c'),
    'lstm_backward_only_last_dh': ('lstm_backward_only_last_dh', 'lstm_step_backward(dnext_h, dnext_c, cache[t])'),
    'lstm_model_embedding_no_accumulation': ('word_embedding_backward_no_accumulation', None),
}
GRADED = [("rnn", b) for b in bugs.BUGS if not b.extra_cells] + [("lstm", b) for b in bugs_lstm.BUGS] + [
    (bugs_hints.ASSIGNMENT[b.name], b) for b in bugs_hints.BUGS]
# Mistakes whose outputs in another item are another mistake's, whose hint says both.
SAME_OUTPUTS = {("temporal_softmax_loss_mask_ignored", "CaptioningRNN.loss"): "loss_without_mask"}


def test_the_catalogue_holds_distinct_mistakes_of_items_that_exist():
    catalogued = [m for group in mistakes.catalogue().values() for m in group]
    assert len(catalogued) >= 25
    assert len({m.name for m in catalogued}) == len({m.hint for m in catalogued}) == len(catalogued)
    every = ASSIGNMENTS + ("rnn-pytorch",)
    items = {i.name for a in every for i in assignments.load(a).items}
    assert {i for m in catalogued for i in m.items} <= items
    assert {g for a in every for g in assignments.load(a).raw["mistakes"]} == set(mistakes.catalogue())


def test_every_mistake_is_made_by_a_bug_and_every_bug_is_listed():
    assert set(EXPECTED) == {b.name for _, b in GRADED}
    assert {m for m, _ in EXPECTED.values() if m} == {m.name for g in NUMPY_CATALOGUES for m in mistakes.catalogue()[g]}


@pytest.mark.slow  # every bug of every catalogue; the mistakes themselves are checked quickly below
@pytest.mark.parametrize("assignment, bug", GRADED, ids=lambda v: getattr(v, "name", v))
def test_each_bug_gets_exactly_its_hint(assignment, bug):
    """Its item alone fails, with the hint of its mistake (and the line it quotes), or no hint."""
    (item, (mistake, line)), = hints(assignment, namespace_with(bug.replace)).items()
    expected, fragment = EXPECTED[bug.name]
    assert item == bug.item and mistake == expected
    assert line == fragment if fragment is None else fragment in line


@pytest.mark.parametrize("assignment, mistake", [
    (a, m) for a in ASSIGNMENTS for g in assignments.load(a).raw["mistakes"] for m in mistakes.catalogue()[g]
    if set(m.items) & {i.name for i in assignments.load(a).items}], ids=lambda v: getattr(v, "name", v))
def test_a_mistake_made_in_the_reference_gets_its_own_hint_and_no_other(assignment, mistake):
    """In every item of ``items`` that it makes fail, and in no other (new catalogue entries too)."""
    found = {item: m for item, (m, _) in hints(assignment, namespace_with(made_in_reference(mistake))).items()}
    assert found, "the mistake fails no item"
    assert found == {item: SAME_OUTPUTS.get((mistake.name, item), mistake.name) for item in found}
    assert set(found) <= set(mistake.items) | {i for m, i in SAME_OUTPUTS if m == mistake.name}


def test_the_hint_quotes_the_line_by_its_number_in_the_function():
    settings = assignments.load("rnn")
    verdicts = judged(settings, namespace_with(bugs.BY_NAME["word_embedding_backward_assign"].replace))
    (hint,) = [item_result(item, settings, verdict).hint for item, verdict in verdicts if verdict.status != "passed"]
    assert hint.endswith(" (line 5 of your word_embedding_backward: `dW[x] += dout`)")


def test_without_a_catalogue_there_is_no_hint(course_toml):
    settings = assignments.load(course_toml("mistakes = []\n"))
    results = [item_result(item, settings, verdict) for item, verdict in
               judged(settings, namespace_with(bugs.BY_NAME["rnn_step_forward_no_bias"].replace))]
    assert [(r.name, r.status.value, r.hint) for r in results if r.status.value != "passed"] == [
        ("rnn_step_forward", "failed", None)]
    assert results[0].to_json()["hint"] is None


def test_an_unknown_catalogue_is_a_usage_error(course_toml):
    with pytest.raises(UsageError, match="unknown mistake catalogue 'typo'"):
        assignments.load(course_toml('mistakes = ["typo"]\n'))


@pytest.mark.parametrize("got, agrees", [
    (np.array([1.0, 2.0]), True), (np.array([1.0, 2.0 + 1e-9]), True), (np.array([1.0, 2.01]), False),
    (np.array([[1.0, 2.0]]), False), (np.array([1.0, np.nan]), False), (None, False), ("1.0", False),
    ([np.array([1.0, 2.0])], False),
])
def test_outputs_agree_to_1e_6_with_the_same_shape(got, agrees):
    assert mistakes.agree(got, np.array([1.0, 2.0])) is agrees


def test_nan_and_inf_agree_where_the_mistake_has_them():
    want = np.array([np.nan, np.inf, 1.0])
    assert mistakes.agree(np.array([np.nan, np.inf, 1.0]), want)
    assert not mistakes.agree(np.array([np.nan, -np.inf, 1.0]), want)
    assert mistakes.agree([1.0, {"W": want}], [1.0, {"W": want}]) and not mistakes.agree([1.0, {}], [1.0, {"W": want}])



@pytest.mark.slow
def test_a_graded_notebook_gets_the_hints_and_the_isolation_message(tmp_path):
    """The same in a real kernel: the student's source comes from the notebook's cells."""
    replace = dict(OWN_LAYOUT, **bugs.BY_NAME["word_embedding_backward_assign"].replace,
                   **bugs.BY_NAME["sample_start_in_column_0"].replace)
    results = e2e.grade_fast(e2e.build(tmp_path, replace=replace))
    failed = {i["name"]: (i["status"], i["hint"], i["message"]) for i in results["items"] if i["status"] != "passed"}
    assert set(failed) == {"rnn_step_forward", "rnn_backward", "word_embedding_backward", "CaptioningRNN.sample"}
    assert failed["word_embedding_backward"][1].endswith("(line 5 of your word_embedding_backward: `dW[x] += dout`)")
    assert failed["CaptioningRNN.sample"][1].endswith(
        "(line 11 of your CaptioningRNN.sample: `captions[:, 0] = self._start`)")
    assert failed["rnn_step_forward"][1].startswith(HINTS_BY_NAME["rnn_step_forward_no_bias"])
    status, hint, message = failed["rnn_backward"]
    assert status == "error" and hint is None and message.startswith("could not isolate this item from rnn_step_backward")
