"""The pegasus score and how real a set of images looks.

The score of an image: min(P(a), P(b)) under the dataset's classifier (high only when it
sees both classes), times min(1, sharpness / the real images' median), so that blur does
not pass for both classes, and times min(1, realism score) on the manifold of real
images' features (gan.manifold), so that an image unlike any real one does not either.
"""

import numpy as np

from acai.lib import data
from gan.frechet import frechet_distance_of, statistics
from gan.manifold import RealManifold


def pegasus_scores(probabilities, a, b):
    """min(P(a), P(b)) per image, of probabilities [N, nclass]: high when both classes."""
    probabilities = np.asarray(probabilities)
    return np.minimum(probabilities[:, a], probabilities[:, b])


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
