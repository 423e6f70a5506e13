"""A correct solution of the PyTorch template (``student_template/pytorch``), as sources.

``SOURCES`` maps each TODO of the template ('f' or 'CaptioningRNN.method') to a full
def, written as a student would, for ``notebooks.build_submission('module', dest,
solutions=SOURCES, template=notebooks.PYTORCH_TEMPLATE)``. ``load(folder)`` imports a
built submission's ``cs231n`` package in-process and returns the names its notebook
would hold.
"""
from __future__ import annotations

import importlib
import importlib.util
import itertools
import sys
from pathlib import Path

LAYERS = ('rnn_step_forward', 'rnn_forward', 'word_embedding_forward', 'lstm_step_forward',
          'lstm_forward', 'temporal_affine_forward', 'temporal_softmax_loss')
MODEL = ('CaptioningRNN.loss', 'CaptioningRNN.sample')
TODO_NAMES = LAYERS + MODEL

RNN_STEP_FORWARD = '''
def rnn_step_forward(x, prev_h, Wx, Wh, b):
    """One tanh RNN step."""
    next_h = torch.tanh(x @ Wx + prev_h @ Wh + b)
    return next_h
'''

RNN_FORWARD = '''
def rnn_forward(x, h0, Wx, Wh, b):
    """Run the RNN over the sequence, one step at a time."""
    hs = []
    prev_h = h0
    for t in range(x.shape[1]):
        prev_h = rnn_step_forward(x[:, t, :], prev_h, Wx, Wh, b)
        hs.append(prev_h)
    h = torch.stack(hs, dim=1)
    return h
'''

WORD_EMBEDDING_FORWARD = '''
def word_embedding_forward(x, W):
    """Look up the word vectors."""
    out = W[x]
    return out
'''

LSTM_STEP_FORWARD = '''
def lstm_step_forward(x, prev_h, prev_c, Wx, Wh, b):
    """One LSTM step; gates i, f, o, g."""
    H = prev_h.shape[1]
    a = x @ Wx + prev_h @ Wh + b
    i = torch.sigmoid(a[:, :H])
    f = torch.sigmoid(a[:, H:2 * H])
    o = torch.sigmoid(a[:, 2 * H:3 * H])
    g = torch.tanh(a[:, 3 * H:])
    next_c = f * prev_c + i * g
    next_h = o * torch.tanh(next_c)
    return next_h, next_c
'''

LSTM_FORWARD = '''
def lstm_forward(x, h0, Wx, Wh, b):
    """Run the LSTM over the sequence from a zero cell state."""
    hs = []
    prev_h, prev_c = h0, torch.zeros_like(h0)
    for t in range(x.shape[1]):
        prev_h, prev_c = lstm_step_forward(x[:, t, :], prev_h, prev_c, Wx, Wh, b)
        hs.append(prev_h)
    h = torch.stack(hs, dim=1)
    return h
'''

TEMPORAL_AFFINE_FORWARD = '''
def temporal_affine_forward(x, w, b):
    """The same affine map at every timestep."""
    N, T, D = x.shape
    out = (x.reshape(N * T, D) @ w).reshape(N, T, -1) + b
    return out
'''

TEMPORAL_SOFTMAX_LOSS = '''
def temporal_softmax_loss(x, y, mask, verbose=False):
    """Masked cross-entropy, summed over time and averaged over the minibatch."""
    N, T, V = x.shape
    x_flat = x.reshape(N * T, V)
    y_flat = y.reshape(N * T)
    mask_flat = mask.reshape(N * T)
    if verbose:
        print('x_flat: ', x_flat.shape)
    losses = torch.nn.functional.cross_entropy(x_flat, y_flat, reduction='none')
    loss = (losses * mask_flat).sum() / N
    return loss
'''

LOSS = '''
def loss(self, features, captions):
    """Forward pass of the captioning model; autograd does the rest."""
    captions_in = captions[:, :-1]
    captions_out = captions[:, 1:]
    mask = (captions_out != self._null)

    W_proj, b_proj = self.params['W_proj'], self.params['b_proj']
    W_embed = self.params['W_embed']
    Wx, Wh, b = self.params['Wx'], self.params['Wh'], self.params['b']
    W_vocab, b_vocab = self.params['W_vocab'], self.params['b_vocab']

    h0 = affine_forward(features, W_proj, b_proj)
    x = word_embedding_forward(captions_in, W_embed)
    if self.cell_type == 'rnn':
        h = rnn_forward(x, h0, Wx, Wh, b)
    else:
        h = lstm_forward(x, h0, Wx, Wh, b)
    scores = temporal_affine_forward(h, W_vocab, b_vocab)
    loss = temporal_softmax_loss(scores, captions_out, mask)
    return loss
'''

SAMPLE = '''
def sample(self, features, max_length=30):
    """Greedy decoding from <START>; every step feeds back the word it chose."""
    N = features.shape[0]
    captions = self._null * torch.ones((N, max_length), dtype=torch.long)

    W_proj, b_proj = self.params['W_proj'], self.params['b_proj']
    W_embed = self.params['W_embed']
    Wx, Wh, b = self.params['Wx'], self.params['Wh'], self.params['b']
    W_vocab, b_vocab = self.params['W_vocab'], self.params['b_vocab']

    h = affine_forward(features, W_proj, b_proj)
    c = torch.zeros_like(h)
    words = torch.full((N,), self._start, dtype=torch.long)
    for t in range(max_length):
        x = W_embed[words]
        if self.cell_type == 'rnn':
            h = rnn_step_forward(x, h, Wx, Wh, b)
        else:
            h, c = lstm_step_forward(x, h, c, Wx, Wh, b)
        scores = affine_forward(h, W_vocab, b_vocab)
        words = scores.argmax(dim=1)
        captions[:, t] = words
    return captions
'''

SOURCES = {
    'rnn_step_forward': RNN_STEP_FORWARD,
    'rnn_forward': RNN_FORWARD,
    'word_embedding_forward': WORD_EMBEDDING_FORWARD,
    'lstm_step_forward': LSTM_STEP_FORWARD,
    'lstm_forward': LSTM_FORWARD,
    'temporal_affine_forward': TEMPORAL_AFFINE_FORWARD,
    'temporal_softmax_loss': TEMPORAL_SOFTMAX_LOSS,
    'CaptioningRNN.loss': LOSS,
    'CaptioningRNN.sample': SAMPLE,
}
_loaded = itertools.count()


def load(folder) -> dict:
    """Import ``folder/cs231n`` under a fresh private name; return what the notebook's
    setup cell puts in its namespace: every layer function, ``CaptioningSolverPytorch``
    and ``CaptioningRNN``."""
    package = Path(folder) / 'cs231n'
    name = '_pytorch_submission_%d' % next(_loaded)
    spec = importlib.util.spec_from_file_location(name, package / '__init__.py',
                                                  submodule_search_locations=[str(package)])
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    dont_write, sys.dont_write_bytecode = sys.dont_write_bytecode, True
    try:
        spec.loader.exec_module(module)
        layers = importlib.import_module(name + '.rnn_layers_pytorch')
        classifier = importlib.import_module(name + '.classifiers.rnn_pytorch')
        solver = importlib.import_module(name + '.captioning_solver_pytorch')
    finally:
        sys.dont_write_bytecode = dont_write
    namespace = {k: v for k, v in vars(layers).items() if not k.startswith('_')}
    namespace['CaptioningSolverPytorch'] = solver.CaptioningSolverPytorch
    namespace['CaptioningRNN'] = classifier.CaptioningRNN
    return namespace
