"""Benchmark (not a test): ``python tests/benchmark.py``.

Times, in one run on the same solved notebook: bare nbclient execution, `grade`,
`grade --public-only`, and the overfitting training alone in a kernel, then prints
the ratios the README records. Kernels get one BLAS thread in every measurement.
"""
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

sys.path.insert(0, str(Path(__file__).resolve().parent))
import notebooks  # noqa: E402
from grader import assignment  # noqa: E402
from grader.execute import SINGLE_THREAD  # noqa: E402
from grader.overfit import MODEL, SOLVER  # noqa: E402
from grader.pipeline import grade  # noqa: E402

TRAINING_ALONE = """
import numpy as np
from cs231n.coco_utils import load_coco_data
from cs231n.classifiers.rnn import CaptioningRNN
from cs231n.captioning_solver import CaptioningSolver
np.random.seed(0)
data = load_coco_data(max_train=50)
model = CaptioningRNN(data['word_to_idx'], input_dim=512, hidden_dim={hidden_dim}, wordvec_dim={wordvec_dim})
solver = CaptioningSolver(model, data, verbose=False, **{solver!r})
import time; t = time.time(); solver.train(); print(time.time() - t)
"""


def bare_execution(nb_path):
    nb = nbformat.read(str(nb_path), as_version=4)
    client = NotebookClient(nb, timeout=600, kernel_name="python3",
                            resources={"metadata": {"path": str(nb_path.parent)}})
    start = time.monotonic()
    with client.setup_kernel(env=dict(os.environ, **SINGLE_THREAD)):
        for index, cell in enumerate(nb.cells):
            client.execute_cell(cell, index)
    return time.monotonic() - start


def training_alone(folder):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
        TRAINING_ALONE.format(solver=SOLVER, **MODEL))])
    client = NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(folder)}})
    client.execute(env=dict(os.environ, **SINGLE_THREAD))
    return float(nb.cells[0].outputs[0]["text"])


def main():
    settings = assignment.load("rnn")
    with tempfile.TemporaryDirectory() as tmp:
        folder = notebooks.build_submission("module", Path(tmp) / "sub", solutions="reference")
        notebooks.place_small_coco(folder)
        nb_path = folder / notebooks.NOTEBOOK_NAME
        bare = bare_execution(nb_path)
        full = grade(folder, settings, seed=1)
        public = grade(folder, settings, seed=1, public_only=True)
        alone = training_alone(folder)
    overfit_item = next(i for i in full["items"] if i["name"] == "overfit_small_data")
    overfit = overfit_item["seconds"]
    full_s, public_s = full["elapsed_s"], public["elapsed_s"]
    print("machine: %s, %d cores, Python %s" % (platform.machine(), os.cpu_count(), platform.python_version()))
    print("bare nbclient execution      %6.1f s" % bare)
    print("grade                        %6.1f s   (score %g)" % (full_s, full["score"]))
    print("  of which the overfit item  %6.1f s" % overfit)
    print("  of which training          %6.1f s" % overfit_item["train_seconds"])
    print("  timings                    %s" % full["execution"]["timings"])
    print("grade --public-only          %6.1f s" % public_s)
    print("overfit training alone       %6.1f s" % alone)
    print("grade without overfit / bare      %.2f  (goal <= 1.15)" % ((full_s - overfit) / bare))
    print("public-only / bare                %.2f  (goal <= 1.20)" % (public_s / bare))
    print("overfit item / training alone     %.2f  (goal <= 1.05)" % (overfit / alone))


if __name__ == "__main__":
    main()
