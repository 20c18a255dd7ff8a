"""Every model of the toolkit by the name `--model` takes: the top of the layering.

The core (acai.lib) knows no model; each family (acai.models, vae, gan) builds on the
core; this registry, the Python API (acai.api) and the binaries combine the families.
Adding a model is one file declaring it and one line here.
"""

from acai.lib.autoencoder import AutoEncoder
from acai.lib.run import RunError, load_config, load_run as load_run_with
from acai.models import AAE, ACAI, Baseline, Denoising, Dropout, VQVAE
from gan.models import DCGAN, GAN, SNGAN
from vae.model import VAE

MODELS = {
    "baseline": Baseline,
    "acai": ACAI,
    "denoising": Denoising,
    "dropout": Dropout,
    "aae": AAE,
    "vae": VAE,
    "vqvae": VQVAE,
    "dcgan": DCGAN,
    "sngan": SNGAN,
}

# What the evaluation commands ask of a run, by name: (the classes, "an autoencoder").
KINDS = {
    "autoencoder": ((AutoEncoder,), "an autoencoder"),
    "vae": ((VAE,), "a VAE"),
    "gan": ((GAN,), "a GAN"),
}


def models():
    """{name: model class} of every model."""
    return dict(MODELS)


def model_class(name):
    if name not in MODELS:
        raise RunError(f"unknown model {name!r}; valid: {', '.join(sorted(MODELS))}")
    return MODELS[name]


def build(name, spec, config):
    """The model `name` for dataset `spec`, from a flat configuration dict."""
    return model_class(name).create(spec, config)


def load_run(run_dir, data_dir=None, kind=None):
    """-> (model, spec, config) of the run in `run_dir` at its latest checkpoint.

    kind: None, or "autoencoder", "vae", "gan": a run of another kind is a RunError
    saying what the command needs (checked before anything is built).
    """
    if kind is not None:
        name = load_config(run_dir).get("model")
        classes, what = KINDS[kind]
        if not issubclass(model_class(name), classes):
            raise RunError(f"the run at {run_dir} is a {name!r} model, not {what}: this "
                           f"command needs {what} run")
    return load_run_with(run_dir, model_class, data_dir)
