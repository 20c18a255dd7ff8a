"""The GANs of the toolkit."""

from gan.models.base import GAN
from gan.models.dcgan import DCGAN
from gan.models.sngan import SNGAN

__all__ = ["GAN", "DCGAN", "SNGAN"]
