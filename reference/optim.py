"""First-order update rules, with CS231n's interface.

Each rule has the form next_w, config = update(w, dw, config): w and dw are arrays of
the same shape, config holds hyperparameters and state (Adam's moments) between calls.
No rule modifies w in place.
"""
import numpy as np


def sgd(w, dw, config=None):
    """
    Vanilla stochastic gradient descent.

    config format:
    - learning_rate: Scalar learning rate.
    """
    if config is None:
        config = {}
    config.setdefault('learning_rate', 1e-2)
    return w - config['learning_rate'] * dw, config


def adam(w, dw, config=None):
    """
    Adam update rule, with moving averages of the gradient and its square and a bias
    correction. As in CS231n's later versions, t is incremented before the bias
    correction, so the first update uses t = 1.

    config format:
    - learning_rate: Scalar learning rate.
    - beta1: Decay rate for moving average of first moment of gradient.
    - beta2: Decay rate for moving average of second moment of gradient.
    - epsilon: Small scalar used for smoothing to avoid dividing by zero.
    - m: Moving average of gradient.
    - v: Moving average of squared gradient.
    - t: Iteration number.
    """
    if config is None:
        config = {}
    config.setdefault('learning_rate', 1e-3)
    config.setdefault('beta1', 0.9)
    config.setdefault('beta2', 0.999)
    config.setdefault('epsilon', 1e-8)
    config.setdefault('m', np.zeros_like(w))
    config.setdefault('v', np.zeros_like(w))
    config.setdefault('t', 0)

    beta1, beta2 = config['beta1'], config['beta2']
    config['t'] += 1
    config['m'] = beta1 * config['m'] + (1 - beta1) * dw
    config['v'] = beta2 * config['v'] + (1 - beta2) * dw ** 2
    m_hat = config['m'] / (1 - beta1 ** config['t'])
    v_hat = config['v'] / (1 - beta2 ** config['t'])
    next_w = w - config['learning_rate'] * m_hat / (np.sqrt(v_hat) + config['epsilon'])
    return next_w, config
