"""The grader as a TA installs it: a wheel in a fresh venv, `grade` started by its path.

No activated venv, no `python` on PATH (only Debian's own `python3`, without numpy): the
kernel must still run on the venv's interpreter, under bubblewrap wherever bwrap works.
"""
import json
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import pytest

from grader.sandbox.isolation import bubblewrap_status

import make_demo

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[1]
BARE_PATH = "/usr/bin:/bin"  # what cron and `env -i` give: no venv, no pyenv shims


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    source, out = tmp_path_factory.mktemp("source") / "grader", tmp_path_factory.mktemp("wheel")
    # a clean copy: setuptools' build/ folder in a checkout keeps files that no longer exist
    shutil.copytree(REPO, source, ignore=shutil.ignore_patterns(".git", "build", "*.egg-info", "__pycache__",
                                                                ".venv", "reports"))
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(out), str(source)],
                   check=True, capture_output=True, timeout=600)
    (found,) = out.glob("*.whl")
    return found


@pytest.fixture(scope="module")
def venv(wheel):
    """A venv with the wheel installed under the TA's HOME, which the sandbox hides (.ci/run's
    own venv, where the suite runs, is the one under /tmp)."""
    parent = Path.home() / ".cache"
    parent.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix="grader-venv-", dir=parent))
    try:
        subprocess.run([sys.executable, "-m", "venv", str(folder)], check=True, timeout=300)
        subprocess.run([str(folder / "bin" / "pip"), "install", "-q", str(wheel)], check=True, capture_output=True,
                       timeout=900)
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def bare(venv, *args, cwd):
    """``venv/bin/grade ARGS`` as cron or pipx would start it: by path, nearly empty environment."""
    return subprocess.run(["env", "-i", "PATH=" + BARE_PATH, "HOME=" + str(Path.home()), str(venv / "bin" / "grade"),
                           *args], capture_output=True, text=True, timeout=600, cwd=cwd)


def test_installed_wheel_grades_the_demo_by_path(venv, tmp_path):
    done = bare(venv, "--demo", "--json", "--out", str(tmp_path / "out"), cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    results = json.loads(done.stdout)
    sandbox = results["execution"]["sandbox"]
    assert sandbox["level"] == ("bubblewrap" if bubblewrap_status()[0] else "rlimits"), bubblewrap_status()
    assert Path(sandbox["python"]).parent == venv / "bin", sandbox["python"]  # the venv's, not /usr/bin's
    failing = {i["name"] for i in results["items"] if i["status"] != "passed"}
    assert failing == {"rnn_backward", "word_embedding_backward", "CaptioningRNN.sample"}
    assert [r for r in results["policy"] if not r["passed"]] == []
    assert (tmp_path / "out" / "demo" / "report.html").is_file()


def test_installed_wheel_hides_itself_from_the_sandbox(venv, tmp_path):
    done = bare(venv, "--check-sandbox", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "sees the grader's files: no" in done.stdout, done.stdout
    if bubblewrap_status()[0]:
        assert done.stdout.startswith("isolation level: bubblewrap"), done.stdout


def test_installed_wheel_ships_what_it_reads(venv):
    site = next((venv / "lib").glob("python3*/site-packages"))
    for shipped in ("grader/templates/report.html.j2", "grader/assignments/rnn.toml", "grader/demo/demo.ipynb",
                    "student_template/module/cs231n/captioning_solver.py",
                    "student_template/notebook/RNN_Captioning.ipynb", "reference/rnn_layers.py"):
        assert (site / shipped).is_file(), shipped
    assert (site / "grader" / "demo" / "demo.ipynb").read_bytes() == make_demo.DEMO.read_bytes()


def test_gradescope_zip_installs_without_editable_mode(tmp_path):
    """setup.sh runs a plain `pip install grader_src`: the zip's packages and generated
    pyproject.toml must build a wheel holding everything the grader reads."""
    from grader.export import gradescope

    with zipfile.ZipFile(gradescope.build_autograder(tmp_path / "autograder.zip")) as archive:
        archive.extractall(tmp_path / "source")
    assert "pip\" install \"$ROOT/source/grader_src\"" in (tmp_path / "source" / "setup.sh").read_text()
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(tmp_path / "wheel"),
                    str(tmp_path / "source" / "grader_src")], check=True, capture_output=True, timeout=600)
    (built,) = (tmp_path / "wheel").glob("*.whl")
    names = set(zipfile.ZipFile(built).namelist())
    assert {"grader/templates/report.html.j2", "grader/assignments/rnn.toml", "grader/demo/demo.ipynb",
            "student_template/module/cs231n/captioning_solver.py", "reference/rnn_layers.py"} <= names
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    assert "grade = grader.cli:main" in zipfile.ZipFile(built).read(entry_points).decode()


def test_installed_wheel_writes_a_student_kit_that_runs_on_the_demo(venv, tmp_path):
    """What a TA hands out, written by the installed `grade`, run as a student runs it."""
    done = bare(venv, "--student-kit", str(tmp_path), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    shutil.copy(make_demo.DEMO, tmp_path / "RNN_Captioning.ipynb")
    run = subprocess.run([str(venv / "bin" / "python"), "-m", "rnn_check", "RNN_Captioning.ipynb"],
                         capture_output=True, text=True, timeout=300, cwd=tmp_path,
                         env={"PATH": BARE_PATH, "HOME": str(Path.home())})
    assert run.returncode == 1, run.stdout + run.stderr
    failing = {line.split()[1] for line in run.stdout.splitlines() if line.startswith("FAIL")}
    assert failing == {"rnn_backward", "word_embedding_backward", "CaptioningRNN.sample"}, run.stdout
