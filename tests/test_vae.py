"""The VAE with a flat latent (--latent_dim), vae.train and vae.sample."""

import subprocess
import sys

import numpy as np
import pytest

from acai.lib.evaluation import AutoEncoderEvaluation
from acai.lib.run import Run
from acai.registry import build, load_run
from conftest import deadline, mean_of, REPO, SMALL, train_in, train_steps
from vae.model import VAE



def test_flat_latent_trains_and_encodes_to_two_values(lines32):
    model = VAE((32, 32, 1), 10, lr=1e-3, latent_dim=2, **SMALL)
    assert model.latent_shape == (2,)
    assert "latent_dim2" in model.experiment_name()
    history = train_steps(model, lines32, 100)
    loss = [{"loss": -h["elbo"]} for h in history]
    assert all(np.isfinite(h["loss"]) for h in loss)
    first, last = (mean_of(loss, "loss", lambda h: h[:10]),
                   mean_of(loss, "loss", lambda h: h[-10:]))
    assert last < first, (first, last)
    x, _ = next(iter(lines32.test(8)))
    z = model.encode(x)
    assert z.shape == (8, 2)
    assert model.decode(z).shape == (8, 32, 32, 1)
    assert model.classify_latent(x).shape == (8,)


def test_paper_vae_is_unchanged_by_default():
    model = VAE((32, 32, 1), 10, **SMALL)
    assert model.latent_shape == (4, 4, 8) and model.p_dense is None
    assert model.experiment_name() == "VAE_beta1.0_depth8_latent8_scales3"
    assert model.q_mean.units == 4 * 4 * 8


def run_sample(*args):
    return subprocess.run([sys.executable, "-m", "vae.sample", *args], cwd=REPO,
                          capture_output=True, text=True, timeout=deadline(300))


@pytest.mark.slow
def test_sample_draws_a_finished_run_and_fails_cleanly(tmp_path, lines32):
    config = dict(model="vae", dataset="lines32", classes=[], batch=32, lr=1e-3, latent=8,
                  latent_width=4, depth=8, seed=0, latent_dim=2, beta=None)
    model = build("vae", lines32, config)
    run = Run(str(tmp_path), "lines32", model.experiment_name(), config)
    train_in(model, lines32, run, batch=32, total_kimg=1, report_kimg=1,
                   evaluate=AutoEncoderEvaluation(model, lines32), seed=0, verbose=False)
    restored, _, _ = load_run(run.path)
    np.testing.assert_allclose(restored.q_mean.kernel.numpy(), model.q_mean.kernel.numpy())

    out = tmp_path / "out"
    result = run_sample(f"--run={run.path}", f"--out={out}")
    assert result.returncode == 0, result.stderr[-2000:]
    for name in ("prior_samples.png", "latent_map.png", "latent_scatter.png"):
        assert (out / name).stat().st_size > 0, name
    assert (out / "prior_samples.png").read_bytes()[:4] == b"\x89PNG"

    result = run_sample(f"--run={tmp_path / 'nope'}")
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if "vae.sample: error:" in line]
    assert len(lines) == 1 and "no run at" in lines[0]


@pytest.mark.slow
def test_vae_train_binary_with_a_flat_latent(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "vae.train", "--dataset=lines32", "--latent_width=4",
         "--depth=8", "--latent=8", "--latent_dim=2", f"--train_dir={tmp_path}",
         "--total_kimg=1", "--report_kimg=1", "--batch=32", "--seed=1"],
        cwd=REPO, capture_output=True, text=True, timeout=deadline(300))
    assert result.returncode == 0, result.stderr[-2000:]
    run_dir = tmp_path / "lines32" / "VAE_beta1.0_depth8_latent8_latent_dim2_scales3"
    assert (run_dir / "config.json").exists()
    model, _, config = load_run(str(run_dir))
    assert config["model"] == "vae" and config["latent_dim"] == 2
    assert model.latent_shape == (2,)
    result = subprocess.run([sys.executable, "-m", "vae.train", "--dataset=nope",
                             f"--train_dir={tmp_path}"], cwd=REPO, capture_output=True,
                            text=True, timeout=deadline(300))
    assert result.returncode != 0 and "Traceback" not in result.stderr
    assert "vae.train: error: unknown dataset 'nope'" in result.stderr


def test_the_probe_reads_the_encoders_code_as_the_reference(lines32):
    """The paper's VAE trains and evaluates its latent probe on the encoder's output before
    the posterior's heads (the reference's `encode`), not on the posterior mean."""
    model = VAE((32, 32, 1), 10, **SMALL)
    model.compile()
    x, label = next(iter(lines32.train(16, seed=0)))
    code = model.encoder(x).numpy()  # Before the step changes the encoder.
    mean = model.encode(x).numpy()
    assert not np.allclose(code, mean, atol=1e-3)  # The heads change the code.
    seen = []
    model.train_latent_classifier = lambda encode, label: seen.append(encode)
    model.train_step((x, label))
    np.testing.assert_allclose(seen[0].numpy(), code, rtol=1e-5, atol=1e-5)
    code = model.encoder(x).numpy()
    logits = model.classifier(code)
    np.testing.assert_array_equal(model.classify_latent(x).numpy(),
                                  np.argmax(logits.numpy(), axis=-1))
