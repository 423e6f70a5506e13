"""Rule edits-only-in-todo: outside the TODO regions, the cells that hold graded code, the
check cells and the graded files are the template's."""
from __future__ import annotations

import ast
import difflib
import re

from .common import COMPATIBILITY, cell_label, cells, code_cells, listing, parse, quote, sentence

DEF_LINE = re.compile(r"^(?:async\s+)?(?:def|class)\s+(\w+)")
ASSIGN_LINE = re.compile(r"^(\w+)\s*(?::[^=]*)?=(?!=)")
# Lines any year's starter code or a plot may add or drop: Python 2 compatibility imports
# and plotting. They change no graded value and are left out of the comparison.
NEUTRAL = re.compile(r"^\s*(?:(?:from|import)\s+(?:%s|matplotlib|seaborn)\b" % "|".join(COMPATIBILITY)
                     + r"|standard_library\.install_aliases\(\)|%matplotlib\b"
                     r"|(?:\w+\s*,\s*)*\w+\s*=\s*(?:plt|pyplot|pylab|sns)\.|(?:plt|pyplot|pylab|sns)\.)")


def check(submitted, template, files, template_files, scope):
    """(message, details): changed and removed template cells that hold graded code or checks,
    added cells redefining given code, and changed graded files."""
    t_cells, s_cells = code_cells(template), code_cells(submitted)
    t_norm = [_normalise(source, scope) for _, source in t_cells]
    s_norm = [_normalise(source, scope) for _, source in s_cells]
    judged = {k for k, (_, source) in enumerate(t_cells) if scope.holds_graded_code(source) or scope.is_check(source)}
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
    changed = [(t, s) for t, s in changed if t in judged]
    removed = [(t, before) for t, before in removed if t in judged]
    details, changed_cells = [], []
    for t, s in sorted(changed, key=lambda pair: pair[1]):
        cell = s_cells[s][0]
        changed_cells.append(cell)
        markers = "its TODO markers were deleted or changed; " if s_norm[s][1] < t_norm[t][1] else ""
        details.append("%s: %s%s" % (cell_label(submitted, cell), markers,
                                     _first_difference(t_norm[t][0], s_norm[s][0])))
    for t, before in removed:
        first = t_norm[t][0][0][1].strip()
        where = "after cell %d" % s_cells[before][0] if before is not None else "at the start"
        details.append("template cell starting %s was removed (%s)" % (quote(first), where))
    given = _given_names(template, template_files, scope)
    redefined = []
    for s in added:
        cell, source = s_cells[s]
        names = sorted({name for name, *_ in _top_level_defs(source)} & given)
        if names:
            redefined.append((cell, names))
            details.append("%s, a new cell, redefines %s, given by the template"
                           % (cell_label(submitted, cell), ", ".join(names)))
    changed_files = []
    for path in [p for p in scope.graded_files if p in files and p in template_files]:
        t_lines, _ = _normalise(template_files[path], scope)
        s_lines, _ = _normalise(files[path], scope)
        if [line for _, line in t_lines] != [line for _, line in s_lines]:
            changed_files.append(path)
            details.append("%s, %s" % (path, _first_difference(t_lines, s_lines)))
    parts = []
    if changed_cells or changed_files:
        places = ([cells(changed_cells)] if changed_cells else []) + changed_files
        parts.append("code outside the TODO regions was changed in %s" % listing(places))
    if removed:
        parts.append("%d template code cell(s) were removed" % len(removed))
    if redefined:
        parts.append("; ".join("added cell %d redefines %s" % (cell, ", ".join(names)) for cell, names in redefined))
    return (sentence("; ".join(parts)) if parts else ""), details


def _normalise(text, scope):
    """([(line number, code line)], regions found): TODO regions, blank, comment-only and
    neutral lines dropped, trailing whitespace removed."""
    lines = text.splitlines()
    regions = scope.regions(lines)
    inside = {k for first, last in regions for k in range(first, last + 1)}
    kept = [(k + 1, line.rstrip()) for k, line in enumerate(lines) if k not in inside and line.strip()
            and not line.lstrip().startswith("#") and not NEUTRAL.match(line)]
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
        return "line %d: %s became %s" % (line, quote(t_lines[i1][1]), quote(s_lines[j1][1]))
    if tag == "delete":
        return "line %d: %s was removed" % (line, quote(t_lines[i1][1]))
    return "line %d: %s was added" % (line, quote(s_lines[j1][1]))


def _given_names(template, template_files, scope):
    """Functions and classes the template defines at top level with no TODO region inside: given code."""
    names = set()
    for source in [s for _, s in code_cells(template)] + list(template_files.values()):
        regions = scope.regions(source.splitlines())
        for name, kind, first, last in _top_level_defs(source):
            has_todo = any(first <= a + 1 <= last for a, _ in regions)
            if kind == "def" and not has_todo:
                names.add(name)
    return names


def _top_level_defs(source):
    """[(name, 'def' | 'assign', first line, last line)]: names bound at the top level of source."""
    tree = parse(source)
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
