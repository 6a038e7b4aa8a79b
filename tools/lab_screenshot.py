"""Open a notebook in a real JupyterLab, run it in headless Chromium, and take screenshots.

For looking at the live widgets as a student sees them (and for the browser tests):

    python tools/lab_screenshot.py notebooks/05_gan_theory_1d.ipynb --out /tmp/shots

starts ``jupyter lab`` on 127.0.0.1 with throw-away config/data/runtime folders, opens the notebook,
runs all cells, waits until the kernel is idle, saves a screenshot of every widget output (and of the
whole page), reports cells that raised, and stops the server. Needs Chromium (Debian:
``apt-get install chromium``) and the ``playwright`` Python package; it never downloads a browser.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def find_chromium() -> str | None:
    """The Chromium binary, or None when there is none."""
    for candidate in (os.environ.get("CHROMIUM"), "/usr/bin/chromium", shutil.which("chromium"),
                      shutil.which("chromium-browser")):
        if candidate and Path(candidate).is_file():
            return candidate
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def jupyter_lab(root: Path, startup_timeout: float = 120.0):
    """A JupyterLab serving ``root`` on a free loopback port; yields its base URL and token."""
    port, token = free_port(), "lab-screenshot"
    with tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ, JUPYTER_CONFIG_DIR=f"{tmp}/config", JUPYTER_DATA_DIR=f"{tmp}/data",
                   JUPYTER_RUNTIME_DIR=f"{tmp}/runtime", JUPYTERLAB_SETTINGS_DIR=f"{tmp}/settings",
                   JUPYTERLAB_WORKSPACES_DIR=f"{tmp}/workspaces")
        env.pop("MPLBACKEND", None)  # a student's kernel uses the inline backend, not a test's Agg
        # no "get Jupyter news?" pop-up over the screenshots
        news = Path(tmp, "settings", "@jupyterlab", "apputils-extension", "notification.jupyterlab-settings")
        news.parent.mkdir(parents=True)
        news.write_text('{"fetchNews": "false", "checkForUpdates": false}')
        cmd = [sys.executable, "-m", "jupyter", "lab", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
               "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}", f"--notebook-dir={root}"]
        if os.geteuid() == 0:
            cmd.append("--allow-root")
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                start_new_session=True)
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + startup_timeout
            while True:
                try:
                    with urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=5):
                        break
                except OSError:
                    if time.monotonic() > deadline or proc.poll() is not None:
                        raise RuntimeError(f"jupyter lab did not start on port {port}")
                    time.sleep(0.5)
            yield base, token
        finally:
            stop_process_group(proc)


def stop_process_group(proc: subprocess.Popen, grace: float = 20.0) -> None:
    """Stop a process started with ``start_new_session=True`` and all its children."""
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def run_notebook(notebook: Path, out: Path, timeout: float = 600.0, width: int = 1400,
                 env: dict | None = None) -> dict:
    """Run ``notebook`` in JupyterLab in Chromium; save screenshots under ``out``.

    Returns a summary: ``errors`` (the error outputs' text), ``widgets`` (number of widget views
    rendered), ``images`` (pictures rendered inside widget views), ``texts`` (each view's visible
    text), ``shots`` (files written).
    """
    from playwright.sync_api import sync_playwright

    chromium = find_chromium()
    if chromium is None:
        raise RuntimeError("no Chromium found: install it (Debian: apt-get install chromium) or set CHROMIUM")
    notebook = notebook.resolve()
    out.mkdir(parents=True, exist_ok=True)
    old_env = dict(os.environ)
    os.environ.update(env or {})
    try:
        with jupyter_lab(notebook.parent) as (base, token), sync_playwright() as pw, \
                tempfile.TemporaryDirectory() as profile:
            browser = pw.chromium.launch_persistent_context(
                profile, executable_path=chromium, args=CHROMIUM_FLAGS, headless=True,
                viewport={"width": width, "height": 1000})
            page = browser.new_page()
            page.goto(f"{base}/lab/tree/{notebook.name}?token={token}&reset")
            page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=120_000)
            page.wait_for_function("document.querySelector('.jp-Notebook-ExecutionIndicator') !== null "
                                   "|| document.querySelector('.jp-Toolbar-kernelStatus') !== null",
                                   timeout=60_000)
            page.wait_for_timeout(3000)  # let the kernel start
            page.get_by_role("menuitem", name="Run", exact=True).click()
            page.get_by_role("menuitem", name="Run All Cells", exact=True).click()
            # every code cell has run when no prompt shows [*] or [ ] and each has a number
            page.wait_for_function(
                """() => {
                    const prompts = [...document.querySelectorAll('.jp-CodeCell .jp-InputPrompt')];
                    return prompts.length > 0 && prompts.every(p => /\\[\\d+\\]/.test(p.textContent));
                }""", timeout=timeout * 1000, polling=1000)
            page.wait_for_timeout(2000)  # let the last widget messages render
            errors = page.eval_on_selector_all(
                ".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr'], .jp-RenderedText.jp-mod-trusted pre",
                "els => els.map(e => e.textContent).filter(t => /Traceback|Error/.test(t))")
            shots, images, texts = [], 0, []
            views = page.locator(".jp-OutputArea-output > .widget-vbox, .jp-OutputArea-output > .widget-interact")
            for i in range(views.count()):
                view = views.nth(i)
                view.scroll_into_view_if_needed()  # JupyterLab renders off-screen cells lazily
                page.wait_for_timeout(500)
                # pictures drawn inside the view: dashboard panels, or interact()'s Matplotlib output
                images += view.locator("img").evaluate_all(
                    "els => els.filter(e => e.complete && e.naturalWidth > 50).length")
                texts.append(view.inner_text())
                path = out / f"{notebook.stem}_widget{i:02d}.png"
                view.screenshot(path=str(path))
                shots.append(str(path))
            full = out / f"{notebook.stem}_page.png"
            page.screenshot(path=str(full))
            shots.append(str(full))
            summary = {"errors": errors, "widgets": views.count(), "images": images, "texts": texts,
                       "shots": shots}
            browser.close()
    finally:
        os.environ.clear()
        os.environ.update(old_env)
    return summary


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("notebook", type=Path)
    parser.add_argument("--out", type=Path, default=Path("/tmp/lab_shots"))
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds for running all cells")
    parser.add_argument("--full", action="store_true", help="run at full size (GAN_COURSE_FAST=0)")
    args = parser.parse_args()
    summary = run_notebook(args.notebook, args.out, args.timeout,
                           env={"GAN_COURSE_FAST": "0" if args.full else "1"})
    print(json.dumps(summary, indent=2))
    return 1 if summary["errors"] else 0


if __name__ == "__main__":
    sys.exit(main())
