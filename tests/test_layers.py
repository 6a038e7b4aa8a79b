"""The package's architecture, checked: three layers whose arrows point one way, small modules.

1. math (pure tensor functions) <- 2. models and training <- 3. presentation (plots, widgets,
exercise checks, the command line). Read statically from every module's import statements,
function-level imports included, so a late ``import matplotlib`` inside a function counts too.
A module that is not listed below is a models-and-training module: a new module is held to the
rules of layer 2 until it is placed elsewhere.
"""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "gan_course"
MAX_LINES = 500

FOUNDATION = {"validate", "config", "storage"}  # argument checks, FAST mode and devices, atomic writes
MATH = {"likelihoods", "losses", "divergences", "metrics", "latent"}
PRESENTATION_PREFIXES = ("plots", "widgets", "checks", "cli", "cli_common", "cli_train", "cli_sample", "__main__",
                         "doctor")
DRAWING = ("matplotlib", "ipywidgets", "IPython")


def modules() -> dict[str, Path]:
    """Every module of the package by dotted name relative to it (``widgets.gan2d``)."""
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE).with_suffix("").parts
        name = ".".join(p for p in parts if p != "__init__") or "__init__"
        out[name] = path
    return out


def layer(name: str) -> int:
    if name in FOUNDATION or name == "__init__":
        return 0
    if name in MATH:
        return 1
    if name.split(".")[0] in PRESENTATION_PREFIXES:
        return 3
    return 2


def imports(path: Path) -> list[str]:
    """Top-level names this file imports: ``torch``, ``gan_course.train`` ... (absolute form)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.append(node.module)
            if node.module == "gan_course":  # from gan_course import train, data
                found += [f"gan_course.{alias.name}" for alias in node.names]
    return found


def package_imports(path: Path) -> set[str]:
    """The package's own modules that a file imports, relative names (``train``, ``widgets.base``)."""
    names = set()
    for full in imports(path):
        if full.startswith("gan_course.") and full != "gan_course.assets":
            names.add(full[len("gan_course."):])
    return names


MODULES = modules()


@pytest.mark.parametrize("name", sorted(n for n in MODULES if layer(n) < 3))
def test_math_and_training_modules_never_import_drawing_or_notebook_libraries(name):
    bad = [m for m in imports(MODULES[name]) if m.split(".")[0] in DRAWING]
    assert not bad, f"gan_course.{name} (layer {layer(name)}) imports {bad}; drawing belongs in plots or widgets"


@pytest.mark.parametrize("name", sorted(MODULES))
def test_imports_point_only_to_the_same_layer_or_below(name):
    own = layer(name)
    upward = sorted(m for m in package_imports(MODULES[name]) if m in MODULES and layer(m) > own)
    assert not upward, f"gan_course.{name} (layer {own}) imports {upward} from a higher layer"


@pytest.mark.parametrize("name", sorted(MODULES))
def test_every_module_stays_under_the_size_limit(name):
    lines = len(MODULES[name].read_text(encoding="utf-8").splitlines())
    assert lines <= MAX_LINES, f"gan_course.{name} has {lines} lines; split it along its seams (limit {MAX_LINES})"


def test_the_layer_rules_can_fail():
    """The checks above see what they are meant to see (planted cases)."""
    assert layer("plots") == 3 and layer("widgets.gan2d") == 3 and layer("checks.core") == 3
    assert layer("metrics") == 1 and layer("train") == 2 and layer("some_new_module") == 2
    assert "matplotlib" in [m.split(".")[0] for m in imports(MODULES["plots"])]
    assert "train" in package_imports(MODULES["recipes"])
    assert {"plots", "widgets.base"} <= package_imports(MODULES["widgets.gan2d"])
