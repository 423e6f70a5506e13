"""Small pure parts: settings from TOML, the check ladder, neutralised lines, manual answers,
the first problem of an item, parsing student source."""
import ast
import gc

import nbformat
import numpy as np
import pytest

from class_records import record
from e2e import item
from grader import assignments
from grader.check.compare import compare, norm_error, rel_error
from grader.errors import UsageError
from grader.grade.sanitize import neutralise_source
from grader.results.report import first_problem
from grader.results.score import manual_answers
from grader.sandbox import untrusted


def test_toml_overrides_points_thresholds_timeouts_and_items(course_toml):
    settings = assignments.load(course_toml('[timeouts]\ncell = 120\n[items.rnn_backward]\npoints = 15\n'
                                            'threshold = 1e-5\n[items.overfit_small_data]\nenabled = false\n'))
    assert settings.points("rnn_backward") == 15 and settings.threshold("rnn_backward") == 1e-5
    assert settings.points("rnn_forward") == 5 and settings.cell_timeout == 120
    assert "overfit_small_data" not in [i.name for i in settings.items]
    assert sum(settings.points(i.name) for i in settings.items) == 95


def test_builtin_rnn_totals_100_points():
    settings = assignments.load("rnn")
    assert sum(settings.points(i.name) for i in settings.items) == 100


@pytest.mark.parametrize("text, message", [
    ("points = [", "bad.toml is not valid TOML: "),
    ('[items.rnn_forward]\npoints = "five"', "bad.toml: items.rnn_forward.points must be a number"),
    ("[timeouts]\ncell = 0", "bad.toml: timeouts.cell must be a positive number of seconds"),
])
def test_bad_toml_is_a_one_line_usage_error_naming_the_file(course_toml, text, message):
    with pytest.raises(UsageError) as error:
        assignments.load(course_toml(text, "bad.toml"))
    assert message in str(error.value) and "\n" not in str(error.value)


def test_ladder_reports_shape_none_dtype_and_nan_before_values():
    expected = np.ones(4)
    cases = {"shape (1, 4), expected (4,)": np.ones((1, 4)), "is None": None,
             "expected floating point": np.ones(4, dtype=int), "NaN or inf": np.array([1, np.nan, 1, 1.0]),
             "should be an array": [1.0, 1.0, 1.0, 1.0]}
    for words, actual in cases.items():
        result = compare("c", actual, expected, metric="rel_error", threshold=1e-8)
        assert not result.passed and words in result.message, result.message


def test_value_failure_says_size_threshold_and_worst_element():
    expected = np.arange(6, dtype=float).reshape(2, 3)
    actual = expected.copy()
    actual[1, 2] += 1
    result = compare("c", actual, expected, metric="rel_error", threshold=1e-8, hint="look at b")
    assert not result.passed
    assert "1/6 elements differ" in result.message and "worst at [1, 2]" in result.message
    assert "1e-08" in result.message and result.hint == "look at b" and "look at b" not in result.message
    assert result.where[1][2] > 0.5 and result.where[0][0] == 0
    assert compare("c", expected, expected, metric="norm_error", threshold=1e-12).passed


def test_metrics():
    assert rel_error([1.0, 2.0], [1.0, 2.0]) == 0
    assert abs(rel_error([1.0], [3.0]) - 0.5) < 1e-12
    assert abs(norm_error([3.0, 4.0], [0.0, 0.0]) - 1.0) < 1e-12


def test_colab_lines_are_neutralised_but_the_rest_of_the_cell_runs():
    source = "import numpy as np\nfrom google.colab import drive\ndrive.mount('/content')\n" \
             "if True:\n    !ls\n%cd /content\nx = 1"
    new, rules = neutralise_source(source)
    assert rules == ["colab import", "drive mount", "shell command", "directory change"]
    assert "x = 1" in new and "import numpy as np" in new
    compile(new.replace("%", "#"), "<cell>", "exec")
    assert "    pass  # [grader]" in new


def test_manual_answers_follow_their_question():
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell("# INLINE QUESTION 1\nWhy words?"),
        nbformat.v4.new_code_cell("x = 1"),
        nbformat.v4.new_markdown_cell("**Your Answer:** smaller sequences")])
    assert manual_answers(nb) == {"1": "smaller sequences"}


def test_failing_imports_are_guarded_for_the_rerun_but_future_imports_stay_first():
    from grader.grade.sanitize import guard_imports
    source = "from __future__ import print_function\nimport numpy as np\nfrom no_such_module import imread\nx = 1"
    guarded = guard_imports(source)
    assert guarded.startswith("from __future__ import print_function\ntry:\n    import numpy as np")
    namespace = {}
    exec(compile(guarded, "<cell>", "exec"), namespace)
    assert namespace["x"] == 1
    assert guard_imports("x = 1") is None


def test_symlinks_are_followed_only_inside_the_submission(tmp_path):
    from grader.grade.find import find
    outside = tmp_path / "secret.txt"
    outside.write_text("TA notes")
    sub = tmp_path / "student"
    (sub / "real_cs231n").mkdir(parents=True)
    (sub / "real_cs231n" / "rnn_layers.py").write_text("x = 1\n")
    (sub / "cs231n").symlink_to(sub / "real_cs231n")
    (sub / "leak.txt").symlink_to(outside)
    (sub / "real_cs231n" / "loop").symlink_to(sub / "real_cs231n")
    nbformat.write(nbformat.v4.new_notebook(), str(sub / "RNN_Captioning.ipynb"))
    submission = find(sub, tmp_path / "work")
    assert (submission.workdir / "cs231n" / "rnn_layers.py").read_text() == "x = 1\n"
    assert not (submission.workdir / "leak.txt").exists()
    assert not (submission.workdir / "real_cs231n" / "loop").exists()


def test_float32_results_for_float64_inputs_fail_with_a_dtype_message():
    expected = np.linspace(0, 1, 5)
    result = compare("c", expected.astype(np.float32), expected, metric="norm_error", threshold=1e-3)
    assert not result.passed and "float32 for float64 inputs" in result.message
    assert compare("c", expected.astype(np.float32), expected, metric="norm_error", threshold=1e-3,
                   input_dtype="float32").passed


def bare_item(status, message="", checks=()):
    """An item of results.json with only what first_problem reads."""
    return {"status": status, "message": message,
            "checks": [{"name": name, "passed": passed, "message": text} for name, passed, text in checks]}


def test_first_problem_of_failed_checks_names_the_check_without_label_nor_hint():
    graded = record("amy", {"rnn_forward": "failed"}, seed=1)
    assert first_problem(item(graded, "rnn_forward")) == (
        "hidden: N=1: norm_error 0.333 > 1e-09; 12/12 elements differ; worst at [2, 1]: got 6.645999, "
        "expected 3.3229995")
    assert first_problem(bare_item("failed", checks=[
        ("public: notebook inputs", True, ""), ("hidden: N=1", False, "loss has shape (1,), expected ()"),
        ("hidden: N=2", False, "h: norm_error 0.5 > 1e-09")])) == "hidden: N=1: loss has shape (1,), expected ()"
    assert first_problem(bare_item("failed", checks=[("c", False, "h differs from the reference: norm error 0.4")])) \
        == "c: h differs from the reference: norm error 0.4"  # a sentence, not a label: kept whole


def test_first_problem_of_an_error_is_the_first_line_of_its_message():
    assert first_problem(bare_item("error", "forward raised ValueError: shapes (3,4)\nTraceback (most recent call "
                                        "last):\n  File ...")) == "forward raised ValueError: shapes (3,4)"
    assert first_problem(bare_item("failed", "  flagged: imported grader.judge\n", checks=[("c", False, "h: x")])) \
        == "flagged: imported grader.judge"  # the item's own message comes before its checks


def test_first_problem_is_empty_for_a_pass_and_a_failure_that_says_nothing():
    assert first_problem(bare_item("passed", "ignored", checks=[("c", False, "h: x")])) == ""
    assert first_problem(bare_item("failed")) == ""


def test_first_problem_is_shortened_to_the_limit():
    text = first_problem(bare_item("timeout", "x" * 300))
    assert len(text) == 220 and text.endswith("x...")
    assert first_problem(bare_item("timeout", "y" * 30), limit=20) == "y" * 17 + "..."
    assert first_problem(bare_item("timeout", "z" * 20), limit=20) == "z" * 20


class _ParsesWhenFreed:
    """Freed only by the garbage collector (a cycle), and parses then: as asyncio does when it
    logs the lost exception of a task it frees (the traceback module parses for its carets)."""

    def __init__(self):
        self.cycle = self

    def __del__(self):
        ast.parse("f(x)[0] + g(y)")


def test_parsing_survives_finalizers_that_parse():
    source = "\n".join("a%d = [b + c * d for b in range(3) if f(b)]" % i for i in range(300))
    threshold = gc.get_threshold()
    gc.set_threshold(50)  # CPython 3.11 then raises "AST constructor recursion depth mismatch" most times
    try:
        for _ in range(30):
            garbage = [_ParsesWhenFreed() for _ in range(20)]
            del garbage
            assert len(untrusted.parse(source).body) == 300
    finally:
        gc.set_threshold(*threshold)
        gc.collect()


@pytest.mark.parametrize("source", ["x = " + "-" * 10000 + "1", "y = 1" + " + 1" * 10000, "z = a" + ".b" * 10000,
                                    "x = 1\0", "def f(:"], ids=["unary", "sum", "attributes", "null", "syntax"])
def test_student_source_the_parser_cannot_read_is_none_not_an_exception(source):
    assert untrusted.parse_untrusted(source) is None and not untrusted.compiles(source)
