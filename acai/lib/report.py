"""A run's report, as one pipeline with its order written once (`ORDER`).

At the end of every report period (an epoch of `fit`, acai.lib.training) the pipeline
hands one `Report` to its steps, in this order:

  check_finite  a non-finite loss stops the run (RunError) before anything is saved
  evaluate      the model's evaluation: its scalars join the report, its grids are kept
  summaries     TensorBoard scalars and grids at step kimg, and the grids as PNG
  metrics       a line of metrics.jsonl and curves.png; before the checkpoint, so that a
                run killed between the two redoes the period rather than lose its line
  checkpoint    ckpt-<kimg>; an epoch cut short: interrupted-<images seen>
  log           one log line with the run's ETA

An epoch cut short (a signal, a callback that stopped training) is not a report: it goes
through the steps of `CUT_SHORT` only. A step reads and fills the Report it is handed and
keeps no state another step reads.
"""

import dataclasses
import math

from absl import logging

from acai.lib.errors import RunError
from acai.lib.run import append_metrics
from acai.lib.summaries import EventWriter

ORDER = ("check_finite", "evaluate", "summaries", "metrics", "checkpoint", "log")
CUT_SHORT = ("check_finite", "checkpoint")


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


@dataclasses.dataclass
class Report:
    """What the pipeline hands each step at the end of an epoch.

    nimg: the images seen at its end (a report point when `complete`).
    start_nimg: the images seen at its start.
    complete: whether the epoch ran all its steps (a report), or was cut short.
    total: the run's total images.
    logs: Keras' epoch logs (the losses' running means over the period).
    losses: the names of the model's losses, in its order.
    scalars: the losses, then the rest of the logs, then the evaluations; `written` adds
      img_per_sec last: what the report writes.
    images: the evaluation's image grids {name: image in [-1, 1]}.
    """
    nimg: int
    start_nimg: int
    complete: bool
    total: int
    img_per_sec: float
    logs: dict
    losses: tuple = ()
    scalars: dict = dataclasses.field(default_factory=dict)
    images: dict = dataclasses.field(default_factory=dict)

    @property
    def kimg(self):
        return self.nimg >> 10

    @property
    def written(self):
        """The report's scalars, img_per_sec last."""
        return {**self.scalars, "img_per_sec": self.img_per_sec}

    def __post_init__(self):
        names = [name for name in self.losses if name in self.logs]
        names += [name for name in self.logs if name not in names]
        self.scalars = {name: float(self.logs[name]) for name in names
                        if name not in ("kimg", "img_per_sec")}


class CheckFinite:
    """Stops the run with a RunError naming the losses that are not finite and the kimg;
    the previous checkpoint is kept (this runs before the checkpoint)."""

    def __call__(self, report):
        bad = [name for name, value in report.logs.items()
               if isinstance(value, (int, float)) and not math.isfinite(value)]
        if bad:
            kept = (f"the last good checkpoint (kimg={kimg_text(report.start_nimg)}) is kept"
                    if report.start_nimg else
                    "no checkpoint was written: lower the learning rate and start again")
            raise RunError(f"{', '.join(bad)} is not finite at "
                           f"kimg={kimg_text(report.nimg)}; {kept}")


class Evaluate:
    """The report's evaluation: `evaluation()` gives (scalars, {name: image in [-1, 1]}),
    e.g. the model's `evaluation(spec, run)`; its scalars join the report."""

    def __init__(self, evaluation):
        self.evaluation = evaluation

    def __call__(self, report):
        scalars, report.images = self.evaluation()
        report.scalars.update({name: float(value) for name, value in scalars.items()})


class Summaries:
    """Writes the report's scalars and image grids to TensorBoard (step: kimg) and the
    grids as PNG files; the event file is opened at the first report."""

    def __init__(self, summary_dir, image_dir):
        self.summary_dir, self.image_dir = summary_dir, image_dir
        self.writer = None

    def __call__(self, report):
        if self.writer is None:
            self.writer = EventWriter(self.summary_dir, self.image_dir)
        self.writer.write(report.kimg, report.written, report.images)

    def close(self):
        """Closes the event file (each write is flushed: a writer left open loses
        nothing)."""
        if self.writer is not None:
            self.writer.close()
            self.writer = None


class Metrics:
    """Adds the report to the run's metrics.jsonl and redraws curves.png; `last` holds the
    latest report's scalars."""

    def __init__(self, run):
        self.run = run
        self.last = {}

    def __call__(self, report):
        self.last = report.written
        append_metrics(self.run, report.kimg, self.last)


class Checkpoint:
    """Saves the run's checkpoint with `writer` (a checkpoint.Writer): ckpt-<kimg> at a
    report, interrupted-<images seen> for an epoch cut short; `last` is its path."""

    def __init__(self, writer):
        self.writer = writer

    @property
    def last(self):
        return self.writer.last

    def __call__(self, report):
        if report.complete:
            self.writer.save_report(report.kimg)
        else:
            self.writer.save_interrupted(report.nimg)


class Log:
    """One log line per report: kimg, every scalar, and the time the run still needs at
    this report's speed."""

    def __call__(self, report):
        scalars = report.written
        left = report.total - report.nimg
        eta = (f"  eta={duration_text(left / report.img_per_sec)}"
               if left and report.img_per_sec else "")
        logging.info("kimg=%d  %s%s", report.kimg,
                     "  ".join(f"{k}={v:.4g}" for k, v in scalars.items()), eta)


class Pipeline:
    """The steps of a run's report, called in `ORDER` ({name: step}; a step that is None,
    e.g. evaluate without an evaluation, is left out)."""

    def __init__(self, **steps):
        unknown = sorted(set(steps) - set(ORDER))
        if unknown:
            raise ValueError(f"no report step {', '.join(unknown)}; the steps: "
                             f"{', '.join(ORDER)}")
        self.steps = {name: steps[name] for name in ORDER if steps.get(name) is not None}

    def __call__(self, report):
        """Runs every step (an epoch cut short: those of CUT_SHORT) on `report`;
        -> the report."""
        for name, step in self.steps.items():
            if report.complete or name in CUT_SHORT:
                step(report)
        return report

    def close(self):
        for step in self.steps.values():
            if hasattr(step, "close"):
                step.close()
