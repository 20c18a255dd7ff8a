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


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_a_keras_file_restores_weights_and_optimisers_and_training_goes_on(name, lines32,
                                                                        tmp_path):
    model = registry.build(name, lines32, CONFIGS[name])
    train_steps(model, lines32, 3)
    x = next(iter(lines32.test(4)))[0]
    path = str(tmp_path / f"{name}.keras")
    model.save(path)

    loaded = keras.models.load_model(path)
    assert type(loaded) is type(model)
    np.testing.assert_allclose(outputs(loaded, x), outputs(model, x), atol=1e-6)
    for opt_name, optimizer in optimizers_of(model).items():
        restored = getattr(loaded, opt_name)
        assert int(restored.iterations) == int(optimizer.iterations) == 3, opt_name
        for a, b in zip(optimizer.variables, restored.variables):
            np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert loaded.optimizer is getattr(loaded, loaded.MAIN_OPTIMIZER)
    # fit goes on from there.
    loaded.fit(lines32.train(32, seed=1), epochs=1, steps_per_epoch=2, verbose=0)
    assert int(getattr(loaded, loaded.MAIN_OPTIMIZER).iterations) == 5


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
