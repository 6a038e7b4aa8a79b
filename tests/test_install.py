"""The install: which PyTorch build each machine gets, what each extra holds, the lock, the version.

Nothing here downloads: the PyTorch choice is tested with a faked platform and a fake
``nvidia-smi``; pip's preference for the CPU build is tested against two local indexes of
empty wheels; the Makefile is read with ``make -n``.
"""

from __future__ import annotations

import ast
import importlib.metadata
import json
import os
import re
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

import gan_course
from gan_course import doctor

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
import requirements as reqs  # noqa: E402
import torch_index  # noqa: E402

PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
EXTRAS = PROJECT["optional-dependencies"]
GPU_LINE = "GPU 0: NVIDIA GeForce RTX 4090 (UUID: GPU-0b1c2d3e-aaaa-bbbb-cccc-1234567890ab)"
CPU_INDEX = "https://download.pytorch.org/whl/cpu"


def names(specs: list[str]) -> set[str]:
    return {reqs.requirement_name(s) for s in specs}


# ---- which PyTorch build ---------------------------------------------------------------------


@pytest.mark.parametrize("machine, build, args", [
    (torch_index.Machine("Linux"), "cpu", ("--extra-index-url", CPU_INDEX)),
    (torch_index.Machine("Windows"), "cpu", ("--extra-index-url", CPU_INDEX)),
    (torch_index.Machine("Darwin"), "pypi", ()),
    (torch_index.Machine("Linux", (GPU_LINE,), (13, 0)), "pypi", ()),
    (torch_index.Machine("Linux", (GPU_LINE,), None), "pypi", ()),  # no header: trust the default
    (torch_index.Machine("Linux", (GPU_LINE,), (12, 9)), "cu128",
     ("--extra-index-url", "https://download.pytorch.org/whl/cu128")),  # a driver too old for CUDA 13
    (torch_index.Machine("Linux", (GPU_LINE,), (11, 8)), "cpu", ("--extra-index-url", CPU_INDEX)),
    (torch_index.Machine("Windows", (GPU_LINE,), (13, 1)), "cu130",
     ("--extra-index-url", "https://download.pytorch.org/whl/cu130")),  # PyPI's Windows torch is CPU-only
    (torch_index.Machine("Windows", (GPU_LINE,), (12, 6)), "cu126",
     ("--extra-index-url", "https://download.pytorch.org/whl/cu126")),
    (torch_index.Machine("Windows", (GPU_LINE,), None), "cpu", ("--extra-index-url", CPU_INDEX)),
    (torch_index.Machine("FreeBSD"), "pypi", ()),
])
def test_auto_choice_per_platform(machine, build, args):
    choice = torch_index.choose(machine)
    assert (choice.name, choice.pip_args) == (build, args)
    assert choice.reason


@pytest.mark.parametrize("name, args", [
    ("cpu", ("--extra-index-url", CPU_INDEX)),
    ("pypi", ()),
    ("cu128", ("--extra-index-url", "https://download.pytorch.org/whl/cu128")),
    ("https://mirror.example/whl/cpu", ("--extra-index-url", "https://mirror.example/whl/cpu")),
])
def test_a_named_build_wins_over_the_machine(name, args):
    machine = torch_index.Machine("Linux", (GPU_LINE,), (13, 0))
    assert torch_index.choose(machine, name).pip_args == args


@pytest.mark.parametrize("bad", ["gpu", "cuda", "cu12", ""])
def test_unknown_build_is_refused_with_the_choices(bad):
    with pytest.raises(ValueError, match=r"auto, cpu, pypi, cuXYZ .* got " + re.escape(repr(bad))):
        torch_index.choose(torch_index.Machine("Linux"), bad)


def test_parsing_nvidia_smi_output():
    header = "| NVIDIA-SMI 580.65.06    Driver Version: 580.65.06    CUDA Version: 13.0     |"
    assert torch_index.parse_cuda_version(header) == (13, 0)
    assert torch_index.parse_cuda_version("no header") is None
    listing = f"{GPU_LINE}\nGPU 1: NVIDIA A100 (UUID: GPU-1)\n"
    assert torch_index.parse_gpus(listing) == (GPU_LINE, "GPU 1: NVIDIA A100 (UUID: GPU-1)")
    failure = "NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver."
    assert torch_index.parse_gpus(failure) == ()


def fake_nvidia_smi(folder: Path, listing: str, code: int = 0) -> dict:
    """A PATH whose nvidia-smi prints ``listing`` for -L and a CUDA 13.0 header otherwise."""
    script = folder / "nvidia-smi"
    script.write_text(f"""#!/bin/sh
if [ "$1" = "-L" ]; then printf '%s\\n' "{listing}"; else echo "Driver Version: 580.65.06  CUDA Version: 13.0"; fi
exit {code}
""")
    script.chmod(0o755)
    return dict(os.environ, PATH=f"{folder}{os.pathsep}{os.environ['PATH']}")


def run_tool(env: dict, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(ROOT / "tools" / "torch_index.py"), *args],
                          capture_output=True, text=True, env=env, cwd=ROOT, check=False)


@pytest.mark.skipif(sys.platform != "linux", reason="the fake nvidia-smi is a shell script")
@pytest.mark.parametrize("listing, code, expected", [
    (GPU_LINE, 0, ""),                                              # a GPU: the default (CUDA) wheels
    ("No devices were found", 6, f"--extra-index-url {CPU_INDEX}"),  # a driver but no GPU
    ("NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver.", 9,
     f"--extra-index-url {CPU_INDEX}"),
])
def test_the_tool_asks_nvidia_smi(tmp_path, listing, code, expected):
    done = run_tool(fake_nvidia_smi(tmp_path, listing, code))
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == expected
    assert "PyTorch build:" in done.stderr and "TORCH_INDEX" in done.stderr


def test_the_tool_without_nvidia_smi_picks_cpu(tmp_path):
    env = dict(os.environ, PATH=str(tmp_path))  # no nvidia-smi anywhere on PATH
    done = subprocess.run([sys.executable, str(ROOT / "tools" / "torch_index.py"), "--quiet"],
                          capture_output=True, text=True, env=env, check=False)
    expected = "" if sys.platform == "darwin" else f"--extra-index-url {CPU_INDEX}"
    assert (done.returncode, done.stdout.strip(), done.stderr) == (0, expected, "")


def test_the_tool_refuses_an_unknown_build(tmp_path):
    done = run_tool(dict(os.environ), "gpu")
    assert done.returncode == 2 and "TORCH_INDEX must be one of" in done.stderr and done.stdout == ""


def test_probe_on_macos_never_runs_nvidia_smi(monkeypatch):
    monkeypatch.setattr(torch_index.platform, "system", lambda: "Darwin")
    monkeypatch.setattr(torch_index, "_run", lambda command: pytest.fail(f"ran {command}"))
    assert torch_index.probe() == torch_index.Machine("Darwin")


def test_probe_reads_gpus_and_driver(monkeypatch):
    outputs = {"-L": GPU_LINE, None: "| Driver Version: 570.1 CUDA Version: 12.8 |"}
    monkeypatch.setattr(torch_index.platform, "system", lambda: "Windows")
    monkeypatch.setattr(torch_index.shutil, "which", lambda name: "C:/Windows/System32/nvidia-smi.exe")
    monkeypatch.setattr(torch_index, "_run", lambda command: outputs[command[1] if len(command) > 1 else None])
    machine = torch_index.probe()
    assert machine == torch_index.Machine("Windows", (GPU_LINE,), (12, 8))
    assert torch_index.choose(machine).name == "cu128"


def empty_wheel(folder: Path, version: str) -> None:
    """A wheel named torch that holds only its metadata: enough for pip to choose among."""
    dist = f"torch-{version}.dist-info"
    with zipfile.ZipFile(folder / f"torch-{version}-py3-none-any.whl", "w") as wheel:
        wheel.writestr(f"{dist}/METADATA", f"Metadata-Version: 2.1\nName: torch\nVersion: {version}\n")
        wheel.writestr(f"{dist}/WHEEL", "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n")
        wheel.writestr(f"{dist}/RECORD", "")


def simple_index(root: Path, version: str) -> str:
    """A PEP 503 index at ``root`` serving one empty torch wheel; its file:// URL."""
    (root / "torch").mkdir(parents=True)
    empty_wheel(root / "torch", version)
    name = f"torch-{version}-py3-none-any.whl"
    (root / "torch" / "index.html").write_text(f'<html><body><a href="{name}">{name}</a></body></html>')
    return root.as_uri()


@pytest.mark.parametrize("build, expected", [("cpu", "2.13.0+cpu"), ("pypi", "2.13.0")])
def test_pip_takes_the_build_from_the_pytorch_index(tmp_path, build, expected):
    """The Makefile's torch command with the default index standing for PyPI (a CUDA 2.13.0) and
    an extra index standing for PyTorch's CPU index (2.13.0+cpu): pip takes the +cpu wheel."""
    pypi = simple_index(tmp_path / "pypi", "2.13.0")
    cpu = simple_index(tmp_path / "cpu", "2.13.0+cpu")
    args = [a.replace(CPU_INDEX, cpu) for a in torch_index.choose(torch_index.Machine("Linux"), build).pip_args]
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_")}
    env["PIP_CONFIG_FILE"] = os.devnull  # this machine's pip.conf adds local wheels and indexes
    report = tmp_path / "report.json"
    done = subprocess.run([sys.executable, "-m", "pip", "install", "--dry-run", "--ignore-installed", "--no-deps",
                           "--quiet", "--report", str(report), "--index-url", pypi, *args, "torch==2.13.0"],
                          capture_output=True, text=True, env=env, check=False)
    assert done.returncode == 0, done.stderr
    assert [item["metadata"]["version"] for item in json.loads(report.read_text())["install"]] == [expected]


# ---- what each extra holds -------------------------------------------------------------------


def imported_modules(folder: Path) -> set[str]:
    """The top-level modules the package's code imports, at the top of a file or inside a function."""
    found = set()
    for path in folder.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                found |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                found.add(node.module.split(".")[0])
    return found - set(sys.stdlib_module_names) - {"gan_course", "__future__"}


# Declared at run time although the package may not import it: the notebooks do (README says so).
FOR_THE_NOTEBOOKS = {"scipy"}


def test_runtime_dependencies_are_what_the_package_imports():
    """Every third-party module gan_course imports is declared, and nothing else is."""
    distributions = importlib.metadata.packages_distributions()
    imported = {reqs.requirement_name(distributions[m][0]) for m in imported_modules(ROOT / "gan_course")}
    declared = names(PROJECT["dependencies"])
    assert imported - declared == set(), f"imported but not declared in pyproject.toml: {imported - declared}"
    unused = declared - imported - FOR_THE_NOTEBOOKS
    assert unused == set(), f"declared but never imported by gan_course: {unused}"
    assert {"pillow", "ipython", "tqdm"} <= imported  # the GIF export, the widgets' display, progress bars


def test_environment_yml_has_the_same_floors():
    import yaml

    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    conda = {reqs.requirement_name(d): d for d in env["dependencies"] if isinstance(d, str)}
    for spec in PROJECT["dependencies"] + EXTRAS["lab"]:
        name = reqs.requirement_name(spec)
        assert reqs.floor(conda["pytorch" if name == "torch" else name]).split("==")[1] == \
            reqs.floor(spec).split("==")[1], f"environment.yml and pyproject.toml disagree on {name}"
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    assert pip == ["-e .[lab]"]  # JupyterLab, no test or browser tools


def test_extras_split_lab_tests_and_browser():
    assert names(EXTRAS["lab"]) == {"jupyterlab"}
    assert names(EXTRAS["test"]) == {"pytest", "nbval", "scikit-learn", "pyyaml", "hmmlearn"}
    assert names(EXTRAS["browser"]) == {"playwright"}
    assert "jupyterlab" not in names(PROJECT["dependencies"])
    every = names(PROJECT["dependencies"]) | names(EXTRAS["test"]) | names(EXTRAS["browser"]) | {"jupyterlab"}
    for spec in PROJECT["dependencies"] + EXTRAS["lab"] + EXTRAS["test"] + EXTRAS["browser"]:
        assert reqs.floor(spec) is not None, f"{spec}: every requirement has a floor for make test-min"
    assert len(every) == len(PROJECT["dependencies"]) + 1 + 5 + 1  # no package in two groups


def test_torch_requirement_is_a_range_and_python_is_what_ci_runs():
    torch_spec = next(r for r in PROJECT["dependencies"] if reqs.requirement_name(r) == "torch")
    assert ">=" in torch_spec and "==" not in torch_spec
    assert "torchvision" not in names(PROJECT["dependencies"])
    assert PROJECT["requires-python"] == ">=3.11"  # tomllib; the only Python CI has


def make_n(*args: str, venv: Path) -> str:
    """What ``make`` would run, without running it."""
    done = subprocess.run(["make", "-n", *args, f"VENV={venv}"], capture_output=True, text=True, cwd=ROOT,
                          env={k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "TORCH_SPEC",
                                                                                 "TORCH_INDEX", "LOCK")},
                          check=True)
    return done.stdout


def pip_installs(script: str) -> list[str]:
    return [line for line in script.splitlines() if " -m pip install" in line and "--upgrade pip" not in line]


def installed_extras(script: str) -> list[list[str]]:
    """The extras of each ``pip install -e ".[...]"`` of a make script."""
    return [m.split(",") for m in re.findall(r'-e "\.\[([^]]*)\]"', script)]


def test_make_lab_installs_no_test_or_browser_tools(tmp_path):
    script = make_n("install", venv=tmp_path / "venv")
    assert len(pip_installs(script)) == 2  # torch, then the course
    assert installed_extras(script) == [["lab"]]
    assert not re.search(r"\b(pytest|playwright|nbval)\b", script.replace(str(tmp_path), "VENV"))


def test_make_test_installs_lab_test_browser_and_book(tmp_path):
    assert installed_extras(make_n("test", venv=tmp_path / "venv")) == [["lab", "test", "browser", "book"]]


def test_make_book_installs_lab_and_book_only(tmp_path):
    assert installed_extras(make_n("book", venv=tmp_path / "venv")) == [["lab", "book"]]


def test_lock_is_used_by_default_and_lock0_floats(tmp_path):
    venv = tmp_path / "venv"
    locked = make_n("install", venv=venv)
    torch_pin = next(line for line in (ROOT / "requirements/lock.txt").read_text().splitlines()
                     if line.startswith("torch=="))
    assert f"grep -v '^torch==' requirements/lock.txt > {venv}/constraints.txt" in locked
    torch_step, course_step = pip_installs(locked)
    assert f"-c {venv}/constraints.txt" in torch_step and f'"{torch_pin}"' in torch_step
    assert f"-c {venv}/constraints.txt" in course_step
    assert "torch_index.py auto" in locked
    floating = pip_installs(make_n("install", "LOCK=0", venv=venv))
    assert not any("-c " in step for step in floating) and floating[0].rstrip().endswith('"torch"')


def test_torch_spec_overrides_the_choice(tmp_path):
    script = make_n("test", "TORCH_SPEC=torch==2.13.0", venv=tmp_path / "venv")
    assert "torch_index.py pypi" in script  # as given, from pip's own indexes: CI's offline wheel
    assert '"torch==2.13.0"' in pip_installs(script)[0]
    script = make_n("install", "TORCH_SPEC=torch==2.13.0", "TORCH_INDEX=cpu", venv=tmp_path / "venv")
    assert "torch_index.py cpu" in script


def test_make_lab_after_make_test_installs_nothing(tmp_path):
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    (venv / "bin" / "python").touch()
    (venv / ".installed-test").touch()  # newer than pyproject.toml and the lock file
    assert pip_installs(make_n("install", venv=venv)) == []


def test_lock_file_pins_every_package_of_make_test():
    lines = [line for line in (ROOT / "requirements/lock.txt").read_text().splitlines()
             if line and not line.startswith("#")]
    pins = dict(line.split("==") for line in lines)
    assert all(re.fullmatch(r"[a-z0-9-]+", name) for name in pins) and len(pins) == len(lines)
    wanted = names(PROJECT["dependencies"] + EXTRAS["lab"] + EXTRAS["test"] + EXTRAS["browser"])
    assert wanted - pins.keys() == set()
    assert "+" not in pins["torch"]  # the release, any build
    assert "gan-course" not in pins


def test_floors_and_lock_lines():
    assert reqs.floor("numpy>=1.24") == "numpy==1.24"
    assert reqs.floor("Pillow >= 9.3 ; python_version > '3'") == "pillow==9.3"
    assert reqs.floor("tqdm") is None
    assert "torch==" not in "\n".join(reqs.floors(["runtime", "lab", "test"]))
    assert set(reqs.floors(["runtime"])) == {reqs.floor(s) for s in PROJECT["dependencies"] if "torch" not in s}
    with pytest.raises(ValueError, match="got 'tests'"):
        reqs.floors(["tests"])
    freeze = "# Editable install\n-e /src\nTorch==2.13.0+cpu\nPyYAML==6.0.4\nfoo @ file:///x\nnumpy==2.4.6\n"
    assert reqs.lock_lines(freeze) == ["numpy==2.4.6", "pyyaml==6.0.4", "torch==2.13.0"]


# ---- one version -----------------------------------------------------------------------------


def test_the_version_has_one_source():
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert "version" not in pyproject["project"] and "version" in pyproject["project"]["dynamic"]
    assert pyproject["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "gan_course.__version__"}
    assert re.fullmatch(r"\d+\.\d+\.\d+", gan_course.__version__)
    citation = (ROOT / "CITATION.cff").read_text()
    assert re.search(rf'^version: "?{re.escape(gan_course.__version__)}"?$', citation, re.M)
    changelog = (ROOT / "CHANGELOG.md").read_text()
    assert re.search(r"^## \[?(\d+\.\d+\.\d+)", changelog, re.M).group(1) == gan_course.__version__


def test_installed_metadata_matches_the_package():
    """The build read __version__ (stale only in an environment installed before a version change)."""
    assert importlib.metadata.version("gan-course") == gan_course.__version__
    urls = dict(u.split(", ", 1) for u in importlib.metadata.metadata("gan-course").get_all("Project-URL") or [])
    assert {"Homepage", "Issues"} <= urls.keys()


@pytest.mark.slow
def test_the_wheel_carries_version_metadata_and_notebooks(tmp_path):
    """A wheel built from a copy of the sources: its version is __version__, its requirements and URLs
    are the project's, and it carries the notebooks, the digits and the shipped weights."""
    import shutil

    source = tmp_path / "src"
    source.mkdir()
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy(ROOT / name, source / name)
    for folder in ("gan_course", "assets", "notebooks"):
        shutil.copytree(ROOT / folder, source / folder, ignore=shutil.ignore_patterns("__pycache__"))
    done = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--quiet",
                           "-w", str(tmp_path / "dist"), str(source)], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    wheel = next((tmp_path / "dist").glob("gan_course-*.whl"))
    assert wheel.name.startswith(f"gan_course-{gan_course.__version__}-")
    with zipfile.ZipFile(wheel) as archive:
        files = archive.namelist()
        metadata = archive.read(f"gan_course-{gan_course.__version__}.dist-info/METADATA").decode()
    notebooks = sorted(p.name for p in (ROOT / "notebooks").glob("*.ipynb"))
    assert sorted(f.rsplit("/", 1)[1] for f in files if f.startswith("gan_course/notebooks/")) == notebooks
    assert "gan_course/assets/data/mnist_5k.npz" in files
    assert any(f.startswith("gan_course/assets/models/") and f.endswith(".pt") for f in files)
    requires = {reqs.requirement_name(line.split(":", 1)[1]) for line in metadata.splitlines()
                if line.startswith("Requires-Dist:") and "extra ==" not in line}
    assert requires == names(PROJECT["dependencies"])
    assert "Project-URL: Issues, https://github.com/gan-course/gan-course/issues" in metadata


def test_doctor_reports_the_version():
    assert doctor.report()["gan_course"] == gan_course.__version__
    assert re.search(rf"^gan_course\s+{re.escape(gan_course.__version__)}$", doctor.format_report(doctor.report()),
                     re.M)
