"""Submissions for the policy tests, built from the real templates, run as Jupyter would
(no kernels: the re-run's outcomes are made here)."""
from __future__ import annotations

import copy

import nbformat

from grader.grade.execute import CellOutcome
from grader.sandbox import policy
from notebooks import NOTEBOOK_NAME, TEMPLATE_DIR

MODULE_TEMPLATE = TEMPLATE_DIR / "module"

RNN_STEP_FORWARD = """\
next_h = np.tanh(x.dot(Wx) + prev_h.dot(Wh) + b)
cache = (x, prev_h, Wx, Wh, next_h)"""
ANY_CODE = "result = None  # the student's work"
GRADIENT_REPORT = """\
dx error:  3.004984354606141e-10
dprev_h error:  2.633205333189269e-10
dWx error:  9.684083573724284e-10
dWh error:  3.355162782632426e-10
db error:  1.5956895526227225e-11
"""


def read_template(form="notebook"):
    return nbformat.read(TEMPLATE_DIR / form / NOTEBOOK_NAME, as_version=4)


def template_files():
    return {p.relative_to(MODULE_TEMPLATE).as_posix(): p.read_text()
            for p in sorted((MODULE_TEMPLATE / "cs231n").rglob("*.py"))}


def fill(source, code=ANY_CODE, first=None):
    """Source with code written inside each START..END region (first region: `first` if given)."""
    lines, out, done = source.split("\n"), [], 0
    for line in lines:
        out.append(line)
        if "START OF YOUR CODE" in line:
            indent = line[:len(line) - len(line.lstrip())]
            body = first if (first and done == 0) else code
            out += [indent + part for part in body.split("\n")]
            done += 1
    return "\n".join(out)


def cell_with(nb, text):
    """Index of the code cell whose source contains text."""
    hits = [i for i, c in enumerate(nb.cells) if c.cell_type == "code" and text in c.source]
    assert len(hits) == 1, (text, hits)
    return hits[0]


def stream(text, name="stdout"):
    return nbformat.v4.new_output("stream", name=name, text=text)


def solved_notebook():
    """The self-contained template as an honest student hands it in (code in the TODOs only,
    a scratch cell added, stray blank lines and trailing spaces), not yet run."""
    nb = read_template()
    for cell in nb.cells:
        if cell.cell_type == "code" and "START OF YOUR CODE" in cell.source:
            first = RNN_STEP_FORWARD if "def rnn_step_forward" in cell.source else None
            cell.source = fill(cell.source, first=first)
    check = nb.cells[cell_with(nb, "expected_next_h = ")]
    check.source = check.source.replace("N, D, H = 3, 10, 4", "N, D, H = 3, 10, 4   \n\n# try it") + "\n\n"
    scratch = nbformat.v4.new_code_cell("x_try = np.ones((2, 3))\nprint(rnn_step_forward(x_try, x_try[:, :2], "
                                        "np.ones((3, 2)), np.ones((2, 2)), np.zeros(2))[0])")
    nb.cells.insert(cell_with(nb, "expected_next_h = ") + 1, scratch)
    nb.cells[0].source += "\n\nMy notes on the assignment."  # markdown: never checked
    return nb


def run(nb, saved=None, rerun=None):
    """Give every non-empty code cell an execution count and outputs, as a run in Jupyter
    would; return the CellOutcomes of re-executing it. saved: {index: text printed};
    rerun: {index: CellOutcome} for cells that behave differently when re-run."""
    saved, rerun, outcomes = saved or {}, rerun or {}, []
    count = 0
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code" or not cell.source.strip():
            continue
        count += 1
        cell.execution_count = count
        text = saved.get(index, "ok\n" if "print(" in cell.source else "")
        cell.outputs = [stream(text)] if text else []
        outcomes.append(rerun.get(index, CellOutcome(index, "ok", outputs=copy.deepcopy(cell.outputs))))
    return outcomes


def ran_solved():
    nb = solved_notebook()
    outcomes = run(nb, saved={cell_with(nb, "rnn_step_backward(dnext_h, cache)\n"): GRADIENT_REPORT})
    return nb, outcomes


def evaluate(submitted, outcomes=(), template=None, rules=None, **kwargs):
    """{rule: entry} for the chosen rules, all set to warn."""
    actions = {rule: "warn" for rule in (rules or policy.RULES)}
    entries = policy.evaluate(actions, submitted=submitted, template=template or read_template(),
                              outcomes=list(outcomes), **kwargs)
    return {e["rule"]: e for e in entries}


def solved_module():
    """The module form solved honestly: TODOs of rnn_layers.py and classifiers/rnn.py filled."""
    files = template_files()
    for path in ("cs231n/rnn_layers.py", "cs231n/classifiers/rnn.py"):
        files[path] = fill(files[path])
    nb = read_template("module")
    outcomes = run(nb)
    return nb, outcomes, files
