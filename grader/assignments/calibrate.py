"""Calibrate hidden-check tolerances on the reference: ``python -m grader.assignments.calibrate``.

Grades the reference itself, in-process, on many hidden draws and records the worst
error of every numeric-gradient check (float64) and of the float32 comparisons with
the float64 reference. Thresholds keep a margin of ``MARGIN`` over the worst seen.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import re
from collections import defaultdict

from reference import rnn_layers
from reference.captioning_rnn import CaptioningRNN

from .. import assignments
from ..check.judge import Judge
from ..check.kinds import kind_of
from ..grade.probe import LocalBackend

MARGIN = 10.0
LABEL = re.compile(r"(\w+)'?\]? vs ")


class _Unbounded(assignments.Settings):
    """Settings whose calibrated thresholds are infinite, so every value is recorded."""

    def calibrated(self, item, label, reference_error=0.0):
        return math.inf

    def tolerance(self, dtype):
        return math.inf if dtype == "float32" else super().tolerance(dtype)


def reference_namespace():
    namespace = {name: getattr(rnn_layers, name) for name in dir(rnn_layers) if not name.startswith("_")}
    namespace["CaptioningRNN"] = CaptioningRNN
    return namespace


def measure(draws, first_seed=0, assignment="rnn"):
    """Worst errors over ``draws`` hidden draws: ({(item, label): worst}, worst float32)."""
    base = assignments.load(assignment)
    settings = _Unbounded(base.name, base.title, base.raw, base.calibration)
    backend = LocalBackend(reference_namespace())
    numeric, float32 = defaultdict(float), 0.0
    for seed in range(first_seed, first_seed + draws):
        judge = Judge(backend, settings, seed)
        for item in settings.items:
            if not kind_of(item).calibrated:
                continue
            verdict = judge.judge(item)
            if verdict.status != "passed":
                raise AssertionError("reference failed %s at seed %d: %s %s" % (
                    item.name, seed, verdict.problem, [c.message for c in verdict.checks if not c.passed]))
            for check in verdict.checks:
                if check.visibility != "hidden" or check.value is None:
                    continue
                label = LABEL.search(check.name).group(1)
                if check.kind == "numeric-gradient":
                    key = (item.name, label)
                    numeric[key] = max(numeric[key], check.value)
                elif "float32" in check.name:
                    float32 = max(float32, check.value)
    return dict(numeric), float32


def calibration(draws, assignment="rnn"):
    numeric, float32 = measure(draws, assignment=assignment)
    table = defaultdict(dict)
    for (item, label), worst in sorted(numeric.items()):
        table[item][label] = {"worst": worst, "threshold": float("%.1e" % (worst * MARGIN))}
    return {"draws": draws, "margin": MARGIN, "metric": "norm_error",
            "numeric": table, "float32": {"worst": float32, "threshold": float("%.1e" % (float32 * MARGIN))}}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--draws", type=int, default=1000)
    parser.add_argument("--assignment", default="rnn", help="a built-in assignment")
    args = parser.parse_args(argv)
    result = calibration(args.draws, args.assignment)
    path = assignments.calibration_path(args.assignment)
    tmp = str(path) + ".tmp"
    with open(tmp, "w") as f:
        json.dump(result, f, indent=1, sort_keys=True)
    os.replace(tmp, path)
    print("wrote %s (%d draws)" % (path, args.draws))


if __name__ == "__main__":
    main()
