"""The cs7353 template (seed 002's self-contained homework): shaped like the seed, blank
placeholders, runnable blank and solved with the reference."""
import ast
import re

import nbformat
import numpy as np
import pytest

import notebooks
from notebooks import CS7353_GRADED, CS7353_TEMPLATE, LAYER_ITEMS
from reference import captioning_rnn, rnn_layers

# What each check cell prints and the bound the seed's text states for it.
_PARAMS = ('W_embed', 'W_proj', 'W_vocab', 'Wh', 'Wx', 'b', 'b_proj', 'b_vocab')
PRINTED_CHECKS = {
    'expected_next_h': {'next_h error': 1e-8},
    'rnn_step_backward(dnext_h, cache)': {k: 1e-8 for k in ('dx error', 'dprev_h error', 'dWx error', 'dWh error',
                                                             'db error')},
    'expected_h =': {'h error': 1e-7},
    'rnn_backward(dout, cache)': {k: 1e-6 for k in ('dx error', 'dh0 error', 'dWx error', 'dWh error', 'db error')},
    'expected_out': {'out error': 1e-7},
    'word_embedding_backward(dout, cache)': {'dW error': 1e-11},
    'temporal_affine_backward(dout, cache)': {'dx error': 1e-9, 'dw error': 1e-9, 'db error': 1e-9},
    'check_loss(': {'dx error': 1e-7},
    'expected_loss': {'error': 1e-10},
    'relative error: %e': {p + ' relative error': 1e-5 for p in _PARAMS},
}
_LINE = re.compile(r'^(?P<label>[A-Za-z_][\w ]*?)\s*:\s+(?P<value>\S+)\s*$')


def _template():
    return nbformat.read(CS7353_TEMPLATE, as_version=4)


def _code(nb):
    return [c for c in nb.cells if c.cell_type == 'code']


def _defines_only(source):
    """Is this a cell of definitions (functions, classes, imports), not a check?"""
    tree = notebooks._parse(source)
    body = tree.body if tree is not None else []
    return bool(body) and all(isinstance(n, (ast.Import, ast.FunctionDef, ast.ClassDef)) for n in body)


def _namespace():
    """The template's cells of definitions, run (the helper cell's magics left out)."""
    ns = {}
    for cell in _code(_template()):
        source = '\n'.join(line for line in cell.source.splitlines() if not line.startswith('%'))
        if _defines_only(source):
            exec(compile(source, '<cell>', 'exec'), ns)
    assert {'rel_error', 'eval_numerical_gradient', 'CaptioningRNN'} <= set(ns)
    return ns


def test_template_is_shaped_like_seed_002():
    nb = _template()
    nbformat.validate(nb)
    assert nb.metadata.kernelspec.name == 'python3'
    assert all(c.outputs == [] and c.execution_count is None for c in _code(nb))
    header = nb.cells[0].source + nb.cells[1].source
    for text in ('CS7353', '请仅在标明的 TODO 位置完成代码，请勿更改其他代码', '请勿 import 其他 python package',
                 '请务必保留每个单元格的运行结果', '本次作业零分处理'):
        assert text in header, text
    sources = [c.source for c in _code(nb)]
    assert sources[0].startswith('import numpy as np\nimport pickle\n')
    for name in CS7353_GRADED:
        owners = [s for s in sources if notebooks._find_def(notebooks._parse(s), name) is not None]
        assert len(owners) == 1, name
    [model] = [s for s in sources if s.startswith('class CaptioningRNN')]
    assert notebooks._find_def(notebooks._parse(model), 'CaptioningRNN.sample') is None
    assert [s for s in sources if 'def temporal_affine_backward' in s][0].startswith('def temporal_affine_forward')
    text = '\n'.join(sources)
    assert text.count('# TODO: Implement') == len(CS7353_GRADED) == text.count('END OF YOUR CODE')
    assert 'START OF YOUR CODE' not in text and 'load_coco_data' not in text and 'CaptioningSolver' not in text
    for expectation in ('[-0.58172089, -0.50182032, -0.41232771, -0.31410098]', 'expected_loss = 9.83235591003',
                        '[-0.51014825, -0.30524429, -0.06755202,  0.17806392,  0.40333043]]])',
                        "print('error: ', abs(loss - expected_loss))", 'verbose=False, h=1e-6)'):
        assert expectation in text, expectation
    assert all(signature in text for signature in PRINTED_CHECKS)


def test_blank_template_returns_placeholders():
    ns = _namespace()
    rng = np.random.RandomState(0)
    x3, ids = rng.randn(2, 5, 3), rng.randint(6, size=(2, 5))
    calls = {
        'rnn_step_forward': ((rng.randn(2, 3), rng.randn(2, 4), rng.randn(3, 4), rng.randn(4, 4), rng.randn(4)),
                             (None, None)),
        'rnn_step_backward': ((rng.randn(2, 4), None), (None,) * 5),
        'rnn_forward': ((x3, rng.randn(2, 4), rng.randn(3, 4), rng.randn(4, 4), rng.randn(4)), (None, None)),
        'rnn_backward': ((rng.randn(2, 5, 4), None), (None,) * 5),
        'word_embedding_forward': ((ids, rng.randn(6, 3)), (None, None)),
        'word_embedding_backward': ((x3, None), None),
        'temporal_affine_forward': ((x3, rng.randn(3, 4), rng.randn(4)), (None, None)),
        'temporal_affine_backward': ((rng.randn(2, 5, 4), None), (None, None, None)),
        'temporal_softmax_loss': ((x3, ids % 3, ids > 2), (None, None)),
    }
    assert set(calls) == set(LAYER_ITEMS)
    for name, (args, result) in calls.items():
        assert ns[name](*args) == result, name
    model = ns['CaptioningRNN']({'<NULL>': 0, 'cat': 1}, input_dim=3, wordvec_dim=4, hidden_dim=5)
    assert model.loss(rng.randn(2, 3), ids % 2) == (0.0, {})


def test_standalone_loss_is_the_reference_loss():
    ns = dict(vars(rnn_layers))
    exec(notebooks.STANDALONE_LOSS, ns)
    standalone = type('Standalone', (captioning_rnn.CaptioningRNN,), {'loss': ns['loss']})
    rng = np.random.RandomState(7)
    words = {'<NULL>': 3, '<START>': 0, '<END>': 1, 'a': 2, 'cat': 4}
    for dtype in (np.float32, np.float64):
        np.random.seed(1)
        model = standalone(words, input_dim=6, wordvec_dim=4, hidden_dim=5, dtype=dtype)
        reference = captioning_rnn.CaptioningRNN(words, input_dim=6, wordvec_dim=4, hidden_dim=5, dtype=dtype)
        reference.params = model.params
        features, captions = rng.randn(3, 6).astype(dtype), rng.randint(5, size=(3, 7))
        (loss, grads), (want, want_grads) = model.loss(features, captions), reference.loss(features, captions)
        assert loss == want and list(grads) != [] and set(grads) == set(want_grads)
        for k in want_grads:
            np.testing.assert_array_equal(grads[k], want_grads[k])


def test_reference_fills_every_todo_and_nothing_else(tmp_path):
    path = notebooks.build_submission('notebook', tmp_path, solutions='reference', template=CS7353_TEMPLATE,
                                      fill='todo')
    assert path.name == CS7353_TEMPLATE.name
    solved, blank = _code(nbformat.read(path, as_version=4)), _code(_template())
    changed = [i for i, (a, b) in enumerate(zip(solved, blank)) if a.source != b.source]
    assert len(solved) == len(blank) and changed == [i for i, c in enumerate(blank) if '# TODO' in c.source]
    assert all('    pass\n' not in solved[i].source for i in changed)


def _printed(cell):
    values = {}
    for output in cell.outputs:
        for line in output.get('text', '').splitlines() if output.output_type == 'stream' else ():
            found = _LINE.match(line)
            if found:
                values.setdefault(found['label'], []).append(float(found['value']))
    return values


@pytest.mark.slow
def test_blank_and_solved_templates_run_top_to_bottom(tmp_path):
    """Blank: only the check cells raise. Solved with the reference: no errors, every check
    prints a value under the bound the seed states."""
    blank = notebooks.build_submission('notebook', tmp_path / 'blank', template=CS7353_TEMPLATE)
    nb, _ = notebooks.execute_notebook(blank)
    cells = _code(nb)
    assert cells[-1].execution_count is not None
    calls = re.compile(r'\b(%s)\(' % '|'.join(LAYER_ITEMS))
    failed = [i for i, c in enumerate(cells) if any(o.output_type == 'error' for o in c.outputs)]
    assert failed == [i for i, c in enumerate(cells) if calls.search(c.source) and not _defines_only(c.source)]
    assert len(failed) == 8

    solved = notebooks.build_submission('notebook', tmp_path / 'solved', solutions='reference',
                                        template=CS7353_TEMPLATE, fill='todo')
    nb, _ = notebooks.execute_notebook(solved)
    cells = _code(nb)
    assert [c.source[:60] for c in cells if any(o.output_type == 'error' for o in c.outputs)] == []
    for signature, bounds in PRINTED_CHECKS.items():
        [cell] = [c for c in cells if signature in c.source and not c.source.startswith(('def ', 'class '))]
        values = _printed(cell)
        for label, bound in bounds.items():
            assert len(values.get(label, [])) == 1 and values[label][0] < bound, (signature, label, values)
    [softmax] = [c for c in cells if c.source.startswith('N, T, V = 100, 1, 10')]
    printed = ''.join(o.get('text', '') for o in softmax.outputs if o.output_type == 'stream')
    sanity = [float(line) for line in printed.splitlines()[:3]]
    assert abs(sanity[0] - 2.3) < 0.1 and abs(sanity[1] - 23.0) < 0.5 and abs(sanity[2] - 2.3) < 0.2
