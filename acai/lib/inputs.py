"""What a model's Python functions take, checked at the boundary in one line each.

`encode`, `ae`, `classify_latent` take images [N, H, W, C] of the model's shape, floats in
[-1, 1]; `decode` latent codes [N, *latent_shape]; `interpolate` two images [H, W, C] and
steps >= 1; a GAN's `generate` z [N, z_dim]. Anything else is a ValueError that says what
was given and what to do: uint8 pixels or values far outside [-1, 1] name the conversion
(x / 127.5 - 1, or acai.api.read_images for files), a single image where a batch is
taken says x[None].

Called eagerly (a notebook, a script), shape, dtype and, for images, the range of the
values are checked. Inside a tf.function (fit's train step, the export's serving
functions) only what the graph knows when it is traced is checked, in Python, once per
trace: nothing is added to the graph, so a step costs what it did.

The exported functions check their own inputs in their graphs (`served`): a loaded
SavedModel's signatures are called with no check of the tensors' shapes by TensorFlow.
"""

import functools

import keras
import numpy as np
import tensorflow as tf

# Images in [-1, 1]: a decoder's reconstruction may pass 1 a little, pixels in [0, 255]
# or a [0, 1] image shifted by hand are far beyond this.
FAR = 2.0
TO_IMAGES = "x / 127.5 - 1 for 0-255 pixels, or acai.api.read_images(paths) for files"


def _shape(x):
    """The static shape of an array or tensor, None for an unknown size."""
    shape = getattr(x, "shape", None)
    if shape is None:
        shape = np.shape(x)
    return tuple(None if n is None else int(n) for n in shape)


def _dtype(x):
    dtype = getattr(x, "dtype", None)
    return tf.as_dtype(dtype if dtype is not None else np.asarray(x).dtype)


def _fits(given, expected):
    return len(given) == len(expected) and all(
        g is None or e is None or g == e for g, e in zip(given, expected))


def _text(shape):
    return "[" + ", ".join("N" if n is None else str(n) for n in shape) + "]"


def check_images(x, image_shape, where, single=False, values=True):
    """Raises ValueError unless x is images [N, *image_shape] (one image [*image_shape]
    with `single`) of floats, in [-1, 1] give or take FAR when eager (and `values`)."""
    image_shape = tuple(int(n) for n in image_shape)
    given, dtype = _shape(x), _dtype(x)
    expected = image_shape if single else (None,) + image_shape
    if not dtype.is_floating:
        raise ValueError(f"{where}: images of {dtype.name} given; the model takes float "
                         f"images in [-1, 1]: {TO_IMAGES}")
    if not _fits(given, expected):
        if not single and _fits(given, image_shape):
            raise ValueError(f"{where}: one image of shape {_text(given)} given; it takes a "
                             f"batch {_text(expected)}: x[None]")
        if single and _fits(given[1:], image_shape) and len(given) == len(image_shape) + 1:
            raise ValueError(f"{where}: a batch of shape {_text(given)} given; it takes one "
                             f"image {_text(expected)}: images[i]")
        raise ValueError(f"{where}: images of shape {_text(given)} given; the model takes "
                         f"{_text(expected)}")
    known = known_values(x) if values else None
    if known is not None and known.size:
        low, high = float(np.min(known)), float(np.max(known))
        if not (low >= -FAR and high <= FAR):
            raise ValueError(f"{where}: image values in [{low:.4g}, {high:.4g}] given; the "
                             f"model takes images in [-1, 1]: {TO_IMAGES}")


def check_vectors(x, shape, what, where):
    """Raises ValueError unless x is a batch [N, *shape] of floats (`what`: its name)."""
    shape = tuple(int(n) for n in shape)
    given, dtype = _shape(x), _dtype(x)
    if not dtype.is_floating:
        raise ValueError(f"{where}: {what} of {dtype.name} given; it takes floats")
    if not _fits(given, (None,) + shape):
        hint = ": x[None]" if _fits(given, shape) else ""
        raise ValueError(f"{where}: {what} of shape {_text(given)} given; the model takes "
                         f"{_text((None,) + shape)}{hint}")


def known_values(x):
    """x's values as a float32 array when they are known now (an array, an eager tensor),
    None for a traced tensor."""
    if tf.is_symbolic_tensor(x) or isinstance(x, keras.KerasTensor):
        return None
    if isinstance(x, (tf.Tensor, tf.Variable)):
        x = x.numpy()
    return np.asarray(x).astype(np.float32)


def as_array(x):
    """Nested lists as a float32 array (Keras would take a list for several inputs)."""
    return np.asarray(x, np.float32) if isinstance(x, (list, tuple)) else x


def images(method):
    """Decorates a model method whose first argument is images [N, H, W, C]. The values'
    range is checked for inference only: in training a model may feed its encoder images
    beyond [-1, 1] itself (the denoising autoencoder's noisy ones)."""
    @functools.wraps(method)
    def checked(self, x, *args, **kwargs):
        x = as_array(x)
        training = kwargs.get("training", args[0] if args else False)
        check_images(x, self.image_shape, f"{type(self).__name__}.{method.__name__}",
                     values=training is None or training is False)
        return method(self, x, *args, **kwargs)
    return checked


def codes(method):
    """Decorates a model method whose first argument is latent codes [N, *latent_shape]."""
    @functools.wraps(method)
    def checked(self, z, *args, **kwargs):
        z = as_array(z)
        check_vectors(z, self.latent_shape, "codes", f"{type(self).__name__}."
                      f"{method.__name__}")
        return method(self, z, *args, **kwargs)
    return checked


def check_integer(value, where, name="steps", least=1):
    """Raises ValueError unless a Python or eager `value` (interpolate's steps, sample's
    count and seed) is an integer >= least."""
    if tf.is_symbolic_tensor(value):
        return  # Traced: the serving function asserts it in the graph.
    array = np.asarray(value.numpy() if isinstance(value, tf.Tensor) else value)
    if array.shape or not np.issubdtype(array.dtype, np.integer) or int(array) < least:
        raise ValueError(f"{where}: {name} must be an integer >= {least}, not {value!r}")


def check_sample(model, count, seed):
    """What a model's `sample(count, seed)` takes: count >= 1 draws, a seed >= 0."""
    where = f"{type(model).__name__}.sample"
    check_integer(count, where, "count")
    check_integer(seed, where, "seed", least=0)


def served(x, images=False):
    """An exported function's input `x` (its tf.function argument, of the signature's
    shape) checked in the graph. TensorFlow checks only the dtype of what is fed through a
    loaded SavedModel's `signatures`, not the shape (a wrong rank aborts the process in a
    convolution): EnsureShape refuses any other shape, naming the input, and for images
    one Assert refuses values beyond [-1, 1] give or take FAR, with the conversion to use.
    Both cost a pass over the input, nothing beside the network's (docs/export.md)."""
    name = x.name.split(":")[0]
    x = tf.ensure_shape(x, x.shape, name=f"check_{name}_shape")
    if not images:
        return x
    check = tf.debugging.assert_less_equal(
        tf.reduce_max(tf.abs(x)), tf.constant(FAR, x.dtype),
        message=f"{name}: images in [-1, 1] expected, values beyond given ({TO_IMAGES})")
    with tf.control_dependencies([check]):
        return tf.identity(x)
