"""What a resumed run pays to go on with the same data stream: the time to reach batch N
of a seeded stream (`DataSpec.train(batch, seed=..., start=N)`) before its first batch.

  python benchmarks/resume_cost.py --dataset=mnist32 --data_dir=DIR --kimg=64,256,1024

The lines are drawn from (seed, batch index), so they start anywhere for free; image
datasets skip the images already seen (file names and cached images, before decoding).
Prints one line per point: kimg skipped, seconds to the first batch, and the time of a
stream from the start for comparison.
"""

import os
import sys
import time

from absl import app, flags

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from acai.lib import data  # noqa: E402
from machine import describe  # noqa: E402

FLAGS = flags.FLAGS
flags.DEFINE_string("dataset", "lines32", "Dataset name (lines32, mnist32, folder:PATH, ...).")
flags.DEFINE_string("data_dir", None, "TFDS folder.")
flags.DEFINE_list("kimg", ["64", "256", "1024"], "Points to resume at, in kimg.")
flags.DEFINE_integer("batch", 64, "Batch size.")


def first_batch_seconds(spec, batch, start):
    begin = time.perf_counter()
    next(iter(spec.train(batch, seed=1, start=start)))
    return time.perf_counter() - begin


def main(argv):
    del argv
    print(describe())
    spec = data.get_dataset(FLAGS.dataset, FLAGS.data_dir, download=False)
    first_batch_seconds(spec, FLAGS.batch, 0)  # Warm: the cache of a small dataset, tracing.
    base = first_batch_seconds(spec, FLAGS.batch, 0)
    print(f"{FLAGS.dataset}, batch {FLAGS.batch}: first batch from the start {base:.2f} s")
    for kimg in (int(k) for k in FLAGS.kimg):
        seconds = first_batch_seconds(spec, FLAGS.batch, (kimg << 10) // FLAGS.batch)
        print(f"resume at kimg {kimg}: first batch after {seconds:.2f} s")


if __name__ == "__main__":
    app.run(main)
