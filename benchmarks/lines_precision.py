"""Does bfloat16 cost the lines metrics anything? float32 and mixed_bfloat16 runs side by side.

  python benchmarks/lines_precision.py --train_dir=experiments/t512 [--kimg=128,512]

Reads every lines32 run below --train_dir (their config.json and metrics.jsonl, as
`acai-lines-benchmark --precision=... --seed=...` leaves them), groups them by model and
precision, and prints, for each model that has a mixed_bfloat16 run and each --kimg, the
mean distance and mean smoothness of every seed in each precision, the float32 seeds'
range, and whether each bfloat16 figure lies inside that range (the float32 seed
spread). Runs that have not reached a kimg yet are left out of its row.
"""

import os
import sys

from absl import app, flags

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from acai.lib.paths import find_runs  # noqa: E402
from acai.lib.run import load_config, read_metrics  # noqa: E402

flags.DEFINE_string("train_dir", "./experiments", "Folder searched for lines32 runs.")
flags.DEFINE_list("kimg", ["128", "512"], "The kimg to compare at.")
FLAGS = flags.FLAGS

METRICS = (("mean_distance", 1e3, "distance x1e-3"), ("mean_smoothness", 1.0, "smoothness"))


def runs(train_dir):
    """{(model, precision): {seed: {kimg: metrics}}} of the lines32 runs below train_dir."""
    found = {}
    for paths in find_runs(train_dir, "lines32", deep=True):
        config = load_config(paths.path)
        reports = {row["kimg"]: row for row in read_metrics(paths.path)}
        if not reports:
            continue
        key = (config["model"], config.get("precision", "float32"))
        found.setdefault(key, {})[config.get("seed")] = reports
    return found


def compare(found, kimgs):
    """Markdown rows: model, kimg, metric, float32 figures, range, bfloat16 figures, inside."""
    lines = ["| model | kimg | metric | float32 (seeds) | float32 range | mixed_bfloat16 "
             "(seeds) | bf16 inside the range |", "|---|---|---|---|---|---|---|"]
    for model in sorted({model for model, precision in found if precision != "float32"}):
        for kimg in kimgs:
            for name, scale, label in METRICS:
                figures = {}
                for precision in ("float32", "mixed_bfloat16"):
                    seeds = found.get((model, precision), {})
                    figures[precision] = {seed: reports[kimg][name] * scale
                                          for seed, reports in sorted(seeds.items())
                                          if kimg in reports}
                f32, bf16 = figures["float32"], figures["mixed_bfloat16"]
                if not f32 and not bf16:
                    continue
                low, high = (min(f32.values()), max(f32.values())) if f32 else (None, None)
                inside = ("" if low is None or not bf16 else
                          ", ".join("yes" if low <= v <= high else "no" for v in bf16.values()))

                def show(values):
                    return ", ".join(f"{v:.3g} (s{seed})" for seed, v in values.items())
                span = "" if low is None else f"{low:.3g} to {high:.3g}"
                lines.append(f"| {model} | {kimg} | {label} | {show(f32)} | {span} | "
                             f"{show(bf16)} | {inside} |")
    return "\n".join(lines)


def main(argv):
    del argv
    found = runs(FLAGS.train_dir)
    if not found:
        sys.exit(f"no lines32 run with metrics below {FLAGS.train_dir}")
    print(compare(found, [int(k) for k in FLAGS.kimg]))


if __name__ == "__main__":
    app.run(main)
