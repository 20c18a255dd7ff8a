"""SavedModel export of a model's serving functions.

`export(model, export_dir)` writes the functions `model.serving_functions()` returns
(acai.lib.autoencoder: encode, decode, reconstruct, interpolate; vae: also sample; gan:
generate) as the SavedModel's named signatures, every input and output float32 unless
said otherwise, images in [-1, 1] of the model's shape [H, W, C]. The same functions are
attributes of the loaded object (loaded.encode(images) returns the same dict).

It is written to a folder beside export_dir and renamed into place at the end, so
export_dir is either the previous export (or nothing) or the complete new one. Every
export holds MANIFEST (what wrote it, in what format, its files), and only a folder that
holds one, an empty one, or an export written before the manifest existed (recognised by
its files alone: see `is_export`) is ever replaced; any other is refused, untouched.
Check it with `saved_model_cli show --all --dir OUT`; load it with
`tf.saved_model.load(OUT)` (TensorFlow only: the toolkit is not needed). Its
`serving_default` signature is the model's SERVING_DEFAULT function (reconstruct for an
autoencoder, generate for a GAN), what TF Serving calls by default; `serve` is the same
function, what Keras 3's TFSMLayer calls by default.

`export_onnx(model, export_dir)` writes OUT/<name>.onnx for every serving function but
a VAE's `sample` (its seeded random draws have no ONNX operator), each run once by
onnxruntime and checked against TensorFlow; it needs the optional tf2onnx and
onnxruntime (`pip install 'acai-toolkit[onnx]'`).

`export_tflite(model, export_dir, batch)` writes instead one TensorFlow Lite model per
serving function whose inputs are batches (OUT/<name>.tflite, at a fixed batch size:
the decoder's upsampling has no TFLite kernel for a batch of unknown size), each run once
by the TFLite interpreter and checked against TensorFlow before it is kept.
"""

import glob
import json
import os
import shutil
import tempfile
import warnings
from typing import Dict, List

import numpy as np
import tensorflow as tf

from acai.lib.errors import cause
from acai.lib.files import current_umask, write_json
from acai.lib.quiet import library_info_off, stderr_filtered
from acai.lib.run import RunError


class ExportError(RunError):
    """The export cannot be written; the message is one line saying why."""


# --- Writing the SavedModel ----------------------------------------------------------

def describe(signatures):
    """-> lines 'name(input: dtype[shape], ...) -> output: dtype[shape], ...' ('?': any
    size; inputs in the order of the function's arguments, outputs by name), sorted by
    name, for concrete functions {name: function}."""
    def spec(name, s):
        shape = ",".join("?" if n is None else str(n) for n in s.shape.as_list())
        return f"{name}: {s.dtype.name}[{shape}]"
    lines = []
    for name in sorted(signatures):
        function = signatures[name]
        positional, keywords = function.structured_input_signature
        inputs = [(s.name, s) for s in positional] + sorted(keywords.items())
        outputs = function.structured_outputs
        lines.append(f"{name}({', '.join(spec(k, v) for k, v in inputs)})"
                     f" -> {', '.join(spec(k, v) for k, v in sorted(outputs.items()))}")
    return lines


# The file every export holds: {"written_by": "acai-toolkit", "format": ..., "files": ...}.
MANIFEST = "acai_export.json"
# Exports written before the manifest: their files' names (a SavedModel's signatures) are
# the serving functions' of that time, and nothing else was written.
UNMARKED_NAMES = ("encode", "decode", "reconstruct", "interpolate", "sample", "generate")
UNMARKED_SAVED_MODEL = ("saved_model.pb", "variables", "assets", "fingerprint.pb")


def write_manifest(folder, kind):
    """Marks `folder`, a finished export of format `kind`, as the toolkit's own."""
    write_json({"written_by": "acai-toolkit", "format": kind,
                "files": sorted(os.listdir(folder))}, os.path.join(folder, MANIFEST))


def _marked(path):
    try:
        with open(os.path.join(path, MANIFEST)) as f:
            return json.load(f).get("written_by") == "acai-toolkit"
    except (OSError, ValueError, AttributeError):
        return False


def _unmarked_saved_model(path, names):
    """A SavedModel of the toolkit written before the manifest: only a SavedModel's files,
    and signatures among the serving functions' names."""
    if "saved_model.pb" not in names or not set(names) <= set(UNMARKED_SAVED_MODEL):
        return False
    from tensorflow.core.protobuf import saved_model_pb2
    saved = saved_model_pb2.SavedModel()
    try:
        with open(os.path.join(path, "saved_model.pb"), "rb") as f:
            saved.ParseFromString(f.read())
    except Exception:  # Unreadable or not a SavedModel: not recognised, so kept.
        return False
    # Every SavedModel also lists TensorFlow's own __saved_model_init_op.
    signatures = {name for graph in saved.meta_graphs for name in graph.signature_def
                  if not name.startswith("__saved_model")}
    # At least one of the toolkit's own names: serving_default alone is anyone's.
    return (bool(signatures - {"serving_default"})
            and signatures <= set(UNMARKED_NAMES) | {"serving_default"})


def is_export(path: str) -> bool:
    """Whether `path` holds an export of the toolkit: one with its MANIFEST, or one written
    before the manifest, recognised only where its files say so unambiguously (a
    SavedModel whose signatures are all serving functions', or a folder of
    <serving function>.onnx or .tflite files of one format and nothing else)."""
    if _marked(path):
        return True
    names = os.listdir(path) if os.path.isdir(path) else []
    if not names:
        return False
    if _unmarked_saved_model(path, names):
        return True
    stems = [os.path.splitext(name) for name in names]
    return (len({ext for _, ext in stems}) == 1 and stems[0][1] in (".onnx", ".tflite")
            and all(stem in UNMARKED_NAMES and os.path.isfile(os.path.join(path, name))
                    for (stem, _), name in zip(stems, names)))


def check_export_dir(export_dir):
    """Raises ExportError if export_dir cannot take an export: an existing file, or a
    folder that holds anything but an export of the toolkit (is_export)."""
    if os.path.isdir(export_dir):
        names = sorted(os.listdir(export_dir))
        if names and not is_export(export_dir):
            shown = ", ".join(names[:3]) + (", ..." if len(names) > 3 else "")
            raise ExportError(f"{export_dir} holds files the toolkit did not write ({shown});"
                              " not replacing it (choose another --export_dir, or empty it)")
    elif os.path.lexists(export_dir):
        raise ExportError(f"{export_dir} exists and is not a folder")


def _staging_dir(export_dir):
    """A fresh empty folder beside export_dir (same file system, for the rename)."""
    parent = os.path.dirname(os.path.abspath(export_dir))
    if os.path.lexists(parent) and not os.path.isdir(parent):
        raise ExportError(f"cannot write to {parent}: not a folder")
    name = os.path.basename(os.path.abspath(export_dir))
    try:
        os.makedirs(parent, exist_ok=True)
        remove_stale_staging(parent, name)
        staging = tempfile.mkdtemp(prefix=f".{name}.tmp-{os.getpid()}-", dir=parent)
    except OSError as e:
        raise ExportError(f"cannot write to {parent}: {e.strerror}")
    # mkdtemp's folder is private; an export is not.
    os.chmod(staging, 0o777 & ~current_umask())
    return staging


def remove_stale_staging(parent, name):
    """Removes the staging folders of exports to `name` whose process has ended (a
    killed export's); those of a running export are left to it."""
    for path in glob.glob(os.path.join(parent, f".{name}.tmp-*")):
        pid = os.path.basename(path)[len(f".{name}.tmp-"):].split("-")[0]
        if pid.isdigit() and not process_alive(int(pid)):
            shutil.rmtree(path, ignore_errors=True)


def process_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # Alive, but another user's.
        return True
    return True


def _publish(staging, export_dir):
    """Renames the finished export `staging` to export_dir, replacing an earlier one."""
    export_dir = os.path.abspath(export_dir)
    old = None
    try:
        if os.path.isdir(export_dir) and os.listdir(export_dir):
            old = tempfile.mkdtemp(prefix=f".{os.path.basename(export_dir)}.old-",
                                   dir=os.path.dirname(export_dir))
            os.rename(export_dir, os.path.join(old, "export"))
        os.rename(staging, export_dir)  # Replaces an empty folder atomically.
    except OSError as e:
        if old is not None and not os.path.exists(export_dir):
            os.rename(os.path.join(old, "export"), export_dir)  # Put the old one back.
        raise ExportError(f"cannot write {export_dir}: {e.strerror}")
    finally:
        # The earlier export goes once export_dir holds a whole one (new or put back).
        if old is not None and os.path.exists(export_dir):
            shutil.rmtree(old, ignore_errors=True)


def export(model, export_dir: str) -> List[str]:
    """Writes `model`'s serving signatures as a SavedModel at export_dir.

    Returns the lines of `describe` for the signatures written. The model computes in its
    own dtype policy: a run loaded by `registry.load_run` is float32 (acai-export's), also
    when it trained in mixed precision.
    """
    check_export_dir(export_dir)
    functions = model.serving_functions()
    module, signatures = serving_module(functions)
    # TF Serving calls serving_default; Keras 3's TFSMLayer calls `serve` by default.
    signatures["serving_default"] = signatures["serve"] = signatures[model.SERVING_DEFAULT]
    staging = _staging_dir(export_dir)
    try:
        with library_info_off():
            tf.saved_model.save(module, staging, signatures=signatures)
        write_manifest(staging, "saved_model")
        _publish(staging, export_dir)
    except (tf.errors.OpError, OSError) as e:
        raise ExportError(f"cannot write {export_dir} ({cause(e)}); an earlier export there "
                          "is kept") from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return describe(signatures)


def serving_module(functions):
    """-> (a tf.Module holding the tf.functions and only the variables they read (not the
    optimisers', nor a GAN's critic), {name: concrete function})."""
    signatures = {name: fn.get_concrete_function() for name, fn in functions.items()}
    module = tf.Module()
    for name, fn in functions.items():
        setattr(module, name, fn)
    captured = {}
    for concrete in signatures.values():
        for variable in concrete.variables:
            captured.setdefault(id(variable), variable)
    module.model_variables = list(captured.values())
    return module, signatures


def batched_functions(model, batch):
    """The serving functions whose inputs all have a batch axis, that axis fixed to
    `batch`: {name: tf.function}."""
    fixed = {}
    for name, fn in model.serving_functions().items():
        specs = fn.input_signature
        if not all(s.shape.rank and s.shape[0] is None for s in specs):
            continue  # interpolate's steps, sample's count: not batches.
        fixed[name] = tf.function(fn.python_function, input_signature=batch_of(specs, batch))
    return fixed


def example_inputs(specs, seed=0):
    """Random inputs for input specs of known shape: floats in [-1, 1], integers 3 (a
    class index, interpolate's steps)."""
    rng = np.random.default_rng(seed)
    return {s.name: (rng.uniform(-1, 1, s.shape.as_list()).astype(np.float32)
                     if s.dtype.is_floating else np.full(s.shape.as_list(), 3,
                                                         s.dtype.as_numpy_dtype))
            for s in specs}


# What TensorFlow's TFLite converter logs on every conversion, at warning and error level,
# that says nothing of the result (which is checked against TensorFlow after).
TFLITE_CONVERTER_NOTES = ("Ignored output_format", "Ignored drop_control_dependency",
                          "NodeDef mentions attribute Truncate")


def export_tflite(model, export_dir: str, batch: int = 1,
                  tolerance: float = 1e-4) -> Dict[str, float]:
    """Writes OUT/<name>.tflite for each serving function of batches, at `batch` images
    a call; -> {name: the largest difference from TensorFlow's output on random inputs}.
    A function that does not convert, or computes otherwise than TensorFlow, is an
    ExportError."""
    check_export_dir(export_dir)
    functions = batched_functions(model, batch)
    # The converter reads the captured tf.Variables through the module (fed Keras 3's
    # variables, it computed NaN).
    module, _ = serving_module(functions)

    def convert(fn, path):
        with stderr_filtered(lambda line: any(
                note in line for note in TFLITE_CONVERTER_NOTES)):
            blob = tf.lite.TFLiteConverter.from_concrete_functions(
                [fn.get_concrete_function()], module).convert()
        with open(path, "wb") as f:
            f.write(blob)
        with warnings.catch_warnings():
            # "tf.lite.Interpreter is deprecated": it is what TensorFlow has (LiteRT's
            # is another package); it only checks the converted model here.
            warnings.filterwarnings("ignore", message=".*Interpreter is deprecated")
            return tf.lite.Interpreter(model_content=blob).get_signature_runner()

    with library_info_off():
        return write_checked(functions, export_dir, "tflite", convert, tolerance)


# Serving functions ONNX has no operators for (stateless random draws).
NOT_ONNX = ("sample",)
ONNX_OPSET = 17


def export_onnx(model, export_dir: str, tolerance: float = 1e-5) -> Dict[str, float]:
    """Writes OUT/<name>.onnx for each serving function but NOT_ONNX; -> {name: the
    largest difference from TensorFlow's output on random inputs (a batch of 2)}. A
    function that does not convert, or computes otherwise, is an ExportError."""
    try:
        import onnxruntime
        import tf2onnx
    except ImportError as e:
        raise ExportError(f"--format=onnx needs tf2onnx and onnxruntime ({e}): "
                          "pip install 'acai-toolkit[onnx]'") from None
    check_export_dir(export_dir)
    functions = {name: fn for name, fn in model.serving_functions().items()
                 if name not in NOT_ONNX}

    def convert(fn, path):
        tf2onnx.convert.from_function(fn, input_signature=fn.input_signature,
                                      opset=ONNX_OPSET, output_path=path)
        session = onnxruntime.InferenceSession(path, providers=["CPUExecutionProvider"])
        names = [output.name for output in session.get_outputs()]
        return lambda **inputs: dict(zip(names, session.run(None, inputs)))

    with library_info_off():
        return write_checked(functions, export_dir, "onnx", convert, tolerance)


def write_checked(functions, export_dir, extension, convert, tolerance):
    """Writes OUT/<name>.<extension> for each of `functions` (tf.functions with an input
    signature), with `convert(function, path)` -> a runner: inputs by name -> {output
    name: array}; keeps the folder only if every runner matches TensorFlow on random
    inputs (a batch of 2 where the batch is free) within `tolerance`; -> {name: the
    largest difference}."""
    staging = _staging_dir(export_dir)
    differences = {}
    try:
        for name, function in functions.items():
            try:
                run = convert(function, os.path.join(staging, f"{name}.{extension}"))
            except Exception as e:  # The converters' errors come in several types.
                raise ExportError(f"{name} does not convert to {extension}: "
                                  f"{str(e).strip().splitlines()[-1][:300]}") from None
            inputs = example_inputs(batch_of(function.input_signature, 2))
            got = run(**inputs)
            want = function(**{k: tf.constant(v) for k, v in inputs.items()})
            differences[name] = max(float(np.max(np.abs(got[k] - want[k].numpy())))
                                    for k in want)
            if not differences[name] <= tolerance:
                raise ExportError(f"{name}.{extension} computes otherwise than TensorFlow "
                                  f"(up to {differences[name]:.3g} apart); not written")
        write_manifest(staging, extension)
        _publish(staging, export_dir)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return differences


def batch_of(specs, batch):
    """Input specs with an unknown batch axis set to `batch`."""
    return [tf.TensorSpec([batch] + s.shape.as_list()[1:], s.dtype, name=s.name)
            if s.shape.rank and s.shape[0] is None else s for s in specs]


def staging_check(export_dir):
    """Raises ExportError now if export_dir's folder cannot be written."""
    os.rmdir(_staging_dir(export_dir))
