"""Speed of an exported SavedModel's signatures, called as a user of TensorFlow alone
would (`tf.saved_model.load(OUT).signatures[name]`), in images per second.

  python benchmarks/serving_speed.py [--model=acai] [--batch=64] [--signature=reconstruct]

The model is the lines configuration (latent_width 2, depth 16, latent 16) at its
initial weights (speed does not depend on them), exported with acai.lib.export.export to
a temporary folder. --repeats timings of --calls calls each after --warmup untimed ones;
the last line reads `serving img/s: <number>` (their median). Run from two checkouts in
turn to compare them (the script imports the toolkit of the checkout it is in).
"""

import os
import statistics
import sys
import tempfile
import time

import numpy as np
import tensorflow as tf

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from acai import api  # noqa: E402
from acai.lib.export import export  # noqa: E402
from machine import describe  # noqa: E402
from peers import parse  # noqa: E402

LINES = dict(latent_width=2, depth=16, latent=16)


def main(argv):
    args = parse("serving_speed.py", argv, model="acai", batch=64, signature="reconstruct",
                 warmup=5, calls=50, repeats=5)
    print(describe())
    model = api.create(args["model"], (32, 32, 1), **LINES)
    with tempfile.TemporaryDirectory() as folder:
        out = os.path.join(folder, "export")
        export(model, out)
        function = tf.saved_model.load(out).signatures[args["signature"]]
        images = tf.constant(np.random.default_rng(0).uniform(
            -1, 1, (int(args["batch"]), 32, 32, 1)).astype(np.float32))
        for _ in range(int(args["warmup"])):
            function(images=images)
        rates = []
        for _ in range(int(args["repeats"])):
            start = time.perf_counter()
            for _ in range(int(args["calls"])):
                function(images=images)
            rates.append(int(args["calls"]) * int(args["batch"])
                         / (time.perf_counter() - start))
    print("timings img/s:", " ".join(f"{rate:.1f}" for rate in rates))
    print(f"serving img/s: {statistics.median(rates):.1f}")


if __name__ == "__main__":
    main(sys.argv[1:])
