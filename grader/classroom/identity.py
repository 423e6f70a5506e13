"""Whose is it: student identities from the names in an LMS bulk download, grouped per student.

Canvas ("Download Submissions", lib/content_zipper.rb) names every uploaded file
``<lastfirst>[_LATE]_<user id>_<file id>_<original name>``: the name is the student's
sortable name stripped to word characters, ``LATE`` is upper- or lowercase depending on
the Canvas version, anonymous grading replaces name and user id with ``anon_<id>``, and
each file of one submission has its own file id. When a student uploads a name they
uploaded before, Canvas calls the new file ``name-1.ext``, ``name-2.ext``, ...
Moodle names ``<Full Name>_<participant id>_assignsubmission_file_`` a folder per student
(or, flat, prefixes each file with it). Anything else is a plain name: a folder, notebook
or zip named after the student.
"""
from __future__ import annotations

import re
import unicodedata
from collections import defaultdict
from dataclasses import dataclass, field, replace
from pathlib import Path

from ..grade.find import NOTEBOOK_NAME

CANVAS = re.compile(r"^(?P<name>.*?)_(?:(?P<late>late)_)?(?P<user>\d+)_(?P<file>\d+)"
                    r"(?:_(?P<original>.*)|(?P<ext>\.[^._]+))?$", re.IGNORECASE)
CANVAS_ANONYMOUS = re.compile(r"^(?:(?P<late>late)_)?(?P<anon>anon_[A-Za-z0-9]+)_(?P<file>\d+)"
                              r"(?:_(?P<original>.*)|(?P<ext>\.[^._]+))?$", re.IGNORECASE)
CANVAS_TEXT_ENTRY = re.compile(r"^(?:.*?_)?(?:late_)?(?:\d+|anon_[A-Za-z0-9]+)_(?:text|link)\.html$", re.IGNORECASE)
MOODLE = re.compile(r"^(?P<name>.+?)_(?P<user>\d+)_assignsubmission_(?P<plugin>[a-z]+)_(?P<original>.*)$")
CANVAS_ATTEMPT = re.compile(r"^(?P<stem>.+?)-(?P<attempt>\d{1,2})(?P<ext>(?:\.[A-Za-z][A-Za-z0-9]*)*\.[A-Za-z0-9]+)?$")
KINDS = {".ipynb": "notebook", ".zip": "zip", ".py": "python"}
SYSTEM_NAMES = {"__macosx", "thumbs.db", "desktop.ini", "__pycache__", "cs231n"}  # and every ".name"


@dataclass(frozen=True)
class Identity:
    """Who handed in an entry, as far as its name tells."""
    id: str  # stable, filesystem-safe, unique per student: "smithjohn_12345", "jane_doe_417", "jdoe"
    name: str  # display name: Canvas's "smithjohn", Moodle's "Jane Doe", the plain stem
    user_id: str | None  # Canvas user id, Moodle participant id; None for plain and anonymous names
    submission_id: str | None  # Canvas: the uploaded file's id (one per file); else None
    late: bool
    attempt: int  # N for Canvas's "-N" resubmission suffix, else 0
    source: str  # "canvas", "moodle" or "plain"
    original: str  # the name the student uploaded, as the LMS kept it ("" when it kept none)


@dataclass(frozen=True)
class SubmittedFile:
    """One top-level entry of a submission, with the name to rebuild the student's folder with."""
    path: Path
    name: str  # original name without Canvas's "-N" ("rnn_layers.py"); "submission[.ext]" if none was kept
    identity: Identity


@dataclass
class StudentSubmission:
    """Everything one student handed in: the newest files, and the older ones they replace."""
    identity: Identity
    files: list[SubmittedFile]
    superseded: list[SubmittedFile] = field(default_factory=list)

    @property
    def paths(self) -> list[Path]:
        return [f.path for f in self.files]


@dataclass(frozen=True)
class Unrecognised:
    """An entry that is not graded, and why (with its owner when the name tells)."""
    path: Path
    reason: str
    identity: Identity | None = None


def parse_name(name: str, is_dir: bool = False) -> Identity | None:
    """The identity a file or folder name carries, or None when it names no student."""
    parsed = _parse(name, is_dir)
    return parsed if isinstance(parsed, Identity) else None


def group(paths) -> tuple[list[StudentSubmission], list[Unrecognised]]:
    """Top-level entries of an extracted batch → one submission per student, and what was not used.

    A student's files form one submission; of files uploaded under the same name the newest
    (highest "-N", then highest file id; a folder before the zip it was extracted from) is
    kept and the others are listed as superseded. In a Canvas or Moodle download, entries
    without the LMS prefix cannot be attributed and are not guessed at.
    """
    entries, unrecognised = [], []
    for path in map(Path, paths):
        parsed = _parse(path.name, path.is_dir())
        if isinstance(parsed, str):
            unrecognised.append(Unrecognised(path, parsed))
        elif _kind(path) is None:
            unrecognised.append(Unrecognised(path, "not a notebook, folder, zip or .py file", parsed))
        else:
            entries.append(SubmittedFile(path, _upload_name(parsed), parsed))
    if any(e.identity.source != "plain" for e in entries):
        lms = "/".join(sorted({e.identity.source for e in entries} - {"plain"})).title()
        unrecognised += [Unrecognised(e.path, "no %s prefix in a %s download: cannot tell whose it is" % (lms, lms))
                         for e in entries if e.identity.source == "plain"]
        entries = [e for e in entries if e.identity.source != "plain"]
    by_student = defaultdict(list)
    for entry in entries:
        identity = entry.identity
        by_student[(identity.source, identity.user_id or identity.id)].append(entry)
    submissions = []
    for files in by_student.values():
        kept, superseded = _newest(files)
        if kept[0].identity.source == "plain" and len(kept) > 1:
            unrecognised += [Unrecognised(f.path, "several entries named after %s (%s): keep one"
                                          % (f.identity.id, ", ".join(k.path.name for k in kept)), f.identity)
                             for f in kept + superseded]
            continue
        submissions.append(StudentSubmission(_representative(kept), kept, superseded))
    submissions.sort(key=lambda s: s.identity.id)
    unrecognised.sort(key=lambda u: u.path.name)
    return submissions, unrecognised


def _parse(name: str, is_dir: bool) -> Identity | str:
    """The identity in ``name``, or the reason there is none."""
    if name.startswith(".") or name.lower() in SYSTEM_NAMES:
        return "system, tool or course entry, not a student's submission"
    if CANVAS_TEXT_ENTRY.match(name):
        return "Canvas text or link entry: only uploaded files can be graded"
    found = CANVAS_ANONYMOUS.match(name)
    if found:
        return _canvas_identity(found["anon"].lower(), found["anon"], None, found)
    found = MOODLE.match(name)
    if found:
        if found["plugin"] != "file":
            return "Moodle %s entry: only file submissions can be graded" % found["plugin"]
        full_name, user = found["name"], found["user"]
        return Identity("_".join(filter(None, [_slug(full_name), user])), full_name, user, None, False, 0,
                        "moodle", found["original"])
    found = CANVAS.match(name)
    if found:
        user = found["user"]
        return _canvas_identity("_".join(filter(None, [_slug(found["name"]), user])), found["name"] or user, user,
                                found)
    stem, suffix = (name, "") if is_dir else (Path(name).stem, Path(name).suffix.lower())
    if suffix not in ("", ".ipynb", ".zip") or (not is_dir and not suffix):
        return ("a .py file with no student's name in it" if suffix == ".py"
                else "not a notebook, folder, zip or .py file")
    if not re.search(r"[^\W\d_]", NOTEBOOK_NAME.sub("", stem)):
        return "named after the assignment, not after a student"
    if not _slug(stem):
        return "no usable student name"
    return Identity(_slug(stem), stem, None, None, False, 0, "plain", name)


def _canvas_identity(sid, name, user_id, found) -> Identity:
    original = found["original"] if found["original"] is not None else (found["ext"] or "")
    attempt = CANVAS_ATTEMPT.match(original)
    return Identity(sid, name, user_id, found["file"], bool(found["late"]),
                    int(attempt["attempt"]) if attempt else 0, "canvas", original)


def _slug(text: str) -> str:
    """Lowercase word characters and hyphens; everything else one underscore (NFC, so macOS names match)."""
    return re.sub(r"[^\w-]+", "_", unicodedata.normalize("NFC", text).lower()).strip("_-")


def _kind(path: Path) -> str | None:
    return "folder" if path.is_dir() else KINDS.get(path.suffix.lower())


def _upload_name(identity: Identity) -> str:
    attempt = CANVAS_ATTEMPT.match(identity.original) if identity.source == "canvas" else None
    name = attempt["stem"] + (attempt["ext"] or "") if attempt else identity.original
    return name if name and not name.startswith(".") else "submission" + name


def _newest(files: list[SubmittedFile]) -> tuple[list[SubmittedFile], list[SubmittedFile]]:
    """Per upload name (a zip and its extracted folder share one), the newest file and the rest."""
    by_name = defaultdict(list)
    for f in files:
        by_name[re.sub(r"\.zip$", "", f.name.lower())].append(f)
    kept, superseded = [], []
    for same in by_name.values():
        same.sort(key=_rank, reverse=True)
        kept.append(same[0])
        superseded += same[1:]
    return sorted(kept, key=lambda f: f.name), sorted(superseded, key=lambda f: f.path.name)


def _rank(f: SubmittedFile):
    return f.identity.attempt, int(f.identity.submission_id or 0), f.path.is_dir()


def _representative(kept: list[SubmittedFile]) -> Identity:
    """The submission's identity: its newest notebook, folder or zip (else file), late if any file was."""
    main = max(kept, key=lambda f: (_kind(f.path) != "python", _rank(f)))
    return replace(main.identity, late=any(f.identity.late for f in kept))
