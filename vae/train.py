"""Trains the paper's VAE baseline: vae-train --dataset=lines32 ...

(or `python -m vae.train`). The same trainer as acai-train (every flag of it), with
--model defaulting to vae, whose --latent_dim is 0 (default) for the paper's
convolutional latent, N > 0 for a flat latent of N values given by dense layers (the
keras.io VAE).

Example (a 2-D latent on MNIST, to draw with vae-sample):
  vae-train --dataset=mnist32 --latent_dim=2 --train_dir=experiments \\
      --total_kimg=1024 --report_kimg=64
"""

from acai.train import run_as


def run():
    run_as("vae-train", "vae", __doc__)


if __name__ == "__main__":
    run_as("vae.train", "vae")
