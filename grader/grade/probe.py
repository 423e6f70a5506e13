"""The only bridge between the grader and student code.

A backend takes a request (an operation of ``kernel_probe`` and its inputs) and
returns a ``ProbeReply``: the decoded values that student code returned, or why
there are none. ``KernelBackend`` sends it to the student's kernel; ``LocalBackend``
runs the same operation in-process on given functions (the reference, for
calibration and tests).
"""
from __future__ import annotations

import ast
import functools
import json
import secrets
import types
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path

import numpy as np

from ..errors import DamagedReply, ProbeUnavailable
from ..resources import reference_source
from ..sandbox.untrusted import parse
from . import kernel_probe
from .execute import UNREADABLE_ENAME
from .kernel_probe import MIME, PLAIN_KEYS, decode, encode

LAYER_MODULES = ("rnn_layers", "rnn_layers_pytorch")  # the reference's layers, NumPy or PyTorch
GIVEN_MODULES = ("optim", "coco_utils", "captioning_solver")
GIVEN_FUNCTIONS = ("affine_forward", "affine_backward", "sigmoid")  # students receive these
PROBE_NAME = "_cs231n_grader_probe"
# What each of a reply's plain fields must be; anything else is a damaged reply.


@functools.lru_cache(maxsize=None)
@functools.lru_cache(maxsize=None)
def _reference_files(layers):
    return tuple((name, reference_source(name)) for name in (layers, *GIVEN_MODULES))


def reference_sources(layers="rnn_layers"):
    """Source of the grader's modules that may stand in for a student's (in-process use):
    the ``layers`` module of the reference first, so its functions are the ones found."""
    return dict(_reference_files(layers))


def kernel_reference(needed, layers="rnn_layers"):
    """The reference a kernel may hold for one request: the given modules, and of the graded
    functions only ``needed`` and those they call. The reference of a function being graded
    never enters the student's kernel, so student code cannot find it there."""
    return dict(_kernel_reference(tuple(sorted(set(needed))), layers))


@functools.lru_cache(maxsize=128)
def _kernel_reference(needed, layers):
    sources = reference_sources(layers)
    tree = parse(sources[layers])
    functions = {node.name: node for node in tree.body if isinstance(node, ast.FunctionDef)}
    keep, todo = set(GIVEN_FUNCTIONS), [n for n in needed if n in functions]
    while todo:
        name = todo.pop()
        if name not in keep:
            keep.add(name)
            todo.extend(n.id for n in ast.walk(functions[name]) if isinstance(n, ast.Name) and n.id in functions)
    tree.body = [node for node in tree.body if not isinstance(node, ast.FunctionDef) or node.name in keep]
    sources[layers] = ast.unparse(tree)
    return tuple(sources.items())


def _needed(fields):
    """Reference functions a request asks the kernel to use in place of the student's."""
    calls = fields.get("calls", [fields])
    names = {name for call in calls for name in call.get("patch", [])}
    names.update(call["forward"] for call in calls if call.get("forward_impl") == "reference")
    return sorted(names)


class ReplyKind(Enum):
    OK = "ok"  # the call returned: ``values``
    MISSING = "missing"  # the function is not defined
    TIMEOUT = "timeout"  # the call did not finish in time
    DEAD = "dead"  # the kernel died during the call
    ERROR = "error"  # student code (or the probe under it) raised
    DAMAGED = "damaged"  # the reply is not what the probe sends


@dataclass(frozen=True)
class Raised:
    """What student code raised during a call, and at which stage of it."""

    stage: str
    ename: str
    evalue: str
    traceback: str = ""
    within: str = ""  # the grader's function, standing in for the student's, that raised it


@dataclass(frozen=True)
class ProbeReply:
    """What one request brought back. ``values`` (ok only): what student code returned, by
    name, a batch's ``results`` being one reply per call; ``name`` and ``import_errors``: what
    is missing and why the student's modules did not import; ``reason``: why it is damaged."""

    kind: ReplyKind
    values: dict = field(default_factory=dict)
    output: str = ""  # what student code printed
    name: str = ""
    import_errors: dict = field(default_factory=dict)
    raised: Raised | None = None
    reason: str = ""


# What decoding a reply the notebook tampered with can raise (binascii.Error is a ValueError).
DECODE_ERRORS = (ValueError, TypeError, KeyError, IndexError, AttributeError, OverflowError, RecursionError)


def read_reply(op, fields, result) -> ProbeReply:
    """The reply to ``op`` from the probe's decoded result dict; damaged when its structure is
    not the one ``kernel_probe`` gives that operation."""
    try:
        return _read(op, fields, result)
    except DamagedReply as exc:
        return ProbeReply(ReplyKind.DAMAGED, reason=str(exc))


def _read(op, fields, result):
    if not isinstance(result, dict):
        raise DamagedReply("a %s where a dict was sent" % type(result).__name__)
    output = _text(result.get("output", ""), "output")
    if "missing" in result:
        return ProbeReply(ReplyKind.MISSING, output=output, name=_text(result["missing"], "missing"),
                          import_errors=_texts(result.get("import_errors", {}), "import_errors"))
    if "error" in result:
        error = result["error"]
        if not isinstance(error, dict):
            raise DamagedReply("error is a %s" % type(error).__name__)
        raised = Raised(*(_text(error.get(key, ""), "error " + key)
                          for key in ("stage", "ename", "evalue", "traceback", "within")))
        return ProbeReply(ReplyKind.ERROR, output=output, raised=raised)
    absent = [key for key in _reply_keys(op, fields) if key not in result]
    if absent:
        raise DamagedReply("no %s in the reply" % ", ".join(absent))
    values = {key: value for key, value in result.items() if key not in ("nonce", "output")}
    _check_containers(op, fields, values)
    if op == "batch":
        values["results"] = _batch(fields["calls"], values["results"])
    elif op == "resolve":
        _check_found(values["found"])
    elif op == "import_check":
        _texts(values["import_errors"], "import_errors")
    return ProbeReply(ReplyKind.OK, values, output)


def _reply_keys(op, fields):
    """The values every successful reply to ``op`` carries."""
    keys = {"layer": ["forward"], "model_loss": ["loss", "grads"], "model_sample": ["captions"],
            "overfit": ["loss_history", "train_seconds"], "resolve": ["found"], "import_check": ["import_errors"],
            "batch": ["results"], "autograd_layer": ["forward", "grads", "unreached"],
            "autograd_model_loss": ["loss", "grads", "unreached"], "torch_sample": ["captions"],
            "torch_overfit": ["loss_history", "train_seconds"]}[op]
    if op == "layer" and fields.get("backward"):
        keys.append("backward")
    if fields.get("perturb"):
        keys.append("perturbed")
    return keys


def _check_containers(op, fields, values):
    """What ``kernel_probe`` builds around the student's values is as it builds it; the values
    inside, which student code chose, are for the judge to check."""
    for key in ("forward", "backward"):
        if not isinstance(values.get(key, []), list):
            raise DamagedReply("%s is not a list" % key)
    if fields.get("perturb"):
        perturbed, perturb = values["perturbed"], fields["perturb"]
        if op in ("layer", "autograd_layer"):
            ok = isinstance(perturbed, list) and len(perturbed) == len(perturb["wrt"]) and all(map(_pair, perturbed))
        else:
            ok = isinstance(perturbed, dict) and all(_pair(perturbed.get(name), flat=True)
                                                      for name in perturb["params"])
        if not ok:
            raise DamagedReply("the outputs for nudged inputs are not what the probe sends")
    history = values.get("loss_history")
    if op in ("overfit", "torch_overfit") and not (_floats(history) and history.ndim and isinstance(values["train_seconds"], float)):
        raise DamagedReply("the training record is not what the probe sends")


def _floats(value):
    return isinstance(value, np.ndarray) and value.dtype.kind == "f"


def _pair(value, flat=False):
    """[plus, minus]: float arrays, one row per nudged element (``flat``: one number, a loss)."""
    return isinstance(value, list) and len(value) == 2 and all(_floats(v) and v.ndim >= 1 for v in value) \
        and len(value[0]) == len(value[1]) and (not flat or value[0].ndim == value[1].ndim == 1)


def _batch(calls, results):
    if not isinstance(results, list) or len(results) != len(calls):
        raise DamagedReply("%s results for %d calls" % (len(results) if isinstance(results, list) else "no",
                                                       len(calls)))
    return [read_reply(call["op"], call, result) for call, result in zip(calls, results)]


def _text(value, what):
    if not isinstance(value, str):
        raise DamagedReply("%s is a %s, not text" % (what, type(value).__name__))
    return value


def _texts(value, what):
    """``value`` if it is a dict of text to text."""
    if not isinstance(value, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
        raise DamagedReply("%s is not a dict of text" % what)
    return value


def _check_found(found):
    """``resolve``'s answer: {name: None or {"source": text or None, "module": text or None}}."""
    if not isinstance(found, dict) or not all(_place(info) for info in found.values()):
        raise DamagedReply("the functions' places are not what the probe sends")


def _place(info):
    return info is None or isinstance(info, dict) and all(
        isinstance(info.get(key), (str, type(None))) for key in ("source", "module"))


class KernelBackend:
    """Sends probe requests to a live ``KernelSession``; reinstalls after restarts."""

    def __init__(self, session, extensions=(), layers="rnn_layers"):
        self.session = session
        self.extensions = tuple(extensions)
        self.layers = layers
        self._installed_at = None

    def _install(self):
        sources = "".join("exec(compile(%r, '<grader probe>', 'exec'), vars(_m))\n" % source
                          for source in probe_sources(self.extensions))
        code = ("import types as _t\n"
                "_m = _t.ModuleType('_cs231n_grader_probe_module')\n"
                "%s"
                "%s = _m.Probe()\n"
                "del _t, _m\n") % (sources, PROBE_NAME)
        outcome = self.session.run(code, timeout=60, record=False)
        if outcome.status != "ok":
            raise ProbeUnavailable("could not install the probe in the kernel: %s %s" % (outcome.ename, outcome.evalue))
        self._installed_at = self.session.restarts

    def reinstall(self):
        """Install the probe afresh at the next request (after the notebook ran, which may
        have rebound its name)."""
        self._installed_at = None

    def request(self, op, timeout, **fields) -> ProbeReply:
        if self._installed_at != self.session.restarts:
            try:
                self._install()
            except ProbeUnavailable as exc:  # the notebook left a kernel that cannot run the probe
                return ProbeReply(ReplyKind.ERROR, raised=Raised("probe", "ProbeUnavailable", str(exc)))
        nonce = secrets.token_hex(8)
        given = fields.pop("given_modules", {})  # given files the operation runs (a course's own solver)
        reference = {**kernel_reference(_needed(fields), self.layers), **given}
        text = json.dumps(encode(dict(fields, op=op, nonce=nonce, reference=reference)))
        outcome = self.session.run("%s.run(%r)" % (PROBE_NAME, text), timeout=timeout, record=False)
        if outcome.status == "dead" and outcome.ename == UNREADABLE_ENAME:  # the notebook garbled the messages
            return ProbeReply(ReplyKind.ERROR, raised=Raised("probe", outcome.ename, outcome.evalue, ""))
        if outcome.status == "dead":
            return ProbeReply(ReplyKind.DEAD)
        if outcome.status == "timeout":
            return ProbeReply(ReplyKind.TIMEOUT)
        try:
            result = _result(outcome.outputs, nonce)
        except DECODE_ERRORS as exc:  # the notebook broke the serialiser
            return ProbeReply(ReplyKind.DAMAGED, reason="it could not be decoded: %s" % type(exc).__name__)
        if result is not None:
            return read_reply(op, fields, result)
        if outcome.ename:  # the probe itself raised: the notebook broke what it runs on
            return ProbeReply(ReplyKind.ERROR, raised=Raised("probe", outcome.ename, outcome.evalue, outcome.traceback))
        return ProbeReply(ReplyKind.DAMAGED, reason="the probe sent no reply")


def _result(outputs, nonce):
    """The decoded result that carries ``nonce`` among a call's outputs, or None."""
    for output in reversed(outputs):
        payload = output.get("data", {}).get(MIME)
        if payload is not None:
            result = json.loads(payload)
            if isinstance(result, dict) and result.get("nonce") == nonce:
                return {k: v if k in PLAIN_KEYS else decode(v) for k, v in result.items()}
    return None


def probe_sources(extensions=()):
    """Source of the kernel probe and of its ``extensions`` (modules of this package, e.g.
    ``kernel_probe_torch``), executed in that order in one namespace."""
    return [Path(kernel_probe.__file__).read_text(),
            *(Path(kernel_probe.__file__).with_name(name + ".py").read_text() for name in extensions)]


@functools.lru_cache(maxsize=None)
def _probe_module(extensions):
    """The probe with ``extensions`` as a module of its own (the plain probe is kernel_probe)."""
    if not extensions:
        return kernel_probe
    module = types.ModuleType("_cs231n_grader_probe_" + "_".join(extensions))
    for source in probe_sources(extensions):
        exec(compile(source, "<grader probe>", "exec"), vars(module))
    return module


class LocalBackend:
    """Runs probe operations in this process on the functions in ``namespace`` (a dict, or a
    list of dicts searched in order, as the notebook's and the cs231n modules' are)."""

    def __init__(self, namespace, extensions=(), layers="rnn_layers"):
        self.namespaces = namespace if isinstance(namespace, list) else [namespace]
        self.probe = _probe_module(tuple(extensions))
        self.sources = reference_sources(layers)
        self.reference = self.probe.Reference(self.sources)

    def request(self, op, timeout, **fields) -> ProbeReply:
        given = fields.pop("given_modules", {})
        reference = self.probe.Reference({**self.sources, **given}) if given else self.reference
        req = decode(json.loads(json.dumps(encode(dict(fields, op=op)))))
        self.probe.LOCAL_NAMESPACES = list(self.namespaces)
        try:
            result = self.probe.OPS[op](req, reference)
        finally:
            self.probe.LOCAL_NAMESPACES = None
        return read_reply(op, fields, {k: v if k in PLAIN_KEYS else decode(json.loads(json.dumps(encode(v))))
                                       for k, v in result.items()})
