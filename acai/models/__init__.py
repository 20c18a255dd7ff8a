"""The autoencoders of the paper, by the name `--model` takes."""

from acai.models.acai import ACAI
from acai.models.base import AutoEncoder
from acai.models.baseline import Baseline

MODELS = {
    "baseline": Baseline,
    "acai": ACAI,
}
