"""Reading back what the grader wrote: CSV tables, and snapshots of folders to tell what changed."""
from __future__ import annotations

import csv
import hashlib
import stat
from pathlib import Path


def read_rows(path):
    """A CSV file as a list of rows (header included), read as UTF-8."""
    with open(path, encoding="utf-8", newline="") as f:
        return list(csv.reader(f))


def read_records(path):
    """A CSV file as a list of {column: value}, one a data row."""
    with open(path, encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def snapshot(root, own_dotfiles=False):
    """{relative path: (is dir, size, mtime, SHA-256 of a regular file's bytes)} of a folder
    and everything in it; None if it is gone. ``own_dotfiles``: a HOME, where the grader's
    own libraries may add their dot-folders (IPython's ~/.ipython): those, and the folder's
    own entry, are left out."""
    root = Path(root)
    if not root.exists():
        return None
    entries = {}
    for p in [root, *root.rglob("*")]:
        relative = p.relative_to(root)
        if own_dotfiles and (not relative.parts or relative.parts[0].startswith(".")):
            continue
        st = p.lstat()
        digest = _digest(p) if stat.S_ISREG(st.st_mode) else None
        entries[relative.as_posix()] = (stat.S_ISDIR(st.st_mode), 0 if stat.S_ISDIR(st.st_mode) else st.st_size,
                                        st.st_mtime_ns, digest)
    return entries


def changes(before, after):
    """What changed between two snapshots: [(path, before, after)]."""
    if before is None or after is None:
        return [] if before == after else [(".", before is not None, after is not None)]
    return sorted((k, before.get(k), after.get(k)) for k in set(before) | set(after) if before.get(k) != after.get(k))


def _digest(path, chunk=2**20):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(chunk), b""):
            digest.update(block)
    return digest.hexdigest()
