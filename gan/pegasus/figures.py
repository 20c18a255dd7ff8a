"""The pegasus pictures: grids of images, and grids side by side under their titles
(matplotlib's object API: no pyplot, so a notebook's backend is left alone)."""

import math

import numpy as np
from matplotlib.figure import Figure

from acai.lib.files import save_figure
from acai.lib.summaries import images_to_grid, to_uint8


def grid_of(images, cols=None):
    """Images [N, H, W, C] -> one grid image, `cols` per row (default ~square), the last
    row padded with black."""
    images = np.asarray(images, np.float32)
    cols = cols or max(1, math.ceil(math.sqrt(len(images))))
    rows = max(1, math.ceil(len(images) / cols))
    padded = np.full((rows * cols,) + images.shape[1:], -1.0, np.float32)
    padded[:len(images)] = images
    return images_to_grid(padded.reshape((rows, cols) + images.shape[1:]))


def side_by_side(grids, titles):
    """A Figure of the grids (images in [-1, 1]) side by side, each under its title."""
    fig = Figure(figsize=(4.5 * len(grids), 5.2))
    axes = fig.subplots(1, len(grids), squeeze=False)
    for ax, grid, title in zip(axes[0], grids, titles):
        image = to_uint8(grid)
        ax.imshow(image[..., 0] if image.shape[-1] == 1 else image, cmap="gray",
                  interpolation="nearest")
        ax.set_title(title, fontsize=10)
        ax.axis("off")
    fig.tight_layout()
    return fig


def save_side_by_side(grids, titles, path):
    save_figure(side_by_side(grids, titles), path, dpi=120)
