"""The plain autoencoder: the paper's baseline with no regulariser."""


from acai.lib.autoencoder import AutoEncoder
from acai.lib.model import mean_squared_error


class Baseline(AutoEncoder):
    """Encoder and decoder trained on the mean squared reconstruction error alone."""

    NAME = "AEBaseline"
    LOSSES = ("loss_ae",)

    def forward(self, x, training=False):
        encode = self.encode(x, training=training)
        ae = self.decode(encode, training=training)
        return dict(loss_ae=mean_squared_error(x, ae), codes=encode)
