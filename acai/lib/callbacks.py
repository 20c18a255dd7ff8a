"""The Keras callbacks that make `model.fit` a run of the toolkit.

`acai.lib.training.train` runs `fit` with one epoch per report period (`report_kimg`)
and these callbacks, in this order, before any the user adds (who therefore see the
evaluations in `logs`):

  ContinuePeriod   (a run resumed inside a report period) the period's running means
                   go on from the sums its checkpoint saved
  ImageCounter     kimg accounting: the images seen (saved in every checkpoint); adds
                   `kimg` and `img_per_sec` to the epoch's logs
  StopOnNonFinite  a non-finite loss stops the run (RunError) before anything is saved
  Evaluate         the model's report: its scalars join the logs, its image grids are kept
  Summaries        TensorBoard scalars and grids at step kimg, and the grids as PNG
  MetricsFile      metrics.jsonl and curves.png (before the checkpoint: a run killed
                   between the two redoes the period rather than lose its line)
  Checkpoints      a checkpoint per report; an epoch cut short (a signal, a callback that
                   stopped training) writes `ckpt/interrupted-<images seen>` instead
  ReportLogger     one log line per report, with the run's ETA
  Progress         a progress bar over the whole run (kimg, losses, ETA), when verbose
  StopOnSignal     SIGINT / SIGTERM stop training after the current step

An epoch cut short is not a report: only ImageCounter, StopOnNonFinite and Checkpoints
act on it.
"""

import math
import signal
import threading
import time

import keras
from absl import logging

from acai.lib.errors import RunError
from acai.lib.run import append_metrics
from acai.lib.summaries import Summaries as SummaryWriter


def kimg_text(nimg):
    """Images seen as kimg for messages: '3', or '2.5' when between kimg."""
    return str(nimg >> 10) if nimg % 1024 == 0 else f"{nimg / 1024:.3f}".rstrip("0")


def duration_text(seconds):
    """'1h02m', '3m05s', '12s'."""
    seconds = int(round(seconds))
    if seconds >= 3600:
        return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
    if seconds >= 60:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds}s"


class ImageCounter(keras.callbacks.Callback):
    """Counts the images seen in kimg, as the reference counts training.

    `nimg` is a tf.Variable saved with the checkpoints. An epoch that ran all its steps
    ends on the next point of the report grid (multiples of report_kimg, and total_kimg);
    one cut short ends where it stopped (`complete` is then False).
    """

    def __init__(self, nimg, batch, report_kimg, total_kimg):
        super().__init__()
        self.nimg, self.batch = nimg, batch
        self.period, self.total = report_kimg << 10, total_kimg << 10
        self.complete = False
        self.steps = 0

    def grid_end(self, nimg):
        """The report point after `nimg` images."""
        return min((nimg // self.period + 1) * self.period, self.total)

    def on_epoch_begin(self, epoch, logs=None):
        self.start_nimg, self.steps, self.start = int(self.nimg), 0, time.time()

    def on_train_batch_begin(self, batch, logs=None):
        self.steps = batch + 1  # Every step begun is completed before fit stops.

    def on_epoch_end(self, epoch, logs=None):
        self.complete = self.steps >= self.params["steps"]
        end = (self.grid_end(self.start_nimg) if self.complete
               else self.start_nimg + self.steps * self.batch)
        self.nimg.assign(end)
        if logs is not None:
            logs["kimg"] = end / 1024
            logs["img_per_sec"] = self.steps * self.batch / max(time.time() - self.start,
                                                                1e-9)

    @property
    def kimg(self):
        return int(self.nimg) >> 10


class ContinuePeriod(keras.callbacks.Callback):
    """Puts back the running means (its `model.metrics`) that `fit` resets at the start of
    the first epoch: a run resumed inside a report period then reports the mean over the
    whole period, as the uninterrupted run does. Made after the checkpoint's restore."""

    def __init__(self, model):
        super().__init__()
        self.values = [[v.numpy() for v in m.variables] for m in model.metrics]

    def on_epoch_begin(self, epoch, logs=None):
        if self.values is None:
            return
        for metric, values in zip(self.model.metrics, self.values):
            for variable, value in zip(metric.variables, values):
                variable.assign(value)
        self.values = None


class StopOnNonFinite(keras.callbacks.Callback):
    """Stops the run with a RunError naming the losses that are not finite and the kimg;
    the previous checkpoint is kept (this runs before Checkpoints)."""

    def __init__(self, counter):
        super().__init__()
        self.counter = counter

    def on_epoch_end(self, epoch, logs=None):
        bad = [name for name, value in (logs or {}).items()
               if isinstance(value, (int, float)) and not math.isfinite(value)]
        if bad:
            kept = (f"the last good checkpoint (kimg={kimg_text(self.counter.start_nimg)}) "
                    "is kept" if self.counter.start_nimg else
                    "no checkpoint was written: lower the learning rate and start again")
            raise RunError(f"{', '.join(bad)} is not finite at "
                           f"kimg={kimg_text(int(self.counter.nimg))}; {kept}")


class Evaluate(keras.callbacks.Callback):
    """Adds a report's evaluation scalars to the logs and keeps its image grids.

    evaluation: a callable giving (scalars, {name: image in [-1, 1]}), e.g. the model's
    `evaluation(spec, run)`.
    """

    def __init__(self, evaluation, counter):
        super().__init__()
        self.evaluation, self.counter = evaluation, counter
        self.images = {}

    def on_epoch_end(self, epoch, logs=None):
        self.images = {}
        if self.counter.complete:
            scalars, self.images = self.evaluation()
            logs.update({name: float(value) for name, value in scalars.items()})


def report_scalars(logs, model=None):
    """The scalars of a report from an epoch's logs: the model's losses in its order,
    the evaluations, img_per_sec."""
    first = [m.name for m in model.metrics if m.name in logs] if model is not None else []
    names = first + [k for k in logs if k not in first]
    scalars = {k: float(logs[k]) for k in names if k not in ("kimg", "img_per_sec")}
    if "img_per_sec" in logs:
        scalars["img_per_sec"] = float(logs["img_per_sec"])
    return scalars


class Summaries(keras.callbacks.Callback):
    """Writes every report's scalars and image grids to TensorBoard (step: kimg) and the
    grids as PNG files under `image_dir`."""

    def __init__(self, summary_dir, image_dir, counter, evaluate=None):
        super().__init__()
        self.summary_dir, self.image_dir = summary_dir, image_dir
        self.counter, self.evaluate = counter, evaluate
        self.writer = None

    def on_epoch_end(self, epoch, logs=None):
        if not self.counter.complete:
            return
        if self.writer is None:
            self.writer = SummaryWriter(self.summary_dir, self.image_dir)
        images = self.evaluate.images if self.evaluate else {}
        self.writer.write(self.counter.kimg, report_scalars(logs, self.model), images)

    def close(self):
        """Closes the event file; `train` calls it once after all its fit calls (each
        write is flushed, so a writer left open loses nothing)."""
        if self.writer is not None:
            self.writer.close()
            self.writer = None


class Checkpoints(keras.callbacks.Callback):
    """Saves the run's checkpoint (acai.lib.checkpoint: the model, its optimisers and the
    images seen) with `writer` (a checkpoint.Writer) at every report as ckpt-<kimg>; an
    epoch cut short as interrupted-<images seen>. `last` is the path of the latest save."""

    def __init__(self, writer, counter):
        super().__init__()
        self.writer, self.counter = writer, counter

    @property
    def last(self):
        return self.writer.last

    def on_epoch_end(self, epoch, logs=None):
        if self.counter.complete:
            self.writer.save_report(self.counter.kimg)
        else:
            self.writer.save_interrupted(int(self.counter.nimg))


class MetricsFile(keras.callbacks.Callback):
    """Adds each report to the run's metrics.jsonl and redraws curves.png; `last` holds the
    latest report's scalars."""

    def __init__(self, run, counter):
        super().__init__()
        self.run, self.counter = run, counter
        self.last = {}

    def on_epoch_end(self, epoch, logs=None):
        if self.counter.complete:
            self.last = report_scalars(logs, self.model)
            append_metrics(self.run, self.counter.kimg, self.last)


class ReportLogger(keras.callbacks.Callback):
    """Logs one line per report: kimg, every scalar, and the time the run still needs at
    this report's speed; and, early in the run (steps `first` to `last` of its first
    epoch, after tracing), one line with the speed and the whole run's expected time."""

    def __init__(self, counter, first=10, last=60):
        super().__init__()
        self.counter, self.first, self.last = counter, first, last
        self.estimated = False

    def on_train_batch_begin(self, batch, logs=None):
        if self.estimated or batch not in (self.first, self.last):
            return
        if batch == self.first:
            self.start = time.time()
            return
        self.estimated = True
        speed = (self.last - self.first) * self.counter.batch / max(time.time() - self.start,
                                                                    1e-9)
        left = self.counter.total - self.counter.start_nimg
        logging.info("%.0f img/s: kimg %s to %d will take about %s", speed,
                     kimg_text(self.counter.start_nimg), self.counter.total >> 10,
                     duration_text(left / speed))

    def on_epoch_end(self, epoch, logs=None):
        if not self.counter.complete:
            return
        scalars = report_scalars(logs, self.model)
        left = self.counter.total - int(self.counter.nimg)
        eta = (f"  eta={duration_text(left / scalars['img_per_sec'])}"
               if left and scalars.get("img_per_sec") else "")
        logging.info("kimg=%d  %s%s", self.counter.kimg,
                     "  ".join(f"{k}={v:.4g}" for k, v in scalars.items()), eta)


class Progress(keras.callbacks.Callback):
    """A progress bar over the whole run, from the images seen at its start to
    total_kimg: kimg done, the running losses, and Keras' ETA of the whole run."""

    async_safe = True  # Updated every `every` steps; Keras may call it from a thread.

    def __init__(self, counter, every=16):
        super().__init__()
        self.counter, self.every = counter, every
        self.bar = None

    def on_train_begin(self, logs=None):
        if self.bar is None:
            self.first = int(self.counter.nimg)
            total_steps = -(-(self.counter.total - self.first) // self.counter.batch)
            # The logs are running means already: shown as they are, not averaged again.
            names = ["kimg"] + [metric.name for metric in self.model.metrics]
            self.bar = keras.utils.Progbar(total_steps, unit_name="step",
                                           stateful_metrics=names)
            self.done = 0

    def on_train_batch_end(self, batch, logs=None):
        self.done += 1
        if self.done % self.every == 0:
            nimg = self.counter.start_nimg + (batch + 1) * self.counter.batch
            values = [("kimg", nimg / 1024)] + [
                (k, float(v)) for k, v in (logs or {}).items()]
            self.bar.update(self.done, values, finalize=False)

    def on_epoch_end(self, epoch, logs=None):
        if self.bar is not None:
            self.bar.update(self.done, [("kimg", int(self.counter.nimg) / 1024)],
                            finalize=int(self.counter.nimg) >= self.counter.total)


class StopOnSignal(keras.callbacks.Callback):
    """SIGINT and SIGTERM stop training after the current step (and after the current
    report, when one is being written); `signum` says which came. A second signal meets
    the previous handlers: Ctrl-C twice stops at once.

    Active while training, or from `with StopOnSignal() as stop:` on (so that a signal
    during the set-up before fit waits for the first step). Inactive outside the main
    thread.
    """

    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __init__(self):
        super().__init__()
        self.signum = None
        self.previous = {}
        self.entered = False

    def activate(self):
        if not self.previous and threading.current_thread() is threading.main_thread():
            self.previous = {s: signal.signal(s, self._handle) for s in self.SIGNALS}

    def deactivate(self):
        for signum, handler in self.previous.items():
            signal.signal(signum, signal.SIG_DFL if handler is None else handler)
        self.previous = {}

    def _handle(self, signum, frame):
        self.signum = signum
        self.deactivate()

    def __enter__(self):
        self.entered = True
        self.activate()
        return self

    def __exit__(self, *exc_info):
        self.entered = False
        self.deactivate()

    def on_train_begin(self, logs=None):
        self.activate()

    def on_train_end(self, logs=None):
        if not self.entered:
            self.deactivate()

    def on_train_batch_begin(self, batch, logs=None):
        if self.signum:
            self.model.stop_training = True

    def on_epoch_end(self, epoch, logs=None):
        if self.signum:
            self.model.stop_training = True
