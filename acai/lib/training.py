"""Training a model of the toolkit in a run folder: `model.fit` with the run's callbacks.

Training is counted in kimg (thousands of images, 1 kimg = 1024 images) like the
reference. `train` runs Keras' `fit` with one epoch per report period (`report_kimg`):
at the end of each the callbacks (acai.lib.callbacks) evaluate, write summaries, image
grids, metrics.jsonl and curves.png, and checkpoint; restarted with the same command it
resumes from the last checkpoint, and it stops at `total_kimg`.

Faults: SIGINT or SIGTERM writes a checkpoint at the images seen so far
(`ckpt/interrupted-<nimg>`) and stops with `Interrupted`; the same command resumes from
it and reports on the usual kimg grid (`fit` first runs the rest of that report period
as one short epoch). A checkpoint is never half-written (TensorFlow writes its files,
then atomically points the `ckpt/checkpoint` state file at them), so a run killed
outright resumes from its last complete checkpoint. A non-finite loss stops the run
before anything of it is saved; a damaged checkpoint stops it with one line.

Distribution: the model is built and compiled under a tf.distribute strategy's scope;
`fit` runs each step on every replica's share of the (global) batch.
"""

import json
import os
import signal
import sys

import keras
import tensorflow as tf
from absl import logging

from acai.lib import callbacks as run_callbacks
from acai.lib import hparams
from acai.lib.run import Interrupted, RunError, find_checkpoints, images_seen

PRECISIONS = ("auto", "float32", "mixed_float16", "mixed_bfloat16")
# The values of --strategy.
STRATEGIES = ("default", "mirrored", "multi_worker")
kimg_text = run_callbacks.kimg_text


def make_strategy(name):
    """The tf.distribute strategy `--strategy` names.

    default: the current (one-device) strategy. mirrored: every local GPU (or the one
    CPU), variables mirrored. multi_worker: every worker of the cluster that the TF_CONFIG
    environment variable describes; create it before any other TensorFlow operation.
    """
    if name == "default":
        return tf.distribute.get_strategy()
    if name == "mirrored":
        return tf.distribute.MirroredStrategy()
    if name == "multi_worker":
        if not os.environ.get("TF_CONFIG"):
            raise RunError("--strategy=multi_worker needs the TF_CONFIG environment variable "
                           "(the cluster's workers and this worker's task)")
        return tf.distribute.MultiWorkerMirroredStrategy()
    raise RunError(f"unknown strategy {name!r}; valid: {', '.join(STRATEGIES)}")


def make_reproducible(seed):
    """Seeds Python, NumPy, TensorFlow and Keras and makes TensorFlow's ops deterministic,
    so that the same seed and flags give the same losses (on the same kind of device)."""
    keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()


# CPU flags (Linux /proc/cpuinfo) of native bfloat16 arithmetic: AVX-512 BF16 or AMX.
NATIVE_BFLOAT16_FLAGS = ("avx512_bf16", "amx_bf16")


def native_bfloat16_flags(cpuinfo="/proc/cpuinfo"):
    """The CPU flags among NATIVE_BFLOAT16_FLAGS that `cpuinfo` lists (empty where the file
    does not exist, e.g. on macOS or Windows)."""
    try:
        with open(cpuinfo) as f:
            for line in f:
                if line.startswith("flags"):
                    found = set(line.split(":", 1)[1].split())
                    return [name for name in NATIVE_BFLOAT16_FLAGS if name in found]
    except OSError:
        pass
    return []


def choose_precision(precision, cpuinfo="/proc/cpuinfo"):
    """-> (policy name, why) for the value of --precision.

    auto: mixed_float16 on a GPU of compute capability 7 or more (untested on a GPU);
    float32 elsewhere, the paper's precision. On a CPU that computes bfloat16 natively
    (AVX512_BF16 or AMX) `why` says that --precision=mixed_bfloat16 trains faster there;
    auto does not choose it because on the lines it left ACAI's mean distance 8-26% above
    float32's at the same seed (the README's "float32 or bfloat16").
    """
    if precision not in PRECISIONS:
        raise RunError(f"unknown precision {precision!r}; valid: {', '.join(PRECISIONS)}")
    if precision != "auto":
        return precision, "as asked"
    for gpu in tf.config.list_physical_devices("GPU"):
        capability = tf.config.experimental.get_device_details(gpu).get(
            "compute_capability", (0, 0))
        if capability >= (7, 0):
            return "mixed_float16", f"auto: a GPU of compute capability {capability}"
    if tf.config.list_physical_devices("GPU"):
        return "float32", "auto: a GPU without fast float16"
    bf16 = native_bfloat16_flags(cpuinfo)
    if bf16:
        return "float32", (f"auto; this CPU computes bfloat16 natively ({', '.join(bf16)}): "
                           "--precision=mixed_bfloat16 trains faster, at some cost in the "
                           "lines metrics (README: float32 or bfloat16)")
    return "float32", "auto"


def set_precision(precision):
    """Sets Keras' global dtype policy to what --precision says (see choose_precision),
    logs the choice, and returns the policy name."""
    name, why = choose_precision(precision)
    logging.info("Precision %s (%s)", name, why)
    keras.mixed_precision.set_global_policy(name)
    return name


def restore(checkpoint, directory):
    """Restores the newest checkpoint in `directory` whose files are there; returns its
    path or None. Where the `checkpoint` state file was lost, the newest complete
    checkpoint among the files (with a warning), so that no checkpoint is overwritten.

    A damaged one (truncated, unreadable) stops the run with a RunError that names it:
    deleting its files resumes from the previous checkpoint.
    """
    present, recovered = find_checkpoints(directory)
    if not present:
        return None
    path = present[-1]
    if recovered:
        logging.warning("%s/checkpoint was missing: resuming from the newest checkpoint "
                        "among its files, %s", directory, os.path.basename(path))
    try:
        status = checkpoint.restore(path)
        status.assert_existing_objects_matched()
        status.expect_partial()  # The checkpoint may hold more (the config's copy).
    except Exception as e:  # The reader's errors come in several types.
        message = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        remedy = (f"delete {path}.* to resume from {present[-2]}" if len(present) > 1
                  else f"delete {path}.* to start over")
        raise RunError(f"cannot restore the checkpoint {path} ({message}); it is damaged: "
                       f"{remedy}, or use another --train_dir")
    return path


def epochs_from(nimg, total, period, batch):
    """The `fit` calls that take a run from `nimg` images to `total`, one epoch per report
    period: [(first epoch, number of epochs, steps per epoch)]. A run resumed between
    report points first finishes that period (a short epoch); a total that is not a whole
    number of periods ends with a short one."""
    calls, epoch = [], nimg // period
    if nimg % period and nimg < total:
        end = min((epoch + 1) * period, total)
        calls.append((epoch, 1, -(-(end - nimg) // batch)))
        epoch, nimg = epoch + 1, end
    whole = (total - nimg) // period
    if whole:
        calls.append((epoch, whole, -(-period // batch)))
        epoch, nimg = epoch + whole, nimg + whole * period
    if nimg < total:
        calls.append((epoch, 1, -(-(total - nimg) // batch)))
    return calls


def train(model, spec, run, *, batch, total_kimg, report_kimg, evaluate="model",
          seed=None, verbose=None, callbacks=()):
    """Trains `model` on `spec` in the run folder `run` until `total_kimg`, with `fit`.

    The model is compiled here if it is not yet (under its strategy's scope).
    evaluate: a callable returning (scalars, images) for a report; "model" (default):
      the model's own `evaluation(spec, run)`; None: no evaluation.
    batch: the global batch, split evenly between the replicas of the model's strategy.
    callbacks: more Keras callbacks, called after the run's own (so they see the
      evaluations in `logs`) at every report.
    Returns the last report's scalars (losses, evaluations, img_per_sec), {} if the run
    was already done. Raises RunError when the run cannot start or a loss is not finite,
    and Interrupted (after writing a checkpoint) on SIGINT or SIGTERM.
    """
    strategy = model.distribute_strategy
    if batch % strategy.num_replicas_in_sync:
        raise RunError(f"--batch={batch} does not split evenly between "
                       f"{strategy.num_replicas_in_sync} replicas")
    # From the start: a signal stops the run at its first step, with a checkpoint.
    with run_callbacks.StopOnSignal() as stop:
        run.prepare()
        try:
            return _train(model, spec, run, stop, batch=batch, total_kimg=total_kimg,
                          report_kimg=report_kimg, evaluate=evaluate, seed=seed,
                          verbose=verbose, callbacks=callbacks)
        finally:
            run.unlock()


def _train(model, spec, run, stop, *, batch, total_kimg, report_kimg, evaluate, seed,
           verbose, callbacks):
    """`train` in a prepared (and locked) run folder."""
    strategy = model.distribute_strategy
    total, period = total_kimg << 10, report_kimg << 10
    newest = find_checkpoints(run.checkpoint_dir)[0][-1:]
    if newest and images_seen(newest[0]) >= total:  # Done: nothing to restore.
        logging.info("%s is done: kimg=%s >= total_kimg=%d", run.path,
                     kimg_text(images_seen(newest[0])), total_kimg)
        return {}
    hparams.write_session(run)
    if not model.compiled:
        with strategy.scope():
            model.compile()
    nimg = tf.Variable(0, dtype=tf.int64, trainable=False, name="nimg")
    # The checkpoint carries a copy of config.json, from which a deleted one is recovered.
    config = tf.Variable(json.dumps(run.config, sort_keys=True), trainable=False,
                         name="config")
    checkpoint = tf.train.Checkpoint(model=model, nimg=nimg, config=config)
    # Restored without the config's copy, which older checkpoints lack.
    if restore(tf.train.Checkpoint(model=model, nimg=nimg), run.checkpoint_dir):
        logging.info("Resumed %s at kimg=%s", run.path, kimg_text(int(nimg)))
    if verbose is None:
        verbose = sys.stdout.isatty()
    if evaluate == "model":
        evaluate = model.evaluation(spec, run)

    counter = run_callbacks.ImageCounter(nimg, batch, report_kimg, total_kimg)
    evaluation = run_callbacks.Evaluate(evaluate, counter) if evaluate else None
    summaries = run_callbacks.Summaries(run.summary_dir, run.image_dir, counter,
                                        evaluation)
    saver = run_callbacks.Checkpoints(checkpoint, run.checkpoint_dir, counter)
    metrics = run_callbacks.MetricsFile(run, counter)
    own = [counter, run_callbacks.StopOnNonFinite(counter)]
    own += [evaluation] if evaluation else []
    # The report's metrics line before its checkpoint: a run killed between the two
    # redoes the period and rewrites the line, rather than resuming past a lost report.
    own += [summaries, metrics, saver, run_callbacks.ReportLogger(counter)]
    own += [run_callbacks.Progress(counter)] if verbose else []
    own.append(stop)
    try:
        for first, epochs, steps in epochs_from(int(nimg), total, period, batch):
            # A resumed run draws new data rather than replaying its start's batches.
            data_seed = None if seed is None else seed * 1000003 + int(nimg) // batch
            model.fit(spec.train(batch, seed=data_seed), initial_epoch=first,
                      epochs=first + epochs, steps_per_epoch=steps, verbose=0,
                      shuffle=False, callbacks=own + list(callbacks))
            if model.stop_training:
                break
    finally:
        summaries.close()
    if stop.signum:
        raise Interrupted(f"stopped by {signal.Signals(stop.signum).name} at "
                          f"kimg={kimg_text(int(nimg))}; checkpoint {saver.last} "
                          "written; the same command resumes", stop.signum)
    return metrics.last
