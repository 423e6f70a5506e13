"""The `grade` command: thin argument parsing over ``pipeline.grade`` and ``report``."""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from . import assignment, report, sandbox
from .errors import UsageError
from .pipeline import grade

DEMO = Path(__file__).resolve().parent / "demo" / "demo.ipynb"


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        raise UsageError(message)


def _parser():
    p = _Parser(prog="grade", description="Grade CS231n 'Image Captioning with RNNs' notebooks.")
    p.add_argument("submissions", nargs="*", metavar="SUBMISSION",
                   help="a notebook (.ipynb), a folder holding one with its cs231n/ package, or a .zip")
    p.add_argument("--assignment", default="rnn", help="built-in assignment name or a TOML file (default: rnn)")
    p.add_argument("--out", default="reports", help="output folder (default: reports/)")
    p.add_argument("--json", action="store_true", help="print one results object per submission per line")
    p.add_argument("--public-only", action="store_true",
                   help="student pre-check: the notebook's public checks only, no training")
    p.add_argument("--timeout", type=float, help="seconds per notebook cell (default from the assignment)")
    p.add_argument("--seed", type=int, help="seed of the hidden inputs (default: random, recorded)")
    p.add_argument("--demo", action="store_true", help="grade the bundled example submission")
    p.add_argument("--check-sandbox", action="store_true",
                   help="say what isolation this machine gives student code, and exit")
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
    if args.check_sandbox:
        print("\n".join(sandbox.machine_report(assignment.load(args.assignment).raw.get("sandbox"))))
        return 0
    if args.demo:
        args.submissions = [str(DEMO)]
    if not args.submissions:
        raise UsageError("give a submission to grade (or --demo)")
    if args.timeout is not None and args.timeout <= 0:
        raise UsageError("--timeout must be a positive number of seconds")
    settings = assignment.load(args.assignment).with_timeouts(cell=args.timeout)
    for path in args.submissions:
        if not Path(path).exists():
            raise UsageError("%s: no such file or folder" % path)
    _check_writable(Path(args.out))
    status = 0
    for path in args.submissions:
        try:
            results = grade(path, settings, seed=args.seed, public_only=args.public_only, progress=_progress,
                            hidden=(args.out,))
        except UsageError:
            raise
        except Exception as exc:  # the grader failed on this submission; go on with the rest
            print("grade: internal error on %s: %s: %s" % (path, type(exc).__name__, exc), file=sys.stderr)
            status = 1
            continue
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
    return status


def main(argv=None):
    try:
        sys.exit(run(argv))
    except UsageError as exc:
        print("grade: error: %s" % exc, file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt:
        print("grade: interrupted", file=sys.stderr)
        sys.exit(130)
