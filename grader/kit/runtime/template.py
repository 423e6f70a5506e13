"""What the untouched template returns, recognised and named the same way by the grader's
checks and the student kit's (NumPy only, so the kit carries it). The reference never
returns these where the checks ask (the kinds make sure), so they mean "not implemented"."""
from __future__ import annotations

import numpy as np

LOSS = "loss returned the template's zero loss (or None): the template is untouched"
SAMPLE = "sample returned only <NULL>, as the template does, where greedy decoding gives other words"


def layer(function):
    """The message for a layer that returned the template's None."""
    return "%s returned None (the template is untouched)" % function


def untouched_layer(values):
    """The template's layers return only None (``next_h, cache = None, None``); the reference
    never returns None, so nothing but None is the untouched TODO, and an empty return is not."""
    return bool(values) and all(v is None for v in values)


def untouched_loss(loss, grads):
    """The template's ``loss`` returns ``(0.0, {})`` (the PyTorch one ``0.0``, which the probe
    reports with no gradients); a None loss counts as nothing returned."""
    if loss is None:
        return True
    return isinstance(grads, dict) and not grads and isinstance(loss, (int, float, np.number)) and loss == 0


def untouched_sample(captions, null, shape):
    """The template's ``sample`` returns ``self._null * np.ones((N, max_length))``."""
    return isinstance(captions, np.ndarray) and captions.shape == shape and bool(np.all(captions == null))
