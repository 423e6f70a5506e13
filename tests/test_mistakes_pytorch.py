"""Hints of the PyTorch version (rnn-pytorch): the ``pytorch`` catalogue's mistakes, made in
the PyTorch reference, and the ``captioning`` catalogue's model mistakes, written in a PyTorch
model. Judged in-process on the solved template's package (tests/pytorch_solution.py) with a
mistake or a bug in it: each gets its own hint, quoting its line, and no other item a hint;
every bug of tests/bugs_pytorch.py gets the hint listed here; the same on 100 seeds.
"""
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import pytorch_solution  # noqa: E402
from pytorch_solution import one_thread  # noqa: E402,F401 (autouse)
from bugs_pytorch import BUGS  # noqa: E402
from grader import assignments  # noqa: E402
from grader.check import mistakes  # noqa: E402
from grader.check.judge import Judge  # noqa: E402
from grader.check.kinds import kind_of  # noqa: E402
from grader.results.score import item_result  # noqa: E402
from test_seeds import MemoBackend  # noqa: E402

SETTINGS = assignments.load("rnn-pytorch")
JUDGED = ("autograd_layer", "model_loss", "sample")
HINTS = {m.hint: m.name for group in mistakes.catalogue().values() for m in group}
PYTORCH = mistakes.catalogue()["pytorch"]
SWEEP_SEEDS = range(3_000_000, 3_000_100)  # not the calibration's seeds, nor test_seeds.py's

# The line each PyTorch mistake's hint quotes when made in the reference (None: no line).
LINES = {
    "torch_rnn_step_forward_no_bias": "next_h = torch.tanh(x @ Wx + prev_h @ Wh)",
    "torch_rnn_step_forward_no_tanh": "next_h = x @ Wx + prev_h @ Wh + b",
    "torch_rnn_forward_h0_every_step": "prev_h = rnn_step_forward(x[:, t, :], h0, Wx, Wh, b)",
    "torch_temporal_affine_forward_no_bias": "out = (x.reshape(N * T, D) @ w).reshape(N, T, -1)",
    "torch_temporal_softmax_loss_mask_ignored": "loss = losses.sum() / N",
    "torch_temporal_softmax_loss_over_mask_sum": "loss = (losses * mask_flat).sum() / mask_flat.sum()",
    "torch_temporal_softmax_loss_over_NT": "loss = (losses * mask_flat).sum() / (N * T)",
    "torch_temporal_softmax_loss_null_is_zero": "mask_flat = y_flat != 0",
    "torch_lstm_step_forward_forget_one_minus": "next_c = (1 - f) * prev_c + i * g",
    "torch_lstm_step_forward_gates_ifgo": None,
    "torch_lstm_step_forward_no_tanh_on_c": "next_h = o * next_c",
    "torch_lstm_forward_c0_is_h0": "prev_h, prev_c = h0, h0",
    "torch_lstm_forward_h0_every_step": "prev_h, prev_c = lstm_step_forward(x[:, t, :], h0, prev_c, Wx, Wh, b)",
}

LOSS, SAMPLE = pytorch_solution.LOSS, pytorch_solution.SAMPLE
# The captioning catalogue's model mistakes as a PyTorch student writes them:
# mistake -> (replace for pytorch_solution.SOURCES, the line its hint quotes or None).
MODEL = {
    "loss_null_is_zero": ({"CaptioningRNN.loss": LOSS.replace("captions_out != self._null", "captions_out != 0")},
                          "mask = (captions_out != 0)"),
    "loss_without_mask": ({"CaptioningRNN.loss": LOSS.replace(
        "mask = (captions_out != self._null)", "mask = torch.ones_like(captions_out, dtype=torch.bool)")},
        "loss = temporal_softmax_loss(scores, captions_out, mask)"),
    "loss_captions_swapped": ({"CaptioningRNN.loss": LOSS.replace(
        "captions_in = captions[:, :-1]", "captions_in = captions[:, 1:]").replace(
        "captions_out = captions[:, 1:]", "captions_out = captions[:, :-1]")},
                              "captions_in = captions[:, 1:]"),
    "sample_start_every_step": ({"CaptioningRNN.sample": SAMPLE.replace(
        "x = W_embed[words]", "x = W_embed[torch.full((N,), self._start, dtype=torch.long)]")}, None),
    "sample_ignores_max_length": ({"CaptioningRNN.sample": SAMPLE.replace(
        "N = features.shape[0]", "N, max_length = features.shape[0], 30")}, "N, max_length = features.shape[0], 30"),
}

# Each bug of tests/bugs_pytorch.py: (the mistake its hint names, the line it quotes); None: no hint.
# Raising, float32 and cut-graph bugs have messages of their own and no hint.
EXPECTED = {
    "rnn_step_forward_float32": (None, None),
    "rnn_forward_prev_h_view": (None, None),
    "lstm_forward_float32_buffer": (None, None),
    "word_embedding_forward_numpy": (None, None),
    "temporal_affine_forward_data": (None, None),
    "temporal_softmax_loss_inplace_shift": (None, None),
    "temporal_softmax_loss_no_mask": ("torch_temporal_softmax_loss_mask_ignored", "loss = losses.sum() / N"),
    "temporal_softmax_loss_over_NT": ("torch_temporal_softmax_loss_over_NT",
                                      "loss = (losses * mask.reshape(N * T)).sum() / (N * T)"),
    "captioning_loss_item": (None, None),
    "sample_start_in_column_0": ("sample_start_in_column_0", "captions[:, 0] = self._start"),
}
BUGS_BY_NAME = {bug.name: bug for bug, _ in BUGS}


def made_in_reference(mistake):
    """Sources of the functions ``mistake`` edits, as the PyTorch reference with the mistake made has them."""
    sources = mistakes.edited_sources(mistake.edits, mistake.modules)
    replace = {}
    for function in {function for function, _, _ in mistake.edits}:
        module, start, end = mistakes.span(sources, function)
        replace[function] = textwrap.dedent("".join(sources[module].splitlines(keepends=True)[start:end]))
    return replace


def named(item, verdict):
    """(the mistake ``verdict``'s hint names or None, the line it quotes or None)."""
    hint = item_result(item, SETTINGS, verdict).hint
    text, _, where = (hint or "").partition(" (line ")
    return (HINTS[text] if hint else None), (where.split(": `", 1)[1][:-2] if where else None)


def hints(folder, replace, seed=3):
    """{item that is not passed: (mistake named, line quoted)} of every judged item."""
    judge = Judge(SETTINGS.local_backend(pytorch_solution.namespaces(folder, replace=replace)), SETTINGS, seed)
    verdicts = [(item, judge.judge(item)) for item in SETTINGS.items if item.kind in JUDGED]
    return {item.name: named(item, verdict) for item, verdict in verdicts if verdict.status != "passed"}


def test_the_pytorch_catalogue_is_mistakes_of_the_pytorch_layers():
    assert len(PYTORCH) >= 8 and set(LINES) == {m.name for m in PYTORCH}
    kinds = {item.name: item.kind for item in SETTINGS.items}
    assert all(m.modules == ("rnn_layers_pytorch",) and kinds[m.items[0]] == "autograd_layer" for m in PYTORCH)
    assert SETTINGS.raw["mistakes"] == ["captioning", "pytorch"]  # rnn's are mistakes of backward functions


def test_every_model_mistake_of_captioning_has_its_pytorch_version():
    """The captioning mistakes made in the model's own methods; its layers' mistakes are the pytorch catalogue's."""
    in_model = {m.name for m in mistakes.catalogue()["captioning"]
                if all(function.startswith("CaptioningRNN.") for function, _, _ in m.edits)}
    assert in_model == set(MODEL) | {"sample_start_in_column_0"}  # that one is a bug of bugs_pytorch.py


@pytest.mark.parametrize("mistake", PYTORCH, ids=lambda m: m.name)
def test_a_mistake_made_in_the_pytorch_reference_gets_its_own_hint_and_no_other(tmp_path, mistake):
    assert hints(tmp_path, made_in_reference(mistake)) == {mistake.items[0]: (mistake.name, LINES[mistake.name])}


@pytest.mark.parametrize("name", sorted(MODEL))
def test_a_model_mistake_in_a_pytorch_model_gets_the_captioning_hint(tmp_path, name):
    replace, line = MODEL[name]
    (item,) = replace
    assert hints(tmp_path, replace) == {item: (name, line)}


@pytest.mark.parametrize("bug", list(BUGS_BY_NAME.values()), ids=lambda b: b.name)
def test_each_pytorch_bug_gets_exactly_its_hint(tmp_path, bug):
    assert set(EXPECTED) == set(BUGS_BY_NAME)
    assert hints(tmp_path, bug.replace) == {bug.item: EXPECTED[bug.name]}


def test_what_the_probe_records_is_what_the_reference_variant_gives(tmp_path):
    """The observed form (outputs, then the wrt args' gradients) is the variant's: the solved
    template's observations agree with the PyTorch reference's variant on every float64 case,
    the value-only public cases and the scalar loss included."""
    judge = Judge(SETTINGS.local_backend(pytorch_solution.namespaces(tmp_path)), SETTINGS, 5)
    for item in [item for item in SETTINGS.items if item.kind == "autograd_layer"]:
        verdict = judge.judge(item)
        seen = [(case, got) for case, got in verdict.observed if case.dtype == "float64"]
        assert verdict.status == "passed" and seen
        reference = mistakes.modules((), ("rnn_layers_pytorch",))
        for case, got in seen:
            want = kind_of(item).variant(judge, item, case, reference)
            assert len(want) == len(item.outputs) + (len(item.wrt) if case.upstream or not item.returns_cache else 0)
            assert mistakes.agree(got, want), (item.name, case.name)
        assert kind_of(item).variant(judge, item, seen[0][0], mistakes.modules()) is None  # the NumPy reference's


def test_an_unreached_gradient_agrees_only_with_an_unreached_one():
    out = np.ones(3)
    assert mistakes.agree([out, None], [out, None])
    assert not mistakes.agree([out, np.zeros(3)], [out, None]) and not mistakes.agree([out, None], [out, np.zeros(3)])


def test_a_numpy_assignment_never_imports_torch():
    """A hint of the rnn assignment runs its mistakes without torch."""
    code = textwrap.dedent("""
        import sys
        import bugs
        from grader import assignments
        from grader.check.judge import Judge
        from student_code import namespace_with
        settings = assignments.load("rnn")
        judge = Judge(settings.local_backend(namespace_with(bugs.BY_NAME["rnn_step_forward_no_bias"].replace)), settings, 3)
        verdict = judge.judge(settings.items[0])
        assert verdict.status == "failed" and all(c.hint for c in verdict.checks if not c.passed)
        print("torch" in sys.modules)
    """)
    tests = Path(__file__).parent
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, cwd=tests.parent,
                          env=dict(os.environ, PYTHONPATH="%s:%s" % (tests.parent, tests)))
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "False"


SWEPT = [(m.name, made_in_reference(m), m.items[0]) for m in PYTORCH] + [
    (name, replace, next(iter(replace))) for name, (replace, _) in MODEL.items()] + [
    (bug.name, bug.replace, bug.item) for bug in BUGS_BY_NAME.values() if EXPECTED[bug.name][0]]


@pytest.mark.slow
@pytest.mark.parametrize("name, replace, item", SWEPT, ids=[name for name, _, _ in SWEPT])
def test_the_hint_does_not_depend_on_the_seed(tmp_path, name, replace, item):
    """On 100 seeds, the item fails with the same hint (the others run the solution's correct code).
    The public cases' calls, the same on every seed, run once."""
    expected = EXPECTED[name][0] if name in EXPECTED else name
    backend = MemoBackend(pytorch_solution.namespaces(tmp_path, replace=replace), "rnn-pytorch")
    graded = next(i for i in SETTINGS.items if i.name == item)
    wrong = []
    for seed in SWEEP_SEEDS:
        verdict = Judge(backend, SETTINGS, seed).judge(graded)
        if verdict.status != "failed" or named(graded, verdict)[0] != expected:
            wrong.append("seed %d: %s, hint %s" % (seed, verdict.status, named(graded, verdict)[0]))
    assert not wrong, "\n".join(wrong[:10])
