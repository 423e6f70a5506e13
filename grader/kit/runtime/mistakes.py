"""Hints that name a known mistake, as the grader gives them (``check/mistakes.py``): after an
item fails, its outputs are compared with what each mistake catalogued for it gives on the
same public inputs (computed by the grader when it wrote the kit); the one mistake that every
output agrees with, and that the cases tell from the reference, names the hint.
"""
from __future__ import annotations

import re

import numpy as np

from ._compare import norm_error
from .source_lines import QUOTED, code_lines

MATCH = 1e-6  # norm error within which an output is the mistake's


def explain(judge, item, verdict):
    """Give ``verdict``'s failing checks the hint of the one mistake its outputs agree with."""
    failing = [c for c in verdict.checks if not c.passed]
    if not (failing and verdict.observed and item["mistakes"]):
        return
    reference = [judge.kit.value(o) for o in item["reference"]]
    matched = [m for m in item["mistakes"] if _shows(judge.kit, m, verdict.observed, reference)]
    if len(matched) != 1:
        return
    hint = matched[0]["hint"] + _where(judge, item, matched[0])
    for check in failing:
        check.hint = hint


def _shows(kit, mistake, seen, reference):
    """Whether every output seen is the mistake's, and some case tells the mistake from the reference."""
    told_apart = False
    for index, got in seen:
        want = kit.value(mistake["outputs"][index])
        if want is None or not agree(got, want):
            return False
        told_apart = told_apart or not agree(reference[index], want)
    return told_apart


def agree(got, want):
    """Whether ``got`` is ``want`` to ``MATCH``: same structure, same shapes, NaN and inf in the
    same places, and a norm error within ``MATCH`` elsewhere."""
    if isinstance(want, dict):
        return isinstance(got, dict) and all(k in got and agree(got[k], v) for k, v in want.items())
    if isinstance(want, (list, tuple)):
        return isinstance(got, (list, tuple)) and len(got) == len(want) and all(map(agree, got, want))
    if isinstance(got, bool) or not isinstance(got, (np.ndarray, np.number, int, float)):
        return False
    got, want = np.asarray(got), np.asarray(want)
    if got.dtype.kind not in "biuf" or got.shape != want.shape:
        return False
    got, want = got.astype(np.float64), want.astype(np.float64)
    finite = np.isfinite(want)
    if not np.array_equal(np.isfinite(got), finite) or not np.array_equal(got[~finite], want[~finite], equal_nan=True):
        return False
    return norm_error(got[finite], want[finite]) <= MATCH


def _where(judge, item, mistake):
    """' (line N of your f: `...`)' for the first line of the student's graded function that
    matches the mistake's pattern, when the item is the mistake's first; else ''."""
    if not mistake["line"] or not mistake["first"]:
        return ""
    info = judge.request("resolve", {"names": [item["graded"]]}).get("found", {}).get(item["graded"])
    source = info.get("source") if isinstance(info, dict) else None
    for number, text in code_lines(source or "").items():
        if re.search(mistake["line"], text):
            return " (line %d of your %s: `%s`)" % (number, item["graded"], text.strip()[:QUOTED])
    return ""
