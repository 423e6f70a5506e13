"""The LSTM_Captioning templates: well-formed, every TODO once, the same given code and
stubs as the RNN templates, runnable end to end (blank, and solved with the reference) on
the small COCO set. And the LSTM bug catalogue (bugs_lstm.py): every bug changes its item's
output on the public inputs and on fresh ones, its partners agree with the reference, and
it builds into both forms."""
import ast
import textwrap

import nbformat
import numpy as np
import pytest

import bugs_lstm
import lstm_cases
import notebooks
from notebooks import FORMS, LSTM_NOTEBOOK_NAME, NOTEBOOK_NAME, TEMPLATE_DIR, TODO_NAMES
from reference import captioning_rnn, rnn_layers
from notebooks import execute_notebook
from test_templates import _defines_only, _errors, _printed_values, _stream, _student, _template_package

CASES = lstm_cases.load()
ITEMS = lstm_cases.LAYER_ITEMS + ('CaptioningRNN.loss', 'CaptioningRNN.sample')
# check cell signature -> (item, {printed label: the TOML's output name, for its threshold})
PRINTED = {
    'expected_next_h': ('lstm_step_forward', {'next_h error': 'next_h', 'next_c error': 'next_c'}),
    'lstm_step_backward(dnext_h, dnext_c, cache)': ('lstm_step_backward', {
        'dx error': 'dx', 'dh error': 'dprev_h', 'dc error': 'dprev_c', 'dWx error': 'dWx', 'dWh error': 'dWh',
        'db error': 'db'}),
    'expected_h =': ('lstm_forward', {'h error': 'h'}),
    'lstm_backward(dout, cache)': ('lstm_backward', {
        'dx error': 'dx', 'dh0 error': 'dh0', 'dWx error': 'dWx', 'dWh error': 'dWh', 'db error': 'db'}),
    'expected_loss': ('CaptioningRNN.loss', {'difference': 'loss'}),
}
_WORDS = {'<NULL>': 0, '<START>': 1, '<END>': 2, 'cat': 3, 'dog': 4, 'on': 5, 'mat': 6}


def _notebook(form, name=LSTM_NOTEBOOK_NAME):
    return nbformat.read(TEMPLATE_DIR / form / name, as_version=4)


def _code(form, name=LSTM_NOTEBOOK_NAME):
    return [c.source for c in _notebook(form, name).cells if c.cell_type == 'code']


def _checks(sources):
    """The cells that run something (not only definitions)."""
    return [s for s in sources if not _defines_only(s)]


def _def_sources(form, name, folder=None):
    """Every definition of name ('f' or 'Class.method') in an LSTM submission (the template by default)."""
    folder = TEMPLATE_DIR / form if folder is None else folder
    texts = [c.source for c in nbformat.read(folder / LSTM_NOTEBOOK_NAME, as_version=4).cells
             if c.cell_type == 'code']
    if form == 'module':
        texts += [p.read_text() for p in sorted((folder / 'cs231n').rglob('*.py'))]
    found = []
    for text in texts:
        node = notebooks._find_def(notebooks._parse(text), name)
        if node is not None:
            first, last = notebooks._span(node)
            found.append(textwrap.dedent('\n'.join(text.splitlines()[first - 1:last])))
    return found


def _without_docstring(source):
    node = ast.parse(textwrap.dedent(source)).body[0]
    return ast.dump(ast.Module(body=node.body[1:], type_ignores=[]))


# ----------------------------------------------------------------- the templates

@pytest.mark.parametrize('form', FORMS)
def test_template_is_a_clean_v4_notebook(form):
    nb = _notebook(form)
    nbformat.validate(nb)
    assert (nb.nbformat, nb.metadata.kernelspec.name) == (4, 'python3')
    for cell in nb.cells:
        if cell.cell_type == 'code':
            assert cell.outputs == [] and cell.execution_count is None
    heads = [(c.cell_type, c.source.splitlines()[0]) for c in nb.cells]
    question = heads.index(('markdown', '# INLINE QUESTION'))
    assert heads[question + 1] == ('markdown', '**Your Answer:** *fill this in.*')


@pytest.mark.parametrize('form', FORMS)
def test_every_todo_is_defined_exactly_once(form):
    for name in TODO_NAMES:
        sources = _def_sources(form, name)
        assert len(sources) == 1, (name, len(sources))
        assert 'TODO: Implement' in sources[0] and 'START OF YOUR CODE' in sources[0], name


def test_module_notebook_defines_nothing_and_imports_what_the_rnn_one_does():
    assert _checks(_code('module')) == _code('module')
    assert _code('module')[0] == _code('module', NOTEBOOK_NAME)[0]


def test_notebook_form_has_one_def_per_cell():
    defined = [n.name for s in _code('notebook') for n in ast.parse(s).body
               if isinstance(n, (ast.FunctionDef, ast.ClassDef)) and len(ast.parse(s).body) == 1]
    for name in set(TODO_NAMES) - {'CaptioningRNN.loss', 'CaptioningRNN.sample'} | {'CaptioningRNN'}:
        assert defined.count(name) == 1, name


def test_notebook_form_shares_the_rnn_templates_code():
    """Given code and RNN stubs are the RNN notebook's cells; LSTM stubs are the module's."""
    rnn_cells = set(_code('notebook', NOTEBOOK_NAME))
    module_layers = (TEMPLATE_DIR / 'module' / 'cs231n' / 'rnn_layers.py').read_text()
    for source in _code('notebook'):
        if not _defines_only(source):
            continue
        (name, *_) = [n.name for n in ast.parse(source).body if isinstance(n, (ast.FunctionDef, ast.ClassDef))]
        if name.startswith('lstm_'):
            node = notebooks._find_def(ast.parse(module_layers), name)
            stub = '\n'.join(module_layers.splitlines()[node.lineno - 1:node.end_lineno])
            assert _without_docstring(source) == _without_docstring(stub), name
        else:
            assert source in rnn_cells, name


def test_both_forms_run_the_same_checks():
    module = [s.replace('from cs231n.rnn_layers import lstm_forward, lstm_backward\n', '')
              for s in _checks(_code('module'))]
    notebook = _checks(_code('notebook'))
    assert module[0].startswith('# As usual') and module[1].startswith('# Load COCO data')
    assert module[2:] == notebook and len(notebook) == 7


def _assert_placeholders(fns, model_cls):
    rng = np.random.RandomState(0)
    x, x3, h = rng.randn(2, 3), rng.randn(2, 5, 3), rng.randn(2, 4)
    Wx, Wh, b = rng.randn(3, 16), rng.randn(4, 16), rng.randn(16)
    assert fns['lstm_step_forward'](x, h, h, Wx, Wh, b) == (None, None, None)
    assert fns['lstm_step_backward'](h, h, None) == (None,) * 6
    assert fns['lstm_forward'](x3, h, Wx, Wh, b) == (None, None)
    assert fns['lstm_backward'](rng.randn(2, 5, 4), None) == (None,) * 5
    model = model_cls(_WORDS, input_dim=3, wordvec_dim=4, hidden_dim=5, cell_type='lstm', dtype=np.float64)
    assert model.params['Wx'].shape == (4, 20)
    assert model.loss(x, rng.randint(7, size=(2, 6))) == (0.0, {})
    captions = model.sample(x, max_length=7)
    assert captions.dtype == np.int32 and captions.shape == (2, 7) and (captions == 0).all()


def test_blank_templates_return_placeholders():
    pkg = _template_package()
    _assert_placeholders(vars(pkg['rnn_layers']), pkg['classifiers.rnn'].CaptioningRNN)
    ns = {}
    for source in _code('notebook'):
        if _defines_only(source):
            exec(compile(source, '<cell>', 'exec'), ns)
    _assert_placeholders(ns, ns['CaptioningRNN'])


# ----------------------------------------------------------------- executed notebooks

@pytest.fixture(scope='module')
def executed(tmp_path_factory):
    """Blank and reference-solved LSTM notebooks of both forms, run one after the other."""
    root = tmp_path_factory.mktemp('executed_lstm')
    results = {}
    for form in FORMS:
        for solutions in (None, 'reference'):
            key = (form, solutions or 'blank')
            built = notebooks.build_submission(form, root / '-'.join(key), solutions=solutions,
                                               notebook=LSTM_NOTEBOOK_NAME)
            notebooks.place_small_coco(built)
            results[key] = execute_notebook(built if form == 'notebook' else built / LSTM_NOTEBOOK_NAME, timeout=300)
            print('executed %s in %.1f s' % ('/'.join(key), results[key][1]))
    return results


@pytest.mark.slow
@pytest.mark.parametrize('form', FORMS)
def test_reference_solution_runs_clean(form, executed):
    """Solved with the reference: no errors, every printed error under the TOML's threshold."""
    nb, _ = executed[(form, 'reference')]
    cells = [c for c in nb.cells if c.cell_type == 'code']
    assert [c for c in cells if _errors(c)] == [] and cells[-1].execution_count is not None
    checks = [c for c in cells if not _defines_only(c.source)]
    for signature, (item, labels) in PRINTED.items():
        (cell,) = [c for c in checks if signature in c.source]
        values, case = _printed_values(_stream(cell)), CASES[item][0]
        for label, output in labels.items():
            bound = case.get('thresholds', {}).get(output, case['threshold'])
            assert len(values.get(label, [])) == 1 and values[label][0] < bound, (signature, label, values, bound)
    (train,) = [c for c in checks if 'small_lstm_solver.train()' in c.source]
    assert _printed_values(_stream(train))['Final loss'][0] < CASES['overfit_small_data'][0]['threshold']

    samples = _stream(next(c for c in checks if '.sample(features)' in c.source)).splitlines()
    assert len(samples) == 12
    for head, sample, gt in zip(samples[0:4:3], samples[1:5:3], samples[2:6:3]):
        assert head.startswith('train: ')
        assert sample.split(':', 1)[1].strip() == gt.split(':', 1)[1].strip().replace('<START> ', '')


@pytest.mark.slow
@pytest.mark.parametrize('form', FORMS)
def test_blank_template_fails_only_where_an_lstm_todo_runs(form, executed):
    """Blank: the four LSTM checks and the training cell raise, nothing else does."""
    nb, _ = executed[(form, 'blank')]
    cells = [c for c in nb.cells if c.cell_type == 'code']
    assert cells[-1].execution_count is not None
    failed = [c.source for c in cells if _errors(c)]
    assert len(failed) == 5
    for signature in ('expected_next_h', 'lstm_step_backward(dnext_h, dnext_c, cache)', 'expected_h =',
                      'lstm_backward(dout, cache)', 'small_lstm_solver.train()'):
        assert len([s for s in failed if signature in s]) == 1, signature
    assert {_errors(c)[0].ename for c in cells if _errors(c)} <= {'TypeError', 'AttributeError', 'KeyError'}


# ----------------------------------------------------------------- the bug catalog

def _sample_outputs(cls, seed):
    """Greedy captions of an LSTM model with strong random weights (no public case exists)."""
    np.random.seed(seed)
    model = cls(_WORDS, input_dim=4, wordvec_dim=5, hidden_dim=6, cell_type='lstm', dtype=np.float64)
    for k, v in model.params.items():
        model.params[k] = v * 3
    features = np.random.randn(3, 4)
    return [model.sample(features, max_length=7), model.sample(features)]


def _cases(item):
    """The item's public cases, then the same with fresh random inputs, seeds 0 to 4."""
    if item == 'CaptioningRNN.sample':
        return list(range(5))
    public = CASES[item]
    return public + [lstm_cases.randomized(case, seed) for case in public for seed in range(5)]


def _outputs(item, fns, cls, case):
    if item in lstm_cases.OUTPUTS:
        return list(lstm_cases.forward_outputs(item, fns, case).values())
    if item in lstm_cases.FORWARD_OF:
        return lstm_cases.backward_outputs(item, fns, case)
    if item == 'CaptioningRNN.sample':
        return _sample_outputs(cls, case)
    model, features, captions = lstm_cases.model(cls, case)
    loss, grads = model.loss(features, captions)
    return [loss] + [grads[k] for k in sorted(model.params)]


def _agrees(item, replace, case):
    """Does item, built from replace over the reference, give the reference's outputs?"""
    ns, cls = _student(replace)
    try:
        got = _outputs(item, ns, cls, case)
    except Exception:
        return False
    want = _outputs(item, vars(rnn_layers), captioning_rnn.CaptioningRNN, case)
    return len(got) == len(want) and all(
        np.shape(g) == np.shape(w) and np.allclose(g, w, rtol=1e-7, atol=1e-10) for g, w in zip(got, want))


def test_harness_agrees_with_the_reference():
    for item in ITEMS:
        for case in _cases(item):
            assert _agrees(item, {}, case), item


def test_catalog_covers_the_required_mistakes():
    assert len(bugs_lstm.BY_NAME) == len(bugs_lstm.BUGS) >= 8
    for bug in bugs_lstm.BUGS:
        assert bug.item in ITEMS and bug.item in bug.replace and bug.why, bug.name
        assert set(bug.replace) <= set(TODO_NAMES), bug.name
    assert {bug.item for bug in bugs_lstm.BUGS} == set(ITEMS)


@pytest.mark.parametrize('bug', bugs_lstm.BUGS, ids=lambda b: b.name)
def test_bug_changes_its_item_on_every_input(bug):
    for case in _cases(bug.item):
        assert not _agrees(bug.item, bug.replace, case), case if isinstance(case, int) else case['name']


@pytest.mark.parametrize('bug', bugs_lstm.BUGS, ids=lambda b: b.name)
def test_bug_partners_agree_with_the_reference(bug):
    for name, source in bug.replace.items():
        if name != bug.item:
            for case in _cases(name):
                assert _agrees(name, {name: source}, case), name


@pytest.mark.parametrize('form', FORMS)
def test_every_bug_builds_with_its_sources_in_place(form, tmp_path):
    for bug in bugs_lstm.BUGS:
        built = notebooks.build_submission(form, tmp_path / bug.name, solutions='reference',
                                           replace=bug.replace, notebook=LSTM_NOTEBOOK_NAME)
        folder = built.parent if form == 'notebook' else built
        assert sorted(p.name for p in folder.glob('*.ipynb')) == [LSTM_NOTEBOOK_NAME]
        for name, source in bug.replace.items():
            assert [s.strip() for s in _def_sources(form, name, folder)] == [textwrap.dedent(source).strip()], \
                (bug.name, name)
