"""The base of every model of the toolkit: a keras.Model with its own optimisers.

A model subclasses `Model`, declares its hyperparameters once (`PARAMS`, see
acai.lib.params), says which optimiser updates which variables
(`optimizer_variables`), writes one `train_step` and names its experiment
(`experiment_params`). It is then trained the Keras way:

    model = ACAI((32, 32, 1), nclass=10, latent_width=2, depth=16, latent=16)
    model.compile()                       # its Adams; loss scaling under float16
    model.fit(dataset, epochs=4, steps_per_epoch=256, callbacks=[...])

`train_step` takes a batch of images in [-1, 1], or (images, labels); `test_step` reports
the same losses without updating anything (`evaluate`, `fit(validation_data=...)`).
Every model class is registered for Keras serialisation, and `compile` records its
optimisers, so `model.save("m.keras")` / `keras.models.load_model` round-trip them;
`model.optimizer` is the main optimiser, which Keras' learning-rate callbacks move and
the others follow (FollowLearningRate).
"""

import inspect
import warnings
from typing import Optional

import keras
import tensorflow as tf

from acai.lib.keras_compat import SkipSymbolicBuild
from acai.lib.params import Param, declared


def loss_scaled(optimizer, policy):
    """`optimizer`, wrapped in a LossScaleOptimizer under the mixed_float16 `policy`.

    Keras scales the loss only for the optimiser given to `compile` and only in its own
    train_step; our models have several optimisers and their own train_step, so each is
    wrapped here and `minimize` scales its loss.
    """
    if (policy.compute_dtype == "float16"
            and not isinstance(optimizer, keras.optimizers.LossScaleOptimizer)):
        optimizer = keras.optimizers.LossScaleOptimizer(optimizer)
    return optimizer


def minimize(optimizer, tape, loss, variables):
    """One gradient step of `optimizer` on `loss` (float32) over `variables`.

    Under a tf.distribute strategy `loss` is this replica's mean over its share of the
    batch; Keras' optimiser sums the replicas' gradients, so each is divided by the
    number of replicas to step on the mean over the whole batch.
    """
    if not variables:  # model.trainable = False (or a frozen network): as Keras, no step.
        return
    replicas = tf.distribute.get_strategy().num_replicas_in_sync
    with tape:  # The loss scaling must be recorded too.
        loss = optimizer.scale_loss(loss / replicas if replicas > 1 else loss)
    gradients = tape.gradient(loss, variables)
    optimizer.apply_gradients(zip(gradients, variables))


def unwrapped(optimizer):
    """The optimiser a LossScaleOptimizer wraps (itself otherwise)."""
    return getattr(optimizer, "inner_optimizer", optimizer)


def learning_rate_of(optimizer):
    return float(keras.ops.convert_to_numpy(optimizer.learning_rate))


class FollowLearningRate(keras.callbacks.Callback):
    """Keeps a toolkit model's other optimisers at the same ratio to the learning rate of
    `model.optimizer` (its main one) as when compiled, after Keras' learning-rate
    callbacks (LearningRateScheduler at an epoch's start, ReduceLROnPlateau at its end)
    move it. Model.fit adds it."""

    def on_epoch_begin(self, epoch, logs=None):
        self.model.follow_learning_rate()

    def on_epoch_end(self, epoch, logs=None):
        self.model.follow_learning_rate()


def in_multi_worker_mode():
    """Whether the current strategy spans several workers (MultiWorkerMirroredStrategy
    with a cluster of more than one worker: its chief and workers, as the strategy counts
    them), read from the strategy's public cluster resolver."""
    resolver = getattr(tf.distribute.get_strategy(), "cluster_resolver", None)
    if resolver is None:
        return False
    spec = resolver.cluster_spec()
    return sum(spec.num_tasks(job) for job in ("chief", "worker") if job in spec.jobs) > 1


class ReplicaSeedGenerator(keras.random.SeedGenerator):
    """A keras SeedGenerator whose draws differ between the replicas of a tf.distribute
    strategy: its state is mirrored, so a plain one would give every replica's share of
    the batch the same noise (the same alphas, z, dropout masks)."""

    def next(self, ordered=True):
        seed = super().next(ordered)
        context = tf.distribute.get_replica_context()
        if context is not None and context.num_replicas_in_sync > 1:
            replica = tf.cast(context.replica_id_in_sync_group, seed.dtype)
            seed = seed + tf.stack([replica * 7919, tf.zeros_like(replica)])
        return seed


def mean_squared_error(x, y):
    return tf.reduce_mean(tf.square(tf.cast(x, tf.float32) - tf.cast(y, tf.float32)))


def stateless_normal(count, seed, shape):
    """`count` N(0, I) draws of `shape` (float32), the same for the same int seed."""
    full_shape = tf.concat([tf.reshape(tf.cast(count, tf.int32), [1]),
                            tf.constant(shape, tf.int32)], 0)
    return tf.random.stateless_normal(full_shape, seed=tf.stack([tf.cast(seed, tf.int32), 0]))


def unpack(data):
    """A batch of images, or (images, labels) -> (images, labels or None)."""
    if isinstance(data, (tuple, list)):
        if len(data) == 1:
            return data[0], None
        return data[0], data[1]
    return data, None


KIND_TYPES = {"integer": int, "float": float, "bool": bool, "string": str, "enum": str}


def described(cls):
    """Gives a model class the signature and help its hyperparameters make (its PARAMS
    and its bases', the one source): `inspect.signature(ACAI)` and IDEs list each as a
    keyword with its default and type, and `help(ACAI)` ends with what each means."""
    params = declared(cls)
    fixed = [inspect.Parameter("image_shape", inspect.Parameter.POSITIONAL_OR_KEYWORD,
                               annotation=tuple),
             inspect.Parameter("nclass", inspect.Parameter.POSITIONAL_OR_KEYWORD,
                               default=0, annotation=int)]
    keywords = [inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=default,
                                  annotation=annotation)
                for name, default, annotation in (("seed", None, Optional[int]),
                                                  ("name", None, Optional[str]),
                                                  ("dtype", None, Optional[str]))]
    keywords += [inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY,
                                   default=param.default,
                                   annotation=KIND_TYPES.get(param.kind, inspect.Parameter.empty))
                 for name, param in params.items()]
    cls.__signature__ = inspect.Signature(fixed + keywords)
    lines = [f"  {name} ({param.kind}, default {param.default!r}): {param.help}"
             for name, param in params.items()]
    doc = (cls.__doc__ or "").rstrip().split("\n\nHyperparameters (")[0]
    cls.__doc__ = (doc + f"\n\nHyperparameters ({cls.__name__}(image_shape, nclass, "
                   "**these), the training binaries' flags):\n" + "\n".join(lines))


class Model(SkipSymbolicBuild):
    """What every model of the toolkit shares with Keras' `fit` and the run folder.

    Args:
      image_shape: (height, width, colors) of the images, in [-1, 1].
      nclass: number of classes of the dataset (0: unlabelled images).
      seed: seeds the model's own noise (initialisation is seeded globally).
      dtype: the dtype policy the model computes in ("float32", "mixed_float16",
        "mixed_bfloat16" or a keras.DTypePolicy; its variables are float32 in each),
        recorded as `dtype_policy` and given to every layer of its networks; None: Keras'
        global policy when the model is made.
      **params: the hyperparameters the class declares (`PARAMS`); each becomes an
        attribute of the same name, its declared default when not given (or None).

    Class attributes a subclass sets:
      NAME: the start of its experiment name (the reference's run names).
      LOSSES: the losses its train_step reports, in order.
      PARAMS: its hyperparameters (acai.lib.params.Param), beyond its bases'.
      PRESETS: named settings that give some parameters their defaults.
      MAIN_OPTIMIZER: the optimiser `model.optimizer` is (default optimizer_ae).
      SERVING_DEFAULT: the serving function an export's serving_default is.
    """

    NAME = "Model"
    LOSSES = ()
    # The optimiser `model.optimizer` names (what Keras' learning-rate callbacks move);
    # the others follow its learning rate in proportion (FollowLearningRate).
    MAIN_OPTIMIZER = "optimizer_ae"
    # The serving function an export's serving_default signature is.
    SERVING_DEFAULT = "reconstruct"
    PARAMS = (Param("lr", 1e-4, "Learning rate (Adam) of every optimiser.",
                    lower_bound=0.0),)
    # {preset parameter: {its value: {parameter: default}}}: a named setting (a paper's
    # "setting A") that gives other parameters their defaults; a value given for one of
    # those parameters still wins.
    PRESETS = {}

    @property
    def built(self):
        """Always True: every network is built when the model is made, so nothing waits
        for a first call (Keras asks before `load_weights`, `export`, `summary`, saving)."""
        return True

    @built.setter
    def built(self, value):
        pass  # Keras sets False in Layer.__init__, and True once built.

    def __init_subclass__(cls, **kwargs):
        """Every model class is registered for Keras serialisation ("package>Class"), so
        that keras.models.load_model finds it once its module is imported."""
        super().__init_subclass__(**kwargs)
        keras.saving.register_keras_serializable(package=cls.__module__.split(".")[0],
                                                 name=cls.__name__)(cls)
        described(cls)

    def __init__(self, image_shape, nclass=0, *, seed=None, name=None, dtype=None,
                 **params):
        super().__init__(name=name or self.NAME,
                         dtype=keras.mixed_precision.dtype_policy() if dtype is None
                         else dtype)
        declarations = declared(type(self))
        unknown = sorted(set(params) - set(declarations))
        if unknown:
            raise TypeError(f"{type(self).__name__} has no parameter "
                            f"{', '.join(unknown)}; its parameters: "
                            f"{', '.join(sorted(declarations))}")
        defaults = {name: param.default for name, param in declarations.items()}
        for preset, table in self.PRESETS.items():  # A preset sets the others' defaults.
            choice = params.get(preset)
            choice = defaults[preset] if choice is None else choice
            declarations[preset].check(choice)
            defaults.update(table[choice])
        for param_name, param in declarations.items():
            value = params.get(param_name)
            value = defaults[param_name] if value is None else value
            param.check(value)
            setattr(self, param_name, value)
        self.image_shape = tuple(int(n) for n in image_shape)
        self.nclass = int(nclass or 0)
        self.seed = seed
        self.seed_generator = ReplicaSeedGenerator(seed)
        self.trackers = {name: keras.metrics.Mean(name) for name in self.tracked()}

    # --- What a subclass defines -------------------------------------------------------
    def tracked(self):
        """The names of the running means `train_step` reports."""
        return self.LOSSES

    def optimizer_variables(self):
        """{optimiser attribute name: the variables it updates}."""
        raise NotImplementedError

    def default_optimizer(self, name):
        """The optimiser `compile` gives attribute `name` when none is passed."""
        return keras.optimizers.Adam(self.lr)

    def experiment_params(self):
        """{name: value} of the parameters that name the run's folder: those declared
        with `in_name` (acai.lib.params.Param); a subclass adds what it derives."""
        return {name: param.name_value(getattr(self, name))
                for name, param in declared(type(self)).items()
                if param.named(getattr(self, name))}

    def evaluation(self, spec, run):
        """A callable giving a report's (scalars, images), or None."""
        return None

    def serving_functions(self):
        """{name: tf.function with an input signature}: what an export serves."""
        raise NotImplementedError

    # --- Keras ---------------------------------------------------------------------------
    def compile(self, jit_compile=False, **optimizers):
        """Creates the model's optimisers (Adam at `lr` unless given by name, e.g.
        `compile(optimizer_disc=keras.optimizers.Adam(1e-3))`), builds them on their
        variables, wraps each for loss scaling under mixed_float16, and compiles.

        Call it inside `strategy.scope()` when training under a tf.distribute strategy.
        XLA is off by default (`jit_compile=True` turns it on; untested).
        """
        names = self.optimizer_variables()
        unknown = sorted(set(optimizers) - set(names))
        if unknown:
            raise TypeError(f"{type(self).__name__}.compile: no optimiser "
                            f"{', '.join(unknown)}; its optimisers: {', '.join(names)}")
        for name, variables in names.items():
            optimizer = loss_scaled(optimizers.get(name) or self.default_optimizer(name),
                                    self.dtype_policy)
            # Built now, outside the traced step: a tf.function cannot create the
            # mirrored slot variables of a distribution strategy.
            optimizer.build(variables)
            setattr(self, name, optimizer)
        super().compile(optimizer=None, jit_compile=jit_compile)
        # Keras' `model.optimizer` (what LearningRateScheduler, ReduceLROnPlateau and
        # TensorBoard read) is the main optimiser; the others follow its learning rate.
        self.optimizer = getattr(self, self.MAIN_OPTIMIZER)
        self.learning_rates = {name: learning_rate_of(getattr(self, name))
                               for name in names}
        if not self.trainable_weights:  # Keras says so in its own train_step.
            warnings.warn(f"{self.name} has no trainable weights (trainable = False): fit "
                          "reports its losses and updates nothing", stacklevel=2)

    def get_compile_config(self):
        """The optimisers (each one's class and settings) and jit_compile: what
        keras.models.load_model gives `compile_from_config`; None before compile."""
        if not self.compiled:
            return None
        return dict(jit_compile=bool(self.jit_compile), optimizers={
            name: keras.optimizers.serialize(unwrapped(getattr(self, name)))
            for name in self.optimizer_variables()})

    def compile_from_config(self, config):
        self.compile(jit_compile=config.get("jit_compile", False), **{
            name: keras.optimizers.deserialize(optimizer)
            for name, optimizer in config["optimizers"].items()})

    def call_signature(self):
        """[tf.TensorSpec] of what `call` takes: an autoencoder's images, a GAN's z."""
        raise NotImplementedError

    def export(self, filepath, format="tf_saved_model", verbose=None, input_signature=None,
               **kwargs):
        """Keras' `model.export`: `call` (an autoencoder's reconstruction, a GAN's G(z)) as
        a SavedModel whose endpoint is `serve` (or ONNX, format="onnx"), its input the
        model's own (`call_signature`) unless given. Keras reads a subclassed model's input
        from its first call; the toolkit's networks are built when the model is made, so
        none may have happened. acai.lib.export.export (acai-export) writes every serving
        function (encode, decode, ...) instead, each checking its inputs."""
        return super().export(filepath, format=format, verbose=verbose,
                              input_signature=input_signature or self.call_signature(),
                              **kwargs)

    def follow_learning_rate(self):
        """Sets every other optimiser's learning rate to its compiled one times the main
        optimiser's change since compile (a scheduler moved `model.optimizer`)."""
        main = self.learning_rates[self.MAIN_OPTIMIZER]
        if not main:
            return
        factor = learning_rate_of(self.optimizer) / main
        for name, rate in self.learning_rates.items():
            if name != self.MAIN_OPTIMIZER:
                getattr(self, name).learning_rate = rate * factor

    def fit(self, *args, callbacks=None, **kwargs):
        """keras.Model.fit, with the toolkit's FollowLearningRate callback last: a
        learning-rate callback's change to `model.optimizer` reaches every optimiser."""
        callbacks = list(callbacks or [])
        if not any(isinstance(c, FollowLearningRate) for c in callbacks):
            callbacks.append(FollowLearningRate())
        return super().fit(*args, callbacks=callbacks, **kwargs)

    def get_config(self):
        return dict(image_shape=self.image_shape, nclass=self.nclass, seed=self.seed,
                    dtype=self.dtype_policy.name,
                    **{name: getattr(self, name) for name in declared(type(self))})

    @classmethod
    def create(cls, spec, config, dtype=None):
        """The model for dataset `spec` from a run's flat configuration (config.json):
        its declared parameters, the default for any it lacks; `dtype` as for the class."""
        params = {name: config[name] for name in declared(cls) if name in config}
        return cls((spec.height, spec.width, spec.colors), spec.nclass,
                   seed=config.get("seed"), dtype=dtype, **params)

    @property
    def metrics(self):
        return list(self.trackers.values())

    def report(self, **losses):
        """Accumulates this step's losses; returns the running means for Keras' logs."""
        for name, value in losses.items():
            self.trackers[name].update_state(value)
        logs = {name: tracker.result() for name, tracker in self.trackers.items()}
        if in_multi_worker_mode():
            # Keras (3.x) averages the workers' logs with strategy.reduce(axis=0), which
            # needs a batch axis: one value per replica, averaged over the replicas.
            logs = {name: tf.reshape(value, [1]) for name, value in logs.items()}
        return logs

    def experiment_name(self):
        """As the reference names runs: class name, then sorted parameter=value pairs."""
        params = self.experiment_params()
        return "_".join([self.NAME] + [f"{k}{v}" for k, v in sorted(params.items())])
