"""The words every output shares: item statuses, how each is shown, and what a broken rule costs.

results.json, report.html, summary.html, the terminal summary, gradebook.csv and Gradescope
all read this module, so a status or a consequence is named and described in one place.
"""
from __future__ import annotations

from enum import Enum


class Status(str, Enum):
    """An item's outcome; the value is the string results.json stores."""

    PASSED = "passed"
    FAILED = "failed"  # it ran, and a check did not hold
    ERROR = "error"  # it raised (or killed the kernel)
    MISSING = "missing"  # not defined anywhere the grader looked
    NOT_IMPLEMENTED = "not_implemented"  # returned None: the untouched template
    TIMEOUT = "timeout"

    def __str__(self):
        return self.value

    @property
    def symbol(self) -> str:
        """A few capitals for the terminal and the class table."""
        return SYMBOLS[self]

    @property
    def colour(self) -> str:
        """The badge colour in the HTML pages and charts."""
        return COLOURS[self]

    @property
    def headline(self) -> str:
        """The first line a student reads under the item (Gradescope)."""
        return HEADLINES[self]


SYMBOLS = {Status.PASSED: "ok", Status.FAILED: "FAIL", Status.ERROR: "ERROR", Status.MISSING: "MISSING",
           Status.NOT_IMPLEMENTED: "TODO", Status.TIMEOUT: "TIMEOUT"}
COLOURS = {Status.PASSED: "#15803d", Status.FAILED: "#b91c1c", Status.ERROR: "#9a3412", Status.MISSING: "#6b21a8",
           Status.NOT_IMPLEMENTED: "#6b7280", Status.TIMEOUT: "#a16207"}
HEADLINES = {Status.PASSED: "All checks passed", Status.FAILED: "Failed",
             Status.ERROR: "Error: your code raised an exception",
             Status.MISSING: "Missing: the function was not found", Status.NOT_IMPLEMENTED: "Not implemented yet",
             Status.TIMEOUT: "Timed out"}

# The code gave nothing to compare: an item's remaining checks are not run.
NOTHING_TO_COMPARE = frozenset({Status.MISSING, Status.NOT_IMPLEMENTED, Status.ERROR, Status.TIMEOUT})
# The code raised or hung: what a TA looks at first (it may be the machine, not the student).
RAISED_OR_HUNG = (Status.ERROR, Status.TIMEOUT)

# A broken course rule's consequence, by the ``action`` of its results.json ``policy`` entry.
CONSEQUENCES = {"warn": "warning only", "zero": "score set to 0", "penalty": "{deduction:g} points off"}


def consequence(rule) -> str:
    """What breaking ``rule`` (a results.json ``policy`` entry) cost: 'score set to 0', '5 points off'..."""
    return CONSEQUENCES[rule["action"]].format(deduction=rule.get("deduction", 0.0))
