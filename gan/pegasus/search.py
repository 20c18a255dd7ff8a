"""The pegasus search as a function of its settings, for a notebook as for gan-pegasus:

    from gan import pegasus
    written = pegasus.search(pegasus.Settings(run=GAN_RUN, classes=("horse", "bird")))

(the package's docstring says what it writes). Loads the runs, trains or reads the
scoring classifier, runs every search that applies, and writes the pictures and
pegasus.json.
"""

import dataclasses
import os
from typing import Optional, Sequence

import numpy as np

from acai import registry
from acai.lib.files import check_writable, write_json
from acai.lib.summaries import grid_of, images_to_grid, save_png
from gan.classifier import classifier_dir, get_classifier
from gan.manifold import RealManifold
from gan.pegasus.figures import save_side_by_side
from gan.pegasus.methods import (ae_search, gan_ascent_search, gan_interpolation,
                                 gan_mix_search, gan_search)
from gan.pegasus.real import images_by_class, rank_real, split_real
from gan.pegasus.score import (
    Realism,
    image_sharpness,
    pegasus_score_fn,
    resolve_classes,
)

STRIP_ROWS = 4  # Rows of best_strip.png.
REALISM_K = 3  # The k of the realism term's k-nearest-neighbour balls (the paper's).


@dataclasses.dataclass
class Settings:
    """What a pegasus search does; gan-pegasus' flags have the same names and defaults.

    run, ae_run: the run folders of a GAN and/or an autoencoder (at least one); ae_dir
      is ae_run's older spelling.
    classes: the two classes to mix, names or indices of the scorer's dataset (the
      GAN's, else the autoencoder's).
    count: images scored per method; top: best images kept per method.
    real_images: real images of the two classes (half each) the realism figures compare
      to; the others are ranked by the score as the real images' yardstick.
    realism_term: the score's min(1, realism score) on --real_images other real images.
    steps: columns of the interpolations; alphas: the autoencoder's latent mixes.
    ascent_steps, ascent_lr, prior_weight, disc_weight: the gradient ascent on z (0
      steps: none).
    output: the output folder (default: RUN/pegasus, or AE_RUN/pegasus without run).
    classifier_dir, classifier_kimg: the scoring classifier's folder (default: beside the
      run) and its training, when it has none yet.
    data_dir: the TFDS folder, if not the runs' own. seed: of the samples and pairs.
    """
    run: Optional[str] = None
    ae_run: Optional[str] = None
    classes: Sequence = ()
    count: int = 10000
    top: int = 64
    real_images: int = 2000
    realism_term: bool = True
    steps: int = 9
    alphas: Sequence[float] = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)
    # 0.05 overshot on a DCGAN of the horse and bird images: its best 64 ended below the
    # samples they started from; 0.01 lifted them (pegasus.json, 2,000 starting points).
    ascent_steps: int = 100
    ascent_lr: float = 0.01
    prior_weight: float = 1.0
    disc_weight: float = 0.1
    output: Optional[str] = None
    classifier_dir: Optional[str] = None
    classifier_kimg: int = 64
    data_dir: Optional[str] = None
    seed: int = 0
    ae_dir: dataclasses.InitVar[Optional[str]] = None  # ae_run's older spelling.

    def __post_init__(self, ae_dir):
        self.ae_run = self.ae_run or ae_dir

    @property
    def output_dir(self):
        return self.output or os.path.join(self.run or self.ae_run, "pegasus")

    def check(self):
        """Raises ValueError (one line) for settings no search can take."""
        if not self.run and not self.ae_run:
            raise ValueError("give --run (a GAN) and/or --ae_run (an autoencoder)")
        if not self.classes:
            raise ValueError("--classes is required, e.g. --classes=horse,bird")
        try:
            alphas = [float(alpha) for alpha in self.alphas]
        except ValueError:
            raise ValueError(f"--alphas must be numbers, got "
                             f"{','.join(map(str, self.alphas))}") from None
        if not alphas:
            raise ValueError("--alphas is empty")
        for name in ("count", "top", "steps", "classifier_kimg"):
            if getattr(self, name) < (2 if name == "steps" else 1):
                raise ValueError(f"--{name}={getattr(self, name)} is too small")


def load_runs(settings):
    """-> (GAN run, autoencoder run, the scorer's run folder, the scorer's DataSpec):
    each run (model, spec, config) or None; the scorer is the GAN's dataset, else the
    autoencoder's."""
    gan = (registry.load_run(settings.run, settings.data_dir, kind="gan")
           if settings.run else None)
    ae = (registry.load_run(settings.ae_run, settings.data_dir, kind="autoencoder")
          if settings.ae_run else None)
    scorer_run, scorer_spec = (settings.run, gan[1]) if gan else (settings.ae_run, ae[1])
    shape = (scorer_spec.height, scorer_spec.width, scorer_spec.colors)
    for run in (gan, ae):
        if run and (run[1].height, run[1].width, run[1].colors) != shape:
            raise ValueError(f"the runs' images differ in shape ({run[1].name} and "
                             f"{scorer_spec.name}); one classifier cannot score both")
    return gan, ae, scorer_run, scorer_spec


def make_score(settings, classifier, real, held, a, b, names):
    """-> (the searches' score, the real images left to rank, the realism term's
    manifold or None). The realism term's manifold is made of other real images than
    the realism figures' (`real`): the first --real_images of `held`."""
    manifold = None
    if settings.realism_term:
        beside, held = held[:settings.real_images], held[settings.real_images:]
        if len(beside) < 2 * REALISM_K:
            raise ValueError(f"the realism term needs real images of {names[0]} and "
                             f"{names[1]} beyond the {settings.real_images} of "
                             f"--real_images; there are {len(beside)}: lower --real_images, "
                             "or pass --norealism_term")
        manifold = RealManifold(classifier.features(beside), k=REALISM_K)
    score = pegasus_score_fn(classifier, a, b, float(np.median(image_sharpness(real))),
                             manifold)
    return score, held, manifold


def gan_methods(settings, gan, classifier, names, a, b, score, save):
    """The GAN's searches: [(file stem, title, Best)]; a conditional GAN's class
    interpolation is saved with `save(stem, image)`."""
    model, spec, config = gan
    ga, gb = resolve_classes(names, spec.class_names)
    kind = config.get("model", "gan").upper()
    ascent = dict(steps=settings.ascent_steps or 100, lr=settings.ascent_lr,
                  prior_weight=settings.prior_weight, disc_weight=settings.disc_weight)
    methods = [("gan_samples", f"{kind} samples", gan_search(
        model, ga, gb, score, count=settings.count, top=settings.top, seed=settings.seed,
        ascent=dict(classifier=classifier, a=a, b=b, **ascent)))]
    if settings.ascent_steps:
        methods.append(("gan_ascent", f"{kind} z gradient ascent", gan_ascent_search(
            model, classifier, a, b, score, count=settings.count, top=settings.top,
            model_classes=(ga, gb), seed=settings.seed, **ascent)))
    if model.conditional:
        methods.append(("gan_mixes", f"{kind} class-input mixes", gan_mix_search(
            model, ga, gb, score, count=settings.count, top=settings.top,
            seed=settings.seed)))
        save("gan_interpolation", images_to_grid(gan_interpolation(
            model, ga, gb, steps=settings.steps, seed=settings.seed)))
    return methods


def ae_method(settings, ae, scorer_spec, scorer_images, names, score, save):
    """The autoencoder's latent mixes: (file stem, title, Best); its interpolation is
    saved with `save(stem, image)`."""
    model, spec, config = ae
    a, b = resolve_classes(names, scorer_spec.class_names)
    ea, eb = resolve_classes(names, spec.class_names)
    # The scorer's images when the autoencoder trained on the same dataset (its class
    # indices may differ only in another dataset), else its own.
    found = ({ea: scorer_images[a], eb: scorer_images[b]} if spec.name == scorer_spec.name
             else images_by_class(spec, (ea, eb)))
    best, interpolation = ae_search(
        model, found, ea, eb, score, count=settings.count, top=settings.top,
        alphas=[float(alpha) for alpha in settings.alphas], steps=settings.steps,
        seed=settings.seed)
    save("ae_interpolation", images_to_grid(interpolation))
    return "ae_mixes", f"{config.get('model', 'ae').upper()} latent mixes", best


def report(title, best, realism):
    """pegasus.json's entry of a method: its best scores, and the realism of its best
    images beside that of as many of its images unranked."""
    return dict(title=title, scored=best.seen,
                best_scores=[round(float(s), 4) for s in best.scores],
                best_realism=realism(best.images), unranked_realism=realism(best.unranked))


def search(settings):
    """Runs the searches `settings` (a Settings) asks for and writes their pictures and
    pegasus.json into `settings.output_dir`; -> the paths written."""
    settings.check()
    output = settings.output_dir
    gan, ae, scorer_run, scorer_spec = load_runs(settings)
    # Before the classifier's training and the search.
    check_writable(output, settings.classifier_dir or classifier_dir(scorer_run),
                   remedy="check its permissions, or choose another --output or "
                   "--classifier_dir")
    a, b = resolve_classes(settings.classes, scorer_spec.class_names)
    names = (scorer_spec.class_names[a], scorer_spec.class_names[b])
    classifier = get_classifier(scorer_spec,
                                settings.classifier_dir or classifier_dir(scorer_run),
                                kimg=settings.classifier_kimg)
    scorer_images = images_by_class(scorer_spec, (a, b))
    real, held = split_real(scorer_images, settings.real_images // 2, settings.seed)
    realism = Realism(classifier, real)
    score, held, manifold = make_score(settings, classifier, real, held, a, b, names)

    os.makedirs(output, exist_ok=True)
    written = []

    def save(stem, image):
        written.append(os.path.join(output, stem + ".png"))
        save_png(image, written[-1])

    methods = []  # (file stem, title, Best)
    if gan:
        methods += gan_methods(settings, gan, classifier, names, a, b, score, save)
    if ae:
        methods.append(ae_method(settings, ae, scorer_spec, scorer_images, names, score,
                                 save))
    summary = dict(classes=list(names), classifier_test_accuracy=classifier.test_accuracy,
                   real_images=settings.real_images,
                   score="min(P(a), P(b)) * min(1, sharpness / median real sharpness)"
                   + (" * min(1, realism score)" if manifold else ""))
    for stem, title, best in methods:
        save(stem, grid_of(best.images))
        summary[stem] = report(title, best, realism)
    # Real images ranked by the same score: the realism of their best --top.
    ranked = rank_real(held, score, settings.top) if len(held) >= settings.top else None
    if ranked is not None:
        summary["real_ranked"] = report("real images", ranked, realism)
    else:
        summary["real_ranked"] = dict(scored=0, reason=(
            f"{len(held)} real images beyond the {settings.real_images} of the reference"
            + (" and those of the realism term" if manifold else "") + ", fewer "
            f"than --top={settings.top}"))
    # The best method's best images, each on its path from class a to class b.
    stem, title, best = max(methods, key=lambda method: method[2].scores[0])
    rows = min(STRIP_ROWS, len(best.scores))
    save("best_strip", images_to_grid(best.strip(best.latents[:rows], settings.steps)))
    summary["best_strip"] = dict(method=stem, rows=rows, columns=2 * settings.steps - 1,
                                 middle_scores=[round(float(s), 4)
                                                for s in best.scores[:rows]])
    panels = methods + ([("real_ranked", "real images", ranked)] if ranked is not None
                        else [])
    written.append(os.path.join(output, "comparison.png"))
    save_side_by_side([grid_of(best.images) for _, _, best in panels],
                      [f"{title}\nbest {len(best.scores)} of {best.seen}, "
                       f"score >= {best.scores[-1]:.3f}" for _, title, best in panels],
                      written[-1])
    written.append(os.path.join(output, "pegasus.json"))
    write_json(summary, written[-1])
    return written
