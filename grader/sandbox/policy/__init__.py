"""Course rules checked on a submitted notebook against the assignment's template.

Each rule looks at the submission as handed in (its code, saved outputs and execution
counts), at the template, and at what re-execution and the sandbox saw. The TOML sets
each rule to "off", "warn", "zero" (the score becomes 0) or a number of points taken
off; ``evaluate`` gives the results.json ``policy`` entries, ``apply`` the final score.

One module per family of rules (imports, edits, outputs, grader_access), each giving a
rule's (message, details); common holds their cell parsing and wording.
"""
from __future__ import annotations

from . import edits, grader_access, imports, outputs

RULES = ("no-extra-imports", "edits-only-in-todo", "outputs-kept", "recorded-outputs-match", "no-grader-access")
ACTIONS = ("off", "warn", "zero")
MAX_DETAILS = 20


def evaluate(actions, *, submitted, template, outcomes, files=None, template_files=None, access=()):
    """results.json ``policy`` entries for every rule not set to "off", in RULES order."""
    files, template_files = files or {}, template_files or {}
    checks = {
        "no-extra-imports": lambda: imports.check(submitted, template, files, template_files),
        "edits-only-in-todo": lambda: edits.check(submitted, template, files, template_files),
        "outputs-kept": lambda: outputs.kept(submitted, outcomes),
        "recorded-outputs-match": lambda: outputs.match(submitted, outcomes),
        "no-grader-access": lambda: grader_access.check(access),
    }
    entries = []
    for rule in RULES:
        action = actions.get(rule, "off")
        if action == "off":
            continue
        message, details = checks[rule]()
        penalty = not isinstance(action, str)
        entries.append({
            "rule": rule, "passed": not message, "message": message,
            "action": "penalty" if penalty else action,
            "deduction": float(action) if penalty and message else 0.0,
            "details": _capped(details),
        })
    return entries


def apply(score, entries):
    """(final score, points deducted): failed penalties come off (not below 0); a failed "zero" gives 0."""
    failed = [e for e in entries if not e["passed"]]
    if any(e["action"] == "zero" for e in failed):
        final = 0.0
    else:
        final = max(0.0, score - sum(e["deduction"] for e in failed if e["action"] == "penalty"))
    return final, score - final


def _capped(details):
    if len(details) <= MAX_DETAILS:
        return list(details)
    return list(details[:MAX_DETAILS - 1]) + ["... and %d more" % (len(details) - MAX_DETAILS + 1)]
