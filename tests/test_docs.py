"""First contact: the README stays short and timeless, every relative link and image of
the README and docs/ resolves, the runs/ scripts parse, and the licence is there."""

import glob
import os
import re
import subprocess

import pytest

from conftest import REPO

PAGES = [os.path.join(REPO, "README.md")] + sorted(glob.glob(os.path.join(REPO, "docs",
                                                                          "*.md")))
# A lab notebook's words: dates, this machine, paths beside one checkout.
DATED = re.compile(r"\b20\d\d-\d\d-\d\d\b|\b(January|February|March|April|May|June|July|"
                   r"August|September|October|November|December) 20\d\d\b|"
                   r"this (project's )?machine|shared/data|offline here|lent to")


def links(text):
    """The targets of Markdown links and <img src=...> of a page."""
    found = re.findall(r"\]\(([^)\s]+)\)", text) + re.findall(r'src="([^"]+)"', text)
    return [t for t in found if not re.match(r"[a-z]+:", t)]  # Not http:, https:, ...


def test_the_readme_is_read_in_five_minutes():
    lines = open(os.path.join(REPO, "README.md"), encoding="utf-8").read().splitlines()
    assert len(lines) <= 200
    assert len(glob.glob(os.path.join(REPO, "docs", "*.md"))) >= 4


@pytest.mark.parametrize("page", PAGES, ids=os.path.basename)
def test_a_page_has_no_dated_or_machine_talk_and_its_links_resolve(page):
    text = open(page, encoding="utf-8").read()
    assert not DATED.search(text), DATED.search(text).group(0)
    for target in links(text):
        path = os.path.normpath(os.path.join(os.path.dirname(page), target.split("#")[0]))
        assert os.path.exists(path), f"{os.path.basename(page)}: {target}"


def test_the_link_finder_finds_a_broken_link(tmp_path):
    assert links('[a](docs/x.md) <img src="y.png"> [b](https://example.org)') == [
        "docs/x.md", "y.png"]
    assert DATED.search("measured on 2026-11-24")


def test_every_runs_script_parses_and_the_docs_name_it():
    scripts = sorted(glob.glob(os.path.join(REPO, "runs", "*.sh")))
    assert len(scripts) >= 3
    docs = "".join(open(page, encoding="utf-8").read() for page in PAGES)
    for script in scripts:
        assert subprocess.run(["bash", "-n", script]).returncode == 0, script
        assert f"runs/{os.path.basename(script)}" in docs, script


def test_the_notebook_the_licence_and_the_changelog_are_there():
    readme = open(os.path.join(REPO, "README.md"), encoding="utf-8").read()
    assert "notebooks/tour.ipynb" in readme and "Colab" in readme
    # A Colab badge must open the notebook in Colab, not link a file of the checkout.
    assert not re.search(r"colab-badge\.svg\)\]\((?!https://colab\.research)", readme)
    assert "Apache License" in open(os.path.join(REPO, "LICENSE")).read()
    assert open(os.path.join(REPO, "CHANGELOG.md")).read().startswith("# Changelog")
