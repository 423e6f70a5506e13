"""PyTorch operations of the kernel probe, for the ``rnn-pytorch`` assignment (seed 000).

Installed into the student's kernel after ``kernel_probe``: the grader execs this source
in the same module namespace, right after kernel_probe's. From that namespace it uses
``resolve``, ``_guarded``, ``perturbed`` and ``as_tuple``; it rebinds ``STUDENT_MODULES``
to the PyTorch files and adds its operations to ``OPS``. Requests and replies are those
of every other operation: NumPy arrays in, NumPy arrays out. torch is imported inside the
operations only, so the grader's own process never needs it.

Operations (extra fields of the request -> values of the reply):

- ``autograd_layer``: ``forward`` (name), ``args``, ``wrt`` (indices of float args),
  ``outputs`` (tensors returned, default 1), ``upstream`` (one array per output; absent
  for a scalar loss), optional ``perturb`` ({"wrt", "h", "output"}, as ``layer``)
  -> ``forward`` (one array per output), ``grads`` (one per ``wrt`` index, None where no
  gradient arrived), ``unreached`` (the ``wrt`` indices without one), ``perturbed``.
- ``autograd_model_loss``: ``init`` (constructor kwargs, ``dtype`` a name such as
  "float64"), ``params``, ``features``, ``captions``, optional ``perturb`` ({"params",
  "h"}) -> ``loss`` (0-d array), ``grads`` ({param: array or None}), ``unreached`` and
  ``replaced`` (params without a gradient; params the loss rebound), ``perturbed``.
- ``torch_sample``: ``init``, ``params``, ``features``, optional ``max_length``
  -> ``captions``.
- ``torch_overfit``: ``init``, ``data``, ``solver`` (CaptioningSolverPytorch kwargs),
  ``seed``; the request's ``reference`` holds ``coco_utils`` then
  ``captioning_solver_pytorch`` -> ``loss_history``, ``train_seconds``.

Float arrays become tensors of their own dtype, integer arrays int64 tensors, boolean
arrays bool tensors. A result that is not a tensor of the inputs' dtype (or not a
scalar where a loss is due) raises ``WrongResult`` at its stage.
"""
import time

import numpy as np

STUDENT_MODULES = ("cs231n.rnn_layers_pytorch", "cs231n.classifiers.rnn_pytorch")


class WrongResult(Exception):
    """Student code returned something other than the tensors the operation needs."""


def _tensor(value):
    """A fresh tensor for a request's array (integers as int64); other values unchanged."""
    import torch
    if not isinstance(value, np.ndarray):
        return value
    if value.dtype.kind in "iu":
        return torch.tensor(value, dtype=torch.int64)
    return torch.tensor(value)


def _dtype_name(dtype):
    """'float32' for torch.float32."""
    return str(dtype).replace("torch.", "")


def _checked(value, what, dtype, scalar=False):
    """``value`` if it is a tensor of ``dtype`` (holding one number if ``scalar``)."""
    import torch
    if isinstance(value, (tuple, list)):
        raise WrongResult("%s returned a %s of %d values: return only the tensor (no cache)"
                          % (what, type(value).__name__, len(value)))
    if not isinstance(value, torch.Tensor):
        raise WrongResult("%s returned a %s, not a torch tensor" % (what, type(value).__name__))
    if value.dtype != dtype:
        raise WrongResult("%s returned a %s tensor: keep the inputs' dtype (%s)"
                          % (what, _dtype_name(value.dtype), _dtype_name(dtype)))
    if scalar and value.numel() != 1:
        raise WrongResult("%s returned a tensor of shape %s where a scalar loss is due"
                          % (what, tuple(value.shape)))
    return value


def _outputs(result, what, count, dtype, scalar):
    """The ``count`` tensors a forward returned, each checked."""
    if count == 1:
        return [_checked(result, what, dtype, scalar)]
    if not isinstance(result, (tuple, list)) or len(result) != count:
        got = "%d values" % len(result) if isinstance(result, (tuple, list)) else "a %s" % type(result).__name__
        raise WrongResult("%s returned %s where %d tensors are due (no cache)" % (what, got, count))
    return [_checked(value, what, dtype, scalar) for value in result]


def _grads(outputs, upstream, leaves):
    """Gradients of ``leaves`` from back-propagating ``upstream`` (ones for a scalar loss)
    through ``outputs``; None for a leaf the graph does not reach."""
    import torch
    seeds = [torch.ones_like(t) if u is None else torch.tensor(u, dtype=t.dtype)
             for t, u in zip(outputs, upstream)]
    live = [(t, s) for t, s in zip(outputs, seeds) if t.requires_grad]
    if not live or not leaves:
        return [None] * len(leaves)
    grads = torch.autograd.grad([t for t, _ in live], leaves, [s for _, s in live], allow_unused=True)
    return [None if g is None else g.detach().cpu().numpy() for g in grads]


def _float_dtype(arrays):
    """The torch dtype of the first float array: the one results must keep."""
    import torch
    kinds = [a.dtype for a in arrays if isinstance(a, np.ndarray) and a.dtype.kind == "f"]
    return getattr(torch, kinds[0].name)


def _no_grad_forward(fn):
    """``fn`` on NumPy arrays, without autograd: what the notebook's numeric checks call."""
    def call(*args):
        import torch
        with torch.no_grad():
            result = fn(*[_tensor(a) for a in args])
        return tuple(t.cpu().numpy() if isinstance(t, torch.Tensor) else t for t in as_tuple(result))  # noqa: F821
    return call


def op_autograd_layer(req, ref):
    """Call a layer's forward on tensors and back-propagate through it with autograd."""
    name, args, wrt = req["forward"], req["args"], req.get("wrt", [])
    count = req.get("outputs", 1)
    upstream = req.get("upstream") or [None] * count

    def steps(out):
        yield "forward"
        inputs = [_tensor(a) for a in args]
        for i in wrt:
            inputs[i].requires_grad_()
        result = resolve(name)(*inputs)  # noqa: F821
        if result is None or (isinstance(result, tuple) and all(r is None for r in result)):
            out.update(forward=[None] * count, grads=[None] * len(wrt), unreached=[])  # the untouched TODO
            return
        outputs = _outputs(result, name, count, _float_dtype(args), scalar=req.get("scalar", req.get("upstream") is None))
        out["forward"] = [t.detach().cpu().numpy() for t in outputs]
        yield "backward"
        out["grads"] = _grads(outputs, upstream, [inputs[i] for i in wrt])
        out["unreached"] = [i for i, g in zip(wrt, out["grads"]) if g is None]
        if req.get("perturb"):
            yield "numeric gradient"
            p = req["perturb"]
            out["perturbed"] = perturbed(_no_grad_forward(resolve(name)), args,  # noqa: F821
                                          p["wrt"], p.get("output", 0), p["h"])
    return _guarded(req, ref, name, steps)  # noqa: F821


def _init(req):
    """Constructor kwargs of the request, its dtype name made a torch dtype."""
    import torch
    init = dict(req["init"])
    if "dtype" in init:
        init["dtype"] = getattr(torch, init["dtype"])
    return init


def _torch_model(req):
    """The student's model with the request's params; returns (model, the param tensors)."""
    model = resolve("CaptioningRNN")(**_init(req))  # noqa: F821
    params = {name: _tensor(value) for name, value in req["params"].items()}
    for name, value in params.items():
        model.params[name] = value
    return model, params


def op_autograd_model_loss(req, ref):
    """CaptioningRNN.loss on tensors, and autograd's gradient of every param."""
    def steps(out):
        yield "constructor"
        model, params = _torch_model(req)
        features, captions = req["features"], req["captions"]
        for value in params.values():
            value.requires_grad_()
        yield "loss"
        dtype = _float_dtype(list(req["params"].values()))
        loss = model.loss(_tensor(features), _tensor(captions))
        if loss is None or (isinstance(loss, (int, float)) and loss == 0):  # the untouched TODO's 0.0
            out.update(loss=loss, grads={}, unreached=[], replaced=[])
            return
        loss = _checked(loss, "CaptioningRNN.loss", dtype, scalar=True)
        out["loss"] = loss.detach().cpu().numpy()
        out["replaced"] = sorted(k for k, v in params.items() if model.params.get(k) is not v)
        yield "backward"
        grads = _grads([loss], [None], list(params.values()))
        out["grads"] = dict(zip(params, grads))
        out["unreached"] = [k for k, g in out["grads"].items() if g is None]
        if req.get("perturb"):
            yield "numeric gradient"
            for value in params.values():
                value.requires_grad_(False)
            out["perturbed"] = _perturb_torch_params(model, params, features, captions, req["perturb"])
    return _guarded(req, ref, "CaptioningRNN.loss", steps)  # noqa: F821


def _perturb_torch_params(model, params, features, captions, spec):
    """Losses with one element of a param nudged by +h and -h, for each element."""
    import torch
    result = {}
    for name in spec["params"]:
        base = params[name].detach().numpy()
        plus, minus = [], []
        for flat in range(base.size):
            for sign, bucket in ((1, plus), (-1, minus)):
                trial = np.copy(base)
                trial.flat[flat] += sign * spec["h"]
                model.params[name] = _tensor(trial)
                with torch.no_grad():
                    bucket.append(float(model.loss(_tensor(features), _tensor(captions))))
        model.params[name] = params[name]
        result[name] = [np.array(plus), np.array(minus)]
    return result


def op_torch_sample(req, ref):
    """CaptioningRNN.sample on a features tensor; the captions come back as an array."""
    def steps(out):
        import torch
        yield "constructor"
        model, _ = _torch_model(req)
        yield "sample"
        kwargs = {"max_length": req["max_length"]} if req.get("max_length") else {}
        captions = model.sample(_tensor(req["features"]), **kwargs)
        if not isinstance(captions, torch.Tensor):
            raise WrongResult("CaptioningRNN.sample returned a %s, not a torch tensor" % type(captions).__name__)
        out["captions"] = captions.detach().cpu().numpy()
    return _guarded(req, ref, "CaptioningRNN.sample", steps)  # noqa: F821


def op_torch_overfit(req, ref):
    """Train the student's model with the given CaptioningSolverPytorch (the grader's copy)."""
    def steps(out):
        import torch
        yield "constructor"
        np.random.seed(req["seed"])
        torch.manual_seed(req["seed"])
        model = resolve("CaptioningRNN")(**_init(req))  # noqa: F821
        data = dict(req["data"])
        data["train_urls"] = np.asarray(data["train_urls"])
        solver_class = ref.modules["captioning_solver_pytorch"].CaptioningSolverPytorch
        solver = solver_class(model, data, verbose=False, **req["solver"])
        yield "training"
        began = time.perf_counter()
        solver.train()
        out["train_seconds"] = time.perf_counter() - began
        out["loss_history"] = np.asarray([float(v) for v in solver.loss_history], dtype=np.float64)
    return _guarded(req, ref, "CaptioningRNN.loss", steps)  # noqa: F821


OPS.update({"autograd_layer": op_autograd_layer, "autograd_model_loss": op_autograd_model_loss,  # noqa: F821
            "torch_sample": op_torch_sample, "torch_overfit": op_torch_overfit})
