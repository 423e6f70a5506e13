"""The reference's overfitting loss curve, computed once: ``python -m grader.assignments.reference_curve``.

Trains the reference model, in-process, exactly as the ``overfit`` item trains a student's
(the item's model and solver settings, the small COCO-format set's 50 examples of ``SEED``)
and records its loss per iteration in ``grader/assignments/NAME.overfit_curve.json``. The
report draws a student's curve against it; grading never retrains the reference.
"""
from __future__ import annotations

import argparse
import json

from .. import assignments
from ..check.judge import Judge
from ..io import write_atomic
from .calibrate import reference_namespace

SEED = 0  # picks the 50 training examples of the recorded run


def overfit_item(settings):
    """The assignment's overfit item, or None."""
    return next((item for item in settings.items if item.kind == "overfit"), None)


def compute(assignment):
    """The reference trained by ``assignment``'s overfit item: the settings, the seed and its loss per iteration."""
    settings = assignments.load(assignment)
    item = overfit_item(settings)
    verdict = Judge(settings.local_backend(reference_namespace()), settings, SEED).judge(item)
    if verdict.status != "passed":
        raise AssertionError("the reference did not overfit: %s %s" % (verdict.problem, verdict.checks))
    return {"assignment": assignment, "seed": SEED, "model": item.conf.get("model", {}),
            "solver": item.conf.get("solver", {}), "loss_history": verdict.extra["loss_history"]}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--assignment", default="rnn", help="a built-in assignment with an overfit item")
    args = parser.parse_args(argv)
    item = overfit_item(assignments.load(args.assignment))
    if item is None:
        parser.error("%s has no overfit item" % args.assignment)
    if item.conf.get("reference_curve"):
        parser.error("%s draws the curve of %s: record that one" % (args.assignment, item.conf["reference_curve"]))
    path = assignments.curve_path(args.assignment)
    write_atomic(path, json.dumps(compute(args.assignment), indent=1) + "\n")
    print("wrote %s" % path)


if __name__ == "__main__":
    main()
