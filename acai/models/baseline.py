"""The plain autoencoder: the paper's baseline with no regulariser."""

import tensorflow as tf

from acai.lib.autoencoder import AutoEncoder
from acai.lib.model import mean_squared_error, minimize, unpack


class Baseline(AutoEncoder):
    """Encoder and decoder trained on the mean squared reconstruction error alone."""

    NAME = "AEBaseline"
    LOSSES = ("loss_ae",)

    def train_step(self, data):
        x, label = unpack(data)
        with tf.GradientTape() as tape:
            encode = self.encode(x, training=True)
            ae = self.decode(encode, training=True)
            loss_ae = mean_squared_error(x, ae)
        minimize(self.optimizer_ae, tape, loss_ae, self.ae_variables)
        self.train_latent_classifier(encode, label)
        return self.report(loss_ae=loss_ae)
