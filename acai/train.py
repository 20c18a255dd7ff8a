"""Trains a model of the toolkit: acai-train --model=acai --dataset=lines32 ...

(or `python -m acai.train`). Every training binary (acai-train, vae-train, gan-train) is
this one with another default --model: the model's declared parameters are its flags,
the run folder is named after the model and its parameters, and the model supplies its
own report (evaluation). `--help` lists every flag with the defaults of the model
--model names (`--model=vae --help`).

Example (the paper's lines configuration, about 6 minutes on 2 CPU cores):
  acai-train --model=acai --dataset=lines32 --latent_width=2 --depth=16 --latent=16 \
      --train_dir=experiments --total_kimg=128 --report_kimg=16
"""

from absl import flags, logging

from acai import registry
from acai.lib import cli, data, device, training
from flags import training as training_flags

FLAGS = flags.FLAGS


def main():
    """Trains the model the flags say, in its run folder."""
    # First: a multi-worker strategy must exist before any other TensorFlow operation.
    strategy = device.make_strategy(FLAGS.strategy)
    precision = device.set_precision(FLAGS.precision)
    if FLAGS.seed is not None:
        device.make_reproducible(FLAGS.seed)
    spec = data.get_dataset(FLAGS.dataset, FLAGS.data_dir, FLAGS.classes,
                            skip_unreadable=FLAGS.skip_bad_images, download=FLAGS.download)
    with strategy.scope():  # Variables, optimisers and metrics: one per replica.
        model = registry.build(FLAGS.model, spec, training_flags.config(registry.models(), FLAGS))
        model.compile()
    run = registry.new_run(model, spec, FLAGS.train_dir, classes=FLAGS.classes,
                           data_dir=FLAGS.data_dir, batch=FLAGS.batch, seed=FLAGS.seed,
                           skip_bad_images=FLAGS.skip_bad_images,
                           total_kimg=FLAGS.total_kimg, report_kimg=FLAGS.report_kimg)
    logging.info("Run %s (%s, %s, %d replica(s))", run.path, FLAGS.model, precision,
                 strategy.num_replicas_in_sync)
    training.train(model, spec, run, verbose=FLAGS.verbose)


def run_as(prog, default_model, doc=None):
    """Runs this trainer as the binary `prog` whose --model defaults to `default_model`;
    doc: what its --help starts with (default this module's docstring)."""
    cli.launch(main, prog, lambda: training_flags.define(registry.models(), default_model),
               FLAGS, doc=doc)


def run():
    run_as("acai-train", "acai")


if __name__ == "__main__":
    run_as("acai.train", "acai")
