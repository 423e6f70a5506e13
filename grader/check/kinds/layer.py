"""Layer items: a forward function, and a backward called with that forward's own cache.

A backward is compared both with the reference (fed the same upstream gradients) and
with a numeric gradient of the student's own forward. When the forward failed its item,
the backward passes if either (own-forward) it is the gradient of the student's own
forward, for the inputs that forward uses, or (grader-forward) fed the cache of the
grader's forward it matches the reference.
"""
from __future__ import annotations

import functools
from functools import partial

import numpy as np

from reference import rnn_layers

from ...grade.kernel_probe import as_tuple, fresh, perturbed
from ...kit.runtime import template
from ...kit.runtime.layer_modes import judge_layer
from .. import cases as C
from ..compare import compare, norm_error, numeric_gradient, numeric_gradient_checks
from .base import H, Kind, parameter_names


def reference(name):
    return getattr(rnn_layers, name)


def _differentiated(item, case):
    """(output indices, flattened upstream) a numeric gradient projects the forward onto:
    every output with its upstream gradient, or the loss of a forward that returns its own
    gradient (``returns_cache = false``)."""
    if not item.returns_cache or not case.upstream:
        return 0, None
    return list(range(len(case.upstream))), np.concatenate([np.ravel(u) for u in case.upstream])


class Layer(Kind):
    name = "layer"
    calibrated = True

    def graded_function(self, item):
        return item.backward or item.forward

    def parameters(self, item):
        upstream = parameter_names(reference(item.backward)) if item.backward else ()
        return parameter_names(reference(item.forward)), upstream

    def judge(self, judge, item, verdict):
        judge_layer(verdict, partial(self._run_cases, judge, item), item.forward, item.backward, judge.failed,
                    judge.substitutes(item), lambda: judge.dependency_groups(item))

    def cases(self, judge, item):
        cases = C.public_cases(item)
        if not judge.public_only:
            cases += C.hidden_cases(item, judge.rng(item))
        return cases

    def _run_cases(self, judge, item, verdict, patch, mode):
        jobs = []
        for case in self.cases(judge, item):
            fields, numeric = self._request(item, case, patch, mode)
            jobs.append(("layer", fields, partial(self._check, judge, item, case, verdict, mode, numeric),
                         self.inputs(item, case)))
        judge.run(verdict, jobs)

    def _request(self, item, case, patch, mode):
        public = case.visibility == "public"
        numeric = mode != "grader-forward" and bool(item.wrt) and case.dtype == "float64" and (
            public or item.backward or not item.returns_cache) and case.extra.get("numeric", True)
        outputs, _ = _differentiated(item, case)
        fields = dict(forward=item.forward, backward=item.backward, args=fresh(case.args),
                      upstream=case.upstream, returns_cache=item.returns_cache, patch=patch,
                      forward_impl="reference" if mode == "grader-forward" else "student",
                      perturb={"wrt": list(item.wrt), "h": H, "output": outputs} if numeric else None)
        return fields, numeric

    def _check(self, judge, item, case, verdict, mode, numeric, result):
        public = case.visibility == "public"
        actual = result.get("backward") if item.backward else result.get("forward")
        if actual is None or template.untouched_layer(actual):
            verdict.flag("not_implemented", template.layer(item.backward or item.forward))
            return
        actual = list(actual) + [None] * (len(item.outputs) - len(actual))
        if mode != "own-forward":  # the cache came from a correct forward: the mistake, if known, is this item's
            verdict.observed.append((case, actual))
        if mode != "own-forward" and not (public and item.backward and mode == "normal"):
            ref_args = [a.astype(np.float64) if a.dtype.kind == "f" else a for a in case.args]
            expected = self.expected(item, ref_args, case.upstream)
            for i, label in enumerate(item.outputs):
                metric, threshold = ("rel_error", judge.settings.threshold(item.name, label)) if public else \
                    ("norm_error", judge.settings.tolerance(case.dtype))
                verdict.checks.append(compare("%s: %s vs reference" % (case.name, label), actual[i], expected[i],
                                              metric=metric, threshold=threshold,
                                              kind="gradient" if item.backward or label == "dx" else "value",
                                              visibility=case.visibility, label=label, input_dtype=case.dtype))
        if numeric:
            self._numeric_checks(judge, item, case, result, actual, verdict, skip_unused=mode == "own-forward")

    def _numeric_checks(self, judge, item, case, result, actual, verdict, skip_unused=False):
        _, upstream = _differentiated(item, case)
        reference_errors = functools.cache(lambda: self._reference_numeric_errors(item, case))

        def judged_by(check, slot, label):
            if case.visibility == "public":
                return check(metric="rel_error", threshold=judge.settings.threshold(item.name, label))
            return judge.hidden_numeric(check, item.name, label, lambda: reference_errors()[slot])

        checks, notes = numeric_gradient_checks(
            case.name, actual if item.backward else [actual[1]], item.outputs if item.backward else ("dx",), item.wrt,
            result.get("perturbed", []), upstream, [np.shape(case.args[i]) for i in item.wrt], H, case.visibility,
            judged_by, skip_unused)
        verdict.checks += checks
        verdict.notes += notes

    def _reference_numeric_errors(self, item, case):
        """Per gradient of ``item``: norm error of the reference's gradient against the numeric
        gradient of the reference's forward, on ``case``'s inputs."""
        args = fresh(case.args)
        expected = self.expected(item, args, case.upstream)
        grads = expected if item.backward else [expected[1]]
        outputs, upstream = _differentiated(item, case)
        nudged = perturbed(reference(item.forward), args, item.wrt, outputs, H)
        return [norm_error(grad, numeric_gradient(plus, minus, upstream, H).reshape(np.shape(args[i])))
                for grad, i, (plus, minus) in zip(grads, item.wrt, nudged)]

    def variant(self, judge, item, case, modules):
        args = [a.astype(np.float64) if a.dtype.kind == "f" else a for a in case.args]
        return self.expected(item, args, case.upstream, partial(getattr, modules["rnn_layers"]))

    @staticmethod
    def expected(item, args, upstream, functions=reference):
        """The outputs of the reference's functions (``functions(name)``) for ``item`` on ``args``
        (its gradients for a backward)."""
        out = as_tuple(functions(item.forward)(*fresh(args)))
        if not item.backward:
            return list(out[:-1] if item.returns_cache else out)
        return list(as_tuple(functions(item.backward)(*[u.astype(np.float64) for u in upstream], out[-1])))
