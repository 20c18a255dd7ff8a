"""The layering of the code: the core (acai/lib) imports no model family, a family
imports only the core and itself, only the top (registry, API, binaries) combines them,
and no package is imported inside a function or by an __init__ to dodge a cycle."""

import ast
import os

from conftest import REPO

PACKAGES = ("acai", "gan", "vae", "flags")
# The model families: module prefixes, each may import the core and itself.
FAMILIES = {
    "acai.models": ("acai.models",),
    "vae.model": ("vae.model",),
    "gan": ("gan.layers", "gan.spectral_norm", "gan.models", "gan.classifier", "gan.frechet",
            "gan.manifold", "gan.evaluation"),
}


def modules():
    """{module name: parsed tree} of every module of the toolkit."""
    found = {}
    for package in PACKAGES:
        for folder, _, files in os.walk(os.path.join(REPO, package)):
            for name in files:
                if name.endswith(".py"):
                    path = os.path.join(folder, name)
                    module = os.path.relpath(path, REPO)[:-3].replace(os.sep, ".")
                    module = module[:-len(".__init__")] if module.endswith(".__init__") else module
                    with open(path) as f:
                        found[module] = ast.parse(f.read(), path)
    return found


def imports(tree, top_level_only=False):
    """[(module imported, line, inside a function)] of a parsed module."""
    found = []

    def visit(node, in_function):
        for child in ast.iter_child_nodes(node):
            inside = in_function or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef))
            if isinstance(child, ast.Import):
                found.extend((alias.name, child.lineno, in_function) for alias in child.names)
            elif isinstance(child, ast.ImportFrom) and child.module and not child.level:
                found.extend((f"{child.module}.{alias.name}", child.lineno, in_function)
                             for alias in child.names)
            visit(child, inside)

    visit(tree, False)
    return [(name, line, inside) for name, line, inside in found
            if name.split(".")[0] in PACKAGES]


def family_of(module):
    for family, prefixes in FAMILIES.items():
        if module.startswith(prefixes):
            return family
    return None


ALL = modules()


def test_the_core_imports_only_the_core():
    core = {name: tree for name, tree in ALL.items() if name.startswith("acai.lib")}
    assert len(core) >= 10
    for module, tree in core.items():
        for name, line, _ in imports(tree):
            assert name.startswith("acai.lib"), f"{module}:{line} imports {name}"


def test_a_family_imports_only_the_core_and_itself():
    checked = 0
    for module, tree in ALL.items():
        family = family_of(module)
        if family is None:
            continue
        checked += 1
        for name, line, _ in imports(tree):
            assert name.startswith("acai.lib") or family_of(name) == family, (
                f"{module}:{line} imports {name}")
    assert checked >= 12


def test_no_package_import_inside_a_function():
    for module, tree in ALL.items():
        for name, line, inside in imports(tree):
            assert not inside, f"{module}:{line} imports {name} inside a function"


def test_no_init_imports_a_sibling_package():
    for module, tree in ALL.items():
        if module in PACKAGES or module.endswith((".lib", ".models")):
            for name, line, _ in imports(tree):
                assert name.startswith(module + "."), f"{module}:{line} imports {name}"


def test_nothing_below_the_top_imports_the_top():
    """acai.registry, acai.api and the binaries (modules with a `run` entry point) are
    imported by nothing but other binaries."""
    top = {"acai.registry", "acai.api"} | {
        module for module, tree in ALL.items()
        if any(isinstance(node, ast.FunctionDef) and node.name == "run" for node in tree.body)
        and not module.startswith("acai.lib")}
    assert {"acai.train", "acai.export", "gan.pegasus", "vae.sample"} <= top
    for module, tree in ALL.items():
        if module in top or module.startswith("flags"):
            continue
        for name, line, _ in imports(tree):
            assert not any(name == t or name.startswith(t + ".") for t in top), (
                f"{module}:{line} imports {name}")
