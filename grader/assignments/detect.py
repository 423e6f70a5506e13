"""Which version of the assignment a submission is, when ``--assignment`` is not given.

Each built-in TOML describes its signs in a ``[detect]`` table: ``header`` (text of a
course's own notebook, e.g. "CS7353": decisive), ``names`` (notebook file names) and
``code`` (text in the notebook's code or in its ``cs231n/`` files). A header wins, then
the most specific notebook name, then the most code signs, where a tie goes to the higher ``priority`` (the more specific version: an
LSTM notebook holds RNN code too).
"""
from __future__ import annotations

import json
import re
import zipfile
from pathlib import Path

from ..errors import UsageError


def name_pattern(names):
    """A regex for notebook names: "RNN_Captioning" also matches "rnn-captioning (1)"."""
    return re.compile("|".join(re.escape(n).replace("_", "[_ -]?") for n in names), re.IGNORECASE)


def _texts(path: Path):
    """{file name: text} of the notebooks and Python files at ``path`` (a notebook, folder or zip)."""
    if path.is_file() and path.suffix.lower() == ".zip":
        try:
            with zipfile.ZipFile(path) as archive:
                return {Path(m.filename).name: archive.read(m).decode("utf-8", "replace")
                        for m in archive.infolist() if m.filename.endswith((".ipynb", ".py"))
                        and m.file_size < 50_000_000 and "__MACOSX" not in m.filename}
        except (zipfile.BadZipFile, OSError):
            return {}
    files = [path] if path.is_file() else [p for p in path.rglob("*") if p.suffix in (".ipynb", ".py")]
    if path.is_file() and (path.parent / "cs231n").is_dir():
        files += list((path.parent / "cs231n").rglob("*.py"))
    return {p.name: p.read_text(encoding="utf-8", errors="replace") for p in files if p.is_file()}


def _notebook_text(text):
    """The notebook's cells' text, or the text itself when it is not a notebook."""
    try:
        cells = json.loads(text).get("cells", [])
        return "\n".join("".join(c.get("source", "")) for c in cells if isinstance(c, dict))
    except (ValueError, AttributeError, RecursionError):
        return text


def choose(path, tables):
    """(assignment name, why) for the submission at ``path``; ``tables``: {name: raw TOML}.
    UsageError naming the known assignments when nothing matches."""
    texts = {name: _notebook_text(text) if name.endswith(".ipynb") else text
             for name, text in _texts(Path(path)).items()}
    everything = "\n".join(texts.values())
    signs = {name: raw.get("detect", {}) for name, raw in tables.items()}
    priority = {name: s.get("priority", 0) for name, s in signs.items()}
    for name, s in sorted(signs.items(), key=lambda kv: priority[kv[0]]):
        found = [h for h in s.get("header", []) if h in everything]
        if found:
            return name, "its notebook carries %s" % found[0]
    by_notebook = {}  # notebook: the assignment whose name matches it most specifically
    for notebook in (n for n in texts if n.endswith(".ipynb")):
        matches = [(len(m.group(0)), name) for name, s in signs.items() if s.get("names")
                   for m in [name_pattern(s["names"]).search(notebook)] if m]
        if matches:
            by_notebook[notebook] = max(matches)[1]
    if by_notebook:
        notebook, name = min(by_notebook.items(), key=lambda kv: priority[kv[1]])
        others = sorted(set(by_notebook.values()) - {name})
        why = "its notebook is named %s" % notebook
        return name, why + ("; it also holds the notebook of %s (--assignment %s)" % (
            ", ".join(others), ",".join([name, *others])) if others else "")
    counts = [(sum(c in everything for c in s.get("code", [])), priority[name], name) for name, s in signs.items()]
    count, _, name = max(counts)
    if not count:
        raise UsageError("%s: cannot tell which assignment this is; give --assignment (known: %s)"
                         % (path, ", ".join(sorted(tables))))
    return name, "its code uses %s" % ", ".join(c for c in signs[name]["code"] if c in everything)
