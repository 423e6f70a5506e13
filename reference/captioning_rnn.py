"""CS231n's CaptioningRNN: image features -> initial hidden state -> RNN/LSTM -> words."""
import numpy as np

from .rnn_layers import (
    affine_backward, affine_forward, lstm_backward, lstm_forward, lstm_step_forward,
    rnn_backward, rnn_forward, rnn_step_forward, temporal_affine_backward,
    temporal_affine_forward, temporal_softmax_loss, word_embedding_backward,
    word_embedding_forward,
)


class CaptioningRNN:
    """
    A CaptioningRNN produces captions from image features using a recurrent
    neural network.

    The RNN receives input vectors of size D, has a vocab size of V, works on
    sequences of length T, has an RNN hidden dimension of H, uses word vectors
    of dimension W, and operates on minibatches of size N.

    Note that we don't use any regularization for the CaptioningRNN.
    """

    def __init__(self, word_to_idx, input_dim=512, wordvec_dim=128,
                 hidden_dim=128, cell_type='rnn', dtype=np.float32):
        """
        Construct a new CaptioningRNN instance.

        Inputs:
        - word_to_idx: A dictionary giving the vocabulary. It contains V entries,
          and maps each string to a unique integer in the range [0, V).
        - input_dim: Dimension D of input image feature vectors.
        - wordvec_dim: Dimension W of word vectors.
        - hidden_dim: Dimension H for the hidden state of the RNN.
        - cell_type: What type of RNN to use; either 'rnn' or 'lstm'.
        - dtype: numpy datatype to use; use float32 for training and float64 for
          numeric gradient checking.
        """
        if cell_type not in {'rnn', 'lstm'}:
            raise ValueError('Invalid cell_type "%s"' % cell_type)

        self.cell_type = cell_type
        self.dtype = dtype
        self.word_to_idx = word_to_idx
        self.idx_to_word = {i: w for w, i in word_to_idx.items()}
        self.params = {}

        vocab_size = len(word_to_idx)
        self._null = word_to_idx['<NULL>']
        self._start = word_to_idx.get('<START>', None)
        self._end = word_to_idx.get('<END>', None)

        # Same draws, in the same order, as CS231n: equal seeds give equal models.
        dim_mul = {'lstm': 4, 'rnn': 1}[cell_type]
        self.params['W_embed'] = np.random.randn(vocab_size, wordvec_dim) / 100
        self.params['W_proj'] = np.random.randn(input_dim, hidden_dim) / np.sqrt(input_dim)
        self.params['b_proj'] = np.zeros(hidden_dim)
        self.params['Wx'] = (np.random.randn(wordvec_dim, dim_mul * hidden_dim)
                             / np.sqrt(wordvec_dim))
        self.params['Wh'] = (np.random.randn(hidden_dim, dim_mul * hidden_dim)
                             / np.sqrt(hidden_dim))
        self.params['b'] = np.zeros(dim_mul * hidden_dim)
        self.params['W_vocab'] = np.random.randn(hidden_dim, vocab_size) / np.sqrt(hidden_dim)
        self.params['b_vocab'] = np.zeros(vocab_size)

        for k, v in self.params.items():
            self.params[k] = v.astype(self.dtype)

    def loss(self, features, captions):
        """
        Compute training-time loss for the RNN. We input image features and
        ground-truth captions for those images, and use an RNN (or LSTM) to compute
        loss and gradients on all parameters.

        Inputs:
        - features: Input image features, of shape (N, D)
        - captions: Ground-truth captions; an integer array of shape (N, T + 1) where
          each element is in the range 0 <= y[i, t] < V

        Returns a tuple of:
        - loss: Scalar loss
        - grads: Dictionary of gradients parallel to self.params
        """
        # The RNN reads word t and should predict word t + 1; <NULL> targets don't count.
        captions_in = captions[:, :-1]
        captions_out = captions[:, 1:]
        mask = captions_out != self._null

        p = self.params
        recurrent_forward, recurrent_backward = {
            'rnn': (rnn_forward, rnn_backward),
            'lstm': (lstm_forward, lstm_backward),
        }[self.cell_type]

        h0, cache_proj = affine_forward(features, p['W_proj'], p['b_proj'])
        x, cache_embed = word_embedding_forward(captions_in, p['W_embed'])
        h, cache_rnn = recurrent_forward(x, h0, p['Wx'], p['Wh'], p['b'])
        scores, cache_vocab = temporal_affine_forward(h, p['W_vocab'], p['b_vocab'])
        loss, dscores = temporal_softmax_loss(scores, captions_out, mask)

        grads = {}
        dh, grads['W_vocab'], grads['b_vocab'] = temporal_affine_backward(dscores, cache_vocab)
        dx, dh0, grads['Wx'], grads['Wh'], grads['b'] = recurrent_backward(dh, cache_rnn)
        grads['W_embed'] = word_embedding_backward(dx, cache_embed)
        _, grads['W_proj'], grads['b_proj'] = affine_backward(dh0, cache_proj)
        return loss, grads

    def sample(self, features, max_length=30):
        """
        Run a test-time forward pass for the model, sampling captions for input
        feature vectors.

        At each timestep, we embed the current word, pass it and the previous hidden
        state to the RNN to get the next hidden state, use the hidden state to get
        scores for all vocab words, and choose the word with the highest score as
        the next word. The initial hidden state is computed by applying an affine
        transform to the input image features, the initial word is the <START>
        token and, for an LSTM, the initial cell state is zero. All max_length words
        are generated, even after <END>.

        Inputs:
        - features: Array of input image features of shape (N, D).
        - max_length: Maximum length T of generated captions.

        Returns:
        - captions: Array of shape (N, max_length) giving sampled captions,
          where each element is an integer in the range [0, V). The first element
          of captions is the first sampled word, not the <START> token.
        """
        N = features.shape[0]
        p = self.params
        captions = np.full((N, max_length), self._null, dtype=np.int32)

        h, _ = affine_forward(features, p['W_proj'], p['b_proj'])
        c = np.zeros_like(h)
        words = np.full(N, self._start)
        for t in range(max_length):
            x = p['W_embed'][words]
            if self.cell_type == 'rnn':
                h, _ = rnn_step_forward(x, h, p['Wx'], p['Wh'], p['b'])
            else:
                h, c, _ = lstm_step_forward(x, h, c, p['Wx'], p['Wh'], p['b'])
            scores, _ = affine_forward(h, p['W_vocab'], p['b_vocab'])
            words = scores.argmax(axis=1)
            captions[:, t] = words
        return captions
