"""The lstm public checks (lstm_public.toml) hold for the reference: each case rebuilds the
arrays of its check cell in the template, and the reference reproduces every value the
notebook prints, and passes every gradient check, at the case's threshold."""
import ast
import contextlib
import io

import nbformat
import numpy as np
import pytest

import lstm_cases
import notebooks
from reference import captioning_rnn, rnn_layers
from reference.gradient_check import eval_numerical_gradient, eval_numerical_gradient_array

CASES = lstm_cases.load()
REFERENCE = vars(rnn_layers)

# item -> (text only its check cell holds, the cell's names for args, upstream, expected)
CHECK_CELLS = {
    'lstm_step_forward': ('expected_next_h', ('x', 'prev_h', 'prev_c', 'Wx', 'Wh', 'b'), (),
                          {'next_h': 'expected_next_h', 'next_c': 'expected_next_c'}),
    'lstm_step_backward': ('lstm_step_backward(dnext_h, dnext_c, cache)', ('x', 'prev_h', 'prev_c', 'Wx', 'Wh', 'b'),
                           ('dnext_h', 'dnext_c'), {}),
    'lstm_forward': ('expected_h =', ('x', 'h0', 'Wx', 'Wh', 'b'), (), {'h': 'expected_h'}),
    'lstm_backward': ('lstm_backward(dout, cache)', ('x', 'h0', 'Wx', 'Wh', 'b'), ('dout',), {}),
}


def _run_cell(notebook, marker, edit=lambda source: source):
    """Run the notebook form's one check cell holding marker with the reference; its namespace."""
    cells = [c.source for c in nbformat.read(notebooks.TEMPLATE_DIR / 'notebook' / notebook, as_version=4).cells
             if c.cell_type == 'code' and marker in c.source and not c.source.startswith(('def ', 'class '))]
    assert len(cells) == 1, marker
    ns = dict(REFERENCE, rel_error=lstm_cases.rel_error, CaptioningRNN=captioning_rnn.CaptioningRNN,
              eval_numerical_gradient=eval_numerical_gradient,
              eval_numerical_gradient_array=eval_numerical_gradient_array)
    with contextlib.redirect_stdout(io.StringIO()):
        exec(compile(edit(cells[0]), marker, 'exec'), ns)
    return ns


def test_the_file_has_the_notebooks_public_checks():
    assert {item: len(cases) for item, cases in CASES.items()} == {
        'lstm_step_forward': 1, 'lstm_step_backward': 1, 'lstm_forward': 1, 'lstm_backward': 1,
        'CaptioningRNN.loss': 2, 'overfit_small_data': 1}
    for cases in CASES.values():
        for case in cases:
            assert case['name'] and case['threshold'] > 0, case


@pytest.mark.parametrize('item', lstm_cases.LAYER_ITEMS)
def test_layer_case_rebuilds_its_check_cell(item):
    marker, arg_names, upstream_names, expected_names = CHECK_CELLS[item]
    ns = _run_cell(notebooks.LSTM_NOTEBOOK_NAME, marker)
    (case,) = CASES[item]
    args, upstream = lstm_cases.inputs(case)
    assert len(args) == len(arg_names) and len(upstream) == len(upstream_names)
    for got, name in zip(args + upstream, arg_names + upstream_names):
        np.testing.assert_array_equal(got, ns[name], err_msg=name)
    assert set(case.get('expected', {})) == set(expected_names)
    for output, name in expected_names.items():
        np.testing.assert_array_equal(np.asarray(case['expected'][output]), ns[name], err_msg=name)


def test_loss_case_rebuilds_its_check_cell():
    ns = _run_cell(notebooks.LSTM_NOTEBOOK_NAME, 'expected_loss')
    model, features, captions = lstm_cases.model(captioning_rnn.CaptioningRNN, CASES['CaptioningRNN.loss'][0])
    np.testing.assert_array_equal(features, ns['features'])
    np.testing.assert_array_equal(captions, ns['captions'])
    assert CASES['CaptioningRNN.loss'][0]['expected'] == {'loss': ns['expected_loss']}
    assert model.cell_type == ns['model'].cell_type == 'lstm'
    for k, v in ns['model'].params.items():
        np.testing.assert_array_equal(model.params[k], v, err_msg=k)


def test_model_gradient_case_is_the_rnn_notebooks_cell_with_an_lstm():
    ns = _run_cell(notebooks.NOTEBOOK_NAME, 'relative error: %e',
                   lambda source: source.replace("cell_type='rnn'", "cell_type='lstm'"))
    case = CASES['CaptioningRNN.loss'][1]
    model, features, captions = lstm_cases.model(captioning_rnn.CaptioningRNN, case)
    np.testing.assert_array_equal(features, ns['features'])
    np.testing.assert_array_equal(captions, ns['captions'])
    assert ns['model'].cell_type == 'lstm' and case['outputs'] == sorted(ns['grads'])
    for k, v in ns['model'].params.items():
        np.testing.assert_array_equal(model.params[k], v, err_msg=k)


@pytest.mark.parametrize('item', ['lstm_step_forward', 'lstm_forward'])
def test_reference_reproduces_the_printed_values(item):
    for case in CASES[item]:
        outputs = lstm_cases.forward_outputs(item, REFERENCE, case)
        for name, printed in case['expected'].items():
            assert outputs[name].shape == np.shape(printed), name
            assert lstm_cases.error(printed, outputs[name]) < case['threshold'], name


@pytest.mark.parametrize('item', ['lstm_step_backward', 'lstm_backward'])
def test_reference_passes_the_numeric_gradient_check(item):
    for case in CASES[item]:
        analytic = lstm_cases.backward_outputs(item, REFERENCE, case)
        numeric = lstm_cases.numeric_gradients(item, REFERENCE, case)
        assert len(analytic) == len(numeric) == len(case['outputs'])
        for name, a, n in zip(case['outputs'], analytic, numeric):
            assert a.shape == n.shape, name
            bound = case.get('thresholds', {}).get(name, case['threshold'])
            assert lstm_cases.error(n, a) < bound, (name, lstm_cases.error(n, a), bound)


def test_reference_reproduces_the_expected_loss():
    case = CASES['CaptioningRNN.loss'][0]
    model, features, captions = lstm_cases.model(captioning_rnn.CaptioningRNN, case)
    loss, _ = model.loss(features, captions)
    assert lstm_cases.error(case['expected']['loss'], loss, case['metric']) < case['threshold']


def test_reference_passes_the_model_gradient_check_by_norm():
    case = CASES['CaptioningRNN.loss'][1]
    model, features, captions = lstm_cases.model(captioning_rnn.CaptioningRNN, case)
    _, grads = model.loss(features, captions)
    numeric = lstm_cases.numeric_model_gradients(model, features, captions, case['numeric_h'])
    assert sorted(grads) == sorted(numeric) == case['outputs']
    for name in case['outputs']:
        assert lstm_cases.error(numeric[name], grads[name], case['metric']) < case['threshold'], name
    # why not the notebook's element-wise error: a correct Wx fails it (see the TOML)
    assert lstm_cases.rel_error(numeric['Wx'], grads['Wx']) > 1e-4


def _keywords(call):
    """{keyword: value} of a call: literals, np.float32-style names by name, else the source."""
    values = {}
    for kw in call.keywords:
        try:
            values[kw.arg] = ast.literal_eval(kw.value)
        except ValueError:
            values[kw.arg] = kw.value.attr if isinstance(kw.value, ast.Attribute) else ast.unparse(kw.value)
    return values


@pytest.mark.parametrize('form', notebooks.FORMS)
def test_overfit_case_is_the_notebooks_training_cell(form):
    """The run itself, reaching the threshold, is test_lstm_templates' executed notebooks."""
    (case,) = CASES['overfit_small_data']
    (source,) = [c.source for c in nbformat.read(notebooks.TEMPLATE_DIR / form / notebooks.LSTM_NOTEBOOK_NAME,
                                                 as_version=4).cells if 'small_lstm_solver.train()' in c.source]
    calls = {}
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call):
            name = ast.unparse(node.func)
            calls[name] = (node.args, _keywords(node))
    assert ast.literal_eval(calls['np.random.seed'][0][0]) == case['seed']
    assert calls['load_coco_data'][1] == {'max_train': case['max_train']}
    model = calls['CaptioningRNN'][1]
    assert {k: model.pop(k) for k in case['model']} == case['model']
    assert model == {'word_to_idx': "small_data['word_to_idx']",
                     'input_dim': "small_data['train_features'].shape[1]"}
    solver = dict(calls['CaptioningSolver'][1])
    solver['learning_rate'] = solver.pop('optim_config')['learning_rate']
    assert solver == dict(case['solver'], verbose=True, print_every=10)
