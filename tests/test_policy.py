"""Policy rules on notebooks built from the real templates (no kernels: outcomes are made here)."""
from __future__ import annotations

import copy

import nbformat
import pytest

from class_records import rule
from grader import assignments
from grader.sandbox import policy
from grader.errors import UsageError
from grader.grade.execute import CellOutcome
from notebooks import REPO
from policy_cases import (GRADIENT_REPORT, cell_with, evaluate, fill, ran_solved, read_template, run, solved_module,
                          solved_notebook, stream, template_files)

ALL_WARN = {rule: "warn" for rule in policy.RULES}

# ---- honest submissions pass every rule -------------------------------------------------

def test_honest_solved_notebook_passes_every_rule():
    nb, outcomes = ran_solved()
    entries = evaluate(nb, outcomes)
    assert list(entries) == list(policy.RULES)
    for entry in entries.values():
        assert entry == {"rule": entry["rule"], "passed": True, "message": "", "action": "warn",
                         "deduction": 0.0, "details": []}


def test_honest_module_submission_passes_every_rule():
    nb, outcomes, files = solved_module()
    entries = evaluate(nb, outcomes, template=read_template("module"), files=files, template_files=template_files())
    assert [e["rule"] for e in entries.values() if not e["passed"]] == []


def test_untouched_template_has_no_edits_nor_imports():
    nb = read_template()
    entries = evaluate(nb, rules=["no-extra-imports", "edits-only-in-todo"])
    assert all(e["passed"] for e in entries.values())


# ---- no-extra-imports -------------------------------------------------------------------

def test_extra_imports_in_a_todo_region_and_a_file_are_named_with_where():
    nb, outcomes = ran_solved()
    cell = cell_with(nb, "def rnn_backward(")
    nb.cells[cell].source = fill(nb.cells[cell].source, "import torch\nresult = torch.zeros(3)")
    files = template_files()
    files["cs231n/rnn_layers.py"] = fill(files["cs231n/rnn_layers.py"], "from scipy.special import expit")
    entry = evaluate(nb, outcomes, rules=["no-extra-imports"], files=files,
                     template_files=template_files())["no-extra-imports"]
    assert entry["passed"] is False
    assert entry["message"] == ("Imports that the template does not have: scipy (cs231n/rnn_layers.py); "
                                "torch (cell %d)." % cell)
    assert entry["details"] == ["cs231n/rnn_layers.py imports scipy", "cell %d imports torch" % cell]


def test_dynamic_imports_count_and_the_assignment_own_package_does_not():
    nb, outcomes = ran_solved()
    cell = cell_with(nb, "def rnn_forward(")
    nb.cells[cell].source = fill(nb.cells[cell].source, (
        "import importlib\nfrom cs231n.layers import affine_forward\nfrom .helpers import f\n"
        "sk = __import__('sklearn')\nkeras = importlib.import_module('tensorflow.keras')\n"
        "from __future__ import annotations\nimport numpy as np, json"))
    entry = evaluate(nb, outcomes, rules=["no-extra-imports"])["no-extra-imports"]
    assert entry["message"] == ("Imports that the template does not have: importlib (cell {0}); sklearn (cell {0}); "
                                "tensorflow (cell {0}).".format(cell))


def test_cells_that_do_not_parse_fall_back_to_lines():
    nb, outcomes = ran_solved()
    snippets = {"def rnn_step_backward(": "%matplotlib inline\n!pip install seaborn\nimport seaborn as sns\n%time x = 1",
                "def rnn_forward(": 'import cPickle\nprint "loaded"; import Queue',  # Python 2: by lines
                "def rnn_backward(": "def broken(:\n    from pandas import DataFrame",  # not Python at all
                "def word_embedding_forward(": "for i in range(2):\n    %time import numpy\n"}
    where = {}
    for text, snippet in snippets.items():
        where[text] = cell_with(nb, text)
        nb.cells[where[text]].source = fill(nb.cells[where[text]].source, snippet)
    entry = evaluate(nb, outcomes, rules=["no-extra-imports"])["no-extra-imports"]
    assert entry["message"] == ("Imports that the template does not have: Queue (cell {1}); cPickle (cell {1}); "
                                "pandas (cell {2}); seaborn (cell {0})."
                                .format(*[where[t] for t in list(snippets)[:3]]))


def test_only_imports_in_or_used_by_student_code_count():
    """A scratch cell's import counts once a TODO region uses what it binds; imports in the
    setup cell and in given files (not graded) never count."""
    nb, outcomes = ran_solved()
    setup = cell_with(nb, "def rel_error(")
    nb.cells[setup].source = "import matplotlib.pyplot as plt\nimport torch\n" + nb.cells[setup].source
    nb.cells.append(nbformat.v4.new_code_cell("from scipy.special import expit as sigmoid_fn\nimport pandas as pd\n"
                                              "import sklearn"))
    cell = cell_with(nb, "def rnn_step_backward(")
    nb.cells[cell].source = fill(nb.cells[cell].source, "dx = sigmoid_fn(dnext_h)  # not pd, not sklearn")
    files = template_files()
    files["cs231n/classifiers/squeezenet.py"] = "import tensorflow as tf\n"
    files["cs231n/layers.py"] = "import Cython\n" + files["cs231n/layers.py"]
    entry = evaluate(nb, outcomes, rules=["no-extra-imports"], files=files)["no-extra-imports"]
    assert entry["message"] == "Imports that the template does not have: scipy (cell %d)." % (len(nb.cells) - 1)


def test_graded_bodies_of_code_that_does_not_parse_are_found_by_indentation():
    """A Python 2 cell: an import in the graded function's body (outside its TODO region)
    counts; one in a helper of the student's own does not."""
    nb, outcomes = ran_solved()
    cell = cell_with(nb, "def rnn_forward(")
    nb.cells[cell].source = fill(nb.cells[cell].source, 'print "forward"').replace(
        "    return h, cache", "    import scipy\n    return h, cache") + "\n\ndef helper():\n    import pandas\n"
    entry = evaluate(nb, outcomes, rules=["no-extra-imports"])["no-extra-imports"]
    assert entry["message"] == "Imports that the template does not have: scipy (cell %d)." % cell


# ---- edits-only-in-todo -----------------------------------------------------------------

def test_an_edited_given_line_is_reported_with_the_line():
    nb, outcomes = ran_solved()
    check = cell_with(nb, "expected_next_h = ")
    nb.cells[check].source = nb.cells[check].source.replace(
        "print('next_h error: ', rel_error(expected_next_h, next_h))", "print('next_h error: ', 0.0)")
    entry = evaluate(nb, outcomes, rules=["edits-only-in-todo"])["edits-only-in-todo"]
    assert entry["passed"] is False
    assert entry["message"] == "Code outside the TODO regions was changed in cell %d." % check
    line = nb.cells[check].source.split("\n").index("print('next_h error: ', 0.0)") + 1
    assert entry["details"] == ["cell %d (In [%d]): line %d: `print('next_h error: ', rel_error(expected_next_h, "
                                "next_h))` became `print('next_h error: ', 0.0)`"
                                % (check, nb.cells[check].execution_count, line)]


def test_given_code_of_a_todo_cell_outside_its_region():
    nb, outcomes = ran_solved()
    cell = cell_with(nb, "def rnn_step_forward(")
    nb.cells[cell].source = nb.cells[cell].source.replace("    return next_h, cache",
                                                          "    next_h = next_h.astype(np.float32)\n"
                                                          "    return next_h, cache")
    entry = evaluate(nb, outcomes, rules=["edits-only-in-todo"])["edits-only-in-todo"]
    assert entry["message"] == "Code outside the TODO regions was changed in cell %d." % cell
    assert "`next_h = next_h.astype(np.float32)` was added" in entry["details"][0]


def test_a_new_cell_redefining_a_given_function_fails_but_scratch_cells_pass():
    nb, outcomes = ran_solved()
    where = cell_with(nb, "def rnn_step_backward(") + 1
    nb.cells.insert(where, nbformat.v4.new_code_cell("def rel_error(x, y):\n    return 0.0\n\n"
                                                     "affine_forward = lambda x, w, b: (x, None)"))
    nb.cells.insert(where, nbformat.v4.new_code_cell(  # the student's own version of a TODO function
        "def rnn_step_forward(x, prev_h, Wx, Wh, b):\n    return np.tanh(x @ Wx + prev_h @ Wh + b), None\n"
        "x = np.zeros((2, 3))"))
    entry = evaluate(nb, outcomes, rules=["edits-only-in-todo"])["edits-only-in-todo"]
    assert entry["message"] == "Added cell %d redefines affine_forward, rel_error." % (where + 1)
    assert entry["details"] == ["cell %d, a new cell, redefines affine_forward, rel_error, given by the template"
                                % (where + 1)]


def test_removed_cell_and_deleted_markers_are_changes():
    nb, outcomes = ran_solved()
    removed = cell_with(nb, "expected_h = ")
    del nb.cells[removed]
    cell = cell_with(nb, "def word_embedding_forward(")
    nb.cells[cell].source = "\n".join(line for line in nb.cells[cell].source.split("\n")
                                      if "START OF YOUR CODE" not in line)
    entry = evaluate(nb, outcomes, rules=["edits-only-in-todo"])["edits-only-in-todo"]
    assert entry["message"] == ("Code outside the TODO regions was changed in cell %d; "
                                "1 template code cell(s) were removed." % cell)
    assert entry["details"][0].startswith("cell %d (In [" % cell)
    assert "): its TODO markers were deleted or changed; line " in entry["details"][0]
    assert entry["details"][1] == ("template cell starting `N, T, D, H = 2, 3, 4, 5` was removed (after cell %d)"
                                   % (removed - 2))


def test_python2_cell_redefining_a_given_function_and_deleted_end_markers():
    nb, outcomes = ran_solved()
    nb.cells.append(nbformat.v4.new_code_cell('def rel_error(x, y):\n    print "no error"\n    return 0\n'))
    cell = cell_with(nb, "def temporal_affine_forward(")
    nb.cells[cell].source = "\n".join(line for line in nb.cells[cell].source.split("\n")
                                      if "END OF YOUR CODE" not in line)
    entry = evaluate(nb, outcomes, rules=["edits-only-in-todo"])["edits-only-in-todo"]
    assert entry["message"] == ("Code outside the TODO regions was changed in cell %d; added cell %d redefines "
                                "rel_error." % (cell, len(nb.cells) - 1))
    assert "its TODO markers were deleted or changed; line" in entry["details"][0]


def test_files_are_compared_outside_their_regions():
    nb, outcomes, files = solved_module()
    files["cs231n/rnn_layers.py"] = files["cs231n/rnn_layers.py"].replace(
        "    return next_h, cache", "    return next_h.round(8), cache", 1)
    entry = evaluate(nb, outcomes, template=read_template("module"), files=files, template_files=template_files(),
                     rules=["edits-only-in-todo"])["edits-only-in-todo"]
    assert entry["message"] == "Code outside the TODO regions was changed in cs231n/rnn_layers.py."
    line = files["cs231n/rnn_layers.py"].split("\n").index("    return next_h.round(8), cache") + 1
    assert entry["details"] == ["cs231n/rnn_layers.py, line %d: `return next_h, cache` became "
                                "`return next_h.round(8), cache`" % line]


BANNER_TEMPLATE = '''\
def rnn_step_forward(x, prev_h, Wx, Wh, b):
    """One step."""
    next_h, cache = None, None
    ##############################################################################
    # TODO: Implement a single forward step for the vanilla RNN. Store the next  #
    # hidden state and any values you need for the backward pass.               #
    ##############################################################################
    pass
    ##############################################################################
    #                               END OF YOUR CODE                             #
    ##############################################################################
    return next_h, cache'''


def test_seed_002_style_todo_banner_without_start_marker():
    template = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("import numpy as np"),
                                               nbformat.v4.new_code_cell(BANNER_TEMPLATE)])
    honest = copy.deepcopy(template)
    honest.cells[1].source = BANNER_TEMPLATE.replace(
        "    pass\n", "    # my own comment\n    a = prev_h @ Wh + x @ Wx + b\n    next_h = np.tanh(a)\n"
                      "    cache = (x, prev_h, Wx, Wh, a)\n    pass\n")
    entry = evaluate(honest, template=template, rules=["edits-only-in-todo"])["edits-only-in-todo"]
    assert entry["passed"] is True
    edited = copy.deepcopy(honest)
    edited.cells[1].source = honest.cells[1].source.replace("next_h, cache = None, None", "next_h, cache = 0, 0")
    entry = evaluate(edited, template=template, rules=["edits-only-in-todo"])["edits-only-in-todo"]
    assert entry["message"] == "Code outside the TODO regions was changed in cell 1."
    assert entry["details"] == ["cell 1: line 3: `next_h, cache = None, None` became `next_h, cache = 0, 0`"]


# ---- outputs-kept -----------------------------------------------------------------------

def test_a_cell_never_run_and_a_cell_with_cleared_output_are_counted():
    nb, outcomes = ran_solved()
    never = cell_with(nb, "def rnn_forward(")
    nb.cells[never].execution_count = None
    cleared = cell_with(nb, "expected_h = ")
    nb.cells[cleared].outputs = []
    entry = evaluate(nb, outcomes, rules=["outputs-kept"])["outputs-kept"]
    assert entry["passed"] is False
    assert entry["message"] == ("The notebook was not fully run before hand-in: 1 code cell(s) have no execution "
                                "count (never run): cell %d; 1 cell(s) that print output when run have no saved "
                                "output: cell %d." % (never, cleared))
    assert entry["details"] == ["cell %d: no execution count" % never,
                                "cell %d (In [%d]): no saved output" % (cleared, nb.cells[cleared].execution_count)]


def test_stderr_warnings_in_reexecution_do_not_require_saved_output():
    nb, outcomes = ran_solved()
    quiet = cell_with(nb, "def rnn_forward(")
    next(o for o in outcomes if o.index == quiet).outputs = [stream("DeprecationWarning: x\n", "stderr")]
    assert evaluate(nb, outcomes, rules=["outputs-kept"])["outputs-kept"]["passed"] is True


def test_setup_code_the_pipeline_ran_outside_the_notebook_is_ignored():
    nb, outcomes = ran_solved()
    outcomes.insert(0, CellOutcome(-1, "ok", outputs=[stream("grader setup\n")]))
    entries = evaluate(nb, outcomes, rules=["outputs-kept", "recorded-outputs-match"])
    assert all(e["passed"] for e in entries.values())


def test_unrun_template_lists_cells_briefly():
    entry = evaluate(read_template(), rules=["outputs-kept"])["outputs-kept"]
    assert entry["message"].startswith("The notebook was not fully run before hand-in: 27 code cell(s) have no "
                                       "execution count (never run): cells 2, 4, 5, 7, 9, 11, 13, 15, 17, 19 and "
                                       "17 more.")
    assert len(entry["details"]) == 20 and entry["details"][-1] == "... and 8 more"


# ---- recorded-outputs-match -------------------------------------------------------------

def test_cell_that_now_raises_but_saved_a_passing_error():
    nb = solved_notebook()
    check = cell_with(nb, "expected_next_h = ")
    raises = CellOutcome(check, "error", "TypeError", "unsupported operand type(s) for *: 'NoneType' and 'float'")
    outcomes = run(nb, saved={check: "error: 1.2e-09\n"}, rerun={check: raises})
    entry = evaluate(nb, outcomes, rules=["recorded-outputs-match"])["recorded-outputs-match"]
    assert entry["passed"] is False
    assert entry["message"] == "Saved outputs disagree with re-running the notebook in cell %d." % check
    assert entry["details"] == ["cell %d (In [%d]): the saved output shows no error, but re-run it fails "
                                "(TypeError: unsupported operand type(s) for *: 'NoneType' and 'float')"
                                % (check, nb.cells[check].execution_count)]


def test_saved_passing_gradient_error_that_now_fails():
    nb = solved_notebook()
    check = cell_with(nb, "rnn_step_backward(dnext_h, cache)\n")
    new = GRADIENT_REPORT.replace("dx error:  3.004984354606141e-10", "dx error:  0.5212")
    outcomes = run(nb, saved={check: GRADIENT_REPORT.replace("3.004984354606141e-10", "3e-10")},
                   rerun={check: CellOutcome(check, "ok", outputs=[stream(new)])})
    entry = evaluate(nb, outcomes, rules=["recorded-outputs-match"])["recorded-outputs-match"]
    assert entry["message"] == "Saved outputs disagree with re-running the notebook in cell %d." % check
    assert entry["details"] == ["cell %d (In [%d]): `dx error` was 3e-10 in the saved output, 0.521 when re-run"
                                % (check, nb.cells[check].execution_count)]


def test_run_to_run_noise_and_execute_results_and_nan():
    nb = solved_notebook()
    check = cell_with(nb, "rnn_step_backward(dnext_h, cache)\n")
    loss = cell_with(nb, "expected_loss = 9.83235591003")
    result = nbformat.v4.new_output("execute_result", data={"text/plain": "'difference:  nan'"}, execution_count=1)
    outcomes = run(nb, saved={check: "dx error:  1e-09\ndb error: 2.1e-11\n", loss: "difference:  2.6e-12\n"},
                   rerun={check: CellOutcome(check, "ok", outputs=[stream("dx error:  3e-10\ndb error: 4e-4\n")]),
                          loss: CellOutcome(loss, "ok", outputs=[result])})
    entry = evaluate(nb, outcomes, rules=["recorded-outputs-match"])["recorded-outputs-match"]
    assert entry["details"] == ["cell %d (In [%d]): `difference` was 2.6e-12 in the saved output, nan when re-run"
                                % (loss, nb.cells[loss].execution_count)]


def test_unsaved_outputs_and_missing_modules_are_not_disagreements():
    nb = solved_notebook()
    setup = cell_with(nb, "def rel_error(")
    check = cell_with(nb, "expected_next_h = ")
    outcomes = run(nb, saved={setup: "", check: "next_h error:  6.3e-09\n"},
                   rerun={setup: CellOutcome(setup, "error", "TypeError", "boom"),
                          check: CellOutcome(check, "error", "ModuleNotFoundError", "No module named 'torch'")})
    assert evaluate(nb, outcomes, rules=["recorded-outputs-match"])["recorded-outputs-match"]["passed"] is True


def test_saved_error_output_is_not_contradicted_by_a_new_error():
    nb = solved_notebook()
    check = cell_with(nb, "expected_next_h = ")
    outcomes = run(nb, rerun={check: CellOutcome(check, "timeout", "CellTimeoutError", "too slow")})
    nb.cells[check].outputs = [nbformat.v4.new_output("error", ename="NameError", evalue="x", traceback=[])]
    assert evaluate(nb, outcomes, rules=["recorded-outputs-match"])["recorded-outputs-match"]["passed"] is True


# ---- no-grader-access -------------------------------------------------------------------

def test_grader_access_lists_each_attempt_once():
    nb, outcomes = ran_solved()
    access = [{"event": "import", "target": "reference.rnn_layers", "where": "cell 12"},
              {"event": "import", "target": "reference.rnn_layers", "where": "cell 12"},
              {"event": "open", "target": "/opt/grader/reference/rnn_layers.py", "where": "cs231n/rnn_layers.py"}]
    entry = evaluate(nb, outcomes, rules=["no-grader-access"], access=access)["no-grader-access"]
    assert entry["passed"] is False
    assert entry["message"] == ("The submission tried to reach the grader's own code: import reference.rnn_layers "
                                "(cell 12); open /opt/grader/reference/rnn_layers.py (cs231n/rnn_layers.py).")
    assert len(entry["details"]) == 2
    assert evaluate(nb, outcomes, rules=["no-grader-access"], access=[])["no-grader-access"]["passed"] is True


# ---- actions, evaluate and apply --------------------------------------------------------

def test_actions_off_warn_zero_and_points():
    nb, outcomes = ran_solved()
    nb.cells[cell_with(nb, "def rnn_forward(")].execution_count = None
    access = [{"event": "import", "target": "grader", "where": "cell 3"}]
    actions = {"outputs-kept": 2.5, "no-grader-access": "zero", "no-extra-imports": 4, "edits-only-in-todo": "off"}
    entries = policy.evaluate(actions, submitted=nb, template=read_template(), outcomes=outcomes, access=access)
    assert [(e["rule"], e["passed"], e["action"], e["deduction"]) for e in entries] == [
        ("no-extra-imports", True, "penalty", 0.0), ("outputs-kept", False, "penalty", 2.5),
        ("no-grader-access", False, "zero", 0.0)]


def test_the_template_is_the_builtin_one_of_the_form_by_default():
    nb, outcomes = ran_solved()
    check = cell_with(nb, "expected_next_h = ")
    nb.cells[check].source = nb.cells[check].source.replace("N, D, H = 3, 10, 4", "N, D, H = 3, 10, 5")
    by_default = policy.evaluate(ALL_WARN, submitted=nb, outcomes=outcomes)
    assert by_default == policy.evaluate(ALL_WARN, submitted=nb, outcomes=outcomes, template=read_template())
    assert [e["rule"] for e in by_default if not e["passed"]] == ["edits-only-in-todo"]
    module, outcomes, files = solved_module()
    assert all(e["passed"] for e in policy.evaluate(ALL_WARN, submitted=module, outcomes=outcomes, files=files))


def test_apply_warn_penalty_zero_and_floor():
    assert policy.apply(80.0, [rule("outputs-kept", "warn")]) == (80.0, 0.0)
    assert policy.apply(80.0, [rule("outputs-kept", "penalty", 5.0), rule("edits-only-in-todo", "penalty", 2.5),
                               rule("no-extra-imports", "penalty", passed=True)]) == (72.5, 7.5)
    assert policy.apply(3.0, [rule("outputs-kept", "penalty", 5.0)]) == (0.0, 3.0)
    assert policy.apply(80.0, [rule("no-grader-access", "zero"), rule("outputs-kept", "penalty", 5.0)]) == (0.0, 80.0)
    assert policy.apply(80.0, [rule("no-grader-access", "zero", passed=True)]) == (80.0, 0.0)
    assert policy.apply(80.0, []) == (80.0, 0.0)


# ---- settings ---------------------------------------------------------------------------

def test_cs231n_has_no_course_rules_only_the_grader_access_warning():
    settings = assignments.load("rnn")
    assert settings.policy == {**{r: "off" for r in policy.RULES}, "no-grader-access": "warn"}
    assert settings.policy_template is None


def test_course_toml_sets_actions_and_a_relative_template(tmp_path, course_toml):
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "hw.ipynb").write_text("{}")
    spec = course_toml('[policy]\nno-extra-imports = "zero"\noutputs-kept = 5\nno-grader-access = "off"\n'
                       'template = "templates/hw.ipynb"\n')
    settings = assignments.load(spec)
    assert settings.policy == {"no-extra-imports": "zero", "edits-only-in-todo": "off", "outputs-kept": 5.0,
                               "recorded-outputs-match": "off", "no-grader-access": "off"}
    assert settings.policy_template == (tmp_path / "templates" / "hw.ipynb").resolve()


def test_a_toml_of_its_own_starts_from_the_defaults(tmp_path):
    path = tmp_path / "own.toml"
    text = (REPO / "grader" / "assignments" / "rnn.toml").read_text()
    path.write_text(text + '[policy]\nedits-only-in-todo = "zero"\nno-grader-access = "off"\n')
    settings = assignments.load(str(path))
    assert settings.policy == {**{r: "off" for r in policy.RULES}, "edits-only-in-todo": "zero"}
    assert settings.cell_timeout == 60 and settings.tolerance("float64") == 1e-9


@pytest.mark.parametrize("line, message", [
    ('no-cheating = "warn"', "unknown policy rule 'no-cheating'"),
    ('outputs-kept = "fail"', "policy.outputs-kept must be"),
    ("outputs-kept = true", "policy.outputs-kept must be"),
    ("outputs-kept = -2", "policy.outputs-kept must be"),
    ('template = "missing.ipynb"', "policy.template"),
])
def test_bad_policy_settings_are_usage_errors(course_toml, line, message):
    with pytest.raises(UsageError) as error:
        assignments.load(course_toml("[policy]\n%s\n" % line))
    assert message in str(error.value) and "\n" not in str(error.value)
