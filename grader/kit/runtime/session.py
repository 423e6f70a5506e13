"""Checking a notebook's functions where they live: the calling notebook's namespace (or the
one the command line ran the notebook in), then the student's ``cs231n`` modules; and the
lines a student reads.
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from . import _probe as probe
from .data import Replay
from .judge import Judge, Kit

DATA = Path(__file__).with_name("data") / "public.npz"
SYMBOLS = {"passed": "ok", "failed": "FAIL", "error": "ERROR", "missing": "MISSING", "not_implemented": "TODO",
           "timeout": "TIMEOUT"}  # the grader's terminal symbols


def namespaces(notebook, more=()):
    """[the notebook's namespace, ``more``, then each student module that imports]; importing
    records in the probe why a module did not, for the 'not defined' messages."""
    spaces = [notebook, *more]
    probe.IMPORT_ERRORS.clear()
    for name in probe.STUDENT_MODULES:
        module = sys.modules.get(name)
        if module is None:
            try:
                module = __import__(name, fromlist=["_"])
            except (Exception, SystemExit) as exc:
                probe.IMPORT_ERRORS[name] = "%s: %s" % (type(exc).__name__, exc)
        if module is not None:
            spaces.append(vars(module))
    return spaces


def replay(kit):
    """The grader's functions answered from the kit's records; with autograd in a PyTorch kit."""
    if kit.document.get("replay") == "torch":
        from .torch_replay import TorchReplay  # imports torch: only a PyTorch kit has this module
        return TorchReplay(kit.document, kit.buffers)
    return Replay(kit.document, kit.buffers)


def verdicts(notebook, name=None, more=()):
    """[(item, Verdict)] of item ``name`` (every item when None), judged on the functions of
    ``notebook`` (then of ``more`` namespaces). The items before it are judged too (quietly): a
    failed one is replaced inside later items."""
    kit = Kit(DATA)
    wanted = kit.item(name)["name"] if name else None
    judge = Judge(kit, namespaces(notebook, more), replay(kit))
    found, state = [], np.random.get_state()  # the notebook's random draws go on as if not checked
    try:
        for item in kit.items:
            verdict = judge.judge(item)
            if wanted in (None, item["name"]):
                found.append((item, verdict))
            if item["name"] == wanted:
                break
    finally:
        np.random.set_state(state)
    return found


def report(found):
    """What a student reads: a line per item, then one per check, its problem, notes and hint."""
    out = []
    for item, verdict in found:
        out.append("%-7s %s" % (SYMBOLS[verdict.status], item["name"]))
        for check in verdict.checks:
            out.append("          %s %s%s" % ("pass" if check.passed else "FAIL", check.name,
                                             ": " + check.message if check.message else ""))
        out += ["          " + line for line in verdict.problem.strip().splitlines()]
        out += ["          note: " + note for note in verdict.notes]
        hint = next((c.hint for c in verdict.checks if not c.passed and c.hint), "")
        if hint:
            out.append("          hint: " + hint)
    return out


def check_in(notebook, name=None):
    """``check(name)`` called from ``notebook`` (its globals): print the lines of its verdicts.
    Functions not found there are looked for in ``__main__`` (check called from a helper)."""
    main = vars(sys.modules["__main__"])
    print("\n".join(report(verdicts(notebook, name, [main] if main is not notebook else []))))
