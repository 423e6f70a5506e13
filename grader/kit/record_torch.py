"""What a PyTorch kit knows of the reference (``rnn-pytorch``): the PyTorch reference's calls
on the public inputs, outputs and gradients, recorded as the probe makes them.

Where ``grade --public-only`` puts the grader's PyTorch layer in place of a student's failed
one, autograd flows through it. The kit holds no code, so its stand-in (``runtime/
torch_replay.py``) is a ``torch.autograd.Function`` answering from records: each call's
output, keyed by its arguments (as the NumPy kits' ``Recorder``), and each backward's
vector-Jacobian product, keyed by the arguments and the incoming gradients. Here each public
case runs through the probe's own operation (``kernel_probe_torch``) in this process, on the
PyTorch reference (its layers and ``reference/captioning_rnn_pytorch.py``), with every layer
that may stand in for a student's wrapped in a recording ``autograd.Function``. Calls without
autograd (the numeric gradient's losses, under ``torch.no_grad()``) keep their output only.
"""
from __future__ import annotations

import json

import numpy as np
import torch

from reference.captioning_rnn import CaptioningRNN

from ..check import cases as C
from ..check.kinds import autograd
from ..check.kinds.base import H
from ..check.kinds.model import built_model, model_fields
from ..grade import kernel_probe
from ..grade.probe import _probe_module
from .record import Recorder, stand_ins
from .runtime.data import bind
from .runtime.torch_replay import VJP, arrays, differentiable, rebuilt


class _Recording(torch.autograd.Function):
    """A reference layer inside the graph: its output and, in backward, its VJP are recorded."""

    @staticmethod
    def forward(ctx, recorder, name, key, *args):
        with torch.enable_grad():
            inputs = [a.detach().requires_grad_() if differentiable(a) else a for a in args]
            out = recorder.original[name](*inputs)
        ctx.keep = (recorder, name, key, inputs, kernel_probe.as_tuple(out))
        recorder._keep(name, key, arrays(out))
        return rebuilt(out, lambda t: t.detach())

    @staticmethod
    def backward(ctx, *grads):
        recorder, name, key, inputs, outs = ctx.keep
        leaves = [a for a in inputs if differentiable(a)]
        live = [(o, g) for o, g in zip(outs, grads) if isinstance(o, torch.Tensor) and o.requires_grad]
        found = iter(torch.autograd.grad([o for o, _ in live], leaves, [g for _, g in live], allow_unused=True)
                     if live and leaves else [None] * len(leaves))
        vjp = [next(found) if differentiable(a) else None for a in inputs]
        recorder._keep(VJP + name, (key, arrays(grads)), tuple(arrays(vjp)))
        return (None, None, None, *vjp)


class TorchRecorder(Recorder):
    """The PyTorch reference's layers and model; calls of those in ``watching`` are recorded."""

    MODULES = ("rnn_layers_pytorch", "captioning_rnn_pytorch")

    def __init__(self, functions, packer):
        super().__init__(functions, (), (), packer)
        self.probe = _probe_module(("kernel_probe_torch",))

    def _wrapped(self, name):
        def recorded(*args, **kwargs):
            if name not in self.watching:
                return self.original[name](*args, **kwargs)
            args = bind(self.parameters[name], args, kwargs)
            key = arrays(args)
            if torch.is_grad_enabled() and any(differentiable(a) and a.requires_grad for a in args):
                return _Recording.apply(self, name, key, *args)
            out = self.original[name](*args)
            self._keep(name, key, arrays(out))
            return out
        return recorded

    def run(self, op, fields):
        """The probe's operation ``op`` on the reference, its request through the probe's codec
        (as the kit sends it); the reply's values."""
        probe = self.probe
        request = probe.decode(json.loads(json.dumps(probe.encode(dict(fields, op=op, patch=[])))))
        probe.LOCAL_NAMESPACES = [self.namespace]
        try:
            result = probe.OPS[op](request, self.reference)
        finally:
            probe.LOCAL_NAMESPACES = None
        if "error" in result or "missing" in result:
            raise RuntimeError("the PyTorch reference failed the probe's %s: %s" % (op, result))
        return result

    def model_loss(self, case, cell_type):
        """The probe's ``autograd_model_loss`` on a public model case (its numeric gradient's losses
        under ``torch.no_grad()``); the NumPy reference's loss, the grader's expected value."""
        self.run("autograd_model_loss", dict(_model_fields(case, cell_type), perturb={
            "h": case.extra["h"] or H, "params": sorted(case.extra["params"])} if case.extra["check"] == "gradient"
            else None))
        model = built_model(CaptioningRNN, cell_type, case)
        return model.loss(np.asarray(case.args[0], dtype=np.float64), case.args[1])[0]

    def sample(self, case, cell_type):
        """The probe's ``torch_sample`` on a public sample case."""
        self.run("torch_sample", dict(_model_fields(case, cell_type), max_length=case.extra["max_length"]))


def _model_fields(case, cell_type):
    fields = model_fields(case, cell_type)
    fields["init"]["dtype"] = "float64"
    return fields


def autograd_cases(item, items, recorder, packer):
    """[(case, its data)]: an ``autograd_layer`` item's public cases (inputs, upstream gradients,
    the NumPy reference's outputs and gradients), recorded as the probe runs them."""
    cases = []
    for case in C.public_cases(item):
        graded = bool(case.upstream) or not item.returns_cache
        recorder.watching = stand_ins(item, items)
        recorder.run("autograd_layer", dict(forward=item.forward, args=kernel_probe.fresh(case.args),
                                            wrt=list(item.wrt) if graded else [], outputs=len(item.outputs),
                                            upstream=case.upstream if item.returns_cache else None,
                                            scalar=not item.returns_cache))
        recorder.watching = set()
        as64 = [a.astype(np.float64) if a.dtype.kind == "f" else a for a in case.args]
        up64 = [u.astype(np.float64) for u in case.upstream or ()]
        outputs, grads = autograd.expected(item, as64, up64) if up64 or not item.returns_cache else (
            autograd.expected_values(item, as64), [])
        cases.append((case, {"name": case.name, "dtype": case.dtype, "args": packer.encode(case.args),
                             "upstream": packer.encode(case.upstream), "expected": packer.encode([outputs, grads])}))
    return cases
