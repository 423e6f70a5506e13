"""The sandbox: levels, limits, the output cap, the process watchdog, the audit channel,
what the kernel may hold of the reference, and which interpreter runs it."""

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from grader import assignments
from grader.sandbox import isolation as sandbox
from grader.assignments import load
from grader.errors import UsageError
from grader.grade.execute import KernelSession, marked_processes
from grader.sandbox.guard import kernel_guard
from grader.sandbox.integrity import touched
from grader.grade.pipeline import grade
from grader.grade.probe import kernel_reference
from e2e import build, failing
RNN_ITEMS = assignments.load("rnn").items
ITEM = {i.name: i for i in RNN_ITEMS}

BWRAP = sandbox.bubblewrap_status()[0]
LEVELS = ["rlimits"] + (["bubblewrap"] if BWRAP else [])


def _session(tmp_path, level, **limits):
    work = tmp_path / "submission"
    work.mkdir()
    box = sandbox.choose(dict(limits, isolation=level))
    return KernelSession(work, sandbox=box)


@pytest.mark.skipif(not BWRAP, reason="bubblewrap cannot create namespaces on this machine")
def test_inside_bubblewrap_the_grader_network_and_other_processes_are_out_of_sight():
    lines = sandbox.self_test(sandbox.choose({"isolation": "bubblewrap"}))
    assert "sees the grader's files: no" in lines
    assert any(line.startswith("network: unreachable") for line in lines)
    assert "sees other processes: 1" in lines and "can write outside its folder: no" in lines


def test_fallback_applies_the_configured_memory_limit():
    lines = sandbox.self_test(sandbox.choose({"isolation": "rlimits", "memory_mb": 3000}))
    assert "memory limit: 3000 MB" in lines


@pytest.mark.parametrize("table, message", [({"memory_mb": -1}, "memory_mb"), ({"isolation": "docker"}, "isolation"),
                                            ({"procs": 3}, "unknown sandbox setting procs")])
def test_bad_sandbox_settings_are_usage_errors(course_toml, table, message):
    toml = course_toml("[sandbox]\n" + "".join("%s = %r\n" % kv for kv in table.items()).replace("'", '"'))
    with pytest.raises(UsageError, match=message):
        load(toml)


@pytest.mark.slow
@pytest.mark.parametrize("level", LEVELS)
def test_output_past_the_cap_is_cut_with_a_note_and_memory_errors_stay_in_the_cell(tmp_path, level):
    with _session(tmp_path, level, output_bytes=10_000, memory_mb=2048) as session:
        printed = session.run("for i in range(2000): print('x' * 99)", timeout=30, capped=True)
        big = session.run("import numpy as np\na = np.ones(10**10)", timeout=30, capped=True)
        after = session.run("print('alive')", timeout=30, capped=True)
    text = "".join(o.get("text", "") for o in printed.outputs)
    assert 9_000 < len(text) < 11_000 and "output past 10000 bytes was cut" in text
    assert big.status == "error" and big.ename == "MemoryError"
    assert after.outputs[0]["text"] == "alive\n"


@pytest.mark.slow
def test_watchdog_kills_processes_past_the_limit_but_not_the_kernel(tmp_path):
    fork = ("import os, time\npids = []\nfor _ in range(40):\n    pid = os.fork()\n"
            "    if pid == 0:\n        time.sleep(60)\n        os._exit(0)\n    pids.append(pid)\ntime.sleep(2)\n"
            "print(sum(1 for p in pids if os.waitpid(p, os.WNOHANG)[0]))")
    with _session(tmp_path, "rlimits", processes=10) as session:
        outcome = session.run(fork, timeout=30)
        alive = session.run("print('alive')", timeout=30)
        assert len(marked_processes(session.marker)) <= 12
        assert session.watchdog.excess >= 1
    assert int(outcome.outputs[0]["text"]) >= 25  # children reaped: the watchdog killed them
    assert alive.outputs[0]["text"] == "alive\n"


@pytest.mark.slow
@pytest.mark.parametrize("level", LEVELS)
def test_audit_hook_refuses_and_reports_grader_access_with_its_phase(tmp_path, level):
    with _session(tmp_path, level) as session:
        session.run(kernel_guard(session.work_root), timeout=30)
        session.phase = "cell 3"
        imported = session.run("try:\n    import reference\nexcept ImportError as e:\n    print(e)", timeout=30)
        session.phase = "cell 4"
        written = session.run("open('/etc/passwd-grader-test', 'w')", timeout=30)
        session.phase = "cell 5"
        fine = session.run("open('mine.txt', 'w').write('ok')", timeout=30)
    assert "cannot be imported" in imported.outputs[0]["text"]
    assert written.ename == "PermissionError" and fine.status == "ok"
    assert [(a["event"], a["target"], a["phase"]) for a in session.access] == [
        ("import", "reference", "cell 3"), ("write", "/etc/passwd-grader-test", "cell 4")]


@pytest.mark.slow
def test_closing_the_audit_channel_is_reported(tmp_path):
    with _session(tmp_path, "rlimits") as session:
        session.run(kernel_guard(session.work_root), timeout=30)
        fd = session.run("import os\nprint(os.environ.get('CS231N_GRADER_CHANNEL'))", timeout=30)
        assert fd.outputs[0]["text"].strip() == "None"  # the hook took it out of the environment
        session.run("import os\nfor fd in range(3, 256):\n    try:\n        os.fstat(fd)\n    except OSError:\n"
                    "        continue\n    if os.path.stat.S_ISFIFO(os.fstat(fd).st_mode):\n        os.close(fd)",
                    timeout=30)
    assert [a["event"] for a in session.access] == ["channel"]


def test_student_code_writing_on_the_audit_channel_is_tampering(tmp_path):
    forged = b'{"event": 1, "target": [], "frames": 2}\n' + b"[" * 5000 + b"\n" + b'["not", "a", "report"]\n'
    with _session(tmp_path, "rlimits") as session:
        session.run(kernel_guard(session.work_root), timeout=30)
        session.phase = "cell 6"
        wrote = session.run("import os\nfor fd in range(3, 256):\n    try:\n"
                            "        if os.path.stat.S_ISFIFO(os.fstat(fd).st_mode):\n            os.write(fd, %r)\n"
                            "    except OSError:\n        continue" % forged, timeout=30)
    assert wrote.status == "ok"
    assert [(a["event"], a["phase"]) for a in session.access] == [("channel", "cell 6")]
    assert "did not write" in session.access[0]["target"]
    assert touched(session.access[0], [i for i in RNN_ITEMS if i.kind != "manual"], {}, {}) == set(
        i.name for i in RNN_ITEMS if i.kind in ("layer", "model_loss", "sample"))


def test_an_attempt_touches_the_probed_item_the_functions_on_its_stack_or_its_cell():
    items = [i for i in RNN_ITEMS if i.kind != "manual"]
    probe = {"event": "import", "phase": "rnn_forward", "frames": []}
    assert touched(probe, items, {}, {}) == {"rnn_forward"}
    stack = {"event": "open", "phase": "cell 9", "frames": [["/tmp/x.py", "word_embedding_forward"]]}
    assert touched(stack, items, {}, {}) == {"word_embedding_forward"}
    module = {"event": "import", "phase": "cell 2", "frames": [["/w/cs231n/rnn_layers.py", "<module>"]]}
    found = {"rnn_step_forward": "cs231n/rnn_layers.py", "CaptioningRNN.loss": "cs231n/classifiers/rnn.py"}
    assert touched(module, items, found, {}) == {"rnn_step_forward"}
    cell = {"event": "import", "phase": "cell 7", "frames": [["<cell>", "<module>"]]}
    cells = {7: "from reference.rnn_layers import rnn_step_backward\nx = 1"}
    assert touched(cell, items, {}, cells) == {"rnn_step_backward"}
    assert touched({"event": "import", "phase": "cell 7", "frames": []}, items, {}, {7: "import reference"}) == set()


def test_kernel_holds_only_the_reference_functions_a_request_needs():
    source = kernel_reference(["rnn_forward"])["rnn_layers"]
    assert "def rnn_forward" in source and "def rnn_step_forward" in source  # what it calls
    for graded in ("def rnn_backward", "def rnn_step_backward", "def word_embedding_forward",
                   "def temporal_softmax_loss"):
        assert graded not in source
    assert "def affine_forward" in kernel_reference([])["rnn_layers"]  # given to students anyway
    assert "def rnn_forward" not in kernel_reference([])["rnn_layers"]
    assert ITEM["rnn_backward"].backward == "rnn_backward"


FAKE_PYTHON = "#!/bin/sh\necho wrong python\nexit 1\n"
WHERE_AM_I = """
def word_embedding_forward(x, W):
    import json, sys
    print("kernel python:", json.dumps([sys.executable, sys.prefix]))
    return W[x], (x, W)
"""


@pytest.fixture
def fake_pythons(monkeypatch):
    """``python`` and ``python3`` that fail, first on the grader's PATH, in a folder outside /tmp
    and HOME so that the sandbox's PATH finds them too."""
    folder = Path(tempfile.mkdtemp(prefix="fake-python-", dir="/var/tmp"))
    for name in ("python", "python3"):
        (folder / name).write_text(FAKE_PYTHON)
        (folder / name).chmod(0o755)
    monkeypatch.setenv("PATH", "%s:%s" % (folder, os.environ["PATH"]))
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


@pytest.mark.slow
@pytest.mark.parametrize("level", ["bubblewrap", "rlimits"])
def test_kernel_runs_on_the_graders_interpreter_whatever_python_comes_first_on_path(tmp_path, fake_pythons, level):
    if level == "bubblewrap" and not BWRAP:
        pytest.skip("bubblewrap cannot work on this machine: %s" % sandbox.bubblewrap_status()[1])
    assert subprocess.run(["python3", "-c", "pass"], capture_output=True, text=True).stdout == "wrong python\n"
    toml = tmp_path / "settings.toml"
    toml.write_text('extends = "rnn"\n[timeouts]\ncell = 20\nprobe = 10\n[items.overfit_small_data]\nenabled = false\n'
                    '[sandbox]\nisolation = "%s"\n' % level)
    results = grade(build(tmp_path, replace={"word_embedding_forward": WHERE_AM_I}), load(str(toml)), seed=3)
    assert results["execution"]["sandbox"]["level"] == level
    assert failing(results) == set(), [(i["name"], i["message"][:200]) for i in results["items"] if i["message"]]
    output = next(i["output"] for i in results["items"] if i["name"] == "word_embedding_forward")
    executable, prefix = json.loads(output.split("kernel python:", 1)[1].splitlines()[0])
    assert os.path.realpath(executable) == os.path.realpath(sys.executable) and prefix == sys.prefix
