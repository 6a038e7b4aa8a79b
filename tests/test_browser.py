"""Notebooks with widgets, run in a real JupyterLab in headless Chromium.

Skipped only where Chromium is not installed (Debian: ``apt-get install chromium``); the
``playwright`` package comes with the test extras and never downloads a browser.
"""

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
import lab_screenshot  # noqa: E402

pytestmark = pytest.mark.skipif(lab_screenshot.find_chromium() is None, reason="Chromium is not installed")


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
