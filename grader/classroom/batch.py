"""What the TA pointed at, as a list of jobs: one per student, staged and keyed for the cache.

A path is one submission (a notebook, a folder or zip holding one) or a batch: a folder
or zip of many (an LMS bulk download, a folder of notebooks or of students' folders,
with zips inside zips). Each student's files are staged into a folder of their own, in
the layout the grader expects (``.py`` files of the cs231n package go back into it), and
keyed by content, so a rerun finds what is already graded.
"""
from __future__ import annotations

import hashlib
import json
import shutil
import zipfile
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from .. import __version__
from ..errors import UsageError
from ..resources import package_dirs
from ..grade.find import NOTEBOOK_NAME, copy_folder, extract, submission_id
from .identity import Identity, Unrecognised, group, parse_name

GRADABLE = (".ipynb", ".zip")
# Where a loose .py file of the assignment belongs in the student's folder.
PACKAGE_FILES = {"rnn.py": "cs231n/classifiers/rnn.py", "__init__.py": None}
PACKAGE_MODULES = {"rnn_layers", "layers", "optim", "captioning_solver", "coco_utils", "gradient_check",
                   "image_utils", "fast_layers", "layer_utils"}


@dataclass
class Job:
    """One student's submission, staged for grading."""
    identity: Identity
    staged: Path  # a folder holding the submission, or a single notebook
    superseded: list[str] = field(default_factory=list)  # older files this one replaces
    key: str = ""

    @property
    def student(self):
        return asdict(self.identity)


def _plain(path: Path) -> Identity:
    sid = submission_id(path)
    return Identity(sid, sid, None, None, False, 0, "plain", path.name)


def _entries(folder: Path):
    return sorted(p for p in folder.iterdir() if not p.name.startswith("."))


def _is_single(entries) -> bool:
    """Does this listing hold one submission (a notebook named like the assignment, or a
    cs231n/ package) rather than many? LMS names always mean many."""
    identities = [parse_name(p.name, p.is_dir()) for p in entries]
    if any(identity and identity.source != "plain" for identity in identities):
        return False
    if any(p.name == "cs231n" and p.is_dir() for p in entries):
        return True
    if any(p.suffix == ".ipynb" and NOTEBOOK_NAME.search(p.name) for p in entries):
        return True
    gradable = [p for p in entries if p.is_dir() or p.suffix.lower() in GRADABLE]
    return len(gradable) <= 1


def _unwrap(folder: Path) -> Path:
    """A zip often wraps everything in one top folder: descend into it."""
    entries = [p for p in _entries(folder) if p.name != "__MACOSX"]
    while len(entries) == 1 and entries[0].is_dir() and entries[0].name != "cs231n" \
            and not parse_name(entries[0].name, True):
        folder = entries[0]
        entries = [p for p in _entries(folder) if p.name != "__MACOSX"]
    return folder


def expand(paths, staging: Path):
    """(jobs, unrecognised, batch) for what the TA pointed at. ``batch`` is True when any
    path held several submissions."""
    jobs, unrecognised, batch = [], [], False
    for number, raw in enumerate(map(Path, paths)):
        if raw.is_file() and raw.suffix.lower() == ".ipynb":
            jobs.append(Job(_plain(raw), raw))
            continue
        container = raw
        if raw.is_file() and raw.suffix.lower() == ".zip":
            container = staging / "inputs" / ("%d-%s" % (number, submission_id(raw)))
            container.mkdir(parents=True)
            extract(raw, container)
            container = _unwrap(container)
        elif not raw.is_dir():
            raise UsageError("%s is not a notebook (.ipynb), a folder or a .zip" % raw)
        entries = _entries(container)
        if _is_single(entries):
            jobs.append(Job(_plain(raw), raw))
            continue
        batch = True
        submissions, skipped = group(entries)
        unrecognised += [replace(u, path=Path(raw.name) / u.path.relative_to(container)) for u in skipped]
        for submission in submissions:
            target = staging / "students" / submission.identity.id
            if target.exists():
                unrecognised += [Unrecognised(Path(raw.name) / f.path.relative_to(container),
                                              "a second submission for %s in another input: the first is graded"
                                              % submission.identity.id) for f in submission.files]
                continue
            _stage(submission.files, target)
            jobs.append(Job(submission.identity, target, [f.path.name for f in submission.superseded]))
    ids = [j.identity.id for j in jobs]
    duplicates = {i for i in ids if ids.count(i) > 1}
    if duplicates:
        raise UsageError("two submissions would share the id %s: give them different names"
                         % ", ".join(sorted(duplicates)))
    return jobs, unrecognised, batch


def _stage(files, target: Path):
    """Rebuild one student's folder from their files (loose cs231n modules go back into
    the package; a zip or folder is unpacked in place)."""
    target.mkdir(parents=True)
    for f in files:
        if f.path.is_dir():
            copy_folder(f.path, target / f.name)
        elif f.path.suffix.lower() == ".zip":
            folder = target / Path(f.name).stem
            folder.mkdir(parents=True, exist_ok=True)
            extract(f.path, folder)
        else:
            destination = target / _package_place(f.name)
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(f.path, destination)
    _unpack_nested(target)


def _unpack_nested(folder: Path, depth=3):
    """A student folder whose notebook is inside a zip (zipped, then uploaded to a
    folder-per-student LMS): unpack its zips in our copy, a few levels deep at most."""
    for _ in range(depth):
        if any(folder.rglob("*.ipynb")):
            return
        zips = sorted(folder.rglob("*.zip"))
        if not zips:
            return
        for archive in zips:
            inside = archive.with_suffix("")
            inside.mkdir(exist_ok=True)
            extract(archive, inside)
            archive.unlink()


def _package_place(name: str) -> str:
    if name in PACKAGE_FILES:
        return PACKAGE_FILES[name] or "cs231n/__init__.py"
    if name.endswith(".py") and name[:-3] in PACKAGE_MODULES:
        return "cs231n/" + name
    return name


def content_digest(path: Path) -> str:
    """A hash of every file's relative name and bytes under ``path`` (or of one file)."""
    digest = hashlib.sha256()
    files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file() and not p.is_symlink())
    for file in files:
        digest.update((file.name if path.is_file() else file.relative_to(path).as_posix()).encode() + b"\0")
        with open(file, "rb") as handle:
            for chunk in iter(lambda: handle.read(1 << 20), b""):
                digest.update(chunk)
        digest.update(b"\0")
    return digest.hexdigest()


def grader_digest() -> str:
    """The grader's version and a hash of its own code, reference and templates: a changed
    grader does not reuse old results."""
    digest = hashlib.sha256(__version__.encode())
    for name, folder in package_dirs().items():
        for file in sorted(folder.rglob("*")):
            if file.is_file() and "__pycache__" not in file.parts and file.suffix != ".pyc":
                digest.update(name.encode() + b"/" + file.relative_to(folder).as_posix().encode() + b"\0"
                              + file.read_bytes())
    return digest.hexdigest()


def cache_key(job: Job, settings_raw: dict, seed: int, public_only: bool, grader: str) -> str:
    """The cache key of one job: submission content, grader, settings and seed."""
    parts = {"content": content_digest(job.staged), "grader": grader, "settings": settings_raw, "seed": seed,
             "public_only": public_only}
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:32]


def zip_folder(path: Path) -> bytes:
    """The staged submission as zip bytes, to ship to a remote worker."""
    from io import BytesIO
    buffer = BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        if path.is_file():  # a notebook, with the cs231n/ package beside it if there is one
            archive.write(path, path.name)
            beside = path.parent / "cs231n"
            for file in sorted(p for p in beside.rglob("*") if p.is_file()) if beside.is_dir() else ():
                archive.write(file, file.relative_to(path.parent).as_posix())
        else:
            for file in sorted(p for p in path.rglob("*") if p.is_file()):
                archive.write(file, file.relative_to(path).as_posix())
    return buffer.getvalue()

