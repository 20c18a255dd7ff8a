"""Where the toolkit's train step spends beyond a bare TensorFlow step of the same networks:
both timed in one process, alternately, then each traced with the TensorFlow profiler.

  python benchmarks/step_profile.py [--model=acai|baseline|dcgan] [--rounds=8]
                                    [--steps=30] [--trace_steps=10] [--trace_dir=DIR]

The two steps are benchmarks/peers.py's `toolkit` (model.fit with a run's callbacks) and
`tf` (a hand-written tf.function step over the toolkit's Keras networks), from the same
weights; their losses at the start are checked equal first. Timing, in one process so
that both see the same machine: one fit call of --rounds + 1 epochs of --steps steps, as
acai-train makes one for a run; after each epoch but the first (the warm-up), a callback
runs --steps bare steps. Printed are each one's median img/s and CPU time per step (every
thread's) and the toolkit's ratio to the bare step in the same round. Profile:
--trace_steps steps of each under tf.profiler, the kernels' time summed by op type per
step, side by side; then the ops only one of them runs. The traces stay in --trace_dir
(TensorBoard's profile plugin reads them), a temporary folder by default.
"""

import collections
import glob
import os
import statistics
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
sys.path.insert(0, HERE)

import peers  # noqa: E402


def op_times(trace_dir):
    """{op type: (milliseconds, count)} of the kernels of the newest trace in `trace_dir`:
    the events of TensorFlow's executor threads, named 'node:OpType'."""
    from tensorflow.tsl.profiler.protobuf import xplane_pb2
    path = sorted(glob.glob(os.path.join(trace_dir, "**", "*.xplane.pb"), recursive=True))[-1]
    space = xplane_pb2.XSpace()
    with open(path, "rb") as f:
        space.ParseFromString(f.read())
    times, counts = collections.Counter(), collections.Counter()
    for plane in space.planes:
        if plane.name != "/host:CPU":
            continue
        for line in plane.lines:
            if not line.name.startswith("tf_Compute"):
                continue
            for event in line.events:
                name = plane.event_metadata[event.metadata_id].name
                if ":" in name:
                    op = name.rsplit(":", 1)[1]
                    times[op] += event.duration_ps / 1e9
                    counts[op] += 1
    # The executor's own event encloses its kernels': not an op.
    return {op: (times[op], counts[op]) for op in times if op != "Process"}


def trace(run, steps, folder):
    import tensorflow as tf
    tf.profiler.experimental.start(folder)
    run(steps)
    tf.profiler.experimental.stop()
    return op_times(folder)


def alternate(bare, steps, found):
    """A Keras callback timing each epoch of fit after the first (the warm-up), then
    `bare(steps)` after it: {'toolkit': [(img/s, CPU ms/step)], 'bare': [...]} into
    `found`. One fit call, as a run makes: its set-up is not in the rounds."""
    import keras
    clock = peers.Clock()

    def record(variant):
        seconds, cpu = clock.read()
        found[variant].append((steps * peers.BATCH / seconds, cpu * 1000 / steps))

    class Alternate(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            clock.start()

        def on_epoch_end(self, epoch, logs=None):
            if epoch == 0:
                return
            record("toolkit")
            clock.start()
            bare(steps)
            record("bare")
            print(f"round {epoch}: " + ", ".join(
                f"{v} {found[v][-1][0]:.1f} img/s" for v in found), file=sys.stderr,
                flush=True)

    return Alternate()


def main(argv):
    options = peers.parse("step_profile.py", argv, model="acai", rounds="8", steps="30",
                          trace_steps="10", trace_dir="")
    name, steps = options["model"], int(options["steps"])
    print(f"CPU: {peers.cpu_line()}")
    print(peers.peers_nets.versions())
    folder = options["trace_dir"] or tempfile.mkdtemp(prefix="step_profile_")
    fixture = os.path.join(folder, f"{name}.npz")
    os.makedirs(folder, exist_ok=True)
    peers.write_fixture(fixture, name)
    fix = peers.read_fixture(fixture)
    fit, losses, _ = peers.toolkit_fit(name, fix)
    step, bare_losses, _, threads = peers.bare_tf_step(name, fix)
    for key, value in losses.items():
        if abs(bare_losses[key] - value) > 1e-4 * max(1.0, abs(value)):
            sys.exit(f"step_profile.py: the bare step's {key} {bare_losses[key]} is not "
                     f"the toolkit's {value}")
    counter = [0]

    def bare(steps):
        for _ in range(steps):
            step(counter[0])
            counter[0] += 1
        step(0)  # Ends with a sync point (its loss read), as fit's epoch does.

    for _ in range(5):
        step(0)  # Tracing and warm-up.
    found = {"toolkit": [], "bare": []}
    fit(steps, epochs=int(options["rounds"]) + 1, extra=[alternate(bare, steps, found)])
    print(f"\n{name}, batch {peers.BATCH}, float32, {threads}; {options['rounds']} rounds "
          f"of {steps} steps, alternating in one process")
    print("| step | img/s per round | median img/s | CPU ms/step (median) |")
    print("|---|---|---|---|")
    for variant, results in found.items():
        print(f"| {variant} | {', '.join(f'{s:.0f}' for s, _ in results)} | "
              f"{statistics.median(s for s, _ in results):.1f} | "
              f"{statistics.median(c for _, c in results):.1f} |")
    speed = [t[0] / b[0] for t, b in zip(found["toolkit"], found["bare"])]
    cpu = [b[1] / t[1] for t, b in zip(found["toolkit"], found["bare"])]
    print(f"toolkit / bare, same round: img/s {statistics.median(speed):.3f} (median), "
          f"CPU time {statistics.median(cpu):.3f} (bare's CPU per step / the toolkit's)")

    trace_steps = int(options["trace_steps"])
    runs = {"toolkit": fit, "bare": bare}
    ops = {variant: trace(run, trace_steps, os.path.join(folder, variant))
           for variant, run in runs.items()}
    print(f"\nKernel time per step by op type ({trace_steps} traced steps each; "
          f"traces in {folder})")
    print("| op | toolkit ms | bare ms | toolkit - bare ms | toolkit count | bare count |")
    print("|---|---|---|---|---|---|")
    every = sorted(set(ops["toolkit"]) | set(ops["bare"]), key=lambda op: -max(
        ops[v].get(op, (0, 0))[0] for v in ops))
    totals = {v: sum(t for t, _ in ops[v].values()) / trace_steps for v in ops}
    for op in every:
        (tool, tool_n), (bare_t, bare_n) = (ops[v].get(op, (0.0, 0)) for v in ("toolkit",
                                                                                 "bare"))
        if max(tool, bare_t) / trace_steps < 0.05 and tool_n and bare_n:
            continue  # Shared and under 0.05 ms a step: left out of the table.
        # The bare loop's final sync step is traced too: counts per step differ by 1/n.
        print(f"| {op} | {tool / trace_steps:.2f} | {bare_t / (trace_steps + 1):.2f} | "
              f"{tool / trace_steps - bare_t / (trace_steps + 1):+.2f} | "
              f"{tool_n / trace_steps:.1f} | {bare_n / (trace_steps + 1):.1f} |")
    print(f"| all kernels | {totals['toolkit']:.1f} | "
          f"{totals['bare'] * trace_steps / (trace_steps + 1):.1f} | | | |")
    only = {v: sorted(set(ops[v]) - set(ops[w])) for v, w in (("toolkit", "bare"),
                                                              ("bare", "toolkit"))}
    for variant, names in only.items():
        print(f"ops only the {variant} step runs: {', '.join(names) or 'none'}")


if __name__ == "__main__":
    main(sys.argv[1:])
