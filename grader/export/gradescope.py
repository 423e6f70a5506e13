"""Gradescope: its results.json from ours, the autograder zip, and the entry point the zip runs.

Gradescope's contract (https://gradescope-autograders.readthedocs.io/en/latest/specs/): the zip
holds ``setup.sh`` (run once, as root, when the image is built) and ``run_autograder`` (run for
every submission) at its root and is unpacked into ``/autograder/source``; the submission is in
``/autograder/submission``; ``/autograder/results/results.json`` is what Gradescope reads.
"""
from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
import traceback
import zipfile
from importlib import metadata
from pathlib import Path

from .. import __version__
from ..io import atomic_file, write_atomic
from ..resources import package_dirs
from ..results.report import render_html
from ..vocabulary import Status, consequence
from ..assignments import load as load_assignment
from ..errors import UsageError, failure
from ..grade.pipeline import grade

NOT_PACKED = {"__pycache__"}
DISTRIBUTION = "cs231n-rnn-grader"
ZIP_TIME = (1980, 1, 1, 0, 0, 0)  # fixed: the same project gives the same zip
MAX_CHECKS = 5

SETUP_SH = """#!/usr/bin/env bash
# Gradescope runs this once, as root, when it builds the autograder image (Ubuntu 22.04 base image).
set -euo pipefail
ROOT="${AUTOGRADER_ROOT:-/autograder}"
export DEBIAN_FRONTEND=noninteractive
apt-get update
apt-get install -y --no-install-recommends python3 python3-pip python3-venv bubblewrap
python3 -c 'import sys; sys.exit(sys.version_info < (3, 10))' \\
    || { echo "the grader needs Python >= 3.10: choose the Ubuntu 22.04 base image" >&2; exit 1; }
python3 -m venv "$ROOT/venv"
"$ROOT/venv/bin/pip" install --upgrade pip
# A regular install of the grader the zip carries (its packages and a generated pyproject.toml).
"$ROOT/venv/bin/pip" install "$ROOT/source/grader_src"
"""

RUN_AUTOGRADER = """#!/usr/bin/env bash
# Gradescope runs this for every submission: grade it, write results/results.json.
ROOT="${AUTOGRADER_ROOT:-/autograder}"
SOURCE="$ROOT/source"
RESULTS="$ROOT/results/results.json"
PYTHON="${GRADER_PYTHON:-$ROOT/venv/bin/python}"
mkdir -p "$ROOT/results"
rm -f "$RESULTS"
"$PYTHON" -m grader.export.gradescope run "$ROOT/submission" "$RESULTS" --assignment %(assignment)s
if [ ! -s "$RESULTS" ]; then  # Python itself failed: still give the student a result
    cat > "$RESULTS" <<'JSON'
{"score": 0, "tests": [],
 "output": "The autograder failed before grading your submission; the course staff can see why."}
JSON
fi
"""


# ---- results.json -> Gradescope's results.json ------------------------------------------

def to_gradescope(results) -> dict:
    """Gradescope's results.json for one of ours, or for ``{"error": message}``.

    One test per automatic item; a test with a negative score per course rule that took
    points off (so the tests add up to ``score``); one test per manual item with no score,
    left to the TA's rubric. Rule warnings and notebook cells that raised go in ``output``.
    """
    if "error" in results:
        return {"score": 0.0, "output": "The autograder could not grade this submission:\n%s" % results["error"],
                "visibility": "visible", "stdout_visibility": "hidden", "tests": []}
    tests = [_item_test(item) for item in results["items"]]
    tests += _deduction_tests(results["policy"], results.get("policy_deduction", 0.0))
    tests += [_manual_test(m) for m in results["manual"]]
    return {"score": results["score"], "execution_time": round(results["elapsed_s"]),
            "output": _overview(results), "visibility": "visible", "stdout_visibility": "hidden",
            "extra_data": {"seed": results["seed"], "grader_version": results["grader_version"]},
            "tests": tests}


def _item_test(item):
    return {"name": item["name"], "score": item["score"], "max_score": item["max_score"],
            "status": "passed" if item["status"] == "passed" else "failed",
            "output": _item_output(item), "visibility": "visible"}


def _item_output(item):
    """What a student reads under the test: the problem, the failed checks, the hint, notes."""
    lines = [Status(item["status"]).headline + "."]
    if item["status"] != "passed":
        if item.get("message"):
            lines.append(item["message"].strip()[-2000:])
        failed = [c for c in item["checks"] if not c["passed"]]
        lines += ["- %s: %s" % (c["name"], c["message"]) for c in failed[:MAX_CHECKS]]
        if len(failed) > MAX_CHECKS:
            lines.append("- and %d more failed checks" % (len(failed) - MAX_CHECKS))
        if item.get("hint"):
            lines.append("Hint: " + item["hint"])
    return "\n".join(lines + ["Note: " + n for n in item.get("notes") or []])


def _deduction_tests(rules, deduction):
    """A negative test per failed "zero" or penalty rule; together they take off ``deduction``
    (a penalty never takes the score below 0, a "zero" takes whatever is left)."""
    tests, left = [], deduction
    for rule in rules:
        if rule["passed"] or rule["action"] not in ("zero", "penalty"):
            continue
        taken = left if rule["action"] == "zero" else min(rule["deduction"], left)
        left -= taken
        tests.append({"name": "course rule: %s" % rule["rule"], "score": -round(taken, 6), "max_score": 0.0,
                      "status": "failed", "output": rule["message"], "visibility": "visible"})
    return tests


def _manual_test(entry):
    answer = entry["answer"].strip() or "(no answer found in your notebook)"
    return {"name": entry["name"], "max_score": entry["max_score"],
            "output": "Graded by hand by the course staff. Your answer:\n\n" + answer, "visibility": "visible"}


def _overview(results):
    """The top-level output: score, broken course rules, what went wrong running the notebook."""
    manual = sum(m["max_score"] for m in results["manual"])
    lines = ["Automatic score: %g / %g%s. Seed of the hidden inputs: %d." % (
        results["score"], results["automatic_max_score"],
        " (+ %g points graded by hand)" % manual if manual else "", results["seed"])]
    for rule in results["policy"]:
        if not rule["passed"]:
            lines.append("Course rule %s broken (%s): %s" % (rule["rule"], consequence(rule), rule["message"]))
    execution = results["execution"]
    failed = [c for c in execution.get("cells", []) if c["status"] != "ok"]
    if failed:
        lines.append("%d notebook cell(s) raised or timed out:" % len(failed))
        lines += ["- cell %d: %s" % (c["index"], _cell_problem(c)) for c in failed]
    if execution.get("supplied"):
        lines.append("Given files supplied by the grader (yours were missing or did not import): %s"
                     % ", ".join(execution["supplied"]))
    converted = (execution.get("python2") or {}).get("converted")
    if converted:
        lines.append("Converted from Python 2 before running: %s" % ", ".join(converted))
    return "\n".join(lines)


def _cell_problem(cell):
    first = (cell["evalue"] or "").strip().splitlines()[:1]
    return ": ".join([cell["ename"] or cell["status"]] + first)


# ---- the autograder zip ---------------------------------------------------------------

def build_autograder(zip_path, assignment="rnn") -> Path:
    """Write Gradescope's autograder zip for ``assignment`` (a built-in name, or a TOML file,
    which is packed with it) to ``zip_path``, atomically; UsageError on a bad assignment."""
    settings = load_assignment(assignment)  # refuse a bad assignment now, not on Gradescope
    entries = {"setup.sh": (SETUP_SH.encode(), 0o755)}
    if assignment.endswith(".toml") or Path(assignment).exists():
        entries.update(_packed_toml(Path(assignment), settings.policy_template))
        spec = '"$SOURCE"/assignment/' + shlex.quote(Path(assignment).name)
    else:
        spec = shlex.quote(assignment)
    entries["run_autograder"] = ((RUN_AUTOGRADER % {"assignment": spec}).encode(), 0o755)
    for name, folder in package_dirs().items():
        entries.update(_tree(folder, "grader_src/" + name))
    entries["grader_src/pyproject.toml"] = (_pyproject().encode(), 0o644)
    zip_path = Path(zip_path)
    with atomic_file(zip_path, "wb") as f, zipfile.ZipFile(f, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, (data, mode) in sorted(entries.items()):
            info = zipfile.ZipInfo(name, ZIP_TIME)
            info.create_system = 3  # Unix, so unzip applies the permission bits
            info.external_attr = (0o100000 | mode) << 16
            zf.writestr(info, data, zipfile.ZIP_DEFLATED)
    return zip_path


def _pyproject():
    """A pyproject.toml that installs the packed packages with this grader's dependencies."""
    try:
        version, requires = metadata.version(DISTRIBUTION), metadata.requires(DISTRIBUTION) or []
    except metadata.PackageNotFoundError:  # running from a checkout that was never installed
        version, requires = __version__, []
    dependencies = [r for r in requires if "extra ==" not in r]
    return "\n".join([
        "[build-system]", 'requires = ["setuptools>=64"]', 'build-backend = "setuptools.build_meta"', "",
        "[project]", "name = %s" % json.dumps(DISTRIBUTION), "version = %s" % json.dumps(version),
        'requires-python = ">=3.10"', "dependencies = %s" % json.dumps(dependencies), "",
        "[project.scripts]", 'grade = "grader.cli:main"', "",
        "[tool.setuptools.packages.find]", 'include = ["grader*", "reference*", "student_template*"]', "",
        "[tool.setuptools.package-data]", '"*" = ["*.j2", "*.toml", "*.json", "*.ipynb", "*.md"]', ""])


def _tree(path, name):
    """{zip name: (bytes, mode)} of a file or a folder, without caches, tests and reports."""
    if path.is_file():
        return {name: (path.read_bytes(), 0o755 if os.access(path, os.X_OK) else 0o644)}
    files = {}
    for child in sorted(path.iterdir()):
        if child.name not in NOT_PACKED and child.suffix != ".pyc":
            files.update(_tree(child, "%s/%s" % (name, child.name)))
    return files


def _packed_toml(toml, template):
    """The TA's TOML under assignment/, with its policy template (and that template's cs231n/)
    at the same relative place, so the TOML's relative path still resolves."""
    entries = {"assignment/" + toml.name: (toml.read_bytes(), 0o644)}
    if template:
        relative = Path(os.path.relpath(template, toml.resolve().parent))
        if relative.parts[0] == "..":
            raise UsageError("%s: policy.template must be inside the TOML's folder to be packed for Gradescope"
                             % toml)
        entries.update(_tree(template, "assignment/" + relative.as_posix()))
        package = template.parent / "cs231n"
        if package.is_dir():
            entries.update(_tree(package, (Path("assignment") / relative.parent / "cs231n").as_posix()))
    return entries


# ---- what run_autograder calls --------------------------------------------------------

class _Parser(argparse.ArgumentParser):
    def error(self, message):
        raise UsageError(message)


def _parser():
    p = _Parser(prog="python -m grader.export.gradescope", description="Grade one submission the Gradescope way.")
    sub = p.add_subparsers(dest="command", required=True)
    command = sub.add_parser("run", help="grade SUBMISSION and write Gradescope's results.json to RESULTS")
    command.add_argument("submission")
    command.add_argument("results")
    command.add_argument("--assignment", default="rnn", help="built-in assignment name or a TOML file")
    return p


def run(submission, results_path, assignment="rnn"):
    """Grade ``submission`` and write Gradescope's results.json at ``results_path``; ours and
    report.html go to ``grader/`` beside it. Any failure becomes a results.json with score 0."""
    results_path = Path(results_path)
    results_path.parent.mkdir(parents=True, exist_ok=True)
    try:
        results = grade(submission, load_assignment(assignment), hidden=(results_path.parent,))
        gradescope = to_gradescope(results)
    except Exception as exc:  # the student still gets a result; the staff a traceback if the grader failed
        failed = failure(exc)
        if failed.kind == "internal":
            traceback.print_exc()
        results, gradescope = None, to_gradescope({"error": failed.message})
    write_atomic(results_path, json.dumps(gradescope, indent=1))
    print(gradescope["output"])
    if results is not None:
        try:  # for the staff only: Gradescope's results.json is already written
            write_atomic(results_path.parent / "grader" / "results.json", json.dumps(results, indent=1))
            write_atomic(results_path.parent / "grader" / "report.html", render_html(results))
        except Exception:
            traceback.print_exc()


def main(argv=None):
    try:
        args = _parser().parse_args(argv)
    except UsageError as exc:  # run_autograder always passes valid arguments; no place to write a result
        failed = failure(exc)
        print("grader.export.gradescope: error: %s" % failed.message, file=sys.stderr)
        return failed.exit_status
    run(args.submission, args.results, args.assignment)
    return 0


if __name__ == "__main__":
    sys.exit(main())
