"""The searches for images of two classes at once: each returns a `Best` of its images.

    gan_search         the best of a GAN's samples
    gan_ascent_search  gradient ascent on z from the best samples toward both classes
    gan_mix_search     a conditional GAN's samples with mixed class inputs
    ae_search          an autoencoder's decoded latent mixes of real images of a and b

and the interpolations they draw (gan_interpolation, and ae_search's own).
"""

import numpy as np
import tensorflow as tf

from acai.lib import progress
from acai.lib.interpolate import lerp
from gan.frechet import generator_fn
from gan.pegasus.real import BATCH, class_images
from gan.pegasus.score import Best, one_hot

INTERPOLATION_ROWS = 8


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
