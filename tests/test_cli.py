"""The `grade` command: bad input gets one line on stderr and exit 2, never a traceback."""
import json
import subprocess
import sys

import nbformat
import pytest

import make_demo
from grader.results import report


def run_grade(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "grader", *args], capture_output=True, text=True,
                          timeout=120, cwd=cwd)


def bad_inputs(tmp_path, course_toml):
    (tmp_path / "notes.txt").write_text("hello")
    (tmp_path / "broken.ipynb").write_text("{not json")
    (tmp_path / "list.ipynb").write_text("[1, 2]")
    (tmp_path / "bad.toml").write_text("extends = \n")
    course_toml("[items.lstm_magic]\npoints = 3\n", "unknown_item.toml")
    course_toml("[timeouts]\ncell = -1\n", "negative.toml")
    (tmp_path / "empty").mkdir()
    (tmp_path / "fake.zip").write_text("not a zip")
    ok = tmp_path / "ok.ipynb"
    nbformat.write(nbformat.v4.new_notebook(), str(ok))
    return {
        "missing path": [str(tmp_path / "nope.ipynb")],
        "not a notebook": [str(tmp_path / "notes.txt")],
        "invalid JSON": [str(tmp_path / "broken.ipynb")],
        "JSON but not a notebook": [str(tmp_path / "list.ipynb")],
        "folder without notebook": [str(tmp_path / "empty")],
        "bad zip": [str(tmp_path / "fake.zip")],
        "unknown assignment": [str(ok), "--assignment", "gan"],
        "bad TOML": [str(ok), "--assignment", str(tmp_path / "bad.toml")],
        "unknown item in TOML": [str(ok), "--assignment", str(tmp_path / "unknown_item.toml")],
        "negative timeout in TOML": [str(ok), "--assignment", str(tmp_path / "negative.toml")],
        "negative --timeout": [str(ok), "--timeout", "-3"],
        "unknown flag": [str(ok), "--frobnicate"],
        "nothing to grade": [],
    }


CASES = ["missing path", "not a notebook", "invalid JSON", "JSON but not a notebook", "folder without notebook",
         "bad zip", "unknown assignment", "bad TOML", "unknown item in TOML", "negative timeout in TOML",
         "negative --timeout", "unknown flag", "nothing to grade"]


@pytest.mark.parametrize("case", CASES)
def test_bad_input_is_one_line_and_exit_2(tmp_path, course_toml, case):
    done = run_grade(*bad_inputs(tmp_path, course_toml)[case], "--out", str(tmp_path / "out"))
    assert done.returncode == 2, (done.stdout, done.stderr)
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("grade: error:"), done.stderr
    assert "Traceback" not in done.stderr and done.stdout == ""
    assert not (tmp_path / "out").exists()


def test_committed_demo_is_what_the_builder_makes():
    committed = nbformat.read(str(make_demo.DEMO), as_version=4)
    built = make_demo.build_demo()
    assert [(c.cell_type, c.source) for c in committed.cells] == [(c.cell_type, c.source) for c in built.cells]
    assert committed.metadata["grader_demo"] == built.metadata["grader_demo"]


@pytest.mark.slow
def test_grade_writes_json_lines_reports_and_leaves_the_submission_alone(tmp_path):
    submission = tmp_path / "empty_notebook.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1")]), str(submission))
    before = submission.read_bytes()
    done = run_grade(str(submission), "--json", "--public-only", "--seed", "4", "--out", str(tmp_path / "out"),
                     "--assignment", "rnn")
    assert done.returncode == 0, done.stderr
    results = json.loads(done.stdout.strip())
    assert results["seed"] == 4 and results["score"] == 0
    assert {i["status"] for i in results["items"]} == {"missing"}
    folder = tmp_path / "out" / "empty_notebook"
    assert json.loads((folder / "results.json").read_text()) == results
    html = (folder / "report.html").read_text()
    assert "rnn_step_forward" in html and "missing" in html
    assert submission.read_bytes() == before
    assert "empty_notebook: 0 / 85" in report.summary(results)
    assert results["skipped"] == ["overfit_small_data"]


def test_unwritable_output_folder_is_a_usage_error(tmp_path):
    submission = tmp_path / "x.ipynb"
    nbformat.write(nbformat.v4.new_notebook(), str(submission))
    (tmp_path / "file").write_text("")
    done = run_grade(str(submission), "--out", str(tmp_path / "file" / "reports"))
    assert done.returncode == 2 and done.stderr.startswith("grade: error: cannot write reports")


@pytest.mark.slow
def test_json_stays_one_line_when_student_code_prints(tmp_path):
    noisy = ("import sys, numpy as np\nprint('noise ' * 1000)\nsys.stderr.write('err\\n')\n"
             "def rnn_step_forward(x, prev_h, Wx, Wh, b):\n    print('called', file=sys.stderr)\n"
             "    print('called')\n    next_h = np.tanh(x @ Wx + prev_h @ Wh + b)\n    return next_h, None\n")
    submission = tmp_path / "noisy.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(noisy)]), str(submission))
    done = run_grade(str(submission), "--json", "--public-only", "--out", str(tmp_path / "out"))
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert len(lines) == 1
    item = json.loads(lines[0])["items"][0]
    assert item["name"] == "rnn_step_forward" and item["status"] == "passed"


def test_check_sandbox_reports_what_it_checked_inside():
    done = run_grade("--check-sandbox")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("isolation level: ")
    assert "sees the grader's files: " in done.stdout and "memory limit: 4096 MB" in done.stdout


def test_gradescope_autograder_zip_is_written(tmp_path):
    import zipfile
    done = run_grade("--gradescope-autograder", str(tmp_path / "autograder.zip"))
    assert done.returncode == 0, done.stderr
    names = zipfile.ZipFile(tmp_path / "autograder.zip").namelist()
    assert "setup.sh" in names and "run_autograder" in names and "grader_src/grader/grade/pipeline.py" in names and "grader_src/pyproject.toml" in names
    assert "grader_src/reference/rnn_layers.py" in names and "grader_src/student_template/module/cs231n/layers.py" in names
