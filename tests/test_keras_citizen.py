"""The toolkit's models behave as Keras users expect: `.keras` files round trip with the
optimisers' state, `load_weights` works on a new model, and Keras' learning-rate
callbacks move every optimiser."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from acai import registry
from acai.lib.keras_compat import all_layers
from conftest import train_in, train_steps

CONFIGS = {"acai": dict(latent=8, depth=8, latent_width=4, lr=1e-3, seed=1),
           "vae": dict(latent=8, depth=8, latent_width=4, lr=1e-3, seed=1),
           "dcgan": dict(depth=4, z_dim=16, seed=1)}


def outputs(model, x):
    """What the model computes, deterministically: reconstructions or G(z)."""
    if hasattr(model, "ae"):
        return model.ae(x).numpy()
    z = tf.random.stateless_normal((4, model.z_dim), seed=(1, 2))
    return model.generator(z, training=False).numpy()


def optimizers_of(model):
    return {name: getattr(model, name) for name in model.optimizer_variables()}


# Loads every model saved by the parent (argv: folder, names) as a user would in a new
# session: the .keras file by api.load_keras, the .weights.h5 into a model just built with
# another seed; writes what each computes and holds, and the optimisers after one more
# step of fit.
ROUND_TRIP = r"""
import sys
import numpy as np
from acai import api, registry
from acai.lib import data
sys.path.insert(0, "tests")
from test_keras_citizen import state, tiny
folder, names = sys.argv[1], sys.argv[2].split(",")
spec = data.get_dataset("lines32")
x = np.load(f"{folder}/x.npy")
for name in names:
    loaded = api.load_keras(f"{folder}/{name}.keras")
    found = {"keras." + k: v for k, v in state(loaded, x).items()}
    fresh = registry.build(name, spec, dict(tiny(name), seed=2))
    fresh.compile()
    fresh.load_weights(f"{folder}/{name}.weights.h5")
    found.update({"h5." + k: v for k, v in state(fresh, x).items()})
    loaded.fit(spec.train(32, seed=1), epochs=1, steps_per_epoch=1, verbose=0)
    found["keras.steps_after_fit"] = np.array(
        int(getattr(loaded, loaded.MAIN_OPTIMIZER).iterations))
    np.savez(f"{folder}/{name}.found.npz", **found)
"""


def state(model, x):
    """What a model computes on images x (reconstructions, or G(z) and D(x)) and every
    variable it holds by path (weights, spectral norm's u and v, optimisers), as arrays."""
    result = {"out": outputs(model, x)}
    if hasattr(model, "z_dim"):  # A GAN's D(x): the SN-GAN's sigma reads u and v.
        result["critic"] = keras.ops.convert_to_numpy(model.disc(x))
    # By position and short name: layer and optimiser paths hold per-process counters.
    result.update({f"w/{i:03d}/{v.name}": keras.ops.convert_to_numpy(v)
                   for i, v in enumerate(model.weights)})
    for name, optimizer in optimizers_of(model).items():
        result.update({f"opt/{name}/{i:03d}": keras.ops.convert_to_numpy(v)
                       for i, v in enumerate(optimizer.variables)})
    return result


@pytest.mark.slow
def test_every_model_round_trips_keras_files_in_a_fresh_process(lines32, tmp_path):
    """All nine of the registry: .keras (api.load_keras) and .weights.h5 (load_weights into
    a model of another seed) give back, in a new process, every variable (the SN-GAN's u
    and v too), the same outputs and the optimisers' state, and fit goes on."""
    import subprocess
    import sys

    from conftest import REPO
    names = list(registry.models())
    x = next(iter(lines32.test(4)))[0].numpy()
    np.save(tmp_path / "x.npy", x)
    expected = {}
    for name in names:
        model = registry.build(name, lines32, tiny(name))
        train_steps(model, lines32, 3)
        model.save(str(tmp_path / f"{name}.keras"))
        model.save_weights(str(tmp_path / f"{name}.weights.h5"))
        expected[name] = state(model, x)
    result = subprocess.run([sys.executable, "-c", ROUND_TRIP, str(tmp_path),
                             ",".join(names)], cwd=REPO, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-3000:]
    for name in names:
        found = dict(np.load(tmp_path / f"{name}.found.npz"))
        assert int(found.pop("keras.steps_after_fit")) == 4, name
        spectral = [key for key in expected[name] if key.endswith(("/sn_u", "/sn_v"))]
        assert bool(spectral) == (name == "sngan"), name
        for key, value in expected[name].items():
            for kind in ("keras", "h5"):
                if kind == "h5" and key.startswith("opt/"):
                    continue  # .weights.h5 holds the model's variables only.
                np.testing.assert_allclose(found[f"{kind}.{key}"], value, atol=1e-6,
                                           err_msg=f"{name} {kind} {key}")


def test_api_load_keras_loads_a_whole_file_and_calls_a_cut_one_damaged(lines32, tmp_path):
    """Keras says "File not found" for a cut, empty or foreign file that is there;
    api.load_keras names it damaged, and loads a whole one as load_model does."""
    import zipfile

    from acai import api
    model = registry.build("acai", lines32, CONFIGS["acai"])
    train_steps(model, lines32, 1)
    path = tmp_path / "acai.keras"
    model.save(str(path))
    x = next(iter(lines32.test(4)))[0]
    np.testing.assert_allclose(outputs(api.load_keras(path), x), outputs(model, x),
                               atol=1e-6)
    data = path.read_bytes()
    damaged = {"cut.keras": data[:len(data) // 2], "empty.keras": b"",
               "text.keras": b"not a model"}
    for name, content in damaged.items():
        (tmp_path / name).write_bytes(content)
    with zipfile.ZipFile(tmp_path / "hollow.keras", "w") as archive:
        archive.writestr("config.json", "{}")  # No weights.
    for name in [*damaged, "hollow.keras"]:
        with pytest.raises(ValueError, match=rf"^{tmp_path / name} is damaged \(.*\); save "
                           "the model again with model.save, or copy the file again$"):
            api.load_keras(tmp_path / name)
    with pytest.raises(FileNotFoundError, match="no such file: .*nowhere.keras"):
        api.load_keras(tmp_path / "nowhere.keras")


def test_load_weights_into_a_new_model(lines32, tmp_path):
    model = registry.build("acai", lines32, CONFIGS["acai"])
    train_steps(model, lines32, 2)
    model.save_weights(str(tmp_path / "acai.weights.h5"))
    fresh = registry.build("acai", lines32, dict(CONFIGS["acai"], seed=2))
    # Built when made: Keras' summary counts every weight before any call or compile.
    fresh.summary(print_fn=lambda *args, **kwargs: None)
    assert fresh.built and fresh.count_params() == model.count_params()
    fresh.load_weights(str(tmp_path / "acai.weights.h5"))
    x = next(iter(lines32.test(4)))[0]
    np.testing.assert_allclose(outputs(fresh, x), outputs(model, x), atol=1e-6)


def rates(model):
    return {name: float(keras.ops.convert_to_numpy(optimizer.learning_rate))
            for name, optimizer in optimizers_of(model).items()}


def test_a_learning_rate_scheduler_moves_every_optimiser(lines32):
    model = registry.build("acai", lines32, CONFIGS["acai"])
    model.compile(optimizer_disc=keras.optimizers.Adam(2e-3))  # Twice the main one's.
    schedule = keras.callbacks.LearningRateScheduler(lambda epoch, lr: 1e-3 / (epoch + 1))
    seen = []
    record = keras.callbacks.LambdaCallback(
        on_epoch_end=lambda epoch, logs: seen.append(rates(model)))
    model.fit(lines32.train(32, seed=0), epochs=3, steps_per_epoch=2, verbose=0,
              callbacks=[schedule, record])
    # During epoch 2 (after the scheduler and the follower ran at its start).
    assert seen[2]["optimizer_ae"] == pytest.approx(1e-3 / 3)
    assert seen[2]["optimizer_disc"] == pytest.approx(2e-3 / 3)
    assert seen[2]["optimizer_classifier"] == pytest.approx(1e-3 / 3)


def test_reduce_lr_on_plateau_moves_every_optimiser(lines32):
    model = registry.build("dcgan", lines32, CONFIGS["dcgan"])
    model.compile()
    # mode="min": Keras' "auto" knows only its compiled metrics' directions.
    plateau = keras.callbacks.ReduceLROnPlateau(monitor="loss_gen", mode="min", factor=0.5,
                                                patience=0, min_delta=1e9)  # Always worse.
    model.fit(lines32.train(32, seed=0), epochs=2, steps_per_epoch=2, verbose=0,
              callbacks=[plateau])
    after = rates(model)
    assert after["optimizer_gen"] < 2e-4 * 0.75  # Reduced at least once...
    assert after["optimizer_disc"] == pytest.approx(after["optimizer_gen"])  # ... both.


EVALUATED = {"baseline": ("loss_ae", "classify_latent"), "denoising": ("loss_ae",),
             "dropout": ("loss_ae",), "vae": ("loss_kl", "loss_ll", "elbo"),
             "aae": ("loss_ae", "loss_adv_prior", "adversary_accuracy"),
             "vqvae": ("loss_ae", "vqvae_loss"),
             "acai": ("loss_ae", "loss_ae_disc", "loss_disc", "loss_disc_real"),
             "dcgan": ("loss_disc", "loss_gen", "d_real", "d_fake"),
             "sngan": ("loss_disc", "loss_gen", "d_real", "d_fake")}


def tiny(name):
    if name in ("dcgan", "sngan"):
        return dict(depth=4, z_dim=16, seed=1)
    return dict(latent=8, depth=8, latent_width=4, lr=1e-3, z_log_size=6, seed=1)


@pytest.mark.parametrize("name", list(registry.models()))
def test_evaluate_reports_the_losses_and_changes_nothing(name, lines32):
    assert set(EVALUATED) == set(registry.models())
    model = registry.build(name, lines32, tiny(name))
    model.compile()
    before = [v.numpy().copy() for v in model.variables]
    iterations = {k: int(o.iterations) for k, o in optimizers_of(model).items()}
    logs = model.evaluate(lines32.test(64).take(3), verbose=0, return_dict=True)
    for loss in EVALUATED[name]:
        assert np.isfinite(logs[loss]), (loss, logs)
    # No optimiser stepped, no weight, moving statistic or codebook moved.
    assert {k: int(o.iterations) for k, o in optimizers_of(model).items()} == iterations
    for b, v in zip(before, model.variables):
        if "seed_generator" not in v.path:
            np.testing.assert_array_equal(b, v.numpy(), err_msg=v.path)


def test_fit_with_validation_data_logs_val_losses_for_early_stopping(lines32):
    model = registry.build("acai", lines32, tiny("acai"))
    model.compile()
    stop = keras.callbacks.EarlyStopping(monitor="val_loss_ae", mode="min", patience=5)
    history = model.fit(lines32.train(32, seed=0), epochs=2, steps_per_epoch=3, verbose=0,
                        validation_data=lines32.test(64).take(2), callbacks=[stop])
    for name in ("val_loss_ae", "val_loss_disc", "val_classify_latent", "loss_ae"):
        assert len(history.history[name]) == 2 and np.all(np.isfinite(history.history[name]))
    # Validation reads the same running means as training, reset for each: the train
    # figures are not the validation ones.
    assert history.history["loss_ae"] != history.history["val_loss_ae"]


def test_a_model_computes_in_its_own_policy_whatever_the_global_one(tmp_path, lines32,
                                                                     monkeypatch):
    """The dtype policy is the model's (`dtype=`), recorded in its run and used by every
    layer of its networks; nothing reads or sets Keras' global policy behind it."""
    model = registry.build("acai", lines32, dict(CONFIGS["acai"]), dtype="mixed_bfloat16")
    assert keras.mixed_precision.dtype_policy().name == "float32"  # The global one.
    assert model.dtype_policy.name == "mixed_bfloat16"
    # Every layer that computes (Keras' functional containers and inputs keep float32:
    # they only pass tensors on).
    hidden = [layer for network in (model.encoder, model.decoder, model.critic)
              for layer in all_layers(network)
              if not isinstance(layer, (keras.Model, keras.layers.InputLayer))]
    assert hidden and {layer.dtype_policy.name for layer in hidden} == {"mixed_bfloat16"}
    x = next(iter(lines32.test(4)))[0]
    assert model.encode(x).dtype == tf.bfloat16
    assert {v.dtype for v in model.trainable_variables} == {"float32"}
    run = registry.new_run(model, lines32, str(tmp_path))
    assert run.config["precision"] == "mixed_bfloat16"
    # Trained, then reloaded in float32 (the default) without touching the global policy.
    train_steps(model, lines32, 2)
    assert model.optimizer_ae.__class__.__name__ != "LossScaleOptimizer"
    train_in(model, lines32, run, batch=32, seed=0, total_kimg=1, report_kimg=1)

    def refuse(policy):
        raise AssertionError(f"the global policy was set to {policy}")

    monkeypatch.setattr(keras.mixed_precision, "set_global_policy", refuse)
    reloaded, _, config = registry.load_run(run.path)
    assert config["precision"] == "mixed_bfloat16"
    assert reloaded.dtype_policy.name == "float32" and reloaded.encode(x).dtype == tf.float32
    # mixed_float16 as the model's own: its optimisers scale the loss.
    half = registry.build("baseline", lines32, dict(CONFIGS["acai"]), dtype="mixed_float16")
    half.compile()
    assert isinstance(half.optimizer_ae, keras.optimizers.LossScaleOptimizer)


def public_calls(model, x):
    """Every public inference call of a model on images x: {name: output}."""
    if hasattr(model, "z_dim"):
        z = np.random.default_rng(0).standard_normal((4, model.z_dim)).astype(np.float32)
        return {"call": model(z), "predict": model.predict(z, verbose=0),
                "generate": model.generate(z), "sample": model.sample(4, seed=1)[0]}
    calls = {"call": model(x), "predict": model.predict(x, verbose=0), "ae": model.ae(x),
             "decode": model.decode(model.encode(x)),
             "interpolate": model.interpolate(x[0], x[1], steps=3)[0]}
    if hasattr(model, "sample"):
        calls["sample"] = model.sample(2, seed=1)[0]
    return calls


@pytest.mark.parametrize("policy", ["mixed_float16", "mixed_bfloat16"])
def test_every_public_call_of_every_model_works_under_a_global_mixed_policy(lines32,
                                                                           policy):
    """The user's global policy set before the model is made (the model computes in it):
    every call gives images of the model's shape, finite, as float32 where the API says
    so, and close to what the same weights give in float32."""
    x = next(iter(lines32.test(4)))[0].numpy()
    for name in registry.models():
        keras.mixed_precision.set_global_policy(policy)
        model = registry.build(name, lines32, tiny(name))
        assert model.dtype_policy.name == policy, name
        mixed = public_calls(model, x)
        keras.mixed_precision.set_global_policy("float32")
        exact = registry.build(name, lines32, tiny(name), dtype="float32")
        exact.set_weights(model.get_weights())
        for call, output in public_calls(exact, x).items():
            got = keras.ops.convert_to_numpy(mixed[call]).astype(np.float32)
            assert got.shape == output.shape and got.shape[-3:] == (32, 32, 1), (name, call)
            assert np.isfinite(got).all(), (name, call)
            # Half precision: within a few of its steps of the float32 outputs in [-1, 1].
            assert np.abs(got - keras.ops.convert_to_numpy(output)).max() < 0.1, (name, call)
        for call in ("generate", "ae", "decode", "sample", "interpolate"):
            if call in mixed:
                assert mixed[call].dtype == np.float32 or mixed[call].dtype == tf.float32, \
                    (name, call, mixed[call].dtype)


def test_keras_export_and_tfsmlayer_serve_the_model(lines32, tmp_path):
    """model.export (Keras' own, endpoint `serve`), without a call first, and
    keras.layers.TFSMLayer of acai-export's SavedModel with its default endpoint."""
    from acai.lib.export import export
    x = next(iter(lines32.test(4)))[0].numpy()
    for name in ("acai", "dcgan"):
        model = registry.build(name, lines32, tiny(name))
        given = (np.random.default_rng(0).standard_normal((4, 16)).astype(np.float32)
                 if name == "dcgan" else x)
        want = keras.ops.convert_to_numpy(model(given))
        model.export(str(tmp_path / f"{name}_keras"), verbose=False)
        reloaded = tf.saved_model.load(str(tmp_path / f"{name}_keras"))
        np.testing.assert_allclose(reloaded.serve(given).numpy(), want, atol=1e-5)
        export(model, str(tmp_path / name))
        layer = keras.layers.TFSMLayer(str(tmp_path / name))  # call_endpoint="serve"
        (out,) = layer(given).values()
        np.testing.assert_allclose(keras.ops.convert_to_numpy(out), want, atol=1e-5)


def test_a_model_class_shows_its_hyperparameters_to_help_and_ides():
    import inspect

    import acai
    from acai.models import ACAI
    signature = inspect.signature(ACAI)
    assert list(signature.parameters)[:2] == ["image_shape", "nclass"]
    advweight = signature.parameters["advweight"]
    assert advweight.default == 0.5 and advweight.annotation is float
    assert advweight.kind is inspect.Parameter.KEYWORD_ONLY
    assert signature.parameters["lr"].default == 1e-4  # A base's parameter too.
    assert "advweight (float, default 0.5): " in ACAI.__doc__
    for name, cls in registry.models().items():  # Every model, every parameter.
        parameters = inspect.signature(cls).parameters
        for param in cls.PARAMS:
            assert parameters[param.name].default == param.default, (name, param.name)
        assert cls.__doc__.count("Hyperparameters (") == 1, name
    assert acai.__version__ not in ("", None)


@pytest.mark.parametrize("name", ["acai", "sngan"])
def test_a_frozen_model_fits_without_updating_its_weights(lines32, name):
    """model.trainable = False, as in Keras: fit runs, reports its losses and changes no
    kernel or bias (it used to crash unpacking no gradients); compile says so."""
    model = registry.build(name, lines32, tiny(name))
    model.trainable = False
    with pytest.warns(UserWarning, match="has no trainable weights"):
        model.compile()
    weights = [v for v in model.weights if v.name in ("kernel", "bias")]
    assert weights
    before = [v.numpy().copy() for v in weights]
    history = model.fit(lines32.train(32, seed=0), epochs=1, steps_per_epoch=2, verbose=0)
    assert all(np.isfinite(values).all() for values in history.history.values())
    for variable, value in zip(weights, before):
        np.testing.assert_array_equal(variable.numpy(), value, err_msg=variable.path)


def test_every_variable_path_names_its_network(lines32):
    """TensorBoard's weight histograms are tagged by variable path: each starts with the
    network it is in (encoder/, decoder/, critic/, generator/, discriminator/, ...), and
    the critic's encoder is not taken for the autoencoder's."""
    for name in registry.models():
        model = registry.build(name, lines32, tiny(name))
        networks = {layer.name for layer in model.layers}
        for variable in model.weights:
            assert variable.path.split("/")[0] in networks, (name, variable.path)
    acai = registry.build("acai", lines32, tiny("acai"))
    assert all(v.path.startswith("critic/critic_encoder/")
               for v in acai.critic.weights), acai.critic.weights[0].path
    assert all(v.path.startswith("encoder/") for v in acai.encoder.weights)


def test_plot_model_draws_every_network(lines32, tmp_path):
    """keras.utils.plot_model of each network of every model (pydot and Graphviz are not
    the toolkit's dependencies: skipped without them)."""
    import shutil
    pytest.importorskip("pydot", reason="plot_model needs pydot (pip install pydot)")
    if shutil.which("dot") is None:
        pytest.skip("plot_model needs Graphviz's dot (apt-get install graphviz)")
    for name in registry.models():
        model = registry.build(name, lines32, tiny(name))
        for network in model.layers:
            if isinstance(network, keras.Model):
                path = tmp_path / f"{name}_{network.name}.png"
                keras.utils.plot_model(network, to_file=str(path), show_shapes=True)
                assert path.read_bytes()[:4] == b"\x89PNG", (name, network.name)
