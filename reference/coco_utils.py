"""Load, decode and sample COCO captioning data in CS231n's on-disk format.

h5py is imported inside load_coco_data only, so minibatch sampling (and therefore the
solver) needs nothing but numpy.
"""
import json
import os

import numpy as np

BASE_DIR = os.path.join('cs231n', 'datasets', 'coco_captioning')


def load_coco_data(base_dir=BASE_DIR, max_train=None, pca_features=True):
    """
    Load captions, image features, vocabulary and image URLs from base_dir.

    Inputs:
    - base_dir: Folder holding coco2014_captions.h5, the feature files,
      coco2014_vocab.json and the URL lists
    - max_train: If given, keep that many training captions drawn with
      np.random.randint (with replacement), as CS231n does
    - pca_features: Read the 512-d PCA features (*_vgg16_fc7_pca.h5) rather than the
      4096-d ones (*_vgg16_fc7.h5)

    Returns:
    - data: Dictionary with train_captions, train_image_idxs, val_captions,
      val_image_idxs, train_features, val_features, idx_to_word, word_to_idx,
      train_urls and val_urls
    """
    import h5py

    data = {}
    with h5py.File(os.path.join(base_dir, 'coco2014_captions.h5'), 'r') as f:
        for k, v in f.items():
            data[k] = np.asarray(v)

    suffix = '_pca' if pca_features else ''
    for split in ('train', 'val'):
        name = '%s2014_vgg16_fc7%s.h5' % (split, suffix)
        with h5py.File(os.path.join(base_dir, name), 'r') as f:
            data['%s_features' % split] = np.asarray(f['features'])

    with open(os.path.join(base_dir, 'coco2014_vocab.json'), 'r') as f:
        data.update(json.load(f))

    for split in ('train', 'val'):
        with open(os.path.join(base_dir, '%s2014_urls.txt' % split), 'r') as f:
            data['%s_urls' % split] = np.asarray([line.strip() for line in f])

    if max_train is not None:
        num_train = data['train_captions'].shape[0]
        mask = np.random.randint(num_train, size=max_train)
        data['train_captions'] = data['train_captions'][mask]
        data['train_image_idxs'] = data['train_image_idxs'][mask]
    return data


def decode_captions(captions, idx_to_word):
    """
    Turn word ids into strings, skipping <NULL> and stopping at <END>.

    Inputs:
    - captions: Integer array of shape (N, T), or (T,) for a single caption
    - idx_to_word: List (or dict) mapping ids to words

    Returns:
    - decoded: List of N strings, or one string for a 1-d input
    """
    singleton = captions.ndim == 1
    if singleton:
        captions = captions[None]
    decoded = []
    for caption in captions:
        words = []
        for idx in caption:
            word = idx_to_word[idx]
            if word != '<NULL>':
                words.append(word)
            if word == '<END>':
                break
        decoded.append(' '.join(words))
    return decoded[0] if singleton else decoded


def sample_coco_minibatch(data, batch_size=100, split='train'):
    """
    Draw a minibatch of captions (with replacement) and their images' features and URLs.

    Inputs:
    - data: Dictionary returned by load_coco_data
    - batch_size: Number of captions N
    - split: 'train' or 'val'

    Returns a tuple of:
    - captions: Integer array of shape (N, T)
    - image_features: Array of shape (N, D)
    - urls: Array of N strings
    """
    split_size = data['%s_captions' % split].shape[0]
    mask = np.random.choice(split_size, batch_size)
    captions = data['%s_captions' % split][mask]
    image_idxs = data['%s_image_idxs' % split][mask]
    return captions, data['%s_features' % split][image_idxs], data['%s_urls' % split][image_idxs]
