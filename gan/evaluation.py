"""What a GAN run shows every report: samples from a fixed set of z, a latent walk
(images/latent_walk_<kimg>.gif), and optionally the Frechet distance between real and
generated images (--eval_fd)."""


import numpy as np

from acai.lib.interpolate import slerp
from acai.lib.summaries import animation_frames, images_to_grid
from gan.classifier import classifier_dir, get_classifier
from gan.frechet import SampleQuality, generator_fn

GRID = 16
# The latent walk: WALKS walks at once, each a loop through WALK_POINTS random z joined by
# great-circle arcs of WALK_STEPS frames.
WALKS, WALK_COLUMNS, WALK_POINTS, WALK_STEPS = 16, 4, 4, 8


def latent_walk(points, steps):
    """(N, K, D) random points -> (N, K * steps, D): a closed walk through the K points of
    each row, slerp from each to the next (the last back to the first), `steps` per arc."""
    arcs = [slerp(points[:, k], points[:, (k + 1) % points.shape[1]], steps + 1)[:, :-1]
            for k in range(points.shape[1])]
    return np.concatenate(arcs, axis=1)


class GANEvaluation:
    """A report's (scalars, images) for a GAN: a GRID x GRID grid of G(z) for z fixed once
    for the run (so progress is visible from report to report and run to run); for a
    conditional model, consecutive rows take each class in turn with the same z."""

    def __init__(self, model, spec, run, seed=0):
        self.model = model
        rng = np.random.RandomState(seed)
        if model.conditional:
            groups = -(-GRID // model.nclass)
            z = rng.standard_normal((groups, 1, GRID, model.z_dim))
            z = np.repeat(z, model.nclass, axis=1).reshape(-1, GRID, model.z_dim)[:GRID]
            self.label = np.repeat(np.arange(GRID) % model.nclass, GRID)
        else:
            z = rng.standard_normal((GRID, GRID, model.z_dim))
            self.label = None
        self.z = z.reshape(GRID * GRID, model.z_dim).astype(np.float32)
        self.walk = latent_walk(rng.standard_normal((WALKS, WALK_POINTS, model.z_dim)),
                                WALK_STEPS).astype(np.float32)
        self.walk_label = (np.repeat(np.arange(WALKS) % model.nclass, self.walk.shape[1])
                           if model.conditional else None)
        self._generate = generator_fn(model)
        self.sample_quality = None
        if model.eval_fd:
            classifier = get_classifier(spec, classifier_dir(run.path))
            self.sample_quality = SampleQuality(model, spec, classifier)

    def samples(self):
        images = self._generate(self.z, self.label)
        return images_to_grid(images.reshape((GRID, GRID) + images.shape[1:]))

    def walk_frames(self):
        """The latent walk's frames: (WALK_POINTS * WALK_STEPS, H', W', C)."""
        images = self._generate(self.walk.reshape(-1, self.walk.shape[-1]), self.walk_label)
        paths = images.reshape(self.walk.shape[:2] + images.shape[1:])
        return animation_frames(paths, WALK_COLUMNS, forward_and_back=False)

    def __call__(self):
        scalars = self.sample_quality() if self.sample_quality else {}
        return scalars, {"samples": self.samples(), "latent_walk": self.walk_frames()}
