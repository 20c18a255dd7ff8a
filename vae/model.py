"""The variational autoencoder (Kingma & Welling, 2014) of the paper's baselines.

It shares the paper's convolutional encoder and decoder (acai.lib.autoencoder); the
encoder's code is the input of the posterior's two dense heads.
"""

import math

import keras
import tensorflow as tf

from acai.lib import inputs
from acai.lib.autoencoder import AutoEncoder, f32
from acai.lib.model import minimize, stateless_normal, unpack
from acai.lib.params import Param


def kl_divergence(mean, log_variance):
    """KL(N(mean, exp(log_variance)) || N(0, I)), summed over the code, batch mean."""
    mean, log_variance = tf.cast(mean, tf.float32), tf.cast(log_variance, tf.float32)
    kl = 0.5 * tf.reduce_sum(-log_variance - 1 + tf.exp(log_variance) + tf.square(mean))
    return kl / tf.cast(tf.shape(mean)[0], tf.float32)


def bernoulli_log_likelihood(x, logits):
    """log p(x | logits) of images x in [-1, 1] read as Bernoulli means (x + 1) / 2,
    summed over the pixels, batch mean (float32)."""
    x, logits = tf.cast(x, tf.float32), tf.cast(logits, tf.float32)
    log_prob = -tf.nn.sigmoid_cross_entropy_with_logits(labels=0.5 * (x + 1), logits=logits)
    return tf.reduce_sum(log_prob) / tf.cast(tf.shape(x)[0], tf.float32)


class VAE(AutoEncoder):
    """A VAE with a diagonal Gaussian posterior over the flattened latent code.

    The encoder's code f(x), flattened to D = h * w * latent values, feeds two dense
    layers of D units: the posterior's mean mu and log-variance log s^2. The decoder's
    output is read as the logits of a Bernoulli likelihood of (x + 1) / 2. Training
    maximises the ELBO with a reparameterised sample z = mu + s * e, e ~ N(0, I):
        elbo = loss_ll - beta * loss_kl
        loss_ll = log p((x + 1) / 2 | g(z)),  loss_kl = KL(N(mu, s^2) || N(0, I))
    each summed over pixels or code values and averaged over the batch. `encode` is the
    posterior mean (reshaped to the latent shape), `decode` the likelihood's mean mapped
    back to [-1, 1]: 2 sigmoid(g(z)) - 1. The latent probe reads the encoder's code f(x),
    before the heads, as the reference's. The posterior's heads and the losses are in
    float32 under every precision policy.

    With latent_dim > 0 (the classic VAE of the keras.io examples), the two dense heads
    map the encoder's flattened code to a flat latent z of latent_dim values instead, and
    a dense layer maps z back to the decoder's input shape: `encode` is then [B,
    latent_dim], `decode` takes [B, latent_dim], and `latent_shape` is (latent_dim,) (the
    decoder's input shape is `code_shape`; the probe reads the flat latent's mean).
    latent_dim 0 is the paper's VAE, unchanged.
    """

    NAME = "VAE"
    LOSSES = ("loss_kl", "loss_ll", "elbo")
    PARAMS = (
        Param("beta", 1.0, "Weight of the KL term (the VQ-VAE's --beta is the weight of "
              "its commitment loss).", lower_bound=0.0, in_name=True),
        Param("latent_dim", 0, "Size of a flat latent given by dense layers (the keras.io "
              "VAE); 0: the paper's convolutional latent.", lower_bound=0,
              # Only a flat latent changes the name: the paper's VAE keeps its own.
              in_name="changed"),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.latent_dim = int(self.latent_dim)  # >= 0: its Param's bound.
        # The encoder's output / the decoder's input, and its flattened size.
        self.code_shape = self.latent_shape
        self.code_size = math.prod(self.code_shape)
        self.z_size = self.code_size
        self.p_dense = None
        if self.latent_dim:
            self.z_size = self.latent_dim
            self.latent_shape = (self.latent_dim,)
            self.p_dense = keras.layers.Dense(self.code_size, dtype="float32",
                                              name="p_dense")
            self.p_dense.build((None, self.latent_dim))
            if self.classifier is not None:  # The probe reads the flat latent.
                self.classifier = self.latent_classifier(self.latent_shape)
        self.q_mean = keras.layers.Dense(self.z_size, dtype="float32", name="q_mean")
        self.q_log_variance = keras.layers.Dense(self.z_size, dtype="float32",
                                               name="q_log_variance")
        for head in (self.q_mean, self.q_log_variance):
            head.build((None, self.code_size))

    @property
    def ae_variables(self):
        variables = (super().ae_variables + self.q_mean.trainable_variables
                     + self.q_log_variance.trainable_variables)
        if self.p_dense is not None:
            variables += self.p_dense.trainable_variables
        return variables

    def posterior(self, x, training=False):
        """Images -> the mean and log-variance of q(z | x), flat [B, D] (D: latent_dim
        when > 0), float32."""
        return self.heads(self.encoder(x, training=training), training=training)

    def heads(self, code, training=False):
        """The encoder's code -> the posterior's mean and log-variance (flat, float32)."""
        code = tf.reshape(tf.cast(code, tf.float32), [-1, self.code_size])
        return (self.q_mean(code, training=training),
                self.q_log_variance(code, training=training))

    def probe_input(self, code, mean=None):
        """What the latent probe reads: the encoder's code before the posterior's heads
        (the reference's `encode`); with a flat latent (not in the reference), its mean
        (computed from the code when not given)."""
        if not self.latent_dim:
            return code
        if mean is None:
            mean, _ = self.heads(code)
        return tf.reshape(mean, (-1,) + self.latent_shape)

    def classify_latent(self, x):
        logits = self.classifier(self.probe_input(self.encoder(x, training=False)),
                                 training=False)
        return tf.argmax(logits, axis=-1)

    @inputs.images
    def encode(self, x, training=False):
        mean, _ = self.posterior(x, training=training)
        return tf.reshape(mean, (-1,) + self.latent_shape)

    def logits(self, z, training=False):
        """Latent code -> the Bernoulli logits of every pixel (float32)."""
        if self.p_dense is not None:
            z = self.p_dense(tf.reshape(tf.cast(z, tf.float32), [-1, self.latent_dim]),
                             training=training)
        z = tf.reshape(z, (-1,) + self.code_shape)
        return tf.cast(self.decoder(z, training=training), tf.float32)

    @inputs.codes
    def decode(self, z, training=False):
        return 2 * tf.sigmoid(self.logits(z, training=training)) - 1

    def forward(self, x, training=False):
        code = self.encoder(x, training=training)
        mean, log_variance = self.heads(code, training=training)
        noise = keras.random.normal(tf.shape(mean), seed=self.seed_generator)
        z = mean + tf.exp(0.5 * log_variance) * noise
        loss_ll = bernoulli_log_likelihood(x, self.logits(z, training=training))
        loss_kl = kl_divergence(mean, log_variance)
        return dict(loss_kl=loss_kl, loss_ll=loss_ll, elbo=loss_ll - self.beta * loss_kl,
                    codes=self.probe_input(code, mean))

    def train_step(self, data):
        x, label = unpack(data)
        with tf.GradientTape() as tape:
            out = self.forward(x, training=True)
            loss_vae = -out["elbo"]
        minimize(self.optimizer_ae, tape, loss_vae, self.ae_variables)
        self.train_latent_classifier(out["codes"], label)
        return self.report(**self.losses_of(out))

    # --- Beyond the autoencoder: sampling, and serving both --------------------------
    def sample(self, count, seed=0):
        """Decodings of `count` N(0, I) latent draws -> (images, latents); the same seed
        gives the same draws (stateless random)."""
        inputs.check_sample(self, count, seed)
        latent = prior_sample(count, seed, self.latent_shape)
        return self.decode(latent, training=False), latent

    def serve_encode(self, images):
        mean, log_variance = self.posterior(images, training=False)
        shape = (-1,) + tuple(self.latent_shape)
        return {"latent": tf.reshape(f32(mean), shape),
                "log_variance": tf.reshape(f32(log_variance), shape)}

    def serving_functions(self):
        """The autoencoder's (encode also returns log_variance; latent is the posterior
        mean), and sample(count int32, seed int32) -> images [count, H, W, C], latent."""
        functions = super().serving_functions()
        scalar = self.serving_specs()[3]

        @tf.function(input_signature=[scalar("count"), scalar("seed")])
        def sample(count, seed):
            check = tf.debugging.assert_non_negative(
                count, message="sample: count must be >= 0")
            with tf.control_dependencies([check]):
                images, latent = self.sample(count, seed)
            return {"images": f32(images), "latent": latent}

        return dict(functions, sample=sample)


def prior_sample(count, seed, latent_shape):
    """count N(0, I) latent codes of `latent_shape`, stateless (the same for one seed)."""
    return stateless_normal(count, seed, latent_shape)
