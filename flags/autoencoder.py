"""Flags of the autoencoders: the paper's architecture and its regularisers."""

from absl import flags

from acai.models import MODELS

flags.DEFINE_enum("model", "acai", sorted(MODELS), "Which autoencoder to train.")
flags.DEFINE_integer("depth", 64, "Depth of the first convolution.", lower_bound=1)
flags.DEFINE_integer("latent", 16, "Latent space depth: the total latent size is the "
                     "depth multiplied by latent_width ** 2.", lower_bound=1)
flags.DEFINE_integer("latent_width", 4, "Width of the latent space.", lower_bound=1)
flags.DEFINE_float("advweight", 0.5, "ACAI: weight of the adversarial term (lambda).",
                   lower_bound=0.0)
flags.DEFINE_integer("advdepth", 0, "ACAI: depth of the critic (0: the same as depth).",
                     lower_bound=0)
flags.DEFINE_float("reg", 0.2, "ACAI: critic regularisation gamma, in [0, 1].",
                   lower_bound=0.0, upper_bound=1.0)
