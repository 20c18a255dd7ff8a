"""What every dataset shares: the DataSpec, image preprocessing to 32x32 in [-1, 1], the
class filter, and the pipeline from unbatched (uint8 image, label) to batches."""

import dataclasses
from typing import Callable

import tensorflow as tf

SIZE = 32  # Every dataset is served at SIZE x SIZE.
SHUFFLE_BUFFER = 10_000
AUTOTUNE = tf.data.AUTOTUNE


class DatasetUnavailable(Exception):
    """Raised with ONE line of text saying what is missing and how to get it."""


@dataclasses.dataclass(frozen=True)
class DataSpec:
    """A dataset: its geometry, its classes and its three pipelines.

    train(batch_size, seed, start): infinite, shuffled batches of exactly batch_size,
    from batch `start` of the stream that `seed` fixes;
    test(batch_size), train_once(batch_size): one pass in a fixed order, the last batch
    may be smaller. Each is a function of the dataset's kind (pipeline.image_spec,
    lines32.spec).
    """
    name: str
    height: int
    width: int
    colors: int
    nclass: int
    class_names: tuple
    train_fn: Callable = dataclasses.field(repr=False, compare=False, default=None)
    test_fn: Callable = dataclasses.field(repr=False, compare=False, default=None)
    train_once_fn: Callable = dataclasses.field(repr=False, compare=False, default=None)

    def train(self, batch_size, *, seed=None, start=0):
        """Infinite, shuffled batches of exactly `batch_size` (x, label).

        seed: fixes the stream (None: another each time). start: the batches to skip, so
        that a resumed run goes on with the stream where it stopped (with a seed).
        """
        return self.train_fn(int(batch_size), seed, int(start))

    def test(self, batch_size):
        """One pass in a fixed order; the last batch may be smaller."""
        return self.test_fn(int(batch_size))

    def train_once(self, batch_size):
        """One pass over the train split in a fixed order; the last batch may be smaller."""
        return self.train_once_fn(int(batch_size))


# --- Image preprocessing: uint8 [h, w, c] -> float32 [SIZE, SIZE, c] in [-1, 1] -------

def to_float(image):
    return tf.cast(image, tf.float32) * (2.0 / 255.0) - 1.0


def resize(x):
    """Bicubic (antialiased) resize of a float image to SIZE x SIZE, clipped to [-1, 1]."""
    x = tf.image.resize(x, [SIZE, SIZE], method="bicubic", antialias=True)
    return tf.clip_by_value(x, -1.0, 1.0)


def fit(image):
    """Pads an image smaller than SIZE x SIZE with -1 (centred); resizes any other."""
    height, width = image.shape[0], image.shape[1]
    if height is None or width is None:
        raise ValueError("images of unknown size are not supported by the TFDS path")
    if height == SIZE and width == SIZE:
        return to_float(image)
    if height <= SIZE and width <= SIZE:
        top, left = (SIZE - height) // 2, (SIZE - width) // 2
        # Padding the uint8 image with 0 gives -1 after to_float.
        image = tf.pad(image, [[top, SIZE - height - top], [left, SIZE - width - left],
                               [0, 0]])
        return to_float(image)
    return resize(to_float(image))


# --- Classes ---------------------------------------------------------------------------

def parse_classes(classes, class_names):
    """The kept original class indices, in the given order (None: keep all).

    classes: None, or names and/or indices as a list, tuple or comma-separated string.
    """
    if classes is None:
        return None
    if isinstance(classes, str):
        classes = [c.strip() for c in classes.split(",") if c.strip()]
    classes = list(classes)
    if not classes:
        return None
    valid = f"valid: {', '.join(class_names)} or indices 0..{len(class_names) - 1}"
    kept = []
    for c in classes:
        if isinstance(c, str) and c.strip().isdigit():
            c = int(c)
        if isinstance(c, int) and not isinstance(c, bool):
            if not 0 <= c < len(class_names):
                raise ValueError(f"class index {c} out of range; {valid}")
            index = c
        elif isinstance(c, str) and c.strip() in class_names:
            index = class_names.index(c.strip())
        else:
            raise ValueError(f"unknown class {c!r}; {valid}")
        if index in kept:
            raise ValueError(f"class {class_names[index]!r} given twice")
        kept.append(index)
    return kept


def filter_classes(ds, kept, nclass):
    """Keeps the (x, label) examples whose label is in `kept`, labels remapped to their
    position there."""
    if kept is None:
        return ds
    table = [-1] * nclass
    for new, old in enumerate(kept):
        table[old] = new
    table = tf.constant(table, tf.int64)
    ds = ds.filter(lambda x, y: tf.gather(table, y) >= 0)
    return ds.map(lambda x, y: (x, tf.gather(table, y)))


# --- The pipeline ----------------------------------------------------------------------

def image_spec(name, colors, class_names, classes, load, preprocess, cache, size):
    """A DataSpec from `load(split, shuffle, seed)` of unbatched (uint8 image, label).

    preprocess: uint8 image -> float32 [SIZE, SIZE, colors] in [-1, 1]. cache: keep the
    decoded uint8 images in memory (small datasets). size: the train split's images
    (bounds the shuffle buffer), None if unknown.
    """
    kept = parse_classes(classes, class_names)
    names = tuple(class_names) if kept is None else tuple(class_names[i] for i in kept)
    buffer = min(SHUFFLE_BUFFER, size) if size else SHUFFLE_BUFFER

    def prepare(x, y):
        return preprocess(x), y

    def train(batch_size, seed, start):
        ds = filter_classes(load("train", True, seed), kept, len(class_names))
        if cache:
            ds = ds.cache()
        ds = ds.shuffle(buffer, seed=seed).repeat()
        # Skipped before the preprocessing: a resumed run reads its images, no more.
        ds = ds.skip(start * batch_size).map(prepare, num_parallel_calls=AUTOTUNE)
        return ds.batch(batch_size, drop_remainder=True).prefetch(AUTOTUNE)

    def once(split, batch_size):
        ds = filter_classes(load(split, False, None), kept, len(class_names))
        ds = ds.map(prepare, num_parallel_calls=AUTOTUNE)
        return ds.batch(batch_size).prefetch(AUTOTUNE)

    return DataSpec(name, SIZE, SIZE, colors, len(names), names, train,
                    lambda batch_size: once("test", batch_size),
                    lambda batch_size: once("train", batch_size))
