"""Inputs the grader chooses: the notebook's own (public) and fresh random ones (hidden).

Public inputs rebuild the notebook's check cells exactly (same seed, same order of
draws). Hidden inputs change with the run's seed and cover what the notebook misses:
N=1, T=1, float32, repeated and unused word ids, a <NULL> id other than 0, fully
masked rows, other max_length values.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..assignments import specs


@dataclass
class Case:
    name: str
    visibility: str  # public | hidden
    args: list
    upstream: list | None = None
    dtype: str = "float64"
    extra: dict = field(default_factory=dict)

    def inputs(self, arg_names, upstream_names=()):
        """{name: {"shape", "dtype"}} of the arguments, then the upstream gradients, each named by its parameter."""
        named = list(zip(arg_names, self.args)) + list(zip(upstream_names, self.upstream or ()))
        return {name: {"shape": list(np.shape(value)), "dtype": str(np.asarray(value).dtype)} for name, value in named}


def public_cases(item):
    """The notebook's own check cells of a layer item, rebuilt from the item's ``public`` specs."""
    cases = []
    for spec in item.public:
        args, upstream = specs.public_inputs(spec)
        cases.append(Case(spec["name"], "public", args, upstream, extra={"numeric": spec.get("numeric", True)}))
    return cases


def hidden_cases(item, rng):
    """Fresh inputs from the item's ``inputs`` specs: random shapes in float64, N=1, T=1
    (where there is a time axis) and float32."""
    variants = [("hidden: random shapes", {}, "float64"), ("hidden: random shapes (2)", {}, "float64"),
                ("hidden: N=1", {"N": 1}, "float64")]
    if "T" in specs.names_in([item.inputs, item.upstream]):
        variants.append(("hidden: T=1", {"T": 1}, "float64"))
    variants.append(("hidden: float32", {}, "float32"))
    cases = []
    for name, fixed, dtype in variants:
        args, upstream = specs.hidden_inputs(item.inputs, item.upstream, rng, specs.hidden_dims(rng, **fixed))
        cast = (lambda a: a.astype(dtype) if a.dtype.kind == "f" else a)
        cases.append(Case(name, "hidden", [cast(a) for a in args],
                          None if upstream is None else [cast(u) for u in upstream], dtype))
    return cases


# ------------------------------------------------------------ the captioning model
def model_public_cases(item, reference_model_cls, cell_type):
    """The notebook's model checks from the item's ``public`` specs: a vocabulary, sizes,
    captions (``"cycle"``: ``arange(N*T) % V``) and features drawn in that order, then the
    parameters (``linspace`` over every parameter, or ``"init"``: the model's own)."""
    cases = []
    state = np.random.get_state()
    try:
        for spec in item.public:
            words = dict(spec["words"])
            dims = dict(spec["dims"], V=len(words))
            if "seed" in spec:
                np.random.seed(spec["seed"])
            N, T = dims["N"], dims["T"]
            captions = (np.arange(N * T) % dims["V"]).reshape(N, T) if spec["captions"] == "cycle" else \
                specs.build(spec["captions"], dims, specs.Legacy)
            features = specs.build(spec["features"], dims, specs.Legacy)
            init = dict(word_to_idx=words, input_dim=dims["D"], wordvec_dim=dims["W"], hidden_dim=dims["H"])
            model = reference_model_cls(cell_type=cell_type, dtype=np.float64, **init)
            params = dict(model.params) if spec["params"] == "init" else {
                k: np.linspace(*spec["params"]["linspace"], num=v.size).reshape(v.shape) for k, v in model.params.items()}
            cases.append(Case(spec["name"], "public", [features, captions], extra={
                "init": init, "params": params, "check": spec.get("check", "loss"), "h": spec.get("h")}))
    finally:
        np.random.set_state(state)
    return cases


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


def random_model(rng, dims, dtype, scale=1.0, cell_type="rnn"):
    """Inputs for one model case: init arguments, parameters, features, captions."""
    N, T, D, W, H, V = dims
    G = 4 * H if cell_type == "lstm" else H  # the recurrent weights' width: one block per gate
    words = random_vocabulary(rng, V)
    params = {"W_embed": rng.standard_normal((V, W)), "W_proj": rng.standard_normal((D, H)) / np.sqrt(D),
              "b_proj": rng.standard_normal(H) * 0.1, "Wx": rng.standard_normal((W, G)) / np.sqrt(W),
              "Wh": rng.standard_normal((H, G)) / np.sqrt(H), "b": rng.standard_normal(G) * 0.1,
              "W_vocab": rng.standard_normal((H, V)) * scale, "b_vocab": rng.standard_normal(V) * 0.1}
    params = {k: v.astype(dtype) for k, v in params.items()}
    features = rng.standard_normal((N, D)).astype(dtype)
    init = dict(word_to_idx=words, input_dim=D, wordvec_dim=W, hidden_dim=H)
    return init, params, features, random_captions(rng, words, N, T)


def model_hidden_cases(rng, cell_type="rnn"):
    cases = []
    for name, N, T, dtype in [("hidden: random model, <NULL> not 0", int(rng.integers(2, 5)), int(rng.integers(3, 7)), "float64"),
                              ("hidden: N=1", 1, int(rng.integers(3, 6)), "float64"),
                              ("hidden: T=1 (two-word captions)", 3, 2, "float64"),
                              ("hidden: float32 model", 3, 5, "float32")]:
        dims = (N, T, int(rng.integers(2, 6)), int(rng.integers(2, 6)), int(rng.integers(2, 6)), int(rng.integers(6, 10)))
        init, params, features, captions = random_model(rng, dims, dtype, cell_type=cell_type)
        cases.append(Case(name, "hidden", [features, captions], dtype=dtype,
                          extra={"init": init, "params": params}))
    return cases


def sample_cases(rng, public, cell_type="rnn"):
    """Sampling: a notebook-sized model with max_length left at its default, then hidden ones."""
    sizes = [("public: notebook-sized model, default max_length", "public", (10, 2, 20, 30, 40, 12), None)]
    if not public:
        sizes += [("hidden: max_length=%d" % m, "hidden", (int(rng.integers(2, 5)), 2, 6, 5, 7, 9), m)
                  for m in (int(rng.integers(3, 9)), int(rng.integers(10, 16)))]
        sizes.append(("hidden: N=1, max_length=1", "hidden", (1, 2, 4, 3, 5, 7), 1))
    cases = []
    for name, visibility, dims, max_length in sizes:
        init, params, features, _ = random_model(rng, dims, "float64", scale=3.0, cell_type=cell_type)
        cases.append(Case(name, visibility, [features], extra={"init": init, "params": params,
                                                                 "max_length": max_length}))
    return cases
