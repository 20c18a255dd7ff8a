"""A single dense layer trained on frozen latent codes, or on raw pixels (the paper's Table 2).

  acai-classify --run=experiments/mnist32/AEBaseline_depth16_latent16_scales3
  acai-classify --dataset=mnist32          # the baseline on pixels

With --run: the reference's classify_latent_ae.py, a softmax layer on the codes of the
run's encoder, which stays frozen. Without: its classify_fc.py, the same layer on the
pixels of --dataset (with its label smoothing). The codes (or pixels) of one pass over the
train split and of the test split are computed once, up front; training draws shuffled
batches from them (Keras' fit). Adam, learning rate decayed by 10x every half of
training, as the reference. The last line printed is `test accuracy: NN.NN`; the result
is also written to classify.json in the run directory (or, without --run, in
TRAIN_DIR/DATASET/FullyConnected).
"""

import os

import keras
import numpy as np
import tensorflow as tf
from absl import flags, logging

from acai import registry
from acai.lib import cli, data, hparams, progress, training
from acai.lib.evaluation import encode_dataset, features_of
from acai.lib.files import check_writable, write_json
from acai.lib.paths import RunPaths
from acai.lib.run import dataset_dirname
from flags import common

FLAGS = flags.FLAGS


def define_flags():
    """The binary's flags (defined when it runs, so that its functions import freely)."""
    common.define_run("Run folder of the autoencoder whose latent codes to classify "
                      "(default: classify the pixels of --dataset).", aliases=["ae_dir"])
    flags.DEFINE_float("smoothing", None, "Label smoothing amount (default: 0.1 on pixels, as "
                       "the reference's classify_fc.py; 0 on latent codes).",
                       lower_bound=0.0, upper_bound=1.0)
    flags.DEFINE_string("dataset", "lines32", "Without --run: the dataset whose pixels to "
                        "classify (lines32, mnist32, ..., tfds:NAME, folder:PATH).")
    flags.DEFINE_list("classes", [], "Without --run: keep only these classes.")
    common.define_data_dir()
    flags.DEFINE_string("train_dir", "./experiments", "Without --run: where "
                        "DATASET/FullyConnected/classify.json is written.")
    flags.DEFINE_integer("batch", 64, "Batch size.", lower_bound=1)
    flags.DEFINE_float("lr", 1e-4, "Learning rate (the reference's classifier_fc.py).",
                       lower_bound=0.0)
    flags.DEFINE_integer("total_kimg", 1 << 14, "Training duration in kimg.", lower_bound=1)
    flags.DEFINE_integer("report_kimg", 1 << 6, "Log the accuracies every this many kimg.",
                         lower_bound=1)
    flags.DEFINE_integer("seed", 0, "Seed of the classifier's initialisation and batches.")


def single_layer_classifier(input_size, nclass):
    """The reference's single_layer_classifier: flatten, then one dense layer (logits)."""
    return keras.Sequential([keras.Input((input_size,)), keras.layers.Dense(nclass)],
                            name="single_layer_classifier")


def train_classifier(train, train_labels, nclass, *, batch=64, lr=1e-4, total_kimg=1 << 14,
                     report_kimg=1 << 6, smoothing=0.0, seed=0, test=None, test_labels=None,
                     log=True):
    """Trains a single dense layer on arrays with `fit`; returns (classifier, history).

    train: [N, ...] inputs (flattened here); train_labels: int [N]. Batches are drawn from
    successive shuffles of the train set. The learning rate decays exponentially by 10x
    every total_kimg / 2 (the reference's exponential_decay with decay_rate 0.1); the
    label smoothing is the reference's (1 - s) onehot + s / nclass, Keras'. One epoch per
    report; history lists (kimg, loss, train accuracy of the report interval, test
    accuracy or None).
    """
    train = np.asarray(train, np.float32).reshape(len(train), -1)
    train_labels = np.asarray(train_labels, np.int64).ravel()
    if not len(train):
        raise ValueError("no training examples")
    total_steps = max(1, (total_kimg << 10) // batch)
    report_steps = max(1, min(total_steps, (report_kimg << 10) // batch))
    keras.utils.set_random_seed(seed)
    classifier = single_layer_classifier(train.shape[1], nclass)
    schedule = keras.optimizers.schedules.ExponentialDecay(
        lr, decay_steps=max(1, total_steps // 2), decay_rate=0.1)
    classifier.compile(
        optimizer=keras.optimizers.Adam(schedule),
        loss=keras.losses.CategoricalCrossentropy(from_logits=True,
                                                  label_smoothing=smoothing),
        metrics=[keras.metrics.CategoricalAccuracy(name="accuracy")])
    batches = (tf.data.Dataset.from_tensor_slices((train, tf.one_hot(train_labels, nclass)))
               .shuffle(len(train), seed=seed).repeat()
               .batch(batch, drop_remainder=True).prefetch(tf.data.AUTOTUNE))
    report = ClassifierReport(batch, test, test_labels, log)
    bar = progress.FitBar(f"training the classifier: {total_kimg} kimg", total_steps)
    # Whole reports, then a short one for the rest (as a run's reports).
    for first, epochs, steps in training.epochs_from(0, total_steps * batch,
                                                     report_steps * batch, batch):
        classifier.fit(batches, initial_epoch=first, epochs=first + epochs,
                       steps_per_epoch=steps, verbose=0, callbacks=[report, bar])
    bar.close()
    return classifier, report.history


class ClassifierReport(keras.callbacks.Callback):
    """At every epoch (report): the test accuracy, a history entry and a log line."""

    def __init__(self, batch, test, test_labels, log):
        super().__init__()
        self.batch, self.test, self.test_labels, self.log = batch, test, test_labels, log
        self.history, self.steps = [], 0

    def on_epoch_end(self, epoch, logs=None):
        self.steps += self.params["steps"]
        kimg = self.steps * self.batch / 1024
        test_accuracy = (None if self.test is None
                         else accuracy_of(self.model, self.test, self.test_labels))
        self.history.append((kimg, float(logs["loss"]), 100 * float(logs["accuracy"]),
                             test_accuracy))
        if self.log:
            logging.info("kimg=%-6g loss=%.4f train_accuracy=%.2f%s", kimg,
                         float(logs["loss"]), 100 * float(logs["accuracy"]),
                         "" if test_accuracy is None
                         else f" test_accuracy={test_accuracy:.2f}")


def accuracy_of(classifier, x, labels, batch=4096):
    """Accuracy (%) of `classifier` on arrays x [N, ...], labels [N]."""
    x = np.asarray(x, np.float32).reshape(len(x), -1)
    predictions = np.concatenate([
        np.argmax(classifier(x[i:i + batch], training=False).numpy(), axis=-1)
        for i in range(0, len(x), batch)])
    return 100 * float(np.mean(predictions == np.asarray(labels).ravel()))


def main():
    if FLAGS.run:
        model, spec, config = registry.load_run(FLAGS.run, FLAGS.data_dir,
                                                kind="autoencoder")
        featurize = lambda ds, what: encode_dataset(model, ds, what=what)  # noqa: E731
        out_dir, smoothing, what = FLAGS.run, FLAGS.smoothing or 0.0, "latents"
    else:
        spec = data.get_dataset(FLAGS.dataset, FLAGS.data_dir, FLAGS.classes)
        featurize = lambda ds, what: features_of(ds, what=what)  # noqa: E731  The pixels.
        out_dir = os.path.join(FLAGS.train_dir, dataset_dirname(spec.name, FLAGS.classes),
                               "FullyConnected")
        smoothing = 0.1 if FLAGS.smoothing is None else FLAGS.smoothing
        what = "pixels"
    # Where the result goes (and, for a run, its HParams row), checked before the work.
    check_writable(out_dir, *([RunPaths(FLAGS.run).summary_dir] if FLAGS.run else []))
    train, train_labels = featurize(spec.train_once(FLAGS.batch), f"{what}: training images")
    test, test_labels = featurize(spec.test(FLAGS.batch), f"{what}: test images")
    logging.info("Classifying %s of size %d: %d train, %d test images", what,
                 train.shape[1], len(train), len(test))
    classifier, history = train_classifier(
        train, train_labels, spec.nclass, batch=FLAGS.batch, lr=FLAGS.lr,
        total_kimg=FLAGS.total_kimg, report_kimg=FLAGS.report_kimg,
        smoothing=smoothing, seed=FLAGS.seed, test=test, test_labels=test_labels)
    result = dict(test_accuracy=history[-1][3],
                  train_accuracy=accuracy_of(classifier, train, train_labels),
                  dataset=spec.name, features=what, input_size=int(train.shape[1]),
                  nclass=spec.nclass, batch=FLAGS.batch, lr=FLAGS.lr,
                  total_kimg=FLAGS.total_kimg, smoothing=smoothing, seed=FLAGS.seed,
                  train_size=len(train), test_size=len(test))
    os.makedirs(out_dir, exist_ok=True)
    write_json(result, RunPaths(out_dir).result_path("classify"))
    if FLAGS.run:
        hparams.add_results(FLAGS.run, {"classify_accuracy": result["test_accuracy"]})
    print(f"test accuracy: {result['test_accuracy']:.2f}")


def run(prog="acai-classify"):
    cli.launch(main, prog, define_flags, FLAGS)


if __name__ == "__main__":
    run("acai.classify")
