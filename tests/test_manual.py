"""Manual items: the answers page, manual.csv, and merging the TA's points back."""
import csv
import json

import pytest

from class_records import failure, record
from files import read_rows, snapshot
from grader.results import report
from grader.errors import UsageError
from grader.classroom.manual import merge_manual, render_manual_page, write_manual_csv, write_manual_page

HEADER = ["id", "name", "item", "max_points", "points", "comment", "answer"]
LONG = "Characters: " + "tiny vocabulary, longer sequences. " * 30


def batch(tmp_path):
    """A graded batch on disk (results.json + report.html per student) and its records."""
    records = [record("amy", answer="Words carry meaning;\n  characters need <more> steps."),
               record("bob", {"rnn_forward": "failed"}, answer=LONG),
               record("eve", name="=cmd|' /C calc'!A0", answer="<img src=x onerror=alert(1)>"),
               failure("zed")]
    for r in records[:3]:
        report.write_reports(r, tmp_path)
    return records


def write_csv(path, rows, encoding="utf-8", delimiter=","):
    with open(path, "w", encoding=encoding, newline="") as f:
        csv.writer(f, delimiter=delimiter).writerows(rows)


def results(tmp_path, sid):
    return json.loads((tmp_path / sid / "results.json").read_text())


def test_page_lists_every_answer_escaped_under_its_id(tmp_path):
    html = render_manual_page(batch(tmp_path))
    assert "<h2 id=\"inline_question_1\">inline_question_1 (5 points):\n3 students, 0 graded</h2>" in html
    assert html.index('<code class="id">amy</code>') < html.index('<code class="id">bob</code>') \
        < html.index('<code class="id">eve</code>')
    assert "<pre>Words carry meaning;\n  characters need &lt;more&gt; steps.</pre>" in html
    assert "<img src=x" not in html and "&lt;img src=x onerror=alert(1)&gt;" in html
    assert LONG.strip() in html  # the whole answer here; the CSV shortens it
    assert "Not graded, so no answers</h2><p>zed</p>" in html
    write_manual_page(tmp_path, [])
    assert "Answers graded by hand" in (tmp_path / "manual.html").read_text()


def test_csv_has_one_row_per_student_and_question(tmp_path):
    path = tmp_path / "manual.csv"
    write_manual_csv(path, batch(tmp_path))
    header, *rows = read_rows(path)
    assert header == HEADER
    assert [(r[0], r[2], r[3], r[4], r[5]) for r in rows] == [
        ("amy", "inline_question_1", "5", "", ""), ("bob", "inline_question_1", "5", "", ""),
        ("eve", "inline_question_1", "5", "", "")]
    assert rows[0][6] == "Words carry meaning; characters need <more> steps."
    assert len(rows[1][6]) == 500 and rows[1][6].endswith("…")
    assert rows[2][1] == "'=cmd|' /C calc'!A0"  # not run as a formula by a spreadsheet


def test_merge_sets_points_comment_and_totals_and_rerenders_the_report(tmp_path):
    records = batch(tmp_path)
    (tmp_path / "amy" / "report.html").write_text("stale")
    path = tmp_path / "manual.csv"
    write_manual_csv(path, records)
    header, *rows = read_rows(path)
    rows[0][4:6] = ["4.5", "clear, but no word on <UNK>"]
    rows[1][4:6] = ["3", "-1: no trade-off"]
    write_csv(path, [header] + rows)

    assert merge_manual(tmp_path, path) == ["amy", "bob"]
    amy, bob, eve = (results(tmp_path, s) for s in ("amy", "bob", "eve"))
    assert amy["manual"][0]["score"] == 4.5 and amy["manual"][0]["comment"] == "clear, but no word on <UNK>"
    assert (amy["score"], amy["manual_score"], amy["total_score"]) == (95.0, 4.5, 99.5)
    assert (bob["score"], bob["manual_score"], bob["total_score"]) == (90.0, 3.0, 93.0)
    assert bob["manual"][0]["comment"] == "-1: no trade-off"
    assert "manual_score" not in eve and eve["manual"][0]["score"] is None
    assert (tmp_path / "amy" / "report.html").read_text() == report.render_html(amy)
    assert amy["student"]["id"] == "amy"  # the rest of results.json is kept

    assert merge_manual(tmp_path, path) == []  # nothing new

    write_manual_csv(path, [amy, bob, eve])  # a regenerated CSV keeps what was merged
    rows = read_rows(path)[1:]
    assert [(r[4], r[5]) for r in rows] == [("4.5", "clear, but no word on <UNK>"), ("3", "'-1: no trade-off"),
                                            ("", "")]
    assert merge_manual(tmp_path, path) == []  # the formula guard is read back, not doubled
    assert results(tmp_path, "bob")["manual"][0]["comment"] == "-1: no trade-off"


def test_merge_reads_spreadsheet_variants(tmp_path):
    batch(tmp_path)
    path = tmp_path / "graded.csv"
    write_csv(path, [["Points", "Section", "Item", " ID ", "Comment"],  # other order, case, spaces, extra column
                     ["2,5", "A", "inline_question_1", "amy", "half"],
                     ["", "", "", "", ""],
                     ["", "A", "inline_question_1", "bob", ""]], encoding="utf-8-sig", delimiter=";")
    assert merge_manual(tmp_path, path) == ["amy"]
    assert results(tmp_path, "amy")["manual"][0]["score"] == 2.5
    assert results(tmp_path, "bob")["manual"][0]["score"] is None  # blank points: not graded yet


def test_blank_points_keep_earlier_points_and_a_lone_comment_is_kept(tmp_path):
    batch(tmp_path)
    path = tmp_path / "manual.csv"
    write_csv(path, [["id", "item", "points", "comment"], ["amy", "inline_question_1", "5", "good"]])
    merge_manual(tmp_path, path)
    write_csv(path, [["id", "item", "points", "comment"], ["amy", "inline_question_1", "", "see office hours"]])
    assert merge_manual(tmp_path, path) == ["amy"]
    amy = results(tmp_path, "amy")
    assert (amy["manual"][0]["score"], amy["manual"][0]["comment"], amy["total_score"]) == (5.0, "see office hours",
                                                                                             100.0)


@pytest.mark.parametrize("row, message", [
    (["nobody", "inline_question_1", "3"], "manual.csv row 4: unknown student id 'nobody'"),
    (["../amy", "inline_question_1", "3"], "manual.csv row 4: unknown student id '../amy'"),
    (["zed", "inline_question_1", "3"], "manual.csv row 4: unknown student id 'zed'"),
    (["bob", "inline_question_2", "3"], "manual.csv row 4: bob has no manual item 'inline_question_2'"),
    (["bob", "inline_question_1", "three"], "manual.csv row 4: points 'three' is not a number"),
    (["bob", "inline_question_1", "nan"], "manual.csv row 4: points 'nan' is not a number"),
    (["eve", "inline_question_1", "-1"], "manual.csv row 4: points -1 outside 0..5 for inline_question_1"),
    (["eve", "inline_question_1", "5.5"], "manual.csv row 4: points 5.5 outside 0..5 for inline_question_1"),
    (["amy", "inline_question_1", "1"], "manual.csv row 4: amy / inline_question_1 is already on row 2"),
    (["", "inline_question_1", "1"], "manual.csv row 4: the id or item is empty"),
])
def test_a_bad_row_changes_nothing(tmp_path, row, message):
    batch(tmp_path)
    path = tmp_path / "manual.csv"
    write_csv(path, [["id", "item", "points"], ["amy", "inline_question_1", "4"], ["bob", "inline_question_1", "2"],
                     row])
    before = snapshot(tmp_path)
    with pytest.raises(UsageError) as raised:
        merge_manual(tmp_path, path)
    assert str(raised.value).startswith(message) and "\n" not in str(raised.value)
    assert snapshot(tmp_path) == before


def test_a_csv_without_the_needed_columns_is_refused(tmp_path):
    batch(tmp_path)
    path = tmp_path / "manual.csv"
    write_csv(path, [["id", "question", "score"], ["amy", "inline_question_1", "4"]])
    with pytest.raises(UsageError, match="has no item, points column"):
        merge_manual(tmp_path, path)
    path.write_bytes(b"id,item,points\n\xff\xfe,x,1\n")
    with pytest.raises(UsageError, match="save it as UTF-8 CSV"):
        merge_manual(tmp_path, path)
