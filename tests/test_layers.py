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
