"""A correct solution of the PyTorch template (``student_template/pytorch``), as sources.

``SOURCES`` maps each TODO of the template ('f' or 'CaptioningRNN.method') to a full
def, written as a student would, for ``notebooks.build_submission('module', dest,
solutions=SOURCES, template=notebooks.PYTORCH_TEMPLATE)``. ``load(folder)`` imports a
built submission's ``cs231n`` package in-process and returns the names its notebook
would hold.
"""
from __future__ import annotations

import ast
import importlib
import importlib.util
import itertools
import sys
from pathlib import Path

import pytest

import notebooks

LAYERS = ('rnn_step_forward', 'rnn_forward', 'word_embedding_forward', 'lstm_step_forward',
          'lstm_forward', 'temporal_affine_forward', 'temporal_softmax_loss')
MODEL = ('CaptioningRNN.loss', 'CaptioningRNN.sample')
TODO_NAMES = LAYERS + MODEL








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

REFERENCE = Path(__file__).resolve().parents[1] / 'reference' / 'rnn_layers_pytorch.py'


def _reference_layers():
    """{name: source} of the layers of the grader's PyTorch reference (read, not imported)."""
    text = REFERENCE.read_text()
    tree = ast.parse(text)
    return {node.name: ast.get_source_segment(text, node) + '\n' for node in tree.body
            if isinstance(node, ast.FunctionDef) and node.name in LAYERS}


SOURCES = {**_reference_layers(), 'CaptioningRNN.loss': LOSS, 'CaptioningRNN.sample': SAMPLE}
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


def namespaces(tmp_path, replace=None, solutions=SOURCES):
    """The namespaces student code lives in (the notebook's, the cs231n modules'), its package
    imported as ``cs231n`` as in the kernel, so the grader's stand-ins replace functions where
    the student's code calls them."""
    folder = notebooks.build_submission("module", tmp_path, solutions=solutions, replace=replace,
                                        template=notebooks.PYTORCH_TEMPLATE)
    for name in [m for m in sys.modules if m == "cs231n" or m.startswith("cs231n.")]:
        del sys.modules[name]
    sys.path.insert(0, str(folder))
    try:
        layers = importlib.import_module("cs231n.rnn_layers_pytorch")
        model = importlib.import_module("cs231n.classifiers.rnn_pytorch")
    finally:
        sys.path.remove(str(folder))
    return [{"CaptioningRNN": model.CaptioningRNN}, vars(layers), vars(model)]


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """torch on one thread in a module that imports this fixture (xdist runs two workers on two cores)."""
    import torch
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
