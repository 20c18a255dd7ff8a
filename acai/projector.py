"""Writes an autoencoder's (or a VAE's) test latent codes for TensorBoard's Embedding
Projector: the picture the paper's clustering table sums up in a number.

  acai-projector --run=RUN [--limit=10000]
  tensorboard --logdir RUN            (then the PROJECTOR tab)

Encodes the first --limit test images (a VAE: its posterior means) and writes into
RUN/summaries: projector_codes.tsv (one flattened code per row), projector_labels.tsv (the
class name of each image), projector_sprite.png (the images in a square grid, in the same
order) and projector_config.pbtxt, which ties them together.
"""

import math
import os

import numpy as np
import tensorflow as tf
from absl import flags, logging
from tensorboard.plugins import projector

from acai import registry
from acai.lib import cli
from acai.lib.files import atomic_write, check_writable
from acai.lib.paths import RunPaths
from acai.lib.summaries import images_to_grid, save_png
from flags import common

FLAGS = flags.FLAGS
# The Embedding Projector reads sprites of at most this many pixels a side.
MAX_SPRITE = 8192


def define_flags():
    common.define_run("Run folder of the autoencoder or VAE.", aliases=["ae_dir"])
    common.define_data_dir()
    flags.DEFINE_integer("limit", 10000, "Test images to encode (at most; the first ones).",
                         lower_bound=1)
    flags.DEFINE_integer("batch", 256, "Images encoded at a time.", lower_bound=1)


def encode_test(model, spec, limit, batch):
    """-> (codes [N, D] float32, images [N, H, W, C], labels [N]) of the first `limit` test
    images."""
    encode = tf.function(lambda x: tf.cast(model.encode(x, training=False), tf.float32),
                         reduce_retracing=True)
    codes, images, labels, count = [], [], [], 0
    for x, label in spec.test(batch):
        codes.append(encode(x).numpy().reshape(x.shape[0], -1))
        images.append(x.numpy())
        labels.append(label.numpy())
        count += x.shape[0]
        if count >= limit:
            break
    if not codes:
        raise ValueError(f"the test split of {spec.name} is empty")
    return (np.concatenate(codes)[:limit], np.concatenate(images)[:limit],
            np.concatenate(labels)[:limit])


def sprite_of(images):
    """(N, H, W, C) images -> one square sprite of ceil(sqrt(N)) images a side (the
    Projector's layout: row by row, blank after the last image)."""
    side = math.ceil(math.sqrt(len(images)))
    padded = np.full((side * side,) + images.shape[1:], -1.0, np.float32)
    padded[:len(images)] = images
    return images_to_grid(padded.reshape((side, side) + images.shape[1:]))


def write_projector(paths, codes, images, labels, class_names, name):
    """Writes the four Projector files for `codes` (and their images, labels) in the
    summaries folder of the run folder `paths` (acai.lib.paths.RunPaths)."""
    height, width = images.shape[1:3]
    side = math.ceil(math.sqrt(len(images)))
    if side * max(height, width) > MAX_SPRITE:
        raise ValueError(f"{len(images)} images of {width}x{height} make a sprite larger "
                         f"than the Projector's {MAX_SPRITE} pixels; use a smaller --limit")
    files = {name: paths.projector_path(name) for name in ("codes", "labels", "sprite")}
    os.makedirs(paths.summary_dir, exist_ok=True)
    with atomic_write(files["codes"]) as f:
        np.savetxt(f, codes, fmt="%.6g", delimiter="\t")
    with atomic_write(files["labels"]) as f:
        f.writelines(f"{class_names[int(label)] if 0 <= label < len(class_names) else label}\n"
                     for label in labels)
    save_png(sprite_of(images), files["sprite"])
    config = projector.ProjectorConfig()
    embedding = config.embeddings.add()
    embedding.tensor_name = name
    # Paths relative to the summaries folder, where TensorBoard reads the config.
    embedding.tensor_path = os.path.basename(files["codes"])
    embedding.metadata_path = os.path.basename(files["labels"])
    embedding.sprite.image_path = os.path.basename(files["sprite"])
    embedding.sprite.single_image_dim.extend([width, height])
    projector.visualize_embeddings(paths.summary_dir, config)


def main():
    cli.require(FLAGS, "run")
    model, spec, config = registry.load_run(FLAGS.run, FLAGS.data_dir, kind="autoencoder")
    check_writable(RunPaths(FLAGS.run).summary_dir)  # Before the work.
    codes, images, labels = encode_test(model, spec, FLAGS.limit, FLAGS.batch)
    write_projector(RunPaths(FLAGS.run), codes, images, labels, spec.class_names,
                    f"{config['model']} latent codes ({spec.name} test)")
    folder = RunPaths(FLAGS.run).summary_dir
    logging.info("Wrote %d codes of size %d for the Projector in %s", *codes.shape, folder)
    print(f"projector: {len(codes)} codes in {folder}; tensorboard --logdir {FLAGS.run}")


def run(prog="acai-projector"):
    cli.launch(main, prog, define_flags, FLAGS)


if __name__ == "__main__":
    run("acai.projector")
