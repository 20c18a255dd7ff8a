"""The autoencoders of the paper, by the name `--model` takes."""

from acai.models.aae import AAE
from acai.models.acai import ACAI
from acai.models.base import AutoEncoder
from acai.models.baseline import Baseline
from acai.models.denoising import Denoising
from acai.models.dropout import Dropout
from acai.models.vqvae import VQVAE
# The VAE lives in its own package, built on this one (vae/__init__.py imports this
# package first, so that either may be imported first).
from vae.model import VAE

MODELS = {
    "baseline": Baseline,
    "acai": ACAI,
    "denoising": Denoising,
    "dropout": Dropout,
    "aae": AAE,
    "vae": VAE,
    "vqvae": VQVAE,
}
