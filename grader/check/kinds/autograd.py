"""Autograd layer items (the PyTorch version): the student writes the forward only, on
tensors; autograd gives the gradients. The kernel back-propagates the grader's upstream
gradient through the student's forward; the NumPy reference's forward values and its
hand-written backward are the expected values, so the grader's process needs torch only to
run a catalogued PyTorch mistake (``variant``), for a hint."""
from __future__ import annotations

from functools import partial

import numpy as np

from ...grade.kernel_probe import as_tuple, fresh
from .. import cases as C
from ..compare import compare, unreached
from .base import Kind, parameter_names
from ...kit.runtime import template
from .layer import reference


def expected(item, args, upstream):
    """(the reference's outputs, its gradients of the ``wrt`` args, in ``wrt``'s order) on
    float64 ``args``."""
    out = as_tuple(reference(item.forward)(*fresh(args)))
    if not item.returns_cache:  # a loss that returns its own gradient: (loss, dx)
        return list(out[:len(item.outputs)]), list(out[len(item.outputs):])
    grads = as_tuple(reference(item.conf["reference_backward"])(*upstream, out[-1]))
    return list(out[:-1]), list(grads)  # a backward returns the gradients of the wrt args, in order


def expected_values(item, args):
    """The reference's outputs alone, for a case with no upstream gradient."""
    out = as_tuple(reference(item.forward)(*fresh(args)))
    return list(out[:-1] if item.returns_cache else out[:len(item.outputs)])


def graded(item, case):
    """Whether ``case`` back-propagates: a case without upstream gradients (the notebook's
    forward check) checks values only; a loss is always differentiated."""
    return bool(case.upstream) or not item.returns_cache


def _tensor(torch, array):
    """A float64 tensor of a float array (int64 for integers, as the kernel sends them)."""
    if array.dtype.kind == "f":
        return torch.tensor(array, dtype=torch.float64)
    return torch.tensor(array, dtype=torch.int64) if array.dtype.kind in "iu" else torch.tensor(array)


class AutogradLayer(Kind):
    name = "autograd_layer"

    def graded_function(self, item):
        return item.forward

    def parameters(self, item):
        backward = item.conf.get("reference_backward")
        return parameter_names(reference(item.forward)), parameter_names(reference(backward)) if backward else ()

    def judge(self, judge, item, verdict):
        cases = C.public_cases(item)
        if not judge.public_only:
            cases += C.hidden_cases(item, judge.rng(item))
        patch = judge.substitutes(item)
        if patch:
            verdict.notes.append("graded with the grader's %s in place of yours (they failed their own items)"
                                 % ", ".join(sorted(set(patch))))
        jobs = []
        for case in cases:
            fields = dict(forward=item.forward, args=fresh(case.args), wrt=list(item.wrt) if graded(item, case) else [],
                          outputs=len(item.outputs), upstream=case.upstream if item.returns_cache else None,
                          scalar=not item.returns_cache, patch=patch)
            jobs.append(("autograd_layer", fields, partial(self._check, judge, item, case, verdict),
                         self.inputs(item, case)))
        judge.run(verdict, jobs)

    def _check(self, judge, item, case, verdict, result):
        actual = result.get("forward")
        if actual is None or template.untouched_layer(actual):
            verdict.flag("not_implemented", template.layer(item.forward))
            return
        verdict.observed.append((case, list(actual) + list(result.get("grads") or [])))
        as64 = [a.astype(np.float64) if a.dtype.kind == "f" else a for a in case.args]
        up64 = [u.astype(np.float64) for u in case.upstream or ()]
        outputs, grads = expected(item, as64, up64) if up64 or not item.returns_cache else (
            expected_values(item, as64), [])
        public = case.visibility == "public"
        for label, got, want in zip(item.outputs, actual, outputs):
            metric, threshold = ("rel_error", judge.settings.threshold(item.name, label)) if public else \
                ("norm_error", judge.settings.tolerance(case.dtype))
            verdict.checks.append(compare("%s: %s vs reference" % (case.name, label), got, want, metric=metric,
                                          threshold=threshold, visibility=case.visibility, label=label,
                                          input_dtype=case.dtype))
        cut = set(result.get("unreached") or ())
        labels = item.conf.get("gradients", ["d%d" % i for i in item.wrt])
        for label, index, got, want in zip(labels, item.wrt, result.get("grads") or [], grads):
            name = "%s: %s (autograd) vs reference" % (case.name, label)
            if index in cut:
                verdict.checks.append(unreached(name, label, index, item.forward, case.visibility))
                continue
            verdict.checks.append(compare(name, got, want, metric="norm_error",
                                          threshold=judge.settings.tolerance(case.dtype), kind="gradient",
                                          visibility=case.visibility, label=label, input_dtype=case.dtype))

    def variant(self, judge, item, case, modules):
        """The PyTorch reference in ``modules`` (a mistake made in it) run here on float64 tensors
        of ``case``'s args, as ``_check`` records a student's: the forward's outputs, then the
        gradients of the ``wrt`` args (None where none arrives). None for modules without the
        PyTorch layers (the NumPy reference's mistakes say nothing of autograd's gradients)."""
        layers = modules.get("rnn_layers_pytorch")
        if layers is None:
            return None
        import torch  # only here: a NumPy assignment never runs a PyTorch mistake

        inputs = [_tensor(torch, a) for a in case.args]
        leaves = [inputs[i].requires_grad_() for i in (item.wrt if graded(item, case) else ())]
        outputs = as_tuple(getattr(layers, item.forward)(*inputs))[:len(item.outputs)]
        upstream = case.upstream if item.returns_cache else [None] * len(outputs)
        live = [(t, torch.ones_like(t) if u is None else torch.tensor(u, dtype=torch.float64))
                for t, u in zip(outputs, upstream or ()) if t.requires_grad]
        grads = [None] * len(leaves)
        if live and leaves:
            grads = torch.autograd.grad([t for t, _ in live], leaves, [u for _, u in live], allow_unused=True)
        return [t.detach().numpy() for t in outputs] + [None if g is None else g.numpy() for g in grads]
