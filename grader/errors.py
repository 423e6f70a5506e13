"""The grader's exceptions, and the one mapping from an exception to what its reader is told."""
from __future__ import annotations

from dataclasses import dataclass


class GraderError(Exception):
    """An error the grader raises on purpose; its message is written for the person reading it."""


class UsageError(GraderError):
    """Bad input from the user (a path, an option, a TOML, a submission that is no notebook): exit 2."""


class KernelStartError(GraderError):
    """No kernel could be started for a submission: the grader's failure, not the student's."""


class ProbeUnavailable(GraderError):
    """The probe could not be installed in a kernel the notebook left unusable."""


class DamagedReply(GraderError):
    """A probe reply that is not what the probe sends: the notebook tampered with its way back."""


class MalformedValue(GraderError):
    """A value student code returned that no check can use (wrong type or structure)."""


@dataclass(frozen=True)
class Failure:
    """A submission that could not be graded: ``kind`` is usage (the input's fault) or internal
    (the grader's); ``message`` is one line for the user."""

    kind: str
    message: str

    @property
    def exit_status(self):
        return 2 if self.kind == "usage" else 1


def failure(exc: Exception) -> Failure:
    """The failure record of ``exc``: a UsageError is the input's fault, anything else the grader's.
    An unexpected exception (a grader bug) keeps its type name, for the bug report."""
    if isinstance(exc, UsageError):
        return Failure("usage", _one_line(str(exc)))
    text = str(exc)
    if not isinstance(exc, GraderError):
        text = "%s: %s" % (type(exc).__name__, text) if text else type(exc).__name__
    return Failure("internal", "internal error: " + _one_line(text))


def _one_line(text):
    return " ".join(line.strip() for line in text.splitlines() if line.strip())
