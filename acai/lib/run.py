"""A run's folder: what it was started with, what it reported, where it checkpoints.

A run lives in `<train_dir>/<dataset>/<experiment name>/` (the experiment name says the
model and its parameters, as the reference names runs):

    config.json     what the run was started with; a restart must match it
    metrics.jsonl   one line of scalars (losses, evaluations, img/s) per report
    curves.png      those scalars against kimg, redrawn at every report
    ckpt/           checkpoints (model, optimisers, images seen), one per report
    summaries/      TensorBoard events: every loss, the evaluations, the image grids
    images/         the same grids as PNG, one file per grid and report

`load_run` rebuilds a run's model from its folder alone and restores its latest
checkpoint, so evaluation and export need no repeated flags.
"""

import json
import os
import re

import keras
import tensorflow as tf

from acai.lib import data
from acai.lib.summaries import plot_curves

# Configuration entries that may change between restarts of the same run (beside the
# model parameters declared restartable).
RESTARTABLE = ("total_kimg", "report_kimg", "train_dir", "data_dir", "verbose")


class RunError(Exception):
    """A run cannot start or go on; the message is one line saying why."""


class Interrupted(RunError):
    """Training stopped on a signal after writing a checkpoint; the same command resumes.

    `signum` is the signal; the training binaries exit with status 128 + signum.
    """

    def __init__(self, message, signum):
        super().__init__(message)
        self.signum = signum


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
    """A run directory and its saved configuration.

    restartable: configuration entries (beyond RESTARTABLE) a restart may change.
    """

    def __init__(self, train_dir, dataset, experiment, config, restartable=()):
        self.path = os.path.join(train_dir, dataset, experiment)
        self.config = dict(config)
        self.restartable = set(RESTARTABLE) | set(restartable)
        self.checkpoint_dir = os.path.join(self.path, "ckpt")
        self.summary_dir = os.path.join(self.path, "summaries")
        self.image_dir = os.path.join(self.path, "images")
        self.metrics_path = os.path.join(self.path, "metrics.jsonl")
        self.curves_path = os.path.join(self.path, "curves.png")

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
        if not os.access(self.path, os.W_OK):
            raise RunError(f"cannot write to the run directory {self.path}")
        if os.path.exists(self.config_path):
            saved = load_config(self.path)
            changed = sorted(k for k in set(saved) | set(self.config)
                             if k not in self.restartable and saved.get(k) != self.config.get(k))
            if changed:
                diff = ", ".join(f"{k}: {saved.get(k)!r} -> {self.config.get(k)!r}"
                                 for k in changed)
                raise RunError(f"{self.path} was started with another configuration "
                               f"({diff}); use another --train_dir or the same flags")
        tmp = self.config_path + ".tmp"
        with open(tmp, "w") as f:
            json.dump(self.config, f, indent=2, sort_keys=True)
        os.replace(tmp, self.config_path)


def append_metrics(run, kimg, scalars):
    """Adds a report to metrics.jsonl (dropping lines of reports a restart redid) and
    redraws curves.png."""
    history = [entry for entry in read_metrics(run.path) if entry["kimg"] < kimg]
    history.append({"kimg": kimg, **{k: float(v) for k, v in scalars.items()}})
    tmp = run.metrics_path + ".tmp"
    with open(tmp, "w") as f:
        f.writelines(json.dumps(entry) + "\n" for entry in history)
    os.replace(tmp, run.metrics_path)
    plot_curves(history, run.curves_path)


def read_metrics(run_dir):
    """The reports of a run as a list of dicts (kimg and scalars), oldest first."""
    path = os.path.join(run_dir, "metrics.jsonl")
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def load_config(run_dir):
    """The configuration a run was started with (its config.json)."""
    path = os.path.join(run_dir, "config.json")
    if not os.path.exists(path):
        raise RunError(f"no run at {run_dir}: {path} not found")
    with open(path) as f:
        return json.load(f)


def load_run(run_dir, model_class, data_dir=None, policy="float32"):
    """-> (model, spec, config) of the run in `run_dir`, at its latest checkpoint.

    model_class: name -> model class (the registry, acai.registry.model_class).
    data_dir overrides the TFDS folder the run was trained with (another machine).
    policy: the dtype policy the model computes in, whatever the run trained in (its
      variables are float32 either way); the global policy is left as it was.
    """
    config = load_config(run_dir)
    spec = data.get_dataset(config["dataset"], data_dir or config.get("data_dir"),
                            config.get("classes") or None)
    previous = keras.mixed_precision.dtype_policy()
    keras.mixed_precision.set_global_policy(policy)
    try:
        model = model_class(config["model"]).create(spec, config)
    finally:
        keras.mixed_precision.set_global_policy(previous)
    latest = tf.train.latest_checkpoint(os.path.join(run_dir, "ckpt"))
    if latest is None:
        raise RunError(f"the run at {run_dir} has no checkpoint yet")
    try:
        tf.train.Checkpoint(model=model).restore(latest).expect_partial()
    except (tf.errors.OpError, ValueError) as e:
        raise RunError(f"cannot restore {latest}: {str(e).splitlines()[0]}")
    return model, spec, config
