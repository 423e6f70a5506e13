"""Catalog of realistic wrong LSTM submissions: each must fail its one graded item.

Same records and conventions as bugs.py: `replace` holds the buggy function and, where a
cache passes between them, the student's own correct partner; build with
`notebooks.build_submission(..., solutions='reference', replace=bug.replace,
notebook=notebooks.LSTM_NOTEBOOK_NAME)`. A buggy forward caches what the partner
backward reads (the reference's layout), so the partner can be checked on its own.
"""
from __future__ import annotations

from bugs import Bug

# ----------------------------------------------------------------- correct partners

STEP_FORWARD_CACHING_NEXT_C = '''
def lstm_step_forward(x, prev_h, prev_c, Wx, Wh, b):
    """Forward pass for a single timestep of an LSTM; caches the gates and next_c."""
    H = prev_h.shape[1]
    a = x @ Wx + prev_h @ Wh + b
    i = sigmoid(a[:, 0:H])
    f = sigmoid(a[:, H:2 * H])
    o = sigmoid(a[:, 2 * H:3 * H])
    g = np.tanh(a[:, 3 * H:4 * H])
    next_c = f * prev_c + i * g
    next_h = o * np.tanh(next_c)
    cache = (x, prev_h, prev_c, Wx, Wh, i, f, o, g, next_c)
    return next_h, next_c, cache
'''

STEP_BACKWARD_FROM_GATES = '''
def lstm_step_backward(dnext_h, dnext_c, cache):
    """Backward pass for a single timestep of an LSTM; the cache holds tanh(next_c)."""
    x, prev_h, prev_c, Wx, Wh, i, f, o, g, tanh_c = cache
    dc = dnext_c + dnext_h * o * (1 - tanh_c ** 2)
    di = dc * g
    df = dc * prev_c
    do = dnext_h * tanh_c
    dg = dc * i
    da = np.hstack((di * i * (1 - i), df * f * (1 - f), do * o * (1 - o), dg * (1 - g ** 2)))
    dx = da.dot(Wx.T)
    dprev_h = da.dot(Wh.T)
    dprev_c = dc * f
    dWx = x.T.dot(da)
    dWh = prev_h.T.dot(da)
    db = np.sum(da, axis=0)
    return dx, dprev_h, dprev_c, dWx, dWh, db
'''

LSTM_FORWARD_LIST_CACHE = '''
def lstm_forward(x, h0, Wx, Wh, b):
    """Run the LSTM over the whole sequence, keeping every step's cache."""
    N, T, D = x.shape
    hs = []
    cache = []
    prev_h, prev_c = h0, np.zeros_like(h0)
    for t in range(T):
        prev_h, prev_c, step_cache = lstm_step_forward(x[:, t, :], prev_h, prev_c, Wx, Wh, b)
        hs.append(prev_h)
        cache.append(step_cache)
    h = np.stack(hs, axis=1)
    return h, cache
'''

LSTM_BACKWARD_LIST_CACHE = '''
def lstm_backward(dh, cache):
    """Backprop through time over the list of step caches."""
    N, T, H = dh.shape
    dxs = [None] * T
    dprev_h = np.zeros((N, H))
    dprev_c = np.zeros((N, H))
    dWx, dWh, db = 0, 0, 0
    for t in reversed(range(T)):
        dx_t, dprev_h, dprev_c, dWx_t, dWh_t, db_t = lstm_step_backward(
            dh[:, t, :] + dprev_h, dprev_c, cache[t])
        dxs[t] = dx_t
        dWx = dWx + dWx_t
        dWh = dWh + dWh_t
        db = db + db_t
    dx = np.stack(dxs, axis=1)
    dh0 = dprev_h
    return dx, dh0, dWx, dWh, db
'''

# ----------------------------------------------------------------- the bugs

STEP_FORWARD_FORGET_ONE_MINUS = '''
def lstm_step_forward(x, prev_h, prev_c, Wx, Wh, b):
    """Forward pass for a single timestep of an LSTM."""
    H = prev_h.shape[1]
    a = np.dot(x, Wx) + np.dot(prev_h, Wh) + b
    i = sigmoid(a[:, :H])
    f = sigmoid(a[:, H:2 * H])
    o = sigmoid(a[:, 2 * H:3 * H])
    g = np.tanh(a[:, 3 * H:])
    # the forget gate says how much of the old cell to forget
    next_c = (1 - f) * prev_c + i * g
    next_h = o * np.tanh(next_c)
    cache = (x, prev_h, prev_c, Wx, Wh, i, f, o, g, np.tanh(next_c))
    return next_h, next_c, cache
'''

STEP_FORWARD_GATES_IFGO = '''
def lstm_step_forward(x, prev_h, prev_c, Wx, Wh, b):
    """Forward pass for a single timestep of an LSTM."""
    a = x.dot(Wx) + prev_h.dot(Wh) + b
    ai, af, ag, ao = np.split(a, 4, axis=1)
    i = sigmoid(ai)
    f = sigmoid(af)
    o = sigmoid(ao)
    g = np.tanh(ag)
    next_c = f * prev_c + i * g
    tanh_c = np.tanh(next_c)
    next_h = o * tanh_c
    cache = (x, prev_h, prev_c, Wx, Wh, i, f, o, g, tanh_c)
    return next_h, next_c, cache
'''

STEP_FORWARD_TANH_PREV_C = '''
def lstm_step_forward(x, prev_h, prev_c, Wx, Wh, b):
    """Forward pass for a single timestep of an LSTM."""
    H = prev_h.shape[1]
    a = x @ Wx + prev_h @ Wh + b
    i, f, o = sigmoid(a[:, :H]), sigmoid(a[:, H:2 * H]), sigmoid(a[:, 2 * H:3 * H])
    g = np.tanh(a[:, 3 * H:])
    next_c = f * np.tanh(prev_c) + i * g
    tanh_c = np.tanh(next_c)
    next_h = o * tanh_c
    cache = (x, prev_h, prev_c, Wx, Wh, i, f, o, g, tanh_c)
    return next_h, next_c, cache
'''

STEP_BACKWARD_NO_TANH_DERIVATIVE = '''
def lstm_step_backward(dnext_h, dnext_c, cache):
    """Backward pass for a single timestep of an LSTM."""
    x, prev_h, prev_c, Wx, Wh, i, f, o, g, next_c = cache
    dc = dnext_c + dnext_h * o
    di = dc * g
    df = dc * prev_c
    do = dnext_h * np.tanh(next_c)
    dg = dc * i
    da = np.concatenate([di * i * (1 - i), df * f * (1 - f), do * o * (1 - o), dg * (1 - g * g)], axis=1)
    dx = da @ Wx.T
    dprev_h = da @ Wh.T
    dprev_c = dc * f
    dWx = x.T @ da
    dWh = prev_h.T @ da
    db = da.sum(axis=0)
    return dx, dprev_h, dprev_c, dWx, dWh, db
'''

STEP_BACKWARD_IGNORES_DNEXT_C = '''
def lstm_step_backward(dnext_h, dnext_c, cache):
    """Backward pass for a single timestep of an LSTM."""
    x, prev_h, prev_c, Wx, Wh, i, f, o, g, next_c = cache
    tanh_c = np.tanh(next_c)
    dc = dnext_h * o * (1 - tanh_c ** 2)
    da_i = dc * g * i * (1 - i)
    da_f = dc * prev_c * f * (1 - f)
    da_o = dnext_h * tanh_c * o * (1 - o)
    da_g = dc * i * (1 - g ** 2)
    da = np.hstack((da_i, da_f, da_o, da_g))
    dx = da.dot(Wx.T)
    dprev_h = da.dot(Wh.T)
    dprev_c = dc * f
    dWx = x.T.dot(da)
    dWh = prev_h.T.dot(da)
    db = da.sum(axis=0)
    return dx, dprev_h, dprev_c, dWx, dWh, db
'''

STEP_BACKWARD_G_AS_SIGMOID = '''
def lstm_step_backward(dnext_h, dnext_c, cache):
    """Backward pass for a single timestep of an LSTM."""
    x, prev_h, prev_c, Wx, Wh, i, f, o, g, next_c = cache
    tanh_c = np.tanh(next_c)
    dc = dnext_c + dnext_h * o * (1 - tanh_c ** 2)
    gates = np.hstack((i, f, o, g))
    dgates = np.hstack((dc * g, dc * prev_c, dnext_h * tanh_c, dc * i))
    da = dgates * gates * (1 - gates)
    dx = da.dot(Wx.T)
    dprev_h = da.dot(Wh.T)
    dprev_c = dc * f
    dWx = x.T.dot(da)
    dWh = prev_h.T.dot(da)
    db = da.sum(axis=0)
    return dx, dprev_h, dprev_c, dWx, dWh, db
'''

LSTM_FORWARD_H0_EVERY_STEP = '''
def lstm_forward(x, h0, Wx, Wh, b):
    """Forward pass for an LSTM over an entire sequence of data."""
    N, T, D = x.shape
    H = h0.shape[1]
    h = np.zeros((N, T, H))
    cache = []
    prev_c = np.zeros((N, H))
    for t in range(T):
        next_h, prev_c, step_cache = lstm_step_forward(x[:, t, :], h0, prev_c, Wx, Wh, b)
        h[:, t, :] = next_h
        cache.append(step_cache)
    return h, cache
'''

LSTM_FORWARD_C0_IS_H0 = '''
def lstm_forward(x, h0, Wx, Wh, b):
    """Forward pass for an LSTM over an entire sequence of data."""
    N, T, D = x.shape
    h = []
    cache = []
    prev_h, prev_c = h0, h0
    for t in range(T):
        prev_h, prev_c, step_cache = lstm_step_forward(x[:, t], prev_h, prev_c, Wx, Wh, b)
        h.append(prev_h)
        cache.append(step_cache)
    return np.stack(h, axis=1), cache
'''

LSTM_BACKWARD_DC_NOT_CARRIED = '''
def lstm_backward(dh, cache):
    """Backward pass for an LSTM over an entire sequence of data."""
    N, T, H = dh.shape
    dx = [None] * T
    dnext_h = np.zeros((N, H))
    dWx, dWh, db = 0, 0, 0
    for t in range(T - 1, -1, -1):
        dx[t], dnext_h, _, dWx_t, dWh_t, db_t = lstm_step_backward(
            dh[:, t, :] + dnext_h, np.zeros((N, H)), cache[t])
        dWx += dWx_t
        dWh += dWh_t
        db += db_t
    dx = np.stack(dx, axis=1)
    dh0 = dnext_h
    return dx, dh0, dWx, dWh, db
'''

SAMPLE_WITHOUT_CELL_STATE = '''
def sample(self, features, max_length=30):
    """Greedy test-time sampling."""
    N = features.shape[0]
    captions = self._null * np.ones((N, max_length), dtype=np.int32)

    W_proj, b_proj = self.params['W_proj'], self.params['b_proj']
    W_embed = self.params['W_embed']
    Wx, Wh, b = self.params['Wx'], self.params['Wh'], self.params['b']
    W_vocab, b_vocab = self.params['W_vocab'], self.params['b_vocab']

    h = features.dot(W_proj) + b_proj
    word = np.full(N, self._start)
    for t in range(max_length):
        x = W_embed[word]
        if self.cell_type == 'rnn':
            h, _ = rnn_step_forward(x, h, Wx, Wh, b)
        else:
            c = np.zeros_like(h)
            h, c, _ = lstm_step_forward(x, h, c, Wx, Wh, b)
        word = np.argmax(h.dot(W_vocab) + b_vocab, axis=1)
        captions[:, t] = word
    return captions
'''

LOSS_ALWAYS_RNN = '''
def loss(self, features, captions):
    """Training-time loss and gradients of the captioning RNN."""
    captions_in = captions[:, :-1]
    captions_out = captions[:, 1:]

    mask = (captions_out != self._null)

    W_proj, b_proj = self.params['W_proj'], self.params['b_proj']
    W_embed = self.params['W_embed']
    Wx, Wh, b = self.params['Wx'], self.params['Wh'], self.params['b']
    W_vocab, b_vocab = self.params['W_vocab'], self.params['b_vocab']

    loss, grads = 0.0, {}
    h0, cache_h0 = affine_forward(features, W_proj, b_proj)
    embedded, cache_embed = word_embedding_forward(captions_in, W_embed)
    h, cache_rnn = rnn_forward(embedded, h0, Wx, Wh, b)
    scores, cache_scores = temporal_affine_forward(h, W_vocab, b_vocab)
    loss, dscores = temporal_softmax_loss(scores, captions_out, mask)

    dh, grads['W_vocab'], grads['b_vocab'] = temporal_affine_backward(dscores, cache_scores)
    dembedded, dh0, grads['Wx'], grads['Wh'], grads['b'] = rnn_backward(dh, cache_rnn)
    grads['W_embed'] = word_embedding_backward(dembedded, cache_embed)
    _, grads['W_proj'], grads['b_proj'] = affine_backward(dh0, cache_h0)
    return loss, grads
'''

BUGS = [
    Bug('lstm_step_forward_forget_one_minus', 'lstm_step_forward',
        {'lstm_step_forward': STEP_FORWARD_FORGET_ONE_MINUS, 'lstm_step_backward': STEP_BACKWARD_FROM_GATES},
        'next_c = (1 - f) * prev_c + i * g: the forget gate read as how much to forget'),
    Bug('lstm_step_forward_gates_ifgo', 'lstm_step_forward',
        {'lstm_step_forward': STEP_FORWARD_GATES_IFGO, 'lstm_step_backward': STEP_BACKWARD_FROM_GATES},
        'a split in the order i, f, g, o instead of i, f, o, g'),
    Bug('lstm_step_forward_tanh_prev_c', 'lstm_step_forward',
        {'lstm_step_forward': STEP_FORWARD_TANH_PREV_C, 'lstm_step_backward': STEP_BACKWARD_FROM_GATES},
        'next_c = f * tanh(prev_c) + i * g: a tanh on the old cell state'),
    Bug('lstm_step_backward_no_tanh_derivative', 'lstm_step_backward',
        {'lstm_step_forward': STEP_FORWARD_CACHING_NEXT_C, 'lstm_step_backward': STEP_BACKWARD_NO_TANH_DERIVATIVE},
        'dnext_h reaches the cell as dnext_h * o, without the 1 - tanh(next_c)**2 factor'),
    Bug('lstm_step_backward_ignores_dnext_c', 'lstm_step_backward',
        {'lstm_step_forward': STEP_FORWARD_CACHING_NEXT_C, 'lstm_step_backward': STEP_BACKWARD_IGNORES_DNEXT_C},
        'the gradient of the cell state comes from dnext_h only; dnext_c is never added'),
    Bug('lstm_step_backward_g_as_sigmoid', 'lstm_step_backward',
        {'lstm_step_forward': STEP_FORWARD_CACHING_NEXT_C, 'lstm_step_backward': STEP_BACKWARD_G_AS_SIGMOID},
        'one sigmoid derivative g * (1 - g) for all four gates, also for the tanh block input g'),
    Bug('lstm_forward_h0_every_step', 'lstm_forward',
        {'lstm_forward': LSTM_FORWARD_H0_EVERY_STEP, 'lstm_backward': LSTM_BACKWARD_LIST_CACHE},
        'every step gets h0 as its previous hidden state; only the cell state is carried'),
    Bug('lstm_forward_c0_is_h0', 'lstm_forward',
        {'lstm_forward': LSTM_FORWARD_C0_IS_H0, 'lstm_backward': LSTM_BACKWARD_LIST_CACHE},
        'the initial cell state is h0 instead of zeros'),
    Bug('lstm_backward_dc_not_carried', 'lstm_backward',
        {'lstm_forward': LSTM_FORWARD_LIST_CACHE, 'lstm_backward': LSTM_BACKWARD_DC_NOT_CARRIED},
        'dprev_c is dropped: every step gets a zero dnext_c instead of the later step\'s dprev_c'),
    Bug('sample_without_cell_state', 'CaptioningRNN.sample',
        {'CaptioningRNN.sample': SAMPLE_WITHOUT_CELL_STATE},
        'the LSTM cell state is reset to zeros at every step instead of carried'),
    Bug('captioning_loss_always_rnn', 'CaptioningRNN.loss',
        {'CaptioningRNN.loss': LOSS_ALWAYS_RNN},
        "rnn_forward / rnn_backward whatever self.cell_type: the RNN notebook's loss, never updated"),
]

BY_NAME = {bug.name: bug for bug in BUGS}
