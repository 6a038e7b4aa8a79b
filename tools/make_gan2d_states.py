"""Remake the 2-D dashboard states shipped in assets/models/gan2d_*.pt.

    python tools/make_gan2d_states.py                 # every 2-D dataset, 1,500 steps, seed 0
    python tools/make_gan2d_states.py ring8 --steps 1500

The same states as ``python -m gan_course pretrain --kinds gan2d`` (``cli.make_gan2d_state``),
written over the shipped files. Each state is the recommended recipe of its dataset (``recipes.TOY_RECIPES``) trained for
``--steps`` dashboard steps at constant learning rate (the dashboard steps; it does not decay),
with the KL/JS/mode curves recorded about 20 times along the way; ``GAN2DDashboard.pretrained``
starts from it. Each file is well under 1 MB.
"""

from __future__ import annotations

import argparse
import sys

import torch

from gan_course.cli import PRETRAINED_2D_STEPS, make_gan2d_state
from gan_course.config import assets_dir
from gan_course.data import DATASETS_2D


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("names", nargs="*", choices=DATASETS_2D, default=list(DATASETS_2D))
    parser.add_argument("--steps", type=int, default=PRETRAINED_2D_STEPS)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    for name in args.names:
        path = assets_dir() / "models" / f"gan2d_{name}.pt"
        print(f"{name}: wrote {make_gan2d_state(name, path, args.steps, args.seed)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
