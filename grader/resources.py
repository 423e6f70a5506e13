"""Where the grader's packaged files are: the one module that knows.

Everything is found through ``importlib.resources``, so a checkout, an editable install,
a wheel in a venv and an sdist all work alike; no module computes a path from the
repository root.
"""
from __future__ import annotations

import json
from importlib import metadata
from importlib.resources import files
from pathlib import Path
from urllib.parse import unquote, urlparse

NOTEBOOK = "RNN_Captioning.ipynb"
DISTRIBUTION = "cs231n-rnn-grader"


def _package(name) -> Path:
    return Path(str(files(name)))


def grader_path(*parts) -> Path:
    """A file or folder shipped inside the ``grader`` package (templates, demo, TOMLs)."""
    return _package("grader").joinpath(*parts)


def student_template(form="notebook") -> Path:
    """The folder students receive for one form: ``notebook`` or ``module``."""
    return _package("student_template") / form


def template_file(relative) -> Path:
    """A file under student_template/, named as an assignment's TOML names it."""
    return _package("student_template") / relative


def reference_source(module) -> str:
    """Source of one module of the reference solution."""
    return (_package("reference") / (module + ".py")).read_text()


def package_dirs() -> dict:
    """{package name: installed folder} of everything the grader ships: hidden from student
    code, hashed into the cache key, packed into the Gradescope zip."""
    return {name: _package(name).resolve() for name in ("grader", "reference", "student_template")}


def source_checkout():
    """The source tree the grader was installed from or runs in, if it is on this machine:
    the folder around the packages (a checkout, an editable install), else the local folder
    pip recorded in ``direct_url.json`` (PEP 610) for ``pip install .``. None otherwise."""
    candidates = [package_dirs()["grader"].parent]
    try:
        url = json.loads(metadata.distribution(DISTRIBUTION).read_text("direct_url.json") or "{}").get("url", "")
    except (metadata.PackageNotFoundError, ValueError):
        url = ""
    if url.startswith("file://"):
        candidates.append(Path(unquote(urlparse(url).path)))
    for folder in candidates:
        if (folder / "pyproject.toml").is_file() and (folder / "reference").is_dir():
            return folder.resolve()
    return None
