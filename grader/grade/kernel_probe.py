"""Probe helper that runs inside the student's kernel.

The grader sends this file's source to the kernel after the notebook ran, then
sends requests (JSON, arrays as base64 bytes). Each request calls student code on
fresh copies of the grader's inputs and publishes only the returned values, as a
display_data message of type ``MIME``. Nothing here decides a verdict: comparisons
happen in the grader's own process. The grader also imports this module for its
array codec, so both sides speak the same format.
"""
import base64
import contextlib
import io
import json
import sys
import time
import traceback
import types

import numpy as np

MIME = "application/x-cs231n-grader+json"
STUDENT_MODULES = ("cs231n.rnn_layers", "cs231n.classifiers.rnn")
OUTPUT_LIMIT = 20_000
MAX_ELEMENTS = 2_000_000  # no check needs more; a larger array is not sent back
PLAIN_KEYS = ("nonce", "output", "missing", "error", "found", "import_errors")  # JSON as they are
# A timeout interrupts the kernel: KeyboardInterrupt must get through to stop a batch.
STUDENT_ERRORS = (Exception, SystemExit)


# ---------------------------------------------------------------- codec
def encode(value):
    """Turn arrays, numbers, tuples and dicts into JSON-safe data."""
    if isinstance(value, np.ndarray):
        arr = np.ascontiguousarray(value)
        if arr.dtype.kind not in "biufc":
            return {"__type__": "ndarray of dtype %s" % arr.dtype}
        if arr.size > MAX_ELEMENTS:
            return {"__type__": "ndarray of shape %s (too large to compare)" % (arr.shape,)}
        return {"__nd__": base64.b64encode(arr.tobytes()).decode("ascii"),
                "dtype": arr.dtype.str, "shape": list(value.shape)}  # ascontiguousarray makes 0-d 1-d
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, np.floating):  # keeps its dtype; a plain float stays a float
        return {"__scalar__": float(value), "dtype": value.dtype.str}
    if isinstance(value, float):
        return value
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, (tuple, list)):
        return [encode(v) for v in value]
    if isinstance(value, dict):
        return {"__dict__": [[str(k), encode(v)] for k, v in value.items()]}
    return {"__type__": type(value).__name__}


def decode(data):
    """Inverse of ``encode``; arrays come back as fresh writable copies."""
    if isinstance(data, list):
        return [decode(v) for v in data]
    if isinstance(data, dict):
        if "__nd__" in data:
            raw = base64.b64decode(data["__nd__"])
            return np.frombuffer(raw, dtype=np.dtype(data["dtype"])).reshape(data["shape"]).copy()
        if "__scalar__" in data:
            return np.dtype(data["dtype"]).type(data["__scalar__"])
        if "__dict__" in data:
            return {k: decode(v) for k, v in data["__dict__"]}
        if "__type__" in data:
            return Opaque(data["__type__"])
        return {k: decode(v) for k, v in data.items()}
    return data


class Opaque:
    """A returned value that cannot cross the boundary (only its type name does)."""

    def __init__(self, type_name):
        self.type_name = type_name

    def __repr__(self):
        return "<%s>" % self.type_name


# ---------------------------------------------------------------- finding code
IMPORT_ERRORS = {}  # student module -> why importing it failed
LOCAL_NAMESPACES = None  # set when the probe runs in-process (calibration, unit tests)


def _namespaces():
    """Dicts where student functions may live: the notebook, then cs231n modules."""
    if LOCAL_NAMESPACES is not None:
        return list(LOCAL_NAMESPACES)
    spaces = []
    try:
        spaces.append(get_ipython().user_ns)  # noqa: F821 (defined in IPython)
    except NameError:
        pass
    for name in STUDENT_MODULES:
        module = sys.modules.get(name)
        if module is None:
            try:
                module = __import__(name, fromlist=["_"])
            except STUDENT_ERRORS as exc:
                IMPORT_ERRORS[name] = "%s: %s" % (type(exc).__name__, exc)
        if module is not None:
            spaces.append(vars(module))
    return spaces


def _missing(target):
    """The 'not found' result, with why the student's modules did not import, if they did not."""
    return {"missing": target, "import_errors": dict(IMPORT_ERRORS)}


def resolve(name):
    """Return the student's object for ``name`` ('f' or 'Class.method'), or None."""
    owner, _, attr = name.partition(".")
    for space in _namespaces():
        obj = space.get(owner)
        if obj is None or isinstance(obj, types.ModuleType):
            continue
        if attr:
            obj = getattr(obj, attr, None)
        if callable(obj):
            return obj
    return None


def _source(obj):
    import inspect
    with contextlib.suppress(BaseException):
        return inspect.getsource(obj)
    return None


# ---------------------------------------------------------------- reference patching
class Reference:
    """The grader's own modules, executed from source in private namespaces."""

    def __init__(self, sources):
        package = types.ModuleType("_grader_ref")
        package.__path__ = []
        self.modules = {}
        saved = {k: sys.modules.get(k) for k in ["_grader_ref"] + ["_grader_ref." + n for n in sources]}
        sys.modules["_grader_ref"] = package
        try:
            for name, src in sources.items():
                module = types.ModuleType("_grader_ref." + name)
                module.__package__ = "_grader_ref"
                sys.modules[module.__name__] = module
                setattr(package, name, module)
                exec(compile(src, "<grader reference %s>" % name, "exec"), vars(module))
                self.modules[name] = module
        finally:
            for key, old in saved.items():
                if old is None:
                    sys.modules.pop(key, None)
                else:
                    sys.modules[key] = old

    def function(self, name):
        for module in self.modules.values():
            if hasattr(module, name):
                return getattr(module, name)
        raise KeyError(name)


@contextlib.contextmanager
def patched(names, reference, target=None):
    """Temporarily replace student functions ``names`` with the grader's."""
    spaces = _namespaces()
    if target is not None and hasattr(target, "__globals__"):
        spaces.append(target.__globals__)
    saved = []
    for name in names:
        for space in spaces:
            saved.append((space, name, space.get(name, saved)))
            space[name] = reference.function(name)
    try:
        yield
    finally:
        for space, name, old in reversed(saved):
            if old is saved:
                space.pop(name, None)
            else:
                space[name] = old


# ---------------------------------------------------------------- operations
def as_tuple(out):
    return tuple(out) if isinstance(out, (tuple, list)) else (out,)


def perturbed(fn, args, wrt, out_index, h):
    """f(args with one element nudged by +h and -h), for each element of each arg in wrt.
    ``out_index``: the output to keep, or a list of outputs, kept flattened end to end
    (a forward with several outputs, each with its upstream gradient)."""
    def kept(outputs):
        if isinstance(out_index, list):
            return np.concatenate([np.ravel(np.asarray(outputs[k], dtype=np.float64)) for k in out_index])
        return np.asarray(outputs[out_index], dtype=np.float64)

    result = []
    for i in wrt:
        plus, minus = [], []
        for flat in range(np.asarray(args[i]).size):
            for sign, bucket in ((1, plus), (-1, minus)):
                trial = [np.copy(a) if isinstance(a, np.ndarray) else a for a in args]
                trial[i].flat[flat] += sign * h
                bucket.append(kept(as_tuple(fn(*trial))))
        result.append([np.stack(plus), np.stack(minus)])
    return result


def _guarded(req, ref, target, steps):
    """Run ``steps(out)``, a generator that yields the name of each stage before doing it,
    with the grader's substitutes in place; an exception is recorded with its stage."""
    if resolve(target) is None:
        return _missing(target)
    out, stage = {}, "start"
    with patched(req.get("patch", []), ref, resolve(target)):
        try:
            for stage in steps(out):
                pass
        except STUDENT_ERRORS as exc:  # student code may raise anything but an interrupt
            out["error"] = _error(exc, stage, req.get("patch", ()))
    return out


def fresh(args):
    """Copies of the array arguments, so that student code cannot change the originals."""
    return [np.copy(a) if isinstance(a, np.ndarray) else a for a in args]


def op_layer(req, ref):
    """Call a layer's forward (and backward with the forward's own cache)."""
    forward_name, backward_name = req["forward"], req.get("backward")
    args = decode(req["args"])

    def steps(out):
        yield "forward"
        student_forward = resolve(forward_name)
        forward = ref.function(forward_name) if req.get("forward_impl") == "reference" else student_forward
        fwd = as_tuple(forward(*fresh(args)))
        out["forward"] = list(fwd[:-1] if req.get("returns_cache") else fwd)
        if backward_name:
            yield "backward"
            out["backward"] = list(as_tuple(resolve(backward_name)(*decode(req["upstream"]), fwd[-1])))
        if req.get("perturb"):
            yield "numeric gradient"
            p = req["perturb"]
            out["perturbed"] = perturbed(student_forward, args, p["wrt"], p.get("output", 0), p["h"])
    if resolve(forward_name) is None and req.get("forward_impl") != "reference":
        return _missing(forward_name)
    return _guarded(req, ref, backward_name or forward_name, steps)


def _model(req):
    init = dict(req["init"])
    init["dtype"] = np.dtype(init["dtype"]).type
    model = resolve("CaptioningRNN")(**init)
    for name, value in decode(req["params"]).items():
        model.params[name] = value
    return model


def op_model_loss(req, ref):
    def steps(out):
        yield "constructor"
        model = _model(req)
        features, captions = decode(req["features"]), decode(req["captions"])
        yield "loss"
        out["loss"], out["grads"] = model.loss(np.copy(features), np.copy(captions))
        if req.get("perturb"):
            yield "numeric gradient"
            out["perturbed"] = perturb_params(model, features, captions, req["perturb"])
    return _guarded(req, ref, "CaptioningRNN.loss", steps)


def perturb_params(model, features, captions, spec):
    result = {}
    for name in spec["params"]:
        base = model.params[name]
        plus, minus = [], []
        for flat in range(base.size):
            for sign, bucket in ((1, plus), (-1, minus)):
                trial = np.copy(base)
                trial.flat[flat] += sign * spec["h"]
                model.params[name] = trial
                bucket.append(float(model.loss(np.copy(features), np.copy(captions))[0]))
        model.params[name] = base
        result[name] = [np.array(plus), np.array(minus)]
    return result


def op_model_sample(req, ref):
    def steps(out):
        yield "constructor"
        model = _model(req)
        yield "sample"
        kwargs = {"max_length": req["max_length"]} if req.get("max_length") else {}
        out["captions"] = model.sample(decode(req["features"]), **kwargs)
    return _guarded(req, ref, "CaptioningRNN.sample", steps)


def op_overfit(req, ref):
    def steps(out):
        yield "constructor"
        np.random.seed(req["seed"])
        model = resolve("CaptioningRNN")(**req["init"])
        data = decode(req["data"])
        data["train_urls"] = np.asarray(data["train_urls"])
        solver = ref.modules["captioning_solver"].CaptioningSolver(model, data, verbose=False, **req["solver"])
        yield "training"
        began = time.perf_counter()
        solver.train()
        out["train_seconds"] = time.perf_counter() - began
        out["loss_history"] = np.asarray(solver.loss_history, dtype=np.float64)
    return _guarded(req, ref, "CaptioningRNN.loss", steps)


def op_resolve(req, ref):
    found = {}
    for name in req["names"]:
        obj = resolve(name)
        found[name] = None if obj is None else {"source": _source(obj), "module": getattr(obj, "__module__", None)}
    return {"found": found}


def op_import_check(req, ref):
    """Try to import each module; report the failures, then forget the package so the
    notebook imports it afresh (after the grader supplied replacements)."""
    errors = {}
    for name in req["modules"]:
        try:
            __import__(name, fromlist=["_"])
        except STUDENT_ERRORS as exc:
            errors[name] = "%s: %s" % (type(exc).__name__, exc)
    for name in [m for m in sys.modules if m == "cs231n" or m.startswith("cs231n.")]:
        del sys.modules[name]
    IMPORT_ERRORS.clear()
    return {"import_errors": errors}


def op_batch(req, ref):
    """Several operations in one round trip; each keeps its own errors."""
    return {"results": [OPS[call["op"]](call, ref) for call in req["calls"]]}


OPS = {"batch": op_batch, "layer": op_layer, "model_loss": op_model_loss, "model_sample": op_model_sample,
       "overfit": op_overfit, "resolve": op_resolve, "import_check": op_import_check}


def _error(exc, stage, substituted=()):
    lines = traceback.format_exception(type(exc), exc, exc.__traceback__)
    text = "".join(lines[-12:])
    return {"stage": stage, "ename": type(exc).__name__, "evalue": str(exc)[:2000], "traceback": text[-6000:],
            "within": _raised_within(exc, substituted)}


def _raised_within(exc, substituted):
    """The grader's function of ``substituted`` that raised ``exc`` in its own code (numpy's aside), or ''."""
    codes = [f.f_code for f, _ in traceback.walk_tb(exc.__traceback__)
             if not f.f_code.co_filename.startswith((np.__path__[0], "<__array_function__"))]
    name = ""
    while codes and codes[-1].co_filename.startswith("<grader reference "):
        name = codes.pop().co_name
    return name if name in substituted else ""


class _Capped(io.StringIO):
    def write(self, s):
        if self.tell() < OUTPUT_LIMIT:
            super().write(s[: OUTPUT_LIMIT - self.tell()])
        return len(s)


class Probe:
    """Entry point kept in the kernel between requests. It holds no reference: each request
    brings the few reference functions it needs, dropped when it is done."""

    def run(self, request_text):
        from IPython.display import publish_display_data
        req = decode(json.loads(request_text))
        captured = _Capped()
        with contextlib.redirect_stdout(captured), contextlib.redirect_stderr(captured):
            try:
                result = OPS[req["op"]](req, Reference(req.pop("reference", {})))
            except STUDENT_ERRORS as exc:
                result = {"error": _error(exc, "probe")}
        result["nonce"] = req["nonce"]
        result["output"] = captured.getvalue()
        publish_display_data({MIME: json.dumps(encode_tree(result))})


def encode_tree(result):
    """Encode every value of a result dict (keys stay plain)."""
    return {k: (v if k in PLAIN_KEYS else encode(v)) for k, v in result.items()}
