"""The environment check behind ``python -m gan_course doctor``."""

from __future__ import annotations

import importlib.metadata
import platform
import sys

import torch

from gan_course import __version__, config, data


def _version(package: str) -> str | None:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return None


def report() -> dict:
    """What the course will use on this machine, as a JSON-ready dict.

    Keys: ``gan_course`` (the course's version), ``python``, ``platform``, ``torch``, ``numpy``, ``ipywidgets``, ``jupyterlab``,
    ``device``, ``precision``, ``cpu_native_bf16`` (the image GANs then train in bf16 on the CPU),
    ``fast``, ``colab``, ``data``.
    """
    device = config.get_device("auto")
    precision = config.get_precision(device, "auto")
    return {
        "gan_course": __version__,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "torch": torch.__version__,
        "numpy": _version("numpy"),
        "ipywidgets": _version("ipywidgets"),
        "jupyterlab": _version("jupyterlab"),
        "device": str(device),
        "gpu": torch.cuda.get_device_name(device) if device.type == "cuda" else None,
        "precision": precision.name,
        "cpu_native_bf16": config.cpu_has_native_bf16(),
        "fast": config.is_fast(),
        "colab": "google.colab" in sys.modules,
        "data": data.sources(),
    }


def format_report(info: dict) -> str:
    """The report as aligned ``key: value`` lines for people."""
    lines = []
    for key, value in info.items():
        if isinstance(value, dict):
            lines.append(f"{key}:")
            lines += [f"  {k:<12} {v}" for k, v in value.items()]
        else:
            lines.append(f"{key:<14} {value}")
    return "\n".join(lines)
