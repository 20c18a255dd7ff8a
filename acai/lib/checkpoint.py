"""A run's checkpoints: the one owner of what they hold, how they are named, found,
written and restored.

A checkpoint (TensorFlow's object-based format, in RUN/ckpt/) holds

    model     the model: its networks' weights and its optimisers' state
    nimg      the images seen (the reference counts training in kimg = nimg / 1024)
    config    a copy of the run's config.json, from which a deleted one is recovered
    stream    where the run's random draws and its report period stand: the state of
              the model's seed generator (the alphas, noise, dropout masks, z) and its
              running means, so that a resumed run goes on exactly as if never stopped
              (checkpoints written before this have none)

and is named ckpt-<kimg> at a report, interrupted-<nimg> when a signal cut a report
period short. TensorFlow writes a checkpoint's files first, then atomically points the
`checkpoint` state file at them, so a kill never leaves a half-written checkpoint behind
the state file; where the state file is lost, the complete checkpoints among the files
are found by the images each has seen.
"""

import glob
import json
import os
import shutil

import tensorflow as tf
from absl import logging

from acai.lib import keras_compat
from acai.lib.errors import RunError, cause
from acai.lib.paths import RunPaths

# The keys of `nimg` and `config` in a checkpoint written by `build`.
NIMG_KEY = "nimg/.ATTRIBUTES/VARIABLE_VALUE"
CONFIG_KEY = "config/.ATTRIBUTES/VARIABLE_VALUE"
STREAM_KEY = "stream/rng/.ATTRIBUTES/VARIABLE_VALUE"
# Checkpoints kept of each kind (ckpt-*, interrupted-*).
MAX_TO_KEEP = 3


def build(model, config):
    """-> (tf.train.Checkpoint of the model, the images seen, a copy of `config` and the
    stream, the `nimg` variable)."""
    nimg = tf.Variable(0, dtype=tf.int64, trainable=False, name="nimg")
    copy = tf.Variable(json.dumps(config, sort_keys=True), trainable=False, name="config")
    return tf.train.Checkpoint(model=model, nimg=nimg, config=copy,
                               stream=stream_of(model)), nimg


def stream_of(model):
    """The variables a resumed run needs to continue its stream: the model's seed
    generator state and its running means (the report period's sums so far)."""
    variables = {"rng": model.seed_generator.state}
    for metric in model.metrics:
        for i, variable in enumerate(metric.variables):
            variables[f"{metric.name}_{i}"] = variable
    return tf.train.Checkpoint(**variables)


def holds_stream(prefix):
    """Whether a checkpoint holds the stream (those written before it did not)."""
    try:
        tf.train.load_variable(prefix, STREAM_KEY)
        return True
    except (tf.errors.OpError, ValueError):
        return False


def find(directory):
    """-> ([checkpoint path prefixes, oldest first], recovered) of a ckpt/ folder.

    Normally those that the `checkpoint` state file lists and whose files are there. When
    the state file is lost (or lists none of them), every complete checkpoint among the
    files (ckpt-* and interrupted-*, ordered by the images each has seen), and recovered
    is True.
    """
    try:
        state = tf.train.get_checkpoint_state(directory) if os.path.isdir(directory) else None
    except Exception:  # A damaged state file: as if it were lost.
        state = None
    if state is not None:
        paths = list(state.all_model_checkpoint_paths)
        if state.model_checkpoint_path not in paths:
            paths.append(state.model_checkpoint_path)
        # get_checkpoint_state has already joined the relative ones onto `directory`.
        present = [p for p in paths if tf.io.gfile.exists(p + ".index")]
        if present:
            return present, False
    found = []
    for index in glob.glob(os.path.join(directory, "*.index")):
        prefix = index[:-len(".index")]
        try:
            found.append((int(tf.train.load_variable(prefix, NIMG_KEY)), prefix))
        except (tf.errors.OpError, ValueError):
            continue  # Unreadable: not a checkpoint to resume from.
    return [prefix for _, prefix in sorted(found)], bool(found)


def report_kimgs(directory):
    """The kimg of the report checkpoints (ckpt-<kimg>) whose files a ckpt/ folder holds."""
    names = (os.path.basename(index)[:-len(".index")]
             for index in glob.glob(os.path.join(directory, "ckpt-*.index")))
    return sorted(int(name[5:]) for name in names if name[5:].isdigit())


def latest(directory):
    """The newest checkpoint of a ckpt/ folder, or None."""
    paths, _ = find(directory)
    return paths[-1] if paths else None


def images_seen(prefix):
    """The images a checkpoint had seen (0 if it does not say, or there is none)."""
    if prefix is None:
        return 0
    try:
        return int(tf.train.load_variable(prefix, NIMG_KEY))
    except (tf.errors.OpError, ValueError):
        return 0


def kimg_done(run_dir):
    """The kimg a run's newest checkpoint had reached (0 without one)."""
    return images_seen(latest(RunPaths(run_dir).checkpoint_dir)) >> 10


def config_of(prefix):
    """The copy of config.json a checkpoint carries, or None (older ones carry none)."""
    try:
        return json.loads(tf.train.load_variable(prefix, CONFIG_KEY))
    except (tf.errors.OpError, ValueError):
        return None


def saved_config(directory):
    """The copy of config.json that the newest checkpoint of a ckpt/ folder carries, or
    None."""
    paths, _ = find(directory)
    for prefix in reversed(paths):
        config = config_of(prefix)
        if config is not None:
            return config
    return None


def restore(model, nimg, directory, found=None):
    """Restores the newest checkpoint of `directory` into `model` and `nimg` (`build`'s
    variable), every object of which it must hold, and the stream where it has one;
    -> its path, or None when there is none. The config's copy is not asked for: older
    checkpoints lack it (and the stream).

    found: `find(directory)`, when the caller has it. Where the state file was lost, the
    newest complete checkpoint among the files (with a warning), so that no checkpoint is
    overwritten. A damaged one (truncated, unreadable) is a RunError that names it:
    deleting its files resumes from the previous one. One that reads well but does not
    fit the model (written by another architecture) is a RunError that says so.
    """
    present, recovered = find(directory) if found is None else found
    if not present:
        return None
    path = present[-1]
    if recovered:
        logging.warning("%s/checkpoint was missing: resuming from the newest checkpoint "
                        "among its files, %s", directory, os.path.basename(path))
    try:
        objects = dict(model=model, nimg=nimg)
        if holds_stream(path):
            objects["stream"] = stream_of(model)
        status = tf.train.Checkpoint(**objects).restore(path)
        status.assert_existing_objects_matched()
        status.expect_partial()  # The checkpoint may hold more (the config's copy).
    except Exception as e:  # The reader's errors come in several types.
        message = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        if isinstance(e, (AssertionError, ValueError)) and readable(path):
            raise RunError(f"the checkpoint {path} does not fit this model ({message}): it "
                           "was written by another model or configuration; move "
                           f"{directory} away to train this one from the start, or use "
                           "another --train_dir") from None
        remedy = (f"delete {path}.* to resume from {present[-2]}" if len(present) > 1
                  else f"delete {path}.* to start over")
        raise RunError(f"cannot restore the checkpoint {path} ({message}); it is damaged: "
                       f"{remedy}, or use another --train_dir")
    return path


def readable(prefix):
    """Whether every tensor of a checkpoint reads (a damaged one does not)."""
    try:
        reader = tf.train.load_checkpoint(prefix)
        for name in reader.get_variable_to_shape_map():
            reader.get_tensor(name)
        return True
    except Exception:  # The reader's errors come in several types.
        return False


def restore_model(model, run_dir):
    """Restores the model of a run's newest checkpoint into `model` (its optimisers'
    state too where `model` has them); -> the checkpoint's path."""
    path = latest(RunPaths(run_dir).checkpoint_dir)
    if path is None:
        raise RunError(f"the run at {run_dir} has no checkpoint yet")
    try:
        status = tf.train.Checkpoint(model=model).restore(path)
        status.assert_existing_objects_matched()  # Every variable of the model.
        status.expect_partial()  # Not the optimisers, where `model` has none.
    except (tf.errors.OpError, ValueError, AssertionError) as e:
        fits = "" if isinstance(e, tf.errors.OpError) else (
            ": it does not fit this model (written by another model or configuration)")
        raise RunError(f"cannot restore {path} ({str(e).splitlines()[0]}){fits}") from None
    return path


class Writer:
    """Writes `checkpoint` as ckpt-<kimg> at a report and as interrupted-<nimg> when a
    report period was cut short, keeping the last MAX_TO_KEEP of each; `last` is the
    path of the latest one written."""

    def __init__(self, checkpoint, directory, max_to_keep=MAX_TO_KEEP):
        self.reports = tf.train.CheckpointManager(checkpoint, directory,
                                                  max_to_keep=max_to_keep)
        self.interrupted = tf.train.CheckpointManager(
            checkpoint, directory, max_to_keep=max_to_keep, checkpoint_name="interrupted")
        self.last = None

    def save_report(self, kimg):
        """Saves ckpt-<kimg>, then removes the interrupted-* checkpoints it supersedes
        (the state file now lists the reports only)."""
        self.last = self.saved(self.reports, kimg, f"ckpt-{kimg}")
        directory = os.path.dirname(self.last)
        for index in glob.glob(os.path.join(directory, "interrupted-*.index")):
            prefix = index[:-len(".index")]
            if images_seen(prefix) <= kimg << 10:
                for path in glob.glob(prefix + ".*"):
                    os.remove(path)
        return self.last

    def save_interrupted(self, nimg):
        self.last = self.saved(self.interrupted, nimg, f"interrupted-{nimg}")
        return self.last

    def saved(self, manager, number, name):
        """manager.save; a failure (a full disk) is one line naming the checkpoint, and
        TensorFlow's half-written temporary folder is removed."""
        try:
            return manager.save(checkpoint_number=number)
        except (tf.errors.OpError, OSError) as e:
            for temporary in glob.glob(os.path.join(
                    manager.directory, f"{name}{keras_compat.CHECKPOINT_TEMP_SUFFIX}*")):
                shutil.rmtree(temporary, ignore_errors=True)
            previous = (f"from {os.path.basename(self.last)}" if self.last
                        else "from its last checkpoint")
            raise RunError(f"cannot write the checkpoint {manager.directory}/{name} "
                           f"({cause(e)}); the same command resumes {previous}") from None
