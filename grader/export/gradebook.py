"""A batch's tables: the TA's gradebook.csv and a CSV Canvas's gradebook import accepts.

Both take the results.json dicts of a batch, each with a ``student`` dict (the identity's
fields), or a failure record ``{"student": ..., "error": "message"}`` for a submission the
grader could not grade. Rows are sorted by student id and files are written atomically.
"""
from __future__ import annotations

import csv
import io
from pathlib import Path

from ..io import write_atomic
from ..vocabulary import RAISED_OR_HUNG

CANVAS_COLUMNS = ("Student", "ID", "SIS User ID", "SIS Login ID", "Section")
POINTS_POSSIBLE = "    Points Possible"  # as Canvas exports it; its importer looks for /Points Possible/
ERROR_LENGTH = 300
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def write_gradebook(path, results, item_names):
    """``gradebook.csv``: one row per student with totals, each item's points and status, and problems."""
    header = (["id", "name", "user_id", "score", "max_score"] + list(item_names)
              + ["%s_status" % name for name in item_names] + ["late", "policy", "errors", "report"])
    rows = [_gradebook_row(r, item_names) for r in sorted(results, key=student_id)]
    write_csv(Path(path), header, rows)


def write_canvas_csv(path, results, assignment_title, assignment_id, roster=None) -> list[str]:
    """Canvas's gradebook import file for one assignment; returns the ids of students it could not place.

    A student is placed by their Canvas user id, or else, through ``roster``, by an SIS login
    or SIS user id equal to their id (plain names). Names, SIS ids and sections come from the
    roster when given. Ungraded students get an empty score, which Canvas leaves unchanged.
    """
    roster = roster or {}
    column = "%s (%s)" % (assignment_title, assignment_id) if assignment_id is not None else assignment_title
    graded = [r for r in results if "error" not in r]
    possible = max((r["max_score"] for r in graded), default=None)
    rows, unplaced = [], []
    for result in sorted(results, key=student_id):
        student = result.get("student") or {}
        canvas_id = _canvas_id(student, roster)
        if canvas_id is None:
            unplaced.append(student_id(result))
            continue
        known = roster.get(canvas_id, {})
        rows.append([spreadsheet_text(known.get("Student") or student.get("name") or student_id(result)), canvas_id,
                     known.get("SIS User ID", ""), known.get("SIS Login ID", ""), known.get("Section", ""),
                     "" if "error" in result else format_number(_total(result))])
    points_row = [POINTS_POSSIBLE, "", "", "", "", format_number(possible)]
    write_csv(Path(path), list(CANVAS_COLUMNS) + [column], [points_row] + rows)
    return unplaced


def read_roster(path) -> dict[str, dict[str, str]]:
    """A Canvas gradebook export → {Canvas user id: its Student, ID, SIS ids and Section}.

    The "Points Possible" row, posting-policy rows and rows without a numeric ID are skipped.
    """
    with open(path, encoding="utf-8-sig", newline="") as f:
        reader = csv.DictReader(f)
        fields = [name.strip() for name in reader.fieldnames or []]
        if "ID" not in fields or "Student" not in fields:
            raise ValueError("%s is not a Canvas gradebook export: it has no Student and ID columns" % path)
        reader.fieldnames = fields
        roster = {}
        for row in reader:
            canvas_id = (row.get("ID") or "").strip()
            if "Points Possible" in (row.get("Student") or "") or not canvas_id.isdigit():
                continue
            roster[canvas_id] = {name: (row.get(name) or "").strip() for name in CANVAS_COLUMNS}
    return roster


def _gradebook_row(result, item_names):
    student = result.get("student") or {}
    sid = student_id(result)
    identity = [sid, spreadsheet_text(student.get("name") or ""), student.get("user_id") or ""]
    late = "yes" if student.get("late") else "no"
    if "error" in result:
        blanks = [""] * (2 + 2 * len(item_names))
        return identity + blanks + [late, "", spreadsheet_text(shorten(result["error"], ERROR_LENGTH)), ""]
    items = {i["name"]: i for i in result.get("items", [])}
    manual = {m["name"]: m for m in result.get("manual", [])}
    points, statuses = [], []
    for name in item_names:
        if name in items:
            points.append(format_number(items[name]["score"]))
            statuses.append(items[name]["status"])
        elif name in manual:
            points.append(format_number(manual[name].get("score")))
            statuses.append("manual")
        else:
            points.append("")
            statuses.append("skipped" if name in result.get("skipped", ()) else "")
    failed_rules = "; ".join(p["rule"] for p in result.get("policy", []) if not p.get("passed"))
    problems = "; ".join("%s %s: %s" % (i["name"], i["status"], shorten(i.get("message") or "", 120))
                         for i in result.get("items", []) if i["status"] in RAISED_OR_HUNG)
    return (identity + [format_number(_total(result)), format_number(result["max_score"])] + points + statuses
            + [late, spreadsheet_text(failed_rules), spreadsheet_text(shorten(problems, ERROR_LENGTH)), "%s/report.html" % sid])


def _total(result):
    """Automatic points after course rules, plus hand-graded points once merged."""
    return result.get("total_score", result["score"])


def _canvas_id(student, roster):
    """The student's Canvas user id: their own if they came from Canvas, else a roster SIS match."""
    if student.get("source", "canvas") == "canvas" and str(student.get("user_id") or "").isdigit():
        return str(student["user_id"])
    wanted = str(student.get("id") or "").lower()
    for canvas_id, known in roster.items():
        if wanted and wanted in (known.get("SIS Login ID", "").lower(), known.get("SIS User ID", "").lower()):
            return canvas_id
    return None


def student_id(result) -> str:
    return str((result.get("student") or {}).get("id") or result.get("submission") or "")


def format_number(value) -> str:
    """87.5 → "87.5", 100.0 → "100", None → ""; at most six decimals."""
    return "" if value is None else ("%.6f" % value).rstrip("0").rstrip(".")


def shorten(text: str, limit: int) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[:limit - 1] + "…"


def spreadsheet_text(value: str) -> str:
    """Free text (names, error messages) kept from being read as a spreadsheet formula."""
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def write_csv(path: Path, header, rows):
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    write_atomic(path, buffer.getvalue())
