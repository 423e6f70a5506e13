"""Item kinds: each class owns everything about one kind of item (its cases, probe
requests, checks, the function it grades, whether it is calibrated). The assignment's
TOML says which kind each item is."""
from .autograd import AutogradLayer
from .base import Kind, Manual, Verdict
from .layer import Layer
from .model import ModelLoss, Overfit, Sample

KINDS = {kind.name: kind for kind in (Layer(), AutogradLayer(), ModelLoss(), Sample(), Overfit(), Manual())}


def kind_of(item) -> Kind:
    return KINDS[item.kind]


__all__ = ["KINDS", "Kind", "Verdict", "kind_of"]
