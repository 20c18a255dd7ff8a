"""The autoencoder with dropout on its latent code: one of the paper's baselines."""

import keras

from acai.lib.autoencoder import AutoEncoder
from acai.lib.model import mean_squared_error
from acai.lib.params import Param


class Dropout(AutoEncoder):
    """An autoencoder whose decoder learns from a latent code with values dropped.

    In training each latent value is kept with probability `dropout` and scaled by
    1 / dropout, zeroed otherwise (tf.nn.dropout's inverted dropout, as the reference);
    the loss is ||x - g(drop(f(x)))||^2. The reference flattens the code first, which
    changes nothing for independent per-value dropout. Outside training (encode, decode,
    reconstructions, the latent probe) the code is used whole.
    """

    NAME = "AEDropout"
    LOSSES = ("loss_ae",)
    PARAMS = (Param("dropout", 0.5, "Probability to KEEP each latent value in training "
                    "(kept values are scaled by 1 / dropout), in (0, 1].",
                    lower_bound=0.0, upper_bound=1.0, in_name=True),)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if not 0 < self.dropout <= 1:
            raise ValueError(f"dropout={self.dropout} is the probability to keep a latent "
                             "value: it must be in (0, 1]")

    def drop(self, encode):
        """Inverted dropout of the latent code: kept values are scaled by 1 / keep."""
        if self.dropout == 1:
            return encode
        return keras.random.dropout(encode, rate=1 - self.dropout, seed=self.seed_generator)

    def forward(self, x, training=False):
        encode = self.encode(x, training=training)
        ae_dropped = self.decode(self.drop(encode), training=training)
        return dict(loss_ae=mean_squared_error(x, ae_dropped), codes=encode)
