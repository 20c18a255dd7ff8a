"""The toolkit in a notebook: it never switches matplotlib's backend nor leaves pyplot
figures behind, and its API draws a grid of images as a figure to show inline."""

import subprocess
import sys

import numpy as np
from matplotlib.figure import Figure

from acai import api
from conftest import deadline, REPO

# Imports every module that draws, and draws with each, under a backend of the user's.
SCRIPT = r"""
import matplotlib
matplotlib.use("svg")  # The user's choice (a notebook's is its inline backend).
import matplotlib.pyplot as plt
import numpy as np
import acai.lines_benchmark, gan.pegasus, vae.sample
from acai import api
from acai.lib.summaries import plot_curves
from gan.pegasus.figures import side_by_side
plot_curves([{"kimg": 1, "loss": 1.0}, {"kimg": 2, "loss": 0.5}], sys.argv[1])
side_by_side([np.zeros((8, 8, 3))], ["t"])
acai.lines_benchmark.interpolation_figure({"ae": np.zeros((4, 8, 8, 1))})
api.show(np.zeros((4, 8, 8, 1)))
print("BACKEND", matplotlib.get_backend(), "FIGURES", len(plt.get_fignums()))
"""


def test_no_module_switches_the_backend_or_leaves_pyplot_figures(tmp_path):
    result = subprocess.run([sys.executable, "-c", "import sys\n" + SCRIPT,
                             str(tmp_path / "curves.png")], cwd=REPO,
                            capture_output=True, text=True, timeout=deadline(300))
    assert result.returncode == 0, result.stderr[-2000:]
    assert "BACKEND svg FIGURES 0" in result.stdout, result.stdout
    assert (tmp_path / "curves.png").read_bytes()[:4] == b"\x89PNG"


def test_show_draws_a_grid_of_images_as_a_figure():
    images = np.stack([np.full((8, 8, 1), v, np.float32) for v in (-1.0, 0.0, 1.0)])
    figure = api.show(images, cols=2, title="three")
    assert isinstance(figure, Figure)
    (ax,) = figure.axes
    shown = ax.get_images()[0].get_array()
    assert shown.shape == (16, 16)  # 2 x 2 cells, the last one padded black.
    assert shown[0, 0] == 0 and shown[0, 8] == 128 and shown[8, 0] == 255
    assert shown[8, 8] == 0
    grid = api.grid(images, cols=3)
    assert grid.dtype == np.uint8 and grid.shape == (8, 24, 1)
    np.testing.assert_array_equal(grid[0, ::8, 0], [0, 128, 255])
