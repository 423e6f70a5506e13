"""Hints that name a known mistake, as the grader gives them (``check/mistakes.py``): after an
item fails, its outputs are compared with what each mistake catalogued for it gives on the
same public inputs (computed by the grader when it wrote the kit); the one mistake that every
output agrees with, and that the cases tell from the reference, names the hint.
"""
from __future__ import annotations

from .matching import agree
from .source_lines import quoted


def explain(judge, item, verdict):
    """Give ``verdict``'s failing checks the hint of the one mistake its outputs agree with."""
    failing = [c for c in verdict.checks if not c.passed]
    if not (failing and verdict.observed and item["mistakes"]):
        return
    matched = [m for m in item["mistakes"] if _shows(judge.kit, m, verdict.observed)]
    if len(matched) != 1:
        return
    hint = matched[0]["hint"] + _where(judge, item, matched[0])
    for check in failing:
        check.hint = hint


def _shows(kit, mistake, seen):
    """Whether every output seen is the mistake's, and some case tells the mistake from the
    reference (the unedited modules the mistake is made in)."""
    told_apart = False
    for index, got in seen:
        want = kit.value(mistake["outputs"][index])
        if want is None or not agree(got, want):
            return False
        told_apart = told_apart or not agree(kit.value(mistake["reference"][index]), want)
    return told_apart


def _where(judge, item, mistake):
    """' (line N of your f: `...`)' for the first line of the student's graded function that
    matches the mistake's pattern, when the item is the mistake's first; else ''."""
    if not mistake["line"] or not mistake["first"]:
        return ""
    info = judge.request("resolve", {"names": [item["graded"]]}).get("found", {}).get(item["graded"])
    source = info.get("source") if isinstance(info, dict) else None
    return quoted(source, mistake["line"], item["graded"])
