"""How real each image looks: the k-nearest-neighbour manifold of real images' features.

  manifold = RealManifold(classifier.features(real_images))     # k = 3
  manifold.precision(classifier.features(images))   # fraction of images on the manifold
  manifold.realism(classifier.features(images))     # [N] realism score of each image

Kynkaenniemi et al. (2019), "Improved Precision and Recall Metric for Assessing Generative
Models": every real feature vector is the centre of a ball reaching its k-th nearest real
neighbour; the real images' manifold is the union of the balls. An image's feature vector
is on it when it falls in some ball (precision: the fraction that do), and its realism
score is max over real r of radius_r / |phi - phi_r| (at least 1 on the manifold, near 0
far from it), taken over the half of the balls with the smallest radii, as the paper does,
so that a few outliers with large balls do not vouch for the images around them.

The Frechet distance compares two distributions, so a set of images chosen from one region
of the real distribution (the images a classifier cannot decide on, say) is far from the
whole of it even when every image is real. These measures are per image: a selection pays
for an image only when that image lies off the real manifold. The paper uses VGG-16
features; here, as for the Frechet distance, the toolkit's own classifier's
(gan.classifier).
"""

import numpy as np

CHUNK = 1024  # Rows of a distance matrix computed at once.


def distances(a, b):
    """[len(a), len(b)] Euclidean distances between rows of a [N, F] and b [M, F]."""
    squared = (np.sum(a * a, axis=1)[:, None] + np.sum(b * b, axis=1)[None, :]
               - 2.0 * a @ b.T)
    return np.sqrt(np.maximum(squared, 0.0))


class RealManifold:
    """The balls of real feature vectors [N, F] to their k-th nearest real neighbour."""

    def __init__(self, real_features, k=3):
        real = np.asarray(real_features, np.float64)
        if real.ndim != 2 or len(real) <= k:
            raise ValueError(f"need more than k={k} real feature vectors [N, F], got "
                             f"shape {real.shape}")
        self.real, self.k = real, k
        # Column 0 of each sorted row is the vector itself (distance 0).
        self.radii = np.concatenate([
            np.partition(distances(real[start:start + CHUNK], real), k, axis=1)[:, k]
            for start in range(0, len(real), CHUNK)])
        self.small = self.radii <= np.median(self.radii)  # The balls the realism score uses.

    def _best_ratios(self, features, balls):
        """[N] the largest radius / distance over the real `balls` (an index or a mask),
        for each feature vector [N, F]; >= 1 inside one of them."""
        features = np.asarray(features, np.float64)
        if features.ndim != 2 or features.shape[1] != self.real.shape[1]:
            raise ValueError(f"feature vectors must be [N, {self.real.shape[1]}], got "
                             f"shape {features.shape}")
        radii, centres = self.radii[balls], self.real[balls]
        best = [np.max(radii / np.maximum(distances(features[start:start + CHUNK], centres),
                                          1e-12), axis=1)
                for start in range(0, len(features), CHUNK)]
        return np.concatenate(best) if best else np.zeros([0])

    def on_manifold(self, features):
        """[N] bool: the feature vector falls in some real ball."""
        return self._best_ratios(features, slice(None)) >= 1.0

    def precision(self, features):
        """The fraction of feature vectors [N, F] on the real manifold."""
        return float(np.mean(self.on_manifold(features)))

    def realism(self, features):
        """[N] realism scores: max over the smaller half of the balls of radius / distance."""
        return self._best_ratios(features, self.small)
