"""The reference's overfitting curve is data recorded once (grader/assignments/reference_curve.py):
a file per assignment with an overfit item, as long as its settings imply, and what the reference gives."""
import numpy as np
import pytest

from grader import assignments
from grader.assignments import reference_curve
from grader.check.overfit import NUM_TRAIN

OVERFITTING = [name for name in assignments.builtin_names()
               if reference_curve.overfit_item(assignments.load(name))]


def test_every_assignment_that_overfits_has_a_recorded_curve_of_its_iterations():
    assert OVERFITTING == ["lstm", "rnn", "rnn-pytorch"]
    for name in OVERFITTING:
        settings = assignments.load(name)
        item = reference_curve.overfit_item(settings)
        curve = settings.reference_curve(item)
        solver = item.conf["solver"]
        assert curve is not None, name
        assert len(curve["loss_history"]) == solver["num_epochs"] * max(NUM_TRAIN // solver["batch_size"], 1), name
        assert curve["loss_history"][-1] < settings.threshold(item.name) < curve["loss_history"][0], name
    pytorch = assignments.load("rnn-pytorch")
    assert pytorch.reference_curve(reference_curve.overfit_item(pytorch))["assignment"] == "rnn"


def test_a_curve_is_shown_only_for_the_settings_it_was_recorded_with(tmp_path):
    course = tmp_path / "course.toml"
    course.write_text('extends = "rnn"\n[items.overfit_small_data]\nsolver = { update_rule = "adam", '
                      'num_epochs = 10, batch_size = 25, optim_config = { learning_rate = 5e-3 } }\n')
    settings = assignments.load(str(course))
    assert settings.reference_curve(reference_curve.overfit_item(settings)) is None
    same = tmp_path / "same.toml"
    same.write_text('extends = "rnn"\n[items.rnn_forward]\npoints = 7\n')
    settings = assignments.load(str(same))
    assert settings.reference_curve(reference_curve.overfit_item(settings))["assignment"] == "rnn"


def test_the_command_refuses_an_assignment_that_records_no_curve_of_its_own(capsys):
    for name, said in (("cs7353", "cs7353 has no overfit item"), ("rnn-pytorch", "draws the curve of rnn")):
        with pytest.raises(SystemExit):
            reference_curve.main(["--assignment", name])
        assert said in capsys.readouterr().err


@pytest.mark.slow
@pytest.mark.parametrize("name", ["rnn", "lstm"])
def test_the_recorded_curve_is_what_the_reference_gives(name):
    settings = assignments.load(name)
    recorded = settings.reference_curve(reference_curve.overfit_item(settings))
    computed = reference_curve.compute(name)
    assert {k: v for k, v in computed.items() if k != "loss_history"} == {
        k: v for k, v in recorded.items() if k != "loss_history"}
    np.testing.assert_allclose(computed["loss_history"], recorded["loss_history"], rtol=1e-3)
