"""What a kit knows of the reference, computed once from it: each public case's inputs and
expected values, and the reference's calls that stand in for a student's failing functions.

``grade --public-only`` puts the grader's version of a function that failed its item in its
place inside later items (and, for a backward whose forward failed, feeds it the grader's
forward's cache). A kit holds no code of the reference, so it answers those calls from
records: the reference runs each public case as the probe would, with every function that
may stand in for a student's wrapped, and each call is kept with its arguments' fingerprint
(``runtime/data.py``). What no check reads is kept as zeros of its shape: the gradients of
the loss evaluations of a numeric gradient (found by their cache alone), and the caches of a
layer's numeric gradient (where no backward runs). And for hints, what the reference and
each catalogued mistake give on the public cases.
"""
from __future__ import annotations

import functools
import inspect

import numpy as np

from reference.captioning_rnn import CaptioningRNN

from ..assignments.items import groups
from ..check import cases as C
from ..check import mistakes
from ..check.judge import Judge
from ..check.kinds import kind_of
from ..check.kinds.base import H
from ..check.kinds.layer import Layer, _differentiated
from ..check.sampling import TIE, _scores_along
from ..grade import kernel_probe
from ..resources import reference_source
from .runtime.data import bind, fingerprint

SAMPLE_SEEDS = range(1000)  # the first seed whose public sample case has no near tie is the kit's


class Recorder:
    """The reference's layer functions; calls of those in ``watching`` are recorded."""

    MODULES = ("rnn_layers", "captioning_rnn")  # the reference's layers, then its model

    def __init__(self, functions, backwards, cached, packer):
        self.reference = kernel_probe.Reference({name: reference_source(name) for name in self.MODULES})
        layers, model = (self.reference.modules[name] for name in self.MODULES)
        self.original = {name: getattr(layers, name) for name in functions}
        for module in self.reference.modules.values():
            for name in functions:
                if name in vars(module):
                    vars(module)[name] = self._wrapped(name)
        self.namespace = dict(vars(layers), CaptioningRNN=model.CaptioningRNN)
        self.parameters = {name: [[p.name, [] if p.default is p.empty else [p.default]]
                                  for p in inspect.signature(fn).parameters.values()]
                           for name, fn in self.original.items()}  # how calls bind to arguments
        self.backwards, self.cached, self.packer = set(backwards), set(cached), packer
        self.watching, self.unread = set(), None  # unread: None, "gradients" or "caches"
        self.calls = {}  # signature -> {digest: (projection, encoded output, nothing left out)}

    def _wrapped(self, name):
        def recorded(*args, **kwargs):
            out = self.original[name](*args, **kwargs)
            if name in self.watching:
                self._keep(name, bind(self.parameters[name], args, kwargs), out)
            return out
        return recorded

    def _keep(self, name, args, out):
        gradients = self.unread == "gradients" and name in self.backwards
        caches = self.unread == "caches" and name in self.cached
        key = (None,) * (len(args) - 1) + args[-1:] if gradients else args
        signature, digest, projection, _ = fingerprint(name, key)
        calls = self.calls.setdefault(signature, {})
        if digest in calls and (calls[digest][2] or gradients or caches):
            return  # the first record stays, unless it left out what this one keeps
        if caches:
            output = self.packer.encode(tuple(out[:-1]), args)
            output["()"].append(self.packer.encode(out[-1], zeros=True))
        else:
            output = self.packer.encode(out, () if gradients else args, zeros=gradients)
        calls[digest] = (projection, output, not (gradients or caches))

    def model_loss(self, case, cell_type):
        """The reference model's loss on a public model case, and its numeric gradient's losses
        (their gradients unread), as the probe's ``model_loss`` runs them."""
        features, captions = case.args
        model = _model(self, case, cell_type)
        loss, _ = model.loss(np.copy(features), np.copy(captions))
        self.unread = "gradients"
        if case.extra["check"] == "gradient":
            kernel_probe.perturb_params(model, features, captions,
                                        {"h": case.extra["h"] or H, "params": sorted(case.extra["params"])})
        self.unread = None
        return loss

    def sample(self, case, cell_type):
        """The reference model's greedy sample on a public sample case."""
        _model(self, case, cell_type).sample(np.copy(case.args[0]))

    def table(self):
        """The document's ``calls``: [[signature, [digests], [projections], [outputs]]]."""
        return [[signature, list(calls), [p for p, _, _ in calls.values()], [o for _, o, _ in calls.values()]]
                for signature, calls in self.calls.items()]


def variants(settings, item, cases, packer):
    """What each mistake catalogued for ``item`` gives on ``cases`` (None where it raises), and what
    the unedited modules it is made in give, for the kit to recognise a mistake as the grader does
    (``check/mistakes.py``). A mistake this kind cannot run (no output on any case) is left out."""
    judge, kind = Judge(None, settings, 0), kind_of(item)

    @functools.cache
    def outputs(edits, names):
        return [mistakes._run(kind, judge, item, case, edits, names) for case in cases]

    found = []
    for m in mistakes.for_item(settings, item):
        if any(o is not None for o in outputs(m.edits, m.modules)):
            found.append({"hint": m.hint, "line": m.line, "first": m.items[0] == item.name,
                          "outputs": [packer.encode(o) for o in outputs(m.edits, m.modules)],
                          "reference": [packer.encode(o) for o in outputs((), m.modules)]})
    return {"graded": kind.graded_function(item), "mistakes": found}


def stand_ins(item, items):
    """The functions ``grade`` may put in place of a student's inside ``item``."""
    return {name for group in groups(items) if set(group) & set(item.deps) for name in group}


def layer_cases(item, items, recorder, packer):
    """[(case, its data)]: the item's public cases (inputs, the reference's outputs), recorded as
    the probe runs them."""
    cases = []
    for case in C.public_cases(item):
        numeric = bool(item.wrt) and case.extra.get("numeric", True)
        recorder.watching = stand_ins(item, items) | ({item.forward} if item.backward else set())
        forward = recorder.namespace[item.forward]
        out = kernel_probe.as_tuple(forward(*kernel_probe.fresh(case.args)))
        if item.backward:
            recorder.namespace[item.backward](*kernel_probe.fresh(case.upstream), out[-1])
        recorder.watching, recorder.unread = stand_ins(item, items), "caches"
        if numeric:
            outputs, _ = _differentiated(item, case)
            kernel_probe.perturbed(forward, case.args, list(item.wrt), outputs, H)
        recorder.unread = None
        cases.append((case, {"name": case.name, "args": packer.encode(case.args),
                             "upstream": packer.encode(case.upstream), "numeric": numeric,
                             "expected": packer.encode(Layer.expected(item, case.args, case.upstream))}))
    return cases


def _model(recorder, case, cell_type):
    """The reference's model as the probe builds it: its constructor, then the case's parameters."""
    model = recorder.namespace["CaptioningRNN"](**dict(case.extra["init"], cell_type=cell_type, dtype=np.float64))
    for name, value in case.extra["params"].items():
        model.params[name] = np.copy(value)
    return model


def model_cases(item, items, recorder, packer, cell_type):
    """[(case, its data)]: the model's public cases, recorded as the probe runs them."""
    cases = []
    recorder.watching = stand_ins(item, items)
    for case in C.model_public_cases(item, CaptioningRNN, cell_type):
        features, captions = case.args
        loss = recorder.model_loss(case, cell_type)
        cases.append((case, {"name": case.name, "check": case.extra["check"], "h": case.extra["h"] or H,
                             "init": case.extra["init"], "params": packer.encode(case.extra["params"]),
                             "features": packer.encode(features), "captions": packer.encode(captions),
                             "ref_loss": float(loss)}))
    return cases


def sample_case(item, items, recorder, packer, cell_type):
    """[(case, its data)]: the public sample case of the first seed whose greedy path has no near tie (so only the
    greedy word is right at every step), with that path and the calls that computed it."""
    for seed in SAMPLE_SEEDS:
        rng = np.random.default_rng([seed, sum(map(ord, item.name))])  # as Judge.rng
        case = C.sample_cases(rng, True, cell_type)[0]
        greedy = _greedy(case, cell_type)
        if greedy is not None:
            break
    else:
        raise RuntimeError("no public sample case without a near tie in %d seeds" % len(SAMPLE_SEEDS))
    recorder.watching = stand_ins(item, items)
    recorder.sample(case, cell_type)
    return [(case, {"name": case.name, "seed": seed, "init": case.extra["init"],
                    "params": packer.encode(case.extra["params"]), "features": packer.encode(case.args[0]),
                    "max_length": case.extra["max_length"], "greedy": packer.encode(greedy)})]


def _greedy(case, cell_type):
    """The reference's greedy words (N, max_length), or None when a step has a near tie."""
    params = {k: np.asarray(v, np.float64) for k, v in case.extra["params"].items()}
    features = np.asarray(case.args[0], np.float64)
    words = np.zeros((features.shape[0], case.extra["max_length"] or 30), dtype=np.int64)
    start = case.extra["init"]["word_to_idx"]["<START>"]
    for t in range(words.shape[1]):
        scores = _scores_along(params, features, words[:, :t + 1], start, cell_type)[t]
        ranked = np.sort(scores, axis=1)
        if np.any(ranked[:, -1] - ranked[:, -2] <= TIE * (1 + np.abs(ranked[:, -1]))):
            return None
        words[:, t] = np.argmax(scores, axis=1)
    return words
