"""Correct implementations written differently from the reference: each must get full marks.

They guard against checks that would fail honest students: other cache formats, naive
but correct formulas, decoders that stop at <END>, upcasting float32 to float64.
"""

RNN_STEP_DICT_CACHE = '''
def rnn_step_forward(x, prev_h, Wx, Wh, b):
    a = prev_h @ Wh + x @ Wx + b
    next_h = np.tanh(a)
    return next_h, {"x": x, "h": prev_h, "Wx": Wx, "Wh": Wh, "a": a}
'''

RNN_STEP_BACKWARD_DICT_CACHE = '''
def rnn_step_backward(dnext_h, cache):
    da = dnext_h / np.cosh(cache["a"]) ** 2
    return (da @ cache["Wx"].T, da @ cache["Wh"].T, cache["x"].T @ da, cache["h"].T @ da,
            np.sum(da, axis=0))
'''

RNN_FORWARD_TUPLE_CACHE = '''
def rnn_forward(x, h0, Wx, Wh, b):
    N, T, D = x.shape
    h = np.zeros((N, T, h0.shape[1]))
    steps = []
    prev = h0
    for t in range(T):
        prev, c = rnn_step_forward(x[:, t, :], prev, Wx, Wh, b)
        h[:, t, :] = prev
        steps.append(c)
    return h, (steps, D)
'''

RNN_BACKWARD_TUPLE_CACHE = '''
def rnn_backward(dh, cache):
    steps, D = cache
    N, T, H = dh.shape
    dx = np.zeros((N, T, D))
    dWx, dWh, db = np.zeros((D, H)), np.zeros((H, H)), np.zeros(H)
    dprev = np.zeros((N, H))
    for t in range(T - 1, -1, -1):
        dx[:, t], dprev, dWx_t, dWh_t, db_t = rnn_step_backward(dh[:, t] + dprev, steps[t])
        dWx += dWx_t
        dWh += dWh_t
        db += db_t
    return dx, dprev, dWx, dWh, db
'''

NAIVE_SOFTMAX_LOSS = '''
def temporal_softmax_loss(x, y, mask, verbose=False):
    N, T, V = x.shape
    loss = 0.0
    dx = np.zeros_like(x)
    for n in range(N):
        for t in range(T):
            if mask[n, t]:
                p = np.exp(x[n, t]) / np.sum(np.exp(x[n, t]))
                loss -= np.log(p[y[n, t]])
                dx[n, t] = p
                dx[n, t, y[n, t]] -= 1
    return loss / N, dx / N
'''

SAMPLE_STOPS_AT_END = '''
def sample(self, features, max_length=30):
    N = features.shape[0]
    captions = self._null * np.ones((N, max_length), dtype=np.int32)
    h = features @ self.params['W_proj'] + self.params['b_proj']
    word = np.full(N, self._start)
    done = np.zeros(N, dtype=bool)
    for t in range(max_length):
        h = np.tanh(self.params['W_embed'][word] @ self.params['Wx'] + h @ self.params['Wh'] + self.params['b'])
        word = np.argmax(h @ self.params['W_vocab'] + self.params['b_vocab'], axis=1)
        captions[~done, t] = word[~done]
        done |= word == self._end
        if done.all():
            break
    return captions
'''

VARIANTS = {
    "step functions with a dict cache": {"rnn_step_forward": RNN_STEP_DICT_CACHE,
                                         "rnn_step_backward": RNN_STEP_BACKWARD_DICT_CACHE},
    "sequence functions with a tuple cache": {"rnn_forward": RNN_FORWARD_TUPLE_CACHE,
                                              "rnn_backward": RNN_BACKWARD_TUPLE_CACHE},
    "naive softmax loop": {"temporal_softmax_loss": NAIVE_SOFTMAX_LOSS},
    "sampling that stops at <END>": {"CaptioningRNN.sample": SAMPLE_STOPS_AT_END},
}

MUTATING_AND_PRINTING_BACKWARD = '''
def temporal_affine_backward(dout, cache):
    x, w, b = cache.pop(), cache.pop(), cache.pop()  # empties its cache: callable once
    print("temporal_affine_backward called")
    dout *= 1.0  # writes into its input
    N, T, D = x.shape
    dx = dout.reshape(N * T, -1).dot(w.T).reshape(N, T, D)
    dw = x.reshape(N * T, D).T.dot(dout.reshape(N * T, -1))
    db = dout.sum(axis=(0, 1))
    return dx, dw, db
'''

LIST_CACHE_AFFINE_FORWARD = '''
def temporal_affine_forward(x, w, b):
    N, T, D = x.shape
    out = x.reshape(N * T, D).dot(w).reshape(N, T, -1) + b
    return out, [b, w, x]
'''

VARIANTS["a backward that prints, writes into dout and empties its list cache"] = {
    "temporal_affine_forward": LIST_CACHE_AFFINE_FORWARD,
    "temporal_affine_backward": MUTATING_AND_PRINTING_BACKWARD}
