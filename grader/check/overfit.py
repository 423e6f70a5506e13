"""The overfitting item's data: 50 examples of the small COCO-format set. The model's
and the solver's settings are the assignment's (CS231n's, in its TOML)."""
import tempfile

import numpy as np

from reference.coco_small import write_small_coco
from reference.coco_utils import load_coco_data

NUM_TRAIN = 50


def small_data(seed):
    """The 50 training captions the student's model must overfit, chosen by ``seed``.

    Only the features of the chosen images travel to the kernel (image ids renumbered).
    """
    with tempfile.TemporaryDirectory(prefix="grader-coco-") as base:
        write_small_coco(base)
        np.random.seed(seed % (2**32))
        data = load_coco_data(base_dir=base, max_train=NUM_TRAIN)
    images, image_idxs = np.unique(data["train_image_idxs"], return_inverse=True)
    return {"train_captions": data["train_captions"], "train_image_idxs": image_idxs.astype(np.int32),
            "train_features": data["train_features"][images], "word_to_idx": data["word_to_idx"],
            "train_urls": [str(u) for u in data["train_urls"][images]]}


def overfit_request(seed, model, solver):
    """The probe's overfit request: ``model``'s CaptioningRNN settings, ``solver``'s CaptioningSolver ones."""
    data = small_data(seed)
    init = dict(model, word_to_idx=data["word_to_idx"], input_dim=int(data["train_features"].shape[1]))
    return {"init": init, "data": data, "solver": solver, "seed": int(seed % (2**32))}
