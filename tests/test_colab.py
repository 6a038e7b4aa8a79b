"""The Colab path, as far as it can be tested without Colab.

- **the setup cell** (tools/setup_cell.py) is the first code cell of every notebook, and its tool
  finds and rewrites a cell that differs;
- **(b) ipywidgets 7.7**, the version Colab's frontend renders natively: the dashboard tests that
  drive the widgets (Play ticks advance, Pause stops, Step D changes only D, the history slider)
  run again in a subprocess with ipywidgets 7.7.5 first on the path (``make ipywidgets7``, a
  step of ``make test``, installs it into build/ipywidgets7);
- **(c) the setup cell** runs through IPython, with a stand-in ``google.colab`` module, in a fresh
  virtual environment outside the checkout, with ``GAN_COURSE_INSTALL`` pointing at a wheel built
  from the checkout: it installs the course (non-editable), pins the ipywidgets it found, enables
  Colab's custom widget manager under ipywidgets 8 and not under 7; the installed package finds
  its bundled digits and its shipped weights;
- **(a) notebooks 00 and 07**, copied out of the installed package, execute in FAST mode on a
  kernel of that environment, importing the package from the wheel.

The environment sees .venv's packages (torch, ipywidgets, ...) through a ``.pth`` file, so nothing
is downloaded (pip runs with no index), and never the checkout's editable install of the course.
No real Colab session is involved: README "On Colab" says what this does not cover. All but the
static checks are marked slow (a wheel, a virtual environment, subprocesses: about 2-3 minutes in
all on 2 cores), so ``make test`` runs them and ``make test-min``, whose environment holds
ipywidgets 7.7.0 and runs the whole widget suite under it, does not.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
import setup_cell  # noqa: E402

IPYWIDGETS7 = ROOT / "build" / "ipywidgets7"
IPYWIDGETS7_VERSION = re.search(r"^IPYWIDGETS7_PINS\s*:=.*\bipywidgets==(\S+)", (ROOT / "Makefile").read_text(),
                                re.M).group(1)  # 7.7.5
# The dashboard tests run again under 7.7: those that drive the widgets, picked by name in every
# tests/test_widgets_*.py (a new dashboard's file is picked up), each file contributing at least one.
WIDGET_TESTS_UNDER_7 = "play_ticks or step_d or scrub or throttle or callback or toggles or e_then_m or gradient_ascent_step"
# diffusion2d's dashboard is its own helper's (its tests pass under 7.7.5 too: run them by hand with
# PYTHONPATH=build/ipywidgets7); it is left out here to keep this file's time down.
NOT_UNDER_7 = {"test_widgets_diffusion2d.py"}


# ---- the setup cell ----------------------------------------------------------------------------

def test_every_notebook_starts_with_the_setup_cell():
    stale = [path.name for path in setup_cell.outdated()]
    assert not stale, f"the setup cell of {stale} is not tools/setup_cell.py's: run python tools/setup_cell.py --write"


def test_the_setup_cell_pins_ipywidgets_and_reads_its_target_from_the_environment():
    source = setup_cell.SETUP_CELL
    assert source.startswith("# Setup: on Colab") and 'if "google.colab" in sys.modules:' in source
    assert '"ipywidgets=={widgets}"' in source and "--upgrade" not in source and " -U " not in source
    assert f'os.environ.get("GAN_COURSE_INSTALL", "{setup_cell.DEFAULT_INSTALL}")' in source
    version = re.search(r"^__version__ = \"(.+)\"", (ROOT / "gan_course" / "__init__.py").read_text(), re.M).group(1)
    assert setup_cell.DEFAULT_INSTALL.endswith(f"@v{version}")  # the tagged release of this version


def test_the_readme_shows_the_setup_cell():
    assert f"```python\n{setup_cell.SETUP_CELL}\n```" in (ROOT / "README.md").read_text()


def tiny_notebook(source: str, slide_type: str = "-") -> dict:
    code = {"cell_type": "code", "execution_count": None, "outputs": [], "source": source,
            "metadata": {"slideshow": {"slide_type": slide_type}, "tags": ["keep-me"]}}
    return {"cells": [{"cell_type": "markdown", "metadata": {"slideshow": {"slide_type": "slide"}}, "source": "# T"},
                      code, dict(code, source="print(2)", metadata={"slideshow": {"slide_type": "-"}})],
            "metadata": {}, "nbformat": 4, "nbformat_minor": 5}


def test_the_tool_checks_and_rewrites_only_the_first_code_cell(tmp_path):
    old = tmp_path / "00_old.ipynb"
    old.write_text(json.dumps(tiny_notebook("import sys\n!pip install gan-course"), indent=1) + "\n")
    current = tmp_path / "01_current.ipynb"
    current.write_text(json.dumps(setup_cell.with_setup_cell(tiny_notebook("x")), indent=1) + "\n")
    check = [sys.executable, str(ROOT / "tools" / "setup_cell.py"), "--check", "--notebooks", str(tmp_path)]
    done = subprocess.run(check, capture_output=True, text=True)
    assert done.returncode == 1 and "00_old.ipynb" in done.stderr and "01_current" not in done.stderr
    assert setup_cell.write(tmp_path) == [old]
    assert subprocess.run(check, capture_output=True, text=True).returncode == 0
    cells = json.loads(old.read_text())["cells"]
    assert "".join(cells[1]["source"]) == setup_cell.SETUP_CELL
    assert cells[1]["metadata"] == {"slideshow": {"slide_type": "skip"}, "tags": ["keep-me"]}
    assert cells[0]["source"] == "# T" and cells[2]["source"] == "print(2)"  # untouched


# ---- (b) the dashboards under ipywidgets 7.7 ---------------------------------------------------

@pytest.mark.slow
def test_dashboards_are_driven_under_ipywidgets_7():
    if not (IPYWIDGETS7 / "ipywidgets").is_dir():
        message = f"{IPYWIDGETS7} is missing: run `make ipywidgets7` (a step of `make test`)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message + " (outside CI this test is skipped)")
    files = sorted(p for p in (ROOT / "tests").glob("test_widgets_*.py") if p.name not in NOT_UNDER_7)
    run = ("import sys, ipywidgets, pytest; print('ipywidgets', ipywidgets.__version__, ipywidgets.__file__); "
           "sys.exit(pytest.main(sys.argv[1:]))")
    env = dict(os.environ, PYTHONPATH=str(IPYWIDGETS7), GAN_COURSE_FAST="1", MPLBACKEND="Agg")
    # an unknown keyword (a name only ipywidgets 8 knows, e.g. tooltip= on Play) is an error here
    done = subprocess.run([sys.executable, "-c", run, "-q", "-rA", "-p", "no:cacheprovider", "-o", "addopts=",
                           "-W", "error:Passing unrecognized arguments:DeprecationWarning", "-k", WIDGET_TESTS_UNDER_7,
                           *map(str, files)], capture_output=True, text=True, cwd=ROOT, env=env, timeout=600)
    out = done.stdout + done.stderr
    assert f"ipywidgets {IPYWIDGETS7_VERSION} {IPYWIDGETS7}" in out, (
        f"not ipywidgets {IPYWIDGETS7_VERSION} from {IPYWIDGETS7} (rm -rf {IPYWIDGETS7}; make ipywidgets7):\n{out[-3000:]}")
    assert done.returncode == 0, out[-6000:]
    passed = re.findall(r"^PASSED tests/(test_widgets_\w+\.py)::", out, re.M)
    assert {p.name for p in files} <= set(passed), f"a dashboard's file has no test selected: {out[-3000:]}"


# ---- (c) the setup cell installs a wheel; (a) notebooks run from it ----------------------------

STAND_IN_COLAB = '''
import importlib, importlib.metadata, importlib.util, json, sys, types
calls = []
output = types.ModuleType("google.colab.output")
output.enable_custom_widget_manager = lambda: calls.append("enable_custom_widget_manager")
colab = types.ModuleType("google.colab")
colab.output = output
google = types.ModuleType("google")
google.colab = colab
sys.modules.update({"google": google, "google.colab": colab, "google.colab.output": output})
report = {"course_before": importlib.util.find_spec("gan_course") is not None,
          "ipywidgets_before": importlib.metadata.version("ipywidgets")}
from IPython.core.interactiveshell import InteractiveShell
shell = InteractiveShell.instance()
commands = []
if sys.argv[2] == "dry":  # record the shell commands instead of running them
    shell.system = lambda command: commands.append(shell.var_expand(command))
result = shell.run_cell(open(sys.argv[1]).read())
importlib.invalidate_caches()
report.update(error=repr(result.error_before_exec or result.error_in_exec), pip_exit=shell.user_ns.get("_exit_code"),
              calls=calls, commands=commands, ipywidgets_after=importlib.metadata.version("ipywidgets"))
if sys.argv[2] == "use":
    import gan_course
    from gan_course import data, recipes
    x, y = data.mnist("test", source="bundled")
    trainer = recipes.load_pretrained("dcgan", device="cpu")
    report.update(file=gan_course.__file__, version=importlib.metadata.version("gan-course"),
                  mnist=list(x.shape), weights=str(recipes.pretrained_path("dcgan")), steps=trainer.global_step)
print("REPORT " + json.dumps(report))
'''

RUN_NOTEBOOK = '''
import json, os, sys
import nbformat
from nbclient import NotebookClient
kernels = os.path.join(os.environ["JUPYTER_PATH"], "kernels", "colab-venv")
os.makedirs(kernels, exist_ok=True)
with open(os.path.join(kernels, "kernel.json"), "w") as f:
    json.dump({"argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
               "display_name": "colab venv", "language": "python"}, f)
nb = nbformat.read(sys.argv[1], as_version=4)
nb.cells.append(nbformat.v4.new_code_cell("import sys, gan_course; print('KERNEL', sys.executable, gan_course.__file__)"))
NotebookClient(nb, kernel_name="colab-venv", timeout=600, resources={"metadata": {"path": os.path.dirname(sys.argv[1])}}).execute()
print(nb.cells[-1].outputs[0]["text"])
'''


class ColabVenv:
    """A fresh virtual environment outside the checkout that sees .venv's packages but the course."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.python = root / "venv" / "bin" / "python"
        subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(root / "venv")], check=True)
        self.site = Path(subprocess.run([str(self.python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                                        capture_output=True, text=True, check=True).stdout.strip())
        # .venv's packages, through a folder of links without the course's editable install and
        # .pth files; outside the environment, so pip never uninstalls from it
        shared = root / "shared-site-packages"
        shared.mkdir()
        for entry in Path(sysconfig.get_paths()["purelib"]).iterdir():
            if not (entry.name.startswith(("gan_course", "__editable__", "__pycache__")) or entry.suffix == ".pth"):
                (shared / entry.name).symlink_to(entry)
        (self.site / "dot-venv.pth").write_text(f"{shared}\n")
        self.env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "GAN_COURSE_", "JUPYTER"))
                    and k not in ("PYTHONPATH", "VIRTUAL_ENV")}
        self.env.update(PIP_NO_INDEX="1", PIP_CONFIG_FILE=os.devnull, PIP_DISABLE_PIP_VERSION_CHECK="1",
                        GAN_COURSE_FAST="1", GAN_COURSE_DATA=str(root / "cache"), MPLBACKEND="Agg",
                        JUPYTER_PATH=str(root / "jupyter"), JUPYTER_RUNTIME_DIR=str(root / "jupyter-runtime"),
                        JUPYTER_PLATFORM_DIRS="1", OMP_NUM_THREADS="1")

    def run(self, code: str, *args: str, env: dict | None = None, timeout: int = 600) -> subprocess.CompletedProcess:
        script = self.root / "script.py"
        script.write_text(code)
        return subprocess.run([str(self.python), str(script), *args], capture_output=True, text=True,
                              cwd=self.root, env=dict(self.env, **(env or {})), timeout=timeout)


def build_wheel(folder: Path) -> Path:
    """A wheel of the course, built offline from a copy of the checkout's sources."""
    source = folder / "src"
    source.mkdir()
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy(ROOT / name, source / name)
    for name in ("gan_course", "assets", "notebooks"):
        shutil.copytree(ROOT / name, source / name, ignore=shutil.ignore_patterns("__pycache__"))
    env = dict(os.environ, PIP_NO_INDEX="1")
    done = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--quiet",
                           "-w", str(folder / "dist"), str(source)], capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr
    return next((folder / "dist").glob("gan_course-*.whl"))


@pytest.fixture(scope="module")
def colab(tmp_path_factory):
    """The environment after the setup cell installed the wheel there (the report of the run)."""
    root = tmp_path_factory.mktemp("colab")
    wheel = build_wheel(root)
    venv = ColabVenv(root)
    cell = root / "setup_cell.py"
    cell.write_text(setup_cell.SETUP_CELL)
    venv.env["GAN_COURSE_INSTALL"] = str(wheel)
    done = venv.run(STAND_IN_COLAB, str(cell), "use", timeout=900)
    report = re.search(r"^REPORT (.*)$", done.stdout, re.M)
    assert done.returncode == 0 and report, done.stdout[-3000:] + done.stderr[-3000:]
    return venv, cell, wheel, json.loads(report.group(1))


@pytest.mark.slow
def test_the_setup_cell_installs_the_wheel_and_keeps_ipywidgets(colab):
    venv, _cell, wheel, report = colab
    assert report["error"] == "None" and report["pip_exit"] == 0, report
    assert report["course_before"] is False  # the course came from the cell, not from .venv
    assert Path(report["file"]).is_relative_to(venv.site), report["file"]  # the wheel, not the checkout
    assert wheel.name.startswith(f"gan_course-{report['version']}-")
    assert report["ipywidgets_after"] == report["ipywidgets_before"]  # pinned: pip kept it
    assert report["mnist"] == [1000, 1, 28, 28]  # the bundled digits' test split, from the wheel
    assert report["steps"] > 0  # the shipped DCGAN weights, with their history
    assert Path(report["weights"]).is_relative_to(venv.site) and Path(report["weights"]).is_file()


@pytest.mark.slow
def test_the_custom_widget_manager_is_enabled_under_ipywidgets_8_only(colab):
    """Under 8 (the run above) the cell enables it; under 7.7.5 it asks pip to keep 7.7.5 and does not.

    Under 7.7.5 pip itself is not run: build/ipywidgets7 holds ipywidgets without its dependencies
    (widgetsnbextension 3.6 needs the classic notebook), which pip would try to fetch.
    """
    venv, cell, wheel, report = colab
    assert report["ipywidgets_before"].startswith("8.")
    assert report["calls"] == ["enable_custom_widget_manager"]
    if not (IPYWIDGETS7 / "ipywidgets").is_dir():
        pytest.skip(f"{IPYWIDGETS7} is missing (make ipywidgets7): the 7.7 half is not checked")
    done = venv.run(STAND_IN_COLAB, str(cell), "dry", env={"PYTHONPATH": str(IPYWIDGETS7)})
    seven = json.loads(re.search(r"^REPORT (.*)$", done.stdout, re.M).group(1))
    assert seven["error"] == "None" and seven["ipywidgets_before"] == IPYWIDGETS7_VERSION, seven
    assert seven["commands"] == [f'{venv.python} -m pip install -q "{wheel}" "ipywidgets=={IPYWIDGETS7_VERSION}"']
    assert seven["calls"] == []


@pytest.mark.slow
def test_the_setup_cell_does_nothing_outside_colab(colab):
    venv, cell, _wheel, _report = colab
    code = ("import sys\nfrom IPython.core.interactiveshell import InteractiveShell\n"
            "shell = InteractiveShell.instance()\nshell.system = lambda cmd: print('RAN', cmd)\n"
            "shell.run_cell(open(sys.argv[1]).read()).raise_error()\nprint('DONE')\n")
    done = venv.run(code, str(cell))
    assert done.returncode == 0 and done.stdout.strip() == "DONE", done.stdout + done.stderr


def execute_installed_notebook(venv: ColabVenv, name: str) -> str:
    """Copy the notebooks out of the installed package and execute one there; the kernel's last line."""
    out = venv.root / "notebooks"
    if not out.exists():
        copied = subprocess.run([str(venv.python), "-m", "gan_course", "notebooks", str(out)], capture_output=True,
                                text=True, cwd=venv.root, env=venv.env)
        assert copied.returncode == 0, copied.stderr
    path = next(out.glob(f"{name}_*.ipynb"))
    done = venv.run(RUN_NOTEBOOK, str(path))
    assert done.returncode == 0, f"{path.name} failed in the installed course:\n{done.stdout[-2000:]}{done.stderr[-4000:]}"
    return done.stdout


@pytest.mark.slow
def test_notebook_00_runs_from_the_installed_wheel(colab):
    venv = colab[0]
    kernel = re.search(r"^KERNEL (\S+) (\S+)$", execute_installed_notebook(venv, "00"), re.M)
    assert kernel and kernel.group(1) == str(venv.python), kernel
    assert Path(kernel.group(2)).is_relative_to(venv.site)


@pytest.mark.slow
def test_notebook_07_runs_from_the_installed_wheel(colab):
    venv = colab[0]
    kernel = re.search(r"^KERNEL (\S+) (\S+)$", execute_installed_notebook(venv, "07"), re.M)
    assert kernel and Path(kernel.group(2)).is_relative_to(venv.site), kernel
