"""The paper's other baselines: denoising, dropout, AAE, VAE and VQ-VAE autoencoders."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from acai import registry
from acai.lib.model import mean_squared_error
from acai.lib.params import declared
from acai.models import AAE, VQVAE, Denoising, Dropout
from acai.models.vqvae import VectorQuantizer, steps_until_in_reach
from conftest import SMALL, mean_of, train_steps
from vae.model import VAE, bernoulli_log_likelihood, kl_divergence

first = lambda h: h[:20]  # noqa: E731
last = lambda h: h[-20:]  # noqa: E731

BASELINES = {"denoising": Denoising, "dropout": Dropout, "aae": AAE, "vae": VAE,
             "vqvae": VQVAE}
# A smaller codebook keeps the VQ-VAE tests fast; the model is the same.
EXTRA = {"vqvae": dict(z_log_size=10)}


def small(name, **kwargs):
    """A small compiled model (its optimisers exist: train_step may be called)."""
    model = BASELINES[name]((32, 32, 1), 10, **SMALL, **{**EXTRA.get(name, {}), **kwargs})
    model.compile()
    return model


def batch(spec, size=32, seed=0):
    return next(iter(spec.train(size, seed=seed)))


def snapshot(variables):
    return [v.numpy().copy() for v in variables]


def test_registered_with_the_reference_defaults():
    """Each model declares its flags with the reference's defaults; --beta is the VAE's
    KL weight (1) and the VQ-VAE's commitment weight (10)."""
    for name, model_class in BASELINES.items():
        assert registry.MODELS[name] is model_class
    assert {p: declared(VQVAE)[p].default for p in ("z_log_size", "beta", "num_latents")} \
        == dict(z_log_size=14, beta=10.0, num_latents=10)
    assert {p: declared(VAE)[p].default for p in ("beta", "latent_dim")} == dict(
        beta=1.0, latent_dim=0)
    assert {p: declared(AAE)[p].default for p in ("disc_layer_sizes", "adversary_lr")} == \
        dict(disc_layer_sizes="100,100", adversary_lr=1e-4)
    assert declared(Denoising)["noise"].default == 1.0
    assert declared(Dropout)["dropout"].default == 0.5
    assert all(declared(cls)["lr"].default == 1e-4 for cls in BASELINES.values())


def test_experiment_names_follow_the_reference(lines32):
    """Built from each model's declared defaults, as acai-train does."""
    config = dict(latent=16, latent_width=2, depth=16, seed=0)
    names = {name: registry.build(name, lines32, config).experiment_name()
             for name in BASELINES}
    assert names == {
        "denoising": "AEDenoising_depth16_latent16_noise1.0_scales4",
        "dropout": "AEDropout_depth16_dropout0.5_latent16_scales4",
        "aae": "AAE_adversary_lr0.0001_depth16_disc_layer_sizes100,100_latent16_scales4",
        "vae": "VAE_beta1.0_depth16_latent16_scales4",
        "vqvae": "AEVQVAE_beta10.0_depth16_latent16_num_latents10_scales4_z_log_size14",
    }
    assert VAE((32, 32, 1), 10, beta=4).experiment_name().startswith("VAE_beta4.0_")


@pytest.mark.parametrize("name, loss, sign, ratio", [
    ("denoising", "loss_ae", 1, 0.5),
    ("dropout", "loss_ae", 1, 0.5),
    ("aae", "loss_ae", 1, 0.5),
    ("vae", "elbo", -1, 0.6),  # The VAE minimises -elbo.
    ("vqvae", "loss_ae", 1, 0.5),
])
def test_training_lowers_the_main_loss(name, loss, sign, ratio, lines32):
    model = small(name, lr=1e-3)
    history = train_steps(model, lines32, 150)
    assert all(np.isfinite(v) for h in history for v in h.values())
    assert set(history[0]) == set(model.LOSSES) | {"classify_latent"}
    start, end = (sign * mean_of(history, loss, part) for part in (first, last))
    assert end < ratio * start, (start, end)


# --- Denoising ---------------------------------------------------------------------

def test_denoising_encoder_sees_noise_and_loss_compares_to_clean_x(lines32, monkeypatch):
    model = small("denoising", lr=0.0, noise=0.5)
    x, label = batch(lines32)
    seen = []
    encode = model.encode

    def spy(images, training=False):
        seen.append(images)
        return encode(images, training=training)

    monkeypatch.setattr(model, "encode", spy)
    loss = float(model.train_step((x, label))["loss_ae"])
    chunks = tf.reshape(tf.concat(seen, 0), (-1,) + tuple(x.shape)).numpy()
    noisy = [images for images in chunks if not np.allclose(images, x)]
    assert len(noisy) == 1 and len(chunks) == 2  # The probe's encoding is of the clean x.
    noise = (noisy[0] - x).numpy()
    assert abs(noise.std() - 0.5) < 0.02 and abs(noise.mean()) < 0.02
    # The loss (weights unchanged: lr=0) is the noisy reconstruction against the clean x.
    # The encoder network itself: `encode` refuses images beyond [-1, 1] for inference.
    reconstruction = model.decode(model.encoder(noisy[0]))
    assert loss == pytest.approx(float(mean_squared_error(x, reconstruction)), rel=1e-4)
    assert loss != pytest.approx(float(mean_squared_error(noisy[0], reconstruction)),
                                 rel=0.1)


def test_denoising_without_noise_is_the_plain_reconstruction(lines32):
    model = small("denoising", lr=0.0, noise=0.0)
    x, label = batch(lines32)
    plain = float(mean_squared_error(x, model.ae(x)))
    assert float(model.train_step((x, label))["loss_ae"]) == pytest.approx(plain, rel=1e-4)


# --- Dropout -----------------------------------------------------------------------

def test_dropout_keeps_and_rescales_the_latent_in_training_only(lines32, monkeypatch):
    model = small("dropout", lr=0.0, dropout=0.25)
    x, label = batch(lines32, 64)
    code = model.encode(x).numpy()
    seen = []
    decode = model.decode

    def spy(z, training=False):
        seen.append(z)
        return decode(z, training=training)

    monkeypatch.setattr(model, "decode", spy)
    model.train_step((x, label))
    assert len(seen) == 1
    dropped = seen[0].numpy()
    kept = dropped != 0
    assert abs(kept.mean() - 0.25) < 0.03
    np.testing.assert_allclose(dropped[kept], code[kept] / 0.25, rtol=1e-4, atol=1e-6)
    # Outside training the decoder sees the whole code.
    np.testing.assert_array_equal(model.ae(x).numpy(), model.ae(x).numpy())
    np.testing.assert_allclose(model.ae(x), decode(model.encode(x)), rtol=1e-6)


def test_dropout_is_the_keep_probability():
    assert small("dropout").dropout == 0.5
    with pytest.raises(ValueError):
        small("dropout", dropout=0.0)


# --- AAE ---------------------------------------------------------------------------

def test_aae_discriminator_step_does_not_change_the_encoder(lines32):
    """With the autoencoder's learning rate at 0, a train step only moves the
    discriminator (and the probe): its update must not reach the encoder."""
    model = small("aae", lr=0.0, adversary_lr=1e-2)
    encoder = snapshot(model.ae_variables)
    discriminator = snapshot(model.discriminator.trainable_variables)
    step = tf.function(model.train_step)
    for seed in range(2):
        step(batch(lines32, seed=seed))
    for before, after in zip(encoder, model.ae_variables):
        np.testing.assert_array_equal(before, after.numpy())
    assert any(np.abs(before - after.numpy()).max() > 1e-4
               for before, after in zip(discriminator, model.discriminator.trainable_variables))


def test_aae_discriminator_architecture_and_losses(lines32):
    model = small("aae", disc_layer_sizes="32,16")
    dense = [layer for layer in model.discriminator.layers
             if isinstance(layer, keras.layers.Dense)]
    assert [layer.units for layer in dense] == [32, 16, 1]
    assert dense[0].kernel.shape[0] == np.prod(model.latent_shape)
    assert model.optimizer_disc.learning_rate.numpy() == pytest.approx(1e-4)
    logs = model.train_step(batch(lines32))
    # Cross-entropies of a sigmoid: the AE's and the adversary's terms on the same logits.
    assert float(logs["loss_ae_latent"]) > 0 and float(logs["loss_adv_latent"]) > 0
    assert 0 <= float(logs["adversary_accuracy"]) <= 1


# --- VAE ---------------------------------------------------------------------------

def test_vae_kl_divergence():
    zeros = tf.zeros([3, 5])
    assert float(kl_divergence(zeros, zeros)) == 0.0
    assert float(kl_divergence(tf.ones([3, 5]), zeros)) == pytest.approx(2.5)
    log2 = tf.fill([2, 4], np.log(2.0))
    assert float(kl_divergence(tf.zeros([2, 4]), log2)) == pytest.approx(
        4 * 0.5 * (1 - np.log(2.0)), rel=1e-5)


def test_vae_bernoulli_likelihood_and_decode_range():
    x = tf.constant(np.random.RandomState(0).uniform(-1, 1, (2, 32, 32, 1)), tf.float32)
    assert float(bernoulli_log_likelihood(x, tf.zeros_like(x))) == pytest.approx(
        -32 * 32 * np.log(2.0), rel=1e-5)
    # Logits that say the target exactly score better than uninformative ones.
    binary = tf.sign(x)
    assert float(bernoulli_log_likelihood(binary, 20 * binary)) > -1e-3 * 32 * 32
    model = small("vae")
    z = tf.constant(100 * np.random.RandomState(1).standard_normal(
        (8,) + model.latent_shape), tf.float32)
    decoded = model.decode(z).numpy()
    assert decoded.dtype == np.float32 and decoded.min() >= -1 and decoded.max() <= 1
    assert decoded.min() < -0.5 and decoded.max() > 0.5  # Not stuck at 0.


def test_vae_encode_is_the_posterior_mean(lines32):
    model = small("vae")
    x, _ = batch(lines32, 8)
    mean, log_variance = model.posterior(x)
    assert mean.shape == log_variance.shape == (8, np.prod(model.latent_shape))
    np.testing.assert_array_equal(model.encode(x).numpy(),
                                  tf.reshape(mean, (8,) + model.latent_shape).numpy())
    # The heads are trained with the autoencoder.
    assert len(model.ae_variables) == (len(model.encoder.trainable_variables)
                                       + len(model.decoder.trainable_variables) + 4)


# --- VQ-VAE ------------------------------------------------------------------------

def test_vq_codebook_moves_towards_the_assigned_encodings():
    quantizer = VectorQuantizer(4, 2, decay=0.5, epsilon=1e-5)
    codebook = np.array([[0, 0], [10, 0], [0, 10], [10, 10]], np.float32)
    quantizer.codebook.assign(codebook)
    # As if each entry had been the mean of one vector so far.
    quantizer.ema_count.assign(np.ones(4, np.float32))
    quantizer.ema_sum.assign(codebook)
    x = tf.constant([[1, 1], [1, -1], [9, 2]], tf.float32)
    index = quantizer.nearest(x)
    np.testing.assert_array_equal(index, [0, 0, 1])
    quantizer.update(x, index)
    new = quantizer.codebook.numpy()
    means = {0: np.array([1, 0]), 1: np.array([9, 2])}
    for k, mean in means.items():
        assert np.linalg.norm(new[k] - mean) < 0.8 * np.linalg.norm(codebook[k] - mean)
    # The reference's smoothed EMA: counts 1.5, 1, .5, .5; sums 0.5 old + 0.5 new.
    count = np.array([1.5, 1.0, 0.5, 0.5])
    n = count.sum()
    smoothed = (count + 1e-5) / (n + 4 * 1e-5) * n
    total = 0.5 * codebook + 0.5 * np.array([[2, 0], [9, 2], [0, 0], [0, 0]])
    np.testing.assert_allclose(new, total / smoothed[:, None], rtol=1e-5)
    np.testing.assert_allclose(new[2:], codebook[2:], rtol=1e-4)  # Unassigned: unmoved.


def test_vq_cold_start_pushes_unused_entries_out_and_they_shrink_back_as_predicted():
    """The reference's EMA starts counts at 0 without debiasing: an entry unused in the
    first step is divided by a smoothed count of ~epsilon, then shrinks by decay per step;
    steps_until_in_reach predicts when it is first chosen again."""
    quantizer = VectorQuantizer(3, 2, decay=0.9, epsilon=1e-5)
    quantizer.codebook.assign([[0.1, 0.0], [1e-4, 0.0], [0.0, 1e-4]])
    quantizer.ema_sum.assign(quantizer.codebook)
    x = tf.constant([[0.1, 0.0], [0.2, 0.0], [0.3, 0.0]], tf.float32)
    history = []
    for _ in range(60):
        index = quantizer.nearest(x)
        history.append((quantizer.codebook.numpy().copy(), index.numpy()))
        quantizer.update(x, index)
    np.testing.assert_array_equal(history[1][1], [0, 0, 0])
    # One step multiplies the unused entries by 0.9 / ~1e-5: 9 instead of 1e-4.
    np.testing.assert_allclose(np.abs(history[1][0][1:]).max(1), [9, 9], rtol=1e-3)
    for (before, _), (after, _) in zip(history[5:20], history[6:21]):
        np.testing.assert_allclose(after[1:], 0.9 * before[1:], rtol=1e-4)
    returned = next(t for t, (_, index) in enumerate(history) if np.any(index != 0))
    codebook, index = history[15]
    predicted = steps_until_in_reach(x.numpy(), codebook[index], codebook[1:], 0.9)
    assert 20 < returned < 60
    assert returned - 1 <= 15 + predicted <= returned
    # v = (1, 0) at its entry (0.9, 0): e = (5, 0) is nearer while |1 - 5 s| < 0.1, from
    # s = 0.22 on; e = (-5, 0) never; e = (1.05, 0) already is.
    v, own = np.array([[1.0, 0.0]]), np.array([[0.9, 0.0]])
    np.testing.assert_allclose(steps_until_in_reach(v, own, np.array([[5.0, 0.0]]), 0.9),
                               np.log(0.22) / np.log(0.9))
    assert steps_until_in_reach(v, own, np.array([[-5.0, 0.0]]), 0.9) is None
    assert steps_until_in_reach(v, own, np.array([[1.05, 0.0], [5.0, 0.0]]), 0.9) == 0


def test_vqvae_codebook_state_and_straight_through_gradient(lines32, tmp_path):
    model = small("vqvae", z_log_size=6, num_latents=3, beta=2)
    quantizer = model.quantizer
    assert (model.beta, quantizer.decay) == (2.0, 0.999)
    assert quantizer.codebook.shape == (64, np.prod(model.latent_shape))
    assert not quantizer.codebook.trainable
    assert {id(v) for v in (quantizer.codebook, quantizer.ema_count, quantizer.ema_sum)} <= {
        id(v) for v in model.non_trainable_variables}
    np.testing.assert_array_equal(quantizer.ema_sum.numpy(), quantizer.codebook.numpy())
    x, label = batch(lines32)
    # The decoder's gradient reaches the encoder through the quantization.
    with tf.GradientTape() as tape:
        loss = mean_squared_error(x, model.ae(x))
    gradients = tape.gradient(loss, model.encoder.trainable_variables)
    assert all(g is not None for g in gradients)
    assert max(float(tf.reduce_max(tf.abs(g))) for g in gradients) > 0
    # A train step moves the codebook by one EMA step of 32 images x 3 latents.
    before = quantizer.codebook.numpy().copy()
    logs = model.train_step((x, label))
    assert float(tf.reduce_sum(quantizer.ema_count)) == pytest.approx(0.001 * 32 * 3)
    assert not np.allclose(before, quantizer.codebook.numpy())
    assert float(logs["vqvae_loss"]) > 0
    # The codebook is saved with the model.
    saved = quantizer.codebook.numpy().copy()
    path = tf.train.Checkpoint(model=model).write(str(tmp_path / "ckpt"))
    quantizer.codebook.assign(tf.zeros_like(quantizer.codebook))
    tf.train.Checkpoint(model=model).read(path).assert_existing_objects_matched()
    np.testing.assert_array_equal(quantizer.codebook.numpy(), saved)
