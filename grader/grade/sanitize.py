"""Neutralise notebook lines that only make sense on the student's own machine.

Each rule is a small named step; a neutralised line becomes ``pass`` with a comment
(indentation kept), so the rest of its cell still runs.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from ..sandbox.untrusted import parse_untrusted

CELL_MAGICS = ("%%bash", "%%shell", "%%script", "%%sh", "%%writefile", "%%html", "%%javascript")


@dataclass(frozen=True)
class Rule:
    name: str
    pattern: re.Pattern


RULES = [
    Rule("colab import", re.compile(r"^\s*(from\s+google\.colab\b|import\s+google\.colab\b)")),
    Rule("drive mount", re.compile(r"^\s*drive\.(mount|flush_and_unmount)\s*\(")),
    Rule("shell command", re.compile(r"^\s*!")),
    Rule("directory change", re.compile(r"^\s*%(cd|pushd|popd)\b")),
    Rule("package install", re.compile(r"^\s*%(pip|conda)\b")),
    Rule("matplotlib magic", re.compile(r"^\s*%matplotlib\b")),
    Rule("system call", re.compile(r"^\s*\w+\s*=\s*!")),
]


def neutralise_source(source: str):
    """Return (new source, [rule names applied])."""
    first = source.lstrip().split("\n", 1)[0].strip()
    if any(first.startswith(magic) for magic in CELL_MAGICS):
        return "# [grader] neutralised cell magic: %s\npass" % first, ["cell magic"]
    applied, lines = [], []
    for line in source.split("\n"):
        rule = next((r for r in RULES if r.pattern.search(line)), None)
        if rule is None:
            lines.append(line)
            continue
        indent = line[: len(line) - len(line.lstrip())]
        lines.append("%spass  # [grader] neutralised %s: %s" % (indent, rule.name, line.strip()))
        applied.append(rule.name)
    return "\n".join(lines), applied


def neutralise(nb):
    """Neutralise every code cell of ``nb`` in place; return {cell index: [rules]}."""
    changed = {}
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        cell.source, applied = neutralise_source(cell.source)
        if applied:
            changed[index] = applied
    return changed


IMPORT_ERRORS = ("ImportError", "ModuleNotFoundError")


def guard_imports(source):
    """The cell with each top-level import wrapped in ``try/except ImportError``, or None.

    Used to re-run a cell that failed on an import, so that the rest of the cell
    still defines what it defines.
    """
    import ast

    from IPython.core.inputtransformer2 import TransformerManager
    python = TransformerManager().transform_cell(source)
    tree = parse_untrusted(python)
    if tree is None:
        return None
    lines = python.split("\n")
    imports = [n for n in tree.body if isinstance(n, (ast.Import, ast.ImportFrom)) and n.lineno == n.end_lineno
               and getattr(n, "module", None) != "__future__"]
    if not imports:
        return None
    for node in reversed(imports):
        line = lines[node.lineno - 1]
        lines[node.lineno - 1] = ("try:\n    %s\nexcept ImportError as _grader_error:\n"
                                  "    print('[grader] skipped a failing import: %%s' %% _grader_error)" % line.strip())
    return "\n".join(lines)
