"""What every kind of item shares: the verdict it builds, and the interface a kind fills."""
from __future__ import annotations

import inspect
from dataclasses import dataclass, field

H = 1e-5  # step of the hidden numeric gradients


def parameter_names(function):
    """The names of ``function``'s parameters, in order (a method's ``self`` included)."""
    return list(inspect.signature(function).parameters)


@dataclass
class Verdict:
    """The outcome of one item before points are given."""

    status: str = "passed"
    checks: list = field(default_factory=list)
    notes: list = field(default_factory=list)
    problem: str = ""  # error message / traceback for missing, error, timeout
    output: str = ""  # what student code printed during the probes
    extra: dict = field(default_factory=dict)
    observed: list = field(default_factory=list)  # (case, what the code returned): to recognise mistakes

    def flag(self, status, message):
        """Record a problem status (missing, error, timeout, not_implemented); the first one stays."""
        if self.status == "passed" or self.status == "failed":
            self.status, self.problem = status, message


class Kind:
    """One kind of item: how its cases are chosen, sent through the probe and checked.

    ``judge(judge, item, verdict)`` fills the verdict, using the Judge for the probe and
    for what earlier items found; ``graded_function(item)`` is the student's function the
    item is about (for the report and for charging grader-access attempts)."""

    name = ""
    calibrated = False  # hidden numeric checks with thresholds measured on the reference

    def judge(self, judge, item, verdict):
        raise NotImplementedError

    def graded_function(self, item):
        return item.conf.get("function", item.name)

    def parameters(self, item):
        """(names of a case's arguments, of its upstream gradients): how a failing check names its inputs."""
        return (), ()

    def inputs(self, item, case):
        """The ``inputs`` of ``case``'s checks: its arrays' shapes and dtypes by parameter name."""
        return case.inputs(*self.parameters(item))

    def has_public(self, item):
        """Whether the item has checks of the notebook's own (run by the student's pre-check)."""
        return bool(item.public)

    def variant(self, judge, item, case, modules):
        """What code built from ``modules`` (the reference's, a mistake perhaps made in them)
        returns on ``case``, in the form ``Verdict.observed`` keeps; None: this kind cannot say."""
        return None


class Manual(Kind):
    """Read by the TA: the answer is collected from the notebook, nothing is probed."""

    name = "manual"

    def graded_function(self, item):
        return None
