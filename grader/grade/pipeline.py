"""One submission from start to finish, as a list of named steps.

``STEPS`` reads as the design: find → execute → probe/check → score → report. Each step
takes the ``Grading`` context and leaves what it found there; ``run`` times each into
results.json's ``execution.timings`` as ``<step>_s`` and runs any prefix of the list.
"""
from __future__ import annotations

import copy
import secrets
import shutil
import tempfile
import time
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import nbformat

from reference.coco_small import write_small_coco

from . import find as finder
from ..assignments import Settings
from ..check.judge import Judge
from ..errors import UsageError
from ..resources import NOTEBOOK, student_template
from ..results import score
from ..results.schema import ItemResult, Results
from ..sandbox import integrity
from ..sandbox import isolation as sandbox
from ..sandbox import policy
from ..sandbox.guard import kernel_guard
from .execute import KernelSession, execute_notebook
from .given import supply_given
from .probe import KernelBackend
from .py2 import convert_submission
from .sanitize import IMPORT_ERRORS, guard_imports, neutralise
from .shims import KERNEL_SETUP

DATA_DIR = Path("cs231n") / "datasets" / "coco_captioning"


def new_seed():
    return secrets.randbelow(2**31)


@dataclass
class Grading:
    """One submission on its way through the steps: what was asked, then what each step left.

    A context manager: leaving it stops the kernel and removes the work folder, however far
    the steps got."""

    path: Path | str
    settings: Settings
    seed: int
    public_only: bool = False
    hidden: tuple = ()  # more paths the kernel must not see
    progress: Callable[[str], None] | None = None  # told what is happening, a line at a time
    started: float = field(default_factory=time.monotonic)
    timings: dict = field(default_factory=dict)  # {"<step>_s": seconds}
    cleanup: ExitStack = field(default_factory=ExitStack)
    box: sandbox.Sandbox | None = None  # sandbox
    work_root: Path | None = None  # find
    submission: finder.Submission | None = None
    submitted: nbformat.NotebookNode | None = None  # the notebook as handed in
    files: dict = field(default_factory=dict)  # its cs231n/*.py as handed in
    notebook: nbformat.NotebookNode | None = None  # prepare: the notebook that runs
    neutralised: dict = field(default_factory=dict)
    python2: dict = field(default_factory=dict)
    session: KernelSession | None = None  # start_kernel
    backend: KernelBackend | None = None
    supplied: dict = field(default_factory=dict)  # given
    outcomes: list = field(default_factory=list)  # execute: a CellOutcome per code cell
    verdicts: list = field(default_factory=list)  # judge: [(item, Verdict)]
    skipped: list = field(default_factory=list)  # items not run in a pre-check
    found: dict = field(default_factory=dict)  # locate: {item: (where its function is, its source)}
    access: list = field(default_factory=list)  # stop_kernel: grader-access attempts
    execution: dict = field(default_factory=dict)
    flags: dict = field(default_factory=dict)  # integrity: {item: [attempts that touched it]}
    items: list[ItemResult] = field(default_factory=list)  # score
    policy: list = field(default_factory=list)  # policy: the results.json entries
    score: float = 0.0  # the items' points after the course rules
    deduction: float = 0.0
    results: Results | None = None  # results

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.cleanup.close()

    def say(self, message):
        if self.progress:
            self.progress(message)


@dataclass(frozen=True)
class Step:
    name: str  # also its timing's key, "<name>_s"
    run: Callable[[Grading], None]


def grade(path, settings, *, seed=None, public_only=False, progress=None, hidden=()):
    """Grade the submission at ``path``; return the results.json dict. ``hidden``: more
    paths the kernel must not see (the report folder, a batch's other submissions)."""
    with Grading(path, settings, new_seed() if seed is None else seed, public_only, tuple(hidden),
                 progress) as grading:
        run(grading, STEPS)
        return grading.results.to_json()


def run(grading, steps):
    """Run ``steps`` in order on ``grading``, each timed into ``grading.timings``; return it."""
    for step in steps:
        began = time.monotonic()
        step.run(grading)
        grading.timings[step.name + "_s"] = round(time.monotonic() - began, 3)
    return grading


# ---- the steps, in order ----------------------------------------------------------------

def choose_sandbox(g):
    """The isolation the assignment asks for, or the best this machine gives."""
    try:
        g.box = sandbox.choose(g.settings.raw.get("sandbox"), hidden=(g.path, *g.hidden))
    except (RuntimeError, ValueError) as exc:
        raise UsageError(str(exc)) from None


def find_submission(g):
    """Copy the submission to a private work folder; keep its notebook and package as handed in."""
    g.work_root = Path(tempfile.mkdtemp(prefix="grade-"))
    g.cleanup.callback(shutil.rmtree, g.work_root, ignore_errors=True)
    g.submission = finder.find(g.path, g.work_root)
    g.submitted = _read_notebook(g.submission.notebook)
    g.files = _package_files(g.submission.workdir)


def prepare(g):
    """Make the work copy run here: machine-only lines neutralised, Python 2 converted, the data set."""
    g.notebook = copy.deepcopy(g.submitted)
    g.neutralised = neutralise(g.notebook)
    g.python2 = convert_submission(g.notebook, g.submission.workdir, enabled=g.settings.convert_python2)
    write_small_coco(g.submission.workdir / DATA_DIR)


def start_kernel(g):
    """A kernel in the sandbox with the grader's guard and shims (replayed after a restart)."""
    g.session = g.cleanup.enter_context(KernelSession(g.submission.workdir, home=g.work_root / "home",
                                                      sandbox=g.box))
    g.session.phase = "setup"
    guard = kernel_guard(g.work_root, hidden=(g.path, *g.hidden), programs=g.box.level == "bubblewrap")
    for setup in (guard, KERNEL_SETUP):
        g.session.run(setup, g.settings.cell_timeout)
    g.backend = KernelBackend(g.session)


def supply_given_modules(g):
    """The assignment's given modules, where the submission's are missing or do not import."""
    g.session.phase = "the import check of the given modules"
    g.supplied = supply_given(g.backend, g.submission.workdir)


def run_notebook(g):
    """Run every code cell; a failing cell does not stop the run."""
    cells = sum(1 for c in g.notebook.cells if c.cell_type == "code" and c.source.strip())
    counter = iter(range(1, cells + 1))
    _, g.outcomes = execute_notebook(g.notebook, g.session, g.settings.cell_timeout, retry=_without_failing_imports,
                                     on_cell=lambda o: g.say("ran cell %d/%d (%s)" % (next(counter), cells, o.status)))


def judge_items(g):
    """Probe and check each automatic item, in order (a failed item's dependants are substituted)."""
    g.backend.reinstall()
    judge = Judge(g.backend, g.settings, g.seed, public_only=g.public_only)
    for item in g.settings.items:
        if item.kind == "manual":
            continue
        if g.public_only and item.kind == "overfit":
            g.skipped.append(item.name)
            continue
        g.say("checking %s" % item.name)
        g.session.phase = item.name
        began = time.monotonic()
        verdict = judge.judge(item)
        verdict.extra["seconds"] = round(time.monotonic() - began, 3)
        g.verdicts.append((item, verdict))


def locate_functions(g):
    """Where each checked function was found (notebook or module) and its source, for the report."""
    g.session.phase = "the grader's lookup of your functions"
    g.found = _found(g.backend, [item for item, _ in g.verdicts])


def stop_kernel(g):
    """Keep what the kernel did and what it tried, then stop it."""
    g.access = list(g.session.access)
    g.execution = _execution_summary(g)
    g.session.close()


def flag_integrity(g):
    """{item: [attempts]} for the items that grader-access attempts touched."""
    cells = {i: c.source for i, c in enumerate(g.notebook.cells) if c.cell_type == "code"}
    items = [item for item, _ in g.verdicts]
    where = {name: place for name, (place, _) in g.found.items()}
    for event in g.access:
        for name in integrity.touched(event, items, where, cells):
            g.flags.setdefault(name, []).append(integrity.describe(event))


def score_items(g):
    """Each item's result: points from its verdict, nothing if flagged, the student's code if it failed."""
    g.items = [score.item_result(item, g.settings, verdict, g.found.get(item.name, (None, None))[1],
                                 g.flags.get(item.name, ())) for item, verdict in g.verdicts]


def apply_policy(g):
    """The course rules, evaluated on the submission as handed in and applied to the items' points."""
    form = "module" if "cs231n/rnn_layers.py" in g.files else "notebook"
    template_path = g.settings.policy_template or student_template(form) / NOTEBOOK
    g.policy = policy.evaluate(g.settings.policy, submitted=g.submitted, template=_read_notebook(template_path),
                               outcomes=g.outcomes, files=g.files, template_files=_package_files(template_path.parent),
                               access=g.access)
    g.score, g.deduction = policy.apply(sum(i.score for i in g.items), g.policy)


def assemble_results(g):
    """The typed results.json, manual answers included."""
    g.results = Results(g.submission.id, g.settings.name, g.score, g.deduction, g.items, g.policy,
                        score.manual_entries(g.settings, g.notebook), g.execution, g.public_only, g.skipped, g.seed,
                        time.monotonic() - g.started)


STEPS = (
    Step("sandbox", choose_sandbox),
    Step("find", find_submission),
    Step("prepare", prepare),
    Step("start_kernel", start_kernel),
    Step("given", supply_given_modules),
    Step("execute", run_notebook),
    Step("judge", judge_items),
    Step("locate", locate_functions),
    Step("stop_kernel", stop_kernel),
    Step("integrity", flag_integrity),
    Step("score", score_items),
    Step("policy", apply_policy),
    Step("results", assemble_results),
)


# ---- helpers ----------------------------------------------------------------------------

def _read_notebook(path):
    try:
        return nbformat.read(str(path), as_version=4)
    except Exception as exc:  # nbformat raises several unrelated types
        raise UsageError("%s is not a readable notebook: %s" % (path, str(exc).splitlines()[0])) from None


def _package_files(root):
    """{relative path: source} of a folder's ``cs231n/**/*.py`` files."""
    files = {}
    for path in sorted((Path(root) / "cs231n").rglob("*.py")):
        try:
            files[path.relative_to(root).as_posix()] = path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
    return files


def _execution_summary(g):
    """results.json ``execution``; its ``timings`` fill in as the steps end."""
    cells = [{"index": o.index, "status": o.status, "seconds": round(o.seconds, 3), "ename": o.ename,
              "evalue": o.evalue[:2000], "traceback": o.traceback[-8000:], "retried": o.retried}
             for o in g.outcomes]
    graded = {"notebook": str(g.submission.notebook.relative_to(g.work_root / "submission")),
              "functions": {name: where for name, (where, _) in g.found.items()}}
    return {"cells": cells, "neutralised": {str(k): v for k, v in g.neutralised.items()},
            "kernel_restarts": g.session.restarts, "errors": sum(1 for o in g.outcomes if o.status != "ok"),
            "python2": g.python2, "supplied": g.supplied, "timings": g.timings, "sandbox": dict(g.box.describe(), python=g.session.interpreter),
            "graded": graded}


def _without_failing_imports(source, outcome):
    """A cell that stopped at an import runs again with its imports guarded."""
    return guard_imports(source) if outcome.ename in IMPORT_ERRORS else None


def _found(backend, items):
    """{item: (where its function was found, its source)} for the report."""
    names = {i.name: (i.backward or i.forward or i.name) for i in items if i.kind in ("layer", "model_loss", "sample")}
    found = backend.request("resolve", 30, names=sorted(set(names.values()))).get("found") or {}
    result = {}
    for item, fn in names.items():
        info = found.get(fn) or {}
        module = info.get("module")
        where = None if not info else ("notebook" if module in (None, "__main__") else
                                       module.replace(".", "/") + ".py")
        result[item] = (where, info.get("source"))
    return result
