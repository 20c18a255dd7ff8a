"""A resumed run is the run that was never stopped: SIGTERM at three moments, then the same
training again, writes the same metrics.jsonl (timings aside) as an uninterrupted run.

The signal is sent from inside the process at a chosen step, so each moment is exact.
"""

import json
import os
import signal

import keras
import numpy as np
import pytest
from PIL import Image

from acai import registry
from acai.lib import checkpoint, data
from acai.lib.errors import Interrupted
from acai.lib.run import Run
from conftest import SMALL, train_in

SETTINGS = dict(batch=32, seed=3, total_kimg=3, report_kimg=1)
STEPS = 1024 // SETTINGS["batch"]  # Steps of a report period.


class SignalAt(keras.callbacks.Callback):
    """Sends this process SIGTERM at the end of step `step` of the epoch `epoch` (counted
    across every fit call of this training), or at the end of that epoch."""

    def __init__(self, epoch, step=None):
        super().__init__()
        self.epoch, self.step = epoch, step

    def on_epoch_begin(self, epoch, logs=None):
        self.current = epoch

    def on_train_batch_end(self, batch, logs=None):
        if self.current == self.epoch and batch == self.step:
            os.kill(os.getpid(), signal.SIGTERM)

    def on_epoch_end(self, epoch, logs=None):
        if epoch == self.epoch and self.step is None:
            os.kill(os.getpid(), signal.SIGTERM)


def model_for(spec, name):
    keras.utils.set_random_seed(SETTINGS["seed"])  # As acai-train does: the same start.
    return registry.MODELS[name]((spec.height, spec.width, spec.colors), spec.nclass,
                                 seed=SETTINGS["seed"], **SMALL)


def folder_dataset(path, train=60, test=50):
    """A folder dataset of two classes of random colour images."""
    rng = np.random.default_rng(0)
    for split, count in (("train", train), ("test", test)):
        for name in ("a", "b"):
            os.makedirs(path / split / name)
            for i in range(count):
                pixels = rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)
                Image.fromarray(pixels).save(path / split / name / f"{i}.png")
    return data.get_dataset(f"folder:{path}")


def metrics_of(run_dir):
    with open(os.path.join(run_dir, "metrics.jsonl")) as f:
        lines = [json.loads(line) for line in f]
    for line in lines:
        line.pop("img_per_sec")
    return lines


def train_run(spec, name, path, *, stop=None, during_report=False):
    """Trains model `name` in `path` (stopped as said), then resumes it with a new model,
    as the same command would; -> metrics.jsonl's lines."""
    model = model_for(spec, name)
    run = new_run(path, model, spec)
    evaluate = "model"
    if during_report:  # SIGTERM while the report of kimg 2 evaluates.
        evaluation = model.evaluation(spec, run)
        reports = []

        def evaluate():
            reports.append(1)
            if len(reports) == 2:
                os.kill(os.getpid(), signal.SIGTERM)
            return evaluation()
    if stop or during_report:
        with pytest.raises(Interrupted):
            train_in(model, spec, run, evaluate=evaluate, callbacks=[stop] if stop else ())
        keras.backend.clear_session()
        model = model_for(spec, name)
        run = new_run(path, model, spec)
    train_in(model, spec, run)
    return metrics_of(run.path)


def new_run(path, model, spec, **settings):
    config = dict(model=type(model).__name__.lower(), dataset=spec.name, **SMALL,
                  **SETTINGS)
    config.update(settings)
    return Run(str(path), "data", model.experiment_name(), config)


@pytest.mark.slow
@pytest.mark.parametrize("name, dataset", [("acai", "lines32"), ("denoising", "folder")])
def test_a_run_stopped_at_three_moments_writes_the_metrics_of_one_never_stopped(
        tmp_path, name, dataset):
    spec = (folder_dataset(tmp_path / "images") if dataset == "folder"
            else data.get_dataset(dataset))
    uninterrupted = train_run(spec, name, tmp_path / "whole")
    assert [line["kimg"] for line in uninterrupted] == [1, 2, 3]
    moments = {
        "mid-period": dict(stop=SignalAt(1, step=STEPS // 2 - 1)),
        "between reports": dict(stop=SignalAt(0)),
        "during a report": dict(during_report=True),
    }
    for moment, how in moments.items():
        path = tmp_path / moment.replace(" ", "-")
        resumed = train_run(spec, name, path, **how)
        assert resumed == uninterrupted, moment
    # The mid-period stop did resume from inside the period, with the stream.
    found = checkpoint.find(os.path.join(new_run(tmp_path / "mid-period",
                                                 model_for(spec, name), spec).path,
                                         "ckpt"))[0]
    assert all(checkpoint.holds_stream(p) for p in found)


def test_a_resumed_period_reports_its_whole_mean_not_the_images_after_the_resume(
        tmp_path):
    spec = data.get_dataset("lines32")
    model = model_for(spec, "baseline")
    run = new_run(tmp_path / "whole", model, spec, total_kimg=1)
    train_in(model, spec, run, evaluate=None)
    whole = metrics_of(run.path)[0]["loss_ae"]
    model = model_for(spec, "baseline")
    run = new_run(tmp_path / "cut", model, spec, total_kimg=1)
    # Stopped after the first 4 steps, whose losses (the first, highest) the report must
    # still count.
    with pytest.raises(Interrupted):
        train_in(model, spec, run, evaluate=None, callbacks=[SignalAt(0, step=3)])
    keras.backend.clear_session()
    model = model_for(spec, "baseline")
    train_in(model, spec, new_run(tmp_path / "cut", model, spec, total_kimg=1),
             evaluate=None)
    assert metrics_of(run.path)[0]["loss_ae"] == whole
