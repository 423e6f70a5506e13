"""Rule no-extra-imports: the submission imports only what the template imports."""
from __future__ import annotations

import ast
import re

from .common import code_cells, parse

# Packages of the assignment itself, and compiler directives rather than packages.
OWN_PACKAGES = frozenset({"cs231n", "__future__"})
IMPORT_LINE = re.compile(r"^\s*import\s+(.+)")
FROM_LINE = re.compile(r"^\s*from\s+([\w.]+)\s+import\b")
DYNAMIC = re.compile(r"(?:__import__|import_module)\(\s*[rRuU]?['\"]([\w.]+)['\"]")


def check(submitted, template, files, template_files):
    """(message, details): the modules imported beyond the template's, with where."""
    allowed = set(OWN_PACKAGES) | _package_names(files) | _package_names(template_files)
    for source in [s for _, s in code_cells(template)] + list(template_files.values()):
        allowed |= _imports(source)
    found = {}  # module -> places
    places = [("cell %d" % i, s) for i, s in code_cells(submitted)] + sorted(files.items())
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
    tree = parse(source)
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
