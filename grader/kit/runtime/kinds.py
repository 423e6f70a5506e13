"""The public checks of each kind of item, as the grader's ``check/kinds`` make them (same
requests, same comparisons, same names and messages), with the expected values read from the
kit's data instead of computed by the reference.
"""
from __future__ import annotations

from functools import partial

import numpy as np

from . import template
from ._compare import CheckResult, compare, greedy_words_check, numeric_gradient, numeric_gradient_checks, unreached
from .judge import MalformedValue
from .layer_modes import judge_layer


class Case:
    """A public case read from the kit."""

    def __init__(self, kit, index, data):
        self.index, self.data = index, data  # its place among the item's cases
        self.name = data["name"]
        self.args = kit.value(data.get("args", []))
        self.upstream = kit.value(data.get("upstream"))
        self.expected = kit.value(data.get("expected"))


def _differentiated(item, case):
    """(outputs, flattened upstream) a numeric gradient projects the forward onto (as the grader)."""
    if not item["returns_cache"] or not case.upstream:
        return 0, None
    return list(range(len(case.upstream))), np.concatenate([np.ravel(u) for u in case.upstream])


class Layer:
    """A forward, and a backward called with that forward's own cache (``kinds/layer.py``)."""

    def judge(self, judge, item, verdict):
        judge_layer(verdict, partial(self._run_cases, judge, item), item["forward"], item["backward"], judge.failed,
                    judge.substitutes(item), lambda: judge.dependency_groups(item))

    def _run_cases(self, judge, item, verdict, patch, mode):
        jobs = []
        for index, data in enumerate(item["cases"]):
            case = Case(judge.kit, index, data)
            numeric = mode != "grader-forward" and bool(item["wrt"]) and data["numeric"]
            outputs, _ = _differentiated(item, case)
            fields = dict(forward=item["forward"], backward=item["backward"], args=case.args, upstream=case.upstream,
                          returns_cache=item["returns_cache"], patch=patch,
                          forward_impl="reference" if mode == "grader-forward" else "student",
                          perturb={"wrt": list(item["wrt"]), "h": judge.kit.document["h"], "output": outputs}
                          if numeric else None)
            jobs.append(("layer", fields, partial(self._check, judge, item, case, verdict, mode, numeric)))
        judge.run(verdict, jobs)

    def _check(self, judge, item, case, verdict, mode, numeric, result):
        actual = result.get("backward") if item["backward"] else result.get("forward")
        if actual is None or template.untouched_layer(actual):
            verdict.flag("not_implemented", template.layer(item["backward"] or item["forward"]))
            return
        actual = list(actual) + [None] * (len(item["outputs"]) - len(actual))
        if mode != "own-forward":  # the cache came from a correct forward: the mistake, if known, is this item's
            verdict.observed.append((case.index, actual))
        if mode != "own-forward" and not (item["backward"] and mode == "normal"):
            for i, label in enumerate(item["outputs"]):
                verdict.checks.append(compare("%s: %s vs reference" % (case.name, label), actual[i], case.expected[i],
                                              metric="rel_error", threshold=item["thresholds"][label],
                                              kind="gradient" if item["backward"] or label == "dx" else "value",
                                              visibility="public", label=label, input_dtype="float64"))
        if numeric:
            self._numeric_checks(judge.kit.document["h"], item, case, result, actual, verdict,
                                 skip_unused=mode == "own-forward")

    def _numeric_checks(self, h, item, case, result, actual, verdict, skip_unused=False):
        _, upstream = _differentiated(item, case)
        checks, notes = numeric_gradient_checks(
            case.name, actual if item["backward"] else [actual[1]], item["outputs"] if item["backward"] else ("dx",),
            item["wrt"], result.get("perturbed", []), upstream, [np.shape(case.args[i]) for i in item["wrt"]], h,
            "public", lambda check, slot, label: check(metric="rel_error", threshold=item["thresholds"][label]),
            skip_unused)
        verdict.checks += checks
        verdict.notes += notes


class AutogradLayer:
    """A forward on tensors, its gradients from autograd (PyTorch kits; ``kinds/autograd.py``): the
    probe back-propagates the case's upstream gradients; the reference's outputs and gradients are
    the kit's data."""

    def judge(self, judge, item, verdict):
        patch = judge.substitutes(item)
        if patch:
            verdict.notes.append("graded with the grader's %s in place of yours (they failed their own items)"
                                 % ", ".join(sorted(set(patch))))
        jobs = []
        for index, data in enumerate(item["cases"]):
            case = Case(judge.kit, index, data)
            graded = bool(case.upstream) or not item["returns_cache"]  # a forward's own check: values only
            fields = dict(forward=item["forward"], args=case.args, wrt=list(item["wrt"]) if graded else [],
                          outputs=len(item["outputs"]), upstream=case.upstream if item["returns_cache"] else None,
                          scalar=not item["returns_cache"], patch=patch)
            jobs.append(("autograd_layer", fields, partial(self._check, item, case, verdict)))
        judge.run(verdict, jobs)

    @staticmethod
    def _check(item, case, verdict, result):
        actual = result.get("forward")
        if actual is None or template.untouched_layer(actual):
            verdict.flag("not_implemented", template.layer(item["forward"]))
            return
        got_grads = result.get("grads") or []
        verdict.observed.append((case.index, list(actual) + list(got_grads)))
        outputs, grads = case.expected
        dtype = case.data["dtype"]
        for label, got, want in zip(item["outputs"], actual, outputs):
            verdict.checks.append(compare("%s: %s vs reference" % (case.name, label), got, want, metric="rel_error",
                                          threshold=item["thresholds"][label], visibility="public", label=label,
                                          input_dtype=dtype))
        cut = set(result.get("unreached") or ())
        for label, index, got, want in zip(item["gradients"], item["wrt"], got_grads, grads):
            name = "%s: %s (autograd) vs reference" % (case.name, label)
            if index in cut:
                verdict.checks.append(unreached(name, label, index, item["forward"], "public"))
                continue
            verdict.checks.append(compare(name, got, want, metric="norm_error", threshold=item["tolerance"],
                                          kind="gradient", visibility="public", label=label, input_dtype=dtype))


def _model_fields(kit, data):
    init = dict(data["init"], cell_type=kit.document["cell_type"], dtype="float64")
    fields = {"init": init, "params": kit.value(data["params"]), "features": kit.value(data["features"])}
    if "captions" in data:
        fields["captions"] = kit.value(data["captions"])
    return fields


class ModelLoss:
    """The model's loss and its numeric gradients (``kinds/model.py``)."""

    def judge(self, judge, item, verdict):
        patch = judge.substitutes(item)
        if patch:
            verdict.notes.append("graded with the grader's layers in place of yours for: %s" % ", ".join(sorted(patch)))
        jobs = []
        for index, data in enumerate(item["cases"]):
            numeric = data["check"] == "gradient"
            fields = dict(_model_fields(judge.kit, data), patch=patch)
            fields["perturb"] = {"h": data["h"], "params": sorted(fields["params"])} if numeric else None
            jobs.append((judge.op("model_loss"), fields,
                         partial(self._check, judge, item, index, data, verdict, numeric)))
        judge.run(verdict, jobs)

    def _check(self, judge, item, index, data, verdict, numeric, result):
        loss, grads = result.get("loss"), result.get("grads")
        if template.untouched_loss(loss, grads):
            verdict.flag("not_implemented", template.LOSS)
            return
        verdict.observed.append((index, [loss, grads]))
        params = judge.kit.value(data["params"])
        if data["check"] == "loss":
            verdict.checks.append(compare("%s: loss vs reference" % data["name"], loss, np.asarray(data["ref_loss"]),
                                          metric="rel_error", threshold=item["thresholds"]["loss"],
                                          visibility="public", label="loss", input_dtype="float64"))
        if not isinstance(grads, dict):
            verdict.checks.append(CheckResult("%s: grads" % data["name"], "gradient", "public", "", None, None, False,
                                              "grads should be a dict keyed like model.params"))
            return
        for name in sorted(params) if numeric else ():
            plus, minus = result["perturbed"][name]
            num = numeric_gradient(plus, minus, None, data["h"])
            if num.size != params[name].size:
                raise MalformedValue("model.params[%r] has %d values after your loss ran, expected %d: loss must not "
                                     "replace the parameters" % (name, num.size, params[name].size))
            verdict.checks.append(compare("%s: grads[%r] vs numeric gradient of your loss" % (data["name"], name),
                                          grads.get(name), num.reshape(params[name].shape), kind="numeric-gradient",
                                          visibility="public", label="grads[%r]" % name, metric="rel_error",
                                          threshold=item["thresholds"]["grads"]))


class Sample:
    """Greedy decoding against the reference's greedy words (``kinds/model.py``, ``sampling.py``).
    The kit's case has no near tie, so at every step only the reference's word is right."""

    def judge(self, judge, item, verdict):
        data = item["cases"][0]
        fields = dict(_model_fields(judge.kit, data), patch=judge.substitutes(item), max_length=data["max_length"])
        untouched = []
        judge.run(verdict, [(judge.op("model_sample"), fields, partial(self._check, judge.kit, data, verdict,
                                                                       untouched))])
        if untouched and all(untouched) and not all(c.passed for c in verdict.checks):
            verdict.flag("not_implemented", template.SAMPLE)

    @staticmethod
    def _check(kit, data, verdict, untouched, result):
        captions = result.get("captions")
        verdict.checks.append(check_sample(data, kit.value(data["greedy"]), captions))
        verdict.observed.append((0, through_end(data, captions)))
        untouched.append(template.untouched_sample(captions, data["init"]["word_to_idx"]["<NULL>"],
                                                    (len(kit.value(data["features"])), data["max_length"] or 30)))


def check_sample(data, greedy, captions):
    """The check of ``captions`` against the case's greedy words (no near tie: only they are right)."""
    check, _ = greedy_words_check("%s: greedy words vs reference" % data["name"], "public", captions, greedy.shape[0],
                                  data["max_length"] or 30, data["max_length"], data["init"]["word_to_idx"],
                                  lambda n, t, word: None if word == greedy[n, t] else int(greedy[n, t]))
    return check


def through_end(data, words):
    """``words`` with every word after a row's first <END> set to -1 (the grader's ``through_end``)."""
    if not isinstance(words, np.ndarray) or words.ndim != 2 or words.dtype.kind not in "iu":
        return words
    end = words == data["init"]["word_to_idx"]["<END>"]
    return np.where(np.cumsum(end, axis=1) - end > 0, -1, words)


KINDS = {"layer": Layer(), "autograd_layer": AutogradLayer(), "model_loss": ModelLoss(), "sample": Sample()}
