"""Trains a GAN: gan-train --model=dcgan --dataset=cifar10 --classes=horse,bird ...

(or `python -m gan.train`). The toolkit's trainer (acai-train: run directory per
experiment, resume, kimg, every report the losses, D's mean outputs, images/second, a
sample grid from fixed z, the curves of every scalar) with --model defaulting to dcgan,
whose defaults (--lr 2e-4, --z_dim 100, ...) `--help` shows.

Example (the CIFAR-10 horses and birds of ../shared/data):
  gan-train --model=dcgan --dataset=folder:../shared/data/cifar10_horse_bird_jpeg/train \\
      --train_dir=experiments --total_kimg=512 --report_kimg=32
"""

from acai.train import run_as


def run():
    run_as("gan-train", "dcgan", __doc__)


if __name__ == "__main__":
    run_as("gan.train", "dcgan")
