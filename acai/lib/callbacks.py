"""The Keras callbacks that make `model.fit` a run of the toolkit.

`acai.lib.training.train` runs `fit` with one epoch per report period and the callbacks

    [Reports, StopOnSignal, *the user's callbacks, FollowLearningRate]

`Reports` counts the images seen and, at the end of every epoch, hands one Report to the
report pipeline (acai.lib.report: check, evaluate, summaries, metrics, checkpoint, log,
in that order), then puts the report's scalars, `kimg` and `img_per_sec` into the epoch's
logs: the user's callbacks come after it, so they see the evaluations, and what they do
is in no checkpoint or report of the run. `StopOnSignal` turns SIGINT / SIGTERM into the
end of training after the current step. The two share nothing: an epoch that ran fewer
steps than `fit` asked for was cut short, whoever stopped it.
"""

import signal
import threading
import time

import keras
from absl import logging

from acai.lib.report import Report, duration_text, kimg_text


class Reports(keras.callbacks.Callback):
    """Counts the images seen in kimg, as the reference counts training, and runs the
    report pipeline at the end of every epoch.

    nimg: a tf.Variable of the images seen (saved with the checkpoints). An epoch that
      ran all its steps ends on the next point of the report grid (multiples of
      report_kimg, and total_kimg); one cut short ends where it stopped.
    pipeline: an acai.lib.report.Pipeline.
    carried: the running means ([[value of each variable] of each of `model.metrics`]) a
      checkpoint saved inside a report period: put back at the start of the first epoch
      (fit resets them), so that a run resumed there reports the mean of the whole period.
    progress: show a progress bar over the whole run (kimg, the running losses, ETA).
    estimate: (first, last) steps of the first epoch between which the speed is measured
      for one log line of the run's expected time.
    heartbeat: without a progress bar (a log file), the seconds after which a line
      (kimg, img/s, ETA) says the run is alive between two reports; 0: none.
    """

    async_safe = True  # Its batch-end hook draws the progress bar or logs a line.

    def __init__(self, nimg, batch, report_kimg, total_kimg, pipeline, *, carried=None,
                 progress=False, estimate=(10, 60), heartbeat=60.0):
        super().__init__()
        self.nimg, self.batch = nimg, batch
        self.period, self.total = report_kimg << 10, total_kimg << 10
        self.pipeline, self.carried = pipeline, carried
        self.progress, self.estimate, self.heartbeat = progress, estimate, heartbeat
        self.bar, self.estimated, self.steps = None, False, 0
        self.beat = None  # When the log last said something.
        self.last = None  # The last Report.

    def grid_end(self, nimg):
        """The report point after `nimg` images."""
        return min((nimg // self.period + 1) * self.period, self.total)

    def on_train_begin(self, logs=None):
        if self.progress and self.bar is None:
            self.first, self.done = int(self.nimg), 0
            # The logs are running means already: shown as they are, not averaged again.
            names = ["kimg"] + [metric.name for metric in self.model.metrics]
            self.bar = keras.utils.Progbar(-(-(self.total - self.first) // self.batch),
                                           unit_name="step", stateful_metrics=names)

    def on_epoch_begin(self, epoch, logs=None):
        self.start_nimg, self.steps, self.start = int(self.nimg), 0, time.time()
        self.beat = self.beat or self.start
        if self.carried is not None:
            for metric, values in zip(self.model.metrics, self.carried):
                for variable, value in zip(metric.variables, values):
                    variable.assign(value)
            self.carried = None

    def on_train_batch_begin(self, batch, logs=None):
        self.steps = batch + 1  # Every step begun is completed before fit stops.
        if not self.estimated and batch in self.estimate:
            self.speed_line(batch)

    def speed_line(self, batch):
        first, last = self.estimate
        if batch == first:
            self.estimate_start = time.time()
            return
        self.estimated = True
        speed = (last - first) * self.batch / max(time.time() - self.estimate_start, 1e-9)
        logging.info("%.0f img/s: kimg %s to %d will take about %s", speed,
                     kimg_text(self.start_nimg), self.total >> 10,
                     duration_text((self.total - self.start_nimg) / speed))

    def on_train_batch_end(self, batch, logs=None):
        if self.bar is None:
            if self.heartbeat and time.time() - self.beat >= self.heartbeat:
                self.alive(batch)
            return
        self.done += 1
        if self.done % 16 == 0:
            nimg = self.start_nimg + (batch + 1) * self.batch
            self.bar.update(self.done, [("kimg", nimg / 1024)] + [
                (k, float(v)) for k, v in (logs or {}).items()], finalize=False)

    def alive(self, batch):
        """A log line between reports: the images seen, the speed, the time left."""
        self.beat = time.time()
        nimg = self.start_nimg + (batch + 1) * self.batch
        speed = (batch + 1) * self.batch / max(self.beat - self.start, 1e-9)
        logging.info("kimg=%s of %d  %.0f img/s  eta=%s", kimg_text(nimg), self.total >> 10,
                     speed, duration_text(max(self.total - nimg, 0) / speed))

    def on_epoch_end(self, epoch, logs=None):
        self.beat = time.time()  # The report's own line follows.
        complete = self.steps >= self.params["steps"]
        end = (self.grid_end(self.start_nimg) if complete
               else self.start_nimg + self.steps * self.batch)
        self.nimg.assign(end)
        speed = self.steps * self.batch / max(time.time() - self.start, 1e-9)
        self.last = self.pipeline(Report(
            nimg=end, start_nimg=self.start_nimg, complete=complete, total=self.total,
            img_per_sec=speed, logs=dict(logs or {}),
            losses=tuple(metric.name for metric in self.model.metrics)))
        if logs is not None:
            logs.update(self.last.scalars, kimg=end / 1024, img_per_sec=speed)
        if self.bar is not None:
            self.bar.update(self.done, [("kimg", end / 1024)], finalize=end >= self.total)


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
