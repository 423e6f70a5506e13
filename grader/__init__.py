"""Autograder for CS231n 'Image Captioning with RNNs'."""
__version__ = "0.3.0"
