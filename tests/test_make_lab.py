"""`make lab` brings up a JupyterLab that answers on its port; the test then stops it."""

import json
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
import lab_screenshot  # noqa: E402


def test_make_lab_serves_jupyterlab(tmp_path):
    port = lab_screenshot.free_port()
    token = "course-test-token"
    env = dict(os.environ,
               JUPYTER_CONFIG_DIR=str(tmp_path / "config"), JUPYTER_DATA_DIR=str(tmp_path / "data"),
               JUPYTER_RUNTIME_DIR=str(tmp_path / "runtime"), JUPYTERLAB_SETTINGS_DIR=str(tmp_path / "settings"),
               JUPYTERLAB_WORKSPACES_DIR=str(tmp_path / "workspaces"))
    args = f"--no-browser --ip=127.0.0.1 --port={port} --ServerApp.port_retries=0 --IdentityProvider.token={token}"
    proc = subprocess.Popen(["make", "-s", "lab", f"LAB_ARGS={args}"], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        status, page, deadline = None, "", time.monotonic() + 120
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/status?token={token}", timeout=5) as r:
                    status = json.loads(r.read())
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/lab?token={token}", timeout=10) as r:
                    page = r.read().decode()
                break
            except OSError:
                time.sleep(0.5)
        assert status is not None, f"JupyterLab did not answer on port {port}; output:\n{proc.stdout.read1().decode()}"
        assert "started" in status and "JupyterLab" in page
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/contents?token={token}", timeout=10) as r:
            names = {item["name"] for item in json.loads(r.read())["content"]}
        assert "00_setup_and_tour.ipynb" in names  # it serves notebooks/
    finally:
        lab_screenshot.stop_process_group(proc)
