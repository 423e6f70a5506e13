"""One submission from start to finish: find → execute → probe/check → score → report."""
from __future__ import annotations

import secrets
import shutil
import tempfile
import time
from pathlib import Path

import nbformat

from reference.coco_small import write_small_coco

from . import find as finder
from . import score
from .errors import UsageError
from .execute import KernelSession, execute_notebook
from .given import supply_given
from .judge import Judge
from .probe import KernelBackend
from .py2 import convert_submission
from .guard import KERNEL_GUARD
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


def grade(path, settings, *, seed=None, public_only=False, progress=None):
    """Grade the submission at ``path``; return the results.json dict."""
    say = progress or (lambda message: None)
    seed = new_seed() if seed is None else seed
    start = time.monotonic()
    work_root = Path(tempfile.mkdtemp(prefix="grade-"))
    try:
        submission = finder.find(path, work_root)
        nb = _read_notebook(submission.notebook)
        neutralised = neutralise(nb)
        python2 = convert_submission(nb, submission.workdir, enabled=settings.convert_python2)
        write_small_coco(submission.workdir / DATA_DIR)
        code_cells = sum(1 for c in nb.cells if c.cell_type == "code" and c.source.strip())
        timings = {"prepare_s": time.monotonic() - start}
        with KernelSession(submission.workdir, home=work_root / "home") as session:
            for setup in (KERNEL_GUARD, KERNEL_SETUP):  # recorded: replayed after a restart
                session.run(setup, settings.cell_timeout)
            backend = KernelBackend(session)
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
                began = time.monotonic()
                verdict = judge.judge(item)
                verdict.extra["seconds"] = round(time.monotonic() - began, 3)
                items.append((item, verdict))
            found = _found(backend, [i for i, _ in items])
            execution = _execution_summary(outcomes, neutralised, session)
            execution["python2"] = python2
            execution["supplied"] = supplied
            execution["timings"] = {k: round(v, 3) for k, v in timings.items()}
            execution["graded"] = {"notebook": str(submission.notebook.relative_to(work_root / "submission")),
                                   "functions": {name: where for name, (where, _) in found.items()}}
        entries = [score.item_result(i, settings, v, found.get(i.name, (None, None))[1] if v.status != "passed"
                                     else None) for i, v in items]
        return score.results(submission.id, settings, entries, score.manual_entries(settings, nb), seed=seed,
                             elapsed=time.monotonic() - start, public_only=public_only, execution=execution,
                             skipped=skipped)
    finally:
        shutil.rmtree(work_root, ignore_errors=True)


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
