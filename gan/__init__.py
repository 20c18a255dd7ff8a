"""GANs for small images on the toolkit's core (acai.lib): DCGAN, the spectral-norm GAN,
the Frechet distance on our own classifier, and the pegasus search."""
