"""The paper's synthetic lines benchmark (Section 3 of Berthelot et al., 2018).

Each image is a 32x32 anti-aliased line of width 2 from the centre to the border, at an
angle drawn uniformly in [0, 2*pi); background -1, line +1; label int(10 * angle / 2pi).
A good interpolation between two lines is a line whose angle moves smoothly from one
end to the other, which `line_eval` measures with the paper's two numbers:

* mean distance: cosine distance of each interpolated image to the closest of 10,000
  reference lines at evenly spaced angles (how "line-like" the images are);
* mean smoothness: per interpolation, the largest step of the (unwrapped) angle sequence
  normalised by the total change of angle, minus 1/(n_steps - 1), the value of a perfectly
  even sweep (how evenly the angle moves).

Lines are rendered in TensorFlow, a whole batch in one vectorised op, so that the input
pipeline generates tens of thousands of images per second.
"""

import functools
import math

import numpy as np
import tensorflow as tf

NCLASS = 10
LINE_WIDTH = 2.0
TEST_SIZE = 5000
_TEST_SEED = (20180601, 7)  # Fixed: every run, every model sees the same test lines.
TRAIN_SAMPLE_SIZE = 20000
_TRAIN_SAMPLE_SEED = (20180601, 11)  # The fixed sample of train lines for evaluations.
_N_REFERENCE_LINES = 10000


def render_lines(angles, height=32, width=32):
    """Renders a batch of lines; angles: float [B] in radians -> float32 [B, H, W, 1].

    The line starts at the image centre and ends at radius (size/2 - 1), with angle 0
    pointing right and pi/2 pointing up. It is drawn like the reference: one step per pixel
    along the major axis (the one the line spans most), covering a band of width 2 along
    the minor axis, with each pixel set in proportion to the area of the band it covers.
    """
    # The end point in float64, so that ties at 45 degrees break as in the reference.
    angles = tf.cast(tf.reshape(angles, [-1, 1, 1]), tf.float64)
    c_row, c_col = height / 2.0, width / 2.0
    end_row = c_row - (c_row - 1.0) * tf.sin(angles)
    end_col = c_col + (c_col - 1.0) * tf.cos(angles)
    # The major axis is the one with the larger extent: rows unless the line is flatter.
    flip = tf.abs(end_col - c_col) > tf.abs(end_row - c_row)
    end_row, end_col = tf.cast(end_row, tf.float32), tf.cast(end_col, tf.float32)
    c_row, c_col = tf.constant(c_row, tf.float32), tf.constant(c_col, tf.float32)
    p0 = tf.where(flip, c_col, c_row)
    p1 = tf.where(flip, end_col, end_row)
    q0 = tf.where(flip, c_row, c_col)
    q1 = tf.where(flip, end_row, end_col)
    # Walk the major axis upwards, and shift the minor coordinate to the band's low edge.
    backwards = p1 < p0
    p0, p1 = tf.where(backwards, p1, p0), tf.where(backwards, p0, p1)
    q0, q1 = tf.where(backwards, q1, q0), tf.where(backwards, q0, q1)
    q0 -= LINE_WIDTH / 2
    q1 -= LINE_WIDTH / 2
    slope = (q1 - q0) / (p1 - p0)

    rows = tf.range(height, dtype=tf.float32)[None, :, None]
    cols = tf.range(width, dtype=tf.float32)[None, None, :]
    i = tf.where(flip, cols, rows)  # Index along the major axis, per pixel.
    j = tf.where(flip, rows, cols)  # Index along the minor axis, per pixel.
    # Fraction of pixel step i inside [p0, ceil(p1)] (the reference keeps the last step whole).
    step_weight = tf.clip_by_value(
        tf.minimum(i + 1.0, tf.math.ceil(p1)) - tf.maximum(i, p0), 0.0, 1.0)
    band_start = q0 + (i - p0 - 0.5) * slope
    coverage = tf.clip_by_value(
        tf.minimum(band_start + LINE_WIDTH, j + 1.0) - tf.maximum(band_start, j), 0.0, 1.0)
    image = tf.clip_by_value(2.0 * step_weight * coverage - 1.0, -1.0, 1.0)
    return image[..., None]


def draw_line(angle, height=32, width=32):
    """One line image at `angle` (radians), as a numpy array of shape (height, width, 1)."""
    return render_lines(tf.constant([angle], tf.float32), height, width)[0].numpy()


def angle_label(angles):
    """The class of a line: which tenth of the circle its angle falls in."""
    label = tf.floor(tf.cast(angles, tf.float32) * (NCLASS / (2 * math.pi)))
    return tf.cast(tf.clip_by_value(label, 0, NCLASS - 1), tf.int64)


def _random_lines(seed, count, height, width):
    angles = tf.random.stateless_uniform([count], seed=seed, maxval=2 * math.pi)
    return render_lines(angles, height, width), angle_label(angles)


def train_batches(batch_size, height=32, width=32, seed=None, start=0):
    """An endless tf.data stream of (x [B, H, W, 1], label [B]) batches of random lines.

    Each batch is drawn in-graph from a stateless generator keyed by (seed, batch index),
    so a seeded stream is reproducible and the pipeline costs next to nothing; `start`
    batches in, it goes on as the stream from 0 would (a resumed run skips for free).
    """
    if seed is None:
        seed = int(np.random.randint(2**31 - 1))
    return (tf.data.Dataset.counter(start)
            .map(lambda step: _random_lines(tf.stack([tf.cast(seed, tf.int64), step]),
                                            batch_size, height, width),
                 num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
            .prefetch(tf.data.AUTOTUNE))


def test_dataset(height=32, width=32):
    """The fixed test split: 5,000 lines, the same on every call, as unbatched (x, label)."""
    images, labels = _random_lines(tf.constant(_TEST_SEED, tf.int64), TEST_SIZE,
                                   height, width)
    return tf.data.Dataset.from_tensor_slices((images, labels))


def train_sample(count=TRAIN_SAMPLE_SIZE, height=32, width=32):
    """A fixed sample of `count` train lines (not the test lines), as unbatched (x, label).

    The train stream is endless; evaluations that need "the train split" (k-means, latent
    classifiers) use this sample, the same on every call.
    """
    images, labels = _random_lines(tf.constant(_TRAIN_SAMPLE_SEED, tf.int64), count,
                                   height, width)
    return tf.data.Dataset.from_tensor_slices((images, labels))


@functools.lru_cache(maxsize=4)
def _reference_lines(height, width):
    """10,000 lines at evenly spaced angles: their angles and unit-norm flat images."""
    angles = np.linspace(0, 2 * np.pi, _N_REFERENCE_LINES, endpoint=False)
    images = render_lines(angles, height, width)
    flat = tf.math.l2_normalize(tf.reshape(images, [_N_REFERENCE_LINES, -1]), axis=1)
    return angles, flat


@tf.function(reduce_retracing=True)
def _closest(queries, references):
    similarity = tf.matmul(tf.math.l2_normalize(queries, axis=1), references,
                           transpose_b=True)
    return 1.0 - tf.reduce_max(similarity, axis=1), tf.argmax(similarity, axis=1)


def closest_line(images, chunk=1024):
    """Cosine distance to, and angle of, the nearest reference line for each image.

    images: array (N, H, W, 1). Returns (distance [N], angle [N]) as numpy arrays.
    """
    images = np.asarray(images, np.float32)
    angles, references = _reference_lines(*images.shape[1:3])
    flat = images.reshape(images.shape[0], -1)
    distances, indices = [], []
    for start in range(0, flat.shape[0], chunk):
        distance, index = _closest(tf.constant(flat[start:start + chunk]), references)
        distances.append(distance.numpy())
        indices.append(index.numpy())
    return np.concatenate(distances), angles[np.concatenate(indices)]


def smoothness(angles):
    """The paper's smoothness of each interpolation, from the angle of each of its images.

    angles: (n_interpolations, n_steps). 0 for an evenly spaced sweep, larger when the
    angle jumps; NaN where the start and end angles coincide (nothing to normalise by).
    """
    angles = np.unwrap(np.atleast_2d(angles), axis=-1)
    steps = np.abs(np.diff(angles, axis=-1))
    total = np.abs(angles[:, -1] - angles[:, 0])
    with np.errstate(divide="ignore", invalid="ignore"):
        score = np.max(steps, axis=-1) / total - 1.0 / (angles.shape[1] - 1)
    return np.where(total < 1e-4, np.nan, score)


def line_eval(interpolations):
    """(mean_distance, mean_smoothness) of line interpolations, as the paper defines them.

    interpolations: array (n_interpolations, n_steps, H, W, 1). As in the paper's code, the
    mean smoothness sums the defined (non-NaN) scores and divides by the number of all
    interpolations; it is NaN only when no score is defined.
    """
    interpolations = np.asarray(interpolations, np.float32)
    n, steps = interpolations.shape[:2]
    distance, angles = closest_line(interpolations.reshape((n * steps,) + interpolations.shape[2:]))
    scores = smoothness(angles.reshape(n, steps))
    defined = ~np.isnan(scores)
    mean_smoothness = scores[defined].sum() / n if defined.any() else np.nan
    return np.float32(distance.mean()), np.float32(mean_smoothness)
