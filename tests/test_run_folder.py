"""Nothing damages a run folder silently: a lost checkpoint state file, a torn or damaged
metrics line, a deleted, damaged or edited config.json, a damaged checkpoint or one of
another run or architecture, a second process, a deleted lock file, an unwritable folder,
a loss that is not finite."""

import glob
import json
import logging
import os
import signal
import subprocess
import sys

import pytest
import tensorflow as tf

from acai import registry
from acai.lib import run as run_lib
from acai.lib.run import Run, RunError, load_config, read_metrics
from acai.models import Baseline
from conftest import REPO, SMALL, TINY, TINY_RUN, error_line, run_module, train_in

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
    """Tests run as root, who writes through permissions: a read-only ckpt/ is mocked
    where files.check_writable (the one writability check of every command) makes its
    test file."""
    import errno
    import tempfile
    model, run = new_run(tmp_path, lines32)
    real_file = tempfile.TemporaryFile

    def read_only_ckpt(dir=None, **kwargs):
        if os.path.abspath(dir) == os.path.abspath(run.checkpoint_dir):
            raise OSError(errno.EROFS, "Read-only file system")
        return real_file(dir=dir, **kwargs)

    monkeypatch.setattr(tempfile, "TemporaryFile", read_only_ckpt)
    with pytest.raises(RunError, match=f"^cannot write to {run.checkpoint_dir} \\(Read-only "
                       "file system\\): its results would be lost; check its permissions, "
                       "or use another --train_dir$"):
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
    # The first stops itself (SIGSTOP) at its fifth step, holding the run, whatever the
    # machine's speed.
    first = subprocess.Popen([sys.executable, os.path.join("tests", "fault_driver.py"),
                              "STOP", "step:5", "acai.train", *flags], cwd=REPO,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    _, status = os.waitpid(first.pid, os.WUNTRACED)
    assert os.WIFSTOPPED(status), status
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


def baseline_run(tmp_path, lines32, **settings):
    model = registry.build("baseline", lines32, dict(SMALL, lr=1e-3))
    run = registry.new_run(model, lines32, str(tmp_path))
    train_in(model, lines32, run, batch=32, seed=0, report_kimg=1, **settings)
    return model, run


@pytest.mark.parametrize("text", ["[1, 2]", "null", '"acai"'])
def test_a_config_that_is_not_an_object_is_one_line_naming_it(tmp_path, text):
    (tmp_path / "config.json").write_text(text)
    with pytest.raises(RunError, match=r"config.json is damaged \(it holds a JSON \w+, not "
                                       r"an object\)"):
        load_config(str(tmp_path))


def test_a_config_value_of_the_wrong_type_is_one_line_naming_the_file(tmp_path, lines32):
    _, run = baseline_run(tmp_path, lines32, total_kimg=1)
    config = json.loads(open(run.config_path).read())
    for name, value, says in (("depth", "8", "depth='8' must be a number"),
                              ("depth", 8.5, "depth=8.5 must be an integer")):
        with open(run.config_path, "w") as f:
            json.dump(dict(config, **{name: value}), f)
        with pytest.raises(RunError, match=rf"{run.path}/config.json: {says}"):
            registry.load_run(run.path)


def test_a_metrics_line_whose_kimg_is_not_a_number_stops_before_training(tmp_path,
                                                                         lines32):
    model, run = baseline_run(tmp_path, lines32, total_kimg=1)
    good = open(run.metrics_path).read()
    with open(run.metrics_path, "w") as f:
        f.write(good.replace('"kimg": 1', '"kimg": "1"') + good.replace('"kimg": 1',
                                                                           '"kimg": 2'))
    with pytest.raises(RunError, match=r"metrics.jsonl is damaged at line 1 \(kimg is '1', "
                                       r"not a number\)"):
        train_in(model, lines32, run, batch=32, seed=0, report_kimg=1, total_kimg=3)
    assert int(model.optimizer_ae.iterations) == 1024 // 32  # Nothing more trained.
    with open(run.metrics_path, "w") as f:  # The last line: dropped, as a torn write.
        f.write(good + good.replace('"kimg": 1', '"kimg": null'))
    assert [entry["kimg"] for entry in read_metrics(run.path)] == [1]


def test_a_nan_at_the_first_report_says_no_checkpoint_was_written(tmp_path, lines32):
    model = registry.build("baseline", lines32, dict(SMALL, lr=1e9))
    run = registry.new_run(model, lines32, str(tmp_path))
    with pytest.raises(RunError, match="no checkpoint was written") as caught:
        train_in(model, lines32, run, batch=32, seed=0, report_kimg=1, total_kimg=2)
    assert "kimg=0" not in str(caught.value)


def test_a_config_edited_to_another_model_is_refused_not_half_restored(tmp_path, lines32):
    _, run = baseline_run(tmp_path, lines32, total_kimg=1)
    config = json.loads(open(run.config_path).read())
    with open(run.config_path, "w") as f:
        json.dump(dict(config, model="vae"), f)
    with pytest.raises(RunError, match=r"ckpt-1 was written by another configuration than "
                                       r".*config.json \(model: 'baseline' -> 'vae'\): put "
                                       r"back the config.json"):
        registry.load_run(run.path)
    with open(run.config_path, "w") as f:  # Another depth: refused for loading too.
        json.dump(dict(config, depth=16), f)
    with pytest.raises(RunError, match=r"\(depth: 8 -> 16\)"):
        registry.load_run(run.path)


def test_a_checkpoint_of_another_run_copied_in_is_refused(tmp_path, lines32):
    import shutil
    _, source = baseline_run(tmp_path / "a", lines32, total_kimg=1)
    model = registry.build("baseline", lines32, dict(SMALL, lr=5e-4))
    run = registry.new_run(model, lines32, str(tmp_path / "b"))
    run.config.update(batch=32, seed=0, report_kimg=1, total_kimg=2)
    run.prepare()
    run.unlock()
    shutil.rmtree(run.checkpoint_dir)
    shutil.copytree(source.checkpoint_dir, run.checkpoint_dir)
    with pytest.raises(RunError, match=r"ckpt-1 was written by another configuration than "
                                       r".*config.json \(lr: 0.001 -> 0.0005\)"):
        train_in(model, lines32, run, batch=32, seed=0, report_kimg=1, total_kimg=2)
    assert not os.path.exists(run.metrics_path)  # Nothing trained on it.
    assert sorted(os.listdir(run.checkpoint_dir)) == sorted(os.listdir(source.checkpoint_dir))


def test_a_checkpoint_of_another_architecture_is_not_called_damaged(tmp_path, lines32):
    import tensorflow as tf

    from acai.lib import checkpoint
    model = registry.build("baseline", lines32, dict(SMALL))
    run = registry.new_run(model, lines32, str(tmp_path))
    run.config.update(batch=32, seed=0, report_kimg=1, total_kimg=2)
    run.prepare()
    run.unlock()
    # An older checkpoint (no copy of the config) of a model of another depth.
    other = registry.build("baseline", lines32, dict(SMALL, depth=4))
    other.compile()
    nimg = tf.Variable(1024, dtype=tf.int64)
    tf.train.CheckpointManager(tf.train.Checkpoint(model=other, nimg=nimg),
                               run.checkpoint_dir, 3).save(checkpoint_number=1)
    files = sorted(os.listdir(run.checkpoint_dir))
    with pytest.raises(RunError) as caught:
        train_in(model, lines32, run, batch=32, seed=0, report_kimg=1, total_kimg=2)
    assert "does not fit this model" in str(caught.value)
    assert "damaged" not in str(caught.value) and "delete" not in str(caught.value)
    assert sorted(os.listdir(run.checkpoint_dir)) == files
    assert checkpoint.images_seen(checkpoint.latest(run.checkpoint_dir)) == 1024


def test_a_deleted_lock_file_does_not_let_a_second_process_in(tmp_path, lines32):
    model = registry.build("baseline", lines32, dict(SMALL))
    first = registry.new_run(model, lines32, str(tmp_path))
    second = registry.new_run(model, lines32, str(tmp_path))
    first.prepare()
    os.remove(first.lock_path)
    with pytest.raises(RunError, match=r"is being trained by another process; wait for it"):
        second.prepare()
    first.unlock()
    second.prepare()
    assert f"process {os.getpid()} on " in open(second.lock_path).read()
    second.unlock()


def test_a_byte_that_is_not_utf8_in_metrics_names_the_file_and_line(tmp_path, lines32):
    _, run = baseline_run(tmp_path, lines32, total_kimg=1)
    good = open(run.metrics_path, "rb").read()
    with open(run.metrics_path, "wb") as f:
        f.write(good.replace(b'"kimg"', b'"k\xffimg"') + good)
    with pytest.raises(RunError, match=rf"{run.metrics_path} is damaged at line 1 \('utf-8' "
                                       r"codec can't decode byte 0xff"):
        read_metrics(run.path)


def run_binary(*args, module="acai.train"):
    return run_module(module, *args)


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


def test_metrics_are_strict_json_with_null_for_a_figure_that_is_not_finite(tmp_path):
    """metrics.jsonl is read by jq and JSON.parse: no bare NaN or Infinity, also in the
    lines of a file written before (which held NaN), and curves.png is still drawn."""
    from acai.lib.paths import RunPaths
    paths = RunPaths(tmp_path)
    (tmp_path / "metrics.jsonl").write_text('{"kimg": 1, "loss_ae": NaN}\n')
    run_lib.append_metrics(paths, 2, {"loss_ae": 0.5, "mean_distance": float("inf")})
    run_lib.append_metrics(paths, 3, {"loss_ae": float("nan"), "mean_distance": 0.25})

    def strict(constant):
        raise ValueError(f"{constant} is not JSON")

    lines = [json.loads(line, parse_constant=strict)
             for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert lines == [{"kimg": 1, "loss_ae": None},
                     {"kimg": 2, "loss_ae": 0.5, "mean_distance": None},
                     {"kimg": 3, "loss_ae": None, "mean_distance": 0.25}]
    assert read_metrics(str(tmp_path))[1]["mean_distance"] is None
    assert (tmp_path / "curves.png").stat().st_size > 0


@pytest.mark.slow
def test_a_resume_puts_back_the_reports_metrics_lost_from_the_events(tmp_path, lines32,
                                                                      caplog):
    """metrics.jsonl deleted, or cut back to an older copy, before a resume: its lines
    come back from the TensorBoard events (float32), and curves.png with them."""
    model, run = new_run(tmp_path, lines32)
    train_in(model, lines32, run, total_kimg=2, **KWARGS)
    before = read_metrics(run.path)
    os.remove(run.metrics_path)
    os.remove(run.curves_path)
    model, run = new_run(tmp_path, lines32)
    with caplog.at_level(logging.WARNING):
        train_in(model, lines32, run, total_kimg=3, **KWARGS)
    assert "metrics.jsonl lacked the reports of kimg=1, 2: put back from the TensorBoard " \
           "events" in caplog.text
    after = read_metrics(run.path)
    assert [entry["kimg"] for entry in after] == [1, 2, 3]
    for old, new in zip(before, after):
        assert list(old) == list(new)  # The same figures, in the same order.
        for name, value in old.items():
            assert new[name] == pytest.approx(value, rel=1e-6), name
    assert os.path.exists(run.curves_path)
    # Cut back to its first line: the second comes back, the third too.
    with open(run.metrics_path) as f:
        first = f.readline()
    with open(run.metrics_path, "w") as f:
        f.write(first)
    model, run = new_run(tmp_path, lines32)
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        train_in(model, lines32, run, total_kimg=4, **KWARGS)
    assert "lacked the reports of kimg=2, 3" in caplog.text
    assert [entry["kimg"] for entry in read_metrics(run.path)] == [1, 2, 3, 4]


@pytest.mark.slow
def test_a_resume_without_metrics_or_events_says_which_reports_are_gone(tmp_path, lines32,
                                                                        caplog):
    model, run = new_run(tmp_path, lines32)
    train_in(model, lines32, run, total_kimg=2, **KWARGS)
    os.remove(run.metrics_path)
    for path in glob.glob(os.path.join(run.summary_dir, "events.*")):
        os.remove(path)
    model, run = new_run(tmp_path, lines32)
    with caplog.at_level(logging.WARNING):
        train_in(model, lines32, run, total_kimg=3, **KWARGS)
    assert "metrics.jsonl holds no report, but the run's checkpoint is at kimg=2 and its " \
           "TensorBoard events do not hold the reports between: they are gone from " \
           "metrics.jsonl and curves.png (training goes on)" in caplog.text
    assert [entry["kimg"] for entry in read_metrics(run.path)] == [3]


@pytest.mark.slow
def test_a_lower_total_on_a_finished_run_trains_nothing_and_keeps_its_config(tmp_path,
                                                                            lines32):
    model, run = new_run(tmp_path, lines32)
    train_in(model, lines32, run, total_kimg=2, **KWARGS)
    config = open(run.config_path).read()
    checkpoints = sorted(os.listdir(run.checkpoint_dir))
    model, run = new_run(tmp_path, lines32)
    assert train_in(model, lines32, run, total_kimg=1, **KWARGS) == {}  # Done: no report.
    assert sorted(os.listdir(run.checkpoint_dir)) == checkpoints
    assert open(run.config_path).read() == config  # Still total_kimg 2.
    assert load_config(run.path)["total_kimg"] == 2
    # A higher total is a longer run, and config.json says so.
    model, run = new_run(tmp_path, lines32)
    train_in(model, lines32, run, total_kimg=3, **KWARGS)
    assert load_config(run.path)["total_kimg"] == 3
