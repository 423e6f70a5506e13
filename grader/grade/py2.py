"""Convert Python 2 code (cells and files) to Python 3 with fissix, a kept fork of lib2to3.

Only code that needs it is converted: code that does not compile as Python 3, or that
uses names Python 3 lost (xrange, dict.iteritems, raw_input, ...). IPython magics and
shell lines are set aside during the conversion and put back after.
"""
from __future__ import annotations

import ast
import re
from functools import lru_cache

from ..sandbox.untrusted import compiles, parse_untrusted

PY2_NAMES = {"xrange", "basestring", "raw_input", "unicode", "cPickle"}  # builtins and modules Python 3 lost
PY2_METHODS = {"iteritems", "iterkeys", "itervalues"}
MAGIC = re.compile(r"^(\s*)([%!].*)$")
PLACEHOLDER = "pass  # __grader_magic_%d__"


@lru_cache(maxsize=1)
def _tool():
    from fissix.refactor import RefactoringTool, get_fixers_from_package
    return RefactoringTool(get_fixers_from_package("fissix.fixes"))


def _without_magics(source):
    saved, lines = [], []
    for line in source.split("\n"):
        match = MAGIC.match(line)
        if match:
            lines.append(match.group(1) + PLACEHOLDER % len(saved))
            saved.append(match.group(2))
        else:
            lines.append(line)
    return "\n".join(lines), saved


def needs_conversion(source):
    """True for Python 2 code: it does not parse as Python 3, or its code (not its comments
    or strings) uses names Python 3 lost that it does not define itself."""
    plain, _ = _without_magics(source)
    tree = parse_untrusted(plain)
    if tree is None or not compiles(plain):
        return True
    bound = {alias.asname or alias.name.split(".")[0] for node in ast.walk(tree)
             if isinstance(node, (ast.Import, ast.ImportFrom)) for alias in node.names}
    bound.update(node.name for node in ast.walk(tree) if isinstance(node, (ast.FunctionDef, ast.ClassDef)))
    bound.update(node.id for node in ast.walk(tree) if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store))
    return any((isinstance(node, ast.Name) and node.id in PY2_NAMES - bound)
               or (isinstance(node, ast.Attribute) and node.attr in PY2_METHODS) for node in ast.walk(tree))


def convert(source):
    """Python 3 version of ``source``, or None if fissix cannot parse it either."""
    from fissix.pgen2.parse import ParseError
    plain, saved = _without_magics(source)
    try:
        new = str(_tool().refactor_string(plain + "\n", "<submission>"))[:-1]
    except (ParseError, SyntaxError, RecursionError, MemoryError):  # fissix's parser recurses in Python
        return None
    for index, magic in enumerate(saved):
        new = new.replace(PLACEHOLDER % index, magic)
    return new if new != plain or saved else None


def convert_submission(nb, workdir, enabled=True):
    """Convert the Python 2 cells of ``nb`` and ``.py`` files under ``workdir`` (a private copy).

    Returns {"converted": [...], "not_converted": [...]}: cells as "cell N", files by path.
    """
    report = {"converted": [], "not_converted": []}

    def handle(name, source, store):
        if not needs_conversion(source):
            return
        new = convert(source) if enabled else None
        if new is None:
            report["not_converted"].append(name)
        else:
            store(new)
            report["converted"].append(name)

    for index, cell in enumerate(nb.cells):
        if cell.cell_type == "code":
            handle("cell %d" % index, cell.source, lambda new, cell=cell: setattr(cell, "source", new))
    for path in sorted(workdir.rglob("*.py")):
        if "datasets" in path.relative_to(workdir).parts:
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        handle(str(path.relative_to(workdir)), text, lambda new, path=path: path.write_text(new, encoding="utf-8"))
    return report
