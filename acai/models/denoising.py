"""The denoising autoencoder: one of the paper's baselines."""

import keras
import tensorflow as tf

from acai.lib.autoencoder import AutoEncoder
from acai.lib.model import mean_squared_error
from acai.lib.params import Param


class Denoising(AutoEncoder):
    """An autoencoder that reconstructs the clean image from a noisy one.

    In training the encoder sees x + n, n ~ N(0, noise^2) per pixel (not clipped), and the
    loss is ||x - g(f(x + n))||^2 against the clean x. Encoding, decoding and the latent
    probe use the clean image, as in the reference.
    """

    NAME = "AEDenoising"
    LOSSES = ("loss_ae",)
    PARAMS = (Param("noise", 1.0, "Standard deviation of the Gaussian noise added to the "
                    "encoder's input in training ([-1, 1] pixel units).", lower_bound=0.0,
                    in_name=True),)

    def forward(self, x, training=False):
        x_noisy = x + keras.random.normal(tf.shape(x), stddev=self.noise, dtype=x.dtype,
                                          seed=self.seed_generator)
        # One encoder pass for the clean images (the probe's) and the noisy ones.
        encode, encode_noisy = tf.split(
            self.encode(tf.concat([x, x_noisy], 0), training=training), 2)
        ae_noisy = self.decode(encode_noisy, training=training)
        return dict(loss_ae=mean_squared_error(x, ae_noisy), codes=encode)
