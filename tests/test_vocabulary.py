"""One vocabulary for every output, and results.json through its types and back."""
import json
import re

import pytest

from class_records import record, rule
from e2e import item
from grader import vocabulary
from grader.check.compare import CheckResult
from grader.classroom.summary import render_summary
from grader.results.report import render_html
from grader.results.schema import ItemResult, Results
from grader.vocabulary import Status


def test_every_status_has_a_symbol_a_colour_and_a_headline():
    assert [s.value for s in Status] == ["passed", "failed", "error", "missing", "not_implemented", "timeout"]
    for table in (vocabulary.SYMBOLS, vocabulary.COLOURS, vocabulary.HEADLINES):
        assert set(table) == set(Status)
    assert len(set(vocabulary.SYMBOLS.values())) == len(Status)
    assert all(re.fullmatch(r"#[0-9a-f]{6}", s.colour) for s in Status)
    assert Status.TIMEOUT.symbol == "TIMEOUT" and Status.MISSING.headline.startswith("Missing")


def test_statuses_are_their_results_json_strings():
    assert Status.NOT_IMPLEMENTED == "not_implemented" and str(Status.NOT_IMPLEMENTED) == "not_implemented"
    assert json.dumps({"status": Status.ERROR}) == '{"status": "error"}'
    assert vocabulary.SYMBOLS["failed"] == "FAIL"  # plain strings read from results.json look up too


def test_the_two_groups_of_problem_statuses():
    assert Status.PASSED not in vocabulary.NOTHING_TO_COMPARE and Status.FAILED not in vocabulary.NOTHING_TO_COMPARE
    assert set(vocabulary.NOTHING_TO_COMPARE) == set(Status) - {Status.PASSED, Status.FAILED}
    assert set(vocabulary.RAISED_OR_HUNG) == {"error", "timeout"}


@pytest.mark.parametrize("action, deduction, words", [
    ("warn", 0.0, "warning only"), ("zero", 0.0, "score set to 0"), ("penalty", 2.5, "2.5 points off")])
def test_rule_consequences(action, deduction, words):
    assert vocabulary.consequence(rule("outputs-kept", action, deduction)) == words


def test_both_pages_take_their_status_colours_and_consequences_from_the_vocabulary():
    student = record("amy", {"rnn_forward": "failed"}, policy=[rule("no-extra-imports", "penalty", 5.0)])
    student["execution"] = {"cells": [], "errors": 0, "kernel_restarts": 0}
    for page in (render_html(student), render_summary([student], "RNN", {})):
        for status in Status:
            assert ".%s{background:%s}" % (status.value, status.colour) in page
        assert "5 points off" in page


def test_a_hint_travels_beside_the_message_and_lands_on_the_item():
    student = record("amy", {"rnn_forward": "failed"})
    forward = item(student, "rnn_forward")
    failed = [c for c in forward["checks"] if not c["passed"]]
    assert forward["hint"] == "add the bias" and failed and "Hint" not in failed[0]["message"]
    assert set(failed[0]) == {"name", "kind", "visibility", "metric", "value", "threshold", "passed", "message",
                              "where"}
    checks = [CheckResult("a", "value", "public", "rel_error", 0.0, 1e-8, True, hint="not this: it passed"),
              CheckResult("b", "value", "public", "rel_error", 1.0, 1e-8, False, "b: differs"),
              CheckResult("c", "value", "public", "rel_error", 1.0, 1e-8, False, "c: differs", hint="look at c")]
    assert ItemResult("x", 5, "failed", checks).hint == "look at c"
    assert ItemResult("x", 5, "failed", checks[:2]).hint is None


def test_results_round_trip_through_the_types():
    student = record("amy", {"rnn_forward": "failed", "rnn_backward": "error", "overfit_small_data": "timeout"},
                     flagged={"temporal_affine_forward": ["import grader.check"]},
                     policy=[rule("no-extra-imports", "penalty", 5.0)])
    student = json.loads(json.dumps(student))  # as read back from results.json
    results = Results.from_json(student)
    assert results.extra == {"student": student["student"]}
    forward = next(i for i in results.items if i.name == "rnn_forward")
    assert forward.status is Status.FAILED and forward.score == 0.0 and forward.hint == "add the bias"
    again = results.to_json()
    assert again == student and list(again) == list(student)
    assert [list(i) for i in again["items"]] == [list(i) for i in student["items"]]
    assert results.score == student["score"] == 95 - 5 - 10 - 10 - 5 - 5  # four items lost, one penalty


def test_item_results_keep_the_end_of_what_was_printed_and_kind_specific_facts():
    item = ItemResult("overfit_small_data", 10, Status.PASSED, output="x" * 6000,
                      extra={"loss_history": [3.0, 0.05], "seconds": 1.5})
    entry = item.to_json()
    assert entry["score"] == 10 and len(entry["output"]) == 5000 and "source" not in entry
    assert list(entry)[-2:] == ["loss_history", "seconds"]
    assert ItemResult.from_json(entry) == item
