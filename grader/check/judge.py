"""Check one item: send its cases through the probe, compare with the reference.

``backend.request(op, timeout, **fields)`` is the probe (a kernel in grading, the
reference in-process for calibration); everything else here runs in the grader.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass, field
from functools import partial

import numpy as np

from reference import rnn_layers
from reference.captioning_rnn import CaptioningRNN

from . import cases as C
from .compare import CheckResult, compare, describe, norm_error, numeric_gradient
from ..assignments.items import GROUPS, substitutes
from ..errors import MalformedValue
from ..grade.kernel_probe import as_tuple, fresh, perturb_params, perturbed
from ..grade.probe import ReplyKind
from .overfit import overfit_request
from .sampling import check_sample
from ..vocabulary import NOTHING_TO_COMPARE

H = 1e-5  # step of the hidden numeric gradients


@dataclass
class Verdict:
    """The outcome of one item before points are given."""

    status: str = "passed"
    checks: list = field(default_factory=list)
    notes: list = field(default_factory=list)
    problem: str = ""  # error message / traceback for missing, error, timeout
    output: str = ""  # what student code printed during the probes
    extra: dict = field(default_factory=dict)

    def flag(self, status, message):
        """Record a problem status (missing, error, timeout, not_implemented); the first one stays."""
        if self.status == "passed" or self.status == "failed":
            self.status, self.problem = status, message


def _reference(name):
    return getattr(rnn_layers, name)


def _untouched(values):
    """The template's layers return only None (``next_h, cache = None, None``); the reference
    never returns None, so nothing but None is the untouched TODO, and an empty return is not."""
    return bool(values) and all(v is None for v in values)


def _template_loss(loss, grads):
    """The template's ``loss`` returns ``(0.0, {})``; a None loss counts as nothing returned."""
    if loss is None:
        return True
    return isinstance(grads, dict) and not grads and isinstance(loss, (int, float, np.number)) and loss == 0


class Judge:
    """Checks items in order, remembering which failed (for substitutions)."""

    def __init__(self, backend, settings, seed, public_only=False):
        self.backend = backend
        self.settings = settings
        self.seed = seed
        self.public_only = public_only
        self.failed = set()
        self.statuses = {}

    def rng(self, item):
        return np.random.default_rng([self.seed, sum(map(ord, item.name))])

    def judge(self, item):
        verdict = Verdict()
        try:
            getattr(self, "_judge_" + item.kind)(item, verdict)
        except MalformedValue as exc:  # the student's values; any other exception is the grader's own failure
            verdict.flag("error", str(exc))
        if verdict.status == "passed" and any(not c.passed for c in verdict.checks):
            verdict.status = "failed"
        if verdict.status == "passed" and not verdict.checks:  # nothing was compared: nothing is earned
            verdict.flag("error", "no check could be run on what the code returned")
        self.statuses[item.name] = verdict.status
        if verdict.status != "passed":
            self.failed.add(item.name)
            if item.forward and not item.backward:
                self.failed.add(item.forward)
            if item.backward:
                self.failed.add(item.backward)
        return verdict

    def _call(self, verdict, op, timeout=None, **fields):
        """One probe call; None when it raised, hung, was missing or killed the kernel."""
        return self._accept(verdict, self.backend.request(op, timeout or self.settings.probe_timeout, **fields),
                            timeout)

    def _run(self, verdict, jobs):
        """Send ``jobs`` [(op, fields, check)] in one batch, then run each check on its result.

        One round trip per item instead of one per case; the probe timeout covers the batch.
        """
        calls = [dict(fields, op=op) for op, fields, _ in jobs]
        batch = self._call(verdict, "batch", calls=calls)
        if batch is None:
            return
        for (_, _, check), reply in zip(jobs, batch["results"]):  # the probe checked there is one per call
            if verdict.status in NOTHING_TO_COMPARE:
                break
            values = self._accept(verdict, reply)
            if values is not None:
                check(values)

    def _accept(self, verdict, reply, timeout=None):
        """The values of an ok ``reply``; otherwise None, and the verdict says what went wrong."""
        verdict.output += reply.output
        if reply.kind is ReplyKind.OK:
            return reply.values
        if reply.kind is ReplyKind.MISSING:
            why = "".join("; %s did not import (%s)" % kv for kv in reply.import_errors.items())
            verdict.flag("missing", "%s is not defined (looked in the notebook and in cs231n/)%s" % (reply.name, why))
        elif reply.kind is ReplyKind.TIMEOUT:
            verdict.flag("timeout", "the call did not finish within %ss" % (timeout or self.settings.probe_timeout))
        elif reply.kind is ReplyKind.DEAD:
            verdict.flag("error", "the kernel died during the call (os._exit, a crash, or memory)")
        elif reply.kind is ReplyKind.ERROR:
            e = reply.raised
            verdict.flag("error", "%s raised %s: %s\n%s" % (e.stage, e.ename, e.evalue, e.traceback))
        else:
            verdict.flag("error", "the probe's reply was damaged (%s): did the notebook replace json, base64 or"
                                  " numpy functions?" % reply.reason)
        return None

    def _cases(self, item):
        cases = C.public_cases(item.name)
        if not self.public_only:
            cases += C.hidden_cases(item.name, self.rng(item))
        return cases

    # ----------------------------------------------------------- layers
    # A backward is normally called with its own forward's cache and compared both
    # with the reference and with a numeric gradient of that forward. When the forward
    # failed its item, the backward passes if either (own-forward) it is the gradient
    # of the student's own forward, for the inputs that forward uses, or
    # (grader-forward) fed the grader's forward's cache it matches the reference.
    def _judge_layer(self, item, verdict):
        patch = substitutes(item, self.failed)
        if patch:
            verdict.notes.append("graded with the grader's %s in place of yours (they failed their own items)"
                                 % ", ".join(sorted(set(patch))))
        if not (item.backward and item.forward in self.failed):
            self._run_layer_cases(item, verdict, patch, "normal")
            return
        own = Verdict()
        self._run_layer_cases(item, own, patch, "own-forward")
        if own.status == "passed" and all(c.passed for c in own.checks):
            own.notes = verdict.notes + ["your %s failed its item; your %s was judged against the numeric "
                                         "gradient of your own forward" % (item.forward, item.backward)]
            verdict.__dict__.update(own.__dict__)
            return
        grader = Verdict()
        deps = sorted({n for g in GROUPS if set(g) & set(item.deps) for n in g})
        self._run_layer_cases(item, grader, deps, "grader-forward")
        chosen = grader if grader.status in ("passed", "failed") else own
        chosen.notes = verdict.notes + ["your %s failed its item, so your %s was also tried with the cache "
                                        "of the grader's %s" % (item.forward, item.backward, item.forward)]
        verdict.__dict__.update(chosen.__dict__)

    def _run_layer_cases(self, item, verdict, patch, mode):
        jobs = []
        for case in self._cases(item):
            fields, numeric = self._layer_request(item, case, patch, mode)
            jobs.append(("layer", fields, partial(self._layer_check, item, case, verdict, mode, numeric)))
        self._run(verdict, jobs)

    def _layer_request(self, item, case, patch, mode):
        public = case.visibility == "public"
        numeric = mode != "grader-forward" and bool(item.wrt) and case.dtype == "float64" and (
            public or item.backward or not item.returns_cache) and not case.extra.get("no_numeric")
        fields = dict(forward=item.forward, backward=item.backward, args=fresh(case.args),
                      upstream=case.upstream, returns_cache=item.returns_cache, patch=patch,
                      forward_impl="reference" if mode == "grader-forward" else "student",
                      perturb={"wrt": list(item.wrt), "h": H, "output": 0} if numeric else None)
        return fields, numeric

    def _layer_check(self, item, case, verdict, mode, numeric, result):
        public = case.visibility == "public"
        h = H
        actual = result.get("backward") if item.backward else result.get("forward")
        if actual is None or _untouched(actual):
            verdict.flag("not_implemented", "%s returned None (the template is untouched)" % (item.backward or item.forward))
            return
        actual = list(actual) + [None] * (len(item.outputs) - len(actual))
        if mode != "own-forward" and not (public and item.backward and mode == "normal"):
            ref_args = [a.astype(np.float64) if a.dtype.kind == "f" else a for a in case.args]
            expected = self._expected(item, ref_args, case.upstream)
            for i, label in enumerate(item.outputs):
                metric, threshold = ("rel_error", self.settings.threshold(item.name)) if public else \
                    ("norm_error", self.settings.tolerance(case.dtype))
                verdict.checks.append(compare("%s: %s vs reference" % (case.name, label), actual[i], expected[i],
                                              metric=metric, threshold=threshold,
                                              kind="gradient" if item.backward or label == "dx" else "value",
                                              visibility=case.visibility, label=label, hint=_hint(item, label),
                                              input_dtype=case.dtype))
        if numeric:
            self._numeric_checks(item, case, result, actual, verdict, h, skip_unused=mode == "own-forward")

    def _numeric_checks(self, item, case, result, actual, verdict, h, skip_unused=False):
        grads = actual if item.backward else [actual[1]]
        labels = item.outputs if item.backward else ("dx",)
        public = case.visibility == "public"
        upstream = case.upstream[0] if item.returns_cache else None
        reference_errors = functools.cache(lambda: self._reference_numeric_errors(item, case, h))
        judged = 0
        for slot, (arg_index, (plus, minus)) in enumerate(zip(item.wrt, result.get("perturbed", []))):
            label = labels[slot]
            try:
                num = numeric_gradient(plus, minus, upstream, h).reshape(np.shape(case.args[arg_index]))
            except ValueError:
                verdict.checks.append(CheckResult("%s: %s vs numeric gradient of your forward" % (case.name, label),
                                                  "numeric-gradient", case.visibility, "", None, None, False,
                                                  "your forward's output has shape %s, expected %s" % (
                                                      np.shape(plus)[1:], np.shape(upstream))))
                continue
            if skip_unused and not np.any(num):
                verdict.notes.append("%s: %s not judged: your forward does not use that input" % (case.name, label))
                continue
            judged += 1
            check = partial(compare, "%s: %s vs numeric gradient of your forward" % (case.name, label), grads[slot],
                            num, kind="numeric-gradient", visibility=case.visibility, label=label,
                            hint=_hint(item, label))
            if public:
                verdict.checks.append(check(metric="rel_error", threshold=self.settings.threshold(item.name)))
            else:
                verdict.checks.append(self._hidden_numeric(check, item.name, label,
                                                           lambda slot=slot: reference_errors()[slot]))
        if skip_unused and not judged:
            verdict.checks.append(CheckResult("%s: gradients" % case.name, "numeric-gradient", case.visibility,
                                              "", None, None, False, "your forward uses none of its inputs"))

    def _hidden_numeric(self, check, item_name, label, reference_error):
        """A hidden numeric-gradient check against its calibrated threshold. When that fails, the
        threshold becomes the calibration's margin times ``reference_error()``, the reference's own
        error on the same input: numeric differentiation degrades without bound where tanh
        saturates or sums cancel, so no fixed threshold holds on every input."""
        result = check(metric="norm_error", threshold=self.settings.calibrated(item_name, label))
        if result.passed or result.value is None:
            return result
        return check(metric="norm_error", threshold=self.settings.calibrated(item_name, label, reference_error()))

    def _reference_numeric_errors(self, item, case, h):
        """Per gradient of ``item``: norm error of the reference's gradient against the numeric
        gradient of the reference's forward, on ``case``'s inputs."""
        args = fresh(case.args)
        expected = self._expected(item, args, case.upstream)
        grads = expected if item.backward else [expected[1]]
        upstream = case.upstream[0] if item.returns_cache else None
        nudged = perturbed(_reference(item.forward), args, item.wrt, 0, h)
        return [norm_error(grad, numeric_gradient(plus, minus, upstream, h).reshape(np.shape(args[i])))
                for grad, i, (plus, minus) in zip(grads, item.wrt, nudged)]

    def _expected(self, item, args, upstream):
        forward = _reference(item.forward)
        out = as_tuple(forward(*fresh(args)))
        if not item.backward:
            return list(out[:-1] if item.returns_cache else out)
        backward = _reference(item.backward)
        return list(as_tuple(backward(*[u.astype(np.float64) for u in upstream], out[-1])))

    # ----------------------------------------------------------- model loss
    def _model_fields(self, case):
        init = dict(case.extra["init"], cell_type="rnn", dtype=case.dtype)
        fields = {"init": init, "params": case.extra["params"], "features": case.args[0]}
        if len(case.args) > 1:
            fields["captions"] = case.args[1]
        return fields

    def _judge_model_loss(self, item, verdict):
        patch = substitutes(item, self.failed)
        if patch:
            verdict.notes.append("graded with the grader's layers in place of yours for: %s" % ", ".join(sorted(patch)))
        cases = [C.model_public_loss_case(CaptioningRNN), C.model_public_gradient_case(CaptioningRNN)]
        if not self.public_only:
            cases += C.model_hidden_cases(self.rng(item))
        jobs = []
        for case in cases:
            h = case.extra.get("h", H)
            numeric = case.dtype == "float64" and ("gradient" in case.name or case.visibility == "hidden")
            fields = dict(self._model_fields(case), patch=patch,
                          perturb={"h": h, "params": sorted(case.extra["params"])} if numeric else None)
            jobs.append(("model_loss", fields, partial(self._model_loss_check, item, case, verdict, numeric, h)))
        self._run(verdict, jobs)

    def _model_loss_check(self, item, case, verdict, numeric, h, result):
        loss, grads = result.get("loss"), result.get("grads")
        model = CaptioningRNN(cell_type="rnn", dtype=np.float64, **case.extra["init"])
        model.params = {k: np.asarray(v, dtype=np.float64) for k, v in case.extra["params"].items()}
        ref_loss, ref_grads = model.loss(np.asarray(case.args[0], dtype=np.float64), case.args[1])
        if _template_loss(loss, grads) and not _template_loss(ref_loss, ref_grads):
            verdict.flag("not_implemented", "loss returned (0.0, {}) or None: the template is untouched")
            return
        public = case.visibility == "public"
        hint = item.hints["*"]
        if "loss" in case.name or not public:
            metric, threshold = ("rel_error", self.settings.threshold(item.name, "loss")) if public else \
                ("norm_error", self.settings.tolerance(case.dtype))
            verdict.checks.append(compare("%s: loss vs reference" % case.name, loss, np.asarray(ref_loss),
                                          metric=metric, threshold=threshold, visibility=case.visibility,
                                          label="loss", hint=hint, input_dtype=case.dtype))
        if not isinstance(grads, dict):
            verdict.checks.append(CheckResult("%s: grads" % case.name, "gradient", case.visibility, "", None, None,
                                              False, "grads should be a dict keyed like model.params"))
            return
        for name in sorted(ref_grads):
            if not public:
                verdict.checks.append(compare("%s: grads[%r] vs reference" % (case.name, name), grads.get(name),
                                              ref_grads[name], metric="norm_error",
                                              threshold=self.settings.tolerance(case.dtype), kind="gradient",
                                              label="grads[%r]" % name, hint=hint, input_dtype=case.dtype))
            if numeric:
                plus, minus = result["perturbed"][name]
                num = numeric_gradient(plus, minus, None, h)
                if num.size != ref_grads[name].size:
                    raise MalformedValue("model.params[%r] has %d values after your loss ran, expected %d: loss "
                                         "must not replace the parameters" % (name, num.size, ref_grads[name].size))
                num = num.reshape(ref_grads[name].shape)
                check = partial(compare, "%s: grads[%r] vs numeric gradient of your loss" % (case.name, name),
                                grads.get(name), num, kind="numeric-gradient", visibility=case.visibility,
                                label="grads[%r]" % name)
                if public:
                    verdict.checks.append(check(metric="rel_error", threshold=self.settings.threshold(item.name, "grads")))
                else:
                    verdict.checks.append(self._hidden_numeric(check, item.name, name, partial(
                        _reference_loss_error, model, case, name, h, ref_grads[name])))

    # ----------------------------------------------------------- sampling
    def _judge_sample(self, item, verdict):
        """Replay every case; "not implemented" only when every output is the template's (<NULL>
        everywhere) and greedy decoding disagrees somewhere: <NULL> can be the right word."""
        patch = substitutes(item, self.failed)
        cases = C.sample_cases(self.rng(item), self.public_only)
        untouched = []
        jobs = [("model_sample", dict(self._model_fields(case), patch=patch, max_length=case.extra["max_length"]),
                 partial(self._sample_check, case, verdict, untouched)) for case in cases]
        self._run(verdict, jobs)
        if len(untouched) == len(cases) and all(untouched) and not all(c.passed for c in verdict.checks):
            verdict.flag("not_implemented", "sample returned only <NULL>, as the template does, where greedy "
                                            "decoding gives other words")

    def _sample_check(self, case, verdict, untouched, result):
        captions = result.get("captions")
        verdict.checks.append(check_sample(case, captions))
        untouched.append(_template_sample(case, captions))

    # ----------------------------------------------------------- overfitting
    def _judge_overfit(self, item, verdict):
        model_status = self.statuses.get("CaptioningRNN.loss")
        if model_status in ("missing", "not_implemented"):
            verdict.flag(model_status, "CaptioningRNN.loss is %s, so there is nothing to train" % model_status.replace("_", " "))
            return
        request = overfit_request(self.seed)
        request["patch"] = substitutes(item, self.failed)
        result = self._call(verdict, "overfit", timeout=self.settings.overfit_timeout, **request)
        if result is None:
            return
        history = result["loss_history"]
        if history.ndim > 1:
            raise MalformedValue("loss returned %s during training; it should return a number" % describe(history[-1]))
        verdict.extra["loss_history"] = history.tolist()
        verdict.extra["train_seconds"] = round(result["train_seconds"], 3)
        threshold = self.settings.threshold(item.name)
        final = float(history[-1]) if history.size else float("nan")
        passed = bool(history.size) and np.isfinite(final) and final < threshold
        message = "" if passed else "final training loss %.4g is not below %g after %d iterations" % (
            final, threshold, history.size)
        verdict.checks.append(CheckResult("hidden: overfit 50 examples", "training", "hidden", "final loss",
                                          final, threshold, passed, message))


def _template_sample(case, captions):
    """The template's ``sample`` returns ``self._null * np.ones((N, max_length))``."""
    null = case.extra["init"]["word_to_idx"]["<NULL>"]
    shape = (np.shape(case.args[0])[0], case.extra["max_length"] or 30)
    return isinstance(captions, np.ndarray) and captions.shape == shape and bool(np.all(captions == null))


def _reference_loss_error(model, case, name, h, ref_grad):
    """Norm error of the reference's gradient of ``name`` against the numeric gradient of its loss."""
    features = np.asarray(case.args[0], dtype=np.float64)
    plus, minus = perturb_params(model, features, case.args[1], {"params": [name], "h": h})[name]
    return norm_error(ref_grad, numeric_gradient(plus, minus, None, h).reshape(ref_grad.shape))


def _hint(item, label):
    return item.hints.get(label, item.hints.get("*", ""))
