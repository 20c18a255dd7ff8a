"""Exports a GAN run as a SavedModel: gan-export --run=RUN --export_dir=OUT

(or `python -m gan.export`): the same command as acai-export (see there).
"""

from acai import export


def run():
    export.run("gan-export")


if __name__ == "__main__":
    export.run("gan.export")
