"""What fusing convolution, bias and leaky ReLU gains: the ACAI step with the toolkit's
activation (acai.lib.layers.leaky_relu, its gradient read from its output, which grappler
fuses into the convolution) against the same step with Keras' "leaky_relu" (whose
gradient reads its input, so that the fusion fails: "remapper failed ... LeakyReluGrad").

  python benchmarks/leaky_fusion.py [--model=acai] [--rounds=8] [--steps=30]

Both models start from the same weights and run the same batches (the lines
configuration, batch 64, float32): tf.function(model.train_step) over 32 cached batches,
alternating `--steps` steps of each for `--rounds` rounds in one process. Printed: each
one's median img/s and CPU ms per step, the ratio in the same round, and the LeakyRelu
kernels each step runs (from a tf.profiler trace of 3 steps).
"""

import os
import statistics
import sys
import tempfile

import keras
import tensorflow as tf

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
sys.path.insert(0, HERE)

import peers  # noqa: E402
import peers_nets  # noqa: E402
import step_profile  # noqa: E402
from acai.lib import layers  # noqa: E402


def keras_activation_model(name):
    """The toolkit model with Keras' own leaky ReLU in every hidden convolution."""
    ours = layers.leaky_relu
    layers.leaky_relu = keras.activations.leaky_relu  # What conv() reads when it builds.
    try:
        return peers.toolkit_model(name)[0]
    finally:
        layers.leaky_relu = ours


def main(argv):
    options = peers.parse("leaky_fusion.py", argv, model="acai", rounds="8", steps="30")
    name, steps = options["model"], int(options["steps"])
    print(f"CPU: {peers.cpu_line()}")
    print(peers_nets.versions())
    fused = peers.toolkit_model(name)[0]
    unfused = keras_activation_model(name)
    unfused.set_weights(fused.get_weights())
    batches = [tuple(tf.constant(t) for t in batch) for batch in peers_nets.batches(64)]
    steps_of = {"fused (toolkit)": tf.function(fused.train_step),
                "Keras' leaky_relu": tf.function(unfused.train_step)}
    counter = [0]

    def run(step, count):
        for _ in range(count):
            out = step(batches[counter[0] % len(batches)])
            counter[0] += 1
        float(out["loss_ae"])

    for step in steps_of.values():
        run(step, 5)
    found = {variant: [] for variant in steps_of}
    clock = peers.Clock()
    for number in range(int(options["rounds"])):
        for variant, step in steps_of.items():
            clock.start()
            run(step, steps)
            seconds, cpu = clock.read()
            found[variant].append((steps * 64 / seconds, cpu * 1000 / steps))
        print(f"round {number + 1}: " + ", ".join(
            f"{v} {found[v][-1][0]:.1f} img/s" for v in found), file=sys.stderr, flush=True)
    print(f"\n{name}, batch 64, float32; {options['rounds']} rounds of {steps} steps, "
          "alternating in one process")
    print("| activation | img/s per round | median img/s | CPU ms/step (median) | "
          "LeakyRelu kernels a step |")
    print("|---|---|---|---|---|")
    for variant, step in steps_of.items():
        with tempfile.TemporaryDirectory() as folder:
            ops = step_profile.trace(lambda count, step=step: run(step, count), 3, folder)
        results = found[variant]
        print(f"| {variant} | {', '.join(f'{s:.0f}' for s, _ in results)} | "
              f"{statistics.median(s for s, _ in results):.1f} | "
              f"{statistics.median(c for _, c in results):.1f} | "
              f"{ops.get('LeakyRelu', (0, 0))[1] / 3:.0f} |")
    (first, second) = found.values()
    print("fused / Keras', same round: img/s "
          f"{statistics.median(a[0] / b[0] for a, b in zip(first, second)):.3f}, CPU time "
          f"{statistics.median(b[1] / a[1] for a, b in zip(first, second)):.3f} (median)")


if __name__ == "__main__":
    main(sys.argv[1:])
