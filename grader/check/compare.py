"""Compare what the student's code returned with what it should have returned.

Pure functions, run in the grader's process. The ladder stops at the first of:
nothing returned, wrong type, wrong shape, wrong dtype kind, NaN/inf; only then
is the error measured, and a failure says how large, against what threshold, how
many elements differ and where the worst one is.
"""
from __future__ import annotations

from dataclasses import dataclass, fields
from functools import partial

import numpy as np

from ..grade.kernel_probe import Opaque


@dataclass
class CheckResult:
    """One comparison. ``hint`` (what to look at when it fails) is kept apart from
    ``message``: results.json carries it once, on the item, as the first failing check's hint."""

    name: str
    kind: str  # value | gradient | numeric-gradient | sample | training
    visibility: str  # public | hidden
    metric: str
    value: float | None
    threshold: float | None
    passed: bool
    message: str = ""
    where: list | None = None  # on a failed array comparison: error per element, 0..1, as rows
    hint: str = ""
    inputs: dict | None = None  # the case's arrays by parameter name: {"x": {"shape": [2, 3], "dtype": "float64"}}
    caption: dict | None = None  # a failed sample check's first differing row (sampling.py)

    def to_json(self) -> dict:
        """The results.json ``checks`` entry (the hint goes on the item; ``inputs`` and ``caption`` only when set)."""
        return {f.name: getattr(self, f.name) for f in fields(self)
                if f.name != "hint" and not (f.name in ("inputs", "caption") and getattr(self, f.name) is None)}

    @classmethod
    def from_json(cls, data) -> CheckResult:
        return cls(**{f.name: data[f.name] for f in fields(cls) if f.name in data})


def rel_error(x, y):
    """CS231n's element-wise relative error (the notebook's metric), computed here."""
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    return float(np.max(np.abs(x - y) / np.maximum(1e-8, np.abs(x) + np.abs(y)), initial=0.0))


def norm_error(x, y):
    """‖x - y‖ / (‖x‖ + ‖y‖): stable on random inputs where tiny elements blow up rel_error."""
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    denom = np.linalg.norm(x) + np.linalg.norm(y)
    return float(np.linalg.norm(x - y) / denom) if denom > 0 else 0.0


METRICS = {"rel_error": rel_error, "norm_error": norm_error}


def describe(value):
    if value is None:
        return "None"
    if isinstance(value, Opaque):
        return "a %s" % value.type_name
    if isinstance(value, np.ndarray):
        return "an array of shape %s and dtype %s" % (tuple(value.shape), value.dtype)
    return "a %s" % type(value).__name__


def ladder(actual, expected, label, input_dtype="float64"):
    """Return a failure message if ``actual`` cannot be compared with ``expected``.

    Dtype rule: float64 inputs must give float64 results (float32 loses the digits the
    checks measure, and the notebook's own checks fail it too); float32 inputs may give
    float32 or float64.
    """
    if actual is None:
        return "%s is None (the function returned nothing for it)" % label
    if isinstance(actual, (list, tuple, dict, Opaque, str)):
        return "%s should be an array, got %s" % (label, describe(actual))
    actual_arr, expected_arr = np.asarray(actual), np.asarray(expected)
    if actual_arr.dtype.kind not in "biuf":
        return "%s has dtype %s; expected numbers" % (label, actual_arr.dtype)
    if actual_arr.shape != expected_arr.shape:
        return "%s has shape %s, expected %s" % (label, tuple(actual_arr.shape), tuple(expected_arr.shape))
    if expected_arr.dtype.kind == "f" and actual_arr.dtype.kind != "f":
        return "%s has integer dtype %s; expected floating point" % (label, actual_arr.dtype)
    if expected_arr.dtype.kind in "iu" and actual_arr.dtype.kind not in "iu":
        return "%s has dtype %s; expected integer word ids" % (label, actual_arr.dtype)
    if input_dtype == "float64" and actual_arr.dtype.kind == "f" and actual_arr.dtype.itemsize < 8:
        return "%s has dtype %s for float64 inputs; keep the inputs' dtype" % (label, actual_arr.dtype)
    if actual_arr.dtype.kind == "f" and not np.all(np.isfinite(actual_arr)):
        return "%s contains NaN or inf (%d of %d elements)" % (
            label, int(np.sum(~np.isfinite(actual_arr))), actual_arr.size)
    return None


def where_worst(actual, expected):
    """'k/n elements differ; worst at [i, j]: got a, expected b'."""
    a = np.asarray(actual, dtype=np.float64)
    e = np.asarray(expected, dtype=np.float64)
    diff = np.abs(a - e)
    scale = np.maximum(1e-8, np.abs(a) + np.abs(e))
    bad = int(np.sum(diff / scale > 1e-6))
    if a.ndim == 0:
        return "got %.8g, expected %.8g" % (a, e)
    idx = np.unravel_index(int(np.argmax(diff)), a.shape)
    return "%d/%d elements differ; worst at %s: got %.8g, expected %.8g" % (
        bad, a.size, list(map(int, idx)), a[idx], e[idx])


def compare(name, actual, expected, *, metric, threshold, kind="value", visibility="hidden",
            label="output", hint="", input_dtype="float64"):
    """One check: the ladder, then ``metric(actual, expected) <= threshold``."""
    problem = ladder(actual, expected, label, input_dtype)
    if problem:
        return CheckResult(name, kind, visibility, metric, None, threshold, False, problem)
    value = METRICS[metric](actual, expected)
    if value <= threshold:
        return CheckResult(name, kind, visibility, metric, value, threshold, True)
    message = "%s: %s %.3g > %.3g; %s" % (label, metric, value, threshold, where_worst(actual, expected))
    return CheckResult(name, kind, visibility, metric, value, threshold, False, message,
                       error_map(actual, expected), hint)


def unreached(name, label, index, function, visibility):
    """The failed check of a gradient autograd never delivered to argument ``index`` (``label``)."""
    return CheckResult(name, "gradient", visibility, "", None, None, False, (
        "no gradient reached %s (argument %d of %s): the output does not depend on it, or its graph was cut "
        "(.numpy(), .detach(), .data, a new tensor built from values, or .item())" % (label, index, function)))


def error_map(actual, expected, limit=32):
    """Element-wise error as rows of numbers in 0..1 (log scale, 1e-12 .. 1), for drawing.

    Arrays are viewed as (first axis, everything else); larger ones are cut to ``limit``.
    """
    a = np.asarray(actual, dtype=np.float64)
    if a.ndim == 0:
        return None
    e = np.asarray(expected, dtype=np.float64)
    err = np.abs(a - e) / np.maximum(1e-8, np.abs(a) + np.abs(e))
    grid = err.reshape(err.shape[0], -1)[:limit, :limit]
    scaled = np.clip((np.log10(np.maximum(grid, 1e-12)) + 12) / 12, 0, 1)
    return [[round(float(v), 3) for v in row] for row in scaled]


def numeric_gradient(plus, minus, upstream, h):
    """Centred difference from the perturbed outputs the probe returned."""
    plus, minus = np.asarray(plus, dtype=np.float64), np.asarray(minus, dtype=np.float64)
    if upstream is None:
        return (plus - minus) / (2 * h)
    up = np.asarray(upstream, dtype=np.float64).reshape(1, -1)
    return ((plus - minus).reshape(plus.shape[0], -1) * up).sum(axis=1) / (2 * h)


def numeric_gradient_checks(case_name, grads, labels, wrt, perturbed, upstream, shapes, h, visibility, judged_by,
                            skip_unused=False):
    """(checks, notes) of ``grads`` (one per ``wrt`` index, named by ``labels``) against the numeric
    gradients of a forward: ``perturbed`` holds its outputs with each element of argument
    ``wrt[slot]`` (of shape ``shapes[slot]``) nudged by +h and -h. ``judged_by(check, slot, label)``
    completes ``check``, a ``compare`` waiting for its metric and threshold. ``skip_unused``: an
    argument the forward does not use is noted, not judged (its numeric gradient is all zeros)."""
    checks, notes, judged = [], [], 0
    for slot, (plus, minus) in enumerate(perturbed[:len(wrt)]):
        label = labels[slot]
        name = "%s: %s vs numeric gradient of your forward" % (case_name, label)
        try:
            num = numeric_gradient(plus, minus, upstream, h).reshape(shapes[slot])
        except ValueError:
            checks.append(CheckResult(name, "numeric-gradient", visibility, "", None, None, False,
                                      "your forward's output has shape %s, expected %s" % (
                                          np.shape(plus)[1:], np.shape(upstream))))
            continue
        if skip_unused and not np.any(num):
            notes.append("%s: %s not judged: your forward does not use that input" % (case_name, label))
            continue
        judged += 1
        checks.append(judged_by(partial(compare, name, grads[slot], num, kind="numeric-gradient",
                                        visibility=visibility, label=label), slot, label))
    if skip_unused and not judged:
        checks.append(CheckResult("%s: gradients" % case_name, "numeric-gradient", visibility, "", None, None, False,
                                  "your forward uses none of its inputs"))
    return checks, notes


def greedy_words_check(name, visibility, captions, N, max_length, passed_max_length, words, best_word):
    """(the check of ``captions`` against greedy decoding, (row, step) of the first wrong word or
    None). ``best_word(n, t, word)`` is None when ``word`` is right at step ``t`` of row ``n``,
    else the word greedy decoding takes there; a row is judged through its first <END>."""
    problem = ladder(captions, np.zeros((N, max_length), dtype=np.int64), "captions")
    if problem:
        if "shape" in problem and passed_max_length:
            problem += " (max_length=%d was passed)" % max_length
        return CheckResult(name, "sample", visibility, "exact", None, 0, False, problem), None
    captions = np.asarray(captions)
    id_to_word = {i: w for w, i in words.items()}
    wrong, first = 0, None
    for n in range(N):
        for step in range(max_length):
            word = int(captions[n, step])
            best = best_word(n, step, word)
            if best is not None:
                wrong += 1
                first = first or (n, step, word, best)
                break
            if word == words["<END>"]:
                break
    if not wrong:
        return CheckResult(name, "sample", visibility, "mismatched captions", 0.0, 0, True, ""), None
    n, t, word, best = first
    message = "%d of %d captions differ from greedy decoding; first: row %d, step %d: got %s, the most likely word " \
              "is %s" % (wrong, N, n, t, _word(id_to_word, word), _word(id_to_word, best))
    return CheckResult(name, "sample", visibility, "mismatched captions", float(wrong), 0, False, message), (n, t)


def _word(id_to_word, word):
    return "%r (id %d)" % (id_to_word.get(word, "?"), word)
