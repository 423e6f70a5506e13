"""More wrong submissions, for the catalogued mistakes the bug catalogues do not make.

Same records as bugs.py (each fails its one item); ``ASSIGNMENT`` says which assignment
grades each. Sources are written as a student would have them.
"""
from __future__ import annotations

from bugs import EMBED_FORWARD_CACHING_W, STEP_BACKWARD_FROM_OUTPUT, TEMPORAL_AFFINE_FORWARD, Bug

STEP_FORWARD_NO_TANH = '''
def rnn_step_forward(x, prev_h, Wx, Wh, b):
    """Run the forward pass for a single timestep of a vanilla RNN."""
    next_h = x @ Wx + prev_h @ Wh + b
    cache = (x, prev_h, Wx, Wh, next_h)
    return next_h, cache
'''

STEP_BACKWARD_TANH_TWICE = '''
def rnn_step_backward(dnext_h, cache):
    """Backward pass for a single timestep of a vanilla RNN."""
    x, prev_h, Wx, Wh, next_h = cache
    dtanh = (1 - np.tanh(next_h) ** 2) * dnext_h
    dx = dtanh @ Wx.T
    dprev_h = dtanh @ Wh.T
    dWx = x.T @ dtanh
    dWh = prev_h.T @ dtanh
    db = dtanh.sum(axis=0)
    return dx, dprev_h, dWx, dWh, db
'''

STEP_BACKWARD_NO_DERIVATIVE = '''
def rnn_step_backward(dnext_h, cache):
    """Backward pass for a single timestep of a vanilla RNN."""
    x, prev_h, Wx, Wh, next_h = cache
    dx = dnext_h.dot(Wx.T)
    dprev_h = dnext_h.dot(Wh.T)
    dWx = x.T.dot(dnext_h)
    dWh = prev_h.T.dot(dnext_h)
    db = np.sum(dnext_h, axis=0)
    return dx, dprev_h, dWx, dWh, db
'''

STEP_BACKWARD_DB_AXIS_1 = '''
def rnn_step_backward(dnext_h, cache):
    """Backward pass for a single timestep of a vanilla RNN."""
    x, prev_h, Wx, Wh, next_h = cache
    da = dnext_h * (1 - next_h * next_h)
    dx, dprev_h = da.dot(Wx.T), da.dot(Wh.T)
    dWx, dWh = x.T.dot(da), prev_h.T.dot(da)
    db = np.sum(da, axis=1)
    return dx, dprev_h, dWx, dWh, db
'''

RNN_FORWARD_LIST_CACHE = '''
def rnn_forward(x, h0, Wx, Wh, b):
    """Run the RNN over the whole sequence, keeping every step's cache."""
    hs, cache = [], []
    prev_h = h0
    for t in range(x.shape[1]):
        prev_h, step_cache = rnn_step_forward(x[:, t, :], prev_h, Wx, Wh, b)
        hs.append(prev_h)
        cache.append(step_cache)
    return np.stack(hs, axis=1), cache
'''

RNN_BACKWARD_NOT_CARRIED = '''
def rnn_backward(dh, cache):
    """Backward pass for a vanilla RNN over an entire sequence of data."""
    N, T, H = dh.shape
    dx = []
    dWx, dWh, db = 0, 0, 0
    for t in range(T - 1, -1, -1):
        dx_t, dh0, dWx_t, dWh_t, db_t = rnn_step_backward(dh[:, t, :], cache[t])
        dx.insert(0, dx_t)
        dWx += dWx_t
        dWh += dWh_t
        db += db_t
    return np.stack(dx, axis=1), dh0, dWx, dWh, db
'''

RNN_BACKWARD_NOT_SUMMED = '''
def rnn_backward(dh, cache):
    """Backward pass for a vanilla RNN over an entire sequence of data."""
    N, T, H = dh.shape
    dx = [None] * T
    dprev_h = np.zeros((N, H))
    for t in reversed(range(T)):
        dx[t], dprev_h, dWx, dWh, db = rnn_step_backward(dh[:, t, :] + dprev_h, cache[t])
    return np.stack(dx, axis=1), dprev_h, dWx, dWh, db
'''

TEMPORAL_AFFINE_FORWARD_NO_BIAS = '''
def temporal_affine_forward(x, w, b):
    """Forward pass for a temporal affine layer."""
    N, T, D = x.shape
    out = np.dot(x.reshape(N * T, D), w).reshape(N, T, w.shape[1])
    cache = (x, w, b)
    return out, cache
'''

TEMPORAL_AFFINE_BACKWARD = '''
def temporal_affine_backward(dout, cache):
    """Backward pass for temporal affine layer."""
    x, w, b = cache
    N, T, D = x.shape
    M = w.shape[1]
    dout_flat = dout.reshape(N * T, M)
    dx = dout_flat.dot(w.T).reshape(N, T, D)
    dw = x.reshape(N * T, D).T.dot(dout_flat)
    db = dout_flat.sum(axis=0)
    return dx, dw, db
'''

TEMPORAL_AFFINE_BACKWARD_DW_TRANSPOSED = '''
def temporal_affine_backward(dout, cache):
    """Backward pass for temporal affine layer."""
    x, w, b, out = cache
    N, T, D = x.shape
    M = b.shape[0]
    dx = dout.reshape(N * T, M).dot(w.T).reshape(N, T, D)
    dw = dout.reshape(N * T, M).T.dot(x.reshape(N * T, D))
    db = dout.sum(axis=(0, 1))
    return dx, dw, db
'''

SOFTMAX_MASK_IGNORED = '''
def temporal_softmax_loss(x, y, mask, verbose=False):
    """Softmax cross-entropy summed over time, averaged over the minibatch."""
    N, T, V = x.shape
    x_flat = x.reshape(N * T, V)
    y_flat = y.reshape(N * T)
    probs = np.exp(x_flat - np.max(x_flat, axis=1, keepdims=True))
    probs /= np.sum(probs, axis=1, keepdims=True)
    loss = -np.sum(np.log(probs[np.arange(N * T), y_flat])) / N
    dx_flat = probs.copy()
    dx_flat[np.arange(N * T), y_flat] -= 1
    dx_flat /= N
    return loss, dx_flat.reshape(N, T, V)
'''

SOFTMAX_DX_UNMASKED = '''
def temporal_softmax_loss(x, y, mask, verbose=False):
    """Masked softmax cross-entropy summed over time, averaged over the minibatch."""
    N, T, V = x.shape
    x_flat = x.reshape(N * T, V)
    y_flat = y.reshape(N * T)
    mask_flat = mask.reshape(N * T)
    probs = np.exp(x_flat - np.max(x_flat, axis=1, keepdims=True))
    probs /= np.sum(probs, axis=1, keepdims=True)
    loss = -np.sum(mask_flat * np.log(probs[np.arange(N * T), y_flat])) / N
    dx_flat = probs.copy()
    dx_flat[np.arange(N * T), y_flat] -= 1
    dx_flat /= N
    return loss, dx_flat.reshape(N, T, V)
'''

LOSS_CAPTIONS_SWAPPED = '''
def loss(self, features, captions):
    """Training-time loss and gradients of the captioning RNN."""
    captions_in = captions[:, 1:]
    captions_out = captions[:, :-1]
    mask = captions_out != self._null

    W_proj, b_proj = self.params['W_proj'], self.params['b_proj']
    W_embed = self.params['W_embed']
    Wx, Wh, b = self.params['Wx'], self.params['Wh'], self.params['b']
    W_vocab, b_vocab = self.params['W_vocab'], self.params['b_vocab']

    grads = {}
    h0, cache_h0 = affine_forward(features, W_proj, b_proj)
    embedded, cache_embed = word_embedding_forward(captions_in, W_embed)
    if self.cell_type == 'rnn':
        h, cache_rnn = rnn_forward(embedded, h0, Wx, Wh, b)
    else:
        h, cache_rnn = lstm_forward(embedded, h0, Wx, Wh, b)
    scores, cache_scores = temporal_affine_forward(h, W_vocab, b_vocab)
    loss, dscores = temporal_softmax_loss(scores, captions_out, mask)

    dh, grads['W_vocab'], grads['b_vocab'] = temporal_affine_backward(dscores, cache_scores)
    if self.cell_type == 'rnn':
        dembedded, dh0, grads['Wx'], grads['Wh'], grads['b'] = rnn_backward(dh, cache_rnn)
    else:
        dembedded, dh0, grads['Wx'], grads['Wh'], grads['b'] = lstm_backward(dh, cache_rnn)
    grads['W_embed'] = word_embedding_backward(dembedded, cache_embed)
    _, grads['W_proj'], grads['b_proj'] = affine_backward(dh0, cache_h0)
    return loss, grads
'''

WORD_EMBEDDING_BACKWARD_ASSIGN = '''
def word_embedding_backward(dout, cache):
    """Backward pass for word embeddings."""
    x, W = cache
    dW = np.zeros(W.shape)
    dW[x] += dout
    return dW
'''

LOSS_EITHER_CELL = LOSS_CAPTIONS_SWAPPED.replace("captions[:, 1:]\n    captions_out = captions[:, :-1]",
                                                 "captions[:, :-1]\n    captions_out = captions[:, 1:]")

LSTM_STEP_FORWARD_NO_TANH_ON_C = '''
def lstm_step_forward(x, prev_h, prev_c, Wx, Wh, b):
    """Forward pass for a single timestep of an LSTM."""
    H = prev_h.shape[1]
    a = x @ Wx + prev_h @ Wh + b
    i = sigmoid(a[:, :H])
    f = sigmoid(a[:, H:2 * H])
    o = sigmoid(a[:, 2 * H:3 * H])
    g = np.tanh(a[:, 3 * H:])
    next_c = f * prev_c + i * g
    next_h = o * next_c
    cache = (x, prev_h, prev_c, Wx, Wh, i, f, o, g, np.tanh(next_c))
    return next_h, next_c, cache
'''

LSTM_STEP_BACKWARD_FROM_GATES = '''
def lstm_step_backward(dnext_h, dnext_c, cache):
    """Backward pass of an LSTM step for the student's forward, next_h = o * next_c."""
    x, prev_h, prev_c, Wx, Wh, i, f, o, g, tanh_c = cache
    next_c = f * prev_c + i * g
    dc = dnext_c + dnext_h * o
    da = np.hstack((dc * g * i * (1 - i), dc * prev_c * f * (1 - f), dnext_h * next_c * o * (1 - o),
                    dc * i * (1 - g ** 2)))
    return da.dot(Wx.T), da.dot(Wh.T), dc * f, x.T.dot(da), prev_h.T.dot(da), da.sum(axis=0)
'''

LSTM_FORWARD_LIST_CACHE = '''
def lstm_forward(x, h0, Wx, Wh, b):
    """Run the LSTM over the whole sequence, keeping every step's cache."""
    N, T, D = x.shape
    hs, cache = [], []
    prev_h, prev_c = h0, np.zeros_like(h0)
    for t in range(T):
        prev_h, prev_c, step_cache = lstm_step_forward(x[:, t, :], prev_h, prev_c, Wx, Wh, b)
        hs.append(prev_h)
        cache.append(step_cache)
    return np.stack(hs, axis=1), cache
'''

LSTM_BACKWARD_ONLY_LAST_DH = '''
def lstm_backward(dh, cache):
    """Backward pass for an LSTM over an entire sequence of data."""
    N, T, H = dh.shape
    dx = [None] * T
    dnext_h, dnext_c = dh[:, -1, :], np.zeros((N, H))
    dWx, dWh, db = 0, 0, 0
    for t in reversed(range(T)):
        dx[t], dnext_h, dnext_c, dWx_t, dWh_t, db_t = lstm_step_backward(dnext_h, dnext_c, cache[t])
        dWx, dWh, db = dWx + dWx_t, dWh + dWh_t, db + db_t
    return np.stack(dx, axis=1), dnext_h, dWx, dWh, db
'''

BUGS = [
    Bug('rnn_step_forward_no_tanh', 'rnn_step_forward',
        {'rnn_step_forward': STEP_FORWARD_NO_TANH, 'rnn_step_backward': STEP_BACKWARD_FROM_OUTPUT},
        'next_h is the affine pre-activation: no tanh'),
    Bug('rnn_step_backward_tanh_twice', 'rnn_step_backward',
        {'rnn_step_backward': STEP_BACKWARD_TANH_TWICE},
        '1 - tanh(next_h)**2: tanh applied again to the cached output'),
    Bug('rnn_step_backward_no_derivative', 'rnn_step_backward',
        {'rnn_step_backward': STEP_BACKWARD_NO_DERIVATIVE},
        'dnext_h used as the gradient of the pre-activation: no tanh derivative'),
    Bug('rnn_step_backward_db_axis_1', 'rnn_step_backward',
        {'rnn_step_backward': STEP_BACKWARD_DB_AXIS_1},
        'db summed over the hidden axis: shape (N,)'),
    Bug('rnn_backward_not_carried', 'rnn_backward',
        {'rnn_forward': RNN_FORWARD_LIST_CACHE, 'rnn_backward': RNN_BACKWARD_NOT_CARRIED},
        'each step gets dh[:, t] alone; the gradient from step t+1 is dropped'),
    Bug('rnn_backward_not_summed', 'rnn_backward',
        {'rnn_forward': RNN_FORWARD_LIST_CACHE, 'rnn_backward': RNN_BACKWARD_NOT_SUMMED},
        'dWx, dWh and db are those of step 0 only'),
    Bug('temporal_affine_forward_no_bias', 'temporal_affine_forward',
        {'temporal_affine_forward': TEMPORAL_AFFINE_FORWARD_NO_BIAS, 'temporal_affine_backward': TEMPORAL_AFFINE_BACKWARD},
        'out = x w without + b'),
    Bug('temporal_affine_backward_dw_transposed', 'temporal_affine_backward',
        {'temporal_affine_forward': TEMPORAL_AFFINE_FORWARD,
         'temporal_affine_backward': TEMPORAL_AFFINE_BACKWARD_DW_TRANSPOSED},
        'dw = dout^T x: shape (M, D)'),
    Bug('temporal_softmax_loss_mask_ignored', 'temporal_softmax_loss',
        {'temporal_softmax_loss': SOFTMAX_MASK_IGNORED},
        'the mask is never applied'),
    Bug('temporal_softmax_loss_dx_unmasked', 'temporal_softmax_loss',
        {'temporal_softmax_loss': SOFTMAX_DX_UNMASKED},
        'the mask is applied to the loss only'),
    Bug('captioning_loss_captions_swapped', 'CaptioningRNN.loss',
        {'CaptioningRNN.loss': LOSS_CAPTIONS_SWAPPED},
        'reads captions[:, 1:] and predicts captions[:, :-1]'),
    Bug('lstm_step_forward_no_tanh_on_c', 'lstm_step_forward',
        {'lstm_step_forward': LSTM_STEP_FORWARD_NO_TANH_ON_C, 'lstm_step_backward': LSTM_STEP_BACKWARD_FROM_GATES},
        'next_h = o * next_c'),
    Bug('lstm_backward_only_last_dh', 'lstm_backward',
        {'lstm_forward': LSTM_FORWARD_LIST_CACHE, 'lstm_backward': LSTM_BACKWARD_ONLY_LAST_DH},
        'only dh[:, -1] enters; the upstream dh[:, t] of earlier steps is never added'),
    Bug('lstm_model_embedding_no_accumulation', 'CaptioningRNN.loss',
        {'word_embedding_forward': EMBED_FORWARD_CACHING_W, 'word_embedding_backward': WORD_EMBEDDING_BACKWARD_ASSIGN,
         'CaptioningRNN.loss': LOSS_EITHER_CELL},
        "dW[x] += dout in the LSTM notebook, where the embedding is graded only inside the model"),
]

ASSIGNMENT = {bug.name: 'lstm' if bug.name.startswith('lstm') else 'rnn' for bug in BUGS}
