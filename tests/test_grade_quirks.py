"""Notebooks as students hand them in: Colab and Python 2 cells, broken given files, course-repo zips.

Hostile notebooks (hangs, crashes, sabotage, grader access) live in tests/test_hostile.py."""
import re

import pytest

from bugs import BY_NAME
from e2e import FAST, build, failing, grade_fast, item, statuses
from grader import assignments
from grader.grade.pipeline import grade
from grader.results.report import render_html
from grader.sandbox import policy

COLAB_CELL = '''from google.colab import drive
drive.mount('/content/drive')
FOLDERNAME = 'cs231n/assignments/assignment3/'
%cd /content/drive/My\\ Drive/$FOLDERNAME
!bash get_datasets.sh
%pip install h5py
import sys'''
PY2_CELL = "print 'hello from 2016'"


@pytest.mark.slow
def test_colab_cells_are_neutralised_and_python2_cells_converted(tmp_path):
    path = build(tmp_path, extra_cells=[("start", COLAB_CELL), ("end", PY2_CELL)])
    results = grade_fast(path)
    assert failing(results) == set()
    assert results["execution"]["errors"] == 0
    assert results["execution"]["python2"]["converted"] == ["cell %d" % results["execution"]["cells"][-1]["index"]]
    neutralised = results["execution"]["neutralised"]["0"]
    assert {"colab import", "drive mount", "directory change", "shell command", "package install"} <= set(neutralised)


@pytest.mark.slow
def test_python2_cell_fails_alone_when_conversion_is_off(tmp_path, course_toml):
    toml = course_toml("[python2]\nconvert = false\n[items.overfit_small_data]\nenabled = false\n")
    results = grade(build(tmp_path, extra_cells=[("end", PY2_CELL)]), assignments.load(toml), seed=2)
    assert failing(results) == set()
    errors = [c for c in results["execution"]["cells"] if c["status"] != "ok"]
    assert [c["ename"] for c in errors] == ["SyntaxError"]
    assert results["execution"]["python2"]["not_converted"]


@pytest.mark.slow
def test_public_only_runs_only_the_notebook_checks(tmp_path):
    bug = BY_NAME["captioning_loss_null_is_zero"]  # only hidden inputs (<NULL> not 0) catch it
    results = grade_fast(build(tmp_path, replace=bug.replace), public_only=True)
    assert results["public_only"] is True
    assert failing(results) == set()
    assert all(c["visibility"] == "public" for i in results["items"] for c in i["checks"])
    assert "overfit_small_data" not in statuses(results)
    bug = BY_NAME["rnn_backward_only_last_dh"]
    results = grade_fast(build(tmp_path / "2", replace=bug.replace), public_only=True)
    assert failing(results) == {"rnn_backward"}


def test_fast_settings_disable_overfit():
    assert "overfit_small_data" not in [i.name for i in FAST.items]


SEED_001_SETUP = '''# As usual, a bit of setup
from __future__ import print_function
import time, os, json
import numpy as np
import matplotlib.pyplot as plt

from cs231n.gradient_check import eval_numerical_gradient, eval_numerical_gradient_array
from cs231n.rnn_layers import *
from cs231n.captioning_solver import CaptioningSolver
from cs231n.classifiers.rnn import CaptioningRNN
from cs231n.coco_utils import load_coco_data, sample_coco_minibatch, decode_captions
from cs231n.image_utils import image_from_url
from cs231n.fast_layers import conv_forward_fast

%matplotlib inline
plt.rcParams['figure.figsize'] = (10.0, 8.0)

def rel_error(x, y):
    """ returns relative error """
    return np.max(np.abs(x - y) / (np.maximum(1e-8, np.abs(x) + np.abs(y))))'''


@pytest.mark.slow
def test_cs231n_setup_cell_that_fails_halfway_still_grades_every_function(tmp_path):
    """A setup cell importing a module this assignment does not ship stops before rel_error."""
    results = grade_fast(build(tmp_path, "module", extra_cells=[("start", SEED_001_SETUP)]))
    assert failing(results) == set(), [(i["name"], i["message"][:200]) for i in results["items"]]
    first = results["execution"]["cells"][0]
    assert first["status"] == "error" and first["ename"] == "ModuleNotFoundError"
    assert first["retried"] == "ok", "the rest of the cell ran with the failing import skipped"


@pytest.mark.slow
def test_python2_module_submission_is_converted_and_graded(tmp_path):
    """2016-era code: print statements, xrange, iteritems in the student's cs231n files."""
    folder = build(tmp_path, "module")
    layers = folder / "cs231n" / "rnn_layers.py"
    text = layers.read_text().replace(
        "import numpy as np", "import numpy as np\nfrom builtins import range\nfrom past.builtins import xrange\n"
        "print 'layers loaded'", 1)
    layers.write_text(re.sub(r"\brange\(", "xrange(", text))
    model = folder / "cs231n" / "classifiers" / "rnn.py"
    model.write_text(model.read_text().replace(
        "    def loss(self, features, captions):",
        "    def describe(self):\n        for k, v in self.params.iteritems():\n            print k, v.shape\n\n"
        "    def loss(self, features, captions):", 1))
    results = grade_fast(folder)
    assert failing(results) == set(), [(i["name"], i["message"][:300]) for i in results["items"]]
    converted = results["execution"]["python2"]["converted"]
    assert "cs231n/rnn_layers.py" in converted and "cs231n/classifiers/rnn.py" in converted
    assert "print 'layers loaded'" in (tmp_path / "sub" / "cs231n" / "rnn_layers.py").read_text()


@pytest.mark.slow
def test_missing_or_broken_given_files_are_supplied_and_reported(tmp_path):
    folder = build(tmp_path, "module")
    package = folder / "cs231n"
    (package / "coco_utils.py").unlink()
    (package / "layers.py").write_text("def affine_forward(x, w, b)\n    return x\n")
    (package / "image_utils.py").write_text("from skimage.io import imread\n")
    graded = (package / "rnn_layers.py").read_text()
    results = grade_fast(folder)
    assert failing(results) == set(), [(i["name"], i["message"][:200]) for i in results["items"]]
    supplied = results["execution"]["supplied"]
    assert set(supplied) == {"cs231n/coco_utils.py", "cs231n/layers.py", "cs231n/image_utils.py"}
    assert "SyntaxError" in supplied["cs231n/layers.py"] and "skimage" in supplied["cs231n/image_utils.py"]
    assert results["execution"]["errors"] == 0, "the data-loading cells ran with the supplied coco_utils"
    assert (package / "rnn_layers.py").read_text() == graded and not (package / "coco_utils.py").exists()
    assert "Given files supplied by the grader" in render_html(results)


@pytest.mark.slow
def test_course_repo_zip_shaped_like_a_real_submission(tmp_path):
    """A whole course repo: other notebooks beside it, a renamed notebook, Colab and COCO setup,
    2017-era given files (scipy.misc.imread, a Python 2 print), one real bug in sample."""
    import base64
    import os
    import shutil

    import nbformat

    import notebooks
    bug = BY_NAME["sample_start_in_column_0"]
    repo = tmp_path / "course"
    folder = notebooks.build_submission("module", repo / "assignment3", solutions="reference", replace=bug.replace,
                                        extra_cells=[("start", COLAB_CELL), (1, SEED_001_SETUP)])
    nb = nbformat.read(str(folder / notebooks.NOTEBOOK_NAME), as_version=4)
    picture = base64.b64encode(os.urandom(3 * 2**20)).decode()  # stored outputs make real notebooks 1-5 MB
    next(c for c in nb.cells[2:] if c.cell_type == "code").outputs = [
        nbformat.v4.new_output("display_data", data={"image/png": picture})]
    nbformat.write(nb, str(folder / "RNN_Captioning_solution_jdoe.ipynb"))
    (folder / notebooks.NOTEBOOK_NAME).unlink()
    shutil.copy(notebooks.TEMPLATE_DIR / "notebook" / notebooks.NOTEBOOK_NAME, folder / "LSTM_Captioning.ipynb")
    (repo / "assignment2").mkdir()
    shutil.copy(notebooks.TEMPLATE_DIR / "notebook" / notebooks.NOTEBOOK_NAME, repo / "assignment2" / "Dropout.ipynb")
    (folder / "cs231n" / "image_utils.py").write_text(
        "from scipy.misc import imread, imresize\n\ndef image_from_url(url):\n    return None\n")
    coco = folder / "cs231n" / "coco_utils.py"
    coco.write_text(coco.read_text().replace("import numpy as np", "import numpy as np\nprint 'coco utils'", 1))
    archive = notebooks.zip_submission(repo, tmp_path / "jdoe.zip", root="course", include_data=False)
    results = grade_fast(archive)
    assert failing(results) == {"CaptioningRNN.sample"}, [(i["name"], i["message"][:200]) for i in results["items"]]
    assert results["execution"]["graded"]["notebook"] == "course/assignment3/RNN_Captioning_solution_jdoe.ipynb"
    assert results["execution"]["python2"]["converted"] == ["cs231n/coco_utils.py"]
    assert results["execution"]["supplied"] == {}, "image_utils imports thanks to the scipy.misc shim"
    assert "column 0" in item(results, "CaptioningRNN.sample")["hint"]
    html = render_html(results)
    for text in ("Converted from Python 2", "cs231n/coco_utils.py", "RNN_Captioning_solution_jdoe.ipynb",
                 "re-run with its failing imports skipped", "the captions begin with the first generated word"):
        assert text in html, text


@pytest.mark.slow
def test_indentation_error_in_rnn_py_costs_only_the_model_items(tmp_path):
    """The layers deserve their points; stored outputs claiming success change nothing."""
    folder = build(tmp_path, "module")
    model = folder / "cs231n" / "classifiers" / "rnn.py"
    model.write_text(model.read_text().replace("        N = features.shape[0]", "          N = features.shape[0]", 1))
    results = grade_fast(folder)
    assert failing(results) == {"CaptioningRNN.loss", "CaptioningRNN.sample"}
    message = item(results, "CaptioningRNN.loss")["message"]
    assert "cs231n.classifiers.rnn did not import" in message and "IndentationError" in message


@pytest.mark.slow
def test_an_honest_2019_submission_breaks_no_course_rule(tmp_path, course_toml):
    """Run by its student (with the network and the full data: images and shapes saved), then
    graded here: 2019's given files, plots and URL cells break none of the warned rules."""
    import nbformat

    import cs231n_2019
    import notebooks
    folder = notebooks.build_submission("module", tmp_path / "sub", solutions="reference", fill="todo")
    package = {p.relative_to(folder).as_posix(): p.read_text() for p in (folder / "cs231n").rglob("*.py")}
    for path, text in cs231n_2019.given_files(package).items():
        (folder / path).write_text(text)
    nb = nbformat.read(str(folder / notebooks.NOTEBOOK_NAME), as_version=4)
    data, look, overfit, sample = cs231n_2019.notebook(nb)
    nbformat.write(nb, str(folder / notebooks.NOTEBOOK_NAME))
    notebooks.place_small_coco(folder)
    ran, _ = notebooks.execute_notebook(folder / notebooks.NOTEBOOK_NAME)
    assert [o.ename for i in (look, sample) for o in ran.cells[i].outputs if o.output_type == "error"] == [
        "TypeError", "TypeError"], "no network here: image_from_url returns None"
    for index in (look, sample):
        ran.cells[index].outputs = [cs231n_2019.picture()]
    ran.cells[data].outputs = [nbformat.v4.new_output("stream", name="stdout", text="train_captions (400135, 17)\n")]
    nbformat.write(ran, str(folder / notebooks.NOTEBOOK_NAME))
    rules_on = assignments.load(course_toml("[policy]\n" + "".join('%s = "warn"\n' % r for r in policy.RULES)))
    results = grade(folder, rules_on, seed=3)  # CS231n has no rules: a course that turns them all on
    assert failing(results) == set(), [(i["name"], i["message"][:200]) for i in results["items"]]
    assert [(p["rule"], p["passed"]) for p in results["policy"]] == [
        ("no-extra-imports", True), ("edits-only-in-todo", True), ("outputs-kept", True),
        ("recorded-outputs-match", True), ("no-grader-access", True)], results["policy"]
