"""What a GAN run shows every report: samples from a fixed set of z, and optionally the
Frechet distance between real and generated images (--eval_fd)."""


import numpy as np

from acai.lib.summaries import images_to_grid
from gan.classifier import classifier_dir, get_classifier
from gan.frechet import SampleQuality, generator_fn

GRID = 16


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
        self._generate = generator_fn(model)
        self.sample_quality = None
        if model.eval_fd:
            classifier = get_classifier(spec, classifier_dir(run.path))
            self.sample_quality = SampleQuality(model, spec, classifier)

    def samples(self):
        images = self._generate(self.z, self.label)
        return images_to_grid(images.reshape((GRID, GRID) + images.shape[1:]))

    def __call__(self):
        scalars = self.sample_quality() if self.sample_quality else {}
        return scalars, {"samples": self.samples()}
