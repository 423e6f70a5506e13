"""The student kit: nothing of the solution in it, and the grader's public verdicts out of it.

The kit runs in this process here, on functions defined from sources (as a notebook defines
them); tests/test_kit_notebooks.py runs it on real notebooks, and `grade --public-only` too.
"""
import ast
import contextlib
import importlib.util
import inspect
import io
import json
import subprocess
import sys
import textwrap
import types

import numpy as np
import pytest

import bugs
import bugs_lstm
import bugs_pytorch
import kits
import notebooks
import pytorch_solution
from correct_variants import VARIANTS
from grader import assignments
from grader.assignments.calibrate import reference_namespace
from grader.check import cases as C
from grader.check import mistakes
from grader.check.judge import Judge
from grader.check.kinds import autograd
from grader.check.kinds.layer import Layer
from grader.grade.probe import probe_sources
from grader.resources import reference_source
from reference.captioning_rnn import CaptioningRNN
from student_code import namespace_with

ASSIGNMENTS = ("rnn", "lstm", "cs7353")
CATALOGUES = {"rnn": bugs.BUGS, "lstm": bugs_lstm.BUGS, "cs7353": bugs.BUGS}
HAS_TORCH = importlib.util.find_spec("torch") is not None
needs_torch = pytest.mark.skipif(not HAS_TORCH, reason="the PyTorch kit needs torch (pip install '.[torch]')")
# The quick subset builds the rnn and cs7353 kits only (the lstm and rnn-pytorch kits take seconds to record).
EACH_KIT = ["rnn", "cs7353", pytest.param("lstm", marks=pytest.mark.slow),
            pytest.param("rnn-pytorch", marks=[pytest.mark.slow, needs_torch])]
REFERENCE_MODULES = {"rnn-pytorch": ("rnn_layers", "captioning_rnn", "rnn_layers_pytorch", "captioning_rnn_pytorch")}


def reference_lines(modules=("rnn_layers", "captioning_rnn")):
    """Each line of the statements in the reference's function bodies (docstrings aside)."""
    found = set()
    for module in modules:
        source = reference_source(module)
        lines = source.split("\n")
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.FunctionDef):
                body = node.body[1:] if isinstance(node.body[0], ast.Expr) else node.body
                for statement in body:
                    found.update(line.strip() for line in lines[statement.lineno - 1:statement.end_lineno])
    return {line for line in found if len(line) >= 8 and not line.startswith("#")}


@pytest.mark.parametrize("assignment", EACH_KIT)
def test_the_kit_holds_no_line_of_the_reference(assignment):
    text = kits.kit_text(assignment)
    settings = assignments.load(assignment)  # the hints quote a fix at times, as every report does
    hints = " ".join(m.hint for item in settings.items for m in mistakes.for_item(settings, item))
    lines = reference_lines(*[REFERENCE_MODULES[assignment]] if assignment in REFERENCE_MODULES else [])
    copied = "\n".join(probe_sources(settings.probe_extensions))  # the grader's own code (`return out` is in both)
    assert [line for line in lines if line in text and line not in hints and line not in copied] == []
    assert len(lines) > 100
    assert "def rel_error(x, y):" in text, "the search reads the kit: it finds the grader's code the kit copies"


def hidden_arrays(assignment, seed):
    """Inputs and the reference's outputs of every hidden case the grader draws with ``seed``."""
    settings = assignments.load(assignment)
    judge = Judge(None, settings, seed)
    for item in settings.items:
        if item.kind == "autograd_layer":
            for case in C.hidden_cases(item, judge.rng(item)):
                args = [a.astype(np.float64) if a.dtype.kind == "f" else a for a in case.args]
                upstream = [u.astype(np.float64) for u in case.upstream or ()]
                yield from case.args
                for values in autograd.expected(item, args, upstream):
                    yield from values
        elif item.kind == "layer":
            for case in C.hidden_cases(item, judge.rng(item)):
                args = [a.astype(np.float64) if a.dtype.kind == "f" else a for a in case.args]
                yield from case.args
                yield from Layer.expected(item, args, case.upstream)
        elif item.kind == "model_loss":
            for case in C.model_hidden_cases(judge.rng(item), settings.cell_type):
                model = CaptioningRNN(cell_type=settings.cell_type, dtype=np.float64, **case.extra["init"])
                model.params = {k: v.astype(np.float64) for k, v in case.extra["params"].items()}
                loss, grads = model.loss(case.args[0].astype(np.float64), case.args[1])
                yield from [case.args[0], np.asarray(loss), *case.extra["params"].values(), *grads.values()]
        elif item.kind == "sample":
            for case in C.sample_cases(judge.rng(item), False, settings.cell_type)[1:]:
                yield from [case.args[0], *case.extra["params"].values()]


def _distinctive(array):
    """The array's numbers as float64, without round ones (0, 1, 0.5...) that any array holds."""
    values = np.asarray(array, dtype=np.float64).ravel()
    return values[values != np.round(values, 6)]


@pytest.mark.parametrize("assignment", EACH_KIT)
def test_the_kit_holds_no_value_of_a_hidden_check(assignment):
    buffers = kits.kit_buffers(assignment)
    numbers = np.concatenate([b.astype(np.float64) for b in buffers.values()])
    raw = {key.split()[1]: b.tobytes() for key, b in buffers.items()}
    for seed in (kits.sample_seed(assignment), 1, 12345):
        arrays = list(hidden_arrays(assignment, seed))
        assert len(arrays) > 50
        for array in arrays:
            assert not np.isin(_distinctive(array), numbers).any(), "a hidden value is in the kit (seed %d)" % seed
            if array.dtype.kind == "f" and array.size > 1 and array.dtype.str in raw:
                assert raw[array.dtype.str].find(np.ascontiguousarray(array).tobytes()) < 0
    public = C.public_cases(assignments.load(assignment).items[0])[0]
    assert np.isin(_distinctive(public.args[0]), numbers).all(), "the search finds what is there: public inputs"


def blank_namespace(assignment):
    """The untouched template's functions."""
    names = [n for n in notebooks.GRADED + notebooks.LSTM_TODOS
             if n in assignments.load(assignment).graded_functions or n.startswith("CaptioningRNN.")]
    return namespace_with(notebooks.template_sources(names))


VERSIONS = [(a, "reference") for a in ASSIGNMENTS] + [(a, "blank template") for a in ASSIGNMENTS] + [
    (a, bug.name) for a in ASSIGNMENTS for bug in CATALOGUES[a] if not bug.extra_cells
    and bug.item in {i.name for i in assignments.load(a).items}] + [("rnn", name) for name in VARIANTS]
QUICK = {("rnn", "reference"), ("rnn", "blank template"), ("rnn", "rnn_step_forward_no_bias"),
         ("rnn", "word_embedding_backward_assign"), ("cs7353", "reference")}  # the sweep is slow


@pytest.mark.parametrize("assignment,version", [
    pytest.param(*v, id="%s-%s" % v, marks=() if v in QUICK else pytest.mark.slow) for v in VERSIONS])
def test_the_kit_gives_the_verdicts_of_the_grader_pre_check(assignment, version):
    """Every check: same verdict, same message; the items before a bug are replaced as the grader does."""
    by_name = {bug.name: bug for bug in CATALOGUES[assignment]}
    namespace = reference_namespace() if version == "reference" else blank_namespace(assignment) \
        if version == "blank template" else namespace_with(by_name[version].replace) if version in by_name \
        else namespace_with(VARIANTS[version])
    kit = kits.agreeing_views(assignment, namespace)
    expected = {"reference": "passed", "blank template": "not_implemented"}.get(version)
    if expected:
        assert {status for status, *_ in kit.values()} == {expected}


def test_a_failed_function_is_replaced_from_the_records_even_when_a_caller_rounds_differently():
    """The loss computes h0 with its own sums (other last bits): the grader's recorded rnn_forward
    is still found, nearest by its projection, and the loss passes as it does in the grader."""
    loss = textwrap.dedent(inspect.getsource(CaptioningRNN.loss)).replace(
        "h0, cache_proj = affine_forward(features, p['W_proj'], p['b_proj'])",
        "h0 = (features[:, :, None] * p['W_proj'][None]).sum(axis=1) + p['b_proj']\n"
        "    cache_proj = (features, p['W_proj'], p['b_proj'])")
    assert "p['W_proj'][None]" in loss
    namespace = namespace_with({"CaptioningRNN.loss": loss, **bugs.BY_NAME["rnn_forward_no_state_update"].replace})
    kit, grader = kits.kit_views("rnn", namespace), kits.grader_views("rnn", namespace)
    assert kit == grader and kit["CaptioningRNN.loss"][0] == "passed" and kit["rnn_forward"][0] == "failed"
    rng = np.random.default_rng(0)
    features, w = rng.standard_normal((10, 20)), rng.standard_normal((20, 40))
    assert not np.array_equal((features[:, :, None] * w[None]).sum(axis=1), features.dot(w)), "other last bits"


def test_calls_the_reference_never_made_are_reported_as_not_isolated():
    forward = bugs.RNN_FORWARD_NO_STATE_UPDATE.replace("x[:, t, :]", "x[:, t, :] * 2")
    namespace = namespace_with({**bugs.BY_NAME["rnn_step_forward_no_bias"].replace, "rnn_forward": forward})
    status, checks, notes, problem, hint = kits.kit_views("rnn", namespace)["rnn_forward"]
    assert status == "error" and not checks and not hint
    assert problem == ("could not isolate this item from rnn_step_forward: the grader's rnn_step_forward stands in "
                       "for yours here (yours or its partner failed its item), and it cannot run on what your code "
                       "passes it (the kit holds no answer for these arguments)")


def run_in_notebook(code, namespace):
    """Run ``code`` as a notebook cell in ``namespace``; return what it printed."""
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(code, namespace)
    return printed.getvalue()


def test_check_in_a_notebook_prints_a_line_per_check_of_the_functions_it_defined():
    kits.kit_module("rnn")
    namespace = {}
    exec("import numpy as np\n" + bugs.RNN_STEP_FORWARD_NO_BIAS, namespace)
    text = run_in_notebook("from rnn_check import check\ncheck('rnn_step_forward')", namespace)
    lines = text.splitlines()
    assert lines[0] == "FAIL    rnn_step_forward"
    assert lines[1].startswith("          FAIL public: notebook inputs: next_h vs reference: next_h: rel_error ")
    assert lines[-1] == "          hint: next_h leaves out the bias: next_h = tanh(x Wx + prev_h Wh + b)"
    namespace.update(reference_namespace())
    text = run_in_notebook("check()", namespace)
    assert text.count("\nok      ") + text.startswith("ok      ") == 11 and "FAIL" not in text
    with pytest.raises(ValueError, match="no item 'rnn_step' .*rnn_step_forward"):
        run_in_notebook("check('rnn_step')", namespace)


def test_check_called_from_a_helper_finds_the_notebooks_functions_in_main(monkeypatch):
    kits.kit_module("rnn")
    notebook = types.ModuleType("__main__")
    vars(notebook).update(reference_namespace())
    monkeypatch.setitem(sys.modules, "__main__", notebook)
    helper = {}  # a module of the student's own, whose globals hold no graded function
    assert run_in_notebook("from rnn_check import check\ncheck('rnn_forward')", helper).startswith(
        "ok      rnn_forward\n")


def test_an_item_not_defined_yet_is_missing_in_the_graders_words():
    kits.kit_module("rnn")
    text = run_in_notebook("from rnn_check import check\ncheck('rnn_step_backward')", {})
    assert text.splitlines()[0] == "MISSING rnn_step_backward", "only the item asked for is shown"
    assert "rnn_step_forward is not defined (looked in the notebook and in cs231n/)" in text


def imported_by(code):
    """The top-level modules ``code`` imports in a fresh interpreter, beyond those numpy imports."""
    code = ("import sys, json, numpy, numpy.random\nbefore = set(sys.modules)\n%s\n"
            "print(json.dumps(sorted({m.split('.')[0] for m in set(sys.modules) - before})))" % code)
    done = subprocess.run([sys.executable, "-I", "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return set(json.loads(done.stdout.splitlines()[-1]))


@pytest.mark.parametrize("assignment", ["rnn", pytest.param("rnn-pytorch", marks=[pytest.mark.slow, needs_torch])])
def test_the_kit_imports_numpy_and_the_standard_library_only(assignment):
    """The NumPy kits import numpy and the standard library; the PyTorch kit torch besides (and
    what importing torch imports), and only when it checks."""
    package = kits.package_name(assignments.load(assignment))
    folder = kits.kit_folder(assignment)
    imported = imported_by("sys.path.insert(0, %r)\nimport %s.session as s, %s.notebook\ns.verdicts({})"
                           % (str(folder), package, package))
    allowed = {"numpy", package} | (imported_by("import torch") if assignment == "rnn-pytorch" else set())
    assert imported - set(sys.stdlib_module_names) - allowed == set()
    assert package in imported and ("torch" in imported) == (assignment == "rnn-pytorch")
    if assignment == "rnn-pytorch":  # reading the kit (its usage, its items) needs no torch
        assert "torch" not in imported_by("sys.path.insert(0, %r)\nimport %s.notebook as n\nn.Kit(n.DATA)"
                                          % (str(folder), package))


@pytest.mark.slow
def test_grade_writes_a_kit_named_after_the_assignment(tmp_path):
    done = subprocess.run([sys.executable, "-m", "grader", "--student-kit", str(tmp_path), "--assignment", "cs7353"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    package = tmp_path / "cs7353_check"
    assert {p.name for p in package.iterdir()} >= {"__init__.py", "__main__.py", "README.md", "data", "_compare.py"}
    assert "python -m cs7353_check CS7353_RNN_Captioning.ipynb" in (package / "README.md").read_text()
    done = subprocess.run([sys.executable, "-m", "grader", "--student-kit", str(tmp_path / "x"), "--assignment",
                           "rnn,lstm"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and len(done.stderr.splitlines()) == 1 and "Traceback" not in done.stderr


@pytest.mark.slow
@needs_torch
def test_grade_writes_the_pytorch_kit(tmp_path):
    done = subprocess.run([sys.executable, "-m", "grader", "--student-kit", str(tmp_path), "--assignment",
                           "rnn-pytorch"], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    package = tmp_path / "rnn_pytorch_check"
    assert {p.name for p in package.iterdir()} >= {"__init__.py", "torch_replay.py", "data", "_probe.py"}
    readme = (package / "README.md").read_text()
    assert "python -m rnn_pytorch_check RNN_Captioning_pytorch.ipynb" in readme and "NumPy and PyTorch" in readme
    assert "torch_replay.py" not in {p.name for p in kits.kit_folder("rnn").joinpath("rnn_check").iterdir()}


# ---------------------------------------------------------------- the PyTorch kit (rnn-pytorch)
TORCH_BUGS = {bug.name: bug for bug, _ in bugs_pytorch.BUGS}
TORCH_VERSIONS = ["solution", "blank template", *TORCH_BUGS]


def torch_namespaces(tmp_path, version):
    """The namespaces of a PyTorch submission (the solved template, the untouched one, or one bug)."""
    if version == "blank template":
        return pytorch_solution.namespaces(tmp_path, solutions=None)
    return pytorch_solution.namespaces(tmp_path, replace=TORCH_BUGS[version].replace if version in TORCH_BUGS
                                       else None)


@needs_torch
@pytest.mark.slow
@pytest.mark.parametrize("version", TORCH_VERSIONS)
def test_the_pytorch_kit_gives_the_verdicts_of_the_grader_pre_check(tmp_path, version):
    """Every check of the PyTorch kit: same verdict, same message, same hint as grade --public-only's."""
    namespace = torch_namespaces(tmp_path, version)
    kit = kits.agreeing_views("rnn-pytorch", namespace)
    expected = {"solution": "passed", "blank template": "not_implemented"}.get(version)
    if expected:
        assert {status for status, *_ in kit.values()} == {expected}
    else:
        assert {name for name, view in kit.items() if view[0] != "passed"} == {TORCH_BUGS[version].item} & set(kit)
    if version == "sample_start_in_column_0":  # a catalogued mistake of the model: the kit names it too
        assert kit["CaptioningRNN.sample"][-1].startswith("column 0 holds <START>")


def torch_kit_replay():
    """The PyTorch kit's stand-ins, as its check() builds them."""
    session = kits.kit_module("rnn-pytorch")
    return session.replay(session.Kit(session.DATA)), session.Kit(session.DATA)


@needs_torch
def test_a_pytorch_stand_in_replays_its_outputs_and_gradients_with_autograd():
    """The kit's rnn_step_forward, inside the reference's rnn_forward on the notebook's gradient-check inputs:
    the forward values and the gradients autograd takes through the replayed steps are the reference's."""
    import torch
    from reference import rnn_layers_pytorch as reference
    replay, kit = torch_kit_replay()
    case = kit.item("rnn_forward")["cases"][1]
    args, upstream = kit.value(case["args"]), kit.value(case["upstream"])
    namespace = dict(vars(reference), rnn_step_forward=replay.function("rnn_step_forward"))
    replayed_forward = types.FunctionType(reference.rnn_forward.__code__, namespace)
    results = []
    for forward in (replayed_forward, reference.rnn_forward):
        inputs = [torch.tensor(a, requires_grad=True) for a in args]
        h = forward(*inputs)
        results.append([h.detach().numpy(), *(g.numpy() for g in torch.autograd.grad(
            h, inputs, torch.tensor(upstream[0])))])
    for got, want in zip(*results):
        assert got.shape == want.shape and np.allclose(got, want, rtol=1e-12, atol=1e-14)
    with pytest.raises(kits.kit_module("rnn-pytorch", "data").NotIsolated):  # outputs never recorded
        replayed_forward(*[torch.tensor(a) * 2 for a in args])
    inputs = [torch.tensor(a, requires_grad=True) for a in args]
    with pytest.raises(kits.kit_module("rnn-pytorch", "data").NotIsolated):  # incoming gradients never recorded
        torch.autograd.grad(replayed_forward(*inputs), inputs, 2 * torch.tensor(upstream[0]))


@needs_torch
@pytest.mark.slow
def test_a_failed_pytorch_layer_is_replaced_inside_later_items_with_gradients_through_the_replay(tmp_path,
                                                                                                   monkeypatch):
    """rnn_step_forward fails (float32): rnn_forward and the model's loss are judged with the kit's
    rnn_step_forward, autograd's gradients flowing through the recorded VJPs, as the grader judges them
    with its own."""
    namespace = torch_namespaces(tmp_path, "rnn_step_forward_float32")
    replay_module = kits.kit_module("rnn-pytorch", "torch_replay")
    asked = []
    answer = replay_module.TorchReplay.answer
    monkeypatch.setattr(replay_module.TorchReplay, "answer", lambda self, name, key: (asked.append(name),
                                                                                   answer(self, name, key))[1])
    kit, grader = kits.kit_views("rnn-pytorch", namespace), kits.grader_views("rnn-pytorch", namespace)
    assert kit == grader
    status, checks, notes, _, _ = kit["rnn_forward"]
    assert status == "passed" and sum("(autograd) vs reference" in name for name, _, _ in checks) == 5
    assert notes == ["graded with the grader's rnn_step_forward in place of yours (they failed their own items)"]
    assert kit["CaptioningRNN.loss"][0] == "passed" and kit["rnn_step_forward"][0] == "error"
    assert {"rnn_step_forward", "vjp rnn_step_forward"} <= set(asked)


@needs_torch
@pytest.mark.slow
def test_pytorch_calls_the_reference_never_made_are_reported_as_not_isolated(tmp_path):
    forward = pytorch_solution.SOURCES["rnn_forward"].replace("x[:, t, :]", "x[:, t, :] * 2")
    assert forward != pytorch_solution.SOURCES["rnn_forward"]
    namespace = pytorch_solution.namespaces(tmp_path, replace={**TORCH_BUGS["rnn_step_forward_float32"].replace,
                                                               "rnn_forward": forward})
    status, checks, notes, problem, hint = kits.kit_views("rnn-pytorch", namespace)["rnn_forward"]
    assert status == "error" and not checks and not hint
    assert problem == ("could not isolate this item from rnn_step_forward: the grader's rnn_step_forward stands in "
                       "for yours here (yours or its partner failed its item), and it cannot run on what your code "
                       "passes it (the kit holds no answer for these arguments)")


@needs_torch
@pytest.mark.slow
def test_the_pytorch_kit_names_a_catalogued_mistake_of_a_layer_as_the_grader_does(tmp_path):
    """Hints on autograd_layer items come from the grader's AutogradLayer.variant (what a mistake's forward
    and gradients are on the public cases); the kit holds them and compares the same observed values."""
    _, kit = torch_kit_replay()
    hinted_items = {i["name"] for i in kit.items if i["kind"] == "autograd_layer" and i["mistakes"]}
    if not hinted_items:
        pytest.skip("no mistake of an autograd_layer item is recorded yet: AutogradLayer.variant says nothing "
                    "(the grader gives no hint on those items either)")
    hinted = 0
    for name, bug in TORCH_BUGS.items():
        if bug.item in hinted_items:
            namespace = pytorch_solution.namespaces(tmp_path / name, replace=bug.replace)
            kit_view = kits.kit_views("rnn-pytorch", namespace)[bug.item]
            assert kit_view == kits.grader_views("rnn-pytorch", namespace)[bug.item], name
            hinted += kit_view[-1] is not None
    assert hinted, "some catalogued PyTorch bug is named by its hint"
