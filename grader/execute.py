"""Run a notebook cell by cell in a kernel that survives student mistakes.

A failing cell does not stop the run; a cell past its timeout is interrupted;
a dead or stuck kernel is restarted and the cells that ran before it are
replayed (the killer cell is skipped). The kernel stays up afterwards so the
probe stage can call the student's functions in it.
"""
from __future__ import annotations

import copy
import logging
import os
import signal
import subprocess
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellTimeoutError, DeadKernelError

TIMEOUT_ENAME = "CellTimeoutError"
# One BLAS thread per kernel: small matrices gain nothing from threads, and pools
# fighting over 2 cores made training 20x slower when measured here.
SINGLE_THREAD = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
                 "MPLBACKEND": "Agg"}
PING_TIMEOUT = 10


# Variables a kernel may see: none of the TA's tokens, credentials or paths reach it.
KEPT_VARIABLES = ("PATH", "LANG", "LANGUAGE", "LC_ALL", "LC_CTYPE", "TZ", "OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")


def kernel_environment(home):
    """A clean environment for student code: a few locale/BLAS variables and a private HOME."""
    env = {key: os.environ[key] for key in KEPT_VARIABLES if key in os.environ}
    env.setdefault("PATH", "/usr/local/bin:/usr/bin:/bin")
    env.update(HOME=str(home), TMPDIR=str(home), PYTHONDONTWRITEBYTECODE="1")
    return env


MARKER_VARIABLE = "CS231N_GRADER_SESSION"


def kill_marked(marker):
    """SIGKILL every process whose environment carries ``marker``: children that left the
    kernel's process group (setsid, double fork) inherit it. Linux only (/proc)."""
    needle = ("%s=%s" % (MARKER_VARIABLE, marker)).encode()
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            if int(entry.name) != os.getpid() and needle in (entry / "environ").read_bytes().split(b"\0"):
                os.kill(int(entry.name), signal.SIGKILL)
        except (OSError, ValueError):  # gone already, or not ours to read
            continue


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
    """One kernel in a work folder, with restart and replay."""

    def __init__(self, workdir, env=None, kernel_name="python3", startup_timeout=60, home=None):
        self.workdir = str(workdir)
        self.env = env
        self.marker = uuid.uuid4().hex
        self.home = Path(home) if home else Path(workdir).parent / "home"  # the kernel's own HOME
        self.home.mkdir(parents=True, exist_ok=True)
        self.kernel_name = kernel_name
        self.startup_timeout = startup_timeout
        self.client = None
        self.history: list[str] = []  # sources that ran without killing the kernel
        self.restarts = 0

    def __enter__(self):
        self._start()
        return self

    def __exit__(self, *exc):
        self.close()

    def _start(self):
        scratch = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("")])
        self.client = NotebookClient(
            scratch, kernel_name=self.kernel_name, allow_errors=True,
            interrupt_on_timeout=True, startup_timeout=self.startup_timeout,
            error_on_timeout={"ename": TIMEOUT_ENAME, "evalue": "cell timed out", "traceback": []},
            ipython_hist_file=":memory:", iopub_timeout=4, shutdown_kernel="immediate",
            resources={"metadata": {"path": self.workdir}})
        self.client.log.setLevel(logging.CRITICAL)
        self.client.on_cell_executed = self._remember_reply
        self.client.km = self.client.create_kernel_manager()
        env = dict(kernel_environment(self.home) if self.env is None else self.env, **SINGLE_THREAD)
        env[MARKER_VARIABLE] = self.marker
        kwargs = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL, "env": env}
        self.client.start_new_kernel(cwd=self.workdir, **kwargs)
        self.client.start_new_kernel_client()

    def _remember_reply(self, cell, cell_index, execute_reply):
        self._reply = (execute_reply or {}).get("content", {})

    def close(self):
        """Stop the kernel, then every process that still carries this session's marker."""
        if self.client is not None and self.client.km is not None:
            try:
                self.client._cleanup_kernel()
            except Exception:  # the kernel may already be gone
                pass
        self.client = None
        kill_marked(self.marker)

    def restart(self, replay=True):
        """Start a fresh kernel and, by default, replay the recorded history."""
        self.close()
        self.restarts += 1
        self._start()
        if replay:
            for source in self.history:
                self._execute(source, timeout=None, record=False)

    def run(self, source, timeout, record=True, index=-1) -> CellOutcome:
        """Execute one cell; on a dead or stuck kernel restart it (and replay)."""
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
        try:
            self.client.execute_cell(cell, 0, store_history=False)
        except DeadKernelError:
            return CellOutcome(index, "dead", "DeadKernelError",
                               "the kernel died while running this cell",
                               seconds=time.monotonic() - start)
        except CellTimeoutError as exc:  # only raised for iopub stalls
            return CellOutcome(index, "timeout", TIMEOUT_ENAME, str(exc), seconds=time.monotonic() - start)
        outcome = _outcome(index, cell, self._reply, time.monotonic() - start)
        if record and outcome.status in ("ok", "error"):
            self.history.append(source)
        return outcome


def _outcome(index, cell, reply, seconds) -> CellOutcome:
    if reply.get("ename") == TIMEOUT_ENAME:
        return CellOutcome(index, "timeout", TIMEOUT_ENAME, "the cell ran past its time limit and was interrupted",
                           seconds=seconds, outputs=cell.outputs)
    errors = [o for o in cell.outputs if o.get("output_type") == "error"]
    if reply.get("status") != "error" and not errors:
        return CellOutcome(index, "ok", seconds=seconds, outputs=cell.outputs)
    err = errors[-1] if errors else reply
    return CellOutcome(index, "error", err.get("ename", ""), str(err.get("evalue", "")),
                       _strip_ansi("\n".join(err.get("traceback", []))), seconds, cell.outputs)


def _strip_ansi(text):
    import re
    return re.sub(r"\x1b\[[0-9;]*[A-Za-z]", "", text)


def execute_notebook(nb, session: KernelSession, cell_timeout, on_cell=None, retry=None):
    """Run every code cell of ``nb``; return (executed copy, list of CellOutcome).

    ``retry(source, outcome)`` may return another source for a cell that raised: it runs
    once more (the first outcome is kept, marked ``retried``).
    """
    executed = copy.deepcopy(nb)
    outcomes = []
    for index, cell in enumerate(executed.cells):
        if cell.cell_type != "code" or not cell.source.strip():
            continue
        outcome = session.run(cell.source, cell_timeout, index=index)
        second = retry(cell.source, outcome) if retry and outcome.status == "error" else None
        if second:
            outcome.retried = session.run(second, cell_timeout, index=index).status
        cell.outputs = outcome.outputs
        outcomes.append(outcome)
        if on_cell:
            on_cell(outcome)
    return executed, outcomes
