"""The report pipeline (acai.lib.report): its order, what each step hands the next, and
that the user's callbacks change nothing in a run folder."""

import json
import os

import keras
import numpy as np
import pytest
import tensorflow as tf

from acai.lib import report
from acai.lib.errors import RunError
from acai.lib.run import Run, read_metrics
from acai.models import Baseline
from conftest import SMALL, train_in


class Recorder:
    """A step that records its name, and the scalars it was handed, in `calls`."""

    def __init__(self, name, calls):
        self.name, self.calls = name, calls

    def __call__(self, report):
        self.calls.append((self.name, dict(report.scalars)))


def a_report(complete=True, **logs):
    return report.Report(nimg=2048 if complete else 1600, start_nimg=1024,
                         complete=complete, total=4096, img_per_sec=100.0,
                         logs=logs or {"loss_ae": 0.5}, losses=("loss_ae",))


def test_the_steps_run_in_the_order_written_once_whatever_order_they_are_given_in():
    calls = []
    steps = {name: Recorder(name, calls) for name in reversed(report.ORDER)}
    pipeline = report.Pipeline(**steps)
    pipeline(a_report())
    assert [name for name, _ in calls] == list(report.ORDER)
    assert report.ORDER == ("check_finite", "evaluate", "summaries", "metrics",
                            "checkpoint", "log")
    calls.clear()
    pipeline(a_report(complete=False))  # An epoch cut short: no report, a checkpoint.
    assert [name for name, _ in calls] == ["check_finite", "checkpoint"]
    with pytest.raises(ValueError, match="no report step plot"):
        report.Pipeline(plot=Recorder("plot", calls))


def test_the_evaluation_reaches_the_later_steps_and_a_bad_loss_stops_before_the_checkpoint():
    calls = []
    pipeline = report.Pipeline(
        check_finite=report.CheckFinite(),
        evaluate=report.Evaluate(lambda: ({"latent_accuracy": 97.5}, {})),
        metrics=Recorder("metrics", calls), checkpoint=Recorder("checkpoint", calls))
    pipeline(a_report(loss_ae=0.25, val_loss_ae=0.3))
    # The losses first, then the rest of the logs, then the evaluation.
    expected = {"loss_ae": 0.25, "val_loss_ae": 0.3, "latent_accuracy": 97.5}
    assert calls == [("metrics", expected), ("checkpoint", expected)]
    assert list(calls[0][1]) == list(expected)
    calls.clear()
    with pytest.raises(RunError, match=r"loss_ae is not finite at kimg=2; the last good "
                                       r"checkpoint \(kimg=1\) is kept"):
        pipeline(a_report(loss_ae=float("nan")))
    assert calls == []


def test_metrics_step_writes_the_report_with_its_speed_last(tmp_path):
    run = Run(str(tmp_path), "lines32", "AE", {"model": "baseline"})
    os.makedirs(run.path)
    step = report.Metrics(run)
    report.Pipeline(evaluate=report.Evaluate(lambda: ({"acc": 1.0}, {})),
                    metrics=step)(a_report())
    assert read_metrics(run.path) == [{"kimg": 2, "loss_ae": 0.5, "acc": 1.0,
                                       "img_per_sec": 100.0}]
    assert step.last == {"loss_ae": 0.5, "acc": 1.0, "img_per_sec": 100.0}


class Meddler(keras.callbacks.Callback):
    """A user's callback that reads and changes what it can: the logs of every step and
    epoch (values and new keys)."""

    def __init__(self):
        super().__init__()
        self.seen = []

    def on_train_batch_end(self, batch, logs=None):
        if logs:
            logs["loss_ae"] = 1e9

    def on_epoch_end(self, epoch, logs=None):
        self.seen.append(dict(logs))
        logs["loss_ae"] = float("nan")
        logs["mine"] = 1.0


def run_folder(path, lines32, callbacks):
    keras.utils.set_random_seed(5)
    model = Baseline((32, 32, 1), 10, lr=1e-3, seed=5, **SMALL)
    run = Run(str(path), "lines32", model.experiment_name(), {"model": "baseline"})
    train_in(model, lines32, run, batch=32, seed=5, total_kimg=2, report_kimg=1,
             callbacks=callbacks)
    return run


def contents(run):
    """What a run folder holds that a rerun repeats: file names, metrics (speed aside),
    the newest checkpoint's tensors."""
    names = sorted(os.path.relpath(os.path.join(folder, name), run.path)
                   for folder, _, files in os.walk(run.path) for name in files
                   if not name.startswith("events.out") and name != "lock")
    metrics = [{k: v for k, v in line.items() if k != "img_per_sec"}
               for line in read_metrics(run.path)]
    reader = tf.train.load_checkpoint(tf.train.latest_checkpoint(run.checkpoint_dir))
    tensors = {name: reader.get_tensor(name) for name in reader.get_variable_to_shape_map()
               if name.endswith("VARIABLE_VALUE") and not name.startswith("config")}
    return names, metrics, tensors


@pytest.mark.slow
def test_a_users_callbacks_change_nothing_in_the_run_folder(tmp_path, lines32):
    meddler = Meddler()
    csv = keras.callbacks.CSVLogger(str(tmp_path / "elsewhere.csv"))
    plain = contents(run_folder(tmp_path / "plain", lines32, ()))
    theirs = contents(run_folder(tmp_path / "with", lines32, [meddler, csv]))
    assert theirs[0] == plain[0]  # The same files.
    assert theirs[1] == plain[1] and all("mine" not in line for line in theirs[1])
    assert theirs[2].keys() == plain[2].keys()
    for name, value in plain[2].items():
        np.testing.assert_array_equal(theirs[2][name], value, err_msg=name)
    # And the user's callback saw the report: the evaluations, kimg and the speed.
    assert [seen["kimg"] for seen in meddler.seen] == [1.0, 2.0]
    assert {"latent_accuracy", "img_per_sec", "loss_ae"} <= set(meddler.seen[0])
    assert json.loads(json.dumps(plain[1]))[0]["kimg"] == 1


def test_a_log_file_hears_from_the_run_between_reports(lines32, monkeypatch):
    """Without a progress bar (a log file), Reports logs kimg, img/s and the ETA once its
    heartbeat has passed: here a heartbeat of a nanosecond, so after every step. (The
    lines are read where Reports logs them: absl's INFO level depends on the process.)"""
    from acai.lib import callbacks
    said = []
    monkeypatch.setattr(callbacks.logging, "info", lambda text, *args: said.append(
        text % args))
    model = Baseline((32, 32, 1), **SMALL)
    model.compile()
    nimg = tf.Variable(0, dtype=tf.int64)
    reports = callbacks.Reports(nimg, 32, 1, 2, report.Pipeline(), heartbeat=1e-9)
    quiet = callbacks.Reports(tf.Variable(0, dtype=tf.int64), 32, 1, 2, report.Pipeline())
    model.fit(lines32.train(32, seed=0), epochs=1, steps_per_epoch=4, verbose=0,
              callbacks=[reports])
    lines = [line for line in said if " img/s  eta=" in line]
    assert [line.split()[0] for line in lines] == ["kimg=0.031", "kimg=0.062",
                                                   "kimg=0.094", "kimg=0.125"]
    assert all(line.split()[1:3] == ["of", "2"] for line in lines), lines
    said.clear()
    model.fit(lines32.train(32, seed=0), epochs=1, steps_per_epoch=4, verbose=0,
              callbacks=[quiet])  # The default, a minute: none in a few steps.
    assert not [line for line in said if " img/s  eta=" in line]
