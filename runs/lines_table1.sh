#!/usr/bin/env bash
# Table 1 of the paper on the lines (docs/results.md): all seven models with seed 1, ACAI
# and the plain autoencoder with seeds 2 and 3, in the reference's lines configuration.
#
#   runs/lines_table1.sh OUT [KIMG]      KIMG: 128 (default) or 512
#
# Resumable: run it again after an interruption and finished runs are skipped.
set -euo pipefail
OUT=${1:?usage: runs/lines_table1.sh OUT [KIMG]}
KIMG=${2:-128}
REPORT=$(( KIMG / 8 ))
HERE=$(cd "$(dirname "$0")" && pwd)

python -m acai.lines_benchmark --train_dir="$OUT/seed1" --total_kimg="$KIMG" \
  --report_kimg="$REPORT" --seed=1 --precision=float32
for SEED in 2 3; do
  python -m acai.lines_benchmark --train_dir="$OUT/seed$SEED" --total_kimg="$KIMG" \
    --report_kimg="$REPORT" --seed="$SEED" --precision=float32 --models=acai,baseline
done

python "$HERE/table.py" "$OUT"/seed*/lines32/* --columns metrics:kimg \
  'metrics:mean_distance*1000' metrics:mean_smoothness metrics:latent_accuracy
