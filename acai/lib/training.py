"""Training a model of the toolkit in a run folder: `model.fit` with the run's callbacks.

Training is counted in kimg (thousands of images, 1 kimg = 1024 images) like the
reference. `train` runs Keras' `fit` with one epoch per report period (`report_kimg`):
at the end of each the report pipeline (acai.lib.report, driven by the callback
acai.lib.callbacks.Reports) evaluates, writes summaries, image grids, metrics.jsonl and
curves.png, and checkpoints, in that order; restarted with the same command it
resumes from the last checkpoint (acai.lib.checkpoint), and it stops at `total_kimg`.

Faults: SIGINT or SIGTERM writes a checkpoint at the images seen so far
(`ckpt/interrupted-<nimg>`) and stops with `Interrupted`; the same command resumes from
it and reports on the usual kimg grid (`fit` first runs the rest of that report period
as one short epoch). With a seed, a resumed run is the run that was never stopped: the
data stream goes on from the batch it reached, the model's random draws from the state
its checkpoint saved, and the report period's running means from their sums, so that
metrics.jsonl is the same (timings aside). A checkpoint is never half-written
(TensorFlow writes its files, then atomically points the `ckpt/checkpoint` state file at
them), so a run killed outright resumes from its last complete checkpoint. A non-finite
loss stops the run before anything of it is saved; a damaged checkpoint stops it with one
line.

Distribution: the model is built and compiled under a tf.distribute strategy's scope;
`fit` runs each step on every replica's share of the (global) batch.
"""

import signal
import sys

from absl import logging

from acai.lib import callbacks as run_callbacks
from acai.lib import checkpoint, hparams, report
from acai.lib.errors import Interrupted, RunError
from acai.lib.report import kimg_text
from acai.lib.run import recover_metrics
from acai.lib.summaries import prune_events


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


def check_batch(batch, report_kimg, total_kimg):
    """A RunError unless `batch` divides the images of a report period and of the run:
    kimg is counted in whole steps, and a step that ran past a report point would train
    on images the count does not hold."""
    for name, kimg in (("report_kimg", report_kimg), ("total_kimg", total_kimg)):
        if (kimg << 10) % batch:
            raise RunError(f"--batch={batch} does not divide --{name}={kimg} "
                           f"({kimg << 10} images): choose a batch that divides 1024 "
                           f"(e.g. 64) or a {name} that {batch} divides")


def train(model, spec, run, *, evaluate="model", verbose=None, callbacks=()):
    """Trains `model` on `spec` in the run folder `run` until its `total_kimg`, with `fit`.

    The run's configuration gives the settings: `batch` (global, split evenly between
    the replicas of the model's strategy), `seed` (the data order), `total_kimg` and
    `report_kimg` (acai.lib.run.Run). The model is compiled here if it is not yet (under
    its strategy's scope).
    evaluate: a callable returning (scalars, images) for a report; "model" (default):
      the model's own `evaluation(spec, run)`; None: no evaluation.
    callbacks: more Keras callbacks, called after the run's report (so they see the
      evaluations in `logs`, and nothing they do is in the run's reports or checkpoints).
    Returns the last report's scalars (losses, evaluations, img_per_sec), {} if the run
    was already done. Raises RunError when the run cannot start or a loss is not finite,
    and Interrupted (after writing a checkpoint) on SIGINT or SIGTERM.
    """
    strategy = model.distribute_strategy
    if run.batch % strategy.num_replicas_in_sync:
        raise RunError(f"--batch={run.batch} does not split evenly between "
                       f"{strategy.num_replicas_in_sync} replicas")
    check_batch(run.batch, run.report_kimg, run.total_kimg)
    # From the start: a signal stops the run at its first step, with a checkpoint.
    with run_callbacks.StopOnSignal() as stop:
        run.prepare()
        try:
            return _train(model, spec, run, stop, evaluate=evaluate, verbose=verbose,
                          callbacks=callbacks)
        finally:
            run.unlock()


def _train(model, spec, run, stop, *, evaluate, verbose, callbacks):
    """`train` in a prepared (and locked) run folder."""
    strategy = model.distribute_strategy
    batch, seed = run.batch, run.seed
    total, period = run.total_kimg << 10, run.report_kimg << 10
    found = checkpoint.find(run.checkpoint_dir)
    if found[0]:
        run.check_checkpoint(found[0][-1])  # Not a checkpoint of another run.
    done = checkpoint.images_seen(found[0][-1]) if found[0] else 0
    if done >= total:  # Done: nothing to restore.
        logging.info("%s is done: kimg=%s >= total_kimg=%d", run.path, kimg_text(done),
                     run.total_kimg)
        return {}
    hparams.write_session(run)
    if not model.compiled:
        with strategy.scope():
            model.compile()
    saved, nimg = checkpoint.build(model, run.config)
    carried = None
    restored = checkpoint.restore(model, nimg, run.checkpoint_dir, found)
    if restored:
        logging.info("Resumed %s at kimg=%s", run.path, kimg_text(int(nimg)))
        if int(nimg) % period and checkpoint.holds_stream(restored):
            # The period's running means, which fit resets: put back at its start.
            carried = [[v.numpy() for v in m.variables] for m in model.metrics]
    # TensorBoard as far as the checkpoint: what a killed report wrote is redone.
    prune_events(run.summary_dir, int(nimg) >> 10)
    if restored:  # metrics.jsonl as far as the checkpoint too, where the events can tell.
        recover_metrics(run, int(nimg))
    if verbose is None:
        verbose = sys.stdout.isatty()
    if evaluate == "model":
        evaluate = model.evaluation(spec, run)

    checkpoints = report.Checkpoint(checkpoint.Writer(saved, run.checkpoint_dir))
    metrics = report.Metrics(run)
    pipeline = report.Pipeline(
        check_finite=report.CheckFinite(),
        evaluate=report.Evaluate(evaluate) if evaluate else None,
        summaries=report.Summaries(run.summary_dir, run.image_dir),
        metrics=metrics, checkpoint=checkpoints, log=report.Log())
    reports = run_callbacks.Reports(nimg, batch, run.report_kimg, run.total_kimg, pipeline,
                                    carried=carried, progress=verbose)
    try:
        for first, epochs, steps in epochs_from(int(nimg), total, period, batch):
            # With a seed, the one stream of the run from the batch it reached; without,
            # another.
            start = 0 if seed is None else int(nimg) // batch
            model.fit(spec.train(batch, seed=seed, start=start), initial_epoch=first,
                      epochs=first + epochs, steps_per_epoch=steps, verbose=0,
                      shuffle=False, callbacks=[reports, stop, *callbacks])
            if model.stop_training:
                break
    finally:
        pipeline.close()
    if stop.signum and int(nimg) >= total:
        logging.warning("%s came during the last report, which is written: %s is done",
                        signal.Signals(stop.signum).name, run.path)
    elif stop.signum:
        raise Interrupted(f"stopped by {signal.Signals(stop.signum).name} at "
                          f"kimg={kimg_text(int(nimg))}; checkpoint {checkpoints.last} "
                          "written; the same command resumes", stop.signum)
    return metrics.last
