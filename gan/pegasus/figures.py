"""The pegasus pictures: grids side by side under their titles (matplotlib's object API:
no pyplot, so a notebook's backend is left alone)."""

from matplotlib.figure import Figure

from acai.lib.files import save_figure
from acai.lib.summaries import draw_image


def side_by_side(grids, titles):
    """A Figure of the grids (images in [-1, 1]) side by side, each under its title."""
    fig = Figure(figsize=(4.5 * len(grids), 5.2))
    axes = fig.subplots(1, len(grids), squeeze=False)
    for ax, grid, title in zip(axes[0], grids, titles):
        draw_image(ax, grid, title)
    fig.tight_layout()
    return fig


def save_side_by_side(grids, titles, path):
    save_figure(side_by_side(grids, titles), path, dpi=120)
