"""results.json as types: ``ItemResult`` per graded item, ``Results`` per submission.

``to_json`` gives the dict written to results.json (fields in DESIGN.md), ``from_json``
reads one back; totals that follow from the items are derived, never stored twice.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from .. import __version__
from ..check.compare import CheckResult
from ..vocabulary import Status

OUTPUT_KEPT = 5000  # characters of what the code printed while checked


@dataclass
class ItemResult:
    """One automatic item: its status, its checks and what the student is told."""

    name: str
    max_score: float
    status: Status
    checks: list[CheckResult] = field(default_factory=list)
    message: str = ""  # the item's problem: an error and its traceback, a timeout, why it was flagged
    notes: list[str] = field(default_factory=list)
    output: str = ""  # the end of what the code printed while checked
    flagged: list[str] = field(default_factory=list)  # grader-access attempts that touched the item
    source: str | None = None  # the student's function, shown when the item did not pass
    extra: dict = field(default_factory=dict)  # facts of one kind of item: train_seconds, loss_history, reference_curve
    hint: str | None = None  # left None: the first failing check's hint

    def __post_init__(self):
        self.status = Status(self.status)
        self.output = self.output[-OUTPUT_KEPT:]
        if self.hint is None:
            self.hint = next((c.hint for c in self.checks if not c.passed and c.hint), None)

    @property
    def score(self):
        return self.max_score if self.status is Status.PASSED else 0.0

    def to_json(self) -> dict:
        entry = {"name": self.name, "score": self.score, "max_score": self.max_score, "status": self.status.value,
                 "checks": [c.to_json() for c in self.checks], "hint": self.hint, "message": self.message,
                 "notes": list(self.notes), "output": self.output, "flagged": list(self.flagged)}
        if self.source:
            entry["source"] = self.source
        entry.update(self.extra)
        return entry

    @classmethod
    def from_json(cls, data) -> ItemResult:
        known = {"name", "score", "max_score", "status", "checks", "hint", "message", "notes", "output", "flagged",
                 "source"}
        return cls(data["name"], data["max_score"], data["status"], [CheckResult.from_json(c) for c in data["checks"]],
                   data["message"], data["notes"], data["output"], data["flagged"], data.get("source"),
                   {k: v for k, v in data.items() if k not in known}, data["hint"])


@dataclass
class Results:
    """One graded submission. ``score`` is the items' points after the course rules
    (``policy_deduction`` is what they took off); ``extra`` holds what the class tools add
    later (the student, hand-graded points)."""

    submission: str
    assignment: str
    score: float
    policy_deduction: float
    items: list[ItemResult]
    policy: list[dict]
    manual: list[dict]
    execution: dict
    public_only: bool
    skipped: list[str]
    seed: int
    elapsed_s: float
    grader_version: str = __version__
    extra: dict = field(default_factory=dict)

    @property
    def automatic_max_score(self):
        return sum(i.max_score for i in self.items)

    @property
    def max_score(self):
        return self.automatic_max_score + sum(m["max_score"] for m in self.manual)

    def to_json(self) -> dict:
        return {
            "submission": self.submission, "assignment": self.assignment,
            "score": round(self.score, 6), "policy_deduction": round(self.policy_deduction, 6),
            "max_score": self.max_score, "automatic_max_score": self.automatic_max_score,
            "items": [i.to_json() for i in self.items], "policy": list(self.policy), "manual": list(self.manual),
            "execution": self.execution, "public_only": self.public_only, "skipped": list(self.skipped),
            "grader_version": self.grader_version, "seed": self.seed, "elapsed_s": round(self.elapsed_s, 2),
            **self.extra,
        }

    @classmethod
    def from_json(cls, data) -> Results:
        derived = {"max_score", "automatic_max_score"}
        names = {"submission", "assignment", "score", "policy_deduction", "policy", "manual", "execution",
                 "public_only", "skipped", "seed", "elapsed_s", "grader_version"}
        return cls(items=[ItemResult.from_json(i) for i in data["items"]], **{k: data[k] for k in names},
                   extra={k: v for k, v in data.items() if k not in names | derived | {"items"}})
