#!/usr/bin/env bash
# The pegasus pictures (docs/results.md): a DCGAN (depth 32, 512 kimg) and an ACAI (256
# kimg) trained on CIFAR-10's horses and birds, then the search through both; writes
# comparison.png, best_strip.png and pegasus.json in OUT/pegasus.
#
#   runs/pegasus.sh OUT IMAGES
#
# IMAGES: a folder of the horse and bird training images, one sub-folder per class
# (IMAGES/horse/*.jpg, IMAGES/bird/*.jpg). Resumable.
set -euo pipefail
OUT=${1:?usage: runs/pegasus.sh OUT IMAGES}
IMAGES=${2:?usage: runs/pegasus.sh OUT IMAGES}
HERE=$(cd "$(dirname "$0")" && pwd)
DATASET="folder:$IMAGES"
FOLDER="$OUT/folder-$(basename "${IMAGES%/}")"

python -m gan.train --model=dcgan --depth=32 --dataset="$DATASET" --train_dir="$OUT" \
  --total_kimg=512 --report_kimg=64 --seed=1 --precision=float32
python -m acai.train --model=acai --dataset="$DATASET" --latent_width=4 --depth=16 \
  --latent=16 --train_dir="$OUT" --total_kimg=256 --seed=1 --precision=float32
python -m gan.pegasus --run="$FOLDER/DCGAN_depth32_n_critic1_z_dim100" \
  --ae_run="$FOLDER/ACAI_advdepth16_advweight0.5_depth16_latent16_reg0.2_scales3" \
  --classes=horse,bird --output="$OUT/pegasus"

python - "$OUT/pegasus/pegasus.json" <<'PY'
import json, sys
report = json.load(open(sys.argv[1]))
print("| images | best score | last kept | kept: FD, precision, realism, sharpness "
      "| unranked: the same |")
print("|---|---|---|---|---|")
def realism(r):
    keys = ("frechet_distance", "precision", "realism_score", "sharpness")
    return ", ".join(f"{r[k]:.3g}" for k in keys)
for entry in report.values():
    if isinstance(entry, dict) and "best_scores" in entry:
        scores = entry["best_scores"]
        print(f"| {entry['title']} | {scores[0]:.3f} | {scores[-1]:.3f} | "
              f"{realism(entry['best_realism'])} | {realism(entry['unranked_realism'])} |")
PY
