"""Keras' and TensorFlow's private names stay in acai/lib/keras_compat.py, and the installed
Keras still has each of them.

Every module of the toolkit, its tests, benchmarks and runs/ scripts is read (not
imported): a private name is an attribute read `x._name` of anything but self/cls, a
`super()._name` call (an override of a private method), a method that overrides a private
member of a Keras class, or a string spelling one (`getattr(x, "_name")`, a checkpoint key
`.../_name/...`). Names that start with an underscore but are documented API are allowed:
TFDS' builder methods (tensorflow.org/datasets/add_dataset) and IPython's `_repr_*_`.
"""

import ast
import os
import re

import keras

from acai.lib import keras_compat
from conftest import REPO

FOLDERS = ("acai", "gan", "vae", "flags", "benchmarks", "tests", "runs")
# The compat module, and this test, which spells private names to test the finder.
EXEMPT = {os.path.join("acai", "lib", "keras_compat.py"),
          os.path.join("tests", "test_keras_compat.py")}
# Documented API despite the underscore: a TFDS builder implements these.
DOCUMENTED = {"_info", "_split_generators", "_generate_examples"}
NAME = r"_[a-z][a-z0-9_]*[a-z0-9]"
# A string that is a private name (getattr's), holds one as a path component (a
# checkpoint key) or names one as an attribute ("Model._name").
PRIVATE = re.compile(rf"^({NAME})$|/({NAME})(?=/|$)|\b[A-Za-z]\w*\.({NAME})\b")
KERAS_CLASSES = (keras.Model, keras.layers.Layer, keras.callbacks.Callback,
                 keras.optimizers.Optimizer, keras.metrics.Metric, keras.initializers.Initializer)


def private_names(tree):
    """[(line, what)] of every use of another object's private name in a parsed module."""
    found = []
    # The parts of an f-string are not names (f"{name}_encoder").
    parts = {id(value) for node in ast.walk(tree) if isinstance(node, ast.JoinedStr)
             for value in node.values}
    for node in ast.walk(tree):
        if (isinstance(node, ast.Attribute) and node.attr.startswith("_")
                and not node.attr.startswith("__") and node.attr not in DOCUMENTED):
            owner = node.value
            if not (isinstance(owner, ast.Name) and owner.id in ("self", "cls")):
                found.append((node.lineno, ast.unparse(node)))
        elif (isinstance(node, ast.Constant) and isinstance(node.value, str)
              and id(node) not in parts):
            for match in PRIVATE.finditer(node.value):
                if not set(match.groups()) & DOCUMENTED:
                    found.append((node.lineno, repr(node.value)))
        elif isinstance(node, ast.ClassDef):
            for item in node.body:
                if (isinstance(item, ast.FunctionDef) and item.name.startswith("_")
                        and not item.name.startswith("__")
                        and any(hasattr(cls, item.name) for cls in KERAS_CLASSES)):
                    found.append((item.lineno, f"def {item.name} (a Keras private method)"))
    return found


def sources():
    for folder in FOLDERS:
        for root, _, files in os.walk(os.path.join(REPO, folder)):
            for name in sorted(files):
                if name.endswith(".py"):
                    path = os.path.join(root, name)
                    yield os.path.relpath(path, REPO), path


def test_no_private_name_outside_the_compat_module():
    checked, offences = 0, []
    for relative, path in sources():
        if relative in EXEMPT:
            continue
        with open(path) as f:
            tree = ast.parse(f.read(), path)
        offences += [f"{relative}:{line}: {what}" for line, what in private_names(tree)]
        checked += 1
    assert checked > 100
    assert not offences, "private names outside keras_compat:\n" + "\n".join(offences)


def test_the_finder_finds_each_kind():
    code = '''
class M(keras.Model):
    def _maybe_symbolic_build(self):
        return super()._maybe_symbolic_build()

    def _mine(self):
        return self._mine_too

strategy.extended._in_multi_worker_mode()
getattr(extended, "_in_multi_worker_mode")
key = "model/optimizer/_iterations/.ATTRIBUTES/VARIABLE_VALUE"
class B(tfds.core.GeneratorBasedBuilder):
    def _info(self):
        return "_repr_png_", "x_in.npz", f"{name}_encoder", "Model._gone"
'''
    found = sorted(what for _, what in private_names(ast.parse(code)))
    assert found == sorted(["def _maybe_symbolic_build (a Keras private method)",
                            "super()._maybe_symbolic_build",
                            "strategy.extended._in_multi_worker_mode",
                            "'_in_multi_worker_mode'",
                            "'model/optimizer/_iterations/.ATTRIBUTES/VARIABLE_VALUE'",
                            "'Model._gone'"])


def test_the_installed_keras_has_what_the_compat_module_uses():
    gone = keras_compat.missing()
    assert not gone, (
        f"Keras {keras.__version__} no longer has {', '.join(gone)}, which "
        "acai/lib/keras_compat.py uses: adapt that module (each entry says what it does "
        "and what public API would replace it), or install a Keras that setup.py allows")


def test_missing_names_what_a_keras_release_lacks(monkeypatch):
    monkeypatch.setattr(keras_compat, "REQUIRED", {keras.Model: ("_no_such_method",)})
    assert keras_compat.missing() == ["Model._no_such_method"]
