"""The latent-space evaluations: k-means clustering and the single-layer classifier."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
from sklearn.cluster import KMeans

from acai import cluster
from acai.lib import data, lines
from acai.lib.evaluation import encode_dataset
from acai.classify import accuracy_of, train_classifier
from acai.lib.run import Run
from acai.models import Baseline
from conftest import deadline, REPO, run_on_terminal, SMALL, train_in



def gaussian_blobs(n, nclass=10, dim=16, spread=20.0, seed=0):
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(nclass, dim)) * spread
    labels = rng.integers(0, nclass, n)
    return centres[labels] + rng.normal(size=(n, dim)), labels


def test_train_once_is_one_fixed_pass_with_the_remainder():
    spec = data.get_dataset("lines32")
    first = list(spec.train_once(3000))
    sizes = [len(label) for _, label in first]
    assert sum(sizes) == lines.TRAIN_SAMPLE_SIZE and sizes[-1] == 20000 - 6 * 3000
    again = next(iter(spec.train_once(3000)))
    np.testing.assert_array_equal(first[0][0].numpy(), again[0].numpy())
    test_x = next(iter(spec.test(100)))[0].numpy()
    assert not np.array_equal(first[0][0].numpy()[:100], test_x)  # Not the test lines.
    assert first[0][0].shape[1:] == (32, 32, 1) and first[0][0].dtype.name == "float32"
    assert len(set(np.concatenate([label.numpy() for _, label in first]))) == 10
    # Class filtering applies to the sample too.
    two = data.get_dataset("lines32", classes="angle2,angle5")
    labels = np.concatenate([label.numpy() for _, label in two.train_once(4096)])
    assert set(labels) == {0, 1} and 2000 < len(labels) < 6000


def test_encoding_for_clustering_stops_at_the_limit(lines32):
    """acai-cluster encodes the first --train_limit training images (the reference's
    60,000), in the split's fixed order, whatever the batch size."""
    model = Baseline((32, 32, 1), 10, **SMALL)
    assert cluster.TRAIN_LIMIT == 60000
    codes, labels = encode_dataset(model, lines32.train_once(64), limit=100)
    assert codes.shape == (100, 4 * 4 * 8) and labels.shape == (100,)
    first, first_labels = encode_dataset(model, lines32.train_once(32).take(4))
    np.testing.assert_allclose(codes, first[:100], rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(labels, first_labels[:100])
    whole, _ = encode_dataset(model, lines32.train_once(512))
    assert len(whole) == lines.TRAIN_SAMPLE_SIZE


def test_cluster_accuracy_is_invariant_to_label_permutations():
    rng = np.random.default_rng(1)
    labels = rng.integers(0, 10, 1000)
    for _ in range(5):
        permutation = rng.permutation(10)
        assert cluster.cluster_accuracy(labels, permutation[labels]) == 1.0
    clusters = labels.copy()
    clusters[:100] = (clusters[:100] + 1) % 10
    assert cluster.cluster_accuracy(labels, clusters) == pytest.approx(0.9)


def test_kmeans_finds_separated_clusters_whatever_the_labels():
    x, labels = gaussian_blobs(2000)
    permuted = np.random.default_rng(2).permutation(10)[labels]
    result = cluster.evaluate(x[:1500], permuted[:1500], x[1500:], permuted[1500:], 10,
                              n_init=10)
    assert result["test_accuracy"] == 100.0 and result["train_accuracy"] == 100.0


def test_kmeans_on_noise_is_about_chance():
    rng = np.random.default_rng(3)
    x, labels = rng.normal(size=(2000, 16)), rng.integers(0, 10, 2000)
    result = cluster.evaluate(x[:1500], labels[:1500], x[1500:], labels[1500:], 10,
                              n_init=2)
    assert result["test_accuracy"] < 30


def test_whitening_gives_identity_covariance():
    rng = np.random.default_rng(4)
    train = rng.normal(size=(3000, 8)) @ rng.normal(size=(8, 8)) * 5 + 3
    test = rng.normal(size=(500, 8))
    white, white_test = cluster.whiten(train, test)
    np.testing.assert_allclose(white.mean(axis=0), 0, atol=1e-8)
    np.testing.assert_allclose(np.cov(white, rowvar=False, bias=True), np.eye(8), atol=1e-4)
    assert white_test.shape == (500, 8)
    # The test codes go through the same affine map.
    np.testing.assert_allclose(cluster.whiten(train, train[:5])[1], white[:5], atol=1e-8)


def test_classifier_learns_a_separable_problem():
    x, labels = gaussian_blobs(3000, dim=32, spread=3.0)
    classifier, history = train_classifier(x[:2500], labels[:2500], 10, lr=1e-2,
                                           total_kimg=32, report_kimg=16,
                                           test=x[2500:], test_labels=labels[2500:],
                                           log=False)
    assert [h[0] for h in history] == [16, 32]
    assert history[-1][3] > 95 and accuracy_of(classifier, x[2500:], labels[2500:]) > 95
    assert history[-1][1] < history[0][1]


def run_module(module, *args):
    return subprocess.run([sys.executable, "-m", module, *args], cwd=REPO,
                          capture_output=True, text=True, timeout=deadline(300))


def last_number(result, prefix):
    assert result.returncode == 0, result.stderr[-2000:]
    last = result.stdout.strip().splitlines()[-1]
    assert last.startswith(prefix + ": "), last
    value = float(last[len(prefix) + 2:])
    assert 0 <= value <= 100
    return value


def test_kmeans_restarts_one_at_a_time_are_scikit_learns_n_init():
    x = np.random.RandomState(0).standard_normal((400, 6))
    x[:200] += 1.5
    for seed in (0, 3):
        ours = cluster.kmeans(x, 5, n_init=6, seed=seed)
        theirs = KMeans(5, init="random", n_init=6, random_state=seed).fit(x)
        assert ours.inertia_ == pytest.approx(theirs.inertia_)
        np.testing.assert_array_equal(ours.labels_, theirs.labels_)


@pytest.mark.slow
def test_binaries_end_to_end_and_errors(tmp_path, lines32):
    config = dict(model="baseline", dataset="lines32", classes=[], batch=32, lr=1e-3,
                  latent=8, latent_width=4, depth=8, seed=0)
    model = Baseline((32, 32, 1), 10, lr=1e-3, seed=0, **SMALL)
    run = Run(str(tmp_path), "lines32", model.experiment_name(), config)
    train_in(model, lines32, run, batch=32, total_kimg=1, report_kimg=1, seed=0,
                   verbose=False)

    result = run_module("acai.cluster", f"--ae_dir={run.path}", "--n_init=1")
    accuracy = last_number(result, "cluster accuracy")
    # Not on a terminal: no progress lines, the result alone.
    assert result.stdout.strip().splitlines() == [f"cluster accuracy: {accuracy:.2f}"]
    saved = json.loads(open(os.path.join(run.path, "cluster.json")).read())
    assert saved["test_accuracy"] == pytest.approx(accuracy, abs=0.01)
    assert saved["train_size"] == lines.TRAIN_SAMPLE_SIZE and saved["test_size"] == 5000

    result = run_module("acai.classify", f"--ae_dir={run.path}", "--total_kimg=4",
                        "--report_kimg=2")
    accuracy = last_number(result, "test accuracy")
    saved = json.loads(open(os.path.join(run.path, "classify.json")).read())
    assert saved["test_accuracy"] == pytest.approx(accuracy, abs=0.01)
    assert saved["input_size"] == 4 * 4 * 8 and "kimg=2" in result.stderr

    # On a terminal: a progress line for each long part, with its count.
    status, shown = run_on_terminal("acai.cluster", f"--ae_dir={run.path}", "--n_init=3",
                                    "--train_limit=2000")
    assert status == 0, shown[-2000:]
    for heading in ("encoding the training images", "encoding the test images",
                    "k-means: 3 restarts"):
        assert heading in shown
    assert "3/3" in shown and "5000/5000" in shown

    # (acai.cluster's missing run: tests/test_faults.py.)
    result = run_module("acai.classify", f"--ae_dir={tmp_path / 'nope'}")
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith("acai.classify: error: no run at")
