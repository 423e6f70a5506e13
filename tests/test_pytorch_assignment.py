"""The rnn-pytorch assignment judged in-process (no kernel): the solved template passes
every item, each catalogued PyTorch mistake loses exactly its item, the untouched template
is not implemented; and graded end to end, the notebook as the seed has it."""
import json
import subprocess
import sys

import pytest

torch = pytest.importorskip("torch")

import notebooks  # noqa: E402
import pytorch_solution  # noqa: E402
from pytorch_solution import one_thread  # noqa: E402,F401 (autouse)
from bugs_pytorch import BUGS  # noqa: E402
from grader import assignments  # noqa: E402
from grader.check.judge import Judge  # noqa: E402

SETTINGS = assignments.load("rnn-pytorch")
JUDGED = ("autograd_layer", "model_loss", "sample")


def statuses(ns, seed=3):
    judge = Judge(SETTINGS.local_backend(ns), SETTINGS, seed)
    return {item.name: judge.judge(item) for item in SETTINGS.items if item.kind in JUDGED}


@pytest.mark.parametrize("seed", [1, 2])
def test_solved_template_passes_every_item(tmp_path, seed):
    verdicts = statuses(pytorch_solution.namespaces(tmp_path), seed)
    assert {name: (v.status, v.problem[:200], [c.message for c in v.checks if not c.passed][:2])
            for name, v in verdicts.items() if v.status != "passed"} == {}


def test_untouched_template_is_not_implemented(tmp_path):
    verdicts = statuses(pytorch_solution.namespaces(tmp_path, solutions=None))
    assert {name: v.status for name, v in verdicts.items()} == {name: "not_implemented" for name in verdicts}


@pytest.mark.parametrize("bug", [bug for bug, _ in BUGS], ids=lambda b: b.name)
def test_each_mistake_loses_exactly_its_item(tmp_path, bug):
    verdicts = statuses(pytorch_solution.namespaces(tmp_path, replace=bug.replace))
    lost = {name: v.status for name, v in verdicts.items() if v.status != "passed"}
    assert set(lost) == {bug.item} and lost[bug.item] in ("failed", "error"), lost


def test_a_float32_result_and_a_cut_graph_say_what_happened(tmp_path):
    by_name = {bug.name: bug for bug, _ in BUGS}
    cast = statuses(pytorch_solution.namespaces(tmp_path / "a", replace=by_name["rnn_step_forward_float32"].replace))
    assert "float32 tensor" in cast["rnn_step_forward"].problem
    cut = statuses(pytorch_solution.namespaces(tmp_path / "b", replace=by_name["word_embedding_forward_numpy"].replace))
    messages = [c.message for c in cut["word_embedding_forward"].checks if not c.passed]
    assert messages and all("no gradient reached dW (argument 1 of word_embedding_forward)" in m for m in messages)


@pytest.mark.slow
def test_the_seed_shaped_notebook_gets_full_marks_unedited_with_no_flag(tmp_path):
    folder = notebooks.build_submission("module", tmp_path / "student", solutions=pytorch_solution.SOURCES,
                                        template=notebooks.PYTORCH_TEMPLATE)
    done = subprocess.run([sys.executable, "-m", "grader", str(folder), "--json", "--seed", "4", "--out",
                           str(tmp_path / "out")], capture_output=True, text=True, timeout=900, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    results = json.loads(done.stdout)
    assert results["assignment"] == "rnn-pytorch"
    assert [(i["name"], i["status"], i["message"][:200]) for i in results["items"] if i["status"] != "passed"] == []
    assert results["score"] == results["automatic_max_score"] == 90
    assert results["execution"]["neutralised"], "the Colab cell is neutralised"
    assert results["execution"]["supplied"] == {}, "its given files are the PyTorch template's, all there"


@pytest.mark.slow
def test_a_missing_given_file_is_supplied_from_the_pytorch_template(tmp_path):
    folder = notebooks.build_submission("module", tmp_path / "student", solutions=pytorch_solution.SOURCES,
                                        template=notebooks.PYTORCH_TEMPLATE)
    (folder / "cs231n" / "captioning_solver_pytorch.py").unlink()
    done = subprocess.run([sys.executable, "-m", "grader", str(folder), "--json", "--seed", "4", "--out",
                           str(tmp_path / "out")], capture_output=True, text=True, timeout=900, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    results = json.loads(done.stdout)
    assert list(results["execution"]["supplied"]) == ["cs231n/captioning_solver_pytorch.py"]
    assert all(i["status"] == "passed" for i in results["items"] if i["name"] != "inline_question_1")
