"""The kernel runs with a clean environment and a private HOME."""
import json

from grader.execute import KernelSession


def test_kernel_sees_no_grader_variables_and_has_its_own_home(tmp_path, monkeypatch):
    monkeypatch.setenv("TA_API_TOKEN", "secret-value")
    work = tmp_path / "submission"
    work.mkdir()
    with KernelSession(work) as session:
        outcome = session.run("import os, json\nprint(json.dumps(dict(os.environ)))", timeout=30)
    env = json.loads(outcome.outputs[0]["text"])
    assert "TA_API_TOKEN" not in env and "secret-value" not in json.dumps(env)
    assert env["HOME"] == str(tmp_path / "home") and env["OPENBLAS_NUM_THREADS"] == "1"
