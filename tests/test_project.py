"""The project's own promises: packaging, environment, committed notebooks, the command line."""

import json
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
# conda names some packages differently from PyPI
CONDA_NAMES = {"torch": "pytorch"}


def requirement_name(spec: str) -> str:
    return re.split(r"[<>=!~\[ ;]", spec.strip(), maxsplit=1)[0].lower()


def test_environment_yml_has_every_runtime_dependency():
    runtime = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    conda = {requirement_name(d) for d in env["dependencies"] if isinstance(d, str)}
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    missing = [r for r in runtime if CONDA_NAMES.get(requirement_name(r), requirement_name(r)) not in conda]
    assert not missing, f"environment.yml lacks runtime dependencies of pyproject.toml: {missing}"
    assert "python=3.11" in env["dependencies"]
    assert any(p.startswith("-e .") for p in pip), "environment.yml must install the course package itself"


def test_torch_requirement_is_a_range_and_no_torchvision():
    runtime = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    torch_spec = next(r for r in runtime if requirement_name(r) == "torch")
    assert ">=" in torch_spec and "==" not in torch_spec
    assert not any(requirement_name(r) == "torchvision" for r in runtime)


NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_committed_clean(path):
    nb = json.loads(path.read_text())
    dirty = [i for i, c in enumerate(nb["cells"])
             if c["cell_type"] == "code" and (c.get("outputs") or c.get("execution_count") is not None)]
    assert not dirty, f"{path.name}: cells {dirty} carry outputs or execution counts; clear them before committing"
    assert all("slideshow" in c.get("metadata", {}) for c in nb["cells"]), f"{path.name}: a cell lacks slide metadata"
    first_code = next(c for c in nb["cells"] if c["cell_type"] == "code")
    assert "google.colab" in "".join(first_code["source"]), f"{path.name}: the first code cell must be the Colab setup"


def test_notebooks_are_numbered_and_exist():
    names = [p.name for p in NOTEBOOKS]
    assert "00_setup_and_tour.ipynb" in names
    # the course's notebooks are numbered 00, 01, ...; the appendices A1, A2, B1, ...
    assert all(re.match(r"(\d\d|[A-Z]\d)_[a-z0-9_]+\.ipynb$", n) for n in names), names


def test_doctor_json():
    out = subprocess.run([sys.executable, "-m", "gan_course", "doctor", "--json"], capture_output=True, text=True,
                         check=True, cwd=ROOT).stdout
    info = json.loads(out)
    assert {"python", "torch", "device", "fast", "data"} <= info.keys()
    assert info["data"]["bundled"] == "ok" and info["fast"] is True  # conftest turns FAST on
    assert info["device"] in ("cpu", "cuda", "mps")
    assert isinstance(info["cpu_native_bf16"], bool)


def test_doctor_human_readable():
    out = subprocess.run([sys.executable, "-m", "gan_course", "doctor"], capture_output=True, text=True,
                         check=True, cwd=ROOT).stdout
    assert re.search(r"^torch\s+\d", out, re.M) and "bundled" in out


def test_unknown_command_is_refused():
    result = subprocess.run([sys.executable, "-m", "gan_course", "fly"], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 2 and "invalid choice: 'fly'" in result.stderr
