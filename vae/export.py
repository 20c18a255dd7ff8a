"""Exports a VAE run as a SavedModel: vae-export --run=RUN --export_dir=OUT

(or `python -m vae.export`): the same command as acai-export (see there).
"""

from acai import export


def run():
    export.run("vae-export")


if __name__ == "__main__":
    export.run("vae.export")
