"""Progress of a long command: on a terminal, a line that counts the work done and says
when it will end (Keras' progress bar); in a log file, nothing.

    for x, label in progress.track(dataset, "encoding the test images", total=40):
        ...
"""

import sys

import keras


def on_terminal():
    """Whether progress is shown: standard output is a terminal."""
    return sys.stdout.isatty()


class Bar:
    """A progress line over `total` units (None: unknown, then no ETA), headed by `what`;
    shown only on a terminal (or when `show` says so)."""

    def __init__(self, what, total=None, unit="step", show=None):
        self.done = 0
        self.bar = None
        if on_terminal() if show is None else show:
            print(what, flush=True)
            self.bar = keras.utils.Progbar(total, unit_name=unit)

    @property
    def total(self):
        return self.bar.target if self.bar else None

    @total.setter
    def total(self, total):
        if self.bar:
            self.bar.target = total

    def add(self, count=1, values=None):
        self.done += count
        if self.bar:
            ended = self.bar.target is not None and self.done >= self.bar.target
            self.bar.update(self.done, values, finalize=ended)

    def close(self):
        """Ends the line where the total was not reached (an estimate: a last batch
        smaller than the others) or not known: the total becomes what was done."""
        if self.bar and (self.bar.target is None or self.done < self.bar.target):
            self.bar.target = self.done
            self.bar.update(self.done, finalize=True)
        self.bar = None


def track(iterable, what, total=None, unit="step", show=None):
    """Yields the items of `iterable`, one progress unit each."""
    bar = Bar(what, total, unit, show)
    try:
        for item in iterable:
            yield item
            bar.add()
    finally:
        bar.close()


class FitBar(keras.callbacks.Callback):
    """One progress line over every epoch of one or several `fit` calls: `total` steps."""

    def __init__(self, what, total, show=None):
        super().__init__()
        self.bar = Bar(what, total, "step", show)

    def on_train_batch_end(self, batch, logs=None):
        self.bar.add(1, [(k, float(v)) for k, v in (logs or {}).items()])

    def close(self):
        self.bar.close()
