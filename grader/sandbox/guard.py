"""An audit hook installed in the kernel before any student code runs.

It refuses imports of the grader's own packages (``reference``, ``grader``); reading
the grader's folders, the TA's HOME and the paths the caller hides (the report folder, a
batch's other submissions); changing any file outside the work folder; and opening
another process's ``/proc`` entries; and, under the rlimits fallback only, starting other
programs (a shell or a fresh interpreter would run without the hook). Under bubblewrap
most of this is out of sight anyway; under the fallback the hook is what keeps student
code in its folder (``ctypes`` can still get past it: SECURITY.md).
``sys.addaudithook`` hooks cannot be removed by later code. Each refusal is also written,
with the calling frames, to a pipe only the grader reads (``CHANNEL_VARIABLE`` names its
descriptor), so the attempt is flagged even when the student's code catches the error.
The grader's probe never needs either package: it sends its code as source text.
"""
import os

from .isolation import grader_dirs, private_paths, python_paths

PROTECTED_PACKAGES = ("reference", "grader")
CHANNEL_VARIABLE = "CS231N_GRADER_CHANNEL"
PROGRAMS = ("subprocess.Popen", "os.system", "os.exec", "os.posix_spawn", "os.spawn", "pty.spawn")
CHANGES = ("os.remove", "os.rename", "os.rmdir", "os.mkdir", "shutil.rmtree", "os.truncate", "os.chmod",
           "os.chown", "os.utime", "os.link", "os.symlink", "shutil.copyfile", "shutil.move")

HOOK = '''
def _cs231n_grader_guard(packages=%r, grader=%r, refused=%r, allowed=%r, writable=%r, changes=%r, programs=%r,
                         variable=%r):
    import json
    import os
    import sys

    channel = int(os.environ.pop(variable, "-1"))
    reported = set()
    try:
        os.set_blocking(channel, False)  # a full pipe drops reports rather than hanging the kernel
    except OSError:
        pass
    write, dumps, getframe, getpid, realpath = os.write, json.dumps, sys._getframe, os.getpid, os.path.realpath
    writing = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND

    def under(path, folders):
        return any(path == f or path.startswith(f.rstrip(os.sep) + os.sep) for f in folders)

    def refuse(event, target, error, why, report=True):
        frames, frame = [], getframe(2)
        while frame is not None and len(frames) < 12:
            code = frame.f_code
            frames.append([code.co_filename, getattr(code, "co_qualname", code.co_name)])
            frame = frame.f_back
        key = (event, target, tuple(f[1] for f in frames))
        if report and key not in reported and len(reported) < 200:  # each attempt once
            reported.add(key)
            try:
                write(channel, (dumps({"event": event, "target": target, "frames": frames}) + "\\n").encode())
            except (OSError, ValueError):
                pass
        raise error(why)

    def hook(event, args):
        if event == "import" and args and str(args[0]).split(".")[0] in packages:
            refuse("import", str(args[0]), ImportError, "the grader's own modules cannot be imported by a submission")
        if event == "open" and args and isinstance(args[0], (str, bytes, os.PathLike)):
            path = realpath(os.fsdecode(args[0]))
            mode, flags = args[1] if len(args) > 1 else None, args[2] if len(args) > 2 else 0
            mutating = (isinstance(mode, str) and any(c in mode for c in "wax+")) or bool((flags or 0) & writing)
            if mutating and not under(path, writable):
                refuse("write", path, PermissionError, "a submission can only change files in its work folder")
            if under(path, grader) or (under(path, refused) and not under(path, allowed)):
                refuse("open", path, PermissionError, "the grader's files cannot be read by a submission")
            parts = path.split(os.sep)
            if len(parts) > 2 and parts[1] == "proc" and parts[2].isdigit() and int(parts[2]) != getpid():
                refuse("open", path, PermissionError, "other processes cannot be inspected by a submission")
        if event in programs:
            refuse("program", str(args[0] if args else "")[:200], PermissionError,
                   "starting other programs is not allowed in this sandbox", report=False)
        if event in changes:
            for arg in args[:2]:
                if isinstance(arg, (str, bytes, os.PathLike)) and not under(realpath(os.fsdecode(arg)), writable):
                    refuse("write", realpath(os.fsdecode(arg)), PermissionError,
                           "a submission can only change files in its work folder")
    sys.addaudithook(hook)
    for name in list(sys.modules):
        if name.split(".")[0] in packages:
            del sys.modules[name]


_cs231n_grader_guard()
del _cs231n_grader_guard
'''


def kernel_guard(work_root, hidden=(), programs=False):
    """The hook's source for a kernel whose work folder is ``work_root``; ``programs``:
    may student code start other programs (yes inside bubblewrap's namespaces)."""
    work_root = os.path.realpath(str(work_root))
    grader = [str(d) for d in grader_dirs()]
    refused = private_paths(hidden)
    allowed = python_paths() + [work_root]
    writable = [work_root, "/dev"]
    return HOOK % (PROTECTED_PACKAGES, grader, refused, allowed, writable, CHANGES, () if programs else PROGRAMS,
                   CHANNEL_VARIABLE)
