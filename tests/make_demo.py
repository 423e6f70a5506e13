"""Build grader/demo/demo.ipynb: the solved template with three real student mistakes.

Written as a student who follows the course rules would hand it in: code only between
the START and END OF YOUR CODE markers, the answer in its cell, and every cell run with
its outputs saved. Run ``python tests/make_demo.py`` after changing the template or the
bugs; a test checks that the committed demo's sources are what this script builds.
"""
import sys
import tempfile
from pathlib import Path

import nbformat
from nbclient import NotebookClient

sys.path.insert(0, str(Path(__file__).resolve().parent))
import notebooks  # noqa: E402
from bugs import BY_NAME  # noqa: E402

DEMO = notebooks.REPO / "grader" / "demo" / "demo.ipynb"
DEMO_BUGS = ("rnn_backward_only_last_dh", "word_embedding_backward_assign", "sample_start_in_column_0")
ANSWER = ("**Your Answer:** A character-level model needs a tiny vocabulary and never meets an unknown "
          "word, but its sequences are much longer, so it trains more slowly and must carry context over "
          "many more steps.")


def build_demo():
    """The demo notebook as a NotebookNode, not yet run."""
    replace = {}
    for name in DEMO_BUGS:
        replace.update(BY_NAME[name].replace)
    with tempfile.TemporaryDirectory() as tmp:
        path = notebooks.build_submission("notebook", Path(tmp), solutions="reference", replace=replace,
                                          fill="todo")
        nb = nbformat.read(str(path), as_version=4)
    nb.cells[-1].source = ANSWER
    nb.metadata["grader_demo"] = {"bugs": list(DEMO_BUGS)}
    return nb


def run(nb):
    """``nb`` run top to bottom beside the small COCO-format set, as the student would."""
    with tempfile.TemporaryDirectory() as tmp:
        notebooks.place_small_coco(Path(tmp))
        NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": tmp}}).execute()
    return nb


if __name__ == "__main__":
    DEMO.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(run(build_demo()), str(DEMO))
    print("wrote", DEMO)
