"""Every use of a private name of Keras or TensorFlow, in one place.

The toolkit uses their public API everywhere else (`tests/test_keras_compat.py` reads every
module, tests included, and fails on a private name outside this one, strings included).
What is here has no public equivalent yet; each entry says what it does, which releases
have it, and what public API would replace it. `REQUIRED` lists them, and
`missing()` says which the installed Keras lacks: the test suite fails with that list
on a Keras release that changed them, before any training does.
"""

import inspect

import keras

# The checkpoint key of an optimiser's step count under tf.train.Checkpoint: Keras 3 keeps
# it in the optimiser's private `_iterations` variable (`iterations` is a property over
# it), so a checkpoint names it so. Read only by tests that check a checkpoint's step count
# without restoring it. Public replacement: restore the optimiser and read `iterations`.
ITERATIONS_KEY = "_iterations"

# The suffix of the folder TensorFlow writes a checkpoint's shards into before renaming
# them into place (tf.train.Checkpoint, sharded saves): a half-written checkpoint leaves
# one. Read only by tests that check nothing half-written is left. Public replacement:
# none; TensorFlow does not document its temporary names.
CHECKPOINT_TEMP_SUFFIX = "_temp"


class SkipSymbolicBuild(keras.Model):
    """A keras.Model whose `fit`, `evaluate` and `predict` do not build it from a first
    batch when every layer is already built.

    Keras (3.x, TensorFlow backend) calls the private `Model._maybe_symbolic_build` at the
    start of `fit`: under a tf.distribute strategy it first averages a distributed batch
    with `strategy.reduce`, which MultiWorkerMirroredStrategy cannot do for an
    (images, labels) tuple ("Attempt to convert a value (PerReplica...)"). The toolkit's
    models build every network in `compile`, so there is nothing to build. Public
    replacement: none (a model that is built is still probed); Keras would need to skip
    the probe for a built model.
    """

    def _maybe_symbolic_build(self, iterator=None, data_batch=None):
        if all(layer.built for layer in all_layers(self)):
            return
        super()._maybe_symbolic_build(iterator=iterator, data_batch=data_batch)


def all_layers(model):
    """Every layer of a Keras model, those of its sub-models (at any depth) too (what
    Keras' private `_flatten_layers` gives, from the public `layers`)."""
    found = []
    for layer in model.layers:
        found.append(layer)
        if isinstance(layer, keras.Model) or hasattr(layer, "layers"):
            found.extend(all_layers(layer))
    return found


# {owner: private names of it the toolkit needs}: what `missing` checks.
REQUIRED = {keras.Model: ("_maybe_symbolic_build",)}


def missing():
    """['Owner.name'] of every private name the toolkit uses that the installed Keras lacks
    (or whose signature changed); [] when all are there."""
    gone = []
    for owner, names in REQUIRED.items():
        for name in names:
            member = getattr(owner, name, None)
            if member is None:
                gone.append(f"{owner.__name__}.{name}")
                continue
            params = set(inspect.signature(member).parameters)
            if name == "_maybe_symbolic_build" and not {"iterator", "data_batch"} <= params:
                gone.append(f"{owner.__name__}.{name}{inspect.signature(member)}")
    # The checkpoint key of an optimiser's steps: the variable behind `iterations`.
    optimizer = keras.optimizers.SGD()
    if getattr(optimizer, ITERATIONS_KEY, None) is not optimizer.iterations:
        gone.append(f"Optimizer.{ITERATIONS_KEY}")
    return gone
