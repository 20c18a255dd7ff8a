"""The Python API's boundary: a model's encode, decode, ae, interpolate and a GAN's
generate refuse what they cannot take in one line that says what was given and what to
do, and take what they can, eagerly and inside fit's traced step alike."""

import numpy as np
import pytest
import tensorflow as tf

from acai.lib import inputs
from acai.registry import build
from conftest import SMALL, train_steps


@pytest.fixture(scope="module")
def ae(lines32):
    return build("baseline", lines32, SMALL)


def refused(call, *fragments):
    """The ValueError `call()` raises: one line, holding every fragment."""
    with pytest.raises(ValueError) as error:
        call()
    text = str(error.value)
    assert "\n" not in text and len(text) < 300, text
    for fragment in fragments:
        assert fragment in text, text
    return text


def test_images_the_model_cannot_take_are_refused_in_one_line(ae):
    batch = np.zeros((4, 32, 32, 1), np.float32)
    refused(lambda: ae.encode(np.full((4, 32, 32, 1), 255, np.uint8)),
            "Baseline.encode", "images of uint8", "x / 127.5 - 1", "read_images")
    refused(lambda: ae.encode(np.full((4, 32, 32, 1), 255, np.float32)),
            "image values in [255, 255]", "[-1, 1]", "x / 127.5 - 1")
    refused(lambda: ae.encode(tf.constant(np.full((4, 32, 32, 1), -3.0, np.float32))),
            "image values in [-3, -3]")
    refused(lambda: ae.encode(np.zeros((32, 32, 1), np.float32)),
            "one image of shape [32, 32, 1]", "batch [N, 32, 32, 1]", "x[None]")
    refused(lambda: ae.encode(np.zeros((4, 64, 64, 1), np.float32)),
            "images of shape [4, 64, 64, 1] given", "[N, 32, 32, 1]")
    refused(lambda: ae.ae(np.zeros((4, 32, 32, 3), np.float32)),
            "images of shape [4, 32, 32, 3] given", "[N, 32, 32, 1]")
    refused(lambda: ae.classify_latent(np.zeros((2, 32, 32), np.float32)),
            "images of shape [2, 32, 32] given")
    # Latent codes: their shape; a single code.
    refused(lambda: ae.decode(np.zeros((4, 2, 2, 8), np.float32)),
            "Baseline.decode", "codes of shape [4, 2, 2, 8]", "[N, 4, 4, 8]")
    refused(lambda: ae.decode(np.zeros((4, 4, 8), np.float32)), "x[None]")
    # interpolate: two single images and steps >= 1.
    refused(lambda: ae.interpolate(batch, batch), "interpolate image_a",
            "a batch of shape [4, 32, 32, 1]", "images[i]")
    refused(lambda: ae.interpolate(batch[0], np.zeros((32, 32, 3), np.float32)),
            "image_b", "[32, 32, 1]")
    refused(lambda: ae.interpolate(batch[0], batch[1], steps=0), "steps must be an "
            "integer >= 1, not 0")
    refused(lambda: ae.interpolate(batch[0], batch[1], steps=2.5), "not 2.5")


def test_what_the_model_takes_passes_and_gives_what_it_did(ae):
    x = np.random.default_rng(0).uniform(-1, 1, (4, 32, 32, 1)).astype(np.float32)
    codes = ae.encode(x)
    assert codes.shape == (4, 4, 4, 8)
    # A reconstruction a little past [-1, 1] is still an image.
    np.testing.assert_allclose(ae.encode(np.clip(x * 1.5, -1.9, 1.9)).shape, codes.shape)
    assert ae.decode(codes).shape == (4, 32, 32, 1)
    assert ae.decode(codes.numpy().tolist()).shape == (4, 32, 32, 1)  # Lists are arrays.
    images, path = ae.interpolate(x[0], x[1], steps=tf.constant(3))
    assert images.shape == (3, 32, 32, 1) and path.shape == (3, 4, 4, 8)
    # Inside a tf.function only the static shape is read: no op is added to the graph.
    encode = tf.function(lambda t: ae.encoder(t))
    checked = tf.function(lambda t: ae.encode(t))
    spec = tf.TensorSpec([None, 32, 32, 1], tf.float32)
    ops = [len(f.get_concrete_function(spec).graph.get_operations())
           for f in (encode, checked)]
    assert ops[0] == ops[1]
    # Traced with a single image's shape, the trace itself is refused.
    with pytest.raises(ValueError, match="one image"):
        tf.function(lambda t: ae.encode(t)).get_concrete_function(
            tf.TensorSpec([32, 32, 1], tf.float32))


def test_fit_still_trains_every_kind(lines32):
    """The models' own steps pass the checks, run eagerly too: a denoising autoencoder's
    noisy images (beyond [-1, 1]) go through `encode` in training, where the range is not
    checked."""
    for name in ("denoising", "acai"):
        model = build(name, lines32, SMALL)
        model.compile()
        model.run_eagerly = True
        history = model.fit(lines32.train(16, seed=0), epochs=1, steps_per_epoch=2,
                            verbose=0)
        assert np.isfinite(history.history["loss_ae"][-1])
        assert np.isfinite(train_steps(model, lines32, 1)[-1]["loss_ae"])


def test_a_gans_generate_checks_z(lines32):
    gan = build("dcgan", lines32, dict(depth=8, z_dim=16))
    refused(lambda: gan.generate(np.zeros((4, 8), np.float32)), "DCGAN.generate",
            "z of shape [4, 8] given", "[N, 16]")
    refused(lambda: gan.generate(np.zeros(16, np.float32)), "x[None]")
    refused(lambda: gan.generate(np.zeros((4, 16), np.int32)), "z of int32")
    assert gan.generate(np.zeros((2, 16), np.float32)).shape == (2, 32, 32, 1)


@pytest.mark.parametrize("name", ["dcgan", "vae"])
def test_sample_checks_its_count_and_seed(lines32, name):
    model = build(name, lines32, dict(depth=8, z_dim=16) if name == "dcgan" else SMALL)
    where = f"{type(model).__name__}.sample"
    refused(lambda: model.sample(-1), where, "count must be an integer >= 1, not -1")
    refused(lambda: model.sample(0), "count must be an integer >= 1, not 0")
    refused(lambda: model.sample(2.5), "count must be an integer >= 1, not 2.5")
    refused(lambda: model.sample("3"), "count must be an integer >= 1, not '3'")
    refused(lambda: model.sample(2, seed=-1), "seed must be an integer >= 0, not -1")
    images, _ = model.sample(np.int64(2), seed=tf.constant(3))
    assert images.shape == (2, 32, 32, 1)


def test_read_images_takes_one_path_or_none(tmp_path):
    from PIL import Image

    from acai import api
    Image.new("L", (40, 20), 255).save(tmp_path / "a.png")
    one = api.read_images(tmp_path / "a.png", colors=1)
    assert one.shape == (1, 32, 32, 1) and np.allclose(one, 1.0)
    np.testing.assert_array_equal(api.read_images([str(tmp_path / "a.png")], colors=1), one)
    assert api.read_images([], colors=3).shape == (0, 32, 32, 3)


def test_the_range_check_reads_values_only_when_known():
    assert inputs.known_values(tf.constant([1.0, 2.0])).tolist() == [1.0, 2.0]
    assert inputs.known_values(np.array([3], np.uint8)).dtype == np.float32
    seen = []

    @tf.function
    def traced(x):
        seen.append(inputs.known_values(x))
        return x

    traced(tf.constant([1.0]))
    assert seen == [None]
