"""DCGAN (Radford, Metz & Chintala, 2015) for 32x32 images."""

import tensorflow as tf

from gan import layers
from acai.lib.params import Param
from gan.models.base import GAN


def cross_entropy(logits, target):
    """Mean binary cross-entropy of logits against a constant target probability."""
    return tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits(
        labels=tf.fill(tf.shape(logits), target), logits=logits))


class DCGAN(GAN):
    """The deep convolutional GAN.

    G: z -> 4x4x(4 depth) -> transposed 5x5 convolutions of stride 2 with batch norm and
    ReLU (2 depth, depth) -> 32x32 tanh image. D: 5x5 convolutions of stride 2 (depth,
    2 depth, 4 depth), batch norm on all but the first, leaky ReLU 0.2, one logit; no
    pooling, no fully connected hidden layer; weights from N(0, 0.02); Adam(2e-4, 0.5).
    Losses, on logits (the non-saturating G loss of Goodfellow et al.):
        loss_disc = BCE(D(x), 1 - label_smoothing) + BCE(D(G(z)), 0)
        loss_gen = BCE(D(G(z)), 1)
    label_smoothing > 0 is one-sided label smoothing (Salimans et al., 2016).
    """

    NAME = "DCGAN"
    PARAMS = (Param("label_smoothing", 0.0, "One-sided label smoothing: the "
                    "discriminator's target for real images is 1 - label_smoothing.",
                    lower_bound=0.0, upper_bound=0.5, in_name="changed"),)

    def build_generator(self, depth, nclass):
        return layers.generator(self.z_dim, self.image_shape, 4 * depth, kernel=5,
                                to_image="deconv", nclass=nclass,
                                initializer=layers.NormalInit(self.seed, 0),
                                dtype=self.dtype_policy)

    def build_discriminator(self, depth, nclass):
        return layers.discriminator(
            self.image_shape, [(5, 2, depth), (5, 2, 2 * depth), (5, 2, 4 * depth)],
            slope=0.2, batch_norm=True, nclass=nclass,
            initializer=layers.NormalInit(self.seed, 1), dtype=self.dtype_policy)

    def loss_disc(self, real, fake):
        return (cross_entropy(real, 1.0 - self.label_smoothing)
                + cross_entropy(fake, 0.0))

    def loss_gen(self, fake):
        return cross_entropy(fake, 1.0)

    def d_mean(self, output):
        return tf.reduce_mean(tf.sigmoid(output))
