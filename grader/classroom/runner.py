"""Run a batch's jobs: worker processes on this machine, or tasks on a Dask cluster.

Either way each submission is graded by ``grader.classroom.worker`` in a process of its own (with
its own kernel and sandbox), and ``on_done(job, record)`` hears of each as it finishes.
"""
from __future__ import annotations

import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor, as_completed

from ..errors import UsageError
from .batch import zip_folder
from .worker import grade_shipped, run_worker, stop


def run_local(tasks, jobs, on_done, timeout=None):
    """Grade ``tasks`` [(job, spec)] with up to ``jobs`` workers at once. Ctrl-C stops the
    running workers cleanly and re-raises; what finished was already handed to on_done."""
    running, lock = set(), threading.Lock()

    def started(process):
        with lock:
            running.add(process)

    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        futures = {pool.submit(run_worker, spec, timeout, started): job for job, spec in tasks}
        try:
            for future in as_completed(futures):
                on_done(futures[future], future.result())
        except KeyboardInterrupt:
            for future in futures:
                future.cancel()
            with lock:
                workers = list(running)
            for process in workers:
                stop(process)
            raise


def run_dask(address, tasks, on_done, timeout=None):
    """Grade ``tasks`` as tasks on the Dask scheduler at ``address``, one per submission;
    the submission travels as zip bytes, so workers need no shared disk."""
    try:
        from distributed import Client, as_completed as dask_completed
    except ImportError:
        raise UsageError("--scheduler needs Dask: pip install 'cs231n-rnn-grader[dask]'") from None
    try:
        client = Client(address, timeout=30)
    except OSError as exc:  # nothing there, or it never answered
        raise UsageError("cannot reach the Dask scheduler at %s: %s" % (address, exc)) from None
    with client:
        futures = {client.submit(grade_shipped, spec, zip_folder(job.staged), timeout, pure=False,
                                 key="grade-%s-%s" % (job.identity.id, job.key)): job for job, spec in tasks}
        try:
            for future in dask_completed(futures):
                on_done(futures[future], future.result())
        except KeyboardInterrupt:
            client.cancel(list(futures))
            raise


class Progress:
    """One progress line on stderr (counts, failures, ETA); plain lines when not a terminal."""

    def __init__(self, total, stream=sys.stderr):
        self.total, self.stream = total, stream
        self.done = self.failed = self.cached = 0
        self.start = time.monotonic()
        self.tty = stream.isatty()

    def update(self, label, failed=False, cached=False, note=""):
        self.done += 1
        self.failed += failed
        self.cached += cached
        if self.tty:
            width = 30
            filled = int(width * self.done / self.total) if self.total else width
            self.stream.write("\r\033[K[%s%s] %d/%d graded, %d failed%s  %s" % (
                "#" * filled, "." * (width - filled), self.done, self.total, self.failed, self._eta(), label[:40]))
        else:
            self.stream.write("[%d/%d] %s%s%s\n" % (self.done, self.total, label, " " + note if note else "",
                                                   self._eta()))
        self.stream.flush()

    def _eta(self):
        graded = self.done - self.cached
        left = self.total - self.done
        if not graded or not left:
            return ""
        seconds = (time.monotonic() - self.start) / graded * left
        return ", ETA %dm%02ds" % divmod(int(seconds), 60)

    def close(self):
        if self.tty:
            self.stream.write("\n")
            self.stream.flush()
