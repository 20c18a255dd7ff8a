"""What an autoencoder run measures and shows every report: the reference's evaluations.

* latent_accuracy: test accuracy (%) of the online single-layer classifier on the latent.
* lines32 only: mean_distance and mean_smoothness of 256 interpolations of 16 steps
  between pairs of test lines (`acai.lib.lines.line_eval`).
* image grids: reconstructions (input | output), linear and spherical interpolations
  between pairs of test images, and decodings of random N(0, I) latent codes.
* an animation (images/interpolation_<kimg>.gif): the linear interpolations of the grid,
  all pairs at once, from the first image to the second and back.
"""

import numpy as np
import tensorflow as tf
from absl import logging

from acai.lib import lines, progress
from acai.lib.interpolate import lerp, slerp
from acai.lib.summaries import animation_frames, images_to_grid

GRID = 16            # Rows of every grid, and steps of each interpolation.
ANIMATION_COLUMNS = 4
RECONSTRUCTION_COLUMNS = 4
LINES_INTERPOLATIONS = 256
BATCH = 256


def test_images(spec, count, pairs=0):
    """The first `count` images of the test split, always the same ones. A smaller test
    split (a folder of a few dozen photos) is shown over again, in order, saying so in the
    log, and then the last `pairs` images are the `pairs` before them shifted by one (so
    that, paired, they are two different images); an empty one is a ValueError."""
    batches = [x.numpy() for x, _ in spec.test(BATCH).take(-(-count // BATCH))]
    images = np.concatenate(batches) if batches else np.zeros((0,))
    if not images.shape[0]:
        raise ValueError(f"the test split of {spec.name} holds no images")
    if images.shape[0] < count:
        logging.warning("the test split of %s has %d images, fewer than the %d its grids "
                        "show: they are shown repeated", spec.name, images.shape[0], count)
        images = np.resize(images, (count,) + images.shape[1:])  # Cycled, in order.
        if pairs:
            images[-pairs:] = np.roll(images[-2 * pairs:-pairs], -1, axis=0)
    return images[:count]


def batched(fn, array):
    """fn over `array` in batches of BATCH -> the results concatenated (numpy)."""
    return np.concatenate([np.asarray(fn(tf.constant(array[i:i + BATCH])))
                           for i in range(0, array.shape[0], BATCH)])


class AutoEncoderEvaluation:
    """Computes a report's scalars and grids for an AutoEncoder on its dataset."""

    def __init__(self, model, spec, seed=0):
        self.model = model
        self.spec = spec
        self.is_lines = spec.name == "lines32"
        # The interpolations join the last 2 * GRID images in pairs.
        self.pool = test_images(spec, GRID * RECONSTRUCTION_COLUMNS + 2 * GRID, pairs=GRID)
        # Fixed random codes, so that samples can be compared from report to report.
        self.sample_codes = np.random.RandomState(seed).standard_normal(
            (GRID * GRID,) + model.latent_shape).astype(np.float32)
        if self.is_lines:
            self.lines_pool = test_images(spec, 2 * LINES_INTERPOLATIONS)
        self.encode_fn = tf.function(lambda x: model.encode(x), reduce_retracing=True)
        self.decode_fn = tf.function(lambda z: model.decode(z), reduce_retracing=True)
        self.classify_fn = tf.function(model.classify_latent, reduce_retracing=True)

    def encode(self, images):
        """Images [N, H, W, C] -> latent codes [N, ...] (numpy), in batches."""
        return batched(self.encode_fn, images)

    def decode_paths(self, paths):
        """(N, steps, *latent) -> (N, steps, H, W, C) decoded images."""
        flat = paths.reshape((-1,) + paths.shape[2:])
        return batched(self.decode_fn, flat).reshape(paths.shape[:2] + self.spec_shape)

    def interpolations(self, images_a, images_b, steps=GRID):
        """(N, steps, H, W, C): the decodings of the linear paths between the codes of
        images_a and images_b [N, H, W, C], `steps` points each, ends included."""
        return self.decode_paths(lerp(self.encode(images_a), self.encode(images_b), steps))

    @property
    def spec_shape(self):
        return (self.spec.height, self.spec.width, self.spec.colors)

    def latent_accuracy(self):
        correct = total = 0
        for x, label in self.spec.test(BATCH):
            correct += int(tf.reduce_sum(tf.cast(self.classify_fn(x) == label, tf.int32)))
            total += int(label.shape[0])
        return 100.0 * correct / total

    def lines_scores(self):
        """(mean distance, mean smoothness) of LINES_INTERPOLATIONS interpolations between
        pairs of test lines (the paper's Table 1)."""
        half = LINES_INTERPOLATIONS
        return lines.line_eval(self.interpolations(self.lines_pool[:half],
                                                   self.lines_pool[half:]))

    def grids(self):
        n_rec = GRID * RECONSTRUCTION_COLUMNS
        x = self.pool[:n_rec]
        pairs = np.concatenate([x, batched(lambda v: self.model.ae(v), x)], axis=2)
        codes = self.encode(self.pool[n_rec:])
        samples = batched(self.decode_fn, self.sample_codes)
        interpolations = self.decode_paths(lerp(codes[:GRID], codes[GRID:], GRID))
        return {
            "reconstruction": images_to_grid(
                pairs.reshape((GRID, RECONSTRUCTION_COLUMNS) + pairs.shape[1:])),
            "interpolation": images_to_grid(interpolations),
            "interpolation_animation": animation_frames(interpolations, ANIMATION_COLUMNS),
            "slerp": images_to_grid(
                self.decode_paths(slerp(codes[:GRID], codes[GRID:], GRID))),
            "samples": images_to_grid(samples.reshape((GRID, GRID) + self.spec_shape)),
        }

    def __call__(self):
        """-> (scalars, images) for one report."""
        scalars = {}
        if getattr(self.model, "classifier", None) is not None:
            scalars["latent_accuracy"] = self.latent_accuracy()
        if self.is_lines:
            scalars["mean_distance"], scalars["mean_smoothness"] = self.lines_scores()
        return scalars, self.grids()


def encode_dataset(model, dataset, limit=None, what="encoding"):
    """-> (codes float32 [N, D] flattened, labels int64 [N]) of one pass of `dataset`, or
    of its first `limit` images."""
    encode = tf.function(lambda x: tf.cast(model.encode(x, training=False), tf.float32),
                         reduce_retracing=True)
    return features_of(dataset, encode, limit, what)


def features_of(dataset, featurize=None, limit=None, what=None):
    """-> (featurize(images) flattened float32 [N, D] (default: the pixels), labels int64
    [N]) of one pass of a dataset of (images, labels) batches, or of its first `limit`.
    what: the heading of a progress line (on a terminal), counting images."""
    codes, labels, count = [], [], 0
    batches = int(dataset.cardinality())
    bar = progress.Bar(what, limit, "img", show=None if what else False)
    for x, label in dataset:
        if not count and batches > 0:  # Now the batch size is known.
            bar.total = min(limit or np.inf, batches * int(x.shape[0]))
        codes.append(np.asarray(featurize(x) if featurize else x).reshape(x.shape[0], -1))
        labels.append(label.numpy())
        count += len(labels[-1])
        bar.add(len(labels[-1]))
        if limit is not None and count >= limit:
            break
    bar.close()
    if not codes:
        raise ValueError("the dataset is empty")
    return (np.concatenate(codes)[:limit].astype(np.float32),
            np.concatenate(labels)[:limit].astype(np.int64))
