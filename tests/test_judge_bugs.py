"""Every catalogued bug fails exactly its own item, judged in-process (no kernel).

The same probe operations run here on functions defined from the bug sources, so
these tests are fast; tests/test_grade_e2e.py grades real notebooks in a kernel.
"""
import numpy as np
import pytest

from grader import assignments
from grader.assignments.calibrate import reference_namespace
from grader.check import cases as C
from grader.check.judge import Judge
from grader.check.sampling import check_sample
from grader.grade.probe import LocalBackend

from bugs import BUGS
from correct_variants import VARIANTS
from student_code import namespace_with


def failing_items(ns, seed, public_only=False):
    settings = assignments.load("rnn")
    judge = Judge(LocalBackend(ns), settings, seed, public_only=public_only)
    failed = {}
    for item in settings.items:
        if item.kind in ("manual", "overfit"):
            continue
        verdict = judge.judge(item)
        if verdict.status != "passed":
            failed[item.name] = verdict
    return failed


@pytest.mark.parametrize("seed", [0, 1])
def test_reference_passes_every_item(seed):
    assert failing_items(reference_namespace(), seed) == {}


@pytest.mark.parametrize("bug", [b for b in BUGS if not b.extra_cells], ids=lambda b: b.name)
def test_bug_fails_exactly_its_item(bug):
    """(Bugs that need extra notebook cells are graded end to end only.)"""
    failed = failing_items(namespace_with(bug.replace), seed=7)
    assert set(failed) == {bug.item}, {k: (v.status, v.problem[:200]) for k, v in failed.items()}
    verdict = failed[bug.item]
    messages = [c.message for c in verdict.checks if not c.passed] or [verdict.problem]
    assert all(messages), "a failure must say what was compared"


def test_null_everywhere_is_right_where_greedy_decoding_picks_null():
    """The template's output (<NULL> everywhere) is wrong only where the reference disagrees."""
    case = C.sample_cases(np.random.default_rng(0), public=False)[-1]
    assert case.name == "hidden: N=1, max_length=1"
    null = case.extra["init"]["word_to_idx"]["<NULL>"]
    template_output = np.full((1, 1), null)
    for bias, right in ((1e3, True), (-1e3, False)):
        case.extra["params"]["b_vocab"][null] = bias
        assert check_sample(case, template_output).passed == right


@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_correct_but_different_code_gets_full_marks(name):
    for seed in (3, 4):
        assert failing_items(namespace_with(VARIANTS[name]), seed) == {}, name
