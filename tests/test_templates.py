"""The student templates: well-formed, every TODO once, given code equal to the reference,
and runnable end to end (blank, and solved with the reference) on the small COCO set.
Also the builder (notebooks.py) and the bug catalog (bugs.py) the other tests rely on.
"""
import ast
import importlib
import importlib.util
import re
import sys
import textwrap
import zipfile
from concurrent.futures import ThreadPoolExecutor

import nbformat
import numpy as np
import pytest

import bugs
import notebooks
from notebooks import FORMS, GRADED, LAYER_ITEMS, NOTEBOOK_NAME, TEMPLATE_DIR, TODO_NAMES
from reference import captioning_rnn, captioning_solver, coco_utils, gradient_check, optim, rnn_layers

PACKAGE = TEMPLATE_DIR / 'module' / 'cs231n'

# What the solved notebook must print: cell signature -> {printed label: upper bound}.
# Bounds are the ones the notebook text states ("on the order of e-8" for out error,
# whose rounded expected_out alone gives 1.0000000094736443e-08).
_PARAMS = ('W_embed', 'W_proj', 'W_vocab', 'Wh', 'Wx', 'b', 'b_proj', 'b_vocab')
PRINTED_CHECKS = {
    'expected_next_h': {'next_h error': 1e-8},
    'rnn_step_backward(dnext_h, cache)': {
        k: 1e-8 for k in ('dx error', 'dprev_h error', 'dWx error', 'dWh error', 'db error')},
    'expected_h =': {'h error': 1e-7},
    'rnn_backward(dout, cache)': {
        k: 1e-6 for k in ('dx error', 'dh0 error', 'dWx error', 'dWh error', 'db error')},
    'expected_out': {'out error': 2e-8},
    'word_embedding_backward(dout, cache)': {'dW error': 1e-11},
    'temporal_affine_backward(dout, cache)': {'dx error': 1e-9, 'dw error': 1e-9, 'db error': 1e-9},
    'check_loss(': {'dx error': 1e-7},
    'expected_loss': {'difference': 1e-10},
    'relative error: %e': {p + ' relative error': 5e-6 for p in _PARAMS},
    'small_rnn_solver.train()': {'Final loss': 0.1},
}
_LINE = re.compile(r'^(?P<label>[A-Za-z_][\w ]*?)\s*:\s+(?P<value>\S+)\s*$')


# ----------------------------------------------------------------- helpers

def _code_cells_of(path):
    return [c for c in nbformat.read(path, as_version=4).cells if c.cell_type == 'code']


def _code_cells(form):
    return _code_cells_of(TEMPLATE_DIR / form / NOTEBOOK_NAME)


def _containers(form, folder=None):
    """(label, text) of every place a submission (the template by default) defines code:
    .py files and code cells."""
    folder = TEMPLATE_DIR / form if folder is None else folder
    out = [('cell %d' % i, c.source) for i, c in enumerate(_code_cells_of(folder / NOTEBOOK_NAME))]
    if form == 'module':
        out += [(str(p), p.read_text()) for p in sorted((folder / 'cs231n').rglob('*.py'))]
    return out


def _def_sources(form, name, folder=None):
    """Source text, dedented, of every definition of name ('f' or 'Class.method') in a
    submission (the template by default)."""
    found = []
    for _, text in _containers(form, folder):
        node = notebooks._find_def(notebooks._parse(text), name)
        if node is not None:
            first, last = notebooks._span(node)
            found.append(textwrap.dedent('\n'.join(text.splitlines()[first - 1:last])))
    return found


def _template_package():
    """The module template's cs231n, imported under a private name."""
    name = '_template_cs231n'
    dont_write, sys.dont_write_bytecode = sys.dont_write_bytecode, True  # keep the template clean
    try:
        if name not in sys.modules:
            spec = importlib.util.spec_from_file_location(
                name, PACKAGE / '__init__.py', submodule_search_locations=[str(PACKAGE)])
            module = importlib.util.module_from_spec(spec)
            sys.modules[name] = module
            spec.loader.exec_module(module)
        return {sub: importlib.import_module('%s.%s' % (name, sub)) for sub in (
            'layers', 'rnn_layers', 'optim', 'gradient_check', 'coco_utils', 'captioning_solver',
            'classifiers.rnn')}
    finally:
        sys.dont_write_bytecode = dont_write


def _defines_only(source):
    """Is this a cell of definitions (functions, classes, imports), not a check?"""
    tree = notebooks._parse(source)
    body = tree.body if tree is not None else []
    return (all(isinstance(n, (ast.Import, ast.FunctionDef, ast.ClassDef, ast.Assign)) for n in body)
            and any(isinstance(n, (ast.FunctionDef, ast.ClassDef)) for n in body))


def _notebook_namespace():
    """Run the notebook template's code cells that only define things (no checks)."""
    ns = {}
    for cell in _code_cells('notebook'):
        if _defines_only(cell.source):
            exec(compile(cell.source, '<cell>', 'exec'), ns)
    return ns


def _stream(cell):
    return ''.join(o.get('text', '') for o in cell.outputs if o.output_type == 'stream')


def _errors(cell):
    return [o for o in cell.outputs if o.output_type == 'error']


def _printed_values(text):
    values = {}
    for line in text.splitlines():
        m = _LINE.match(line)
        if m:
            values.setdefault(m['label'], []).append(float(m['value']))
    return values


# ----------------------------------------------------------------- the templates

@pytest.mark.parametrize('form', FORMS)
def test_template_is_a_clean_v4_notebook(form):
    nb = nbformat.read(TEMPLATE_DIR / form / NOTEBOOK_NAME, as_version=4)
    nbformat.validate(nb)
    assert nb.nbformat == 4
    assert nb.metadata.kernelspec.name == 'python3'
    for cell in nb.cells:
        if cell.cell_type == 'code':
            assert cell.outputs == [] and cell.execution_count is None
    last_two = [(c.cell_type, c.source.splitlines()[0]) for c in nb.cells[-2:]]
    assert last_two == [('markdown', '# INLINE QUESTION 1'),
                        ('markdown', '**Your Answer:** *fill this in.*')]


def test_templates_do_not_use_matplotlib():
    """Only image_utils.py (which no notebook cell uses) decodes images with matplotlib."""
    read = {p.relative_to(TEMPLATE_DIR).as_posix(): p.read_text() for p in TEMPLATE_DIR.rglob('*')
            if p.is_file() and p.suffix in ('.py', '.ipynb') and p.name != 'image_utils.py'}
    assert {'notebook/' + NOTEBOOK_NAME, 'module/' + NOTEBOOK_NAME, 'module/cs231n/rnn_layers.py'} <= set(read)
    assert [path for path, text in read.items() if 'matplotlib' in text] == []


@pytest.mark.parametrize('form', FORMS)
def test_every_todo_is_defined_exactly_once(form):
    for name in TODO_NAMES:
        sources = _def_sources(form, name)
        assert len(sources) == 1, (name, len(sources))
        assert 'TODO: Implement' in sources[0], name
        assert 'START OF YOUR CODE' in sources[0] and 'END OF YOUR CODE' in sources[0], name


def test_notebook_form_has_one_def_per_graded_cell():
    owners = {}
    for i, cell in enumerate(_code_cells('notebook')):
        for node in ast.parse(cell.source).body:
            if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
                owners.setdefault(node.name, []).append((i, len(ast.parse(cell.source).body)))
    for name in LAYER_ITEMS + ('CaptioningRNN',):
        assert len(owners[name]) == 1 and owners[name][0][1] == 1, (name, owners[name])


def _assert_placeholders(fns, model_cls):
    """Every graded TODO of the blank template returns the starter's placeholders."""
    rng = np.random.RandomState(0)
    x2, h, Wx, Wh, b = rng.randn(2, 3), rng.randn(2, 4), rng.randn(3, 4), rng.randn(4, 4), rng.randn(4)
    x3, ids = rng.randn(2, 5, 3), rng.randint(6, size=(2, 5))
    expected = {
        'rnn_step_forward': ((x2, h, Wx, Wh, b), (None, None)),
        'rnn_step_backward': ((h, None), (None,) * 5),
        'rnn_forward': ((x3, h, Wx, Wh, b), (None, None)),
        'rnn_backward': ((rng.randn(2, 5, 4), None), (None,) * 5),
        'word_embedding_forward': ((ids, rng.randn(6, 3)), (None, None)),
        'word_embedding_backward': ((x3, None), None),
        'temporal_affine_forward': ((x3, Wx, b), (None, None)),
        'temporal_affine_backward': ((rng.randn(2, 5, 4), None), (None, None, None)),
        'temporal_softmax_loss': ((x3, ids % 3, ids > 2), (None, None)),
    }
    assert set(expected) == set(LAYER_ITEMS)
    for name, (args, result) in expected.items():
        assert fns[name](*args) == result, name
    model = model_cls({'<NULL>': 2, '<START>': 0, '<END>': 1, 'cat': 3}, input_dim=3,
                      wordvec_dim=4, hidden_dim=5, dtype=np.float64)
    assert model.loss(rng.randn(2, 3), ids % 4) == (0.0, {})
    captions = model.sample(rng.randn(2, 3), max_length=7)
    assert captions.dtype == np.int32 and captions.shape == (2, 7) and (captions == 2).all()


def test_blank_module_template_returns_placeholders():
    pkg = _template_package()
    _assert_placeholders(vars(pkg['rnn_layers']), pkg['classifiers.rnn'].CaptioningRNN)


def test_blank_notebook_template_returns_placeholders():
    ns = _notebook_namespace()
    _assert_placeholders(ns, ns['CaptioningRNN'])


@pytest.mark.parametrize('source', ['module', 'notebook'])
def test_given_code_behaves_like_the_reference(source, tmp_path):
    """The code students receive (not TODO) computes what the reference computes."""
    if source == 'module':
        pkg = _template_package()
        given = {**vars(pkg['layers']), **vars(pkg['rnn_layers']), **vars(pkg['optim']),
                 **vars(pkg['gradient_check']), **vars(pkg['coco_utils']),
                 'CaptioningSolver': pkg['captioning_solver'].CaptioningSolver,
                 'CaptioningRNN': pkg['classifiers.rnn'].CaptioningRNN}
    else:
        given = _notebook_namespace()
    rng = np.random.RandomState(1)
    x, w, b, dout = rng.randn(4, 2, 3), rng.randn(6, 5), rng.randn(5), rng.randn(4, 5)
    for got, want in zip(given['affine_forward'](x, w, b)[0:1] + given['affine_backward'](dout, (x, w, b)),
                         rnn_layers.affine_forward(x, w, b)[0:1] + rnn_layers.affine_backward(dout, (x, w, b))):
        np.testing.assert_array_equal(got, want)
    z = rng.randn(50) * 30
    np.testing.assert_allclose(given['sigmoid'](z), rnn_layers.sigmoid(z), rtol=1e-15, atol=0)
    for rule in ('sgd', 'adam'):
        w1, c1, w2, c2 = w.copy(), {'learning_rate': 0.1}, w.copy(), {'learning_rate': 0.1}
        for _ in range(3):
            g = rng.randn(*w.shape)
            w1, c1 = given[rule](w1, g, c1)
            w2, c2 = getattr(optim, rule)(w2, g, c2)
        np.testing.assert_array_equal(w1, w2)
    a, da = rng.randn(3, 6), rng.randn(3, 5)
    f = lambda a: np.tanh(a).dot(w)
    np.testing.assert_array_equal(given['eval_numerical_gradient_array'](f, a, da),
                                  gradient_check.eval_numerical_gradient_array(f, a, da))
    g = lambda a: np.sum(np.tanh(a).dot(w) * da)
    np.testing.assert_array_equal(given['eval_numerical_gradient'](g, a, verbose=False),
                                  gradient_check.eval_numerical_gradient(g, a, verbose=False))

    data_dir = notebooks.place_small_coco(tmp_path)
    np.random.seed(5)
    got = given['load_coco_data'](str(data_dir), max_train=20)
    np.random.seed(5)
    want = coco_utils.load_coco_data(str(data_dir), max_train=20)
    assert list(got) == list(want)
    for k in want:
        np.testing.assert_array_equal(np.asarray(got[k], dtype=object), np.asarray(want[k], dtype=object))
    assert given['decode_captions'](want['train_captions'][:3], want['idx_to_word']) == \
        coco_utils.decode_captions(want['train_captions'][:3], want['idx_to_word'])

    histories = []
    for solver_cls in (given['CaptioningSolver'], captioning_solver.CaptioningSolver):
        np.random.seed(231)
        model = captioning_rnn.CaptioningRNN(want['word_to_idx'], input_dim=512,
                                             wordvec_dim=8, hidden_dim=16)
        solver = solver_cls(model, want, update_rule='adam', num_epochs=3, batch_size=5,
                            optim_config={'learning_rate': 5e-3}, lr_decay=0.95, verbose=False)
        solver.train()
        histories.append(solver.loss_history)
    assert len(histories[0]) == 12 and histories[0] == histories[1]

    np.random.seed(3)
    m1 = given['CaptioningRNN']({'<NULL>': 0, 'a': 1}, input_dim=3, wordvec_dim=4, hidden_dim=5)
    np.random.seed(3)
    m2 = captioning_rnn.CaptioningRNN({'<NULL>': 0, 'a': 1}, input_dim=3, wordvec_dim=4, hidden_dim=5)
    assert list(m1.params) == list(m2.params)
    for k in m2.params:
        np.testing.assert_array_equal(m1.params[k], m2.params[k])
        assert m1.params[k].dtype == np.float32


# ----------------------------------------------------------------- executed notebooks

@pytest.fixture(scope='module')
def executed(tmp_path_factory):
    """Blank and reference-solved notebooks of both forms, run side by side with the data."""
    root = tmp_path_factory.mktemp('executed')
    paths = {}
    for form in FORMS:
        for solutions in (None, 'reference'):
            key = (form, solutions or 'blank')
            built = notebooks.build_submission(form, root / '-'.join(key), solutions=solutions)
            notebooks.place_small_coco(built)
            paths[key] = built if form == 'notebook' else built / NOTEBOOK_NAME
    with ThreadPoolExecutor(len(paths)) as pool:
        results = dict(zip(paths, pool.map(notebooks.execute_notebook, paths.values())))
    for key, (_, seconds) in results.items():
        print('executed %s in %.1f s' % ('/'.join(key), seconds))
    return results


@pytest.mark.slow
@pytest.mark.parametrize('form', FORMS)
def test_reference_solution_runs_clean(form, executed):
    """Solved with the reference, the notebook runs without errors and prints passing checks."""
    nb, _ = executed[(form, 'reference')]
    cells = [c for c in nb.cells if c.cell_type == 'code']
    assert [c for c in cells if _errors(c)] == []
    assert cells[-1].execution_count is not None
    cells = [c for c in cells if not _defines_only(c.source)]
    for signature, bounds in PRINTED_CHECKS.items():
        matching = [c for c in cells if signature in c.source]
        assert len(matching) == 1, signature
        values = _printed_values(_stream(matching[0]))
        for label, bound in bounds.items():
            assert len(values.get(label, [])) == 1, (signature, label, values)
            assert values[label][0] < bound, (signature, label, values[label][0], bound)

    softmax = _stream(next(c for c in cells if 'check_loss(' in c.source)).split()
    sanity = [float(v) for v in softmax[:3]]
    assert abs(sanity[0] - 2.3) < 0.1 and abs(sanity[1] - 23.0) < 0.5 and abs(sanity[2] - 2.3) < 0.2

    samples = _stream(next(c for c in cells if '.sample(features)' in c.source)).splitlines()
    assert len(samples) == 12
    for head, sample, gt in zip(samples[0:4:3], samples[1:5:3], samples[2:6:3]):
        assert head.startswith('train: ')
        assert sample.split(':', 1)[1].strip() == gt.split(':', 1)[1].strip().replace('<START> ', '')


@pytest.mark.slow
@pytest.mark.parametrize('form', FORMS)
def test_blank_template_fails_only_where_a_todo_runs(form, executed):
    """Blank: every check of a layer and the training cell raise, nothing else does."""
    nb, _ = executed[(form, 'blank')]
    cells = [c for c in nb.cells if c.cell_type == 'code']
    assert cells[-1].execution_count is not None
    calls = re.compile(r'\b(%s)\(' % '|'.join(LAYER_ITEMS))
    expected = [i for i, c in enumerate(cells) if not _defines_only(c.source)
                and (calls.search(c.source) or '.train()' in c.source)]
    failed = [i for i, c in enumerate(cells) if _errors(c)]
    assert failed == expected
    assert len(failed) == 9
    assert {_errors(cells[i])[0].ename for i in failed} <= {'TypeError', 'AttributeError', 'KeyError'}


# ----------------------------------------------------------------- the builder

def test_builder_swaps_a_method_inside_its_class(tmp_path):
    folder = notebooks.build_submission('module', tmp_path / 'm', solutions='reference',
                                        replace={'CaptioningRNN.sample': bugs.SAMPLE_ALWAYS_30})
    text = (folder / 'cs231n' / 'classifiers' / 'rnn.py').read_text()
    cls = notebooks._find_def(ast.parse(text), 'CaptioningRNN')
    assert [n.name for n in cls.body if isinstance(n, ast.FunctionDef)] == ['__init__', 'loss', 'sample']
    assert 'range(30)' in text and "affine_forward(features, p['W_proj']" in text
    assert (folder / NOTEBOOK_NAME).exists()

    nb_path = notebooks.build_submission('notebook', tmp_path / 'n', replace={
        'CaptioningRNN.loss': bugs.LOSS_NULL_IS_ZERO, 'rnn_forward': bugs.RNN_FORWARD_LIST_CACHE})
    cells = _code_cells_of(nb_path)
    class_cell = next(c for c in cells if c.source.startswith('class CaptioningRNN'))
    assert 'mask = captions_out != 0' in class_cell.source
    assert '    def loss(self, features, captions):\n' in class_cell.source
    assert 'TODO: Implement test-time sampling' in class_cell.source
    assert next(c for c in cells if c.source.startswith('def rnn_forward')).source == \
        textwrap.dedent(bugs.RNN_FORWARD_LIST_CACHE).strip()


def test_builder_extra_cells_and_errors(tmp_path):
    path = notebooks.build_submission('notebook', tmp_path, extra_cells=[
        ('start', 'x = 1'), ('end', 'y = 2'), ('after:rel_error', 'z = 3'), (1, 'w = 4')])
    sources = [c.source for c in _code_cells_of(path)]
    assert sources[0] == 'x = 1' and sources[1] == 'w = 4' and sources[-1] == 'y = 2'
    assert 'def rel_error' in sources[2] and sources[3] == 'z = 3'
    nbformat.validate(nbformat.read(path, as_version=4))
    with pytest.raises(KeyError):
        notebooks.build_submission('notebook', tmp_path / 'a', replace={'no_such_function': 'pass'})
    with pytest.raises(ValueError):
        notebooks.build_submission('colab', tmp_path / 'b')


def test_zip_submission_is_a_module_form_zip(tmp_path):
    folder = notebooks.build_submission('module', tmp_path / 'sub', solutions='reference')
    notebooks.place_small_coco(folder)
    a = notebooks.zip_submission(folder, tmp_path / 'a.zip')
    b = notebooks.zip_submission(folder, tmp_path / 'b.zip', root='smith_john', include_data=False)
    names = zipfile.ZipFile(a).namelist()
    assert {NOTEBOOK_NAME, 'cs231n/rnn_layers.py', 'cs231n/classifiers/rnn.py',
            'cs231n/datasets/coco_captioning/coco2014_captions.h5'} <= set(names)
    assert all(n.startswith('smith_john/') for n in zipfile.ZipFile(b).namelist())
    assert not any('datasets' in n for n in zipfile.ZipFile(b).namelist())
    assert a.read_bytes() == notebooks.zip_submission(folder, tmp_path / 'c.zip').read_bytes()


def test_reference_sources_are_the_graded_items():
    sources = notebooks.reference_sources()
    assert list(sources) == list(GRADED)
    assert sources['CaptioningRNN.loss'].startswith('def loss(self, features, captions):')
    assert sources['rnn_forward'].startswith('def rnn_forward(x, h0, Wx, Wh, b):')


# ----------------------------------------------------------------- the bug catalog

_WORDS = {'<START>': 0, '<END>': 1, 'a': 2, '<NULL>': 3, 'cat': 4, 'dog': 5, 'on': 6, 'mat': 7}


def _student(replace):
    """Reference layers and CaptioningRNN with the given sources exec'd over them."""
    ns = dict(vars(rnn_layers))
    cls = type('StudentRNN', (captioning_rnn.CaptioningRNN,), {})
    for name, source in replace.items():
        exec(textwrap.dedent(source), ns)
        if '.' in name:
            setattr(cls, name.split('.')[1], ns.pop(name.split('.')[1]))
    return ns, cls


def _item_outputs(item, ns, cls, seed):
    """Outputs of one item on fresh inputs (unused and repeated ids, <NULL> id 3, T=1 rows;
    seed 3 and up: a batch of one)."""
    rng = np.random.RandomState(seed)
    N, T, D, H, V = 3 if seed < 3 else 1, 4, 5, 6, 8
    x, x3, h = rng.randn(N, D), rng.randn(N, T, D), rng.randn(N, H)
    Wx, Wh, b = rng.randn(D, H), rng.randn(H, H), rng.randn(H)
    ids = rng.randint(5, size=(N, T))
    if item == 'rnn_step_forward':
        return ns[item](x, h, Wx, Wh, b)[:1]
    if item == 'rnn_step_backward':
        return ns[item](rng.randn(N, H), ns['rnn_step_forward'](x, h, Wx, Wh, b)[1])
    if item == 'rnn_forward':
        return ns[item](x3, h, Wx, Wh, b)[:1]
    if item == 'rnn_backward':
        return ns[item](rng.randn(N, T, H), ns['rnn_forward'](x3, h, Wx, Wh, b)[1])
    if item == 'word_embedding_forward':
        return ns[item](ids, rng.randn(V, D))[:1]
    if item == 'word_embedding_backward':
        return [ns[item](rng.randn(N, T, D), ns['word_embedding_forward'](ids, rng.randn(V, D))[1])]
    if item == 'temporal_affine_forward':
        return ns[item](x3, Wx, b)[:1]
    if item == 'temporal_affine_backward':
        return ns[item](rng.randn(N, T, H), ns['temporal_affine_forward'](x3, Wx, b)[1])
    if item == 'temporal_softmax_loss':
        mask = rng.rand(N, T) > 0.4
        mask[0] = False
        return ns[item](rng.randn(N, T, V), rng.randint(V, size=(N, T)), mask)
    np.random.seed(seed)
    model = cls(_WORDS, input_dim=D, wordvec_dim=4, hidden_dim=H, dtype=np.float64)
    for k, v in model.params.items():
        model.params[k] = v * 3
    features = rng.randn(N, D)
    if item == 'CaptioningRNN.loss':
        captions = np.full((N, 6), _WORDS['<NULL>'])
        captions[:, 0] = _WORDS['<START>']
        captions[:, 1:4] = rng.choice([2, 4, 5, 6, 7], size=(N, 3))
        captions[:, 4] = _WORDS['<END>']
        captions[N - 1, 2:] = _WORDS['<NULL>']
        loss, grads = model.loss(features, captions)
        return [loss] + [grads[k] for k in sorted(model.params)]
    return [model.sample(features, max_length=7), model.sample(features)]


def _passes(item, replace):
    """Does item, built from replace over the reference, agree with the reference?"""
    ns, cls = _student(replace)
    ref_ns, ref_cls = _student({})
    for seed in range(4):
        try:
            got = _item_outputs(item, ns, cls, seed)
        except Exception:
            return False
        want = _item_outputs(item, ref_ns, ref_cls, seed)
        for g, w in zip(got, want):
            g, w = np.asarray(g), np.asarray(w)
            if g.shape != w.shape or not np.allclose(g, w, rtol=1e-7, atol=1e-10):
                return False
    return True


def test_item_harness_passes_the_reference():
    for item in GRADED:
        assert _passes(item, {}), item


def test_catalog_covers_the_required_mistakes():
    assert len(bugs.BY_NAME) == len(bugs.BUGS)
    for bug in bugs.BUGS:
        assert bug.item in GRADED and bug.item in bug.replace and bug.why, bug.name
        assert set(bug.replace) <= set(TODO_NAMES), bug.name
    assert {bug.item for bug in bugs.BUGS} == set(GRADED)


@pytest.mark.parametrize('bug', bugs.BUGS, ids=lambda b: b.name)
def test_bug_fails_its_item_and_its_partners_are_correct(bug):
    assert not _passes(bug.item, bug.replace)
    for name, source in bug.replace.items():
        if name != bug.item:
            assert _passes(name, {name: source}), name


@pytest.mark.parametrize('form', FORMS)
def test_every_bug_builds_with_its_sources_in_place(form, tmp_path):
    for bug in bugs.BUGS:
        built = notebooks.build_submission(form, tmp_path / bug.name, solutions='reference',
                                           replace=bug.replace, extra_cells=bug.extra_cells)
        folder = built.parent if form == 'notebook' else built
        nbformat.validate(nbformat.read(folder / NOTEBOOK_NAME, as_version=4))
        for name, source in bug.replace.items():
            assert [s.strip() for s in _def_sources(form, name, folder)] == [textwrap.dedent(source).strip()], \
                (bug.name, name)
