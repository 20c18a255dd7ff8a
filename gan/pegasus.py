"""The pegasus search: generated images that look like two classes at once.

  gan-pegasus --run=GAN_RUN --classes=horse,bird [--count=10000] [--top=64]
  gan-pegasus --run=GAN_RUN --ae_dir=ACAI_RUN --classes=horse,bird

Scores every image by min(P(a), P(b)) under the dataset's classifier (gan.classifier,
trained once and cached beside the run): an image scores high only when the classifier
sees both classes in it; times min(1, sharpness / the real images' median), so that blur
does not pass for both classes, and times min(1, realism score) on the manifold of real
images' classifier features (gan.manifold; --norealism_term leaves it out), so that an
image unlike any real one does not either. Methods, each writing its best `top` images as
a grid:

  gan_samples.png        the best of --count GAN samples (a conditional GAN gets class
                         a or b at random);
  gan_mixes.png          conditional GAN: the best of --count samples with the class input
                         alpha * onehot(a) + (1 - alpha) * onehot(b), alpha ~ U(0, 1);
  gan_interpolation.png  conditional GAN: the class input going from a (one-hot) to b in
                         --steps steps (columns) at fixed z (rows);
  ae_mixes.png           --ae_dir: training images of a and b encoded, their latent codes
                         mixed alpha * z_a + (1 - alpha) * z_b for each of --alphas, decoded
                         (--count decodings in all); ae_interpolation.png the same pairs
                         from a to b in --steps steps;
  comparison.png         the methods' best grids side by side, titled;
  best_strip.png         the best images of the method with the highest score, one a
                         row, in the middle of a path from class a through it to class b
                         (2 --steps - 1 columns): latent mixes, from the pair's image of a
                         to its image of b; class-input mixes, from onehot(a) to onehot(b)
                         at the same z; GAN samples, from z ascended toward a alone to z
                         ascended toward b alone;
  pegasus.json           the scores of each method's best images, and the realism of
                         those best images next to that of as many of the method's images
                         taken unranked (its first ones): the Frechet distance of their
                         classifier features to real images of the two classes, the
                         fraction of them on the real images' k-nearest-neighbour manifold
                         (precision) and their median realism score (gan.manifold), and
                         their sharpness (mean absolute Laplacian) relative to the real
                         images'. A search that buys "both classes" with blur shows it here.
                         real_ranked: the same for the best of the real training images
                         of the two classes outside those, ranked by the same score
                         (also the last panel of comparison.png), and for as many of them
                         at random: what the selection alone costs real images, since the
                         classifier's features place images it cannot decide on between
                         its two classes' clusters.

Everything goes to --output (default: GAN_RUN/pegasus, or ACAI_RUN/pegasus without --run).
Classes are names or indices of the scoring classifier's dataset, e.g. the CIFAR-10
horse/bird folder (--dataset=folder:.../cifar10_horse_bird_jpeg/train, classes bird,
horse) or cifar10 itself.
"""

import json
import math
import os

import matplotlib
import numpy as np
import tensorflow as tf
from absl import flags

from acai import registry
from acai.lib import cli, data, progress
from acai.lib.interpolate import lerp
from acai.lib.summaries import images_to_grid, save_png, to_uint8
from gan.classifier import classifier_dir, get_classifier
from gan.frechet import frechet_distance_of, generator_fn, statistics
from gan.manifold import RealManifold

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (after choosing the backend)

FLAGS = flags.FLAGS
BATCH = 256
INTERPOLATION_ROWS = 8
STRIP_ROWS = 4  # Rows of best_strip.png.
REALISM_K = 3  # The k of the realism term's k-nearest-neighbour balls (the paper's).


def define_flags():
    """The binary's flags (defined when it runs, so that its functions import freely)."""
    flags.DEFINE_string("run", None, "Run directory of the GAN.")
    flags.DEFINE_string("ae_dir", None, "Run directory of an autoencoder (e.g. ACAI) to "
                        "search through its latent mixes too.")
    flags.DEFINE_list("classes", None, "The two classes to mix, names or indices, "
                      "e.g. horse,bird.")
    flags.DEFINE_integer("count", 10000, "Images scored per method.", lower_bound=1)
    flags.DEFINE_integer("top", 64, "Best images kept per method.", lower_bound=1)
    flags.DEFINE_integer("real_images", 2000, "Real training images of the two classes "
                         "(half each) that the realism figures compare to; the others are "
                         "ranked by the score as the real images' yardstick.", lower_bound=2)
    flags.DEFINE_boolean("realism_term", True, "Multiply the score by min(1, realism "
                         "score) on the manifold of --real_images other real images "
                         "(gan.manifold), so that the best images are near real ones.")
    flags.DEFINE_integer("steps", 9, "Columns of the interpolations.", lower_bound=2)
    flags.DEFINE_list("alphas", ["0.1", "0.2", "0.3", "0.4", "0.5", "0.6", "0.7", "0.8",
                                 "0.9"], "Latent mixing coefficients of --ae_dir.")
    flags.DEFINE_integer("ascent_steps", 100, "GAN: Adam steps of the gradient ascent on z "
                         "from the best --top samples (0: no ascent).", lower_bound=0)
    # 0.05 overshot on a DCGAN of the horse and bird images: its best 64 ended below the
    # samples they started from; 0.01 lifted them (pegasus.json, 2,000 starting points).
    flags.DEFINE_float("ascent_lr", 0.01, "Step size of the ascent on z.", lower_bound=0.0)
    flags.DEFINE_float("prior_weight", 1.0, "Ascent: weight of the penalty keeping |z| near "
                       "sqrt(z_dim), the typical norm of N(0, I).", lower_bound=0.0)
    flags.DEFINE_float("disc_weight", 0.1, "Ascent: weight of D(G(z)), the discriminator's "
                       "belief that the image is real.", lower_bound=0.0)
    flags.DEFINE_string("output", None, "Output folder (default: RUN/pegasus).")
    flags.DEFINE_string("classifier_dir", None, "Folder of the scoring classifier "
                        "(default: <dataset folder>/classifier beside the run).")
    flags.DEFINE_integer("classifier_kimg", 64, "Training of the classifier, when it has "
                         "none yet (kimg).", lower_bound=1)
    flags.DEFINE_string("data_dir", None, "TensorFlow Datasets folder (default: the run's).")
    flags.DEFINE_integer("seed", 0, "Seed of the samples and of the image pairs.")


# ----------------------------------------------------------------------------
# Scores and ranking.

def pegasus_scores(probabilities, a, b):
    """min(P(a), P(b)) per image, of probabilities [N, nclass]: high when both classes."""
    probabilities = np.asarray(probabilities)
    return np.minimum(probabilities[:, a], probabilities[:, b])


def rank(images, scores, top):
    """(images, scores) of the `top` highest scores, best first (ties: earlier first)."""
    order = np.argsort(-np.asarray(scores), kind="stable")[:top]
    return np.asarray(images)[order], np.asarray(scores)[order]


class Best:
    """The best `top` images seen so far, fed batch by batch, with the latent each came
    from (`latents`, when given: what `strip` needs); `unranked` keeps the first `top`
    images seen, the method's images as they come, to compare with. `strip`, set by the
    search: latents [N, ...] -> (images of class a, of class b) at the ends of the path
    from a through each latent to b."""

    def __init__(self, top, score):
        self.top, self.score = top, score
        self.images, self.scores, self.seen = None, np.zeros([0], np.float32), 0
        self.unranked = np.zeros([0], np.float32)
        self.latents, self.strip = None, None

    def add(self, images, latents=None):
        images = np.clip(np.asarray(images, np.float32), -1.0, 1.0)
        scores = self.score(images)
        if len(self.unranked) < self.top:
            kept = images[:self.top - len(self.unranked)]
            self.unranked = kept if not len(self.unranked) else np.concatenate(
                [self.unranked, kept])
        self.seen += len(images)
        if latents is not None:
            latents = np.asarray(latents, np.float32)
            if self.latents is not None:
                latents = np.concatenate([self.latents, latents])
        if self.images is not None:
            images = np.concatenate([self.images, images])
            scores = np.concatenate([self.scores, scores])
        order = np.argsort(-scores, kind="stable")[:self.top]
        self.images, self.scores = images[order], scores[order]
        self.latents = None if latents is None else latents[order]


def image_sharpness(images):
    """[N] mean absolute Laplacian of the grey levels of each image [N, H, W, C] in
    [-1, 1]: what blur lowers."""
    grey = np.asarray(images, np.float64).mean(axis=-1)
    laplacian = (4 * grey[:, 1:-1, 1:-1] - grey[:, :-2, 1:-1] - grey[:, 2:, 1:-1]
                 - grey[:, 1:-1, :-2] - grey[:, 1:-1, 2:])
    return np.abs(laplacian).mean(axis=(1, 2))


def sharpness(images):
    """The mean of image_sharpness over a set of images."""
    return float(image_sharpness(images).mean())


def pegasus_score_fn(classifier, a, b, real_sharpness, manifold=None):
    """The score of the searches: min(P(a), P(b)), the evidence of both classes, times
    min(1, sharpness / the real images' median sharpness), so that blur, which makes any
    classifier undecided, does not pass for both classes, and, given the `manifold` of
    real images' features (gan.manifold), times min(1, the image's realism score), so that
    an image away from every real one does not either."""
    def score(images):
        features, probabilities = classifier.outputs(images)
        both = pegasus_scores(probabilities, a, b)
        both = both * np.minimum(1.0, image_sharpness(images) / real_sharpness)
        if manifold is not None:
            both = both * np.minimum(1.0, manifold.realism(features))
        return both
    return score


class Realism:
    """How real a set of images looks against real images of the two classes: the
    Frechet distance of their classifier features, the fraction of them on the real
    images' manifold (precision) and their median realism score (gan.manifold: per image,
    so a selection of real-looking images keeps them where the Frechet distance, which
    compares whole distributions, does not), and their sharpness / the real's."""

    def __init__(self, classifier, real_images):
        self.classifier = classifier
        features = classifier.features(real_images)
        self.real = statistics(features)
        self.manifold = RealManifold(features)
        self.real_sharpness = sharpness(real_images)

    def __call__(self, images):
        features = self.classifier.features(images)
        fake = statistics(features)
        return dict(frechet_distance=round(float(frechet_distance_of(*self.real, *fake)), 4),
                    precision=round(self.manifold.precision(features), 4),
                    realism_score=round(float(np.median(self.manifold.realism(features))), 4),
                    sharpness=round(sharpness(images) / self.real_sharpness, 4))


def resolve_classes(classes, class_names):
    """(a, b) indices in class_names of exactly two classes given by name or index."""
    indices = data.parse_classes(classes, tuple(class_names)) or []
    if len(indices) != 2:
        raise ValueError(f"--classes needs exactly two classes, got {len(indices)}; "
                         f"valid: {', '.join(class_names)}")
    return tuple(indices)


def one_hot(indices, nclass):
    return np.eye(nclass, dtype=np.float32)[np.asarray(indices)]


# ----------------------------------------------------------------------------
# Searches.

def gan_render(model):
    """GAN latents [N, z_dim (+ nclass)]: z, then the class input of a conditional model
    -> images."""
    generate = generator_fn(model)

    def render(latents):
        latents = np.asarray(latents, np.float32)
        z, labels = latents[:, :model.z_dim], latents[:, model.z_dim:]
        return generate(z, labels if model.conditional else None)
    return render


def gan_latents(z, labels):
    return z if labels is None else np.concatenate([z, labels], 1)


def strip_through(render, start, middle, end, steps):
    """Images [N, 2 steps - 1, H, W, C] on the straight paths start -> middle -> end
    (latents [N, D]), `steps` images a segment."""
    latents = np.concatenate([lerp(start, middle, steps),
                              lerp(middle, end, steps)[:, 1:]], 1)
    n, k = latents.shape[:2]
    images = render(latents.reshape((n * k,) + latents.shape[2:]))
    return images.reshape((n, k) + images.shape[1:])


def gan_search(model, a, b, score, *, count, top, seed=0, ascent=None):
    """Best of `count` samples; a conditional model gets class a or b at random.
    ascent: the keyword arguments of `ascend` that find a strip's ends."""
    generate, rng, best = generator_fn(model), np.random.default_rng(seed), Best(top, score)
    for start in batch_starts(count, f"GAN: scoring {count} samples"):
        n = min(BATCH, count - start)
        z = rng.standard_normal((n, model.z_dim)).astype(np.float32)
        labels = (one_hot(rng.choice([a, b], n), model.nclass) if model.conditional
                  else None)
        best.add(generate(z, labels), gan_latents(z, labels))
    if ascent:
        best.strip = gan_ascent_strip(model, **ascent)
    return best


def batch_starts(count, what):
    """0, BATCH, 2 BATCH, ... below `count`, with a progress line on a terminal."""
    return progress.track(range(0, count, BATCH), what, -(-count // BATCH), "batch")


def ascend(model, classifier, z, labels, classes, *, steps, lr=0.01, prior_weight=1.0,
           disc_weight=0.1, what="GAN z ascent"):
    """`steps` Adam steps on z [N, z_dim] (class inputs `labels` fixed) ascending
        min_c log P(c) + disc_weight D(G(z)) - prior_weight (|z| - sqrt(dim))^2 / dim
    over the classifier's `classes`: the evidence of every one of them, D's belief that
    the image is real, and a penalty keeping z on the typical shell of N(0, I); -> z."""
    z = tf.Variable(np.asarray(z, np.float32))
    labels = None if labels is None else tf.constant(labels, tf.float32)
    dim = float(model.z_dim)
    classes = list(classes)
    # Adam (ascending), its moments beside z.
    m, v, t = tf.Variable(tf.zeros_like(z)), tf.Variable(tf.zeros_like(z)), tf.Variable(0.0)

    @tf.function
    def step():
        with tf.GradientTape() as tape:
            images = model.generate(z, labels, training=False)
            p = tf.gather(classifier.network(images, training=False), classes, axis=1)
            # A tiny floor: a start the classifier gives P = 1e-20 must still climb
            # (with a floor of 1e-8 its gradient vanished and the ascent stalled).
            evidence = tf.reduce_min(tf.math.log(p + 1e-30), axis=1)
            realism = model.disc(images, labels, training=False)
            prior = tf.square(tf.norm(z, axis=1) - tf.sqrt(dim)) / dim
            objective = tf.reduce_sum(evidence + disc_weight * realism - prior_weight * prior)
        gradient = tape.gradient(objective, z)
        t.assign_add(1.0)
        m.assign(0.9 * m + 0.1 * gradient)
        v.assign(0.999 * v + 0.001 * tf.square(gradient))
        z.assign_add(lr * (m / (1 - 0.9 ** t)) / (tf.sqrt(v / (1 - 0.999 ** t)) + 1e-8))
        return objective

    for _ in progress.track(range(steps), f"{what}: {steps} steps", steps):
        step()
    return z.numpy()


def gan_ascent_strip(model, classifier, a, b, **ascent):
    """A GAN method's strip: its ends are the latent ascended toward class a alone and
    toward class b alone (the nearest a and b along the classifier's evidence), the
    class input unchanged."""
    def strip(latents, steps):
        latents = np.asarray(latents, np.float32)
        z, labels = latents[:, :model.z_dim], latents[:, model.z_dim:]
        labels = labels if model.conditional else None
        ends = [gan_latents(ascend(model, classifier, z, labels, [c], what=f"strip end "
                                   f"{c}", **ascent), labels) for c in (a, b)]
        return strip_through(gan_render(model), ends[0], latents, ends[1], steps)
    return strip


def gan_ascent_search(model, classifier, a, b, score, *, count, top, steps, lr=0.01,
                      prior_weight=1.0, disc_weight=0.1, model_classes=None, seed=0):
    """Gradient ascent on z (`ascend` toward classes a and b of the classifier) from the
    best `top` of `count` samples (a conditional model gets the class input half and half
    of its classes `model_classes`, default (a, b)); -> Best of the results."""
    ma, mb = model_classes or (a, b)
    label = (0.5 * (one_hot([ma], model.nclass) + one_hot([mb], model.nclass))
             if model.conditional else None)
    start = Best(top, score)
    rng = np.random.default_rng(seed + 4)
    z_all, scores, unranked = [], [], []
    generate = generator_fn(model)
    for first in batch_starts(count, f"GAN z ascent: scoring {count} starting points"):
        n = min(BATCH, count - first)
        z = rng.standard_normal((n, model.z_dim)).astype(np.float32)
        images = np.clip(generate(z, None if label is None else np.repeat(label, n, 0)),
                         -1, 1)
        z_all.append(z)
        scores.append(score(images))
        unranked.append(images[:top - sum(map(len, unranked))])
    z_all, scores = np.concatenate(z_all), np.concatenate(scores)
    z = z_all[np.argsort(-scores, kind="stable")[:top]]
    labels = None if label is None else np.repeat(label, len(z), 0)
    ascent = dict(steps=steps, lr=lr, prior_weight=prior_weight, disc_weight=disc_weight)
    z = ascend(model, classifier, z, labels, [a, b], **ascent)
    start.add(generate(z, labels), gan_latents(z, labels))
    start.unranked = np.concatenate(unranked)  # The samples it started from, unranked.
    start.seen = count
    start.strip = gan_ascent_strip(model, classifier, a, b, **ascent)
    return start


def gan_mix_search(model, a, b, score, *, count, top, seed=0):
    """Best of `count` samples of a conditional model with mixed class inputs
    alpha * onehot(a) + (1 - alpha) * onehot(b), alpha ~ U(0, 1). Its strip keeps z
    and takes the class input from onehot(a) through the best mix to onehot(b)."""
    generate, rng, best = generator_fn(model), np.random.default_rng(seed + 1), Best(top, score)
    onehots = one_hot([a, b], model.nclass)
    for start in batch_starts(count, f"GAN with mixed classes: scoring {count} samples"):
        n = min(BATCH, count - start)
        z = rng.standard_normal((n, model.z_dim)).astype(np.float32)
        alpha = rng.uniform(0.0, 1.0, (n, 1)).astype(np.float32)
        labels = alpha * onehots[0] + (1 - alpha) * onehots[1]
        best.add(generate(z, labels), gan_latents(z, labels))

    def strip(latents, steps):
        z = np.asarray(latents, np.float32)[:, :model.z_dim]
        ends = [gan_latents(z, np.repeat(onehots[i:i + 1], len(z), 0)) for i in (0, 1)]
        return strip_through(gan_render(model), ends[0], latents, ends[1], steps)
    best.strip = strip
    return best


def gan_interpolation(model, a, b, *, rows=INTERPOLATION_ROWS, steps=9, seed=0):
    """(rows, steps, H, W, C): class input from onehot(a) to onehot(b), one z per row."""
    onehots = one_hot([a, b], model.nclass)
    labels = lerp(onehots[:1], onehots[1:], steps)[0]                 # [steps, nclass]
    z = np.random.default_rng(seed + 2).standard_normal((rows, model.z_dim)).astype(np.float32)
    images = generator_fn(model)(np.repeat(z, steps, axis=0), np.tile(labels, (rows, 1)))
    return images.reshape((rows, steps) + images.shape[1:])


def images_by_class(spec, classes):
    """{class: float32 [N, H, W, C]} of all training images of each of `classes`."""
    found = {c: [] for c in classes}
    for x, label in spec.train_once(BATCH):
        x, label = x.numpy(), label.numpy()
        for c in found:
            found[c].append(x[label == c])
    found = {c: np.concatenate(images) for c, images in found.items()}
    for c, images in found.items():
        if not len(images):
            raise ValueError(f"{spec.name} has no training images of class "
                             f"{spec.class_names[c]!r}")
    return found


def class_images(found, a, b, count, seed=0):
    """From {class: images} (images_by_class), `count` images of class a and `count` of
    class b (random, with replacement when a class has fewer), paired at random."""
    rng = np.random.default_rng(seed + 3)
    return [found[c][rng.choice(len(found[c]), count, replace=len(found[c]) < count)]
            for c in (a, b)]


def split_real(found, per_class, seed=0):
    """{class: images} -> (the reference: `per_class` random images of each class, with
    replacement when a class has fewer; the held images: all the others, classes mixed in
    a random order)."""
    rng = np.random.default_rng(seed + 5)
    reference, held = [], []
    for images in found.values():
        if len(images) <= per_class:
            reference.append(images[rng.choice(len(images), per_class,
                                               replace=len(images) < per_class)])
            continue
        order = rng.permutation(len(images))
        reference.append(images[order[:per_class]])
        held.append(images[order[per_class:]])
    held = (np.concatenate(held) if held else
            np.zeros((0,) + reference[0].shape[1:], np.float32))
    return np.concatenate(reference), held[rng.permutation(len(held))]


def rank_real(images, score, top):
    """The best `top` of real images under the searches' score: what that selection costs
    real images in realism, the yardstick of the methods' best images."""
    best = Best(top, score)
    for start in range(0, len(images), BATCH):
        best.add(images[start:start + BATCH])
    return best


def ae_search(model, found, a, b, score, *, count, top, alphas, steps=9, seed=0):
    """Best of the decoded latent mixes alpha * z_a + (1 - alpha) * z_b of random pairs of
    training images of classes a and b (`found`: {class: images}, count // len(alphas)
    pairs); -> (Best,
    interpolation (rows, steps, H, W, C) of the first pairs from a to b)."""
    encode = tf.function(lambda x: tf.cast(model.encode(x, training=False), tf.float32))
    decode = tf.function(lambda z: tf.cast(model.decode(z, training=False), tf.float32))
    images_a, images_b = class_images(found, a, b, max(1, count // len(alphas)), seed)
    best = Best(top, score)
    for start in batch_starts(len(images_a), f"autoencoder: scoring "
                              f"{len(images_a) * len(alphas)} latent mixes"):
        z_a = encode(images_a[start:start + BATCH])
        z_b = encode(images_b[start:start + BATCH])
        flat = [tf.reshape(z, (len(z), -1)).numpy() for z in (z_a, z_b)]
        for alpha in alphas:  # Latents: z_a, z_b, alpha.
            best.add(decode(alpha * z_a + (1 - alpha) * z_b).numpy(),
                     np.concatenate(flat + [np.full((len(z_a), 1), alpha, np.float32)], 1))

    z_shape = z_a.shape[1:]

    def strip(latents, steps):
        """From the pair's image of a through their best mix to their image of b."""
        latents = np.asarray(latents, np.float32)
        size = (latents.shape[1] - 1) // 2
        z_a, z_b, alpha = latents[:, :size], latents[:, size:2 * size], latents[:, -1:]
        shape = tuple(z_shape)
        render = lambda z: decode(z.reshape((len(z),) + shape)).numpy()  # noqa: E731
        return strip_through(render, z_a, alpha * z_a + (1 - alpha) * z_b, z_b, steps)
    best.strip = strip
    rows = min(INTERPOLATION_ROWS, len(images_a))
    z = lerp(encode(images_a[:rows]).numpy(), encode(images_b[:rows]).numpy(), steps)
    images = decode(z.reshape((rows * steps,) + z.shape[2:])).numpy()
    return best, images.reshape((rows, steps) + images.shape[1:])


# ----------------------------------------------------------------------------
# Pictures.

def grid_of(images, cols=None):
    """Images [N, H, W, C] -> one grid image, `cols` per row (default ~square), the last
    row padded with black."""
    images = np.asarray(images, np.float32)
    cols = cols or max(1, math.ceil(math.sqrt(len(images))))
    rows = max(1, math.ceil(len(images) / cols))
    padded = np.full((rows * cols,) + images.shape[1:], -1.0, np.float32)
    padded[:len(images)] = images
    return images_to_grid(padded.reshape((rows, cols) + images.shape[1:]))


def side_by_side(grids, titles, path):
    """Writes the grids (images in [-1, 1]) side by side, each under its title."""
    fig, axes = plt.subplots(1, len(grids), figsize=(4.5 * len(grids), 5.2), squeeze=False)
    for ax, grid, title in zip(axes[0], grids, titles):
        image = to_uint8(grid)
        ax.imshow(image[..., 0] if image.shape[-1] == 1 else image, cmap="gray",
                  interpolation="nearest")
        ax.set_title(title, fontsize=10)
        ax.axis("off")
    fig.tight_layout()
    tmp = path + ".tmp.png"
    fig.savefig(tmp, dpi=120)
    plt.close(fig)
    os.replace(tmp, path)


# ----------------------------------------------------------------------------

def pegasus(output):
    """Runs the searches the flags ask for; -> the paths written."""
    gan = registry.load_run(FLAGS.run, FLAGS.data_dir, kind="gan") if FLAGS.run else None
    ae = (registry.load_run(FLAGS.ae_dir, FLAGS.data_dir, kind="autoencoder")
          if FLAGS.ae_dir else None)
    scorer_run, scorer_spec = (FLAGS.run, gan[1]) if gan else (FLAGS.ae_dir, ae[1])
    a, b = resolve_classes(FLAGS.classes, scorer_spec.class_names)
    names = (scorer_spec.class_names[a], scorer_spec.class_names[b])
    shape = (scorer_spec.height, scorer_spec.width, scorer_spec.colors)
    for run in (gan, ae):
        if run and (run[1].height, run[1].width, run[1].colors) != shape:
            raise ValueError(f"the runs' images differ in shape ({run[1].name} and "
                             f"{scorer_spec.name}); one classifier cannot score both")
    classifier = get_classifier(scorer_spec, FLAGS.classifier_dir or classifier_dir(scorer_run),
                                kimg=FLAGS.classifier_kimg)

    scorer_images = images_by_class(scorer_spec, (a, b))
    real, held = split_real(scorer_images, FLAGS.real_images // 2, FLAGS.seed)
    realism = Realism(classifier, real)
    manifold = None
    if FLAGS.realism_term:  # On other real images than the realism figures use.
        beside, held = held[:FLAGS.real_images], held[FLAGS.real_images:]
        if len(beside) < 2 * REALISM_K:
            raise ValueError(f"the realism term needs real images of {names[0]} and "
                             f"{names[1]} beyond the {FLAGS.real_images} of --real_images; "
                             f"there are {len(beside)}: lower --real_images, or pass "
                             f"--norealism_term")
        manifold = RealManifold(classifier.features(beside), k=REALISM_K)
    score = pegasus_score_fn(classifier, a, b, float(np.median(image_sharpness(real))),
                             manifold)

    os.makedirs(output, exist_ok=True)
    written, methods = [], []  # methods: (file stem, title, Best)

    def save(stem, image):
        written.append(os.path.join(output, stem + ".png"))
        save_png(image, written[-1])

    if gan:
        model, spec, config = gan
        ga, gb = resolve_classes(names, spec.class_names)
        kind = config.get("model", "gan").upper()
        methods.append(("gan_samples", f"{kind} samples",
                        gan_search(model, ga, gb, score, count=FLAGS.count, top=FLAGS.top,
                                   seed=FLAGS.seed, ascent=dict(
                                       classifier=classifier, a=a, b=b,
                                       steps=FLAGS.ascent_steps or 100, lr=FLAGS.ascent_lr,
                                       prior_weight=FLAGS.prior_weight,
                                       disc_weight=FLAGS.disc_weight))))
        if FLAGS.ascent_steps:
            methods.append(("gan_ascent", f"{kind} z gradient ascent", gan_ascent_search(
                model, classifier, a, b, score, count=FLAGS.count, top=FLAGS.top,
                steps=FLAGS.ascent_steps, lr=FLAGS.ascent_lr,
                prior_weight=FLAGS.prior_weight, disc_weight=FLAGS.disc_weight,
                model_classes=(ga, gb), seed=FLAGS.seed)))
        if model.conditional:
            methods.append(("gan_mixes", f"{kind} class-input mixes",
                            gan_mix_search(model, ga, gb, score, count=FLAGS.count,
                                           top=FLAGS.top, seed=FLAGS.seed)))
            save("gan_interpolation", images_to_grid(gan_interpolation(
                model, ga, gb, steps=FLAGS.steps, seed=FLAGS.seed)))
    if ae:
        model, spec, config = ae
        ea, eb = resolve_classes(names, spec.class_names)
        # The scorer's images when the autoencoder trained on the same dataset (its class
        # indices may differ only in another dataset), else its own.
        found = ({ea: scorer_images[a], eb: scorer_images[b]} if spec.name == scorer_spec.name
                 else images_by_class(spec, (ea, eb)))
        alphas = [float(alpha) for alpha in FLAGS.alphas]
        best, interpolation = ae_search(model, found, ea, eb, score, count=FLAGS.count,
                                        top=FLAGS.top, alphas=alphas, steps=FLAGS.steps,
                                        seed=FLAGS.seed)
        methods.append(("ae_mixes", f"{config.get('model', 'ae').upper()} latent mixes", best))
        save("ae_interpolation", images_to_grid(interpolation))
    summary = dict(classes=list(names), classifier_test_accuracy=classifier.test_accuracy,
                   real_images=FLAGS.real_images,
                   score="min(P(a), P(b)) * min(1, sharpness / median real sharpness)"
                   + (" * min(1, realism score)" if manifold else ""))
    for stem, title, best in methods:
        save(stem, grid_of(best.images))
        summary[stem] = dict(title=title, scored=best.seen,
                             best_scores=[round(float(s), 4) for s in best.scores],
                             best_realism=realism(best.images),
                             unranked_realism=realism(best.unranked))
    # Real images ranked by the same score: the realism of their best --top.
    ranked = rank_real(held, score, FLAGS.top) if len(held) >= FLAGS.top else None
    if ranked is not None:
        summary["real_ranked"] = dict(
            title="real images", scored=ranked.seen,
            best_scores=[round(float(s), 4) for s in ranked.scores],
            best_realism=realism(ranked.images), unranked_realism=realism(ranked.unranked))
    else:
        summary["real_ranked"] = dict(scored=0, reason=(
            f"{len(held)} real images beyond the {FLAGS.real_images} of the reference"
            + (" and those of the realism term" if manifold else "") + ", fewer "
            f"than --top={FLAGS.top}"))
    # The best method's best images, each on its path from class a to class b.
    stem, title, best = max(methods, key=lambda method: method[2].scores[0])
    rows = min(STRIP_ROWS, len(best.scores))
    save("best_strip", images_to_grid(best.strip(best.latents[:rows], FLAGS.steps)))
    summary["best_strip"] = dict(method=stem, rows=rows, columns=2 * FLAGS.steps - 1,
                                 middle_scores=[round(float(s), 4) for s in best.scores[:rows]])
    written.append(os.path.join(output, "comparison.png"))
    panels = methods + ([("real_ranked", "real images", ranked)] if ranked is not None
                        else [])
    side_by_side([grid_of(best.images) for _, _, best in panels],
                 [f"{title}\nbest {len(best.scores)} of {best.seen}, "
                  f"score >= {best.scores[-1]:.3f}"
                  for _, title, best in panels], written[-1])
    written.append(os.path.join(output, "pegasus.json"))
    with open(written[-1] + ".tmp", "w") as f:
        json.dump(summary, f, indent=2)
    os.replace(written[-1] + ".tmp", written[-1])
    return written


def main():
    if not FLAGS.run and not FLAGS.ae_dir:
        raise ValueError("give --run (a GAN) and/or --ae_dir (an autoencoder)")
    if not FLAGS.classes:
        raise ValueError("--classes is required, e.g. --classes=horse,bird")
    try:
        alphas = [float(alpha) for alpha in FLAGS.alphas]
    except ValueError:
        raise ValueError(f"--alphas must be numbers, got {','.join(FLAGS.alphas)}")
    if not alphas:
        raise ValueError("--alphas is empty")
    written = pegasus(FLAGS.output or os.path.join(FLAGS.run or FLAGS.ae_dir, "pegasus"))
    for path in written:
        print(path)


def run(prog="gan-pegasus"):
    define_flags()
    cli.run(main, prog)


if __name__ == "__main__":
    run("gan.pegasus")
