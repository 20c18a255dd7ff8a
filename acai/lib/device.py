"""Where and in what precision a model computes: the tf.distribute strategy, Keras'
dtype policy, and the seeds and op determinism that make a run repeat.

Called by the training binaries before anything is built (every binary lists the devices
first, `probe_devices`):

    strategy = device.make_strategy("mirrored")      # first of all TensorFlow
    device.set_precision("auto")
    device.make_reproducible(seed)
"""

import glob
import json
import os
import sys

import keras
import tensorflow as tf
from absl import logging

from acai.lib.errors import RunError
from acai.lib.quiet import stderr_filtered

# The values of --precision.
PRECISIONS = ("auto", "float32", "mixed_float16", "mixed_bfloat16")
# The values of --strategy.
STRATEGIES = ("default", "mirrored", "multi_worker")
# What TensorFlow's CUDA build logs, at error level, when it finds no GPU driver to talk to.
CUINIT_FAILED = "failed call to cuInit"
# What a binary logs instead (INFO) where probe_devices left that line out.
NO_GPU = (f"No GPU on this machine (no /dev/nvidia*): computing on the CPU (TensorFlow's "
          f"error line '{CUINIT_FAILED}' left out)")
# CPU flags (Linux /proc/cpuinfo) of native bfloat16 arithmetic: AVX-512 BF16 or AMX.
NATIVE_BFLOAT16_FLAGS = ("avx512_bf16", "amx_bf16")


def make_strategy(name):
    """The tf.distribute strategy `--strategy` names.

    default: the current (one-device) strategy. mirrored: every local GPU (or the one
    CPU), variables mirrored. multi_worker: every worker of the cluster that the TF_CONFIG
    environment variable describes; create it before any other TensorFlow operation.
    """
    if name == "default":
        return tf.distribute.get_strategy()
    if name == "mirrored":
        return tf.distribute.MirroredStrategy()
    if name == "multi_worker":
        if not os.environ.get("TF_CONFIG"):
            raise RunError("--strategy=multi_worker needs the TF_CONFIG environment variable "
                           "(the cluster's workers and this worker's task)")
        try:
            json.loads(os.environ["TF_CONFIG"])
        except ValueError as e:
            raise RunError(f"the TF_CONFIG environment variable is not JSON ({e}); it "
                           'describes the cluster, e.g. {"cluster": {"worker": ["host:port", '
                           '...]}, "task": {"type": "worker", "index": 0}}') from None
        return tf.distribute.MultiWorkerMirroredStrategy()
    raise RunError(f"unknown strategy {name!r}; valid: {', '.join(STRATEGIES)}")


def make_reproducible(seed):
    """Seeds Python, NumPy, TensorFlow and Keras and makes TensorFlow's ops deterministic,
    so that the same seed and flags give the same losses (on the same kind of device)."""
    keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()


def native_bfloat16_flags(cpuinfo="/proc/cpuinfo"):
    """The CPU flags among NATIVE_BFLOAT16_FLAGS that `cpuinfo` lists (empty where the file
    does not exist, e.g. on macOS or Windows)."""
    try:
        with open(cpuinfo) as f:
            for line in f:
                if line.startswith("flags"):
                    found = set(line.split(":", 1)[1].split())
                    return [name for name in NATIVE_BFLOAT16_FLAGS if name in found]
    except OSError:
        pass
    return []


def choose_precision(precision, cpuinfo="/proc/cpuinfo"):
    """-> (policy name, why) for the value of --precision.

    auto: mixed_float16 on a GPU of compute capability 7 or more (untested on a GPU);
    float32 elsewhere, the paper's precision. On a CPU that computes bfloat16 natively
    (AVX512_BF16 or AMX) `why` says that --precision=mixed_bfloat16 trains faster there;
    auto does not choose it because on the lines it left ACAI's mean distance 8-26% above
    float32's at the same seed (docs/results.md, "float32 or bfloat16").
    """
    if precision not in PRECISIONS:
        raise RunError(f"unknown precision {precision!r}; valid: {', '.join(PRECISIONS)}")
    if precision != "auto":
        return precision, "as asked"
    for gpu in tf.config.list_physical_devices("GPU"):
        capability = tf.config.experimental.get_device_details(gpu).get(
            "compute_capability", (0, 0))
        if capability >= (7, 0):
            return "mixed_float16", f"auto: a GPU of compute capability {capability}"
    if tf.config.list_physical_devices("GPU"):
        return "float32", "auto: a GPU without fast float16"
    bf16 = native_bfloat16_flags(cpuinfo)
    if bf16:
        return "float32", (f"auto; this CPU computes bfloat16 natively ({', '.join(bf16)}): "
                           "--precision=mixed_bfloat16 trains faster, at some cost in the "
                           "lines metrics (docs/results.md: float32 or bfloat16)")
    return "float32", "auto"


def set_precision(precision):
    """Sets Keras' global dtype policy to what --precision says (see choose_precision),
    logs the choice, and returns the policy name."""
    name, why = choose_precision(precision)
    logging.info("Precision %s (%s)", name, why)
    keras.mixed_precision.set_global_policy(name)
    return name


def has_gpu_device_node():
    """Whether this machine shows a GPU to programs: an NVIDIA device node (Linux), WSL's
    /dev/dxg, or any other system than Linux (where this is not checked)."""
    if not sys.platform.startswith("linux"):
        return True
    return bool(glob.glob("/dev/nvidia[0-9]*")) or os.path.exists("/dev/dxg")


def probe_devices():
    """Lists TensorFlow's devices (once per process, under a millisecond) and returns the
    lines of stderr it left out.

    TensorFlow's CUDA build calls cuInit on every machine and, without a GPU, logs an
    error-level line "failed call to cuInit ... (303)" that says nothing is wrong. On a
    Linux machine with no GPU device node that line is left out (the binaries say so in
    one INFO line); with a device node it stays (there a failing cuInit is a broken
    driver)."""
    if has_gpu_device_node():
        tf.config.list_physical_devices()
        return []
    with stderr_filtered(lambda line: CUINIT_FAILED in line) as dropped:
        tf.config.list_physical_devices()
    return dropped
