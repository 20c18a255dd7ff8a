"""Nothing damages a run folder silently: a lost checkpoint state file, a torn metrics
line, a deleted or damaged config.json, a second process, an unwritable folder."""

import json
import logging
import os
import signal
import time

import pytest
import tensorflow as tf

from acai import registry
from acai.lib import run as run_lib
from acai.lib.run import RunError, read_metrics
from conftest import REPO, SMALL, TINY, TINY_RUN, error_line, run_module, start_module, train_in

KWARGS = dict(batch=32, report_kimg=1, seed=0, verbose=False)


def new_run(tmp_path, spec, **config):
    model = registry.build("baseline", spec, dict(SMALL, **config))
    return model, registry.new_run(model, spec, str(tmp_path), batch=32, seed=0,
                                   total_kimg=3, report_kimg=1)


@pytest.mark.slow
def test_lost_checkpoint_state_resumes_from_the_newest_files(tmp_path, lines32, caplog):
    model, run = new_run(tmp_path, lines32)
    train_in(model, lines32, run, total_kimg=2, **KWARGS)
    folder = run.checkpoint_dir
    os.remove(os.path.join(folder, "checkpoint"))
    before = {name: open(os.path.join(folder, name), "rb").read()
              for name in os.listdir(folder)}
    model, run = new_run(tmp_path, lines32)
    with caplog.at_level(logging.WARNING):
        train_in(model, lines32, run, total_kimg=3, **KWARGS)
    assert "checkpoint was missing: resuming from the newest checkpoint among its files, " \
           "ckpt-2" in caplog.text
    assert int(model.optimizer_ae.iterations) == 3 * 1024 // 32  # Resumed at kimg 2.
    for name, content in before.items():  # No checkpoint was overwritten.
        assert open(os.path.join(folder, name), "rb").read() == content, name
    assert [entry["kimg"] for entry in read_metrics(run.path)] == [1, 2, 3]


@pytest.mark.slow
def test_torn_last_metrics_line_is_dropped_and_a_damaged_one_named(tmp_path, lines32,
                                                                   caplog):
    model, run = new_run(tmp_path, lines32)
    train_in(model, lines32, run, total_kimg=1, **KWARGS)
    with open(run.metrics_path, "a") as f:
        f.write('{"kimg": 2, "loss_ae": 0.0')  # A write cut short.
    with caplog.at_level(logging.WARNING):
        assert [entry["kimg"] for entry in read_metrics(run.path)] == [1]
    assert "dropped its damaged last line (the report of kimg=2)" in caplog.text
    assert run.metrics_path in caplog.text
    model, run = new_run(tmp_path, lines32)
    train_in(model, lines32, run, total_kimg=2, **KWARGS)  # Goes on, and repairs.
    lines = open(run.metrics_path).read().splitlines()
    assert [json.loads(line)["kimg"] for line in lines] == [1, 2]

    with open(run.metrics_path, "w") as f:
        f.write(lines[0][:20] + "\n" + lines[1] + "\n")
    with pytest.raises(RunError, match=r"metrics.jsonl is damaged at line 1 "):
        read_metrics(run.path)


@pytest.mark.slow
def test_deleted_config_is_recovered_from_the_checkpoint(tmp_path, lines32, caplog):
    model, run = new_run(tmp_path, lines32)
    train_in(model, lines32, run, total_kimg=1, **KWARGS)
    saved = open(run.config_path).read()
    os.remove(run.config_path)
    # Another configuration is still refused: the copy is what the run was started with.
    other, other_run = new_run(tmp_path, lines32, lr=1e-3)
    with caplog.at_level(logging.WARNING):
        with pytest.raises(RunError, match=r"another configuration \(lr: 0.0001 -> 0.001"):
            train_in(other, lines32, other_run, total_kimg=2, **KWARGS)
    assert "was missing: recovered from the copy in the run's checkpoint" in caplog.text
    assert json.loads(open(run.config_path).read()) == json.loads(saved)
    model, run = new_run(tmp_path, lines32)
    train_in(model, lines32, run, total_kimg=2, **KWARGS)
    assert int(model.optimizer_ae.iterations) == 2 * 1024 // 32

    # Checkpoints that carry no copy (older runs): refused, in one line.
    checkpoint = tf.train.Checkpoint(nimg=tf.Variable(4096, dtype=tf.int64))
    for name in os.listdir(run.checkpoint_dir):
        os.remove(os.path.join(run.checkpoint_dir, name))
    tf.train.CheckpointManager(checkpoint, run.checkpoint_dir, 3).save(4)
    os.remove(run.config_path)
    with pytest.raises(RunError, match=r"config.json is missing but .*ckpt holds "
                       r"checkpoints without a copy of it: restore config.json"):
        new_run(tmp_path, lines32)[1].prepare()


@pytest.mark.slow
def test_damaged_config_is_one_line_naming_it(tmp_path, lines32):
    model, run = new_run(tmp_path, lines32)
    train_in(model, lines32, run, total_kimg=1, **KWARGS)
    text = open(run.config_path).read()
    with open(run.config_path, "w") as f:
        f.write(text[:len(text) // 2])
    with pytest.raises(RunError, match=r"config.json is damaged \(.*line .* column .*\): "
                       r"delete it, and the next start of the run recovers it"):
        new_run(tmp_path, lines32)[1].prepare()


def test_unwritable_checkpoint_folder_is_refused_at_the_start(tmp_path, lines32,
                                                             monkeypatch):
    """Tests run as root, who writes through permissions: os.access stands in for a user
    without write permission on ckpt/."""
    model, run = new_run(tmp_path, lines32)
    real_access = os.access
    monkeypatch.setattr(run_lib.os, "access", lambda path, mode: (
        False if path == run.checkpoint_dir else real_access(path, mode)))
    with pytest.raises(RunError, match=f"cannot write to {run.checkpoint_dir}: check its "
                       "permissions"):
        train_in(model, lines32, run, total_kimg=1, **KWARGS)
    assert not os.listdir(run.checkpoint_dir)  # Nothing was trained.


def test_a_run_saved_before_a_parameter_existed_resumes_at_its_default(tmp_path, lines32):
    _, run = new_run(tmp_path, lines32)
    run.prepare()
    run.unlock()
    saved = json.loads(open(run.config_path).read())
    assert saved.pop("lr") == 1e-4  # As if the model had had no `lr` parameter then.
    with open(run.config_path, "w") as f:
        json.dump(saved, f)
    _, again = new_run(tmp_path, lines32)
    again.prepare()  # The parameter at its default: the same run.
    again.unlock()
    assert json.loads(open(run.config_path).read())["lr"] == 1e-4
    with open(run.config_path, "w") as f:
        json.dump(saved, f)
    with pytest.raises(RunError, match=r"another configuration \(lr: 0.0001 -> 0.001\)"):
        new_run(tmp_path, lines32, lr=1e-3)[1].prepare()


def test_lock_refuses_a_second_holder_and_releases(tmp_path, lines32):
    _, first = new_run(tmp_path, lines32)
    _, second = new_run(tmp_path, lines32)
    first.prepare()
    with pytest.raises(RunError, match=rf"is being trained by process {os.getpid()} on "):
        second.prepare()
    first.unlock()
    second.prepare()  # Free again.
    second.unlock()


@pytest.mark.slow
def test_second_process_on_the_same_run_is_refused_and_a_killed_one_blocks_nothing(
        tmp_path):
    flags = TINY + [f"--train_dir={tmp_path}", "--total_kimg=3", "--report_kimg=1"]
    run_dir = tmp_path / TINY_RUN
    first = start_module("acai.train", *flags)
    deadline = time.time() + 120
    while not (run_dir / "lock").exists() or not (run_dir / "lock").read_text():
        assert first.poll() is None and time.time() < deadline
        time.sleep(0.2)
    line = error_line(run_module("acai.train", *flags))
    assert line.startswith(f"acai.train: error: {run_dir} is being trained by process "
                           f"{first.pid} on "), line
    assert "wait for it to end or stop it" in line
    first.kill()  # Its lock dies with it.
    first.communicate()
    assert first.returncode == -signal.SIGKILL
    result = run_module("acai.train", *flags)
    assert result.returncode == 0, result.stderr[-2000:]
    assert [entry["kimg"] for entry in read_metrics(str(run_dir))] == [1, 2, 3]

    # A finished run restarted: done at once, without TensorFlow's restore warnings.
    result = run_module("acai.train", *flags)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "is done: kimg=3 >= total_kimg=3" in result.stderr
    assert "could not be found" not in result.stderr


def test_non_finite_parameters_are_refused_from_python(lines32):
    for bad in (float("nan"), float("inf")):
        with pytest.raises(ValueError, match="lr=.* must be a finite number"):
            registry.build("baseline", lines32, dict(SMALL, lr=bad))


@pytest.mark.slow
def test_a_normal_resume_from_a_relative_train_dir_warns_of_nothing(tmp_path):
    """The README's own form, --train_dir=experiments: the checkpoint state file's paths
    are relative, and are found as they are (no "was missing" on every resume)."""
    relative = os.path.relpath(tmp_path, REPO)
    for total in (1, 2):
        result = run_module("acai.train", *TINY, f"--train_dir={relative}",
                            f"--total_kimg={total}", "--report_kimg=1")
        assert result.returncode == 0, result.stderr[-2000:]
    assert "Resumed" in result.stderr and "was missing" not in result.stderr, \
        result.stderr[-2000:]
    assert [entry["kimg"] for entry in read_metrics(str(tmp_path / TINY_RUN))] == [1, 2]
