"""Course rules checked on a submitted notebook against what the student received.

Each rule looks at the submission as handed in (its code, saved outputs and execution
counts), at the template, and at what re-execution and the sandbox saw. The TOML sets
each rule to "off", "warn", "zero" (the score becomes 0) or a number of points taken
off; ``evaluate`` gives the results.json ``policy`` entries, ``apply`` the final score.

The rules judge only what the student wrote (scope): the TODO regions and the bodies of
the graded functions, in the notebook's cells and the graded files. Given files, whatever
year of the course they come from, are never looked at. no-extra-imports counts imports
there (or whose names are used there); edits-only-in-todo compares with the template the
cells that hold graded code, the check cells (they call a graded function and compare
with an expected value) and the graded files, leaving out Python 2 compatibility imports
and plotting lines; recorded-outputs-match never counts what the grading machine changes
(machine: no network, a missing module or file, values computed from our small data set)
nor the cells the grader neutralised.

``evaluate``'s inputs an assignment sets (defaults: the ``rnn`` assignment):

- ``template``: what the student received: a notebook, the path of one (its folder's
  ``cs231n/**/*.py`` are then ``template_files``), or None for the built-in template of
  the submission's form (``module`` if it hands in a graded file, else ``notebook``);
- ``template_files``: {path: source} of the template's package, if ``template`` is a notebook;
- ``graded_files``: paths, in the submission, of the files that hold graded functions
  (``GRADED_FILES``; ``()`` for an assignment whose notebook holds everything);
- ``graded``: the graded functions, ``"name"`` or ``"Class.method"`` (``GRADED``).

And per submission: ``files`` ({path: source} of its ``cs231n/**/*.py``), ``outcomes``
(the re-run's CellOutcomes), ``access`` (the sandbox's grader-access events) and
``neutralised`` (indexes of the cells the grader neutralised before running).

One module per family of rules (imports, edits, outputs, grader_access), each giving a
rule's (message, details); common holds their cell parsing and wording.
"""
from __future__ import annotations

from pathlib import Path

import nbformat

from ...errors import UsageError
from ...resources import NOTEBOOK, student_template
from . import edits, grader_access, imports, outputs
from .scope import Scope

RULES = ("no-extra-imports", "edits-only-in-todo", "outputs-kept", "recorded-outputs-match", "no-grader-access")
ACTIONS = ("off", "warn", "zero")
MAX_DETAILS = 20
GRADED_FILES = ("cs231n/rnn_layers.py", "cs231n/classifiers/rnn.py")
GRADED = ("rnn_step_forward", "rnn_step_backward", "rnn_forward", "rnn_backward", "word_embedding_forward",
          "word_embedding_backward", "temporal_affine_forward", "temporal_affine_backward", "temporal_softmax_loss",
          "CaptioningRNN.loss", "CaptioningRNN.sample")


def evaluate(actions, *, submitted, outcomes, template=None, files=None, template_files=None, access=(),
             graded_files=GRADED_FILES, graded=GRADED, neutralised=()):
    """results.json ``policy`` entries for every rule not set to "off", in RULES order."""
    files = files or {}
    template, template_files = _received(template, template_files, files, graded_files)
    scope = Scope.of(template, template_files, graded_files, graded)
    checks = {
        "no-extra-imports": lambda: imports.check(submitted, template, files, template_files, scope),
        "edits-only-in-todo": lambda: edits.check(submitted, template, files, template_files, scope),
        "outputs-kept": lambda: outputs.kept(submitted, outcomes, neutralised),
        "recorded-outputs-match": lambda: outputs.match(submitted, outcomes, neutralised),
        "no-grader-access": lambda: grader_access.check(access),
    }
    entries = []
    for rule in RULES:
        action = actions.get(rule, "off")
        if action == "off":
            continue
        message, details = checks[rule]()
        penalty = not isinstance(action, str)
        entries.append({
            "rule": rule, "passed": not message, "message": message,
            "action": "penalty" if penalty else action,
            "deduction": float(action) if penalty and message else 0.0,
            "details": _capped(details),
        })
    return entries


def apply(score, entries):
    """(final score, points deducted): failed penalties come off (not below 0); a failed "zero" gives 0."""
    failed = [e for e in entries if not e["passed"]]
    if any(e["action"] == "zero" for e in failed):
        final = 0.0
    else:
        final = max(0.0, score - sum(e["deduction"] for e in failed if e["action"] == "penalty"))
    return final, score - final


def _received(template, template_files, files, graded_files):
    """(template notebook, {path: source} of its package): what the student received."""
    if template is None:
        template = student_template("module" if set(graded_files) & set(files) else "notebook") / NOTEBOOK
    if isinstance(template, nbformat.NotebookNode):
        return template, template_files or {}
    path = Path(template)
    try:
        notebook = nbformat.read(str(path), as_version=4)
    except Exception as exc:  # nbformat raises several unrelated types
        raise UsageError("%s is not a readable notebook: %s" % (path, str(exc).splitlines()[0])) from None
    if template_files is None:
        template_files = {p.relative_to(path.parent).as_posix(): p.read_text(encoding="utf-8", errors="replace")
                          for p in sorted((path.parent / "cs231n").rglob("*.py"))}
    return notebook, template_files


def _capped(details):
    if len(details) <= MAX_DETAILS:
        return list(details)
    return list(details[:MAX_DETAILS - 1]) + ["... and %d more" % (len(details) - MAX_DETAILS + 1)]
