"""The batch's tables, read back with the csv module."""
import os

import pytest

from files import read_rows
from grader.export import gradebook
from grader.export.gradebook import read_roster, write_canvas_csv, write_gradebook

ITEMS = ["rnn_step_forward", "rnn_forward", "overfit_small_data", "inline_question_1"]


def student(sid, name, user_id=None, late=False, source="canvas"):
    return {"id": sid, "name": name, "user_id": user_id, "late": late, "source": source}


def result(who, statuses, *, policy=(), skipped=(), manual_score=None):
    """A results.json dict in Results.to_json's shape: 10 points per automatic item, 5 for the question."""
    items = [{"name": name, "score": 10.0 if status == "passed" else 0.0, "max_score": 10.0, "status": status,
              "checks": [], "hint": None, "message": "" if status == "passed" else "%s went wrong" % name,
              "notes": [], "output": ""}
             for name, status in statuses.items()]
    return {"submission": who["id"], "assignment": "rnn", "score": sum(i["score"] for i in items),
            "max_score": 35.0, "automatic_max_score": 30.0, "items": items,
            "policy": [{"rule": rule, "passed": passed, "message": ""} for rule, passed in policy],
            "manual": [{"name": "inline_question_1", "answer": "...", "max_score": 5.0, "score": manual_score}],
            "execution": {}, "public_only": bool(skipped), "skipped": list(skipped), "grader_version": "0.1.0",
            "seed": 1, "elapsed_s": 3.0, "student": who}


RESULTS = [
    result(student("smithjohn_12345", "smithjohn", "12345"),
           {"rnn_step_forward": "passed", "rnn_forward": "passed", "overfit_small_data": "passed"}, manual_score=4.5),
    result(student("doejane_23456", "doejane", "23456", late=True),
           {"rnn_step_forward": "passed", "rnn_forward": "timeout", "overfit_small_data": "error"},
           policy=[("no-extra-imports", True), ("no-grader-access", False)]),
    {"student": student("leekim_34567", "leekim", "34567"), "error": "notebook is not valid JSON:\n  line 3"},
    result(student("jane_doe_417", "Jane Doe, Jr.", "417", source="moodle"),
           {"rnn_step_forward": "passed", "rnn_forward": "failed"}, skipped=["overfit_small_data"]),
    result(student("jdoe", "=HYPERLINK(\"x\")", source="plain"),
           {"rnn_step_forward": "not_implemented", "rnn_forward": "missing", "overfit_small_data": "failed"}),
]


def test_gradebook_header_and_rows(tmp_path):
    path = tmp_path / "gradebook.csv"
    write_gradebook(path, RESULTS, ITEMS)
    header, *rows = read_rows(path)
    assert header == ["id", "name", "user_id", "score", "max_score",
                      "rnn_step_forward", "rnn_forward", "overfit_small_data", "inline_question_1",
                      "rnn_step_forward_status", "rnn_forward_status", "overfit_small_data_status",
                      "inline_question_1_status", "late", "policy", "errors", "report"]
    table = {row[0]: dict(zip(header, row)) for row in rows}
    assert [row[0] for row in rows] == ["doejane_23456", "jane_doe_417", "jdoe", "leekim_34567", "smithjohn_12345"]

    assert list(table["smithjohn_12345"].values()) == [
        "smithjohn_12345", "smithjohn", "12345", "30", "35", "10", "10", "10", "4.5",
        "passed", "passed", "passed", "manual", "no", "", "", "smithjohn_12345/report.html"]

    jane = table["doejane_23456"]
    assert (jane["score"], jane["rnn_forward"], jane["rnn_forward_status"]) == ("10", "0", "timeout")
    assert (jane["late"], jane["policy"]) == ("yes", "no-grader-access")
    assert jane["errors"] == ("rnn_forward timeout: rnn_forward went wrong; "
                              "overfit_small_data error: overfit_small_data went wrong")
    assert (jane["inline_question_1"], jane["inline_question_1_status"]) == ("", "manual")

    moodle = table["jane_doe_417"]
    assert moodle["name"] == "Jane Doe, Jr."  # a comma survives the quoting
    assert (moodle["overfit_small_data"], moodle["overfit_small_data_status"]) == ("", "skipped")
    assert moodle["rnn_forward_status"] == "failed" and moodle["errors"] == ""

    assert table["jdoe"]["name"] == "'=HYPERLINK(\"x\")"  # not run as a spreadsheet formula
    assert table["jdoe"]["user_id"] == ""


def test_gradebook_keeps_a_failure_as_a_row(tmp_path):
    path = tmp_path / "gradebook.csv"
    write_gradebook(path, RESULTS, ITEMS)
    header, *rows = read_rows(path)
    failed = dict(zip(header, next(r for r in rows if r[0] == "leekim_34567")))
    assert failed["score"] == failed["max_score"] == ""
    assert all(failed[name] == failed[name + "_status"] == "" for name in ITEMS)
    assert failed["errors"] == "notebook is not valid JSON: line 3"
    assert (failed["report"], failed["late"], failed["user_id"]) == ("", "no", "34567")


def test_gradebook_shortens_long_errors(tmp_path):
    path = tmp_path / "gradebook.csv"
    write_gradebook(path, [{"student": student("a", "a"), "error": "Traceback " * 200}], ITEMS)
    errors = dict(zip(*read_rows(path)))["errors"]
    assert len(errors) == gradebook.ERROR_LENGTH and errors.startswith("Traceback Traceback")
    assert errors.endswith("…")


def test_write_is_atomic_and_leaves_no_temporary_file(tmp_path, monkeypatch):
    path = tmp_path / "gradebook.csv"
    write_gradebook(path, RESULTS, ITEMS)
    assert os.listdir(tmp_path) == ["gradebook.csv"]
    before = path.read_bytes()

    def fail(src, dst):
        raise OSError("disk full")
    monkeypatch.setattr(os, "replace", fail)
    with pytest.raises(OSError, match="disk full"):
        write_gradebook(path, RESULTS[:1], ITEMS)
    assert os.listdir(tmp_path) == ["gradebook.csv"] and path.read_bytes() == before


ROSTER_EXPORT = (
    "\ufeffStudent,ID,SIS User ID,SIS Login ID,Integration ID,Section,Lab 1 (101),Current Score\n"
    "    Points Possible,,,,,,10.00,(read only)\n"
    ",,,,,,Manual Posting,\n"
    "\"Smith, John\",12345,S0012345,jsmith,,CS231N-01,9,90\n"
    "\"Doe, Jane\",23456,S0023456,jdoe2,,CS231N-02,,\n"
    "\"Kim, Lee\",34567,,lkim,,CS231N-01,,\n"
    "\"Doe, John\",99999,S0099999,jdoe,,CS231N-02,,\n"
    "\"Student, Test\",,,,,CS231N-01,,\n"
)


def test_read_roster_skips_canvas_meta_rows(tmp_path):
    path = tmp_path / "export.csv"
    path.write_text(ROSTER_EXPORT, encoding="utf-8")
    roster = read_roster(path)
    assert list(roster) == ["12345", "23456", "34567", "99999"]
    assert roster["12345"] == {"Student": "Smith, John", "ID": "12345", "SIS User ID": "S0012345",
                               "SIS Login ID": "jsmith", "Section": "CS231N-01"}


def test_read_roster_refuses_other_csv(tmp_path):
    path = tmp_path / "other.csv"
    path.write_text("name,score\njdoe,3\n", encoding="utf-8")
    with pytest.raises(ValueError, match="not a Canvas gradebook export"):
        read_roster(path)


def test_canvas_csv_without_roster(tmp_path):
    path = tmp_path / "canvas.csv"
    unplaced = write_canvas_csv(path, RESULTS, "RNN Captioning", 4242)
    assert path.read_text(encoding="utf-8").splitlines()[:2] == [
        "Student,ID,SIS User ID,SIS Login ID,Section,RNN Captioning (4242)",
        "    Points Possible,,,,,35"]
    header, points, *rows = read_rows(path)
    assert rows == [["doejane", "23456", "", "", "", "10"],
                    ["leekim", "34567", "", "", "", ""],  # not graded: left unchanged in Canvas
                    ["smithjohn", "12345", "", "", "", "30"]]
    assert unplaced == ["jane_doe_417", "jdoe"]  # a Moodle participant id and a plain name are no Canvas ids


def test_canvas_csv_with_roster(tmp_path):
    export = tmp_path / "export.csv"
    export.write_text(ROSTER_EXPORT, encoding="utf-8")
    path = tmp_path / "canvas.csv"
    roster = read_roster(export)
    unplaced = write_canvas_csv(path, RESULTS, "RNN Captioning", "4242", roster=roster)
    header, points, *rows = read_rows(path)
    assert header[-1] == "RNN Captioning (4242)" and points == ["    Points Possible", "", "", "", "", "35"]
    assert rows == [["Doe, Jane", "23456", "S0023456", "jdoe2", "CS231N-02", "10"],
                    ["Doe, John", "99999", "S0099999", "jdoe", "CS231N-02", "0"],  # plain "jdoe" by SIS login
                    ["Kim, Lee", "34567", "", "lkim", "CS231N-01", ""],
                    ["Smith, John", "12345", "S0012345", "jsmith", "CS231N-01", "30"]]
    assert unplaced == ["jane_doe_417"]
    assert read_roster(path) == roster  # the written file reads back as the same roster


def test_canvas_csv_for_a_new_assignment_and_no_graded_results(tmp_path):
    path = tmp_path / "canvas.csv"
    write_canvas_csv(path, RESULTS[2:3], "RNN Captioning", None)
    assert read_rows(path) == [["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "RNN Captioning"],
                               ["    Points Possible", "", "", "", "", ""],
                               ["leekim", "34567", "", "", "", ""]]
    assert os.listdir(tmp_path) == ["canvas.csv"]
