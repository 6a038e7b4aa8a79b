"""Build the course as a static web site of the executed notebooks: ``make book``.

    python tools/build_book.py                  # every notebook in notebooks/, FAST mode
    python tools/build_book.py 00 03            # only these (a prefix, a stem or a path)
    GAN_COURSE_FAST=0 python tools/build_book.py    # the full-size runs (an hour or more on a CPU)

Each notebook is executed (``tools/course_build.py``: FAST mode unless ``GAN_COURSE_FAST=0``,
reused from ``build/executed/`` while nothing it depends on changed). A live dashboard cannot run
without a kernel, so each one appears as its recorded replay (its history as an animated GIF)
with a line saying how to run it live; other widgets show what they last drew. The notebooks then
go through Sphinx with MyST-NB and the book theme (the engine of Jupyter Book 1) into
``build/book/index.html``: a page per notebook, a table of contents, full-text search,
next/previous links, MathJax, figures, and a Colab launch button on every page. MathJax is copied
into the site (fetched once with ``npm pack``), so the site works offline. A notebook that fails
to execute stops the build with its name and the failing cell.

Why not Jupyter Book 2 (``pip install jupyter-book``, built on mystmd and Node.js): its
``build --html`` downloads the site theme from api.mystmd.org at build time, which a machine that
reaches only the package registries (this project's CI) cannot do.
"""

from __future__ import annotations

import argparse
import base64
import html
import json
import os
import shutil
import subprocess
import sys
import time
import tomllib
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import course_build as cb  # noqa: E402

OUT_DIR = cb.BUILD_DIR / "book"
SOURCE = "_source"  # the site's sources (executed notebooks, index, conf.py) while it is built

CONF = '''\
# Written by tools/build_book.py: the Sphinx configuration of the course book.
project = {title!r}
author = {author!r}
html_title = {title!r}
extensions = ["myst_nb"]
nb_execution_mode = "off"  # tools/build_book.py has executed the notebooks
nb_output_stderr = "remove"  # progress bars and warnings are not part of the text
myst_enable_extensions = ["dollarmath", "amsmath"]
myst_dmath_double_inline = True  # "$$...$$" inside a paragraph is display math, as in Jupyter
myst_heading_anchors = 3
suppress_warnings = ["myst.header", "mystnb.unknown_mime_type"]
exclude_patterns = ["_build", "**/.ipynb_checkpoints"]
html_theme = "sphinx_book_theme"
html_theme_options = {{
    "repository_url": {repository!r},
    "repository_branch": "main",
    "path_to_docs": "notebooks",
    "use_repository_button": {has_repository!r},
    "launch_buttons": {{"colab_url": "https://colab.research.google.com"}},
    "home_page_in_toc": True,
    "show_navbar_depth": 1,
}}
html_css_files = ["course.css"]  # copied into the site's _static by tools/build_book.py
html_last_updated_fmt = None
{mathjax}
'''

MATHJAX_LOCAL = '''\
mathjax_path = "mathjax/MathJax.js?config=TeX-AMS_CHTML-full"  # the copy in _static: no internet needed
# MyST-NB marks a notebook's text "tex2jax_ignore" and its formulas "math": MathJax 2 must be told.
mathjax2_config = {"tex2jax": {"inlineMath": [["\\\\(", "\\\\)"]], "displayMath": [["\\\\[", "\\\\]"]],
                               "processEscapes": True, "processEnvironments": True,
                               "ignoreClass": "tex2jax_ignore|mathjax_ignore",
                               "processClass": "tex2jax_process|mathjax_process|math|output_area"},
                   "CommonHTML": {"linebreaks": {"automatic": True}}, "messageStyle": "none"}
'''

COURSE_CSS = """\
.dashboard-replay { border-left: 4px solid #0969da; background: #f6f8fa; padding: 0.4em 0.8em;
                    margin: 0.3em 0 1em; font-size: 0.9em; }
.cell_output img { max-width: 100%; height: auto; }
/* the theme lays display math out as a flex row (made for MathJax 3); MathJax 2 centres a block */
div.math { display: block; overflow-x: auto; }
"""


def project_facts() -> dict[str, str]:
    """The course's title, authors and repository, from pyproject.toml."""
    meta = tomllib.loads((cb.ROOT / "pyproject.toml").read_text())["project"]
    title = meta.get("description", "The course").split(":")[0].strip()
    authors = ", ".join(a.get("name", "") for a in meta.get("authors", [])) or title
    repository = meta.get("urls", {}).get("Homepage", "")
    return {"title": title, "author": authors, "repository": repository}


def replay_note(note: dict | None, colab: str | None) -> str:
    """The line under a dashboard saying what the picture is and how to run the dashboard live."""
    where = (f'in JupyterLab (<code>make lab</code>) or <a href="{html.escape(colab)}">in Colab</a>'
             if colab else "in JupyterLab (<code>make lab</code>) or Colab")
    if note:
        steps = note["last_step"] - note["first_step"]
        what = (f"▶ A recorded replay of a live dashboard ({note['frames']} frames over the {steps} "
                f"steps it ran when this page was built, in {'FAST' if cb.fast_flag() else 'full'} mode).")
    else:
        what = "The last picture of a live widget."
    return (f'<p class="dashboard-replay">{what} Its buttons and sliders need a running kernel: '
            f"open this notebook {where} to drive it yourself.</p>")


def book_notebook(nb, replays: Path, colab: str | None):
    """A copy of executed ``nb`` for the book: each dashboard becomes its replay and a note."""
    nb = cb.copy_notebook(nb)

    def with_replay(model_id, parts, controls):
        outputs = [out for _, out in parts]
        if not controls or not cb.has_picture(outputs):
            return outputs  # nothing to drive, or nothing drawn: shown as it is
        replay = cb.read_replay(replays, model_id)
        note = None
        if replay is not None:
            gif, note = replay
            last = max(i for i, out in enumerate(outputs) if cb.has_picture([out]))
            outputs[last] = cb.nbformat.v4.new_output(
                "display_data", data={"image/gif": base64.b64encode(gif.read_bytes()).decode()})
        outputs.append(cb.nbformat.v4.new_output("display_data", data={"text/html": replay_note(note, colab)}))
        return outputs

    cb.static_widget_outputs(nb, replace=with_replay)
    return nb


def write_index(source: Path, pages: list[tuple[str, str]], facts: dict[str, str], fast: bool) -> None:
    """``index.md``: what the course is, how to run it live, and the table of contents."""
    course = [(stem, title) for stem, title in pages if stem[:1].isdigit()]
    further = [(stem, title) for stem, title in pages if not stem[:1].isdigit()]

    def toctree(caption, entries):
        if not entries:
            return ""
        lines = "\n".join(stem for stem, _ in entries)
        return f"```{{toctree}}\n:caption: {caption}\n:maxdepth: 1\n\n{lines}\n```\n\n"

    mode = ("FAST mode (`GAN_COURSE_FAST=1`): small sizes and short runs, so the printed numbers "
            "and the figures can differ from the full-size ones the text quotes") if fast else \
        "full mode (`GAN_COURSE_FAST=0`), the sizes the text describes"
    text = (f"# {facts['title']}\n\n"
            f"The notebooks of the course, executed, with their figures and outputs. This site was built "
            f"in {mode}.\n\n"
            "**Running it yourself.** The dashboards here are recorded replays: to drive them (Play, Pause, "
            "Step, sliders) open a notebook in JupyterLab (`make lab` in a clone of the repository) or on "
            "Colab (the rocket button at the top of each page, or the badge under each title).\n\n"
            + toctree("Notebooks", course) + toctree("Further topics", further))
    (source / "index.md").write_text(text, encoding="utf-8")


def run_sphinx(source: Path, out_dir: Path, log=print) -> None:
    """``sphinx-build -b html`` from ``source`` into ``out_dir``; raises RuntimeError on failure."""
    cmd = [sys.executable, "-m", "sphinx", "-b", "html", "-q", "-j", "1", "-d", str(out_dir / ".doctrees"),
           str(source), str(out_dir)]
    env = dict(os.environ, PYTHONWARNINGS="ignore")
    result = subprocess.run(cmd, capture_output=True, text=True, env=env)
    warnings = [line for line in result.stderr.splitlines() if "WARNING" in line]
    for line in warnings[:20]:
        log(f"  sphinx: {line}")
    if result.returncode != 0:
        raise RuntimeError(f"sphinx-build failed (exit {result.returncode}):\n{result.stderr[-3000:]}")


def clear_output_folder(out_dir: Path) -> None:
    """Empty ``out_dir`` (pages of notebooks no longer built must go), if it holds a previous book.

    Raises:
        ValueError: ``out_dir`` is a non-empty folder that is not a book this script built.
    """
    if out_dir.is_dir() and any(out_dir.iterdir()):
        if not (out_dir / "pages.json").is_file() and not (out_dir / SOURCE).is_dir():
            raise ValueError(f"--out {out_dir} is not empty and holds no book built by this script; "
                             "choose an empty or new folder")
        shutil.rmtree(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)


def build(selection=(), out_dir: Path = OUT_DIR, use_cache: bool = True, timeout: int = 900,
          log=print) -> Path:
    """Build the book of the ``selection`` (default: every notebook) into ``out_dir``.

    Returns:
        The site's ``index.html``.

    Raises:
        course_build.NotebookError: a notebook failed to execute (names the notebook and cell).
        ValueError: a name matches no notebook, or GAN_COURSE_FAST is not an on/off value.
        RuntimeError: Sphinx failed.
    """
    fast = cb.fast_flag()
    notebooks = cb.find_notebooks(selection)
    out_dir = Path(out_dir)
    source = out_dir / SOURCE
    clear_output_folder(out_dir)
    source.mkdir(parents=True)
    log(f"Building the book of {len(notebooks)} notebook(s) into {cb.display_path(out_dir)} "
        f"({'FAST' if fast else 'full'} mode)")
    pages = []
    for path in notebooks:
        nb, replays = cb.executed_notebook(path, fast=fast, timeout=timeout, use_cache=use_cache, log=log)
        title = cb.notebook_title(nb, path.stem)
        cb.write_notebook(book_notebook(nb, replays, cb.colab_url(nb)), source / path.name)
        pages.append((path.stem, title))
    facts = project_facts()
    write_index(source, pages, facts, fast)
    # The site's own files go straight into its _static after Sphinx (Sphinx ignores a static
    # folder inside its output folder, which is where the sources are).
    placed = cb.copy_assets(["mathjax"], out_dir / "_static", log=log)
    (source / "conf.py").write_text(CONF.format(
        title=facts["title"], author=facts["author"], repository=facts["repository"] or "https://github.com",
        has_repository=bool(facts["repository"]), mathjax=MATHJAX_LOCAL if placed["mathjax"] else ""))
    log("  rendering the site with Sphinx ...")
    start = time.perf_counter()
    run_sphinx(source, out_dir, log=log)
    log(f"  rendered in {time.perf_counter() - start:.0f} s")
    (out_dir / "_static" / "course.css").write_text(COURSE_CSS)
    shutil.rmtree(source)  # the site keeps each notebook under _sources/ (its download button)
    (out_dir / "pages.json").write_text(json.dumps([{"page": f"{stem}.html", "title": title} for stem, title in pages],
                                                   indent=1))
    return out_dir / "index.html"


def main(argv: list[str] | None = None) -> int:
    """Command line: ``build_book.py [NOTEBOOK ...] [--out DIR] [--no-cache] [--timeout S]``."""
    parser = argparse.ArgumentParser(prog="build_book.py", description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("notebooks", nargs="*", help="notebooks to include (default: every one in notebooks/)")
    parser.add_argument("--out", type=Path, default=OUT_DIR, help="output folder (default: build/book)")
    parser.add_argument("--no-cache", action="store_true", help="execute even when build/executed/ is current")
    parser.add_argument("--timeout", type=int, default=900, help="seconds one cell may run (default: 900)")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    try:
        index = build(args.notebooks, args.out, use_cache=not args.no_cache, timeout=args.timeout)
    except (cb.NotebookError, ValueError, RuntimeError) as error:
        return cb.report_error("build_book", error)
    print(f"The book is built in {time.perf_counter() - start:.0f} s; open {cb.display_path(index)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
