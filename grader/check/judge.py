"""Check items in order: each item's kind (``kinds/``) sends its cases through the probe
and compares; the Judge carries the probe and what earlier items found.

``backend.request(op, timeout, **fields)`` is the probe (a kernel in grading, the
reference in-process for calibration); everything else here runs in the grader.
"""
from __future__ import annotations

import numpy as np

from ..assignments.items import groups, substitutes
from ..errors import MalformedValue
from ..grade.probe import ReplyKind
from ..vocabulary import NOTHING_TO_COMPARE
from . import mistakes
from .kinds import Verdict, kind_of


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
        verdict, kind = Verdict(), kind_of(item)
        try:
            kind.judge(self, item, verdict)
        except MalformedValue as exc:  # the student's values; any other exception is the grader's own failure
            verdict.flag("error", str(exc))
        if verdict.status == "passed" and any(not c.passed for c in verdict.checks):
            verdict.status = "failed"
        if verdict.status == "failed":
            mistakes.explain(self, kind, item, verdict)
        if verdict.status == "passed" and not verdict.checks:  # nothing was compared: nothing is earned
            verdict.flag("error", "no check could be run on what the code returned")
        self.statuses[item.name] = verdict.status
        if verdict.status != "passed":
            self.failed.add(item.name)
            self.failed.update(item.functions[-1:])
        return verdict

    def substitutes(self, item):
        """The student's functions the grader's versions replace for ``item``."""
        return substitutes(item, self.failed, self.settings.items)

    def dependency_groups(self, item):
        """Every function of the groups ``item`` depends on."""
        return sorted({n for g in groups(self.settings.items) if set(g) & set(item.deps) for n in g})

    def call(self, verdict, op, timeout=None, **fields):
        """One probe call; None when it raised, hung, was missing or killed the kernel."""
        return self._accept(verdict, self.backend.request(op, timeout or self.settings.probe_timeout, **fields),
                            timeout)

    def run(self, verdict, jobs):
        """Send ``jobs`` [(op, fields, check, inputs)] in one batch, then run each check on its result;
        the checks it adds carry ``inputs`` (the case's shapes, ``Kind.inputs``).

        One round trip per item instead of one per case; the probe timeout covers the batch.
        """
        calls = [dict(fields, op=op) for op, fields, _, _ in jobs]
        batch = self.call(verdict, "batch", calls=calls)
        if batch is None:
            return
        for (_, _, check, inputs), reply in zip(jobs, batch["results"]):  # the probe checked there is one per call
            if verdict.status in NOTHING_TO_COMPARE:
                break
            values = self._accept(verdict, reply)
            if values is not None:
                first = len(verdict.checks)
                check(values)
                for added in verdict.checks[first:]:
                    added.inputs = inputs

    def hidden_numeric(self, check, item_name, label, reference_error):
        """A hidden numeric-gradient check against its calibrated threshold. When that fails, the
        threshold becomes the calibration's margin times ``reference_error()``, the reference's own
        error on the same input: numeric differentiation degrades without bound where tanh
        saturates or sums cancel, so no fixed threshold holds on every input."""
        result = check(metric="norm_error", threshold=self.settings.calibrated(item_name, label))
        if result.passed or result.value is None:
            return result
        return check(metric="norm_error", threshold=self.settings.calibrated(item_name, label, reference_error()))

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
        elif reply.kind is ReplyKind.ERROR and reply.raised.within:
            e = reply.raised
            verdict.flag("error", "could not isolate this item from %s: the grader's %s stands in for yours here (yours "
                                  "or its partner failed its item), and it cannot run on what your code passes it "
                                  "(%s: %s)" % (e.within, e.within, e.ename, e.evalue))
        elif reply.kind is ReplyKind.ERROR:
            e = reply.raised
            verdict.flag("error", "%s raised %s: %s\n%s" % (e.stage, e.ename, e.evalue, e.traceback))
        else:
            verdict.flag("error", "the probe's reply was damaged (%s): did the notebook replace json, base64 or"
                                  " numpy functions?" % reply.reason)
        return None
