"""Gradescope: its results.json from ours, the autograder zip, and a run of that zip's run_autograder."""
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import nbformat
import pytest

import e2e
import notebooks
from class_records import SETTINGS, rule
from grader import __version__, assignments
from grader.export import gradescope
from grader.results import score
from grader.results.report import render_html
from grader.results.schema import Results
from grader.sandbox import policy as course_rules
from grader.check.compare import CheckResult
from grader.errors import UsageError
from grader.check.judge import Verdict

BY_NAME = {item.name: item for item in assignments.load("rnn").items}

FAST_TOML = Path(__file__).with_name("fast.toml")
HINT = "check the order of tanh and the bias"


def entry(name, verdict):
    return score.item_result(BY_NAME[name], SETTINGS, verdict)


def check(name, passed, message="", hint=""):
    return CheckResult(name, "value", "hidden", "norm_error", 0.0 if passed else 0.4, 1e-9, passed, message, hint=hint)


def synthetic(policy=()):
    """Our results.json, built by grader.score: one item passed (5 points), one failed, one raised."""
    items = [
        entry("rnn_step_forward", Verdict(checks=[check("public: notebook inputs", True)])),
        entry("rnn_forward", Verdict(status="failed", checks=[
            check("public: notebook inputs", True),
            check("hidden: N=1, T=1", False, "h differs from the reference: norm error 0.4 > 1e-9", HINT)],
            notes=["graded with the grader's rnn_step_forward in place of yours"])),
        entry("rnn_backward", Verdict(status="error", problem="NameError: name 'dh0' is not defined")),
    ]
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# Inline Question 1\nWhy characters?"),
                                         nbformat.v4.new_markdown_cell("**Your Answer:** fewer parameters")])
    execution = {"cells": [{"index": 3, "status": "ok", "ename": "", "evalue": ""},
                           {"index": 7, "status": "error", "ename": "NameError",
                            "evalue": "name 'x' is not defined\nmore", "traceback": ""}],
                 "errors": 1, "supplied": {"cs231n/optim.py": "missing"}, "python2": {"converted": ["cell 2"]}}
    final, deducted = course_rules.apply(sum(i.score for i in items), list(policy))
    return Results("smith", SETTINGS.name, final, deducted, items, list(policy), score.manual_entries(SETTINGS, nb),
                   execution, public_only=False, skipped=[], seed=42, elapsed_s=3.4).to_json()


def scored_sum(gs):
    return sum(t["score"] for t in gs["tests"] if "score" in t)


def test_items_become_tests_with_statuses_and_readable_output():
    gs = gradescope.to_gradescope(synthetic())
    tests = {t["name"]: t for t in gs["tests"]}
    assert list(tests) == ["rnn_step_forward", "rnn_forward", "rnn_backward", "inline_question_1"]
    assert [(t["score"], t["max_score"], t["status"]) for t in gs["tests"][:3]] == [
        (5.0, 5.0, "passed"), (0.0, 5.0, "failed"), (0.0, 10.0, "failed")]
    assert gs["score"] == 5.0 and scored_sum(gs) == 5.0
    assert tests["rnn_step_forward"]["output"] == "All checks passed."
    failed = tests["rnn_forward"]["output"].splitlines()
    assert failed == ["Failed.", "- hidden: N=1, T=1: h differs from the reference: norm error 0.4 > 1e-9",
                      "Hint: " + HINT, "Note: graded with the grader's rnn_step_forward in place of yours"]
    assert tests["rnn_backward"]["output"].splitlines() == [
        "Error: your code raised an exception.", "NameError: name 'dh0' is not defined"]
    assert {t["visibility"] for t in gs["tests"]} == {"visible"} and gs["visibility"] == "visible"
    assert gs["stdout_visibility"] == "hidden" and gs["extra_data"] == {"seed": 42, "grader_version": __version__}
    assert json.loads(json.dumps(gs)) == gs


def test_manual_item_has_max_score_and_no_score():
    manual = gradescope.to_gradescope(synthetic())["tests"][-1]
    assert manual["name"] == "inline_question_1" and manual["max_score"] == 5.0
    assert "score" not in manual and "status" not in manual
    assert manual["output"].endswith("Your answer:\n\nfewer parameters")


def test_overview_has_score_rules_and_cells_that_raised():
    rules = [rule("no-extra-imports", "warn", message="Imports that the template does not have: os."),
             rule("outputs-kept", "warn", passed=True)]
    lines = gradescope.to_gradescope(synthetic(rules))["output"].splitlines()
    assert lines == [
        "Automatic score: 5 / 20 (+ 5 points graded by hand). Seed of the hidden inputs: 42.",
        "Course rule no-extra-imports broken (warning only): Imports that the template does not have: os.",
        "1 notebook cell(s) raised or timed out:",
        "- cell 7: NameError: name 'x' is not defined",
        "Given files supplied by the grader (yours were missing or did not import): cs231n/optim.py",
        "Converted from Python 2 before running: cell 2"]


@pytest.mark.parametrize("rules, final, deductions", [
    ([rule("edits-only-in-todo", "penalty", 3.0, "cell 4 changed outside TODO")], 2.0, [-3.0]),
    ([rule("edits-only-in-todo", "penalty", 3.0), rule("outputs-kept", "penalty", 4.0)], 0.0,
     [-3.0, -2.0]),  # not below 0
    ([rule("no-extra-imports", "zero"), rule("outputs-kept", "penalty", 1.0)], 0.0, [-5.0, 0.0]),
    ([rule("no-extra-imports", "zero", passed=True), rule("outputs-kept", "warn")], 5.0, []),
])
def test_policy_deductions_are_negative_tests_that_sum_to_the_score(rules, final, deductions):
    results = synthetic(rules)
    gs = gradescope.to_gradescope(results)
    rule_tests = [t for t in gs["tests"] if t["name"].startswith("course rule: ")]
    assert results["score"] == gs["score"] == final
    assert [t["score"] for t in rule_tests] == deductions
    assert all(t["max_score"] == 0.0 and t["status"] == "failed" for t in rule_tests)
    assert scored_sum(gs) == pytest.approx(final)


def test_grading_error_gives_score_zero_and_the_message():
    gs = gradescope.to_gradescope({"error": "no notebook found in submission"})
    assert gs["score"] == 0 and gs["tests"] == []
    assert gs["output"].endswith("no notebook found in submission")


def test_run_turns_a_usage_error_into_a_result(tmp_path):
    (tmp_path / "submission").mkdir()
    results = tmp_path / "results" / "results.json"
    assert gradescope.main(["run", str(tmp_path / "submission"), str(results)]) == 0
    gs = json.loads(results.read_text())
    assert gs["score"] == 0 and gs["tests"] == [] and "could not grade" in gs["output"]
    assert not (tmp_path / "results" / "grader").exists()


def unpack(zip_path, dest):
    """Unzip as Gradescope does, keeping the permission bits recorded in the zip."""
    with zipfile.ZipFile(zip_path) as zf:
        for info in zf.infolist():
            zf.extract(info, dest)
            os.chmod(dest / info.filename, (info.external_attr >> 16) & 0o777)
    return dest


def test_autograder_zip_content(tmp_path):
    path = gradescope.build_autograder(tmp_path / "out" / "autograder.zip")
    assert os.listdir(tmp_path / "out") == ["autograder.zip"]  # no temporary file left
    with zipfile.ZipFile(path) as zf:
        infos = {i.filename: i for i in zf.infolist()}
    names = set(infos)
    assert {"setup.sh", "run_autograder", "grader_src/pyproject.toml",
            "grader_src/grader/export/gradescope.py",
            "grader_src/grader/sandbox/policy/edits.py", "grader_src/grader/assignments/rnn.toml",
            "grader_src/grader/templates/report.html.j2", "grader_src/grader/assignments/rnn.calibration.json",
            "grader_src/reference/rnn_layers.py", "grader_src/student_template/notebook/RNN_Captioning.ipynb",
            "grader_src/student_template/module/cs231n/rnn_layers.py"} <= names
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc") or n.startswith(("grader_src/tests",
                                                                                              "grader_src/reports"))]
    assert not [n for n in names if n.startswith("assignment/")]
    modes = {n: (i.external_attr >> 16) & 0o777 for n, i in infos.items()}
    assert modes["setup.sh"] == modes["run_autograder"] == 0o755 and modes["grader_src/pyproject.toml"] == 0o644
    root = unpack(path, tmp_path / "source")
    for script in ("setup.sh", "run_autograder"):
        done = subprocess.run(["bash", "-n", str(root / script)], capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
    assert "--assignment rnn\n" in (root / "run_autograder").read_text()
    assert "python3-venv bubblewrap" in (root / "setup.sh").read_text()


def test_toml_is_packed_with_its_policy_template(tmp_path):
    course = tmp_path / "course"
    (course / "template").mkdir(parents=True)
    (course / "template" / "RNN_Captioning.ipynb").write_bytes(
        (notebooks.TEMPLATE_DIR / "notebook" / notebooks.NOTEBOOK_NAME).read_bytes())
    toml = course / "my course.toml"
    toml.write_text('extends = "rnn"\n[policy]\ntemplate = "template/RNN_Captioning.ipynb"\n')
    with zipfile.ZipFile(gradescope.build_autograder(tmp_path / "a.zip", str(toml))) as zf:
        names = set(zf.namelist())
        script = zf.read("run_autograder").decode()
    assert {"assignment/my course.toml", "assignment/template/RNN_Captioning.ipynb"} <= names
    assert "--assignment \"$SOURCE\"/assignment/'my course.toml'\n" in script
    (tmp_path / "sub").mkdir()
    outside = tmp_path / "sub" / "outside.toml"
    outside.write_text('extends = "rnn"\n[policy]\ntemplate = "../course/template/RNN_Captioning.ipynb"\n')
    with pytest.raises(UsageError, match="inside the TOML's folder"):
        gradescope.build_autograder(tmp_path / "sub" / "b.zip", str(outside))
    with pytest.raises(UsageError, match="unknown assignment"):
        gradescope.build_autograder(tmp_path / "sub" / "c.zip", "gan")
    assert os.listdir(tmp_path / "sub") == ["outside.toml"]


def autograder(tmp_path, toml=FAST_TOML):
    """A Gradescope-like /autograder under tmp_path, with the zip unpacked in source/."""
    root = tmp_path / "autograder"
    unpack(gradescope.build_autograder(tmp_path / "autograder.zip", str(toml)), root / "source")
    (root / "submission").mkdir()
    return root


def run_autograder(root, python=sys.executable):
    env = dict(os.environ, AUTOGRADER_ROOT=str(root), GRADER_PYTHON=python)
    return subprocess.run([str(root / "source" / "run_autograder")], env=env, cwd=root, capture_output=True,
                          text=True, timeout=600)


@pytest.mark.slow
def test_run_autograder_grades_the_reference_with_full_marks(tmp_path):
    root = autograder(tmp_path)
    e2e.without_training(notebooks.build_submission("notebook", root / "submission", solutions="reference"))
    done = run_autograder(root)
    assert done.returncode == 0, done.stderr
    gs = json.loads((root / "results" / "results.json").read_text())
    automatic = [t for t in gs["tests"] if "score" in t]
    assert [t["name"] for t in automatic] == [i.name for i in e2e.FAST.items if i.kind != "manual"]
    assert all(t["status"] == "passed" and t["score"] == t["max_score"] > 0 for t in automatic), gs["tests"]
    assert gs["score"] == sum(t["max_score"] for t in automatic) == 85.0
    assert [t["name"] for t in gs["tests"] if "score" not in t] == ["inline_question_1"]
    assert gs["output"].startswith("Automatic score: 85 / 85 (+ 5 points graded by hand).")
    ours = json.loads((root / "results" / "grader" / "results.json").read_text())
    assert ours["score"] == 85.0 and str(ours["seed"]) in gs["output"]
    assert (root / "results" / "grader" / "report.html").read_text() == render_html(ours)


def test_run_autograder_writes_a_result_even_when_python_fails(tmp_path):
    root = autograder(tmp_path)
    done = run_autograder(root, python="/bin/false")
    assert done.returncode == 0
    gs = json.loads((root / "results" / "results.json").read_text())
    assert gs["score"] == 0 and gs["tests"] == [] and "failed before grading" in gs["output"]
