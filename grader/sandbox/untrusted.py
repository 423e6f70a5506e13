"""Parsing Python source in the grader's process without letting it crash the grader.

The grader parses what students wrote (cells and modules: the course rules, the Python 2
check, the cell an access attempt came from) and its own reference. Two hazards:

- Student source can be deeper than the parser goes: nested expressions make ``ast.parse``
  and ``compile`` raise RecursionError or MemoryError, not only SyntaxError; null bytes
  raise ValueError or SyntaxError, by version.
- CPython 3.11 keeps the AST constructor's recursion counter in state the whole
  interpreter shares. If the garbage collector runs a finalizer during a parse and that
  finalizer parses too, the outer parse fails with ``SystemError: AST constructor
  recursion depth mismatch``. asyncio does exactly that when it frees a task whose
  exception nobody read: it logs the traceback, and the traceback module parses the
  failing line to place its carets. So the collector is paused while parsing, for
  trusted source as well.
"""
from __future__ import annotations

import ast
import contextlib
import gc

# What parsing or compiling student source may raise besides SyntaxError; SystemError is a
# CPython bug the source reached (the parser's own, since the collector is paused).
UNPARSABLE = (SyntaxError, ValueError, RecursionError, MemoryError, SystemError)


@contextlib.contextmanager
def collector_paused():
    """No garbage collection (so no finalizer runs) inside the block."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def parse(source) -> ast.Module:
    """``ast.parse(source)`` with the collector paused; raises what ast.parse raises."""
    with collector_paused():
        return ast.parse(source)


def parse_untrusted(source):
    """The ast of student source, or None if it is not Python this grader can read."""
    try:
        return parse(source)
    except UNPARSABLE:
        return None


def compiles(source) -> bool:
    """Whether student source compiles as Python 3 (compile checks more than the parser)."""
    try:
        compile(source, "<check>", "exec")
        return True
    except UNPARSABLE:
        return False
