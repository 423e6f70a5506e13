"""The pre-check's slice: what defines the graded functions runs, training, plots and data do not."""
import textwrap

import nbformat
import pytest

import notebooks
from grader import assignments
from grader.kit.runtime.slicing import plan, python_source, targets

RNN = assignments.load("rnn")


def cells_of(path):
    nb = nbformat.read(str(path), as_version=4)
    return [(i, c.source) for i, c in enumerate(nb.cells) if c.cell_type == "code"]


def sliced(*sources, names=("f",), whole_unreadable=True):
    """The plan for cells made of ``sources`` (dedented), numbered from 0."""
    return plan([(i, textwrap.dedent(s)) for i, s in enumerate(sources)], names, whole_unreadable)


@pytest.mark.parametrize("form", ["notebook", "module"])
def test_a_solved_template_keeps_its_definitions_and_drops_checks_training_and_data(tmp_path, form):
    path = notebooks.build_submission(form, tmp_path, solutions="reference")
    path = path if form == "notebook" else path / notebooks.NOTEBOOK_NAME
    cells = cells_of(path)
    result = plan(cells, targets(RNN.graded_functions))
    kept = "\n".join(result.sources.values())
    for dropped in ("CaptioningSolver(", "load_coco_data(", "rel_error(", ".train()", "sample_coco_minibatch("):
        assert dropped not in kept, dropped
    if form == "notebook":
        for name in RNN.graded_functions:
            assert "def %s(" % name.split(".")[-1] in kept, name
        assert "import numpy as np" in kept
    else:
        assert "from cs231n.rnn_layers import *" in kept and "from cs231n.classifiers.rnn import CaptioningRNN" in kept
    assert result.kept < result.total / 4 and not result.unreadable
    original = dict(cells)
    for index, source in result.sources.items():  # kept lines stay where they were
        for number, line in enumerate(source.split("\n")):
            assert line in ("", original[index].split("\n")[number])


def test_names_read_by_a_function_keep_every_binding_and_names_read_now_the_last_one_before():
    result = sliced("import numpy as np\nSCALE = 2\nunused = np.zeros(10**6)",
                    "def f(x):\n    return helper(x) * SCALE",
                    "def helper(x):\n    return np.tanh(x)",
                    "SCALE = 3\nLIMIT = SCALE + 1\nfor epoch in range(10**9):\n    pass",
                    "SCALE = LIMIT * 2")
    assert result.sources[0] == "import numpy as np\nSCALE = 2"
    assert result.sources[1].startswith("def f") and result.sources[2].startswith("def helper")
    assert result.sources[3] == "SCALE = 3\nLIMIT = SCALE + 1"  # no training loop
    assert result.sources[4] == "SCALE = LIMIT * 2"
    assert result.whole == {1, 2, 4}


def test_changes_to_needed_objects_star_imports_and_path_setup_are_kept():
    result = sliced("import sys, os\nsys.path.append('..')\nos.chdir('.')\nfrom cs231n.layers import *",
                    "CONFIG = {}\nCONFIG['lr'] = 1\nother = {}\nother['lr'] = 2",
                    "def f():\n    return CONFIG['lr']",
                    "class Model:\n    pass\nModel.f = f\nplt_config = 1")
    assert result.sources[0].split("\n") == ["import sys, os", "sys.path.append('..')", "os.chdir('.')",
                                             "from cs231n.layers import *"]
    assert result.sources[1] == "CONFIG = {}\nCONFIG['lr'] = 1"
    assert 3 not in result.sources, "Model is not needed, so neither is changing it"
    assert plan([(3, "class Model:\n    pass\nModel.f = f")], ["Model"]).sources[3].endswith("Model.f = f")


def test_class_bodies_and_defaults_read_at_definition_and_methods_when_called():
    result = sliced("import numpy as np\nDTYPE = np.float32\nDTYPE = np.float64",
                    "class f:\n    kind = DTYPE\n    def m(self, a=DTYPE):\n        return layer(a)",
                    "def layer(a):\n    return a",
                    "DTYPE = None")
    assert result.sources[0].split("\n") == ["import numpy as np", "", "DTYPE = np.float64"]
    assert 2 in result.sources and 3 not in result.sources


def test_ipython_syntax_is_read_and_unreadable_cells_run_whole_only_in_a_kernel():
    magic = "%matplotlib inline\n!ls\ndef f():\n    return 1\nx = %time 1"
    assert python_source(magic) is not None
    result = sliced(magic, "print 'python 2'\ndef f(): pass", whole_unreadable=True)
    assert result.sources[0].strip().endswith("return 1") and "matplotlib" not in result.sources[0]
    assert result.unreadable == [1] and result.sources[1].startswith("print 'python 2'") and 1 in result.whole
    assert 1 not in sliced(magic, "print 'python 2'", whole_unreadable=False).sources


def test_statements_sharing_a_line_are_kept_together():
    result = sliced("a = 1; f = lambda: a\nb = 2")
    assert result.sources[0] == "a = 1; f = lambda: a"
