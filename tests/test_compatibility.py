"""What older code wrote still works, and a new model is one file and one line.

tests/data/legacy_runs holds two tiny run folders written before the toolkit was
restructured (`acai-train --model=acai` and `gan-train --model=dcgan`, lines32, depth 4,
1 kimg, seed 1), with outputs of their models computed then (expected.npz).
"""

import json
import os
import shutil

import keras
import numpy as np
import pytest
import tensorflow as tf

from acai import lines_benchmark, registry
from acai.lib import checkpoint, export
from acai.lib.autoencoder import AutoEncoder
from acai.lib.model import mean_squared_error, minimize, unpack
from acai.lib.params import Param
from acai.lib.run import read_metrics
from conftest import REPO, SMALL, run_module, train_in, train_steps
from flags import training as training_flags

LEGACY = os.path.join(REPO, "tests", "data", "legacy_runs")
ACAI_RUN = os.path.join("lines32", "ACAI_advdepth4_advweight0.5_depth4_latent4_reg0.2_scales3")
DCGAN_RUN = os.path.join("lines32", "DCGAN_depth4_n_critic1_z_dim8")


@pytest.fixture
def legacy(tmp_path):
    """A copy of the legacy runs (a run folder is written to when it resumes)."""
    shutil.copytree(LEGACY, tmp_path / "runs")
    return tmp_path / "runs"


def test_legacy_runs_load_with_the_outputs_they_had(legacy):
    expected = np.load(legacy / "expected.npz")
    model, spec, config = registry.load_run(str(legacy / ACAI_RUN))
    assert config["model"] == "acai" and model.experiment_name() == os.path.basename(ACAI_RUN)
    np.testing.assert_allclose(model.ae(expected["images"]), expected["ae"], atol=1e-6)
    gan, _, _ = registry.load_run(str(legacy / DCGAN_RUN))
    np.testing.assert_allclose(gan.generator(expected["z"], training=False),
                               expected["generated"], atol=1e-6)
    scalars, images = model.evaluation(spec, None)()  # A report, as training makes one.
    assert 0 <= scalars["latent_accuracy"] <= 100 and scalars["mean_distance"] > 0
    assert images["reconstruction"].shape[-1] == 1
    assert checkpoint.kimg_done(str(legacy / ACAI_RUN)) == 1
    assert checkpoint.saved_config(str(legacy / ACAI_RUN / "ckpt"))["model"] == "acai"


def test_legacy_runs_export(legacy, tmp_path):
    expected = np.load(legacy / "expected.npz")
    model, _, _ = registry.load_run(str(legacy / ACAI_RUN))
    export.export(model, str(tmp_path / "acai_export"))
    loaded = tf.saved_model.load(str(tmp_path / "acai_export"))
    np.testing.assert_allclose(
        loaded.reconstruct(tf.constant(expected["images"]))["reconstructions"],
        expected["ae"], atol=1e-5)


@pytest.mark.slow
@pytest.mark.parametrize("module, run, flags", [
    ("acai.train", ACAI_RUN, ["--model=acai", "--latent_width=4", "--depth=4", "--latent=4"]),
    ("gan.train", DCGAN_RUN, ["--model=dcgan", "--depth=4", "--z_dim=8"]),
])
def test_legacy_runs_resume_with_their_command(legacy, module, run, flags):
    before = read_metrics(str(legacy / run))
    result = run_module(module, *flags, "--dataset=lines32", "--batch=32", "--seed=1",
                        f"--train_dir={legacy}", "--total_kimg=2", "--report_kimg=1")
    assert result.returncode == 0, result.stderr[-2000:]
    assert f"Resumed {legacy / run} at kimg=1" in result.stderr
    assert "was missing" not in result.stderr  # A normal resume warns of nothing.
    after = read_metrics(str(legacy / run))
    assert [entry["kimg"] for entry in after] == [1, 2] and after[0] == before[0]
    assert checkpoint.images_seen(checkpoint.latest(str(legacy / run / "ckpt"))) == 2048


def test_run_folder_names_are_those_older_code_gave():
    """Experiment names (run folders) derived from the parameters' declarations are the
    names the hand-written experiment_params gave before."""
    names = {name: cls((32, 32, 1)).experiment_name()
             for name, cls in registry.models().items()}
    assert names == {
        "baseline": "AEBaseline_depth64_latent16_scales3",
        "denoising": "AEDenoising_depth64_latent16_noise1.0_scales3",
        "dropout": "AEDropout_depth64_dropout0.5_latent16_scales3",
        "vae": "VAE_beta1.0_depth64_latent16_scales3",
        "aae": "AAE_adversary_lr0.0001_depth64_disc_layer_sizes100,100_latent16_scales3",
        "vqvae": "AEVQVAE_beta10.0_depth64_latent16_num_latents10_scales3_z_log_size14",
        "acai": "ACAI_advdepth64_advweight0.5_depth64_latent16_reg0.2_scales3",
        "dcgan": "DCGAN_depth64_n_critic1_z_dim100",
        "sngan": "SNGAN_depth64_n_critic1_z_dim128",
    }
    model_class = registry.model_class
    assert model_class("dcgan")((32, 32, 3), 10, conditional=True, label_smoothing=0.1) \
        .experiment_name() == "DCGAN_conditional1_depth64_label_smoothing0.1_n_critic1_z_dim100"
    assert model_class("sngan")((32, 32, 3), setting="A").experiment_name() == \
        "SNGAN_depth64_n_critic5_settingA_z_dim128"
    assert model_class("vae")((32, 32, 1), latent_dim=32).experiment_name() == \
        "VAE_beta1.0_depth64_latent16_latent_dim32_scales3"
    assert model_class("acai")((32, 32, 1), advdepth=8).experiment_name() == \
        "ACAI_advdepth8_advweight0.5_depth64_latent16_reg0.2_scales3"


class Contractive(AutoEncoder):
    """A new model as a user would add one: this class (one file) and one line in the
    registry's MODELS. A reconstruction loss plus a penalty on the codes' size."""

    NAME = "AEContractive"
    PARAMS = (Param("penalty", 0.01, "Weight of the codes' squared size.", lower_bound=0.0,
                    in_name=True),)

    def train_step(self, data):
        x, label = unpack(data)
        with tf.GradientTape() as tape:
            encode = self.encode(x, training=True)
            loss_ae = mean_squared_error(x, self.decode(encode, training=True))
            loss = loss_ae + self.penalty * tf.reduce_mean(tf.square(
                tf.cast(encode, tf.float32)))
        minimize(self.optimizer_ae, tape, loss, self.ae_variables)
        self.train_latent_classifier(encode, label)
        return self.report(loss_ae=loss_ae)


def test_a_new_model_is_one_class_and_one_registry_line(monkeypatch, tmp_path, lines32):
    monkeypatch.setitem(registry.MODELS, "contractive", Contractive)  # The one line.
    model = registry.build("contractive", lines32, dict(SMALL, lr=1e-3, penalty=0.5))
    assert model.experiment_name() == "AEContractive_depth8_latent8_penalty0.5_scales3"
    # Its flag, the lines benchmark (Table 1) and the run folder know it with no edit.
    assert "contractive" in training_flags.model_params(registry.models(), "contractive")[
        "penalty"][1]
    assert lines_benchmark.lines_models()["contractive"] == AutoEncoder.LINES
    run = registry.new_run(model, lines32, str(tmp_path))
    train_in(model, lines32, run, batch=32, seed=0, total_kimg=1, report_kimg=1)
    assert [entry["kimg"] for entry in read_metrics(run.path)] == [1]
    loaded, _, config = registry.load_run(run.path)
    assert isinstance(loaded, Contractive) and config["penalty"] == 0.5
    # Under mixed precision too, with the same code.
    keras.mixed_precision.set_global_policy("mixed_float16")
    history = train_steps(registry.build("contractive", lines32, dict(SMALL)), lines32, 2)
    assert all(np.isfinite(v) for h in history for v in h.values())


@pytest.mark.slow
def test_the_pegasus_search_runs_from_python_on_a_gan(legacy, tmp_path):
    """gan.pegasus.search takes a Settings, as a notebook would call it; FLAGS play no
    part."""
    from gan import pegasus

    with pytest.raises(ValueError, match="give --run"):
        pegasus.search(pegasus.Settings(classes=("angle0", "angle1")))
    settings = pegasus.Settings(run=str(legacy / DCGAN_RUN), classes=("angle0", "angle1"),
                                count=64, top=4, real_images=40, ascent_steps=2, steps=3,
                                classifier_kimg=1, output=str(tmp_path / "out"))
    written = pegasus.search(settings)
    assert sorted(os.path.basename(path) for path in written) == [
        "best_strip.png", "comparison.png", "gan_ascent.png", "gan_samples.png",
        "pegasus.json"]
    summary = json.load(open(tmp_path / "out" / "pegasus.json"))
    assert summary["classes"] == ["angle0", "angle1"]
    assert summary["gan_samples"]["scored"] == 64
    scores = summary["gan_samples"]["best_scores"]
    assert len(scores) == 4 and scores == sorted(scores, reverse=True)
