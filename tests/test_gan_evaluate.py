"""GAN sample quality and the pegasus search: gan.classifier, gan.frechet, gan.evaluate and
gan.pegasus, against stand-in generators (no GAN is trained here)."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from acai.lib import data
from acai.lib.run import Run, dataset_dirname
from acai.models import Baseline
from gan import classifier as gan_classifier
from gan import evaluate, frechet, manifold, pegasus
from conftest import deadline, REPO

PER_CLASS = 120  # 12 of each class are held out for the test split.


# ----------------------------------------------------------------------------
# A tiny two-class dataset and stand-in generators with the GAN API.

def stripes(rng, vertical):
    """A noisy 32x32 RGB image of stripes at a random period, phase and colour."""
    period, phase = rng.integers(4, 9), rng.uniform(0, 2 * np.pi)
    wave = np.sin(2 * np.pi * np.arange(32) / period + phase)
    wave = np.tile(wave[None, :], (32, 1)) if vertical else np.tile(wave[:, None], (1, 32))
    image = wave[..., None] * rng.uniform(0.5, 1.0, 3) + rng.normal(0, 0.3, (32, 32, 3))
    return np.clip(127.5 + 127.5 * image, 0, 255).astype(np.uint8)


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    """data/{horizontal,vertical}/*.png under a fresh folder; -> the data folder."""
    root = tmp_path_factory.mktemp("gan_evaluate") / "data"
    rng = np.random.default_rng(0)
    for name in ("horizontal", "vertical"):
        (root / name).mkdir(parents=True)
        for i in range(PER_CLASS):
            Image.fromarray(stripes(rng, name == "vertical")).save(root / name / f"{i:03d}.png")
    return root


@pytest.fixture(scope="module")
def spec(folder):
    return data.get_dataset(f"folder:{folder}")


@pytest.fixture(scope="module")
def classifier(spec, tmp_path_factory):
    directory = tmp_path_factory.mktemp("classifier")
    return gan_classifier.get_classifier(spec, str(directory), kimg=2, batch=32)


def real_bank(spec):
    """float32 [nclass, n, 32, 32, 3]: n training images of each class."""
    images, labels = frechet.real_images(spec, 4 * PER_CLASS, seed=1)
    n = min(np.sum(labels == c) for c in range(spec.nclass))
    return np.stack([images[labels == c][:n] for c in range(spec.nclass)])


class StandIn:
    """The GAN API over fixed images: G(z, label) is a training image picked by z (of a
    class picked by z, or of the label's class, or the label-weighted mix of the classes'
    images), or tanh noise; `one_class`: always of the first class (a dropped mode)."""

    def __init__(self, bank, conditional=False, noise=False, one_class=False, z_dim=8):
        self.bank = tf.constant(bank[:1] if one_class else bank)
        self.nclass = bank.shape[0]
        self.image_shape = tuple(bank.shape[2:])
        self.z_dim, self.conditional, self.noise = z_dim, conditional, noise
        self.w = tf.constant(np.random.default_rng(0).normal(
            size=(z_dim, int(np.prod(self.image_shape)))).astype(np.float32))

    def generate(self, z, label=None, training=False):
        assert (label is not None) == self.conditional and not training
        if self.noise:
            return tf.reshape(tf.tanh(z @ self.w), (-1,) + self.image_shape)
        index = tf.cast(tf.abs(z[:, 0]) * 1e4, tf.int32) % self.bank.shape[1]
        picked = tf.gather(self.bank, index, axis=1)                   # [nclass, B, ...]
        if label is None:
            label = tf.cast(tf.abs(z[:, 1]) * 1e4, tf.int32) % self.bank.shape[0]
        if label.dtype.is_integer:
            label = tf.one_hot(label, self.bank.shape[0])
        return tf.einsum("bk,kbhwc->bhwc", tf.cast(label, tf.float32), picked)


# ----------------------------------------------------------------------------
# The Frechet distance.

def test_frechet_distance_properties():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(2000, 8)), rng.normal(size=(2000, 8))
    noise = rng.uniform(-5, 5, size=(2000, 8))
    same = frechet.frechet_distance(a, b)
    assert frechet.frechet_distance(a, a) == pytest.approx(0, abs=1e-6)
    assert same < 0.1
    assert frechet.frechet_distance(a, noise) > 50 * max(same, 1e-3)
    assert frechet.frechet_distance(a, noise) == pytest.approx(
        frechet.frechet_distance(noise, a), rel=1e-6)
    # Equal covariances: the distance is |shift|^2 exactly, growing with the shift.
    shifts = [frechet.frechet_distance(a, a + s) for s in (0.5, 1.0, 2.0)]
    assert shifts == pytest.approx([8 * 0.25, 8 * 1.0, 8 * 4.0], rel=1e-6)
    # Singular covariances (fewer samples than features, a constant feature) stay finite.
    few = rng.normal(size=(5, 8))
    few[:, 0] = 1.0
    assert np.isfinite(frechet.frechet_distance(few, rng.normal(size=(5, 8))))
    with pytest.raises(ValueError, match="differ in size"):
        frechet.frechet_distance(a, a[:, :4])


def test_real_manifold_by_hand():
    # Real points 0, 1, 2, 3, 10 on a line, k = 1: radii 1, 1, 1, 1, 7 (10's nearest is 3).
    real = np.array([[0.0], [1.0], [2.0], [3.0], [10.0]])
    manifold_ = manifold.RealManifold(real, k=1)
    np.testing.assert_allclose(manifold_.radii, [1, 1, 1, 1, 7])
    points = np.array([[1.5], [5.0], [10.5], [20.0]])
    # 5.0 and 10.5 lie in 10's large ball; 20 in none.
    np.testing.assert_array_equal(manifold_.on_manifold(points), [True, True, True, False])
    assert manifold_.precision(points) == 0.75
    # The realism score uses the smaller half of the balls (radius <= the median, 1): 10's
    # large ball does not vouch for 10.5 there. 1.5: 1 / 0.5; 5: 1 / 2; 10.5: 1 / 7.5.
    np.testing.assert_allclose(manifold_.realism(points), [2.0, 0.5, 1 / 7.5, 1 / 17])
    with pytest.raises(ValueError, match=r"\[N, 1\]"):
        manifold_.precision(np.zeros((3, 2)))
    with pytest.raises(ValueError, match="more than k=3"):
        manifold.RealManifold(real[:3])


def test_a_selection_of_real_images_stays_on_the_manifold_and_far_in_frechet_distance():
    rng = np.random.default_rng(0)

    def draw(n):  # Two classes: Gaussians 6 apart.
        x = rng.normal(size=(n, 8))
        x[:, 0] += np.where(rng.integers(0, 2, n) == 1, 3.0, -3.0)
        return x

    real, held = draw(1000), draw(2000)
    real_manifold = manifold.RealManifold(real)
    # Images of the same distribution: mostly on the manifold, realism score about 1.
    assert real_manifold.precision(held) > 0.8
    assert 0.8 < np.median(real_manifold.realism(held)) < 1.5
    # Off it: none, and a realism score near 0.
    assert real_manifold.precision(held + 10) == 0
    assert np.median(real_manifold.realism(held + 10)) < 0.2
    # 64 real points chosen from one region (the nearest to one class's centre): far from
    # the whole in Frechet distance, yet every one on the manifold.
    centre = np.eye(8)[0] * 3
    chosen = held[np.argsort(np.linalg.norm(held - centre, axis=1))[:64]]
    assert frechet.frechet_distance(real, chosen) > 10 * frechet.frechet_distance(
        real, held[:64])
    assert real_manifold.precision(chosen) >= real_manifold.precision(held)


# ----------------------------------------------------------------------------
# Pegasus scores and ranking.

def test_pegasus_scores_and_the_streamed_best():
    p = np.array([[0.9, 0.1, 0.0], [0.4, 0.5, 0.1], [0.2, 0.2, 0.6], [0.45, 0.45, 0.1]])
    np.testing.assert_allclose(pegasus.pegasus_scores(p, 0, 1), [0.1, 0.4, 0.2, 0.45])
    np.testing.assert_allclose(pegasus.pegasus_scores(p, 1, 0), [0.1, 0.4, 0.2, 0.45])
    np.testing.assert_allclose(pegasus.pegasus_scores(p, 0, 2), [0.0, 0.1, 0.2, 0.1])
    rng = np.random.default_rng(0)
    scores = rng.uniform(size=50)
    images = np.arange(50)[:, None, None, None] / 50 * np.ones((1, 2, 2, 1))  # i / 50
    # Fed in batches, Best keeps the same best as ranking everything at once.
    kept = pegasus.Best(5, lambda x: scores[np.round(x[:, 0, 0, 0] * 50).astype(int)])
    for start in range(0, 50, 7):
        kept.add(images[start:start + 7])
    np.testing.assert_array_equal(kept.scores, np.sort(scores)[::-1][:5])
    np.testing.assert_array_equal(np.round(kept.images[:, 0, 0, 0] * 50),
                                  np.argsort(-scores)[:5])
    np.testing.assert_allclose(kept.unranked[:, 0, 0, 0], images[:5, 0, 0, 0], rtol=1e-6)
    assert kept.seen == 50
    assert pegasus.resolve_classes("horse,bird", ("bird", "horse")) == (1, 0)
    assert pegasus.resolve_classes(["0", "horse"], ("bird", "horse")) == (0, 1)
    with pytest.raises(ValueError, match="exactly two"):
        pegasus.resolve_classes("horse", ("bird", "horse"))
    with pytest.raises(ValueError, match="unknown class"):
        pegasus.resolve_classes("horse,cat", ("bird", "horse"))


# ----------------------------------------------------------------------------
# The classifier, the sample quality, the searches.

def test_classifier_separates_and_is_cached(spec, classifier, tmp_path):
    assert spec.class_names == ("horizontal", "vertical")
    assert classifier.test_accuracy > 85, classifier.info
    x, labels = next(iter(spec.test(64)))
    features = classifier.features(x.numpy())
    probabilities = classifier.probabilities(x.numpy())
    assert features.shape == (len(x), gan_classifier.FEATURES) and features.dtype == np.float32
    assert probabilities.shape == (len(x), 2)
    np.testing.assert_allclose(probabilities.sum(1), 1, atol=1e-5)
    assert np.mean(np.argmax(probabilities, 1) == labels.numpy()) > 0.85

    gan_classifier.save(classifier, str(tmp_path))
    assert sorted(os.listdir(tmp_path)) == ["classifier.json", "classifier.keras"]
    reloaded = gan_classifier.get_classifier(spec, str(tmp_path))  # Loads: no training.
    assert reloaded.info == classifier.info
    np.testing.assert_allclose(reloaded.features(x.numpy()), features, atol=1e-5)
    info = dict(classifier.info, class_names=["cat", "dog"])
    with open(tmp_path / "classifier.json", "w") as f:
        json.dump(info, f)
    with pytest.raises(ValueError, match="trained on classes"):
        gan_classifier.get_classifier(spec, str(tmp_path))


def test_real_sample_depends_on_its_seed_alone(spec):
    """The same images in any process (whatever the global seed a run sets), other images
    for another seed, no image twice, and all of a split smaller than the count."""
    tf.keras.utils.set_random_seed(1)
    first = frechet.real_images(spec, 50, seed=0)
    tf.keras.utils.set_random_seed(2)
    again = frechet.real_images(spec, 50, seed=0)
    np.testing.assert_array_equal(first[0], again[0])
    np.testing.assert_array_equal(first[1], again[1])
    other = frechet.real_images(spec, 50, seed=1)[0]
    assert not np.array_equal(first[0], other)
    flat = first[0].reshape(50, -1)
    assert len(np.unique(flat, axis=0)) == 50
    assert set(np.bincount(first[1])) != {0} and len(np.bincount(first[1])) == 2
    everything = frechet.real_images(spec, 10 * PER_CLASS)
    assert len(everything[0]) == len(everything[1]) == 2 * (PER_CLASS - PER_CLASS // 10)


def test_sample_quality_ranks_real_above_noise(spec, classifier, tmp_path, monkeypatch):
    bank = real_bank(spec)
    real = frechet.SampleQuality(StandIn(bank), spec, classifier, count=200)
    noise = frechet.SampleQuality(StandIn(bank, noise=True), spec, classifier, count=200)
    conditional = frechet.SampleQuality(StandIn(bank, conditional=True), spec, classifier,
                                        count=200)
    assert np.bincount(conditional.labels).tolist() == np.bincount(
        frechet.real_images(spec, 200)[1]).tolist()
    one_class = frechet.SampleQuality(StandIn(bank, one_class=True), spec, classifier,
                                      count=200)
    good = [quality()["frechet_distance"] for quality in (real, conditional)]
    bad = [quality()["frechet_distance"] for quality in (noise, one_class)]
    assert 10 * max(good) < min(bad), (good, bad)
    assert real()["frechet_distance"] == good[0]  # Fixed real sample and z.
    # Precision (samples on the real images' manifold) and recall (real images on the
    # samples'): a dropped class keeps the first and loses the second; noise, the second.
    figures = {name: quality() for name, quality in
               dict(real=real, noise=noise, one_class=one_class).items()}
    precision = {name: result["sample_precision"] for name, result in figures.items()}
    recall = {name: result["sample_recall"] for name, result in figures.items()}
    assert precision["real"] > 0.8 and recall["real"] > 0.8
    assert precision["one_class"] > 0.8 and recall["one_class"] < 0.6 * recall["real"]
    assert precision["noise"] < 0.2 and recall["noise"] < 0.2

    # FID through a SavedModel with the documented convention: [B, 299, 299, 3] -> [B, 2048]
    # (16 features here: the square root of a 2048 x 2048 matrix takes a while).
    monkeypatch.setattr(frechet, "INCEPTION_FEATURES", 16)
    module = tf.Module()
    module.w = tf.Variable(np.random.default_rng(0).normal(size=(3, 16)).astype(np.float32))
    module.serve = tf.function(
        lambda x: tf.nn.relu(tf.reduce_mean(x, axis=[1, 2]) @ module.w),
        input_signature=[tf.TensorSpec([None, 299, 299, 3], tf.float32)])
    tf.saved_model.save(module, str(tmp_path / "inception"))
    with_fid = frechet.SampleQuality(StandIn(bank, conditional=True), spec, classifier,
                                     count=64, inception=str(tmp_path / "inception"))()
    assert set(with_fid) == {"frechet_distance", "sample_precision", "sample_recall", "fid"}
    assert with_fid["fid"] >= 0
    with pytest.raises(ValueError, match="cannot load the Inception SavedModel"):
        frechet.InceptionFeatures(str(tmp_path / "nope"))


def test_realism_sees_blur_and_noise(spec, classifier):
    bank = real_bank(spec)
    real = bank.transpose(1, 0, 2, 3, 4).reshape((-1,) + bank.shape[-3:])  # Classes mixed.
    blurred = tf.nn.avg_pool2d(real, 5, 1, "SAME").numpy()
    assert pegasus.sharpness(blurred) < 0.6 * pegasus.sharpness(real)
    realism = pegasus.Realism(classifier, real[:100])
    same, blur = realism(real[100:164]), realism(blurred[100:164])
    noise = realism(np.random.default_rng(0).uniform(-1, 1, real[:64].shape))
    assert abs(same["sharpness"] - 1) < 0.2 and blur["sharpness"] < 0.6
    assert same["frechet_distance"] < noise["frechet_distance"]
    assert same["frechet_distance"] < blur["frechet_distance"]
    # Per image: the blurred images fall off the real manifold. Noise may land in the
    # large balls of a few outlying real images (precision counts those), not near the
    # others (the realism score leaves those balls out).
    assert same["precision"] > blur["precision"] + 0.5
    assert same["realism_score"] > 2 * max(blur["realism_score"], noise["realism_score"])
    kept = pegasus.Best(4, lambda x: x.mean(axis=(1, 2, 3)))
    kept.add(real[:3])
    kept.add(real[3:10])
    np.testing.assert_array_equal(kept.unranked, np.clip(real[:4], -1, 1))


class ColourClassifier:
    """A stand-in classifier undecided on every image, whose features are the mean colour."""

    def probabilities(self, images):
        return np.full((len(images), 2), 0.5)

    def features(self, images):
        return np.asarray(images).mean(axis=(1, 2))

    def outputs(self, images):
        return self.features(images), self.probabilities(images)


def test_the_score_holds_down_images_unlike_any_real_one():
    rng = np.random.default_rng(0)

    def draw(n, colour):  # Noisy images around a mean colour: equally sharp.
        return np.clip(colour + rng.uniform(-0.2, 0.2, (n, 1, 1, 3))
                       + rng.normal(0, 0.2, (n, 8, 8, 3)), -1, 1)

    real, like, unlike = draw(300, -0.3), draw(64, -0.3), draw(64, 0.5)
    classifier = ColourClassifier()
    sharp = float(np.median(pegasus.image_sharpness(real)))
    plain = pegasus.pegasus_score_fn(classifier, 0, 1, sharp)
    assert abs(plain(unlike).mean() - plain(like).mean()) < 0.05  # Blind to the colour.
    with_term = pegasus.pegasus_score_fn(classifier, 0, 1, sharp,
                                         manifold.RealManifold(classifier.features(real)))
    assert with_term(like).mean() > 0.6 * plain(like).mean()  # Realism score about 1.
    assert with_term(unlike).mean() < 0.3 * with_term(like).mean()


def test_real_images_split_into_reference_and_held_and_ranked_by_the_score():
    rng = np.random.default_rng(0)
    found = {0: rng.uniform(-1, 1, (30, 4, 4, 3)).astype(np.float32),
             1: rng.uniform(-1, 1, (8, 4, 4, 3)).astype(np.float32)}
    reference, held = pegasus.split_real(found, 10, seed=1)
    # Class 0 gives 10 of its 30 and holds 20; class 1 has too few: 10 drawn, none held.
    assert reference.shape == (20, 4, 4, 3) and held.shape == (20, 4, 4, 3)
    flat = lambda x: {tuple(image.ravel()) for image in x}  # noqa: E731
    assert flat(held) | flat(reference[:10]) == flat(found[0])
    assert not flat(held) & flat(reference)
    assert flat(reference[10:]) <= flat(found[1])
    # rank_real keeps the highest scores of all held images, best first.
    score = lambda x: x.mean(axis=(1, 2, 3))  # noqa: E731
    ranked = pegasus.rank_real(held, score, 5)
    assert ranked.seen == 20
    np.testing.assert_allclose(ranked.scores, np.sort(score(held))[::-1][:5], rtol=1e-6)


class Smooth:
    """A differentiable stand-in generator, G(z) = tanh(z W), and a D that prefers
    images near grey."""
    conditional, nclass, z_dim = False, 2, 16

    def __init__(self, shape=(32, 32, 3)):
        self.shape = shape
        self.w = tf.constant(np.random.default_rng(0).normal(
            0, 0.3, size=(self.z_dim, int(np.prod(shape)))).astype(np.float32))

    def generate(self, z, label=None, training=False):
        return tf.reshape(tf.tanh(tf.convert_to_tensor(z, tf.float32) @ self.w),
                          (-1,) + self.shape)

    def disc(self, x, label=None, training=False):
        return -tf.reduce_mean(tf.square(x), axis=[1, 2, 3])


def test_gan_ascent_raises_the_score_of_its_starting_points(classifier):
    model = Smooth()

    def score(images):
        return pegasus.pegasus_scores(classifier.probabilities(images), 0, 1)

    sampled = pegasus.gan_search(model, 0, 1, score, count=128, top=8, seed=4)
    ascended = pegasus.gan_ascent_search(model, classifier, 0, 1, score, count=128, top=8,
                                         steps=40, lr=0.05, seed=0)
    # The same starting points (seed + 4): the best 8 of the same 128 samples.
    np.testing.assert_allclose(np.sort(ascended.unranked.reshape(8, -1), 0), np.sort(
        np.clip(model.generate(np.random.default_rng(4).standard_normal(
            (128, 16)).astype(np.float32))[:8].numpy(), -1, 1).reshape(8, -1), 0), atol=1e-5)
    assert ascended.scores.mean() > sampled.scores.mean() + 0.05, (
        ascended.scores, sampled.scores)
    assert ascended.seen == 128 and ascended.images.shape == (8, 32, 32, 3)
    # The strip: from z ascended toward class 0 alone, through the pegasus, to class 1.
    strip = ascended.strip(ascended.latents[:3], 4)
    assert strip.shape == (3, 7, 32, 32, 3)
    np.testing.assert_allclose(np.clip(strip[:, 3], -1, 1), ascended.images[:3], atol=1e-5)
    p = classifier.probabilities(strip.reshape(-1, 32, 32, 3)).reshape(3, 7, -1)
    assert np.all(p[:, 0, 0] > p[:, 3, 0]) and np.all(p[:, -1, 1] > p[:, 3, 1]), p


def test_gan_searches(spec, classifier):
    bank = real_bank(spec)

    def score(images):
        return pegasus.pegasus_scores(classifier.probabilities(images), 0, 1)

    best = pegasus.gan_search(StandIn(bank), 0, 1, score, count=300, top=16)
    assert best.images.shape == (16, 32, 32, 3) and best.seen == 300
    assert np.all(np.diff(best.scores) <= 0)
    mixes = pegasus.gan_mix_search(StandIn(bank, conditional=True), 0, 1, score, count=300,
                                   top=16)
    # Half-and-half blends of the two classes confuse the classifier more than one class.
    assert mixes.scores.mean() > best.scores.mean()
    # Its strip keeps z and moves the class input: one-hot a, the best mix, one-hot b.
    strip = mixes.strip(mixes.latents[:2], 3)
    assert strip.shape == (2, 5, 32, 32, 3)
    np.testing.assert_allclose(np.clip(strip[:, 2], -1, 1), mixes.images[:2], atol=1e-5)
    model = StandIn(bank, conditional=True)
    z = mixes.latents[:2, :model.z_dim]
    for column, label in ((0, 0), (-1, 1)):
        np.testing.assert_allclose(strip[:, column], model.generate(
            tf.constant(z), tf.one_hot([label, label], 2)).numpy(), atol=1e-5)
    path = pegasus.gan_interpolation(StandIn(bank, conditional=True), 0, 1, rows=3, steps=5)
    assert path.shape == (3, 5, 32, 32, 3)
    p = classifier.probabilities(path.reshape(-1, 32, 32, 3))[:, 0].reshape(3, 5)
    assert np.all(p[:, 0] > p[:, -1])  # From class 0 (one-hot) to class 1.


# ----------------------------------------------------------------------------
# The binaries.

def run_module(module, *args):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    return subprocess.run([sys.executable, "-m", module, *args], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=deadline(300))


@pytest.mark.slow
def test_evaluate_uses_the_classifier_beside_the_run(spec, classifier, tmp_path):
    run_dir = tmp_path / "folder-data" / "GAN"
    assert evaluate.classifier_dir(str(run_dir)) == str(tmp_path / "folder-data" / "classifier")
    gan_classifier.save(classifier, evaluate.classifier_dir(str(run_dir)))
    result = evaluate.evaluate(StandIn(real_bank(spec), conditional=True), spec, str(run_dir),
                               count=64)
    assert result["frechet_distance"] >= 0 and "fid" not in result
    assert result["classifier_test_accuracy"] == classifier.test_accuracy


@pytest.mark.slow
def test_evaluate_missing_run(tmp_path):
    result = run_module("gan.evaluate", f"--run={tmp_path / 'nope'}")
    assert result.returncode != 0 and "Traceback" not in result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("gan.evaluate: error: no run at"), result.stderr[-2000:]


@pytest.mark.slow
def test_pegasus_through_an_autoencoder(folder, spec, classifier, tmp_path):
    dataset = f"folder:{folder}"
    config = dict(model="baseline", dataset=dataset, classes=[], batch=32, lr=1e-3,
                  latent=8, latent_width=4, depth=8, seed=0)
    model = Baseline((32, 32, 3), 2, lr=1e-3, seed=0, latent=8, depth=8, latent_width=4)
    run = Run(str(tmp_path), dataset_dirname(dataset), "ae", config)
    run.prepare()
    tf.train.Checkpoint(model=model).save(os.path.join(run.checkpoint_dir, "ckpt"))
    # The classifier beside the run is the one trained above: no training in the binary.
    gan_classifier.save(classifier, os.path.join(os.path.dirname(run.path), "classifier"))
    result = run_module("gan.pegasus", f"--ae_dir={run.path}", "--classes=vertical,0",
                        "--count=90", "--top=8", "--steps=4", "--alphas=0.25,0.5,0.75",
                        "--real_images=100")
    assert result.returncode == 0, result.stderr[-2000:]
    # 2 x 107 for the reference leave 2 real images for the realism term: one line.
    few = run_module("gan.pegasus", f"--ae_dir={run.path}", "--classes=vertical,0",
                     "--real_images=214", f"--output={tmp_path / 'few'}")
    assert few.returncode != 0 and "Traceback" not in few.stderr
    assert "--norealism_term" in few.stderr.strip().splitlines()[-1], few.stderr[-2000:]
    out = os.path.join(run.path, "pegasus")
    assert sorted(os.listdir(out)) == ["ae_interpolation.png", "ae_mixes.png",
                                       "best_strip.png", "comparison.png", "pegasus.json"]
    # 4 rows of 2 x 4 - 1 columns; the middle column is the best 4 of ae_mixes.png.
    strip = np.asarray(Image.open(os.path.join(out, "best_strip.png")))
    assert strip.shape == (4 * 32, 7 * 32, 3)
    mixes = np.asarray(Image.open(os.path.join(out, "ae_mixes.png")))  # 3 x 3 grid.
    middle = [strip[32 * r:32 * r + 32, 96:128] for r in range(4)]
    best = [mixes[32 * (i // 3):32 * (i // 3) + 32, 32 * (i % 3):32 * (i % 3) + 32]
            for i in range(4)]
    assert max(int(np.abs(m.astype(int) - b).max()) for m, b in zip(middle, best)) <= 1
    assert np.asarray(Image.open(os.path.join(out, "ae_interpolation.png"))).shape == (
        8 * 32, 4 * 32, 3)
    summary = json.load(open(os.path.join(out, "pegasus.json")))
    assert summary["classes"] == ["vertical", "horizontal"]
    assert summary["ae_mixes"]["scored"] == 90 and len(summary["ae_mixes"]["best_scores"]) == 8
    assert summary["best_strip"]["method"] == "ae_mixes"
    for key in ("best_realism", "unranked_realism"):
        figures = summary["ae_mixes"][key]
        assert figures["frechet_distance"] >= 0 and figures["sharpness"] > 0, figures
        assert 0 <= figures["precision"] <= 1 and figures["realism_score"] >= 0, figures
    # The real images beyond the 100 of the reference (2 x (108 - 50)) and the 100 of the
    # score's realism term, ranked by the score.
    real = summary["real_ranked"]
    assert real["scored"] == 16 and len(real["best_scores"]) == 8
    assert real["best_scores"] == sorted(real["best_scores"], reverse=True)
    assert real["best_realism"]["frechet_distance"] >= 0
    assert set(real["unranked_realism"]) == set(real["best_realism"])


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
