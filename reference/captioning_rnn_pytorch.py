"""The trusted PyTorch CaptioningRNN of the rnn-pytorch assignment (seed 000): the template's
constructor, and a loss and a greedy sample on tensors that call the layers of
``rnn_layers_pytorch``.

The grader never sends this module into a kernel: ``grade --student-kit`` runs the public
model cases on it in its own process, to record the calls its layers receive (the calls a
student's correct model makes when the grader's layers stand in for failed ones).
"""
import numpy as np
import torch

from .rnn_layers_pytorch import (
    affine_forward, lstm_forward, lstm_step_forward, rnn_forward, rnn_step_forward,
    temporal_affine_forward, temporal_softmax_loss, word_embedding_forward,
)


class CaptioningRNN:
    """Image features -> initial hidden state -> RNN/LSTM -> word scores, on torch tensors."""

    def __init__(self, word_to_idx, input_dim=512, wordvec_dim=128, hidden_dim=128, cell_type='rnn',
                 dtype=torch.float32):
        if cell_type not in {'rnn', 'lstm'}:
            raise ValueError('Invalid cell_type "%s"' % cell_type)
        self.cell_type = cell_type
        self.dtype = dtype
        self.word_to_idx = word_to_idx
        self.idx_to_word = {i: w for w, i in word_to_idx.items()}
        self._null = word_to_idx['<NULL>']
        self._start = word_to_idx.get('<START>', None)
        self._end = word_to_idx.get('<END>', None)
        vocab_size, dim_mul = len(word_to_idx), {'lstm': 4, 'rnn': 1}[cell_type]
        self.params = {
            'W_embed': torch.randn(vocab_size, wordvec_dim) / 100,
            'W_proj': torch.randn(input_dim, hidden_dim) / np.sqrt(input_dim),
            'b_proj': torch.zeros(hidden_dim),
            'Wx': torch.randn(wordvec_dim, dim_mul * hidden_dim) / np.sqrt(wordvec_dim),
            'Wh': torch.randn(hidden_dim, dim_mul * hidden_dim) / np.sqrt(hidden_dim),
            'b': torch.zeros(dim_mul * hidden_dim),
            'W_vocab': torch.randn(hidden_dim, vocab_size) / np.sqrt(hidden_dim),
            'b_vocab': torch.zeros(vocab_size),
        }
        for k, v in self.params.items():
            self.params[k] = v.to(self.dtype)

    def loss(self, features, captions):
        """The masked softmax loss of the captions' next words; autograd gives the gradients."""
        captions_in, captions_out = captions[:, :-1], captions[:, 1:]
        mask = captions_out != self._null
        p = self.params
        h0 = affine_forward(features, p['W_proj'], p['b_proj'])
        x = word_embedding_forward(captions_in, p['W_embed'])
        forward = rnn_forward if self.cell_type == 'rnn' else lstm_forward
        h = forward(x, h0, p['Wx'], p['Wh'], p['b'])
        scores = temporal_affine_forward(h, p['W_vocab'], p['b_vocab'])
        return temporal_softmax_loss(scores, captions_out, mask)

    def sample(self, features, max_length=30):
        """Greedy decoding from <START>, each step fed the word it chose."""
        N = features.shape[0]
        captions = self._null * torch.ones((N, max_length), dtype=torch.long)
        p = self.params
        h = affine_forward(features, p['W_proj'], p['b_proj'])
        c = torch.zeros_like(h)
        words = torch.full((N,), self._start, dtype=torch.long)
        for t in range(max_length):
            x = word_embedding_forward(words, p['W_embed'])
            if self.cell_type == 'rnn':
                h = rnn_step_forward(x, h, p['Wx'], p['Wh'], p['b'])
            else:
                h, c = lstm_step_forward(x, h, c, p['Wx'], p['Wh'], p['b'])
            words = affine_forward(h, p['W_vocab'], p['b_vocab']).argmax(dim=1)
            captions[:, t] = words
        return captions
