"""The Colab setup cell: its source, written once here, and the first code cell of every notebook.

On Colab the cell installs the course without touching Colab's own ipywidgets: the version already
installed is pinned beside the course, so pip cannot upgrade it (the course allows ipywidgets 7.7
and 8). Colab's frontend renders ipywidgets 7's core widgets natively and ipywidgets 8's only
through its opt-in custom widget manager, so the cell enables that manager when, and only when, it
finds ipywidgets 8 or newer. ``GAN_COURSE_INSTALL`` overrides what pip installs (a fork, a branch, a
local wheel: tests/test_colab.py points it at a wheel built from the checkout). Anywhere but Colab
the cell does nothing.

::

    python tools/setup_cell.py --check    # exit 1, naming them, if a notebook's first code cell differs
    python tools/setup_cell.py --write    # make every notebooks/*.ipynb start with SETUP_CELL

``--write`` replaces the source of each notebook's first code cell, keeps its other metadata, sets
its slide type to ``skip`` (a deck has no use for it) and leaves every other cell as it was.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK_DIR = ROOT / "notebooks"
INSTALL_VARIABLE = "GAN_COURSE_INSTALL"
DEFAULT_INSTALL = "gan-course @ git+https://github.com/gan-course/gan-course@v0.2.0"
SLIDE_TYPE = "skip"

SETUP_CELL = f'''\
# Setup: on Colab this installs the course package; anywhere else it does nothing.
import sys
if "google.colab" in sys.modules:
    import os
    from importlib.metadata import version
    course = os.environ.get("{INSTALL_VARIABLE}", "{DEFAULT_INSTALL}")
    widgets = version("ipywidgets")  # Colab's own, pinned so that pip keeps it
    !{{sys.executable}} -m pip install -q "{{course}}" "ipywidgets=={{widgets}}"
    if int(widgets.split(".")[0]) >= 8:  # Colab shows ipywidgets 8 through its custom widget manager
        from google.colab import output
        output.enable_custom_widget_manager()'''


def first_code_cell(notebook: dict) -> dict:
    """The first code cell of a notebook (as read by ``json``).

    Raises:
        ValueError: when the notebook has no code cell.
    """
    for cell in notebook["cells"]:
        if cell["cell_type"] == "code":
            return cell
    raise ValueError("the notebook has no code cell to hold the setup")


def is_current(cell: dict) -> bool:
    """Whether a cell holds exactly ``SETUP_CELL`` with slide type ``skip``."""
    source = cell["source"] if isinstance(cell["source"], str) else "".join(cell["source"])
    slide_type = cell.get("metadata", {}).get("slideshow", {}).get("slide_type")
    return source == SETUP_CELL and slide_type == SLIDE_TYPE


def with_setup_cell(notebook: dict) -> dict:
    """The notebook with its first code cell set to ``SETUP_CELL`` (in place, also returned)."""
    cell = first_code_cell(notebook)
    cell["source"] = SETUP_CELL.splitlines(keepends=True)  # the list of lines Jupyter writes
    cell.setdefault("metadata", {}).setdefault("slideshow", {})["slide_type"] = SLIDE_TYPE
    return notebook


def outdated(folder: Path = NOTEBOOK_DIR) -> list[Path]:
    """The notebooks of ``folder`` whose first code cell is not the current setup cell."""
    return [path for path in sorted(folder.glob("*.ipynb"))
            if not is_current(first_code_cell(json.loads(path.read_text(encoding="utf-8"))))]


def write(folder: Path = NOTEBOOK_DIR) -> list[Path]:
    """Rewrite every outdated notebook of ``folder``; returns those it rewrote.

    The JSON is written as Jupyter writes it (one-space indent, UTF-8, keys in their order), so
    a notebook's diff shows the setup cell only.
    """
    changed = outdated(folder)
    for path in changed:
        notebook = with_setup_cell(json.loads(path.read_text(encoding="utf-8")))
        path.write_text(json.dumps(notebook, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return changed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--check", action="store_true", help="exit 1 if a notebook's setup cell differs")
    mode.add_argument("--write", action="store_true", help="rewrite the setup cell of every notebook")
    mode.add_argument("--print", action="store_true", help="print the setup cell's source")
    parser.add_argument("--notebooks", type=Path, default=NOTEBOOK_DIR, help="the folder of notebooks")
    args = parser.parse_args(argv)
    if args.print:
        print(SETUP_CELL)
        return 0
    if args.write:
        for path in write(args.notebooks):
            print(f"rewrote the setup cell of {path.name}")
        return 0
    stale = outdated(args.notebooks)
    for path in stale:
        print(f"{path.name}: the first code cell is not the setup cell of tools/setup_cell.py "
              f"(python tools/setup_cell.py --write)", file=sys.stderr)
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main())
