"""Turn what the user pointed at into a submission copied to a private work folder.

A submission is a notebook, a folder holding one (with its ``cs231n/`` package),
or a zip of such a folder. The original is only read, never modified.
"""
from __future__ import annotations

import json
import re
import shutil
import zipfile
from dataclasses import dataclass
from pathlib import Path

from ..errors import UsageError

NOTEBOOK_NAME = re.compile(r"rnn[_ -]?captioning", re.IGNORECASE)
CONTENT_MARKERS = ("CaptioningRNN", "rnn_step_forward")
MAX_UNZIPPED = 2 * 1024**3
SKIP_DIRS = {".git", "__pycache__", ".ipynb_checkpoints", "datasets"}


@dataclass(frozen=True)
class Submission:
    id: str
    source: Path  # what the user gave
    workdir: Path  # the private copy's root (the notebook's folder)
    notebook: Path  # the notebook inside workdir


def submission_id(path: Path) -> str:
    name = path.name
    for suffix in (".ipynb", ".zip"):
        if name.lower().endswith(suffix):
            name = name[: -len(suffix)]
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("._") or "submission"


def check_notebook(path: Path):
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, RecursionError) as exc:  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        raise UsageError("%s is not a notebook: invalid JSON (%s)" % (path, exc)) from None
    if not isinstance(data, dict) or not isinstance(data.get("cells"), list):
        raise UsageError("%s is not a Jupyter notebook: no list of cells" % path)


def _pick_notebook(folder: Path, pattern=NOTEBOOK_NAME) -> Path:
    notebooks = sorted(p for p in folder.rglob("*.ipynb")
                       if not any(part in SKIP_DIRS for part in p.relative_to(folder).parts))
    if not notebooks:
        raise UsageError("%s holds no .ipynb notebook" % folder)
    named = [p for p in notebooks if pattern.search(p.name)]
    if named:
        return min(named, key=lambda p: (len(p.relative_to(folder).parts), len(p.name)))
    for p in notebooks:
        text = p.read_text(encoding="utf-8", errors="replace")
        if any(marker in text for marker in CONTENT_MARKERS):
            return p
    return notebooks[0]


def _outside_link(path: Path, root: Path):
    """True for a symlink that leads out of ``root`` or back up into its own folder (a loop)."""
    if not path.is_symlink():
        return False
    target = path.resolve()
    inside = target == root or root in target.parents
    return not inside or target in path.parent.resolve().parents or target == path.parent.resolve()


def copy_folder(src: Path, dest: Path, root: Path | None = None):
    """Copy ``src``; symlinks are followed only when they stay inside ``root`` (default ``src``)."""
    root = (root or src).resolve()

    def ignore(directory, names):
        return [n for n in names if n in SKIP_DIRS or _outside_link(Path(directory) / n, root)]
    shutil.copytree(src, dest, ignore=ignore)


def extract(zip_path: Path, dest: Path):
    try:
        with zipfile.ZipFile(zip_path) as archive:
            members = archive.infolist()
            if sum(m.file_size for m in members) > MAX_UNZIPPED:
                raise UsageError("%s unpacks to more than 2 GiB" % zip_path)
            for member in members:
                target = (dest / member.filename).resolve()
                if not str(target).startswith(str(dest.resolve())) or member.filename.startswith("__MACOSX"):
                    continue
                archive.extract(member, dest)
    except zipfile.BadZipFile:
        raise UsageError("%s is not a valid zip file" % zip_path) from None


def find(path, work_root: Path, pattern=NOTEBOOK_NAME) -> Submission:
    """Copy ``path`` into ``work_root`` and locate its notebook: the one named like ``pattern``
    (the assignment's notebook), else one that defines the assignment's code."""
    path = Path(path)
    if not path.exists():
        raise UsageError("%s: no such file or folder" % path)
    sid = submission_id(path)
    copy_root = work_root / "submission"
    if path.is_dir():
        copy_folder(path, copy_root)
    elif path.suffix.lower() == ".zip":
        copy_root.mkdir(parents=True)
        extract(path, copy_root)
    elif path.suffix.lower() == ".ipynb":
        check_notebook(path)
        copy_root.mkdir(parents=True)
        shutil.copy2(path, copy_root / path.name)
        beside = path.parent / "cs231n"
        if beside.is_dir():
            copy_folder(beside, copy_root / "cs231n", root=path.parent)
    else:
        raise UsageError("%s is not a notebook (.ipynb), a folder or a .zip" % path)
    notebook = _pick_notebook(copy_root, pattern)
    check_notebook(notebook)
    return Submission(sid, path, notebook.parent, notebook)
