"""The training loop every model shares, and the run directory it works in.

A run lives in `<train_dir>/<dataset>/<experiment name>/` (the experiment name says the
model and its parameters, as the reference names runs):

    config.json     what the run was started with; a restart must match it
    ckpt/           checkpoints (model, optimisers, images seen), one per report
    summaries/      TensorBoard events: every loss, the evaluations, the image grids
    images/         the same grids as PNG, one file per grid and report

Training is counted in kimg (thousands of images, 1 kimg = 1024 images) like the
reference: every `report_kimg` the loop logs the losses and images per second, evaluates,
writes summaries and checkpoints; restarted with the same command it resumes from the
last checkpoint, and it stops at `total_kimg`.
"""

import json
import os
import re
import sys
import time

import keras
import numpy as np
import tensorflow as tf
from absl import logging

from acai.summaries import Summaries

PRECISIONS = ("auto", "float32", "mixed_float16", "mixed_bfloat16")
# Configuration entries that may change between restarts of the same run.
RESTARTABLE = ("total_kimg", "report_kimg", "train_dir", "data_dir", "verbose")


class RunError(Exception):
    """A run cannot start or go on; the message is one line saying why."""


def set_precision(precision):
    """Sets Keras' global dtype policy; 'auto' is mixed_float16 on a GPU that has fast
    float16 (compute capability 7 or more), float32 elsewhere. Returns the policy name."""
    if precision not in PRECISIONS:
        raise RunError(f"unknown precision {precision!r}; valid: {', '.join(PRECISIONS)}")
    if precision == "auto":
        precision = "float32"
        for gpu in tf.config.list_physical_devices("GPU"):
            capability = tf.config.experimental.get_device_details(gpu).get(
                "compute_capability", (0, 0))
            if capability >= (7, 0):
                precision = "mixed_float16"
    keras.mixed_precision.set_global_policy(precision)
    return precision


def dataset_dirname(name, classes=None):
    """A folder name for a dataset: 'cifar10', 'cifar10-horse-bird', 'folder-train'."""
    if name.startswith("folder:"):
        name = "folder-" + os.path.basename(os.path.normpath(name[len("folder:"):]))
    if classes:
        if isinstance(classes, str):
            classes = classes.split(",")
        name += "-" + "-".join(str(c) for c in classes)
    return re.sub(r"[^A-Za-z0-9_.=-]+", "-", name)


class Run:
    """A run directory and its saved configuration."""

    def __init__(self, train_dir, dataset, experiment, config):
        self.path = os.path.join(train_dir, dataset, experiment)
        self.config = dict(config)
        self.checkpoint_dir = os.path.join(self.path, "ckpt")
        self.summary_dir = os.path.join(self.path, "summaries")
        self.image_dir = os.path.join(self.path, "images")

    @property
    def config_path(self):
        return os.path.join(self.path, "config.json")

    def prepare(self):
        """Creates the folders and saves the configuration, or checks it on a restart."""
        try:
            for folder in (self.checkpoint_dir, self.summary_dir, self.image_dir):
                os.makedirs(folder, exist_ok=True)
        except OSError as e:
            raise RunError(f"cannot create the run directory {self.path}: {e.strerror}")
        if os.path.exists(self.config_path):
            with open(self.config_path) as f:
                saved = json.load(f)
            changed = sorted(k for k in set(saved) | set(self.config)
                             if k not in RESTARTABLE and saved.get(k) != self.config.get(k))
            if changed:
                diff = ", ".join(f"{k}: {saved.get(k)!r} -> {self.config.get(k)!r}"
                                 for k in changed)
                raise RunError(f"{self.path} was started with another configuration "
                               f"({diff}); use another --train_dir or the same flags")
        tmp = self.config_path + ".tmp"
        with open(tmp, "w") as f:
            json.dump(self.config, f, indent=2, sort_keys=True)
        os.replace(tmp, self.config_path)


def _format(values):
    return "  ".join(f"{name}={value:.4g}" for name, value in values.items())


def train(model, spec, run, *, batch, total_kimg, report_kimg, evaluate=None, seed=None,
          verbose=None):
    """Trains `model` on `spec` until `total_kimg`, reporting every `report_kimg`.

    evaluate: a callable returning (scalars, images) for a report, or None.
    Returns the last report's scalars (losses, evaluations, img_per_sec).
    """
    run.prepare()
    nimg = tf.Variable(0, dtype=tf.int64, trainable=False, name="nimg")
    checkpoint = tf.train.Checkpoint(model=model, nimg=nimg)
    manager = tf.train.CheckpointManager(checkpoint, run.checkpoint_dir, max_to_keep=3)
    if manager.latest_checkpoint:
        checkpoint.restore(manager.latest_checkpoint).assert_existing_objects_matched()
        logging.info("Resumed %s at kimg=%d", run.path, int(nimg) >> 10)
    total, period = total_kimg << 10, report_kimg << 10
    if int(nimg) >= total:
        logging.info("%s is done: kimg=%d >= total_kimg=%d", run.path, int(nimg) >> 10,
                     total_kimg)
        return {}
    if verbose is None:
        verbose = sys.stdout.isatty()

    # A resumed run draws new data rather than replaying the batches of its start.
    data_seed = None if seed is None else seed * 1000003 + int(nimg) // batch
    batches = iter(spec.train(batch, seed=data_seed))
    train_step = tf.function(model.train_step)
    summaries = Summaries(run.summary_dir, run.image_dir)
    scalars = {}
    try:
        while int(nimg) < total:
            start_nimg = int(nimg)
            end_nimg = min((start_nimg // period + 1) * period, total)
            steps = max(1, -(-(end_nimg - start_nimg) // batch))
            progress = keras.utils.Progbar(steps, verbose=1) if verbose else None
            for metric in model.metrics:
                metric.reset_state()
            start = time.time()
            for step in range(steps):
                logs = train_step(next(batches))
                if progress and (step % 16 == 15 or step == steps - 1):
                    progress.update(step + 1, [(k, float(v)) for k, v in logs.items()])
            losses = {name: float(value) for name, value in logs.items()}
            elapsed = time.time() - start
            kimg = (start_nimg + steps * batch) >> 10
            bad = [name for name, value in losses.items() if not np.isfinite(value)]
            if bad:
                raise RunError(f"{', '.join(bad)} is not finite at kimg={kimg}; the last "
                               f"good checkpoint (kimg={start_nimg >> 10}) is kept")
            nimg.assign(start_nimg + steps * batch)
            scalars, images = evaluate() if evaluate else ({}, {})
            scalars = {**losses, **scalars, "img_per_sec": steps * batch / elapsed}
            summaries.write(kimg, scalars, images)
            manager.save(checkpoint_number=kimg)
            logging.info("kimg=%d  %s", kimg, _format(scalars))
    finally:
        summaries.close()
    return scalars
