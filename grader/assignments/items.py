"""The graded items of an assignment, read from its TOML: what each calls, what it
returns, which inputs it is checked on, what its failure puts in place of later items.

How each kind of item is graded lives in ``grader/check/kinds/``; this module only holds
the data, so a new assignment whose functions follow the layer conventions is a TOML
file and a template, not Python.
"""
from __future__ import annotations

from dataclasses import dataclass, field

KINDS = ("layer", "autograd_layer", "model_loss", "sample", "overfit", "manual")
MODEL_KINDS = ("model_loss", "sample", "overfit")


@dataclass(frozen=True)
class Item:
    name: str
    kind: str
    forward: str | None = None  # the function called first
    backward: str | None = None  # called with the forward's own cache
    outputs: tuple = ()  # names of the values compared
    wrt: tuple = ()  # forward argument indices a gradient is taken for
    returns_cache: bool = True
    deps: tuple = ()  # functions whose failure puts the grader's versions in their place
    public: tuple = ()  # the notebook's check cells, as data (specs.py)
    inputs: tuple = ()  # hidden inputs, drawn afresh every run
    upstream: tuple = ()  # hidden upstream gradients
    question: int | None = None  # a manual item's inline question number
    conf: dict = field(default_factory=dict, compare=False)  # the item's whole TOML table

    @property
    def functions(self):
        """The student's functions this item calls directly."""
        return tuple(f for f in (self.forward, self.backward) if f)


def from_table(name, conf, layer_functions=()):
    """An Item from its TOML table; ValueError says what is wrong."""
    kind = conf.get("kind")
    if kind not in KINDS:
        raise ValueError("items.%s.kind must be one of %s" % (name, ", ".join(KINDS)))
    if kind in ("layer", "autograd_layer") and not isinstance(conf.get("forward"), str):
        raise ValueError("items.%s: a %s item names its forward function" % (name, kind))
    deps = conf.get("deps", list(layer_functions) if kind in MODEL_KINDS else [])
    return Item(name, kind, conf.get("forward"), conf.get("backward"), tuple(conf.get("outputs", ())),
                tuple(conf.get("wrt", ())), bool(conf.get("returns_cache", True)), tuple(deps),
                tuple(conf.get("public", ())), tuple(conf.get("inputs", ())),
                tuple(conf.get("upstream", ())), conf.get("question"), dict(conf))


def build(tables):
    """Items from the ``[items]`` table, in order; a backward item without ``inputs`` takes
    those of the item of its forward."""
    layer_functions = [f for conf in tables.values() if conf.get("kind") in ("layer", "autograd_layer")
                       for f in (conf.get("forward"), conf.get("backward")) if f]
    items = [from_table(name, _with_public_from(conf, tables), dict.fromkeys(layer_functions))
             for name, conf in tables.items()]
    by_forward = {i.forward: i for i in items if i.inputs and i.forward}
    return [_with_inputs(i, by_forward.get(i.forward)) if not i.inputs and i.forward in by_forward else i
            for i in items]


def _with_public_from(conf, tables):
    """``public_from = [items]``: the public cases of those items (an autograd item checks
    both the forward's cell and the gradient check's cell of the NumPy version)."""
    if "public_from" not in conf:
        return conf
    return dict(conf, public=[case for name in conf["public_from"] for case in tables[name].get("public", [])])


def _with_inputs(item, source):
    return Item(**{**item.__dict__, "inputs": source.inputs, "upstream": item.upstream or source.upstream})


def groups(items):
    """Functions that travel together (a forward and its backward): when one fails its
    item, the grader's versions of the whole group stand in inside later items."""
    found = []
    for item in items:
        members = set(item.functions)
        if not members:
            continue
        joined = [g for g in found if g & members]
        for g in joined:
            found.remove(g)
            members |= g
        found.append(members)
    return [tuple(sorted(g)) for g in found]


def substitutes(item, failed, items):
    """Names of the student's functions to replace by the grader's for ``item``."""
    names = []
    for group in groups(items):
        if any(name in failed for name in group if name in item.deps):
            names.extend(group)
    return names
