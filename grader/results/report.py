"""Write what a grading run found: results.json, report.html and a terminal summary."""
from __future__ import annotations

import json
from pathlib import Path

from ..io import environment, write_atomic
from ..vocabulary import Status, consequence


def loss_curve_svg(history, threshold, width=480, height=160):
    """The training loss per iteration as an inline SVG polyline, log scale, threshold dashed."""
    import math
    values = [max(v, 1e-6) for v in history if v == v and v not in (float("inf"),)]
    if not values:
        return ""
    logs = [math.log10(v) for v in values] + [math.log10(threshold)]
    lo, hi = min(logs), max(logs)
    span = (hi - lo) or 1.0
    def y(v):
        return height - 10 - (math.log10(max(v, 1e-6)) - lo) / span * (height - 20)
    step = (width - 20) / max(len(values) - 1, 1)
    points = " ".join("%.1f,%.1f" % (10 + i * step, y(v)) for i, v in enumerate(values))
    ty = y(threshold)
    return ('<svg width="%d" height="%d" role="img" aria-label="training loss">'
            '<rect width="100%%" height="100%%" fill="#fafafa" stroke="#ddd"/>'
            '<line x1="10" x2="%d" y1="%.1f" y2="%.1f" stroke="#c00" stroke-dasharray="4 3"/>'
            '<text x="%d" y="%.1f" font-size="11" fill="#c00" text-anchor="end">%g</text>'
            '<polyline fill="none" stroke="#2563eb" stroke-width="1.5" points="%s"/>'
            '<text x="%d" y="16" font-size="11" text-anchor="end">first %.3g, final %.3g after %d iterations</text>'
            '</svg>') % (width, height, width - 10, ty, ty, width - 12, ty - 3, threshold, points,
                         width - 12, values[0], values[-1], len(values))


def error_grid_svg(rows, cell=12):
    """A failed comparison drawn as a grid: one square per element, darker = larger error."""
    if not rows:
        return ""
    width, height = cell * max(len(r) for r in rows), cell * len(rows)
    squares = []
    for i, row in enumerate(rows):
        for j, v in enumerate(row):
            colour = "rgb(%d,%d,%d)" % (255, int(255 * (1 - v) ** 1.5), int(255 * (1 - v) ** 1.5))
            squares.append('<rect x="%d" y="%d" width="%d" height="%d" fill="%s"><title>[%d, %d]</title></rect>'
                           % (j * cell, i * cell, cell - 1, cell - 1, colour, i, j))
    return '<svg width="%d" height="%d" role="img" aria-label="where the array differs">%s</svg>' % (
        width, height, "".join(squares))


def render_html(results) -> str:
    """report.html for one results.json dict."""
    env = environment()
    env.globals.update(loss_curve=loss_curve_svg, error_grid=error_grid_svg)
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
