"""The tour notebook runs from top to bottom (nbclient, a real kernel), with small
settings, so that it cannot rot; every picture it promises is drawn; and it is stored
with the outputs of its current code (notebooks/refresh.py)."""

import importlib.util
import json
import os

import pytest

from conftest import REPO, deadline, error_level_lines

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

NOTEBOOK = os.path.join(REPO, "notebooks", "tour.ipynb")
PICTURES = 6  # Reconstructions, interpolations, the critic, my images, GAN samples, export.


def load_refresh():
    """notebooks/refresh.py, the script that stores the notebook's outputs."""
    spec = importlib.util.spec_from_file_location(
        "refresh", os.path.join(REPO, "notebooks", "refresh.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def pictures_and_errors(cells):
    outputs = [output for cell in cells if cell["cell_type"] == "code"
               for output in cell.get("outputs", [])]
    return (sum("image/png" in output.get("data", {}) for output in outputs),
            [output for output in outputs if output["output_type"] == "error"])


def test_the_stored_tour_shows_the_outputs_of_its_current_code():
    """A reader on GitHub sees every picture, made by the code cells as they are now."""
    with open(NOTEBOOK) as f:
        notebook = json.load(f)
    refresh = load_refresh()
    stored = notebook["metadata"].get(refresh.KEY, {}).get("code_sha256")
    assert stored == refresh.code_digest(notebook), (
        "notebooks/tour.ipynb's stored outputs are stale (a code cell changed since they "
        "were made): run python notebooks/refresh.py")
    assert pictures_and_errors(notebook["cells"]) == (PICTURES, [])
    assert os.path.getsize(NOTEBOOK) < 1_000_000  # Small pictures.
    streams = "".join(output["text"] if isinstance(output["text"], str)
                      else "".join(output["text"]) for cell in notebook["cells"]
                      for output in cell.get("outputs", [])
                      if output["output_type"] == "stream")
    # Nothing that reads as trouble: no error-level line (TensorFlow's cuInit one without
    # a GPU), no TensorFlow INFO record ("Assets written to").
    assert error_level_lines(streams) == [] and "INFO:tensorflow" not in streams, streams


@pytest.mark.slow
def test_the_tour_notebook_runs_and_shows_its_pictures(tmp_path, monkeypatch):
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    for cell in notebook.cells:
        if cell.cell_type == "code":
            cell.outputs = []  # Its stored outputs.
    monkeypatch.setenv("ACAI_TOUR_KIMG", "1")
    monkeypatch.setenv("PYTHONPATH", REPO + os.pathsep + os.environ.get("PYTHONPATH", ""))
    client = nbclient.NotebookClient(notebook, timeout=deadline(600), kernel_name="python3",
                                     resources={"metadata": {"path": str(tmp_path)}})
    client.execute()
    assert pictures_and_errors(notebook.cells) == (PICTURES, [])
    text = "".join(output.get("text", "") for cell in notebook.cells
                   for output in cell.get("outputs", []))
    difference = float(text.split("largest difference from the model:")[1].split()[0])
    assert difference < 1e-5
    # Every file it wrote is in its one output folder, which git ignores.
    assert os.listdir(tmp_path) == ["tour_output"]
    assert (tmp_path / "tour_output" / "exported_acai" / "saved_model.pb").exists()
    ignored = open(os.path.join(REPO, ".gitignore")).read().split()
    assert "tour_output/" in ignored
