"""Notebooks with widgets, run in a real JupyterLab in headless Chromium.

Skipped only where Chromium is not installed (Debian: ``apt-get install chromium``); the
``playwright`` package comes with the test extras and never downloads a browser.
"""

import json
import os
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
import lab_screenshot  # noqa: E402

pytestmark = [pytest.mark.slow,  # each opens JupyterLab in Chromium: 20-45 s
              pytest.mark.skipif(lab_screenshot.find_chromium() is None, reason="Chromium is not installed")]


def test_tour_widgets_render_in_jupyterlab(tmp_path):
    summary = lab_screenshot.run_notebook(ROOT / "notebooks" / "00_setup_and_tour.ipynb", tmp_path,
                                          env={"GAN_COURSE_FAST": "1"})
    assert summary["errors"] == []
    assert summary["widgets"] >= 1  # the interact slider rendered as a live widget, not as text
    assert summary["images"] >= 1, summary  # and its Matplotlib picture was drawn inside it


def test_em_dashboard_shows_its_latest_frame_in_jupyterlab(tmp_path):
    """After run(), the browser shows the newest frame, not one the history slider fell back to."""
    summary = lab_screenshot.run_notebook(ROOT / "notebooks" / "03_mixture_models_and_em.ipynb", tmp_path,
                                          env={"GAN_COURSE_FAST": "1"})
    assert summary["errors"] == []
    assert summary["images"] >= 1, summary  # the dashboard's PNG panel was drawn
    assert not any("history: frame at" in text for text in summary["texts"]), summary["texts"]


# ---- notebook 06: the 2-D GAN dashboard in a real browser ------------------------------------


DASHBOARD_CELL = """\
import torch
torch.set_num_threads(1)
from gan_course.widgets.gan2d import GAN2DDashboard
dash = GAN2DDashboard("ring8", width=32, depth=2, batch_size=64, num_samples=300, grid_size=32,
                      steps_per_tick=2, tick_ms=300, redraw_interval=0.2)
dash
"""


def artifacts_dir(tmp_path):
    """Where screenshots are kept: $TEST_ARTIFACTS if set (CI uploads it), else the test's tmp dir."""
    out = Path(os.environ.get("TEST_ARTIFACTS", tmp_path))
    out.mkdir(parents=True, exist_ok=True)
    return out


def test_notebook_06_runs_in_jupyterlab_and_draws_its_dashboards(tmp_path):
    summary = lab_screenshot.run_notebook(ROOT / "notebooks" / "06_gan_dynamics_2d.ipynb",
                                          artifacts_dir(tmp_path), env={"GAN_COURSE_FAST": "1"})
    assert summary["errors"] == []
    assert summary["widgets"] >= 5  # ring8, grid25, moons, the user tensor, the collapse
    assert summary["images"] >= 5, summary


def _readout(page) -> tuple[int, int, int]:
    """(step, D updates, G updates) from the dashboard's read-out line."""
    text = page.locator(".widget-html-content", has_text="D updates").last.inner_text()
    m = re.search(r"step (\d+) \(D updates (\d+), G updates (\d+)\)", text)
    assert m, text
    return tuple(int(g) for g in m.groups())


def test_2d_dashboard_play_pause_and_step_d_in_the_browser(tmp_path):
    import nbformat
    from playwright.sync_api import sync_playwright

    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(DASHBOARD_CELL)],
                                  metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                           "language": "python"}})
    nbformat.write(nb, tmp_path / "dash.ipynb")
    out = artifacts_dir(tmp_path)
    with lab_screenshot.jupyter_lab(tmp_path) as (base, token), sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=lab_screenshot.find_chromium(),
                                     args=lab_screenshot.CHROMIUM_FLAGS, headless=True)
        page = browser.new_page(viewport={"width": 1400, "height": 1100})
        page.goto(f"{base}/lab/tree/dash.ipynb?token={token}&reset")
        page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=120_000)
        page.wait_for_timeout(3000)
        page.get_by_role("menuitem", name="Run", exact=True).click()
        page.get_by_role("menuitem", name="Run All Cells", exact=True).click()
        image = page.locator(".jp-OutputArea-output .widget-image").first
        image.wait_for(timeout=180_000)
        page.wait_for_function("() => { const i = document.querySelector('.widget-image');"
                               " return i && i.complete && i.naturalWidth > 500; }", timeout=60_000)
        assert _readout(page) == (0, 0, 0)
        first_src = image.get_attribute("src")

        play = page.locator(".widget-play button")
        play.nth(0).click()  # Play
        page.wait_for_function("() => /step ([3-9]|\\d\\d+) \\(/.test(document.body.innerText)", timeout=60_000)
        page.wait_for_timeout(1500)
        playing = _readout(page)
        assert playing[0] > 0 and playing[1] == playing[2] == playing[0]
        assert image.get_attribute("src") != first_src  # the picture changed
        page.screenshot(path=str(out / "gan2d_dashboard_playing.png"), full_page=True)

        play.nth(1).click()  # Pause
        page.wait_for_timeout(2500)
        paused = _readout(page)
        page.wait_for_timeout(2500)
        assert _readout(page) == paused  # the counter stopped

        page.get_by_role("button", name="Step D", exact=True).click()
        page.wait_for_function(f"() => document.body.innerText.includes('D updates {paused[1] + 1},')",
                               timeout=30_000)
        step, d_updates, g_updates = _readout(page)
        assert (step, d_updates, g_updates) == (paused[0] + 1, paused[1] + 1, paused[2])  # D only
        page.screenshot(path=str(out / "gan2d_dashboard_after_step_d.png"), full_page=True)
        browser.close()
    (out / "gan2d_browser_summary.json").write_text(json.dumps(
        {"playing": playing, "paused": paused, "after_step_d": [step, d_updates, g_updates]}))
