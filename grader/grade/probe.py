"""The only bridge between the grader and student code.

A backend takes a request (an operation of ``kernel_probe`` and its inputs) and
returns the decoded values that student code returned. ``KernelBackend`` sends it
to the student's kernel; ``LocalBackend`` runs the same operation in-process on
given functions (the reference, for calibration and tests).
"""
from __future__ import annotations

import ast
import functools
import json
import secrets
from pathlib import Path

from ..resources import reference_source
from ..sandbox.untrusted import parse
from . import kernel_probe
from .execute import UNREADABLE_ENAME
from .kernel_probe import MIME, PLAIN_KEYS, decode, encode

REFERENCE_MODULES = ("rnn_layers", "optim", "coco_utils", "captioning_solver")
GIVEN_FUNCTIONS = ("affine_forward", "affine_backward", "sigmoid")  # students receive these
PROBE_NAME = "_cs231n_grader_probe"
# What each of a reply's plain fields must be; anything else is a damaged reply.
PLAIN_TYPES = {"nonce": str, "output": str, "missing": str, "error": dict, "found": dict, "import_errors": dict}


@functools.lru_cache(maxsize=None)
def _reference_files():
    return tuple((name, reference_source(name)) for name in REFERENCE_MODULES)


def reference_sources():
    """Source of the grader's modules that may stand in for a student's (in-process use)."""
    return dict(_reference_files())


def kernel_reference(needed):
    """The reference a kernel may hold for one request: the given modules, and of the graded
    functions only ``needed`` and those they call. The reference of a function being graded
    never enters the student's kernel, so student code cannot find it there."""
    return dict(_kernel_reference(tuple(sorted(set(needed)))))


@functools.lru_cache(maxsize=128)
def _kernel_reference(needed):
    sources = reference_sources()
    tree = parse(sources["rnn_layers"])
    functions = {node.name: node for node in tree.body if isinstance(node, ast.FunctionDef)}
    keep, todo = set(GIVEN_FUNCTIONS), [n for n in needed if n in functions]
    while todo:
        name = todo.pop()
        if name not in keep:
            keep.add(name)
            todo.extend(n.id for n in ast.walk(functions[name]) if isinstance(n, ast.Name) and n.id in functions)
    tree.body = [node for node in tree.body if not isinstance(node, ast.FunctionDef) or node.name in keep]
    sources["rnn_layers"] = ast.unparse(tree)
    return tuple(sources.items())


def _needed(fields):
    """Reference functions a request asks the kernel to use in place of the student's."""
    calls = fields.get("calls", [fields])
    names = {name for call in calls for name in call.get("patch", [])}
    names.update(call["forward"] for call in calls if call.get("forward_impl") == "reference")
    return sorted(names)


class KernelBackend:
    """Sends probe requests to a live ``KernelSession``; reinstalls after restarts."""

    def __init__(self, session):
        self.session = session
        self._installed_at = None

    def _install(self):
        source = Path(kernel_probe.__file__).read_text()
        code = ("import types as _t\n"
                "_m = _t.ModuleType('_cs231n_grader_probe_module')\n"
                "exec(compile(%r, '<grader probe>', 'exec'), vars(_m))\n"
                "%s = _m.Probe()\n"
                "del _t, _m\n") % (source, PROBE_NAME)
        outcome = self.session.run(code, timeout=60, record=False)
        if outcome.status != "ok":
            raise RuntimeError("could not install the probe in the kernel: %s %s" % (outcome.ename, outcome.evalue))
        self._installed_at = self.session.restarts

    def reinstall(self):
        """Install the probe afresh at the next request (after the notebook ran, which may
        have rebound its name)."""
        self._installed_at = None

    def request(self, op, timeout, **fields):
        if self._installed_at != self.session.restarts:
            try:
                self._install()
            except RuntimeError as exc:  # the notebook left a kernel that cannot run the probe
                return {"error": {"stage": "probe", "ename": "ProbeUnavailable", "evalue": str(exc), "traceback": ""}}
        nonce = secrets.token_hex(8)
        text = json.dumps(encode(dict(fields, op=op, nonce=nonce, reference=kernel_reference(_needed(fields)))))
        outcome = self.session.run("%s.run(%r)" % (PROBE_NAME, text), timeout=timeout, record=False)
        if outcome.status == "dead" and outcome.ename == UNREADABLE_ENAME:
            return {"error": {"stage": "probe", "ename": outcome.ename, "evalue": outcome.evalue, "traceback": ""}}
        if outcome.status == "dead":
            return {"dead": True}
        if outcome.status == "timeout":
            return {"timeout": True}
        try:
            result = _reply(outcome.outputs, nonce)
        except Exception as exc:  # the notebook broke the serialiser: reading its reply may raise anything
            return {"error": {"stage": "probe", "ename": "DamagedReply", "traceback": "",
                              "evalue": "the probe's reply could not be read (%s): did the notebook replace"
                                        " json, base64 or numpy functions?" % type(exc).__name__}}
        if result is not None:
            return result
        return {"error": {"stage": "probe", "ename": outcome.ename or "NoResult",
                          "evalue": outcome.evalue or "the probe returned no result", "traceback": outcome.traceback}}


def _reply(outputs, nonce):
    """The decoded reply that carries ``nonce`` among one probe call's outputs, or None."""
    for output in reversed(outputs):
        payload = output.get("data", {}).get(MIME)
        if payload is None:
            continue
        result = json.loads(payload)
        if isinstance(result, dict) and result.get("nonce") == nonce:
            wrong = [key for key, kind in PLAIN_TYPES.items() if key in result and not isinstance(result[key], kind)]
            if wrong:
                raise TypeError("%s of the wrong type" % ", ".join(wrong))
            return {k: decode(v) if k not in PLAIN_KEYS else v for k, v in result.items()}
    return None


class LocalBackend:
    """Runs probe operations in this process on the functions in ``namespace``."""

    def __init__(self, namespace):
        self.namespace = namespace
        self.reference = kernel_probe.Reference(reference_sources())

    def request(self, op, timeout, **fields):
        req = decode(json.loads(json.dumps(encode(dict(fields, op=op)))))
        kernel_probe.LOCAL_NAMESPACES = [self.namespace]
        try:
            result = kernel_probe.OPS[op](req, self.reference)
        finally:
            kernel_probe.LOCAL_NAMESPACES = None
        return {k: decode(json.loads(json.dumps(encode(v)))) if k not in PLAIN_KEYS else v
                for k, v in result.items()}
