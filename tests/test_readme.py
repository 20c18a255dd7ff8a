"""The README's Python example runs as written, and gives what its comments say."""

import os
import re

import numpy as np

from conftest import REPO


def readme_example():
    text = open(os.path.join(REPO, "README.md")).read()
    section = text[text.index("## From Python"):]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


def test_the_python_example_runs_as_written(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    namespace = {}
    exec(compile(readme_example(), "README.md", "exec"), namespace)
    assert tuple(namespace["z"].shape) == (8, 4, 4, 8)
    reconstructions = np.asarray(namespace["reconstructions"])
    assert reconstructions.shape == (8, 32, 32, 1)
    assert np.all(np.abs(reconstructions) <= 1.0 + 1e-5)
    assert tuple(namespace["path"].shape) == (16, 32, 32, 1)
    # The interpolation starts and ends at the two images' reconstructions.
    np.testing.assert_allclose(namespace["path"][0], reconstructions[0], atol=1e-4)
    np.testing.assert_allclose(namespace["path"][-1], reconstructions[1], atol=1e-4)
    assert tuple(namespace["samples"].shape) == (16, 32, 32, 1)
    # The user's callbacks ran: one CSV row per report and per epoch.
    reports = open(tmp_path / "acai_reports.csv").read().splitlines()
    assert len(reports) == 3 and "latent_accuracy" in reports[0] and "kimg" in reports[0]
    assert len(open(tmp_path / "vae.csv").read().splitlines()) == 3
