"""The pegasus search: generated images that look like two classes at once.

  gan-pegasus --run=GAN_RUN --classes=horse,bird [--count=10000] [--top=64]
  gan-pegasus --run=GAN_RUN --ae_run=ACAI_RUN --classes=horse,bird

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
  ae_mixes.png           --ae_run: training images of a and b encoded, their latent codes
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

From Python (a notebook): `pegasus.search(pegasus.Settings(run=..., classes=(a, b)))`.
The package: score.py (the score, the realism figures), methods.py (the searches),
real.py (the real images), figures.py (the pictures), search.py (Settings and `search`),
main.py (the binary's flags).

Everything goes to --output (default: GAN_RUN/pegasus, or ACAI_RUN/pegasus without --run).
Classes are names or indices of the scoring classifier's dataset, e.g. the CIFAR-10
horse/bird folder (--dataset=folder:.../cifar10_horse_bird_jpeg/train, classes bird,
horse) or cifar10 itself.
"""

from gan.pegasus.main import run
from gan.pegasus.methods import (ae_search, ascend, gan_ascent_search, gan_interpolation,
                                 gan_mix_search, gan_search)
from gan.pegasus.real import class_images, images_by_class, rank_real, split_real
from gan.pegasus.score import (Best, Realism, image_sharpness, pegasus_score_fn,
                               pegasus_scores, resolve_classes, sharpness)
from gan.pegasus.search import Settings, search

__all__ = ["Best", "Realism", "Settings", "ae_search", "ascend", "class_images",
           "gan_ascent_search", "gan_interpolation", "gan_mix_search", "gan_search",
           "image_sharpness", "images_by_class", "pegasus_score_fn", "pegasus_scores",
           "rank_real", "resolve_classes", "run", "search", "sharpness", "split_real"]
