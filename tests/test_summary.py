"""summary.html: charts, grouped failures and the students table, on synthetic batches."""
import re
from html.parser import HTMLParser

import numpy as np

from class_records import failure, record, rule
from grader.check.compare import compare
from grader.classroom.summary import (check_groups, common_failures, histogram_svg, normalise, render_summary,
                                      write_summary)

BATCH = {"seed": 918273, "assignment": "rnn", "graded": 4, "cached": 1, "failed": 1, "elapsed_s": 61.5,
         "unrecognised": [{"path": "dl/notes.txt", "reason": "not a notebook, folder, zip or .py file"}],
         "superseded": [{"student": "amy", "files": ["RNN_Captioning-1.ipynb"]}]}


class Table(HTMLParser):
    """The rows of one table (by id) as lists of cell text, with each row's links."""

    def __init__(self, table_id):
        super().__init__()
        self.table_id, self.inside, self.rows, self.links = table_id, False, [], []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "table" and attrs.get("id") == self.table_id:
            self.inside = True
        elif self.inside and tag == "tr":
            self.rows.append([])
            self.links.append([])
        elif self.inside and tag in ("td", "th"):
            self.rows[-1].append("")
        elif self.inside and tag == "a":
            self.links[-1].append(attrs["href"])

    def handle_endtag(self, tag):
        if tag == "table":
            self.inside = False

    def handle_data(self, data):
        if self.inside and self.rows and self.rows[-1]:
            self.rows[-1][-1] += data


def students_table(html):
    parser = Table("students")
    parser.feed(html)
    header, *rows = parser.rows
    header = [cell.strip() for cell in header]
    rows = [[cell.strip() for cell in row] for row in rows]
    return header, {row[0]: dict(zip(header, row)) for row in rows}, dict(zip((r[0] for r in rows), parser.links[1:]))


def bins(svg):
    """{(low, high): count} from the histogram's bar tooltips."""
    found = re.findall(r"<title>([\d.]+)–([\d.]+) points: (\d+)</title>", str(svg))
    return {(float(lo), float(hi)): int(n) for lo, hi, n in found}


def test_histogram_counts_each_bin_and_puts_the_maximum_in_the_last():
    counts = bins(histogram_svg([0, 9.99, 10, 55, 95, 100, 100], 100))
    assert len(counts) == 10
    assert counts[(0, 10)] == 2 and counts[(10, 20)] == 1 and counts[(50, 60)] == 1 and counts[(90, 100)] == 3
    assert sum(counts.values()) == 7
    assert histogram_svg([], 100) == "" and histogram_svg([3], 0) == ""


def test_normalise_takes_numbers_out_but_keeps_names():
    assert normalise("hidden: N=1: norm_error 0.333 > 1e-09; 12/12 elements differ; worst at [2, 1]: got -6.6, "
                     "expected 3.3") == \
        "hidden: N=#: norm_error # > #; #/# elements differ; worst at [#, #]: got #, expected #"
    assert normalise("the call did not finish within 30s") == "the call did not finish within #s"
    assert normalise("float32 inputs, word 'w4', inline_question_1, <f at 0x7f3a2b>") == \
        "float32 inputs, word 'w4', inline_question_1, <f at #>"


def test_same_mistake_groups_across_students_and_items():
    graded = [record("amy", {"rnn_forward": "failed"}, seed=1), record("bob", {"rnn_backward": "failed"}, seed=2),
              record("cat", {"rnn_forward": "timeout"}, seed=3), record("dan", {"rnn_forward": "timeout"}, seed=4)]
    groups = common_failures(graded)
    assert [(g["count"], dict(g["items"])) for g in groups] == [
        (2, {"rnn_forward": 1, "rnn_backward": 1}), (2, {"rnn_forward": 2})]
    assert groups[0]["message"] == ("hidden: N=#: norm_error # > #; #/# elements differ; worst at [#, #]: "
                                    "got #, expected #")
    assert groups[1]["message"] == "the call did not finish within #s"
    html = render_summary(graded, "RNN", {})
    assert "the call did not finish within #s" in html and "rnn_<wbr>forward (1), rnn_<wbr>backward (1)" in html


def test_item_and_check_pass_rates():
    graded = [record("a"), record("b"), record("c", {"rnn_forward": "failed"}),
              record("d", {"rnn_forward": "error"}), record("e", {"rnn_forward": "timeout"})]
    html = render_summary(graded, "RNN", BATCH)
    items = html[html.index("<h2>Items"):html.index("<h2>", html.index("<h2>Items") + 1)]
    assert "40% passed (2/5) · failed 1 · error 1 · timeout 1" in items  # rnn_forward
    assert items.count("100% passed (5/5)") == 11  # every other automatic item
    groups = {g["item"]: g for g in check_groups(graded, ["rnn_forward", "rnn_backward"])}
    forward = groups["rnn_forward"]
    assert (forward["checks"], forward["failing"], groups["rnn_backward"]["failing"]) == (2, 1, 0)
    # class_records names its checks by case only ("hidden: N=1"): each is its own output; errors run no checks
    assert [(o["output"], o["rate"]) for o in forward["outputs"]] == [("notebook inputs", "100% passed (3/3)"),
                                                                    ("N=1", "67% passed (2/3)")]
    assert [c["name"] for c in forward["outputs"][1]["failing"]] == ["hidden: N=1"]
    assert "<b>rnn_forward</b>: 1 of 2 checks failed by someone</summary>" in html
    assert "<b>rnn_backward</b>: all 2 checks passed by everyone</summary>" in html


def test_checks_fold_by_output_with_the_worst_check_first():
    """Two students' rnn_backward with real check names: dx fails in one case for one, in two for the other."""
    def student(sid, wrong):
        graded = record(sid, {"rnn_backward": "failed"})
        backward = next(i for i in graded["items"] if i["name"] == "rnn_backward")
        x = np.ones((2, 3))
        backward["checks"] = [compare("%s: %s vs reference" % (case, label), x * 2 if (case, label) in wrong else x,
                                      x, metric="norm_error", threshold=1e-9, label=label).to_json()
                              for case in ("public: notebook", "hidden: N=1") for label in ("dx", "db")]
        return graded
    graded = [student("amy", {("hidden: N=1", "dx")}),
              student("bob", {("hidden: N=1", "dx"), ("public: notebook", "dx")})]
    (group,) = check_groups(graded, ["rnn_backward"])
    assert (group["checks"], group["failing"]) == (4, 2)
    dx, db = group["outputs"]
    assert (dx["output"], dx["rate"], db["output"], db["rate"], db["failing"]) == (
        "dx", "25% passed (1/4)", "db", "100% passed (4/4)", [])
    assert [(c["name"], c["rate"]) for c in dx["failing"]] == [
        ("hidden: N=1: dx vs reference", "0% passed (0/2)"), ("public: notebook: dx vs reference", "50% passed (1/2)")]
    html = render_summary(graded, "RNN", {})
    assert "<b>dx</b>: 25% passed (1/4) over 2 checks, 2 failed by someone</summary>" in html
    assert '<div class="output"><span class="rate"><span style="width:100%"></span></span> <b>db</b>' in html
    assert html.index("<h2>Items") < html.index("<h2>Most common failures") < html.index("<h2>Scores") \
        < html.index("<h2>Checks") < html.index("<h2>Students")


def test_scores_histogram_and_statistics_on_the_page():
    graded = [record("a"), record("b"), record("c", {"rnn_forward": "failed"}),
              record("d", {"CaptioningRNN.loss": "failed", "rnn_backward": "failed"})]
    html = render_summary(graded, "RNN", BATCH)
    counts = bins(html)
    assert counts[(85.5, 95)] == 3 and counts[(66.5, 76)] == 1 and sum(counts.values()) == 4
    assert "<td>4</td><td>87.5</td><td>92.5</td>\n<td>70</td><td>95</td><td>95</td>" in html


def test_students_table_rows_links_and_failures():
    records = [record("bob", {"rnn_forward": "failed", "overfit_small_data": "not_implemented"}, late=True),
               failure("zed", "notebook is not valid JSON: line 3"), record("amy")]
    html = render_summary(records, "RNN", BATCH)
    header, rows, links = students_table(html)
    assert header[:4] == ["id", "name", "score", "manual"] and header[-2:] == ["late", "report"]
    assert "rnn_step_forward" in header and "inline_question_1" not in header
    assert list(rows) == ["amy", "bob", "zed"]  # sorted by id, works without JavaScript
    assert rows["bob"]["score"] == "80" and rows["bob"]["rnn_forward"] == "FAIL"
    assert rows["bob"]["overfit_small_data"] == "TODO" and rows["bob"]["late"] == "late"
    assert rows["amy"]["rnn_forward"] == "ok" and rows["amy"]["late"] == ""
    assert links["amy"] == ["amy/report.html"] and links["zed"] == []
    assert rows["zed"]["score"] == "not graded" and rows["zed"]["rnn_forward"] == ""
    assert '<td class="status failed">FAIL</td>' in html
    assert "notebook is not valid JSON: line 3" in html  # the "Not graded" list
    assert "Late submissions (1)" in html and 'href="bob/report.html">bob</a>' in html


def test_batch_facts_files_not_used_and_resubmissions():
    html = render_summary([record("amy")], "RNN", BATCH)
    for fact in ("seed <b>918273</b>", "graded <b>4</b>", "cached <b>1</b>", "failed <b>1</b>", "time <b>61.5 s</b>"):
        assert fact in html
    assert "<code>dl/notes.txt</code></td><td>not a notebook, folder, zip or .py file" in html
    assert "<td>amy</td><td>RNN_Captioning-1.ipynb</td>" in html


def test_problems_rules_flags_and_slowest():
    records = [record("amy", {"rnn_backward": "error", "overfit_small_data": "timeout"}, elapsed=12.0),
               record("bob", policy=[rule("no-extra-imports", "zero")], elapsed=40.0),
               record("cat", flagged={"rnn_forward": ["import grader.judge"]},
                      policy=[rule("no-grader-access", "penalty", 5.0, "tried to import grader")], elapsed=3.0)]
    html = render_summary(records, "RNN", BATCH)
    errors = html[html.index("<h2>Errors and timeouts"):html.index("<h2>Course rules")]
    assert 'href="amy/report.html">amy</a>' in errors and "rnn_backward" in errors and "timeout" in errors
    assert "forward raised ValueError: shapes (2,4) and (5,7) not aligned" in errors  # as raised, not normalised
    rules = html[html.index("<h2>Course rules"):html.index("<h2>Grader access")]
    assert "no-extra-imports</td>\n<td>score set to 0" in rules and "5 points off" in rules
    flags = html[html.index("<h2>Grader access"):html.index("<h2>Slowest")]
    assert "cat</a></td><td>rnn_forward</td>" in flags and "import grader.judge" in flags
    slowest = html[html.index("<h2>Slowest"):]
    assert slowest.index(">bob</text>") < slowest.index(">amy</text>") < slowest.index(">cat</text>")
    assert "40.0 s" in slowest


def test_hostile_text_is_escaped():
    hostile = "<script>alert(1)</script>"
    records = [record("eve", name=hostile, flagged={"rnn_forward": [hostile]},
                      policy=[rule("outputs-kept", message=hostile)]),
               failure("zed", hostile)]
    html = render_summary(records, hostile, dict(BATCH, unrecognised=[{"path": hostile, "reason": hostile}]))
    assert hostile not in html
    assert html.count("<script") == 1  # the table sorter only
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_no_records_and_only_failures():
    empty = render_summary([], "RNN", {})
    assert "No submission was graded." in empty and "No submissions." in empty and "<svg" not in empty
    failed = render_summary([failure("amy", "zip is corrupt"), failure("bob")], "RNN", dict(BATCH, graded=0))
    header, rows, _ = students_table(failed)
    assert list(rows) == ["amy", "bob"] and rows["amy"]["score"] == "not graded"
    assert "zip is corrupt" in failed and "<svg" not in failed


def test_five_hundred_students_fit_in_a_reasonable_page(tmp_path):
    statuses = ["failed", "error", "timeout", "missing", "not_implemented"]
    records = [record("s%03d" % k, {"rnn_forward": statuses[k % 5]} if k % 3 else {}, seed=k, elapsed=k / 10)
               for k in range(490)] + [failure("x%02d" % k) for k in range(10)]
    path = write_summary(tmp_path, records, "RNN", BATCH)
    html = path.read_text(encoding="utf-8")
    _, rows, _ = students_table(html)
    assert len(rows) == 500
    assert len(html) < 400_000
    assert "and 31 more" in html  # 131 students with errors or timeouts, 100 listed
    assert [p.name for p in tmp_path.iterdir()] == ["summary.html"]  # no temporary file left behind
