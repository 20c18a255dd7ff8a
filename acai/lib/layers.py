"""The paper's convolutional encoder, decoder and critic (Section 4 of Berthelot et al.).

Encoder: a 1x1 convolution to `depth` channels, then per scale two 3x3 convolutions with
leaky ReLU (slope 0.2) and a 2x2 average pooling, the channels doubling per scale; then a
3x3 convolution to `depth << scales` channels and a linear 3x3 convolution to `latent`
channels. The decoder mirrors it with nearest-neighbour upsampling. Every kernel is drawn
from N(0, 1 / ((1 + 0.2^2) * fan_in)), He's initialisation for a leaky ReLU of slope 0.2.

`dtype`: the dtype policy every layer computes in (the model's own; None: Keras' global
policy).
"""

import functools
import inspect
import math

import keras
import tensorflow as tf
from keras import layers

LEAKY_SLOPE = 0.2


@tf.custom_gradient
def _leaky_relu(x):
    y = tf.nn.leaky_relu(x, LEAKY_SLOPE)

    def gradient(dy):
        # The output has the input's sign (the slope is positive), so the gradient read
        # from it is the one TensorFlow reads from the input, bit for bit.
        return tf.raw_ops.LeakyReluGrad(gradients=dy, features=y, alpha=LEAKY_SLOPE)

    return y, gradient


@keras.saving.register_keras_serializable(package="acai")
def leaky_relu(x):
    """Leaky ReLU of slope 0.2 (the paper's), its gradient computed from its output.

    The same values and gradients as Keras' "leaky_relu". TensorFlow's own gradient reads
    the activation's input, the convolution's output, which then has two consumers, and
    grappler's remapper cannot fuse convolution, bias and activation into one kernel (it
    fails with "remapper failed ... LeakyReluGrad" on every train step's graph). Read from
    the output, the input has one consumer and the three fuse: on the CPU this removes a
    pass over every hidden activation per step (docs/speed.md).
    """
    return _leaky_relu(x)


@keras.saving.register_keras_serializable(package="acai")
class HeModifiedNormal(keras.initializers.Initializer):
    """N(0, 1 / ((1 + slope^2) * fan_in)): He et al.'s initialisation for a leaky ReLU."""

    def __init__(self, slope=LEAKY_SLOPE, seed=None):
        self.slope = slope
        self.seed = seed

    def __call__(self, shape, dtype=None):
        fan_in = math.prod(shape[:-1])
        stddev = 1.0 / math.sqrt((1.0 + self.slope**2) * fan_in)
        return keras.random.normal(shape, stddev=stddev, dtype=dtype, seed=self.seed)

    def get_config(self):
        return {"slope": self.slope, "seed": self.seed}


def conv(filters, kernel_size, activation=True, name=None, dtype=None):
    """A same-padded convolution with the paper's initialiser and optional leaky ReLU."""
    return layers.Conv2D(
        filters, kernel_size, padding="same", name=name, dtype=dtype,
        activation=leaky_relu if activation else None,
        kernel_initializer=HeModifiedNormal())


def scales_for(image_width, latent_width):
    """Number of 2x poolings that take `image_width` down to `latent_width`."""
    if latent_width < 1 or image_width % latent_width:
        raise ValueError(f"latent_width={latent_width} must divide the image width "
                         f"{image_width}")
    ratio = image_width // latent_width
    scales = int(round(math.log2(ratio)))
    if 2**scales != ratio:
        raise ValueError(f"image width / latent_width = {ratio} must be a power of 2 "
                         f"(latent_width={latent_width}, image width {image_width})")
    return scales


def network(builder):
    """Decorates a function building a functional keras.Model named by its `name`
    argument: its layers are made in a name scope of that name, so that their variables'
    paths (model.weights, TensorBoard's histograms) say which network each is in:
    encoder/conv2d_3/kernel, critic/critic_encoder/conv2d_40/kernel. Layer names, and so
    `.keras` files and checkpoints, are as they were."""
    defaults = inspect.signature(builder).parameters

    @functools.wraps(builder)
    def built(*args, **kwargs):
        name = kwargs.get("name", defaults["name"].default)
        with keras.name_scope(name):
            return builder(*args, **kwargs)
    return built


@network
def encoder(input_shape, scales, depth, latent, name="encoder", dtype=None):
    """The paper's encoder: image (H, W, C) -> latent (H >> scales, W >> scales, latent)."""
    x = keras.Input(input_shape)
    y = conv(depth, 1, activation=False, dtype=dtype)(x)
    for scale in range(scales):
        y = conv(depth << scale, 3, dtype=dtype)(y)
        y = conv(depth << scale, 3, dtype=dtype)(y)
        y = layers.AveragePooling2D(2, dtype=dtype)(y)
    y = conv(depth << scales, 3, dtype=dtype)(y)
    y = conv(latent, 3, activation=False, dtype=dtype)(y)
    return keras.Model(x, y, name=name)


@network
def decoder(latent_shape, scales, depth, colors, name="decoder", dtype=None):
    """The paper's decoder: latent (h, w, latent) -> image logits (h << scales, w << scales, C)."""
    z = keras.Input(latent_shape)
    y = z
    for scale in range(scales - 1, -1, -1):
        y = conv(depth << scale, 3, dtype=dtype)(y)
        y = conv(depth << scale, 3, dtype=dtype)(y)
        y = layers.UpSampling2D(2, interpolation="nearest", dtype=dtype)(y)
    y = conv(depth, 3, dtype=dtype)(y)
    y = conv(colors, 3, activation=False, dtype=dtype)(y)
    return keras.Model(z, y, name=name)


@network
def critic(input_shape, scales, depth, latent, name="critic", dtype=None):
    """ACAI's critic: the encoder architecture, its output averaged to one scalar per image."""
    x = keras.Input(input_shape)
    y = encoder(input_shape, scales, depth, latent, name=f"{name}_encoder", dtype=dtype)(x)
    y = keras.ops.mean(y, axis=(1, 2, 3))
    return keras.Model(x, y, name=name)
