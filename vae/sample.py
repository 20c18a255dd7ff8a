"""Draws a trained VAE: vae-sample --run=RUN_DIR [--out=DIR]  (or python -m vae.sample)

Writes, into --out (default RUN_DIR/images/):
  prior_samples.png   a 16x16 grid of images decoded from N(0, I) latent samples;
and, when the latent has 2 values in all (--latent_dim=2, or a convolutional latent of
total size 2):
  latent_map.png      decodings of a regular grid over [-3, 3]^2 (20x20);
  latent_scatter.png  the test set's latent means, coloured by class.
"""

import math
import os

import numpy as np
from absl import flags
from matplotlib import colormaps
from matplotlib.figure import Figure

from acai import registry
from acai.lib import cli
from acai.lib.evaluation import batched
from acai.lib.files import check_writable, save_figure
from acai.lib.paths import RunPaths
from acai.lib.run import RunError
from acai.lib.summaries import images_to_grid, save_png
from flags import common

FLAGS = flags.FLAGS


def define_flags():
    """The binary's flags (defined when it runs, so that its functions import freely)."""
    common.define_run()
    flags.DEFINE_string("out", None, "Output folder (default: RUN/images).")
    flags.DEFINE_integer("seed", 0, "Seed of the prior samples.")
    flags.DEFINE_integer("map_size", 20, "Rows and columns of the latent map.", lower_bound=2)
    flags.DEFINE_float("map_range", 3.0, "The latent map covers [-range, range]^2.",
                       lower_bound=0.0)
    common.define_data_dir()


GRID = 16
BATCH = 256


def prior_samples(model, seed=0, grid=GRID):
    """(grid * H, grid * W, C) image of decodings of N(0, I) latent samples."""
    z = np.random.RandomState(seed).standard_normal(
        (grid * grid,) + tuple(model.latent_shape)).astype(np.float32)
    images = batched(lambda t: model.decode(t), z)
    return images_to_grid(images.reshape((grid, grid) + images.shape[1:]))


def latent_map(model, size=20, extent=3.0):
    """Decodings of a size x size grid over [-extent, extent]^2 of a 2-value latent;
    rows go from +extent (top) to -extent, columns from -extent to +extent."""
    values = np.linspace(-extent, extent, size, dtype=np.float32)
    z1, z0 = np.meshgrid(values[::-1], values, indexing="ij")
    z = np.stack([z0.ravel(), z1.ravel()], axis=1).reshape(
        (-1,) + tuple(model.latent_shape))
    images = batched(lambda t: model.decode(t), z)
    return images_to_grid(images.reshape((size, size) + images.shape[1:]))


def latent_scatter(model, spec, path):
    """Scatter plot of the test set's latent means (2 values), coloured by class."""
    codes, labels = [], []
    for x, label in spec.test(BATCH):
        codes.append(np.asarray(model.encode(x)).reshape(-1, 2))
        labels.append(label.numpy())
    codes, labels = np.concatenate(codes), np.concatenate(labels)
    names = list(spec.class_names)
    fig = Figure(figsize=(8, 7))
    ax = fig.subplots()
    cmap = colormaps["tab10" if len(names) <= 10 else "tab20"].resampled(max(len(names), 1))
    for index, name in enumerate(names):
        kept = labels == index
        if kept.any():
            ax.scatter(codes[kept, 0], codes[kept, 1], s=4, color=cmap(index), label=name)
    ax.set_xlabel("z[0]")
    ax.set_ylabel("z[1]")
    ax.set_title(f"Test set latent means ({spec.name})")
    ax.legend(markerscale=3, fontsize="small", loc="best")
    fig.tight_layout()
    save_figure(fig, path, dpi=100)


def main():
    cli.require(FLAGS, "run")
    model, spec, config = registry.load_run(FLAGS.run, FLAGS.data_dir, kind="vae")
    out = FLAGS.out or RunPaths(FLAGS.run).image_dir
    check_writable(out, remedy="check its permissions, or choose another --out")
    try:
        os.makedirs(out, exist_ok=True)
    except OSError as e:
        raise RunError(f"cannot create {out}: {e.strerror}")
    written = [os.path.join(out, "prior_samples.png")]
    save_png(prior_samples(model, FLAGS.seed), written[-1])
    if math.prod(model.latent_shape) == 2:
        written.append(os.path.join(out, "latent_map.png"))
        save_png(latent_map(model, FLAGS.map_size, FLAGS.map_range), written[-1])
        written.append(os.path.join(out, "latent_scatter.png"))
        latent_scatter(model, spec, written[-1])
    for path in written:
        print(path)


def run(prog="vae-sample"):
    cli.launch(main, prog, define_flags, FLAGS)


if __name__ == "__main__":
    run("vae.sample")
