"""Shared test helpers: small models on the lines data, and a clean Keras state."""

import keras
import pytest
import tensorflow as tf

from acai import data

# A small version of the paper's lines configuration, fast enough for a 2-core CI.
SMALL = dict(latent=8, depth=8, scales=3)


@pytest.fixture(autouse=True)
def float32_policy():
    """Every test starts, and leaves, with the float32 policy and a fixed seed."""
    keras.mixed_precision.set_global_policy("float32")
    keras.utils.set_random_seed(0)
    yield
    keras.mixed_precision.set_global_policy("float32")


@pytest.fixture(scope="session")
def lines32():
    return data.get_dataset("lines32")


def train_steps(model, spec, steps, batch=32, seed=0):
    """Runs `steps` train steps; returns the per-step logs as a list of float dicts."""
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
