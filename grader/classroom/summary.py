"""summary.html: a graded class at a glance, the page a TA shows the instructor.

Takes the batch's records (results.json dicts with a ``student`` dict, or failure records
``{"student": ..., "error": ...}``) and the batch's own facts (seed, counts, files not
used). Charts are inline SVG drawn here; the per-student table is plain HTML, sortable
by a few lines of inline JavaScript and readable without it.
"""
from __future__ import annotations

import re
import statistics
from collections import Counter, defaultdict
from pathlib import Path

from markupsafe import Markup, escape

from ..export.gradebook import format_number, student_id
from ..io import environment, write_atomic
from ..results.report import first_problem, split_name
from ..vocabulary import RAISED_OR_HUNG, SYMBOLS, Status
BINS = 10
LISTED = 100  # rows of a list shown before "and N more"
COMMON_FAILURES = 15
SLOWEST = 10
NUMBER = re.compile(r"0x[0-9a-fA-F]+|(?<![\w.])[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")
# Horizontal charts: row height, bar width, a character's width, the longest label shown whole.
ROW, BAR, CHAR, LABEL_CHARS = 18, 300, 6.2, 64


def render_summary(records, title, batch) -> str:
    """The summary page of a batch, as HTML text."""
    records = sorted(records, key=student_id)
    graded = [r for r in records if "error" not in r]
    items = _item_names(graded)
    scores = [r["score"] for r in graded]
    maximum = max((r.get("automatic_max_score", r["max_score"]) for r in graded), default=0)
    env = environment()
    env.filters["points"] = format_number
    env.filters["breakable"] = lambda name: escape(name).replace("_", Markup("_<wbr>"))
    return env.get_template("summary.html.j2").render(
        title=title, batch=batch or {}, records=records, graded=graded, items=items, maximum=maximum,
        stats=_statistics(scores), histogram=histogram_svg(scores, maximum),
        item_chart=item_chart_svg(graded, items), check_groups=check_groups(graded, items),
        failures=common_failures(graded), problems=_problem_rows(graded),
        ungraded=[r for r in records if "error" in r], violations=_violations(graded), flagged=_flagged(graded),
        slowest=slowest_svg(graded), late=[r for r in records if (r.get("student") or {}).get("late")],
        has_manual=any(r.get("manual") for r in graded), listed=LISTED, symbols=SYMBOLS,
        sid=student_id, status_of=_status_of)


def write_summary(out_dir, records, title, batch) -> Path:
    """Write ``out_dir/summary.html`` atomically; return its path."""
    path = Path(out_dir) / "summary.html"
    write_atomic(path, render_summary(records, title, batch))
    return path


def normalise(message: str) -> str:
    """A failure message with its numbers replaced by '#', so one mistake made by many students groups."""
    return NUMBER.sub("#", message)


def common_failures(graded, limit=COMMON_FAILURES):
    """The most frequent first problems of failing items: [{message, example, count, items: Counter}]."""
    groups = {}
    for record in graded:
        for item in record["items"]:
            if item["status"] == "passed":
                continue
            example = first_problem(item) or item["status"]
            group = groups.setdefault(normalise(example), {"message": normalise(example), "example": example,
                                                           "count": 0, "items": Counter()})
            group["count"] += 1
            group["items"][item["name"]] += 1
    return sorted(groups.values(), key=lambda g: -g["count"])[:limit]


def histogram_svg(scores, maximum, bins=BINS) -> Markup:
    """Scores in ``bins`` equal bins over 0..maximum as vertical bars; each bar's <title> gives its count."""
    if not scores or not maximum:
        return Markup("")
    counts = [0] * bins
    for score in scores:
        counts[min(bins - 1, max(0, int(score * bins / maximum + 1e-9)))] += 1
    width, height, left, bottom, top = 620, 220, 30, 24, 18
    step, tallest = (width - left - 10) / bins, max(counts)
    parts = ['<line x1="%d" x2="%d" y1="%d" y2="%d" stroke="#999"/>' % (left, width - 10, height - bottom,
                                                                         height - bottom)]
    for i, count in enumerate(counts):
        low, high = maximum * i / bins, maximum * (i + 1) / bins
        h = (height - bottom - top) * count / tallest
        x, y = left + i * step, height - bottom - h
        parts.append('<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="#2563eb"><title>%g–%g points: %d'
                     '</title></rect>' % (x + 2, y, step - 4, h, low, high, count))
        if count:
            parts.append('<text x="%.1f" y="%.1f" text-anchor="middle">%d</text>' % (x + step / 2, y - 4, count))
        parts.append('<text x="%.1f" y="%d" text-anchor="middle" fill="#666">%g</text>' % (
            x, height - 8, low))
    parts.append('<text x="%.1f" y="%d" text-anchor="middle" fill="#666">%g</text>' % (
        left + bins * step, height - 8, maximum))
    return Markup('<svg width="%d" height="%d" viewBox="0 0 %d %d" font-size="11" role="img" '
                  'aria-label="score histogram">%s</svg>' % (width, height, width, height, "".join(parts)))


def bars_svg(rows, label) -> Markup:
    """Horizontal bars: rows of (label, [(value, colour, tooltip)], full-scale value, text after the bar)."""
    if not rows:
        return Markup("")
    fits = min(LABEL_CHARS, max(len(r[0]) for r in rows))
    label_width = int(12 + CHAR * fits)
    parts = []
    for k, (name, segments, scale, note) in enumerate(rows):
        y = k * ROW
        shown = escape(name)
        if len(name) > fits:  # cut, with the whole name as a tooltip
            shown = Markup("%s…<title>%s</title>") % (name[:fits - 1], name)
        parts.append('<text x="%d" y="%d" text-anchor="end">%s</text>' % (label_width - 6, y + 12, shown))
        parts.append('<rect x="%d" y="%d" width="%d" height="12" fill="#eee"/>' % (label_width, y + 2, BAR))
        x = label_width
        for value, colour, tooltip in segments:
            w = BAR * value / scale if scale else 0
            if w > 0:
                parts.append('<rect x="%.1f" y="%d" width="%.1f" height="12" fill="%s"><title>%s</title></rect>'
                             % (x, y + 2, w, colour, escape(tooltip)))
            x += w
        parts.append('<text x="%d" y="%d">%s</text>' % (label_width + BAR + 8, y + 12, escape(note)))
    width = int(label_width + BAR + 16 + CHAR * max(len(r[3]) for r in rows))
    height = len(rows) * ROW + 4
    return Markup('<svg width="%d" height="%d" viewBox="0 0 %d %d" font-size="11" role="img" aria-label="%s">%s</svg>'
                  % (width, height, width, height, escape(label), "".join(parts)))


def item_chart_svg(graded, items) -> Markup:
    """Per item: the students' statuses as one stacked bar, the pass rate and each status's count."""
    rows = []
    for name in items:
        counts = Counter(_status_of(r, name) for r in graded)
        total = sum(counts[s] for s in Status)
        segments = [(counts[s], s.colour, "%s: %d" % (s, counts[s])) for s in Status if counts[s]]
        note = " · ".join([_rate(counts[Status.PASSED], total)] + ["%s %d" % (s, counts[s]) for s in Status
                                                                   if s is not Status.PASSED and counts[s]])
        rows.append((name, segments, total, note))
    return bars_svg(rows, "pass rate per item")


def check_groups(graded, items) -> list[dict]:
    """Per item, its checks' pass rates across students, grouped by output: [{item, checks, failing,
    outputs: [{output, checks, passed, ran, rate, failing: [{name, rate}], worst first}]}]."""
    tallies = defaultdict(dict)  # item -> check -> [passed, ran]
    for record in graded:
        for item in record["items"]:
            for check in item["checks"]:
                tally = tallies[item["name"]].setdefault(check["name"], [0, 0])
                tally[0] += bool(check["passed"])
                tally[1] += 1
    found = []
    for name in items:
        outputs = {}
        for check, (passed, ran) in tallies.get(name, {}).items():
            output = outputs.setdefault(split_name(check)[1], {"output": split_name(check)[1], "checks": 0,
                                                               "passed": 0, "ran": 0, "failing": []})
            output["checks"] += 1
            output["passed"] += passed
            output["ran"] += ran
            if passed < ran:
                output["failing"].append({"name": check, "share": passed / ran, "rate": _rate(passed, ran)})
        for output in outputs.values():
            output["rate"] = _rate(output["passed"], output["ran"])
            output["failing"].sort(key=lambda c: c["share"])
        if outputs:
            found.append({"item": name, "outputs": list(outputs.values()),
                          "checks": sum(o["checks"] for o in outputs.values()),
                          "failing": sum(len(o["failing"]) for o in outputs.values())})
    return found


def slowest_svg(graded, limit=SLOWEST) -> Markup:
    """The submissions that took longest to grade, as bars in seconds."""
    slow = sorted(graded, key=lambda r: -(r.get("elapsed_s") or 0))[:limit]
    longest = max((r.get("elapsed_s") or 0 for r in slow), default=0)
    rows = [(student_id(r), [(r.get("elapsed_s") or 0, "#2563eb", "%.1f s" % (r.get("elapsed_s") or 0))],
             longest, "%.1f s" % (r.get("elapsed_s") or 0)) for r in slow]
    return bars_svg(rows, "slowest submissions")


def _item_names(graded):
    """Automatic item names in the order they first appear."""
    return list(dict.fromkeys(i["name"] for r in graded for i in r["items"]))


def _status_of(record, name):
    """The item's status in this record; "skipped" (pre-check) or "" when it was not graded."""
    for item in record.get("items", ()):
        if item["name"] == name:
            return item["status"]
    return "skipped" if name in record.get("skipped", ()) else ""


def _rate(passed, total):
    return "%.0f%% passed (%d/%d)" % (100 * passed / total, passed, total) if total else "not run"


def _statistics(scores):
    if not scores:
        return None
    return {"mean": statistics.fmean(scores), "median": statistics.median(scores), "min": min(scores),
            "max": max(scores), "n": len(scores)}


def _problem_rows(graded):
    """Students with items that raised or timed out: [{id, items: [(name, status)], problem}]."""
    rows = []
    for record in graded:
        bad = [i for i in record["items"] if i["status"] in RAISED_OR_HUNG]
        if bad:
            rows.append({"id": student_id(record), "items": [(i["name"], i["status"]) for i in bad],
                         "problem": first_problem(bad[0])})
    return rows


def _violations(graded):
    """Broken course rules: [{id, rule, action, deduction, message}]."""
    return [dict(rule, id=student_id(r)) for r in graded for rule in r.get("policy", ()) if not rule.get("passed")]


def _flagged(graded):
    """Grader-access attempts: [{id, items, attempts}] for students with any flagged item."""
    rows = []
    for record in graded:
        touched = [i for i in record["items"] if i.get("flagged")]
        if touched:
            attempts = sorted({a for i in touched for a in i["flagged"]})
            rows.append({"id": student_id(record), "items": [i["name"] for i in touched], "attempts": attempts})
    return rows
