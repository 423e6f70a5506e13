"""Image helpers of the assignment: fetch an image from a URL (needs the internet)."""

import io
import urllib.request

import numpy as np


def image_from_url(url):
    """
    Read an image from a URL. Returns a numpy array with the pixel data, or None
    (with a message) if it cannot be fetched or decoded.
    """
    import matplotlib.image

    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            data = response.read()
        return np.asarray(matplotlib.image.imread(io.BytesIO(data), format=url.rsplit('.', 1)[-1]))
    except Exception as e:  # no network, a bad URL, an unknown format
        print('Could not read image from %s: %s' % (url, e))
        return None
