"""The flags several binaries share, each defined here once: the run folder a command
reads (`--run`, with the older spelling it had kept as an alias) and the TFDS folder
(`--data_dir`)."""

from absl import flags


def define_run(help_text="Run folder (the folder holding config.json).", name="run",
               aliases=()):
    """--run (or `name`): a run folder; `aliases`: older spellings of the same flag, which
    keep working and show in --help as 'Alias for --run'."""
    flags.DEFINE_string(name, None, help_text)
    for alias in aliases:
        flags.DEFINE_alias(alias, name)


def define_data_dir():
    flags.DEFINE_string("data_dir", None, "TensorFlow Datasets folder (default: the run's "
                        "own, else TFDS_DATA_DIR or ~/tensorflow_datasets).")
