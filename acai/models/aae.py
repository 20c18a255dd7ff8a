"""The adversarial autoencoder (Makhzani et al., 2015): one of the paper's baselines."""

import keras
import tensorflow as tf

from acai.lib.autoencoder import AutoEncoder
from acai.lib.model import mean_squared_error, minimize, unpack
from acai.lib.params import Param


def parse_layer_sizes(sizes):
    """'100,100' (or a sequence of ints) -> (100, 100)."""
    if isinstance(sizes, str):
        try:
            sizes = [int(s) for s in sizes.split(",") if s.strip()]
        except ValueError:
            raise ValueError(f"disc_layer_sizes={sizes!r} must be comma-separated integers")
    sizes = tuple(int(s) for s in sizes)
    if any(s < 1 for s in sizes):
        raise ValueError(f"disc_layer_sizes={sizes} must be positive")
    return sizes


class AAE(AutoEncoder):
    """An autoencoder whose latent codes a discriminator cannot tell from N(0, I) samples.

    The discriminator d, an MLP with leaky ReLU on the flattened code, outputs a logit
    and is trained with sigmoid cross-entropy to say 1 on prior samples p ~ N(0, I) and 0
    on codes f(x):
        loss_adv_prior + loss_adv_latent = CE(d(p), 1) + CE(d(f(x)), 0)
    The autoencoder is trained to make it say 1 on codes, with weight 1 as the reference:
        loss_ae + loss_ae_latent = ||x - g(f(x))||^2 + CE(d(f(x)), 1)
    Both are updated from the same forward pass, each with its own Adam on its own
    variables (the discriminator's at `adversary_lr`), so the discriminator's step never
    changes the encoder. adversary_accuracy is the discriminator's mean accuracy on the
    two halves. disc_layer_sizes may also be given as a sequence of ints from Python.
    """

    NAME = "AAE"
    LOSSES = ("loss_ae", "loss_ae_latent", "loss_adv_latent", "loss_adv_prior",
              "adversary_accuracy")
    PARAMS = (
        Param("disc_layer_sizes", "100,100", "Comma-separated sizes of the "
              "discriminator's hidden layers.", in_name=True),
        Param("adversary_lr", 1e-4, "Learning rate of the discriminator.", lower_bound=0.0,
              in_name=True),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        sizes = parse_layer_sizes(self.disc_layer_sizes)
        # Named as the reference names its runs: disc_layer_sizes100,100.
        self.disc_layer_sizes = ",".join(map(str, sizes))
        self.discriminator = keras.Sequential(
            [keras.layers.Flatten(dtype=self.dtype_policy)]
            + [keras.layers.Dense(size, activation="leaky_relu", dtype=self.dtype_policy)
               for size in sizes]
            + [keras.layers.Dense(1, dtype="float32")],
            name="discriminator")
        self.discriminator.build((None,) + self.latent_shape)

    def optimizer_variables(self):
        return dict(super().optimizer_variables(),
                    optimizer_disc=self.discriminator.trainable_variables)

    def default_optimizer(self, name):
        if name == "optimizer_disc":
            return keras.optimizers.Adam(self.adversary_lr)
        return super().default_optimizer(name)

    def disc(self, z, training=False):
        """The discriminator's logit that code z is a prior sample (float32, shape [B])."""
        return self.discriminator(z, training=training)[:, 0]

    def forward(self, x, training=False):
        encode = self.encode(x, training=training)
        ae = self.decode(encode, training=training)
        prior = keras.random.normal(tf.shape(encode), dtype=encode.dtype,
                                    seed=self.seed_generator)
        logit_latent = self.disc(encode, training=training)
        logit_prior = self.disc(prior, training=training)
        return dict(
            loss_ae=mean_squared_error(x, ae),
            loss_ae_latent=sigmoid_cross_entropy(logit_latent, 1.0),
            loss_adv_latent=sigmoid_cross_entropy(logit_latent, 0.0),
            loss_adv_prior=sigmoid_cross_entropy(logit_prior, 1.0),
            adversary_accuracy=0.5 * (accuracy(logit_latent < 0) + accuracy(logit_prior > 0)),
            codes=encode)

    def train_step(self, data):
        x, label = unpack(data)
        with tf.GradientTape() as tape_ae, tf.GradientTape() as tape_disc:
            out = self.forward(x, training=True)
            loss_ae_total = out["loss_ae"] + out["loss_ae_latent"]
            loss_disc_total = out["loss_adv_prior"] + out["loss_adv_latent"]
        minimize(self.optimizer_ae, tape_ae, loss_ae_total, self.ae_variables)
        minimize(self.optimizer_disc, tape_disc, loss_disc_total,
                 self.discriminator.trainable_variables)
        self.train_latent_classifier(out["codes"], label)
        return self.report(**self.losses_of(out))


def sigmoid_cross_entropy(logits, label):
    """Mean sigmoid cross-entropy of float32 logits against a constant label."""
    return tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits(
        labels=tf.fill(tf.shape(logits), label), logits=logits))


def accuracy(correct):
    return tf.reduce_mean(tf.cast(correct, tf.float32))
