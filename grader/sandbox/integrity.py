"""Which graded items a grader-access attempt touched.

The kernel's audit hook reports each refused attempt (importing the grader or the
reference, reading their files, inspecting another process) with the calling frames;
the session adds what was running (a notebook cell or an item's probe). An attempt is
charged to the first of: the innermost graded function on its call stack (the item that
function is graded by); the graded functions of a student module it happened in while
importing; the item being probed; the graded functions the notebook cell that ran it
defines. A cheat thus costs its own item, not every item that calls it.
"""
from __future__ import annotations

import ast
import re

from ..check.kinds import kind_of
from .untrusted import parse_untrusted

CELL_PHASE = re.compile(r"^cell (\d+)$")


def primary_items(items):
    """{qualified function name: item name} for the function each item grades."""
    return {kind_of(item).graded_function(item): item.name for item in items if kind_of(item).graded_function(item)}


def _defined_in(source):
    """Top-level functions (defined, imported or assigned, also inside if/try/with/for
    blocks), and methods as 'Class.method', that a cell defines."""
    tree = parse_untrusted(source)
    if tree is None:
        return set()
    names, todo = set(), list(tree.body)
    while todo:
        node = todo.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            names.add(node.name)
        elif isinstance(node, ast.ClassDef):
            names.update("%s.%s" % (node.name, f.name) for f in node.body if isinstance(f, ast.FunctionDef))
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update((alias.asname or alias.name).split(".")[0] for alias in node.names)
        elif isinstance(node, ast.Assign):
            names.update(t.id for t in node.targets if isinstance(t, ast.Name))
        elif isinstance(node, (ast.If, ast.Try, ast.With, ast.For, ast.While)):
            todo += node.body + getattr(node, "orelse", []) + getattr(node, "finalbody", [])
            todo += [stmt for handler in getattr(node, "handlers", []) for stmt in handler.body]
    return names


def touched(event, items, found, cells):
    """Names of the items one attempt is charged to.

    ``found`` maps item names to where their function was found ("notebook" or a module
    path such as "cs231n/rnn_layers.py"); ``cells`` maps cell indices to sources."""
    graded = primary_items(items)
    if event.get("event") == "channel":  # cannot be traced: everything graded is suspect
        return set(graded.values())
    for filename, qualname in event.get("frames", []):  # innermost first
        if qualname in graded:
            return {graded[qualname]}
        if qualname == "<module>":
            hit = {name for name, where in found.items()
                   if where and where != "notebook" and str(filename).endswith(where)}
            if hit:
                return hit
    if event.get("phase") in {i.name for i in items}:
        return {event["phase"]}
    cell = CELL_PHASE.match(event.get("phase", ""))
    if cell:
        return {graded[fn] for fn in _defined_in(cells.get(int(cell.group(1)), "")) if fn in graded}
    return set()


def describe(event):
    """One line for a TA: what was attempted, and where."""
    verb = {"import": "imported", "open": "opened", "channel": "tampered with"}.get(event.get("event"), "tried")
    where = (" during %s" % event["phase"]) if event.get("phase") else ""
    return "%s %s%s" % (verb, event.get("target", "?"), where)
