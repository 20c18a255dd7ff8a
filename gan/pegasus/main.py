"""gan-pegasus: the pegasus search from the command line (see the package's docstring).

  gan-pegasus --run=GAN_RUN --classes=horse,bird [--count=10000] [--top=64]
  gan-pegasus --run=GAN_RUN --ae_run=ACAI_RUN --classes=horse,bird
"""

import dataclasses

from absl import flags

from acai.lib import cli
from flags import common
from gan.pegasus.search import Settings, search

FLAGS = flags.FLAGS
DEFAULTS = Settings()


def define_flags():
    """The binary's flags (defined when it runs, so that its functions import freely):
    one per field of Settings, with its default."""
    d = DEFAULTS
    common.define_run("Run folder of the GAN.")
    common.define_run("Run folder of an autoencoder (e.g. ACAI) to search through its "
                      "latent mixes too.", name="ae_run", aliases=["ae_dir"])
    flags.DEFINE_list("classes", None, "The two classes to mix, names or indices, "
                      "e.g. horse,bird.")
    flags.DEFINE_integer("count", d.count, "Images scored per method.", lower_bound=1)
    flags.DEFINE_integer("top", d.top, "Best images kept per method.", lower_bound=1)
    flags.DEFINE_integer("real_images", d.real_images, "Real training images of the two "
                         "classes (half each) that the realism figures compare to; the "
                         "others are ranked by the score as the real images' yardstick.",
                         lower_bound=2)
    flags.DEFINE_boolean("realism_term", d.realism_term, "Multiply the score by min(1, "
                         "realism score) on the manifold of --real_images other real "
                         "images (gan.manifold), so that the best images are near real "
                         "ones.")
    flags.DEFINE_integer("steps", d.steps, "Columns of the interpolations.", lower_bound=2)
    flags.DEFINE_list("alphas", [str(alpha) for alpha in d.alphas],
                      "Latent mixing coefficients of --ae_run.")
    flags.DEFINE_integer("ascent_steps", d.ascent_steps, "GAN: Adam steps of the gradient "
                         "ascent on z from the best --top samples (0: no ascent).",
                         lower_bound=0)
    flags.DEFINE_float("ascent_lr", d.ascent_lr, "Step size of the ascent on z.",
                       lower_bound=0.0)
    flags.DEFINE_float("prior_weight", d.prior_weight, "Ascent: weight of the penalty "
                       "keeping |z| near sqrt(z_dim), the typical norm of N(0, I).",
                       lower_bound=0.0)
    flags.DEFINE_float("disc_weight", d.disc_weight, "Ascent: weight of D(G(z)), the "
                       "discriminator's belief that the image is real.", lower_bound=0.0)
    flags.DEFINE_string("output", None, "Output folder (default: RUN/pegasus).")
    flags.DEFINE_string("classifier_dir", None, "Folder of the scoring classifier "
                        "(default: <dataset folder>/classifier beside the run).")
    flags.DEFINE_integer("classifier_kimg", d.classifier_kimg, "Training of the "
                         "classifier, when it has none yet (kimg).", lower_bound=1)
    common.define_data_dir()
    flags.DEFINE_integer("seed", d.seed, "Seed of the samples and of the image pairs.")


def main():
    settings = Settings(**{field.name: FLAGS[field.name].value
                           for field in dataclasses.fields(Settings)})
    settings.classes = settings.classes or ()
    for path in search(settings):
        print(path)


def run(prog="gan-pegasus"):
    cli.launch(main, prog, define_flags, FLAGS)
