"""The student kit on real notebooks: the same verdicts as `grade --public-only` on every
single-bug variant, the command line's exit statuses, a live kernel's `check()`, and both
pre-checks skipping a notebook's long training."""
import importlib.util
import shutil
import subprocess
import sys
import time

import nbformat
import pytest

import kits
import notebooks
import pytorch_solution
from bugs_pytorch import BUGS as TORCH_BUGS
from bugs import BUGS, BY_NAME
from e2e import item, without_training
from grader import assignments
from grader.grade.pipeline import grade

pytestmark = pytest.mark.slow  # grades in kernels, runs notebooks
RNN = assignments.load("rnn")
HAS_TORCH = importlib.util.find_spec("torch") is not None
needs_torch = pytest.mark.skipif(not HAS_TORCH, reason="the PyTorch kit needs torch (pip install '.[torch]')")


def build(tmp_path, form, replace=None, extra_cells=(), solutions="reference"):
    """A notebook submission (its folder), with the kit beside the notebook as a student puts it."""
    folder = notebooks.build_submission(form, tmp_path / "sub", solutions=solutions, replace=replace,
                                        extra_cells=list(extra_cells))
    folder = folder.parent if form == "notebook" else folder
    shutil.copytree(kits.kit_folder("rnn") / "rnn_check", folder / "rnn_check")
    return folder


def kit_in_process(folder, assignment="rnn", notebook_name=notebooks.NOTEBOOK_NAME):
    """{item: view} of the kit's command-line path, run in this process."""
    notebook = kits.kit_module(assignment, "notebook")
    targets = notebook.Kit(notebook.DATA).document["targets"]
    with kits.notebook_process(folder):
        plan = notebook.slicing.plan(notebook.code_cells(folder / notebook_name), targets, whole_unreadable=False)
        namespace, _ = notebook.run_cells(plan.sources, folder)
        return kits.kit_views(assignment, namespace)


def assert_same_views(kit, results):
    """The kit's views are those of ``grade --public-only``'s results, item by item."""
    assert list(kit) == [i["name"] for i in results["items"]]
    for entry in results["items"]:
        assert kit[entry["name"]] == kits.of_results(entry), entry["name"]


VARIANTS = [("reference", None), ("blank", None)] + [(bug.name, bug) for bug in BUGS]


@pytest.mark.parametrize("name,bug", VARIANTS, ids=[name for name, _ in VARIANTS])
def test_the_kit_and_grade_public_only_agree_on_every_check(tmp_path, name, bug):
    form = "module" if VARIANTS.index((name, bug)) % 2 else "notebook"
    folder = build(tmp_path, form, bug.replace if bug else None, bug.extra_cells if bug else (),
                   solutions=None if name == "blank" else "reference")
    results = grade(folder / notebooks.NOTEBOOK_NAME if form == "notebook" else folder, RNN,
                    seed=kits.sample_seed("rnn"), public_only=True)
    kit = kit_in_process(folder)
    assert_same_views(kit, results)
    if not bug:
        assert {view[0] for view in kit.values()} == {"passed" if name == "reference" else "not_implemented"}


def run_kit(folder, *args):
    return subprocess.run([sys.executable, "-m", "rnn_check", *args], cwd=folder, capture_output=True, text=True,
                          timeout=120)


def test_the_command_line_exits_0_1_or_2_with_the_graders_messages(tmp_path):
    good = build(tmp_path / "good", "module")
    done = run_kit(good, notebooks.NOTEBOOK_NAME)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.splitlines()[-1] == "11 of 11 items pass their public checks"
    bug = BY_NAME["temporal_affine_backward_db_axis_fake_rel_error"]
    bad = build(tmp_path / "bad", "notebook", bug.replace, bug.extra_cells)
    done = run_kit(bad, notebooks.NOTEBOOK_NAME, "temporal_affine_backward")
    assert done.returncode == 1
    results = grade(bad / notebooks.NOTEBOOK_NAME, RNN, seed=1, public_only=True)
    failed = [c for c in item(results, "temporal_affine_backward")["checks"] if not c["passed"]]
    assert failed and all("          FAIL %s: %s" % (c["name"], c["message"]) in done.stdout.splitlines()
                          for c in failed)
    (bad / "notes.ipynb").write_text("{not json")
    for args in (["missing.ipynb"], ["notes.ipynb"], [notebooks.NOTEBOOK_NAME, "lstm_forward"], []):
        done = run_kit(bad, *args)
        assert done.returncode == 2 and len(done.stderr.splitlines()) == 1 and "Traceback" not in done.stderr, args


def test_check_in_a_live_kernel_judges_the_functions_the_notebook_just_defined(tmp_path):
    bug = BY_NAME["rnn_backward_only_last_dh"]
    folder = build(tmp_path, "notebook", bug.replace, [("end", "from rnn_check import check\ncheck()")])
    without_training(folder / notebooks.NOTEBOOK_NAME)
    ran, _ = notebooks.execute_notebook(folder / notebooks.NOTEBOOK_NAME)
    printed = "".join(o.get("text", "") for o in ran.cells[-1].outputs)
    lines = printed.splitlines()
    assert [line.split()[0] for line in lines if not line.startswith(" ")] == ["ok"] * 3 + ["FAIL"] + ["ok"] * 7
    results = grade(folder / notebooks.NOTEBOOK_NAME, RNN, seed=1, public_only=True)
    first = next(c for c in item(results, "rnn_backward")["checks"] if not c["passed"])
    assert "          FAIL %s: %s" % (first["name"], first["message"]) in lines


def test_both_pre_checks_skip_a_minute_of_training(tmp_path):
    folder = build(tmp_path, "module", extra_cells=[("end", kits.LONG_TRAINING)])
    began = time.monotonic()
    done = run_kit(folder, notebooks.NOTEBOOK_NAME)
    kit_seconds = time.monotonic() - began
    assert done.returncode == 0 and kit_seconds < 20, (kit_seconds, done.stdout)
    results = grade(folder, RNN, seed=1, public_only=True)
    long_cell = len(nbformat.read(str(folder / notebooks.NOTEBOOK_NAME), as_version=4).cells) - 1
    assert long_cell not in [c["index"] for c in results["execution"]["cells"]]
    assert results["elapsed_s"] < 30 and {i["status"] for i in results["items"]} == {"passed"}


# ---------------------------------------------------------------- the PyTorch kit on real notebooks
TORCH_NOTEBOOK = notebooks.PYTORCH_TEMPLATE.name


def build_torch(tmp_path, replace=None, solutions=pytorch_solution.SOURCES):
    """A PyTorch submission (the module form: the notebook and cs231n/), the kit beside the notebook."""
    folder = notebooks.build_submission("module", tmp_path / "sub", solutions=solutions, replace=replace,
                                        template=notebooks.PYTORCH_TEMPLATE)
    shutil.copytree(kits.kit_folder("rnn-pytorch") / "rnn_pytorch_check", folder / "rnn_pytorch_check")
    return folder


TORCH_VARIANTS = [("solution", None), ("blank", None)] + [(bug.name, bug) for bug, _ in TORCH_BUGS]


@needs_torch
@pytest.mark.parametrize("name,bug", TORCH_VARIANTS, ids=[name for name, _ in TORCH_VARIANTS])
def test_the_pytorch_kit_and_grade_public_only_agree_on_every_check(tmp_path, name, bug):
    folder = build_torch(tmp_path, bug.replace if bug else None, None if name == "blank" else pytorch_solution.SOURCES)
    results = grade(folder, assignments.load("rnn-pytorch"), seed=kits.sample_seed("rnn-pytorch"), public_only=True)
    kit = kit_in_process(folder, "rnn-pytorch", TORCH_NOTEBOOK)
    assert_same_views(kit, results)
    if not bug:
        assert {view[0] for view in kit.values()} == {"passed" if name == "solution" else "not_implemented"}


def run_torch_kit(folder, *args):
    return subprocess.run([sys.executable, "-m", "rnn_pytorch_check", *args], cwd=folder, capture_output=True,
                          text=True, timeout=180)


@needs_torch
def test_the_pytorch_kit_command_line_exits_0_1_or_2(tmp_path):
    good = build_torch(tmp_path / "good")
    done = run_torch_kit(good, TORCH_NOTEBOOK)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.splitlines()[-1] == "7 of 7 items pass their public checks"
    bug = next(bug for bug, _ in TORCH_BUGS if bug.name == "rnn_step_forward_float32")
    bad = build_torch(tmp_path / "bad", bug.replace)
    done = run_torch_kit(bad, TORCH_NOTEBOOK)
    assert done.returncode == 1, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert "ERROR   rnn_step_forward" in lines and "ok      rnn_forward" in lines
    assert "          note: graded with the grader's rnn_step_forward in place of yours (they failed their own " \
           "items)" in lines
    assert done.stdout.splitlines()[-1] == "6 of 7 items pass their public checks"
    for args in (["missing.ipynb"], [TORCH_NOTEBOOK, "rnn_backward"], []):
        done = run_torch_kit(bad, *args)
        assert done.returncode == 2 and len(done.stderr.splitlines()) == 1 and "Traceback" not in done.stderr, args
