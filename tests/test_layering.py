"""The layering of the code, read from the source of every module (relative imports
resolved, imports inside functions counted), with no exemption:

  core       acai.lib.*: imports only the core, and names no family
  flags      flags.*: imports only the core
  families   acai.models.*, vae.*, gan.*: import the core and their own family
  top        the registry, the Python API, what combines them (gan.pegasus.search), and
             every binary (a console script, a __main__ module or guard): import anything
             but the benchmarks
  benchmarks benchmarks/*: scripts that nobody imports

and no import cycle, no FLAGS read outside a binary's main/run/define_flags, no import of
another module's private names.
"""

import ast
import configparser
import os
import re

from conftest import REPO

PACKAGES = ("acai", "gan", "vae", "flags", "benchmarks")
# Modules that combine the families for a user, below no binary.
COMBINERS = {"acai.registry", "acai.api", "gan.pegasus.search"}
FAMILIES = ("acai.models", "vae", "gan")


def read_modules():
    """{module name: (parsed tree, is a package __init__)} of every module."""
    found = {}
    for package in PACKAGES:
        for folder, _, files in os.walk(os.path.join(REPO, package)):
            for name in files:
                if name.endswith(".py"):
                    path = os.path.join(folder, name)
                    module = os.path.relpath(path, REPO)[:-3].replace(os.sep, ".")
                    is_init = module.endswith(".__init__")
                    module = module[:-len(".__init__")] if is_init else module
                    with open(path) as f:
                        found[module] = (ast.parse(f.read(), path), is_init)
    return found


MODULES = read_modules()


def resolve(module, is_init, node):
    """The toolkit modules an Import / ImportFrom node of `module` imports."""
    if isinstance(node, ast.Import):
        names = [alias.name for alias in node.names]
    else:
        base = node.module or ""
        if node.level:  # Relative: from the module's package, `level` dots up.
            package = module.split(".") if is_init else module.split(".")[:-1]
            package = package[:len(package) - node.level + 1]
            base = ".".join(package + ([base] if base else []))
        names = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in MODULES else base
                 for alias in node.names]
    return [name for name in names if name.split(".")[0] in PACKAGES]


def imports(module):
    """[(imported toolkit module, line)] of `module`, wherever the import stands."""
    tree, is_init = MODULES[module]
    return [(name, node.lineno) for node in ast.walk(tree)
            if isinstance(node, (ast.Import, ast.ImportFrom))
            for name in resolve(module, is_init, node)]


def console_scripts():
    """The modules setup.py names as console scripts."""
    with open(os.path.join(REPO, "setup.py")) as f:
        return set(re.findall(r'"[\w-]+ = ([\w.]+):\w+"', f.read()))


def is_binary(module):
    """A console script, a __main__ module or guard, or a module that runs as a binary
    through the toolkit's CLI plumbing (cli.launch)."""
    tree, _ = MODULES[module]
    guarded = any(isinstance(node, ast.If) and "__main__" in ast.unparse(node.test)
                  for node in tree.body)
    runs = any(isinstance(node, ast.Call) and ast.unparse(node.func) == "cli.launch"
               for node in ast.walk(tree))
    return (guarded or runs or module.endswith("__main__")
            or module in console_scripts())


BINARIES = {module for module in MODULES if is_binary(module)}
TOP = COMBINERS | BINARIES


def layer(module):
    if module.startswith("benchmarks"):
        return "benchmarks"
    if module in TOP:
        return "top"
    if module.startswith("acai.lib"):
        return "core"
    if module.startswith("flags"):
        return "flags"
    for family in FAMILIES:
        if module == family or module.startswith(family + "."):
            return family
    return "top"  # acai itself, acai.models' parent package.


def test_the_layers_are_found():
    layers = {}
    for module in MODULES:
        layers.setdefault(layer(module), set()).add(module)
    assert {"acai.train", "acai.export", "gan.pegasus.main", "gan.pegasus.__main__",
            "vae.sample", "gan.train", "acai.lines_benchmark"} <= layers["top"]
    assert len(layers["core"]) >= 15 and len(layers["gan"]) >= 10
    assert {"flags.training"} <= layers["flags"]
    assert len(layers["benchmarks"]) >= 5
    assert console_scripts() <= BINARIES | {"gan.pegasus"}


def test_relative_imports_are_resolved():
    tree = ast.parse("from . import pipeline\nfrom .pipeline import SIZE\nfrom .. import run")
    found = [resolve("acai.lib.data", True, node) for node in tree.body]
    assert found == [["acai.lib.data.pipeline"], ["acai.lib.data.pipeline"],
                     ["acai.lib.run"]]


def test_every_import_runs_downwards():
    allowed = {"core": {"core"}, "flags": {"core", "flags"},
               "top": {"core", "flags", "top", *FAMILIES},
               "benchmarks": {"core", "flags", "top", "benchmarks", *FAMILIES}}
    checked = 0
    for module in MODULES:
        mine = layer(module)
        for name, line in imports(module):
            theirs = layer(name)
            ok = theirs in allowed.get(mine, {"core", mine})
            assert ok, f"{module}:{line} ({mine}) imports {name} ({theirs})"
            checked += 1
    assert checked > 150


def test_nothing_below_the_binaries_imports_one():
    """Binaries may share a binary (gan-train is acai-train with another --model); the
    layers below them, the combiners included, import none."""
    for module in MODULES:
        if module in BINARIES or layer(module) == "benchmarks":
            continue
        for name, line in imports(module):
            assert name not in BINARIES, f"{module}:{line} imports the binary {name}"


def test_the_core_names_no_family():
    family = re.compile(r"^(acai\.models|vae|gan)(\.|$)")
    for module, (tree, _) in MODULES.items():
        if layer(module) != "core":
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                assert not family.match(node.value), f"{module}:{node.lineno} names " \
                                                     f"{node.value!r}"


def cycle():
    """An import cycle among the toolkit's modules, as a list of modules, or None."""
    graph = {module: sorted({name for name, _ in imports(module) if name != module})
             for module in MODULES}
    state = {}

    def visit(module, path):
        state[module] = "open"
        for name in graph.get(module, ()):
            if state.get(name) == "open":
                return path[path.index(name):] + [name]
            if name not in state:
                found = visit(name, path + [name])
                if found:
                    return found
        state[module] = "done"
        return None

    for module in graph:
        if module not in state:
            found = visit(module, [module])
            if found:
                return found
    return None


def test_no_import_cycle():
    assert cycle() is None, " -> ".join(cycle())


def test_the_cycle_finder_finds_one(monkeypatch):
    fake = dict(MODULES)
    fake["acai.lib.x"] = (ast.parse("from acai.lib import y"), False)
    fake["acai.lib.y"] = (ast.parse("def f():\n    from acai.lib import x"), False)
    monkeypatch.setattr(__import__(__name__), "MODULES", fake)
    assert cycle() == ["acai.lib.x", "acai.lib.y", "acai.lib.x"]


FLAG_READERS = re.compile(r"^(main|run|run_as|define\w*)$")


def flag_reads(tree):
    """[(line, enclosing function)] of every read of FLAGS outside main, run, define*."""
    found = []

    def visit(node, function):
        for child in ast.iter_child_nodes(node):
            inside = child.name if isinstance(child, (ast.FunctionDef,
                                                      ast.AsyncFunctionDef)) else function
            if (isinstance(child, ast.Name) and child.id == "FLAGS"
                    and isinstance(child.ctx, ast.Load)
                    and not (function and FLAG_READERS.match(function))):
                found.append((child.lineno, function))
            visit(child, inside)

    visit(tree, None)
    return found


def test_flags_are_read_only_in_main_run_and_define():
    for module, (tree, _) in MODULES.items():
        reads = flag_reads(tree)
        assert not reads, f"{module} reads FLAGS at {reads}"
    assert flag_reads(ast.parse("def score():\n    return FLAGS.count")) == [(2, "score")]


def test_no_import_of_another_modules_private_names():
    """(Attribute reads of private names, Keras' and TensorFlow's included, are checked by
    tests/test_keras_compat.py.)"""
    for module, (tree, _) in MODULES.items():
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                private = [a.name for a in node.names if a.name.startswith("_")]
                assert not private, f"{module}:{node.lineno} imports {private}"


def test_the_suite_declares_its_markers_strictly():
    config = configparser.ConfigParser()
    config.read(os.path.join(REPO, "pytest.ini"))
    assert "--strict-markers" in config["pytest"]["addopts"]
    assert config["pytest"]["markers"].strip().startswith("slow:")
