"""The paper's lines benchmark (Table 1): trains every autoencoder on lines32, then scores
its interpolations.

  acai-lines-benchmark --train_dir=experiments/lines --total_kimg=128

Each model trains with the reference's lines configuration (its runs/*.sh: dataset
lines32, depth 16, latent 16, latent_width 2 except the VQ-VAE's 4; its other flags at their
defaults) in its own `python -m acai.train` process. A model whose run already reached --total_kimg is not trained again, so the
benchmark can be stopped and restarted. Then every finished run is reloaded and scored
(mean distance and mean smoothness of 256 interpolations between test lines), and
TRAIN_DIR/lines_benchmark.md (the table, also printed) and TRAIN_DIR/lines_benchmark.png
(one interpolation between the same two test lines per model) are written.
"""

import glob
import json
import os
import subprocess
import sys
import time

import matplotlib
import numpy as np
from absl import flags

from acai import registry
from acai.lib import cli, evaluation, interpolate, progress

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (after choosing the backend)

ALL_MODELS = ("baseline", "denoising", "dropout", "vae", "aae", "vqvae", "acai")
# The reference's lines runs (runs/*.sh) train every model at latent_width 2 except the
# VQ-VAE (runs/vqvae.sh: --latent_width=4).
LATENT_WIDTH = dict.fromkeys(ALL_MODELS, 2) | {"vqvae": 4}
DATASET = "lines32"
# The pair of test lines (indices into the test split) of the interpolation figure.
FIGURE_PAIR = (0, 1)

FLAGS = flags.FLAGS
flags.DEFINE_string("train_dir", "./experiments", "Folder where the runs are stored, and "
                    "the table and figure are written.")
flags.DEFINE_integer("total_kimg", 1 << 14, "Training duration of each model in kimg.",
                     lower_bound=1)
flags.DEFINE_integer("report_kimg", 1 << 6, "Report and checkpoint every this many kimg.",
                     lower_bound=1)
flags.DEFINE_list("models", list(ALL_MODELS), "Models to train and compare, in order.")
flags.DEFINE_integer("seed", None, "Random seed of every run (default: random runs).")
flags.DEFINE_integer("batch", 64, "Batch size.", lower_bound=1)
flags.DEFINE_integer("depth", 16, "Depth of the first convolution (the paper's: 16).",
                     lower_bound=1)
flags.DEFINE_integer("latent", 16, "Latent depth (the paper's: 16).", lower_bound=1)
flags.DEFINE_integer("latent_width", None, "Latent width of every model (default: the "
                     "reference's, 2 and 4 for vqvae).", lower_bound=1)
flags.DEFINE_string("precision", "float32", "Passed to acai.train: float32 (the paper's "
                    "numbers), auto, mixed_float16 or mixed_bfloat16.")
flags.DEFINE_bool("train", True, "Train the unfinished models; --notrain only scores the "
                  "runs that are finished.")


def log(message):
    print(f"[lines_benchmark] {message}", flush=True)


def latent_width(model_name):
    return FLAGS.latent_width or LATENT_WIDTH[model_name]


def architecture(model_name):
    """The configuration entries a benchmark run of `model_name` must have."""
    wanted = dict(model=model_name, dataset=DATASET, batch=FLAGS.batch, depth=FLAGS.depth,
                  latent=FLAGS.latent, latent_width=latent_width(model_name),
                  seed=FLAGS.seed, classes=[])
    if FLAGS.precision != "auto":
        wanted["precision"] = FLAGS.precision
    return wanted


def find_run(model_name):
    """The run directory of `model_name` with this invocation's configuration, or None.

    Looks at the config.json of every run in TRAIN_DIR/lines32/; where several match (runs
    with other hyperparameters), the most recently started one.
    """
    wanted = architecture(model_name)
    found = []
    for path in glob.glob(os.path.join(FLAGS.train_dir, DATASET, "*", "config.json")):
        try:
            with open(path) as f:
                config = json.load(f)
        except (OSError, ValueError):
            continue
        if all(config.get(k) == v for k, v in wanted.items()):
            found.append((os.path.getmtime(path), os.path.dirname(path)))
    return max(found)[1] if found else None


def kimg_done(run_dir):
    """The kimg of the latest checkpoint of a run (0 if none)."""
    if run_dir is None:
        return 0
    path = os.path.join(run_dir, "ckpt", "checkpoint")
    try:
        with open(path) as f:
            for line in f:
                if line.startswith("model_checkpoint_path:"):
                    name = line.split(":", 1)[1].strip().strip('"')
                    return int(name.rsplit("-", 1)[1])
    except (OSError, ValueError, IndexError):
        pass
    return 0


def train_command(model_name):
    command = [sys.executable, "-m", "acai.train", f"--model={model_name}",
               f"--dataset={DATASET}", f"--latent_width={latent_width(model_name)}",
               f"--depth={FLAGS.depth}", f"--latent={FLAGS.latent}",
               f"--batch={FLAGS.batch}", f"--train_dir={FLAGS.train_dir}",
               f"--total_kimg={FLAGS.total_kimg}", f"--report_kimg={FLAGS.report_kimg}",
               f"--precision={FLAGS.precision}",
               # On a terminal, each model's run shows its progress line and ETA.
               "--verbose" if progress.on_terminal() else "--noverbose"]
    if FLAGS.seed is not None:
        command.append(f"--seed={FLAGS.seed}")
    return command


def train_all(models):
    """Trains every unfinished model; -> {model: run_dir} of the finished ones."""
    finished = {}
    for index, name in enumerate(models, 1):
        run_dir = find_run(name)
        done = kimg_done(run_dir)
        if done >= FLAGS.total_kimg:
            log(f"[{index}/{len(models)}] {name}: already trained (kimg={done} >= "
                f"total_kimg={FLAGS.total_kimg}), skipping training ({run_dir})")
            finished[name] = run_dir
            continue
        if not FLAGS.train:
            log(f"[{index}/{len(models)}] {name}: not finished (kimg={done}), --notrain")
            continue
        log(f"[{index}/{len(models)}] training {name} "
            f"({'from scratch' if not done else f'resuming at kimg={done}'}) "
            f"to total_kimg={FLAGS.total_kimg}")
        start = time.time()
        result = subprocess.run(train_command(name))
        if result.returncode != 0:
            log(f"{name}: acai.train failed (exit status {result.returncode}); "
                "left out of the table")
            continue
        run_dir = find_run(name)
        done = kimg_done(run_dir)
        if done < FLAGS.total_kimg:
            log(f"{name}: its run stopped at kimg={done}; left out of the table")
            continue
        log(f"{name}: trained in {time.time() - start:.0f}s ({run_dir})")
        finished[name] = run_dir
    return finished


def evaluate_all(finished):
    """-> ({model: (mean_distance, mean_smoothness)}, {model: (steps, H, W, C) images})."""
    scores, paths = {}, {}
    for name, run_dir in finished.items():
        log(f"scoring {name}")
        model, spec, _ = registry.load_run(run_dir)
        evaluator = evaluation.AutoEncoderEvaluation(model, spec)
        distance, smoothness = evaluator.lines_scores()
        scores[name] = (float(distance), float(smoothness))
        pair = evaluator.lines_pool[list(FIGURE_PAIR)]
        codes = evaluator._batched(evaluator._encode, pair)
        paths[name] = evaluator.decode_paths(
            interpolate.lerp(codes[:1], codes[1:], evaluation.GRID))[0]
    return scores, paths


def table(scores):
    rows = ["| Model | Mean distance (x10^-3) | Mean smoothness |",
            "|---|---:|---:|"]
    for name, (distance, smoothness) in scores.items():
        rows.append(f"| {name} | {1000 * distance:.2f} | {smoothness:.2f} |")
    return "\n".join(rows)


def write_table(scores, path):
    widths = ", ".join(f"{name} {latent_width(name)}" for name in scores)
    text = (f"# Lines benchmark ({DATASET}, depth={FLAGS.depth}, latent={FLAGS.latent}, "
            f"total_kimg={FLAGS.total_kimg}, precision={FLAGS.precision}, "
            f"seed={FLAGS.seed}; latent_width: {widths})\n\n"
            f"{table(scores)}\n\nLower is better for both, as in the paper's Table 1; a mean "
            "smoothness of nan: no interpolation had a defined smoothness score.\n")
    with open(path + ".tmp", "w") as f:
        f.write(text)
    os.replace(path + ".tmp", path)


def write_figure(paths, path):
    names = list(paths)
    steps = paths[names[0]].shape[0]
    fig, axes = plt.subplots(len(names), 1, figsize=(steps * 0.6, len(names) * 0.75 + 0.3),
                             squeeze=False)
    for ax, name in zip(axes[:, 0], names):
        images = paths[name]
        strip = np.concatenate(list(images[..., 0]), axis=1)
        ax.imshow(strip, cmap="gray", vmin=-1, vmax=1)
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_ylabel(name, rotation=0, ha="right", va="center")
    fig.suptitle(f"Interpolation between test lines {FIGURE_PAIR[0]} and {FIGURE_PAIR[1]}")
    fig.tight_layout()
    fig.savefig(path + ".tmp.png", dpi=100)
    plt.close(fig)
    os.replace(path + ".tmp.png", path)


def main():
    models = [name.strip() for name in FLAGS.models if name.strip()]
    unknown = [name for name in models if name not in ALL_MODELS]
    if unknown or not models:
        raise ValueError(f"--models: unknown {', '.join(unknown) or '(none)'}; valid: "
                         f"{', '.join(ALL_MODELS)}")
    os.makedirs(FLAGS.train_dir, exist_ok=True)
    finished = train_all(models)
    if not finished:
        raise ValueError("no model finished training")
    scores, paths = evaluate_all(finished)
    md = os.path.join(FLAGS.train_dir, "lines_benchmark.md")
    png = os.path.join(FLAGS.train_dir, "lines_benchmark.png")
    write_table(scores, md)
    write_figure(paths, png)
    print(table(scores), flush=True)
    log(f"wrote {md} and {png}")


def run(prog="acai-lines-benchmark"):
    cli.run(main, prog)


if __name__ == "__main__":
    run("acai.lines_benchmark")
