"""Variational autoencoders, on the core the autoencoders of `acai.models` share."""

# acai.models registers vae.model.VAE: importing it first lets `import vae.model` come
# before or after `import acai.models` without a circular import.
import acai.models  # noqa: F401
