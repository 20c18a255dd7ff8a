"""Signals and kills: SIGTERM writes a checkpoint and the same command resumes; a run
SIGKILLed at any moment (each sent from inside the process at an exact step, by
tests/fault_driver.py) loses only the period in flight. That a resumed run equals the run
never stopped: tests/test_resume.py."""

import glob
import json
import os
import signal
import subprocess
import sys
import threading

import keras
import pytest
import tensorflow as tf
from PIL import Image

from acai import registry
from acai.lib import keras_compat, report
from acai.lib.run import read_metrics
from conftest import REPO, SMALL, TINY, run_module, train_in

RUN_NAME = os.path.join("lines32", "AEBaseline_depth8_latent8_scales3")


def run_faulty(signal_name, where, *args, module="acai.train"):
    """Runs a binary that sends itself SIG`signal_name` at `where` (tests/fault_driver.py)."""
    return subprocess.run([sys.executable, os.path.join("tests", "fault_driver.py"),
                           signal_name, where, module, *args], cwd=REPO,
                          capture_output=True, text=True)


def run_binary(*args, module="acai.train"):
    return run_module(module, *args)


def saved_nimg(run_dir):
    """Images seen by the run's latest checkpoint."""
    latest = tf.train.latest_checkpoint(os.path.join(run_dir, "ckpt"))
    return int(tf.train.load_variable(latest, "nimg/.ATTRIBUTES/VARIABLE_VALUE"))


@pytest.mark.slow
def test_sigterm_writes_a_checkpoint_and_the_same_command_resumes(tmp_path):
    flags = TINY + [f"--train_dir={tmp_path}", "--total_kimg=4", "--report_kimg=2"]
    run_dir = tmp_path / RUN_NAME
    # SIGTERM as step 40 of 128 begins (64 a report period): that step ends the run.
    result = run_faulty("TERM", "step:40", *flags)
    assert result.returncode == 128 + signal.SIGTERM, result.stderr[-2000:]
    stderr = result.stderr
    assert "stopped by SIGTERM at kimg=" in stderr and "the same command resumes" in stderr
    stopped_at = saved_nimg(run_dir)
    assert stopped_at == 40 * 32
    assert "interrupted-" in tf.train.latest_checkpoint(str(run_dir / "ckpt"))

    result = run_binary(*flags)
    assert result.returncode == 0, result.stderr[-2000:]
    assert f"Resumed {run_dir} at kimg={report.kimg_text(stopped_at)}" in result.stderr
    # It went on from there, to total_kimg and no further, reporting on the kimg grid.
    assert saved_nimg(run_dir) == 4096
    latest = tf.train.latest_checkpoint(str(run_dir / "ckpt"))
    assert latest.endswith("ckpt-4")
    steps = tf.train.load_variable(
        latest, f"model/optimizer_ae/{keras_compat.ITERATIONS_KEY}/.ATTRIBUTES/VARIABLE_VALUE")
    assert steps == 4096 // 32
    assert [entry["kimg"] for entry in read_metrics(str(run_dir))] == [2, 4]
    # The report that followed made the interrupted checkpoint unnecessary: it is gone.
    assert not glob.glob(str(run_dir / "ckpt" / "interrupted-*"))


def check_nothing_corrupt(run_dir):
    """Every file a killed run left is whole: config.json, metrics.jsonl (every line), the
    checkpoint the state file names, every PNG and GIF."""
    json.loads((run_dir / "config.json").read_text())
    lines = (run_dir / "metrics.jsonl").read_text().splitlines() if (
        run_dir / "metrics.jsonl").exists() else []
    reports = [json.loads(line)["kimg"] for line in lines]
    assert reports == list(range(1, len(reports) + 1)), reports
    latest = tf.train.latest_checkpoint(str(run_dir / "ckpt"))
    if latest:
        reader = tf.train.load_checkpoint(latest)
        for name in reader.get_variable_to_shape_map():
            reader.get_tensor(name)
    for path in glob.glob(str(run_dir / "images" / "*.png")) + glob.glob(
            str(run_dir / "images" / "*.gif")):
        with Image.open(path) as image:
            image.load()
    return reports, (saved_nimg(run_dir) if latest else 0)


# Where a run is killed, in turn: inside a report period, and after each step of a report
# (acai.lib.report.ORDER), the metrics line written but not the checkpoint among them.
KILLS = ["step:10", "report:evaluate:1", "report:summaries:1", "report:metrics:1",
         "report:checkpoint:1", "report:log:1", "step:40", "report:metrics:2"]


@pytest.mark.slow
def test_sigkills_at_every_moment_lose_only_the_period_in_flight(tmp_path):
    """One run SIGKILLed at each moment of KILLS, each from inside its process at an exact
    step: after each kill the folder holds no corrupt file and its checkpoint is the last
    report's (or the one before, when the kill came between a report's metrics line and
    its checkpoint); the restart resumes from there, and the run then finishes with every
    report once."""
    total = 8
    flags = TINY + [f"--train_dir={tmp_path}", f"--total_kimg={total}", "--report_kimg=1"]
    run_dir = tmp_path / RUN_NAME
    done_before = 0
    for where in KILLS:
        result = run_faulty("KILL", where, *flags)
        assert result.returncode == -signal.SIGKILL, (where, result.stderr[-2000:])
        reports, nimg = check_nothing_corrupt(run_dir)
        assert nimg % 1024 == 0 and len(reports) - nimg // 1024 in (0, 1), (where, reports,
                                                                            nimg)
        if where.startswith("report:metrics"):  # The line, not yet the checkpoint.
            assert len(reports) == nimg // 1024 + 1, (where, reports, nimg)
        if where.startswith(("report:checkpoint", "report:log")):
            assert len(reports) == nimg // 1024 and nimg > done_before, (where, nimg)
        assert nimg >= done_before
        done_before = nimg
    assert done_before < total * 1024
    result = run_binary(*flags)
    assert result.returncode == 0, result.stderr[-2000:]
    reports, nimg = check_nothing_corrupt(run_dir)
    assert reports == list(range(1, total + 1)) and nimg == total * 1024


class SignalAfterLastReport(keras.callbacks.Callback):
    """A user's callback that sends this process SIGTERM as the last report ends (after
    the run's own callbacks: its checkpoint is written)."""

    def __init__(self, epochs):
        super().__init__()
        self.epochs = epochs

    def on_epoch_end(self, epoch, logs=None):
        if epoch == self.epochs - 1:
            os.kill(os.getpid(), signal.SIGTERM)


@pytest.mark.skipif(threading.current_thread() is not threading.main_thread(),
                    reason="signal handlers are installed from the main thread only")
def test_sigterm_during_the_last_report_leaves_a_done_run(tmp_path, lines32):
    model = registry.build("baseline", lines32, dict(SMALL, lr=1e-3))
    run = registry.new_run(model, lines32, str(tmp_path))
    scalars = train_in(model, lines32, run, batch=32, seed=0, report_kimg=1, total_kimg=2,
                       callbacks=[SignalAfterLastReport(2)])  # No Interrupted: it is done.
    assert "loss_ae" in scalars
    assert [entry["kimg"] for entry in read_metrics(run.path)] == [1, 2]
    assert train_in(model, lines32, run, batch=32, seed=0, report_kimg=1,
                    total_kimg=2) == {}
