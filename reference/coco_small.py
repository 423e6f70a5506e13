"""A small, generated data set in CS231n's COCO captioning format.

Each image has latent attributes (count, colour, object, action, place). Its
512-d float32 "PCA feature" is a fixed random linear map of the one-hot attributes
plus a little noise, and its caption is read off the same attributes, e.g.
"<START> two red cats sitting on grass <END> <NULL> ...". Captions are thus
predictable from features, and a model can overfit a few of them to near-zero loss.

Every training image has exactly one caption; every validation image has two (with
and without the colour word). Only the PCA feature files are written: the 4096-d
*_vgg16_fc7.h5 files would not fit the size budget, so load_coco_data needs
pca_features=True on this set.
"""
import json
import os
import tempfile

import numpy as np

SPECIAL_WORDS = ('<NULL>', '<START>', '<END>', '<UNK>')
COUNTS = ('a', 'two', 'three')
COLOURS = ('red', 'blue', 'green', 'yellow', 'black', 'white', 'brown', 'orange')
OBJECTS = (('cat', 'cats'), ('dog', 'dogs'), ('horse', 'horses'), ('bird', 'birds'),
           ('cow', 'cows'), ('duck', 'ducks'), ('rabbit', 'rabbits'), ('goat', 'goats'),
           ('pig', 'pigs'), ('bear', 'bears'))
ACTIONS = ('sitting', 'standing', 'sleeping', 'eating', 'running', 'playing')
# Short captions keep the notebook's overfitting run (final loss < 0.1) safe whatever 50
# rows are drawn: with a size word and three-word places the reference's final loss
# reached 0.089; with these, at most 0.023 over 30 draws (4 generator seeds).
PLACES = ('outside', 'inside', 'at home', 'on grass', 'in water', 'on sand', 'in snow',
          'at night')
ATTRIBUTES = (COUNTS, COLOURS, OBJECTS, ACTIONS, PLACES)

NUM_TRAIN, NUM_VAL, VAL_CAPTIONS_PER_IMAGE = 500, 100, 2
FEATURE_DIM, CAPTION_LENGTH, NOISE = 512, 17, 0.1


def _sentence(attrs, with_colour=True):
    """Return the words of the caption of one image's attribute indices."""
    count, colour, obj, action, place = attrs
    words = [COUNTS[count]] + [COLOURS[colour]] * int(with_colour)
    words += [OBJECTS[obj][int(count > 0)], ACTIONS[action]]
    return words + PLACES[place].split()


def _vocabulary():
    """Return idx_to_word: the special tokens, then every word in order of appearance."""
    idx_to_word = list(SPECIAL_WORDS)
    phrases = COUNTS + COLOURS + sum(OBJECTS, ()) + ACTIONS + PLACES
    for word in ' '.join(phrases).split():
        if word not in idx_to_word:
            idx_to_word.append(word)
    return idx_to_word


def _encode(sentences, word_to_idx):
    """Turn word lists into <START> ... <END> id rows padded with <NULL> to CAPTION_LENGTH."""
    captions = np.full((len(sentences), CAPTION_LENGTH), word_to_idx['<NULL>'], np.int32)
    for row, words in zip(captions, sentences):
        tokens = ['<START>'] + words + ['<END>']
        row[:len(tokens)] = [word_to_idx[w] for w in tokens]
    return captions


def _split(rng, projection, num_images, captions_per_image, word_to_idx):
    """Draw one split's attributes; return (captions, image_idxs, features)."""
    attrs = np.stack([rng.integers(len(a), size=num_images) for a in ATTRIBUTES], axis=1)
    offsets = np.cumsum([0] + [len(a) for a in ATTRIBUTES[:-1]])
    one_hot = np.zeros((num_images, projection.shape[0]))
    one_hot[np.arange(num_images)[:, None], attrs + offsets] = 1
    features = one_hot @ projection + NOISE * rng.standard_normal((num_images, FEATURE_DIM))

    image_idxs = np.repeat(rng.permutation(num_images), captions_per_image).astype(np.int32)
    with_colour = np.tile(np.arange(captions_per_image) == 0, num_images)
    sentences = [_sentence(attrs[i], c) for i, c in zip(image_idxs, with_colour)]
    return _encode(sentences, word_to_idx), image_idxs, features.astype(np.float32)


def _write_atomic(path, write):
    """Call write(tmp_path) on a temporary file next to path, then move it into place."""
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), prefix='.tmp-')
    os.close(fd)
    os.chmod(tmp, 0o644)
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        os.remove(tmp)
        raise


def _write_h5(path, arrays):
    """Write a dict of arrays as datasets of one HDF5 file."""
    import h5py

    def write(tmp):
        with h5py.File(tmp, 'w') as f:
            for key, value in arrays.items():
                f.create_dataset(key, data=value)
    _write_atomic(path, write)


def _write_text(path, text):
    """Write a text file."""
    def write(tmp):
        with open(tmp, 'w') as f:
            f.write(text)
    _write_atomic(path, write)


def write_small_coco(base_dir, seed=0):
    """
    Write the small COCO-format data set into base_dir (created if missing).

    The same seed always gives byte-identical files; each file is written under a
    temporary name and then renamed, so readers never see a partial file. The global
    np.random state is not used.

    Inputs:
    - base_dir: Destination folder
    - seed: Seed of the generator

    Returns:
    - base_dir
    """
    os.makedirs(base_dir, exist_ok=True)
    rng = np.random.default_rng(seed)
    idx_to_word = _vocabulary()
    word_to_idx = {w: i for i, w in enumerate(idx_to_word)}
    num_codes = sum(len(a) for a in ATTRIBUTES)
    projection = rng.standard_normal((num_codes, FEATURE_DIM)) / np.sqrt(len(ATTRIBUTES))

    splits = {'train': (NUM_TRAIN, 1), 'val': (NUM_VAL, VAL_CAPTIONS_PER_IMAGE)}
    captions = {}
    for split, (num_images, per_image) in splits.items():
        split_captions, image_idxs, features = _split(
            rng, projection, num_images, per_image, word_to_idx)
        captions['%s_captions' % split] = split_captions
        captions['%s_image_idxs' % split] = image_idxs
        _write_h5(os.path.join(base_dir, '%s2014_vgg16_fc7_pca.h5' % split),
                  {'features': features})
        urls = ''.join('http://images.example/%s/%06d.jpg\n' % (split, i)
                       for i in range(num_images))
        _write_text(os.path.join(base_dir, '%s2014_urls.txt' % split), urls)

    _write_h5(os.path.join(base_dir, 'coco2014_captions.h5'), captions)
    vocab = {'idx_to_word': idx_to_word, 'word_to_idx': word_to_idx}
    _write_text(os.path.join(base_dir, 'coco2014_vocab.json'), json.dumps(vocab))
    return base_dir
