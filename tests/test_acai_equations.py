"""ACAI's train_step computes the paper's equations (1) and (2), read off one eager step:
the mixing coefficient alpha in [0, 0.5], the critic regressing alpha on the decoded
mixes, its "real" input gamma x + (1 - gamma) g(f(x)) scored toward 0, the autoencoder's
loss plus lambda ||d(x_alpha)||^2, and each optimiser moving only its own variables."""

import keras
import numpy as np
import pytest

from acai.models import ACAI
from conftest import SMALL


class Recorder:
    """Wraps a model's method, keeping what it was called with and what it returned."""

    def __init__(self, method):
        self.method, self.calls = method, []

    def __call__(self, x, training=False):
        y = self.method(x, training=training)
        self.calls.append((np.asarray(x), np.asarray(y)))
        return y


def one_step(model, x, labels):
    """Runs one eager train_step; -> (its logs, the decoder's (input, output), the
    critic's two (input, output))."""
    decode, disc = Recorder(model.decode), Recorder(model.disc)
    model.decode, model.disc = decode, disc
    try:
        for metric in model.metrics:
            metric.reset_state()
        logs = {k: float(v) for k, v in model.train_step((x, labels)).items()}
    finally:
        del model.decode, model.disc  # The class's methods again.
    (decoded,) = decode.calls
    return logs, decoded, disc.calls


def alphas_of(latents):
    """alpha per example of the decoder's input [encode; alpha z + (1 - alpha) z[::-1]]:
    the least-squares solution of mix - z[::-1] = alpha (z - z[::-1])."""
    z, mix = np.split(latents.reshape(len(latents), -1).astype(np.float64), 2)
    direction, offset = z - z[::-1], mix - z[::-1]
    return (direction * offset).sum(1) / (direction * direction).sum(1)


@pytest.fixture
def batch(lines32):
    x, labels = next(iter(lines32.train(32, seed=3)))
    return x, labels


@pytest.fixture
def model():
    model = ACAI((32, 32, 1), 10, lr=1e-3, reg=0.3, advweight=0.7, seed=5, **SMALL)
    model.compile()
    return model


def test_alpha_is_drawn_in_zero_to_a_half_and_mixes_codes(model, batch):
    x, labels = batch
    alphas = []
    for _ in range(8):
        _, (latents, _), _ = one_step(model, x, labels)
        alpha = alphas_of(latents)
        z, mix = np.split(latents.reshape(len(latents), -1), 2)
        # The mixes are exactly alpha z + (1 - alpha) z reversed: nothing else.
        np.testing.assert_allclose(mix, alpha[:, None] * z + (1 - alpha[:, None]) * z[::-1],
                                   atol=1e-4)
        alphas.append(alpha)
    alphas = np.concatenate(alphas)
    assert alphas.min() >= -1e-4 and alphas.max() <= 0.5 + 1e-4
    # U[0, 0.5]: mean 0.25, both halves of the interval drawn.
    assert 0.2 < alphas.mean() < 0.3
    assert (alphas < 0.1).any() and (alphas > 0.4).any()


def test_the_critic_regresses_alpha_and_scores_the_regularised_real_input_as_0(model,
                                                                             batch):
    x, labels = batch
    x = np.asarray(x)
    logs, (latents, images), ((mix_in, mix_out), (real_in, real_out)) = one_step(
        model, x, labels)
    alpha = alphas_of(latents)
    reconstruction, mixes = np.split(images, 2)
    # Equation (1): the critic sees the decoded mixes and regresses alpha on them...
    np.testing.assert_array_equal(mix_in, mixes)
    assert logs["loss_disc"] > 0
    np.testing.assert_allclose(logs["loss_disc"], np.mean((mix_out - alpha) ** 2), rtol=1e-3)
    # ... and sees gamma x + (1 - gamma) g(f(x)) (gamma = reg), which it must score 0.
    np.testing.assert_allclose(real_in, model.reg * x + (1 - model.reg) * reconstruction,
                               atol=1e-5)
    np.testing.assert_allclose(logs["loss_disc_real"], np.mean(real_out ** 2), rtol=1e-4)
    # Equation (2): the autoencoder's terms, its reconstruction error and the critic's
    # score of its mixes.
    np.testing.assert_allclose(logs["loss_ae"], np.mean((x - reconstruction) ** 2),
                               rtol=1e-4)
    np.testing.assert_allclose(logs["loss_ae_disc"], np.mean(mix_out ** 2), rtol=1e-4)


class RecordingSGD(keras.optimizers.SGD):
    """Plain SGD that keeps the gradients it was given."""

    def apply_gradients(self, grads_and_vars):
        grads_and_vars = list(grads_and_vars)
        self.gradients = np.concatenate([np.ravel(g) for g, _ in grads_and_vars])
        return super().apply_gradients(grads_and_vars)


def test_the_autoencoder_is_pushed_by_lambda_times_the_critics_score_of_mixes(batch):
    """From the same start and draws, the autoencoder's gradient is the reconstruction's
    plus lambda times that of ||d(x_alpha)||^2: its change from lambda = 0 doubles when
    lambda doubles."""
    x, labels = batch
    gradients = {}
    for advweight in (0.0, 0.5, 1.0):
        keras.utils.set_random_seed(0)
        model = ACAI((32, 32, 1), 10, advweight=advweight, seed=5, **SMALL)
        model.compile(optimizer_ae=RecordingSGD(0.0))
        # A critic that speaks up (untrained, its scores are ~1e-3): its last layer x300.
        for variable in model.critic.trainable_variables[-2:]:
            variable.assign(300 * variable)
        one_step(model, x, labels)
        gradients[advweight] = model.optimizer_ae.gradients
    half, whole = gradients[0.5] - gradients[0.0], gradients[1.0] - gradients[0.0]
    assert np.abs(half).max() > 0
    np.testing.assert_allclose(whole, 2 * half, atol=0.02 * np.abs(whole).max())


@pytest.mark.parametrize("frozen", ["optimizer_ae", "optimizer_disc"])
def test_each_optimiser_moves_only_its_own_variables(frozen, batch):
    x, labels = batch
    model = ACAI((32, 32, 1), 10, advweight=0.7, **SMALL)
    model.compile(**{frozen: keras.optimizers.SGD(0.0)})
    groups = {"optimizer_ae": model.ae_variables,
              "optimizer_disc": model.critic.trainable_variables,
              "optimizer_classifier": model.classifier.trainable_variables}
    assert sum(len(v) for v in groups.values()) == len(model.trainable_variables)
    before = {name: [v.numpy().copy() for v in variables]
              for name, variables in groups.items()}
    one_step(model, x, labels)
    for name, variables in groups.items():
        changed = [not np.array_equal(b, v.numpy()) for b, v in zip(before[name], variables)]
        if name == frozen:
            assert not any(changed), f"{name} at rate 0 moved its variables"
        else:
            assert any(changed), f"{name} did not move its variables"
