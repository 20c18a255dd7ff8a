"""Exports a run as a SavedModel: acai-export --run=RUN --export_dir=OUT

(or `python -m acai.export`; vae-export and gan-export are the same command). The
SavedModel serves the model's own functions (acai.lib.export), in float32 whatever
precision the run trained in:

  autoencoders   encode(images) -> latent (VAE: also log_variance), decode(latent) ->
                 images, reconstruct(images) -> images, interpolate(image_a, image_b,
                 steps) -> images, latent
  VAEs, also     sample(count, seed) -> images, latent
  GANs           generate(z[, label]) -> images

It is written beside OUT and renamed into place, so OUT is never half-written; an earlier
export at OUT is replaced, any other folder is left alone.
"""

import os

from absl import flags

from acai import registry
from acai.lib import cli
from acai.lib.export import ExportError, check_export_dir, export, staging_check

FLAGS = flags.FLAGS


def define_flags():
    """The binary's flags (defined when it runs, so that its functions import freely)."""
    flags.DEFINE_string("run", None, "Run directory (the folder holding config.json).")
    flags.DEFINE_string("export_dir", None, "Folder to write the SavedModel to; replaced if it "
                        "holds an earlier export.")
    flags.DEFINE_string("data_dir", None, "TFDS folder, if not the one of the run.")


def main():
    cli.require("run", "export_dir")
    # The cheap checks first, before the model is built.
    config_path = os.path.join(FLAGS.run, "config.json")
    if not os.path.isfile(config_path):
        raise ExportError(f"no run at {FLAGS.run}: {config_path} not found")
    check_export_dir(FLAGS.export_dir)
    staging_check(FLAGS.export_dir)
    model, _, _ = registry.load_run(FLAGS.run, FLAGS.data_dir)
    lines = export(model, FLAGS.export_dir)
    print(f"{FLAGS.export_dir}: SavedModel with signatures")
    for line in lines:
        print("  " + line)


def run(prog="acai-export"):
    cli.run(main, prog, define_flags)


if __name__ == "__main__":
    run("acai.export")
