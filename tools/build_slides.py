"""Build a reveal.js lecture deck for every notebook: ``make slides``.

    python tools/build_slides.py                 # every notebook in notebooks/, FAST mode
    python tools/build_slides.py 03 07           # only these (a prefix, a stem or a path)
    GAN_COURSE_FAST=0 python tools/build_slides.py   # full-size runs (minutes per notebook)

Each notebook is executed (``tools/course_build.py``: FAST mode unless ``GAN_COURSE_FAST=0``,
reused from ``build/executed/`` while nothing it depends on changed), its live widgets are
replaced by what they last showed (a dashboard becomes its last frame: a deck has no kernel to
drive it), and ``jupyter nbconvert --to slides`` turns it into ``build/slides/<name>.slides.html``
following the notebook's slide metadata: one horizontal slide per ``slide`` cell, vertical ones
for ``subslide``, step-by-step ``fragment`` cells, ``skip`` cells left out. Figures are embedded
in the page; reveal.js, require.js, jQuery and MathJax are copied into ``build/slides/_static/``
(fetched once with ``npm pack``), so the decks work offline. ``build/slides/index.html`` lists the
decks. A notebook that fails to execute stops the build with its name and the failing cell.

Keys in a deck: arrows move, ``Esc`` gives the overview, ``s`` opens the speaker view.
"""

from __future__ import annotations

import argparse
import html
import re
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import course_build as cb  # noqa: E402

OUT_DIR = cb.BUILD_DIR / "slides"
ASSET_NAMES = ("reveal.js", "requirejs", "jquery", "mathjax")
DASHBOARD_NOTE = ('<p style="font-size:0.6em;color:#57606a;margin:0"><i>The last frame of a live widget: '
                  'run the notebook (JupyterLab or Colab) to drive it.</i></p>')


# reveal's white theme writes headings in capitals; the notebooks' headings read better as written
HEADING_STYLE = "<style>.reveal h1, .reveal h2, .reveal h3 { text-transform: none; }</style>\n"


def exporter_config(placed: dict[str, str | None]):
    """nbconvert's configuration: local copies of reveal.js & co. where ``placed`` has them."""
    from traitlets.config import Config

    config = Config()
    config.SlidesExporter.reveal_scroll = True  # a slide taller than the screen scrolls
    config.SlidesExporter.reveal_theme = "white"  # its fonts ship with reveal.js (others load Google Fonts)
    config.SlidesExporter.reveal_number = "c/t"  # slide numbers: current/total
    config.SlidesExporter.exclude_input_prompt = True
    config.SlidesExporter.exclude_output_prompt = True
    if placed.get("reveal.js"):
        config.SlidesExporter.reveal_url_prefix = "_static/reveal.js"
    if placed.get("requirejs"):
        config.SlidesExporter.require_js_url = "_static/requirejs/require.js"
    if placed.get("jquery"):
        config.SlidesExporter.jquery_url = "_static/jquery/dist/jquery.min.js"
    if placed.get("mathjax"):
        config.SlidesExporter.mathjax_url = "_static/mathjax/MathJax.js?config=TeX-AMS_CHTML-full,Safe"
    return config


def slides_notebook(nb):
    """A copy of executed ``nb`` ready for a deck: each widget shows its last picture and text."""
    nb = cb.copy_notebook(nb)
    nb.metadata["title"] = cb.notebook_title(nb, nb.metadata.get("title", "slides"))  # the page's <title>

    def last_frame(_model_id, parts, controls):
        outputs = [out for _, out in parts]
        if controls and cb.has_picture(outputs):
            outputs.append(cb.nbformat.v4.new_output("display_data", data={"text/html": DASHBOARD_NOTE}))
        return outputs

    cb.static_widget_outputs(nb, replace=last_frame)
    return nb


def render_deck(nb, name: str, config) -> str:
    """The deck's HTML (``jupyter nbconvert --to slides``), without the Mermaid loader it never needs."""
    from nbconvert import SlidesExporter

    body, _ = SlidesExporter(config=config).from_notebook_node(nb, resources={"metadata": {"name": name}})
    # The notebooks draw no Mermaid diagrams; its loader is the one file a deck would still fetch online.
    body = re.sub(r'<script type="module">\s*import mermaid.*?</script>\s*', "", body, flags=re.DOTALL)
    return body.replace("</head>", HEADING_STYLE + "</head>", 1)


def deck_title(deck: Path) -> str:
    """A deck's title: its page title without nbconvert's " slides" (the file name if it has none)."""
    match = re.search(r"<title>(.*?)</title>", deck.read_text(encoding="utf-8")[:20000], flags=re.DOTALL)
    return html.unescape(match.group(1)).removesuffix(" slides").strip() if match else deck.name


def write_index(out_dir: Path, decks: list[tuple[str, str]]) -> Path:
    """``index.html``: a list of the decks with their titles."""
    items = "\n".join(f'<li><a href="{html.escape(file)}">{html.escape(title)}</a></li>' for file, title in decks)
    page = (f"<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Lecture decks</title>"
            f"<style>body{{font-family:sans-serif;max-width:46em;margin:2em auto}}li{{margin:.3em 0}}</style>"
            f"</head><body><h1>Generative Modeling, from Likelihood to GANs: lecture decks</h1>\n"
            f"<p>One reveal.js deck per notebook. Arrows move, <kbd>Esc</kbd> shows the overview, "
            f"<kbd>s</kbd> opens the speaker view.</p>\n<ul>\n{items}\n</ul></body></html>\n")
    path = out_dir / "index.html"
    path.write_text(page, encoding="utf-8")
    return path


def build(selection=(), out_dir: Path = OUT_DIR, use_cache: bool = True, timeout: int = 900,
          log=print) -> list[Path]:
    """Build the decks of the ``selection`` (default: every notebook) into ``out_dir``.

    Returns:
        The paths of the decks written.

    Raises:
        course_build.NotebookError: a notebook failed to execute (names the notebook and cell).
        ValueError: a name matches no notebook, or GAN_COURSE_FAST is not an on/off value.
    """
    fast = cb.fast_flag()
    notebooks = cb.find_notebooks(selection)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    placed = cb.copy_assets(ASSET_NAMES, out_dir / "_static", log=log)
    config = exporter_config(placed)
    log(f"Building {len(notebooks)} deck(s) into {cb.display_path(out_dir)} "
        f"({'FAST' if fast else 'full'} mode)")
    written = []
    for path in notebooks:
        nb, _ = cb.executed_notebook(path, fast=fast, timeout=timeout, use_cache=use_cache, log=log)
        deck = out_dir / f"{path.stem}.slides.html"
        deck.write_text(render_deck(slides_notebook(nb), path.stem, config), encoding="utf-8")
        log(f"  wrote {cb.display_path(deck)}")
        written.append(deck)
    decks = sorted((deck.name, deck_title(deck)) for deck in out_dir.glob("*.slides.html"))
    write_index(out_dir, decks)
    return written


def main(argv: list[str] | None = None) -> int:
    """Command line: ``build_slides.py [NOTEBOOK ...] [--out DIR] [--no-cache] [--timeout S]``."""
    parser = argparse.ArgumentParser(prog="build_slides.py", description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("notebooks", nargs="*", help="notebooks to build (default: every one in notebooks/)")
    parser.add_argument("--out", type=Path, default=OUT_DIR, help="output folder (default: build/slides)")
    parser.add_argument("--no-cache", action="store_true", help="execute even when build/executed/ is current")
    parser.add_argument("--timeout", type=int, default=900, help="seconds one cell may run (default: 900)")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    try:
        decks = build(args.notebooks, args.out, use_cache=not args.no_cache, timeout=args.timeout)
    except (cb.NotebookError, ValueError) as error:
        return cb.report_error("build_slides", error)
    index = cb.display_path(args.out / "index.html")
    print(f"{len(decks)} deck(s) in {time.perf_counter() - start:.0f} s; open {index}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
