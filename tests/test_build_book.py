"""``make book`` (tools/build_book.py): a static site of the executed notebooks.

The book of two notebooks is built once per module in FAST mode: the course's real
``00_setup_and_tour`` (math, figures, an interactive widget) and a small notebook made here with a
live dashboard. The tests check a page per notebook, the links between pages, math, images, the
dashboard's replay and search; one opens the site in Chromium (skipped without it).
"""

from __future__ import annotations

import base64
import io
import json
import os
import re
import sys
import threading
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
import build_book  # noqa: E402
import course_build  # noqa: E402
import lab_screenshot  # noqa: E402

REAL = "00_setup_and_tour"  # the cheapest real notebook (~20-30 s in FAST mode)


def cell(kind: str, source: str, slide_type: str = "-"):
    make = nbformat.v4.new_markdown_cell if kind == "md" else nbformat.v4.new_code_cell
    return make(source, metadata={"slideshow": {"slide_type": slide_type}})


def dashboard_notebook() -> nbformat.NotebookNode:
    """A page with a formula, a live dashboard run headless, and the number of frames it recorded."""
    return nbformat.v4.new_notebook(cells=[
        cell("md", "# ZZ · A dashboard page\n\n[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)]"
                   "(https://colab.research.google.com/github/gan-course/gan-course/blob/main/notebooks/zz.ipynb)\n\n"
                   "The likelihood $\\prod_i p_\\theta(x_i)$ and, displayed,\n$$\\hat\\theta = \\arg\\max_\\theta "
                   "\\sum_i \\log p_\\theta(x_i).$$", "slide"),
        cell("code", "import torch\ntorch.set_num_threads(1)\nfrom gan_course.widgets.mle import MLEDashboard\n"
                     "dash = MLEDashboard(torch.linspace(0.0, 2.0, 40, dtype=torch.float64), mean=0.0, std=1.5, grid=20)\n"
                     "dash.run(4)"),
        cell("code", "print('recorded frames:', len(dash.frames))"),
    ], metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}})


@pytest.fixture(scope="module")
def book(tmp_path_factory):
    """The site of 00 and the dashboard page, built once in FAST mode: its folder."""
    work = tmp_path_factory.mktemp("book")
    nbformat.write(dashboard_notebook(), work / "zz_dashboard.ipynb")
    with pytest.MonkeyPatch.context() as mp:
        # shared with the other build tests of this session, so 00 is executed once
        mp.setattr(course_build, "EXECUTED_DIR", tmp_path_factory.getbasetemp() / "executed")
        mp.setenv("GAN_COURSE_FAST", "1")
        build_book.build([REAL, str(work / "zz_dashboard.ipynb")], work / "site", log=lambda *a: None)
    return work / "site"


def page(site: Path, name: str) -> str:
    return (site / name).read_text(encoding="utf-8")


def links(html: str) -> set[str]:
    return set(re.findall(r'href="([^"#?]+\.html)[^"]*"', html))


@pytest.mark.slow  # executes notebook 00 and a dashboard, then Sphinx: ~40-90 s for the module
def test_every_notebook_has_a_page_and_the_pages_link(book):
    assert (book / "index.html").is_file()
    assert json.loads((book / "pages.json").read_text()) == [
        {"page": f"{REAL}.html", "title": "00 · Setup and a tour of the course"},
        {"page": "zz_dashboard.html", "title": "ZZ · A dashboard page"}]
    index, real, dash = page(book, "index.html"), page(book, f"{REAL}.html"), page(book, "zz_dashboard.html")
    assert {f"{REAL}.html", "zz_dashboard.html"} <= links(index)  # the table of contents
    # next/previous: index -> 00 -> zz
    assert re.search(r'<a class="left-prev"\s+href="index.html"', real)
    assert re.search(r'<a class="right-next"\s+href="zz_dashboard.html"', real)
    assert re.search(rf'<a class="left-prev"\s+href="{REAL}.html"', dash)
    assert "zz_dashboard.html" in links(real) and f"{REAL}.html" in links(dash)  # the sidebar's contents
    for html in (real, dash):
        assert "colab.research.google.com/github/gan-course/gan-course/blob/main/notebooks/" in html  # launch button
    assert "<h1>00 · Setup and a tour of the course" in real


@pytest.mark.slow
def test_math_is_typeset_by_a_local_mathjax(book):
    dash = page(book, "zz_dashboard.html")
    assert '<span class="math notranslate nohighlight">\\(\\prod_i p_\\theta(x_i)\\)</span>' in dash
    assert '<div class="math notranslate nohighlight">' in dash and "\\arg\\max_\\theta" in dash
    assert "\\(" in page(book, f"{REAL}.html")  # the real notebook's formulas too
    if course_build.vendor_asset("mathjax", log=lambda *a: None) is not None:
        assert 'src="_static/mathjax/MathJax.js?config=TeX-AMS_CHTML-full"' in dash
        assert (book / "_static" / "mathjax" / "MathJax.js").is_file()
        assert "processClass" in dash  # MyST-NB's "math" spans are processed despite tex2jax_ignore


@pytest.mark.slow
def test_figures_are_images_of_the_site(book):
    real = page(book, f"{REAL}.html")
    images = re.findall(r'<img[^>]+src="(_images/[^"]+)"', real)
    assert len([i for i in images if i.endswith(".png")]) >= 3  # two figures and the interact widget's plot
    for src in images:
        assert (book / src).is_file() and (book / src).stat().st_size > 1000, src
    assert "The last picture of a live widget" in real  # the interact slider: its plot and a note
    for html in (real, page(book, "zz_dashboard.html")):
        assert "application/vnd.jupyter.widget" not in html and "VBox(children" not in html


@pytest.mark.slow
def test_a_dashboard_is_its_recorded_replay_with_a_line_on_running_it_live(book):
    from PIL import Image

    dash = page(book, "zz_dashboard.html")
    gifs = re.findall(r'<img[^>]+src="(_images/[^"]+\.gif)"', dash)
    assert len(gifs) == 1
    frames = int(re.search(r"recorded frames: (\d+)", dash).group(1))
    with Image.open(book / gifs[0]) as gif:
        assert gif.n_frames == frames >= 2  # the whole recorded history, frame by frame
    note = re.search(r'<p class="dashboard-replay">(.*?)</p>', dash, flags=re.DOTALL).group(1)
    assert f"A recorded replay of a live dashboard ({frames} frames over the 4 steps it ran" in note
    assert "JupyterLab" in note and 'href="https://colab.research.google.com/github/' in note
    assert "Maximum likelihood: fit a Gaussian" in dash  # its title and read-out are kept


@pytest.mark.slow
def test_the_site_can_be_searched(book):
    index = (book / "searchindex.js").read_text()
    assert "Setup and a tour of the course" in index and "A dashboard page" in index
    assert (book / "search.html").is_file()


@pytest.mark.slow
@pytest.mark.skipif(lab_screenshot.find_chromium() is None, reason="Chromium is not installed")
def test_the_site_in_chromium(book, tmp_path):
    """Served over HTTP as a reader gets it: contents, typeset math, pictures, replay, search."""
    from playwright.sync_api import sync_playwright

    out = Path(os.environ.get("TEST_ARTIFACTS", tmp_path))
    out.mkdir(parents=True, exist_ok=True)
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(QuietHandler, directory=str(book)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=lab_screenshot.find_chromium(),
                                         args=lab_screenshot.CHROMIUM_FLAGS, headless=True)
            view = browser.new_page(viewport={"width": 1280, "height": 900})
            view.goto(f"{base}/index.html")
            toc = view.locator(".bd-sidenav a").all_inner_texts()
            assert any("Setup and a tour" in t for t in toc) and any("A dashboard page" in t for t in toc)
            view.screenshot(path=str(out / "book_index.png"))

            view.goto(f"{base}/zz_dashboard.html")
            if course_build.vendor_asset("mathjax", log=lambda *a: None) is not None:
                view.wait_for_function("() => document.querySelectorAll('.MathJax_CHTML').length >= 2",
                                       timeout=30_000)
            replay = view.locator("img[src$='.gif']").first
            assert replay.evaluate("img => img.complete && img.naturalWidth > 300")
            view.locator(".dashboard-replay").scroll_into_view_if_needed()
            view.screenshot(path=str(out / "book_dashboard_page.png"))
            view.locator("a.left-prev").click()  # previous page: notebook 00
            view.wait_for_url(f"**/{REAL}.html")
            figures = view.locator(".cell_output img")
            assert figures.count() >= 3
            assert all(figures.nth(i).evaluate("img => img.complete && img.naturalWidth > 100")
                       for i in range(figures.count()))

            view.goto(f"{base}/search.html?q=dashboard")
            view.wait_for_selector("#search-results li", timeout=30_000)
            assert "A dashboard page" in view.locator("#search-results").inner_text()
            view.screenshot(path=str(out / "book_search.png"))
            browser.close()
    finally:
        server.shutdown()
        server.server_close()


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, *args):  # no request log in the test output
        pass


# ---- the pieces, without a kernel ---------------------------------------------------------------


def test_a_dashboard_with_a_replay_becomes_a_gif_and_a_note(tmp_path):
    from PIL import Image

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from test_build_slides import widget_notebook

    frames = [Image.new("RGB", (40, 20), colour) for colour in ("red", "green", "blue")]
    frames[0].save(tmp_path / "box.gif", save_all=True, append_images=frames[1:])
    (tmp_path / "box.json").write_text(json.dumps({"dashboard": "EMDashboard", "frames": 3, "first_step": 0,
                                                   "last_step": 30}))
    colab = "https://colab.research.google.com/github/x/y/blob/main/n.ipynb"
    nb = build_book.book_notebook(widget_notebook(), tmp_path, colab)
    outputs = nb.cells[0].outputs
    kinds = [next(iter(o["data"])) if "data" in o else o["output_type"] for o in outputs]
    assert kinds == ["text/html", "image/gif", "stream", "text/html", "text/html", "stream"]
    gif = Image.open(io.BytesIO(base64.b64decode(outputs[1]["data"]["image/gif"])))
    assert gif.n_frames == 3
    note = outputs[4]["data"]["text/html"]
    assert "3 frames over the 30 steps" in note and 'href="https://colab.research.google.com/github/x/y' in note

    nb = build_book.book_notebook(widget_notebook(), tmp_path / "none", None)  # no replay saved
    htmls = [o["data"]["text/html"] for o in nb.cells[0].outputs if "text/html" in o.get("data", {})]
    notes = [h for h in htmls if "dashboard-replay" in h]
    assert len(notes) == 1 and "The last picture of a live widget" in notes[0]
    assert "image/png" in nb.cells[0].outputs[1]["data"]


def test_the_book_refuses_to_empty_a_folder_it_did_not_build(tmp_path):
    (tmp_path / "thesis.tex").write_text("precious")
    with pytest.raises(ValueError, match="is not empty and holds no book built by this script"):
        build_book.clear_output_folder(tmp_path)
    assert (tmp_path / "thesis.tex").read_text() == "precious"
    old = tmp_path / "old_book"
    (old / "_static").mkdir(parents=True)
    (old / "pages.json").write_text("[]")
    (old / "gone.html").write_text("a page of a notebook no longer built")
    build_book.clear_output_folder(old)
    assert old.is_dir() and list(old.iterdir()) == []
