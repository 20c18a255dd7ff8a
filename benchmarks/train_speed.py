"""Training speed of a model, in images per second, through `model.fit` and the real
input pipeline (what acai-train runs, without the reports).

  python benchmarks/train_speed.py --model=acai [--precision=mixed_bfloat16] [--batch=64]
  python benchmarks/train_speed.py --model=dcgan [--depth=32]
  python benchmarks/train_speed.py --model=acai --intra_op_threads=1 --inter_op_threads=1

Defaults for the autoencoders are the paper's lines configuration (lines32, latent_width
2, depth 16, latent 16); for the GANs, 32x32x3 images (the CIFAR-10 horses and birds of
../shared/data) and depth 64. `fit` runs one untimed epoch of --warmup steps (tracing),
then --repeats epochs of --steps steps, each timed; the last line reads
`train img/s: <number>` (their median).
"""

import os
import statistics
import sys
import time

import keras
import tensorflow as tf
from absl import flags

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from acai import registry  # noqa: E402
from acai.lib import cli, data, device  # noqa: E402
from flags import training as training_flags  # noqa: E402
from gan.models import GAN  # noqa: E402
from machine import describe  # noqa: E402

FLAGS = flags.FLAGS
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class EpochTimer(keras.callbacks.Callback):
    """The wall time of every epoch."""

    def __init__(self):
        super().__init__()
        self.seconds = []

    def on_epoch_begin(self, epoch, logs=None):
        self.start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.seconds.append(time.perf_counter() - self.start)


def main():
    # TensorFlow's thread pools (0: its default, one thread per core), set before it starts.
    tf.config.threading.set_intra_op_parallelism_threads(FLAGS.intra_op_threads)
    tf.config.threading.set_inter_op_parallelism_threads(FLAGS.inter_op_threads)
    if issubclass(registry.model_class(FLAGS.model), GAN):  # Colour images.
        if not FLAGS["dataset"].present:
            FLAGS.dataset = "folder:" + os.path.join(REPO, "..", "shared", "data",
                                                     "cifar10_horse_bird_jpeg", "train")
    precision = device.set_precision(FLAGS.precision)
    spec = data.get_dataset(FLAGS.dataset, FLAGS.data_dir, FLAGS.classes)
    model = registry.build(FLAGS.model, spec, training_flags.config(registry.models(), FLAGS))
    model.compile()
    batches = spec.train(FLAGS.batch, seed=0)
    model.fit(batches, epochs=1, steps_per_epoch=FLAGS.warmup, verbose=0)
    timer = EpochTimer()
    model.fit(batches, epochs=FLAGS.repeats, steps_per_epoch=FLAGS.steps, verbose=0,
              callbacks=[timer])
    speeds = [FLAGS.steps * FLAGS.batch / seconds for seconds in timer.seconds]
    print(describe())
    print(f"model={FLAGS.model} dataset={FLAGS.dataset} batch={FLAGS.batch} "
          f"precision={precision} " + " ".join(
              f"{k}={v}" for k, v in sorted(model.experiment_params().items()))
          + f" steps={FLAGS.steps}x{FLAGS.repeats} (model.fit) threads: intra "
          f"{FLAGS.intra_op_threads} inter {FLAGS.inter_op_threads} (0: one per core)")
    print("timings img/s: " + " ".join(f"{s:.1f}" for s in speeds))
    print(f"train img/s: {statistics.median(speeds):.1f}")


def run():
    flags.DEFINE_integer("steps", 100, "Train steps per timing.")
    flags.DEFINE_integer("warmup", 20, "Untimed steps first (tracing, allocation).")
    flags.DEFINE_integer("repeats", 3, "Timings; the median is reported.")
    flags.DEFINE_integer("intra_op_threads", 0, "TensorFlow's threads within an op (0: "
                         "its default).", lower_bound=0)
    flags.DEFINE_integer("inter_op_threads", 0, "TensorFlow's threads running ops side by "
                         "side (0: its default).", lower_bound=0)
    model = training_flags.define(registry.models(), "acai")
    # The paper's lines configuration for the autoencoders, depth 64 for the GANs.
    for name, value in (("latent_width", 2), ("depth", 16), ("latent", 16), ("seed", 0)):
        FLAGS.set_default(name, value)
    if issubclass(registry.model_class(model), GAN):
        FLAGS.set_default("depth", 64)
    cli.launch(main, "train_speed", flag_values=FLAGS)


if __name__ == "__main__":
    run()
