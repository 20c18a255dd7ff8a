"""The datasets of the toolkit, by name: `get_dataset(name)` -> a DataSpec.

A DataSpec's `train()` / `test()` / `train_once()` give batched `(x, label)` pairs: x
float32 [B, 32, 32, C] in [-1, 1], label int64 [B]. Names:

    lines32                the paper's synthetic lines (generated; lines32.py)
    mnist32, svhn32, cifar10, celeba32
                           the paper's datasets from TensorFlow Datasets (tfds_sets.py)
    tfds:NAME              any TFDS image dataset (tfds_sets.py)
    folder:PATH            one sub-folder of images per class (folders.py)

Every kind ends in the one pipeline of pipeline.py (class filter, shuffle, batches).
A TFDS dataset that is not prepared is downloaded and prepared into the data folder
(unless download=False); one that cannot be raises DatasetUnavailable (one line).
"""

from typing import Optional

from acai.lib.data import folders, lines32, tfds_sets
from acai.lib.data.folders import unreadable_images
from acai.lib.data.pipeline import SIZE, DatasetUnavailable, DataSpec, parse_classes

DATASETS = (lines32.NAME,) + tuple(tfds_sets.BUILTIN)
__all__ = ["DATASETS", "SIZE", "DataSpec", "DatasetUnavailable", "get_dataset",
           "parse_classes", "unreadable_images"]


def get_dataset(name: str, data_dir: Optional[str] = None, classes=None,
                skip_unreadable=False, download=True) -> DataSpec:
    """The DataSpec of the dataset `name` (see the module docstring).

    data_dir: TFDS data folder (None: TFDS default, honours TFDS_DATA_DIR).
    classes: None or empty (all), or class names and/or indices as a list, tuple or
      comma-separated string; labels are remapped to 0..k-1 in the given order.
    skip_unreadable: folder datasets leave out (with a warning) the files that do not
      decode, rather than refusing to start.
    download: a TFDS dataset that is not prepared in data_dir is downloaded and prepared
      there (TFDS' progress bars); False: a DatasetUnavailable says how to prepare it.
    """
    if name == lines32.NAME:
        return lines32.spec(classes)
    if name in tfds_sets.BUILTIN:
        return tfds_sets.builtin_spec(name, data_dir, classes, download)
    if name.startswith("tfds:"):
        return tfds_sets.generic_spec(name, data_dir, classes, download)
    if name.startswith("folder:"):
        return folders.spec(name, classes, skip_unreadable)
    raise ValueError(f"unknown dataset {name!r}; valid: {', '.join(DATASETS)}, "
                     "tfds:NAME, folder:PATH")
