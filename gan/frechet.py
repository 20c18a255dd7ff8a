"""Frechet distance between real and generated images, on a classifier's features.

  quality = SampleQuality(model, spec, classifier, count=5000)
  quality()   # {"frechet_distance": ...}, plus "fid" when given inception=PATH

"frechet_distance" is the Frechet distance between Gaussians fitted to the features of our
own classifier of the dataset (gan.classifier, FEATURES-d): the same formula as FID,
but not FID, whose figures it cannot be compared with. "fid" is the standard FID
(Heusel et al., 2017) on Inception-v3's 2048-d pool3 features, computed when a local
Inception SavedModel is given (this toolkit never downloads one).

The Inception SavedModel's calling convention: `loaded.serve(images)` when it has a `serve`
function (what `keras.Model.export` writes), else `loaded(images)`, with images float32
[B, 299, 299, 3] in [-1, 1] (Inception's own input range) returning [B, 2048] pool3
features (any [B, ..., 2048] is flattened; a dict of one output is unpacked). One way to
make it offline from the Keras weights file:

  keras.applications.InceptionV3(include_top=False, pooling="avg",
      weights="inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5").export(PATH)

(Keras' Inception-v3 weights are not the 2015 graph of the original FID code, so its
figures are close to, not equal with, published FIDs.) Images are resized bilinearly from
32x32 to 299x299; grey-scale images are repeated on the three channels.
"""

import warnings

import numpy as np
import scipy.linalg
import tensorflow as tf

from gan.manifold import RealManifold

INCEPTION_SIZE = 299
INCEPTION_FEATURES = 2048


def statistics(features):
    """(mean [F], covariance [F, F]) of features [N, F], in float64."""
    features = np.asarray(features, np.float64)
    if features.ndim != 2 or len(features) < 2:
        raise ValueError(f"need at least 2 feature vectors [N, F], got shape {features.shape}")
    return features.mean(axis=0), np.cov(features, rowvar=False)


def frechet_distance_of(mean_a, cov_a, mean_b, cov_b, eps=1e-6):
    """Frechet distance between N(mean_a, cov_a) and N(mean_b, cov_b):

        |mean_a - mean_b|^2 + tr(cov_a + cov_b - 2 (cov_a cov_b)^(1/2))

    The matrix square root is scipy's; where the product is singular or its root not
    finite (fewer samples than features, dead features), eps * I is added to both
    covariances first; the round-off imaginary part of the root is dropped (a ValueError
    if it is not small). Never negative.
    """
    mean_a, mean_b = np.atleast_1d(mean_a), np.atleast_1d(mean_b)
    cov_a, cov_b = np.atleast_2d(cov_a), np.atleast_2d(cov_b)
    if mean_a.shape != mean_b.shape or cov_a.shape != cov_b.shape:
        raise ValueError(f"features differ in size: {mean_a.shape[0]} and {mean_b.shape[0]}")
    with warnings.catch_warnings():
        warnings.simplefilter("error", scipy.linalg.LinAlgWarning)
        try:
            root = scipy.linalg.sqrtm(cov_a @ cov_b)
        except scipy.linalg.LinAlgWarning:
            root = None
    if root is None or not np.isfinite(root).all():
        offset = eps * np.eye(len(cov_a))
        root = scipy.linalg.sqrtm((cov_a + offset) @ (cov_b + offset))
    if np.iscomplexobj(root):
        imaginary = np.max(np.abs(root.imag))
        if imaginary > 1e-3 * max(1.0, np.max(np.abs(root.real))):
            raise ValueError(f"the covariance product has no real square root "
                             f"(imaginary part {imaginary:.3g})")
        root = root.real
    diff = mean_a - mean_b
    value = diff @ diff + np.trace(cov_a) + np.trace(cov_b) - 2 * np.trace(root)
    return max(float(value), 0.0)


def frechet_distance(features_a, features_b):
    """Frechet distance between Gaussians fitted to features [N, F] and [M, F]."""
    return frechet_distance_of(*statistics(features_a), *statistics(features_b))


class InceptionFeatures:
    """Inception-v3 pool3 features of 32x32 images, from a local SavedModel (see above)."""

    def __init__(self, path, batch=64):
        try:
            loaded = tf.saved_model.load(path)
        except (OSError, ValueError, tf.errors.OpError) as e:
            raise ValueError(f"cannot load the Inception SavedModel {path}: "
                             f"{str(e).splitlines()[0] if str(e) else type(e).__name__}")
        self._loaded = loaded  # Keeps its variables alive.
        self._call = getattr(loaded, "serve", None) or loaded
        if not callable(self._call):
            raise ValueError(f"the SavedModel {path} has neither serve() nor __call__")
        self.batch = batch

    def _batch_features(self, images):
        x = tf.convert_to_tensor(images, tf.float32)
        if x.shape[-1] == 1:
            x = tf.tile(x, [1, 1, 1, 3])
        x = tf.image.resize(x, [INCEPTION_SIZE, INCEPTION_SIZE], method="bilinear")
        y = self._call(tf.clip_by_value(x, -1.0, 1.0))
        if isinstance(y, dict):
            if len(y) != 1:
                raise ValueError(f"the Inception SavedModel returns {len(y)} outputs "
                                 f"({', '.join(y)}), not one")
            y = next(iter(y.values()))
        y = np.asarray(y, np.float32).reshape(len(images), -1)
        if y.shape[1] != INCEPTION_FEATURES:
            raise ValueError(f"the Inception SavedModel returns {y.shape[1]} features per "
                             f"image, not {INCEPTION_FEATURES} (pool3)")
        return y

    def __call__(self, images):
        """float32 [N, 2048] of images [N, H, W, C] in [-1, 1]."""
        images = np.asarray(images, np.float32)
        return np.concatenate([self._batch_features(images[i:i + self.batch])
                               for i in range(0, len(images), self.batch)])


def real_images(spec, count, seed=0, batch=256):
    """(images [count, H, W, C], labels [count]): `count` training images drawn at random
    by `seed` alone (every image gets a random key from a numpy generator of that seed, in
    one unshuffled pass over the training split, and the smallest keys are kept), so the
    sample is the same in every process: a run's --eval_fd reports and gan.evaluate
    compare against the same images whatever the run's own seed (a tf.data shuffle would
    also depend on the process's global seed). Fewer than `count` when the split is
    smaller."""
    rng = np.random.default_rng(seed)
    chunks, threshold = [], 1.0  # (images, labels, keys) of the candidates; keys < threshold.
    for x, label in spec.train_once(batch):
        keys = rng.random(len(label))  # Drawn for every batch: the sample is the seed's.
        inside = keys < threshold
        if inside.any():
            chunks.append((x.numpy()[inside], label.numpy()[inside], keys[inside]))
        if sum(len(chunk[2]) for chunk in chunks) >= 2 * count:
            chunks = [_smallest_keys(chunks, count)]
            threshold = chunks[0][2][-1]
    if not chunks:
        raise ValueError(f"{spec.name} has no training images")
    images, labels, _ = _smallest_keys(chunks, count)
    return images, labels.astype(np.int64)


def _smallest_keys(chunks, count):
    """(images, labels, keys) chunks -> the `count` entries of smallest key, by key."""
    images, labels, keys = (np.concatenate(part) for part in zip(*chunks))
    keep = np.argsort(keys)[:count]
    return images[keep], labels[keep], keys[keep]


def generator_fn(model):
    """images = fn(z, label or None): model.generate in a tf.function, float32 output."""
    @tf.function(reduce_retracing=True)
    def generate(z, label):
        return tf.cast(model.generate(z, label=label, training=False), tf.float32)

    def fn(z, label=None):
        z = tf.constant(z, tf.float32)
        return generate(z, None if label is None else tf.constant(label)).numpy()
    return fn


def generate_images(model, z, labels=None, batch=256):
    """float32 [N, H, W, C] images of model.generate for z [N, z_dim] (and labels [N])."""
    generate = generator_fn(model)
    return np.concatenate([
        generate(z[i:i + batch], None if labels is None else labels[i:i + batch])
        for i in range(0, len(z), batch)])


class SampleQuality:
    """Measures a generator against a fixed sample of the training data.

    `count` real training images (real_images: a sample fixed by `seed` alone) against
    `count` images generated from fixed z ~ N(0, I); a conditional model gets the real
    sample's labels (shuffled), so classes appear in the data's proportions. The real
    features are computed once. Calling it returns {"frechet_distance": ...} (our
    classifier's features) and, on the same features, "sample_precision" (the fraction of
    samples on the real images' k-NN manifold: their quality) and "sample_recall" (the
    fraction of real images on the samples' manifold: their coverage), the precision and
    recall of Kynkaenniemi et al. (2019) (gan.manifold; named apart from the run's
    --precision), plus {"fid": ...} when `inception` (a SavedModel path or an
    InceptionFeatures) is given.
    """

    def __init__(self, model, spec, classifier, count=5000, seed=0, inception=None,
                 batch=256):
        if count < 2:
            raise ValueError(f"count must be at least 2, got {count}")
        self.model, self.classifier, self.batch = model, classifier, batch
        if isinstance(inception, str):
            inception = InceptionFeatures(inception)
        self.inception = inception
        images, labels = real_images(spec, count, seed, batch)
        rng = np.random.default_rng(seed)
        self.z = rng.standard_normal((len(images), model.z_dim)).astype(np.float32)
        self.labels = rng.permutation(labels) if model.conditional else None
        features = classifier.features(images)
        self.real = {"frechet_distance": statistics(features)}
        self.real_features, self.real_manifold = features, RealManifold(features)
        if inception is not None:
            self.real["fid"] = statistics(inception(images))

    def __call__(self):
        images = generate_images(self.model, self.z, self.labels, self.batch)
        features = self.classifier.features(images)
        result = {"frechet_distance": frechet_distance_of(*self.real["frechet_distance"],
                                                          *statistics(features)),
                  "sample_precision": self.real_manifold.precision(features),
                  "sample_recall": RealManifold(features).precision(self.real_features)}
        if self.inception is not None:
            result["fid"] = frechet_distance_of(*self.real["fid"],
                                                *statistics(self.inception(images)))
        return result
