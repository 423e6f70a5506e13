"""One submission from start to finish: find → execute → probe/check → score → report."""
from __future__ import annotations

import copy
import secrets
import shutil
import tempfile
import time
from pathlib import Path

import nbformat

from reference.coco_small import write_small_coco

from . import find as finder
from ..sandbox import integrity
from ..sandbox import policy
from ..sandbox import isolation as sandbox
from ..results import score
from ..errors import UsageError
from ..resources import NOTEBOOK, student_template
from .execute import KernelSession, execute_notebook
from .given import supply_given
from ..check.judge import Judge
from .probe import KernelBackend
from .py2 import convert_submission
from ..sandbox.guard import kernel_guard
from .shims import KERNEL_SETUP
from .sanitize import IMPORT_ERRORS, guard_imports, neutralise

DATA_DIR = Path("cs231n") / "datasets" / "coco_captioning"


def new_seed():
    return secrets.randbelow(2**31)


def _read_notebook(path):
    try:
        return nbformat.read(str(path), as_version=4)
    except Exception as exc:  # nbformat raises several unrelated types
        raise UsageError("%s is not a readable notebook: %s" % (path, str(exc).splitlines()[0])) from None


def _execution_summary(outcomes, neutralised, session):
    cells = [{"index": o.index, "status": o.status, "seconds": round(o.seconds, 3), "ename": o.ename,
              "evalue": o.evalue[:2000], "traceback": o.traceback[-8000:], "retried": o.retried}
             for o in outcomes]
    return {"cells": cells, "neutralised": {str(k): v for k, v in neutralised.items()},
            "kernel_restarts": session.restarts,
            "errors": sum(1 for o in outcomes if o.status != "ok")}


def grade(path, settings, *, seed=None, public_only=False, progress=None, hidden=()):
    """Grade the submission at ``path``; return the results.json dict. ``hidden``: more
    paths the kernel must not see (the report folder, a batch's other submissions)."""
    say = progress or (lambda message: None)
    seed = new_seed() if seed is None else seed
    start = time.monotonic()
    try:
        box = sandbox.choose(settings.raw.get("sandbox"), hidden=(path, *hidden))
    except (RuntimeError, ValueError) as exc:
        raise UsageError(str(exc)) from None
    work_root = Path(tempfile.mkdtemp(prefix="grade-"))
    try:
        submission = finder.find(path, work_root)
        nb = _read_notebook(submission.notebook)
        submitted, files = copy.deepcopy(nb), _package_files(submission.workdir)  # as handed in
        neutralised = neutralise(nb)
        python2 = convert_submission(nb, submission.workdir, enabled=settings.convert_python2)
        write_small_coco(submission.workdir / DATA_DIR)
        code_cells = sum(1 for c in nb.cells if c.cell_type == "code" and c.source.strip())
        timings = {"prepare_s": time.monotonic() - start}
        with KernelSession(submission.workdir, home=work_root / "home", sandbox=box) as session:
            session.phase = "setup"
            guard = kernel_guard(work_root, hidden=(path, *hidden), programs=box.level == "bubblewrap")
            for setup in (guard, KERNEL_SETUP):  # recorded: replayed after a restart
                session.run(setup, settings.cell_timeout)
            backend = KernelBackend(session)
            session.phase = "the import check of the given modules"
            supplied = supply_given(backend, submission.workdir)
            counter = iter(range(1, code_cells + 1))
            _, outcomes = execute_notebook(nb, session, settings.cell_timeout, retry=_without_failing_imports,
                                           on_cell=lambda o: say("ran cell %d/%d (%s)" % (next(counter), code_cells, o.status)))
            timings["execute_s"] = time.monotonic() - start - timings["prepare_s"]
            backend.reinstall()
            judge = Judge(backend, settings, seed, public_only=public_only)
            items, skipped = [], []
            for item in settings.items:
                if item.kind == "manual":
                    continue
                if public_only and item.kind == "overfit":
                    skipped.append(item.name)
                    continue
                say("checking %s" % item.name)
                session.phase = item.name
                began = time.monotonic()
                verdict = judge.judge(item)
                verdict.extra["seconds"] = round(time.monotonic() - began, 3)
                items.append((item, verdict))
            session.phase = "the grader's lookup of your functions"
            found = _found(backend, [i for i, _ in items])
            access = list(session.access)
            execution = _execution_summary(outcomes, neutralised, session)
            execution["python2"] = python2
            execution["supplied"] = supplied
            execution["timings"] = {k: round(v, 3) for k, v in timings.items()}
            execution["sandbox"] = box.describe()
            execution["graded"] = {"notebook": str(submission.notebook.relative_to(work_root / "submission")),
                                   "functions": {name: where for name, (where, _) in found.items()}}
        flags = _flags(access, [i for i, _ in items], {k: w for k, (w, _) in found.items()}, nb)
        entries = [score.item_result(i, settings, v, found.get(i.name, (None, None))[1] if v.status != "passed"
                                     else None, flags.get(i.name, ())) for i, v in items]
        rules = _policy(settings, submitted, files, outcomes, access)
        return score.results(submission.id, settings, entries, score.manual_entries(settings, nb), seed=seed,
                             elapsed=time.monotonic() - start, public_only=public_only, execution=execution,
                             skipped=skipped, policy=rules)
    finally:
        shutil.rmtree(work_root, ignore_errors=True)


def _package_files(root):
    """{relative path: source} of a folder's ``cs231n/**/*.py`` files."""
    files = {}
    for path in sorted((Path(root) / "cs231n").rglob("*.py")):
        try:
            files[path.relative_to(root).as_posix()] = path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
    return files


def _policy(settings, submitted, files, outcomes, access):
    """The course rules, against the TA's template or the built-in one of the same form."""
    form = "module" if "cs231n/rnn_layers.py" in files else "notebook"
    template_path = settings.policy_template or student_template(form) / NOTEBOOK
    template = _read_notebook(template_path)
    template_files = _package_files(template_path.parent)
    return policy.evaluate(settings.policy, submitted=submitted, template=template, outcomes=outcomes,
                           files=files, template_files=template_files, access=access)


def _flags(access, items, found, nb):
    """{item name: [what was attempted]} for the items grader-access attempts touched."""
    cells = {i: c.source for i, c in enumerate(nb.cells) if c.cell_type == "code"}
    flags = {}
    for event in access:
        for name in integrity.touched(event, items, found, cells):
            flags.setdefault(name, []).append(integrity.describe(event))
    return flags


def _without_failing_imports(source, outcome):
    """A cell that stopped at an import runs again with its imports guarded."""
    return guard_imports(source) if outcome.ename in IMPORT_ERRORS else None


def _found(backend, items):
    """{item: (where its function was found, its source)} for the report."""
    names = {i.name: (i.backward or i.forward or i.name) for i in items if i.kind in ("layer", "model_loss", "sample")}
    found = backend.request("resolve", 30, names=sorted(set(names.values()))).get("found") or {}
    result = {}
    for item, fn in names.items():
        info = found.get(fn)
        info = info if isinstance(info, dict) else {}  # student code may have garbled the reply
        module, source = info.get("module"), info.get("source")
        where = None if not info else ("notebook" if not isinstance(module, str) or module == "__main__" else
                                       module.replace(".", "/") + ".py")
        result[item] = (where, source if isinstance(source, str) else None)
    return result
