"""ACAI: the Adversarially Constrained Autoencoder Interpolation (Berthelot et al., 2018)."""

import keras
import tensorflow as tf

from acai.lib import layers
from acai.lib.autoencoder import AutoEncoder
from acai.lib.model import mean_squared_error, minimize, unpack
from acai.lib.params import Param


class ACAI(AutoEncoder):
    """An autoencoder whose interpolations a critic cannot tell from reconstructions.

    The critic d sees decodings of latent mixes x_alpha = g(alpha z1 + (1 - alpha) z2),
    alpha ~ U[0, 0.5], and is trained to predict alpha (equation 1 of the paper):
        loss_disc = ||d(x_alpha) - alpha||^2 + ||d(gamma x + (1 - gamma) g(f(x)))||^2
    where the second term, with gamma = reg, shows it slightly off real reconstructions
    that it must score 0. The autoencoder is trained to make the critic output 0 on mixes
    (equation 2): loss_ae + advweight * ||d(x_alpha)||^2. Both are updated from the same
    forward pass, each with its own Adam, like the reference.
    """

    NAME = "ACAI"
    LOSSES = ("loss_ae", "loss_ae_disc", "loss_disc", "loss_disc_real")
    PARAMS = (
        Param("advweight", 0.5, "Weight of the adversarial term for the autoencoder "
              "(lambda).", lower_bound=0.0, in_name=True),
        Param("advdepth", 0, "Depth of the critic (0: the autoencoder's depth).",
              lower_bound=0, in_name=True),
        Param("reg", 0.2, "Critic regularisation gamma, in [0, 1]: how far from the "
              "reconstruction towards the input the critic's 'real' examples lie.",
              lower_bound=0.0, upper_bound=1.0, in_name=True),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.critic = layers.critic(self.image_shape, self.scales, self.critic_depth,
                                    self.latent, dtype=self.dtype_policy)

    @property
    def critic_depth(self):
        return self.advdepth or self.depth

    def experiment_params(self):
        return dict(super().experiment_params(), advdepth=self.critic_depth)

    def optimizer_variables(self):
        return dict(super().optimizer_variables(),
                    optimizer_disc=self.critic.trainable_variables)

    def disc(self, x, training=False):
        """The critic's estimate of alpha for each image (float32)."""
        return tf.cast(self.critic(x, training=training), tf.float32)

    def forward(self, x, training=False):
        batch = tf.shape(x)[0]
        alpha = keras.random.uniform([batch, 1, 1, 1], seed=self.seed_generator)
        alpha = 0.5 - tf.abs(alpha - 0.5)  # U[0, 0.5]
        encode = self.encode(x, training=training)
        mix = tf.cast(alpha, encode.dtype)
        encode_mix = mix * encode + (1 - mix) * encode[::-1]
        # One decoder pass for the reconstructions and the mixes.
        ae, decode_mix = tf.split(
            self.decode(tf.concat([encode, encode_mix], 0), training=training), 2)
        disc_mix = self.disc(decode_mix, training=training)
        disc_real = self.disc(ae + self.reg * (x - ae), training=training)
        return dict(loss_ae=mean_squared_error(x, ae),
                    loss_ae_disc=tf.reduce_mean(tf.square(disc_mix)),
                    loss_disc=tf.reduce_mean(tf.square(disc_mix - alpha[:, 0, 0, 0])),
                    loss_disc_real=tf.reduce_mean(tf.square(disc_real)),
                    codes=encode)

    def train_step(self, data):
        x, label = unpack(data)
        # Two tapes record the one forward pass: each loss is differentiated once.
        with tf.GradientTape() as tape_ae, tf.GradientTape() as tape_disc:
            out = self.forward(x, training=True)
            loss_ae_total = out["loss_ae"] + self.advweight * out["loss_ae_disc"]
            loss_disc_total = out["loss_disc"] + out["loss_disc_real"]
        minimize(self.optimizer_ae, tape_ae, loss_ae_total, self.ae_variables)
        minimize(self.optimizer_disc, tape_disc, loss_disc_total, self.critic.trainable_variables)
        self.train_latent_classifier(out["codes"], label)
        return self.report(**self.losses_of(out))
