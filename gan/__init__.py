"""GANs for small images on the toolkit's core (acai.lib): DCGAN, the spectral-norm GAN,
the Frechet distance on our own classifier, and the pegasus search.

  models/        the GANs (base, DCGAN, SN-GAN); layers, spectral_norm their parts
  classifier     the dataset's classifier whose features the distances use
  frechet        the Frechet distance of samples; manifold: precision and recall
  evaluation     what a GAN run reports; evaluate, export, train: the binaries
  pegasus/       the pegasus search: score, methods, real images, figures, then
                 search (a function of a Settings) and main (gan-pegasus)
"""
