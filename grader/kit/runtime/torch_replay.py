"""The grader's PyTorch layers in a PyTorch kit, answered from records, with autograd.

Where ``grade --public-only`` puts the grader's layer in place of a student's failed one,
autograd flows through it. Here a stand-in is a ``torch.autograd.Function``: its forward
answers the recorded output of the reference's call with the same arguments (``data.Replay``:
exactly, or nearest by a random projection), and its backward the recorded vector-Jacobian
product of that call for the same incoming gradients. A call never recorded raises
``NotIsolated``. Only PyTorch kits import this module (the grader imports it to record).
"""
from __future__ import annotations

import torch

from .data import Replay, bind, decode

VJP = "vjp "  # the recorded backward of f is the call "vjp f((arguments), (incoming gradients))"


def differentiable(value):
    return isinstance(value, torch.Tensor) and value.is_floating_point()


def arrays(value):
    """``value`` with each tensor a NumPy copy of its values (how calls are found)."""
    if isinstance(value, torch.Tensor):
        return value.detach().cpu().numpy().copy()
    if isinstance(value, (tuple, list)):
        return type(value)(arrays(v) for v in value)
    return value


def rebuilt(value, convert):
    """``value`` (a tensor, or a tuple or list of them) with ``convert`` applied to each tensor."""
    if isinstance(value, (tuple, list)):
        return tuple(rebuilt(v, convert) for v in value)
    return convert(value) if isinstance(value, torch.Tensor) else value


def _tensors(value):
    """Recorded arrays as tensors (their recorded dtype, the inputs' own)."""
    import numpy as np
    if isinstance(value, np.ndarray):
        return torch.from_numpy(value)
    if isinstance(value, (tuple, list)):
        return tuple(_tensors(v) for v in value)
    return value


class _StandIn(torch.autograd.Function):
    @staticmethod
    def forward(ctx, replay, name, key, *args):
        ctx.keep = (replay, name, key)
        return _tensors(decode(replay.answer(name, key), replay.buffers))

    @staticmethod
    def backward(ctx, *grads):
        replay, name, key = ctx.keep
        vjp = decode(replay.answer(VJP + name, (key, arrays(grads))), replay.buffers)
        return (None, None, None, *(None if g is None or not need else torch.from_numpy(g)
                                    for g, need in zip(vjp, ctx.needs_input_grad[3:])))


class TorchReplay(Replay):
    """``function(name)``: the grader's PyTorch layer ``name``, answered from records, with autograd."""

    def function(self, name):
        def stand_in(*args, **kwargs):
            args = bind(self.parameters[name], args, kwargs)
            return _StandIn.apply(self, name, arrays(args), *args)
        stand_in.__name__ = name
        return stand_in
