"""Convert files saved by gan_course 0.1 (one dict layout per module) to the one checkpoint format.

    python tools/convert_checkpoints.py OLD.pt [OLD2.pt ...]          # in place
    python tools/convert_checkpoints.py OLD.pt --out NEW.pt

Reads the old layouts (trainer checkpoints, shipped image weights, 2-D dashboard states, VAE
files, the classifier's weights) with ``torch.load(weights_only=True)`` and writes each as a
``gan_course.checkpoints`` envelope of the matching kind. The networks' tensors are copied
unchanged, so a converted file gives bit-identical samples (``tests/test_shipped_weights.py``
checks the shipped files against outputs recorded with the 0.1 code). The shipped files in
``assets/models/`` were converted with this script once.
"""

from __future__ import annotations

import argparse
import dataclasses
import re
import sys
from pathlib import Path

import torch

from gan_course import checkpoints, recipes, specs
from gan_course.specs import TrainerConfig

_NET_FIELDS = {f.name for f in dataclasses.fields(specs.DCGANSpec)}
_TRAINER_FIELDS = {f.name for f in dataclasses.fields(TrainerConfig)}


def _trainer_config(old: dict) -> dict:
    """An old TrainerConfig dict (one ``optimizer`` for both players) as a new one."""
    new = {k: v for k, v in old.items() if k in _TRAINER_FIELDS}
    if "optimizer" in old:
        new["optimizer_d"] = new["optimizer_g"] = old["optimizer"]
    return dataclasses.asdict(TrainerConfig(**new))


def _image_recipe(flat: dict) -> dict:
    """An old flat ImageRecipe dict as a nested ``ImageRecipe.to_dict()``."""
    net = specs.DCGANSpec(**{k: v for k, v in flat.items() if k in _NET_FIELDS})
    config = TrainerConfig(**{k: v for k, v in flat.items() if k in _TRAINER_FIELDS})
    return recipes.ImageRecipe(net, config).to_dict()


def convert(state: dict, path: Path) -> tuple[str, dict]:
    """``(kind, payload)`` of an old file's dict."""
    if "state_dict" in state and "meta" in state:
        return "classifier", {"model": state["state_dict"], "meta": state["meta"]}
    if state.get("format") != 1:
        raise ValueError(f"{path} is not a gan_course 0.1 file (format {state.get('format')!r})")
    payload = {k: v for k, v in state.items() if k != "format"}
    if "settings" in state:  # a 2-D dashboard state
        settings = dict(state["settings"])
        name = settings.pop("data", None)
        match = re.fullmatch(r"gan2d_(\w+)\.pt", path.name)
        name = match.group(1) if match else name
        recipe = recipes.TOY_RECIPES[name].replace(**settings, num_data=20000)  # the dashboard's old data size
        del payload["settings"]
        return "gan2d_state", {"data": name, "recipe": recipe.to_dict(), **payload}
    if state.get("kind") in ("vae", "autoencoder"):
        payload["model_class"] = "VAE" if state["kind"] == "vae" else "Autoencoder"
        del payload["kind"]
        return "vae", payload
    if "recipe" in state:  # shipped image weights
        return "gan_weights", {**payload, "recipe": _image_recipe(state["recipe"])}
    if "config" in state and "opt_g" in state:  # a whole trainer
        return "gan_trainer", {**payload, "config": _trainer_config(state["config"])}
    raise ValueError(f"{path}: an old file of an unknown layout (keys {sorted(state)})")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("paths", nargs="+", type=Path)
    parser.add_argument("--out", type=Path, default=None, help="where to write (one input only); default in place")
    args = parser.parse_args(argv)
    if args.out is not None and len(args.paths) != 1:
        parser.error("--out needs exactly one input")
    for path in args.paths:
        state = torch.load(path, map_location="cpu", weights_only=True)
        kind, payload = convert(state, path)
        out = checkpoints.save(args.out or path, kind, payload)
        print(f"{path} -> {out} ({kind})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
