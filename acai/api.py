"""The toolkit from Python (a notebook, a script): load a run, use it, train a model.

    from acai import api

    model = api.load("experiments/lines32/ACAI_advdepth16_advweight0.5_depth16_"
                     "latent16_reg0.2_scales4")
    z = model.encode(images)                         # images [N, 32, 32, 1] in [-1, 1]
    reconstructions = model.decode(z)
    path, codes = model.interpolate(images[0], images[1], steps=16)
    samples, _ = api.load(VAE_OR_GAN_RUN).sample(64, seed=0)

    model = api.create("acai", (32, 32, 1), latent_width=2, depth=16, latent=16)
    model.compile()
    model.fit(dataset, epochs=4, steps_per_epoch=256, callbacks=[...])   # any tf.data
                                       # of images in [-1, 1], or (images, labels)
    api.train(model, "lines32", "experiments", total_kimg=128)   # a run folder, as acai-train
    model.save("m.keras"); model = api.load_keras("m.keras")     # Keras' own file format
    api.show(images)            # a grid of images in [-1, 1], inline in a notebook
    fig = api.figure(figsize=(4, 3))   # a Figure to draw on, inline in a notebook too
    images = api.read_images(["a.png", "b.jpg"], colors=3)   # files as a model's input

Models are keras.Models: `model.fit`, `model.summary()`, Keras callbacks all apply.
"""

import os
from typing import Optional, Sequence, Union

import keras
import numpy as np
import tensorflow as tf

from acai import registry
from acai.lib import data, device, training
from acai.lib.data.folders import decode_fn, path_tensor
from acai.lib.data.pipeline import to_float
from acai.lib.files import check_keras_file
from acai.lib.model import Model
from acai.lib.run import SETTINGS
from acai.lib.summaries import ShownFigure, grid_figure, grid_of, to_uint8

# As the binaries do: on a machine without a GPU, TensorFlow's error line "failed call to
# cuInit" (in a notebook, under the first cell) is left out.
device.probe_devices()

MODELS = registry.MODELS
PathLike = Union[str, os.PathLike]
Figure = ShownFigure  # A matplotlib Figure a notebook shows inline.


def load(run_dir: PathLike, data_dir: Optional[PathLike] = None) -> Model:
    """The model of the run in `run_dir` at its latest checkpoint, computing in float32.

    data_dir: the TFDS folder, if not the one the run was trained with.
    """
    model, _, _ = registry.load_run(run_dir, data_dir)
    return model


def load_keras(path: PathLike, compile: bool = True) -> Model:
    """A model of the toolkit saved with `model.save(path)` (a `.keras` file):
    keras.models.load_model once the toolkit's classes are registered (importing the
    toolkit does that), with optimiser state when `compile`. A file that is cut short,
    empty or not a Keras archive is a ValueError that calls it damaged (Keras itself says
    "File not found" for a file that is there)."""
    path = os.fspath(path)
    check_keras_file(path)
    return keras.models.load_model(path, compile=compile)


def create(name: str, image_shape: Sequence[int], nclass: int = 0, **params) -> Model:
    """A new model `name` (see MODELS) for images of `image_shape` (H, W, C) in [-1, 1];
    nclass > 0 for labelled data (the autoencoders' latent probe, conditional GANs);
    params: the model's hyperparameters (its flags), its defaults otherwise; and
    dtype: the dtype policy it computes in ("mixed_bfloat16", ...; default: Keras' global
    policy now)."""
    return registry.model_class(name)(image_shape, nclass, **params)


def dataset(name: str, data_dir: Optional[PathLike] = None,
            classes: Optional[Sequence[str]] = None) -> data.DataSpec:
    """A dataset of the toolkit by name ('lines32', 'mnist32', 'folder:PATH', ...): its
    .train(batch, seed=...) is an endless tf.data of (images, labels) batches."""
    return data.get_dataset(name, data_dir, classes)


def train(model: Model, dataset_name: str, train_dir: PathLike, *, total_kimg: int,
          report_kimg: int = SETTINGS["report_kimg"], batch: int = SETTINGS["batch"],
          seed: Optional[int] = None, classes: Optional[Sequence[str]] = None,
          data_dir: Optional[PathLike] = None, callbacks: Sequence = (),
          verbose: Optional[bool] = None) -> dict:
    """Trains `model` in a run folder, as acai-train does: reports, image grids,
    metrics.jsonl, checkpoints and resume, every `report_kimg`, until `total_kimg`.

    Returns the last report's scalars. The run folder is
    train_dir/<dataset>/<experiment name>; `api.load` reloads it. callbacks: Keras
    callbacks, called after the run's report (their `logs` hold the evaluations too;
    nothing they do is in the run's reports or checkpoints).
    """
    spec = data.get_dataset(dataset_name, data_dir, classes)
    if tuple(model.image_shape) != (spec.height, spec.width, spec.colors):
        raise ValueError(f"the model takes images of shape {model.image_shape}, "
                         f"{dataset_name} has {(spec.height, spec.width, spec.colors)}")
    run = registry.new_run(model, spec, train_dir, classes=classes, data_dir=data_dir,
                           batch=batch, seed=seed, total_kimg=total_kimg,
                           report_kimg=report_kimg)
    return training.train(model, spec, run, callbacks=callbacks, verbose=verbose)


def show(images, cols: Optional[int] = None, title: Optional[str] = None) -> Figure:
    """A matplotlib Figure of images [N, H, W, C] in [-1, 1] (a model's output, a
    dataset's batch) as a grid, `cols` per row (default about square). A notebook shows
    the returned figure inline; the toolkit never touches pyplot or the backend."""
    return grid_figure(images, cols, title)


def figure(**kwargs) -> Figure:
    """A new matplotlib Figure (keyword arguments: Figure's, e.g. figsize=(4, 3)) that a
    notebook shows inline when it is a cell's result, with no pyplot: draw on
    `figure.add_subplot()`."""
    return ShownFigure(**kwargs)


def grid(images, cols: Optional[int] = None) -> np.ndarray:
    """Images [N, H, W, C] in [-1, 1] -> one uint8 image [rows * H, cols * W, C] of the
    grid, e.g. for PIL.Image.fromarray or an image summary."""
    return to_uint8(grid_of(images, cols))


def read_images(paths: Union[PathLike, Sequence[PathLike]], colors: int = 3) -> np.ndarray:
    """Image files (PNG, JPEG, BMP, GIF; any size and colour mode) as a model's input:
    float32 [N, 32, 32, colors] in [-1, 1], converted and resized as a `folder:`
    dataset's images are. paths: a list of paths (one path alone is taken as a list of
    one). colors: 1 (grey) or 3, the model's image_shape[-1]."""
    if colors not in (1, 3):
        raise ValueError(f"colors={colors!r}: 1 (grey) or 3")
    if isinstance(paths, (str, bytes, os.PathLike)):
        paths = [paths]
    paths = list(paths)
    if not paths:
        return np.zeros((0, 32, 32, colors), np.float32)
    decode = decode_fn(colors)
    images = []
    for path, name in zip(paths, path_tensor([os.fsdecode(p) for p in paths])):
        try:
            images.append(to_float(decode(name)).numpy())
        except (tf.errors.OpError, ValueError) as e:
            raise ValueError(f"cannot read {path} as an image ({str(e).splitlines()[0]})")
    return np.stack(images)
