"""Items graded by hand: manual.html to read the answers, manual.csv to score them, and the merge back.

The TA fills ``points`` (and a ``comment``) in manual.csv; ``merge_manual`` checks every row
before it changes anything, then writes the points into each student's results.json and
re-renders their report.html.
"""
from __future__ import annotations

import csv
import io
import json
import math
import re
from pathlib import Path

from ..errors import UsageError
from ..export.gradebook import FORMULA_STARTS, format_number, shorten, student_id, spreadsheet_text, write_csv
from ..io import environment, write_atomic
from ..results.report import render_html

COLUMNS = ("id", "name", "item", "max_points", "points", "comment", "answer")
REQUIRED = ("id", "item", "points")
ANSWER_LENGTH = 500
COMMA_DECIMAL = re.compile(r"^[-+]?\d+,\d+$")  # "2,5" from a spreadsheet in a comma-decimal locale

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Answers graded by hand</title>
<style>
body{font:14px/1.45 system-ui,sans-serif;margin:2em auto;max-width:1000px;color:#222;padding:0 1em}
h1{font-size:1.5em} h2{font-size:1.2em;margin-top:2em;border-bottom:1px solid #ddd} .meta{color:#666}
.answer{margin:1em 0;border-left:3px solid #1d4ed8;padding-left:.8em} .id{font-size:1.1em;font-weight:700}
pre{background:#f6f6f6;padding:8px;white-space:pre-wrap;overflow-wrap:anywhere;font-size:13px;margin:.3em 0}
</style></head><body>
<h1>Answers graded by hand</h1>
<p class="meta">Give each answer its points (and a comment) in <code>manual.csv</code>, on the row with the
student's id and the question's name, then merge the file back (<code>grade --merge-manual manual.csv --out DIR</code>).
Empty points mean not graded yet.</p>
{% if questions|length > 1 %}<ul>{% for q in questions %}<li><a href="#{{ q.name }}">{{ q.name }}</a></li>{% endfor %}</ul>{% endif %}
{% for q in questions %}<h2 id="{{ q.name }}">{{ q.name }} ({{ q.max_score|num }} points):
{{ q.answers|length }} students, {{ q.answers|selectattr("score", "ne", none)|list|length }} graded</h2>
{% for a in q.answers %}<div class="answer"><div><code class="id">{{ a.id }}</code> {{ a.name }}
{% if a.score is not none %}&middot; <b>{{ a.score|num }} / {{ q.max_score|num }}</b>{% if a.comment %} &middot; {{ a.comment }}{% endif %}{% endif %}</div>
<pre>{{ a.answer or "(no answer found)" }}</pre></div>
{% endfor %}{% endfor %}
{% if ungraded %}<h2>Not graded, so no answers</h2><p>{{ ungraded|join(", ") }}</p>{% endif %}
</body></html>
"""


def render_manual_page(records) -> str:
    """manual.html: for each manual item, every graded student's answer under the id to score it by."""
    graded = sorted((r for r in records if "error" not in r), key=student_id)
    questions = {}
    for record in graded:
        student = record.get("student") or {}
        for entry in record.get("manual", ()):
            question = questions.setdefault(entry["name"], {"name": entry["name"], "answers": [],
                                                            "max_score": entry.get("max_score")})
            question["answers"].append({"id": student_id(record), "name": student.get("name") or "",
                                        "answer": entry.get("answer") or "", "score": entry.get("score"),
                                        "comment": entry.get("comment") or ""})
    ungraded = sorted(student_id(r) for r in records if "error" in r)
    return environment().from_string(PAGE).render(questions=list(questions.values()), ungraded=ungraded)


def write_manual_page(out_dir, records) -> Path:
    """Write ``out_dir/manual.html`` atomically; return its path."""
    path = Path(out_dir) / "manual.html"
    write_atomic(path, render_manual_page(records))
    return path


def write_manual_csv(path, records):
    """manual.csv: one row per manual item and graded student (item by item), points and comment
    prefilled when already merged, the answer shortened for reference."""
    graded = sorted((r for r in records if "error" not in r), key=student_id)
    order = list(dict.fromkeys(e["name"] for r in graded for e in r.get("manual", ())))
    rows = []
    for record in graded:
        name = spreadsheet_text((record.get("student") or {}).get("name") or "")
        for entry in record.get("manual", ()):
            rows.append([student_id(record), name, entry["name"], format_number(entry.get("max_score")),
                         format_number(entry.get("score")), spreadsheet_text(entry.get("comment") or ""),
                         spreadsheet_text(shorten(entry.get("answer") or "", ANSWER_LENGTH))])
    rows.sort(key=lambda row: order.index(row[2]))  # stable: ids stay sorted within an item
    write_csv(Path(path), COLUMNS, rows)


def merge_manual(out_dir, csv_path) -> list[str]:
    """Fold the TA's manual.csv into ``out_dir/<id>/results.json`` and report.html; return the ids changed.

    Blank points leave a question's points as they were (a comment given alone is still kept);
    "2,5" reads as 2.5. Any bad row (unknown id or item, points not a number or outside
    0..max, the same id and item twice) raises UsageError and nothing is written.
    """
    out_dir = Path(out_dir)
    results, seen, changed = {}, {}, set()
    for row, sid, item, points, comment in _read_rows(csv_path):
        where = "%s row %d" % (Path(csv_path).name, row)
        if (sid, item) in seen:
            raise UsageError("%s: %s / %s is already on row %d" % (where, sid, item, seen[sid, item]))
        seen[sid, item] = row
        if sid not in results:
            results[sid] = _load_results(out_dir, sid, where)
        entry = next((m for m in results[sid].get("manual", ()) if m["name"] == item), None)
        if entry is None:
            raise UsageError("%s: %s has no manual item %r" % (where, sid, item))
        if points is not None and not 0 <= points <= entry["max_score"]:
            raise UsageError("%s: points %g outside 0..%g for %s" % (where, points, entry["max_score"], item))
        if _apply(entry, points, comment):
            changed.add(sid)
    writes = []
    for sid in sorted(changed):
        _total(results[sid])
        writes += [(out_dir / sid / "results.json", json.dumps(results[sid], indent=1)),
                   (out_dir / sid / "report.html", render_html(results[sid]))]
    for path, text in writes:
        write_atomic(path, text)
    return sorted(changed)


def _read_rows(csv_path):
    """(row number, id, item, points or None, comment) for each non-empty row of the TA's CSV.

    Tolerates a BOM, any column order, extra columns, case in the header and ';' as the
    separator (a spreadsheet's CSV in a comma-decimal locale).
    """
    try:
        text = Path(csv_path).read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError("cannot read %s: %s (save it as UTF-8 CSV)" % (csv_path, exc)) from None
    header = text.split("\n", 1)[0]
    reader = csv.DictReader(io.StringIO(text), delimiter=";" if header.count(";") > header.count(",") else ",")
    reader.fieldnames = [(name or "").strip().lower() for name in reader.fieldnames or []]
    missing = [name for name in REQUIRED if name not in reader.fieldnames]
    if missing:
        raise UsageError("%s has no %s column (it needs %s)" % (csv_path, ", ".join(missing), ", ".join(REQUIRED)))
    rows = []
    for row, fields in enumerate(reader, start=2):
        values = {name: (fields.get(name) or "").strip() for name in ("id", "item", "points", "comment")}
        if not any(values.values()):
            continue
        where = "%s row %d" % (Path(csv_path).name, row)
        if not values["id"] or not values["item"]:
            raise UsageError("%s: the id or item is empty" % where)
        rows.append((row, values["id"], values["item"], _points(values["points"], where),
                     _unguard(values["comment"])))
    return rows


def _points(text, where):
    """A points cell as a float, or None when blank."""
    if not text:
        return None
    try:
        value = float(text.replace(",", ".") if COMMA_DECIMAL.match(text) else text)
    except ValueError:
        raise UsageError("%s: points %r is not a number" % (where, text)) from None
    if not math.isfinite(value):
        raise UsageError("%s: points %r is not a number" % (where, text))
    return value


def _unguard(comment):
    """Undo the quote ``gradebook.spreadsheet_text`` put before a comment that looks like a formula."""
    return comment[1:] if comment.startswith("'") and comment[1:2].startswith(FORMULA_STARTS) else comment


def _load_results(out_dir, sid, where):
    path = out_dir / sid / "results.json"
    if Path(sid).name != sid or sid.startswith(".") or not path.is_file():
        raise UsageError("%s: unknown student id %r (no %s)" % (where, sid, path))
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise UsageError("%s: cannot read %s: %s" % (where, path, exc)) from None


def _apply(entry, points, comment) -> bool:
    """Give a manual entry the TA's points and comment (blank points: the comment only, if any); True if it changed."""
    old = (entry.get("score"), entry.get("comment") or "")
    new = (old[0] if points is None else points, comment if points is not None or comment else old[1])
    entry["score"], entry["comment"] = new
    return new != old


def _total(result):
    """Set ``manual_score`` (points of the items graded so far) and ``total_score``; ``score`` stays automatic."""
    result["manual_score"] = round(sum(m["score"] for m in result["manual"] if m.get("score") is not None), 6)
    result["total_score"] = round(result["score"] + result["manual_score"], 6)
