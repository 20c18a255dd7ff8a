"""`lines32`: the paper's synthetic lines (acai.lib.lines), generated on the fly; the
label is the line's angle in ten bins."""

import tensorflow as tf

from acai.lib import lines
from acai.lib.data.pipeline import AUTOTUNE, SIZE, DataSpec, filter_classes, parse_classes

NAME = "lines32"
CLASSES = tuple(f"angle{i}" for i in range(10))


def cast(x, y):
    return tf.cast(x, tf.float32), tf.cast(y, tf.int64)


def spec(classes=None):
    """The DataSpec of lines32, of the angle bins `classes` (None: all)."""
    kept = parse_classes(classes, CLASSES)
    names = CLASSES if kept is None else tuple(CLASSES[i] for i in kept)

    def train(batch_size, seed, start):
        if kept is None:
            return lines.train_batches(batch_size, height=SIZE, width=SIZE, seed=seed,
                                       start=start).map(cast)
        ds = lines.train_batches(batch_size, height=SIZE, width=SIZE, seed=seed)
        ds = filter_classes(ds.unbatch().map(cast), kept, len(CLASSES))
        return ds.batch(batch_size, drop_remainder=True).skip(start).prefetch(AUTOTUNE)

    def test(batch_size):
        ds = filter_classes(lines.test_dataset(height=SIZE, width=SIZE).map(cast), kept,
                            len(CLASSES))
        return ds.batch(batch_size).prefetch(AUTOTUNE)

    def train_once(batch_size):
        # The train stream is endless: a fixed sample of it stands for the train split.
        ds = filter_classes(lines.train_sample(height=SIZE, width=SIZE).map(cast), kept,
                            len(CLASSES))
        return ds.batch(batch_size).prefetch(AUTOTUNE)

    return DataSpec(NAME, SIZE, SIZE, 1, len(names), names, train, test, train_once)
