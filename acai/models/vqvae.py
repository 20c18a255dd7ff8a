"""The VQ-VAE (van den Oord et al., 2017) with EMA codebook updates: a paper baseline.

The reference builds it on tensor2tensor's discrete bottleneck with exponential moving
average (EMA) updates, one block and one residual; this file says the same computation.
"""

import keras
import numpy as np
import tensorflow as tf

from acai.lib import inputs
from acai.lib.autoencoder import AutoEncoder
from acai.lib.model import mean_squared_error, minimize, unpack
from acai.lib.params import Param


class VectorQuantizer(keras.layers.Layer):
    """A codebook of `size` vectors of `dim` values, learnt by moving averages (float32).

    Each input vector is replaced by its nearest codebook entry (squared Euclidean
    distance). `update` moves every entry towards the mean of the vectors assigned to it:
        count_k <- decay count_k + (1 - decay) n_k
        sum_k   <- decay sum_k   + (1 - decay) sum of the vectors assigned to k
        entry_k <- sum_k / count'_k,  count' = (count + eps) / (N + size eps) N,  N = sum count
    (no zero-debiasing: counts start at 0 and sums at the initial entries, as the
    reference). The three are non-trainable variables, saved with the model.
    """

    def __init__(self, size, dim, decay=0.999, epsilon=1e-5, **kwargs):
        super().__init__(dtype="float32", **kwargs)
        self.size, self.dim = size, dim
        self.decay, self.epsilon = decay, epsilon
        # tf.uniform_unit_scaling_initializer: U(-sqrt(3 / size), sqrt(3 / size)).
        self.codebook = self.add_weight(
            shape=(size, dim), name="codebook", trainable=False,
            initializer=keras.initializers.VarianceScaling(1.0, "fan_in", "uniform"))
        self.ema_count = self.add_weight(shape=(size,), name="ema_count", trainable=False,
                                         initializer="zeros")
        self.ema_sum = self.add_weight(shape=(size, dim), name="ema_sum", trainable=False,
                                       initializer="zeros")
        self.ema_sum.assign(self.codebook)
        self.built = True

    def nearest(self, x):
        """(N, dim) -> (N,) int32 index of the nearest codebook entry, in float32."""
        x = tf.cast(x, tf.float32)
        distances = (tf.reduce_sum(tf.square(x), 1, keepdims=True)
                     - 2 * tf.matmul(x, self.codebook, transpose_b=True)
                     + tf.reduce_sum(tf.square(self.codebook), 1)[None])
        return tf.argmin(distances, axis=1, output_type=tf.int32)

    def lookup(self, index):
        return tf.gather(self.codebook, index)

    def call(self, x):
        """(N, dim) -> (indices (N,), entries (N, dim) float32)."""
        index = self.nearest(x)
        return index, self.lookup(index)

    def update(self, x, index):
        """One EMA step of the codebook towards the vectors x assigned to `index`."""
        x = tf.cast(x, tf.float32)
        count = tf.math.unsorted_segment_sum(tf.ones_like(index, tf.float32), index,
                                             self.size)
        total = tf.math.unsorted_segment_sum(x, index, self.size)
        self.ema_count.assign(self.decay * self.ema_count + (1 - self.decay) * count)
        self.ema_sum.assign(self.decay * self.ema_sum + (1 - self.decay) * total)
        n = tf.reduce_sum(self.ema_count)
        smoothed = (self.ema_count + self.epsilon) / (n + self.size * self.epsilon) * n
        self.codebook.assign(self.ema_sum / smoothed[:, None])


def steps_until_in_reach(vectors, entries, unused, decay, chunk=512):
    """When an unused codebook entry comes back within reach (numpy, a prediction).

    An entry no vector is assigned to keeps a smoothed count of about epsilon
    (VectorQuantizer.update), so it is its moving-average sum over ~epsilon: the sum,
    and the entry with it, shrinks by `decay` each step. Returns the first t (in steps,
    not rounded) at which some unused entry e, shrunk to s e with s = decay^t, is nearer
    to one of `vectors` than that vector's current entry, assuming the vectors and used
    entries stay put; None if none ever is. For a vector v at squared distance c from its
    entry, |v - s e|^2 < c holds for s between the roots of
    s^2 |e|^2 - 2 s v.e + |v|^2 - c, so the first t is log(larger root) / log(decay).
    vectors: (N, D); entries: (N, D), each vector's current entry; unused: (K, D)."""
    vectors, unused = np.asarray(vectors, np.float64), np.asarray(unused, np.float64)
    constant = (np.sum(vectors ** 2, 1) - np.sum((vectors - entries) ** 2, 1))[:, None]
    largest = 0.0  # The largest s < 1 at which some entry is in reach (0: none).
    for begin in range(0, len(unused), chunk):
        block = unused[begin:begin + chunk]
        squared = np.maximum(np.sum(block ** 2, 1)[None], 1e-30)
        dot = vectors @ block.T
        discriminant = dot ** 2 - squared * constant
        real = discriminant > 0  # Otherwise the entry is never nearer: both roots 0.
        root = np.sqrt(np.where(real, discriminant, 0.0))
        upper = np.where(real, (dot + root) / squared, 0.0)
        lower = np.where(real, (dot - root) / squared, 0.0)
        if np.any((lower < 1) & (upper >= 1)):
            return 0.0  # Already within reach.
        largest = max(largest, float(np.max(np.where(upper < 1, upper, 0.0))))
    return float(np.log(largest) / np.log(decay)) if largest > 0 else None


class VQVAE(AutoEncoder):
    """An autoencoder whose decoder sees a code made of `num_latents` codebook entries.

    The flattened latent code f(x) (D = h * w * latent values) is projected by a dense
    layer to num_latents vectors of D values; each is replaced by its nearest entry e of a
    2^z_log_size codebook, with the straight-through gradient (the decoder's gradient goes
    to the projection as if unquantized); two dense layers (ReLU, 512 units, ReLU, D units)
    take the quantized vectors back to the latent shape, which the decoder decodes:
        loss = ||x - g(q(f(x)))||^2 + beta * ||proj(f(x)) - sg(e)||^2   (commitment)
    The codebook is learnt by moving averages (VectorQuantizer), after the step's losses
    used it. `decode(z)` quantizes any code z (its interpolations), without updating.
    The latent probe learns from the decoder's input, the quantized code, as the reference.
    """

    NAME = "AEVQVAE"
    LOSSES = ("loss_ae", "vqvae_loss")
    PARAMS = (
        Param("z_log_size", 14, "log2 of the number of codebook entries.", lower_bound=1,
              in_name=True),
        Param("beta", 10.0, "Weight of the commitment loss (the VAE's --beta is the "
              "weight of its KL term).", lower_bound=0.0, in_name=True),
        Param("num_latents", 10, "Number of discrete latents (codebook entries) per "
              "image.", lower_bound=1, in_name=True),
    )
    # The reference's runs/vqvae.sh trains it on the lines at latent_width 4.
    LINES = dict(AutoEncoder.LINES, latent_width=4)
    DECAY = 0.999
    EPSILON = 1e-5
    FILTER_SIZE = 512

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)  # z_log_size, num_latents >= 1: their Params'.
        self.hidden = self.latent_shape[0] * self.latent_shape[1] * self.latent_shape[2]
        self.project = keras.layers.Dense(self.hidden * self.num_latents, name="vq_project",
                                          dtype=self.dtype_policy)
        self.project.build((None, self.hidden))
        self.quantizer = VectorQuantizer(1 << self.z_log_size, self.hidden, decay=self.DECAY,
                                         epsilon=self.EPSILON, name="vq_codebook")
        self.unproject = keras.Sequential(
            [keras.layers.ReLU(dtype=self.dtype_policy),
             keras.layers.Dense(self.FILTER_SIZE, activation="relu", dtype=self.dtype_policy),
             keras.layers.Dense(self.hidden, dtype=self.dtype_policy)], name="vq_unproject")
        self.unproject.build((None, self.hidden * self.num_latents))

    @property
    def ae_variables(self):
        return (super().ae_variables + self.project.trainable_variables
                + self.unproject.trainable_variables)

    def vector_quantize(self, z, training=False):
        """Latent code -> (projected vectors (B * num_latents, D) float32, their codebook
        indices, the decoder's input in the latent shape with the straight-through
        gradient to the projected vectors)."""
        batch = tf.shape(z)[0]
        flat = tf.reshape(z, [batch, self.hidden])
        vectors = tf.reshape(tf.cast(self.project(flat, training=training), tf.float32),
                             [batch * self.num_latents, self.hidden])
        index, entries = self.quantizer(vectors)
        straight_through = vectors + tf.stop_gradient(entries - vectors)
        code = self.unproject(tf.reshape(straight_through, [batch, -1]), training=training)
        return vectors, index, tf.reshape(code, (-1,) + self.latent_shape)

    @inputs.codes
    def decode(self, z, training=False):
        return tf.cast(self.decoder(self.vector_quantize(z, training)[2], training=training),
                       tf.float32)

    def classify_latent(self, x):
        logits = self.classifier(self.vector_quantize(self.encode(x))[2], training=False)
        return tf.argmax(logits, axis=-1)

    def forward(self, x, training=False):
        encode = self.encode(x, training=training)
        vectors, index, code = self.vector_quantize(encode, training=training)
        ae = tf.cast(self.decoder(code, training=training), tf.float32)
        entries = tf.stop_gradient(self.quantizer.lookup(index))
        return dict(loss_ae=mean_squared_error(x, ae),
                    vqvae_loss=self.beta * mean_squared_error(vectors, entries),
                    codes=code, vectors=vectors, index=index)

    def train_step(self, data):
        x, label = unpack(data)
        with tf.GradientTape() as tape:
            out = self.forward(x, training=True)
            loss_total = out["loss_ae"] + out["vqvae_loss"]
        minimize(self.optimizer_ae, tape, loss_total, self.ae_variables)
        self.quantizer.update(out["vectors"], out["index"])
        self.train_latent_classifier(out["codes"], label)
        return self.report(**self.losses_of(out))
