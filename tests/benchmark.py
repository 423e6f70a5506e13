"""Benchmark (not a test): ``python tests/benchmark.py [single|batch]``.

single (default): times, in one run on the same solved notebook, bare nbclient
execution, `grade` (under bubblewrap when the machine has it, and under the rlimits
fallback), `grade --public-only`, and the overfitting training alone in a kernel, then
prints the ratios the README records. Kernels get one BLAS thread in every measurement.

precheck [rnn|rnn-pytorch]: the two pre-checks (`grade --public-only` and the student kit's
`python -m rnn_check`) on a solved notebook that also trains for a minute, against its bare
execution.

batch: a class of 100 small submissions (tests/classes.py, tests/batch.toml) graded
with --jobs 1, --jobs 2 and then rerun from the cache, in one run, against grading
20 of them one `grade` command at a time.
"""
import json
import os
import platform
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

sys.path.insert(0, str(Path(__file__).resolve().parent))
import notebooks  # noqa: E402
from grader import assignments  # noqa: E402
from grader.grade.execute import SINGLE_THREAD  # noqa: E402
from grader.grade.pipeline import grade  # noqa: E402

OVERFIT = assignments.load("rnn").raw["items"]["overfit_small_data"]  # the model's and solver's settings
TRAINING_ALONE = """
import numpy as np
from cs231n.coco_utils import load_coco_data
from cs231n.classifiers.rnn import CaptioningRNN
from cs231n.captioning_solver import CaptioningSolver
np.random.seed(0)
data = load_coco_data(max_train=50)
model = CaptioningRNN(data['word_to_idx'], input_dim=512, **{model!r})
solver = CaptioningSolver(model, data, verbose=False, **{solver!r})
import time; t = time.time(); solver.train(); print(time.time() - t)
"""


def bare_execution(nb_path):
    nb = nbformat.read(str(nb_path), as_version=4)
    client = NotebookClient(nb, timeout=600, kernel_name="python3", allow_errors=True,  # a Colab cell fails alone
                            resources={"metadata": {"path": str(nb_path.parent)}})
    start = time.monotonic()
    with client.setup_kernel(env=dict(os.environ, **SINGLE_THREAD)):
        for index, cell in enumerate(nb.cells):
            client.execute_cell(cell, index)
    return time.monotonic() - start


def training_alone(folder):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
        TRAINING_ALONE.format(**OVERFIT))])
    client = NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(folder)}})
    client.execute(env=dict(os.environ, **SINGLE_THREAD))
    return float(nb.cells[0].outputs[0]["text"])


def main(repeats=3):
    """Each measurement ``repeats`` times, interleaved; medians are reported."""
    settings = assignments.load("rnn")
    runs = {"bare": [], "grade": [], "overfit": [], "training": [], "public": [], "alone": [], "rlimits": []}
    fallback = assignments.load("rnn")
    fallback.raw["sandbox"]["isolation"] = "rlimits"
    with tempfile.TemporaryDirectory() as tmp:
        folder = notebooks.build_submission("module", Path(tmp) / "sub", solutions="reference")
        notebooks.place_small_coco(folder)
        for _ in range(repeats):
            runs["bare"].append(bare_execution(folder / notebooks.NOTEBOOK_NAME))
            full = grade(folder, settings, seed=1)
            item = next(i for i in full["items"] if i["name"] == "overfit_small_data")
            runs["grade"].append(full["elapsed_s"])
            runs["overfit"].append(item["seconds"])
            runs["training"].append(item["train_seconds"])
            runs["public"].append(grade(folder, settings, seed=1, public_only=True)["elapsed_s"])
            runs["rlimits"].append(grade(folder, fallback, seed=1)["elapsed_s"])
            runs["alone"].append(training_alone(folder))
    m = {k: statistics.median(v) for k, v in runs.items()}
    print("machine: %s, %d cores, Python %s; medians of %d runs" % (
        platform.machine(), os.cpu_count(), platform.python_version(), repeats))
    level = full["execution"]["sandbox"]["level"]
    for key, label in [("bare", "bare nbclient execution"), ("grade", "grade (%s)" % level),
                       ("rlimits", "grade (rlimits fallback)"),
                       ("overfit", "  of which the overfit item"), ("training", "  of which its training"),
                       ("public", "grade --public-only"), ("alone", "overfit training alone")]:
        print("%-30s %6.1f s   %s" % (label, m[key], " ".join("%.1f" % v for v in runs[key])))
    print("peak memory: grader %d MB, largest kernel %d MB" % (
        resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024,
        resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss // 1024))
    print("grade without overfit / bare      %.2f  (goal <= 1.15)" % ((m["grade"] - m["overfit"]) / m["bare"]))
    print("public-only / bare                %.2f  (goal <= 1.20)" % (m["public"] / m["bare"]))
    print("overfit item / training alone     %.2f  (goal <= 1.05)" % (m["overfit"] / m["alone"]))
    print("overfit item / its own training   %.2f" % (m["overfit"] / m["training"]))
    print("grade %s / grade rlimits    %.2f  (sandbox cost; goal <= 1.10)" % (level, m["grade"] / m["rlimits"]))


def _children_cpu():
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def batch(size=100, sample=20):
    """The class benchmark: --jobs 1, --jobs 2, the cached rerun, and one command per submission."""
    import subprocess
    import classes
    toml = str(Path(__file__).with_name("batch.toml"))
    roster = [("student%03d" % n, 5000 + n, "buggy" if n % 4 == 0 else "correct") for n in range(size)]
    with tempfile.TemporaryDirectory() as tmp:
        zip_path = classes.canvas_zip(Path(tmp) / "class.zip", roster)
        times, cpu = {}, {}
        for label, out, extra in [("jobs 1", "one", ["--jobs", "1"]), ("jobs 2", "two", ["--jobs", "2"]),
                                  ("cached rerun", "two", ["--jobs", "2"]), ("jobs 3", "three", ["--jobs", "3"])]:
            start, before = time.monotonic(), _children_cpu()
            subprocess.run([sys.executable, "-m", "grader", str(zip_path), "--assignment", toml, "--seed", "3",
                            "--out", str(Path(tmp) / out)] + extra, check=True, capture_output=True)
            times[label], cpu[label] = time.monotonic() - start, _children_cpu() - before
        notebooks_dir = Path(tmp) / "singles"
        notebooks_dir.mkdir()
        start = time.monotonic()
        for n in range(sample):
            path = notebooks_dir / ("s%d.ipynb" % n)
            nbformat.write(classes.small_notebook("correct"), str(path))
            subprocess.run([sys.executable, "-m", "grader", str(path), "--assignment", toml, "--seed", "3",
                            "--out", str(Path(tmp) / "singles-out")], check=True, capture_output=True)
        one_at_a_time = (time.monotonic() - start) / sample
        levels = {json.loads(path.read_text())["execution"]["sandbox"]["level"]
                  for path in (Path(tmp) / "two").glob("*/results.json")}
    print("machine: %s, %d cores, Python %s; %d submissions; isolation %s" % (
        platform.machine(), os.cpu_count(), platform.python_version(), size, ", ".join(sorted(levels))))
    for label, seconds in times.items():
        print("%-28s %7.1f s   %.2f s per submission, CPU %.2f s per submission (%.2f cores busy)" % (
            label, seconds, seconds / size, cpu[label] / size, cpu[label] / seconds))
    print("%-28s %7.1f s   %.2f s per submission (mean of %d)" % ("one grade command each", one_at_a_time * size,
                                                                 one_at_a_time, sample))
    print("speed-up jobs 2 / jobs 1      %.2f  (goal >= 1.8)" % (times["jobs 1"] / times["jobs 2"]))
    print("speed-up jobs 3 / jobs 1      %.2f" % (times["jobs 1"] / times["jobs 3"]))
    print("batch jobs 1 / one at a time  %.2f" % (times["jobs 1"] / (one_at_a_time * size)))


PRECHECKED = {  # assignment -> (solutions for notebooks.build_submission, its template or None, kit module)
    "rnn": ("reference", None, "rnn_check"),
    "rnn-pytorch": ("pytorch", notebooks.PYTORCH_TEMPLATE, "rnn_pytorch_check"),
}


def precheck(assignment="rnn", repeats=3):
    """Both pre-checks of ``assignment``, ``repeats`` times each, interleaved, against one bare
    execution of the same solved notebook with a minute of training left in it."""
    import subprocess
    import kits
    from grader.kit.build import build_kit
    solutions, template, kit = PRECHECKED[assignment]
    if solutions == "pytorch":
        import pytorch_solution
        solutions = pytorch_solution.SOURCES
    runs = {"bare": [], "public": [], "kit": []}
    with tempfile.TemporaryDirectory() as tmp:
        folder = notebooks.build_submission("module", Path(tmp) / "sub", solutions=solutions, template=template,
                                            extra_cells=[("end", kits.LONG_TRAINING)])
        notebooks.place_small_coco(folder)
        build_kit(folder, assignment)
        notebook = next(folder.glob("*.ipynb")).name
        runs["bare"].append(bare_execution(folder / notebook))
        commands = {"public": [sys.executable, "-m", "grader", str(folder), "--public-only", "--seed", "1",
                               "--assignment", assignment, "--out", str(Path(tmp) / "out")],
                    "kit": [sys.executable, "-m", kit, notebook]}
        for _ in range(repeats):
            for key, command in commands.items():
                began = time.monotonic()
                subprocess.run(command, cwd=folder, check=True, capture_output=True,
                               env=dict(os.environ, **SINGLE_THREAD))
                runs[key].append(time.monotonic() - began)
    print("%s; machine: %s, %d cores, Python %s; medians of %d runs" % (
        assignment, platform.machine(), os.cpu_count(), platform.python_version(), repeats))
    for key, label in [("bare", "bare nbclient execution"), ("public", "grade --public-only (command)"),
                       ("kit", "python -m %s (command)" % kit)]:
        print("%-32s %6.1f s   %s" % (label, statistics.median(runs[key]), " ".join("%.2f" % v for v in runs[key])))


if __name__ == "__main__":
    {"batch": batch, "precheck": precheck}.get(sys.argv[1] if sys.argv[1:] else "", main)(*sys.argv[2:])
