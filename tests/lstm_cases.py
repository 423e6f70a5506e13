"""The lstm assignment's public checks (lstm_public.toml): read them, rebuild their inputs
and run an item on them with a given set of functions (the reference, or a student's)."""
from __future__ import annotations

import math
import re
import tomllib
from pathlib import Path

import numpy as np

from reference.gradient_check import eval_numerical_gradient, eval_numerical_gradient_array

PUBLIC = Path(__file__).with_name('lstm_public.toml')
LAYER_ITEMS = ('lstm_step_forward', 'lstm_step_backward', 'lstm_forward', 'lstm_backward')
FORWARD_OF = {'lstm_step_backward': 'lstm_step_forward', 'lstm_backward': 'lstm_forward'}
OUTPUTS = {'lstm_step_forward': ('next_h', 'next_c'), 'lstm_forward': ('h',)}
_SIZE = re.compile(r'(\d*)([A-Za-z_]\w*)')


def load(path=PUBLIC) -> dict:
    """{item: [case, ...]} as written in the TOML."""
    with open(path, 'rb') as f:
        return tomllib.load(f)


def size(entry, dims) -> int:
    """An int, a dim name ('H') or a multiple of one ('4H')."""
    if isinstance(entry, int):
        return entry
    match = _SIZE.fullmatch(entry)
    if match is None or match[2] not in dims:
        raise ValueError('bad size %r (dims %s)' % (entry, dims))
    return int(match[1] or 1) * dims[match[2]]


def build(spec: dict, dims: dict) -> np.ndarray:
    """One array from its spec; random kinds draw from np.random's global stream."""
    spec = dict(spec)
    scale = spec.pop('scale', None)
    if 'linspace' in spec:
        (lo, hi), shape = spec.pop('linspace'), tuple(size(s, dims) for s in spec.pop('shape'))
        out = np.linspace(lo, hi, num=math.prod(shape)).reshape(shape)
    elif 'randn' in spec:
        out = np.random.randn(*(size(s, dims) for s in spec.pop('randn')))
    elif 'randint' in spec:
        high, shape = size(spec.pop('randint'), dims), tuple(size(s, dims) for s in spec.pop('shape'))
        out = np.random.randint(high, size=shape)
    elif 'rand' in spec:
        draw = np.random.rand(*(size(s, dims) for s in spec.pop('rand')))
        out = draw < spec.pop('below') if 'below' in spec else draw > spec.pop('above')
    elif 'value' in spec:
        out = np.asarray(spec.pop('value'))
    else:
        raise ValueError('unknown spec %r' % (spec,))
    if spec:
        raise ValueError('unknown keys %s in a spec' % sorted(spec))
    return out if scale is None else out * scale


def inputs(case: dict) -> tuple[list, list]:
    """(args, upstream) of a case, drawn in the notebook's order after its seed."""
    if 'seed' in case:
        np.random.seed(case['seed'])
    dims, specs = case['dims'], case['args']
    args = [None] * len(specs)
    for position in case.get('draw_order', range(len(specs))):
        args[position] = build(specs[position], dims)
    return args, [build(spec, dims) for spec in case.get('upstream', ())]


def randomized(case: dict, seed: int) -> dict:
    """The case with the same shapes and fresh random args and upstream gradients."""
    def fresh(spec):
        if 'linspace' in spec:
            return {'randn': spec['shape']}
        return spec
    return dict(case, seed=seed, args=[fresh(s) for s in case['args']],
                upstream=[fresh(s) for s in case.get('upstream', ())])


def forward_outputs(item: str, fns: dict, case: dict) -> dict:
    """{output name: array} of a forward item on the case's inputs."""
    args, _ = inputs(case)
    return dict(zip(OUTPUTS[item], fns[item](*args)))


def backward_outputs(item: str, fns: dict, case: dict) -> list:
    """A backward item's gradients, through the cache of the same functions' forward."""
    args, upstream = inputs(case)
    cache = fns[FORWARD_OF[item]](*args)[-1]
    return list(fns[item](*upstream, cache))


def numeric_gradients(item: str, fns: dict, case: dict) -> list:
    """The notebook's numeric gradient of each forward argument, as its check cell computes it."""
    args, upstream = inputs(case)
    forward = fns[FORWARD_OF[item]]
    grads = []
    for arg in args:
        grads.append(sum(eval_numerical_gradient_array(lambda _, k=k: forward(*args)[k], arg, dout)
                         for k, dout in enumerate(upstream)))
    return grads


def model(cls, case: dict):
    """(model, features, captions): the case's args, then the model built from `model`."""
    (features, captions), _ = inputs(case)
    dims, spec = case['dims'], dict(case['model'])
    word_to_idx = spec.pop('word_to_idx')
    sizes = {k: size(spec.pop(k), dims) for k in ('input_dim', 'wordvec_dim', 'hidden_dim')}
    built = cls(word_to_idx, cell_type=spec.pop('cell_type'), dtype=np.dtype(spec.pop('dtype')).type, **sizes)
    if spec:
        raise ValueError('unknown model keys %s' % sorted(spec))
    if case['params'] != 'init':
        lo, hi = case['params']['linspace']
        for k, v in built.params.items():
            built.params[k] = np.linspace(lo, hi, num=v.size).reshape(*v.shape)
    return built, features, captions


def numeric_model_gradients(built, features, captions, h: float) -> dict:
    """{param: numeric gradient of the loss}, as the RNN notebook's model check computes it."""
    loss = lambda _: built.loss(features, captions)[0]
    return {k: eval_numerical_gradient(loss, built.params[k], verbose=False, h=h) for k in sorted(built.params)}


def rel_error(x, y) -> float:
    """The notebook's element-wise relative error."""
    return float(np.max(np.abs(x - y) / np.maximum(1e-8, np.abs(x) + np.abs(y))))


def error(x, y, metric: str = 'rel') -> float:
    """The error a case's metric names: 'rel' (default), 'abs' or 'norm'."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if metric == 'abs':
        return float(np.max(np.abs(x - y)))
    if metric == 'norm':
        return float(np.linalg.norm(x - y) / (np.linalg.norm(x) + np.linalg.norm(y)))
    if metric == 'rel':
        return rel_error(x, y)
    raise ValueError('unknown metric %r' % metric)
