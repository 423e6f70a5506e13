"""``python -m rnn_check NOTEBOOK [ITEM ...]``: run what defines the graded functions (the
pre-check's slice, ``slicing.py``: no training, plotting or data-set cells) in this process,
then the public checks on them. Exit status 0 when every check passes, 1 when one fails, 2
when the input is bad (one line on stderr).
"""
from __future__ import annotations

import ast
import builtins
import json
import linecache
import os
import sys
from pathlib import Path

from . import slicing
from .judge import Kit
from .session import DATA, report, verdicts

USAGE = "usage: python -m rnn_check NOTEBOOK.ipynb [ITEM ...]"


class BadInput(Exception):
    """What was given cannot be checked (the message says why, in one line)."""


def code_cells(path):
    """[(index, source)] of the notebook's code cells."""
    try:
        notebook = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise BadInput("cannot read %s: %s" % (path, exc.strerror or exc)) from None
    except ValueError as exc:
        raise BadInput("%s is not a notebook: invalid JSON (%s)" % (path, exc)) from None
    if not isinstance(notebook, dict) or not isinstance(notebook.get("cells"), list):
        raise BadInput("%s is not a Jupyter notebook: no list of cells" % path)
    cells = []
    for index, cell in enumerate(notebook["cells"]):
        if isinstance(cell, dict) and cell.get("cell_type") == "code":
            source = cell.get("source", "")
            cells.append((index, "".join(source) if isinstance(source, list) else str(source)))
    return cells


def run_cells(sources, folder):
    """Run each cell's source in one fresh namespace, in ``folder``; return (namespace, problems).
    A cell that stops at a failing import runs again with its imports guarded, as the grader does."""
    os.chdir(folder)
    sys.path.insert(0, str(folder))
    namespace = {"__name__": "__main__", "__builtins__": builtins}
    problems = []
    for index, source in sources.items():
        failure = _run(source, index, namespace)
        if isinstance(failure, ImportError) and _guarded(source):
            failure = _run(_guarded(source), index, namespace) or failure
        if failure is not None:
            problems.append("cell %d raised %s: %s" % (index, type(failure).__name__, failure))
    return namespace, problems


def _run(source, index, namespace):
    name = "<cell %d>" % index
    linecache.cache[name] = (len(source), None, source.splitlines(True), name)  # its functions' source, as IPython
    try:
        exec(compile(source, name, "exec"), namespace)
    except KeyboardInterrupt:
        raise
    except BaseException as exc:  # the student's code may raise anything, SystemExit included
        return exc
    return None


def _guarded(source):
    """The cell with each one-line top-level import wrapped in try/except ImportError, or None."""
    rows = source.split("\n")
    imports = [n for n in ast.parse(source).body if isinstance(n, (ast.Import, ast.ImportFrom))
               and n.lineno == n.end_lineno and getattr(n, "module", None) != "__future__"]
    for node in reversed(imports):
        line = rows[node.lineno - 1]
        rows[node.lineno - 1] = "try:\n    %s\nexcept ImportError:\n    pass" % line.strip()
    return "\n".join(rows) if imports else None


def main(argv):
    if not argv or argv[0] in ("-h", "--help"):
        print(USAGE, file=sys.stdout if argv else sys.stderr)
        return 0 if argv else 2
    kit = Kit(DATA)
    try:
        path, names = Path(argv[0]), [kit.item(name)["name"] for name in argv[1:]]
        cells = code_cells(path)
    except (BadInput, ValueError) as exc:
        print("rnn_check: error: %s" % exc, file=sys.stderr)
        return 2
    plan = slicing.plan(cells, kit.document["targets"], whole_unreadable=False)
    print("rnn_check: %s: ran %d of %d statements, in cells %s%s" % (
        path.name, plan.kept, plan.total, ", ".join(map(str, plan.sources)) or "none",
        "; not Python, skipped: cells %s" % ", ".join(map(str, plan.unreadable)) if plan.unreadable else ""))
    namespace, problems = run_cells(plan.sources, path.resolve().parent)
    for problem in problems:
        print("  " + problem)
    found = [(item, verdict) for item, verdict in verdicts(namespace) if not names or item["name"] in names]
    print("\n".join(report(found)))
    passed = sum(1 for _, verdict in found if verdict.status == "passed")
    print("%d of %d items pass their public checks" % (passed, len(found)))
    return 0 if passed == len(found) else 1
