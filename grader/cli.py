"""The `grade` command: thin argument parsing over ``pipeline.grade`` and ``report``."""
from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

from . import assignments
from .classroom import batch
from .classroom import grade_class as classroom
from .export import gradebook
from .export import gradescope
from .kit.build import build_kit
from .classroom import manual
from .results import report
from .sandbox import isolation as sandbox
from .errors import UsageError, failure
from .resources import grader_path
from .grade.find import check_notebook
from .grade.pipeline import grade

DEMO = grader_path("demo", "demo.ipynb")


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        raise UsageError(message)


def _parser():
    p = _Parser(prog="grade", description="Grade CS231n 'Image Captioning with RNNs' notebooks.")
    p.add_argument("submissions", nargs="*", metavar="SUBMISSION",
                   help="a notebook (.ipynb), a folder holding one with its cs231n/ package, or a .zip")
    p.add_argument("--assignment", help="built-in assignment name(s), comma-separated, or a TOML file (default:"
                                        " recognised from the notebook; see --list-assignments)")
    p.add_argument("--list-assignments", action="store_true", help="list the built-in assignments, and exit")
    p.add_argument("--out", default="reports", help="output folder (default: reports/)")
    p.add_argument("--json", action="store_true", help="print one results object per submission per line")
    p.add_argument("--public-only", action="store_true",
                   help="student pre-check: the notebook's public checks only, no training")
    p.add_argument("--timeout", type=float, help="seconds per notebook cell (default from the assignment)")
    p.add_argument("--seed", type=int, help="seed of the hidden inputs (default: random, recorded)")
    p.add_argument("--demo", action="store_true", help="grade the bundled example submission")
    p.add_argument("--check-sandbox", action="store_true",
                   help="say what isolation this machine gives student code, and exit")
    batch_group = p.add_argument_group("a class at once (a folder or zip of many submissions, an LMS download)")
    batch_group.add_argument("--jobs", type=int, default=os.cpu_count() or 1,
                             help="submissions graded at once (default: the number of cores)")
    batch_group.add_argument("--force", action="store_true", help="regrade what an earlier run already graded")
    batch_group.add_argument("--roster", help="a Canvas gradebook export (CSV) that fills names, SIS ids, sections")
    batch_group.add_argument("--canvas-assignment-id", help="the Canvas assignment id, for canvas.csv's column")
    batch_group.add_argument("--scheduler", metavar="tcp://HOST:PORT", help="grade on this Dask cluster")
    batch_group.add_argument("--merge-manual", metavar="FILE.csv",
                             help="fold the TA's points for manual items into the batch in --out, and exit")
    p.add_argument("--gradescope-autograder", metavar="OUT.zip",
                   help="write a Gradescope autograder zip for --assignment, and exit")
    p.add_argument("--student-kit", metavar="DIR",
                   help="write DIR/<assignment>_check, the public checks without the solution, and exit")
    return p


def _check_writable(out: Path):
    """Fail early, creating nothing, if reports could not be written under ``out``."""
    existing = out.absolute()
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir() or not os.access(existing, os.W_OK | os.X_OK):
        raise UsageError("cannot write reports to %s: %s is not a writable folder" % (out, existing))


def _progress(message):
    if sys.stderr.isatty():
        sys.stderr.write("\r\033[K" + message)
        sys.stderr.flush()


def run(argv=None) -> int:
    args = _parser().parse_args(argv)
    if args.list_assignments:
        print("\n".join(assignments.listing()))
        return 0
    if args.check_sandbox:
        print("\n".join(sandbox.machine_report(assignments.load(args.assignment or "rnn").raw.get("sandbox"))))
        return 0
    if args.merge_manual:
        return _merge_manual(args)
    if args.gradescope_autograder:
        try:
            path = gradescope.build_autograder(args.gradescope_autograder, args.assignment or "rnn")
        except OSError as exc:
            raise UsageError("cannot write %s: %s" % (args.gradescope_autograder, exc.strerror or exc)) from None
        print("wrote %s: upload it on Gradescope's Configure Autograder page (Ubuntu 22.04 base image)" % path)
        return 0
    if args.student_kit:
        return _student_kit(args)
    if args.demo:
        args.submissions = [str(DEMO)]
    if not args.submissions:
        raise UsageError("give a submission to grade (or --demo)")
    if args.timeout is not None and args.timeout <= 0:
        raise UsageError("--timeout must be a positive number of seconds")
    if args.jobs < 1:
        raise UsageError("--jobs must be at least 1")
    for path in args.submissions:
        if not Path(path).exists():
            raise UsageError("%s: no such file or folder" % path)
    _check_writable(Path(args.out))
    roster = _roster(args.roster)
    staging = Path(tempfile.mkdtemp(prefix="grade-inputs-"))  # unpacked inputs, staged submissions
    try:
        jobs, unrecognised, is_batch = batch.expand(args.submissions, staging)
        if is_batch or len(jobs) > 1:
            return _grade_class(args, _class_settings(args, jobs), jobs, unrecognised, roster)
        for settings in _settings_for(args, jobs[0].staged):
            _grade_one(args, settings, jobs[0].staged)
        return 0
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _settings_for(args, path):
    """The assignments ``path`` is graded with: those named by --assignment, or the one its
    notebook shows it is."""
    if args.assignment:
        names = args.assignment.split(",") if not args.assignment.endswith(".toml") else [args.assignment]
        return [assignments.load(name).with_timeouts(cell=args.timeout).check_requirements() for name in names]
    if Path(path).suffix.lower() == ".ipynb":
        check_notebook(Path(path))  # a broken file says so before any version is guessed
    name, why = assignments.detect_for(path)
    return [assignments.load(name, reason="recognised: " + why).with_timeouts(cell=args.timeout).check_requirements()]


def _class_settings(args, jobs):
    """One assignment for a whole class: --assignment, or the one its submissions show."""
    if args.assignment and "," in args.assignment:
        raise UsageError("a class is graded with one assignment at a time: run grade once per assignment")
    if args.assignment:
        return assignments.load(args.assignment).with_timeouts(cell=args.timeout).check_requirements()
    name, why = assignments.detect_class([job.staged for job in jobs])
    return assignments.load(name, reason="recognised: " + why).with_timeouts(cell=args.timeout).check_requirements()


def _roster(path):
    if path is None:
        return None
    try:
        return gradebook.read_roster(path)
    except (OSError, ValueError, KeyError) as exc:
        raise UsageError("cannot read the roster %s: %s" % (path, exc)) from None


def _grade_one(args, settings, path):
    results = grade(path, settings, seed=args.seed, public_only=args.public_only, progress=_progress,
                    hidden=(args.out,))
    if args.assignment and len(args.assignment.split(",")) > 1 and not args.assignment.endswith(".toml"):
        results["submission"] += "-" + settings.name  # one result per notebook, side by side
    try:
        folder = report.write_reports(results, Path(args.out))
    except OSError as exc:
        raise UsageError("cannot write reports to %s: %s" % (args.out, exc.strerror or exc)) from None
    if sys.stderr.isatty():
        sys.stderr.write("\r\033[K")
    if args.json:
        print(json.dumps(results), flush=True)
        print(report.summary(results, folder / "report.html"), file=sys.stderr)
    else:
        print(report.summary(results, folder / "report.html"), flush=True)


def _grade_class(args, settings, jobs, unrecognised, roster) -> int:
    out = Path(args.out)
    print("grading %d submissions with %s (%s)%s" % (
        len(jobs), args.scheduler or "%d jobs" % args.jobs, settings.title,
        "; %d files not recognised (listed in summary.html)" % len(unrecognised) if unrecognised else ""),
        file=sys.stderr)
    echo = (lambda record: print(json.dumps(record), flush=True)) if args.json else None
    outcome = classroom.grade_class(
        jobs, unrecognised, settings, args.assignment or settings.name, out, workers=args.jobs, seed=args.seed,
        force=args.force, public_only=args.public_only, timeout=args.timeout, roster=roster,
        canvas_id=args.canvas_assignment_id, scheduler=args.scheduler, hidden=args.submissions,
        on_record=echo)
    text = sys.stderr if args.json else sys.stdout
    print("graded %d, reused %d from an earlier run, %d could not be graded; %d files not recognised" % (
        outcome.graded, outcome.cached, outcome.failed, len(outcome.unrecognised)), file=text)
    if outcome.unplaced:
        print("not in canvas.csv (no Canvas id; give --roster): %s" % ", ".join(outcome.unplaced), file=text)
    print("gradebook: %s\nsummary: %s" % (out / "gradebook.csv", out / "summary.html"), file=text)
    if outcome.interrupted:
        print("grade: interrupted; what finished is kept: run the same command again to grade the rest",
              file=sys.stderr)
        return 130
    return 1 if outcome.internal else 0


def _student_kit(args) -> int:
    if args.assignment and "," in args.assignment:
        raise UsageError("a student kit is for one assignment: run grade --student-kit once per assignment")
    try:
        path = build_kit(args.student_kit, args.assignment or "rnn")
    except OSError as exc:
        raise UsageError("cannot write %s: %s" % (args.student_kit, exc.strerror or exc)) from None
    print("wrote %s: students put it next to their notebook (see its README.md)" % path)
    return 0


def _merge_manual(args) -> int:
    out = Path(args.out)
    updated = manual.merge_manual(out, args.merge_manual)
    _, info = classroom.reload(out)
    settings = assignments.load(info.get("spec") or args.assignment or "rnn")
    classroom.rewrite_class_files(out, settings, _roster(args.roster), args.canvas_assignment_id)
    print("merged manual points for %d students into %s" % (len(updated), out))
    return 0


def main(argv=None):
    try:
        sys.exit(run(argv))
    except Exception as exc:  # bad input (exit 2) or the grader's own failure (exit 1): one line either way
        failed = failure(exc)
        if sys.stderr.isatty():
            sys.stderr.write("\r\033[K")  # over the progress line
        print("grade: %s%s" % ("error: " if failed.kind == "usage" else "", failed.message), file=sys.stderr)
        sys.exit(failed.exit_status)
    except KeyboardInterrupt:
        print("grade: interrupted", file=sys.stderr)
        sys.exit(130)
