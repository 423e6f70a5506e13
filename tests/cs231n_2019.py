"""A CS231n 2019-shaped submission made from the module template: that year's given files
(tensorflow, Cython, future and past imports), the setup cell and the three cells that show
plots and fetch images from URLs. The student's own code is whatever the template held."""
from __future__ import annotations

import nbformat

SETUP_2019 = '''# As usual, a bit of setup
from __future__ import print_function
import time, os, json
import numpy as np
import matplotlib.pyplot as plt

from cs231n.gradient_check import eval_numerical_gradient, eval_numerical_gradient_array
from cs231n.rnn_layers import *
from cs231n.captioning_solver import CaptioningSolver
from cs231n.classifiers.rnn import CaptioningRNN
from cs231n.coco_utils import load_coco_data, sample_coco_minibatch, decode_captions
from cs231n.image_utils import image_from_url

%matplotlib inline
plt.rcParams['figure.figsize'] = (10.0, 8.0) # set default size of plots
plt.rcParams['image.interpolation'] = 'nearest'
plt.rcParams['image.cmap'] = 'gray'

%load_ext autoreload
%autoreload 2

def rel_error(x, y):
    """ returns relative error """
    return np.max(np.abs(x - y) / (np.maximum(1e-8, np.abs(x) + np.abs(y))))'''
LOOK_2019 = '''# Sample a minibatch and show the images and captions
batch_size = 3

captions, features, urls = sample_coco_minibatch(data, batch_size=batch_size)
for i, (caption, url) in enumerate(zip(captions, urls)):
    plt.imshow(image_from_url(url))
    plt.axis('off')
    caption_str = decode_captions(caption, data['idx_to_word'])
    plt.title(caption_str)
    plt.show()'''
LOSS_PLOT = '''
plt.plot(small_rnn_solver.loss_history)
plt.xlabel('Iteration')
plt.ylabel('Loss')
plt.title('Training loss history')
plt.show()'''
SAMPLE_2019 = '''for split in ['train', 'val']:
    minibatch = sample_coco_minibatch(small_data, split=split, batch_size=2)
    gt_captions, features, urls = minibatch
    gt_captions = decode_captions(gt_captions, data['idx_to_word'])

    sample_captions = small_rnn_model.sample(features)
    sample_captions = decode_captions(sample_captions, data['idx_to_word'])

    for gt_caption, sample_caption, url in zip(gt_captions, sample_captions, urls):
        plt.imshow(image_from_url(url))
        plt.title('%s\\n%s\\nGT:%s' % (split, sample_caption, gt_caption))
        plt.axis('off')
        plt.show()'''
HEADER_2019 = ("from __future__ import print_function\nfrom builtins import range\nfrom past.builtins import xrange\n"
               "from future import standard_library\nstandard_library.install_aliases()\n")
GIVEN_2019 = {  # files of the 2019 course that are not in our template
    "cs231n/classifiers/squeezenet.py": "import tensorflow as tf\n\nNUM_CLASSES = 1000\n",
    "cs231n/setup.py": "from distutils.core import setup\nfrom distutils.extension import Extension\n"
                       "from Cython.Build import cythonize\nimport numpy\n",
    "cs231n/fast_layers.py": HEADER_2019 + "try:\n    from cs231n.im2col_cython import col2im_cython\n"
                             "except ImportError:\n    print('run the following from the cs231n directory')\n",
    "cs231n/data_utils.py": HEADER_2019 + "from six.moves import cPickle as pickle\nfrom imageio import imread\n",
}


def picture():
    """A saved plot, as a run with the network shows it."""
    return nbformat.v4.new_output("display_data", data={"image/png": "iVBORw0KGgo=", "text/plain": "<Figure>"})


def given_files(files):
    """{path: source}: the package's files as of 2019 (graded files with that year's header)."""
    files = dict(files)
    for path, header in (("cs231n/rnn_layers.py", "from __future__ import print_function, division\n"
                                                  "from builtins import range\n"),
                         ("cs231n/classifiers/rnn.py", "from builtins import range\nfrom builtins import object\n")):
        files[path] = header + files[path]
    for path in ("cs231n/layers.py", "cs231n/optim.py", "cs231n/gradient_check.py", "cs231n/coco_utils.py",
                 "cs231n/captioning_solver.py", "cs231n/image_utils.py"):
        files[path] = HEADER_2019 + files[path] + "\n\ndef changed_in_2019(n):\n    return list(xrange(n))\n"
    files.update(GIVEN_2019)
    return files


def notebook(nb):
    """Make the module template's notebook 2019's, in place; return the indexes of its cells
    (data, look, overfit, sample): loading the data, fetching images, training, sampling."""
    cells = {}
    for name, text in (("data", "data = load_coco_data(pca_features"), ("look", "sample_coco_minibatch(data"),
                       ("overfit", ".train()"), ("sample", ".sample(features)"), ("setup", "def rel_error(")):
        [cells[name]] = [i for i, c in enumerate(nb.cells) if c.cell_type == "code" and text in c.source]
    nb.cells[cells["setup"]].source = SETUP_2019
    nb.cells[cells["look"]].source = LOOK_2019
    nb.cells[cells["overfit"]].source += LOSS_PLOT
    nb.cells[cells["sample"]].source = SAMPLE_2019
    return cells["data"], cells["look"], cells["overfit"], cells["sample"]
