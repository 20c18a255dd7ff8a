"""Variational autoencoders on the toolkit's core (acai.lib): the paper's VAE baseline,
with an optional flat latent, its trainer, sampler and export."""
