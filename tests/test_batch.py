"""Batch grading of a synthetic Canvas class: identities, resubmissions, hostile and broken
notebooks, the class files, the cache across a kill -9, and the Dask path."""
import csv
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest
import zipfile

import classes
from files import read_records, read_rows

BATCH_TOML = str(Path(__file__).with_name("batch.toml"))
GRADE = [sys.executable, "-m", "grader", "--assignment", BATCH_TOML, "--seed", "7"]
# The kill -9 and Dask runs grade a part of the class: the same students, same content and
# seed, must get the rows the whole-class run gave them.
PART = classes.ROSTER[:6] + classes.ROSTER[12:15] + classes.ROSTER[20:21] + classes.ROSTER[24:25] \
    + classes.ROSTER[26:27] + classes.ROSTER[28:29] + classes.ROSTER[30:]
pytestmark = [pytest.mark.xdist_group("batch"),  # one worker: the class is graded once
              pytest.mark.slow]


@pytest.fixture(scope="module")
def canvas(tmp_path_factory):
    return classes.canvas_zip(tmp_path_factory.mktemp("class") / "submissions.zip")


@pytest.fixture(scope="module")
def graded(canvas, tmp_path_factory):
    out = tmp_path_factory.mktemp("graded") / "out"
    run = subprocess.run(GRADE + [str(canvas), "--out", str(out), "--jobs", "2"], capture_output=True, text=True,
                         timeout=900)
    assert run.returncode == 0, run.stderr[-3000:]
    return out, run


def _gradebook(out):
    return {row["id"]: row for row in read_records(out / "gradebook.csv")}


def _part_of(out):
    """The whole-class gradebook's rows for the students of PART."""
    ids = {"%s_%d" % (name, user) for name, user, _ in PART}
    return {sid: row for sid, row in _gradebook(out).items() if sid in ids}


@pytest.fixture(scope="module")
def part(tmp_path_factory):
    return classes.canvas_zip(tmp_path_factory.mktemp("part") / "part.zip", PART)


def test_every_student_of_the_canvas_zip_is_graded_once_with_their_identity(graded):
    out, run = graded
    book = _gradebook(out)
    assert len(book) == len(classes.ROSTER)
    assert sorted(book) == sorted("%s_%d" % (name, user) for name, user, _ in classes.ROSTER)
    kinds = {"%s_%d" % (name, user): kind for name, user, kind in classes.ROSTER}
    for sid, row in book.items():
        kind = kinds[sid]
        full = float(row["max_score"]) - 5  # the manual question is graded by hand
        if kind in ("correct", "late", "resubmitted", "module"):
            assert float(row["score"]) == full, (sid, row)
        elif kind == "buggy":
            assert row["rnn_step_backward_status"] == "failed" and float(row["score"]) == full - 10
        elif kind == "blank":
            assert float(row["score"]) == 0
        elif kind == "hostile":  # os._exit in a cell between the function definitions
            assert float(row["score"]) > 0
        assert row["late"] == ("yes" if kind == "late" else "no")
        assert (out / sid / "results.json").exists() and (out / sid / "report.html").exists()
    assert "graded %d" % len(classes.ROSTER) in run.stdout


def test_files_that_are_not_submissions_are_listed_not_guessed(graded):
    out, _ = graded
    info = json.loads((out / "batch.json").read_text())
    listed = {Path(u["path"]).name for u in info["unrecognised"]}
    assert "notes from the TA.pdf" in listed and "someone_RNN_Captioning.ipynb" in listed
    superseded = {s["student"]: s["files"] for s in info["superseded"]}
    assert all(files for files in superseded.values()) and len(superseded) == 2
    page = (out / "summary.html").read_text()
    assert "notes from the TA.pdf" in page


def test_canvas_csv_has_the_import_columns_and_every_student(graded):
    out, _ = graded
    rows = read_rows(out / "canvas.csv")
    assert rows[0][:5] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]
    assert "Points Possible" in rows[1][0]
    assert {r[1] for r in rows[2:]} == {str(user) for _, user, _ in classes.ROSTER}


def test_manual_answers_page_and_csv(graded):
    out, _ = graded
    rows = read_records(out / "manual.csv")
    assert len(rows) == len(classes.ROSTER) and {r["item"] for r in rows} == {"inline_question_1"}
    assert "The vocabulary is smaller." in (out / "manual.html").read_text()


def test_merge_manual_folds_points_into_results_and_gradebook(graded, tmp_path):
    out = tmp_path / "copy"  # the class's own outputs stay as graded, for the other tests
    shutil.copytree(graded[0], out)
    rows = read_records(out / "manual.csv")
    for row in rows:
        row["points"], row["comment"] = "4", "good"
    filled = tmp_path / "filled.csv"
    with open(filled, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    run = subprocess.run(GRADE + ["--out", str(out), "--merge-manual", str(filled)], capture_output=True,
                         text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    sid = "student00_1000"
    results = json.loads((out / sid / "results.json").read_text())
    assert results["manual"][0]["score"] == 4 and results["manual"][0]["comment"] == "good"
    row = _gradebook(out)[sid]
    assert row["inline_question_1"] == "4" and float(row["score"]) == results["score"] + 4
    assert "TA's comment:</b> good" in (out / sid / "report.html").read_text()
    canvas_rows = {r[1]: r for r in read_rows(out / "canvas.csv")}
    assert float(canvas_rows["1000"][-1]) == results["score"] + 4


def test_moodle_folders_nested_zips_and_plain_names(tmp_path):
    moodle = tmp_path / "moodle"
    for n, name in enumerate(["Ada Lovelace", "Alan Turing"]):
        folder = moodle / ("%s_%d_assignsubmission_file_" % (name, 400 + n))
        folder.mkdir(parents=True)
        nbformat.write(classes.small_notebook("correct"), str(folder / "RNN_Captioning.ipynb"))
    inner = tmp_path / "inner.zip"  # a student who zipped their folder, inside the Moodle download
    with zipfile.ZipFile(inner, "w") as archive:
        archive.writestr("hw3/RNN_Captioning.ipynb", nbformat.writes(classes.small_notebook("buggy")))
    folder = moodle / "Grace Hopper_402_assignsubmission_file_"
    folder.mkdir()
    (folder / "hw3.zip").write_bytes(inner.read_bytes())
    plain = tmp_path / "plain"
    plain.mkdir()
    for name in ("jdoe", "asmith"):
        nbformat.write(classes.small_notebook("correct"), str(plain / (name + ".ipynb")))
    out = tmp_path / "out"
    run = subprocess.run(GRADE + [str(moodle), str(plain), "--out", str(out), "--jobs", "2"], capture_output=True,
                         text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-2000:]
    book = _gradebook(out)
    assert sorted(book) == ["ada_lovelace_400", "alan_turing_401", "asmith", "grace_hopper_402", "jdoe"]
    assert book["ada_lovelace_400"]["name"] == "Ada Lovelace"
    assert book["grace_hopper_402"]["rnn_step_backward_status"] == "failed"
    assert book["jdoe"]["rnn_step_backward_status"] == "passed"
    assert not (out / "canvas.csv").exists()  # nobody came from Canvas and no roster was given


def test_ctrl_c_stops_cleanly_and_keeps_what_finished(part, tmp_path):
    out = tmp_path / "out"
    process = subprocess.Popen(GRADE + [str(part), "--out", str(out), "--jobs", "2"], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and len(list((out / ".cache").glob("*.json"))) < 3:
        time.sleep(0.1)
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=120)
    assert process.returncode == 130 and "interrupted" in err and "Traceback" not in err
    finished = len(list((out / ".cache").glob("*.json")))
    book = _gradebook(out)
    assert len(book) == finished >= 3  # the gradebook holds what finished, nothing half-done
    assert all(row["score"] for row in book.values())


def test_kill_9_mid_batch_then_rerun_gives_the_same_gradebook(part, graded, tmp_path):
    out = tmp_path / "out"
    process = subprocess.Popen(GRADE + [str(part), "--out", str(out), "--jobs", "2"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and len(list((out / ".cache").glob("*.json"))) < 4:
        time.sleep(0.1)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    time.sleep(1)  # the workers stop on their parent's death; one may still have been finishing
    done_before = len(list((out / ".cache").glob("*.json")))
    assert 4 <= done_before < len(PART)
    rerun = subprocess.run(GRADE[:-2] + [str(part), "--out", str(out), "--jobs", "2"], capture_output=True,
                           text=True, timeout=900)  # no --seed: the batch's recorded seed is reused
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    assert "graded %d, reused %d " % (len(PART) - done_before, done_before) in rerun.stdout
    assert _gradebook(out) == _part_of(graded[0])
    assert len(list((out / ".cache").glob("*.json"))) == len(PART)


def test_dask_cluster_gives_the_same_gradebook(part, graded, tmp_path):
    distributed = pytest.importorskip("distributed")
    out = tmp_path / "out"
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster:
        run = subprocess.run(GRADE + [str(part), "--out", str(out), "--scheduler", cluster.scheduler_address],
                             capture_output=True, text=True, timeout=900)
    assert run.returncode == 0, run.stderr[-3000:]
    assert _gradebook(out) == _part_of(graded[0])
