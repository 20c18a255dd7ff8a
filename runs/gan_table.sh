#!/usr/bin/env bash
# The GAN table (docs/results.md): DCGAN and SN-GAN of depth 32 on CIFAR-10's horses and
# birds, seeds 1 and 2, 1,024 kimg, then each run's Frechet distance, precision and recall
# on 5,000 samples.
#
#   runs/gan_table.sh OUT IMAGES
#
# IMAGES: a folder of the horse and bird training images, one sub-folder per class
# (IMAGES/horse/*.jpg, IMAGES/bird/*.jpg; every 10th image is held out). Resumable.
set -euo pipefail
OUT=${1:?usage: runs/gan_table.sh OUT IMAGES}
IMAGES=${2:?usage: runs/gan_table.sh OUT IMAGES}
HERE=$(cd "$(dirname "$0")" && pwd)

for SEED in 1 2; do
  for MODEL in dcgan sngan; do
    python -m gan.train --model="$MODEL" --depth=32 --dataset="folder:$IMAGES" \
      --train_dir="$OUT/seed$SEED" --total_kimg=1024 --report_kimg=64 --seed="$SEED" \
      --precision=float32
  done
done
for RUN in "$OUT"/seed*/*/*GAN_*; do
  python -m gan.evaluate --run="$RUN"
done

python "$HERE/table.py" "$OUT"/seed*/*/*GAN_* --columns metrics:kimg \
  evaluate:frechet_distance evaluate:sample_precision evaluate:sample_recall
