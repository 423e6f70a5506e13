"""The kernel nbclient starts: the grader's own interpreter, inside the sandbox.

nbclient's supported hook is its ``kernel_manager_class``. This subclass gives the
kernel spec (so no installed ``python3`` kernel spec, and no ``python`` on PATH, decides
which interpreter runs student code) and wraps the command line for the isolation level.
"""
from __future__ import annotations

import sys

from jupyter_client.kernelspec import KernelSpec
from jupyter_client.manager import AsyncKernelManager

# sys.executable is absolute: inside bwrap the sandbox's PATH may hold no Python, or another one
# (pyenv's shims under a hidden HOME), and jupyter_client swaps a leading "python" only before
# the command is wrapped.
KERNEL_ARGV = (sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}")


class SandboxedKernelManager(AsyncKernelManager):
    """A kernel manager for one work folder, whose kernel runs inside ``sandbox``."""

    sandbox = None
    work_root = None
    workdir = None

    def place(self, sandbox, work_root, workdir, sockets=None):
        """Where and how the kernel runs; ``sockets``: a folder for Unix-socket transport."""
        self.sandbox, self.work_root, self.workdir = sandbox, work_root, workdir
        if sockets is not None:  # no network inside bwrap
            self.transport, self.ip = "ipc", str(sockets / "kernel")
        return self

    @property
    def kernel_spec(self):
        # Under bwrap a SIGINT to the process group would kill bwrap (and the kernel with it):
        # interrupts go as messages on the control channel instead.
        interrupt = "message" if self.sandbox.level == "bubblewrap" else "signal"
        return KernelSpec(argv=list(KERNEL_ARGV), display_name="Python 3 (grader)", language="python",
                          interrupt_mode=interrupt)

    def format_kernel_cmd(self, extra_arguments=None):
        return self.sandbox.wrap(super().format_kernel_cmd(extra_arguments), self.work_root, self.workdir)
