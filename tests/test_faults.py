"""Faults and bad input: signals, a killed run, damaged checkpoints, unwritable folders."""

import concurrent.futures
import glob
import json
import os
import random
import signal
import time

import pytest
import tensorflow as tf
from PIL import Image

from acai import registry
from acai.lib import callbacks, device, keras_compat
from acai.lib.run import Run, RunError, read_metrics
from acai.models import Baseline
from conftest import SMALL, TINY, error_line, run_module, start_module, train_in

RUN_NAME = os.path.join("lines32", "AEBaseline_depth8_latent8_scales3")


def start_binary(*args, module="acai.train"):
    return start_module(module, *args)


def run_binary(*args, module="acai.train"):
    return run_module(module, *args)


def read(path):
    return path.read_text() if path.exists() else None


def wait_for(path, process, old=None, timeout=240):
    """Waits, while `process` runs, until the file `path` exists with other content than
    `old` (the run got that far)."""
    deadline = time.time() + timeout
    while read(path) in (None, old):
        assert process.poll() is None, process.communicate()[1][-2000:]
        assert time.time() < deadline, f"{path} never changed"
        time.sleep(0.2)


def saved_nimg(run_dir):
    """Images seen by the run's latest checkpoint."""
    latest = tf.train.latest_checkpoint(os.path.join(run_dir, "ckpt"))
    return int(tf.train.load_variable(latest, "nimg/.ATTRIBUTES/VARIABLE_VALUE"))


@pytest.mark.slow
def test_sigterm_writes_a_checkpoint_and_the_same_command_resumes(tmp_path):
    flags = TINY + [f"--train_dir={tmp_path}", "--total_kimg=4", "--report_kimg=2"]
    run_dir = tmp_path / RUN_NAME
    process = start_binary(*flags)
    wait_for(run_dir / "config.json", process)
    time.sleep(1)  # Before or in the first steps (a signal before the first step waits for it).
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=240)
    assert process.returncode == 128 + signal.SIGTERM, stderr[-2000:]
    assert "stopped by SIGTERM at kimg=" in stderr and "the same command resumes" in stderr
    stopped_at = saved_nimg(run_dir)
    assert 0 < stopped_at < 4096 and stopped_at % 32 == 0
    assert "interrupted-" in tf.train.latest_checkpoint(str(run_dir / "ckpt"))

    result = run_binary(*flags)
    assert result.returncode == 0, result.stderr[-2000:]
    assert f"Resumed {run_dir} at kimg={callbacks.kimg_text(stopped_at)}" in result.stderr
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


@pytest.mark.slow
def test_damaged_checkpoint_stops_with_one_line(tmp_path, lines32):
    model = Baseline((32, 32, 1), 10, lr=1e-3, **SMALL)
    run = Run(str(tmp_path), "lines32", model.experiment_name(), {"model": "t"})
    kwargs = dict(batch=32, report_kimg=1, seed=0, verbose=False)
    train_in(model, lines32, run, total_kimg=2, **kwargs)
    data_file, = glob.glob(os.path.join(run.checkpoint_dir, "ckpt-2.data-*"))
    with open(data_file, "r+b") as f:
        f.truncate(os.path.getsize(data_file) // 2)
    fresh = Baseline((32, 32, 1), 10, lr=1e-3, **SMALL)
    with pytest.raises(RunError, match=r"cannot restore the checkpoint .*ckpt-2 "
                       r"\(.*\); it is damaged: delete .*ckpt-2\.\* to resume from .*ckpt-1"):
        train_in(fresh, lines32, run, total_kimg=3, **kwargs)
    # Deleting it, as the message says, resumes from the previous checkpoint.
    for path in glob.glob(os.path.join(run.checkpoint_dir, "ckpt-2.*")):
        os.remove(path)
    train_in(fresh, lines32, run, total_kimg=3, **kwargs)
    assert int(fresh.optimizer_ae.iterations) == 3 * 1024 // 32


@pytest.mark.slow
def test_unwritable_train_dir_is_one_line(tmp_path):
    blocker = tmp_path / "a_file"
    blocker.write_text("")
    with pytest.raises(RunError, match="cannot create the run directory"):
        Run(str(blocker), "lines32", "AE", {}).prepare()
    if os.geteuid() != 0:  # root writes through permissions
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o500)
        with pytest.raises(RunError, match="cannot create the run directory"):
            Run(str(locked), "lines32", "AE", {}).prepare()
    line = error_line(run_binary(*TINY, f"--train_dir={blocker}", "--total_kimg=1"))
    assert line.startswith("acai.train: error: cannot create the run directory")


@pytest.mark.slow
def test_missing_run_for_evaluation_is_one_line(tmp_path):
    line = error_line(run_binary(f"--ae_dir={tmp_path / 'nope'}", module="acai.cluster"))
    assert line.startswith("acai.cluster: error: no run at")


@pytest.mark.slow
def test_evaluation_commands_refuse_another_kind_of_run(tmp_path):
    """An evaluation command given a run of a kind it cannot use: one line saying so."""
    run_dir = tmp_path / "lines32" / "DCGAN"
    run_dir.mkdir(parents=True)
    (run_dir / "config.json").write_text('{"model": "dcgan", "dataset": "lines32"}')
    for module, flag in (("acai.classify", "--ae_dir"), ("acai.cluster", "--ae_dir"),
                         ("vae.sample", "--run")):
        line = error_line(run_binary(f"{flag}={run_dir}", module=module))
        assert "is a 'dcgan' model, not an autoencoder" in line or "not a VAE" in line, line
        assert line.startswith(f"{module}: error: the run at"), line
    # And the GAN commands given an autoencoder run.
    ae_dir = tmp_path / "lines32" / "AEBaseline"
    ae_dir.mkdir(parents=True)
    (ae_dir / "config.json").write_text('{"model": "baseline", "dataset": "lines32"}')
    line = error_line(run_binary(f"--run={ae_dir}", module="gan.evaluate"))
    assert line.startswith("gan.evaluate: error: the run at"), line
    assert "is a 'baseline' model, not a GAN" in line, line
    # acai-projector and gan-pegasus ask the registry the same way (kind="autoencoder",
    # kind="gan"), and their errors go through the same cli.launch: checked in process.
    with pytest.raises(RunError, match="is a 'dcgan' model, not an autoencoder"):
        registry.load_run(str(run_dir), kind="autoencoder")
    with pytest.raises(RunError, match="is a 'baseline' model, not a GAN"):
        registry.load_run(str(ae_dir), kind="gan")


def test_multi_worker_without_tf_config_is_refused(monkeypatch):
    monkeypatch.delenv("TF_CONFIG", raising=False)
    with pytest.raises(RunError, match="needs the TF_CONFIG"):
        device.make_strategy("multi_worker")
    with pytest.raises(RunError, match="unknown strategy"):
        device.make_strategy("nope")


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


def kill_ten_times(train_dir, seed, total=10):
    """One run killed 10 times (see below), then finished; raises on the first fault."""
    flags = TINY + [f"--train_dir={train_dir}", f"--total_kimg={total}", "--report_kimg=1"]
    run_dir = train_dir / RUN_NAME
    rng = random.Random(seed)
    done_before = 0
    for kill in range(10):
        lock = read(run_dir / "lock")
        process = start_binary(*flags)
        if kill % 2:  # As a report is written: when its first grid appears.
            seen = set(os.listdir(run_dir / "images")) if (run_dir / "images").exists() else set()
            deadline = time.time() + 240
            while process.poll() is None and time.time() < deadline:
                now = set(os.listdir(run_dir / "images")) if (
                    run_dir / "images").exists() else set()
                if now - seen:
                    break
                time.sleep(0.02)
            time.sleep(rng.uniform(0, 0.5))
        else:  # Anywhere in training: once this process holds the run's lock.
            wait_for(run_dir / "lock", process, old=lock)
            time.sleep(rng.uniform(0, 1.5))
        process.kill()
        process.communicate()
        reports, nimg = check_nothing_corrupt(run_dir)
        # The checkpoint is the last report's, or the one before when the kill came
        # between a report's metrics and its checkpoint (the restart redoes that period
        # and rewrites its line).
        assert nimg % 1024 == 0 and len(reports) - nimg // 1024 in (0, 1), (reports, nimg)
        assert nimg >= done_before
        done_before = nimg
        assert nimg < total * 1024, "the run finished before its 10 kills"
    result = run_binary(*flags)
    assert result.returncode == 0, result.stderr[-2000:]
    reports, nimg = check_nothing_corrupt(run_dir)
    assert reports == list(range(1, total + 1)) and nimg == total * 1024


@pytest.mark.slow
def test_twenty_sigkills_at_random_moments_lose_only_the_period_in_flight(tmp_path):
    """Two runs, side by side, killed 10 times each: half at a random moment of training,
    half just as a report is being written (its evaluation, grids, GIF, checkpoint and
    metrics); after each kill the folder holds no corrupt file and the restart resumes
    from the last report; each run then finishes with every report once."""
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        runs = [pool.submit(kill_ten_times, tmp_path / f"run{i}", seed=i) for i in range(2)]
        for run in runs:
            run.result()
