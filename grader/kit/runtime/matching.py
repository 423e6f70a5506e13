"""Whether an output is a catalogued mistake's: shared by the grader's hints
(``check/mistakes.py``) and the student kit's (NumPy only, so the kit can carry it)."""
from __future__ import annotations

import numpy as np

MATCH = 1e-6  # norm error ‖got - want‖ / (‖got‖ + ‖want‖) within which an output is the mistake's


def agree(got, want):
    """Whether ``got`` (as the probe returned it) is ``want`` to ``MATCH``: same structure, same
    shapes, NaN and inf in the same places, and a norm error within ``MATCH`` elsewhere; None (a
    gradient autograd never delivered) is only None."""
    if want is None:
        return got is None
    if isinstance(want, dict):
        return isinstance(got, dict) and all(k in got and agree(got[k], v) for k, v in want.items())
    if isinstance(want, (list, tuple)):
        return isinstance(got, (list, tuple)) and len(got) == len(want) and all(map(agree, got, want))
    if isinstance(got, bool) or not isinstance(got, (np.ndarray, np.number, int, float)):
        return False
    got, want = np.asarray(got), np.asarray(want)
    if got.dtype.kind not in "biuf" or got.shape != want.shape:
        return False
    got, want = got.astype(np.float64), want.astype(np.float64)
    finite = np.isfinite(want)
    if not np.array_equal(np.isfinite(got), finite) or not np.array_equal(got[~finite], want[~finite], equal_nan=True):
        return False
    got, want = got[finite], want[finite]
    scale = np.linalg.norm(got) + np.linalg.norm(want)
    return bool(scale == 0 or np.linalg.norm(got - want) / scale <= MATCH)
