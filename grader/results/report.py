"""Write what a grading run found: results.json, report.html and a terminal summary."""
from __future__ import annotations

import json
import math
import re
from html import escape
from pathlib import Path

from ..io import environment, write_atomic
from ..vocabulary import Status, consequence


def loss_curve_svg(history, threshold, reference=(), width=480, height=160):
    """The training loss per iteration as inline SVG polylines on one log scale: the student's (blue)
    and, when given, the reference's recorded run (grey); the threshold dashed."""
    yours, theirs = ([max(v, 1e-6) for v in curve if math.isfinite(v)] for curve in (history, reference or ()))
    if not yours:
        return ""
    logs = [math.log10(v) for v in yours + theirs + [threshold]]
    lo, hi = min(logs), max(logs)
    span = (hi - lo) or 1.0
    step = (width - 20) / max(len(yours) - 1, len(theirs) - 1, 1)

    def y(v):
        return height - 10 - (math.log10(max(v, 1e-6)) - lo) / span * (height - 20)

    def line(values, colour, label):
        points = " ".join("%.1f,%.1f" % (10 + i * step, y(v)) for i, v in enumerate(values))
        return '<polyline class="%s" fill="none" stroke="%s" stroke-width="1.5" points="%s"/>' % (
            label, colour, points)
    ty = y(threshold)
    said = "yours: first %.3g, final %.3g after %d iterations" % (yours[0], yours[-1], len(yours))
    if theirs:
        said += "; reference: final %.3g" % theirs[-1]
    return ('<svg width="%d" height="%d" viewBox="0 0 %d %d" role="img" aria-label="training loss">'
            '<rect width="100%%" height="100%%" fill="#fafafa" stroke="#ddd"/>'
            '<line x1="10" x2="%d" y1="%.1f" y2="%.1f" stroke="#c00" stroke-dasharray="4 3"/>'
            '<text x="%d" y="%.1f" font-size="11" fill="#c00" text-anchor="end">%g</text>%s%s'
            '<text x="%d" y="16" font-size="11" text-anchor="end">%s</text>'
            '</svg>') % (width, height, width, height, width - 10, ty, ty, width - 12, ty - 3, threshold,
                         line(theirs, "#9ca3af", "reference") if theirs else "", line(yours, "#2563eb", "yours"),
                         width - 12, said)


def caption_svg(caption, char=7.5, gap=4, label=72):
    """A failed sample's first differing row as two aligned rows of word boxes, the student's over the
    reference's greedy words; boxes whose words differ are red (class "differs"), the first marked with its step."""
    got, expected = caption["got"], caption["expected"]
    boxes, x = [], label
    for t in range(max(len(got), len(expected))):
        pair = [words[t] if t < len(words) else "" for words in (got, expected)]
        width = max(map(len, pair + ["ab"])) * char + 10
        differs = pair[0] != pair[1]
        for row, word in enumerate(pair):
            if word:
                boxes.append('<g class="word%s"><rect x="%.1f" y="%d" width="%.1f" height="22" rx="3" fill="%s" '
                             'stroke="%s"/><text x="%.1f" y="%d" text-anchor="middle">%s</text></g>' % (
                                 " differs" if differs else "", x, 18 + row * 28, width,
                                 "#fee2e2" if differs else "#f3f4f6", "#dc2626" if differs else "#d1d5db",
                                 x + width / 2, 33 + row * 28, escape(word)))
        if t == caption["step"]:
            boxes.append('<text x="%.1f" y="12" text-anchor="middle" fill="#dc2626">step %d</text>' % (
                x + width / 2, t))
        x += width + gap
    width = x + 2
    return ('<svg width="%d" height="76" viewBox="0 0 %d 76" role="img" aria-label="your caption and the '
            'reference\'s" font-family="monospace" font-size="12">'
            '<text x="0" y="33">yours</text><text x="0" y="61">reference</text>%s</svg>') % (
        width, width, "".join(boxes))


def inputs_line(inputs):
    """'x (2, 3, 4) float64, h0 (2, 5) float64': a check's ``inputs`` in a line."""
    return ", ".join("%s %s %s" % (name, tuple(value["shape"]), value["dtype"]) for name, value in inputs.items())


def error_grid_svg(rows, width=288):
    """A failed comparison drawn as a grid on grey: one square per element, white = equal, red = large
    error; squares of 12 to 24 px, the larger the fewer columns."""
    if not rows:
        return ""
    columns = max(len(r) for r in rows)
    cell = max(12, min(24, width // columns))
    width, height = cell * columns + 1, cell * len(rows) + 1
    squares = []
    for i, row in enumerate(rows):
        for j, v in enumerate(row):
            colour = "rgb(%d,%d,%d)" % (255, int(255 * (1 - v) ** 1.5), int(255 * (1 - v) ** 1.5))
            squares.append('<rect x="%d" y="%d" width="%d" height="%d" fill="%s"><title>[%d, %d]</title></rect>'
                           % (j * cell + 1, i * cell + 1, cell - 1, cell - 1, colour, i, j))
    return ('<svg width="%d" height="%d" viewBox="0 0 %d %d" role="img" aria-label="where the array differs">'
            '<rect width="100%%" height="100%%" fill="#d1d5db"/>%s</svg>') % (
        width, height, width, height, "".join(squares))


# A check's name is "<case>: <output> vs <what it is compared with>" (grader/check/kinds/).
CHECK_NAME = re.compile(r"^(?P<case>.+): (?P<output>.+?)(?: vs (?P<against>.+))?$")
# The worst element, as grader.check.compare.where_worst and grader.check.sampling.check_sample say it.
WORST = [re.compile(r"(?P<differ>\d+)/(?P<size>\d+) elements differ; worst at (?P<at>\[[\d, ]*\]): "
                    r"got (?P<got>\S+), expected (?P<expected>\S+)$"),
         re.compile(r"; got (?P<got>\S+), expected (?P<expected>\S+)$"),
         re.compile(r"(?P<differ>\d+) of (?P<size>\d+) captions differ from greedy decoding; first: "
                    r"(?P<at>row \d+, step \d+): got (?P<got>.+), the most likely word is (?P<expected>.+)$")]
POINT_CHARS = 300  # the longest sentence an item's point is cut to


def split_name(name):
    """(case, output, what it is compared with) of a check's name; ("", name, "") when it has no case."""
    found = CHECK_NAME.match(name)
    return (found["case"], found["output"], found["against"] or "") if found else ("", name, "")


def failure(check) -> dict:
    """A failed check read back: its case, output, and worst element (``size``: elements or captions compared)."""
    case, output, against = split_name(check["name"])
    worst = next((m.groupdict() for m in (p.search(check["message"]) for p in WORST) if m), {})
    size = int(worst["size"]) if worst.get("size") else None
    return dict(worst, check=check, case=case, output=output, against=against, size=size)


def lead(item):
    """The failure an item's report starts from: the first failed check of its smallest failing case
    (fewest elements in its largest failed output; the notebook's own case first on a tie), or None."""
    cases = {}
    for check in item["checks"]:
        if not check["passed"] and check["kind"] != "integrity":
            found = failure(check)
            cases.setdefault(found["case"], []).append(found)
    if not cases:
        return None
    def rank(case):
        sizes = [f["size"] for f in cases[case] if f["size"]]
        return not sizes, max(sizes, default=0), cases[case][0]["check"]["visibility"] != "public"
    return cases[min(cases, key=rank)][0]


def point(item) -> str:
    """One sentence saying what is wrong with a failing item ("" when it passed)."""
    if item["status"] == "passed":
        return ""
    text = (item["message"] or "").strip().split("\n", 1)[0]
    failed = [c for c in item["checks"] if not c["passed"]]
    if not text and failed and {c["kind"] for c in failed} == {"training"}:
        text = failed[0]["message"]
    elif not text and failed:
        text = _wrong_where(item["checks"], failed)
    text = text or Status(item["status"]).headline
    text = text if len(text) <= POINT_CHARS else text[:POINT_CHARS - 3] + "..."
    return text if text.endswith((".", "!", "?")) else text + "."


def _wrong_where(checks, failed):
    """'Your dx and db are wrong in 2 of 3 cases (right in hidden: T=1); the notebook's own check fails too'"""
    outputs = list(dict.fromkeys(split_name(c["name"])[1] for c in failed))
    cases = list(dict.fromkeys(split_name(c["name"])[0] for c in checks))
    bad = set(split_name(c["name"])[0] for c in failed)
    right = [case for case in cases if case not in bad]
    if all(c["kind"] == "sample" for c in failed):
        what = "Your captions differ from greedy decoding"
    else:
        what = "Your %s %s wrong" % (_join(outputs), "is" if len(outputs) == 1 else "are")
    if not right:
        where = "in the one case tried" if len(cases) == 1 else "in all %d cases tried" % len(cases)
    else:
        named = " (right in %s)" % _join(right) if len(right) <= 2 else ""
        where = "in %d of %d cases%s" % (len(bad), len(cases), named)
    public = [c for c in checks if c["visibility"] == "public"]
    if not public or len(cases) == 1:
        notebook = ""
    elif any(not c["passed"] for c in public):
        notebook = "; the notebook's own check fails too"
    else:
        notebook = "; the notebook's own check passes, only new inputs show it"
    return "%s %s%s" % (what, where, notebook)


def _join(words):
    return words[0] if len(words) == 1 else "%s and %s" % (", ".join(words[:-1]), words[-1])


def by_output(checks):
    """An item's checks grouped by output, in order: [{output, checks: [check + case, against], failed}]."""
    groups = {}
    for check in checks:
        case, output, against = split_name(check["name"])
        groups.setdefault(output, []).append(dict(check, case=case, against=against))
    return [{"output": output, "checks": group, "failed": sum(not c["passed"] for c in group)}
            for output, group in groups.items()]


def check_line(check) -> str:
    """What one check found, without its output's name: the failure message, or the measure that passed."""
    message = check["message"]
    output = split_name(check["name"])[1]
    if message.startswith(output + ": "):
        message = message[len(output) + 2:]
    if message or check["value"] is None or check["threshold"] is None:
        return message
    return "%s %.3g %s %.3g" % (check["metric"], check["value"], "<" if check["kind"] == "training" else "≤",
                                check["threshold"])


def render_html(results) -> str:
    """report.html for one results.json dict."""
    env = environment()
    env.globals.update(loss_curve=loss_curve_svg, error_grid=error_grid_svg, caption_boxes=caption_svg,
                       inputs_line=inputs_line, lead=lead, point=point, by_output=by_output, check_line=check_line)
    return env.get_template("report.html.j2").render(r=results)


def write_reports(results, out_dir: Path) -> Path:
    """Write ``out_dir/<submission>/results.json`` and ``report.html``; return that folder."""
    folder = Path(out_dir) / results["submission"]
    write_atomic(folder / "results.json", json.dumps(results, indent=1))
    write_atomic(folder / "report.html", render_html(results))
    return folder


def summary(results, report_path=None) -> str:
    """A few lines for the terminal: the score, each item, the first problem of each failure."""
    manual = sum(m["max_score"] for m in results["manual"])
    lines = ["%s: %g / %g automatic points%s%s  [seed %d, %.1f s]" % (
        results["submission"], results["score"], results["automatic_max_score"],
        " (+%g manual, for the TA)" % manual if manual else "",
        " - public checks only" if results["public_only"] else "", results["seed"], results["elapsed_s"])]
    broken = [rule for rule in results.get("policy", []) if not rule["passed"]]
    zeroing = [rule for rule in broken if rule.get("action") == "zero"]  # the point of the result: first
    for rule in zeroing + [rule for rule in broken if rule not in zeroing]:
        lines.append("  rule %s broken (%s): %s" % (rule["rule"], consequence(rule), rule["message"]))
    width = max(len(i["name"]) for i in results["items"]) if results["items"] else 10
    for item in results["items"]:
        lines.append("  %-7s %-*s %5g/%g" % (Status(item["status"]).symbol, width, item["name"], item["score"],
                                             item["max_score"]))
        problem = first_problem(item)
        if problem:
            lines.append("            " + problem)
        if item.get("hint"):
            lines.append("            hint: " + item["hint"])
    if results.get("skipped"):
        lines.append("  not run in this pre-check: %s" % ", ".join(results["skipped"]))
    supplied = results["execution"].get("supplied")
    if supplied:
        lines.append("  given files supplied by the grader: %s" % ", ".join(supplied))
    converted = results["execution"].get("python2", {}).get("converted")
    if converted:
        lines.append("  converted from Python 2: %s" % ", ".join(converted))
    errors = results["execution"]["errors"]
    if errors:
        lines.append("  %d notebook cell(s) raised or timed out (see the report)" % errors)
    if report_path:
        lines.append("report: %s" % report_path)
    return "\n".join(lines)


def first_problem(item, limit=220):
    """The item's error, or its first failed check as 'check: what was compared'."""
    if item["status"] == "passed":
        return ""
    failed = next((c for c in item["checks"] if not c["passed"]), None)
    if item["message"] or failed is None:
        text = (item["message"] or "").strip()
        text = text.splitlines()[0] if text else ""
    else:
        message = failed["message"]
        label, _, rest = message.partition(": ")
        text = "%s: %s" % (failed["name"], rest if rest and " " not in label else message)
    return text if len(text) <= limit else text[: limit - 3] + "..."
