"""SN-GAN (Miyato, Kataoka, Koyama & Yoshida, 2018): the standard CNN, hinge loss."""

import tensorflow as tf

from gan import layers
from acai.lib.params import Param
from gan.models.base import GAN


def discriminator_convolutions(depth):
    """The standard CNN's discriminator: (kernel, stride, channels) of its convolutions."""
    convolutions = []
    for width in (depth, 2 * depth, 4 * depth):
        convolutions += [(3, 1, width), (4, 2, width)]
    return convolutions + [(3, 1, 8 * depth)]


class SNGAN(GAN):
    """The spectrally normalised GAN with the paper's standard CNN (its Table 3).

    G: z (128) -> 4x4x(8 depth) -> transposed 4x4 convolutions of stride 2 with batch
    norm and ReLU (4, 2, 1 depth) -> 3x3 convolution -> tanh. D: 3x3 / 4x4-stride-2
    convolution pairs of depth, 2 depth, 4 depth channels, a 3x3 of 8 depth, leaky ReLU
    0.1, a dense logit; every weight layer spectrally normalised as the paper defines it
    (gan.spectral_norm: the gradient flows through sigma, one power iteration per D
    update). Every weight starts from N(0, 0.02), as in the authors' code: D's function
    does not depend on the scale of its raw weights, but Adam's steps are of a fixed size,
    so the smaller start lets D (and G, batch-normalised) move faster in relative terms
    than Glorot's start (2-4x larger here). Hinge loss:
        loss_disc = mean(relu(1 - D(x))) + mean(relu(1 + D(G(z))))
        loss_gen = -mean(D(G(z)))
    The optimiser follows one of the paper's settings (its Table 1), `setting`:
        A: Adam(1e-4, 0.5, 0.9), 5 D steps per G step (WGAN-GP's setting)
        B: Adam(1e-4, 0.5, 0.999), 1 D step per G step
        C: Adam(2e-4, 0.5, 0.999), 1 D step per G step (DCGAN's setting; the default,
           among the paper's best for this network and the cheapest on a CPU)
    `lr`, `adam_beta1`, `adam_beta2` or `n_critic` given explicitly override the setting.
    """

    NAME = "SNGAN"
    SETTINGS = {
        "A": dict(lr=1e-4, adam_beta1=0.5, adam_beta2=0.9, n_critic=5),
        "B": dict(lr=1e-4, adam_beta1=0.5, adam_beta2=0.999, n_critic=1),
        "C": dict(lr=2e-4, adam_beta1=0.5, adam_beta2=0.999, n_critic=1),
    }
    PRESETS = {"setting": SETTINGS}
    PARAMS = (Param("z_dim", 128, "Size of the generator's N(0, I) input.", lower_bound=1,
                    in_name=True),
              Param("setting", "C", "Optimiser setting of the SN-GAN paper's Table 1 "
                    "(A: Adam 1e-4, 0.5, 0.9, 5 D steps per G step; B: 1e-4, 0.5, 0.999, "
                    "1; C: 2e-4, 0.5, 0.999, 1); --lr, --adam_beta1, --adam_beta2, "
                    "--n_critic given explicitly override it.", kind="enum",
                    enum_values=("A", "B", "C"),
                    # Names of setting C runs stay those of older runs.
                    in_name="changed"))

    def build_generator(self, depth, nclass):
        return layers.generator(self.z_dim, self.image_shape, 8 * depth, kernel=4,
                                to_image="conv", nclass=nclass,
                                initializer=layers.NormalInit(self.seed, 0),
                                dtype=self.dtype_policy)

    def build_discriminator(self, depth, nclass):
        return layers.discriminator(self.image_shape, discriminator_convolutions(depth),
                                    slope=0.1, spectral_norm=True, nclass=nclass,
                                    initializer=layers.NormalInit(self.seed, 1),
                                    dtype=self.dtype_policy)

    def loss_disc(self, real, fake):
        return tf.reduce_mean(tf.nn.relu(1.0 - real)) + tf.reduce_mean(tf.nn.relu(1.0 + fake))

    def loss_gen(self, fake):
        return -tf.reduce_mean(fake)
