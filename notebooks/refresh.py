"""Executes the tour notebook at its own settings and stores it with its outputs, as a
reader on GitHub sees it:

    python notebooks/refresh.py        # in a clone, after pip install -e '.[test]'

It runs in a temporary folder (nothing is left in the clone), takes a few minutes on a
CPU, and records in the notebook's metadata a digest of its code cells:
tests/test_notebook.py fails when a code cell has changed since (the stored outputs are
stale) and names this command. TensorFlow's C++ start-up lines at info and warning level
(which differ from machine to machine and say nothing of the tour) are left out of what it
stores; running the notebook shows them.
"""

import hashlib
import json
import os
import re
import sys
import tempfile

# The notebook's metadata key of what this script records.
KEY = "acai_tour"
NOTEBOOK = os.path.join(os.path.dirname(os.path.abspath(__file__)), "tour.ipynb")
# TensorFlow's C++ log lines below error level, and absl's banner before them.
START_UP = re.compile(r"WARNING: All log messages before absl::InitializeLog\(\)|"
                      r"[IW]\d{4} [\d:.]+ +\d+ \S+:\d+\] ")


def code_digest(notebook):
    """SHA-256 of the notebook's code cells' sources, in order (a dict as nbformat reads,
    or its JSON)."""
    sources = ["".join(cell["source"]) for cell in notebook["cells"]
               if cell["cell_type"] == "code"]
    return hashlib.sha256(json.dumps(sources).encode()).hexdigest()


def without_start_up(output):
    """A cell's output without TensorFlow's C++ start-up lines (see START_UP)."""
    if output.get("output_type") == "stream":
        output["text"] = "".join(line for line in output["text"].splitlines(keepends=True)
                                 if not START_UP.match(line))
    return output


def main():
    import nbclient
    import nbformat

    notebook = nbformat.read(NOTEBOOK, as_version=4)
    for cell in notebook.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    with tempfile.TemporaryDirectory() as folder:
        nbclient.NotebookClient(notebook, timeout=3600, kernel_name="python3",
                                resources={"metadata": {"path": folder}}).execute()
    for cell in notebook.cells:
        cell.metadata.pop("execution", None)  # Timestamps: noise in a diff.
        if cell.cell_type == "code":
            cell.outputs = [output for output in map(without_start_up, cell.outputs)
                            if output.get("output_type") != "stream" or output["text"]]
    notebook.metadata[KEY] = {"code_sha256": code_digest(notebook)}
    staging = NOTEBOOK + ".tmp"
    nbformat.write(notebook, staging)
    os.replace(staging, NOTEBOOK)
    pictures = sum("image/png" in output.get("data", {}) for cell in notebook.cells
                   for output in cell.get("outputs", []))
    print(f"{NOTEBOOK}: executed, {pictures} pictures stored "
          f"({os.path.getsize(NOTEBOOK) / 1e3:.0f} kB)")


if __name__ == "__main__":
    sys.exit(main())
