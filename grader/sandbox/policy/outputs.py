"""Rules on saved outputs: outputs-kept (the notebook was run before hand-in) and
recorded-outputs-match (re-running it does not contradict what it saved). Differences the
grading machine causes (see machine) and cells the grader neutralised never count."""
from __future__ import annotations

import math
import re

from .common import cell_label, cells, code_cells, number, quote, sentence, shorten
from .machine import data_cells, failed_by_machine

# An error report: "dx error:  3.0e-10", "W_embed relative error: 2.3e-09", "difference: 2e-12".
REPORT = re.compile(r"(?i)^(?P<label>.*?(?:error|difference).*?)[\s:=]*"
                    r"(?P<value>[-+]?(?:\d+\.?\d*|\.\d+)(?:e[-+]?\d+)?|nan|inf)\b")
PASS_BELOW, FAIL_ABOVE = 1e-5, 1e-3


def kept(submitted, outcomes, neutralised=()):
    """(message, details): code cells never run, and cells that print (re-run as handed in,
    without failing) but saved no output."""
    never_run = [i for i, source in code_cells(submitted)
                 if source.strip() and submitted.cells[i].get("execution_count") is None]
    printed = {o.index for o in outcomes if o.status == "ok" and o.index not in neutralised
               and any(_is_result(out) for out in o.outputs)}
    no_output = [i for i in sorted(printed) if 0 <= i < len(submitted.cells)
                 and not any(_is_result(out) for out in submitted.cells[i].get("outputs", []))]
    if not never_run and not no_output:
        return "", []
    parts = []
    if never_run:
        parts.append("%d code cell(s) have no execution count (never run): %s" % (len(never_run), cells(never_run)))
    if no_output:
        parts.append("%d cell(s) that print output when run have no saved output: %s"
                     % (len(no_output), cells(no_output)))
    details = (["%s: no execution count" % cell_label(submitted, i) for i in never_run]
               + ["%s: no saved output" % cell_label(submitted, i) for i in no_output])
    return sentence("the notebook was not fully run before hand-in: " + "; ".join(parts)), details


def _is_result(output):
    """Output a student sees when a cell runs: stdout, results and displays (not stderr warnings nor errors)."""
    kind = output.get("output_type")
    return kind in ("execute_result", "display_data") or (kind == "stream" and output.get("name") != "stderr")


def match(submitted, outcomes, neutralised=()):
    """(message, details): cells whose saved output passed where the re-run fails, or whose
    reported errors changed verdict (values of cells that read the data set are not compared)."""
    details, changed = [], []
    from_data = data_cells(submitted)
    for outcome in outcomes:
        if not 0 <= outcome.index < len(submitted.cells) or outcome.index in neutralised:
            continue
        cell = submitted.cells[outcome.index]
        saved = cell.get("outputs", []) if cell.get("cell_type") == "code" else []
        if not saved:
            continue
        label = cell_label(submitted, outcome.index)
        found = []
        saved_error = any(o.get("output_type") == "error" for o in saved)
        if not saved_error and outcome.status in ("error", "timeout", "dead") and not failed_by_machine(outcome):
            what = "%s: %s" % (outcome.ename, outcome.evalue) if outcome.ename else outcome.status
            found.append("%s: the saved output shows no error, but re-run it fails (%s)"
                         % (label, shorten(what)))
        new = _error_reports(outcome.outputs) if outcome.index not in from_data else {}
        for key, old_value in _error_reports(saved).items():
            if key in new and _verdicts_differ(old_value, new[key]):
                found.append("%s: %s was %s in the saved output, %s when re-run"
                             % (label, quote(key[0]), number(old_value), number(new[key])))
        if found:
            changed.append(outcome.index)
            details += found
    if not changed:
        return "", []
    return sentence("saved outputs disagree with re-running the notebook in %s" % cells(changed)), details


def _error_reports(outputs):
    """{(label, occurrence): value} of lines like 'dx error: 3e-10' in stdout and results."""
    reports, seen = {}, {}
    for output in outputs:
        kind = output.get("output_type")
        if kind == "stream" and output.get("name") != "stderr":
            text = output.get("text", "")
        elif kind in ("execute_result", "display_data"):
            text = output.get("data", {}).get("text/plain", "")
        else:
            continue
        text = "".join(text) if isinstance(text, list) else str(text)
        for line in text.splitlines():
            found = REPORT.search(line.strip())
            if not found:
                continue
            label = re.sub(r"^\W+|\W+$", "", " ".join(found.group("label").split()))  # no quotes, colons
            try:
                value = abs(float(found.group("value")))
            except ValueError:
                continue
            occurrence = seen[label] = seen.get(label, -1) + 1
            reports[(label, occurrence)] = value
    return reports


def _verdicts_differ(a, b):
    """One value says the check passed (< 1e-5) and the other that it failed (> 1e-3, or NaN)."""
    def verdict(x):
        return "fail" if math.isnan(x) or x > FAIL_ABOVE else "pass" if x < PASS_BELOW else "unclear"
    return {verdict(a), verdict(b)} == {"pass", "fail"}
