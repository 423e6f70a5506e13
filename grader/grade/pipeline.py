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
from ..check.kinds import kind_of
from ..errors import UsageError
from ..kit.runtime import slicing
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
    cleanup: ExitStack = field(default_factory=ExitStack)  # the kernel, the work folder
    # What the steps leave, under the name of the step that leaves it first.
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
    outcomes: list = field(default_factory=list)  # execute: a CellOutcome per code cell run
    slice: slicing.Plan | None = None  # execute, in a pre-check: what of the notebook ran
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
    """A named stage of grading: ``run(grading)`` reads the context and adds to it."""

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

def choose_sandbox(grading):
    """The isolation the assignment asks for, or the best this machine gives."""
    try:
        grading.box = sandbox.choose(grading.settings.raw.get("sandbox"),
                                     hidden=(grading.path, *grading.hidden))
    except (RuntimeError, ValueError) as exc:
        raise UsageError(str(exc)) from None


def find_submission(grading):
    """Copy the submission to a private work folder; keep its notebook and package as handed in."""
    grading.work_root = Path(tempfile.mkdtemp(prefix="grade-"))
    grading.cleanup.callback(shutil.rmtree, grading.work_root, ignore_errors=True)
    grading.submission = finder.find(grading.path, grading.work_root, grading.settings.notebook_pattern)
    grading.submitted = _read_notebook(grading.submission.notebook)
    grading.files = _package_files(grading.submission.workdir)


def prepare(grading):
    """Make the work copy run here: machine-only lines neutralised, Python 2 converted, the data set."""
    grading.notebook = copy.deepcopy(grading.submitted)
    grading.neutralised = neutralise(grading.notebook)
    workdir = grading.submission.workdir
    grading.python2 = convert_submission(grading.notebook, workdir, enabled=grading.settings.convert_python2)
    write_small_coco(workdir / DATA_DIR)


def start_kernel(grading):
    """A kernel in the sandbox with the grader's guard and shims (replayed after a restart)."""
    session = KernelSession(grading.submission.workdir, home=grading.work_root / "home", sandbox=grading.box)
    grading.session = grading.cleanup.enter_context(session)
    grading.session.phase = "setup"
    guard = kernel_guard(grading.work_root, hidden=(grading.path, *grading.hidden),
                         programs=grading.box.level == "bubblewrap")
    for setup in (guard, KERNEL_SETUP):
        grading.session.run(setup, grading.settings.cell_timeout)
    grading.backend = KernelBackend(grading.session, grading.settings.probe_extensions,
                                    grading.settings.reference_layers)


def supply_given_modules(grading):
    """The assignment's given modules, where the submission's are missing or do not import."""
    grading.session.phase = "the import check of the given modules"
    grading.supplied = supply_given(grading.backend, grading.submission.workdir, *grading.settings.given)


def run_notebook(grading):
    """Run every code cell (a pre-check: only what defines the graded functions, see
    ``kit/runtime/slicing.py``); a failing cell does not stop the run."""
    code = [(i, c.source) for i, c in enumerate(grading.notebook.cells) if c.cell_type == "code"]
    only = None
    if grading.public_only:
        grading.slice = slicing.plan(code, slicing.targets(grading.settings.graded_functions))
        only = grading.slice.sources
    cells = sum(1 for i, source in code if (source if only is None else only.get(i, "")).strip())
    counter = iter(range(1, cells + 1))
    _, grading.outcomes = execute_notebook(
        grading.notebook, grading.session, grading.settings.cell_timeout, retry=_without_failing_imports,
        on_cell=lambda o: grading.say("ran cell %d/%d (%s)" % (next(counter), cells, o.status)), only=only)


def judge_items(grading):
    """Probe and check each automatic item, in order (a failed item's dependants are substituted)."""
    grading.backend.reinstall()
    judge = Judge(grading.backend, grading.settings, grading.seed, public_only=grading.public_only)
    for item in grading.settings.items:
        if item.kind == "manual":
            continue
        if grading.public_only and not kind_of(item).has_public(item):
            grading.skipped.append(item.name)
            continue
        grading.say("checking %s" % item.name)
        grading.session.phase = item.name
        began = time.monotonic()
        verdict = judge.judge(item)
        verdict.extra["seconds"] = round(time.monotonic() - began, 3)
        grading.verdicts.append((item, verdict))


def locate_functions(grading):
    """Where each checked function was found (notebook or module) and its source, for the report."""
    grading.session.phase = "the grader's lookup of your functions"
    grading.found = _found(grading.backend, [item for item, _ in grading.verdicts])


def stop_kernel(grading):
    """Keep what the kernel did and what it tried, then stop it."""
    grading.access = list(grading.session.access)
    grading.execution = _execution_summary(grading)
    grading.session.close()


def flag_integrity(grading):
    """{item: [attempts]} for the items that grader-access attempts touched."""
    cells = {i: c.source for i, c in enumerate(grading.notebook.cells) if c.cell_type == "code"}
    items = [item for item, _ in grading.verdicts]
    where = {name: place for name, (place, _) in grading.found.items()}
    for event in grading.access:
        for name in integrity.touched(event, items, where, cells):
            grading.flags.setdefault(name, []).append(integrity.describe(event))


def score_items(grading):
    """Each item's result: points from its verdict, nothing if flagged, the student's code if it failed."""
    grading.items = [score.item_result(item, grading.settings, verdict, grading.found.get(item.name, (None, None))[1],
                                       grading.flags.get(item.name, ())) for item, verdict in grading.verdicts]


def apply_policy(grading):
    """The course rules, evaluated on the submission as handed in and applied to the items' points."""
    settings = grading.settings
    grading.policy = policy.evaluate(
        settings.policy, submitted=grading.submitted, template=settings.template(settings.form_of(grading.files)),
        outcomes=_run_whole(grading), files=grading.files, access=grading.access, graded_files=settings.graded_files,
        graded=settings.graded_functions, neutralised=grading.neutralised)
    grading.score, grading.deduction = policy.apply(sum(i.score for i in grading.items), grading.policy)


def assemble_results(grading):
    """The typed results.json, manual answers included."""
    grading.results = Results(
        grading.submission.id, grading.settings.name, grading.score, grading.deduction, grading.items, grading.policy,
        score.manual_entries(grading.settings, grading.notebook), grading.execution, grading.public_only,
        grading.skipped, grading.seed, time.monotonic() - grading.started)


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


def _execution_summary(grading):
    """results.json ``execution``; its ``timings`` fill in as the steps end."""
    cells = [{"index": o.index, "status": o.status, "seconds": round(o.seconds, 3), "ename": o.ename,
              "evalue": o.evalue[:2000], "traceback": o.traceback[-8000:], "retried": o.retried}
             for o in grading.outcomes]
    graded = {"notebook": str(grading.submission.notebook.relative_to(grading.work_root / "submission")),
              "functions": {name: where for name, (where, _) in grading.found.items()}}
    return {"cells": cells, "neutralised": {str(k): v for k, v in grading.neutralised.items()},
            "kernel_restarts": grading.session.restarts, "errors": sum(1 for o in grading.outcomes if o.status != "ok"),
            "python2": grading.python2, "supplied": grading.supplied, "timings": grading.timings,
            "sandbox": dict(grading.box.describe(), python=grading.session.interpreter), "graded": graded,
            "assignment": {"name": grading.settings.name, "why": grading.settings.reason}}


def _run_whole(grading):
    """The outcomes of the cells that ran as written (the rules on outputs judge those only)."""
    return [o for o in grading.outcomes if grading.slice is None or o.index in grading.slice.whole]


def _without_failing_imports(source, outcome):
    """A cell that stopped at an import runs again with its imports guarded."""
    return guard_imports(source) if outcome.ename in IMPORT_ERRORS else None


def _found(backend, items):
    """{item: (where its function was found, its source)} for the report."""
    names = {i.name: kind_of(i).graded_function(i) for i in items if kind_of(i).graded_function(i)}
    found = backend.request("resolve", 30, names=sorted(set(names.values()))).values.get("found", {})
    result = {}
    for item, fn in names.items():
        info = found.get(fn)
        info = info if isinstance(info, dict) else {}  # student code may have garbled the reply
        module, source = info.get("module"), info.get("source")
        where = None if not info else ("notebook" if not isinstance(module, str) or module == "__main__" else
                                       module.replace(".", "/") + ".py")
        result[item] = (where, source if isinstance(source, str) else None)
    return result
