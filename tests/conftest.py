"""Fixtures shared by the test files, and the seed sweep's summary.

Plain helpers live in modules the tests import: e2e (grade a built notebook, read its
items), class_records (synthetic results.json records and policy entries), files (CSV
tables and folder snapshots), notebooks and classes (build submissions and classes).
Tests that start kernels or take more than a couple of seconds are marked ``slow``:
``pytest -m "not slow"`` is the quick run.

tests/test_seeds.py records its worst margins as test properties, which reach this
process from pytest-xdist workers too; the hook below prints them after the run (a test
module cannot hold a summary hook).
"""
import pytest

TOP = 25


@pytest.fixture
def course_toml(tmp_path):
    """A writer of course TOMLs that extend ``rnn``: ``course_toml(text, name)`` gives the path."""
    def write(text, name="course.toml"):
        path = tmp_path / name
        path.write_text('extends = "rnn"\n' + text)
        return str(path)
    return write


def _merged(terminalreporter, name, pick):
    merged = {}
    for reports in terminalreporter.stats.values():
        for report in reports:
            for prop, value in getattr(report, "user_properties", ()):
                if prop == name:
                    for key, entry in value.items():
                        if key not in merged or pick(entry[0], merged[key][0]):
                            merged[key] = tuple(entry)
    return merged


def pytest_terminal_summary(terminalreporter):
    """The calibration's headroom as the seed sweep measured it."""
    worst = _merged(terminalreporter, "seed margins", lambda new, old: new > old)
    if not worst:
        return
    write = terminalreporter.write_line
    terminalreporter.section("seed sweep: worst margin (value / threshold) of each check of correct code")
    ranked = sorted(worst.items(), key=lambda kv: -kv[1][0])
    for key, (value, seed) in ranked[:TOP]:
        write("%7.2g  %s  (seed %d)" % (value, key, seed))
    key, (value, seed) = ranked[0]
    write("overall worst of %d checks: %.3g, %s (seed %d)" % (len(ranked), value, key, seed))
    weakest = _merged(terminalreporter, "seed weakest failures", lambda new, old: new < old)
    if weakest:
        terminalreporter.section("seed sweep: weakest failure of each bug (its largest failing value / threshold)")
        finite = sorted((value, seed, key) for key, (value, seed) in weakest.items() if value != float("inf"))
        for value, seed, key in finite[:TOP // 2]:
            write("%7.2g  %s  (seed %d)" % (value, key, seed))
        write("%d of %d bugs fail a shape, None or exact check on every seed"
              % (len(weakest) - len(finite), len(weakest)))
