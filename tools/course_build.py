"""What the three course builds share: the notebooks, their execution, their widgets, offline assets.

``tools/build_slides.py`` (reveal.js decks), ``tools/build_book.py`` (a static site) and
``tools/build_student.py`` (notebooks without solutions) all start from the notebooks in
``notebooks/``. This module holds what they have in common:

- **finding notebooks** — every ``notebooks/*.ipynb`` present, never a fixed list, or the ones a
  command line names (``03``, ``03_mixture_models_and_em``, or a path);
- **executing** a notebook with nbclient in FAST mode (``GAN_COURSE_FAST=1``, the default) or in
  full (``GAN_COURSE_FAST=0``), with the widgets' state recorded; a failure stops the build with
  :class:`NotebookError`, whose message names the notebook and the cell. Executed notebooks are
  kept under ``build/executed/`` and reused while the notebook, the mode and the package's
  sources are unchanged, so ``make slides book`` executes each notebook once;
- **dashboards without a kernel** — a widget output can only be drawn by a live kernel, so
  :func:`static_widget_outputs` replaces it by what it shows (its last picture, its text), and
  the execution saves each ``gan_course`` dashboard's recorded history as a GIF (its "replay");
- **offline assets** — reveal.js, require.js, jQuery and MathJax fetched once through ``npm pack``
  into ``build/vendor/`` and copied next to a deck or a site, so both work without the internet
  (without npm, the pages fall back to the public CDNs).
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path
from typing import Iterable, Sequence

import nbformat

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK_DIR = ROOT / "notebooks"
BUILD_DIR = ROOT / "build"
EXECUTED_DIR = BUILD_DIR / "executed"
VENDOR_DIR = BUILD_DIR / "vendor"

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
BUILD_ONLY_TAG = "course-build-only"  # the cell the build appends to save the dashboards' replays

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


class NotebookError(RuntimeError):
    """A notebook could not be executed; the message names the notebook and the cell."""


# ---------------------------------------------------------------- notebooks and modes
def find_notebooks(selection: Sequence[str] = (), folder: Path = NOTEBOOK_DIR) -> list[Path]:
    """The notebooks to build: all of ``folder/*.ipynb`` in name order, or those ``selection`` names.

    A name may be a path to a notebook, a file stem (``03_mixture_models_and_em``) or a prefix
    before the first underscore (``03``, ``A1``).

    Raises:
        ValueError: a name matches no notebook, or the folder holds none.
    """
    available = sorted(p for p in Path(folder).glob("*.ipynb") if not p.name.startswith("."))
    if not selection:
        if not available:
            raise ValueError(f"no notebooks found in {folder}")
        return available
    chosen: list[Path] = []
    for name in selection:
        path = Path(name)
        if path.suffix == ".ipynb" and path.is_file():
            matches = [path.resolve()]
        else:
            matches = [p for p in available if name in (p.stem, p.name, p.stem.split("_", 1)[0])]
        if not matches:
            names = ", ".join(p.stem.split("_", 1)[0] for p in available)
            raise ValueError(f"no notebook matches {name!r}; the notebooks are: {names}")
        chosen.extend(m for m in matches if m not in chosen)
    return chosen


def fast_flag(environ: dict | None = None) -> bool:
    """FAST mode for the build: on unless ``GAN_COURSE_FAST`` says 0/false/no/off.

    Raises:
        ValueError: ``GAN_COURSE_FAST`` holds something else.
    """
    value = (os.environ if environ is None else environ).get("GAN_COURSE_FAST", "1").strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ValueError(f"GAN_COURSE_FAST must be one of 1/0, true/false, yes/no, on/off, got {value!r}")


def display_path(path: Path) -> str:
    """``path`` relative to the repository when it is inside it (for messages)."""
    try:
        return str(Path(path).resolve().relative_to(ROOT))
    except ValueError:
        return str(path)


def notebook_title(nb: nbformat.NotebookNode, default: str) -> str:
    """The text of the notebook's first ``# `` heading, or ``default``."""
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            match = re.search(r"^#\s+(.+?)\s*$", cell.source, flags=re.MULTILINE)
            if match:
                return match.group(1)
    return default


def colab_url(nb: nbformat.NotebookNode) -> str | None:
    """The notebook's "Open in Colab" link (from its badge), if it has one."""
    for cell in nb.cells[:3]:
        match = re.search(r"https://colab\.research\.google\.com/github/[^)\s\"']+", cell.source)
        if match:
            return match.group(0)
    return None


# ---------------------------------------------------------------- execution
_REPLAY_CELL = '''\
# Added by the course build and removed from its output: save every dashboard's recorded history.
import gc as _gc, json as _json, pathlib as _pathlib, sys as _sys
_base = _sys.modules.get("gan_course.widgets.base")
if _base is not None:
    _out = _pathlib.Path({out!r})
    _out.mkdir(parents=True, exist_ok=True)
    for _dash in [o for o in _gc.get_objects() if isinstance(o, _base.Dashboard)]:
        if _dash.frames and getattr(_dash.widget, "model_id", None):
            _dash.export_gif(_out / (_dash.widget.model_id + ".gif"))
            (_out / (_dash.widget.model_id + ".json")).write_text(_json.dumps({{
                "dashboard": type(_dash).__name__, "frames": len(_dash.frames),
                "first_step": _dash.frame_steps[0], "last_step": _dash.frame_steps[-1]}}))
'''


def _source_digest(nb_path: Path, fast: bool) -> str:
    """What an executed notebook depends on: its own text, the mode, the package and its assets."""
    digest = hashlib.sha256()
    digest.update(Path(nb_path).read_bytes())
    digest.update(b"fast" if fast else b"full")
    for folder, pattern in ((ROOT / "gan_course", "*.py"), (ROOT / "assets", "*")):
        for path in sorted(folder.rglob(pattern)):
            if path.is_file() and "__pycache__" not in path.parts:
                digest.update(str(path.relative_to(ROOT)).encode())
                stat = path.stat()
                digest.update(path.read_bytes() if path.suffix == ".py" else f"{stat.st_size}".encode())
    return digest.hexdigest()


def kernel_environment(fast: bool) -> dict[str, str]:
    """The kernel's environment: ours, with the mode set and Matplotlib's inline backend.

    ``MPLBACKEND`` is removed: a test run sets it to Agg, under which ``plt.show()`` would leave
    no picture in the notebook.
    """
    env = dict(os.environ, GAN_COURSE_FAST="1" if fast else "0", PYDEVD_DISABLE_FILE_VALIDATION="1")
    env.pop("MPLBACKEND", None)
    return env


def execute_notebook(path: Path, *, fast: bool, timeout: int = 900,
                     replay_dir: Path | None = None) -> nbformat.NotebookNode:
    """Run ``path`` top to bottom in a fresh kernel (in the notebook's folder, as nbval does).

    The widgets' state is stored in the notebook's metadata. With ``replay_dir``, a cell appended
    for the run (and removed after it) saves each dashboard's recorded history there as
    ``<widget model id>.gif`` with a ``.json`` note of its frames and steps.

    Args:
        path: the notebook.
        fast: FAST mode (``GAN_COURSE_FAST=1``) or the full run.
        timeout: seconds one cell may take.
        replay_dir: where the dashboards' replays go, or None for none.

    Raises:
        NotebookError: a cell raised, timed out or killed the kernel; names notebook and cell.
    """
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

    path = Path(path)
    nb = nbformat.read(path, as_version=4)
    if replay_dir is not None:
        cell = nbformat.v4.new_code_cell(_REPLAY_CELL.format(out=str(replay_dir)))
        cell.metadata["tags"] = [BUILD_ONLY_TAG]
        nb.cells.append(cell)
    current = {"index": None}

    def on_cell_start(cell, cell_index):
        current["index"] = cell_index

    client = NotebookClient(nb, timeout=timeout, kernel_name="python3", store_widget_state=True,
                            resources={"metadata": {"path": str(path.parent)}}, on_cell_start=on_cell_start)
    try:
        client.execute(env=kernel_environment(fast))
    except (CellExecutionError, CellTimeoutError, DeadKernelError) as error:
        raise NotebookError(_failure_message(path, nb, current["index"], error, fast)) from None
    if replay_dir is not None:
        nb.cells = [c for c in nb.cells if BUILD_ONLY_TAG not in c.metadata.get("tags", [])]
    return nb


def _failure_message(path: Path, nb: nbformat.NotebookNode, index: int | None, error: Exception,
                     fast: bool) -> str:
    """"notebooks/X.ipynb failed at cell N of M (...)": where, the cell's first line, the error."""
    where = display_path(path)
    if index is None:
        return f"{where} failed to execute before its first cell: {error}"
    cell = nb.cells[index]
    first_line = next((line for line in cell.source.splitlines() if line.strip()), "")
    if BUILD_ONLY_TAG in cell.metadata.get("tags", []):
        where_cell = "the cell the build appends to save the dashboards' replays"
    else:
        total = sum(BUILD_ONLY_TAG not in c.metadata.get("tags", []) for c in nb.cells)
        where_cell = f"cell {index + 1} of {total} (counting markdown cells)"
    kind = type(error).__name__
    if getattr(error, "ename", None):
        reason = f"{error.ename}: {error.evalue}"
    else:
        reason = f"{kind}: {str(error).strip().splitlines()[-1] if str(error).strip() else ''}"
    return (f"{where} failed to execute ({'FAST' if fast else 'full'} mode) at {where_cell}, which starts\n"
            f"    {first_line}\n{reason}\n"
            f"Run it yourself to see the whole traceback: GAN_COURSE_FAST={int(fast)} "
            f".venv/bin/python -m pytest -q --nbval-lax {where}")


def executed_notebook(path: Path, *, fast: bool, timeout: int = 900, use_cache: bool = True,
                      log=print) -> tuple[nbformat.NotebookNode, Path]:
    """``path`` executed (with dashboard replays), from ``build/executed/`` when still current.

    Returns:
        The executed notebook and the folder holding its replays (``<model id>.gif``/``.json``).
    """
    path = Path(path)
    mode = "fast" if fast else "full"
    stem = f"{path.stem}.{mode}"
    key = _source_digest(path, fast)
    EXECUTED_DIR.mkdir(parents=True, exist_ok=True)
    target, key_file = EXECUTED_DIR / f"{stem}.ipynb", EXECUTED_DIR / f"{stem}.key"
    replays = EXECUTED_DIR / f"{stem}.replays"
    if use_cache and target.is_file() and replays.is_dir() and key_file.is_file() and key_file.read_text() == key:
        log(f"  {display_path(path)}: executed before ({mode} mode), reusing {display_path(target)}")
        return nbformat.read(target, as_version=4), replays
    log(f"  executing {display_path(path)} ({mode} mode) ...")
    start = time.perf_counter()
    scratch = Path(tempfile.mkdtemp(prefix=f"{stem}.", dir=EXECUTED_DIR))
    try:
        nb = execute_notebook(path, fast=fast, timeout=timeout, replay_dir=scratch / "replays")
        (scratch / "replays").mkdir(exist_ok=True)
        nbformat.write(nb, scratch / "nb.ipynb")
        key_file.unlink(missing_ok=True)  # no key until the notebook and its replays are in place
        shutil.rmtree(replays, ignore_errors=True)
        (scratch / "replays").rename(replays)
        (scratch / "nb.ipynb").replace(target)
        key_file.write_text(key)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    log(f"  executed {display_path(path)} in {time.perf_counter() - start:.0f} s")
    return nb, replays


# ---------------------------------------------------------------- widgets without a kernel
def _image_output(model: dict) -> dict | None:
    """An Image widget's picture as a display_data output (None when it holds none)."""
    fmt = model["state"].get("format", "png")
    data = next((b["data"] for b in model.get("buffers", []) if b.get("path") == ["value"]), None)
    if data is None:
        value = model["state"].get("value")
        data = value if isinstance(value, str) and value else None
    if not data:
        return None
    mime = "image/svg+xml" if fmt == "svg+xml" else f"image/{fmt}"
    return nbformat.v4.new_output("display_data", data={mime: data})


def _widget_parts(model_id: str, state: dict, seen: set, controls: list) -> list[tuple[str, dict]]:
    """(model id, output) pairs for what the widget ``model_id`` shows, in display order.

    The names of the controls left out (buttons, sliders, Play, and the Labels that caption
    them: they do nothing without a kernel) are appended to ``controls``.
    """
    if model_id in seen or model_id not in state:
        return []
    seen.add(model_id)
    model = state[model_id]
    name, st = model.get("model_name", ""), model.get("state", {})
    if name == "ImageModel":
        out = _image_output(model)
        return [(model_id, out)] if out else []
    if name == "OutputModel":
        return [(model_id, nbformat.from_dict(o)) for o in st.get("outputs", [])]
    if name in ("HTMLModel", "HTMLMathModel"):
        value = st.get("value", "")
        return [(model_id, nbformat.v4.new_output("display_data", data={"text/html": value}))] if value.strip() else []
    children = [c[len("IPY_MODEL_"):] for c in st.get("children", []) or []
                if isinstance(c, str) and c.startswith("IPY_MODEL_")]
    if "children" not in st and not name.endswith(("LayoutModel", "StyleModel")):
        controls.append(name.removesuffix("Model"))
    parts = []
    for child in children:
        parts.extend(_widget_parts(child, state, seen, controls))
    return parts


def has_picture(outputs: Iterable[dict]) -> bool:
    """True when one of ``outputs`` is an image."""
    return any(k.startswith("image/") for out in outputs for k in out.get("data", {}))


def static_widget_outputs(nb: nbformat.NotebookNode, replace=None) -> int:
    """Replace every widget output of ``nb`` by what it showed; returns how many were replaced.

    A widget output (``application/vnd.jupyter.widget-view+json``) needs a live kernel; the
    notebook's stored widget state still holds its last picture (Image widgets), its captured
    outputs (Output widgets) and its text (HTML widgets: a title, a read-out). Those become
    ordinary outputs; controls and their captions (Label widgets) are dropped. The stored state
    is removed afterwards, so no page loads a widget manager.

    Args:
        nb: an executed notebook (changed in place).
        replace: optional ``replace(view_model_id, parts, controls) -> list[output]`` to change
            the outputs one widget becomes (``parts``: (model id, output) pairs; ``controls``: the
            names of the controls left out, e.g. ``["Play", "Button", "IntSlider"]``).
    """
    state = nb.metadata.get("widgets", {}).get(WIDGET_STATE, {}).get("state", {})
    count = 0
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        outputs = []
        for out in cell.get("outputs", []):
            is_display = out.get("output_type") in ("display_data", "execute_result")
            view = out.get("data", {}).get(WIDGET_VIEW) if is_display else None
            if view is None:
                outputs.append(out)
                continue
            count += 1
            controls: list[str] = []
            parts = _widget_parts(view["model_id"], state, set(), controls)
            outputs.extend(replace(view["model_id"], parts, controls) if replace else [p for _, p in parts])
        cell.outputs = outputs
    nb.metadata.pop("widgets", None)
    return count


# ---------------------------------------------------------------- offline assets
# name: (npm package@version, the parts of the package a page needs)
ASSETS = {
    "reveal.js": ("reveal.js@4.0.2", ("dist/", "plugin/notes/", "LICENSE")),  # nbconvert's version
    "requirejs": ("requirejs@2.3.7", ("require.js",)),
    "jquery": ("jquery@3.7.1", ("dist/jquery.min.js", "LICENSE.txt")),
    "mathjax": ("mathjax@2.7.9", ("MathJax.js", "config/TeX-AMS_CHTML-full.js", "config/Safe.js",
                                  "config/local/",
                                  "extensions/", "jax/input/TeX/", "jax/output/CommonHTML/", "jax/element/",
                                  "fonts/HTML-CSS/TeX/woff/", "LICENSE")),
}
_SKIP_IN_ASSETS = ("extensions/a11y/",)  # prefixes not needed
_SKIP_SUFFIXES = (".map", ".esm.js")  # source maps, ES-module builds: a page loads neither


def vendor_asset(name: str, log=print) -> Path | None:
    """The folder holding asset ``name`` (see ``ASSETS``), fetched with ``npm pack`` on first use.

    Returns None (after saying why) when npm is missing or the registry cannot be reached; the
    caller then links the public CDN instead.
    """
    spec, keep = ASSETS[name]
    folder = VENDOR_DIR / spec.replace("@", "-").lstrip("-")
    if (folder / ".complete").is_file():
        return folder
    npm = shutil.which("npm")
    if npm is None:
        log(f"  note: npm not found, so {name} is linked from its CDN (the page needs the internet)")
        return None
    VENDOR_DIR.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=VENDOR_DIR) as tmp:
        result = subprocess.run([npm, "pack", spec, "--pack-destination", tmp, "--silent"],
                                capture_output=True, text=True, timeout=600, cwd=tmp)
        tarballs = list(Path(tmp).glob("*.tgz"))
        if result.returncode != 0 or not tarballs:
            log(f"  note: `npm pack {spec}` failed, so {name} is linked from its CDN "
                f"(the page needs the internet): {result.stderr.strip()[-300:]}")
            return None
        staging = Path(tmp) / "unpacked"
        with tarfile.open(tarballs[0]) as tar:
            for member in tar.getmembers():
                rel = member.name.split("/", 1)[1] if "/" in member.name else member.name
                if not member.isfile() or not rel.startswith(keep) or rel.startswith(_SKIP_IN_ASSETS) \
                        or rel.endswith(_SKIP_SUFFIXES):
                    continue
                dest = staging / rel
                dest.parent.mkdir(parents=True, exist_ok=True)
                with tar.extractfile(member) as src:
                    dest.write_bytes(src.read())
        (staging / ".complete").write_text(spec)
        shutil.rmtree(folder, ignore_errors=True)
        staging.rename(folder)
    return folder


def copy_assets(names: Iterable[str], static_dir: Path, log=print) -> dict[str, str | None]:
    """Copy the assets ``names`` into ``static_dir/<name>/``; returns name -> folder (None: CDN)."""
    placed: dict[str, str | None] = {}
    for name in names:
        source = vendor_asset(name, log=log)
        if source is None:
            placed[name] = None
            continue
        dest = Path(static_dir) / name
        if not (dest / ".complete").is_file() or (dest / ".complete").read_text() != (source / ".complete").read_text():
            shutil.rmtree(dest, ignore_errors=True)
            shutil.copytree(source, dest)
        placed[name] = name
    return placed


def write_notebook(nb: nbformat.NotebookNode, path: Path) -> None:
    """Write ``nb`` to ``path`` (through a temporary file, so no half-written notebook is left)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".part")
    nbformat.write(nb, tmp)
    tmp.replace(path)


def copy_notebook(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """A deep copy of ``nb``, so a build can change it without touching the cached one."""
    return copy.deepcopy(nb)


def read_replay(replay_dir: Path, model_id: str) -> tuple[Path, dict] | None:
    """The replay GIF saved for dashboard widget ``model_id`` and its note, if there is one."""
    gif, note = Path(replay_dir) / f"{model_id}.gif", Path(replay_dir) / f"{model_id}.json"
    if gif.is_file() and note.is_file():
        return gif, json.loads(note.read_text())
    return None


def report_error(tool: str, error: Exception) -> int:
    """Print ``tool: error: ...`` to stderr and return the exit status 1."""
    print(f"{tool}: error: {error}", file=sys.stderr)
    return 1
