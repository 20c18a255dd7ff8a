#!/usr/bin/env bash
# Tables 2 and 3 of the paper on MNIST (docs/results.md): ACAI and the plain autoencoder
# with 16 and 2 latent channels (256 and 32 values), 256 kimg, then a single-layer
# classifier on the codes (Table 2) and k-means (Table 3).
#
#   runs/mnist_tables2_3.sh OUT [DATA_DIR]
#
# DATA_DIR: the TensorFlow Datasets folder (MNIST is downloaded there when missing;
# default: TFDS' own). Resumable: training resumes, evaluations are redone.
set -euo pipefail
OUT=${1:?usage: runs/mnist_tables2_3.sh OUT [DATA_DIR]}
DATA=()
if [ -n "${2:-}" ]; then DATA=(--data_dir="$2"); fi
HERE=$(cd "$(dirname "$0")" && pwd)

for MODEL in acai baseline; do
  for LATENT in 16 2; do
    python -m acai.train --model="$MODEL" --dataset=mnist32 ${DATA[@]+"${DATA[@]}"} \
      --latent_width=4 --depth=16 --latent="$LATENT" --train_dir="$OUT" --total_kimg=256 --report_kimg=64 \
      --seed=1 --precision=float32
  done
done
for RUN in "$OUT"/mnist32/*; do
  python -m acai.classify --run="$RUN" --total_kimg=1024 ${DATA[@]+"${DATA[@]}"}
  python -m acai.cluster --run="$RUN" ${DATA[@]+"${DATA[@]}"}
done

python "$HERE/table.py" "$OUT"/mnist32/* --columns metrics:latent_accuracy \
  classify:test_accuracy cluster:test_accuracy
