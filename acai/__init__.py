"""ACAI and the paper's autoencoders, on the toolkit's core (`acai.lib`).

Layers, from the bottom: `acai.lib` (the core), the model families (`acai.models`,
`vae`, `gan`), then what combines them: `acai.registry` (every model by name),
`acai.api` (the Python API) and the binaries.
"""

import os

# Hide TensorFlow's C++ start-up banners (INFO); warnings and errors still show.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "1")
