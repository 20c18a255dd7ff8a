"""What the GANs share: a generator G, a discriminator D and their alternating updates."""

import keras
import tensorflow as tf

from acai.lib import inputs
from acai.lib.model import Model, minimize, stateless_normal, unpack
from acai.lib.params import Param
from gan.evaluation import GANEvaluation
from gan.spectral_norm import spectral_layers


class GAN(Model):
    """A generative adversarial network (Goodfellow et al., 2014) on the shared core.

    Each train step shows D one batch of real images: D is updated with G held fixed on
    that batch and a batch of G(z), z ~ N(0, I); then, every `n_critic` steps, G is updated
    with D held fixed. Subclasses give the two networks and the two losses. With
    `conditional`, both networks take the class: G an embedding of it, D a projection
    (the batches must then carry labels). Losses and D's outputs are in float32 under
    every precision policy.

    Reported: loss_disc, loss_gen, and d_real / d_fake, the mean of D's output (for a
    logistic D, the probability it gives) on real images and on G(z).
    """

    LOSSES = ("loss_disc", "loss_gen", "d_real", "d_fake")
    MAIN_OPTIMIZER = "optimizer_gen"  # model.optimizer: learning-rate callbacks move it.
    SERVING_DEFAULT = "generate"
    PARAMS = (
        Param("lr", 2e-4, "Learning rate (Adam) of both networks.", lower_bound=0.0),
        Param("z_dim", 100, "Size of the generator's N(0, I) input.", lower_bound=1,
              in_name=True),
        Param("depth", 64, "Width of the discriminator's first convolution (the "
              "generator mirrors it).", lower_bound=1, in_name=True),
        Param("conditional", False, "Condition both networks on the class label (an "
              "embedding in the generator, a projection in the discriminator).",
              in_name="changed"),
        Param("n_critic", 1, "Discriminator steps per generator step.", lower_bound=1,
              in_name=True),
        # Adam's betas stay out of the experiment name (config.json has them).
        Param("adam_beta1", 0.5, "Adam's beta_1.", lower_bound=0.0, upper_bound=1.0),
        Param("adam_beta2", 0.999, "Adam's beta_2.", lower_bound=0.0, upper_bound=1.0),
        Param("eval_fd", False, "At every report, the Frechet distance between real and "
              "generated images on the features of a classifier trained on the dataset "
              "(trained once per dataset folder).", restartable=True),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.conditional = bool(self.conditional)
        if self.conditional and not self.nclass:
            raise ValueError("a conditional GAN needs labelled images (nclass > 0)")
        label_size = self.nclass if self.conditional else 0
        self.generator = self.build_generator(self.depth, label_size)
        self.discriminator = self.build_discriminator(self.depth, label_size)

    def optimizer_variables(self):
        return {"optimizer_gen": self.generator.trainable_variables,
                "optimizer_disc": self.discriminator.trainable_variables}

    def default_optimizer(self, name):
        return keras.optimizers.Adam(self.lr, beta_1=self.adam_beta1,
                                     beta_2=self.adam_beta2)

    def evaluation(self, spec, run):
        return GANEvaluation(self, spec, run)

    # --- What subclasses define ------------------------------------------------------
    def build_generator(self, depth, nclass):
        raise NotImplementedError

    def build_discriminator(self, depth, nclass):
        raise NotImplementedError

    def loss_disc(self, real, fake):
        """D's loss from its float32 outputs on a real batch and on G(z)."""
        raise NotImplementedError

    def loss_gen(self, fake):
        """G's loss from D's outputs on G(z)."""
        raise NotImplementedError

    def d_mean(self, output):
        """What d_real / d_fake report of D's outputs."""
        return tf.reduce_mean(output)

    # --- The networks ------------------------------------------------------------------
    def label_vector(self, label):
        """Class indices (int) or class vectors (float, [B, nclass]) -> float32 vectors."""
        label = tf.convert_to_tensor(label)
        if label.dtype.is_integer:
            return tf.one_hot(label, self.nclass, dtype=tf.float32)
        return tf.cast(label, tf.float32)

    def generate(self, z, label=None, training=False):
        """G: z [B, z_dim] (and, when conditional, the class: indices [B] or vectors
        [B, nclass], a mix of one-hots mixes classes) -> images in [-1, 1], float32."""
        inputs.check_vectors(z, (self.z_dim,), "z", f"{type(self).__name__}.generate")
        # Cast, not converted: Keras hands `call` z in the global policy's dtype.
        z = tf.cast(tf.convert_to_tensor(z), tf.float32)
        given = [z, self.label_vector(label)] if self.conditional else z
        return tf.cast(self.generator(given, training=training), tf.float32)

    def disc(self, x, label=None, training=False):
        """D: images (and class vectors) -> one float32 output per image."""
        x = tf.cast(tf.convert_to_tensor(x), tf.float32)
        given = [x, self.label_vector(label)] if self.conditional else x
        return tf.reshape(tf.cast(self.discriminator(given, training=training), tf.float32),
                          [-1])

    def call(self, z, training=False):
        return self.generate(z, training=training)

    def sample_z(self, batch):
        return keras.random.normal((batch, self.z_dim), seed=self.seed_generator)

    # --- Training ----------------------------------------------------------------------
    def discriminator_step(self, x, label=None):
        """One update of D on real images x and as many G(z), G held fixed. A spectrally
        normalised D first advances its power iteration (one step), as Miyato et al. do
        at each D update and only then."""
        for layer in spectral_layers(self.discriminator):
            layer.power_iteration()
        fake = tf.stop_gradient(self.generate(self.sample_z(tf.shape(x)[0]), label,
                                              training=True))
        with tf.GradientTape() as tape:
            real_output = self.disc(x, label, training=True)
            fake_output = self.disc(fake, label, training=True)
            loss = self.loss_disc(real_output, fake_output)
        minimize(self.optimizer_disc, tape, loss, self.discriminator.trainable_variables)
        return loss, self.d_mean(real_output), self.d_mean(fake_output)

    def generator_step(self, batch, label=None):
        """One update of G on a batch of G(z), D held fixed."""
        with tf.GradientTape() as tape:
            fake = self.generate(self.sample_z(batch), label, training=True)
            loss = self.loss_gen(self.disc(fake, label, training=True))
        minimize(self.optimizer_gen, tape, loss, self.generator.trainable_variables)
        self.trackers["loss_gen"].update_state(loss)
        return loss

    def train_step(self, data):
        x, label = unpack(data)
        label = label if self.conditional else None
        loss_disc, d_real, d_fake = self.discriminator_step(x, label)
        if self.n_critic == 1:
            self.generator_step(tf.shape(x)[0], label)
        else:
            tf.cond(self.optimizer_disc.iterations % self.n_critic == 0,
                    lambda: self.generator_step(tf.shape(x)[0], label),
                    lambda: tf.constant(0.0))
        return self.report(loss_disc=loss_disc, d_real=d_real, d_fake=d_fake)

    def test_step(self, data):
        """The losses train_step reports, and D's mean output on real images and G(z),
        on a batch neither network learns from: G and D in inference mode (batch norm's
        moving statistics), no update, no power-iteration step."""
        x, label = unpack(data)
        label = label if self.conditional else None
        fake = self.generate(self.sample_z(tf.shape(x)[0]), label, training=False)
        real_output = self.disc(x, label, training=False)
        fake_output = self.disc(fake, label, training=False)
        return self.report(loss_disc=self.loss_disc(real_output, fake_output),
                           loss_gen=self.loss_gen(fake_output),
                           d_real=self.d_mean(real_output), d_fake=self.d_mean(fake_output))

    # --- Serving (acai.lib.export) ---------------------------------------------------
    def sample(self, count, seed=0, label=None):
        """G(z) for `count` z ~ N(0, I) (stateless: the same for one seed); a conditional
        model takes `label` (indices [count] or class vectors), random classes if None.
        -> (images, z)."""
        inputs.check_sample(self, count, seed)
        z = stateless_normal(count, seed, [self.z_dim])
        if self.conditional and label is None:
            label = tf.random.stateless_uniform([count], seed=tf.stack([seed, 1]),
                                                maxval=self.nclass, dtype=tf.int32)
        return self.generate(z, label, training=False), z

    def call_signature(self):
        return [tf.TensorSpec([None, int(self.z_dim)], tf.float32, name="z")]

    def serving_functions(self):
        """generate(z [N, z_dim]) -> images [N, H, W, C] (float32), or, conditional,
        generate(z, label int64 [N] in [0, nclass))."""
        z_spec, = self.call_signature()
        if not self.conditional:
            @tf.function(input_signature=[z_spec])
            def generate(z):
                return {"images": tf.cast(self.generate(inputs.served(z), training=False),
                                          tf.float32)}
            return {"generate": generate}

        nclass = int(self.nclass)

        @tf.function(input_signature=[z_spec, tf.TensorSpec([None], tf.int64, name="label")])
        def generate(z, label):
            checks = [tf.debugging.assert_non_negative(
                          label, message="generate: labels must be >= 0"),
                      tf.debugging.assert_less(
                          label, tf.constant(nclass, tf.int64),
                          message=f"generate: labels must be < nclass = {nclass}")]
            with tf.control_dependencies(checks):
                images = self.generate(inputs.served(z), label=inputs.served(label),
                                       training=False)
            return {"images": tf.cast(images, tf.float32)}
        return {"generate": generate}
