"""Trusted NumPy solution of CS231n "Image Captioning with RNNs": layers, model, training, data."""
