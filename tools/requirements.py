"""The course's two requirement files, written from one source each (standard library only).

* ``floors``: the oldest version of every dependency that ``pyproject.toml`` allows, as pip
  constraints (``numpy>=1.24`` becomes ``numpy==1.24``), for ``make test-min``;
* ``lock``: ``requirements/lock.txt`` from a ``pip freeze`` of an environment that passed
  ``make test``, for ``make lock``;
* ``check``: inside the minimum-versions environment, which version of each floor is installed.

::

    python tools/requirements.py floors runtime lab test     # the constraints, one per line
    python tools/requirements.py floors --torch               # torch's floor alone: torch==2.4
    .venv/bin/python -m pip freeze --exclude-editable | python tools/requirements.py lock
    build/venv-min/bin/python tools/requirements.py check build/venv-min/floors.txt
"""

from __future__ import annotations

import argparse
import importlib.metadata
import re
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LOCK_HEADER = """\
# The versions CI tested, used as pip constraints by `make lab` and `make test` (LOCK=0 ignores
# them). Written by `make lock` from the environment of a passing `make test`; torch's line
# names the release only, so that each machine still gets its own build (tools/torch_index.py).
# Python {python}; regenerate at the start of a term: make clean && make test LOCK=0 && make lock
"""


def requirement_name(spec: str) -> str:
    """The normalised project name of a requirement (``Pillow>=9`` -> ``pillow``)."""
    name = re.split(r"[<>=!~\[ ;@]", spec.strip(), maxsplit=1)[0]
    return re.sub(r"[-_.]+", "-", name).lower()


def requirements(groups: list[str], pyproject: Path = ROOT / "pyproject.toml") -> list[str]:
    """The requirements of ``groups``: ``runtime`` (the dependencies) and extras by name.

    Raises:
        ValueError: for a group that is neither ``runtime`` nor an extra of the project.
    """
    project = tomllib.loads(pyproject.read_text())["project"]
    extras = project.get("optional-dependencies", {})
    specs = []
    for group in groups:
        if group == "runtime":
            specs += project["dependencies"]
        elif group in extras:
            specs += [s for s in extras[group] if not requirement_name(s) == requirement_name(project["name"])]
        else:
            raise ValueError(f"group must be 'runtime' or one of the extras {sorted(extras)}, got {group!r}")
    return specs


def floor(spec: str) -> str | None:
    """``name==version`` for the lower bound ``>=version`` of a requirement, or None without one."""
    match = re.search(r">=\s*([0-9][0-9A-Za-z.+!-]*)", spec)
    return f"{requirement_name(spec)}=={match.group(1)}" if match else None


def floors(groups: list[str], pyproject: Path = ROOT / "pyproject.toml") -> list[str]:
    """The floor of every requirement of ``groups`` but torch's (``make test-min`` installs torch first)."""
    pins = (floor(s) for s in requirements(groups, pyproject) if requirement_name(s) != "torch")
    return sorted({p for p in pins if p is not None})


def lock_lines(freeze: str) -> list[str]:
    """The lock file's pins from a ``pip freeze``: editable and URL installs dropped, sorted by name,
    and torch's local version label (``+cpu``, ``+cu130``) removed so any build of the release fits."""
    pins = {}
    for line in freeze.splitlines():
        line = line.strip()
        if not line or line.startswith(("#", "-e", "--")) or " @ " in line or "==" not in line:
            continue
        name, version = line.split("==", 1)
        if requirement_name(name) == "torch":
            version = version.split("+", 1)[0]
        pins[requirement_name(name)] = f"{requirement_name(name)}=={version}"
    return [pins[name] for name in sorted(pins)]


def check(floors_file: Path) -> list[str]:
    """``name installed (floor)`` for each pin of ``floors_file``, in the running environment."""
    rows = []
    for line in floors_file.read_text().split():
        name, wanted = line.split("==")
        try:
            found = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            found = "missing"
        same = _release(found) == _release(wanted)
        rows.append(f"{name} {found}" + ("" if same else f" (floor {wanted})"))
    return rows


def _release(version: str) -> str:
    """A version without its trailing ``.0`` parts and local label: ``1.24.0+cpu`` -> ``1.24``."""
    return re.sub(r"(\.0)+$", "", version.split("+", 1)[0])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    floors_cmd = commands.add_parser("floors", help="the oldest allowed version of each dependency")
    floors_cmd.add_argument("groups", nargs="*", default=["runtime"], help="runtime and/or extras (lab, test, ...)")
    floors_cmd.add_argument("--torch", action="store_true", help="print torch's floor alone")
    commands.add_parser("lock", help="a lock file from `pip freeze` on stdin")
    check_cmd = commands.add_parser("check", help="which version of each floor is installed here")
    check_cmd.add_argument("floors_file", type=Path)
    args = parser.parse_args(argv)
    if args.command == "floors":
        if args.torch:
            print(next(floor(s) for s in requirements(["runtime"]) if requirement_name(s) == "torch"))
        else:
            try:
                print("\n".join(floors(args.groups)))
            except ValueError as error:
                parser.error(str(error))
    elif args.command == "lock":
        python = ".".join(map(str, sys.version_info[:2]))
        print(LOCK_HEADER.format(python=python) + "\n".join(lock_lines(sys.stdin.read())))
    else:
        print("minimum versions installed: " + ", ".join(check(args.floors_file)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
