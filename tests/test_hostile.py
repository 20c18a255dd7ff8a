"""Hostile inputs that used to go wrong: each does the damage itself and checks the one
line (naming the file or resource) or the recovery."""

import json
import os
import signal
import threading

import keras
import pytest

from acai import registry
from acai.lib import data, export
from acai.lib.run import RunError, load_config, read_metrics
from conftest import REPO as REPO_DIR
from conftest import SMALL, TINY, error_line, run_module, train_in


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


def test_a_tfds_version_that_is_not_there_is_one_line(tmp_path):
    with pytest.raises(ValueError, match=r"dataset 'tfds:mnist:9.9.9': .*9\.9\.9.*only"):
        data.get_dataset("tfds:mnist:9.9.9", str(tmp_path))


def test_a_nan_at_the_first_report_says_no_checkpoint_was_written(tmp_path, lines32):
    model = registry.build("baseline", lines32, dict(SMALL, lr=1e9))
    run = registry.new_run(model, lines32, str(tmp_path))
    with pytest.raises(RunError, match="no checkpoint was written") as caught:
        train_in(model, lines32, run, batch=32, seed=0, report_kimg=1, total_kimg=2)
    assert "kimg=0" not in str(caught.value)


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


def test_a_killed_exports_staging_folder_is_removed_by_the_next(tmp_path, lines32):
    model = registry.build("baseline", lines32, SMALL)
    stale = tmp_path / ".out.tmp-999999999-abc"  # A process that cannot exist.
    live = tmp_path / f".out.tmp-{os.getpid()}-def"  # An export still running.
    for folder in (stale, live):
        folder.mkdir()
        (folder / "saved_model.pb").write_bytes(b"half")
    export.export(model, str(tmp_path / "out"))
    assert not stale.exists() and live.exists()
    assert (tmp_path / "out" / "saved_model.pb").exists()


@pytest.mark.slow
def test_a_stray_argument_is_one_line_not_the_whole_help(tmp_path):
    result = run_module("acai.train", *TINY, f"--train_dir={tmp_path}", "stray")
    line = error_line(result)
    assert "unexpected arguments: stray" in line and "--help" in line
    assert len(result.stderr.strip().splitlines()) < 10 and "--model" not in result.stderr


def test_a_batch_that_does_not_divide_a_report_period_is_refused(tmp_path, lines32):
    model = registry.build("baseline", lines32, dict(SMALL))
    run = registry.new_run(model, lines32, str(tmp_path))
    with pytest.raises(RunError, match=r"--batch=1500 does not divide --report_kimg=2 "
                                       r"\(2048 images\)"):
        train_in(model, lines32, run, batch=1500, seed=0, report_kimg=2, total_kimg=4)
    assert not os.path.exists(run.metrics_path)
    with pytest.raises(RunError, match=r"--batch=2048 does not divide --total_kimg=3"):
        train_in(model, lines32, run, batch=2048, seed=0, report_kimg=2, total_kimg=3)


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


def images_in(folder, count, mode="RGB", start=0):
    import numpy as np
    from PIL import Image
    os.makedirs(folder, exist_ok=True)
    rng = np.random.default_rng(start)
    channels = {"RGB": 3, "L": 1}[mode]
    for i in range(start, start + count):
        pixels = rng.integers(0, 256, (32, 32, channels), dtype=np.uint8)
        Image.fromarray(pixels.squeeze(-1) if channels == 1 else pixels, mode).save(
            os.path.join(folder, f"{i:03d}.png"))


def test_one_grey_file_first_does_not_turn_a_colour_folder_grey(tmp_path, caplog):
    images_in(tmp_path / "a", 1, "L")  # 000.png, the first file: grey.
    images_in(tmp_path / "a", 20, "RGB", start=1)
    images_in(tmp_path / "b", 20, "RGB")
    spec = data.get_dataset(f"folder:{tmp_path}")
    assert spec.colors == 3
    assert "1 of its 41 images are grey and the others colour" in caplog.text
    images_in(tmp_path / "grey" / "a", 3, "L")
    assert data.get_dataset(f"folder:{tmp_path / 'grey'}").colors == 1


def test_a_symlinked_or_dangling_class_folder_is_one_line(tmp_path):
    images_in(tmp_path / "a", 12)
    os.symlink(tmp_path / "a", tmp_path / "b")
    with pytest.raises(data.DatasetUnavailable, match=r"class folders .*/a and .*/b are the "
                                                       r"same folder"):
        data.get_dataset(f"folder:{tmp_path}")
    os.remove(tmp_path / "b")
    os.symlink(tmp_path / "gone", tmp_path / "b")
    with pytest.raises(data.DatasetUnavailable, match=r"class folder .*/b is a symbolic link "
                                                       r"to .*/gone, which does not exist"):
        data.get_dataset(f"folder:{tmp_path}")


def test_an_empty_test_split_and_a_class_of_one_image(tmp_path):
    images_in(tmp_path / "train" / "a", 5)
    os.makedirs(tmp_path / "test" / "a")
    with pytest.raises(data.DatasetUnavailable, match=r"its test split holds no images"):
        data.get_dataset(f"folder:{tmp_path}")
    images_in(tmp_path / "flat" / "a", 12)
    images_in(tmp_path / "flat" / "one", 1)  # A class of one image: kept for training.
    spec = data.get_dataset(f"folder:{tmp_path / 'flat'}")
    labels = [int(y) for _, y in spec.train_once(64).unbatch()]
    assert labels.count(1) == 1 and labels.count(0) == 10


def test_a_file_name_that_is_not_utf8_trains_and_is_named_when_unreadable(tmp_path):
    folder = os.fsencode(tmp_path / "a")
    images_in(tmp_path / "a", 12)
    os.rename(os.path.join(folder, b"003.png"), os.path.join(folder, b"caf\xe9.png"))
    spec = data.get_dataset(f"folder:{tmp_path}")
    assert sum(1 for _ in spec.train_once(64).unbatch()) + sum(
        1 for _ in spec.test(64).unbatch()) == 12
    with open(os.path.join(folder, b"caf\xe9.png"), "wb") as f:
        f.write(b"not an image")
    with pytest.raises(data.DatasetUnavailable, match=r"unreadable image file\(s\): .*/a/"
                                                       r"caf\\xe9.png"):
        data.get_dataset(f"folder:{tmp_path}")


def test_a_byte_that_is_not_utf8_in_metrics_names_the_file_and_line(tmp_path, lines32):
    _, run = baseline_run(tmp_path, lines32, total_kimg=1)
    good = open(run.metrics_path, "rb").read()
    with open(run.metrics_path, "wb") as f:
        f.write(good.replace(b'"kimg"', b'"k\xffimg"') + good)
    with pytest.raises(RunError, match=rf"{run.metrics_path} is damaged at line 1 \('utf-8' "
                                       r"codec can't decode byte 0xff"):
        read_metrics(run.path)


def test_a_damaged_cached_classifier_is_named_and_trained_again(tmp_path, caplog):
    from gan import classifier
    spec = data.get_dataset("lines32")
    directory = str(tmp_path / "classifier")
    first = classifier.get_classifier(spec, directory, kimg=1, batch=64)
    info = open(os.path.join(directory, classifier.INFO_FILE)).read()
    with open(os.path.join(directory, classifier.MODEL_FILE), "r+b") as f:
        f.truncate(100)
    again = classifier.get_classifier(spec, directory, kimg=1, batch=64)
    assert f"{directory}/{classifier.MODEL_FILE} is damaged" in caplog.text
    assert again.info["class_names"] == first.info["class_names"]
    assert classifier.load(directory) is not None  # Saved whole again.
    with open(os.path.join(directory, classifier.INFO_FILE), "w") as f:
        f.write(info[:len(info) // 2])
    caplog.clear()
    classifier.get_classifier(spec, directory, kimg=1, batch=64)
    assert f"{directory}/{classifier.INFO_FILE} is damaged" in caplog.text


def test_an_empty_train_dir_is_refused(tmp_path):
    result = run_module("acai.train", *TINY, "--train_dir=", "--total_kimg=1")
    assert result.returncode != 0
    assert "--train_dir must name a folder" in result.stderr
    assert not os.path.exists(os.path.join(REPO_DIR, "lines32"))
