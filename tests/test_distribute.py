"""Training under a tf.distribute strategy: two replicas give one device's results.

TensorFlow's devices are fixed when it starts, so the two logical CPUs live in a
subprocess (this test's own process keeps one device for the other tests).
"""

import json
import os
import socket
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

from conftest import deadline, REPO, TINY_RUN

SCRIPT = r"""
import json, sys
import tensorflow as tf
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
import numpy as np
from acai.lib import data, training
from acai.lib.run import Run, read_metrics
from acai.registry import build

spec = data.get_dataset("lines32")
mirrored = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
out = {"replicas": mirrored.num_replicas_in_sync}
for name in sys.argv[1:]:
    config = dict(model=name, latent=8, depth=8, latent_width=4, lr=1e-3, seed=0)
    if name in ("dcgan", "sngan"):
        config = dict(model=name, depth=4, z_dim=16, lr=2e-4, seed=0)
    reference = build(name, spec, config)
    results = {}
    for label, strategy in (("default", tf.distribute.get_strategy()), ("mirrored", mirrored)):
        with strategy.scope():
            model = build(name, spec, config)
            model.compile()
        for variable, value in zip(model.weights, reference.weights):
            variable.assign(value)  # The same start for both.
        run = Run(sys.argv[0] + "/" + label, "lines32", name,
                  dict(config, batch=32, total_kimg=1, report_kimg=1))
        training.train(model, spec, run, verbose=False, evaluate=None)
        results[label] = (read_metrics(run.path)[-1],
                          [v.numpy() for v in model.trainable_variables])
    (logs_a, weights_a), (logs_b, weights_b) = results["default"], results["mirrored"]
    out[name] = {
        "default": {k: v for k, v in logs_a.items() if k != "img_per_sec"},
        "mirrored": {k: v for k, v in logs_b.items() if k != "img_per_sec"},
        "max_weight_difference": float(max(np.abs(a - b).max()
                                           for a, b in zip(weights_a, weights_b))),
    }
# Every replica draws its own noise for its share of the batch.
with mirrored.scope():
    gan = build("dcgan", spec, dict(model="dcgan", depth=4, z_dim=16, lr=2e-4, seed=0))
z = mirrored.experimental_local_results(mirrored.run(lambda: gan.sample_z(4)))
out["replica_z_difference"] = float(np.abs(z[0].numpy() - z[1].numpy()).max())
print("RESULT " + json.dumps(out))
"""


# Two replicas sum their halves of the batch in another order than one device does, and
# Adam turns a rounding-sized gradient difference on a near-zero gradient into up to a
# full step: over 32 steps of lr 1e-3 the weights can drift apart by a few 1e-4 on some
# CPUs (3.6e-4 seen in CI). 1e-3 is 3% of the farthest 32 steps can move a weight
# (32 x 1e-3).
ROUNDING = 1e-3


def run_script(tmp_path, *models):
    result = subprocess.run([sys.executable, "-c", SCRIPT.replace("sys.argv[0]", repr(
        str(tmp_path))), *models], cwd=REPO, capture_output=True, text=True, timeout=deadline(600))
    assert result.returncode == 0, result.stderr[-3000:]
    line, = [line for line in result.stdout.splitlines() if line.startswith("RESULT ")]
    return json.loads(line[len("RESULT "):])


@pytest.mark.slow
def test_mirrored_on_two_cpus_matches_one_device(tmp_path):
    """32 steps of 32 images; the replicas see 16 each. The baseline has no noise, so
    its losses and weights must match one device's; DCGAN's z are drawn per replica, so its
    run only trains and stays finite, and the two replicas' z differ."""
    results = run_script(tmp_path, "baseline", "dcgan")
    assert results["replicas"] == 2
    baseline = results["baseline"]
    for name, value in baseline["default"].items():
        assert abs(baseline["mirrored"][name] - value) < 1e-4, (name, baseline)
    assert baseline["max_weight_difference"] < ROUNDING
    assert results["replica_z_difference"] > 0.1
    dcgan = results["dcgan"]
    assert set(dcgan["mirrored"]) == set(dcgan["default"])
    for name, value in dcgan["mirrored"].items():
        assert abs(value) < 1e3, (name, dcgan)
        if name == "d_real":  # D's first steps on real images, before G differs much.
            assert abs(value - dcgan["default"][name]) < 0.1


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_two_workers_on_loopback_match_one_device(tmp_path):
    """A real MultiWorkerMirroredStrategy cluster: two `acai.train` processes on
    127.0.0.1, each with its own TF_CONFIG and --train_dir, train the baseline for 32 steps
    of a global batch of 32 (16 per worker); the chief's weights must be those of one
    process training on the same batches."""
    flags = ["--model=baseline", "--dataset=lines32", "--latent_width=4", "--depth=8",
             "--latent=8", "--batch=32", "--total_kimg=1", "--report_kimg=1", "--seed=1",
             "--precision=float32", "--noverbose"]
    workers = [f"127.0.0.1:{free_port()}", f"127.0.0.1:{free_port()}"]
    processes, logs = [], [tmp_path / f"worker{index}.log" for index in range(2)]
    for index in range(2):
        tf_config = {"cluster": {"worker": workers}, "task": {"type": "worker", "index": index}}
        # Into files: a worker blocked on a full pipe would block the other's all-reduce.
        with open(logs[index], "w") as log:
            processes.append(subprocess.Popen(
                # absl's --verbosity=1: TensorFlow's INFO records too (the all-reduce's).
                [sys.executable, "-m", "acai.train", *flags, "--strategy=multi_worker",
                 f"--train_dir={tmp_path / f'worker{index}'}", "--verbosity=1"], cwd=REPO,
                env={**os.environ, "TF_CONFIG": json.dumps(tf_config)},
                stdout=log, stderr=subprocess.STDOUT))
    single = subprocess.run([sys.executable, "-m", "acai.train", *flags,
                             f"--train_dir={tmp_path / 'single'}"], cwd=REPO,
                            capture_output=True, text=True, timeout=deadline(600))
    assert single.returncode == 0, single.stderr[-3000:]
    for process, log in zip(processes, logs):
        process.wait(timeout=deadline(600))
        stderr = log.read_text()
        assert process.returncode == 0, stderr[-3000:]
    assert "group_size = 2" in stderr  # The all-reduce spanned both workers.

    def weights(train_dir):
        path = tf.train.latest_checkpoint(str(train_dir / TINY_RUN / "ckpt"))
        assert path and path.endswith("ckpt-1"), path
        return {name: tf.train.load_variable(path, name)
                for name, _ in tf.train.list_variables(path)
                if name.startswith("model/") and "OPTIMIZER" not in name}

    chief, one = weights(tmp_path / "worker0"), weights(tmp_path / "single")
    assert len(chief) > 10 and set(chief) == set(one)
    assert int(tf.train.load_variable(
        tf.train.latest_checkpoint(str(tmp_path / "worker0" / TINY_RUN / "ckpt")),
        "nimg/.ATTRIBUTES/VARIABLE_VALUE")) == 1024
    difference = max(float(np.abs(chief[name] - one[name]).max()) for name in chief
                     if np.issubdtype(np.asarray(chief[name]).dtype, np.floating))
    assert difference < ROUNDING
    # The reports agree too (the workers' losses averaged over both).
    reports = [json.loads((tmp_path / d / TINY_RUN / "metrics.jsonl").read_text())
               for d in ("worker0", "single")]
    assert reports[0]["loss_ae"] == pytest.approx(reports[1]["loss_ae"], rel=1e-4)
