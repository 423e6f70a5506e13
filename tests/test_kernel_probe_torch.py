"""The kernel probe's PyTorch operations (grader/grade/kernel_probe_torch.py), in-process.

The probe module is built as the kernel builds it (kernel_probe's source, then this
one's, exec'd in one namespace); requests and replies cross the JSON codec as
LocalBackend sends them. The solved PyTorch template must give the NumPy reference's
forward values and analytic gradients through autograd, and every bug of
bugs_pytorch must give an error or other values, on every seed tried.
"""
import json
import types
from pathlib import Path

import numpy as np
import pytest

import notebooks
import pytorch_solution
from bugs_pytorch import BUGS
from grader import assignments
from grader.check.overfit import overfit_request
from grader.grade import kernel_probe
from grader.resources import reference_source
from reference import captioning_rnn, rnn_layers as R

pytest.importorskip("torch")

PROBE_TORCH = Path(kernel_probe.__file__).with_name("kernel_probe_torch.py")
SOLVER = notebooks.TEMPLATE_DIR / "pytorch" / "cs231n" / "captioning_solver_pytorch.py"
SEEDS = range(20)
WORDS = {"<START>": 0, "<END>": 1, "a": 2, "<NULL>": 3, "cat": 4, "dog": 5, "on": 6, "mat": 7}
PARAMS = ("W_embed", "W_proj", "b_proj", "Wx", "Wh", "b", "W_vocab", "b_vocab")
LAYERS = pytorch_solution.LAYERS
# The layer items whose functions call another graded function.
CALLS = {"rnn_forward": "rnn_step_forward", "lstm_forward": "lstm_step_forward"}


def rel_error(x, y):
    """The notebook's element-wise error: for values."""
    return np.max(np.abs(x - y) / np.maximum(1e-8, np.abs(x) + np.abs(y)))


def norm_error(x, y):
    """For gradients: element-wise, an element of 1e-10 differs by rounding alone (saturated
    tanh and sigmoid) and its error passes 1e-9 with the 1e-8 floor."""
    return np.linalg.norm(x - y) / max(np.linalg.norm(x) + np.linalg.norm(y), 1e-300)


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """One torch thread, as in the grader's kernels (execute.SINGLE_THREAD): on a shared
    machine, two threads make training ten times slower."""
    import torch
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def probe():
    """kernel_probe with kernel_probe_torch installed after it, as in the kernel."""
    module = types.ModuleType("_probe_with_torch")
    for path in (Path(kernel_probe.__file__), PROBE_TORCH):
        exec(compile(path.read_text(), str(path), "exec"), vars(module))
    return module


@pytest.fixture(scope="module")
def solved(tmp_path_factory):
    folder = notebooks.build_submission("module", tmp_path_factory.mktemp("solved"),
                                        solutions=pytorch_solution.SOURCES, template=notebooks.PYTORCH_TEMPLATE)
    return pytorch_solution.load(folder)


def ask(probe, namespace, op, reference=None, **fields):
    """One request through the codec, run on ``namespace``; the reply's decoded values."""
    req = probe.decode(json.loads(json.dumps(probe.encode(dict(fields, op=op)))))
    probe.LOCAL_NAMESPACES = [namespace]
    try:
        result = probe.OPS[op](req, probe.Reference(reference or {}))
    finally:
        probe.LOCAL_NAMESPACES = None
    return {k: v if k in probe.PLAIN_KEYS else probe.decode(json.loads(json.dumps(probe.encode(v))))
            for k, v in result.items()}


# ----------------------------------------------------------------- cases and expected values

def layer_cases(name, seed):
    """[(request fields, reference forward outputs, reference gradients of ``wrt``)]: a batch
    of one over one step, and a larger case (T >= 2, repeated and unused word ids, a fully
    masked row)."""
    cases = []
    for N, T in ((1, 1), (3 + seed % 2, 2 + seed % 3)):
        rng = np.random.RandomState(1000 * seed + N)
        D, H, V = 4, 5, 9
        x, h, Wx, Wh, b = rng.randn(N, D), rng.randn(N, H), rng.randn(D, H), rng.randn(H, H), rng.randn(H)
        x3 = rng.randn(N, T, D)
        H4 = (rng.randn(D, 4 * H), rng.randn(H, 4 * H), rng.randn(4 * H))
        if name == "rnn_step_forward":
            args = [x, h, Wx, Wh, b]
            out, cache = R.rnn_step_forward(*args)
            up = [rng.randn(N, H)]
            grads = R.rnn_step_backward(up[0], cache)
        elif name == "rnn_forward":
            args = [x3, h, Wx, Wh, b]
            out, cache = R.rnn_forward(*args)
            up = [rng.randn(N, T, H)]
            grads = R.rnn_backward(up[0], cache)
        elif name == "word_embedding_forward":
            ids = rng.randint(V - 3, size=(N, T))
            ids[0, 0] = ids[-1, -1]
            args = [ids, rng.randn(V, D)]
            out, cache = R.word_embedding_forward(*args)
            up = [rng.randn(N, T, D)]
            grads = [R.word_embedding_backward(up[0], cache)]
        elif name == "lstm_step_forward":
            args = [x, h, rng.randn(N, H), *H4]
            next_h, next_c, cache = R.lstm_step_forward(*args)
            out, up = (next_h, next_c), [rng.randn(N, H), rng.randn(N, H)]
            grads = R.lstm_step_backward(*up, cache)
        elif name == "lstm_forward":
            args = [x3, h, *H4]
            out, cache = R.lstm_forward(*args)
            up = [rng.randn(N, T, H)]
            grads = R.lstm_backward(up[0], cache)
        elif name == "temporal_affine_forward":
            args = [x3, Wx, b]
            out, cache = R.temporal_affine_forward(*args)
            up = [rng.randn(N, T, H)]
            grads = R.temporal_affine_backward(up[0], cache)
        else:
            mask = rng.rand(N, T) > 0.4
            mask[0] = False
            mask[-1, -1] = True
            args = [rng.randn(N, T, V), rng.randint(V, size=(N, T)), mask]
            loss, dx = R.temporal_softmax_loss(*args)
            out, up, grads = np.asarray(loss), None, [dx]
        wrt = [i for i, a in enumerate(args) if a.dtype.kind == "f"]
        fields = {"forward": name, "args": args, "wrt": wrt, "outputs": len(out) if isinstance(out, tuple) else 1}
        if up is not None:
            fields["upstream"] = up
        cases.append((fields, list(out) if isinstance(out, tuple) else [out], list(grads)))
    return cases


def model_case(cell_type, seed):
    """(init, params, features, captions): <NULL> is id 3, a caption ends early."""
    rng = np.random.RandomState(seed)
    N, D, W, H = 1 + seed % 3, 5, 4, 6
    np.random.seed(seed)
    ref = captioning_rnn.CaptioningRNN(WORDS, input_dim=D, wordvec_dim=W, hidden_dim=H,
                                       cell_type=cell_type, dtype=np.float64)
    params = {k: v * 3 for k, v in ref.params.items()}
    captions = np.full((N, 6), WORDS["<NULL>"])
    captions[:, 0] = WORDS["<START>"]
    captions[:, 1:4] = rng.choice([2, 4, 5, 6, 7], size=(N, 3))
    captions[:, 4] = WORDS["<END>"]
    captions[N - 1, 2:] = WORDS["<NULL>"]
    init = {"word_to_idx": WORDS, "input_dim": D, "wordvec_dim": W, "hidden_dim": H,
            "cell_type": cell_type, "dtype": "float64"}
    return init, params, rng.randn(N, D), captions


def reference_model(init, params):
    model = captioning_rnn.CaptioningRNN(**dict(init, dtype=np.float64))
    model.params.update({k: np.copy(v) for k, v in params.items()})
    return model


def differs_from_reference(reply, forward, grads):
    """Does a layer reply (not an error) hold other values than the reference's?"""
    pairs = [(g, w, rel_error) for g, w in zip(reply["forward"], forward)] + \
        [(g, w, norm_error) for g, w in zip(reply["grads"], grads)]
    return any(g is None or np.shape(g) != np.shape(w) or error(g, w) > 1e-9 for g, w, error in pairs)


# ----------------------------------------------------------------- the solved template

@pytest.mark.parametrize("name", LAYERS)
def test_solved_layer_matches_the_reference_forward_and_analytic_backward(probe, solved, name):
    for seed in SEEDS:
        for fields, forward, grads in layer_cases(name, seed):
            reply = ask(probe, solved, "autograd_layer", **fields)
            assert set(reply) == {"forward", "grads", "unreached"}, reply.get("error")
            assert reply["unreached"] == [] and len(reply["grads"]) == len(fields["wrt"])
            for got, want in zip(reply["forward"] + reply["grads"], forward + grads):
                assert got.dtype == np.float64 and got.shape == np.shape(want), (name, seed)
            assert not differs_from_reference(reply, forward, grads), (name, seed)


def test_float32_inputs_give_float32_results_and_gradients(probe, solved):
    fields, forward, grads = layer_cases("rnn_forward", 3)[1]
    fields = dict(fields, args=[a.astype(np.float32) for a in fields["args"]])
    reply = ask(probe, solved, "autograd_layer", **fields)
    assert {a.dtype for a in reply["forward"] + reply["grads"]} == {np.dtype(np.float32)}
    assert all(norm_error(g, w) < 1e-6 for g, w in zip(reply["forward"] + reply["grads"], forward + grads))


@pytest.mark.parametrize("cell_type", ["rnn", "lstm"])
def test_solved_model_loss_and_its_autograd_grads_match_the_reference(probe, solved, cell_type):
    for seed in SEEDS:
        init, params, features, captions = model_case(cell_type, seed)
        reply = ask(probe, solved, "autograd_model_loss", init=init, params=params,
                    features=features, captions=captions)
        loss, grads = reference_model(init, params).loss(features, captions)
        assert reply["loss"].shape == () and reply["loss"].dtype == np.float64
        assert rel_error(reply["loss"], loss) < 1e-12, (cell_type, seed)
        assert reply["unreached"] == [] and reply["replaced"] == []
        assert sorted(reply["grads"]) == sorted(PARAMS)
        for k in PARAMS:
            assert norm_error(reply["grads"][k], grads[k]) < 1e-9, (cell_type, seed, k)


def test_solved_model_gives_the_notebooks_expected_loss(probe, solved):
    N, D, W, H, T = 10, 20, 30, 40, 13
    words = {"<NULL>": 0, "cat": 2, "dog": 3}
    init = {"word_to_idx": words, "input_dim": D, "wordvec_dim": W, "hidden_dim": H, "dtype": "float64"}
    shapes = {"W_embed": (3, W), "W_proj": (D, H), "b_proj": (H,), "Wx": (W, H), "Wh": (H, H), "b": (H,),
              "W_vocab": (H, 3), "b_vocab": (3,)}
    params = {k: np.linspace(-1.4, 1.3, num=int(np.prod(s))).reshape(s) for k, s in shapes.items()}
    reply = ask(probe, solved, "autograd_model_loss", init=init, params=params,
                features=np.linspace(-1.5, 0.3, num=N * D).reshape(N, D),
                captions=(np.arange(N * T) % 3).reshape(N, T))
    assert abs(float(reply["loss"]) - 9.83235591003) < 1e-10


@pytest.mark.parametrize("cell_type", ["rnn", "lstm"])
def test_solved_sample_is_the_reference_greedy_decode(probe, solved, cell_type):
    for seed in SEEDS:
        init, params, features, _ = model_case(cell_type, seed)
        max_length = 1 + seed * 3
        reply = ask(probe, solved, "torch_sample", init=init, params=params, features=features,
                    max_length=max_length)
        expected = reference_model(init, params).sample(features, max_length=max_length)
        assert np.array_equal(reply["captions"], expected), (cell_type, seed)


def test_numeric_gradients_of_the_student_forward_agree_with_autograd(probe, solved):
    fields, _, _ = layer_cases("rnn_forward", 1)[1]
    reply = ask(probe, solved, "autograd_layer", perturb={"wrt": [3], "h": 1e-5}, **fields)
    plus, minus = reply["perturbed"][0]
    numeric = ((plus - minus) / 2e-5 * fields["upstream"][0]).reshape(len(plus), -1).sum(axis=1)
    assert norm_error(numeric.reshape(reply["grads"][3].shape), reply["grads"][3]) < 1e-8

    init, params, features, captions = model_case("rnn", 2)
    reply = ask(probe, solved, "autograd_model_loss", init=init, params=params, features=features,
                captions=captions, perturb={"params": ["Wh", "b_vocab"], "h": 1e-6})
    for k in ("Wh", "b_vocab"):
        plus, minus = reply["perturbed"][k]
        numeric = ((plus - minus) / 2e-6).reshape(reply["grads"][k].shape)
        assert norm_error(numeric, reply["grads"][k]) < 1e-7, k


@pytest.mark.slow
def test_solved_model_overfits_fifty_examples_with_the_given_solver(probe, solved):
    overfit = assignments.load("rnn-pytorch").raw["items"]["overfit_small_data"]
    request = overfit_request(231, dict(overfit["model"], cell_type="rnn"), overfit["solver"])
    reference = {"coco_utils": reference_source("coco_utils"), "captioning_solver_pytorch": SOLVER.read_text()}
    reply = ask(probe, solved, "torch_overfit", reference=reference, **request)
    history = reply["loss_history"]
    assert history.dtype == np.float64 and history.shape == (100,)
    assert history[-1] < 0.1 < history[0] and isinstance(reply["train_seconds"], float)


# ----------------------------------------------------------------- what student code gets wrong

def test_a_missing_function_is_missing(probe, solved):
    fields, _, _ = layer_cases("rnn_step_forward", 0)[0]
    namespace = {k: v for k, v in solved.items() if k != "rnn_step_forward"}
    assert ask(probe, namespace, "autograd_layer", **fields)["missing"] == "rnn_step_forward"


@pytest.mark.parametrize("returned, words", [
    ("(next_h, (x, prev_h))", "returned a tuple of 2 values: return only the tensor (no cache)"),
    ("next_h.detach().numpy()", "returned a ndarray, not a torch tensor"),
])
def test_a_forward_that_returns_no_tensor_is_an_error_that_says_so(probe, solved, returned, words):
    source = "def rnn_step_forward(x, prev_h, Wx, Wh, b):\n" \
             "    next_h = torch.tanh(x @ Wx + prev_h @ Wh + b)\n    return %s\n" % returned
    namespace = dict(solved)
    exec(source, namespace)
    fields, _, _ = layer_cases("rnn_step_forward", 0)[0]
    error = ask(probe, namespace, "autograd_layer", **fields)["error"]
    assert (error["stage"], error["ename"]) == ("forward", "WrongResult") and words in error["evalue"]


def test_a_float64_result_for_float32_inputs_is_an_error(probe, solved):
    namespace = dict(solved)
    exec("def temporal_affine_forward(x, w, b):\n    return x.double() @ w.double() + b.double()\n", namespace)
    fields, _, _ = layer_cases("temporal_affine_forward", 0)[0]
    fields = dict(fields, args=[a.astype(np.float32) for a in fields["args"]])
    error = ask(probe, namespace, "autograd_layer", **fields)["error"]
    assert "returned a float64 tensor: keep the inputs' dtype (float32)" in error["evalue"]


def test_two_outputs_are_due_from_lstm_step_forward(probe, solved):
    namespace = dict(solved)
    exec("def lstm_step_forward(x, prev_h, prev_c, Wx, Wh, b):\n    return prev_h * 1, prev_c * 1, None\n",
         namespace)
    fields, _, _ = layer_cases("lstm_step_forward", 0)[0]
    error = ask(probe, namespace, "autograd_layer", **fields)["error"]
    assert "returned 3 values where 2 tensors are due (no cache)" in error["evalue"]


def test_a_loss_that_is_no_scalar_is_an_error(probe, solved):
    namespace = dict(solved)
    exec("def temporal_softmax_loss(x, y, mask, verbose=False):\n    return x.sum(dim=2)\n", namespace)
    fields, _, _ = layer_cases("temporal_softmax_loss", 0)[1]
    error = ask(probe, namespace, "autograd_layer", **fields)["error"]
    assert "where a scalar loss is due" in error["evalue"]


def test_params_the_loss_rebinds_are_named_and_get_no_gradient(probe, solved):
    class Rebinding(solved["CaptioningRNN"]):
        def loss(self, features, captions):
            self.params["Wh"] = self.params["Wh"].detach().clone()
            return super().loss(features, captions)

    init, params, features, captions = model_case("rnn", 0)
    reply = ask(probe, dict(solved, CaptioningRNN=Rebinding), "autograd_model_loss", init=init,
                params=params, features=features, captions=captions)
    assert reply["replaced"] == ["Wh"] and reply["unreached"] == ["Wh"] and reply["grads"]["Wh"] is None


@pytest.mark.parametrize("bug, effect", BUGS, ids=[bug.name for bug, _ in BUGS])
def test_bug_gives_an_error_or_other_values_on_every_seed(probe, tmp_path, bug, effect):
    folder = notebooks.build_submission("module", tmp_path, solutions=pytorch_solution.SOURCES,
                                        replace=bug.replace, template=notebooks.PYTORCH_TEMPLATE)
    namespace = pytorch_solution.load(folder)
    for seed in SEEDS:
        if bug.item in LAYERS:
            replies = [(ask(probe, namespace, "autograd_layer", **fields), forward, grads)
                       for fields, forward, grads in layer_cases(bug.item, seed)]
            wrong = [(r, f) for r, f, g in replies if "error" in r or differs_from_reference(r, f, g)]
            assert wrong, (bug.name, seed)
            reply, forward = wrong[-1]
        else:
            init, params, features, captions = model_case("rnn", seed)
            if bug.item == "CaptioningRNN.loss":
                reply = ask(probe, namespace, "autograd_model_loss", init=init, params=params,
                            features=features, captions=captions)
            else:
                reply = ask(probe, namespace, "torch_sample", init=init, params=params, features=features)
                expected = reference_model(init, params).sample(features)
                assert not np.array_equal(reply["captions"], expected), (bug.name, seed)
        if effect.kind == "error":
            assert reply["error"]["stage"] == effect.stage and effect.raises in reply["error"]["evalue"], \
                (bug.name, reply["error"])
        else:
            assert "error" not in reply, (bug.name, reply.get("error"))
        if effect.kind == "unreached":
            assert reply["unreached"] == list(effect.unreached), (bug.name, seed)
            assert all(rel_error(g, w) < 1e-9 for g, w in zip(reply["forward"], forward)), (bug.name, seed)


@pytest.mark.parametrize("bug, effect", BUGS, ids=[bug.name for bug, _ in BUGS])
def test_bug_leaves_the_layers_that_do_not_call_it_right(probe, tmp_path, bug, effect):
    folder = notebooks.build_submission("module", tmp_path, solutions=pytorch_solution.SOURCES,
                                        replace=bug.replace, template=notebooks.PYTORCH_TEMPLATE)
    namespace = pytorch_solution.load(folder)
    for name in LAYERS:
        if bug.item in (name, CALLS.get(name)):
            continue
        for fields, forward, grads in layer_cases(name, 0):
            reply = ask(probe, namespace, "autograd_layer", **fields)
            assert "error" not in reply and not differs_from_reference(reply, forward, grads), (bug.name, name)
