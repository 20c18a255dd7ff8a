"""acai.lines_benchmark: trains each model in its own process, scores, and resumes."""

import math
import subprocess
import sys

import pytest

from conftest import deadline, REPO

def run_benchmark(train_dir):
    return subprocess.run(
        [sys.executable, "-m", "acai.lines_benchmark", f"--train_dir={train_dir}",
         "--total_kimg=1", "--report_kimg=1", "--models=baseline,acai", "--depth=8",
         "--latent=8", "--latent_width=4", "--seed=1", "--precision=float32"],
        cwd=REPO, capture_output=True, text=True, timeout=deadline(600))


def table_rows(markdown):
    rows = {}
    for line in markdown.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) == 3 and cells[0] in ("baseline", "acai"):
            rows[cells[0]] = (float(cells[1]), float(cells[2]))
    return rows


@pytest.mark.slow
def test_benchmark_writes_table_and_figure_then_skips_training(tmp_path):
    result = run_benchmark(tmp_path)
    assert result.returncode == 0, (result.stdout + result.stderr)[-3000:]
    assert "training baseline" in result.stdout and "training acai" in result.stdout
    markdown = (tmp_path / "lines_benchmark.md").read_text()
    assert "Mean distance" in markdown and "Mean smoothness" in markdown
    rows = table_rows(markdown)
    assert set(rows) == {"baseline", "acai"}
    for distance, smoothness in rows.values():
        assert math.isfinite(distance) and distance >= 0
        # nan when no interpolation has a defined score yet, else the paper's range.
        assert math.isnan(smoothness) or 0 <= smoothness <= 1
    assert (tmp_path / "lines_benchmark.png").read_bytes()[:4] == b"\x89PNG"
    assert "| baseline |" in result.stdout  # The table is printed too.

    again = run_benchmark(tmp_path)
    assert again.returncode == 0, (again.stdout + again.stderr)[-3000:]
    assert "training baseline" not in again.stdout and "training acai" not in again.stdout
    assert again.stdout.count("skipping training") == 2
    assert "acai.train" not in again.stderr  # No training process was started.
    rescored = table_rows((tmp_path / "lines_benchmark.md").read_text())
    assert {k: v[0] for k, v in rescored.items()} == {k: v[0] for k, v in rows.items()}


@pytest.mark.slow
def test_unknown_model_is_a_usage_error(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "acai.lines_benchmark", f"--train_dir={tmp_path}",
         "--models=baseline,nope"], cwd=REPO, capture_output=True, text=True, timeout=deadline(120))
    assert result.returncode != 0
    assert "nope" in result.stderr and "Traceback" not in result.stderr
