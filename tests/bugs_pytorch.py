"""Catalog of realistic wrong submissions of the PyTorch version: each must fail its item.

``BUGS`` holds (``bugs.Bug``, ``Effect``) pairs. A bug's ``replace`` goes over
``pytorch_solution.SOURCES`` in ``notebooks.build_submission('module', dest,
solutions=SOURCES, replace=bug.replace, template=notebooks.PYTORCH_TEMPLATE)``; its effect
says what it does through the kernel probe's PyTorch operations
(tests/test_kernel_probe_torch.py checks it on every seed it tries):

- ``error``: the call raises, at the stage and with the words ``raises`` gives;
- ``unreached``: the forward is right but no gradient reaches the args ``unreached`` names;
- ``value``: the call returns, and its values differ from the reference's.
"""
from __future__ import annotations

from dataclasses import dataclass

from bugs import Bug


@dataclass(frozen=True)
class Effect:
    kind: str  # 'error', 'unreached' or 'value'
    stage: str = ''
    raises: str = ''  # words of the error message
    unreached: tuple = ()


RNN_STEP_FORWARD_FLOAT32 = '''
def rnn_step_forward(x, prev_h, Wx, Wh, b):
    """One tanh RNN step (float() so the matmuls stop complaining about Double)."""
    next_h = torch.tanh(x.float() @ Wx.float() + prev_h.float() @ Wh.float() + b.float())
    return next_h
'''

RNN_FORWARD_PREV_H_VIEW = '''
def rnn_forward(x, h0, Wx, Wh, b):
    """Fill h step by step; the next step reads its state back from h."""
    N, T, D = x.shape
    H = h0.shape[1]
    h = torch.zeros((N, T, H), dtype=x.dtype)
    prev_h = h0
    for t in range(T):
        h[:, t, :] = rnn_step_forward(x[:, t, :], prev_h, Wx, Wh, b)
        prev_h = h[:, t, :]
    return h
'''

LSTM_FORWARD_FLOAT32_BUFFER = '''
def lstm_forward(x, h0, Wx, Wh, b):
    """Run the LSTM over the sequence, writing each hidden state into h."""
    N, T, D = x.shape
    H = h0.shape[1]
    h = torch.zeros((N, T, H))
    prev_h, prev_c = h0, torch.zeros_like(h0)
    for t in range(T):
        prev_h, prev_c = lstm_step_forward(x[:, t, :], prev_h, prev_c, Wx, Wh, b)
        h[:, t, :] = prev_h
    return h
'''

WORD_EMBEDDING_FORWARD_NUMPY = '''
def word_embedding_forward(x, W):
    """Look up the word vectors with NumPy indexing."""
    out = torch.from_numpy(W.detach().numpy()[x.numpy()])
    return out
'''

TEMPORAL_AFFINE_FORWARD_DATA = '''
def temporal_affine_forward(x, w, b):
    """The same affine map at every timestep (weights read through .data)."""
    N, T, D = x.shape
    out = (x.reshape(N * T, D) @ w.data).reshape(N, T, -1) + b.data
    return out
'''

TEMPORAL_SOFTMAX_LOSS_INPLACE_SHIFT = '''
def temporal_softmax_loss(x, y, mask, verbose=False):
    """Softmax loss; subtracts the max score first for numerical stability."""
    N, T, V = x.shape
    x -= x.max(dim=2, keepdim=True).values
    log_probs = x - torch.log(torch.exp(x).sum(dim=2, keepdim=True))
    picked = log_probs.gather(2, y.unsqueeze(2)).squeeze(2)
    loss = -(picked * mask).sum() / N
    return loss
'''

TEMPORAL_SOFTMAX_LOSS_NO_MASK = '''
def temporal_softmax_loss(x, y, mask, verbose=False):
    """Cross-entropy summed over time, averaged over the minibatch."""
    N, T, V = x.shape
    losses = torch.nn.functional.cross_entropy(x.reshape(N * T, V), y.reshape(N * T), reduction='none')
    loss = losses.sum() / N
    return loss
'''

TEMPORAL_SOFTMAX_LOSS_OVER_NT = '''
def temporal_softmax_loss(x, y, mask, verbose=False):
    """Masked cross-entropy, averaged over every position."""
    N, T, V = x.shape
    losses = torch.nn.functional.cross_entropy(x.reshape(N * T, V), y.reshape(N * T), reduction='none')
    loss = (losses * mask.reshape(N * T)).sum() / (N * T)
    return loss
'''

LOSS_ITEM = '''
def loss(self, features, captions):
    """Forward pass of the captioning model; returns the loss as a number."""
    captions_in = captions[:, :-1]
    captions_out = captions[:, 1:]
    mask = (captions_out != self._null)
    p = self.params
    h0 = affine_forward(features, p['W_proj'], p['b_proj'])
    x = word_embedding_forward(captions_in, p['W_embed'])
    if self.cell_type == 'rnn':
        h = rnn_forward(x, h0, p['Wx'], p['Wh'], p['b'])
    else:
        h = lstm_forward(x, h0, p['Wx'], p['Wh'], p['b'])
    scores = temporal_affine_forward(h, p['W_vocab'], p['b_vocab'])
    loss = temporal_softmax_loss(scores, captions_out, mask)
    return loss.item()
'''

SAMPLE_START_IN_COLUMN_0 = '''
def sample(self, features, max_length=30):
    """Greedy sampling; the caption starts with <START>."""
    N = features.shape[0]
    captions = self._null * torch.ones((N, max_length), dtype=torch.long)
    p = self.params
    captions[:, 0] = self._start
    h = affine_forward(features, p['W_proj'], p['b_proj'])
    c = torch.zeros_like(h)
    for t in range(1, max_length):
        x = p['W_embed'][captions[:, t - 1]]
        if self.cell_type == 'rnn':
            h = rnn_step_forward(x, h, p['Wx'], p['Wh'], p['b'])
        else:
            h, c = lstm_step_forward(x, h, c, p['Wx'], p['Wh'], p['b'])
        captions[:, t] = affine_forward(h, p['W_vocab'], p['b_vocab']).argmax(dim=1)
    return captions
'''

BUGS = [
    (Bug('rnn_step_forward_float32', 'rnn_step_forward', {'rnn_step_forward': RNN_STEP_FORWARD_FLOAT32},
         'casts the inputs with .float(): a float32 result for float64 inputs'),
     Effect('error', 'forward', "returned a float32 tensor: keep the inputs' dtype (float64)")),
    (Bug('rnn_forward_prev_h_view', 'rnn_forward', {'rnn_forward': RNN_FORWARD_PREV_H_VIEW},
         'prev_h = h[:, t, :] is a view of h, which the next step writes into in place: '
         'the forward is right, backward raises'),
     Effect('error', 'backward', 'modified by an inplace operation')),
    (Bug('lstm_forward_float32_buffer', 'lstm_forward', {'lstm_forward': LSTM_FORWARD_FLOAT32_BUFFER},
         'h = torch.zeros((N, T, H)) is float32, so writing the states into it casts them'),
     Effect('error', 'forward', "returned a float32 tensor: keep the inputs' dtype (float64)")),
    (Bug('word_embedding_forward_numpy', 'word_embedding_forward', {'word_embedding_forward': WORD_EMBEDDING_FORWARD_NUMPY},
         'a .numpy() round trip: the vectors are right, but the graph is lost and W gets no gradient'),
     Effect('unreached', unreached=(1,))),
    (Bug('temporal_affine_forward_data', 'temporal_affine_forward', {'temporal_affine_forward': TEMPORAL_AFFINE_FORWARD_DATA},
         'w.data and b.data are outside the graph: no gradient for w and b'),
     Effect('unreached', unreached=(1, 2))),
    (Bug('temporal_softmax_loss_inplace_shift', 'temporal_softmax_loss',
         {'temporal_softmax_loss': TEMPORAL_SOFTMAX_LOSS_INPLACE_SHIFT},
         'x -= x.max(...) writes into the scores in place: autograd refuses it on a leaf'),
     Effect('error', 'forward', 'in-place operation')),
    (Bug('temporal_softmax_loss_no_mask', 'temporal_softmax_loss', {'temporal_softmax_loss': TEMPORAL_SOFTMAX_LOSS_NO_MASK},
         'ignores the mask: <NULL> positions count in the loss'),
     Effect('value')),
    (Bug('temporal_softmax_loss_over_NT', 'temporal_softmax_loss', {'temporal_softmax_loss': TEMPORAL_SOFTMAX_LOSS_OVER_NT},
         'divides by N * T instead of N'),
     Effect('value')),
    (Bug('captioning_loss_item', 'CaptioningRNN.loss', {'CaptioningRNN.loss': LOSS_ITEM},
         'returns loss.item(), a Python float: nothing to back-propagate'),
     Effect('error', 'loss', 'returned a float, not a torch tensor')),
    (Bug('sample_start_in_column_0', 'CaptioningRNN.sample', {'CaptioningRNN.sample': SAMPLE_START_IN_COLUMN_0},
         'writes <START> into column 0, shifting the generated words right by one'),
     Effect('value')),
]
