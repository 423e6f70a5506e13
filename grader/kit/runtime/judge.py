"""Items checked in order, as ``grade --public-only`` checks them: the probe's own operations
run in this process on the student's functions, the grader's comparisons judge what they
return, and a function that failed its item is replaced inside later items by the grader's,
answered from the reference's recorded calls (``data.Replay``).
"""
from __future__ import annotations

import contextlib
import io
import json
from dataclasses import dataclass, field
from functools import partial

from . import _probe as probe
from .data import NotIsolated, decode, load
from .mistakes import explain

NOTHING_TO_COMPARE = ("missing", "not_implemented", "error", "timeout")


class MalformedValue(Exception):
    """What the student's code returned cannot be checked (its message says why)."""


@dataclass
class Verdict:
    """One item's outcome, as the grader's ``kinds.base.Verdict``."""

    status: str = "passed"
    checks: list = field(default_factory=list)
    notes: list = field(default_factory=list)
    problem: str = ""
    output: str = ""
    observed: list = field(default_factory=list)  # (case index, what the code returned): to recognise mistakes

    def flag(self, status, message):
        """Record a problem status; the first one stays."""
        if self.status in ("passed", "failed"):
            self.status, self.problem = status, message


class Kit:
    """The kit's data: its items, their cases, and the stand-ins."""

    def __init__(self, path):
        self.document, self.buffers = load(path)
        self.items = self.document["items"]

    def value(self, data):
        return decode(data, self.buffers)

    def item(self, name):
        for item in self.items:
            if item["name"] == name:
                return item
        raise ValueError("no item %r (the items are: %s)" % (name, ", ".join(i["name"] for i in self.items)))


class Judge:
    """Checks items in order on the functions in ``namespaces``, remembering which failed."""

    def __init__(self, kit, namespaces, replay):
        self.kit, self.namespaces, self.replay = kit, namespaces, replay
        self.failed, self.statuses = set(), {}

    def judge(self, item):
        from .kinds import KINDS
        verdict = Verdict()
        try:
            KINDS[item["kind"]].judge(self, item, verdict)
        except MalformedValue as exc:
            verdict.flag("error", str(exc))
        if verdict.status == "passed" and any(not c.passed for c in verdict.checks):
            verdict.status = "failed"
        if verdict.status == "failed":
            explain(self, item, verdict)
        if verdict.status == "passed" and not verdict.checks:
            verdict.flag("error", "no check could be run on what the code returned")
        self.statuses[item["name"]] = verdict.status
        if verdict.status != "passed":
            self.failed.add(item["name"])
            self.failed.update(item["functions"][-1:])
        return verdict

    def substitutes(self, item):
        """The student's functions the grader's versions replace for ``item``."""
        names = []
        for group in self.kit.document["groups"]:
            if any(name in self.failed for name in group if name in item["deps"]):
                names.extend(group)
        return names

    def dependency_groups(self, item):
        return sorted({n for g in self.kit.document["groups"] if set(g) & set(item["deps"]) for n in g})

    def op(self, name):
        """The probe operation doing ``name``'s job in this assignment."""
        return self.kit.document["ops"].get(name, name)

    def run(self, verdict, jobs):
        """Each of ``jobs`` [(op, fields, check)] through the probe, then its check on what came back."""
        for op, fields, check in jobs:
            if verdict.status in NOTHING_TO_COMPARE:
                break
            values = self._accept(verdict, self.request(op, fields))
            if values is not None:
                check(values)

    def request(self, op, fields):
        """The probe's operation ``op`` here, its request and reply through the probe's codec.
        The loss evaluations of a numeric gradient read no gradient (``Replay.unread``)."""
        request = probe.decode(json.loads(json.dumps(probe.encode(dict(fields, op=op)))))
        probe.LOCAL_NAMESPACES = list(self.namespaces)
        perturb_params, captured = probe.perturb_params, io.StringIO()
        probe.perturb_params = partial(self.replay.unread_while, perturb_params)
        try:
            with contextlib.redirect_stdout(captured), contextlib.redirect_stderr(captured):
                result = probe.OPS[op](request, self.replay)
        finally:
            probe.LOCAL_NAMESPACES, probe.perturb_params = None, perturb_params
        plain = {k: v if k in probe.PLAIN_KEYS else probe.decode(json.loads(json.dumps(probe.encode(v))))
                 for k, v in result.items()}
        plain["output"] = captured.getvalue()[-probe.OUTPUT_LIMIT:]
        return plain

    def _accept(self, verdict, result):
        """The values of a reply, or None with the verdict saying what went wrong (the grader's words)."""
        verdict.output += result.pop("output", "")
        if "missing" in result:
            why = "".join("; %s did not import (%s)" % kv for kv in result.get("import_errors", {}).items())
            verdict.flag("missing", "%s is not defined (looked in the notebook and in cs231n/)%s"
                         % (result["missing"], why))
            return None
        if "error" in result:
            e = result["error"]
            unanswered = e["ename"] == NotIsolated.__name__  # a stand-in of the kit's, on arguments never recorded
            within = e["evalue"] if unanswered else e["within"]
            if within:
                verdict.flag("error", "could not isolate this item from %s: the grader's %s stands in for yours here "
                                      "(yours or its partner failed its item), and it cannot run on what your code "
                                      "passes it (%s)" % (within, within, "the kit holds no answer for these "
                                      "arguments" if unanswered else "%s: %s" % (e["ename"], e["evalue"])))
            else:
                verdict.flag("error", "%s raised %s: %s\n%s" % (e["stage"], e["ename"], e["evalue"], e["traceback"]))
            return None
        return result
