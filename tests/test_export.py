"""SavedModel export (acai.export, vae.export, gan.export): the signatures give, loaded in
a fresh process, what the trained model gives; saved_model_cli lists them; faults are one
line and a non-zero exit status."""

import json
import os
import re
import shutil
import subprocess
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf

from acai import registry
from acai.lib import device, export
from acai.lib.interpolate import lerp
from acai.lib.run import Run
from acai.registry import build
from gan.models import GAN as GANModel
from vae.model import VAE, prior_sample
from conftest import REPO, SMALL, deadline, error_level_lines, train_in

TIMEOUT = 300
# Every test here starts the export binaries or a fresh process: the slow tier.
pytestmark = pytest.mark.slow
AE = dict(latent=8, latent_width=4, depth=8)  # Latent 4x4x8.
GAN = dict(depth=8, z_dim=16)

# Loads every SavedModel named in argv[1] ({export_dir: [inputs.npz, outputs.npz]}) and
# runs each signature on the inputs named "signature.argument"; writes "signature.output".
CHILD = r"""
import json, sys
import numpy as np
import tensorflow as tf
for path, (inputs, outputs) in json.loads(sys.argv[1]).items():
    loaded = tf.saved_model.load(path)
    feeds = {}
    for key, value in np.load(inputs).items():
        signature, argument = key.split(".")
        feeds.setdefault(signature, {})[argument] = tf.constant(value)
    result = {"signatures": np.array(sorted(loaded.signatures))}
    for signature, kwargs in feeds.items():
        for name, value in loaded.signatures[signature](**kwargs).items():
            result[f"{signature}.{name}"] = value.numpy()
    default = "reconstruct" if "reconstruct" in feeds else "generate"
    result["default.images"] = list(loaded.signatures["serving_default"](
        **feeds[default]).values())[0].numpy()
    serve = list(loaded.signatures["serve"](**feeds[default]).values())[0].numpy()
    assert (serve == result["default.images"]).all()
    if "reconstruct" in feeds:  # The functions are also attributes of the loaded object.
        result["attribute.reconstructions"] = loaded.reconstruct(
            feeds["reconstruct"]["images"])["reconstructions"].numpy()
        try:
            loaded.signatures["interpolate"](
                **dict(feeds["interpolate"], steps=tf.constant(0)))
        except tf.errors.InvalidArgumentError as e:
            result["steps0.error"] = np.array(str(e))
    # What the signatures are fed unchecked by TensorFlow (a rank-3 batch aborted the
    # process): each is one error naming the input.
    bad = {}
    if "encode" in feeds:
        images = feeds["encode"]["images"]
        bad = {"encode.single": dict(images=images[0]),
               "encode.channels": dict(images=tf.concat([images] * 3, -1)),
               "encode.size": dict(images=tf.tile(images, [1, 2, 2, 1])),
               "encode.pixels": dict(images=(images + 1) * 127.5),
               "decode.latent": dict(latent=feeds["decode"]["latent"][..., :1])}
    if "generate" in feeds:
        bad["generate.z"] = dict(feeds["generate"], z=feeds["generate"]["z"][:, :3])
    for key, kwargs in bad.items():
        try:
            loaded.signatures[key.split(".")[0]](**kwargs)
        except tf.errors.InvalidArgumentError as e:
            result[f"bad.{key}"] = np.array(str(e))
    if "label" in feeds.get("generate", {}):
        try:
            loaded.signatures["generate"](
                z=feeds["generate"]["z"][:1], label=tf.constant([1000], tf.int64))
        except tf.errors.InvalidArgumentError as e:
            result["label.error"] = np.array(str(e))
    np.savez(outputs, **result)
"""


def python(*args):
    return subprocess.Popen([sys.executable, *args], cwd=REPO, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def finish(process):
    stdout, stderr = process.communicate(timeout=deadline(TIMEOUT))
    return process.returncode, stdout, stderr


def train_run(root, spec, name, **config):
    config = dict(model=name, dataset="lines32", classes=[], batch=32, lr=1e-3, seed=0,
                  **config)
    model = build(name, spec, config)
    run = Run(str(root), "lines32", model.experiment_name(), config)
    train_in(model, spec, run, batch=32, total_kimg=1, report_kimg=1, seed=0,
                   verbose=False)
    return model, run.path


def expected_outputs(model, x, rng):
    """-> (inputs {"signature.argument": array}, what the model in this process gives
    {"signature.output": array}) for every signature of model."""
    if isinstance(model, GANModel):
        z = rng.standard_normal((5, model.z_dim)).astype(np.float32)
        inputs = {"generate.z": z}
        z = tf.constant(z)
        if model.conditional:
            label = np.arange(5, dtype=np.int64) % model.nclass
            inputs["generate.label"] = label
            images = model.generate(z, label=label)
        else:
            images = model.generate(z)
        return inputs, {"generate.images": np.asarray(images)}
    z = rng.standard_normal((5,) + tuple(model.latent_shape)).astype(np.float32)
    steps = 7
    inputs = {"encode.images": x, "decode.latent": z, "reconstruct.images": x,
              "interpolate.image_a": x[0], "interpolate.image_b": x[1],
              "interpolate.steps": np.int32(steps)}
    codes = np.asarray(model.encode(x[:2]))
    path = lerp(codes[:1], codes[1:], steps)[0]
    expected = {"encode.latent": np.asarray(model.encode(x)),
                "decode.images": np.asarray(model.decode(z)),
                "reconstruct.reconstructions": np.asarray(model.ae(x)),
                "attribute.reconstructions": np.asarray(model.ae(x)),
                "interpolate.images": np.asarray(model.decode(path)),
                "interpolate.latent": path}
    if isinstance(model, VAE):
        _, log_variance = model.posterior(x)
        expected["encode.log_variance"] = np.reshape(
            log_variance, (-1,) + tuple(model.latent_shape))
        inputs.update({"sample.count": np.int32(6), "sample.seed": np.int32(3)})
        latent = np.asarray(prior_sample(6, 3, list(model.latent_shape)))
        expected.update({"sample.latent": latent,
                         "sample.images": np.asarray(model.decode(latent))})
    return inputs, expected


def assert_quiet(stderr):
    """An export's log holds nothing that reads as trouble: no error-level line (on a
    machine without a GPU, where TensorFlow's cuInit line is left out), none of
    TensorFlow's INFO records (the renaming of resource inputs) nor tf2onnx's, nor the
    TFLite converter's and interpreter's notes."""
    if not device.has_gpu_device_node():
        assert error_level_lines(stderr) == [], stderr[-3000:]
    for note in ("unsupported characters", "Optimizing ONNX model", "Ignored output_format",
                 "Interpreter is deprecated"):
        assert note not in stderr, note


@pytest.fixture(scope="module")
def exports(tmp_path_factory, lines32):
    """{name: (model in this process, run dir, export dir, CLI stdout)}, each written by
    the command line except "dcgan" (export.export in this process, no run)."""
    keras.mixed_precision.set_global_policy("float32")
    keras.utils.set_random_seed(0)
    root = tmp_path_factory.mktemp("export")
    runs = {"baseline": train_run(root / "runs", lines32, "baseline", **AE),
            "vae": train_run(root / "runs", lines32, "vae", latent_dim=2, **AE)}
    binaries = {"baseline": "acai.export", "vae": "vae.export"}
    runs["dcgan_conditional"] = train_run(root / "runs", lines32, "dcgan",
                                          conditional=True, **GAN)
    binaries["dcgan_conditional"] = "gan.export"
    processes = {name: python("-m", binaries[name], f"--run={path}",
                              f"--export_dir={root / 'out' / name}")
                 for name, (_, path) in runs.items()}
    result = {}
    # Meanwhile, an unconditional GAN exported in this process.
    model = build("dcgan", lines32, dict(lr=2e-4, **GAN))
    out = str(root / "out" / "dcgan")
    lines = export.export(model, out)
    assert lines == ["generate(z: float32[?,16]) -> images: float32[?,32,32,1]",
                     "serve(z: float32[?,16]) -> images: float32[?,32,32,1]",
                     "serving_default(z: float32[?,16]) -> images: float32[?,32,32,1]"]
    result["dcgan"] = (model, None, out, "\n".join(lines))
    for name, process in processes.items():
        returncode, stdout, stderr = finish(process)
        assert returncode == 0, stderr[-3000:]
        assert_quiet(stderr)
        result[name] = (runs[name][0], runs[name][1], str(root / "out" / name), stdout)
    return result


def test_loaded_in_a_fresh_process_it_gives_the_trained_models_outputs(exports, lines32,
                                                                       tmp_path):
    x = next(iter(lines32.test(8)))[0].numpy()
    rng = np.random.default_rng(0)
    expected, files = {}, {}
    for name, (model, _, out, _) in exports.items():
        inputs, expected[name] = expected_outputs(model, x, rng)
        files[out] = [str(tmp_path / f"{name}_in.npz"), str(tmp_path / f"{name}_out.npz")]
        np.savez(files[out][0], **inputs)
    returncode, _, stderr = finish(python("-c", CHILD, json.dumps(files)))
    assert returncode == 0, stderr[-3000:]

    signatures = {"baseline": ["decode", "encode", "interpolate", "reconstruct"],
                  "vae": ["decode", "encode", "interpolate", "reconstruct", "sample"],
                  "dcgan": ["generate"], "dcgan_conditional": ["generate"]}
    for name, (model, _, out, _) in exports.items():
        got = dict(np.load(files[out][1]))
        assert list(got.pop("signatures")) == signatures[name] + ["serve",
                                                                  "serving_default"], name
        # serving_default (TF Serving's) and serve (Keras TFSMLayer's) are reconstruct, or
        # generate.
        default = ("reconstruct.reconstructions" if "reconstruct.reconstructions" in got
                   else "generate.images")
        np.testing.assert_array_equal(got.pop("default.images"), got[default])
        if "steps0.error" in got:
            assert "steps must be >= 1" in str(got.pop("steps0.error")), name
        if "label.error" in got:
            assert "labels must be < nclass = 10" in str(got.pop("label.error")), name
        refused = {key[4:]: str(got.pop(key)) for key in list(got) if key[:4] == "bad."}
        wanted = {"generate.z": "Shape of tensor z [5,3] is not compatible with expected "
                                "shape [?,16]"}
        if name in ("baseline", "vae"):
            wanted = {key: "Shape of tensor images" for key in
                      ("encode.single", "encode.channels", "encode.size")}
            wanted.update({"encode.pixels": "images: images in [-1, 1] expected, values "
                                            "beyond given (x / 127.5 - 1 for 0-255 pixels",
                           "decode.latent": "Shape of tensor latent"})
        assert sorted(refused) == sorted(wanted), name
        for key, text in wanted.items():
            assert text in refused[key], (name, key, refused[key][:300])
        assert sorted(got) == sorted(expected[name]), name
        for key, value in expected[name].items():
            assert got[key].dtype == np.float32, (name, key)
            assert got[key].shape == value.shape, (name, key, got[key].shape, value.shape)
            np.testing.assert_allclose(got[key], value, atol=1e-5, rtol=1e-5,
                                       err_msg=f"{name} {key}")
    # Sanity of what was compared: the interpolation goes from a's code to b's, the
    # VAE's samples are of the latent's shape and not all the same image.
    baseline = expected["baseline"]
    np.testing.assert_allclose(baseline["interpolate.latent"][[0, -1]],
                               baseline["encode.latent"][:2], atol=1e-6)
    vae = expected["vae"]
    assert vae["sample.latent"].shape == (6, 2)
    assert vae["sample.images"].shape == (6, 32, 32, 1)
    assert np.ptp(vae["sample.images"], axis=0).max() > 0


def test_the_command_prints_and_saved_model_cli_shows_the_signatures(exports):
    stdout = exports["baseline"][3]
    assert f"{exports['baseline'][1]}: its checkpoint of kimg=1" in stdout
    assert "encode(images: float32[?,32,32,1]) -> latent: float32[?,4,4,8]" in stdout
    assert ("interpolate(image_a: float32[32,32,1], image_b: float32[32,32,1], "
            "steps: int32[]) -> images: float32[?,32,32,1], latent: float32[?,4,4,8]"
            in stdout)
    assert ("sample(count: int32[], seed: int32[]) -> images: float32[?,32,32,1], "
            "latent: float32[?,2]" in exports["vae"][3])
    assert ("generate(z: float32[?,16], label: int64[?]) -> images: float32[?,32,32,1]"
            in exports["dcgan_conditional"][3])
    # Nothing half-written, no staging folder, beside the exports.
    parent = os.path.dirname(exports["baseline"][2])
    assert sorted(os.listdir(parent)) == sorted(exports)

    cli = shutil.which("saved_model_cli")
    if cli is None:
        pytest.skip("saved_model_cli is not on PATH")
    names = [name for name in ("vae", "dcgan_conditional") if name in exports]
    processes = {name: subprocess.Popen([cli, "show", "--all", "--dir", exports[name][2]],
                                        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                        text=True) for name in names}
    shown = {}
    for name, process in processes.items():
        returncode, stdout, stderr = finish(process)
        assert returncode == 0, stderr[-3000:]
        shown[name] = {block.split("']")[0]: block
                       for block in stdout.split("signature_def['")[1:]}
    vae = shown["vae"]
    assert {"encode", "decode", "reconstruct", "interpolate", "sample", "serve",
            "serving_default"} <= set(vae)

    def lists(block, kind, key, dtype, shape):
        part = block.split(f"{kind}['{key}'] tensor_info:")[1]
        assert f"dtype: {dtype}" in part.split("name:")[0], (key, part)
        assert f"shape: {shape}" in part.split("name:")[0], (key, part)

    lists(vae["encode"], "inputs", "images", "DT_FLOAT", "(-1, 32, 32, 1)")
    lists(vae["encode"], "outputs", "latent", "DT_FLOAT", "(-1, 2)")
    lists(vae["encode"], "outputs", "log_variance", "DT_FLOAT", "(-1, 2)")
    lists(vae["decode"], "inputs", "latent", "DT_FLOAT", "(-1, 2)")
    lists(vae["decode"], "outputs", "images", "DT_FLOAT", "(-1, 32, 32, 1)")
    lists(vae["reconstruct"], "inputs", "images", "DT_FLOAT", "(-1, 32, 32, 1)")
    lists(vae["reconstruct"], "outputs", "reconstructions", "DT_FLOAT", "(-1, 32, 32, 1)")
    lists(vae["serving_default"], "outputs", "reconstructions", "DT_FLOAT",
          "(-1, 32, 32, 1)")
    lists(vae["interpolate"], "inputs", "image_a", "DT_FLOAT", "(32, 32, 1)")
    lists(vae["interpolate"], "inputs", "image_b", "DT_FLOAT", "(32, 32, 1)")
    lists(vae["interpolate"], "inputs", "steps", "DT_INT32", "()")
    lists(vae["interpolate"], "outputs", "images", "DT_FLOAT", "(-1, 32, 32, 1)")
    lists(vae["sample"], "inputs", "count", "DT_INT32", "()")
    lists(vae["sample"], "inputs", "seed", "DT_INT32", "()")
    lists(vae["sample"], "outputs", "images", "DT_FLOAT", "(-1, 32, 32, 1)")
    generate = shown["dcgan_conditional"]["generate"]
    lists(generate, "inputs", "z", "DT_FLOAT", "(-1, 16)")
    lists(generate, "inputs", "label", "DT_INT64", "(-1)")
    lists(generate, "outputs", "images", "DT_FLOAT", "(-1, 32, 32, 1)")


def test_a_new_export_replaces_an_earlier_one_whole(tmp_path, lines32):
    out = tmp_path / "out"
    first = build("dcgan", lines32, dict(lr=2e-4, **GAN))
    export.export(first, str(out))
    (out / "stale").write_text("from the first export")
    second = build("dcgan", lines32, dict(lr=2e-4, depth=8, z_dim=4))
    assert export.export(second, str(out))[0].startswith("generate(z: float32[?,4])")
    assert not (out / "stale").exists() and (out / "saved_model.pb").exists()
    assert os.listdir(tmp_path) == ["out"]


def test_only_the_toolkits_own_exports_are_replaced(tmp_path, lines32):
    """An export is marked (MANIFEST) and replaces only a marked folder, an empty one, or
    an unmarked export of the toolkit's (its files say so unambiguously); a folder of the
    user's own models, or their own SavedModel, is refused and kept as it was, by every
    format's writer."""
    model = build("dcgan", lines32, dict(lr=2e-4, **GAN))
    out = tmp_path / "out"
    export.export(model, str(out))
    manifest = json.loads((out / export.MANIFEST).read_text())
    assert manifest["format"] == "saved_model" and "saved_model.pb" in manifest["files"]
    assert export.is_export(str(out))
    # Written before the manifest (and before the `serve` signature): recognised by its
    # files, and replaced.
    from tensorflow.core.protobuf import saved_model_pb2
    (out / export.MANIFEST).unlink()
    assert not export.is_export(str(out))  # `serve`: Keras' model.export writes one too.
    saved = saved_model_pb2.SavedModel.FromString((out / "saved_model.pb").read_bytes())
    del saved.meta_graphs[0].signature_def["serve"]
    (out / "saved_model.pb").write_bytes(saved.SerializeToString())
    assert export.is_export(str(out))
    legacy = tmp_path / "legacy"
    legacy.mkdir()
    for name in ("encode.onnx", "decode.onnx", "reconstruct.onnx"):
        (legacy / name).write_bytes(b"onnx")
    assert export.is_export(str(legacy))
    # Not the toolkit's: the user's models, a mix of formats, their own SavedModel.
    mine = tmp_path / "mine"
    mine.mkdir()
    for name in ("resnet50.onnx", "yolo.tflite"):
        (mine / name).write_bytes(b"theirs")
    mixed = tmp_path / "mixed"
    mixed.mkdir()
    for name in ("encode.onnx", "decode.tflite"):
        (mixed / name).write_bytes(b"theirs")
    module = tf.Module()
    module.classify = tf.function(lambda x: {"y": x * 2},
                                  input_signature=[tf.TensorSpec([None], tf.float32)])
    theirs = tmp_path / "their_saved_model"
    tf.saved_model.save(module, str(theirs), signatures={"classify": module.classify})
    # Their SavedModel of serving_default alone (tf.saved_model.save's default name).
    their_default = tmp_path / "their_default"
    tf.saved_model.save(module, str(their_default),
                        signatures={"serving_default": module.classify})
    for folder in (mine, mixed, theirs, their_default):
        before = sorted(os.listdir(folder))
        assert not export.is_export(str(folder)), folder
        for write in (lambda: export.export(model, str(folder)),
                      lambda: export.export_tflite(model, str(folder))):
            with pytest.raises(export.ExportError, match="holds files the toolkit did not "
                               "write .*; not replacing it"):
                write()
        assert sorted(os.listdir(folder)) == before
    for folder in (out, legacy):  # Replaced, and marked.
        export.export_tflite(model, str(folder))
        assert sorted(os.listdir(folder)) == sorted(["generate.tflite", export.MANIFEST])
    assert sorted(os.listdir(tmp_path)) == ["legacy", "mine", "mixed", "out",
                                            "their_default", "their_saved_model"]


# TensorFlow's own C++ start-up log lines (not the binary's).
TF_LOG = re.compile(r"^([IWEF]\d{4} |WARNING: All log messages before absl|To enable the "
                    r"following instructions)")


def errors(*args, binary="acai.export"):
    """The binary's stderr lines, without TensorFlow's start-up log lines."""
    returncode, stdout, stderr = finish(python("-m", binary, *args))
    assert returncode != 0 and "Traceback" not in stderr, stderr[-3000:]
    return [line for line in stderr.splitlines() if line.strip() and not TF_LOG.match(line)]


def test_faults_are_one_line_and_a_non_zero_exit(tmp_path, exports):
    missing = tmp_path / "nope"
    out = f"--export_dir={tmp_path / 'out'}"
    assert errors(f"--run={missing}", out) == [
        f"acai.export: error: no run at {missing}: {missing / 'config.json'} not found"]
    assert errors(out) == ["acai.export: error: --run is required"]
    # An export_dir that is a file's child, or a folder of something else, is refused
    # before the run is loaded, and the folder is left as it was.
    run = f"--run={exports['baseline'][1]}"
    (tmp_path / "file").write_text("")
    assert errors(run, f"--export_dir={tmp_path / 'file' / 'out'}") == [
        f"acai.export: error: cannot write to {tmp_path / 'file'}: not a folder"]
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "notes.txt").write_text("mine")
    assert errors(run, f"--export_dir={tmp_path / 'data'}") == [
        f"acai.export: error: {tmp_path / 'data'} holds files the toolkit did not write "
        "(notes.txt); not replacing it (choose another --export_dir, or empty it)"]
    assert os.listdir(tmp_path / "data") == ["notes.txt"]
    # A folder of the user's own models is not taken for an earlier export.
    (tmp_path / "mine").mkdir()
    for name in ("resnet50.onnx", "yolo.tflite"):
        (tmp_path / "mine" / name).write_text(name)
    assert errors(run, f"--export_dir={tmp_path / 'mine'}", "--format=tflite") == [
        f"acai.export: error: {tmp_path / 'mine'} holds files the toolkit did not write "
        "(resnet50.onnx, yolo.tflite); not replacing it (choose another --export_dir, or "
        "empty it)"]
    assert sorted(os.listdir(tmp_path / "mine")) == ["resnet50.onnx", "yolo.tflite"]
    # A run without a checkpoint: TensorFlow has started (and may log), one error line.
    (tmp_path / "empty").mkdir()
    shutil.copy(os.path.join(exports["baseline"][1], "config.json"), tmp_path / "empty")
    lines = errors(f"--run={tmp_path / 'empty'}", out, binary="gan.export")
    assert lines[-1] == (f"gan.export: error: the run at {tmp_path / 'empty'} has no "
                         "checkpoint yet")
    assert sum("gan.export: error:" in line for line in lines) == 1, lines
    assert not (tmp_path / "out").exists()


def test_tflite_export_converts_and_runs_every_function_of_batches(exports, lines32,
                                                                  tmp_path):
    """acai-export --format=tflite: encode, decode, reconstruct (and a GAN's generate) as
    TensorFlow Lite models at a fixed batch, which the TFLite interpreter runs to the
    trained model's outputs."""
    x = next(iter(lines32.test(2)))[0].numpy()
    for name in ("baseline", "dcgan_conditional"):
        if name not in exports:
            continue
        model, run_dir, _, _ = exports[name]
        out = tmp_path / name
        returncode, stdout, stderr = finish(python(
            "-m", "acai.export", f"--run={run_dir}", f"--export_dir={out}",
            "--format=tflite", "--tflite_batch=2"))
        assert returncode == 0, stderr[-3000:]
        assert_quiet(stderr)
        expected = {"baseline": ["decode.tflite", "encode.tflite", "reconstruct.tflite"],
                    "dcgan_conditional": ["generate.tflite"]}[name]
        assert sorted(os.listdir(out)) == sorted(expected + [export.MANIFEST])
        assert "checked" in stdout
        for file in expected:
            runner = tf.lite.Interpreter(
                model_path=str(out / file)).get_signature_runner()
            if file == "generate.tflite":
                z = np.random.default_rng(0).standard_normal((2, 16)).astype(np.float32)
                label = np.array([3, 7], np.int64)
                got = runner(z=z, label=label)["images"]
                want = model.generate(z, label)
            elif file == "decode.tflite":
                latent = np.asarray(model.encode(x))
                got, want = runner(latent=latent)["images"], model.decode(latent)
            elif file == "encode.tflite":
                got, want = runner(images=x)["latent"], model.encode(x)
            else:
                got, want = runner(images=x)["reconstructions"], model.ae(x)
            np.testing.assert_allclose(got, np.asarray(want), atol=1e-5, err_msg=file)


def test_onnx_export_converts_and_runs_every_function(exports, lines32, tmp_path):
    """acai-export --format=onnx: every serving function (a VAE's sample aside: its
    seeded draws have no ONNX operator) as an ONNX model that onnxruntime runs to the
    trained model's outputs; no output is named like an input."""
    ort = pytest.importorskip("onnxruntime", reason="the optional onnx extra: "
                              "pip install 'acai-toolkit[onnx]'")
    pytest.importorskip("tf2onnx", reason="the optional onnx extra")
    x = next(iter(lines32.test(3)))[0].numpy()
    expected = {"baseline": ["decode", "encode", "interpolate", "reconstruct"],
                "vae": ["decode", "encode", "interpolate", "reconstruct"],
                "dcgan_conditional": ["generate"]}
    for name, files in expected.items():
        if name not in exports:
            continue
        model, run_dir, _, _ = exports[name]
        out = tmp_path / name
        returncode, stdout, stderr = finish(python(
            "-m", "acai.export", f"--run={run_dir}", f"--export_dir={out}", "--format=onnx"))
        assert returncode == 0, stderr[-3000:]
        assert_quiet(stderr)
        assert sorted(os.listdir(out)) == sorted(
            [f"{file}.onnx" for file in files] + [export.MANIFEST]), stdout
        for file in files:
            session = ort.InferenceSession(str(out / f"{file}.onnx"),
                                           providers=["CPUExecutionProvider"])
            inputs = {i.name for i in session.get_inputs()}
            outputs = [o.name for o in session.get_outputs()]
            assert not inputs & set(outputs), (file, inputs, outputs)
            if file == "generate":
                z = np.random.default_rng(0).standard_normal((3, 16)).astype(np.float32)
                label = np.array([1, 3, 7], np.int64)
                feeds, want = dict(z=z, label=label), [model.generate(z, label)]
            elif file == "encode":
                feeds, want = dict(images=x), [model.encode(x)]
            elif file == "decode":
                latent = np.asarray(model.encode(x))
                feeds, want = dict(latent=latent), [model.decode(latent)]
            elif file == "reconstruct":
                feeds, want = dict(images=x), [model.ae(x)]
            else:
                feeds = dict(image_a=x[0], image_b=x[1], steps=np.array(5, np.int32))
                images, path = model.interpolate(x[0], x[1], 5)
                want = [images, path]
            got = session.run(None, feeds)
            for g, w in zip(got, want):
                np.testing.assert_allclose(g, np.asarray(w), atol=1e-5, err_msg=file)


def test_a_killed_exports_staging_folder_is_removed_by_the_next(tmp_path, lines32):
    model = registry.build("baseline", lines32, SMALL)
    stale = tmp_path / ".out.tmp-999999999-abc"  # A process that cannot exist.
    live = tmp_path / f".out.tmp-{os.getpid()}-def"  # An export still running.
    for folder in (stale, live):
        folder.mkdir()
        (folder / "saved_model.pb").write_bytes(b"half")
    export.export(model, str(tmp_path / "out"))
    assert not stale.exists() and live.exists()
    assert (tmp_path / "out" / "saved_model.pb").exists()


def test_an_unfinished_run_exports_its_latest_checkpoint_with_a_warning(tmp_path, lines32):
    _, run_dir = train_run(tmp_path / "runs", lines32, "baseline", **AE)
    config_path = os.path.join(run_dir, "config.json")
    config = json.loads(open(config_path).read())
    config["total_kimg"] = 4  # As if it had been stopped at kimg 1 of 4.
    with open(config_path, "w") as f:
        json.dump(config, f)
    returncode, stdout, stderr = finish(python("-m", "acai.export", f"--run={run_dir}",
                                               f"--export_dir={tmp_path / 'out'}"))
    assert returncode == 0, stderr[-3000:]
    assert f"{run_dir}: its checkpoint of kimg=1" in stdout
    assert (f"{run_dir} has not finished training (kimg=1 of its total_kimg=4): exporting "
            "its latest checkpoint") in stderr

