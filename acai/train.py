"""Trains an autoencoder of the paper: python -m acai.train --model=acai --dataset=lines32 ...

Example (the paper's lines configuration):
  python -m acai.train --model=acai --dataset=lines32 --latent_width=2 --depth=16 \
      --latent=16 --train_dir=experiments --total_kimg=128 --report_kimg=16
"""

import sys

import keras
from absl import app, flags, logging

from acai import data, training
from acai.evaluation import AutoEncoderEvaluation
from acai.models import MODELS
from acai.runs import build
from flags import autoencoder as _autoencoder_flags, core as _core_flags  # noqa: F401

FLAGS = flags.FLAGS


def config_from_flags():
    """The flags that define a run, as a flat dict (saved as the run's config.json)."""
    names = ("model", "dataset", "classes", "batch", "lr", "latent", "latent_width", "depth",
             "seed", "total_kimg", "report_kimg", "data_dir")
    names += MODELS[FLAGS.model].HYPERPARAMETERS
    return {name: FLAGS[name].value for name in names}


def main(argv, prog="acai.train"):
    """Trains the model the flags say; `prog` names the binary in error messages."""
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {' '.join(argv[1:])}")
    try:
        precision = training.set_precision(FLAGS.precision)
        if FLAGS.seed is not None:
            keras.utils.set_random_seed(FLAGS.seed)
        spec = data.get_dataset(FLAGS.dataset, FLAGS.data_dir, FLAGS.classes)
        config = dict(config_from_flags(), precision=precision)
        model = build(FLAGS.model, spec, config)
        # Record the values the model resolved (advdepth 0 -> depth, beta None -> default).
        config.update({name: model.params[name] for name in model.HYPERPARAMETERS
                       if name in model.params})
        run = training.Run(FLAGS.train_dir, training.dataset_dirname(spec.name, FLAGS.classes),
                           model.experiment_name(), config)
        logging.info("Run %s (%s, %s)", run.path, FLAGS.model, precision)
        training.train(model, spec, run, batch=FLAGS.batch, total_kimg=FLAGS.total_kimg,
                       report_kimg=FLAGS.report_kimg,
                       evaluate=AutoEncoderEvaluation(model, spec),
                       seed=FLAGS.seed, verbose=FLAGS.verbose)
    except (ValueError, data.DatasetUnavailable, training.RunError) as e:
        sys.exit(f"{prog}: error: {e}")


if __name__ == "__main__":
    app.run(main)
