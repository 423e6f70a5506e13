"""Fixtures shared by the test files.

Plain helpers live in modules the tests import: e2e (grade a built notebook, read its
items), class_records (synthetic results.json records and policy entries), files (CSV
tables and folder snapshots), notebooks and classes (build submissions and classes).
Tests that start kernels or take more than a couple of seconds are marked ``slow``:
``pytest -m "not slow"`` is the quick run.
"""
import pytest


@pytest.fixture
def course_toml(tmp_path):
    """A writer of course TOMLs that extend ``rnn``: ``course_toml(text, name)`` gives the path."""
    def write(text, name="course.toml"):
        path = tmp_path / name
        path.write_text('extends = "rnn"\n' + text)
        return str(path)
    return write
