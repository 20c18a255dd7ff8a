"""ACAI and the paper's autoencoders, on the toolkit's core (`acai.lib`).

Layers, from the bottom: `acai.lib` (the core) and `flags`, the model families
(`acai.models`, `vae`, `gan`), then what combines them: `acai.registry` (every model by
name, in the order of the paper's Table 1), `acai.api` (the Python API) and the binaries
(acai-train, acai-export, acai-classify, acai-cluster, acai-projector,
acai-lines-benchmark). tests/test_layering.py checks that imports run downwards.
"""

import os
from importlib import metadata

try:
    __version__ = metadata.version("acai-toolkit")  # setup.py's, as installed.
except metadata.PackageNotFoundError:  # A checkout used without installing it.
    __version__ = "unknown"

# Hide TensorFlow's C++ INFO logs where it reads this (TensorFlow 2.21's start-up banners,
# logged before absl's log is set up, show anyway); warnings and errors still show.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "1")
