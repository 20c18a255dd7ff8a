"""One line describing the machine and software a benchmark ran on."""

import os
import platform

import tensorflow as tf


def describe():
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f
                       if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    gpus = [tf.config.experimental.get_device_details(g).get("device_name", g.name)
            for g in tf.config.list_physical_devices("GPU")]
    return (f"machine: {cpu}, {os.cpu_count()} cores, GPU: {', '.join(gpus) or 'none'}; "
            f"TensorFlow {tf.__version__}")
