"""Rule no-extra-imports: what the student wrote imports only what the template imports.

An import counts where it is in a TODO region or a graded function's body, or where what it
binds is used there (a scratch cell's `import torch`, then `torch.tanh` in a TODO region)."""
from __future__ import annotations

import ast
import re

from .common import COMPATIBILITY, code_cells, parse

# Packages of the assignment itself, and compatibility modules rather than packages.
OWN_PACKAGES = frozenset({"cs231n", *COMPATIBILITY})
IMPORT_LINE = re.compile(r"^\s*import\s+(.+)")
FROM_LINE = re.compile(r"^\s*from\s+([\w.]+)\s+import\s+(.+)")
DYNAMIC = re.compile(r"(?:__import__|import_module)\(\s*[rRuU]?['\"]([\w.]+)['\"]")
WORD = re.compile(r"(?<![\w.])[A-Za-z_]\w*")


def check(submitted, template, files, template_files, scope):
    """(message, details): the modules imported beyond the template's, with where."""
    allowed = set(OWN_PACKAGES) | _package_names(files) | _package_names(template_files)
    for source in [s for _, s in code_cells(template)] + list(template_files.values()):
        allowed |= {module for module, _, _ in _imports(source)}
    places = scope.places(submitted, files)
    own = {where: scope.own_lines(source) for where, source in places}
    used = set()
    for where, source in places:
        lines = source.splitlines()
        used.update(w for k in own[where] if k <= len(lines) for w in WORD.findall(lines[k - 1].split("#")[0]))
    found = {}  # module -> places
    for where, source in places:
        for module, line, bound in _imports(source):
            if module not in allowed and (line in own[where] or bound & used):
                found.setdefault(module, [])
                if where not in found[module]:
                    found[module].append(where)
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
    """[(top-level module name, line, names it binds)] of what source imports (relative
    imports left out)."""
    tree = parse(source)
    if tree is None:
        return _imports_by_regex(source)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(a.name, node.lineno, {a.asname or a.name.split(".")[0]}) for a in node.names]
        elif isinstance(node, ast.ImportFrom) and not node.level:
            found.append((node.module or "", node.lineno, {a.asname or a.name for a in node.names if a.name != "*"}))
        elif isinstance(node, ast.Call) and node.args and _is_dynamic_import(node.func):
            first = node.args[0]
            if isinstance(first, ast.Constant) and isinstance(first.value, str):
                found.append((first.value, node.lineno, set()))
    return [(name.split(".")[0], line, bound) for name, line, bound in found if name and not name.startswith(".")]


def _is_dynamic_import(func):
    name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
    return name in ("__import__", "import_module")


def _imports_by_regex(source):
    """Fallback for code that does not parse (Python 2, shell lines): imports line by line."""
    found = []
    for number, line in enumerate(source.splitlines(), 1):
        for statement in line.split(";"):
            plain, from_import = IMPORT_LINE.match(statement), FROM_LINE.match(statement)
            if plain:
                for part in (p.split() for p in plain.group(1).split(",") if p.split()):
                    found.append((part[0], number, {part[-1] if "as" in part else part[0].split(".")[0]}))
            if from_import:
                bound = {p.split()[-1] for p in from_import.group(2).strip("() ").split(",") if p.split()} - {"*"}
                found.append((from_import.group(1), number, bound))
        found += [(name, number, set()) for name in DYNAMIC.findall(line)]
    return [(name.split(".")[0], line, bound) for name, line, bound in found
            if name and not name.startswith(".") and name.split(".")[0].isidentifier()]
