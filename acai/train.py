"""Trains an autoencoder of the paper: python -m acai.train --model=acai --dataset=lines32 ...

Example (the paper's lines configuration):
  python -m acai.train --model=acai --dataset=lines32 --latent_width=2 --depth=16 \
      --latent=16 --train_dir=experiments --total_kimg=128 --report_kimg=16
"""

import sys

import keras
from absl import app, flags, logging

from acai import data, layers, training
from acai.evaluation import AutoEncoderEvaluation
from acai.models import MODELS
from flags import autoencoder as _autoencoder_flags, core as _core_flags  # noqa: F401

FLAGS = flags.FLAGS


def build(model_name, spec, config):
    """The model of `model_name` for dataset `spec`, from a flat configuration dict."""
    model_class = MODELS[model_name]
    scales = layers.scales_for(spec.width, config["latent_width"])
    hyperparameters = {name: config[name] for name in model_class.HYPERPARAMETERS}
    return model_class((spec.height, spec.width, spec.colors), spec.nclass,
                       latent=config["latent"], depth=config["depth"], scales=scales,
                       lr=config["lr"], seed=config["seed"], **hyperparameters)


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {' '.join(argv[1:])}")
    try:
        precision = training.set_precision(FLAGS.precision)
        if FLAGS.seed is not None:
            keras.utils.set_random_seed(FLAGS.seed)
        spec = data.get_dataset(FLAGS.dataset, FLAGS.data_dir, FLAGS.classes)
        config = {name: FLAGS[name].value for name in (
            "model", "dataset", "classes", "batch", "lr", "latent", "latent_width",
            "depth", "seed", "total_kimg", "report_kimg", "data_dir")}
        config.update({name: FLAGS[name].value
                       for name in MODELS[FLAGS.model].HYPERPARAMETERS})
        config["precision"] = precision
        model = build(FLAGS.model, spec, config)
        run = training.Run(FLAGS.train_dir, training.dataset_dirname(spec.name, FLAGS.classes),
                           model.experiment_name(), config)
        logging.info("Run %s (%s, %s)", run.path, FLAGS.model, precision)
        training.train(model, spec, run, batch=FLAGS.batch, total_kimg=FLAGS.total_kimg,
                       report_kimg=FLAGS.report_kimg,
                       evaluate=AutoEncoderEvaluation(model, spec),
                       seed=FLAGS.seed, verbose=FLAGS.verbose)
    except (ValueError, data.DatasetUnavailable, training.RunError) as e:
        sys.exit(f"acai.train: error: {e}")


if __name__ == "__main__":
    app.run(main)
