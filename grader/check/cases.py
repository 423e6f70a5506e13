"""Inputs the grader chooses: the notebook's own (public) and fresh random ones (hidden).

Public inputs rebuild the notebook's check cells exactly (same seed, same order of
draws). Hidden inputs change with the run's seed and cover what the notebook misses:
N=1, T=1, float32, repeated and unused word ids, a <NULL> id other than 0, fully
masked rows, other max_length values.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass, field

import numpy as np


@dataclass
class Case:
    name: str
    visibility: str  # public | hidden
    args: list
    upstream: list | None = None
    dtype: str = "float64"
    extra: dict = field(default_factory=dict)


def _lin(lo, hi, *shape):
    return np.linspace(lo, hi, num=int(np.prod(shape))).reshape(*shape)


# ------------------------------------------------------------ public inputs
def _public_rnn_step_forward():
    N, D, H = 3, 10, 4
    return [_lin(-0.4, 0.7, N, D), _lin(-0.2, 0.5, N, H), _lin(-0.1, 0.9, D, H),
            _lin(-0.3, 0.7, H, H), _lin(-0.2, 0.4, H)], None


def _public_rnn_step_backward():
    np.random.seed(231)
    N, D, H = 4, 5, 6
    args = [np.random.randn(N, D), np.random.randn(N, H), np.random.randn(D, H),
            np.random.randn(H, H), np.random.randn(H)]
    return args, [np.random.randn(N, H)]


def _public_rnn_forward():
    N, T, D, H = 2, 3, 4, 5
    return [_lin(-0.1, 0.3, N, T, D), _lin(-0.3, 0.1, N, H), _lin(-0.2, 0.4, D, H),
            _lin(-0.4, 0.1, H, H), _lin(-0.7, 0.1, H)], None


def _public_rnn_backward():
    np.random.seed(231)
    N, D, T, H = 2, 3, 10, 5
    args = [np.random.randn(N, T, D), np.random.randn(N, H), np.random.randn(D, H),
            np.random.randn(H, H), np.random.randn(H)]
    return args, [np.random.randn(N, T, H)]


def _public_word_embedding_forward():
    return [np.asarray([[0, 3, 1, 2], [2, 1, 0, 3]]), _lin(0, 1, 5, 3)], None


def _public_word_embedding_backward():
    np.random.seed(231)
    N, T, V, D = 50, 3, 5, 6
    args = [np.random.randint(V, size=(N, T)), np.random.randn(V, D)]
    return args, [np.random.randn(N, T, D)]


def _public_temporal_affine():
    np.random.seed(231)
    N, T, D, M = 2, 3, 4, 5
    args = [np.random.randn(N, T, D), np.random.randn(D, M), np.random.randn(M)]
    return args, [np.random.randn(N, T, M)]


def _softmax_draws():
    """The notebook's draws up to its softmax cells: the temporal affine cell (seed 231),
    then three ``check_loss`` calls; returns the first sanity input and the gradient input."""
    _public_temporal_affine()
    sanity = None
    for N, T, V, p in [(100, 1, 10, 1.0), (100, 10, 10, 1.0), (5000, 10, 10, 0.1)]:
        drawn = [0.001 * np.random.randn(N, T, V), np.random.randint(V, size=(N, T)), np.random.rand(N, T) <= p]
        sanity = sanity or drawn
    N, T, V = 7, 8, 9
    x = np.random.randn(N, T, V)
    y = np.random.randint(V, size=(N, T))
    mask = np.random.rand(N, T) > 0.5
    return sanity, [x, y, mask]


def _public_softmax_sanity():
    return _softmax_draws()[0], None


def _public_temporal_softmax_loss():
    return _softmax_draws()[1], None


PUBLIC = {
    "rnn_step_forward": [("public: notebook inputs", _public_rnn_step_forward)],
    "rnn_step_backward": [("public: notebook gradient check", _public_rnn_step_backward)],
    "rnn_forward": [("public: notebook inputs", _public_rnn_forward)],
    "rnn_backward": [("public: notebook gradient check", _public_rnn_backward)],
    "word_embedding_forward": [("public: notebook inputs", _public_word_embedding_forward)],
    "word_embedding_backward": [("public: notebook gradient check", _public_word_embedding_backward)],
    "temporal_affine_forward": [("public: notebook inputs", _public_temporal_affine)],
    "temporal_affine_backward": [("public: notebook gradient check", _public_temporal_affine)],
    "temporal_softmax_loss": [("public: loss sanity (about 2.3)", _public_softmax_sanity),
                              ("public: notebook gradient check", _public_temporal_softmax_loss)],
}


@functools.lru_cache(maxsize=None)
def _public_inputs(item):
    """The notebook's inputs for ``item``: constants, so drawn once (replaying the softmax
    cells' draws takes over a million random numbers)."""
    return [(name,) + make() for name, make in PUBLIC.get(item, [])]


def _copies(arrays):
    return None if arrays is None else [np.copy(a) for a in arrays]


def public_cases(item):
    cases = []
    for name, args, upstream in _public_inputs(item):
        # the notebook's sanity check prints the loss only: no numeric gradient for it
        cases.append(Case(name, "public", _copies(args), _copies(upstream), extra={"no_numeric": "sanity" in name}))
    return cases


# ------------------------------------------------------------ hidden inputs
def _dims(rng, **fixed):
    dims = {"N": int(rng.integers(2, 5)), "T": int(rng.integers(2, 6)), "D": int(rng.integers(2, 6)),
            "H": int(rng.integers(2, 7)), "V": int(rng.integers(6, 11)), "M": int(rng.integers(2, 6))}
    dims.update(fixed)
    return dims


def _word_ids(rng, V, shape):
    """Ids with repeats that leave the top ids of the vocabulary unused."""
    used = max(2, V - 3)
    ids = rng.integers(0, used, size=shape)
    ids.flat[-1] = ids.flat[0]
    return ids


def _hidden_inputs(item, rng, d):
    randn = rng.standard_normal
    N, T, D, H, V, M = d["N"], d["T"], d["D"], d["H"], d["V"], d["M"]
    if item in ("rnn_step_forward", "rnn_step_backward"):
        return [randn((N, D)), randn((N, H)), randn((D, H)), randn((H, H)), randn(H)], [randn((N, H))]
    if item in ("rnn_forward", "rnn_backward"):
        return [randn((N, T, D)), randn((N, H)), randn((D, H)) / 2, randn((H, H)) / 2, randn(H)], \
            [randn((N, T, H))]
    if item in ("word_embedding_forward", "word_embedding_backward"):
        return [_word_ids(rng, V, (N, T)), randn((V, D))], [randn((N, T, D))]
    if item in ("temporal_affine_forward", "temporal_affine_backward"):
        return [randn((N, T, D)), randn((D, M)), randn(M)], [randn((N, T, M))]
    if item == "temporal_softmax_loss":
        mask = rng.random((N, T)) > 0.3
        mask[0, :] = False  # a fully masked row
        return [randn((N, T, V)) * 2, rng.integers(0, V, size=(N, T)), mask], None
    raise KeyError(item)


HAS_TIME = {"rnn_forward", "rnn_backward", "word_embedding_forward", "word_embedding_backward",
            "temporal_affine_forward", "temporal_affine_backward", "temporal_softmax_loss"}


def hidden_cases(item, rng):
    """Random shapes in float64, N=1, T=1 (where there is time) and float32."""
    variants = [("hidden: random shapes", {}, "float64"), ("hidden: random shapes (2)", {}, "float64"),
                ("hidden: N=1", {"N": 1}, "float64")]
    if item in HAS_TIME:
        variants.append(("hidden: T=1", {"T": 1}, "float64"))
    variants.append(("hidden: float32", {}, "float32"))
    cases = []
    for name, fixed, dtype in variants:
        args, upstream = _hidden_inputs(item, rng, _dims(rng, **fixed))
        if item == "temporal_softmax_loss" and fixed.get("N") == 1:
            args[2][0, -1] = True  # keep one unmasked element when there is one row
        cast = (lambda a: a.astype(dtype) if a.dtype.kind == "f" else a)
        cases.append(Case(name, "hidden", [cast(a) for a in args],
                          None if upstream is None else [cast(u) for u in upstream], dtype))
    return cases


# ------------------------------------------------------------ the captioning model
NOTEBOOK_WORDS = {"<NULL>": 0, "cat": 2, "dog": 3}


def model_public_loss_case(reference_model_cls):
    """The notebook's fixed-parameter loss check (expected 9.83235591003 for rnn)."""
    N, D, W, H, T = 10, 20, 30, 40, 13
    V = len(NOTEBOOK_WORDS)
    model = reference_model_cls(NOTEBOOK_WORDS, input_dim=D, wordvec_dim=W, hidden_dim=H,
                                cell_type="rnn", dtype=np.float64)
    params = {k: _lin(-1.4, 1.3, *v.shape) for k, v in model.params.items()}
    features = _lin(-1.5, 0.3, N, D)
    captions = (np.arange(N * T) % V).reshape(N, T)
    init = dict(word_to_idx=NOTEBOOK_WORDS, input_dim=D, wordvec_dim=W, hidden_dim=H)
    return Case("public: notebook loss (9.83235591003)", "public", [features, captions],
                extra={"init": init, "params": params})


def model_public_gradient_case(reference_model_cls):
    """The notebook's seed-231 gradient check (params drawn by CS231n's own __init__)."""
    np.random.seed(231)
    captions = np.random.randint(len(NOTEBOOK_WORDS), size=(2, 3))
    features = np.random.randn(2, 4)
    init = dict(word_to_idx=NOTEBOOK_WORDS, input_dim=4, wordvec_dim=5, hidden_dim=6)
    model = reference_model_cls(cell_type="rnn", dtype=np.float64, **init)
    return Case("public: notebook gradient check", "public", [features, captions],
                extra={"init": init, "params": dict(model.params), "h": 1e-6})


def random_vocabulary(rng, V):
    """A vocabulary whose special tokens sit at random ids (<NULL> not at 0)."""
    ids = rng.permutation(V)
    if ids[0] == 0:
        ids[[0, 1]] = ids[[1, 0]]
    words = ["<NULL>", "<START>", "<END>", "<UNK>"] + ["w%d" % i for i in range(V - 4)]
    return {w: int(i) for w, i in zip(words, ids)}


def random_captions(rng, word_to_idx, N, T):
    """<START> w w ... <END> <NULL>...; the last row is fully masked (only <START>)."""
    plain = [i for w, i in word_to_idx.items() if not w.startswith("<")]
    captions = np.full((N, T), word_to_idx["<NULL>"], dtype=np.int64)
    for n in range(N):
        length = int(rng.integers(0, T)) if n < N - 1 or N == 1 else 0
        captions[n, 0] = word_to_idx["<START>"]
        captions[n, 1:1 + length] = rng.choice(plain, size=length)
        if 1 + length < T and n < N - 1:
            captions[n, 1 + length] = word_to_idx["<END>"]
    if N == 1:
        captions[0, 1] = plain[0]
    return captions


def random_model(rng, dims, dtype, scale=1.0):
    """Inputs for one model case: init arguments, parameters, features, captions."""
    N, T, D, W, H, V = dims
    words = random_vocabulary(rng, V)
    params = {"W_embed": rng.standard_normal((V, W)), "W_proj": rng.standard_normal((D, H)) / np.sqrt(D),
              "b_proj": rng.standard_normal(H) * 0.1, "Wx": rng.standard_normal((W, H)) / np.sqrt(W),
              "Wh": rng.standard_normal((H, H)) / np.sqrt(H), "b": rng.standard_normal(H) * 0.1,
              "W_vocab": rng.standard_normal((H, V)) * scale, "b_vocab": rng.standard_normal(V) * 0.1}
    params = {k: v.astype(dtype) for k, v in params.items()}
    features = rng.standard_normal((N, D)).astype(dtype)
    init = dict(word_to_idx=words, input_dim=D, wordvec_dim=W, hidden_dim=H)
    return init, params, features, random_captions(rng, words, N, T)


def model_hidden_cases(rng):
    cases = []
    for name, N, T, dtype in [("hidden: random model, <NULL> not 0", int(rng.integers(2, 5)), int(rng.integers(3, 7)), "float64"),
                              ("hidden: N=1", 1, int(rng.integers(3, 6)), "float64"),
                              ("hidden: T=1 (two-word captions)", 3, 2, "float64"),
                              ("hidden: float32 model", 3, 5, "float32")]:
        dims = (N, T, int(rng.integers(2, 6)), int(rng.integers(2, 6)), int(rng.integers(2, 6)), int(rng.integers(6, 10)))
        init, params, features, captions = random_model(rng, dims, dtype)
        cases.append(Case(name, "hidden", [features, captions], dtype=dtype,
                          extra={"init": init, "params": params}))
    return cases


def sample_cases(rng, public):
    """Sampling: a notebook-sized model with max_length left at its default, then hidden ones."""
    specs = [("public: notebook-sized model, default max_length", "public", (10, 2, 20, 30, 40, 12), None)]
    if not public:
        specs += [("hidden: max_length=%d" % m, "hidden", (int(rng.integers(2, 5)), 2, 6, 5, 7, 9), m)
                  for m in (int(rng.integers(3, 9)), int(rng.integers(10, 16)))]
        specs.append(("hidden: N=1, max_length=1", "hidden", (1, 2, 4, 3, 5, 7), 1))
    cases = []
    for name, visibility, dims, max_length in specs:
        init, params, features, _ = random_model(rng, dims, "float64", scale=3.0)
        cases.append(Case(name, visibility, [features], extra={"init": init, "params": params,
                                                                 "max_length": max_length}))
    return cases
