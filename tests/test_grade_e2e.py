"""Grade real notebooks built from the templates, in a real kernel."""
import pytest

import notebooks
from bugs import BUGS
from e2e import build, failing, grade_fast, item, statuses
from grader import assignments
from grader.grade.pipeline import grade

pytestmark = pytest.mark.slow  # every test grades in a kernel


@pytest.mark.parametrize("form", ["notebook", "module"])
def test_solved_template_gets_every_automatic_point(tmp_path, form):
    path = build(tmp_path, form, train=True)
    if form == "module":
        path = notebooks.zip_submission(path, tmp_path / "submission.zip")
    results = grade(path, assignments.load("rnn"), seed=11)
    assert failing(results) == set(), [(i["name"], i["message"][:300]) for i in results["items"]]
    assert results["score"] == results["automatic_max_score"] == 95
    assert results["max_score"] == 100
    overfit = item(results, "overfit_small_data")
    assert overfit["loss_history"][-1] < 0.1 and len(overfit["loss_history"]) == 100
    assert results["execution"]["errors"] == 0
    assert results["execution"]["supplied"] == {} and results["execution"]["python2"]["converted"] == []


@pytest.mark.parametrize("form", ["notebook", "module"])
def test_blank_template_scores_zero_with_every_item_not_implemented(tmp_path, form):
    results = grade(build(tmp_path, form, solutions=None, train=True), assignments.load("rnn"), seed=2)
    assert results["score"] == 0
    assert set(statuses(results).values()) == {"not_implemented"}, statuses(results)
    assert results["manual"][0]["name"] == "inline_question_1"


@pytest.mark.parametrize("bug", BUGS, ids=lambda b: b.name)
def test_single_bug_fails_exactly_its_item(tmp_path, bug):
    form = "module" if BUGS.index(bug) % 2 else "notebook"
    results = grade_fast(build(tmp_path, form, replace=bug.replace, extra_cells=bug.extra_cells))
    assert failing(results) == {bug.item}, [(i["name"], i["status"], i["message"][:200]) for i in results["items"]]
    failed = item(results, bug.item)
    failed_checks = [c for c in failed["checks"] if not c["passed"]]
    assert failed["message"] or all(c["message"] for c in failed_checks)
    assert failed["score"] == 0 and failed.get("source"), "a failing item shows the student's code"


def test_correct_but_different_code_gets_full_marks_in_a_kernel(tmp_path):
    from correct_variants import VARIANTS
    replace = {name: source for variant in VARIANTS.values() for name, source in variant.items()}
    results = grade_fast(build(tmp_path, "module", replace=replace))
    assert failing(results) == set(), [(i["name"], i["message"][:200]) for i in results["items"]]
