"""Shims for APIs the CS231n starter code used that no longer exist; run first in every kernel.

- ``scipy.misc.imread`` (removed in SciPy 1.2): reads with imageio.
- ``scipy.misc.imresize`` (removed in SciPy 1.3): resizes with Pillow, returns uint8.

It also makes ``exit()``/``quit()`` in a cell raise SystemExit (the cell fails alone)
instead of shutting the kernel down after it, and sets plain tracebacks (a deep
recursion's verbose traceback takes seconds to format).

Each is installed only where the API is missing, so a kernel that still has it keeps it.
"""

KERNEL_SETUP = '''
def _cs231n_grader_shims():
    import sys
    import types
    import warnings
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import scipy.misc
    except ImportError:  # SciPy >= 2 has no scipy.misc at all
        try:
            import scipy
        except ImportError:
            return
        scipy.misc = sys.modules["scipy.misc"] = types.ModuleType("scipy.misc")
    if not hasattr(scipy.misc, "imread"):
        def imread(name, flatten=False, mode=None):
            import imageio.v2 as imageio
            image = imageio.imread(name, mode="F" if flatten else mode)
            return image
        scipy.misc.imread = imread
    if not hasattr(scipy.misc, "imresize"):
        def imresize(arr, size, interp="bilinear", mode=None):
            import numpy as np
            from PIL import Image
            image = Image.fromarray(np.asarray(arr))
            if isinstance(size, (int, float)) and not isinstance(size, bool):
                factor = size / 100.0 if isinstance(size, int) else size
                size = (int(image.size[1] * factor), int(image.size[0] * factor))
            resample = {"nearest": Image.NEAREST, "bilinear": Image.BILINEAR, "bicubic": Image.BICUBIC,
                        "lanczos": Image.LANCZOS}.get(interp, Image.BILINEAR)
            return np.asarray(image.resize((size[1], size[0]), resample)).astype(np.uint8)
        scipy.misc.imresize = imresize


def _cs231n_grader_exit(*args, **kwargs):
    raise SystemExit("exit() in a notebook cell: the grader goes on with the next cell")


get_ipython().ask_exit = _cs231n_grader_exit
get_ipython().InteractiveTB.set_mode("Plain")
_cs231n_grader_shims()
del _cs231n_grader_shims, _cs231n_grader_exit
'''
