"""Why does a run decode blank images? Its codes, looked at on a batch of training images.

  python benchmarks/code_collapse.py --run=RUN_DIR [--images=2048] [--seed=7]

Loads a finished or running autoencoder run and prints, for --images training images:
- how much the codes vary between images (the standard deviation of each code value across
  the images, averaged over the values) against the codes' size, and how much the decoded
  images vary (a decoder that draws the same image for every input has spread ~0);
- for an AAE, the discriminator's logits on the codes and on N(0, I) samples (positive
  means "a prior sample");
- for a VQ-VAE, how many codebook entries the images use, the norms of the unused ones,
  and at what kimg the first unused entry comes back within reach of the codes
  (acai.models.vqvae.steps_until_in_reach: a prediction, the codes move too).
"""

import os
import sys

import numpy as np
import tensorflow as tf
from absl import app, flags

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from acai import api  # noqa: E402
from acai.lib.run import load_config, read_metrics  # noqa: E402
from acai.models.vqvae import steps_until_in_reach  # noqa: E402

flags.DEFINE_string("run", None, "Run folder of an autoencoder (acai-train's output).")
flags.DEFINE_integer("images", 2048, "Training images to encode.")
flags.DEFINE_integer("seed", 7, "Seed of the batch of training images.")
flags.mark_flag_as_required("run")
FLAGS = flags.FLAGS


def spread(values):
    """Mean over the values of each one's standard deviation across the batch (axis 0)."""
    values = np.asarray(values, np.float64).reshape(len(values), -1)
    return float(values.std(0).mean())


def report_vqvae(model, codes, batch, kimg_now):
    projected, index, _ = model.vector_quantize(codes)
    vectors = np.asarray(projected, np.float64).reshape(-1, model.quantizer.dim)
    index = np.asarray(index).reshape(-1)
    codebook = np.asarray(model.quantizer.codebook, np.float64)
    used = np.unique(index)
    unused = np.setdiff1d(np.arange(len(codebook)), used)
    print(f"codebook entries used: {len(used)} of {len(codebook)} "
          f"(by {len(index)} vectors)")
    if not len(unused):
        return
    norms = np.linalg.norm(codebook[unused], axis=1)
    print(f"unused entries' norms: min {norms.min():.3g}, median {np.median(norms):.3g}, "
          f"max {norms.max():.3g}; vectors' norms: mean "
          f"{np.linalg.norm(vectors, axis=1).mean():.3g}")
    steps = steps_until_in_reach(vectors, codebook[index], codebook[unused],
                                 model.quantizer.decay)
    if steps is None:
        print("no unused entry ever comes within reach of these codes")
    else:
        print(f"first unused entry within reach after about {steps:.0f} more steps "
              f"(batch {batch}): at about {kimg_now + steps * batch / 1000:.0f} kimg")


def main(argv):
    del argv
    config = load_config(FLAGS.run)
    model = api.load(FLAGS.run)
    batch = config.get("batch", 64)
    kimg_now = max((entry["kimg"] for entry in read_metrics(FLAGS.run)), default=0)
    x, _ = next(iter(api.dataset(config["dataset"]).train(FLAGS.images, seed=FLAGS.seed)))
    codes = model.encode(x)
    decoded = model.decode(codes)
    print(f"{config['model']} at {kimg_now} kimg, {FLAGS.images} training images")
    print(f"codes: spread across images {spread(codes):.4g}, "
          f"mean |value| {float(np.abs(np.asarray(codes)).mean()):.4g}")
    print(f"decoded images: spread across images {spread(decoded):.4g}; "
          f"input images: {spread(x):.4g}")
    if hasattr(model, "discriminator"):  # The AAE's, on codes (ACAI's critic sees images).
        prior = tf.random.normal(tf.shape(codes), seed=FLAGS.seed)
        for name, logits in (("codes", model.disc(codes)), ("prior samples", model.disc(prior))):
            logits = np.asarray(logits)
            print(f"discriminator on {name}: logit mean {logits.mean():.3g}, std "
                  f"{logits.std():.3g}, {100 * (logits > 0).mean():.1f}% called prior")
    if hasattr(model, "quantizer"):
        report_vqvae(model, codes, batch, kimg_now)


if __name__ == "__main__":
    app.run(main)
