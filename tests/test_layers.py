"""The paper's encoder, decoder and critic."""

import numpy as np
import pytest
import tensorflow as tf

from acai.lib import layers


@pytest.mark.parametrize("scales,colors,latent", [(2, 1, 16), (3, 3, 2), (4, 1, 16)])
def test_encoder_decoder_shapes(scales, colors, latent):
    encoder = layers.encoder((32, 32, colors), scales, depth=8, latent=latent)
    decoder = layers.decoder((32 >> scales, 32 >> scales, latent), scales, depth=8,
                             colors=colors)
    z = encoder(tf.zeros([2, 32, 32, colors]))
    assert z.shape == (2, 32 >> scales, 32 >> scales, latent)
    assert decoder(z).shape == (2, 32, 32, colors)
    # Channels double per scale: the widest convolution has depth << scales filters.
    widest = max(layer.filters for layer in encoder.layers if hasattr(layer, "filters"))
    assert widest == 8 << scales


def test_critic_outputs_one_scalar_per_image():
    critic = layers.critic((32, 32, 1), 3, depth=8, latent=4)
    assert critic(tf.random.normal([5, 32, 32, 1])).shape == (5,)


def test_scales_for():
    assert layers.scales_for(32, 2) == 4
    assert layers.scales_for(32, 4) == 3
    with pytest.raises(ValueError, match="latent_width"):
        layers.scales_for(32, 3)
    with pytest.raises(ValueError, match="power of 2"):
        layers.scales_for(24, 8)


def test_he_modified_initialiser_scale():
    kernel = layers.HeModifiedNormal(seed=0)((3, 3, 64, 64), dtype="float32")
    expected = 1 / np.sqrt((1 + 0.2**2) * 3 * 3 * 64)
    assert np.std(kernel) == pytest.approx(expected, rel=0.05)
    assert abs(np.mean(kernel)) < 0.1 * expected


@pytest.mark.parametrize("dtype", ["float32", "bfloat16", "float16"])
def test_leaky_relu_is_kerases_in_value_and_gradient(dtype):
    """The networks' activation reads its gradient from its output (so that grappler can
    fuse convolution, bias and activation): values and gradients must be Keras' own, bit
    for bit, zeros and both signs included."""
    import keras
    values = np.concatenate([np.random.default_rng(0).standard_normal(999), [0.0, -0.0, 3.0]])
    x = tf.cast(tf.constant(values, tf.float32), dtype)
    weights = tf.cast(tf.range(x.shape[0]), dtype)
    found = []
    for activation in (layers.leaky_relu, keras.activations.leaky_relu):
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = activation(x)
            loss = tf.reduce_sum(y * weights)
        found.append((y.numpy(), tape.gradient(loss, x).numpy()))
    (ours, our_gradient), (theirs, their_gradient) = found
    np.testing.assert_array_equal(ours, theirs)
    np.testing.assert_array_equal(our_gradient, their_gradient)
    assert keras.activations.leaky_relu(tf.constant(-1.0)).numpy() == pytest.approx(-0.2)


def test_networks_use_the_fusable_activation_and_save(tmp_path):
    """Every hidden convolution of the paper's networks uses it, and a network saved and
    loaded the Keras way computes the same."""
    import keras
    encoder = layers.encoder((32, 32, 1), 2, depth=4, latent=2)
    convolutions = [layer for layer in encoder.layers if hasattr(layer, "filters")]
    assert sum(layer.activation is layers.leaky_relu for layer in convolutions) == 5
    x = tf.random.normal([2, 32, 32, 1], seed=1)
    encoder.save(tmp_path / "encoder.keras")
    loaded = keras.models.load_model(tmp_path / "encoder.keras")
    np.testing.assert_array_equal(loaded(x).numpy(), encoder(x).numpy())
