"""The assignment's given (not graded) modules, supplied when a submission's are missing or broken.

A student's ``cs231n/`` package may lack the starter files (``coco_utils``,
``captioning_solver``, ...) or carry versions that no longer import (``scipy.misc.imread``
is gone). The kernel tries to import each; those that fail are replaced, in the private
work copy only, by the template's version. Graded files are never replaced.
"""
from __future__ import annotations

import shutil
from pathlib import Path



def supply_given(backend, workdir: Path, template, given):
    """Replace missing or failing modules of ``given`` (names, in import order) under
    ``workdir/cs231n`` by ``template``'s (the assignment's ``cs231n/``); return {module: why}."""
    package = workdir / "cs231n"
    if template is None or not given or not any(package.rglob("*.py")):  # a self-contained notebook (only our data set is there)
        return {}
    supplied = {}
    for _ in given:  # one at a time, in import order: coco_utils may be all that breaks the solver
        remaining = ["cs231n.%s" % name for name in given if "cs231n/%s.py" % name not in supplied]
        reply = backend.request("import_check", 60, modules=remaining)
        problems = reply.values.get("import_errors", {})  # none when the check could not run
        failing = [m for m in remaining if m in problems]
        if not failing:
            break
        name = failing[0].split(".", 1)[1]
        shutil.copyfile(template / ("%s.py" % name), package / ("%s.py" % name))
        supplied["cs231n/%s.py" % name] = str(problems[failing[0]])  # student modules ran: any JSON may come back
    return supplied
