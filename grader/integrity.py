"""Which graded items a grader-access attempt touched.

The kernel's audit hook reports each refused attempt (importing the grader or the
reference, reading their files, inspecting another process) with the calling frames;
the session adds what was running (a notebook cell or an item's probe). An attempt
touches the item being probed, the graded functions on its call stack, the graded
functions of a student module it happened in while importing, and otherwise the
graded functions defined by the notebook cell that ran it.
"""
from __future__ import annotations

import ast
import re

CELL_PHASE = re.compile(r"^cell (\d+)$")


def function_items(items):
    """{qualified function name: [item names]} for the items that call student functions."""
    names = {}
    for item in items:
        if item.kind == "layer":
            for fn in {item.forward, item.backward} - {None}:
                names.setdefault(fn, []).append(item.name)
        elif item.kind in ("model_loss", "sample"):
            names.setdefault(item.name, []).append(item.name)
        elif item.kind == "overfit":
            names.setdefault("CaptioningRNN.loss", []).append(item.name)
    return names


def _defined_in(source):
    """Top-level functions (defined, imported or assigned), and methods as 'Class.method',
    that a cell defines."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return set()
    names = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            names.add(node.name)
        elif isinstance(node, ast.ClassDef):
            names.update("%s.%s" % (node.name, f.name) for f in node.body if isinstance(f, ast.FunctionDef))
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update((alias.asname or alias.name).split(".")[0] for alias in node.names)
        elif isinstance(node, ast.Assign):
            names.update(t.id for t in node.targets if isinstance(t, ast.Name))
    return names


def touched(event, items, found, cells):
    """Names of the items one attempt touched.

    ``found`` maps item names to where their function was found ("notebook" or a module
    path such as "cs231n/rnn_layers.py"); ``cells`` maps cell indices to sources."""
    by_function = function_items(items)
    if event.get("event") == "channel":  # cannot be traced: everything graded is suspect
        return {name for names in by_function.values() for name in names}
    hit = set()
    if event.get("phase") in {i.name for i in items}:
        hit.add(event["phase"])
    for filename, qualname in event.get("frames", []):
        hit.update(by_function.get(qualname, []))
        if qualname == "<module>":
            hit.update(name for name, where in found.items()
                       if where and where != "notebook" and str(filename).endswith(where))
    cell = CELL_PHASE.match(event.get("phase", ""))
    if not hit and cell:
        for fn in _defined_in(cells.get(int(cell.group(1)), "")):
            hit.update(by_function.get(fn, []))
    return hit


def describe(event):
    """One line for a TA: what was attempted, and where."""
    verb = {"import": "imported", "open": "opened", "channel": "tampered with"}.get(event.get("event"), "tried")
    where = (" during %s" % event["phase"]) if event.get("phase") else ""
    return "%s %s%s" % (verb, event.get("target", "?"), where)
