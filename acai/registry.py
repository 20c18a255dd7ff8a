"""Every model of the toolkit by the name `--model` takes: the top of the layering.

The core (acai.lib) knows no model; each family (acai.models, vae, gan) builds on the
core; this registry, the Python API (acai.api) and the binaries combine the families.
Adding a model is one file declaring it and one line here.
"""

from typing import Dict, Optional, Sequence, Tuple, Type

from acai.lib.autoencoder import AutoEncoder
from acai.lib.data import DataSpec
from acai.lib.model import Model
from acai.lib.params import declared
from acai.lib.run import Run, RunError, dataset_dirname, load_config
from acai.lib.run import rebuild
from acai.models import AAE, ACAI, Baseline, Denoising, Dropout, VQVAE
from gan.models import DCGAN, GAN, SNGAN
from vae.model import VAE

# In the order of the paper's Table 1 (the lines benchmark's), then the GANs.
MODELS = {
    "baseline": Baseline,
    "denoising": Denoising,
    "dropout": Dropout,
    "vae": VAE,
    "aae": AAE,
    "vqvae": VQVAE,
    "acai": ACAI,
    "dcgan": DCGAN,
    "sngan": SNGAN,
}

# What the evaluation commands ask of a run, by name: (the classes, "an autoencoder").
KINDS = {
    "autoencoder": ((AutoEncoder,), "an autoencoder"),
    "vae": ((VAE,), "a VAE"),
    "gan": ((GAN,), "a GAN"),
}


def models() -> Dict[str, Type[Model]]:
    """{name: model class} of every model."""
    return dict(MODELS)


def model_class(name: str) -> Type[Model]:
    if name not in MODELS:
        raise RunError(f"unknown model {name!r}; valid: {', '.join(sorted(MODELS))}")
    return MODELS[name]


def build(name: str, spec: DataSpec, config: dict, dtype: Optional[str] = None) -> Model:
    """The model `name` for dataset `spec`, from a flat configuration dict; `dtype`: its
    dtype policy (None: Keras' global one)."""
    return model_class(name).create(spec, config, dtype=dtype)


def name_of(model: Model) -> str:
    """The registry's name of a model's class."""
    for name, cls in MODELS.items():
        if type(model) is cls:
            return name
    raise ValueError(f"{type(model).__name__} is not a model of the registry")


def new_run(model: Model, spec: DataSpec, train_dir: str, *,
            classes: Optional[Sequence[str]] = None, data_dir: Optional[str] = None,
            **settings) -> Run:
    """The run folder of `model` trained on `spec`: train_dir/<dataset>/<experiment name>.

    Its config.json holds the model's name and declared parameters, the dataset, the
    model's dtype policy (`precision`) and `settings` (batch, seed, total_kimg,
    report_kimg); a restart may change only what is restartable. acai-train and
    acai.api.train both start runs here, so either may resume the other's.
    """
    params = declared(type(model))
    config = dict(model=name_of(model), dataset=spec.name, classes=list(classes or []),
                  data_dir=data_dir, precision=model.dtype_policy.name,
                  **settings, **{name: getattr(model, name) for name in params})
    return Run(train_dir, dataset_dirname(spec.name, classes), model.experiment_name(),
               config, [name for name, param in params.items() if param.restartable],
               defaults={name: param.default for name, param in params.items()})


def load_run(run_dir: str, data_dir: Optional[str] = None,
             kind: Optional[str] = None) -> Tuple[Model, DataSpec, dict]:
    """-> (model, spec, config) of the run in `run_dir` at its latest checkpoint.

    kind: None, or "autoencoder", "vae", "gan": a run of another kind is a RunError
    saying what the command needs (checked before anything is built).
    """
    config = load_config(run_dir)
    if kind is not None:
        name = config.get("model")
        classes, what = KINDS[kind]
        if not issubclass(model_class(name), classes):
            raise RunError(f"the run at {run_dir} is a {name!r} model, not {what}: this "
                           f"command needs {what} run")
    return rebuild(run_dir, model_class, data_dir, config=config)
