"""Files the grader writes: atomically, and HTML through one Jinja2 environment."""
from __future__ import annotations

import os
import tempfile
from contextlib import contextmanager
from pathlib import Path

from jinja2 import Environment, PackageLoader, select_autoescape

from . import vocabulary


@contextmanager
def atomic_file(path, mode="w"):
    """A file open for writing that replaces ``path`` only when the block ends without an
    error, so readers never see half a file; ``mode`` "w" (UTF-8 text) or "wb"."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix="." + path.name)
    try:
        with os.fdopen(fd, mode, **({} if "b" in mode else {"encoding": "utf-8"})) as f:
            yield f
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_atomic(path, text: str):
    """Write ``text`` to ``path`` atomically."""
    with atomic_file(path) as f:
        f.write(text)


def environment() -> Environment:
    """The grader's templates, autoescaped, with the status vocabulary and the ``num`` filter."""
    env = Environment(loader=PackageLoader("grader", "templates"), autoescape=select_autoescape(["html", "j2"]))
    env.filters["num"] = lambda v: "" if v is None else ("%.3g" % v if isinstance(v, float) else str(v))
    env.globals.update(Status=vocabulary.Status, consequence=vocabulary.consequence)
    return env
