"""The autoencoders of the paper (the VAE is in `vae/`), on the core's AutoEncoder."""

from acai.models.aae import AAE
from acai.models.acai import ACAI
from acai.models.baseline import Baseline
from acai.models.denoising import Denoising
from acai.models.dropout import Dropout
from acai.models.vqvae import VQVAE

__all__ = ["AAE", "ACAI", "Baseline", "Denoising", "Dropout", "VQVAE"]
