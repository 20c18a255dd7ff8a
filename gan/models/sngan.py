"""SN-GAN (Miyato, Kataoka, Koyama & Yoshida, 2018): the standard CNN, hinge loss."""

import tensorflow as tf

from gan import layers
from acai.lib.params import Param
from gan.models.base import GAN


class SNGAN(GAN):
    """The spectrally normalised GAN with the paper's standard CNN (its Table 3).

    G: z (128) -> 4x4x(8 depth) -> transposed 4x4 convolutions of stride 2 with batch
    norm and ReLU (4, 2, 1 depth) -> 3x3 convolution -> tanh. D: 3x3 / 4x4-stride-2
    convolution pairs of depth, 2 depth, 4 depth channels, a 3x3 of 8 depth, leaky ReLU
    0.1, a dense logit; every weight layer spectrally normalised as the paper defines it
    (gan.spectral_norm: the gradient flows through sigma, one power iteration per D
    update). Hinge loss:
        loss_disc = mean(relu(1 - D(x))) + mean(relu(1 + D(G(z))))
        loss_gen = -mean(D(G(z)))
    Adam(2e-4, 0.5, 0.999) with one D step per G step: the paper's setting C, among its
    best for this network and the cheapest; `--n_critic=5 --lr=1e-4 --adam_beta2=0.9` is
    its setting A.
    """

    NAME = "SNGAN"
    PARAMS = (Param("z_dim", 128, "Size of the generator's N(0, I) input.", lower_bound=1),)

    def build_generator(self, depth, nclass):
        return layers.generator(self.z_dim, self.image_shape, 8 * depth, kernel=4,
                                to_image="conv", nclass=nclass)

    def build_discriminator(self, depth, nclass):
        convolutions = []
        for width in (depth, 2 * depth, 4 * depth):
            convolutions += [(3, 1, width), (4, 2, width)]
        convolutions.append((3, 1, 8 * depth))
        return layers.discriminator(self.image_shape, convolutions, slope=0.1,
                                    spectral_norm=True, nclass=nclass)

    def loss_disc(self, real, fake):
        return tf.reduce_mean(tf.nn.relu(1.0 - real)) + tf.reduce_mean(tf.nn.relu(1.0 + fake))

    def loss_gen(self, fake):
        return -tf.reduce_mean(fake)
