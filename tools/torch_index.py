"""Which PyTorch build `make lab` and `make test` install on this machine.

Standard library only: it runs before any virtual environment exists. It prints, on one line,
the pip arguments that select the build, and on stderr one sentence that says why::

    python3 tools/torch_index.py            # auto: look at this machine
    python3 tools/torch_index.py cpu        # or name the build: cpu, pypi, cu130, an index URL

The choices (``TORCH_INDEX`` in the Makefile):

========  ==========================================================================
auto      the default: the rules below
cpu       PyTorch's CPU-only wheels (``download.pytorch.org/whl/cpu``)
pypi      the wheels the default index serves, whatever pip is configured with: on
          Linux the CUDA build, on Windows a CPU build, on macOS the build with MPS
cuXYZ     PyTorch's wheels for CUDA X.Y (``download.pytorch.org/whl/cuXYZ``)
URL       any other index, e.g. a mirror of the CPU wheels
========  ==========================================================================

``auto`` decides from the operating system and what ``nvidia-smi -L`` lists:

==========================  =====================  =========================================
system                      NVIDIA GPU listed      build
==========================  =====================  =========================================
macOS                       (never)                pypi: the only macOS build; it has MPS
Linux, WSL                  yes                    pypi: PyPI's Linux wheels are CUDA builds
                                                   (CUDA 13.0); cuXYZ when the driver is older
Linux, WSL                  no                     cpu
Windows                     yes                    cuXYZ for the driver's CUDA version
                                                   (PyPI's Windows wheels are CPU-only)
Windows                     no                     cpu
anything else               —                      pypi
==========================  =====================  =========================================

A PyTorch index is given as an *extra* index, so the packages torch needs, pinned by the lock
file, still come from the default index; pip then prefers ``2.13.0+cpu`` over ``2.13.0`` for
the same release because a local version label sorts after the plain version (PEP 440), and
``tests/test_install.py`` checks that pip does so.
"""

from __future__ import annotations

import argparse
import platform
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass

PYTORCH_INDEX = "https://download.pytorch.org/whl"
# The CUDA builds PyTorch publishes on its own index for Windows, newest first. Check
# https://pytorch.org/get-started/locally/ when the lock moves to another torch release.
CUDA_VARIANTS = (("cu130", (13, 0)), ("cu128", (12, 8)), ("cu126", (12, 6)))
# The CUDA release PyPI's Linux wheels of the locked torch are built for (torch 2.13.0 requires
# cuda-toolkit==13.0.3 on Linux); an older driver gets an older CUDA build from PyTorch's index.
PYPI_CUDA = (13, 0)
CHOICES = ("auto", "cpu", "pypi")


@dataclass(frozen=True)
class Machine:
    """What the choice depends on: ``platform.system()`` and what ``nvidia-smi`` printed.

    Attributes:
        system: ``"Linux"``, ``"Darwin"``, ``"Windows"``, ...
        gpus: the lines of ``nvidia-smi -L`` that name a GPU (empty without one).
        cuda: the CUDA version the driver supports, from ``nvidia-smi``'s header, or None.
    """

    system: str
    gpus: tuple[str, ...] = ()
    cuda: tuple[int, int] | None = None


@dataclass(frozen=True)
class Choice:
    """One build: its name, the pip arguments that select it, and why it was chosen."""

    name: str
    pip_args: tuple[str, ...]
    reason: str


def parse_gpus(listing: str) -> tuple[str, ...]:
    """The GPUs in the output of ``nvidia-smi -L`` (lines like ``GPU 0: NVIDIA ... (UUID: ...)``)."""
    return tuple(line.strip() for line in listing.splitlines() if re.match(r"\s*GPU \d+:", line))


def parse_cuda_version(header: str) -> tuple[int, int] | None:
    """The ``CUDA Version: 12.8`` the driver reports in ``nvidia-smi``'s header, or None."""
    match = re.search(r"CUDA Version:\s*(\d+)\.(\d+)", header)
    return (int(match.group(1)), int(match.group(2))) if match else None


def _run(command: list[str]) -> str:
    """What a command printed, or ``""`` when it is missing, fails or hangs."""
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=20, check=False)
    except (OSError, subprocess.SubprocessError):
        return ""
    return done.stdout if done.returncode == 0 else ""


def probe() -> Machine:
    """This machine: its system and, where ``nvidia-smi`` is on PATH and answers, its GPUs."""
    system = platform.system()
    if system == "Darwin" or shutil.which("nvidia-smi") is None:
        return Machine(system)
    gpus = parse_gpus(_run(["nvidia-smi", "-L"]))
    return Machine(system, gpus, parse_cuda_version(_run(["nvidia-smi"])) if gpus else None)


def index_url(name: str) -> str:
    """The index of a PyTorch build by name (``cpu``, ``cu130``), or the URL given."""
    return name if "://" in name else f"{PYTORCH_INDEX}/{name}"


def pytorch_index(name: str, reason: str) -> Choice:
    """A build from a PyTorch index, added to the indexes pip already uses."""
    return Choice(name, ("--extra-index-url", index_url(name)), reason)


def named(choice: str) -> Choice:
    """The build the user asked for by name: ``pypi``, ``cpu``, ``cuXYZ`` or an index URL.

    Raises:
        ValueError: for a name that is none of these.
    """
    if choice == "pypi":
        return Choice("pypi", (), "TORCH_INDEX=pypi: the wheels the default index serves")
    if choice == "cpu" or re.fullmatch(r"cu\d{3}|rocm\d+(\.\d+)*|xpu", choice) or "://" in choice:
        return pytorch_index(choice, f"TORCH_INDEX={choice}")
    raise ValueError(f"TORCH_INDEX must be one of auto, cpu, pypi, cuXYZ (e.g. cu130) or an index URL, "
                     f"got {choice!r}")


def cuda_variant(cuda: tuple[int, int] | None) -> str | None:
    """The newest CUDA build in ``CUDA_VARIANTS`` the driver can run, or None."""
    if cuda is None:
        return None
    return next((name for name, needs in CUDA_VARIANTS if cuda >= needs), None)


def _gpu_build(machine: Machine, gpu: str, default_cuda: tuple[int, int] | None) -> Choice:
    """The build for a machine whose ``nvidia-smi`` lists a GPU.

    ``default_cuda`` is the CUDA release of the default wheels (None where they are CPU-only):
    they serve a driver that runs it; an older driver gets the newest CUDA build it can run
    from PyTorch's index, and the CPU build when it runs none.
    """
    if default_cuda is not None and (machine.cuda is None or machine.cuda >= default_cuda):
        return Choice("pypi", (), f"{gpu}: the default wheels, a CUDA %d.%d build" % default_cuda)
    variant = cuda_variant(machine.cuda)
    driver = "no CUDA version" if machine.cuda is None else "CUDA %d.%d" % machine.cuda
    if variant is None:
        return pytorch_index("cpu", f"{gpu}, but its driver reports {driver}, older than every CUDA build: "
                                    f"the CPU-only wheels (update the NVIDIA driver to use the GPU)")
    return pytorch_index(variant, f"{gpu}, driver for {driver}: the {variant} wheels")


def choose(machine: Machine, choice: str = "auto") -> Choice:
    """The PyTorch build for ``machine``: the table in the module's docstring.

    Args:
        machine: the system and the GPUs ``nvidia-smi`` listed (see ``probe``).
        choice: ``auto`` to decide from ``machine``, otherwise a name for ``named``.

    Raises:
        ValueError: for an unknown ``choice``.
    """
    if choice != "auto":
        return named(choice)
    if machine.system == "Darwin":
        return Choice("pypi", (), "macOS: the default wheels, which use the GPU through MPS")
    if machine.system not in ("Linux", "Windows"):
        return Choice("pypi", (), f"{machine.system}: the default wheels")
    if not machine.gpus:
        return pytorch_index("cpu", "no NVIDIA GPU found: the CPU-only wheels")
    gpu = f"nvidia-smi lists {machine.gpus[0].split(' (UUID')[0]}"
    return _gpu_build(machine, gpu, PYPI_CUDA if machine.system == "Linux" else None)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Print the pip arguments that pick this machine's PyTorch build.")
    parser.add_argument("choice", nargs="?", default="auto",
                        help="auto (default), cpu, pypi, cuXYZ (e.g. cu130) or an index URL")
    parser.add_argument("--quiet", action="store_true", help="do not explain the choice on stderr")
    args = parser.parse_args(argv)
    try:
        choice = choose(probe() if args.choice == "auto" else Machine(platform.system()), args.choice)
    except ValueError as error:
        parser.error(str(error))
    if not args.quiet:
        where = f" from {choice.pip_args[-1]}" if choice.pip_args else ""
        print(f"PyTorch build: {choice.name}{where} ({choice.reason}); "
              f"set TORCH_INDEX=cpu|pypi|cuXYZ to choose another", file=sys.stderr)
    print(" ".join(choice.pip_args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
