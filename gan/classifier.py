"""A small convnet classifier of the dataset, for sample quality without the internet.

The standard FID needs Inception weights downloaded from the internet; this toolkit trains
its own classifier of the dataset instead, once, and measures sample quality on its
features (gan.frechet) and scores class mixes with its probabilities (gan.pegasus).

  classifier = get_classifier(spec, "<train_dir>/<dataset folder>/classifier")
  classifier.features(images)        # float32 [N, FEATURES]: the Frechet distance's features
  classifier.probabilities(images)   # float32 [N, nclass]

Architecture: three blocks of a 3x3 convolution, batch normalisation, ReLU and 2x2 max
pooling (32, 64, 128 channels), flatten, a dense layer of FEATURES units with ReLU (the
features), dropout 0.3, and a softmax over the classes. Adam (lr 1e-3, halved three times
over training), cross-entropy, `kimg` thousand images of spec.train() batches, no
augmentation (a flip or shift changes the label of some datasets, e.g. lines32).

The trained network is saved in `directory` as classifier.keras beside classifier.json
(its test accuracy, dataset, classes and training settings), both written to a temporary
name first and moved into place, so concurrent runs and interrupted training never leave a
half-written classifier; later calls reload it.
"""

import json
import os
import time

import keras
import numpy as np
import tensorflow as tf
from absl import logging

from acai.lib import progress
from acai.lib.errors import cause
from acai.lib.files import atomic_path, write_json

FEATURES = 128
MODEL_FILE = "classifier.keras"
INFO_FILE = "classifier.json"
BATCH = 256  # Batch size of features() and probabilities().


def build_network(image_shape, nclass, seed=0):
    """The classifier as a Keras model images [B, H, W, C] in [-1, 1] -> probabilities.

    Its layer named "features" is the FEATURES-d representation. float32 whatever the
    global dtype policy (it may be mixed precision in a training binary).
    """
    def init(i):
        return keras.initializers.HeNormal(seed=seed * 101 + i)

    x = inputs = keras.Input(image_shape, dtype="float32")
    for i, width in enumerate((32, 64, 128)):
        x = keras.layers.Conv2D(width, 3, padding="same", use_bias=False,
                                kernel_initializer=init(i), dtype="float32")(x)
        x = keras.layers.BatchNormalization(dtype="float32")(x)
        x = keras.layers.ReLU(dtype="float32")(x)
        x = keras.layers.MaxPooling2D(dtype="float32")(x)
    x = keras.layers.Flatten(dtype="float32")(x)
    x = keras.layers.Dense(FEATURES, activation="relu", kernel_initializer=init(3),
                           name="features", dtype="float32")(x)
    x = keras.layers.Dropout(0.3, seed=seed, dtype="float32")(x)
    outputs = keras.layers.Dense(nclass, activation="softmax", name="probabilities",
                                 dtype="float32")(x)
    return keras.Model(inputs, outputs, name="feature_classifier")


class FeatureClassifier:
    """A trained classifier: features() and probabilities() of images, in batches."""

    def __init__(self, network, info=None):
        self.network = network
        self.info = dict(info or {})
        both = keras.Model(network.inputs,
                           [network.get_layer("features").output, network.outputs[0]])
        shape = (None,) + tuple(network.inputs[0].shape[1:])
        self._both = tf.function(lambda x: both(x, training=False),
                                 input_signature=[tf.TensorSpec(shape, tf.float32)])

    @property
    def test_accuracy(self):
        """Accuracy (%) on the test split when trained, or None."""
        return self.info.get("test_accuracy")

    def outputs(self, images):
        """(float32 [N, FEATURES] features, float32 [N, nclass] class probabilities) of
        images [N, H, W, C] in [-1, 1], from one pass of the network."""
        images = np.asarray(images, np.float32)
        if not len(images):
            return (np.zeros((0, FEATURES), np.float32),
                    np.zeros((0, self.network.outputs[0].shape[-1]), np.float32))
        batches = [self._both(images[i:i + BATCH]) for i in range(0, len(images), BATCH)]
        return tuple(np.concatenate([batch[which].numpy() for batch in batches])
                     for which in (0, 1))

    def features(self, images):
        """float32 [N, FEATURES] features of images [N, H, W, C] in [-1, 1]."""
        return self.outputs(images)[0]

    def probabilities(self, images):
        """float32 [N, nclass] class probabilities of images [N, H, W, C] in [-1, 1]."""
        return self.outputs(images)[1]

    def predict(self, images):
        """int64 [N] most probable class of each image."""
        return np.argmax(self.probabilities(images), axis=-1).astype(np.int64)


def evaluate_accuracy(classifier, dataset):
    """Accuracy (%) of `classifier` on one pass of a (x, label) dataset."""
    correct = total = 0
    for x, label in dataset:
        correct += int(np.sum(classifier.predict(x.numpy()) == label.numpy()))
        total += int(label.shape[0])
    if not total:
        raise ValueError("the test split is empty")
    return 100.0 * correct / total


def train_classifier(spec, *, kimg=64, batch=64, lr=1e-3, seed=0):
    """Trains a new classifier on spec.train() for `kimg` thousand images.

    Returns a FeatureClassifier whose info holds the test accuracy (%) and the settings.
    """
    image_shape = (spec.height, spec.width, spec.colors)
    network = build_network(image_shape, spec.nclass, seed)
    steps = max(1, (kimg << 10) // batch)
    schedule = keras.optimizers.schedules.PiecewiseConstantDecay(
        [steps // 2, 3 * steps // 4, 7 * steps // 8], [lr, lr / 2, lr / 4, lr / 8])
    network.compile(optimizer=keras.optimizers.Adam(schedule),
                    loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    start = time.time()
    bar = progress.FitBar(f"training the {spec.name} classifier: {kimg} kimg", steps)
    network.fit(spec.train(batch, seed=seed), steps_per_epoch=steps, epochs=1, verbose=0,
                shuffle=False, callbacks=[bar])
    bar.close()
    elapsed = time.time() - start
    classifier = FeatureClassifier(network)
    test_accuracy = evaluate_accuracy(classifier, spec.test(BATCH))
    classifier.info = dict(dataset=spec.name, class_names=list(spec.class_names),
                           image_shape=list(image_shape), test_accuracy=test_accuracy,
                           kimg=kimg, batch=batch, lr=lr,
                           seed=seed, features=FEATURES, train_seconds=round(elapsed, 1))
    logging.info("Trained the %s classifier (%d kimg, %.0f s): test accuracy %.2f%%",
                 spec.name, kimg, elapsed, test_accuracy)
    return classifier


def save(classifier, directory):
    """Writes classifier.keras and classifier.json into `directory`, each atomically."""
    os.makedirs(directory, exist_ok=True)
    with atomic_path(os.path.join(directory, MODEL_FILE), suffix=".keras") as tmp:
        classifier.network.save(tmp)  # Keras wants the .keras extension.
    write_json(classifier.info, os.path.join(directory, INFO_FILE))


def load(directory):
    """The classifier saved in `directory`, or None when there is none (yet) or it is
    damaged (a warning names the file: it is trained again)."""
    model_path = os.path.join(directory, MODEL_FILE)
    info_path = os.path.join(directory, INFO_FILE)
    if not (os.path.exists(model_path) and os.path.exists(info_path)):
        return None
    path = info_path
    try:
        with open(info_path, encoding="utf-8") as f:
            info = json.load(f)
        if not isinstance(info, dict):
            raise ValueError(f"a JSON {type(info).__name__}, not an object")
        path = model_path
        network = keras.saving.load_model(model_path, compile=False)
    except Exception as e:  # Keras and json raise several types for a damaged file.
        logging.warning("the cached classifier file %s is damaged (%s): training the "
                        "classifier again", path, cause(e))
        return None
    return FeatureClassifier(network, info)


def get_classifier(spec, directory, *, kimg=64, batch=64, seed=0):
    """The classifier of `spec` cached in `directory`: loaded, or trained and saved.

    Raises ValueError (one line) when the cached one was trained on other classes or
    image shapes; kimg, batch and seed only matter when it is trained.
    """
    classifier = load(directory)
    if classifier is not None:
        expected = dict(class_names=list(spec.class_names),
                        image_shape=[spec.height, spec.width, spec.colors])
        found = {k: classifier.info.get(k) for k in expected}
        if found != expected:
            raise ValueError(f"the classifier in {directory} was trained on classes "
                             f"{found['class_names']} of shape {found['image_shape']}, not "
                             f"{expected['class_names']} of shape {expected['image_shape']}; "
                             f"remove it or use another folder")
        logging.info("Loaded the %s classifier from %s (test accuracy %.2f%%)",
                     classifier.info.get("dataset"), directory, classifier.test_accuracy)
        return classifier
    classifier = train_classifier(spec, kimg=kimg, batch=batch, seed=seed)
    save(classifier, directory)
    return classifier


def classifier_dir(run_dir):
    """Where a run's dataset classifier lives: beside the run, <dataset folder>/classifier."""
    return os.path.join(os.path.dirname(os.path.normpath(os.path.abspath(run_dir))),
                        "classifier")
