"""The kernel runs with a clean environment and a private HOME, leaves no process behind, and
a kernel whose messages cannot be read is restarted."""
import asyncio
import json
import time
from pathlib import Path

import pytest
from jupyter_core.utils import ensure_event_loop

from grader.grade.execute import UNREADABLE_ENAME, KernelSession

pytestmark = pytest.mark.slow  # every test starts a kernel


def test_kernel_sees_no_grader_variables_and_has_its_own_home(tmp_path, monkeypatch):
    monkeypatch.setenv("TA_API_TOKEN", "secret-value")
    work = tmp_path / "submission"
    work.mkdir()
    with KernelSession(work) as session:
        outcome = session.run("import os, json\nprint(json.dumps(dict(os.environ)))", timeout=30)
    env = json.loads(outcome.outputs[0]["text"])
    assert "TA_API_TOKEN" not in env and "secret-value" not in json.dumps(env)
    assert env["HOME"] == str(tmp_path / "home") and env["OPENBLAS_NUM_THREADS"] == "1"


def test_children_that_leave_the_process_group_are_killed_with_the_kernel(tmp_path):
    work = tmp_path / "submission"
    work.mkdir()
    spawn = ("import subprocess, signal\n"
             "subprocess.Popen(['sleep', '4242'], preexec_fn=lambda: signal.signal(signal.SIGTERM, signal.SIG_IGN))\n"
             "subprocess.Popen(['setsid', 'sleep', '4243'])")
    with KernelSession(work) as session:
        assert session.run(spawn, timeout=30).status == "ok"
        time.sleep(0.5)
    time.sleep(0.5)
    assert not [p for p in Path("/proc").glob("[0-9]*") if _cmdline(p) in (b"sleep\x004242\x00", b"sleep\x004243\x00")]


def _cmdline(proc):
    try:
        return (proc / "cmdline").read_bytes()
    except OSError:
        return b""


def test_a_cell_that_garbles_the_kernels_messages_costs_a_restart_and_leaves_nothing_pending(tmp_path):
    work = tmp_path / "submission"
    work.mkdir()
    with KernelSession(work) as session:
        session.run("x = 42", timeout=30)
        garbled = session.run("get_ipython().kernel.session.pack = lambda message: b'all checks passed'", timeout=30)
        pending = asyncio.all_tasks(ensure_event_loop())  # nbclient's loop
        after = session.run("print(x)", timeout=30)
    assert (garbled.status, garbled.ename, session.restarts) == ("dead", UNREADABLE_ENAME, 1), garbled.evalue
    assert not pending, "left running, these fail later and asyncio logs them whenever they are freed"
    assert after.outputs[0]["text"] == "42\n"
