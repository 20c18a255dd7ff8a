"""Training with `fit` in a run folder, and the training binary: reports, resume,
callbacks, clear errors, --help."""

import glob
import json
import os

import keras
import numpy as np
import pytest
import tensorflow as tf

from acai import registry
from acai.lib import device, training
from acai.lib.autoencoder import AutoEncoder
from acai.lib.evaluation import AutoEncoderEvaluation
from acai.lib.run import Run, RunError, dataset_dirname, read_metrics
from acai.models import ACAI, Baseline
from conftest import (SMALL, deadline, error_level_lines, run_module, start_module, train_in,
                      train_steps)


def make_run(tmp_path, model, config=None):
    config = config or {"model": "test", "lr": 1e-3}
    return Run(str(tmp_path), "lines32", model.experiment_name(), config)


def scalars_in(summary_dir):
    """{tag: {step: value}} of the scalars in a TensorBoard folder."""
    found = {}
    for path in glob.glob(os.path.join(summary_dir, "events.*")):
        for event in tf.compat.v1.train.summary_iterator(path):
            for value in event.summary.value:
                if value.metadata.plugin_data.plugin_name == "scalars":
                    found.setdefault(value.tag, {})[event.step] = float(
                        tf.make_ndarray(value.tensor))
    return found


@pytest.mark.slow
def test_train_reports_checkpoints_and_resumes(tmp_path, lines32):
    model = ACAI((32, 32, 1), 10, lr=1e-3, **SMALL)
    run = make_run(tmp_path, model)
    kwargs = dict(batch=32, report_kimg=1, seed=0, verbose=False)
    scalars = train_in(model, lines32, run, total_kimg=2,
                             evaluate=AutoEncoderEvaluation(model, lines32), **kwargs)
    for name in ("loss_ae", "loss_disc", "latent_accuracy", "mean_distance",
                 "mean_smoothness", "img_per_sec"):
        assert name in scalars
    assert os.path.exists(os.path.join(run.path, "config.json"))
    for grid in ("reconstruction", "interpolation", "slerp", "samples"):
        assert os.path.exists(os.path.join(run.image_dir, f"{grid}_000002.png"))
    logged = scalars_in(run.summary_dir)
    assert set(logged["loss_ae"]) == {1, 2} and set(logged["mean_distance"]) == {1, 2}
    steps_done = int(model.optimizer_ae.iterations)
    assert steps_done == 2 * 1024 // 32
    weights = [w.numpy() for w in model.trainable_variables]

    # A new process would build a fresh model: it resumes from kimg 2, weights and
    # optimiser state included, and trains on to kimg 3 only.
    resumed = ACAI((32, 32, 1), 10, lr=1e-3, **SMALL)
    resumed.compile()
    checkpoint = tf.train.Checkpoint(model=resumed)
    checkpoint.restore(tf.train.latest_checkpoint(run.checkpoint_dir)).expect_partial()
    for saved, restored in zip(weights, resumed.trainable_variables):
        np.testing.assert_array_equal(saved, restored.numpy())
    assert int(resumed.optimizer_ae.iterations) == steps_done
    fresh = ACAI((32, 32, 1), 10, lr=1e-3, **SMALL)
    train_in(fresh, lines32, run, total_kimg=3, **kwargs)
    assert int(fresh.optimizer_ae.iterations) == 3 * 1024 // 32
    assert set(scalars_in(run.summary_dir)["loss_ae"]) == {1, 2, 3}
    # At total_kimg it stops at once.
    assert train_in(fresh, lines32, run, total_kimg=3, **kwargs) == {}
    assert int(fresh.optimizer_ae.iterations) == 3 * 1024 // 32


def test_restart_with_another_configuration_is_refused(tmp_path):
    model = Baseline((32, 32, 1), 10, **SMALL)
    make_run(tmp_path, model, {"model": "baseline", "lr": 1e-4, "total_kimg": 4}).prepare()
    # Training longer is fine; another learning rate is not.
    make_run(tmp_path, model, {"model": "baseline", "lr": 1e-4, "total_kimg": 8}).prepare()
    with pytest.raises(RunError, match="lr: 0.0001 -> 0.001"):
        make_run(tmp_path, model, {"model": "baseline", "lr": 1e-3}).prepare()


def test_non_finite_loss_stops_with_a_clear_message(tmp_path, lines32):
    model = Baseline((32, 32, 1), 10, lr=1e6, **SMALL)  # Diverges at once.
    run = make_run(tmp_path, model)
    with pytest.raises(RunError, match=r"loss_ae.* not finite at kimg=1; no checkpoint was "
                       r"written: lower the learning rate"):
        train_in(model, lines32, run, batch=32, total_kimg=2, report_kimg=1,
                       verbose=False)
    assert not glob.glob(os.path.join(run.checkpoint_dir, "ckpt-*"))


def test_dataset_dirname():
    assert dataset_dirname("lines32") == "lines32"
    assert dataset_dirname("cifar10", ["horse", "bird"]) == "cifar10-horse-bird"
    assert dataset_dirname("folder:/data/pets/train/") == "folder-train"


def run_binary(*args):
    return run_module("acai.train", *args)


@pytest.mark.slow
def test_binary_end_to_end_and_bad_flags(tmp_path):
    result = run_binary("--model=baseline", "--dataset=lines32", "--latent_width=4",
                        "--depth=8", "--latent=8", f"--train_dir={tmp_path}",
                        "--total_kimg=1", "--report_kimg=1", "--batch=32", "--seed=1")
    assert result.returncode == 0, result.stderr[-2000:]
    assert "kimg=1 " in result.stderr and "latent_accuracy=" in result.stderr
    run_dir = tmp_path / "lines32" / "AEBaseline_depth8_latent8_scales3"
    config = json.loads((run_dir / "config.json").read_text())
    assert config["model"] == "baseline" and config["latent_width"] == 4
    # --precision=auto: the choice is said at the start and saved.
    assert f"Precision {config['precision']} (auto" in result.stderr
    assert config["precision"] == device.choose_precision("auto")[0]

    for flags, expected in [(["--latent_width=3"], "latent_width=3 must divide"),
                            (["--lr=nan"], "--lr must be a finite number"),
                            (["--model=nope"], "--model")]:  # Datasets: test_data.
        result = run_binary(f"--train_dir={tmp_path}", *flags)
        assert result.returncode != 0
        assert expected in result.stderr
        assert "Traceback" not in result.stderr


@pytest.mark.parametrize("flags, native", [
    ("fpu vme avx512f avx512_bf16 amx_tile", "avx512_bf16"),
    ("fpu vme amx_bf16 amx_tile", "amx_bf16"),
    ("fpu vme avx512f avx2", None),
    (None, None)])
def test_auto_precision_is_float32_on_a_cpu_and_names_native_bfloat16(tmp_path, flags,
                                                                      native):
    cpuinfo = tmp_path / "cpuinfo"
    if flags is not None:  # None: no /proc/cpuinfo (macOS, Windows)
        cpuinfo.write_text(f"processor\t: 0\nflags\t\t: {flags}\n\nprocessor\t: 1\n")
    if tf.config.list_physical_devices("GPU"):
        pytest.skip("auto looks at the GPU first")
    policy, why = device.choose_precision("auto", str(cpuinfo))
    assert policy == "float32"
    assert (f"natively ({native})" in why) == (native is not None), why
    assert device.choose_precision("float32", str(cpuinfo))[0] == "float32"
    with pytest.raises(RunError, match="unknown precision 'float8'"):
        device.choose_precision("float8", str(cpuinfo))


@pytest.mark.slow
def test_seed_repeats_a_run_report_after_report(tmp_path):
    """The same seed and flags give the same reports (op determinism on); another seed
    gives others."""
    flags = ["--model=baseline", "--dataset=lines32", "--latent_width=4", "--depth=8",
             "--latent=8", "--total_kimg=2", "--report_kimg=1", "--batch=32"]
    runs = {folder: start_module("acai.train", *flags, f"--train_dir={tmp_path / folder}",
                                 f"--seed={seed}")
            for folder, seed in (("a", 1), ("b", 1), ("c", 2))}  # Side by side.
    reports = {}
    for folder, process in runs.items():
        _, stderr = process.communicate(timeout=deadline(600))
        assert process.returncode == 0, stderr[-2000:]
        run_dir = tmp_path / folder / "lines32" / "AEBaseline_depth8_latent8_scales3"
        reports[folder] = [{k: v for k, v in entry.items() if k != "img_per_sec"}
                           for entry in read_metrics(str(run_dir))]
    assert [entry["kimg"] for entry in reports["a"]] == [1, 2]
    assert reports["b"] == reports["a"]
    assert reports["c"][0]["loss_ae"] != reports["a"][0]["loss_ae"]


# Models whose train steps tests/test_models.py and tests/test_baselines.py run under
# each mixed policy; the test below runs the others' (a new model is covered at once).
def tiny_config(name):
    if issubclass(registry.model_class(name), AutoEncoder):
        return dict(model=name, latent=8, depth=8, latent_width=4, lr=1e-3, z_log_size=10)
    return dict(model=name, depth=4, z_dim=16, lr=2e-4)


@pytest.mark.slow
@pytest.mark.parametrize("policy", ["mixed_bfloat16", "mixed_float16"])
@pytest.mark.parametrize("name", list(registry.models()))
def test_every_model_under_mixed_precision(policy, name, lines32):
    """Every model of the registry trains under both mixed policies: finite losses,
    float32 variables, loss scaling for float16 only."""
    keras.mixed_precision.set_global_policy(policy)
    model = registry.build(name, lines32, tiny_config(name))
    model.compile()
    optimizers = [value for value in vars(model).values()
                  if isinstance(value, keras.optimizers.Optimizer)]
    assert optimizers
    for optimizer in optimizers:  # Loss scaling for float16 only.
        assert isinstance(optimizer, keras.optimizers.LossScaleOptimizer) == (
            policy == "mixed_float16"), (name, optimizer.name)
    history = train_steps(model, lines32, 2)
    assert history and all(np.isfinite(v) for h in history for v in h.values()), history
    assert all(v.dtype == "float32" for v in model.weights)
    if isinstance(model, AutoEncoder):
        assert model.decode(model.encode(tf.zeros([1, 32, 32, 1]))).dtype == tf.float32


# --- Keras fit from Python, and the run's callbacks ------------------------------------

class Recorder(keras.callbacks.Callback):
    """A user's callback: keeps what every epoch end saw."""

    def __init__(self):
        super().__init__()
        self.epochs = []

    def on_epoch_end(self, epoch, logs=None):
        self.epochs.append((epoch, dict(logs or {})))


def test_fit_from_python_on_unlabelled_images_with_a_callback(lines32):
    """A model compiled and trained by model.fit on a plain tf.data of images changes
    its weights, lowers its loss, and calls the user's callback every epoch."""
    model = ACAI((32, 32, 1), lr=1e-3, **SMALL)  # No classes: no latent probe.
    model.compile()
    images = lines32.train(32, seed=0).map(lambda x, label: x)
    before = [w.numpy().copy() for w in model.trainable_weights]
    recorder = Recorder()
    history = model.fit(images, epochs=4, steps_per_epoch=40, verbose=0,
                        callbacks=[recorder])
    assert [epoch for epoch, _ in recorder.epochs] == [0, 1, 2, 3]
    losses = history.history["loss_ae"]
    assert losses[-1] < 0.5 * losses[0], losses
    assert set(history.history) == set(ACAI.LOSSES)
    assert all(not np.array_equal(a, b.numpy())
               for a, b in zip(before, model.trainable_weights))
    assert int(model.optimizer_disc.iterations) == 160


def test_train_gives_user_callbacks_the_reports(tmp_path, lines32):
    """training.train runs fit with one epoch per report; a user's callback comes after
    the run's own, so its logs hold the kimg and the evaluations."""
    model = Baseline((32, 32, 1), 10, lr=1e-3, **SMALL)
    recorder = Recorder()
    train_in(model, lines32, make_run(tmp_path, model), batch=32, total_kimg=2,
                   report_kimg=1, seed=0, verbose=False, callbacks=[recorder],
                   evaluate=AutoEncoderEvaluation(model, lines32))
    assert [epoch for epoch, _ in recorder.epochs] == [0, 1]
    for kimg, (_, logs) in enumerate(recorder.epochs, 1):
        assert logs["kimg"] == kimg
        assert {"loss_ae", "latent_accuracy", "mean_distance", "img_per_sec"} <= set(logs)


def test_stopping_mid_report_writes_an_interrupted_checkpoint(tmp_path, lines32):
    """A callback that stops training between reports (as a signal does) leaves a
    checkpoint at the images seen; the next train call finishes that report period
    (a short epoch) and goes on on the report grid."""
    class StopAt(keras.callbacks.Callback):
        def on_train_batch_begin(self, batch, logs=None):
            if batch == 9:
                self.model.stop_training = True

    model = Baseline((32, 32, 1), 10, lr=1e-3, **SMALL)
    run = make_run(tmp_path, model)
    kwargs = dict(batch=32, report_kimg=1, seed=0, verbose=False, evaluate=None)
    train_in(model, lines32, run, total_kimg=2, callbacks=[StopAt()], **kwargs)
    latest = tf.train.latest_checkpoint(run.checkpoint_dir)
    assert latest.endswith("interrupted-320")  # 10 steps of 32 images.
    assert read_metrics(run.path) == []
    fresh = Baseline((32, 32, 1), 10, lr=1e-3, **SMALL)
    recorder = Recorder()
    train_in(fresh, lines32, run, total_kimg=2, callbacks=[recorder], **kwargs)
    assert [logs["kimg"] for _, logs in recorder.epochs] == [1, 2]
    assert int(fresh.optimizer_ae.iterations) == 2 * 1024 // 32
    assert [entry["kimg"] for entry in read_metrics(run.path)] == [1, 2]


def test_epochs_from_follow_the_report_grid():
    """(first epoch, epochs, steps) of each fit call."""
    assert training.epochs_from(0, 4096, 1024, 64) == [(0, 4, 16)]
    # Resumed between reports: the rest of that period first.
    assert training.epochs_from(1536, 4096, 1024, 64) == [(1, 1, 8), (2, 2, 16)]
    # A total that is not a whole number of periods ends with a short epoch.
    assert training.epochs_from(0, 3072, 2048, 64) == [(0, 1, 32), (1, 1, 16)]
    assert training.epochs_from(4096, 4096, 1024, 64) == []


# --- The binary's help and its console script ---------------------------------------

@pytest.mark.slow
def test_help_lists_the_binary_flags_with_the_model_defaults():
    result = run_module("acai.train", "--help")
    assert result.returncode == 0, result.stderr[-2000:]  # Help asked for is a success.
    assert "--model" in result.stdout, result.stderr[-2000:]
    for flag in ("--model", "--dataset", "--total_kimg", "--advweight", "--report_kimg",
                 "--lr", "--beta", "--z_dim"):
        assert flag in result.stdout, flag
    # Neither absl's nor TensorFlow's own flags.
    assert "--logtostderr" not in result.stdout and "--xla" not in result.stdout
    assert "python -m acai.train" in result.stdout or "acai-train" in result.stdout

    def default_of(flag, *args):
        text = run_module("acai.train", *args, "--help").stdout
        block = text[text.index(f"--{flag}:"):]
        return block[block.index("(default: '") + 11:].split("'")[0]

    assert default_of("beta", "--model=vae") == "1.0"
    assert default_of("beta", "--model=vqvae") == "10.0"
    assert default_of("lr", "--model=dcgan") == "0.0002"


@pytest.mark.slow
def test_console_script_trains(tmp_path):
    """`acai-train` is installed by `pip install -e .` (setup.py's console scripts)."""
    import shutil
    import subprocess
    import sys
    script = (shutil.which("acai-train")
              or os.path.join(os.path.dirname(sys.executable), "acai-train"))
    assert os.path.exists(script), "acai-train is not installed: pip install -e ."
    result = subprocess.run([script, "--model=acai", "--dataset=lines32", "--latent_width=4",
                             "--depth=8", "--latent=8", "--batch=32", "--total_kimg=1",
                             "--report_kimg=1", f"--train_dir={tmp_path}"],
                            capture_output=True, text=True, timeout=deadline(300))
    assert result.returncode == 0, result.stderr[-2000:]
    run_dir = tmp_path / "lines32" / "ACAI_advdepth8_advweight0.5_depth8_latent8_reg0.2_scales3"
    assert [entry["kimg"] for entry in read_metrics(str(run_dir))] == [1]
    helped = subprocess.run([script, "--help"], capture_output=True, text=True,
                            timeout=deadline(120))
    assert helped.returncode == 0 and "acai-train" in helped.stdout
    # Nothing alarming on a machine without a GPU: TensorFlow's "failed call to cuInit"
    # is one INFO line, TensorFlow's own INFO records (checkpoint sharding) are left out.
    if not device.has_gpu_device_node():
        assert error_level_lines(result.stderr + helped.stderr) == []
    assert "Sharding callback" not in result.stderr
    # Each trainer's --help starts with its own description (they used to show
    # acai-train's).
    for name, start in (("gan-train", "Trains a GAN"),
                        ("vae-train", "Trains the paper's VAE baseline")):
        other = os.path.join(os.path.dirname(script), name)
        helped = subprocess.run([other, "--help"], capture_output=True, text=True,
                                timeout=deadline(120))
        assert helped.returncode == 0 and helped.stdout.lstrip().startswith(start), \
            helped.stdout[:200]
