"""What a GAN step costs, and how much of it is spectral normalisation.

  python benchmarks/gan_cost.py [--depth=32] [--batch=64]

For DCGAN and SN-GAN at the same --depth: the multiply-accumulates per image of G and D
(counted from the layers' shapes: convolutions, transposed convolutions, dense layers),
then, for SN-GAN's discriminator, the seconds of one gradient of D on a batch (median of
--repeats) with its spectrally normalised layers and with plain layers of the same shapes,
and of one power iteration over all of them: what spectral normalisation adds to a step.
"""

import os
import statistics
import sys
import time

import keras
import tensorflow as tf
from absl import app, flags

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from acai.lib.keras_compat import all_layers  # noqa: E402
from gan import layers  # noqa: E402
from gan.models import DCGAN, SNGAN  # noqa: E402
from gan.models.sngan import discriminator_convolutions  # noqa: E402
from gan.spectral_norm import spectral_layers  # noqa: E402
from machine import describe  # noqa: E402

flags.DEFINE_integer("depth", 32, "Width of the discriminator's first convolution.")
flags.DEFINE_integer("batch", 64, "Images per gradient.")
flags.DEFINE_integer("repeats", 20, "Timed gradients per variant.")
FLAGS = flags.FLAGS


def macs(model):
    """Multiply-accumulates per image of a Keras functional model's weight layers."""
    total = 0
    for layer in all_layers(model):
        if isinstance(layer, keras.layers.Conv2DTranspose):
            height, width, channels = layer.input.shape[1:]
            total += height * width * channels * layer.filters * layer.kernel_size[0] ** 2
        elif isinstance(layer, keras.layers.Conv2D):
            height, width, channels = layer.output.shape[1:]
            total += (height * width * channels * layer.input.shape[-1]
                      * layer.kernel_size[0] ** 2)
        elif isinstance(layer, keras.layers.Dense):
            total += layer.input.shape[-1] * layer.units
    return total


def seconds(function, repeats):
    function()  # Tracing.
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def gradient_function(discriminator, images):
    @tf.function
    def step():
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(discriminator(images, training=True))
        return tape.gradient(loss, discriminator.trainable_variables)
    return lambda: [g.numpy() for g in step()][:1]


def main(argv):
    del argv
    print(describe())
    shape = (32, 32, 3)
    models = {"dcgan": DCGAN(shape, depth=FLAGS.depth), "sngan": SNGAN(shape, depth=FLAGS.depth)}
    for name, model in models.items():
        g, d = macs(model.generator), macs(model.discriminator)
        print(f"{name} depth {FLAGS.depth}: G {g / 1e6:.1f}M, D {d / 1e6:.1f}M "
              f"multiply-accumulates per image")
    ratio = sum(map(macs, (models["sngan"].generator, models["sngan"].discriminator))) / sum(
        map(macs, (models["dcgan"].generator, models["dcgan"].discriminator)))
    print(f"sngan / dcgan, G + D: {ratio:.2f}x the arithmetic")

    sngan = models["sngan"]
    plain = layers.discriminator(shape, discriminator_convolutions(FLAGS.depth), slope=0.1,
                                 spectral_norm=False)  # The same network without SN.
    assert macs(plain) == macs(sngan.discriminator)
    images = tf.random.uniform((FLAGS.batch,) + shape, -1.0, 1.0)
    with_sn = seconds(gradient_function(sngan.discriminator, images), FLAGS.repeats)
    without = seconds(gradient_function(plain, images), FLAGS.repeats)
    normalised = spectral_layers(sngan.discriminator)
    iterate = tf.function(lambda: [layer.power_iteration() for layer in normalised])
    power = seconds(lambda: iterate(), FLAGS.repeats)
    print(f"sngan D gradient, batch {FLAGS.batch}: {with_sn * 1e3:.1f} ms with spectral "
          f"normalisation, {without * 1e3:.1f} ms without ({with_sn / without:.2f}x); "
          f"one power iteration over its {len(normalised)} layers: {power * 1e3:.2f} ms")


if __name__ == "__main__":
    app.run(main)
