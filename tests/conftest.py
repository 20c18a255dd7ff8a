"""Shared test helpers: the repository, running its binaries, small models on the lines
data, and a clean Keras state.

Tiers: `pytest -m "not slow"` is the fast tier (every model's behaviour in process);
tests marked slow start binaries in subprocesses or train for longer. `-n 2` (pytest-xdist)
runs two tests at a time: much of a binary's time is its single-threaded start, so the
two cores are better used side by side.
"""

import os
import pty
import re
import subprocess
import sys

import keras
import pytest
import tensorflow as tf

from acai.lib import data, training

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# A small version of the paper's lines configuration, fast enough for a 2-core CI.
SMALL = dict(latent=8, depth=8, latent_width=4)
# A tiny baseline on lines32 for the binaries: 32 steps of 32 images per kimg.
TINY = ["--model=baseline", "--dataset=lines32", "--latent_width=4", "--depth=8",
        "--latent=8", "--batch=32", "--seed=1"]
TINY_RUN = os.path.join("lines32", "AEBaseline_depth8_latent8_scales3")


@pytest.fixture(autouse=True)
def float32_policy():
    """Every test starts, and leaves, with the float32 policy and a fixed seed."""
    keras.mixed_precision.set_global_policy("float32")
    keras.utils.set_random_seed(0)
    yield
    keras.mixed_precision.set_global_policy("float32")


# Every deadline of a test's subprocess is `deadline(seconds)`: seconds at the default
# scale, ACAI_TEST_TIMEOUT_SCALE times that on a machine that needs longer. A deadline
# missed fails saying so (slowness, not a wrong result).
TIMEOUT_SCALE = float(os.environ.get("ACAI_TEST_TIMEOUT_SCALE", "1"))


def deadline(seconds):
    return seconds * TIMEOUT_SCALE


def timed_out(error):
    """The failure message of a subprocess.TimeoutExpired."""
    return (f"timed out after {error.timeout:.0f} s: {' '.join(map(str, error.cmd))[:200]} "
            f"(the machine may be slow: deadlines scale with ACAI_TEST_TIMEOUT_SCALE, now "
            f"{TIMEOUT_SCALE:g})")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item):
    try:
        return (yield)
    except subprocess.TimeoutExpired as error:
        pytest.fail(timed_out(error), pytrace=False)


@pytest.fixture(scope="session")
def lines32():
    return data.get_dataset("lines32")


def run_module(module, *args, timeout=300, env=None):
    """Runs `python -m module args` from the repository; -> CompletedProcess (text).
    timeout: seconds at the default scale (deadline)."""
    return subprocess.run([sys.executable, "-m", module, *args], cwd=REPO,
                          capture_output=True, text=True, timeout=deadline(timeout),
                          env=None if env is None else {**os.environ, **env})


def run_on_terminal(module, *args, timeout=300):
    """Runs `python -m module args` with its standard output on a pseudo-terminal;
    -> (exit status, what it wrote there, colours removed)."""
    main, terminal = pty.openpty()
    process = subprocess.Popen([sys.executable, "-m", module, *args], cwd=REPO,
                               stdout=terminal, stderr=subprocess.DEVNULL)
    os.close(terminal)
    output = b""
    while True:
        try:
            chunk = os.read(main, 65536)
        except OSError:  # The terminal closed: the process ended.
            break
        if not chunk:
            break
        output += chunk
    os.close(main)
    text = re.sub(r"\x1b\[[0-9;]*m", "", output.decode(errors="replace"))
    return process.wait(timeout=deadline(timeout)), text


def start_module(module, *args):
    """Starts `python -m module args` from the repository; -> Popen (text pipes)."""
    return subprocess.Popen([sys.executable, "-m", module, *args], cwd=REPO,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def error_level_lines(stderr):
    """The lines of a log at absl's error or fatal level (TensorFlow's C++ "E0000 ...",
    Python's "E1204 ...")."""
    return [line for line in stderr.splitlines() if re.match(r"[EF]\d{4} ", line)]


def error_line(result):
    """A binary's error: one line, no traceback, non-zero status; -> that line."""
    assert result.returncode != 0
    assert "Traceback" not in result.stderr, result.stderr[-2000:]
    return result.stderr.strip().splitlines()[-1]


def train_in(model, spec, run, *, evaluate="model", verbose=False, callbacks=(),
             **settings):
    """training.train in `run` with its settings (batch, seed, total_kimg, report_kimg)
    set first, as a restart with other flags would set them."""
    run.config.update(settings)
    return training.train(model, spec, run, evaluate=evaluate, verbose=verbose,
                          callbacks=callbacks)


def train_steps(model, spec, steps, batch=32, seed=0):
    """Runs `steps` train steps (compiling the model first if needed); returns the
    per-step logs as a list of float dicts."""
    if not model.compiled:
        model.compile()
    step = tf.function(model.train_step)
    history = []
    for x, label in spec.train(batch, seed=seed).take(steps):
        for metric in model.metrics:
            metric.reset_state()
        history.append({k: float(v) for k, v in step((x, label)).items()})
    return history


def mean_of(history, name, part):
    values = [h[name] for h in part(history)]
    return sum(values) / len(values)
