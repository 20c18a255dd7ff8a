"""The GANs' networks for 32x32 images (any size 4 * 2^n).

`generator`: z (and, when conditional, a one-hot or soft class vector) -> image in
[-1, 1], float32. A dense layer to a 4x4 map of `top` channels, then transposed
convolutions of stride 2 halving the channels, batch norm and ReLU; tanh output.
`discriminator`: image (and class vector) -> one logit, float32. Convolutions with
leaky ReLU, optionally batch norm and spectral normalisation, then a dense logit; when
conditional, the class enters by projection (Miyato & Koyama, 2018): the logit gains
<embed(y), features>, which is also how a mix of two one-hot vectors mixes two classes.
"""

import math

import keras

from acai.lib.layers import network
from gan import spectral_norm as spectral_norm_lib

BN = dict(momentum=0.9, epsilon=1e-5)
# The standard deviation of every weight's start: Radford et al., section 4, and the
# SN-GAN authors' code (pfnet-research/chainer-gan-lib, its standard CNN's generator and
# discriminator).
NORMAL_STDDEV = 0.02


class NormalInit:
    """Makes one N(0, NORMAL_STDDEV) initializer per layer, each its own draw.

    One initializer instance shared by several layers would start them all from the same
    values (Keras 3 fixes an initializer's seed when it is made). seed: the model's seed;
    the layers then start from seeds derived from it and `stream` (one per network), the
    same for the same seed whatever else the process drew; None: from Keras' global
    random state (keras.utils.set_random_seed makes that repeat too).
    """

    def __init__(self, seed=None, stream=0):
        self.seed, self.stream, self.count = seed, stream, 0

    def __call__(self):
        seed = None
        if self.seed is not None:
            seed = (int(self.seed) * 7919 + self.stream * 1009 + self.count) % (1 << 31)
        self.count += 1
        return keras.initializers.RandomNormal(stddev=NORMAL_STDDEV, seed=seed)


def glorot():
    return "glorot_uniform"


def _label_input(nclass):
    return keras.Input((nclass,), name="label")


def normalized_relu(h, dtype):
    """Batch normalisation, then ReLU: the generator's hidden layers."""
    return keras.layers.ReLU(dtype=dtype)(keras.layers.BatchNormalization(**BN, dtype=dtype)(h))


@network
def generator(z_dim, image_shape, top, *, kernel, to_image, nclass=0,
              initializer=glorot, name="generator", dtype=None):
    """to_image: 'deconv' (the last transposed convolution outputs the image, DCGAN) or
    'conv' (a 3x3 convolution after the last upsampling, SN-GAN's standard CNN).
    initializer: () -> a new kernel initializer, called once per layer (NormalInit).
    dtype: the dtype policy of its hidden layers (the model's; the image is float32)."""
    height, _, colors = image_shape
    upsamplings = int(math.log2(height // 4))
    if 4 << upsamplings != height:
        raise ValueError(f"image size {height} is not 4 * 2^n")
    z = keras.Input((z_dim,), name="z")
    inputs, h = [z], z
    if nclass:
        label = _label_input(nclass)
        inputs.append(label)
        embed = keras.layers.Dense(z_dim, use_bias=False, kernel_initializer=initializer(),
                                   name="label_embedding", dtype=dtype)(label)
        h = keras.layers.Concatenate(dtype=dtype)([z, embed])
    h = keras.layers.Dense(4 * 4 * top, kernel_initializer=initializer(), dtype=dtype)(h)
    h = keras.layers.Reshape((4, 4, top), dtype=dtype)(h)
    h = normalized_relu(h, dtype)
    for i in range(upsamplings):
        last = to_image == "deconv" and i == upsamplings - 1
        h = keras.layers.Conv2DTranspose(
            colors if last else top >> (i + 1), kernel, strides=2, padding="same",
            kernel_initializer=initializer(), dtype="float32" if last else dtype)(h)
        if not last:
            h = normalized_relu(h, dtype)
    if to_image == "conv":
        h = keras.layers.Conv2D(colors, 3, padding="same", kernel_initializer=initializer(),
                                dtype="float32")(h)
    image = keras.layers.Activation("tanh", dtype="float32")(h)
    return keras.Model(inputs if nclass else z, image, name=name)


@network
def discriminator(image_shape, convolutions, *, slope, batch_norm=False,
                  spectral_norm=False, nclass=0, initializer=glorot,
                  name="discriminator", dtype=None):
    """convolutions: a list of (kernel, stride, channels). batch_norm: on every hidden
    layer but the first (DCGAN). spectral_norm: every weight layer spectrally normalised
    as Miyato et al. define it (gan.spectral_norm, SN-GAN). initializer: () -> a new
    kernel initializer, called once per layer (NormalInit). dtype: the dtype policy of its
    hidden layers (the model's; the logit is float32)."""
    conv = spectral_norm_lib.SNConv2D if spectral_norm else keras.layers.Conv2D
    dense = spectral_norm_lib.SNDense if spectral_norm else keras.layers.Dense

    x = keras.Input(image_shape, name="image")
    inputs, h = [x], x
    for i, (kernel, stride, channels) in enumerate(convolutions):
        h = conv(channels, kernel, strides=stride, padding="same",
                 kernel_initializer=initializer(), dtype=dtype)(h)
        if batch_norm and i > 0:
            h = keras.layers.BatchNormalization(**BN, dtype=dtype)(h)
        h = keras.layers.LeakyReLU(slope, dtype=dtype)(h)
    features = keras.layers.Flatten(dtype=dtype)(h)
    logit = dense(1, kernel_initializer=initializer(), dtype=dtype)(features)
    if nclass:
        label = _label_input(nclass)
        inputs.append(label)
        embed = dense(features.shape[-1], use_bias=False, kernel_initializer=initializer(),
                      name="label_projection", dtype=dtype)(label)
        projection = keras.layers.Dot(axes=1, dtype=dtype)([embed, features])
        logit = keras.layers.Add(dtype=dtype)([logit, projection])
    logit = keras.layers.Activation("linear", dtype="float32")(logit)
    return keras.Model(inputs if nclass else x, logit, name=name)
