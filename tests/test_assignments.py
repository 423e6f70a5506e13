"""Every version of the assignment, described as data: lstm and cs7353 graded like rnn,
an assignment that is only a TOML file, and the version recognised without a flag."""
import json
import subprocess
import sys

import nbformat
import pytest

import bugs_lstm
import notebooks
from grader import assignments
from grader.check.judge import Judge
from grader.errors import UsageError
from grader.grade.probe import LocalBackend
from test_judge_bugs import namespace_with
from grader.assignments.calibrate import reference_namespace

JUDGED = ("layer", "model_loss", "sample")
LOST = ("failed", "error")


def failing_items(assignment, namespace, seed):
    """{item: status} of the items judged in-process that do not pass."""
    settings = assignments.load(assignment)
    judge = Judge(LocalBackend(namespace), settings, seed)
    statuses = {item.name: judge.judge(item).status for item in settings.items if item.kind in JUDGED}
    return {name: status for name, status in statuses.items() if status != "passed"}


def test_list_assignments_names_every_built_in_one():
    done = subprocess.run([sys.executable, "-m", "grader", "--list-assignments"], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    assert [line.split()[0] for line in done.stdout.splitlines()] == ["cs7353", "lstm", "rnn", "rnn-pytorch"]
    assert "CS231n Image Captioning with LSTMs (NumPy): 7 items, 100 points" in done.stdout


def test_lstm_items_follow_the_notebook():
    settings = assignments.load("lstm")
    assert [i.name for i in settings.items] == [
        "lstm_step_forward", "lstm_step_backward", "lstm_forward", "lstm_backward", "CaptioningRNN.loss",
        "CaptioningRNN.sample", "overfit_small_data", "inline_question_1"]
    assert settings.cell_type == "lstm" and settings.threshold("lstm_backward", "dWh") == 1e-5
    assert settings.threshold("lstm_backward", "dx") == 1e-7


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_the_reference_passes_every_lstm_item(seed):
    assert failing_items("lstm", reference_namespace(), seed) == {}


@pytest.mark.slow  # the seed sweep runs them on 200 seeds too
@pytest.mark.parametrize("bug", bugs_lstm.BUGS, ids=lambda b: b.name)
def test_each_lstm_bug_fails_exactly_its_item(bug):
    failing = failing_items("lstm", namespace_with(bug.replace), seed=5)
    assert set(failing) == {bug.item} and failing[bug.item] in LOST  # a shape error raises in some


def test_an_assignment_can_be_only_a_toml_file(tmp_path, course_toml):
    """A course that grades the given affine layer: a TOML, no Python."""
    toml = tmp_path / "affine.toml"
    toml.write_text('''name = "affine"
[items.affine_forward]
kind = "layer"
forward = "affine_forward"
outputs = ["out"]
points = 4
threshold = 1e-9
inputs = [{ randn = ["N", "D"] }, { randn = ["D", "M"] }, { randn = ["M"] }]
upstream = [{ randn = ["N", "M"] }]
[[items.affine_forward.public]]
name = "public: a cell of the course's notebook"
dims = { N = 2, D = 3, M = 4 }
args = [{ linspace = [-1, 1], shape = ["N", "D"] }, { linspace = [0, 2], shape = ["D", "M"] }, { value = [1, 2, 3, 4] }]
[items.affine_backward]
kind = "layer"
forward = "affine_forward"
backward = "affine_backward"
outputs = ["dx", "dw", "db"]
wrt = [0, 1, 2]
points = 6
threshold = 1e-8
[[items.affine_backward.public]]
name = "public: gradient check"
seed = 3
dims = { N = 2, D = 3, M = 4 }
args = [{ randn = ["N", "D"] }, { randn = ["D", "M"] }, { randn = ["M"] }]
upstream = [{ randn = ["N", "M"] }]
''')
    settings = assignments.load(str(toml))
    assert [i.name for i in settings.items] == ["affine_forward", "affine_backward"]
    assert settings.cell_timeout == 60  # the rest comes from defaults.toml
    judge = Judge(LocalBackend(reference_namespace()), settings, 7)
    assert [judge.judge(item).status for item in settings.items] == ["passed", "passed"]
    wrong = namespace_with({"affine_backward": "def affine_backward(dout, cache):\n    x, w, b = cache\n"
                                               "    return dout @ w.T, x.T @ dout, dout.sum(axis=1)\n"})
    judge = Judge(LocalBackend(wrong), settings, 7)
    assert [judge.judge(item).status for item in settings.items] == ["passed", "failed"]


@pytest.mark.parametrize("path, expected", [
    ("notebook/RNN_Captioning.ipynb", "rnn"), ("notebook/LSTM_Captioning.ipynb", "lstm"),
    ("module/LSTM_Captioning.ipynb", "lstm"), ("cs7353/CS7353_RNN_Captioning.ipynb", "cs7353"),
])
def test_the_version_is_recognised_from_the_notebook(path, expected):
    name, why = assignments.detect_for(notebooks.TEMPLATE_DIR / path)
    assert name == expected and why


def test_a_folder_with_both_notebooks_is_rnn_and_says_how_to_grade_both():
    name, why = assignments.detect_for(notebooks.TEMPLATE_DIR / "module")
    assert name == "rnn" and "--assignment rnn,lstm" in why


def test_a_renamed_notebook_is_recognised_by_its_code(tmp_path):
    path = notebooks.build_submission("notebook", tmp_path, notebook=notebooks.LSTM_NOTEBOOK_NAME)
    renamed = path.rename(tmp_path / "homework3.ipynb")
    assert assignments.detect_for(renamed)[0] == "lstm"


def test_a_notebook_of_no_known_version_is_one_line_naming_them(tmp_path):
    path = tmp_path / "essay.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("print('hello')")]), str(path))
    with pytest.raises(UsageError, match=r"cannot tell which assignment .*known: cs7353, lstm, rnn, rnn-pytorch"):
        assignments.detect_for(path)
    done = subprocess.run([sys.executable, "-m", "grader", str(path), "--out", str(tmp_path / "out")],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and len(done.stderr.strip().splitlines()) == 1


# ------------------------------------------------------------------ graded end to end
def _grade_cli(*args, cwd):
    done = subprocess.run([sys.executable, "-m", "grader", *args, "--json", "--seed", "5"], capture_output=True,
                          text=True, timeout=900, cwd=cwd)
    assert done.returncode == 0, done.stderr[-3000:]
    return [json.loads(line) for line in done.stdout.splitlines()]


@pytest.mark.slow
@pytest.mark.parametrize("form", notebooks.FORMS)
def test_solved_lstm_notebook_gets_full_marks_with_no_flag(tmp_path, form):
    built = notebooks.build_submission(form, tmp_path / "s", solutions="reference", notebook=notebooks.LSTM_NOTEBOOK_NAME)
    (results,) = _grade_cli(str(built), "--out", str(tmp_path / "out"), cwd=tmp_path)
    assert results["assignment"] == "lstm" and results["execution"]["assignment"]["why"].startswith("recognised")
    assert {i["name"]: i["status"] for i in results["items"] if i["status"] != "passed"} == {}
    assert results["score"] == results["automatic_max_score"] == 95


@pytest.mark.slow
def test_blank_lstm_template_gets_nothing(tmp_path):
    built = notebooks.build_submission("notebook", tmp_path / "s", notebook=notebooks.LSTM_NOTEBOOK_NAME)
    (results,) = _grade_cli(str(built), "--out", str(tmp_path / "out"), "--public-only", cwd=tmp_path)
    assert results["assignment"] == "lstm" and results["score"] == 0
    assert {i["status"] for i in results["items"]} == {"not_implemented"}


@pytest.mark.slow
def test_a_folder_holding_both_notebooks_gets_one_result_per_notebook(tmp_path):
    folder = tmp_path / "student"
    notebooks.build_submission("module", folder, solutions="reference")
    notebooks.build_submission("module", folder, solutions="reference", notebook=notebooks.LSTM_NOTEBOOK_NAME)
    rnn, lstm = _grade_cli(str(folder), "--assignment", "rnn,lstm", "--public-only", "--out",
                           str(tmp_path / "out"), cwd=tmp_path)
    assert (rnn["assignment"], lstm["assignment"]) == ("rnn", "lstm")
    assert rnn["execution"]["graded"]["notebook"] == "RNN_Captioning.ipynb"
    assert lstm["execution"]["graded"]["notebook"] == "LSTM_Captioning.ipynb"
    assert rnn["score"] == rnn["automatic_max_score"] and lstm["score"] == lstm["automatic_max_score"]
    assert {p.name for p in (tmp_path / "out").iterdir()} == {"student-rnn", "student-lstm"}


def _cs7353_submission(tmp_path, replace=None, extra_cells=None):
    """The course's notebook solved inside its TODO regions and run, as a student hands it in."""
    path = notebooks.build_submission("notebook", tmp_path, solutions="reference", fill="todo", replace=replace,
                                      template=notebooks.CS7353_TEMPLATE, extra_cells=extra_cells)
    notebooks.place_small_coco(path)
    nb, _ = notebooks.execute_notebook(path)
    nbformat.write(nb, str(path))
    return path


@pytest.mark.slow
def test_solved_cs7353_notebook_gets_full_marks_and_breaks_no_rule(tmp_path):
    (results,) = _grade_cli(str(_cs7353_submission(tmp_path / "s")), "--out", str(tmp_path / "out"), cwd=tmp_path)
    assert results["assignment"] == "cs7353"
    assert [i["name"] for i in results["items"] if i["status"] != "passed"] == []
    assert results["score"] == results["automatic_max_score"] == 75
    assert [r["rule"] for r in results["policy"] if not r["passed"]] == []


@pytest.mark.slow
def test_a_broken_cs7353_rule_zeroes_the_score(tmp_path):
    tanh_from_scipy = ("def rnn_step_forward(x, prev_h, Wx, Wh, b):\n    import scipy.special\n"
                       "    next_h = 2 * scipy.special.expit(2 * (x @ Wx + prev_h @ Wh + b)) - 1\n"
                       "    return next_h, (x, prev_h, Wx, Wh, next_h)\n")
    path = _cs7353_submission(tmp_path / "s", replace={"rnn_step_forward": tanh_from_scipy})
    (results,) = _grade_cli(str(path), "--out", str(tmp_path / "out"), cwd=tmp_path)
    assert [i["status"] for i in results["items"]] == ["passed"] * 10
    broken = [r for r in results["policy"] if not r["passed"]]
    assert [r["rule"] for r in broken] == ["no-extra-imports"] and broken[0]["action"] == "zero"
    assert results["score"] == 0
    html = (tmp_path / "out" / results["submission"] / "report.html").read_text()
    assert html.index("Course rule no-extra-imports broken: score set to 0") < html.index("<h2>Items</h2>")


def test_the_demo_is_recognised_as_rnn():
    assert assignments.detect_for(notebooks.REPO / "grader" / "demo" / "demo.ipynb")[0] == "rnn"


def test_a_missing_requirement_is_one_line_saying_how_to_install_it(monkeypatch):
    settings = assignments.load("rnn-pytorch")
    monkeypatch.setattr("importlib.util.find_spec", lambda name: None)
    with pytest.raises(UsageError, match=r"needs torch in the grader's Python: pip install 'cs231n-rnn-grader\[torch\]'"):
        settings.check_requirements()


@pytest.mark.slow
def test_blank_cs7353_notebook_gets_nothing(tmp_path):
    path = notebooks.build_submission("notebook", tmp_path / "s", template=notebooks.CS7353_TEMPLATE)
    (results,) = _grade_cli(str(path), "--out", str(tmp_path / "out"), cwd=tmp_path)
    assert results["assignment"] == "cs7353" and results["score"] == 0
    assert {i["status"] for i in results["items"]} == {"not_implemented"}
