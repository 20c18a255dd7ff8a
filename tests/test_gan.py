"""The GANs: each update moves only its own network, the losses are the papers', spectral
normalisation bounds the discriminator, conditioning works, and gan.train runs."""

import json
import os
import subprocess
import sys
import warnings

import keras
import numpy as np
import pytest
import tensorflow as tf
import tensorflow_datasets as tfds

from acai.lib import data
from acai import registry
from conftest import deadline, REPO, train_steps
from gan.models import DCGAN, SNGAN
from gan.models.dcgan import cross_entropy
from gan.spectral_norm import SNDense, spectral_layers

TINY = dict(depth=4, lr=2e-4, z_dim=None)


def build(name, spec, config):
    """The model, compiled (its optimisers exist: its steps may be called)."""
    model = registry.build(name, spec, config)
    model.compile()
    return model


def values(variables):
    return [v.numpy().copy() for v in variables]


def changed(before, variables):
    return [not np.array_equal(b, v.numpy()) for b, v in zip(before, variables)]


def kernels(model):
    return [v for v in model.discriminator.trainable_variables if "kernel" in v.path]


@pytest.fixture(scope="module")
def cifar_mock():
    with tfds.testing.mock_data(num_examples=64):
        spec = data.get_dataset("cifar10")
        batches = [(x, y) for x, y in spec.train(16, seed=0).take(24)]
    return spec, batches


@pytest.mark.parametrize("name", ["dcgan", "sngan"])
def test_each_step_moves_only_its_network(name, cifar_mock):
    spec, batches = cifar_mock
    model = build(name, spec, TINY)
    x, _ = batches[0]
    gen, disc = model.generator.trainable_variables, model.discriminator.trainable_variables
    before_gen, before_disc = values(gen), values(disc)
    model.discriminator_step(x)
    assert not any(changed(before_gen, gen)), "the D step changed G"
    # (Every kernel moves; the hinge loss's gradient on the logit's bias is 0 while all
    # outputs lie inside the margin.)
    kernels = [c for c, v in zip(changed(before_disc, disc), disc) if "kernel" in v.path]
    assert len(kernels) >= 3 and all(kernels)

    before_disc, before_gen = values(disc), values(gen)
    before_power = values(power_vectors(model))
    model.generator_step(16)
    assert all(changed(before_gen, gen))
    # The G step leaves D alone, its power iteration (u, v) included, exactly.
    assert not any(changed(before_disc, disc)), "the G step changed D"
    assert not any(changed(before_power, power_vectors(model)))
    if name == "sngan":  # The D step advanced it (a 1-vector is +-1 for ever).
        model.discriminator_step(x)
        assert all(c for c, v in zip(changed(before_power, power_vectors(model)),
                                     power_vectors(model)) if v.shape[-1] > 1)


def power_vectors(model):
    return [v for v in model.discriminator.weights if v.path.endswith(("sn_u", "sn_v"))]


def test_spectral_normalisation_divides_by_the_largest_singular_value(cifar_mock):
    spec, _ = cifar_mock
    model = build("sngan", spec, TINY)
    layers = spectral_layers(model.discriminator)
    assert len(layers) == len(kernels(model)) == 8
    def top_singular_value(kernel):
        return np.linalg.svd(kernel.reshape(-1, kernel.shape[-1]), compute_uv=False)[0]

    for variable in kernels(model):  # Sigma 5, far from 1: the normalisation undoes it.
        variable.assign(variable * (5.0 / top_singular_value(variable.numpy())))
    iterate = tf.function(lambda: [layer.power_iteration() for layer in layers])
    for _ in range(500):  # The power iterations of 500 D updates: converged.
        iterate()
    for layer in layers:
        sigma = top_singular_value(layer.normalized_kernel().numpy())
        assert abs(sigma - 1.0) < 1e-3, layer.name
        # The variable keeps the raw W.
        assert abs(top_singular_value(layer.kernel.numpy()) - 5.0) < 1e-3, layer.name


def test_spectral_normalisation_gradient_has_the_sigma_term():
    """dL/dW for y = x W / sigma, sigma = v W u^T (u, v constant), by hand:
    (G - <G, W> / sigma v^T u) / sigma with G = x^T dL/dy."""
    layer = SNDense(5, use_bias=False, sn_seed=1)
    layer.build((None, 7))
    x = np.random.RandomState(0).standard_normal((3, 7)).astype(np.float32)
    r = np.random.RandomState(1).standard_normal((3, 5)).astype(np.float32)
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(layer(x) * r)
    gradient = tape.gradient(loss, layer.trainable_variables[0]).numpy()
    w, u, v = layer.kernel.numpy(), layer.sn_u.numpy(), layer.sn_v.numpy()
    sigma = (v @ w @ u.T).item()
    g = x.T @ r
    by_hand = (g - np.sum(g * w) / sigma * v.T @ u) / sigma
    np.testing.assert_allclose(gradient, by_hand, rtol=1e-4, atol=1e-5)
    # Without the sigma term (what keras.layers.SpectralNormalization gives) it differs.
    assert np.abs(gradient - g / sigma).max() > 1e-2


@pytest.mark.parametrize("policy", ["mixed_float16", "mixed_bfloat16"])
def test_spectral_normalisation_under_mixed_precision_warns_of_nothing(policy, cifar_mock):
    keras.mixed_precision.set_global_policy(policy)
    spec, batches = cifar_mock
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = build("sngan", spec, TINY)
        model.train_step(batches[0])
        output = model.disc(batches[0][0], training=True)
    assert not [w for w in caught if "overflow" in str(w.message)]
    assert np.isfinite(output.numpy()).all()
    for layer in spectral_layers(model.discriminator):
        assert layer.sn_u.dtype == "float32" and layer.kernel.dtype == "float32"


@pytest.mark.parametrize("name", ["dcgan", "sngan"])
def test_short_run_lowers_the_discriminator_loss(name, cifar_mock):
    """D's steps alone (G fixed) lower its loss; the whole steps (D and G, the GAN game,
    whose D loss need not fall in a few steps) stay finite."""
    spec, batches = cifar_mock
    model = build(name, spec, dict(TINY, depth=8, lr=1e-3))
    step = tf.function(lambda batch: model.discriminator_step(batch[0])[0])
    losses = [float(step(batch)) for batch in batches]
    assert np.mean(losses[-6:]) < 0.85 * np.mean(losses[:3]), losses
    whole = tf.function(model.train_step)
    logs = [whole(batch) for batch in batches[:4]]
    assert all(np.isfinite(float(v)) for entry in logs for v in entry.values()), logs


def test_losses_are_the_papers():
    real, fake = tf.constant([3.0, -1.0, 0.5]), tf.constant([-2.0, 0.5, 1.5])
    bce = lambda p, t: np.mean(-t * np.log(1 / (1 + np.exp(-p)))
                               - (1 - t) * np.log(1 - 1 / (1 + np.exp(-p))))
    dcgan = DCGAN((32, 32, 3), 10, depth=4, label_smoothing=0.1)
    np.testing.assert_allclose(float(dcgan.loss_disc(real, fake)),
                               bce(real.numpy(), 0.9) + bce(fake.numpy(), 0.0), rtol=1e-5)
    np.testing.assert_allclose(float(dcgan.loss_gen(fake)), bce(fake.numpy(), 1.0),
                               rtol=1e-5)
    np.testing.assert_allclose(float(cross_entropy(tf.constant([50.0]), 1.0)), 0, atol=1e-6)
    sngan = SNGAN((32, 32, 3), 10, depth=4)
    # Hinge: zero once real >= 1 and fake <= -1, linear inside the margin.
    assert float(sngan.loss_disc(tf.constant([1.0, 2.0]), tf.constant([-1.0, -3.0]))) == 0
    np.testing.assert_allclose(float(sngan.loss_disc(real, fake)),
                               np.mean([0, 2, 0.5]) + np.mean([0, 1.5, 2.5]), rtol=1e-6)
    np.testing.assert_allclose(float(sngan.loss_gen(fake)), 0.0, atol=1e-6)


@pytest.mark.parametrize("name", ["dcgan", "sngan"])
def test_conditional_generator_depends_on_the_label(name):
    model = build(name, data.get_dataset("lines32"), dict(TINY, conditional=True))
    z = tf.random.normal((4, model.z_dim), seed=1)
    a = model.generate(z, tf.zeros(4, tf.int32)).numpy()
    b = model.generate(z, tf.fill([4], 3)).numpy()
    # (DCGAN's N(0, 0.02) initialisation makes an untrained G's output tiny.)
    assert np.abs(a - b).mean() > 1e-2 * np.abs(a).mean()
    # A class vector is the same input as its index, and a mix lies between.
    np.testing.assert_allclose(model.generate(z, tf.one_hot([0] * 4, 10)).numpy(), a,
                               atol=1e-6)
    assert model.generate(z, tf.one_hot([0] * 4, 10) * 0.5 + tf.one_hot([3] * 4, 10) * 0.5
                          ).shape == a.shape
    # The discriminator's output depends on the label too.
    x = model.generate(z, tf.zeros(4, tf.int32))
    assert not np.allclose(model.disc(x, tf.zeros(4, tf.int32)).numpy(),
                           model.disc(x, tf.fill([4], 3)).numpy())


@pytest.mark.parametrize("model_class", [DCGAN, SNGAN])
def test_every_weight_starts_from_the_papers_normal(model_class):
    """Radford et al. and the SN-GAN authors' code (chainer-gan-lib) draw every weight of
    both networks from N(0, 0.02), not from Keras' Glorot default (0.03-0.11 here)."""
    model = model_class((32, 32, 3), depth=16)
    weights = [v for net in (model.generator, model.discriminator)
               for v in net.trainable_variables if "kernel" in v.path]
    assert len(weights) >= 6
    for v in weights:
        w = v.numpy()
        assert abs(w.std() - 0.02) < 0.003 and abs(w.mean()) < 0.003, (v.path, w.std())


@pytest.mark.parametrize("model_class", [DCGAN, SNGAN])
def test_the_seed_fixes_the_start_and_every_layer_draws_its_own(model_class):
    """The same seed gives the same weights, another seed others, whatever the process
    drew before; no two layers start from the same values (one shared initializer gave
    every kernel of a shape the same start)."""
    def kernels(seed):
        keras.utils.set_random_seed(int(np.random.default_rng().integers(1 << 30)))
        model = model_class((32, 32, 3), 10, depth=8, seed=seed)
        return [v.numpy() for net in (model.generator, model.discriminator)
                for v in net.trainable_variables if "kernel" in v.path]

    first, again, other = kernels(1), kernels(1), kernels(2)
    assert len(first) >= 6
    for a, b in zip(first, again):
        np.testing.assert_array_equal(a, b)
    assert all(not np.array_equal(a, c) for a, c in zip(first, other))
    flat = [k.ravel()[:64] for k in first]
    assert all(not np.array_equal(flat[i], flat[j])
               for i in range(len(flat)) for j in range(i))


def test_n_critic_updates_the_generator_every_n_steps(lines32):
    model = build("sngan", lines32, dict(TINY, n_critic=3))
    history = train_steps(model, lines32, 7, batch=8)
    assert int(model.optimizer_disc.iterations) == 7
    assert int(model.optimizer_gen.iterations) == 2  # After D steps 3 and 6.
    assert all(np.isfinite(h["loss_disc"]) for h in history)


def test_sngan_settings_are_the_papers_and_explicit_values_win():
    """SN-GAN's Table 1 settings set lr, Adam's betas and n_critic; a value given
    explicitly overrides its setting's; settings other than C name their runs."""
    expected = {"A": (1e-4, 0.5, 0.9, 5), "B": (1e-4, 0.5, 0.999, 1),
                "C": (2e-4, 0.5, 0.999, 1)}
    for setting, values in expected.items():
        model = SNGAN((32, 32, 3), setting=setting, depth=4)
        assert (model.lr, model.adam_beta1, model.adam_beta2, model.n_critic) == values
    assert SNGAN((32, 32, 3), depth=4).setting == "C"
    mixed = SNGAN((32, 32, 3), setting="A", lr=3e-4, n_critic=2, depth=4)
    assert (mixed.lr, mixed.adam_beta2, mixed.n_critic) == (3e-4, 0.9, 2)
    names = {s: SNGAN((32, 32, 3), setting=s, depth=4).experiment_name() for s in "ABC"}
    assert len(set(names.values())) == 3 and "setting" not in names["C"], names
    with pytest.raises(ValueError, match="setting"):
        SNGAN((32, 32, 3), setting="D")


FLAGS_CONFIG = r"""
import json, sys
from absl import flags
from acai import registry
from flags import training
training.define(registry.models(), "dcgan", sys.argv)
flags.FLAGS(sys.argv)
from acai.lib import data
model = registry.build(flags.FLAGS.model, data.get_dataset("lines32"),
                       training.config(registry.models(), flags.FLAGS))
print("RESULT", json.dumps([model.lr, model.adam_beta2, model.n_critic]))
"""


@pytest.mark.slow
def test_sngan_setting_flag_gives_defaults_the_command_line_overrides():
    def built(*args):
        result = subprocess.run([sys.executable, "-c", FLAGS_CONFIG, "--model=sngan",
                                 "--depth=4", *args], cwd=REPO, capture_output=True,
                                text=True, timeout=deadline(120))
        assert result.returncode == 0, result.stderr[-2000:]
        line, = [l for l in result.stdout.splitlines() if l.startswith("RESULT ")]
        return json.loads(line[len("RESULT "):])

    assert built("--setting=A") == [1e-4, 0.9, 5]
    assert built("--setting=A", "--lr=3e-4", "--n_critic=1") == [3e-4, 0.9, 1]
    assert built() == [2e-4, 0.999, 1]


@pytest.mark.slow
def test_gan_train_binary_runs_resumes_and_draws(tmp_path):
    args = [sys.executable, "-m", "gan.train", "--dataset=lines32", "--depth=4",
            "--conditional", f"--train_dir={tmp_path}", "--report_kimg=1", "--batch=32",
            "--seed=1"]
    for total in (1, 2):
        result = subprocess.run(args + [f"--total_kimg={total}"], cwd=REPO,
                                capture_output=True, text=True, timeout=deadline(300))
        assert result.returncode == 0, result.stderr[-2000:]
    (run,) = [os.path.join(tmp_path, "lines32", d) for d in os.listdir(tmp_path / "lines32")]
    assert os.path.basename(run) == "DCGAN_conditional1_depth4_n_critic1_z_dim100"
    with open(os.path.join(run, "config.json")) as f:
        config = json.load(f)
    assert (config["model"], config["lr"], config["z_dim"]) == ("dcgan", 2e-4, 100)
    with open(os.path.join(run, "metrics.jsonl")) as f:
        reports = [json.loads(line) for line in f]
    assert [r["kimg"] for r in reports] == [1, 2]
    assert {"loss_disc", "loss_gen", "d_real", "d_fake", "img_per_sec"} <= set(reports[0])
    for name in ("images/samples_000001.png", "images/samples_000002.png", "curves.png"):
        assert os.path.exists(os.path.join(run, name)), name
    bad = subprocess.run(args[:3] + ["--model=dcgan", "--n_critic=0"], cwd=REPO,
                         capture_output=True, text=True, timeout=deadline(120))
    assert bad.returncode != 0 and "n_critic" in bad.stderr


def test_sample_is_seeded_and_takes_the_class():
    """GAN.sample(count, seed): the same images for the same seed, others for another;
    a conditional model's images depend on the class asked for."""
    spec = data.get_dataset("lines32")
    model = build("dcgan", spec, dict(TINY, conditional=True))
    images, z = model.sample(6, seed=1)
    assert tuple(images.shape) == (6, 32, 32, 1) and tuple(z.shape) == (6, 100)
    np.testing.assert_array_equal(images, model.sample(6, seed=1)[0])
    assert not np.allclose(z, model.sample(6, seed=2)[1])
    zeros, _ = model.sample(6, seed=1, label=np.zeros(6, np.int64))
    ones, _ = model.sample(6, seed=1, label=np.ones(6, np.int64))
    assert not np.allclose(zeros, ones)


@pytest.mark.slow
def test_gan_train_with_a_seed_repeats_its_reports(tmp_path):
    """gan-train --seed=1 twice: the same metrics.jsonl, timings aside."""
    reports = []
    for attempt in ("a", "b"):
        result = subprocess.run(
            [sys.executable, "-m", "gan.train", "--model=dcgan", "--dataset=lines32",
             "--depth=4", "--z_dim=16", "--batch=32", "--seed=1", "--total_kimg=2",
             "--report_kimg=1", f"--train_dir={tmp_path / attempt}"], cwd=REPO,
            capture_output=True, text=True, timeout=deadline(300))
        assert result.returncode == 0, result.stderr[-2000:]
        path = tmp_path / attempt / "lines32" / "DCGAN_depth4_n_critic1_z_dim16" / "metrics.jsonl"
        lines = [json.loads(line) for line in path.read_text().splitlines()]
        reports.append([{k: v for k, v in line.items() if k != "img_per_sec"}
                        for line in lines])
    assert len(reports[0]) == 2 and reports[0] == reports[1]
