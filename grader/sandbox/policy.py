"""Course rules checked on a submitted notebook against the assignment's template.

Each rule looks at the submission as handed in (its code, saved outputs and execution
counts), at the template, and at what re-execution and the sandbox saw. The TOML sets
each rule to "off", "warn", "zero" (the score becomes 0) or a number of points taken
off; ``evaluate`` gives the results.json ``policy`` entries, ``apply`` the final score.
"""
from __future__ import annotations

import ast
import difflib
import math
import re

from .untrusted import parse_untrusted

RULES = ("no-extra-imports", "edits-only-in-todo", "outputs-kept", "recorded-outputs-match", "no-grader-access")
ACTIONS = ("off", "warn", "zero")
MAX_DETAILS = 20

# Packages of the assignment itself, and compiler directives rather than packages.
OWN_PACKAGES = frozenset({"cs231n", "__future__"})
START = re.compile(r"^\s*#.*\bSTART (OF )?(YOUR )?CODE\b")
END = re.compile(r"^\s*#.*\bEND (OF )?(YOUR )?CODE\b")
TODO = re.compile(r"^\s*#.*\bTODO\b")
RULER = re.compile(r"^\s*#{3,}\s*$")
MAGIC = re.compile(r"^(\s*)[%!]")
# An error report: "dx error:  3.0e-10", "W_embed relative error: 2.3e-09", "difference: 2e-12".
REPORT = re.compile(r"(?i)^(?P<label>.*?(?:error|difference).*?)[\s:=]*"
                    r"(?P<value>[-+]?(?:\d+\.?\d*|\.\d+)(?:e[-+]?\d+)?|nan|inf)\b")
PASS_BELOW, FAIL_ABOVE = 1e-5, 1e-3
# Errors of the grading machine, not of the student's code: not counted against saved outputs.
ENVIRONMENT_ERRORS = ("ImportError", "ModuleNotFoundError", "FileNotFoundError")


def evaluate(actions, *, submitted, template, outcomes, files=None, template_files=None, access=()):
    """results.json ``policy`` entries for every rule not set to "off", in RULES order."""
    files, template_files = files or {}, template_files or {}
    checks = {
        "no-extra-imports": lambda: _extra_imports(submitted, template, files, template_files),
        "edits-only-in-todo": lambda: _edits(submitted, template, files, template_files),
        "outputs-kept": lambda: _outputs_kept(submitted, outcomes),
        "recorded-outputs-match": lambda: _outputs_match(submitted, outcomes),
        "no-grader-access": lambda: _grader_access(access),
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


# ---- no-extra-imports -------------------------------------------------------------------

def _extra_imports(submitted, template, files, template_files):
    allowed = set(OWN_PACKAGES) | _package_names(files) | _package_names(template_files)
    for source in [s for _, s in _code_cells(template)] + list(template_files.values()):
        allowed |= _imports(source)
    found = {}  # module -> places
    places = [("cell %d" % i, s) for i, s in _code_cells(submitted)] + sorted(files.items())
    for where, source in places:
        for module in sorted(_imports(source) - allowed):
            found.setdefault(module, []).append(where)
    if not found:
        return "", []
    details = ["%s imports %s" % (", ".join(where), module) for module, where in sorted(found.items())]
    return ("Imports that the template does not have: %s."
            % "; ".join("%s (%s)" % (m, ", ".join(w)) for m, w in sorted(found.items())), details)


def _package_names(files):
    """Module and package names of the assignment's own files (cs231n, layers, classifiers...)."""
    names = set()
    for path in files:
        parts = re.split(r"[\\/]", str(path))
        names.update(p[:-3] if p.endswith(".py") else p for p in parts if p)
    return names


def _imports(source):
    """Top-level names of the modules that source imports (relative imports left out)."""
    tree = _parse(source)
    if tree is None:
        return _imports_by_regex(source)
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and not node.level:
            names.append(node.module or "")
        elif isinstance(node, ast.Call) and node.args and _is_dynamic_import(node.func):
            first = node.args[0]
            if isinstance(first, ast.Constant) and isinstance(first.value, str):
                names.append(first.value)
    return {n.split(".")[0] for n in names if n and not n.startswith(".")}


def _is_dynamic_import(func):
    name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
    return name in ("__import__", "import_module")


IMPORT_LINE = re.compile(r"^\s*import\s+(.+)")
FROM_LINE = re.compile(r"^\s*from\s+([\w.]+)\s+import\b")
DYNAMIC = re.compile(r"(?:__import__|import_module)\(\s*[rRuU]?['\"]([\w.]+)['\"]")


def _imports_by_regex(source):
    """Fallback for code that does not parse (Python 2, shell lines): imports line by line."""
    names = set()
    for line in source.splitlines():
        for statement in line.split(";"):
            found = IMPORT_LINE.match(statement)
            if found:
                names.update(part.split()[0] for part in found.group(1).split(",") if part.split())
            found = FROM_LINE.match(statement)
            if found:
                names.add(found.group(1))
        names.update(DYNAMIC.findall(line))
    return {n.split(".")[0] for n in names if n and not n.startswith(".") and n.split(".")[0].isidentifier()}


def _parse(source):
    """The ast of a cell with IPython magic and shell lines made ``pass``; None if it is not Python 3."""
    lines = [MAGIC.sub(r"\1pass  # ", line) if MAGIC.match(line) else line for line in source.splitlines()]
    return parse_untrusted("\n".join(lines))


# ---- edits-only-in-todo -----------------------------------------------------------------

def _edits(submitted, template, files, template_files):
    t_cells, s_cells = _code_cells(template), _code_cells(submitted)
    mode = _mode([s for _, s in t_cells] + list(template_files.values()))
    t_norm = [_normalise(source, mode) for _, source in t_cells]
    s_norm = [_normalise(source, mode) for _, source in s_cells]
    # Cells whose code is all comments or blank take part in nothing.
    t_keep = [k for k, n in enumerate(t_norm) if n[0]]
    s_keep = [k for k, n in enumerate(s_norm) if n[0]]
    t_keys = ["\n".join(line for _, line in t_norm[k][0]) for k in t_keep]
    s_keys = ["\n".join(line for _, line in s_norm[k][0]) for k in s_keep]
    changed, removed, added = [], [], []
    matcher = difflib.SequenceMatcher(None, t_keys, s_keys, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        pairs = _pair(t_keys[i1:i2], s_keys[j1:j2])
        changed += [(t_keep[i1 + a], s_keep[j1 + b]) for a, b in pairs]
        removed += [(t_keep[i], s_keep[j1 - 1] if j1 else None) for i in range(i1, i2)
                    if i - i1 not in {a for a, _ in pairs}]
        added += [s_keep[j] for j in range(j1, j2) if j - j1 not in {b for _, b in pairs}]
    details, changed_cells = [], []
    for t, s in sorted(changed, key=lambda pair: pair[1]):
        cell = s_cells[s][0]
        changed_cells.append(cell)
        markers = "its TODO markers were deleted or changed; " if s_norm[s][1] < t_norm[t][1] else ""
        details.append("%s: %s%s" % (_cell_label(submitted, cell), markers,
                                     _first_difference(t_norm[t][0], s_norm[s][0])))
    for t, before in removed:
        first = t_norm[t][0][0][1].strip()
        where = "after cell %d" % s_cells[before][0] if before is not None else "at the start"
        details.append("template cell starting %s was removed (%s)" % (_quote(first), where))
    given = _given_names(template, template_files, mode)
    redefined = []
    for s in added:
        cell, source = s_cells[s]
        names = sorted({name for name, *_ in _top_level_defs(source)} & given)
        if names:
            redefined.append((cell, names))
            details.append("%s, a new cell, redefines %s, given by the template"
                           % (_cell_label(submitted, cell), ", ".join(names)))
    changed_files = []
    for path in sorted(set(files) & set(template_files)):
        t_lines, _ = _normalise(template_files[path], mode)
        s_lines, _ = _normalise(files[path], mode)
        if [line for _, line in t_lines] != [line for _, line in s_lines]:
            changed_files.append(path)
            details.append("%s, %s" % (path, _first_difference(t_lines, s_lines)))
    parts = []
    if changed_cells or changed_files:
        places = ([_cells(changed_cells)] if changed_cells else []) + changed_files
        parts.append("code outside the TODO regions was changed in %s" % _listing(places))
    if removed:
        parts.append("%d template code cell(s) were removed" % len(removed))
    if redefined:
        parts.append("; ".join("added cell %d redefines %s" % (cell, ", ".join(names)) for cell, names in redefined))
    return (_sentence("; ".join(parts)) if parts else ""), details


def _mode(texts):
    """The template's TODO style: 'start' (START/END OF YOUR CODE marker lines) if it has any
    START marker, else 'banner' (a # TODO banner, then code up to END OF YOUR CODE)."""
    return "start" if any(START.match(line) for text in texts for line in text.splitlines()) else "banner"


def _regions(lines, mode):
    """[(first, last)] 0-based inclusive line ranges a student may edit. A region whose end
    marker is missing (another START comes first, or none follows) is not a region."""
    opener = START if mode == "start" else TODO
    regions, i = [], 0
    while i < len(lines):
        if not opener.match(lines[i]):
            i += 1
            continue
        first = i + 1
        if mode == "banner":  # the region starts after the banner's closing ##### line
            while first < len(lines) and lines[first].lstrip().startswith("#") and not END.match(lines[first]):
                first += 1
                if RULER.match(lines[first - 1]):
                    break
        end = next((k for k in range(first, len(lines))
                    if END.match(lines[k]) or (mode == "start" and START.match(lines[k]))), None)
        if end is None:
            break
        if END.match(lines[end]):
            regions.append((first, end - 1))
            end += 1
        i = end
    return regions


def _normalise(text, mode):
    """([(line number, code line)], regions found): TODO regions, blank and comment-only lines
    dropped, trailing whitespace removed."""
    lines = text.splitlines()
    regions = _regions(lines, mode)
    inside = {k for first, last in regions for k in range(first, last + 1)}
    kept = [(k + 1, line.rstrip()) for k, line in enumerate(lines)
            if k not in inside and line.strip() and not line.lstrip().startswith("#")]
    return kept, len(regions)


def _pair(t_keys, s_keys, least=0.5):
    """Order-preserving pairs (a, b) of similar cells in a changed block, most similar overall."""
    n, m = len(t_keys), len(s_keys)
    score = [[0.0] * (m + 1) for _ in range(n + 1)]
    for a in range(1, n + 1):
        for b in range(1, m + 1):
            best = max(score[a - 1][b], score[a][b - 1])
            matcher = _similarity(t_keys[a - 1], s_keys[b - 1])
            if matcher.real_quick_ratio() >= least and matcher.quick_ratio() >= least:
                ratio = matcher.ratio()
                if ratio >= least:
                    best = max(best, score[a - 1][b - 1] + ratio)
            score[a][b] = best
    pairs, a, b = [], n, m
    while a and b:
        if score[a][b] == score[a - 1][b]:
            a -= 1
        elif score[a][b] == score[a][b - 1]:
            b -= 1
        else:
            pairs.append((a - 1, b - 1))
            a, b = a - 1, b - 1
    return pairs[::-1]


def _similarity(a, b, small=500):
    """A matcher of two cell texts: by characters for small cells, by lines for big ones (speed)."""
    if len(a) < small and len(b) < small:
        return difflib.SequenceMatcher(None, a, b, autojunk=False)
    return difflib.SequenceMatcher(None, a.splitlines(), b.splitlines(), autojunk=False)


def _first_difference(t_lines, s_lines):
    """The first line where the submission departs from the template (the two differ), in words."""
    matcher = difflib.SequenceMatcher(None, [l for _, l in t_lines], [l for _, l in s_lines], autojunk=False)
    tag, i1, _, j1, _ = next(op for op in matcher.get_opcodes() if op[0] != "equal")
    line = s_lines[j1][0] if j1 < len(s_lines) else (s_lines[-1][0] + 1 if s_lines else 1)
    if tag == "replace":
        return "line %d: %s became %s" % (line, _quote(t_lines[i1][1]), _quote(s_lines[j1][1]))
    if tag == "delete":
        return "line %d: %s was removed" % (line, _quote(t_lines[i1][1]))
    return "line %d: %s was added" % (line, _quote(s_lines[j1][1]))


def _given_names(template, template_files, mode):
    """Functions and classes the template defines at top level with no TODO region inside: given code."""
    names = set()
    for source in [s for _, s in _code_cells(template)] + list(template_files.values()):
        regions = _regions(source.splitlines(), mode)
        for name, kind, first, last in _top_level_defs(source):
            has_todo = any(first <= a + 1 <= last for a, _ in regions)
            if kind == "def" and not has_todo:
                names.add(name)
    return names


DEF_LINE = re.compile(r"^(?:async\s+)?(?:def|class)\s+(\w+)")
ASSIGN_LINE = re.compile(r"^(\w+)\s*(?::[^=]*)?=(?!=)")


def _top_level_defs(source):
    """[(name, 'def' | 'assign', first line, last line)]: names bound at the top level of source."""
    tree = _parse(source)
    if tree is None:
        return _top_level_defs_by_regex(source)
    found = []
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            found.append((node.name, "def", node.lineno, node.end_lineno))
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                for name in ast.walk(target):
                    if isinstance(name, ast.Name):
                        found.append((name.id, "assign", node.lineno, node.end_lineno))
    return found


def _top_level_defs_by_regex(source):
    lines = source.splitlines()
    starts = [k for k, line in enumerate(lines) if line.strip() and not line[0].isspace() and line[0] != "#"]
    found = []
    for n, k in enumerate(starts):
        last = (starts[n + 1] if n + 1 < len(starts) else len(lines))
        if DEF_LINE.match(lines[k]):
            found.append((DEF_LINE.match(lines[k]).group(1), "def", k + 1, last))
        elif ASSIGN_LINE.match(lines[k]):
            found.append((ASSIGN_LINE.match(lines[k]).group(1), "assign", k + 1, last))
    return found


# ---- outputs-kept -----------------------------------------------------------------------

def _outputs_kept(submitted, outcomes):
    never_run = [i for i, source in _code_cells(submitted)
                 if source.strip() and submitted.cells[i].get("execution_count") is None]
    printed = {o.index for o in outcomes if any(_is_result(out) for out in o.outputs)}
    no_output = [i for i in sorted(printed) if 0 <= i < len(submitted.cells)
                 and not any(_is_result(out) for out in submitted.cells[i].get("outputs", []))]
    if not never_run and not no_output:
        return "", []
    parts = []
    if never_run:
        parts.append("%d code cell(s) have no execution count (never run): %s" % (len(never_run), _cells(never_run)))
    if no_output:
        parts.append("%d cell(s) that print output when run have no saved output: %s"
                     % (len(no_output), _cells(no_output)))
    details = (["%s: no execution count" % _cell_label(submitted, i) for i in never_run]
               + ["%s: no saved output" % _cell_label(submitted, i) for i in no_output])
    return _sentence("the notebook was not fully run before hand-in: " + "; ".join(parts)), details


def _is_result(output):
    """Output a student sees when a cell runs: stdout, results and displays (not stderr warnings nor errors)."""
    kind = output.get("output_type")
    return kind in ("execute_result", "display_data") or (kind == "stream" and output.get("name") != "stderr")


# ---- recorded-outputs-match -------------------------------------------------------------

def _outputs_match(submitted, outcomes):
    details, cells = [], []
    for outcome in outcomes:
        if not 0 <= outcome.index < len(submitted.cells):
            continue
        cell = submitted.cells[outcome.index]
        saved = cell.get("outputs", []) if cell.get("cell_type") == "code" else []
        if not saved:
            continue
        label = _cell_label(submitted, outcome.index)
        found = []
        saved_error = any(o.get("output_type") == "error" for o in saved)
        if (not saved_error and outcome.status in ("error", "timeout", "dead")
                and outcome.ename not in ENVIRONMENT_ERRORS):
            what = "%s: %s" % (outcome.ename, outcome.evalue) if outcome.ename else outcome.status
            found.append("%s: the saved output shows no error, but re-run it fails (%s)"
                         % (label, _shorten(what)))
        new = _error_reports(outcome.outputs)
        for key, old_value in _error_reports(saved).items():
            if key in new and _verdicts_differ(old_value, new[key]):
                found.append("%s: %s was %s in the saved output, %s when re-run"
                             % (label, _quote(key[0]), _number(old_value), _number(new[key])))
        if found:
            cells.append(outcome.index)
            details += found
    if not cells:
        return "", []
    return _sentence("saved outputs disagree with re-running the notebook in %s" % _cells(cells)), details


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


# ---- no-grader-access -------------------------------------------------------------------

def _grader_access(access):
    attempts = []
    for event in access:
        text = "%s %s" % (event.get("event", "access"), event.get("target", "")) + (
            " (%s)" % event["where"] if event.get("where") else "")
        if text.strip() not in attempts:
            attempts.append(text.strip())
    if not attempts:
        return "", []
    return _sentence("the submission tried to reach the grader's own code: %s" % "; ".join(attempts[:5])
                     + ("; and %d more" % (len(attempts) - 5) if len(attempts) > 5 else "")), attempts


# ---- wording ----------------------------------------------------------------------------

def _code_cells(nb):
    """[(index in nb.cells, source)] of the code cells."""
    return [(i, "".join(cell.get("source", ""))) for i, cell in enumerate(nb.cells) if cell.get("cell_type") == "code"]


def _cell_label(nb, index):
    count = nb.cells[index].get("execution_count") if 0 <= index < len(nb.cells) else None
    return "cell %d (In [%s])" % (index, count) if count is not None else "cell %d" % index


def _cells(indexes, shown=10):
    """'cell 9', 'cells 9, 13 and 21', 'cells 2, 4, ... 19 and 17 more'."""
    words = ["%d" % i for i in indexes[:shown]]
    if len(indexes) > shown:
        words.append("%d more" % (len(indexes) - shown))
    return ("cell " if len(indexes) == 1 else "cells ") + _listing(words)


def _listing(words):
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def _quote(line, width=80):
    return "`%s`" % _shorten(line.strip(), width)


def _shorten(text, width=120):
    text = " ".join(str(text).split())
    return text if len(text) <= width else text[:width - 3] + "..."


def _number(value):
    return "%.3g" % value


def _sentence(text):
    return text[:1].upper() + text[1:] + "."


def _capped(details):
    if len(details) <= MAX_DETAILS:
        return list(details)
    return list(details[:MAX_DETAILS - 1]) + ["... and %d more" % (len(details) - MAX_DETAILS + 1)]
