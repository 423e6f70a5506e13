"""Hints that name a known mistake, given only when the student's outputs are that mistake's.

A mistake (``mistakes.toml``) is the reference with a few edits in its source (the NumPy
reference's, or the PyTorch one's: each catalogue names its modules). After an
item fails, each mistake catalogued for it runs on the inputs the student's code got, and
the item's hint names the one mistake that every output of every float64 case agrees with
to ``MATCH``, when the cases tell that mistake from the reference. The hint quotes the line
of the student's function that makes the mistake when the mistake's pattern finds one.
No mistake agrees (or several do): no hint, only the checks' facts.
"""
from __future__ import annotations

import ast
import functools
import re
from dataclasses import dataclass

import numpy as np

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

from ..grade.kernel_probe import Reference
from ..resources import grader_path, reference_source
from ..kit.runtime.matching import agree
from ..kit.runtime.source_lines import quoted
NUMPY = ("rnn_layers", "captioning_rnn")  # the reference modules a mistake is made in, in import order


@dataclass(frozen=True)
class Mistake:
    name: str
    items: tuple  # the items whose outputs show it
    hint: str
    edits: tuple  # (function, old text, new text): the mistake made in the reference
    line: str = ""  # pattern of the statement that makes it, in the function the first item grades
    modules: tuple = NUMPY  # the reference modules its edits are made in (its catalogue's)


@functools.cache
def catalogue():
    """{catalogue name: [Mistake]} from mistakes.toml; ValueError if an edit does not apply."""
    data = tomllib.loads(grader_path("check", "mistakes.toml").read_text(encoding="utf-8"))
    names = data.pop("modules")
    if set(names) != set(data):
        raise ValueError("mistakes.toml: [modules] names %s, the catalogues are %s" % (sorted(names), sorted(data)))
    found = {group: [Mistake(m["name"], tuple(m["items"]), m["hint"], tuple(map(tuple, m["edits"])),
                             m.get("line", ""), tuple(names[group])) for m in entries]
             for group, entries in data.items()}
    for mistake in (m for entries in found.values() for m in entries):
        edited_sources(mistake.edits, mistake.modules)
        re.compile(mistake.line)
    return found


def for_item(settings, item):
    """The mistakes of the catalogues the assignment names that show in ``item``."""
    return [m for group in settings.raw.get("mistakes", ()) for m in catalogue()[group] if item.name in m.items]


@functools.cache
def edited_sources(edits, names=NUMPY):
    """The sources of the reference modules ``names`` with ``edits`` made; ValueError naming one
    that does not apply."""
    sources = {name: reference_source(name) for name in names}
    for function, old, new in edits:
        name, start, end = span(sources, function)
        lines = sources[name].splitlines(keepends=True)
        body = "".join(lines[start:end])
        if body.count(old) != 1:
            raise ValueError("mistake edit %r: %d occurrences in %s, not one" % (old, body.count(old), function))
        sources[name] = "".join(lines[:start]) + body.replace(old, new) + "".join(lines[end:])
    return sources


def span(sources, function):
    """(module, first line index, end line index) of ``function`` ("f" or "Class.method")."""
    owner, _, method = function.partition(".")
    for name, source in sources.items():
        for node in ast.parse(source).body:
            if isinstance(node, (ast.FunctionDef, ast.ClassDef)) and node.name == owner:
                if method:
                    node = next((n for n in node.body if isinstance(n, ast.FunctionDef) and n.name == method), None)
                if node is not None:
                    return name, node.lineno - 1, node.end_lineno
    raise ValueError("mistake edit in %s: no such function in the reference" % function)


@functools.cache
def modules(edits=(), names=NUMPY):
    """The reference's modules ``names``, with ``edits`` made (none: the reference itself). Running
    the PyTorch reference's source imports torch: only a PyTorch mistake does."""
    return Reference(edited_sources(edits, names)).modules


def explain(judge, kind, item, verdict):
    """Give ``verdict``'s failing checks the hint of the one mistake its outputs agree with."""
    failing = [c for c in verdict.checks if not c.passed]
    seen = [(case, got) for case, got in verdict.observed if case.dtype == "float64"]
    candidates = for_item(judge.settings, item)
    if not (failing and seen and candidates):
        return
    base = functools.cache(lambda names: [_run(kind, judge, item, case, (), names) for case, _ in seen])
    matched = [m for m in candidates if _shows(kind, judge, item, m, seen, base(m.modules))]
    if len(matched) != 1:
        return
    hint = matched[0].hint + _where(judge, kind, item, matched[0])
    for check in failing:
        check.hint = hint


def _shows(kind, judge, item, mistake, seen, base):
    """Whether every output seen is the mistake's, and some case tells the mistake from the reference."""
    told_apart = False
    for (case, got), reference in zip(seen, base):
        want = _run(kind, judge, item, case, mistake.edits, mistake.modules)
        if want is None or not agree(got, want):
            return False
        told_apart = told_apart or not agree(reference, want)
    return told_apart


def _run(kind, judge, item, case, edits, names=NUMPY):
    """What the reference modules ``names`` with ``edits`` return on ``case``; None when they raise
    there, or when ``kind`` cannot run those modules."""
    try:
        with np.errstate(all="ignore"):  # a mistake may divide by zero: its NaN is what it returns
            return kind.variant(judge, item, case, modules(edits, names))
    except Exception:  # a mistake may fail on some inputs (a shape error): it then matches nothing there
        return None


def _where(judge, kind, item, mistake):
    """' (line N of your f: `...`)' for the first line of the student's graded function that
    matches the mistake's pattern, when the item is the mistake's first; else ''."""
    function = kind.graded_function(item)
    if not mistake.line or item.name != mistake.items[0]:
        return ""
    reply = judge.backend.request("resolve", judge.settings.probe_timeout, names=[function])
    info = reply.values.get("found", {}).get(function)  # no values when the reply is not ok
    source = info.get("source") if isinstance(info, dict) else None
    return quoted(source, mistake.line, function)
