"""Where a student's kernel runs, and what holds it in.

Two isolation levels, the best this machine gives:

- ``bubblewrap``: the kernel runs under bwrap (Debian package ``bubblewrap``) in its own
  user, pid, network, IPC and UTS namespaces. The filesystem is read-only but for the
  submission's work folder; the grader, the reference, the TA's HOME, other submissions,
  the report folder and the batch's inputs are out of sight. No network (the grader talks
  to the kernel over Unix sockets in the work folder). When the kernel ends, the pid
  namespace ends, and every process in it.
- ``rlimits``: where bwrap is missing or cannot create namespaces (macOS, containers
  without user namespaces): the same resource limits, a clean environment, the audit
  hook, and the session marker that finds and kills the kernel's processes. Files and
  network are those of the TA's user.

Both levels set resource limits on the kernel and everything it starts: address space,
CPU seconds, open files, file size, processes (the kernel enforces the last one for
non-root users only; a watchdog counts the session's processes for everyone).
"""
from __future__ import annotations

import functools
import os
import resource
import shutil
import site
import subprocess
import sys
import tempfile
from dataclasses import asdict, dataclass, fields
from pathlib import Path

from ..resources import package_dirs, source_checkout

LEVELS = ("bubblewrap", "rlimits")
PACKAGES = package_dirs()  # grader, reference, student_template: the copy that grades

# Run by the grader's interpreter as the kernel runs it (no PYTHONPATH, no user site, not in
# the grader's working folder): every folder it could import the grader's packages from.
FIND_COPIES = r"""
import importlib.util, os, sys
del sys.path[0]  # the working folder
for name in sys.argv[1:]:
    spec = importlib.util.find_spec(name)
    found = list(spec.submodule_search_locations or []) if spec else []
    found += [os.path.join(entry, name) for entry in sys.path]
    print("\n".join(os.path.realpath(path) for path in found if os.path.isdir(path)))
"""


@dataclass(frozen=True)
class Limits:
    """Resource limits of one kernel (settable in the assignment TOML, ``[sandbox]``)."""

    memory_mb: int = 4096
    cpu_seconds: int = 3600
    processes: int = 256
    open_files: int = 1024
    file_mb: int = 1024
    output_bytes: int = 1_000_000  # captured output per cell; the rest is cut with a note


def _user_tasks():
    """Threads of this user on the machine: what RLIMIT_NPROC counts."""
    count, uid = 0, os.getuid()
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            if entry.stat().st_uid == uid:
                count += len(os.listdir(entry / "task"))
        except OSError:
            continue
    return count


def python_paths():
    """Folders the kernel's Python needs to see: its installation and site-packages."""
    paths = {sys.prefix, sys.base_prefix, sys.exec_prefix, os.path.dirname(os.path.realpath(sys.executable))}
    paths.update(site.getsitepackages())
    paths.add(site.getusersitepackages())
    paths.update(p for p in sys.path if p and os.path.isdir(p) and "site-packages" in p)
    return sorted(os.path.realpath(p) for p in paths if p and os.path.exists(p))


@functools.lru_cache(maxsize=None)
def grader_dirs():
    """The grader's package folders: the copy that grades, and every other copy the kernel's
    interpreter would import instead (an editable install of another checkout, an older
    install in site-packages)."""
    run = subprocess.run([sys.executable, "-s", "-c", FIND_COPIES, *PACKAGES], capture_output=True, text=True,
                         timeout=60, check=True, env={"PATH": os.environ.get("PATH", "/usr/bin:/bin")})
    return tuple(dict.fromkeys([*PACKAGES.values(), *(Path(line) for line in run.stdout.splitlines() if line)]))


def checkouts():
    """The source trees those copies lie in (tests, docs, the .git history), and the one
    ``pip install .`` was run in (pip's direct_url.json), which holds the solution too."""
    roots = dict.fromkeys([*(d.parent for d in grader_dirs()), *filter(None, [source_checkout()])])
    return [str(root) for root in roots
            if (root / "pyproject.toml").is_file() and all((root / name).is_dir() for name in PACKAGES)]


def private_paths(hidden=()):
    """What student code must not see: temporary folders (other submissions' work copies),
    the TA's HOME, the grader's packages (and their checkouts), and ``hidden``.
    The Python installation is shown again where it lies inside one of them; the grader's
    packages are hidden once more on top of it (they may live in its site-packages)."""
    paths = {"/tmp", os.path.realpath(tempfile.gettempdir()), os.path.realpath(str(Path.home())),
             *(str(d) for d in grader_dirs()), *(os.path.realpath(str(p)) for p in hidden)}
    paths.update(checkouts())  # a venv inside one (.venv) is shown again with the Python installation
    paths.discard("/")
    return sorted(paths, key=len)


def _inside(path, folder):
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


class Sandbox:
    """How to start a kernel: its command line wrapped for the isolation level, and the
    limits set in the child before it runs."""

    def __init__(self, level, limits=Limits(), hidden=()):
        if level not in LEVELS:
            raise ValueError("unknown isolation level %r" % level)
        self.level = level
        self.limits = limits
        self.hidden = tuple(str(Path(p).resolve()) for p in hidden)

    @property
    def uses_ipc(self):
        """Kernel sockets are Unix sockets in the work folder (no network inside bwrap)."""
        return self.level == "bubblewrap"

    def wrap(self, argv, work_root, workdir):
        """The kernel's command line, inside bwrap when that is the level. ``argv[0]`` must
        be an absolute path: inside the sandbox, PATH may find no Python, or another one."""
        if not os.path.isabs(argv[0]):
            raise ValueError("the sandboxed command must start with an absolute path, not %r" % argv[0])
        if self.level != "bubblewrap":
            return list(argv)
        return [shutil.which("bwrap"), *bwrap_options(self.hidden, str(Path(work_root).resolve()), str(workdir)),
                "--", *argv]

    def preexec(self):
        """A function run in the kernel's process before it starts: the resource limits."""
        limits = self.limits
        nproc = None if os.geteuid() == 0 else _user_tasks() + limits.processes

        def apply():
            mb = 1024 * 1024
            for name, value in ((resource.RLIMIT_AS, limits.memory_mb * mb),
                                (resource.RLIMIT_CPU, limits.cpu_seconds),
                                (resource.RLIMIT_NOFILE, limits.open_files),
                                (resource.RLIMIT_FSIZE, limits.file_mb * mb),
                                (resource.RLIMIT_CORE, 0),
                                (resource.RLIMIT_NPROC, nproc)):
                if value is not None:
                    resource.setrlimit(name, (value, value))
        return apply

    def describe(self):
        """What graded the submission, for results.json and the report."""
        contained = self.level == "bubblewrap"
        return {"level": self.level,
                "network": "none" if contained else "the TA's",
                "filesystem": "read-only; only the work folder is writable and visible to change" if contained
                else "the TA's user's files (the grader's own folders are refused by an audit hook)",
                "processes": "own pid namespace, all killed with the kernel" if contained
                else "killed by the session marker with the kernel",
                "limits": asdict(self.limits)}


def bwrap_options(hidden, work_root, workdir):
    """bwrap's options: namespaces, a read-only root, private paths hidden, the Python
    installation shown again, the grader's packages hidden on top, the work folder writable."""
    # JPY_PARENT_PID: inside the pid namespace the kernel's parent is pid 1, which
    # ipykernel takes for "my parent died"; --die-with-parent does that job here.
    options = ["--die-with-parent", "--unsetenv", "JPY_PARENT_PID", "--unshare-user", "--unshare-pid",
               "--unshare-net", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try",
               "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc"]
    private = private_paths(hidden)
    options += _hide(private)
    shown = []
    for path in python_paths():  # the Python installation may live under a hidden folder
        if any(_inside(path, h) for h in private) and not any(_inside(path, s) for s in shown):
            shown.append(path)
            options += ["--ro-bind", path, path]
    options += _hide(str(d) for d in grader_dirs() if any(_inside(str(d), s) for s in shown))
    options += ["--bind", work_root, work_root, "--chdir", workdir]
    return options


def _hide(paths):
    options = []
    for path in paths:
        if os.path.isdir(path):
            options += ["--tmpfs", path]
        elif os.path.exists(path):
            options += ["--ro-bind", "/dev/null", path]
    return options


@functools.lru_cache(maxsize=None)
def bubblewrap_status():
    """(works, why not): whether bwrap can create the namespaces we ask for here."""
    bwrap = shutil.which("bwrap")
    if not bwrap:
        return False, "bwrap is not installed (Debian/Ubuntu: apt install bubblewrap)"
    root = Path(tempfile.mkdtemp(prefix="grade-bwrap-probe-"))
    try:  # the options of a real launch, so a check that passes means a kernel will start
        probe = Sandbox("bubblewrap").wrap([sys.executable, "-c", "import numpy, ipykernel"], root, root)
        run = subprocess.run(probe, capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return False, "bwrap did not run: %s" % exc
    finally:
        shutil.rmtree(root, ignore_errors=True)
    if run.returncode != 0:
        return False, "bwrap cannot create namespaces here: %s" % (run.stderr.strip().splitlines() or ["?"])[-1]
    return True, ""


def limits_from(table):
    """Limits from the assignment TOML's ``[sandbox]`` table; ValueError names a bad key."""
    values = {}
    for key in fields(Limits):
        if key.name in table:
            value = table[key.name]
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                raise ValueError("sandbox.%s must be a positive whole number" % key.name)
            values[key.name] = value
    unknown = set(table) - {f.name for f in fields(Limits)} - {"isolation"}
    if unknown:
        raise ValueError("unknown sandbox setting %s" % ", ".join(sorted(unknown)))
    if table.get("isolation", "auto") not in ("auto",) + LEVELS:
        raise ValueError("sandbox.isolation must be one of auto, %s" % ", ".join(LEVELS))
    return Limits(**values)


def choose(table=None, hidden=()):
    """The sandbox the ``[sandbox]`` table asks for: isolation auto (the best available),
    bubblewrap (RuntimeError with the reason when it is unavailable) or rlimits."""
    table = table or {}
    isolation, limits = table.get("isolation", "auto"), limits_from(table)
    if isolation == "auto":
        isolation = "bubblewrap" if bubblewrap_status()[0] else "rlimits"
    elif isolation == "bubblewrap" and not bubblewrap_status()[0]:
        raise RuntimeError(bubblewrap_status()[1])
    return Sandbox(isolation, limits, hidden)


# Run inside the sandbox by `grade --check-sandbox`: what can student code actually do?
SELF_TEST = r"""
import os, resource, socket, sys
sources = sys.argv[1:]
print("sees the grader's files:", "yes" if any(os.path.exists(path) for path in sources) else "no")
try:
    socket.create_connection(("1.1.1.1", 53), timeout=3).close()
    print("network: reachable")
except OSError as exc:
    print("network: unreachable (%s)" % (exc.strerror or exc))
print("sees other processes:", len([p for p in os.listdir("/proc") if p.isdigit()]) - 1)
print("memory limit: %d MB" % (resource.getrlimit(resource.RLIMIT_AS)[0] // 2**20))
try:
    open("/etc/cs231n-grader-write-test", "w").close()
    os.remove("/etc/cs231n-grader-write-test")
    print("can write outside its folder: yes")
except OSError:
    print("can write outside its folder: no")
"""


def grader_sources():
    """A few files that student code must never read: the solution and the grader, in every copy."""
    files = [d / ("rnn_layers.py" if d.name == "reference" else "__init__.py") for d in grader_dirs()]
    return files + [Path(root) / "pyproject.toml" for root in checkouts()]


def self_test(box):
    """Lines printed by a small program run inside ``box``, as a kernel would be."""
    root = Path(tempfile.mkdtemp(prefix="grade-check-"))
    try:
        argv = box.wrap([sys.executable, "-c", SELF_TEST, *map(str, grader_sources())], root, root)
        run = subprocess.run(argv, capture_output=True, text=True, timeout=60, cwd=root, preexec_fn=box.preexec(),
                             env={"PATH": os.environ.get("PATH", "/usr/bin:/bin")})
        return run.stdout.splitlines() or ["the self-test printed nothing: %s" % run.stderr.strip()[-300:]]
    except (OSError, subprocess.TimeoutExpired) as exc:
        return ["the self-test did not run: %s" % exc]
    finally:
        shutil.rmtree(root, ignore_errors=True)


def machine_report(table=None):
    """Lines for ``grade --check-sandbox``: what isolation this machine gives, checked by
    running a program inside it, with the limits of the assignment's ``[sandbox]`` table."""
    works, why = bubblewrap_status()
    box = choose(dict(table or {}, isolation="auto"))
    lines = ["isolation level: %s" % box.level]
    if works:
        lines.append("bubblewrap: works (user, pid, network, IPC and UTS namespaces; read-only filesystem)")
    else:
        lines.append("bubblewrap: unavailable: %s" % why)
        lines.append("  fallback: resource limits, clean environment, audit hook, process cleanup;"
                     " the network stays open")
    lines.append("process limit: %s" % ("enforced by the kernel (RLIMIT_NPROC)" if os.geteuid() != 0 else
                                        "running as root: RLIMIT_NPROC does not apply; the grader's watchdog"
                                        " counts and kills excess processes"))
    lines.append("process cleanup: %s" % ("/proc available (session marker)" if Path("/proc/self/environ").exists()
                                         else "no /proc: only the kernel's process group is killed"))
    limits = box.limits
    lines.append("limits: memory %d MB, CPU %d s, %d processes, %d open files, files %d MB, output %d bytes"
                 " per cell" % (limits.memory_mb, limits.cpu_seconds, limits.processes, limits.open_files,
                                limits.file_mb, limits.output_bytes))
    lines.append("checked inside the sandbox (before the audit hook, which also guards the grader's files):")
    lines += ["  " + line for line in self_test(box)]
    return lines
