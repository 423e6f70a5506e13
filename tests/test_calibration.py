"""The recorded calibration covers the hidden checks and still holds on fresh draws."""
import json

import pytest

from grader import assignments
from grader.assignments import calibrate


def recorded():
    return json.loads(assignments.calibration_path("rnn").read_text())


def test_calibration_is_recorded_with_enough_draws_and_margin():
    data = recorded()
    assert data["draws"] >= 1000 and data["margin"] >= 10
    for item, labels in data["numeric"].items():
        for label, entry in labels.items():
            assert entry["threshold"] >= 9.5 * entry["worst"] > 0, (item, label)
    assert data["float32"]["threshold"] >= 9.5 * data["float32"]["worst"] > 0


def test_every_numeric_gradient_check_has_a_threshold():
    data = recorded()
    for item in assignments.load("rnn").items:
        if item.kind == "layer" and item.wrt:
            labels = item.outputs if item.backward else ("dx",)
            assert set(labels) <= set(data["numeric"][item.name]), item.name
    assert set(data["numeric"]["CaptioningRNN.loss"]) == {
        "W_embed", "W_proj", "b_proj", "Wx", "Wh", "b", "W_vocab", "b_vocab"}


@pytest.mark.slow
def test_fresh_draws_stay_within_the_recorded_worst_case_margin():
    """Re-run the calibration on draws it never saw; the reference never fails a check."""
    data = recorded()
    numeric, float32 = calibrate.measure(draws=40, first_seed=10**6)
    for (item, label), worst in numeric.items():
        assert worst < data["numeric"][item][label]["threshold"], (item, label, worst)
    assert float32 < data["float32"]["threshold"]


@pytest.mark.parametrize("assignment", ["lstm"])
def test_every_assignment_with_numeric_checks_has_its_calibration(assignment):
    data = json.loads(assignments.calibration_path(assignment).read_text())
    assert data["draws"] >= 1000 and data["margin"] >= 10
    for item in assignments.load(assignment).items:
        if item.kind == "layer" and item.wrt:
            labels = item.outputs if item.backward else ("dx",)
            assert set(labels) <= set(data["numeric"][item.name]), item.name
