"""ACAI and the paper's autoencoders, on a core shared with `gan/` and `vae/`."""

import os

# Hide TensorFlow's C++ start-up banners (INFO); warnings and errors still show.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "1")
