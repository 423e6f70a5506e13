"""Items to points: closed statuses, totals derived in one place, manual answers for the TA."""
from __future__ import annotations

import re

from .. import __version__
from ..sandbox.policy import apply

STATUSES = ("passed", "failed", "error", "missing", "not_implemented", "timeout")
ANSWER = re.compile(r"^\s*(\*\*|#+\s*)?\s*(your\s+)?answer\s*:?\s*(\*\*)?\s*:?", re.IGNORECASE)
ANSWER_LINE = re.compile(r"^\s*(\*\*|#+\s*)?\s*(your\s+)?answer\s*:?", re.IGNORECASE | re.MULTILINE)
QUESTION = re.compile(r"inline\s+question\s*(\d+)", re.IGNORECASE)


def item_result(item, settings, verdict, source=None, flags=()):
    """One entry of results.json ``items``. ``flags``: grader-access attempts that touched
    the item; it then earns nothing, whatever its checks say."""
    max_score = settings.points(item.name)
    status = verdict.status if verdict.status in STATUSES else "error"
    checks = [c.to_dict() for c in verdict.checks]
    problem = verdict.problem
    if flags:
        status = "failed"
        problem = "flagged: the submission tried to reach the grader (%s); an item it touched earns nothing%s" % (
            "; ".join(sorted(set(flags))[:3]), "\n" + verdict.problem if verdict.problem else "")
        checks.append({"name": "integrity: no grader access", "kind": "integrity", "visibility": "public",
                       "metric": "attempts", "value": len(flags), "threshold": 0, "passed": False,
                       "message": problem})
    entry = {
        "name": item.name, "score": max_score if status == "passed" else 0.0, "max_score": max_score,
        "status": status, "checks": checks,
        "hint": _hint(verdict), "message": problem, "notes": verdict.notes,
        "output": verdict.output[-5000:], "flagged": sorted(set(flags)),
    }
    if source and status != "passed":
        entry["source"] = source
    entry.update(verdict.extra)
    return entry


def _hint(verdict):
    for check in verdict.checks:
        if not check.passed and "Hint: " in check.message:
            return check.message.split("Hint: ", 1)[1]
    return None


def manual_answers(nb):
    """{question number: the student's answer}: the 'Answer:' text after 'Inline Question N'."""
    answers, current = {}, None
    for cell in nb.cells:
        if cell.cell_type != "markdown":
            continue
        text = cell.source
        found = QUESTION.search(text)
        if found:
            current, text = found.group(1), text[found.end():]
            line = ANSWER_LINE.search(text)
            if not line:
                continue
            text = text[line.start():]
        if current and ANSWER.match(text):
            answers.setdefault(current, ANSWER.sub("", text, count=1).strip())
            current = None
    return answers


def manual_entries(settings, nb):
    answers = manual_answers(nb)
    entries = []
    for item in settings.items:
        if item.kind == "manual":
            number = item.name.rsplit("_", 1)[-1]
            entries.append({"name": item.name, "answer": answers.get(number, ""),
                            "max_score": settings.points(item.name), "score": None})
    return entries


def results(submission_id, settings, items, manual, *, seed, elapsed, public_only, execution, policy=(),
            skipped=()):
    """The results.json object (schema in DESIGN.md); totals derived from items, less the
    deductions of failed policy rules."""
    automatic_max = sum(i["max_score"] for i in items)
    manual_max = sum(m["max_score"] for m in manual)
    final, deducted = apply(sum(i["score"] for i in items), policy)
    return {
        "submission": submission_id, "assignment": settings.name,
        "score": round(final, 6), "policy_deduction": round(deducted, 6),
        "max_score": automatic_max + manual_max, "automatic_max_score": automatic_max,
        "items": items, "policy": list(policy), "manual": manual,
        "execution": execution, "public_only": public_only, "skipped": list(skipped),
        "grader_version": __version__, "seed": seed, "elapsed_s": round(elapsed, 2),
    }
