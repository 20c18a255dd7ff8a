"""The paper's convolutional autoencoder: what every autoencoder of the toolkit shares.

The reference's vocabulary: `encode` (image -> latent code), `decode` (latent -> image),
`ae` (reconstruction); beside them `interpolate` (decodings of the linear path between
two images' codes) and the SavedModel's serving functions. The regularised models
(acai.models, vae) subclass it and write one `train_step` each.
"""

import keras
import tensorflow as tf

from acai.lib import inputs, layers
from acai.lib.evaluation import AutoEncoderEvaluation
from acai.lib.model import Model, minimize, unpack
from acai.lib.params import Param


def f32(x):
    return tf.cast(x, tf.float32)


class AutoEncoder(Model):
    """The paper's convolutional autoencoder with the reference's online latent probe.

    Encoder and decoder are the paper's (acai.lib.layers) with `scales` =
    log2(image width / latent_width) poolings. Every model trains, alongside, a single
    dense layer on the stop-gradient latent code to predict the label (the reference's
    `single_layer_classifier`): its test accuracy says how much of the class the latent
    space keeps, without influencing the autoencoder. Unlabelled images (nclass 0, or
    batches without labels) skip it.
    """

    NAME = "AE"
    LOSSES = ("loss_ae",)
    PARAMS = (
        Param("latent", 16, "Latent space depth: the total latent size is the depth "
              "multiplied by latent_width ** 2.", lower_bound=1, in_name=True),
        Param("latent_width", 4, "Width of the latent space.", lower_bound=1),
        Param("depth", 64, "Depth of the first convolution; doubles at every scale.",
              lower_bound=1, in_name=True),
    )
    # The reference's lines configuration (its runs/*.sh on lines32): the lines
    # benchmark (Table 1) trains every model that declares one with it.
    LINES = dict(depth=16, latent=16, latent_width=2)

    def __init__(self, image_shape, nclass=0, **kwargs):
        super().__init__(image_shape, nclass, **kwargs)
        height, width, colors = self.image_shape
        self.scales = layers.scales_for(width, self.latent_width)
        self.latent_shape = (height >> self.scales, width >> self.scales, self.latent)
        self.encoder = layers.encoder(self.image_shape, self.scales, self.depth, self.latent,
                                      dtype=self.dtype_policy)
        self.decoder = layers.decoder(self.latent_shape, self.scales, self.depth, colors,
                                      dtype=self.dtype_policy)
        self.classifier = None
        if self.nclass:
            self.classifier = self.latent_classifier(self.latent_shape)

    def latent_classifier(self, input_shape):
        """The reference's single_layer_classifier: flatten, one dense layer (logits)."""
        classifier = keras.Sequential(
            [keras.layers.Flatten(dtype=self.dtype_policy),
             keras.layers.Dense(self.nclass, dtype="float32")],
            name="single_layer_classifier")
        classifier.build((None,) + tuple(input_shape))
        return classifier

    def tracked(self):
        return self.LOSSES + (("classify_latent",) if self.nclass else ())

    def experiment_params(self):
        return dict(super().experiment_params(), scales=self.scales)

    def optimizer_variables(self):
        optimizers = {"optimizer_ae": self.ae_variables}
        if self.classifier is not None:
            optimizers["optimizer_classifier"] = self.classifier.trainable_variables
        return optimizers

    def evaluation(self, spec, run):
        return AutoEncoderEvaluation(self, spec)

    # --- The reference's vocabulary ------------------------------------------------
    # Each checks what it is given (acai.lib.inputs): in one line, not deep in Keras.
    @inputs.images
    def encode(self, x, training=False):
        """Image in [-1, 1] -> latent code."""
        return self.encoder(x, training=training)

    @inputs.codes
    def decode(self, z, training=False):
        """Latent code -> image (float32)."""
        return f32(self.decoder(z, training=training))

    def ae(self, x, training=False):
        """Reconstruction: decode(encode(x))."""
        return self.decode(self.encode(x, training=training), training=training)

    def call(self, x, training=False):
        return self.ae(x, training=training)

    def interpolate(self, image_a, image_b, steps=16):
        """Decodings of (1 - t) encode(a) + t encode(b), t = linspace(0, 1, steps), for two
        images [H, W, C] in [-1, 1] -> (images [steps, H, W, C], latents [steps, ...])."""
        where = f"{type(self).__name__}.interpolate"
        for name, image in (("image_a", image_a), ("image_b", image_b)):
            inputs.check_images(image, self.image_shape, f"{where} {name}", single=True)
        inputs.check_integer(steps, where)
        codes = f32(self.encode(tf.stack([image_a, image_b]), training=False))
        t = tf.reshape(tf.linspace(0.0, 1.0, steps), [-1] + [1] * (codes.shape.rank - 1))
        path = (1 - t) * codes[0] + t * codes[1]
        return self.decode(path, training=False), path

    def classify_latent(self, x):
        """The probe's predicted class for images x."""
        logits = self.classifier(self.encode(x), training=False)
        return tf.argmax(logits, axis=-1)

    # --- Training helpers ----------------------------------------------------------
    @property
    def ae_variables(self):
        return self.encoder.trainable_variables + self.decoder.trainable_variables

    def latent_classifier_loss(self, encode, label, training=False):
        """The probe's cross-entropy on the stop-gradient latent code (reference: xloss)."""
        logits = self.classifier(tf.stop_gradient(encode), training=training)
        return tf.reduce_mean(keras.losses.sparse_categorical_crossentropy(
            label, logits, from_logits=True))

    def train_latent_classifier(self, encode, label):
        """One step of the probe on the stop-gradient latent code."""
        if self.classifier is None or label is None:
            return
        with tf.GradientTape() as tape:
            loss = self.latent_classifier_loss(encode, label, training=True)
        minimize(self.optimizer_classifier, tape, loss, self.classifier.trainable_variables)
        self.trackers["classify_latent"].update_state(loss)

    # --- Evaluation (Keras' evaluate, fit's validation_data) ------------------------
    def forward(self, x, training=False):
        """A step's computation on images x: {name: tensor} holding every loss of LOSSES
        and "codes", what the latent probe reads. Each model's train_step records it on
        its tapes; test_step reports its losses without updating anything."""
        raise NotImplementedError

    def train_step(self, data):
        """One step of the autoencoder on forward's loss_ae, and one of the probe: the
        plain autoencoders' (baseline, denoising, dropout differ only in `forward`)."""
        x, label = unpack(data)
        with tf.GradientTape() as tape:
            out = self.forward(x, training=True)
        minimize(self.optimizer_ae, tape, out["loss_ae"], self.ae_variables)
        self.train_latent_classifier(out["codes"], label)
        return self.report(**self.losses_of(out))

    def losses_of(self, out):
        """The losses of LOSSES in a `forward` result: what a step reports."""
        return {name: out[name] for name in self.LOSSES}

    def test_step(self, data):
        """The losses train_step reports (and the probe's), on a batch it does not learn
        from: no optimiser, moving statistic or codebook is updated."""
        x, label = unpack(data)
        out = self.forward(x, training=False)
        losses = self.losses_of(out)
        if self.classifier is not None and label is not None:
            losses["classify_latent"] = self.latent_classifier_loss(out["codes"], label)
        return self.report(**losses)

    # --- Serving (acai.lib.export) -------------------------------------------------
    def serving_specs(self):
        """The input specs of the serving functions: images, latent, one image, scalar."""
        latent_shape = [int(n) for n in self.latent_shape]
        return (tf.TensorSpec([None, *self.image_shape], tf.float32, name="images"),
                tf.TensorSpec([None] + latent_shape, tf.float32, name="latent"),
                lambda name: tf.TensorSpec(self.image_shape, tf.float32, name=name),
                lambda name: tf.TensorSpec([], tf.int32, name=name))

    def call_signature(self):
        return [self.serving_specs()[0]]

    def serve_encode(self, images):
        return {"latent": f32(self.encode(images, training=False))}

    def serving_functions(self):
        """encode, decode, reconstruct and interpolate; every output float32:

          encode(images [N, H, W, C])        -> latent [N, *latent_shape]
          decode(latent [N, *latent_shape])  -> images [N, H, W, C]
          reconstruct(images [N, H, W, C])   -> reconstructions [N, H, W, C]
          interpolate(image_a, image_b [H, W, C], steps int32 >= 1)
                                             -> images [steps, H, W, C], latent [steps, ...]

        No output is named like an input (ONNX converters require it).
        """
        images_spec, latent_spec, image_spec, scalar = self.serving_specs()

        @tf.function(input_signature=[images_spec])
        def encode(images):
            return self.serve_encode(inputs.served(images, images=True))

        @tf.function(input_signature=[latent_spec])
        def decode(latent):
            return {"images": f32(self.decode(inputs.served(latent), training=False))}

        @tf.function(input_signature=[images_spec])
        def reconstruct(images):
            return {"reconstructions": f32(self.ae(inputs.served(images, images=True),
                                                   training=False))}

        @tf.function(input_signature=[image_spec("image_a"), image_spec("image_b"),
                                      scalar("steps")])
        def interpolate(image_a, image_b, steps):
            check = tf.debugging.assert_positive(
                steps, message="interpolate: steps must be >= 1")
            image_a = inputs.served(image_a, images=True)
            image_b = inputs.served(image_b, images=True)
            with tf.control_dependencies([check]):
                images, path = self.interpolate(image_a, image_b, steps)
            return {"images": f32(images), "latent": path}

        return dict(encode=encode, decode=decode, reconstruct=reconstruct,
                    interpolate=interpolate)
