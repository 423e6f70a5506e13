"""The generated COCO-format data set, its loader, and the notebook's overfit run on it."""
import os
import time

import numpy as np
import pytest

from reference.captioning_rnn import CaptioningRNN
from reference.captioning_solver import CaptioningSolver
from reference.coco_small import write_small_coco
from reference.coco_utils import decode_captions, load_coco_data, sample_coco_minibatch

FILES = ['coco2014_captions.h5', 'coco2014_vocab.json', 'train2014_urls.txt',
         'train2014_vgg16_fc7_pca.h5', 'val2014_urls.txt', 'val2014_vgg16_fc7_pca.h5']


@pytest.fixture(scope='module')
def coco_dir(tmp_path_factory):
    return write_small_coco(str(tmp_path_factory.mktemp('coco')))


def read_all(base_dir):
    return {name: (base_dir / name).read_bytes() for name in sorted(os.listdir(base_dir))}


def test_writing_is_quick_small_deterministic_and_atomic(tmp_path):
    start = time.perf_counter()
    write_small_coco(str(tmp_path / 'a'))
    assert time.perf_counter() - start < 1.0
    first = read_all(tmp_path / 'a')
    assert sorted(first) == FILES  # no temporary file left behind
    assert sum(len(content) for content in first.values()) < 2_000_000

    write_small_coco(str(tmp_path / 'a'))
    write_small_coco(str(tmp_path / 'b'))
    assert read_all(tmp_path / 'a') == first == read_all(tmp_path / 'b')
    write_small_coco(str(tmp_path / 'c'), seed=1)
    assert read_all(tmp_path / 'c') != first


def test_loader_returns_cs231n_keys_shapes_and_dtypes(coco_dir):
    data = load_coco_data(coco_dir)
    assert sorted(data) == sorted([
        'train_captions', 'train_image_idxs', 'val_captions', 'val_image_idxs',
        'train_features', 'val_features', 'idx_to_word', 'word_to_idx',
        'train_urls', 'val_urls'])
    num_train, num_val = data['train_features'].shape[0], data['val_features'].shape[0]
    assert data['train_captions'].shape == (num_train, 17)
    assert data['val_captions'].shape[1] == 17 and data['val_captions'].shape[0] > num_val
    for key in ('train_captions', 'train_image_idxs', 'val_captions', 'val_image_idxs'):
        assert data[key].dtype == np.int32, key
    assert data['train_features'].dtype == data['val_features'].dtype == np.float32
    assert data['train_features'].shape[1] == data['val_features'].shape[1] == 512
    assert data['train_urls'].shape == (num_train,) and data['val_urls'].shape == (num_val,)
    assert data['train_urls'][123] == 'http://images.example/train/000123.jpg'

    assert data['idx_to_word'][:4] == ['<NULL>', '<START>', '<END>', '<UNK>']
    assert all(data['word_to_idx'][w] == i for i, w in enumerate(data['idx_to_word']))
    # One caption per training image, every image used.
    assert sorted(data['train_image_idxs']) == list(range(num_train))
    assert set(data['val_image_idxs']) == set(range(num_val))
    assert (data['train_captions'][:, 0] == 1).all()


def test_max_train_subsamples_like_cs231n(coco_dir):
    np.random.seed(231)
    small = load_coco_data(coco_dir, max_train=50)
    full = load_coco_data(coco_dir)
    np.random.seed(231)
    mask = np.random.randint(full['train_captions'].shape[0], size=50)
    np.testing.assert_array_equal(small['train_captions'], full['train_captions'][mask])
    np.testing.assert_array_equal(small['train_image_idxs'], full['train_image_idxs'][mask])
    np.testing.assert_array_equal(small['train_features'], full['train_features'])


def test_decode_captions():
    idx_to_word = ['<NULL>', '<START>', '<END>', '<UNK>', 'a', 'cat']
    captions = np.array([[1, 4, 5, 2, 0, 0], [1, 4, 0, 3, 2, 5]])
    assert decode_captions(captions, idx_to_word) == [
        '<START> a cat <END>', '<START> a <UNK> <END>']
    assert decode_captions(captions[0], idx_to_word) == '<START> a cat <END>'


def test_sample_coco_minibatch(coco_dir):
    data = load_coco_data(coco_dir)
    np.random.seed(0)
    captions, features, urls = sample_coco_minibatch(data, batch_size=7, split='val')
    assert captions.shape == (7, 17) and features.shape == (7, 512) and urls.shape == (7,)
    np.random.seed(0)
    rows = np.random.choice(data['val_captions'].shape[0], 7)
    idxs = data['val_image_idxs'][rows]
    np.testing.assert_array_equal(features, data['val_features'][idxs])
    np.testing.assert_array_equal(urls, data['val_urls'][idxs])


@pytest.mark.slow
def test_overfit_small_data(coco_dir):
    np.random.seed(231)
    small_data = load_coco_data(coco_dir, max_train=50)
    model = CaptioningRNN(cell_type='rnn', word_to_idx=small_data['word_to_idx'],
                          input_dim=small_data['train_features'].shape[1],
                          hidden_dim=512, wordvec_dim=256)
    solver = CaptioningSolver(model, small_data, update_rule='adam', num_epochs=50,
                              batch_size=25, optim_config={'learning_rate': 5e-3},
                              lr_decay=0.95, verbose=False)
    solver.train()
    assert len(solver.loss_history) == 100
    assert solver.loss_history[-1] < 0.1

    # Greedy decoding of the training images gives back their captions.
    features = small_data['train_features'][small_data['train_image_idxs']]
    idx_to_word = small_data['idx_to_word']
    sampled = decode_captions(model.sample(features), idx_to_word)
    truth = [c[len('<START> '):] for c in decode_captions(small_data['train_captions'],
                                                          idx_to_word)]
    assert sampled == truth
