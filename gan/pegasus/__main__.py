"""python -m gan.pegasus: the pegasus search (gan.pegasus.main)."""

from gan.pegasus.main import run

if __name__ == "__main__":
    run("gan.pegasus")
