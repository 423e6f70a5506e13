"""Items about the captioning model: its loss and gradients, greedy sampling, and
overfitting 50 examples. The model's ``cell_type`` is the assignment's."""
from __future__ import annotations

from functools import partial

import numpy as np

from reference.captioning_rnn import CaptioningRNN

from ...errors import MalformedValue
from ...resources import template_file
from ...grade.kernel_probe import perturb_params
from ...kit.runtime import template
from .. import cases as C
from ..compare import CheckResult, compare, describe, norm_error, numeric_gradient
from ..overfit import overfit_request
from ..sampling import check_sample
from .base import H, Kind, parameter_names


def _reference_loss_error(model, case, name, h, ref_grad):
    """Norm error of the reference's gradient of ``name`` against the numeric gradient of its loss."""
    features = np.asarray(case.args[0], dtype=np.float64)
    plus, minus = perturb_params(model, features, case.args[1], {"params": [name], "h": h})[name]
    return norm_error(ref_grad, numeric_gradient(plus, minus, None, h).reshape(ref_grad.shape))


def built_model(cls, cell_type, case):
    """A float64 ``cls`` (a CaptioningRNN) with the case's vocabulary, sizes and parameters."""
    model = cls(cell_type=cell_type, dtype=np.float64, **case.extra["init"])
    model.params = {k: np.asarray(v, dtype=np.float64) for k, v in case.extra["params"].items()}
    return model


def through_end(case, captions):
    """``captions`` with every word after a row's first <END> set to -1: the words a sample is judged on."""
    if not isinstance(captions, np.ndarray) or captions.ndim != 2 or captions.dtype.kind not in "iu":
        return captions
    end = captions == case.extra["init"]["word_to_idx"]["<END>"]
    return np.where(np.cumsum(end, axis=1) - end > 0, -1, captions)


def model_fields(case, cell_type):
    """The probe's fields that build a model and feed it a case."""
    init = dict(case.extra["init"], cell_type=cell_type, dtype=case.dtype)
    fields = {"init": init, "params": case.extra["params"], "features": case.args[0]}
    if len(case.args) > 1:
        fields["captions"] = case.args[1]
    return fields


class ModelLoss(Kind):
    name = "model_loss"
    calibrated = True

    def parameters(self, item):
        return parameter_names(CaptioningRNN.loss)[1:], ()

    def cases(self, judge, item):
        cases = C.model_public_cases(item, CaptioningRNN, judge.settings.cell_type)
        if not judge.public_only:
            cases += C.model_hidden_cases(judge.rng(item), judge.settings.cell_type)
        return cases

    def judge(self, judge, item, verdict):
        patch = judge.substitutes(item)
        if patch:
            verdict.notes.append("graded with the grader's layers in place of yours for: %s" % ", ".join(sorted(patch)))
        jobs = []
        for case in self.cases(judge, item):
            h = case.extra.get("h") or H
            numeric = case.dtype == "float64" and (case.extra.get("check") == "gradient" or case.visibility == "hidden")
            fields = dict(model_fields(case, judge.settings.cell_type), patch=patch,
                          perturb={"h": h, "params": sorted(case.extra["params"])} if numeric else None)
            jobs.append((judge.settings.op("model_loss"), fields,
                         partial(self._check, judge, item, case, verdict, numeric, h), self.inputs(item, case)))
        judge.run(verdict, jobs)

    def _check(self, judge, item, case, verdict, numeric, h, result):
        loss, grads = result.get("loss"), result.get("grads")
        model = built_model(CaptioningRNN, judge.settings.cell_type, case)
        ref_loss, ref_grads = model.loss(np.asarray(case.args[0], dtype=np.float64), case.args[1])
        if template.untouched_loss(loss, grads) and not template.untouched_loss(ref_loss, ref_grads):
            verdict.flag("not_implemented", template.LOSS)
            return
        verdict.observed.append((case, [loss, grads]))
        public = case.visibility == "public"
        if case.extra.get("check") == "loss" or not public:
            metric, threshold = ("rel_error", judge.settings.threshold(item.name, "loss")) if public else \
                ("norm_error", judge.settings.tolerance(case.dtype))
            verdict.checks.append(compare("%s: loss vs reference" % case.name, loss, np.asarray(ref_loss),
                                          metric=metric, threshold=threshold, visibility=case.visibility,
                                          label="loss", input_dtype=case.dtype))
        if not isinstance(grads, dict):
            verdict.checks.append(CheckResult("%s: grads" % case.name, "gradient", case.visibility, "", None, None,
                                              False, "grads should be a dict keyed like model.params"))
            return
        for name in sorted(ref_grads):
            if not public:
                verdict.checks.append(compare("%s: grads[%r] vs reference" % (case.name, name), grads.get(name),
                                              ref_grads[name], metric="norm_error",
                                              threshold=judge.settings.tolerance(case.dtype), kind="gradient",
                                              label="grads[%r]" % name, input_dtype=case.dtype))
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
                    verdict.checks.append(check(metric="rel_error", threshold=judge.settings.threshold(item.name, "grads")))
                else:
                    verdict.checks.append(judge.hidden_numeric(check, item.name, name, partial(
                        _reference_loss_error, model, case, name, h, ref_grads[name])))

    def variant(self, judge, item, case, modules):
        model = built_model(modules["captioning_rnn"].CaptioningRNN, judge.settings.cell_type, case)
        return list(model.loss(np.asarray(case.args[0], dtype=np.float64), case.args[1]))


class Sample(Kind):
    """Greedy decoding, judged by replaying the student's words through the reference."""

    name = "sample"

    def has_public(self, item):
        return True  # a notebook-sized model with the default max_length

    def parameters(self, item):
        return parameter_names(CaptioningRNN.sample)[1:], ()

    def judge(self, judge, item, verdict):
        """Replay every case; "not implemented" only when every output is the template's (<NULL>
        everywhere) and greedy decoding disagrees somewhere: <NULL> can be the right word."""
        cell_type = judge.settings.cell_type
        patch = judge.substitutes(item)
        cases = C.sample_cases(judge.rng(item), judge.public_only, cell_type)
        untouched = []
        jobs = [(judge.settings.op("model_sample"),
                 dict(model_fields(case, cell_type), patch=patch, max_length=case.extra["max_length"]),
                 partial(self._check, case, verdict, untouched, cell_type), self.inputs(item, case)) for case in cases]
        judge.run(verdict, jobs)
        if len(untouched) == len(cases) and all(untouched) and not all(c.passed for c in verdict.checks):
            verdict.flag("not_implemented", template.SAMPLE)

    @staticmethod
    def _check(case, verdict, untouched, cell_type, result):
        captions = result.get("captions")
        verdict.checks.append(check_sample(case, captions, cell_type))
        verdict.observed.append((case, through_end(case, captions)))
        untouched.append(template.untouched_sample(captions, case.extra["init"]["word_to_idx"]["<NULL>"],
                                                    (np.shape(case.args[0])[0], case.extra["max_length"] or 30)))

    def variant(self, judge, item, case, modules):
        model = built_model(modules["captioning_rnn"].CaptioningRNN, judge.settings.cell_type, case)
        max_length = {"max_length": case.extra["max_length"]} if case.extra["max_length"] else {}
        return through_end(case, model.sample(np.asarray(case.args[0], dtype=np.float64), **max_length))


class Overfit(Kind):
    """The student's model trained on 50 examples with the given solver must overfit them."""

    name = "overfit"

    def has_public(self, item):
        return False  # training is too long for a pre-check

    def graded_function(self, item):
        return None

    def judge(self, judge, item, verdict):
        loss_item = next((i for i in judge.settings.items if i.kind == "model_loss"), None)
        model_status = judge.statuses.get(loss_item.name) if loss_item else None
        if model_status in ("missing", "not_implemented"):
            verdict.flag(model_status, "%s is %s, so there is nothing to train" % (
                loss_item.name, model_status.replace("_", " ")))
            return
        model = dict(item.conf.get("model", {}), cell_type=judge.settings.cell_type)
        request = overfit_request(judge.seed, model, item.conf.get("solver", {}))
        request["patch"] = judge.substitutes(item)
        if "solver_module" in item.conf:  # the course's own solver, a given file of its template
            path = template_file(item.conf["solver_module"])
            request["given_modules"] = {path.stem: path.read_text()}
        result = judge.call(verdict, judge.settings.op("overfit"), timeout=judge.settings.overfit_timeout, **request)
        if result is None:
            return
        history = result["loss_history"]
        if history.ndim > 1:
            raise MalformedValue("loss returned %s during training; it should return a number" % describe(history[-1]))
        verdict.extra["loss_history"] = history.tolist()
        verdict.extra["train_seconds"] = round(result["train_seconds"], 3)
        curve = judge.settings.reference_curve(item)
        if curve:
            verdict.extra["reference_curve"] = {k: curve[k] for k in ("assignment", "seed", "loss_history")}
        threshold = judge.settings.threshold(item.name)
        final = float(history[-1]) if history.size else float("nan")
        passed = bool(history.size) and np.isfinite(final) and final < threshold
        message = "" if passed else "final training loss %.4g is not below %g after %d iterations" % (
            final, threshold, history.size)
        verdict.checks.append(CheckResult("hidden: overfit 50 examples", "training", "hidden", "final loss",
                                          final, threshold, passed, message))
