"""The lines AAE once more, as a TF1 graph: a cross-check of the code collapse.

  python benchmarks/aae_tf1_graph.py [--seed=1] [--total_kimg=512] [--report_kimg=64]
      [--output=FILE.jsonl]

The reference's AAE needs TensorFlow 1, which does not install on this Python (3.11).
This script builds the same model the way the reference's code runs it, independently of
the toolkit's Keras model: variables from tf.compat.v1.get_variable with the reference's
initialisers (He-normal for leaky ReLU 0.2 in the convolutions, Glorot-uniform in the
discriminator), tf.nn ops, TF1's Adam (tf.compat.v1.train.AdamOptimizer, epsilon 1e-8), and
one Session.run of both grouped updates per batch on one forward pass. The settings are
the reference's runs/aae.sh for lines32: latent_width 2 (4 scales), depth 16, latent 16,
batch 64, lr and adversary_lr 1e-4, discriminator 100,100. Only the line renderer and the
lines metrics are the toolkit's (acai.lib.lines: 256 interpolations of 16 steps between
the first 512 test lines, as the toolkit's reports).

Prints one JSON line per report (and appends it to --output): the mean distance and
smoothness, the losses, the discriminator's accuracy and the codes' spread across the
512 test lines (the standard deviation of each code value, averaged over the values).
"""

import json
import math
import os
import sys
import time

import numpy as np
import tensorflow as tf
from absl import app, flags

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from acai.lib import lines  # noqa: E402
from acai.lib.interpolate import lerp  # noqa: E402

flags.DEFINE_integer("seed", 1, "Graph-level random seed.")
flags.DEFINE_integer("total_kimg", 512, "Training length (thousands of images).", lower_bound=1)
flags.DEFINE_integer("report_kimg", 64, "Kimg between reports.", lower_bound=1)
flags.DEFINE_string("output", None, "JSON-lines file the reports are appended to.")
FLAGS = flags.FLAGS

v1 = tf.compat.v1
BATCH, DEPTH, LATENT, SCALES, SLOPE = 64, 16, 16, 4, 0.2
LR = ADVERSARY_LR = 1e-4
DISC_LAYERS = (100, 100)
INTERPOLATIONS, STEPS = 256, 16


def conv(x, name, filters, kernel, activation=True):
    """A 3x3 (or 1x1) same-padded convolution, He-normal for leaky ReLU 0.2, zero bias."""
    fan_in = kernel * kernel * int(x.shape[-1])
    init = v1.random_normal_initializer(stddev=1.0 / math.sqrt((1 + SLOPE ** 2) * fan_in))
    w = v1.get_variable(name + "/kernel", [kernel, kernel, int(x.shape[-1]), filters],
                        initializer=init)
    b = v1.get_variable(name + "/bias", [filters], initializer=v1.zeros_initializer())
    y = tf.nn.conv2d(x, w, 1, "SAME") + b
    return tf.nn.leaky_relu(y, SLOPE) if activation else y


def encoder(x):
    with v1.variable_scope("ae_enc", reuse=v1.AUTO_REUSE):
        y = conv(x, "input", DEPTH, 1, activation=False)
        for scale in range(SCALES):
            y = conv(y, f"scale{scale}_a", DEPTH << scale, 3)
            y = conv(y, f"scale{scale}_b", DEPTH << scale, 3)
            y = tf.nn.avg_pool2d(y, 2, 2, "VALID")
        y = conv(y, "top", DEPTH << SCALES, 3)
        return conv(y, "code", LATENT, 3, activation=False)


def decoder(h):
    with v1.variable_scope("ae_dec", reuse=v1.AUTO_REUSE):
        y = h
        for scale in reversed(range(SCALES)):
            y = conv(y, f"scale{scale}_a", DEPTH << scale, 3)
            y = conv(y, f"scale{scale}_b", DEPTH << scale, 3)
            y = tf.repeat(tf.repeat(y, 2, axis=1), 2, axis=2)  # Nearest-neighbour upscale.
        y = conv(y, "bottom", DEPTH, 3)
        return conv(y, "image", 1, 3, activation=False)


def discriminator(h):
    """MLP on the flattened code, leaky ReLU 0.2, one logit."""
    with v1.variable_scope("disc", reuse=v1.AUTO_REUSE):
        h = tf.reshape(h, [-1, int(np.prod(h.shape[1:]))])
        for i, size in enumerate(DISC_LAYERS + (1,)):
            w = v1.get_variable(f"dense{i}/kernel", [int(h.shape[-1]), size],
                                initializer=v1.glorot_uniform_initializer())
            b = v1.get_variable(f"dense{i}/bias", [size], initializer=v1.zeros_initializer())
            h = tf.matmul(h, w) + b
            if i < len(DISC_LAYERS):
                h = tf.nn.leaky_relu(h, SLOPE)
        return h


def cross_entropy(logits, label):
    return tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits(
        labels=tf.fill(tf.shape(logits), label), logits=logits))


def main(_):
    test = next(iter(lines.test_dataset().batch(2 * INTERPOLATIONS)))[0].numpy()
    graph = tf.Graph()
    with graph.as_default():
        v1.set_random_seed(FLAGS.seed)
        x = lines.render_lines(tf.random.uniform([BATCH], 0, 2 * math.pi))
        encode = encoder(x)
        loss_ae = tf.reduce_mean(tf.square(x - decoder(encode)))
        logit_latent = discriminator(encode)
        logit_prior = discriminator(tf.random.normal(tf.shape(encode)))
        loss_adv = cross_entropy(logit_prior, 1.0) + cross_entropy(logit_latent, 0.0)
        loss_ae_latent = cross_entropy(logit_latent, 1.0)
        accuracy = 0.5 * (tf.reduce_mean(tf.cast(logit_latent < 0, tf.float32))
                          + tf.reduce_mean(tf.cast(logit_prior > 0, tf.float32)))
        train = tf.group(
            v1.train.AdamOptimizer(LR).minimize(loss_ae + loss_ae_latent,
                                                var_list=v1.global_variables("ae_")),
            v1.train.AdamOptimizer(ADVERSARY_LR).minimize(
                loss_adv, var_list=v1.global_variables("disc")))
        x_in = v1.placeholder(tf.float32, [None, 32, 32, 1])
        h_in = v1.placeholder(tf.float32, [None, 32 >> SCALES, 32 >> SCALES, LATENT])
        encode_in, decode_in = encoder(x_in), decoder(h_in)
        session = v1.Session(graph=graph)
        session.run(v1.global_variables_initializer())

    def batched(op, placeholder, array, size=256):
        return np.concatenate([session.run(op, {placeholder: array[i:i + size]})
                               for i in range(0, len(array), size)])

    steps = (FLAGS.report_kimg << 10) // BATCH
    start = time.time()
    for report in range(1, FLAGS.total_kimg // FLAGS.report_kimg + 1):
        sums = np.zeros(4)
        for _ in range(steps):
            sums += session.run([train, loss_ae, loss_ae_latent, loss_adv, accuracy])[1:]
        codes = batched(encode_in, x_in, test)
        paths = lerp(codes[:INTERPOLATIONS], codes[INTERPOLATIONS:], STEPS)
        images = batched(decode_in, h_in, paths.reshape((-1,) + paths.shape[2:]))
        distance, smoothness = lines.line_eval(images.reshape((INTERPOLATIONS, STEPS)
                                                              + images.shape[1:]))
        row = dict(kimg=report * FLAGS.report_kimg, mean_distance=float(distance),
                   mean_smoothness=float(smoothness),
                   **{name: float(value / steps) for name, value in zip(
                       ("loss_ae", "loss_ae_latent", "loss_adv", "adversary_accuracy"), sums)},
                   code_spread=float(codes.reshape(len(codes), -1).std(0).mean()),
                   img_per_sec=report * steps * BATCH / (time.time() - start))
        print(json.dumps(row), flush=True)
        if FLAGS.output:
            with open(FLAGS.output, "a") as f:
                f.write(json.dumps(row) + "\n")


if __name__ == "__main__":
    app.run(main)
