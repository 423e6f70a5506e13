"""The PyTorch template (student_template/pytorch, seed 000's shape): well-formed, every TODO
once and solved by pytorch_solution, given code as the module template's and the
reference's, and runnable end to end (blank and solved) once its Colab lines are
neutralised. Also: the grader's own process never imports torch.
"""
import ast
import subprocess
import sys

import nbformat
import numpy as np
import pytest

import notebooks
import pytorch_solution
from grader.grade.sanitize import neutralise
from reference import captioning_rnn, coco_utils, rnn_layers
from notebooks import execute_notebook
from test_templates import _errors, _printed_values, _stream

NOTEBOOK = notebooks.PYTORCH_TEMPLATE
TEMPLATE = NOTEBOOK.parent
GIVEN_AS_MODULE = ('coco_utils.py', 'gradient_check.py', '__init__.py', 'classifiers/__init__.py')
PARAMS = ('W_embed', 'W_proj', 'b_proj', 'Wx', 'Wh', 'b', 'W_vocab', 'b_vocab')
# What the solved notebook prints: cell signature -> {printed label: upper bound}.
PRINTED_CHECKS = {
    'expected_next_h': {'next_h error': 1e-8},
    'next_h.backward(dnext_h)': {k: 1e-8 for k in ('dx error', 'dh error', 'dWx error', 'dWh error', 'db error')},
    'expected_h =': {'h error': 1e-7},
    'h.backward(dh)': {k: 1e-6 for k in ('dx error', 'dh0 error', 'dWx error', 'dWh error', 'db error')},
    'expected_out': {'out error': 2e-8},
    'word_embedding_forward_numpy': {'dW error': 1e-11},
    'temporal_affine_forward_numpy': {'dx error': 1e-9, 'dw error': 1e-9, 'db error': 1e-9},
    'check_loss(': {'dx error': 1e-7},
    'expected_loss': {'difference': 1e-10},
    'relative error: %e': {p + ' relative error': 5e-6 for p in PARAMS},
    'loss_history[-1]': {'Final loss': 0.1},
}


def _code_cells(nb):
    return [c for c in nb.cells if c.cell_type == 'code']


def _defs_holding_a_todo():
    """[(name, source)]: every function or method of the template's package whose source
    says TODO; name is 'f' or 'Class.method'."""
    found = []
    for path in sorted((TEMPLATE / 'cs231n').rglob('*.py')):
        text = path.read_text()
        for node in ast.parse(text).body:
            if isinstance(node, ast.FunctionDef):
                candidates = [(node.name, node)]
            elif isinstance(node, ast.ClassDef):
                candidates = [(node.name + '.' + m.name, m) for m in node.body if isinstance(m, ast.FunctionDef)]
            else:
                candidates = []
            found += [(name, source) for name, fn in candidates
                      if 'TODO' in (source := ast.get_source_segment(text, fn))]
    return found


def test_template_is_a_clean_v4_notebook_with_seed_000s_colab_cell():
    nb = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(nb)
    assert nb.metadata.kernelspec.name == 'python3'
    cells = _code_cells(nb)
    assert all(c.outputs == [] and c.execution_count is None for c in cells)
    colab = nb.cells[0].source
    for line in ('from google.colab import drive', "drive.mount('/content/drive')",
                 "sys.path.append('/content/drive/My Drive/{}'.format(FOLDERNAME))",
                 '%cd /content/drive/My\\ Drive/$FOLDERNAME', '!bash get_coco_dataset.sh'):
        assert line in colab, line
    assert [(c.cell_type, c.source.splitlines()[0]) for c in nb.cells[-2:]] == [
        ('markdown', '# INLINE QUESTION 1'), ('markdown', '**Your Answer:** *fill this in.*')]
    assert 'from cs231n.captioning_solver_pytorch import CaptioningSolverPytorch' in cells[1].source


def test_the_grader_neutralises_the_colab_lines_only():
    nb = nbformat.read(NOTEBOOK, as_version=4)
    changed = neutralise(nb)
    assert changed == {0: ['colab import', 'drive mount', 'directory change', 'shell command', 'directory change']}
    assert 'FOLDERNAME = "cs231n/assignments/assignment2/"' in nb.cells[0].source


def test_every_todo_is_solved_once_with_its_markers():
    defs = _defs_holding_a_todo()
    assert sorted(name for name, _ in defs) == sorted(pytorch_solution.TODO_NAMES)
    for name, source in defs:
        assert 'TODO: Implement' in source and 'START OF YOUR CODE' in source and 'END OF YOUR CODE' in source, name


def test_given_files_are_the_module_templates():
    for name in GIVEN_AS_MODULE:
        assert (TEMPLATE / 'cs231n' / name).read_bytes() == \
            (notebooks.TEMPLATE_DIR / 'module' / 'cs231n' / name).read_bytes(), name


@pytest.fixture(scope='module')
def blank(tmp_path_factory):
    pytest.importorskip('torch')
    return pytorch_solution.load(notebooks.build_submission(
        'module', tmp_path_factory.mktemp('blank'), template=notebooks.PYTORCH_TEMPLATE))


def test_blank_template_returns_the_starters_placeholders(blank):
    import torch
    t = lambda *shape: torch.from_numpy(np.random.RandomState(0).randn(*shape))
    x2, x3, h = t(2, 3), t(2, 5, 3), t(2, 4)
    assert blank['rnn_step_forward'](x2, h, t(3, 4), t(4, 4), t(4)) is None
    assert blank['rnn_forward'](x3, h, t(3, 4), t(4, 4), t(4)) is None
    assert blank['word_embedding_forward'](torch.zeros(2, 5, dtype=torch.long), t(6, 3)) is None
    assert blank['lstm_step_forward'](x2, h, h, t(3, 16), t(4, 16), t(16)) == (None, None)
    assert blank['lstm_forward'](x3, h, t(3, 16), t(4, 16), t(16)) is None
    assert blank['temporal_affine_forward'](x3, t(3, 4), t(4)) is None
    assert blank['temporal_softmax_loss'](x3, torch.zeros(2, 5, dtype=torch.long), torch.ones(2, 5) > 0) is None
    model = blank['CaptioningRNN']({'<NULL>': 2, '<START>': 0, '<END>': 1, 'cat': 3}, input_dim=3,
                                   wordvec_dim=4, hidden_dim=5, dtype=torch.float64)
    assert model.loss(x2, torch.zeros(2, 5, dtype=torch.long)) == 0.0
    captions = model.sample(x2, max_length=7)
    assert captions.dtype == torch.long and captions.shape == (2, 7) and bool((captions == 2).all())


def test_given_code_behaves_like_the_reference(blank):
    import torch
    rng = np.random.RandomState(1)
    x, w, b = rng.randn(4, 2, 3), rng.randn(6, 5), rng.randn(5)
    got = blank['affine_forward'](*map(torch.from_numpy, (x, w, b)))
    np.testing.assert_allclose(got.numpy(), rnn_layers.affine_forward(x, w, b)[0], rtol=1e-14)
    for cell_type, dtype in (('rnn', torch.float32), ('lstm', torch.float64)):
        model = blank['CaptioningRNN']({'<NULL>': 0, 'a': 1}, input_dim=3, wordvec_dim=4, hidden_dim=5,
                                       cell_type=cell_type, dtype=dtype)
        np.random.seed(0)
        ref = captioning_rnn.CaptioningRNN({'<NULL>': 0, 'a': 1}, input_dim=3, wordvec_dim=4, hidden_dim=5,
                                           cell_type=cell_type)
        assert list(model.params) == list(ref.params) == list(PARAMS)
        for k, v in model.params.items():
            assert v.dtype == dtype and tuple(v.shape) == ref.params[k].shape, k


def test_given_solver_trains_with_adam_and_hands_the_params_back(tmp_path):
    import torch
    solved = pytorch_solution.load(notebooks.build_submission(
        'module', tmp_path / 'solved', solutions=pytorch_solution.SOURCES, template=notebooks.PYTORCH_TEMPLATE))
    np.random.seed(0)
    data = coco_utils.load_coco_data(str(notebooks.place_small_coco(tmp_path / 'data')), max_train=20)
    model = solved['CaptioningRNN'](data['word_to_idx'], input_dim=512, wordvec_dim=8, hidden_dim=16)
    solver = solved['CaptioningSolverPytorch'](model, data, num_epochs=3, batch_size=5, learning_rate=5e-3,
                                               verbose=False)
    solver.train()
    assert len(solver.loss_history) == 12 and all(isinstance(v, float) for v in solver.loss_history)
    assert solver.loss_history[-1] < solver.loss_history[0]
    assert solver.epoch == 3 and isinstance(solver.optim, torch.optim.Adam)
    assert not any(v.requires_grad for v in model.params.values())
    with pytest.raises(ValueError, match='Unrecognized arguments "lr_decay"'):
        solved['CaptioningSolverPytorch'](model, data, lr_decay=0.95)


def test_the_graders_own_process_never_imports_torch():
    code = ('import sys, grader.cli, grader.grade.pipeline, grader.grade.probe, grader.check.judge\n'
            'assert "torch" not in sys.modules, "torch imported"\n')
    subprocess.run([sys.executable, '-c', code], check=True, cwd=notebooks.REPO)


# ----------------------------------------------------------------- executed notebooks

@pytest.fixture(scope='module')
def executed(tmp_path_factory):
    """Blank and solved notebooks, Colab lines neutralised as the grader does, run with the data."""
    pytest.importorskip('torch')
    runs = {}
    for key, solutions in (('blank', None), ('solved', pytorch_solution.SOURCES)):
        folder = notebooks.build_submission('module', tmp_path_factory.mktemp(key), solutions=solutions,
                                            template=notebooks.PYTORCH_TEMPLATE)
        notebooks.place_small_coco(folder)
        path = folder / NOTEBOOK.name
        nb = nbformat.read(path, as_version=4)
        neutralise(nb)
        nbformat.write(nb, path)
        runs[key], seconds = execute_notebook(path, timeout=300)
        print('executed %s in %.1f s' % (key, seconds))
    return runs


@pytest.mark.slow
def test_solved_notebook_runs_clean_and_prints_passing_checks(executed):
    cells = _code_cells(executed['solved'])
    assert [i for i, c in enumerate(cells) if _errors(c)] == []
    for signature, bounds in PRINTED_CHECKS.items():
        matching = [c for c in cells if signature in c.source]
        assert len(matching) == 1, signature
        values = _printed_values(_stream(matching[0]))
        for label, bound in bounds.items():
            assert len(values.get(label, [])) == 1 and values[label][0] < bound, (signature, label, values)
    sanity = [float(v) for v in _stream(next(c for c in cells if 'check_loss(' in c.source)).split()[:3]]
    assert abs(sanity[0] - 2.3) < 0.1 and abs(sanity[1] - 23.0) < 0.5 and abs(sanity[2] - 2.3) < 0.2
    samples = _stream(next(c for c in cells if '.sample(torch.from_numpy(features))' in c.source)).splitlines()
    assert len(samples) == 12
    for sample, gt in zip(samples[1:5:3], samples[2:6:3]):
        assert sample.split(':', 1)[1].strip() == gt.split(':', 1)[1].strip().replace('<START> ', '')


@pytest.mark.slow
def test_blank_notebook_fails_only_where_a_todo_runs(executed):
    cells = _code_cells(executed['blank'])
    failed = [i for i, c in enumerate(cells) if _errors(c)]
    calls = ('rnn_step_forward(', 'rnn_forward(', 'word_embedding_forward(', 'temporal_affine_forward(',
             'temporal_softmax_loss(', 'model.loss(', '.train()', 'loss_history[-1]')
    assert failed == [i for i, c in enumerate(cells) if any(call in c.source for call in calls)]
    assert len(failed) == 12
    assert {_errors(cells[i])[0].ename for i in failed} <= {'AttributeError', 'IndexError'}
