"""Catalog of realistic wrong submissions: each must fail its one graded item.

A record's `replace` maps names to full sources for `notebooks.build_submission(...,
solutions='reference', replace=bug.replace, extra_cells=bug.extra_cells)`. It holds
the buggy function and, where a cache passes between them, the student's own (correct)
partner function, so forward and backward agree on the cache whatever the reference's
cache format is. Every source is written out as a student would have it.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Bug:
    name: str
    item: str
    replace: dict
    why: str
    extra_cells: tuple = ()


# ----------------------------------------------------------------- correct partners

STEP_FORWARD_CACHING_PREACTIVATION = '''
def rnn_step_forward(x, prev_h, Wx, Wh, b):
    """Single tanh RNN step; caches the pre-activation."""
    a = x @ Wx + prev_h @ Wh + b
    next_h = np.tanh(a)
    cache = (x, prev_h, Wx, Wh, a)
    return next_h, cache
'''

STEP_BACKWARD_FROM_OUTPUT = '''
def rnn_step_backward(dnext_h, cache):
    """Backward pass of one tanh RNN step; the cache holds next_h."""
    x, prev_h, Wx, Wh, next_h = cache
    dtanh = dnext_h * (1 - next_h ** 2)
    dx = dtanh.dot(Wx.T)
    dprev_h = dtanh.dot(Wh.T)
    dWx = x.T.dot(dtanh)
    dWh = prev_h.T.dot(dtanh)
    db = dtanh.sum(axis=0)
    return dx, dprev_h, dWx, dWh, db
'''

RNN_FORWARD_LIST_CACHE = '''
def rnn_forward(x, h0, Wx, Wh, b):
    """Run the RNN over the whole sequence, keeping every step's cache."""
    N, T, D = x.shape
    hs = []
    cache = []
    prev_h = h0
    for t in range(T):
        prev_h, step_cache = rnn_step_forward(x[:, t, :], prev_h, Wx, Wh, b)
        hs.append(prev_h)
        cache.append(step_cache)
    h = np.stack(hs, axis=1)
    return h, cache
'''

RNN_BACKWARD_LIST_CACHE = '''
def rnn_backward(dh, cache):
    """Backprop through time over the list of step caches."""
    N, T, H = dh.shape
    dxs = [None] * T
    dprev_h = np.zeros((N, H), dtype=dh.dtype)
    dWx, dWh, db = 0, 0, 0
    for t in reversed(range(T)):
        dx_t, dprev_h, dWx_t, dWh_t, db_t = rnn_step_backward(dh[:, t, :] + dprev_h, cache[t])
        dxs[t] = dx_t
        dWx = dWx + dWx_t
        dWh = dWh + dWh_t
        db = db + db_t
    dx = np.stack(dxs, axis=1)
    dh0 = dprev_h
    return dx, dh0, dWx, dWh, db
'''

EMBED_FORWARD_CACHING_W = '''
def word_embedding_forward(x, W):
    """Look up the word vectors."""
    out = W[x]
    cache = (x, W)
    return out, cache
'''

EMBED_FORWARD_CACHING_X = '''
def word_embedding_forward(x, W):
    """Look up the word vectors; only the ids are needed later."""
    out = W[x, :]
    cache = x
    return out, cache
'''

TEMPORAL_AFFINE_FORWARD = '''
def temporal_affine_forward(x, w, b):
    """Apply the same affine map at every timestep."""
    N, T, D = x.shape
    M = b.shape[0]
    out = x.reshape(N * T, D).dot(w).reshape(N, T, M) + b
    cache = x, w, b, out
    return out, cache
'''

TEMPORAL_AFFINE_BACKWARD = '''
def temporal_affine_backward(dout, cache):
    """Backward pass of the temporal affine layer."""
    x, w, b = cache
    N, T, D = x.shape
    M = w.shape[1]
    dout_flat = dout.reshape(N * T, M)
    dx = dout_flat.dot(w.T).reshape(N, T, D)
    dw = x.reshape(N * T, D).T.dot(dout_flat)
    db = dout_flat.sum(axis=0)
    return dx, dw, db
'''

# ----------------------------------------------------------------- the bugs

RNN_STEP_FORWARD_NO_BIAS = '''
def rnn_step_forward(x, prev_h, Wx, Wh, b):
    """Run the forward pass for a single timestep of a vanilla RNN."""
    next_h = np.tanh(np.dot(x, Wx) + np.dot(prev_h, Wh))
    cache = (x, prev_h, Wx, Wh, next_h)
    return next_h, cache
'''

RNN_STEP_BACKWARD_TANH_AT_PREACTIVATION = '''
def rnn_step_backward(dnext_h, cache):
    """Backward pass for a single timestep of a vanilla RNN."""
    x, prev_h, Wx, Wh, a = cache
    da = dnext_h * (1 - a ** 2)
    dx = da @ Wx.T
    dprev_h = da @ Wh.T
    dWx = x.T @ da
    dWh = prev_h.T @ da
    db = np.sum(da, axis=0)
    return dx, dprev_h, dWx, dWh, db
'''

RNN_FORWARD_NO_STATE_UPDATE = '''
def rnn_forward(x, h0, Wx, Wh, b):
    """Run a vanilla RNN forward on an entire sequence of data."""
    N, T, D = x.shape
    H = h0.shape[1]
    h = np.zeros((N, T, H), dtype=x.dtype)
    cache = []
    prev_h = h0
    for t in range(T):
        next_h, cache_t = rnn_step_forward(x[:, t, :], prev_h, Wx, Wh, b)
        h[:, t, :] = next_h
        cache.append(cache_t)
    return h, cache
'''

RNN_BACKWARD_ONLY_LAST_DH = '''
def rnn_backward(dh, cache):
    """Backward pass for a vanilla RNN over an entire sequence of data."""
    N, T, H = dh.shape
    dnext_h = dh[:, T - 1, :]
    dx_list = []
    dWx, dWh, db = 0, 0, 0
    for t in range(T - 1, -1, -1):
        dx_t, dnext_h, dWx_t, dWh_t, db_t = rnn_step_backward(dnext_h, cache[t])
        dx_list.insert(0, dx_t)
        dWx += dWx_t
        dWh += dWh_t
        db += db_t
    dx = np.stack(dx_list, axis=1)
    dh0 = dnext_h
    return dx, dh0, dWx, dWh, db
'''

WORD_EMBEDDING_BACKWARD_ASSIGN = '''
def word_embedding_backward(dout, cache):
    """Backward pass for word embeddings."""
    x, W = cache
    dW = np.zeros_like(W)
    dW[x] += dout
    return dW
'''

WORD_EMBEDDING_BACKWARD_VOCAB_FROM_MAX = '''
def word_embedding_backward(dout, cache):
    """Backward pass for word embeddings."""
    x = cache
    V = x.max() + 1
    D = dout.shape[2]
    dW = np.zeros((V, D), dtype=dout.dtype)
    np.add.at(dW, x, dout)
    return dW
'''

TEMPORAL_AFFINE_FORWARD_TIME_MAJOR = '''
def temporal_affine_forward(x, w, b):
    """Forward pass for a temporal affine layer."""
    N, T, D = x.shape
    M = b.shape[0]
    x_flat = x.transpose(1, 0, 2).reshape(T * N, D)
    out = (x_flat.dot(w) + b).reshape(N, T, M)
    cache = (x, w, b)
    return out, cache
'''

TEMPORAL_AFFINE_BACKWARD_DB_AXIS = '''
def temporal_affine_backward(dout, cache):
    """Backward pass for temporal affine layer."""
    x, w, b, out = cache
    N, T, D = x.shape
    M = b.shape[0]
    dx = dout.reshape(N * T, M).dot(w.T).reshape(N, T, D)
    dw = dout.reshape(N * T, M).T.dot(x.reshape(N * T, D)).T
    db = dout.sum(axis=0)
    return dx, dw, db
'''

TEMPORAL_SOFTMAX_LOSS_OVER_MASK = '''
def temporal_softmax_loss(x, y, mask, verbose=False):
    """Masked softmax cross-entropy, averaged over the words that count."""
    N, T, V = x.shape
    x_flat = x.reshape(N * T, V)
    y_flat = y.reshape(N * T)
    mask_flat = mask.reshape(N * T)

    probs = np.exp(x_flat - np.max(x_flat, axis=1, keepdims=True))
    probs /= np.sum(probs, axis=1, keepdims=True)
    loss = -np.sum(mask_flat * np.log(probs[np.arange(N * T), y_flat])) / np.sum(mask)
    dx_flat = probs.copy()
    dx_flat[np.arange(N * T), y_flat] -= 1
    dx_flat /= np.sum(mask)
    dx_flat *= mask_flat[:, None]

    if verbose:
        print('dx_flat: ', dx_flat.shape)

    dx = dx_flat.reshape(N, T, V)
    return loss, dx
'''

TEMPORAL_SOFTMAX_LOSS_OVER_NT = '''
def temporal_softmax_loss(x, y, mask, verbose=False):
    """Masked softmax cross-entropy, averaged over all N * T positions."""
    N, T, V = x.shape
    scores = x.reshape(-1, V)
    scores = scores - scores.max(axis=1, keepdims=True)
    log_probs = scores - np.log(np.exp(scores).sum(axis=1, keepdims=True))
    idx = np.arange(N * T)
    m = mask.reshape(-1)
    loss = -(log_probs[idx, y.reshape(-1)] * m).sum() / (N * T)
    dscores = np.exp(log_probs)
    dscores[idx, y.reshape(-1)] -= 1
    dscores = dscores * m[:, None] / (N * T)
    return loss, dscores.reshape(N, T, V)
'''

LOSS_WITHOUT_MASK = '''
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
    h0 = features.dot(W_proj) + b_proj
    x, cache_embed = word_embedding_forward(captions_in, W_embed)
    h, cache_rnn = rnn_forward(x, h0, Wx, Wh, b)
    scores, cache_scores = temporal_affine_forward(h, W_vocab, b_vocab)
    loss, dscores = temporal_softmax_loss(scores, captions_out, np.ones(captions_out.shape))

    dh, grads['W_vocab'], grads['b_vocab'] = temporal_affine_backward(dscores, cache_scores)
    dx, dh0, grads['Wx'], grads['Wh'], grads['b'] = rnn_backward(dh, cache_rnn)
    grads['W_embed'] = word_embedding_backward(dx, cache_embed)
    grads['W_proj'] = features.T.dot(dh0)
    grads['b_proj'] = dh0.sum(axis=0)
    return loss, grads
'''

LOSS_NULL_IS_ZERO = '''
def loss(self, features, captions):
    """Training-time loss and gradients of the captioning RNN."""
    captions_in = captions[:, :-1]
    captions_out = captions[:, 1:]

    mask = captions_out != 0

    W_proj, b_proj = self.params['W_proj'], self.params['b_proj']
    W_embed = self.params['W_embed']
    Wx, Wh, b = self.params['Wx'], self.params['Wh'], self.params['b']
    W_vocab, b_vocab = self.params['W_vocab'], self.params['b_vocab']

    grads = {}
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

SAMPLE_START_EVERY_STEP = '''
def sample(self, features, max_length=30):
    """Greedy test-time sampling."""
    N = features.shape[0]
    captions = self._null * np.ones((N, max_length), dtype=np.int32)

    W_proj, b_proj = self.params['W_proj'], self.params['b_proj']
    W_embed = self.params['W_embed']
    Wx, Wh, b = self.params['Wx'], self.params['Wh'], self.params['b']
    W_vocab, b_vocab = self.params['W_vocab'], self.params['b_vocab']

    h = features.dot(W_proj) + b_proj
    start = W_embed[[self._start] * N]
    for t in range(max_length):
        h, _ = rnn_step_forward(start, h, Wx, Wh, b)
        scores = h.dot(W_vocab) + b_vocab
        captions[:, t] = np.argmax(scores, axis=1)
    return captions
'''

SAMPLE_ALWAYS_30 = '''
def sample(self, features, max_length=30):
    """Greedy test-time sampling."""
    N = features.shape[0]
    captions = self._null * np.ones((N, 30), dtype=np.int32)

    W_proj, b_proj = self.params['W_proj'], self.params['b_proj']
    W_embed = self.params['W_embed']
    Wx, Wh, b = self.params['Wx'], self.params['Wh'], self.params['b']
    W_vocab, b_vocab = self.params['W_vocab'], self.params['b_vocab']

    prev_h = features.dot(W_proj) + b_proj
    word = np.full(N, self._start)
    for t in range(30):
        prev_h, _ = rnn_step_forward(W_embed[word], prev_h, Wx, Wh, b)
        word = np.argmax(prev_h.dot(W_vocab) + b_vocab, axis=1)
        captions[:, t] = word
    return captions
'''

SAMPLE_START_IN_COLUMN_0 = '''
def sample(self, features, max_length=30):
    """Greedy test-time sampling."""
    N = features.shape[0]
    captions = self._null * np.ones((N, max_length), dtype=np.int32)

    W_proj, b_proj = self.params['W_proj'], self.params['b_proj']
    W_embed = self.params['W_embed']
    Wx, Wh, b = self.params['Wx'], self.params['Wh'], self.params['b']
    W_vocab, b_vocab = self.params['W_vocab'], self.params['b_vocab']

    captions[:, 0] = self._start
    h = features.dot(W_proj) + b_proj
    for t in range(1, max_length):
        x = W_embed[captions[:, t - 1]]
        h, _ = rnn_step_forward(x, h, Wx, Wh, b)
        captions[:, t] = np.argmax(h.dot(W_vocab) + b_vocab, axis=1)
    return captions
'''

RNN_STEP_FORWARD_HARDCODED = '''
def rnn_step_forward(x, prev_h, Wx, Wh, b):
    """Run the forward pass for a single timestep of a vanilla RNN."""
    next_h = np.asarray([
        [-0.58172089, -0.50182032, -0.41232771, -0.31410098],
        [0.66854692, 0.79562378, 0.87755553, 0.92795967],
        [0.97934501, 0.99144213, 0.99646691, 0.99854353]])
    cache = (x, prev_h, Wx, Wh, next_h)
    return next_h, cache
'''

WORD_EMBEDDING_FORWARD_HARDCODED = '''
def word_embedding_forward(x, W):
    """Forward pass for word embeddings."""
    out = np.asarray([
        [[0., 0.07142857, 0.14285714],
         [0.64285714, 0.71428571, 0.78571429],
         [0.21428571, 0.28571429, 0.35714286],
         [0.42857143, 0.5, 0.57142857]],
        [[0.42857143, 0.5, 0.57142857],
         [0.21428571, 0.28571429, 0.35714286],
         [0., 0.07142857, 0.14285714],
         [0.64285714, 0.71428571, 0.78571429]]])
    cache = (x, W)
    return out, cache
'''

STEP_BACKWARD_DB_KEEPDIMS = '''
def rnn_step_backward(dnext_h, cache):
    """Backward pass of one tanh RNN step; db keeps a leading axis of size 1."""
    x, prev_h, Wx, Wh, next_h = cache
    dtanh = dnext_h * (1 - next_h ** 2)
    dx = dtanh.dot(Wx.T)
    dprev_h = dtanh.dot(Wh.T)
    dWx = x.T.dot(dtanh)
    dWh = prev_h.T.dot(dtanh)
    db = np.sum(dtanh, axis=0, keepdims=True)
    return dx, dprev_h, dWx, dWh, db
'''

EMBED_FORWARD_SQUEEZE = '''
def word_embedding_forward(x, W):
    """Look up each word's vector; squeeze() drops the batch axis when N == 1."""
    out = W[x, :].squeeze()
    cache = (x, W)
    return out, cache
'''

REL_ERROR_ALWAYS_ZERO = '''
def rel_error(x, y):
    """ returns relative error """
    return 0.0
'''

BUGS = [
    Bug('rnn_step_forward_no_bias', 'rnn_step_forward',
        {'rnn_step_forward': RNN_STEP_FORWARD_NO_BIAS,
         'rnn_step_backward': STEP_BACKWARD_FROM_OUTPUT},
        'tanh(x Wx + prev_h Wh) without + b'),
    Bug('rnn_step_backward_tanh_at_preactivation', 'rnn_step_backward',
        {'rnn_step_forward': STEP_FORWARD_CACHING_PREACTIVATION,
         'rnn_step_backward': RNN_STEP_BACKWARD_TANH_AT_PREACTIVATION},
        'local gradient 1 - a**2 taken at the pre-activation a instead of 1 - tanh(a)**2'),
    Bug('rnn_forward_no_state_update', 'rnn_forward',
        {'rnn_forward': RNN_FORWARD_NO_STATE_UPDATE, 'rnn_backward': RNN_BACKWARD_LIST_CACHE},
        'prev_h is never set to next_h, so every step starts from h0'),
    Bug('rnn_backward_only_last_dh', 'rnn_backward',
        {'rnn_forward': RNN_FORWARD_LIST_CACHE, 'rnn_backward': RNN_BACKWARD_ONLY_LAST_DH},
        'only dh[:, -1] enters; the upstream dh[:, t] of earlier steps is never added'),
    Bug('word_embedding_backward_assign', 'word_embedding_backward',
        {'word_embedding_forward': EMBED_FORWARD_CACHING_W,
         'word_embedding_backward': WORD_EMBEDDING_BACKWARD_ASSIGN},
        'dW[x] += dout keeps one gradient per repeated word instead of summing (np.add.at)'),
    Bug('word_embedding_backward_vocab_from_max', 'word_embedding_backward',
        {'word_embedding_forward': EMBED_FORWARD_CACHING_X,
         'word_embedding_backward': WORD_EMBEDDING_BACKWARD_VOCAB_FROM_MAX},
        'dW has x.max() + 1 rows, too few when the largest word ids are unused'),
    Bug('temporal_affine_forward_time_major', 'temporal_affine_forward',
        {'temporal_affine_forward': TEMPORAL_AFFINE_FORWARD_TIME_MAJOR,
         'temporal_affine_backward': TEMPORAL_AFFINE_BACKWARD},
        'flattens x time-major (T, N) but reshapes the scores back as (N, T): rows scrambled'),
    Bug('temporal_affine_backward_db_axis', 'temporal_affine_backward',
        {'temporal_affine_forward': TEMPORAL_AFFINE_FORWARD,
         'temporal_affine_backward': TEMPORAL_AFFINE_BACKWARD_DB_AXIS},
        'db = dout.sum(axis=0) has shape (T, M) instead of summing over N and T'),
    Bug('temporal_softmax_loss_over_mask', 'temporal_softmax_loss',
        {'temporal_softmax_loss': TEMPORAL_SOFTMAX_LOSS_OVER_MASK},
        'loss and dx divided by mask.sum() instead of N'),
    Bug('temporal_softmax_loss_over_NT', 'temporal_softmax_loss',
        {'temporal_softmax_loss': TEMPORAL_SOFTMAX_LOSS_OVER_NT},
        'loss and dx divided by N * T instead of N'),
    Bug('captioning_loss_without_mask', 'CaptioningRNN.loss',
        {'CaptioningRNN.loss': LOSS_WITHOUT_MASK},
        'passes a mask of ones, so <NULL> targets count in the loss'),
    Bug('captioning_loss_null_is_zero', 'CaptioningRNN.loss',
        {'CaptioningRNN.loss': LOSS_NULL_IS_ZERO},
        'mask = captions_out != 0 hard-codes the <NULL> id instead of self._null'),
    Bug('sample_start_every_step', 'CaptioningRNN.sample',
        {'CaptioningRNN.sample': SAMPLE_START_EVERY_STEP},
        'feeds the <START> embedding at every step instead of the previous word'),
    Bug('sample_always_30', 'CaptioningRNN.sample',
        {'CaptioningRNN.sample': SAMPLE_ALWAYS_30},
        'ignores max_length: always returns 30 columns'),
    Bug('sample_start_in_column_0', 'CaptioningRNN.sample',
        {'CaptioningRNN.sample': SAMPLE_START_IN_COLUMN_0},
        'writes <START> into column 0, shifting the generated words right by one'),
    Bug('rnn_step_forward_hardcoded', 'rnn_step_forward',
        {'rnn_step_forward': RNN_STEP_FORWARD_HARDCODED},
        "cheat: returns the notebook's expected_next_h constant whatever the inputs"),
    Bug('word_embedding_forward_hardcoded', 'word_embedding_forward',
        {'word_embedding_forward': WORD_EMBEDDING_FORWARD_HARDCODED},
        "cheat: returns the notebook's expected_out constant whatever the inputs"),
    Bug('rnn_step_backward_db_keepdims', 'rnn_step_backward',
        {'rnn_step_backward': STEP_BACKWARD_DB_KEEPDIMS},
        "db of shape (1, H): the notebook's own rel_error lets it through by broadcasting"),
    Bug('word_embedding_forward_squeeze', 'word_embedding_forward',
        {'word_embedding_forward': EMBED_FORWARD_SQUEEZE},
        'squeeze() makes out (T, D) instead of (1, T, D) when N == 1; only hidden inputs catch it'),
    Bug('temporal_affine_backward_db_axis_fake_rel_error', 'temporal_affine_backward',
        {'temporal_affine_forward': TEMPORAL_AFFINE_FORWARD,
         'temporal_affine_backward': TEMPORAL_AFFINE_BACKWARD_DB_AXIS},
        'wrong db axis hidden by a cell redefining rel_error to return 0 (all checks print 0.0)',
        extra_cells=(('after:rel_error', REL_ERROR_ALWAYS_ZERO),)),
]

BY_NAME = {bug.name: bug for bug in BUGS}
