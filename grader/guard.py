"""An audit hook installed in the kernel before any student code runs.

It refuses imports of the grader's own packages (``reference``, ``grader``) and opening
files under their folders, so student code cannot call the reference solution or read
the grader. ``sys.addaudithook`` hooks cannot be removed by later code. The grader's
probe never needs either: it sends its code as source text.
"""
from pathlib import Path

import grader
import reference

PROTECTED_PACKAGES = ("reference", "grader")
PROTECTED_DIRS = tuple(str(Path(p.__file__).resolve().parent) for p in (grader, reference))

KERNEL_GUARD = '''
def _cs231n_grader_guard(packages=%r, folders=%r):
    import os
    import sys

    def hook(event, args):
        if event == "import" and args and str(args[0]).split(".")[0] in packages:
            raise ImportError("the grader's own modules cannot be imported by a submission")
        if event == "open" and args and isinstance(args[0], (str, bytes, os.PathLike)):
            path = os.path.realpath(os.fsdecode(args[0]))
            if any(path == f or path.startswith(f + os.sep) for f in folders):
                raise PermissionError("the grader's files cannot be read by a submission")
    sys.addaudithook(hook)
    for name in list(sys.modules):
        if name.split(".")[0] in packages:
            del sys.modules[name]


_cs231n_grader_guard()
del _cs231n_grader_guard
''' % (PROTECTED_PACKAGES, PROTECTED_DIRS)
