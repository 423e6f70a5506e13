"""What a pre-check runs of a notebook: the statements that define the graded functions and
what they need (imports, helper definitions, constants), never training, plotting or
data-set cells. Standard library only: the student kit ships this module.

Each top-level statement of each code cell is read with ``symtable``: the names it binds,
the names it reads when it runs (its own code, class bodies, default values) and the names
its functions read when they are called. Starting from the graded names, a statement is
kept when it binds a name that kept code reads: for a read when the statement runs, the
last binding before it; for a read inside a function, every binding in the notebook.
Statements that change a needed object (``model.params[k] = ...``), star imports and path
set-up (``sys.path.append``, ``os.chdir``) are kept too. Kept statements stay on their own
line numbers (the others become blank lines), so tracebacks point where the cell does.
"""
from __future__ import annotations

import ast
import re
import symtable
from dataclasses import dataclass, field

COMPREHENSIONS = ("listcomp", "setcomp", "dictcomp", "genexpr")
ALWAYS_ROOTS = ("sys", "os")  # calls on these set up paths and folders: kept whenever they appear
MAGIC = re.compile(r"^(\s*)(?:[%!]|[A-Za-z_]\w*\s*=\s*[%!])")


@dataclass
class Statement:
    cell: int
    first: int  # its lines in the cell's Python source, 1-based, inclusive
    last: int
    binds: set = field(default_factory=set)
    now: set = field(default_factory=set)  # names read when it runs
    later: set = field(default_factory=set)  # names read when its functions are called
    changes: set = field(default_factory=set)  # names whose objects it modifies
    always: bool = False


@dataclass
class Plan:
    """``sources``: {cell index: the source to run}; cells not in it are skipped. ``whole``: the
    cells that run as written. ``unreadable``: cells that are not Python even after IPython's
    syntax is transformed."""

    sources: dict
    whole: set
    unreadable: list
    kept: int  # statements kept
    total: int  # statements read


def targets(functions):
    """The names a notebook must define for ``functions`` ("f" or "Class.method")."""
    return sorted({name.split(".")[0] for name in functions})


def python_source(source):
    """A cell as plain Python: itself when it parses, else IPython's transformation (or, without
    IPython, its magic and shell lines blanked); None when it is still not Python."""
    for transform in (str, _ipython, _blank_magics):
        try:
            text = transform(source)
            ast.parse(text)
            return text
        except (SyntaxError, ValueError, ImportError):
            continue
    return None


def _ipython(source):
    from IPython.core.inputtransformer2 import TransformerManager
    return TransformerManager().transform_cell(source)


def _blank_magics(source):
    if source.lstrip().startswith("%%"):
        return ""
    return "\n".join("" if MAGIC.match(line) else line for line in source.split("\n"))


def plan(cells, targets, whole_unreadable=True):
    """Which code to run of ``cells`` ([(index, source)], in notebook order) so that every name
    in ``targets`` is defined as running the whole notebook would define it. Unreadable cells
    run whole when ``whole_unreadable`` (the kernel may know their syntax), else not at all."""
    statements, texts, unreadable = [], {}, []
    for index, source in cells:
        text = python_source(source)
        if text is None:
            unreadable.append(index)
            continue
        texts[index] = text
        statements += _statements(index, text)
    kept = _needed(statements, set(targets))
    sources, whole = {}, set()
    for index, text in texts.items():
        lines = text.split("\n")
        mine = [s for s in kept if s.cell == index]
        if mine:
            keep = {n for s in mine for n in range(s.first, s.last + 1)}
            sources[index] = "\n".join(line if n + 1 in keep else "" for n, line in enumerate(lines)).rstrip()
            if len(mine) == sum(1 for s in statements if s.cell == index):
                whole.add(index)
    if whole_unreadable:
        sources.update({index: source for index, source in cells if index in unreadable})
        whole.update(unreadable)
    return Plan(dict(sorted(sources.items())), whole, unreadable, len(kept), len(statements))


def _statements(cell, text):
    """The cell's top-level statements, read; statements sharing a line are read as one."""
    tree = ast.parse(text)
    spans = []
    for node in tree.body:
        first = min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])])
        if spans and first <= spans[-1][1]:
            spans[-1] = (spans[-1][0], max(spans[-1][1], node.end_lineno), spans[-1][2] + [node])
        else:
            spans.append((first, node.end_lineno, [node]))
    lines = text.split("\n")
    return [_read(cell, first, last, nodes, "\n".join(lines[first - 1:last])) for first, last, nodes in spans]


def _read(cell, first, last, nodes, text):
    statement = Statement(cell, first, last)
    try:
        table = symtable.symtable(text, "<cell %d>" % cell, "exec")
    except SyntaxError:  # e.g. a statement that needs its cell's context; keep it with its names
        statement.always = True
        return statement
    for symbol in table.get_symbols():
        if symbol.is_assigned() or symbol.is_imported():
            statement.binds.add(symbol.get_name())
        if symbol.is_referenced():
            statement.now.add(symbol.get_name())
    for child in table.get_children():
        _uses(child, statement, later=False)
    for node in nodes:
        statement.changes |= _changed(node)
        statement.always |= _is_setup(node)
    return statement


def _uses(table, statement, later):
    """Global names read in ``table`` and below: class bodies and comprehensions run with their
    parent, function bodies when called."""
    kind = table.get_type()
    later = later or (kind == "function" and table.get_name() not in COMPREHENSIONS)
    for symbol in table.get_symbols():
        if symbol.is_global() and symbol.is_referenced():
            (statement.later if later else statement.now).add(symbol.get_name())
    for child in table.get_children():
        _uses(child, statement, later)


def _root(node):
    while isinstance(node, (ast.Attribute, ast.Subscript, ast.Call)):
        node = node.func if isinstance(node, ast.Call) else node.value
    return node.id if isinstance(node, ast.Name) else None


def _changed(node):
    """Names whose objects the statement modifies in place (attribute or item assignment, del)."""
    names = set()
    for sub in _walk_outside_functions(node):
        targets = []
        if isinstance(sub, (ast.Assign, ast.Delete)):
            targets = sub.targets
        elif isinstance(sub, (ast.AugAssign, ast.AnnAssign)):
            targets = [sub.target]
        for target in targets:
            for part in ast.walk(target):
                if isinstance(part, (ast.Attribute, ast.Subscript)) and isinstance(part.ctx, (ast.Store, ast.Del)):
                    names.add(_root(part))
    return names - {None}


def _is_setup(node):
    """A star import, or a call on ``sys``/``os`` (``sys.path.append``, ``os.chdir``)."""
    if isinstance(node, ast.ImportFrom) and any(alias.name == "*" for alias in node.names):
        return True
    return isinstance(node, ast.Expr) and isinstance(node.value, ast.Call) and \
        isinstance(node.value.func, ast.Attribute) and _root(node.value.func) in ALWAYS_ROOTS


def _walk_outside_functions(node):
    todo = [node]
    while todo:
        current = todo.pop()
        yield current
        todo.extend(child for child in ast.iter_child_nodes(current)
                    if not isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)))


def _needed(statements, targets):
    """The statements to keep, in notebook order."""
    binders, changers = {}, {}
    for position, statement in enumerate(statements):
        for name in statement.binds:
            binders.setdefault(name, []).append(position)
        for name in statement.changes:
            changers.setdefault(name, []).append(position)
    kept, todo, wanted = set(), [], set()

    def want(name, before=None):
        found = binders.get(name, [])
        chosen = found if before is None else [p for p in found if p < before][-1:]
        todo.extend(p for p in chosen if p not in kept)
        if name not in wanted:
            wanted.add(name)
            todo.extend(changers.get(name, []))

    for name in targets:
        want(name)
    todo.extend(p for p, s in enumerate(statements) if s.always)
    while todo:
        position = todo.pop()
        if position in kept:
            continue
        kept.add(position)
        statement = statements[position]
        for name in statement.now:
            want(name, before=position)
        for name in statement.later:
            want(name)
    return [statements[p] for p in sorted(kept)]
