"""Run a notebook cell by cell in a kernel that survives student mistakes.

A failing cell does not stop the run; a cell past its timeout is interrupted;
a dead or stuck kernel is restarted and the cells that ran before it are
replayed (the killer cell is skipped). The kernel stays up afterwards so the
probe stage can call the student's functions in it.
"""
from __future__ import annotations

import asyncio
import contextlib
import copy
import json
import logging
import os
import signal
import subprocess
import threading
import time
import uuid
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from jupyter_core.utils import ensure_event_loop
from nbclient import NotebookClient
from nbclient.exceptions import CellTimeoutError, DeadKernelError

from ..errors import KernelStartError
from ..sandbox.guard import CHANNEL_VARIABLE
from ..sandbox.isolation import Sandbox
from ..sandbox.kernel import SandboxedKernelManager

TIMEOUT_ENAME = "CellTimeoutError"
UNREADABLE_ENAME = "UnreadableMessage"
UNREADABLE = ("the kernel sent a message the grader cannot read (%s: %s): did this code replace json or the"
              " kernel's messaging? The kernel was restarted")
# One BLAS thread per kernel: small matrices gain nothing from threads, and pools
# fighting over 2 cores made training 20x slower when measured here.
SINGLE_THREAD = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
                 "MPLBACKEND": "Agg"}
PING_TIMEOUT = 10
CHANNEL_BYTES = 2**20  # read from the audit channel at a time: the hook writes at most 200 short reports


# Variables a kernel may see: none of the TA's tokens, credentials or paths reach it.
KEPT_VARIABLES = ("PATH", "LANG", "LANGUAGE", "LC_ALL", "LC_CTYPE", "TZ", "OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")


def kernel_environment(home):
    """A clean environment for student code: a few locale/BLAS variables and a private HOME."""
    env = {key: os.environ[key] for key in KEPT_VARIABLES if key in os.environ}
    env.setdefault("PATH", "/usr/local/bin:/usr/bin:/bin")
    env.update(HOME=str(home), TMPDIR=str(home), PYTHONDONTWRITEBYTECODE="1")
    return env


MARKER_VARIABLE = "CS231N_GRADER_SESSION"


def marked_processes(marker):
    """{pid: (parent pid, command line)} of the processes whose environment carries
    ``marker``: children that left the kernel's process group (setsid, double fork)
    inherit it. Linux only (/proc)."""
    needle = ("%s=%s" % (MARKER_VARIABLE, marker)).encode()
    found = {}
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            if int(entry.name) != os.getpid() and needle in (entry / "environ").read_bytes().split(b"\0"):
                parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
                found[int(entry.name)] = (parent, (entry / "cmdline").read_bytes())
        except (OSError, ValueError, IndexError):  # gone already, or not ours to read
            continue
    return found


def kill_marked(marker, spare=()):
    """SIGKILL every process carrying ``marker`` but those in ``spare``."""
    for pid in marked_processes(marker):
        if pid not in spare:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                continue


class Watchdog(threading.Thread):
    """Counts the session's processes twice a second; past the limit, kills all but
    ``spare`` (the kernel and what runs it, present at its start). RLIMIT_NPROC does not
    hold root, and counts every process of a user."""

    def __init__(self, marker, limit, spare):
        super().__init__(daemon=True)
        self.marker, self.limit, self.spare = marker, limit, spare
        self.stopped = threading.Event()
        self.excess = 0  # times the limit was passed

    def run(self):
        while not self.stopped.wait(0.5):
            processes = marked_processes(self.marker)
            if len(processes) > self.limit:
                self.excess += 1
                kill_marked(self.marker, spare=self.spare)


class CappedClient(NotebookClient):
    """A notebook client that keeps at most ``output_cap`` bytes of a cell's output."""

    output_cap = None
    output_used = 0

    def output(self, outs, msg, display_id, cell_index):
        if self.output_cap is None:
            return super().output(outs, msg, display_id, cell_index)
        content = msg.get("content", {})
        size = len(json.dumps(content, default=str))
        room = self.output_cap - self.output_used
        self.output_used += size
        if size <= room:
            return super().output(outs, msg, display_id, cell_index)
        if room <= 0:
            return None
        if msg.get("msg_type") == "stream":  # keep the part that fits
            cut = dict(msg, content=dict(content, text=str(content.get("text", ""))[:room]))
            super().output(outs, cut, display_id, cell_index)
        outs.append(nbformat.v4.new_output("stream", name="stderr", text=OUTPUT_CUT % self.output_cap))
        return None


OUTPUT_CUT = "\n[grader: output past %d bytes was cut]\n"


@dataclass
class CellOutcome:
    """What one code cell did: ok, error, timeout or dead (it killed the kernel)."""

    index: int
    status: str
    ename: str = ""
    evalue: str = ""
    traceback: str = ""
    seconds: float = 0.0
    outputs: list = field(default_factory=list)
    retried: str = ""  # status of a second run with failing imports skipped, if there was one


class KernelSession:
    """One kernel in a work folder, inside a sandbox, with restart and replay."""

    def __init__(self, workdir, env=None, startup_timeout=60, home=None, sandbox=None):
        self.workdir = str(workdir)
        self.work_root = Path(workdir).parent  # the work folder, home and sockets live here
        self.env = env
        self.marker = uuid.uuid4().hex
        self.home = Path(home) if home else self.work_root / "home"  # the kernel's own HOME
        self.home.mkdir(parents=True, exist_ok=True)
        self.startup_timeout = startup_timeout
        self.sandbox = sandbox or Sandbox("rlimits")
        self.client = None
        self.watchdog = None
        self.history: list[str] = []  # sources that ran without killing the kernel
        self.restarts = 0
        self.interpreter = ""  # the kernel's sys.executable
        self.phase = ""  # what is running, for the grader-access events: "cell 7", an item's name
        self.access: list[dict] = []  # grader-access attempts the kernel's audit hook reported
        self._channel = None
        self._kernel = contextlib.ExitStack()

    def __enter__(self):
        self._start()
        return self

    def __exit__(self, *exc):
        self.close()

    def _start(self):
        scratch = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("")])
        self.client = CappedClient(
            scratch, kernel_manager_class=SandboxedKernelManager, allow_errors=True,
            interrupt_on_timeout=True, startup_timeout=self.startup_timeout,
            error_on_timeout={"ename": TIMEOUT_ENAME, "evalue": "cell timed out", "traceback": []},
            ipython_hist_file=":memory:", iopub_timeout=4, shutdown_kernel="immediate",
            resources={"metadata": {"path": self.workdir}})
        self.client.log.setLevel(logging.CRITICAL)
        self.client.on_cell_executed = self._remember_reply
        sockets = None
        if self.sandbox.uses_ipc:  # no network inside: Unix sockets in the work folder
            sockets = self.work_root / "ipc"
            sockets.mkdir(exist_ok=True)
        km = self.client.create_kernel_manager().place(self.sandbox, self.work_root, self.workdir, sockets)
        km.connection_file = str((sockets or self.work_root) / ("kernel-%d.json" % self.restarts))
        env = dict(kernel_environment(self.home) if self.env is None else self.env, **SINGLE_THREAD)
        env[MARKER_VARIABLE] = self.marker
        self._channel, writer = os.pipe()  # the audit hook's reports; only the kernel can write
        os.set_blocking(self._channel, False)
        env[CHANNEL_VARIABLE] = str(writer)
        kwargs = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL, "env": env,
                  "preexec_fn": self.sandbox.preexec(), "pass_fds": (writer,)}
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)  # "pass_fds overriding close_fds": wanted
                self._kernel.enter_context(self.client.setup_kernel(cwd=self.workdir, **kwargs))
        except (RuntimeError, OSError) as exc:  # it did not launch, died at once or never answered
            self.close()  # what did start goes: a half-launched kernel, the audit channel
            raise KernelStartError("the kernel did not start (isolation: %s): %s" % (self.sandbox.level, exc)) from exc
        finally:
            os.close(writer)
        self.watchdog = Watchdog(self.marker, self.sandbox.limits.processes, spare=set(marked_processes(self.marker)))
        self.watchdog.start()
        self.interpreter = self._interpreter()

    def _interpreter(self):
        """The kernel's interpreter, as the kernel reports it before any student code runs."""
        outcome = self._execute("import sys as _s; print(_s.executable, end=''); del _s", PING_TIMEOUT, False)
        return "".join(o.get("text", "") for o in outcome.outputs if o.get("output_type") == "stream")

    def _remember_reply(self, cell, cell_index, execute_reply):
        self._reply = (execute_reply or {}).get("content", {})

    def close(self):
        """Stop the kernel, then every process that still carries this session's marker."""
        if self.watchdog is not None:
            self.watchdog.stopped.set()
        try:
            self._kernel.close()  # nbclient's setup_kernel: stop the channels, shut the kernel down
        except Exception:  # the kernel may already be gone
            pass
        self.client = None
        kill_marked(self.marker)
        if self._channel is not None:
            self._read_channel(alive=False)
            os.close(self._channel)
            self._channel = None

    def restart(self, replay=True):
        """Start a fresh kernel and, by default, replay the recorded history."""
        self.close()
        self.restarts += 1
        self._start()
        if replay:
            for source in self.history:
                self._execute(source, timeout=None, record=False)

    def run(self, source, timeout, record=True, index=-1, capped=False) -> CellOutcome:
        """Execute one cell; on a dead or stuck kernel restart it (and replay). ``capped``:
        keep only the sandbox's output allowance of what the cell prints."""
        self.client.output_cap = self.sandbox.limits.output_bytes if capped else None
        self.client.output_used = 0
        outcome = self._execute(source, timeout, record, index)
        if outcome.status == "dead":
            self.restart()
        elif outcome.status == "timeout" and self._execute("pass", PING_TIMEOUT, False).status != "ok":
            self.restart()
        return outcome

    def _execute(self, source, timeout, record, index=-1) -> CellOutcome:
        cell = nbformat.v4.new_code_cell(source)
        self.client.nb.cells[0] = cell
        self.client.timeout = timeout
        self._reply = {}
        start = time.monotonic()
        loop = ensure_event_loop()  # nbclient's, for this thread
        pending = asyncio.all_tasks(loop)
        try:
            self.client.execute_cell(cell, 0, store_history=False)
        except DeadKernelError:
            return CellOutcome(index, "dead", "DeadKernelError",
                               "the kernel died while running this cell",
                               seconds=time.monotonic() - start)
        except CellTimeoutError as exc:  # only raised for iopub stalls
            return CellOutcome(index, "timeout", TIMEOUT_ENAME, str(exc), seconds=time.monotonic() - start)
        except Exception as exc:  # reading the kernel's messages failed: student code garbled them
            _end_tasks(loop, asyncio.all_tasks(loop) - pending)
            return CellOutcome(index, "dead", UNREADABLE_ENAME, UNREADABLE % (type(exc).__name__, str(exc)[:200]),
                               seconds=time.monotonic() - start)
        outcome = _outcome(index, cell, self._reply, time.monotonic() - start)
        self._read_channel(alive=outcome.status in ("ok", "error"))
        if record and outcome.status in ("ok", "error"):
            self.history.append(source)
        return outcome

    def _read_channel(self, alive):
        """Collect the audit hook's reports. The channel closing under a live kernel means
        student code closed or replaced the grader's descriptor: that is reported too."""
        data = b""
        while len(data) < CHANNEL_BYTES:
            try:
                chunk = os.read(self._channel, 65536)
            except BlockingIOError:
                break
            if not chunk:
                if alive:
                    self._tampered("the grader's audit channel was closed")
                break
            data += chunk
        for line in data.decode(errors="replace").splitlines():
            try:
                event = _report(json.loads(line))
            except ValueError:  # a report cut short when the pipe was full
                continue
            except (TypeError, KeyError, RecursionError):  # the hook never writes these: student code did
                self._tampered("the grader's audit channel carried a report the hook did not write")
                continue
            if len(self.access) < 100:
                self.access.append(dict(event, phase=self.phase))

    def _tampered(self, what):
        """Record (once) that student code closed, replaced or wrote on the audit channel."""
        if not any(e["event"] == "channel" for e in self.access):
            self.access.append({"event": "channel", "target": what, "frames": [], "phase": self.phase})


def _report(event):
    """An audit report as the hook writes it: {"event", "target", "frames": [[file, function]]}.
    TypeError or KeyError for anything else."""
    frames = event["frames"]
    if not (isinstance(event["event"], str) and isinstance(event["target"], str) and isinstance(frames, list)
            and all(isinstance(f, list) and len(f) == 2 and all(isinstance(s, str) for s in f) for f in frames)):
        raise TypeError("not an audit report")
    return {"event": event["event"], "target": event["target"], "frames": frames}


def _end_tasks(loop, tasks):
    """Cancel the tasks a failed cell left on the loop (nbclient's kernel-alive poll) and let
    them end now. Left pending, the poll fails later against a closed client, and asyncio
    logs that failure whenever the garbage collector frees it."""
    if tasks:
        for task in tasks:
            task.cancel()
        loop.run_until_complete(asyncio.gather(*tasks, return_exceptions=True))


def _outcome(index, cell, reply, seconds) -> CellOutcome:
    if reply.get("ename") == TIMEOUT_ENAME:
        return CellOutcome(index, "timeout", TIMEOUT_ENAME, "the cell ran past its time limit and was interrupted",
                           seconds=seconds, outputs=cell.outputs)
    errors = [o for o in cell.outputs if o.get("output_type") == "error"]
    if reply.get("status") != "error" and not errors:
        return CellOutcome(index, "ok", seconds=seconds, outputs=cell.outputs)
    err = errors[-1] if errors else reply
    trace = err.get("traceback", [])
    trace = "\n".join(map(str, trace)) if isinstance(trace, list) else str(trace)  # student code can send any JSON
    return CellOutcome(index, "error", str(err.get("ename", "")), str(err.get("evalue", "")), _strip_ansi(trace),
                       seconds, cell.outputs)


def _strip_ansi(text):
    import re
    return re.sub(r"\x1b\[[0-9;]*[A-Za-z]", "", text)


def execute_notebook(nb, session: KernelSession, cell_timeout, on_cell=None, retry=None, only=None):
    """Run every code cell of ``nb``; return (executed copy, list of CellOutcome).

    ``retry(source, outcome)`` may return another source for a cell that raised: it runs
    once more (the first outcome is kept, marked ``retried``). ``only``: {cell index: source}
    to run instead (a pre-check's slice); the other cells are skipped.
    """
    executed = copy.deepcopy(nb)
    outcomes = []
    for index, cell in enumerate(executed.cells):
        source = cell.source if only is None else only.get(index, "")
        if cell.cell_type != "code" or not source.strip():
            continue
        session.phase = "cell %d" % index
        outcome = session.run(source, cell_timeout, index=index, capped=True)
        second = retry(source, outcome) if retry and outcome.status == "error" else None
        if second:
            outcome.retried = session.run(second, cell_timeout, index=index, capped=True).status
        cell.outputs = outcome.outputs
        outcomes.append(outcome)
        if on_cell:
            on_cell(outcome)
    return executed, outcomes
