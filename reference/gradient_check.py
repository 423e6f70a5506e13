"""Numeric gradients and the notebooks' element-wise relative error.

As in CS231n, the numeric gradients perturb the caller's array x in place, one element
at a time, and put each element back exactly (even if f raises). Working on x itself is
what lets the notebooks check a model parameter with `lambda _: model.loss(...)[0]`.
"""
import numpy as np


def rel_error(x, y):
    """Return the largest element-wise relative error between x and y."""
    return np.max(np.abs(x - y) / (np.maximum(1e-8, np.abs(x) + np.abs(y))))


def _centred_difference(f, x, ix, h):
    """Return (f(x + h e_ix), f(x - h e_ix)), restoring x[ix] afterwards."""
    oldval = x[ix]
    try:
        x[ix] = oldval + h
        pos = np.copy(f(x))
        x[ix] = oldval - h
        neg = np.copy(f(x))
    finally:
        x[ix] = oldval
    return pos, neg


def eval_numerical_gradient(f, x, verbose=True, h=1e-5):
    """
    Centred-difference gradient of a scalar function f at x.

    Inputs:
    - f: Function of one argument returning a scalar
    - x: Array at which to evaluate the gradient; perturbed in place, then restored
    - verbose: Print each index and its gradient
    - h: Step size

    Returns:
    - grad: Array of the same shape as x
    """
    grad = np.zeros_like(x)
    for ix in np.ndindex(x.shape):
        pos, neg = _centred_difference(f, x, ix, h)
        grad[ix] = (pos - neg) / (2 * h)
        if verbose:
            print(ix, grad[ix])
    return grad


def eval_numerical_gradient_array(f, x, df, h=1e-5):
    """
    Centred-difference gradient of sum(f(x) * df) for an array-valued function f.

    Inputs:
    - f: Function of one argument returning an array
    - x: Array at which to evaluate the gradient; perturbed in place, then restored
    - df: Upstream gradient, of the shape of f(x)
    - h: Step size

    Returns:
    - grad: Array of the same shape as x
    """
    grad = np.zeros_like(x)
    for ix in np.ndindex(x.shape):
        pos, neg = _centred_difference(f, x, ix, h)
        grad[ix] = np.sum((pos - neg) * df) / (2 * h)
    return grad
