"""Items to points: an item's result from its verdict, manual answers kept for the TA."""
from __future__ import annotations

import re

from ..check.compare import CheckResult
from ..vocabulary import Status
from .schema import ItemResult

ANSWER = re.compile(r"^\s*(\*\*|#+\s*)?\s*(your\s+)?answer\s*:?\s*(\*\*)?\s*:?", re.IGNORECASE)
ANSWER_LINE = re.compile(r"^\s*(\*\*|#+\s*)?\s*(your\s+)?answer\s*:?", re.IGNORECASE | re.MULTILINE)
QUESTION = re.compile(r"inline\s+question\s*(\d*)", re.IGNORECASE)  # unnumbered: question 1


def item_result(item, settings, verdict, source=None, flags=()) -> ItemResult:
    """An item's result. ``flags``: grader-access attempts that touched the item; it then
    earns nothing, whatever its checks say. ``source`` is kept when its checks did not pass."""
    status, problem, checks = Status(verdict.status), verdict.problem, list(verdict.checks)
    if flags:
        status = Status.FAILED
        problem = "flagged: the submission tried to reach the grader (%s); an item it touched earns nothing%s" % (
            "; ".join(sorted(set(flags))[:3]), "\n" + verdict.problem if verdict.problem else "")
        checks.append(CheckResult("integrity: no grader access", "integrity", "public", "attempts", len(flags), 0,
                                  False, problem))
    return ItemResult(item.name, settings.points(item.name), status, checks, problem, verdict.notes, verdict.output,
                      sorted(set(flags)), source if verdict.status != Status.PASSED else None,
                      dict(verdict.extra))


def manual_answers(nb):
    """{question number: the student's answer}: the 'Answer:' text after 'Inline Question N'."""
    answers, current = {}, None
    for cell in nb.cells:
        if cell.cell_type != "markdown":
            continue
        text = cell.source
        found = QUESTION.search(text)
        if found:
            current, text = found.group(1) or "1", text[found.end():]
            line = ANSWER_LINE.search(text)
            if not line:
                continue
            text = text[line.start():]
        if current and ANSWER.match(text):
            answers.setdefault(current, ANSWER.sub("", text, count=1).strip())
            current = None
    return answers


def manual_entries(settings, nb):
    """results.json ``manual``: each hand-graded item with the student's answer, not scored yet."""
    answers = manual_answers(nb)
    entries = []
    for item in settings.items:
        if item.kind == "manual":
            entries.append({"name": item.name, "answer": answers.get(str(item.question), ""),
                            "max_score": settings.points(item.name), "score": None})
    return entries
