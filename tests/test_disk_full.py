"""A full disk: a run on a small file system (a tmpfs, mounted here as root) that fills up
during a report or at the start stops with one line naming what it could not write; once
space is freed, the same training again leaves checkpoints, metrics.jsonl and the
TensorBoard events as if the disk had never filled. Skipped where no tmpfs can be mounted.
"""

import errno
import glob
import os
import subprocess

import keras
import pytest
import tensorflow as tf

from acai import registry
from acai.lib import checkpoint, export, keras_compat
from acai.lib.run import RunError, read_metrics
from conftest import SMALL, train_in

pytestmark = pytest.mark.slow


@pytest.fixture
def disk(tmp_path):
    """A 48 MB tmpfs at tmp_path/disk."""
    path = tmp_path / "disk"
    path.mkdir()
    result = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=48m", "tmpfs", str(path)],
                            capture_output=True, text=True)
    if result.returncode:
        pytest.skip(f"cannot mount a tmpfs here (needs root): {result.stderr.strip()}")
    yield path
    subprocess.run(["umount", "-l", str(path)], check=False)


def fill(folder):
    """Fills the file system of `folder` to the last byte; -> the filler's path."""
    path = os.path.join(folder, "filler")
    with open(path, "wb", buffering=0) as f:
        for size in (1 << 20, 1 << 12, 1):
            try:
                while True:
                    f.write(b"\0" * size)
            except OSError as e:
                assert e.errno == errno.ENOSPC
    return path


class FillAt(keras.callbacks.Callback):
    """Fills the disk at the end of the last step of epoch `epoch` (before its report)."""

    def __init__(self, folder, epoch):
        super().__init__()
        self.folder, self.epoch = folder, epoch

    def on_epoch_begin(self, epoch, logs=None):
        self.current = epoch

    def on_train_batch_end(self, batch, logs=None):
        if self.current == self.epoch and batch + 1 == self.params["steps"]:
            self.filler = fill(self.folder)


def steps_by_tag(summary_dir):
    """{tag: [steps]} of every scalar in a run's event files, in file order."""
    steps = {}
    for path in sorted(glob.glob(os.path.join(summary_dir, "events.out.tfevents.*"))):
        for record in tf.data.TFRecordDataset(path):
            event = tf.compat.v1.Event.FromString(record.numpy())
            for value in event.summary.value:
                if value.metadata.plugin_data.plugin_name == "scalars":
                    steps.setdefault(value.tag, []).append(event.step)
    return steps


def new_model(lines32):
    keras.utils.set_random_seed(1)
    return registry.build("baseline", lines32, dict(SMALL))


def test_a_disk_full_during_a_report_is_one_line_and_the_rerun_is_clean(disk, lines32):
    model = new_model(lines32)
    run = registry.new_run(model, lines32, str(disk))
    settings = dict(batch=32, seed=1, report_kimg=1, total_kimg=3)
    filler = FillAt(str(disk), epoch=1)
    with pytest.raises((RunError, OSError)) as caught:
        train_in(model, lines32, run, callbacks=[filler], **settings)
    message = str(caught.value)
    assert "No space left on device" in message or "no space" in message.lower(), message
    assert run.path in message, message  # The file or folder it could not write.
    assert len(message.splitlines()) == 1
    os.remove(filler.filler)
    keras.backend.clear_session()
    model = new_model(lines32)
    train_in(model, lines32, registry.new_run(model, lines32, str(disk)), **settings)
    assert [entry["kimg"] for entry in read_metrics(run.path)] == [1, 2, 3]
    assert checkpoint.kimg_done(run.path) == 3
    leftovers = [p for p in glob.glob(os.path.join(run.path, "**", "*"), recursive=True)
                 if keras_compat.CHECKPOINT_TEMP_SUFFIX in p or p.endswith(".tmp")]
    assert not leftovers
    events = glob.glob(os.path.join(run.summary_dir, "events.out.tfevents.*"))
    assert all(os.path.getsize(p) > 0 for p in events)
    steps = steps_by_tag(run.summary_dir)
    assert steps and all(s == [1, 2, 3] for s in steps.values()), steps


def test_a_disk_full_at_the_start_names_the_file_and_leaves_nothing(disk, lines32):
    model = new_model(lines32)
    run = registry.new_run(model, lines32, str(disk))
    os.makedirs(run.path)
    filler = fill(str(disk))
    with pytest.raises((RunError, OSError)) as caught:
        train_in(model, lines32, run, batch=32, seed=1, report_kimg=1, total_kimg=1)
    assert "No space left on device" in str(caught.value)
    assert run.path in str(caught.value), str(caught.value)
    assert not glob.glob(os.path.join(run.path, "**", "*.tmp"), recursive=True)
    assert not glob.glob(os.path.join(run.path, "**", ".*.tmp"), recursive=True)
    os.remove(filler)
    train_in(model, lines32, run, batch=32, seed=1, report_kimg=1, total_kimg=1)
    assert [entry["kimg"] for entry in read_metrics(run.path)] == [1]


def test_a_disk_full_during_an_export_keeps_the_previous_one(disk, lines32, tmp_path):
    model = new_model(lines32)
    run = registry.new_run(model, lines32, str(tmp_path / "runs"))
    train_in(model, lines32, run, batch=32, seed=1, report_kimg=1, total_kimg=1)
    out = str(disk / "export")
    export.export(model, out)
    before = sorted(os.listdir(out))
    filler = fill(str(disk))
    with pytest.raises((RunError, OSError)) as caught:
        export.export(model, out)
    assert "No space left on device" in str(caught.value) or "space" in str(caught.value)
    assert len(str(caught.value).splitlines()) == 1
    assert sorted(os.listdir(out)) == before
    assert [p for p in os.listdir(disk) if p not in ("export", "filler")] == []
    os.remove(filler)


def test_a_disk_full_while_a_checkpoint_is_written_is_one_line_and_leaves_none_half(
        disk, lines32, monkeypatch):
    model = new_model(lines32)
    run = registry.new_run(model, lines32, str(disk))
    settings = dict(batch=32, seed=1, report_kimg=1, total_kimg=2)
    save = checkpoint.Writer.save_report
    fillers = []

    def save_on_a_full_disk(self, kimg):
        if kimg == 2:
            fillers.append(fill(str(disk)))
        return save(self, kimg)

    monkeypatch.setattr(checkpoint.Writer, "save_report", save_on_a_full_disk)
    with pytest.raises(RunError, match=r"cannot write the checkpoint .*/ckpt/ckpt-2 \(No "
                                       r"space left on device\); the same command resumes "
                                       r"from ckpt-1"):
        train_in(model, lines32, run, **settings)
    assert not glob.glob(os.path.join(run.checkpoint_dir, "*_temp*"))
    assert checkpoint.kimg_done(run.path) == 1
    os.remove(fillers[0])
    monkeypatch.setattr(checkpoint.Writer, "save_report", save)
    keras.backend.clear_session()
    model = new_model(lines32)
    train_in(model, lines32, registry.new_run(model, lines32, str(disk)), **settings)
    assert [entry["kimg"] for entry in read_metrics(run.path)] == [1, 2]
    assert checkpoint.kimg_done(run.path) == 2
    assert all(s == [1, 2] for s in steps_by_tag(run.summary_dir).values())


def test_a_disk_full_while_results_are_added_to_tensorboard_is_one_line(disk, lines32):
    from acai.lib import hparams
    model = new_model(lines32)
    run = registry.new_run(model, lines32, str(disk))
    train_in(model, lines32, run, batch=32, seed=1, report_kimg=1, total_kimg=1)
    before = sorted(os.listdir(run.summary_dir))
    filler = fill(str(disk))
    with pytest.raises(RunError, match=r"cannot write TensorBoard events to .*summaries "
                                       r"\(No space left on device\)"):
        hparams.add_results(run.path, {"cluster_accuracy": 50.0})
    assert sorted(os.listdir(run.summary_dir)) == before
    os.remove(filler)
