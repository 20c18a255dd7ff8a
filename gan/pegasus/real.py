"""The real images of the two classes: read, split into the realism reference and the
rest, and ranked by the score as the yardstick of the searches."""

import numpy as np

from gan.pegasus.score import Best

BATCH = 256


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
