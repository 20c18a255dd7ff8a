"""The flags of a training binary: the run's own, then the models' declared parameters.

    define(models, default_model="acai")

defines --model (one of `models`), the flags every run has, and one flag per parameter
(acai.lib.params.Param) any of the models declares. A parameter's default is the one
the model named by `--model` on the command line declares (`--model=vae --help` shows
beta 1.0, `--model=vqvae --help` 10.0); a parameter the model does not use keeps the
first declaring model's default, and its help names the models that use it.
"""

import math
import sys

from absl import flags

from acai.lib.params import declared
from flags import common
from acai.lib.run import SETTINGS
from acai.lib.device import PRECISIONS, STRATEGIES


def peek(argv, name, default):
    """The value of --name in argv (the last one given), before absl parses it."""
    value = default
    for i, arg in enumerate(argv[1:], 1):
        if arg.startswith(f"--{name}="):
            value = arg.split("=", 1)[1]
        elif arg == f"--{name}" and i + 1 < len(argv):
            value = argv[i + 1]
    return value


def define_run_flags(models, default_model):
    flags.DEFINE_enum("model", default_model, sorted(models), "Which model to train.")
    flags.DEFINE_string("train_dir", "./experiments", "Folder where runs are stored.")
    # An empty --train_dir= would train into the current folder.
    flags.register_validator("train_dir", lambda value: bool(value and value.strip()),
                             "--train_dir must name a folder (it is empty)")
    flags.DEFINE_string("dataset", "lines32", "lines32, mnist32, svhn32, cifar10, "
                        "celeba32, tfds:NAME or folder:PATH.")
    common.define_data_dir()
    flags.DEFINE_bool("download", True, "Download and prepare a TFDS dataset that is not "
                      "in --data_dir yet; --nodownload: say how to prepare it instead.")
    flags.DEFINE_list("classes", [], "Keep only these classes (names or indices), "
                      "e.g. --classes=horse,bird.")
    flags.DEFINE_integer("batch", SETTINGS["batch"], "Batch size (global: split between "
                         "the replicas; it must divide 1024 x report_kimg).", lower_bound=1)
    flags.DEFINE_integer("total_kimg", 1 << 14, "Training duration in kimg (1024 "
                         "images).", lower_bound=1)
    flags.DEFINE_integer("report_kimg", SETTINGS["report_kimg"], "Report, evaluate and "
                         "checkpoint every this many kimg.", lower_bound=1)
    flags.DEFINE_integer("seed", None, "Random seed; also makes TensorFlow's ops "
                         "deterministic, so that a run repeats (default: a random run).",
                         lower_bound=0, upper_bound=(1 << 32) - 1)  # NumPy's seeds.
    flags.DEFINE_enum("precision", "auto", PRECISIONS, "Compute dtype policy; auto: "
                      "mixed_float16 on a recent GPU, else float32 (the log says when the "
                      "CPU computes bfloat16 natively: mixed_bfloat16 is faster there).")
    flags.DEFINE_bool("skip_bad_images", False, "folder: datasets: leave out (with a "
                      "warning) the image files that do not decode, rather than refusing "
                      "to start.")
    flags.DEFINE_bool("verbose", None, "Show a progress bar with the run's ETA (default: "
                      "when on a terminal).")
    flags.DEFINE_enum("strategy", "default", STRATEGIES, "tf.distribute strategy: default "
                      "(one device), mirrored (every local GPU; --batch is split between "
                      "them), multi_worker (the cluster in TF_CONFIG).")


def model_params(models, model):
    """{name: (Param, names of the models using it)} over `models`, the declaration of
    `model` where it has one."""
    found = {}
    for name, cls in models.items():
        for param_name, param in declared(cls).items():
            first, users = found.get(param_name, (param, []))
            found[param_name] = (first, users + [name])
    mine = declared(models[model]) if model in models else {}
    return {name: (mine.get(name, param), users) for name, (param, users) in found.items()}


DEFINE = {"integer": flags.DEFINE_integer, "float": flags.DEFINE_float,
          "bool": flags.DEFINE_bool, "string": flags.DEFINE_string}


def define(models, default_model, argv=None):
    """Defines the training flags for `models` ({name: class}); returns the model name
    the command line asks for (the defaults are its)."""
    model = peek(sys.argv if argv is None else argv, "model", default_model)
    define_run_flags(models, default_model)
    for name, (param, users) in sorted(model_params(models, model).items()):
        text = param.help
        if len(users) < len(models):
            text += f" [{', '.join(users)}]"
        by_default = {}
        for user in users:
            by_default.setdefault(declared(models[user])[name].default, []).append(user)
        if len(by_default) > 1:
            text += " (default: " + "; ".join(
                f"{value} for {', '.join(names)}" for value, names in by_default.items()
            ) + ")"
        bounds = {key: value for key, value in (("lower_bound", param.lower_bound),
                                                ("upper_bound", param.upper_bound))
                  if value is not None and param.kind in ("integer", "float")}
        if param.kind == "enum":
            flags.DEFINE_enum(name, param.default, param.enum_values, text)
        else:
            DEFINE[param.kind](name, param.default, text, **bounds)
        if param.kind == "float":  # The bounds let nan through.
            flags.register_validator(name, lambda value: value is None or math.isfinite(value),
                                     f"--{name} must be a finite number")
    return model


def config(models, flag_values):
    """What --model is built from (Model.create): its declared parameters' flags and
    --seed, concrete values only (`flag_values`: the parsed FLAGS). The run's config.json
    is made by registry.new_run."""
    cls = models[flag_values.model]
    names = ("seed",) + tuple(declared(cls))
    # A parameter a preset (--setting=A) gives a default is left to the preset unless
    # the command line names it.
    preset = {name for table in cls.PRESETS.values() for values in table.values()
              for name in values}
    return {name: flag_values[name].value
            if flag_values[name].present or name not in preset else None
            for name in names}
