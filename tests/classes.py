"""Build a synthetic class: a Canvas bulk-download zip of small notebooks (quick to grade
with tests/batch.toml, which grades a few layer items and the manual question)."""
from __future__ import annotations

import zipfile
from pathlib import Path

import nbformat

import notebooks
from bugs import BY_NAME

BATCH_ITEMS = ("rnn_step_forward", "rnn_step_backward", "word_embedding_forward", "temporal_softmax_loss")
BUGGY = BY_NAME["rnn_step_backward_tanh_at_preactivation"]
HOSTILE = "import os\nos._exit(1)"
BLANK_STEP = "def rnn_step_forward(x, prev_h, Wx, Wh, b):\n    next_h, cache = None, None\n    return next_h, cache\n"


def small_notebook(kind="correct", answer="The vocabulary is smaller.") -> nbformat.NotebookNode:
    """A notebook defining the batch items' functions: correct, buggy, blank or hostile."""
    sources = notebooks.reference_sources(BATCH_ITEMS)
    if kind == "buggy":
        sources.update(BUGGY.replace)
    if kind == "blank":
        sources = {"rnn_step_forward": BLANK_STEP}
    cells = [nbformat.v4.new_code_cell("import numpy as np")]
    cells += [nbformat.v4.new_code_cell(src) for src in sources.values()]
    if kind == "hostile":
        cells.insert(2, nbformat.v4.new_code_cell(HOSTILE))
    cells.append(nbformat.v4.new_markdown_cell("**Inline Question 1**\n\n**Answer:** %s" % answer))
    return nbformat.v4.new_notebook(cells=cells)


# (Canvas sortable name, user id, what they handed in)
ROSTER = [("student%02d" % n, 1000 + n, kind) for n, kind in enumerate(
    ["correct"] * 12 + ["buggy"] * 8 + ["blank"] * 4 + ["hostile"] * 2 + ["late"] * 2 + ["resubmitted"] * 2
    + ["module"])]


def canvas_zip(path: Path, roster=ROSTER) -> Path:
    """A Canvas "Download Submissions" zip for ``roster``, plus files Canvas downloads carry
    that are not submissions."""
    with zipfile.ZipFile(path, "w") as archive:
        for file_id, (name, user, kind) in enumerate(roster, start=50000):
            prefix = "%s_%s%d_%d_" % (name, "LATE_" if kind == "late" else "", user, file_id)
            if kind == "resubmitted":
                archive.writestr(prefix + "RNN_Captioning.ipynb", nbformat.writes(small_notebook("buggy")))
                prefix = "%s_%d_%d_" % (name, user, file_id + 1000)
                archive.writestr(prefix + "RNN_Captioning-1.ipynb", nbformat.writes(small_notebook("correct")))
            elif kind == "module":
                nb = small_notebook("correct")
                nb.cells = [nbformat.v4.new_code_cell("from cs231n.rnn_layers import *")] + nb.cells[-1:]
                archive.writestr(prefix + "RNN_Captioning.ipynb", nbformat.writes(nb))
                layers = "import numpy as np\n\n" + "\n\n".join(notebooks.reference_sources(BATCH_ITEMS).values())
                archive.writestr("%s_%d_%d_rnn_layers.py" % (name, user, file_id + 2000), layers)
            else:
                kind = "correct" if kind == "late" else kind
                archive.writestr(prefix + "RNN_Captioning.ipynb", nbformat.writes(small_notebook(kind)))
        archive.writestr("notes from the TA.pdf", b"%PDF-1.4")
        archive.writestr("__MACOSX/._student00", b"")
        archive.writestr("someone_RNN_Captioning.ipynb", nbformat.writes(small_notebook("correct")))
    return path
