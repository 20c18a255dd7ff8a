"""Speed of the lines benchmark's own parts: the input pipeline and `line_eval`.

  python benchmarks/lines_speed.py [--batch=64]

Prints the pipeline's images per second (lines generated in-graph, batch by batch) and
the time of one `line_eval` of 256 interpolations of 16 images; the last line reads
`line_eval s: <seconds>` (median of --repeats calls).
"""

import os
import statistics
import sys
import time

import numpy as np
from absl import app, flags

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from acai.lib import data, lines  # noqa: E402
from machine import describe  # noqa: E402

FLAGS = flags.FLAGS
flags.DEFINE_integer("batch", 64, "Batch size of the pipeline.")
flags.DEFINE_integer("batches", 2000, "Batches timed.")
flags.DEFINE_integer("repeats", 5, "line_eval calls timed; the median is reported.")


def main(argv):
    del argv
    batches = iter(data.get_dataset("lines32").train(FLAGS.batch, seed=0))
    for _ in range(20):
        next(batches)
    start = time.perf_counter()
    for _ in range(FLAGS.batches):
        next(batches)
    pipeline = FLAGS.batches * FLAGS.batch / (time.perf_counter() - start)

    rng = np.random.RandomState(0)
    images = rng.uniform(-1, 1, (256, 16, 32, 32, 1)).astype(np.float32)
    lines.line_eval(images)  # Builds the 10,000 reference lines once.
    timings = []
    for _ in range(FLAGS.repeats):
        start = time.perf_counter()
        lines.line_eval(images)
        timings.append(time.perf_counter() - start)
    print(describe())
    print(f"pipeline img/s: {pipeline:.0f} (batch {FLAGS.batch})")
    print(f"line_eval s: {statistics.median(timings):.3f}")


if __name__ == "__main__":
    app.run(main)
