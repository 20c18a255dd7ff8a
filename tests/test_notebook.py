"""The tour notebook runs from top to bottom (nbclient, a real kernel), with small
settings, so that it cannot rot; and every picture it promises is drawn."""

import os

import pytest

from conftest import REPO, deadline

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

NOTEBOOK = os.path.join(REPO, "notebooks", "tour.ipynb")


@pytest.mark.slow
def test_the_tour_notebook_runs_and_shows_its_pictures(tmp_path, monkeypatch):
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    monkeypatch.setenv("ACAI_TOUR_KIMG", "1")
    monkeypatch.setenv("PYTHONPATH", REPO + os.pathsep + os.environ.get("PYTHONPATH", ""))
    client = nbclient.NotebookClient(notebook, timeout=deadline(600), kernel_name="python3",
                                     resources={"metadata": {"path": str(tmp_path)}})
    client.execute()
    errors = [output for cell in notebook.cells if cell.cell_type == "code"
              for output in cell.get("outputs", []) if output.output_type == "error"]
    assert not errors
    pictures = sum(1 for cell in notebook.cells if cell.cell_type == "code"
                   for output in cell.get("outputs", [])
                   if "image/png" in output.get("data", {}))
    # Reconstructions, interpolations, the critic, my images, GAN samples, the export.
    assert pictures == 6, pictures
    text = "".join(output.get("text", "") for cell in notebook.cells
                   for output in cell.get("outputs", []))
    difference = float(text.split("largest difference from the model:")[1].split()[0])
    assert difference < 1e-5
    # Every file it wrote is in its one output folder, which git ignores.
    assert os.listdir(tmp_path) == ["tour_output"]
    assert (tmp_path / "tour_output" / "exported_acai" / "saved_model.pb").exists()
    ignored = open(os.path.join(REPO, ".gitignore")).read().split()
    assert "tour_output/" in ignored
