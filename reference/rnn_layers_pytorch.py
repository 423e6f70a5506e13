"""The trusted PyTorch solution of the layers of the rnn-pytorch assignment (seed 000).

Forward passes only, on torch tensors; autograd gives the gradients. The grader never
imports this module: it sends the source of the functions a request needs into the
student's kernel, to stand in for a student function that failed its own item.
"""
import torch


def affine_forward(x, w, b):
    """Affine map of the flattened inputs: (N, D) @ (D, M) + (M,)."""
    return x.reshape(x.shape[0], -1) @ w + b


def rnn_step_forward(x, prev_h, Wx, Wh, b):
    """One tanh RNN step."""
    next_h = torch.tanh(x @ Wx + prev_h @ Wh + b)
    return next_h


def rnn_forward(x, h0, Wx, Wh, b):
    """Run the RNN over the sequence, one step at a time."""
    hs = []
    prev_h = h0
    for t in range(x.shape[1]):
        prev_h = rnn_step_forward(x[:, t, :], prev_h, Wx, Wh, b)
        hs.append(prev_h)
    h = torch.stack(hs, dim=1)
    return h


def word_embedding_forward(x, W):
    """Look up the word vectors."""
    out = W[x]
    return out


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


def lstm_forward(x, h0, Wx, Wh, b):
    """Run the LSTM over the sequence from a zero cell state."""
    hs = []
    prev_h, prev_c = h0, torch.zeros_like(h0)
    for t in range(x.shape[1]):
        prev_h, prev_c = lstm_step_forward(x[:, t, :], prev_h, prev_c, Wx, Wh, b)
        hs.append(prev_h)
    h = torch.stack(hs, dim=1)
    return h


def temporal_affine_forward(x, w, b):
    """The same affine map at every timestep."""
    N, T, D = x.shape
    out = (x.reshape(N * T, D) @ w).reshape(N, T, -1) + b
    return out


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
