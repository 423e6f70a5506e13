"""Grade one staged submission in a process of its own: ``python -m grader.classroom.worker SPEC OUT``.

The batch runs one worker per submission, so a crash, a leak or a kill costs only that
submission. SPEC is a JSON file: {"path", "assignment", "timeout", "seed", "public_only",
"hidden"}; OUT receives {"results": ...} or {"error": "one line"}, written atomically.
The worker dies with its parent (Linux), and SIGTERM stops it cleanly (its kernel too).
"""
from __future__ import annotations

import ctypes
import json
import signal
import subprocess
import sys
import tempfile
import zipfile
from io import BytesIO
from pathlib import Path

from .. import assignments
from ..errors import failure
from ..grade.pipeline import grade
from ..io import write_atomic


def _die_with_parent():
    try:
        ctypes.CDLL(None).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):  # not Linux
        pass


def _interrupt(signum, frame):
    raise KeyboardInterrupt


def grade_spec(spec) -> dict:
    """{"results": ...} or {"error": ...} for one job spec; never raises for a bad submission.
    ``cache`` says whether the outcome is the submission's own (not a grader failure)."""
    try:
        settings = assignments.load(spec["assignment"], spec.get("reason", "given with --assignment")).with_timeouts(
            cell=spec.get("timeout"))
        results = grade(spec["path"], settings, seed=spec["seed"], public_only=spec.get("public_only", False),
                        hidden=tuple(spec.get("hidden", ())))
        return {"results": results, "cache": True}
    except Exception as exc:  # an unusable submission, or the grader failed on it: the batch goes on
        failed = failure(exc)
        return {"error": failed.message, "cache": failed.kind == "usage"}


def run_worker(spec, timeout=None, started=None) -> dict:
    """Grade ``spec`` in a worker process of its own; its record, or an error record.
    ``started(process)`` lets the caller stop it (Ctrl-C)."""
    with tempfile.TemporaryDirectory(prefix="grade-job-") as tmp:
        spec_path, out_path = Path(tmp) / "spec.json", Path(tmp) / "record.json"
        spec_path.write_text(json.dumps(spec))
        process = subprocess.Popen([sys.executable, "-m", "grader.classroom.worker", str(spec_path), str(out_path)],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if started:
            started(process)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            stop(process)
            return {"error": "grading took longer than %d s and was stopped" % timeout, "cache": False}
        if not out_path.exists():
            return {"error": "internal error: the grading process ended without a result", "cache": False}
        return json.loads(out_path.read_text())


def stop(process, grace=15):
    """SIGTERM (the worker then closes its kernel), SIGKILL after ``grace`` seconds."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def grade_shipped(spec, blob: bytes, timeout=None) -> dict:
    """Grade a submission sent as zip bytes, in a worker process (a Dask task)."""
    with tempfile.TemporaryDirectory(prefix="grade-shipped-") as tmp:
        with zipfile.ZipFile(BytesIO(blob)) as archive:
            archive.extractall(tmp)
        return run_worker(dict(spec, path=tmp, hidden=()), timeout)


def main(argv=None):
    spec_path, out_path = (argv or sys.argv[1:])[:2]
    _die_with_parent()
    signal.signal(signal.SIGTERM, _interrupt)
    spec = json.loads(Path(spec_path).read_text())
    try:
        record = grade_spec(spec)
    except KeyboardInterrupt:
        sys.exit(130)
    write_atomic(Path(out_path), json.dumps(record))


if __name__ == "__main__":
    main()
