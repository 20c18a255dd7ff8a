"""Exports a run as a SavedModel: acai-export --run=RUN --export_dir=OUT

(or `python -m acai.export`; vae-export and gan-export are the same command). The
SavedModel serves the model's own functions (acai.lib.export), in float32 whatever
precision the run trained in:

  autoencoders   encode(images) -> latent (VAE: also log_variance), decode(latent) ->
                 images, reconstruct(images) -> reconstructions, interpolate(image_a,
                 image_b, steps) -> images, latent
  VAEs, also     sample(count, seed) -> images, latent
  GANs           generate(z[, label]) -> images

serving_default (and serve) is reconstruct for an autoencoder, generate for a GAN. No
output is named like an input. It says which checkpoint (kimg) it exported, and warns
when the run has not reached its total_kimg.

--format=onnx writes OUT/<name>.onnx instead, every function but a VAE's sample (tf2onnx
and onnxruntime needed: pip install 'acai-toolkit[onnx]'); --format=tflite writes
OUT/<name>.tflite for each function of batches (encode, decode, reconstruct, generate; not
interpolate's nor sample's scalar inputs), at --tflite_batch images a call. Each file is
run once and checked against TensorFlow before it is kept.

It is written beside OUT and renamed into place, so OUT is never half-written; an earlier
export at OUT is replaced, any other folder is left alone.
"""

import os

from absl import flags, logging

from acai import registry
from acai.lib import checkpoint, cli
from acai.lib.export import (ONNX_OPSET, ExportError, check_export_dir, export,
                             export_onnx, export_tflite, staging_check)
from acai.lib.paths import RunPaths
from flags import common

FLAGS = flags.FLAGS


def define_flags():
    """The binary's flags (defined when it runs, so that its functions import freely)."""
    common.define_run()
    flags.DEFINE_string("export_dir", None, "Folder to write the SavedModel to; replaced if it "
                        "holds an earlier export.")
    common.define_data_dir()
    flags.DEFINE_enum("format", "savedmodel", ["savedmodel", "tflite", "onnx"], "savedmodel: "
                      "one SavedModel with every signature; tflite: a TensorFlow Lite model "
                      "per function of batches; onnx: an ONNX model per function (needs "
                      "tf2onnx and onnxruntime).")
    flags.DEFINE_integer("tflite_batch", 1, "--format=tflite: the images of one call.",
                         lower_bound=1)


def main():
    cli.require(FLAGS, "run", "export_dir")
    # The cheap checks first, before the model is built.
    config_path = RunPaths(FLAGS.run).config_path
    if not os.path.isfile(config_path):
        raise ExportError(f"no run at {FLAGS.run}: {config_path} not found")
    check_export_dir(FLAGS.export_dir)
    staging_check(FLAGS.export_dir)
    model, _, config = registry.load_run(FLAGS.run, FLAGS.data_dir)
    kimg, total = checkpoint.kimg_done(FLAGS.run), config.get("total_kimg")
    print(f"{FLAGS.run}: its checkpoint of kimg={kimg}")
    if total is not None and kimg < int(total):
        logging.warning("%s has not finished training (kimg=%d of its total_kimg=%s): "
                        "exporting its latest checkpoint", FLAGS.run, kimg, total)
    if FLAGS.format in ("tflite", "onnx"):
        if FLAGS.format == "tflite":
            differences = export_tflite(model, FLAGS.export_dir, FLAGS.tflite_batch)
            print(f"{FLAGS.export_dir}: TensorFlow Lite models, batch {FLAGS.tflite_batch}")
        else:
            differences = export_onnx(model, FLAGS.export_dir)
            print(f"{FLAGS.export_dir}: ONNX models (opset {ONNX_OPSET})")
        for name, difference in sorted(differences.items()):
            print(f"  {name}.{FLAGS.format} (checked: within {difference:.2g} of "
                  "TensorFlow)")
        return
    lines = export(model, FLAGS.export_dir)
    print(f"{FLAGS.export_dir}: SavedModel with signatures")
    for line in lines:
        print("  " + line)


def run(prog="acai-export"):
    cli.launch(main, prog, define_flags, FLAGS)


if __name__ == "__main__":
    run("acai.export")
