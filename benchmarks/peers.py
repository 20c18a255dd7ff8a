"""The toolkit's train step against the same step written by hand, in TensorFlow and in the
peers a student would reach for: PyTorch (eager, torch.compile) and JAX (jit).

  python benchmarks/peers.py [--models=acai,baseline,dcgan] [--rounds=3] [--steps=100]

The autoencoders are the paper's lines configuration (32x32x1 lines, latent_width 2,
depth 16, latent 16, batch 64, float32, Adam at 1e-4; the latent probe of the 10 classes
trained beside it, as the toolkit does): `acai` (autoencoder + critic, the paper's
equations) and `baseline` (the autoencoder alone). `dcgan` is the toolkit's DCGAN at its
defaults on 32x32x3 images, batch 64 (peers_gan.py: a D step, then a G step). The variants:

  toolkit        model.fit with a run's own callbacks (acai.lib.callbacks: Reports over an
                 empty report, StopOnSignal): what acai-train runs between two reports
  tf             a bare tf.function step over the same Keras networks and losses
  torch          the same networks and losses in PyTorch, eager
  torch_compile  the same, torch.compile'd
  jax            the same in JAX, jax.jit'ed (hand-written Adam)

Before timing, every variant starts from the toolkit's initial weights and computes its
losses on one fixed batch (and fixed mixing coefficients alpha, or fixed z): its
parameter count and losses must equal the toolkit's (losses to 1e-4 relative), or the
variant is marked WRONG. Timing: each variant in its own process, `--warmup` untimed
steps then `--steps` timed ones, the variants in turn within a round and `--rounds`
rounds; reported are
each variant's median img/s, its spread (min-max), its ratio to the toolkit's in the same
round (median of the rounds' ratios), and the CPU time its process spent per step
(median; every thread's, TensorFlow's, PyTorch's or XLA's): on a shared or virtual
machine the wall clock also counts the cores the host withheld, the CPU time only the
work done. A peer whose package is not installed is
listed as such: `pip install -e '.[bench]'` installs them. Printed first: the CPU, its
speed-relevant flags, and the threads each runtime uses.
"""

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
sys.path.insert(0, HERE)

import peers_gan  # noqa: E402
import peers_nets  # noqa: E402

VARIANTS = ("toolkit", "tf", "torch", "torch_compile", "jax")
MODELS = ("acai", "baseline", "dcgan")
CONFIG = dict(latent_width=2, depth=16, latent=16, seed=0)
BATCH = 64
CPU_FLAGS = ("avx2", "avx512f", "avx512_bf16", "amx_bf16", "amx_tile", "fma")


def cpu_line():
    """'CPU model: flags' from /proc/cpuinfo (the speed-relevant ones)."""
    model, flags = "unknown CPU", set()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name") and model == "unknown CPU":
                    model = line.split(":", 1)[1].strip()
                if line.startswith("flags"):
                    flags = set(line.split(":", 1)[1].split())
    except OSError:
        pass
    present = [flag for flag in CPU_FLAGS if flag in flags]
    return f"{model}, {os.cpu_count()} cores; {' '.join(present) or 'no AVX2'}"


def installed(variant):
    """Whether the package a variant needs imports."""
    package = {"torch": "torch", "torch_compile": "torch", "jax": "jax"}.get(variant)
    if package is None:
        return True
    try:
        __import__(package)
        return True
    except ImportError:
        return False


# --- The fixture every variant starts from (written by the parent) ---------------------
def toolkit_model(name):
    from acai import registry
    from acai.lib import data
    spec = data.get_dataset("lines32")
    model = registry.build(name, spec, dict(CONFIG, lr=1e-4))
    model.compile()
    return model, spec


def write_fixture(path, name):
    """The toolkit model's initial weights, a batch with labels, alpha (the DCGAN: a batch
    and two z), the toolkit's losses there and its parameter count, into `path` (.npz)."""
    import tensorflow as tf
    if name == "dcgan":
        fix = peers_gan.fixture(peers_gan.toolkit_model())
        weights, losses = fix.pop("weights"), fix.pop("losses")
        np.savez(path, losses=json.dumps(losses), **fix,
                 **{f"w{i}": w for i, w in enumerate(weights)})
        return
    model, spec = toolkit_model(name)
    x, label = next(iter(spec.train(BATCH, seed=1)))
    alpha = np.random.default_rng(0).uniform(0, 0.5, BATCH).astype(np.float32)
    weights = peers_nets.toolkit_weights(model)
    losses = peers_nets.tf_losses(peers_nets.tf_networks(model), name, x, label,
                                  tf.constant(alpha), model.reg if name == "acai" else 0)
    # The toolkit's own forward pass gives the same losses (its alpha drawn as `alpha`:
    # 0.5 - |u - 0.5| = u for u in [0, 0.5]).
    import keras
    draw = keras.random.uniform
    keras.random.uniform = lambda shape, **kwargs: tf.reshape(tf.constant(alpha), shape)
    try:
        own = model.forward(x, training=True)
    finally:
        keras.random.uniform = draw
    for key in own:
        if key in losses and abs(float(own[key]) - float(losses[key])) > 1e-5:
            raise SystemExit(f"peers.py: the bare step's {key} {float(losses[key])} is not "
                             f"the toolkit's {float(own[key])}")
    np.savez(path, x=x.numpy(), label=label.numpy(), alpha=alpha,
             params=peers_nets.param_count(model),
             losses=json.dumps({k: float(v) for k, v in losses.items()}),
             **{f"w{i}": w for i, w in enumerate(weights)})


def read_fixture(path):
    f = np.load(path)
    weights = [f[f"w{i}"] for i in range(len([k for k in f.files if k.startswith("w")]))]
    fix = {k: f[k] for k in f.files if not k.startswith("w")}
    return dict(fix, params=int(f["params"]), losses=json.loads(str(f["losses"])),
                weights=weights)


# --- One variant, in its own process ----------------------------------------------------
def run_child(variant, name, fixture, steps, warmup):
    """Checks the variant's losses and times it; -> a dict printed as JSON."""
    fix = read_fixture(fixture)
    if variant == "toolkit":
        speed, cpu, losses, params, threads = toolkit_variant(name, fix, steps, warmup)
        return dict(img_per_sec=speed, cpu_ms=cpu, losses=losses, params=params,
                    threads=threads)
    if variant == "tf":
        step, losses, params, threads = bare_tf_step(name, fix)
    elif name == "dcgan":
        make = {"torch": peers_gan.torch_variant, "jax": peers_gan.jax_variant,
                "torch_compile": peers_gan.torch_compile_variant}[variant]
        step, losses, params, threads = make(fix, peers_gan.images(BATCH))
    else:  # The lines, as numpy, from the toolkit's pipeline.
        make = {"torch": peers_nets.torch_variant, "jax": peers_nets.jax_variant,
                "torch_compile": peers_nets.torch_compile_variant}[variant]
        step, losses, params, threads = make(name, fix, peers_nets.batches(BATCH))
    for i in range(warmup):
        step(i)
    clock = Clock()
    clock.start()
    for i in range(steps):
        step(warmup + i)
    seconds, cpu = clock.read()
    return dict(img_per_sec=steps * BATCH / seconds, cpu_ms=cpu * 1000 / steps,
                losses=losses, params=params, threads=threads)


def toolkit_fit(name, fix):
    """The toolkit's model at the fixture's weights and fit(steps, epochs, callbacks):
    model.fit with a run's callbacks (an empty report), then `callbacks`, for `epochs` of
    `steps` steps over the lines pipeline, or for the DCGAN over noise batches, as
    acai-train calls it once for a run. -> (fit, losses, params)."""
    import tensorflow as tf
    from acai.lib import callbacks, report
    if name == "dcgan":
        model = peers_gan.toolkit_model()
        peers_gan.set_toolkit_weights(model, fix["weights"])
        losses = peers_gan.toolkit_losses(model, fix["x"], fix["z_disc"], fix["z_gen"])
        params = sum(peers_gan.trainable_count(peers_gan.layer_weights(net))
                     for net in (model.generator, model.discriminator))
        data = tf.data.Dataset.from_tensor_slices(
            np.stack([x for x, in peers_gan.images(BATCH)])).repeat()
    else:
        model, spec = toolkit_model(name)
        peers_nets.set_toolkit_weights(model, fix["weights"])
        losses = peers_nets.tf_losses(
            peers_nets.tf_networks(model), name, tf.constant(fix["x"]),
            tf.constant(fix["label"]), tf.constant(fix["alpha"]),
            model.reg if name == "acai" else 0)
        losses = {k: float(v) for k, v in losses.items()}
        params = peers_nets.param_count(model)
        data = spec.train(BATCH, seed=0)

    def fit(steps, epochs=1, extra=()):
        nimg = tf.Variable(0, dtype=tf.int64)
        reports = callbacks.Reports(nimg, BATCH, 1 << 20, 1 << 20, report.Pipeline())
        model.fit(data, epochs=epochs, steps_per_epoch=steps, verbose=0, shuffle=False,
                  callbacks=[reports, callbacks.StopOnSignal(), *extra])

    return fit, losses, params


class Clock:
    """Wall and CPU seconds (every thread's) since `start`."""

    def start(self):
        self.wall, self.cpu = time.perf_counter(), time.process_time()

    def read(self):
        return time.perf_counter() - self.wall, time.process_time() - self.cpu


def after_warmup(warmup, clock):
    """A Keras callback that starts `clock` as batch `warmup` begins, so that one fit call
    times its steps after the warm-up ones (fit's own set-up left out, as a run pays it
    once)."""
    import keras

    class Start(keras.callbacks.Callback):
        def on_train_batch_begin(self, batch, logs=None):
            if batch == warmup:
                clock.start()

    return Start()


def tf_threads():
    import tensorflow as tf
    return (f"TF intra {tf.config.threading.get_intra_op_parallelism_threads()} "
            f"inter {tf.config.threading.get_inter_op_parallelism_threads()} (0: all)")


def toolkit_variant(name, fix, steps, warmup):
    """-> (img/s, CPU ms per step, losses, params, threads) of toolkit_fit's fit."""
    fit, losses, params = toolkit_fit(name, fix)
    clock = Clock()
    fit(warmup + steps, extra=[after_warmup(warmup, clock)])
    seconds, cpu = clock.read()
    return steps * BATCH / seconds, cpu * 1000 / steps, losses, params, tf_threads()


def bare_tf_step(name, fix):
    """The bare TensorFlow variant: -> (step(i), losses, params, threads)."""
    if name == "dcgan":
        return peers_gan.tf_variant(fix, peers_gan.images(BATCH))
    return peers_nets.tf_variant(name, fix, peers_nets.batches(BATCH))


# --- The parent: fixture, rounds, table -------------------------------------------------
def child(variant, name, fixture, steps, warmup):
    command = [sys.executable, os.path.abspath(__file__), "--child", variant, name, fixture,
               str(steps), str(warmup)]
    result = subprocess.run(command, capture_output=True, text=True)
    for line in result.stdout.splitlines():
        if line.startswith("{"):
            return json.loads(line)
    return dict(error=(result.stderr.strip().splitlines() or ["no output"])[-1])


def check(result, fix):
    """'' if the variant's parameter count and losses are the toolkit's, else why not."""
    if result["params"] != fix["params"]:
        return f"WRONG: {result['params']} parameters, the toolkit {fix['params']}"
    for key, value in fix["losses"].items():
        theirs = result["losses"].get(key)
        if theirs is None or abs(theirs - value) > 1e-4 * max(1.0, abs(value)):
            return f"WRONG: {key} {theirs} vs the toolkit's {value}"
    return ""


def compare(name, rounds, steps, warmup, variants):
    with tempfile.TemporaryDirectory() as folder:
        fixture = os.path.join(folder, f"{name}.npz")
        write_fixture(fixture, name)
        fix = read_fixture(fixture)
        runs = {v: [] for v in variants if installed(v)}
        for number in range(1, rounds + 1):
            for variant in runs:
                result = child(variant, name, fixture, steps, warmup)
                runs[variant].append(result)
                # Progress on stderr: a round of five variants takes minutes.
                print(f"{name} round {number}/{rounds}: {variant} "
                      + (f"{result['img_per_sec']:.1f} img/s, CPU {result['cpu_ms']:.0f} "
                         "ms/step" if "img_per_sec" in result
                         else result.get("error", "?")), file=sys.stderr, flush=True)
    print(f"\n{name}: {fix['params']:,} parameters, batch {BATCH}, float32, "
          f"{rounds} rounds of {steps} steps after {warmup}; losses at the start "
          + ", ".join(f"{k} {v:.5g}" for k, v in fix["losses"].items()))
    print("| variant | img/s per round | median | spread | vs the toolkit, same round "
          "| CPU ms/step | vs the toolkit in CPU time | check | threads |")
    print("|---|---|---|---|---|---|---|---|---|")
    base = [r.get("img_per_sec") for r in runs.get("toolkit", [])]
    base_cpu = [r.get("cpu_ms") for r in runs.get("toolkit", [])]
    for variant in variants:
        if variant not in runs:
            print(f"| {variant} | not installed | | | | | | | |")
            continue
        results = runs[variant]
        errors = [r["error"] for r in results if "error" in r]
        if errors:
            print(f"| {variant} | failed: {errors[0][:120]} | | | | | | | |")
            continue
        speeds = [r["img_per_sec"] for r in results]
        cpu = [r["cpu_ms"] for r in results]
        # Ratios > 1: the variant is faster (more images per second, less CPU per step).
        ratios = [s / b for s, b in zip(speeds, base) if b]
        cpu_ratios = [b / c for c, b in zip(cpu, base_cpu) if b and c]
        print(f"| {variant} | {', '.join(f'{s:.1f}' for s in speeds)} | "
              f"{statistics.median(speeds):.1f} | {min(speeds):.1f}-{max(speeds):.1f} | "
              f"{median_of(ratios)} | {statistics.median(cpu):.0f} | {median_of(cpu_ratios)} "
              f"| {check(results[0], fix) or 'same'} | {results[0]['threads']} |")


def median_of(ratios):
    """'median (each round's)' of a variant's ratios to the toolkit, '' without any."""
    if not ratios:
        return ""
    return (f"{statistics.median(ratios):.2f} "
            f"({', '.join(f'{r:.2f}' for r in ratios)})")


def parse(prog, argv, **defaults):
    """The --key=value flags of the benchmarks beside this one: {key: value (str)}, the
    defaults for those not given; an unknown flag exits naming the known ones."""
    options = dict(defaults)
    for arg in argv:
        key, _, value = arg.lstrip("-").partition("=")
        if key not in options:
            sys.exit(f"{prog}: unknown flag {arg}; flags: "
                     + ", ".join(f"--{k}" for k in options))
        options[key] = value
    return options


def main(argv):
    if argv[:1] == ["--child"]:
        variant, name, fixture, steps, warmup = argv[1:6]
        print(json.dumps(run_child(variant, name, fixture, int(steps), int(warmup))))
        return
    options = parse("peers.py", argv, models=",".join(MODELS), rounds="3", steps="100",
                    warmup="20", variants=",".join(VARIANTS))
    print(f"CPU: {cpu_line()}")
    print(peers_nets.versions())
    for name in options["models"].split(","):
        compare(name, int(options["rounds"]), int(options["steps"]), int(options["warmup"]),
                options["variants"].split(","))


if __name__ == "__main__":
    main(sys.argv[1:])
