"""The autoencoders learn what their losses say, under every precision policy."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from acai.models import ACAI, Baseline
from acai.registry import MODELS
from conftest import SMALL, mean_of, train_steps

first = lambda h: h[:20]  # noqa: E731
last = lambda h: h[-20:]  # noqa: E731


def test_baseline_lowers_its_reconstruction_loss(lines32):
    model = Baseline((32, 32, 1), 10, lr=1e-3, **SMALL)
    history = train_steps(model, lines32, 200)
    assert mean_of(history, "loss_ae", last) < 0.5 * mean_of(history, "loss_ae", first)


@pytest.mark.slow
def test_acai_critic_learns_and_autoencoder_reconstructs(lines32):
    model = ACAI((32, 32, 1), 10, lr=1e-3, **SMALL)
    history = train_steps(model, lines32, 200)
    assert mean_of(history, "loss_disc", last) < 0.8 * mean_of(history, "loss_disc", first)
    assert mean_of(history, "loss_ae", last) < 0.5 * mean_of(history, "loss_ae", first)
    assert all(np.isfinite(v) for h in history for v in h.values())


@pytest.mark.slow
def test_latent_probe_learns_from_an_informative_latent(lines32):
    """The probe must rise above chance when the code carries the class."""
    model = Baseline((32, 32, 1), 10, lr=3e-3, **SMALL)
    train_steps(model, lines32, 300, batch=64)
    x, label = next(iter(lines32.test(1000)))
    accuracy = np.mean(model.classify_latent(x).numpy() == label.numpy())
    assert accuracy > 0.2


def test_acai_defaults_and_experiment_name():
    model = ACAI((32, 32, 1), 10, latent=16, depth=16, latent_width=2)
    assert (model.advweight, model.reg, model.advdepth, model.critic_depth) == (0.5, 0.2, 0, 16)
    assert model.experiment_name() == (
        "ACAI_advdepth16_advweight0.5_depth16_latent16_reg0.2_scales4")
    assert Baseline((32, 32, 1), 10, latent=16, depth=16, latent_width=2).experiment_name() == (
        "AEBaseline_depth16_latent16_scales4")
    assert set(MODELS) >= {"acai", "baseline"}


@pytest.mark.parametrize("policy", ["mixed_bfloat16", "mixed_float16"])
@pytest.mark.parametrize("model_class", [Baseline, ACAI])
def test_train_step_under_mixed_precision(policy, model_class, lines32):
    keras.mixed_precision.set_global_policy(policy)
    model = model_class((32, 32, 1), 10, lr=1e-3, **SMALL)
    history = train_steps(model, lines32, 3)
    assert all(np.isfinite(v) for h in history for v in h.values())
    assert all(v.dtype == "float32" for v in model.trainable_variables)
    assert model.encode(tf.zeros([1, 32, 32, 1])).dtype == policy.split("_")[1]
    assert model.decode(model.encode(tf.zeros([1, 32, 32, 1]))).dtype == tf.float32
    if policy == "mixed_float16":
        assert isinstance(model.optimizer_ae, keras.optimizers.LossScaleOptimizer)
