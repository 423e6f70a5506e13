"""Python 2 cells and files made Python 3 (grader/grade/py2.py), without a kernel."""
import nbformat
import pytest

from grader.grade.py2 import convert, convert_submission, needs_conversion

PYTHON3 = ["x = 1\nprint(x)\n", "if (n := 3) > 2:\n    print(f'{n}')", "%matplotlib inline\nimport numpy as np",
           "", "from __future__ import print_function\nprint('a', end='')"]


@pytest.mark.parametrize("source", PYTHON3, ids=["plain", "walrus-fstring", "magic", "empty", "future-print"])
def test_python3_code_needs_no_conversion(source):
    assert not needs_conversion(source)


@pytest.mark.parametrize("source, converted", [
    ("print 'hello'", "print('hello')"),
    ("print 'hello'\n", "print('hello')\n"),  # the trailing newline, or its absence, is kept
    ("for k, v in d.iteritems():\n    print k, v", "for k, v in d.items():\n    print(k, v)"),
    ("for i in xrange(3):\n    pass", "for i in range(3):\n    pass"),  # compiles, but xrange is gone
    ("try:\n    pass\nexcept ValueError, e:\n    raise", "try:\n    pass\nexcept ValueError as e:\n    raise"),
    ("name = raw_input('?')", "name = input('?')"),
], ids=["print", "print-newline", "iteritems", "xrange", "except-comma", "raw_input"])
def test_python2_code_is_converted(source, converted):
    assert needs_conversion(source)
    assert convert(source) == converted


def test_magics_and_shell_lines_are_kept_where_they_were():
    source = "%matplotlib inline\nprint 'loaded'\n!ls data\nfor i in xrange(2):\n    %time x = i"
    assert needs_conversion(source)
    assert convert(source) == "%matplotlib inline\nprint('loaded')\n!ls data\nfor i in range(2):\n    %time x = i"


@pytest.mark.parametrize("source", ["def broken(:\n    pass", "print 'a'\n  x = 1", "print 'unclosed"],
                         ids=["bad-def", "bad-indent", "unclosed-string"])
def test_code_that_is_neither_python_2_nor_3_is_not_converted(source):
    assert needs_conversion(source)
    assert convert(source) is None


@pytest.mark.parametrize("source", ["# in Python 2 this was xrange(n)\nx = 1", "from six.moves import cPickle",
                                    "print('use raw_input( in Python 2')", "def unicode(s):\n    return str(s)\nunicode(3)"])
def test_python3_code_that_only_mentions_python2_names_needs_no_conversion(source):
    assert not needs_conversion(source)


def _notebook(*sources):
    cells = [nbformat.v4.new_markdown_cell("print 'markdown is never code'")]
    return nbformat.v4.new_notebook(cells=cells + [nbformat.v4.new_code_cell(s) for s in sources])


def _package(root, files):
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)


FILES = {"cs231n/rnn_layers.py": "import numpy as np\nprint 'layers'\n",
         "cs231n/classifiers/rnn.py": "import numpy as np\n",
         "cs231n/broken.py": "def f(:\n",
         "cs231n/datasets/get_data.py": "print 'left alone: data, not code'\n"}


def test_submission_cells_and_files_are_converted_in_place_and_listed(tmp_path):
    nb = _notebook("x = 1", "print x", "def f(:\n    pass")
    _package(tmp_path, FILES)
    report = convert_submission(nb, tmp_path)
    assert report == {"converted": ["cell 2", "cs231n/rnn_layers.py"], "not_converted": ["cell 3", "cs231n/broken.py"]}
    assert [c.source for c in nb.cells] == ["print 'markdown is never code'", "x = 1", "print(x)", "def f(:\n    pass"]
    assert (tmp_path / "cs231n" / "rnn_layers.py").read_text() == "import numpy as np\nprint('layers')\n"
    for name in ("cs231n/classifiers/rnn.py", "cs231n/broken.py", "cs231n/datasets/get_data.py"):
        assert (tmp_path / name).read_text() == FILES[name], name


def test_conversion_off_lists_python2_code_and_changes_nothing(tmp_path):
    nb = _notebook("x = 1", "print x")
    _package(tmp_path, FILES)
    report = convert_submission(nb, tmp_path, enabled=False)
    assert report == {"converted": [], "not_converted": ["cell 2", "cs231n/broken.py", "cs231n/rnn_layers.py"]}
    assert nb.cells[2].source == "print x"
    assert all((tmp_path / name).read_text() == text for name, text in FILES.items())
