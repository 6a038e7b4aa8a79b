"""The 2-D diffusion / flow dashboard (widgets.diffusion2d), driven in a real JupyterLab in headless Chromium.

Play advances training (the read-out's step and the picture's bytes change), Pause stops it, and the
"field at t" and "sampler steps" sliders, moved in the browser, change the picture and the read-out.
Skipped where Chromium or the ``playwright`` package is missing (``make browser`` installs both; it
never downloads a browser). Screenshots go to $TEST_ARTIFACTS when set, else to the test's tmp dir.
"""

import base64
import os
import re
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
import lab_screenshot  # noqa: E402

pytestmark = [pytest.mark.slow,  # opens JupyterLab in Chromium and trains for a while: 60-120 s
              pytest.mark.skipif(lab_screenshot.find_chromium() is None, reason="Chromium is not installed")]

DASHBOARD_CELL = """\
import torch
torch.set_num_threads(1)
from gan_course.widgets.diffusion2d import Diffusion2DDashboard
dash = Diffusion2DDashboard("ring8", kind="flow", seed=0)
dash
"""

TRAIN_STEPS = 1500  # Play until at least this step: enough for the flow to reach the 8 modes
STATUS_RE = re.compile(r"step (\d+) \| flow on ring8 \| sampler (\w+), (\d+) steps = (\d+) network calls "
                       r"per sample \| t = ([\d.]+)")

# the dashboard's picture as base64 PNG bytes, fetched from the <img>'s (blob) URL; null while the
# image is loading or its URL was just replaced
IMAGE_BYTES_JS = """async (img) => {
    if (!img.complete || img.naturalWidth < 500) return null;
    try {
        const buf = new Uint8Array(await (await fetch(img.src)).arrayBuffer());
        let s = '';
        for (let i = 0; i < buf.length; i += 8192) s += String.fromCharCode(...buf.subarray(i, i + 8192));
        return btoa(s);
    } catch (e) { return null; }
}"""


def artifacts_dir(tmp_path: Path) -> Path:
    """Where screenshots are kept: $TEST_ARTIFACTS if set (CI uploads it), else the test's tmp dir."""
    out = Path(os.environ.get("TEST_ARTIFACTS", tmp_path))
    out.mkdir(parents=True, exist_ok=True)
    return out


def poll(condition, timeout: float, what: str, interval: float = 0.25):
    """Call ``condition`` until it returns something truthy; return that, or fail after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)


class DashboardPage:
    """The dashboard as the browser shows it: its read-out line, picture and sliders."""

    def __init__(self, page) -> None:
        self.page = page
        self.view = page.locator(".jp-OutputArea-output > .widget-vbox").first
        self.image = self.view.locator(".widget-image").first
        self.readout_html = self.view.locator(".widget-html-content", has_text="network calls per sample").first

    def status(self) -> dict | None:
        """The read-out line, parsed; None while it is not shown."""
        if not self.readout_html.count():
            return None
        text = self.readout_html.inner_text()
        m = STATUS_RE.search(text)
        if not m:
            return None
        step, method, steps, calls, t = m.groups()
        return {"step": int(step), "method": method, "sample_steps": int(steps), "calls": int(calls),
                "t": float(t), "text": text}

    def picture(self) -> bytes | None:
        """The PNG bytes the <img> shows now (None while loading)."""
        data = self.image.evaluate(IMAGE_BYTES_JS)
        return base64.b64decode(data) if data else None

    def slider(self, description: str):
        return self.view.locator(".widget-slider", has_text=description).first

    def slider_readout(self, description: str) -> str:
        return self.slider(description).locator(".widget-readout").inner_text().strip()

    def settled(self, quiet: float = 2.0, timeout: float = 60.0) -> tuple[dict, bytes]:
        """The read-out and picture once neither has changed for ``quiet`` seconds (after a
        control's redraw has reached the browser)."""
        last, since = None, time.monotonic()
        deadline = time.monotonic() + timeout
        while True:
            now = (self.status(), self.picture())
            if now[0] is None or now[1] is None or now != last:
                last, since = now, time.monotonic()
            elif time.monotonic() - since >= quiet:
                return now
            if time.monotonic() > deadline:
                pytest.fail(f"the dashboard did not settle within {timeout:.0f} s: {now[0]}")
            time.sleep(0.25)


def drag_slider(page, slider, fraction: float) -> None:
    """Drag a slider's handle to ``fraction`` of its track with the mouse, as a student would."""
    handle = slider.locator(".noUi-handle").first
    track = slider.locator(".noUi-target").first
    h, box = handle.bounding_box(), track.bounding_box()
    page.mouse.move(h["x"] + h["width"] / 2, h["y"] + h["height"] / 2)
    page.mouse.down()
    y = box["y"] + box["height"] / 2
    target = box["x"] + fraction * box["width"]
    for k in range(1, 11):  # a few intermediate moves: noUiSlider follows pointermove events
        page.mouse.move(h["x"] + h["width"] / 2 + k / 10 * (target - h["x"] - h["width"] / 2), y)
    page.mouse.up()


def test_diffusion_dashboard_play_pause_and_sliders_in_the_browser(tmp_path):
    nbformat = pytest.importorskip("nbformat")
    sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed")

    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(DASHBOARD_CELL)],
                                  metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                           "language": "python"}})
    nbformat.write(nb, tmp_path / "diffusion.ipynb")
    out = artifacts_dir(tmp_path)
    with lab_screenshot.jupyter_lab(tmp_path) as (base, token), sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=lab_screenshot.find_chromium(),
                                     args=lab_screenshot.CHROMIUM_FLAGS, headless=True)
        page = browser.new_page(viewport={"width": 1400, "height": 1200})
        page.goto(f"{base}/lab/tree/diffusion.ipynb?token={token}&reset")
        page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=120_000)
        page.wait_for_function("document.querySelector('.jp-Notebook-ExecutionIndicator') !== null "
                               "|| document.querySelector('.jp-Toolbar-kernelStatus') !== null", timeout=60_000)
        page.wait_for_timeout(3000)  # let the kernel start
        page.get_by_role("menuitem", name="Run", exact=True).click()
        page.get_by_role("menuitem", name="Run All Cells", exact=True).click()
        dash = DashboardPage(page)
        dash.image.wait_for(timeout=180_000)
        start, first_picture = dash.settled()
        assert start["step"] == 0 and "press Play or Step" in start["text"], start
        assert (start["t"], start["sample_steps"]) == (0.5, 50)
        assert dash.slider_readout("field at t") == "0.50"

        # (a) Play: training advances, the picture changes; Pause stops it
        # the buttons by their icons: ipywidgets 8 has one Play/Pause toggle whose icon says which
        # (7 has both buttons); the square one is Stop, which also rewinds the Play counter
        play_button = dash.view.locator(".widget-play button:has(i.fa-play)").first
        pause_button = dash.view.locator(".widget-play button:has(i.fa-pause)").first
        play_button.click()
        pause_button.wait_for(timeout=30_000)
        poll(lambda: (s := dash.status()) and s["step"] > 0, 60, "Play to advance the step")
        poll(lambda: (p := dash.picture()) is not None and p != first_picture, 60, "a new picture while playing")
        mid = dash.status()
        page.screenshot(path=str(out / "diffusion2d_dashboard_playing.png"), full_page=True)
        poll(lambda: (s := dash.status()) and s["step"] >= TRAIN_STEPS, 300, f"step {TRAIN_STEPS}", interval=1)
        pause_button.click()
        play_button.wait_for(timeout=30_000)
        paused, trained_picture = dash.settled(quiet=3.0)
        assert TRAIN_STEPS <= paused["step"] and mid["step"] < paused["step"]
        assert "loss" in paused["text"] and "modes" in paused["text"], paused["text"]
        time.sleep(2.0)
        assert dash.status()["step"] == paused["step"]  # paused: the counter stays
        dash.view.screenshot(path=str(out / "diffusion2d_dashboard_trained.png"))

        # (b) the t slider, dragged with the mouse: the field drawn changes, the model does not
        drag_slider(page, dash.slider("field at t"), 0.9)
        poll(lambda: dash.slider_readout("field at t") != "0.50", 30, "the t slider's readout to move")
        t_shown = float(dash.slider_readout("field at t"))
        assert 0.75 <= t_shown <= 1.0, t_shown
        poll(lambda: (s := dash.status()) and s["t"] == t_shown, 60, f"the read-out to say t = {t_shown:.2f}")
        at_t, t_picture = dash.settled()
        assert at_t["step"] == paused["step"]  # a redraw only: no training step
        assert t_picture != trained_picture
        dash.view.screenshot(path=str(out / "diffusion2d_dashboard_t_moved.png"))

        # the sampler's steps, set with the keyboard on the slider's handle: Home = its minimum, 1
        dash.slider("sampler steps").locator(".noUi-handle").first.focus()
        page.keyboard.press("Home")
        poll(lambda: dash.slider_readout("sampler steps") == "1", 30, "the sampler-steps readout to say 1")
        poll(lambda: (s := dash.status()) and s["sample_steps"] == 1, 60, "the read-out to say 1 step")
        one_step, one_step_picture = dash.settled()
        assert one_step["calls"] == 1 and one_step["step"] == paused["step"] and one_step["t"] == t_shown
        assert one_step_picture != t_picture
        dash.view.screenshot(path=str(out / "diffusion2d_dashboard_one_step.png"))
        browser.close()
