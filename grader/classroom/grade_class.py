"""Grade a whole class: jobs in parallel, a cache that survives crashes, and the batch's files.

``OUT/batch.json`` records the batch's seed, so a rerun after a crash, a Ctrl-C or a
``kill -9`` meets the same hidden inputs and finds in ``OUT/.cache/`` everything already
graded (the key covers the submission's content, the grader's code, the settings and
the seed); only what is missing is graded. Per student: ``OUT/<id>/results.json`` and
``report.html``. For the class: ``gradebook.csv``, ``canvas.csv`` (for Canvas downloads or
with a roster), ``summary.html``, and for manual items ``manual.html`` and ``manual.csv``.
"""
from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path

from . import batch
from ..export import gradebook
from . import manual
from ..io import write_atomic
from ..results import report
from . import runner
from . import summary
from ..errors import UsageError
from ..grade.pipeline import new_seed

CACHE = ".cache"


@dataclass
class Outcome:
    """What a batch run did, for the terminal and the exit status."""
    records: list = field(default_factory=list)
    graded: int = 0
    cached: int = 0
    failed: int = 0
    internal: int = 0
    unrecognised: list = field(default_factory=list)
    interrupted: bool = False
    unplaced: list = field(default_factory=list)  # students missing from the Canvas file


def batch_seed(out: Path, seed=None):
    """The batch's seed: the one given, else the one recorded by an earlier run, else new."""
    if seed is not None:
        return seed
    try:
        return int(json.loads((out / "batch.json").read_text())["seed"])
    except (OSError, ValueError, KeyError, TypeError):
        return new_seed()


def grade_class(jobs, unrecognised, settings, spec, out: Path, *, workers=1, seed=None, force=False,
                public_only=False, timeout=None, roster=None, canvas_id=None, scheduler=None, hidden=(),
                on_record=None):
    """Grade ``jobs`` (from ``batch.expand``) into ``out``; return an Outcome."""
    out.mkdir(parents=True, exist_ok=True)
    seed = batch_seed(out, seed)
    started = time.time()
    outcome = Outcome(unrecognised=[{"path": str(u.path), "reason": u.reason} for u in unrecognised])
    grader = batch.grader_digest()
    base = {"assignment": spec, "reason": settings.reason, "timeout": timeout, "seed": seed, "public_only": public_only,
            "hidden": [str(out), *map(str, hidden)]}
    info = {"seed": seed, "assignment": settings.name, "spec": spec, "title": settings.title, "started": started,
            "unrecognised": outcome.unrecognised,
            "superseded": [{"student": j.identity.id, "files": j.superseded} for j in jobs if j.superseded]}
    write_atomic(out / "batch.json", json.dumps(dict(info, finished=None), indent=1))
    todo = []
    progress = runner.Progress(len(jobs))
    for job in jobs:
        job.key = batch.cache_key(job, settings.raw, seed, public_only, grader)
        cached = None if force else _cached(out, job.key)
        if cached is not None:
            _finish(out, job, cached, outcome, cached=True, progress=progress, on_record=on_record)
        else:
            todo.append((job, dict(base, path=str(job.staged))))

    def done(job, record):
        if record.get("cache"):
            write_atomic(out / CACHE / (job.key + ".json"), json.dumps(record))
        _finish(out, job, record, outcome, cached=False, progress=progress, on_record=on_record)

    limit = _submission_timeout(settings)
    try:
        if scheduler:
            runner.run_dask(scheduler, todo, done, limit)
        else:
            runner.run_local(todo, workers, done, limit)
    except KeyboardInterrupt:
        outcome.interrupted = True
    finally:
        progress.close()
        recorded = {r["student"]["id"] for r in outcome.records}
        for job, _ in todo:  # cached just as the run was interrupted
            record = _cached(out, job.key) if job.identity.id not in recorded else None
            if record is not None:
                _finish(out, job, record, outcome, cached=False, progress=None, on_record=on_record)
        outcome.records.sort(key=lambda r: r["student"]["id"])
        _write_class_files(out, outcome, settings, roster, canvas_id,
                           dict(info, finished=time.time(), elapsed_s=round(time.time() - started, 1),
                                graded=outcome.graded, cached=outcome.cached, failed=outcome.failed,
                                interrupted=outcome.interrupted))
    return outcome


def _submission_timeout(settings):
    """A bound on one submission's whole grading: every cell at its limit would be far
    beyond it, so a worker stuck past it is stopped."""
    timeouts = settings.raw["timeouts"]
    return float(timeouts.get("submission", 1800))


def _cached(out, key):
    try:
        return json.loads((out / CACHE / (key + ".json")).read_text())
    except (OSError, ValueError):
        return None


def _finish(out, job, record, outcome, *, cached, progress, on_record):
    """Write one student's files and count them."""
    student = dict(job.student, superseded=job.superseded)
    if "results" in record:
        results = dict(record["results"], student=student, submission=job.identity.id)
        report.write_reports(results, out)
        label = "%s %g/%g" % (job.identity.id, results["score"], results["automatic_max_score"])
    else:
        results = {"student": student, "error": record["error"]}
        outcome.failed += 1
        outcome.internal += record["error"].startswith("internal error")
        label = "%s FAILED: %s" % (job.identity.id, record["error"][:80])
    outcome.records.append(results)
    outcome.cached += cached
    outcome.graded += not cached
    if progress:
        progress.update(label, failed="error" in results, cached=cached, note="(cached)" if cached else "")
    if on_record:
        on_record(results)


def _write_class_files(out, outcome, settings, roster, canvas_id, info):
    records = outcome.records
    gradebook.write_gradebook(out / "gradebook.csv", records, [i.name for i in settings.items])
    students = [r["student"] for r in records]
    if roster is not None or any(s.get("source") == "canvas" for s in students):
        outcome.unplaced = gradebook.write_canvas_csv(out / "canvas.csv", records, settings.title, canvas_id,
                                                      roster=roster)
    summary.write_summary(out, records, settings.title, info)
    if any(i.kind == "manual" for i in settings.items):
        manual.write_manual_page(out, records)
        manual.write_manual_csv(out / "manual.csv", records)
    info = dict(info, students=[r["student"]["id"] for r in records if "error" not in r],
                failures=[r for r in records if "error" in r])
    write_atomic(out / "batch.json", json.dumps(info, indent=1))


def reload(out: Path):
    """(records, batch info) of an earlier batch in ``out``: the students' results.json
    files as they are now (after a manual merge, say) and the failures batch.json keeps."""
    try:
        info = json.loads((out / "batch.json").read_text())
    except (OSError, ValueError):
        raise UsageError("%s holds no finished batch (no readable batch.json)" % out) from None
    records = list(info.get("failures", []))
    for sid in info.get("students", []):
        try:
            records.append(json.loads((out / sid / "results.json").read_text()))
        except (OSError, ValueError):
            raise UsageError("%s/%s/results.json is missing or unreadable" % (out, sid)) from None
    records.sort(key=lambda r: r["student"]["id"])
    return records, info


def rewrite_class_files(out: Path, settings, roster=None, canvas_id=None):
    """Regenerate the class files of the batch in ``out`` from its students' results."""
    records, info = reload(out)
    outcome = Outcome(records=records, unrecognised=info.get("unrecognised", []))
    _write_class_files(out, outcome, settings, roster, canvas_id, info)
    return outcome
