"""Hostile notebooks (issue 5): each case of tests/hostile_cases.py is graded for real, and
must cost only its own items, leave no process behind, change no file outside the work
folder and leak none of the TA's secrets.

Every graded case runs under the machine's default isolation (bubblewrap where it works);
the cases marked for it run again under the rlimits fallback, and those that need bubblewrap
run only there (skipped, with bwrap's reason, where it cannot work). Settings are
tests/hostile.toml's (short timeouts, no overfitting item), written to a TOML per test.
"""
from __future__ import annotations

import html
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat
import pytest

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

import grader
import reference
from e2e import build, failing, item, statuses
from files import changes, snapshot
from grader import assignments
from grader.errors import UsageError
from grader.grade.execute import KernelSession, kill_marked, marked_processes
from grader.grade.pipeline import grade
from grader.results.report import render_html
from grader.sandbox.isolation import bubblewrap_status
from grader.vocabulary import Status
from hostile_cases import CASES
from notebooks import GRADED, NOTEBOOK_NAME, TEMPLATE_DIR

TESTS = Path(__file__).resolve().parent
REPO = TESTS.parent
HOSTILE_TOML = TESTS / "hostile.toml"
GRADER_DIR = Path(grader.__file__).resolve().parent
REFERENCE_DIR = Path(reference.__file__).resolve().parent
DEFAULT_LEVEL = "bubblewrap" if bubblewrap_status()[0] else "rlimits"
SEED = 5
SETTLE_S = 2.0  # processes of a session must be gone this long after grade() returned
MAX_RESULTS_BYTES = 5 * 2**20
TAG = "# hostile"

# A child process that grades one submission with the secret in its initial environment
# (what /proc/<pid>/environ shows), records the sessions' markers and its own peak memory.
CHILD = r'''
import json, resource, sys, time, traceback
from grader import assignments
from grader.grade.execute import KernelSession
from grader.grade.pipeline import grade
markers = []
original = KernelSession.__init__
def recording(session, *args, **kwargs):
    original(session, *args, **kwargs)
    markers.append(session.marker)
KernelSession.__init__ = recording
path, settings, seed, hidden, out = sys.argv[1:6]
began = time.monotonic()
try:
    results, error = grade(path, assignments.load(settings), seed=int(seed), hidden=(hidden,)), None
except BaseException as exc:
    results, error = None, traceback.format_exc()
with open(out, "w") as f:
    json.dump({"results": results, "error": error, "markers": markers, "seconds": time.monotonic() - began,
               "maxrss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}, f)
'''


def write_settings(folder, isolation, timeouts=None):
    """tests/hostile.toml's settings, with other timeouts and an isolation level if asked."""
    raw = tomllib.loads(HOSTILE_TOML.read_text())
    times = dict(raw["timeouts"], **(timeouts or {}))
    lines = ['extends = "rnn"', "[timeouts]"] + ["%s = %s" % kv for kv in times.items()]
    lines += ["[items.overfit_small_data]", "enabled = false"]
    if isolation != "default":
        lines += ["[sandbox]", 'isolation = "%s"' % isolation]
    path = Path(folder) / ("settings-%s.toml" % isolation)
    path.write_text("\n".join(lines) + "\n")
    return path


def source_files(folder):
    return {p.relative_to(folder).as_posix() for p in folder.rglob("*")
            if p.is_file() and "__pycache__" not in p.parts}


def _outside_root():
    """Where the fake TA HOME and report folder live: outside /tmp (hidden anyway) when possible,
    so that hiding them is the sandbox's doing."""
    for folder in ("/var/tmp", tempfile.gettempdir()):
        if os.path.isdir(folder) and os.access(folder, os.W_OK):
            return folder
    return None


def _token_processes(token):
    """{pid: command line} of the processes whose command line holds ``token``."""
    found, needle = {}, token.encode()
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if needle in cmdline and int(entry.name) != os.getpid():
            found[int(entry.name)] = cmdline
    return found


class Arena:
    """What surrounds one graded case: a secret in the grader's environment, a fake TA HOME
    with secrets in it, a report folder with a previous report, a TCP port listening on
    127.0.0.1, and a record of every kernel session's marker."""

    def __init__(self, tmp_path, monkeypatch, request):
        self.tmp = tmp_path
        self.request = request
        self.secret = "cs231n-env-secret-" + secrets.token_hex(8)
        self.file_secret = "cs231n-file-secret-" + secrets.token_hex(8)
        self.token = str(7_000_000 + secrets.randbelow(1_000_000))
        self.outside = Path(tempfile.mkdtemp(prefix="hostile-", dir=_outside_root()))
        self.ta_home, self.out_dir = self.outside / "ta_home", self.outside / "reports"
        (self.ta_home / "grades").mkdir(parents=True)
        (self.ta_home / "secret.txt").write_text(self.file_secret + "\n")
        (self.ta_home / "grades" / "grades.csv").write_text("student,score\njdoe,42\n")
        (self.out_dir / "previous").mkdir(parents=True)
        (self.out_dir / "previous" / "results.json").write_text('{"score": 42}\n')
        monkeypatch.setenv("CS231N_TEST_SECRET", self.secret)
        monkeypatch.setenv("HOME", str(self.ta_home))
        self.markers = []
        original = KernelSession.__init__

        def recording(session, *args, **kwargs):
            original(session, *args, **kwargs)
            self.markers.append(session.marker)
        monkeypatch.setattr(KernelSession, "__init__", recording)
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(8)
        self.listener.setblocking(False)

    def close(self):
        self.listener.close()
        shutil.rmtree(self.outside, ignore_errors=True)

    # ---------------------------------------------------------------- building
    def fill(self, source):
        for key, value in {"@TA_HOME@": self.ta_home, "@OUT_DIR@": self.out_dir, "@GRADER_DIR@": GRADER_DIR,
                           "@REFERENCE_DIR@": REFERENCE_DIR, "@REFERENCE_FILE@": REFERENCE_DIR / "rnn_layers.py",
                           "@PORT@": self.listener.getsockname()[1], "@TOKEN@": self.token}.items():
            source = source.replace(key, str(value))
        return source

    def settings(self, isolation, timeouts=None):
        return write_settings(self.tmp, isolation, timeouts)

    # ---------------------------------------------------------------- grading
    def grade(self, path, settings_path, in_child=False, guard_grader=False):
        """Grade ``path`` (in-process, or in a child process); return (results, child info).
        Whatever happens, then check that no process is left and no file outside changed.
        ``guard_grader``: the case aims at the grader's folders; they are copied first, and
        whatever it deleted is put back before the test fails."""
        watched = {"TA HOME": self.ta_home, "report folder": self.out_dir, "submission": Path(path).parent}
        before = {name: snapshot(folder, name == "TA HOME") for name, folder in watched.items()}
        grader_files = {d: source_files(d) for d in (GRADER_DIR, REFERENCE_DIR)} if guard_grader else {}
        backup = self.tmp / "backup"
        for folder in grader_files:
            shutil.copytree(folder, backup / folder.name, ignore=shutil.ignore_patterns("__pycache__"))
        child, error = None, None
        try:
            if in_child:
                child = self._grade_in_child(path, settings_path)
                results, error = child["results"], child["error"]
            else:
                try:
                    results = grade(path, assignments.load(str(settings_path)), seed=SEED, hidden=(self.out_dir,))
                except UsageError:  # a clear refusal: the caller expects it
                    raise
                except Exception as exc:  # reported below, after the cleanup checks
                    results, error = None, "%s: %s" % (type(exc).__name__, exc)
        finally:
            left = self._leftovers()
            lost = {d: files - source_files(d) for d, files in grader_files.items()}
            for folder, missing in lost.items():  # never leave the repository without its grader
                for name in missing:
                    (folder / name).parent.mkdir(parents=True, exist_ok=True)
                    shutil.copy2(backup / folder.name / name, folder / name)
            lost = sorted(str(folder / name) for folder, missing in lost.items() for name in missing)
        assert not left, "processes of the submission were left behind: %s" % left
        assert not lost, "files of the grader were deleted (restored from a copy): %s" % lost
        changed = {name: changes(before[name], snapshot(folder, name == "TA HOME"))
                   for name, folder in watched.items()}
        changed = {name: diff for name, diff in changed.items() if diff}
        assert not changed, "files outside the work folder changed: %s" % changed
        assert error is None, "grade() did not return results:\n%s" % error
        return results, child

    def _grade_in_child(self, path, settings_path):
        out = self.tmp / "child-results.json"
        run = subprocess.run([sys.executable, "-c", CHILD, str(path), str(settings_path), str(SEED),
                              str(self.out_dir), str(out)], cwd=str(REPO), env=dict(os.environ),
                             capture_output=True, text=True, timeout=240)
        assert out.exists(), "the grading child wrote nothing (exit %s): %s" % (run.returncode, run.stderr[-3000:])
        child = json.loads(out.read_text())
        self.markers.extend(child["markers"])
        return child

    def _leftovers(self):
        """Processes still carrying a session's marker (or the case's token) after SETTLE_S;
        they are killed before the test fails, so that the machine stays clean."""
        deadline = time.monotonic() + SETTLE_S
        while True:
            marked = {m: sorted(marked_processes(m)) for m in self.markers}
            left = {"marker %s" % m[:8]: pids for m, pids in marked.items() if pids}
            tokened = _token_processes(self.token)
            if tokened:
                left["token %s" % self.token] = sorted(tokened)
            if not left or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        for marker in self.markers:
            kill_marked(marker)
        for pid in _token_processes(self.token):
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        return left

    def network_reached(self):
        try:
            connection, _ = self.listener.accept()
        except BlockingIOError:
            return False
        connection.close()
        return True

    # ---------------------------------------------------------------- checks
    def check_results(self, results, level):
        """What every graded case must satisfy, whatever it attacked."""
        text = json.dumps(results)
        html = render_html(results)
        for secret in (self.secret, self.file_secret):
            assert secret not in text and secret not in html, "a secret of the TA reached the results or report"
        assert len(text) < MAX_RESULTS_BYTES, "results.json is %d bytes" % len(text)
        assert results["execution"]["sandbox"]["level"] == level
        for entry in results["items"]:
            assert entry["status"] in set(Status), entry["status"]
            if entry["status"] == "passed":
                assert entry["checks"] and all(c["passed"] for c in entry["checks"]), \
                    "%s passed with %d checks run" % (entry["name"], len(entry["checks"]))
            else:
                why = entry["message"] or next((c["message"] for c in entry["checks"] if not c["passed"]), "")
                assert why.strip(), "%s is %s without a message" % (entry["name"], entry["status"])
                assert entry["score"] == 0
            if entry["flagged"]:
                assert entry["status"] == "failed" and entry["score"] == 0, entry["name"]


@pytest.fixture
def arena(tmp_path, monkeypatch, request):
    box = Arena(tmp_path, monkeypatch, request)
    yield box
    box.close()


def _tagged_cells(path):
    nb = nbformat.read(str(path), as_version=4)
    return [i for i, c in enumerate(nb.cells) if c.cell_type == "code" and c.source.startswith(TAG)]


def _expected_level(isolation):
    return DEFAULT_LEVEL if isolation == "default" else isolation


def check_network(arena, results, level, path):
    tagged = _tagged_cells(path)
    reached = arena.network_reached()
    arena.request.node.user_properties.append(("network_reached", reached))
    cell = next(c for c in results["execution"]["cells"] if c["index"] == tagged[-1])
    if level == "bubblewrap":
        assert not reached and cell["status"] == "error", (reached, cell["ename"], cell["evalue"])


def check_output_capped(arena, results, level, path):
    output = item(results, "CaptioningRNN.sample")["output"]
    assert "z" * 1000 in output and len(output) <= 5000


def _strings(value):
    """Every string inside a results dict."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from _strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from _strings(v)


def check_no_reference_source(arena, results, level, path):
    """No line of reference/rnn_layers.py that the submission does not hold itself reached
    results.json or the report."""
    submitted = {line.strip() for cell in nbformat.read(str(path), as_version=4).cells
                 for line in cell.source.splitlines()}
    source = (REFERENCE_DIR / "rnn_layers.py").read_text()
    secret = {line.strip() for line in source.splitlines() if len(line.strip()) >= 20} - submitted
    assert len(secret) > 10, "too few lines of the reference to look for: %s" % secret
    texts = {"results.json": "\n".join(_strings(results)), "report.html": html.unescape(render_html(results))}
    leaked = {name: sorted(line for line in secret if line in text) for name, text in texts.items()}
    assert not any(leaked.values()), "the reference's source reached the student: %s" % leaked


EXTRA_CHECKS = {"network": check_network, "output_capped": check_output_capped,
                "no_reference_source": check_no_reference_source}


# ------------------------------------------------------------------------ input files
def _huge_notebook(path, megabytes=200):
    """The solved notebook plus one markdown cell of ``megabytes`` MB, written in chunks."""
    nb = json.loads(Path(path).read_text())
    nb["cells"].append({"cell_type": "markdown", "metadata": {}, "source": ["@@HUGE@@"]})
    head, tail = json.dumps(nb).split("@@HUGE@@")
    chunk = "x" * 2**20
    with open(path, "w") as f:
        f.write(head)
        for _ in range(megabytes):
            f.write(chunk)
        f.write(tail)
    return path


@pytest.mark.slow
def test_200mb_notebook_is_graded_in_bounded_time_and_memory(arena):
    """find.py reads the notebook whole (json, then nbformat): the grader holds a few copies
    of its text, about 2.3x its size, and grades it like any other."""
    path = _huge_notebook(build(arena.tmp))
    assert path.stat().st_size > 200 * 2**20
    results, child = arena.grade(path, arena.settings("default"), in_child=True)
    arena.check_results(results, DEFAULT_LEVEL)
    assert failing(results) == set()
    assert child["maxrss_mb"] < 1024, "the grader used %.0f MB" % child["maxrss_mb"]
    assert child["seconds"] < 120, "grading took %.0f s" % child["seconds"]


@pytest.mark.parametrize("content, message", [
    ("{ this is not json", "invalid JSON"),
    ("", "invalid JSON"),
    ("[1, 2, 3]", "no list of cells"),
], ids=["invalid-json", "empty-file", "json-not-a-notebook"])
def test_file_that_is_not_a_notebook_is_refused_clearly(arena, content, message):
    path = arena.tmp / "sub" / NOTEBOOK_NAME
    path.parent.mkdir()
    path.write_text(content)
    with pytest.raises(UsageError, match=message):
        arena.grade(path, arena.settings("default"))
    assert arena.markers == [], "no kernel is started for a file that is not a notebook"


@pytest.mark.slow
def test_duplicated_cell_ids_are_graded(arena):
    path = build(arena.tmp)
    nb = json.loads(path.read_text())
    nb["nbformat_minor"] = max(nb.get("nbformat_minor", 0), 5)
    for cell in nb["cells"]:
        cell["id"] = "same-id"
    path.write_text(json.dumps(nb))
    results, _ = arena.grade(path, arena.settings("default"))
    arena.check_results(results, DEFAULT_LEVEL)
    assert failing(results) == set()


@pytest.mark.slow
def test_notebook_without_code_cells_has_every_item_missing(arena):
    nb = nbformat.read(str(TEMPLATE_DIR / "notebook" / NOTEBOOK_NAME), as_version=4)
    nb.cells = [c for c in nb.cells if c.cell_type != "code"]
    path = arena.tmp / "sub" / NOTEBOOK_NAME
    path.parent.mkdir()
    nbformat.write(nb, str(path))
    results, _ = arena.grade(path, arena.settings("default"))
    arena.check_results(results, DEFAULT_LEVEL)
    assert statuses(results) == {name: "missing" for name in GRADED}
    assert results["score"] == 0


# ------------------------------------------------------------------------ hostile notebooks
def _expected_seconds(case):
    """A rough cost, to start the slow cases first so that two workers finish together."""
    waits = sum(s == "timeout" for s in case.status.values()) + ("timeout" in case.cell)
    return 5 + 8 * waits + 4 * case.restarts + case.timeouts.get("cell", 0) / 3 + 5 * case.subprocess


PARAMS = [pytest.param(case, isolation, id="%s-%s" % (case.name, isolation))
          for case in sorted(CASES, key=_expected_seconds, reverse=True) for isolation in case.isolation
          if not (isolation == "rlimits" and DEFAULT_LEVEL == "rlimits")]


@pytest.mark.slow
@pytest.mark.parametrize("case, isolation", PARAMS)
def test_hostile_notebook(arena, case, isolation):
    if isolation == "bubblewrap" and not bubblewrap_status()[0]:
        pytest.skip("bubblewrap cannot work on this machine: %s" % bubblewrap_status()[1])
    replace, cells = case.sources(arena.fill)
    path = build(arena.tmp, replace=replace, extra_cells=cells)
    results, _ = arena.grade(path, arena.settings(isolation, case.timeouts), in_child=case.subprocess,
                             guard_grader=case.dangerous)
    level = _expected_level(isolation)
    arena.check_results(results, level)
    got = failing(results)
    detail = "%s: %s" % (case.why, {i["name"]: (i["status"], (i["message"] or "")[:300], i["flagged"][:2])
                                     for i in results["items"] if i["status"] != "passed"})
    assert case.failing <= got <= case.failing | case.may_fail, detail
    for name, status in case.status.items():
        assert statuses(results)[name] == status, detail
    for name, text in case.message.items():
        assert text in item(results, name)["message"], detail
    for name in case.flagged:
        assert item(results, name)["flagged"], "%s: the attempt was not flagged" % name
    for name, text in case.output.items():
        assert text in item(results, name)["output"], item(results, name)["output"][-500:]
    tagged = _tagged_cells(path)
    if case.cell:
        got_cells = {c["index"]: c["status"] for c in results["execution"]["cells"]}
        assert tagged and all(got_cells.get(i) in case.cell for i in tagged), \
            [(c["index"], c["status"], c["ename"], c["evalue"][:200]) for c in results["execution"]["cells"]
             if c["index"] in tagged]
    restarts = results["execution"]["kernel_restarts"]
    assert restarts >= case.restarts
    assert case.max_restarts is None or restarts <= case.max_restarts, \
        "%d kernel restarts; cells: %s" % (restarts, [(c["index"], c["status"]) for c in results["execution"]["cells"]
                                                     if c["status"] != "ok"])
    if case.expect:
        EXTRA_CHECKS[case.expect](arena, results, level, path)
