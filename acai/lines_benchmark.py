"""The paper's lines benchmark (Table 1): trains every autoencoder on lines32, then scores
its interpolations.

  acai-lines-benchmark --train_dir=experiments/lines --total_kimg=128

The models are the registry's autoencoders, in its order (the paper's Table 1), each
with the reference's lines configuration that its class declares (`LINES`: depth 16,
latent 16, latent_width 2, the VQ-VAE's 4; its other flags at their defaults), each in
its own `python -m acai.train` process. A model whose run already reached --total_kimg
is not trained again, so the benchmark can be stopped and restarted. Then every finished
run is reloaded and scored (mean distance and mean smoothness of 256 interpolations
between test lines), and TRAIN_DIR/lines_benchmark.md (the table, also printed) and
TRAIN_DIR/lines_benchmark.png (one interpolation between the same two test lines per
model) are written.
"""

import dataclasses
import os
import subprocess
import sys
import time
from typing import Optional, Sequence

import numpy as np
from absl import flags
from matplotlib.figure import Figure

from acai import registry
from acai.lib import checkpoint, cli, evaluation, progress
from acai.lib.errors import RunError
from acai.lib.files import save_figure, write_text
from acai.lib.paths import find_runs
from acai.lib.run import load_config

DATASET = "lines32"
# The pair of test lines (indices into the test split) of the interpolation figure.
FIGURE_PAIR = (0, 1)
FLAGS = flags.FLAGS


def lines_models():
    """{name: its declared lines configuration} of the models in the benchmark: the
    registry's models that declare one (the autoencoders), in the registry's order."""
    return {name: dict(cls.LINES) for name, cls in registry.models().items()
            if getattr(cls, "LINES", None)}


@dataclasses.dataclass
class Benchmark:
    """What a benchmark trains and scores; acai-lines-benchmark's flags have the same
    names. depth, latent, latent_width: None gives each model its declared value."""
    train_dir: str = "./experiments"
    total_kimg: int = 1 << 14
    report_kimg: int = 1 << 6
    models: Sequence[str] = ()
    seed: Optional[int] = None
    batch: int = 64
    depth: Optional[int] = None
    latent: Optional[int] = None
    latent_width: Optional[int] = None
    precision: str = "float32"
    train: bool = True

    def architecture(self, model_name):
        """{depth, latent, latent_width} of `model_name` in this benchmark."""
        declared = lines_models()[model_name]
        return {name: getattr(self, name) or declared[name]
                for name in ("depth", "latent", "latent_width")}


def define_flags():
    """The binary's flags (defined when it runs)."""
    defaults = Benchmark()
    flags.DEFINE_string("train_dir", defaults.train_dir, "Folder where the runs are "
                        "stored, and the table and figure are written.")
    flags.DEFINE_integer("total_kimg", defaults.total_kimg, "Training duration of each "
                         "model in kimg.", lower_bound=1)
    flags.DEFINE_integer("report_kimg", defaults.report_kimg, "Report and checkpoint "
                         "every this many kimg.", lower_bound=1)
    flags.DEFINE_list("models", list(lines_models()), "Models to train and compare, in "
                      "order.")
    flags.DEFINE_integer("seed", None, "Random seed of every run (default: random runs).")
    flags.DEFINE_integer("batch", defaults.batch, "Batch size.", lower_bound=1)
    flags.DEFINE_integer("depth", None, "Depth of the first convolution of every model "
                         "(default: each model's lines configuration, the paper's 16).",
                         lower_bound=1)
    flags.DEFINE_integer("latent", None, "Latent depth of every model (default: each "
                         "model's lines configuration, the paper's 16).", lower_bound=1)
    flags.DEFINE_integer("latent_width", None, "Latent width of every model (default: "
                         "each model's lines configuration, 2 and 4 for vqvae).",
                         lower_bound=1)
    flags.DEFINE_string("precision", defaults.precision, "Passed to acai.train: float32 "
                        "(the paper's numbers), auto, mixed_float16 or mixed_bfloat16.")
    flags.DEFINE_bool("train", defaults.train, "Train the unfinished models; --notrain "
                      "only scores the runs that are finished.")


def log(message):
    print(f"[lines_benchmark] {message}", flush=True)


def wanted_config(bench, model_name):
    """The configuration entries a benchmark run of `model_name` must have."""
    wanted = dict(model=model_name, dataset=DATASET, batch=bench.batch, seed=bench.seed,
                  classes=[], **bench.architecture(model_name))
    if bench.precision != "auto":
        wanted["precision"] = bench.precision
    return wanted


def find_run(bench, model_name):
    """The run directory of `model_name` with this benchmark's configuration, or None.

    Looks at the config.json of every run in TRAIN_DIR/lines32/; where several match (runs
    with other hyperparameters), the most recently started one.
    """
    wanted = wanted_config(bench, model_name)
    found = []
    for paths in find_runs(bench.train_dir, DATASET):
        try:
            config = load_config(paths.path)
        except RunError:  # Damaged: not a run of this benchmark.
            continue
        if all(config.get(k) == v for k, v in wanted.items()):
            found.append((os.path.getmtime(paths.config_path), paths.path))
    return max(found)[1] if found else None


def kimg_done(run_dir):
    return 0 if run_dir is None else checkpoint.kimg_done(run_dir)


def train_command(bench, model_name):
    architecture = bench.architecture(model_name)
    command = [sys.executable, "-m", "acai.train", f"--model={model_name}",
               f"--dataset={DATASET}", *(f"--{k}={v}" for k, v in architecture.items()),
               f"--batch={bench.batch}", f"--train_dir={bench.train_dir}",
               f"--total_kimg={bench.total_kimg}", f"--report_kimg={bench.report_kimg}",
               f"--precision={bench.precision}",
               # On a terminal, each model's run shows its progress line and ETA.
               "--verbose" if progress.on_terminal() else "--noverbose"]
    if bench.seed is not None:
        command.append(f"--seed={bench.seed}")
    return command


def train_all(bench, models):
    """Trains every unfinished model; -> {model: run_dir} of the finished ones."""
    finished = {}
    for index, name in enumerate(models, 1):
        run_dir = find_run(bench, name)
        done = kimg_done(run_dir)
        if done >= bench.total_kimg:
            log(f"[{index}/{len(models)}] {name}: already trained (kimg={done} >= "
                f"total_kimg={bench.total_kimg}), skipping training ({run_dir})")
            finished[name] = run_dir
            continue
        if not bench.train:
            log(f"[{index}/{len(models)}] {name}: not finished (kimg={done}), --notrain")
            continue
        log(f"[{index}/{len(models)}] training {name} "
            f"({'from scratch' if not done else f'resuming at kimg={done}'}) "
            f"to total_kimg={bench.total_kimg}")
        start = time.time()
        result = subprocess.run(train_command(bench, name))
        if result.returncode != 0:
            log(f"{name}: acai.train failed (exit status {result.returncode}); "
                "left out of the table")
            continue
        run_dir = find_run(bench, name)
        done = kimg_done(run_dir)
        if done < bench.total_kimg:
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
        a, b = FIGURE_PAIR
        paths[name] = evaluator.interpolations(evaluator.lines_pool[a:a + 1],
                                               evaluator.lines_pool[b:b + 1])[0]
    return scores, paths


def table(scores):
    rows = ["| Model | Mean distance (x10^-3) | Mean smoothness |",
            "|---|---:|---:|"]
    for name, (distance, smoothness) in scores.items():
        rows.append(f"| {name} | {1000 * distance:.2f} | {smoothness:.2f} |")
    return "\n".join(rows)


def write_table(bench, scores, path):
    architectures = ", ".join(
        f"{name} {'/'.join(str(v) for v in bench.architecture(name).values())}"
        for name in scores)
    text = (f"# Lines benchmark ({DATASET}, total_kimg={bench.total_kimg}, "
            f"precision={bench.precision}, seed={bench.seed}; depth/latent/latent_width: "
            f"{architectures})\n\n"
            f"{table(scores)}\n\nLower is better for both, as in the paper's Table 1; a mean "
            "smoothness of nan: no interpolation had a defined smoothness score.\n")
    write_text(text, path)


def interpolation_figure(paths):
    """A Figure of one interpolation per model ({name: (steps, H, W, 1) images}), a row
    each."""
    names = list(paths)
    steps = paths[names[0]].shape[0]
    fig = Figure(figsize=(steps * 0.6, len(names) * 0.75 + 0.3))
    axes = fig.subplots(len(names), 1, squeeze=False)
    for ax, name in zip(axes[:, 0], names):
        strip = np.concatenate(list(paths[name][..., 0]), axis=1)
        ax.imshow(strip, cmap="gray", vmin=-1, vmax=1)
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_ylabel(name, rotation=0, ha="right", va="center")
    fig.suptitle(f"Interpolation between test lines {FIGURE_PAIR[0]} and {FIGURE_PAIR[1]}")
    fig.tight_layout()
    return fig


def benchmark(bench):
    """Trains (unless bench.train is False) and scores the models of `bench` (a
    Benchmark); writes the table and figure; -> {model: (distance, smoothness)}."""
    known = lines_models()
    models = [name.strip() for name in (bench.models or known) if name.strip()]
    unknown = [name for name in models if name not in known]
    if unknown or not models:
        raise ValueError(f"--models: unknown {', '.join(unknown) or '(none)'}; valid: "
                         f"{', '.join(known)}")
    os.makedirs(bench.train_dir, exist_ok=True)
    finished = train_all(bench, models)
    if not finished:
        raise ValueError("no model finished training")
    scores, paths = evaluate_all(finished)
    md = os.path.join(bench.train_dir, "lines_benchmark.md")
    png = os.path.join(bench.train_dir, "lines_benchmark.png")
    write_table(bench, scores, md)
    save_figure(interpolation_figure(paths), png, dpi=100)
    print(table(scores), flush=True)
    log(f"wrote {md} and {png}")
    return scores


def main():
    benchmark(Benchmark(**{field.name: FLAGS[field.name].value
                           for field in dataclasses.fields(Benchmark)}))


def run(prog="acai-lines-benchmark"):
    cli.launch(main, prog, define_flags, FLAGS)


if __name__ == "__main__":
    run("acai.lines_benchmark")
