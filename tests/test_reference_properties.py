"""What the notebooks do not check: dtypes, no mutation, edge shapes, optim, solver, imports."""
import ast
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import reference.rnn_layers as layers
from reference import optim
from reference.captioning_rnn import CaptioningRNN
from reference.captioning_solver import CaptioningSolver
from reference.gradient_check import eval_numerical_gradient, eval_numerical_gradient_array

REPO = Path(__file__).resolve().parents[1]
N, T, D, H, M = 3, 4, 5, 6, 7


def arrays(tree):
    """Every ndarray inside nested tuples/lists."""
    if isinstance(tree, np.ndarray):
        return [tree]
    if isinstance(tree, (tuple, list)):
        return [a for item in tree for a in arrays(item)]
    return []


def sequence_layer(forward, backward, mul):
    return forward, backward, lambda r: [r(N, T, D), r(N, H), r(D, mul * H), r(H, mul * H),
                                         r(mul * H)]


LAYERS = {
    'affine': (layers.affine_forward, layers.affine_backward,
               lambda r: [r(N, D), r(D, M), r(M)]),
    'rnn_step': (layers.rnn_step_forward, layers.rnn_step_backward,
                 lambda r: [r(N, D), r(N, H), r(D, H), r(H, H), r(H)]),
    'rnn': sequence_layer(layers.rnn_forward, layers.rnn_backward, 1),
    'lstm': sequence_layer(layers.lstm_forward, layers.lstm_backward, 4),
    'temporal_affine': (layers.temporal_affine_forward, layers.temporal_affine_backward,
                        lambda r: [r(N, T, D), r(D, M), r(M)]),
}


def random_arrays(dtype, seed=0):
    rng = np.random.default_rng(seed)
    return lambda *shape: rng.standard_normal(shape).astype(dtype)


@pytest.mark.parametrize('dtype', [np.float32, np.float64])
@pytest.mark.parametrize('name', sorted(LAYERS))
def test_layer_keeps_dtype_and_inputs(name, dtype):
    forward, backward, make_inputs = LAYERS[name]
    r = random_arrays(dtype)
    inputs = make_inputs(r)
    out, cache = forward(*inputs)
    dout = r(*out.shape)
    watched = inputs + [dout] + arrays(cache)
    before = [a.copy() for a in watched]

    grads = backward(dout, cache)
    assert out.dtype == dtype
    assert [(g.shape, g.dtype) for g in grads] == [(x.shape, dtype) for x in inputs]
    assert all(np.array_equal(a, b) for a, b in zip(watched, before))


@pytest.mark.parametrize('dtype', [np.float32, np.float64])
def test_lstm_step_keeps_dtype_and_inputs(dtype):
    r = random_arrays(dtype)
    inputs = [r(N, D), r(N, H), r(N, H), r(D, 4 * H), r(H, 4 * H), r(4 * H)]
    next_h, next_c, cache = layers.lstm_step_forward(*inputs)
    dnext_h, dnext_c = r(N, H), r(N, H)
    watched = inputs + [dnext_h, dnext_c] + arrays(cache)
    before = [a.copy() for a in watched]

    grads = layers.lstm_step_backward(dnext_h, dnext_c, cache)
    assert next_h.dtype == next_c.dtype == dtype
    assert [(g.shape, g.dtype) for g in grads] == [(x.shape, dtype) for x in inputs]
    assert all(np.array_equal(a, b) for a, b in zip(watched, before))


@pytest.mark.parametrize('dtype', [np.float32, np.float64])
def test_embedding_and_softmax_keep_dtype(dtype):
    r = random_arrays(dtype)
    W = r(5, 3)
    x = np.array([[1, 1, 4], [1, 4, 4]])  # ids 0, 2 and 3 unused, 1 and 4 repeated
    out, cache = layers.word_embedding_forward(x, W)
    dout = r(*out.shape)
    dW = layers.word_embedding_backward(dout, cache)
    assert out.dtype == dW.dtype == dtype and dW.shape == W.shape
    np.testing.assert_array_equal(dW[[0, 2, 3]], 0)
    np.testing.assert_allclose(dW[1], dout[0, 0] + dout[0, 1] + dout[1, 0], rtol=1e-6)

    scores = r(2, 3, 5)
    mask = np.array([[True, False, True], [False, False, False]])  # row 1 fully masked
    loss, dscores = layers.temporal_softmax_loss(scores, x, mask)
    assert loss.dtype == dscores.dtype == dtype
    np.testing.assert_array_equal(dscores[1], 0)
    np.testing.assert_array_equal(dscores[0, 1], 0)


def test_softmax_loss_is_stable_for_large_scores():
    x = np.array([[[1000.0, 0.0, -1000.0]]])
    loss, dx = layers.temporal_softmax_loss(x, np.array([[2]]), np.ones((1, 1), bool))
    assert loss == pytest.approx(2000.0)
    np.testing.assert_allclose(dx, [[[1.0, 0.0, -1.0]]], atol=1e-12)


@pytest.mark.parametrize('forward, backward, mul', [
    (layers.rnn_forward, layers.rnn_backward, 1),
    (layers.lstm_forward, layers.lstm_backward, 4),
])
def test_sequence_backward_with_one_example_and_one_step(forward, backward, mul):
    r = random_arrays(np.float64, seed=1)
    inputs = [r(1, 1, D), r(1, H), r(D, mul * H), r(H, mul * H), r(mul * H)]
    out, cache = forward(*inputs)
    dout = r(*out.shape)
    f = lambda _: forward(*inputs)[0]
    # at most 1.5e-9 (rnn) and 5e-10 (lstm) over 1,000 random draws: one row
    # can saturate every tanh, where numeric gradients lose digits
    for x, g in zip(inputs, backward(dout, cache)):
        num = eval_numerical_gradient_array(f, x, dout)
        assert np.linalg.norm(num - g) / (np.linalg.norm(num) + np.linalg.norm(g)) < 1e-7


def test_numeric_gradient_restores_the_array_exactly():
    x = np.random.default_rng(0).standard_normal((3, 4))
    before = x.copy()
    grad = eval_numerical_gradient(lambda x: np.sum(x ** 3), x, verbose=False)
    assert x.tobytes() == before.tobytes()
    np.testing.assert_allclose(grad, 3 * x ** 2, rtol=1e-6)

    calls = []

    def failing(x):
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError('boom')
        return x

    with pytest.raises(RuntimeError):
        eval_numerical_gradient_array(failing, x, np.ones_like(x))
    assert x.tobytes() == before.tobytes()


def test_model_draws_parameters_in_cs231n_order():
    vocab = {'<NULL>': 0, '<START>': 1, '<END>': 2, 'cat': 3}
    np.random.seed(0)
    model = CaptioningRNN(vocab, input_dim=4, wordvec_dim=3, hidden_dim=2, cell_type='lstm')
    np.random.seed(0)
    W_embed = np.random.randn(4, 3) / 100
    W_proj = np.random.randn(4, 2) / np.sqrt(4)
    Wx = np.random.randn(3, 8) / np.sqrt(3)
    Wh = np.random.randn(2, 8) / np.sqrt(2)
    W_vocab = np.random.randn(2, 4) / np.sqrt(2)
    expected = {'W_embed': W_embed, 'W_proj': W_proj, 'b_proj': np.zeros(2), 'Wx': Wx,
                'Wh': Wh, 'b': np.zeros(8), 'W_vocab': W_vocab, 'b_vocab': np.zeros(4)}
    assert list(model.params) == list(expected)
    for k, v in expected.items():
        assert model.params[k].dtype == np.float32
        np.testing.assert_array_equal(model.params[k], v.astype(np.float32))
    assert (model._null, model._start, model._end) == (0, 1, 2)


@pytest.mark.parametrize('cell_type', ['rnn', 'lstm'])
def test_loss_ignores_null_targets_whatever_their_id(cell_type):
    vocab = {'<START>': 0, 'cat': 1, '<NULL>': 2, 'dog': 3}
    np.random.seed(1)
    model = CaptioningRNN(vocab, input_dim=4, wordvec_dim=3, hidden_dim=5,
                          cell_type=cell_type, dtype=np.float64)
    features = np.random.randn(2, 4)
    captions = np.array([[0, 1, 3, 2, 2, 2], [0, 3, 2, 2, 2, 2]])
    loss, grads = model.loss(features, captions)
    short_loss, short_grads = model.loss(features, captions[:, :3])
    assert loss == pytest.approx(short_loss, rel=1e-12)
    for k in grads:
        np.testing.assert_allclose(grads[k], short_grads[k], rtol=1e-10, atol=1e-14)


@pytest.mark.parametrize('cell_type', ['rnn', 'lstm'])
def test_sample_is_greedy_and_starts_after_start_token(cell_type):
    vocab = {'<NULL>': 0, '<START>': 1, '<END>': 2, 'cat': 3, 'dog': 4}
    np.random.seed(2)
    model = CaptioningRNN(vocab, input_dim=6, wordvec_dim=4, hidden_dim=8, cell_type=cell_type)
    p = model.params
    features = np.random.randn(5, 6).astype(np.float32)

    captions = model.sample(features, max_length=7)
    assert captions.shape == (5, 7) and captions.dtype.kind == 'i'
    h0 = features @ p['W_proj'] + p['b_proj']
    x = p['W_embed'][[1] * 5]
    if cell_type == 'rnn':
        h1, _ = layers.rnn_step_forward(x, h0, p['Wx'], p['Wh'], p['b'])
    else:
        h1, _, _ = layers.lstm_step_forward(x, h0, np.zeros_like(h0), p['Wx'], p['Wh'], p['b'])
    np.testing.assert_array_equal(captions[:, 0], np.argmax(h1 @ p['W_vocab'] + p['b_vocab'], 1))
    np.testing.assert_array_equal(model.sample(features, max_length=30)[:, :7], captions)
    assert model.sample(features, max_length=1).shape == (5, 1)


def test_sgd_and_adam_do_not_modify_w():
    w = np.array([1.0, -2.0, 3.0], dtype=np.float32)
    dw = np.array([0.5, 0.0, -4.0], dtype=np.float32)
    next_w, config = optim.sgd(w, dw)
    np.testing.assert_allclose(next_w, w - 1e-2 * dw)
    assert config['learning_rate'] == 1e-2

    next_w, config = optim.adam(w, dw, {'learning_rate': 0.1})
    assert next_w.dtype == np.float32 and config['t'] == 1
    np.testing.assert_allclose(next_w, w - 0.1 * np.sign(dw), atol=1e-6)  # t=1: m/sqrt(v)=±1
    next_w, config = optim.adam(next_w, dw, config)
    assert config['t'] == 2
    np.testing.assert_array_equal(w, [1.0, -2.0, 3.0])


def tiny_data(num_train=7):
    rng = np.random.default_rng(0)
    captions = rng.integers(1, 4, size=(num_train, 5)).astype(np.int32)
    return {'train_captions': captions, 'train_image_idxs': np.arange(num_train) % 3,
            'train_features': rng.standard_normal((3, 4)).astype(np.float32),
            'train_urls': np.array(['u0', 'u1', 'u2'])}


def test_solver_iterations_and_lr_decay(capsys):
    model = CaptioningRNN({'<NULL>': 0, '<START>': 1, '<END>': 2, 'x': 3}, input_dim=4,
                          wordvec_dim=3, hidden_dim=5)
    solver = CaptioningSolver(model, tiny_data(), update_rule='adam', num_epochs=3,
                              batch_size=2, optim_config={'learning_rate': 1e-2},
                              lr_decay=0.5, print_every=4)
    solver.train()
    assert len(solver.loss_history) == 3 * (7 // 2) and solver.epoch == 3
    assert {c['learning_rate'] for c in solver.optim_configs.values()} == {1e-2 * 0.5 ** 3}
    assert capsys.readouterr().out.startswith('(Iteration 1 / 9) loss: ')

    big_batch = CaptioningSolver(model, tiny_data(), num_epochs=2, batch_size=50, verbose=False)
    big_batch.train()
    assert len(big_batch.loss_history) == 2


def test_solver_rejects_bad_arguments():
    model = CaptioningRNN({'<NULL>': 0}, input_dim=2, wordvec_dim=2, hidden_dim=2)
    with pytest.raises(ValueError, match='Unrecognized'):
        CaptioningSolver(model, tiny_data(), learning_rate=1e-3)
    with pytest.raises(ValueError, match='Invalid update_rule'):
        CaptioningSolver(model, tiny_data(), update_rule='rmsprop')


def test_rnn_layers_imports_only_numpy_and_runs_standalone():
    source = (REPO / 'reference' / 'rnn_layers.py').read_text()
    imports = [node for node in ast.walk(ast.parse(source))
               if isinstance(node, (ast.Import, ast.ImportFrom))]
    assert [ast.unparse(node) for node in imports] == ['import numpy as np']
    namespace = {}
    exec(compile(source, 'rnn_layers.py', 'exec'), namespace)
    assert namespace['rnn_step_forward'](np.ones((1, 2)), np.ones((1, 3)), np.ones((2, 3)),
                                         np.ones((3, 3)), np.ones(3))[0].shape == (1, 3)


SAMPLE_WITHOUT_H5PY = """
import sys
sys.modules['h5py'] = None  # import h5py now raises ImportError
import numpy as np
from reference.captioning_solver import CaptioningSolver
from reference.coco_utils import load_coco_data, sample_coco_minibatch
data = {'train_captions': np.ones((4, 3), np.int32), 'train_image_idxs': np.arange(4) % 2,
        'train_features': np.zeros((2, 5), np.float32), 'train_urls': np.array(['a', 'b'])}
captions, features, urls = sample_coco_minibatch(data, batch_size=3)
print(CaptioningSolver.__name__, captions.shape, features.shape, urls.shape)
try:
    load_coco_data('.')
except ImportError:
    print('load_coco_data needs h5py')
"""


def test_solver_and_minibatches_work_without_h5py():
    done = subprocess.run([sys.executable, '-c', SAMPLE_WITHOUT_H5PY], cwd=REPO, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout == 'CaptioningSolver (3, 3) (3, 5) (3,)\nload_coco_data needs h5py\n'

