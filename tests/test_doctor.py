"""gan_course.doctor: the environment report behind ``python -m gan_course doctor`` (the command itself
runs in test_project.py)."""

import json

import torch

from gan_course import config, doctor


def test_report_has_the_documented_keys_and_agrees_with_config():
    info = doctor.report()
    assert {"python", "platform", "torch", "numpy", "ipywidgets", "jupyterlab", "device", "gpu", "precision",
            "cpu_native_bf16", "fast", "colab", "data"} <= set(info)
    assert info["torch"] == torch.__version__
    assert info["device"] == str(config.get_device("auto"))
    assert info["precision"] == config.get_precision(config.get_device("auto"), "auto").name
    assert info["fast"] is config.is_fast() and info["cpu_native_bf16"] is config.cpu_has_native_bf16()
    assert (info["gpu"] is None) == (info["device"] != "cuda" and not info["device"].startswith("cuda:"))
    assert info["data"]["bundled"] == "ok"
    json.dumps(info)  # JSON-ready: the --json output is this dict


def test_format_report_aligns_keys_and_indents_nested_dicts():
    text = doctor.format_report({"torch": "2.4.0", "data": {"bundled": "ok", "auto_source": "bundled"}, "fast": True})
    assert text.splitlines() == ["torch          2.4.0",
                                 "data:",
                                 "  bundled      ok",
                                 "  auto_source  bundled",
                                 "fast           True"]
