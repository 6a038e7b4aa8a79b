"""``make slides`` (tools/build_slides.py): reveal.js decks built from the notebooks' slide metadata.

A small notebook made here (a title, two sections, a sub-slide, a fragment, a skipped cell, a
figure, a live dashboard) is built into a deck once per module; the tests read the deck's
sections, pictures and assets, open it in Chromium (skipped without it), and check that a
notebook that fails stops the build with its name and the cell.
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
import sys
from html.parser import HTMLParser
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
import build_slides  # noqa: E402
import course_build  # noqa: E402
import lab_screenshot  # noqa: E402


def cell(kind: str, source: str, slide_type: str = "-"):
    """A notebook cell with slide metadata."""
    make = nbformat.v4.new_markdown_cell if kind == "md" else nbformat.v4.new_code_cell
    return make(source, metadata={"slideshow": {"slide_type": slide_type}})


def tiny_notebook() -> nbformat.NotebookNode:
    """Every kind of slide the course's notebooks use, a figure and a dashboard, in seconds."""
    return nbformat.v4.new_notebook(cells=[
        cell("md", "# Tiny deck\n\nEuler: $e^{i\\pi} + 1 = 0$.", "slide"),
        cell("code", "import hashlib\nimport matplotlib.pyplot as plt\nimport torch\ntorch.set_num_threads(1)"),
        cell("md", "## 1. A figure", "slide"),
        cell("code", "fig, ax = plt.subplots(figsize=(3, 2))\nax.plot([0, 1, 4, 9])\nplt.show()"),
        cell("md", "### A closer look", "subslide"),
        cell("md", "A FRAGMENT that appears on the next key press", "fragment"),
        cell("md", "SKIPPED TEXT that no deck shows", "skip"),
        cell("md", "## 2. A dashboard", "slide"),
        cell("code", "from gan_course.widgets.mle import MLEDashboard\n"
                     "dash = MLEDashboard(torch.linspace(0.0, 2.0, 40, dtype=torch.float64), mean=0.0, std=1.5, grid=20)\n"
                     "dash.run(3)"),
        cell("code", "print('last frame', hashlib.sha256(dash.frames[-1]).hexdigest(), 'frames', len(dash.frames))"),
    ], metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}})


class DeckParser(HTMLParser):
    """The slides of a reveal.js deck: one list of vertical slides per horizontal slide.

    Each vertical slide is a dict: ``text`` (its visible text), ``headings`` ((tag, text) pairs),
    ``images`` (the ``src`` of each ``<img>``), ``fragments`` (elements of class ``fragment``).
    """

    def __init__(self) -> None:
        super().__init__()
        self.slides: list[list[dict]] = []
        self.depth = 0  # <section> nesting
        self.heading: str | None = None
        self.in_script = False

    def _current(self) -> dict | None:
        return self.slides[-1][-1] if self.depth == 2 else None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "section":
            self.depth += 1
            if self.depth == 1:
                self.slides.append([])
            elif self.depth == 2:
                self.slides[-1].append({"text": "", "headings": [], "images": [], "fragments": 0})
        current = self._current()
        if tag in ("script", "style"):
            self.in_script = True
        if current is None:
            return
        if tag in ("h1", "h2", "h3"):
            self.heading = tag
            current["headings"].append((tag, ""))
        if tag == "img":
            current["images"].append(attrs.get("src", ""))
        if "fragment" in (attrs.get("class") or "").split():
            current["fragments"] += 1

    def handle_endtag(self, tag):
        if tag == "section":
            self.depth -= 1
        if tag in ("script", "style"):
            self.in_script = False
        if tag == self.heading:
            self.heading = None

    def handle_data(self, data):
        current = self._current()
        if current is None or self.in_script:
            return
        current["text"] += data
        if self.heading:
            tag, text = current["headings"][-1]
            current["headings"][-1] = (tag, text + data)


def parse_deck(path: Path) -> list[list[dict]]:
    parser = DeckParser()
    parser.feed(path.read_text(encoding="utf-8"))
    return parser.slides


@pytest.fixture(scope="module")
def deck(tmp_path_factory):
    """The tiny notebook's deck, built once: (deck path, the executed notebook's printed line)."""
    work = tmp_path_factory.mktemp("slides")
    nbformat.write(tiny_notebook(), work / "tiny_deck.ipynb")
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(course_build, "EXECUTED_DIR", tmp_path_factory.getbasetemp() / "executed")
        mp.setenv("GAN_COURSE_FAST", "1")
        written = build_slides.build([str(work / "tiny_deck.ipynb")], work / "out", log=lambda *a: None)
        executed, _ = course_build.executed_notebook(work / "tiny_deck.ipynb", fast=True, log=lambda *a: None)
    printed = executed.cells[-1].outputs[0]["text"]
    return written[0], printed


@pytest.mark.slow  # executes a notebook that imports torch and trains a dashboard: ~10-20 s
def test_deck_has_its_title_slide_its_sections_and_no_skipped_cell(deck):
    path, _ = deck
    assert path.name == "tiny_deck.slides.html"
    slides = parse_deck(path)
    assert len(slides) == 3  # one horizontal slide per "slide" cell
    title, section1, section2 = slides
    assert title[0]["headings"][0][0] == "h1" and title[0]["headings"][0][1].startswith("Tiny deck")
    assert [h[1].rstrip("¶") for h in section1[0]["headings"]] == ["1. A figure"]
    assert len(section1) == 2  # the sub-slide is a vertical slide under section 1
    assert section1[1]["headings"][0][1].startswith("A closer look")
    assert section1[1]["fragments"] == 1 and "A FRAGMENT" in section1[1]["text"]
    assert section2[0]["headings"][0][1].startswith("2. A dashboard")
    html = path.read_text(encoding="utf-8")
    assert "SKIPPED TEXT" not in html
    assert "<title>Tiny deck slides</title>" in html
    assert "$e^{i\\pi} + 1 = 0$" in html  # the formula, for MathJax to typeset
    index = (path.parent / "index.html").read_text()
    assert 'href="tiny_deck.slides.html"' in index and "Tiny deck" in index


@pytest.mark.slow
def test_figures_are_embedded_and_the_dashboard_shows_its_last_frame(deck):
    path, printed = deck
    title, section1, section2 = parse_deck(path)
    figure = [src for src in section1[0]["images"] if src.startswith("data:image/png;base64,")]
    assert len(figure) == 1
    frames = [src for src in section2[0]["images"] if src.startswith("data:image/png;base64,")]
    assert len(frames) == 1, section2[0]["images"]
    png = base64.b64decode(frames[0].split(",", 1)[1])
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    last_frame = re.search(r"last frame (\w+)", printed).group(1)
    assert hashlib.sha256(png).hexdigest() == last_frame  # exactly the dashboard's final frame
    assert "The last frame of a live widget" in section2[0]["text"]
    assert "Maximum likelihood: fit a Gaussian" in section2[0]["text"]  # the dashboard's title ...
    assert "mean log-likelihood" in section2[0]["text"]  # ... and its read-out line
    html = path.read_text(encoding="utf-8")
    assert "application/vnd.jupyter.widget" not in html  # no widget the deck could not draw
    assert "VBox(children" not in html


@pytest.mark.slow
def test_the_deck_works_offline_with_local_reveal_and_mathjax(deck):
    path, _ = deck
    if course_build.vendor_asset("reveal.js", log=lambda *a: None) is None:
        pytest.skip("npm could not fetch reveal.js here: the deck links the CDN instead")
    html = path.read_text(encoding="utf-8")
    static = path.parent / "_static"
    for ref in ("_static/reveal.js/dist/reveal.js", "_static/reveal.js/dist/theme/white.css",
                "_static/requirejs/require.js", "_static/jquery/dist/jquery.min.js", "_static/mathjax/MathJax.js"):
        assert ref in html, ref
        assert (path.parent / ref).is_file(), ref
    assert (static / "mathjax" / "config" / "TeX-AMS_CHTML-full.js").is_file()
    assert "unpkg.com" not in html and "cdnjs" not in html and "mermaid" not in html


def artifacts_dir(tmp_path):
    """Where screenshots are kept: $TEST_ARTIFACTS if set (CI uploads it), else the test's tmp dir."""
    out = Path(os.environ.get("TEST_ARTIFACTS", tmp_path))
    out.mkdir(parents=True, exist_ok=True)
    return out


@pytest.mark.slow
@pytest.mark.skipif(lab_screenshot.find_chromium() is None, reason="Chromium is not installed")
def test_the_deck_in_chromium_shows_its_title_and_its_dashboard_slide(deck, tmp_path):
    from playwright.sync_api import sync_playwright

    path, _ = deck
    if course_build.vendor_asset("reveal.js", log=lambda *a: None) is None:
        pytest.skip("no local reveal.js (npm unavailable): the deck needs the internet")
    out = artifacts_dir(tmp_path)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=lab_screenshot.find_chromium(),
                                     args=lab_screenshot.CHROMIUM_FLAGS, headless=True)
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        page.goto(path.as_uri() + "#/0")
        # reveal.js is loaded through require.js, so there is no global Reveal: read the page
        page.wait_for_selector(".reveal.ready", timeout=30_000)
        page.wait_for_function("() => document.querySelectorAll('.reveal .MathJax_CHTML').length > 0",
                               timeout=30_000)  # the formula was typeset by the local MathJax
        assert page.locator("section.present h1").first.inner_text().startswith("Tiny deck")
        # title, section 1 and its sub-slide, section 2
        assert page.locator(".reveal .slides > section > section").count() == 4
        page.screenshot(path=str(out / "deck_title_slide.png"))

        page.keyboard.press("ArrowRight")  # to section 1 ...
        page.wait_for_function("() => location.hash === '#/1'", timeout=10_000)
        page.keyboard.press("ArrowRight")  # ... and on to section 2, the dashboard
        page.wait_for_function("() => location.hash === '#/2'", timeout=10_000)
        page.wait_for_timeout(1000)  # the slide transition
        image = page.locator("section.present img").first
        assert image.evaluate("img => img.complete && img.naturalWidth > 300")
        assert "2. A dashboard" in page.locator("section.present h2").first.inner_text()
        page.screenshot(path=str(out / "deck_dashboard_slide.png"))
        browser.close()


# ---- a notebook that fails --------------------------------------------------------------------


@pytest.mark.slow  # starts a kernel: ~3-8 s
def test_a_failing_notebook_stops_the_build_naming_the_notebook_and_the_cell(tmp_path, monkeypatch, capsys):
    nb = nbformat.v4.new_notebook(cells=[
        cell("md", "# Broken", "slide"),
        cell("code", "x = 1"),
        cell("code", "y = x / 0  # the mistake"),
        cell("md", "never reached"),
    ])
    nbformat.write(nb, tmp_path / "broken.ipynb")
    monkeypatch.setattr(course_build, "EXECUTED_DIR", tmp_path / "executed")
    assert build_slides.main([str(tmp_path / "broken.ipynb"), "--out", str(tmp_path / "out")]) == 1
    err = capsys.readouterr().err
    assert "broken.ipynb" in err
    assert "cell 3 of 4" in err and "y = x / 0" in err
    assert "ZeroDivisionError" in err
    assert not (tmp_path / "out" / "broken.slides.html").exists()


# ---- the pieces, without a kernel ---------------------------------------------------------------


def test_every_notebook_in_the_folder_is_built_and_a_name_selects(tmp_path):
    for name in ("00_a.ipynb", "03_b.ipynb", "A1_c.ipynb", "notes.txt"):
        (tmp_path / name).write_text("{}")
    assert [p.name for p in course_build.find_notebooks(folder=tmp_path)] == ["00_a.ipynb", "03_b.ipynb", "A1_c.ipynb"]
    assert [p.name for p in course_build.find_notebooks(["03", "A1_c"], folder=tmp_path)] == ["03_b.ipynb", "A1_c.ipynb"]
    with pytest.raises(ValueError, match=r"no notebook matches '07'; the notebooks are: 00, 03, A1"):
        course_build.find_notebooks(["07"], folder=tmp_path)
    real = course_build.find_notebooks()
    assert real == sorted((ROOT / "notebooks").glob("*.ipynb")) and len(real) >= 1  # never a fixed list


def test_fast_mode_is_the_default_and_a_bad_value_is_refused():
    assert course_build.fast_flag({}) is True
    assert course_build.fast_flag({"GAN_COURSE_FAST": "0"}) is False
    assert course_build.fast_flag({"GAN_COURSE_FAST": "yes"}) is True
    with pytest.raises(ValueError, match="GAN_COURSE_FAST must be one of .* got 'maybe'"):
        course_build.fast_flag({"GAN_COURSE_FAST": "maybe"})
    env = course_build.kernel_environment(fast=False)
    assert env["GAN_COURSE_FAST"] == "0" and "MPLBACKEND" not in env  # figures must reach the notebook


def widget_notebook() -> nbformat.NotebookNode:
    """An executed-looking notebook with one dashboard-like widget in its stored state."""
    png = base64.b64encode(b"\x89PNG\r\n\x1a\nfake").decode()

    def model(name, state, buffers=None):
        entry = {"model_name": name, "model_module": "@jupyter-widgets/controls", "state": state}
        if buffers:
            entry["buffers"] = buffers
        return entry

    state = {
        "box": model("VBoxModel", {"children": ["IPY_MODEL_title", "IPY_MODEL_row", "IPY_MODEL_img", "IPY_MODEL_out",
                                                "IPY_MODEL_readout"], "layout": "IPY_MODEL_lay"}),
        "title": model("HTMLModel", {"value": "<b>A dashboard</b>"}),
        "row": model("HBoxModel", {"children": ["IPY_MODEL_caption", "IPY_MODEL_play", "IPY_MODEL_button"]}),
        "play": model("PlayModel", {"value": 0}),
        "button": model("ButtonModel", {"description": "Step"}),
        "img": model("ImageModel", {"format": "png"}, [{"path": ["value"], "data": png, "encoding": "base64"}]),
        "out": model("OutputModel", {"outputs": [{"output_type": "stream", "name": "stdout", "text": "captured\n"}]}),
        "readout": model("HTMLModel", {"value": "step 7"}),
        "lay": model("LayoutModel", {}),
        "caption": model("LabelModel", {"value": "show:"}),
    }
    view = {"output_type": "display_data", "metadata": {},
            "data": {course_build.WIDGET_VIEW: {"model_id": "box", "version_major": 2, "version_minor": 0},
                     "text/plain": "VBox(children=(...))"}}
    code = nbformat.v4.new_code_cell("dash", outputs=[nbformat.from_dict(view),
                                                      nbformat.v4.new_output("stream", text="after\n")])
    nb = nbformat.v4.new_notebook(cells=[code])
    nb.metadata["widgets"] = {course_build.WIDGET_STATE: {"state": state, "version_major": 2, "version_minor": 0}}
    return nb


def test_a_widget_becomes_its_picture_and_text_and_its_controls_are_dropped():
    nb = widget_notebook()
    seen = []
    assert course_build.static_widget_outputs(nb, replace=lambda mid, parts, controls: (
        seen.append((mid, [p[0] for p in parts], controls)) or [p for _, p in parts])) == 1
    assert seen == [("box", ["title", "img", "out", "readout"], ["Label", "Play", "Button"])]
    outputs = nb.cells[0].outputs
    assert [list(o.get("data", {"stream": 0})) for o in outputs] == [["text/html"], ["image/png"], ["stream"],
                                                                      ["text/html"], ["stream"]]
    assert outputs[1]["data"]["image/png"] == base64.b64encode(b"\x89PNG\r\n\x1a\nfake").decode()
    assert "widgets" not in nb.metadata  # no widget manager is loaded by any page


def test_slides_notebook_adds_the_last_frame_note_only_to_widgets_with_controls():
    nb = build_slides.slides_notebook(widget_notebook())
    texts = [o["data"].get("text/html", "") for o in nb.cells[0].outputs if "data" in o]
    assert any("The last frame of a live widget" in t for t in texts)
    plain = widget_notebook()
    plain.metadata["widgets"][course_build.WIDGET_STATE]["state"]["row"]["state"]["children"] = []
    nb = build_slides.slides_notebook(plain)
    assert not any("last frame" in o.get("data", {}).get("text/html", "") for o in nb.cells[0].outputs)
