"""Course rules judged against what the student received: a CS231n 2019-shaped submission
(given files of that year, plots, images fetched from URLs) breaks none; cs7353's
submissions break exactly the rule they break. No kernels: outcomes are made here."""
from __future__ import annotations

import nbformat
import pytest

import cs231n_2019
from grader.grade.execute import CellOutcome
from grader.sandbox import policy
from notebooks import CS7353_GRADED, CS7353_TEMPLATE, build_submission
from policy_cases import cell_with, fill, read_template, run, stream, template_files

ALL_WARN = {rule: "warn" for rule in policy.RULES}
CS7353 = {"template": CS7353_TEMPLATE, "graded_files": (), "graded": CS7353_GRADED}
NO_NETWORK = "[Errno -3] Temporary failure in name resolution"


def honest_2019():
    """(notebook, outcomes, files): an honest 2019 CS231n submission, as our grader sees it."""
    files = template_files()
    for path in ("cs231n/rnn_layers.py", "cs231n/classifiers/rnn.py"):
        files[path] = fill(files[path], "out = np.tanh(x)  # the student's work")
    files = cs231n_2019.given_files(files)
    nb = read_template("module")
    data, look, overfit, sample = cs231n_2019.notebook(nb)
    outcomes = run(nb, saved={data: "train_captions <class 'numpy.ndarray'> (400135, 17) int32\n",
                              overfit: "(Iteration 1 / 100) loss: 76.913487\nFinal loss:  0.0817\n"}, rerun={
        data: CellOutcome(data, "ok", outputs=[stream("train_captions <class 'numpy.ndarray'> (60, 17) int32\n")]),
        overfit: CellOutcome(overfit, "ok", outputs=[stream("(Iteration 1 / 4) loss: 31.2\nFinal loss:  0.0923\n")]),
        look: CellOutcome(look, "error", "TypeError", "Image data of dtype object cannot be converted to float",
                          outputs=[stream("URL Error:  %s http://farm1.staticflickr.com/1/2.jpg\n" % NO_NETWORK)]),
        sample: CellOutcome(sample, "error", "URLError", "<urlopen error %s>" % NO_NETWORK)})
    for index in (look, overfit, sample):
        nb.cells[index].outputs.append(cs231n_2019.picture())
    return nb, outcomes, files


def broken(entries):
    return {e["rule"]: e["message"] for e in entries if not e["passed"]}


def test_a_cs231n_2019_submission_breaks_no_rule():
    nb, outcomes, files = honest_2019()
    entries = policy.evaluate(ALL_WARN, submitted=nb, outcomes=outcomes, files=files)
    assert [e["rule"] for e in entries] == list(policy.RULES)
    assert broken(entries) == {}


def test_the_2019_submission_still_breaks_rules_in_its_graded_files():
    nb, outcomes, files = honest_2019()
    files["cs231n/rnn_layers.py"] = files["cs231n/rnn_layers.py"].replace(
        "    return next_h, cache", "    return next_h.round(8), cache", 1)
    files["cs231n/classifiers/rnn.py"] = fill(files["cs231n/classifiers/rnn.py"], "import torch")
    assert broken(policy.evaluate(ALL_WARN, submitted=nb, outcomes=outcomes, files=files)) == {
        "no-extra-imports": "Imports that the template does not have: torch (cs231n/classifiers/rnn.py).",
        "edits-only-in-todo": "Code outside the TODO regions was changed in cs231n/rnn_layers.py."}


def test_a_neutralised_colab_cell_is_never_a_disagreement():
    nb = read_template("module")
    nb.cells.insert(1, nbformat.v4.new_code_cell("from google.colab import drive\ndrive.mount('/content/drive')\n"
                                                 "assert os.path.isdir(FOLDER), 'mount the drive first'"))
    outcomes = run(nb, saved={1: "Mounted at /content/drive\n"},
                   rerun={1: CellOutcome(1, "error", "NameError", "name 'FOLDER' is not defined")})
    rules = {"recorded-outputs-match": "warn"}
    assert broken(policy.evaluate(rules, submitted=nb, outcomes=outcomes, neutralised={1: ["drive mount"]})) == {}
    assert broken(policy.evaluate(rules, submitted=nb, outcomes=outcomes)) == {
        "recorded-outputs-match": "Saved outputs disagree with re-running the notebook in cell 1."}


def test_values_computed_from_the_data_set_are_not_compared():
    """A cell reading the data (directly or through names bound from it) may print other
    values here; a name bound again from other values is the student's again."""
    nb = read_template("module")
    train = nbformat.v4.new_code_cell("small = load_coco_data(max_train=50)\nfeatures = small['train_features'][:2]\n"
                                      "print('feature difference: ', abs(features).max() - 3.2)")
    check = cell_with(nb, "expected_loss = 9.83235591003")
    nb.cells.insert(check, train)
    check += 1
    outcomes = run(nb, saved={check - 1: "feature difference:  1e-09\n", check: "difference:  2.6e-12\n"},
                   rerun={check - 1: CellOutcome(check - 1, "ok", outputs=[stream("feature difference:  0.71\n")]),
                          check: CellOutcome(check, "ok", outputs=[stream("difference:  0.25\n")])})
    entry = policy.evaluate({"recorded-outputs-match": "warn"}, submitted=nb, outcomes=outcomes)[0]
    assert entry["details"] == ["cell %d (In [%d]): `difference` was 2.6e-12 in the saved output, 0.25 when re-run"
                                % (check, nb.cells[check].execution_count)]


def test_a_failure_without_network_evidence_counts():
    nb, outcomes, files = honest_2019()
    look = cell_with(nb, "caption_str = decode_captions(")
    [outcome] = [o for o in outcomes if o.index == look]
    outcome.outputs = [stream("a caption\n")]
    assert list(broken(policy.evaluate(ALL_WARN, submitted=nb, outcomes=outcomes, files=files))) == [
        "recorded-outputs-match"]


def test_outputs_kept_ignores_what_only_the_grader_prints():
    nb = read_template("module")
    setup = cell_with(nb, "def rel_error(")
    nb.cells[setup].source = "import seaborn\n" + nb.cells[setup].source
    retried = CellOutcome(setup, "error", "ModuleNotFoundError", "No module named 'seaborn'", retried="ok",
                          outputs=[stream("[grader] skipped a failing import: No module named 'seaborn'\n")])
    outcomes = run(nb, rerun={setup: retried})
    assert broken(policy.evaluate({"outputs-kept": "warn"}, submitted=nb, outcomes=outcomes)) == {}


# ---- cs7353: the course's own notebook, everything in it -------------------------------

def cs7353_solved(tmp_path):
    """(notebook, outcomes): the reference written into the TODO regions, run and saved."""
    path = build_submission("notebook", tmp_path, solutions="reference", template=CS7353_TEMPLATE, fill="todo")
    nb = nbformat.read(path, as_version=4)
    return nb, run(nb)


def into_todo(source, line):
    """source with line written at the top of its first TODO region (after the banner)."""
    lines = source.split("\n")
    todo = next(k for k, text in enumerate(lines) if "# TODO" in text)
    ruler = next(k for k in range(todo + 1, len(lines)) if set(lines[k].strip()) == {"#"})
    indent = lines[ruler][:len(lines[ruler]) - len(lines[ruler].lstrip())]
    return "\n".join(lines[:ruler + 1] + [indent + line] + lines[ruler + 1:])


def test_an_honest_cs7353_submission_breaks_no_rule(tmp_path):
    """Plots added to a check cell and the helper cell edited change nothing graded."""
    nb, outcomes = cs7353_solved(tmp_path)
    check = cell_with(nb, "expected_next_h = ")
    nb.cells[check].source += "\nimport matplotlib.pyplot as plt\nplt.imshow(next_h)\nplt.show()"
    helper = cell_with(nb, "def rel_error(")
    nb.cells[helper].source = nb.cells[helper].source.replace("import pickle\n", "")
    assert broken(policy.evaluate(ALL_WARN, submitted=nb, outcomes=outcomes, **CS7353)) == {}


@pytest.mark.parametrize("violation", ["edit outside TODO", "edit in a check cell", "import in a TODO",
                                       "outputs cleared"])
def test_cs7353_violations_break_their_rule(tmp_path, violation):
    nb, outcomes = cs7353_solved(tmp_path)
    step, check = cell_with(nb, "def rnn_step_forward("), cell_with(nb, "expected_next_h = ")
    softmax = cell_with(nb, "def temporal_softmax_loss(")
    if violation == "edit outside TODO":
        nb.cells[step].source = nb.cells[step].source.replace("    return next_h, cache", "    return next_h, None")
    elif violation == "edit in a check cell":
        nb.cells[check].source = nb.cells[check].source.replace("N, D, H = 3, 10, 4", "N, D, H = 3, 10, 5")
    elif violation == "import in a TODO":
        nb.cells[softmax].source = into_todo(nb.cells[softmax].source, "from scipy.special import logsumexp")
    else:  # Jupyter's "Clear All Outputs"
        for cell in nb.cells:
            if cell.cell_type == "code":
                cell.outputs, cell.execution_count = [], None
    expected = {
        "edit outside TODO": {"edits-only-in-todo": "Code outside the TODO regions was changed in cell %d." % step},
        "edit in a check cell": {"edits-only-in-todo": "Code outside the TODO regions was changed in cell %d." % check},
        "import in a TODO": {"no-extra-imports": "Imports that the template does not have: scipy (cell %d)."
                                                 % softmax},
    }
    found = broken(policy.evaluate(ALL_WARN, submitted=nb, outcomes=outcomes, **CS7353))
    if violation == "outputs cleared":
        assert list(found) == ["outputs-kept"]
        assert found["outputs-kept"].startswith("The notebook was not fully run before hand-in: 20 code cell(s) have "
                                                "no execution count (never run)")
    else:
        assert found == expected[violation]
