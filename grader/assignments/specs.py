"""Inputs described as data: the arrays a notebook's check cell builds (public) and the
arrays the grader draws afresh on every run (hidden).

An array spec is a TOML table with one of these keys. A shape is a list of numbers and
dimension names; ``"4H"`` means 4 × H.

- ``linspace = [lo, hi]`` with ``shape``: ``np.linspace(lo, hi, num=size).reshape(shape)``
- ``randn = shape``: standard normal draws
- ``randint = HIGH`` with ``shape``: integers in [0, HIGH); HIGH may be a dimension name
- ``rand = shape`` with ``below = p`` (``<= p``) or ``above = p`` (``> p``): a boolean mask
- ``value = [...]``: a literal array
- ``ids = "V"`` with ``shape``: word ids with repeats that leave the vocabulary's top ids
  unused (hidden inputs)
- ``mask = shape``: a random mask whose first row is fully masked, one element kept when
  there is a single row (hidden inputs)
- ``scale = x`` (any spec): the array times x

Public specs draw from NumPy's global generator after ``np.random.seed(seed)``, in the
order written (``prelude`` first, then ``args``, then ``upstream``), exactly as the
notebook's cells do; hidden specs draw from the run's ``Generator``.
"""
from __future__ import annotations

import functools
import json
import re

import numpy as np

# Hidden dimensions: rng.integers(lo, hi) for each, drawn in this order.
DIM_RANGES = {"N": (2, 5), "T": (2, 6), "D": (2, 6), "H": (2, 7), "V": (6, 11), "M": (2, 6), "W": (2, 6)}
KEYS = ("linspace", "randn", "randint", "rand", "value", "ids", "mask")


def size_of(dim, dims):
    """A dimension: a number, a name (``"H"``) or a multiple of one (``"4H"``)."""
    if isinstance(dim, int):
        return dim
    match = re.fullmatch(r"(\d*)([A-Za-z]\w*)", str(dim))
    if not match or match.group(2) not in dims:
        raise ValueError("unknown dimension %r (known: %s)" % (dim, ", ".join(sorted(dims))))
    return int(match.group(1) or 1) * int(dims[match.group(2)])


def shape_of(shape, dims):
    return tuple(size_of(d, dims) for d in shape)


def names_in(specs):
    """Dimension names the specs use (e.g. whether a time axis ``T`` is among them)."""
    text = json.dumps(specs)
    return set(re.findall(r'"\d*([A-Z]\w*)"', text))


class Legacy:
    """NumPy's global generator, as the notebook's cells draw from it."""

    randn = staticmethod(lambda shape: np.random.randn(*shape))
    randint = staticmethod(lambda high, shape: np.random.randint(high, size=shape))
    rand = staticmethod(lambda shape: np.random.rand(*shape))


class _Fresh:
    """The run's Generator, for hidden inputs."""

    def __init__(self, rng):
        self.rng = rng

    def randn(self, shape):
        return self.rng.standard_normal(shape)

    def randint(self, high, shape):
        return self.rng.integers(0, high, size=shape)

    def rand(self, shape):
        return self.rng.random(shape)


def build(spec, dims, draws):
    """One array from its spec."""
    kinds = [key for key in KEYS if key in spec]
    if len(kinds) != 1:
        raise ValueError("an array spec needs exactly one of %s: %r" % (", ".join(KEYS), spec))
    kind = kinds[0]
    if kind == "linspace":
        shape = shape_of(spec["shape"], dims)
        array = np.linspace(*spec["linspace"], num=int(np.prod(shape))).reshape(shape)
    elif kind == "randn":
        array = draws.randn(shape_of(spec["randn"], dims))
    elif kind == "randint":
        array = draws.randint(size_of(spec["randint"], dims), shape_of(spec["shape"], dims))
    elif kind == "rand":
        uniform = draws.rand(shape_of(spec["rand"], dims))
        array = uniform <= spec["below"] if "below" in spec else uniform > spec["above"]
    elif kind == "value":
        array = np.asarray(spec["value"])
    elif kind == "ids":
        array = _word_ids(draws, size_of(spec["ids"], dims), shape_of(spec["shape"], dims))
    else:
        array = _mask(draws, shape_of(spec["mask"], dims))
    return array * spec["scale"] if "scale" in spec else array


def _word_ids(draws, V, shape):
    """Ids with repeats that leave the top ids of the vocabulary unused."""
    ids = draws.randint(max(2, V - 3), shape)
    ids.flat[-1] = ids.flat[0]
    return ids


def _mask(draws, shape):
    mask = draws.rand(shape) > 0.3
    mask[0, :] = False  # a fully masked row
    if shape[0] == 1:
        mask[0, -1] = True  # keep one unmasked element when there is one row
    return mask


def public_inputs(case):
    """(args, upstream or None) of a public case: the notebook's own arrays, fresh copies."""
    args, upstream = _public(json.dumps(case, sort_keys=True))
    return [np.copy(a) for a in args], None if upstream is None else [np.copy(u) for u in upstream]


@functools.lru_cache(maxsize=None)
def _public(key):
    """Drawn once per case: they are constants (replaying the softmax cells' draws takes
    over a million random numbers)."""
    case = json.loads(key)
    state = np.random.get_state()
    try:
        if "seed" in case:
            np.random.seed(case["seed"])
        dims = case.get("dims", {})
        for spec in case.get("prelude", []):
            build(spec, dims, Legacy)
        args = [build(spec, dims, Legacy) for spec in case["args"]]
        upstream = [build(spec, dims, Legacy) for spec in case["upstream"]] if "upstream" in case else None
    finally:
        np.random.set_state(state)  # the grader's own use of the global generator is left alone
    return args, upstream


def hidden_dims(rng, **fixed):
    """Random dimensions (all drawn, so the draws do not depend on which are fixed)."""
    dims = {name: int(rng.integers(lo, hi)) for name, (lo, hi) in DIM_RANGES.items()}
    dims.update(fixed)
    return dims


def hidden_inputs(specs, upstream, rng, dims):
    """(args, upstream or None) drawn from the run's generator."""
    draws = _Fresh(rng)
    args = [build(spec, dims, draws) for spec in specs]
    return args, [build(spec, dims, draws) for spec in upstream] if upstream else None
