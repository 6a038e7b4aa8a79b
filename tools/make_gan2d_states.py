"""Remake the 2-D dashboard states shipped in assets/models/gan2d_*.pt.

    python tools/make_gan2d_states.py                 # every 2-D dataset, 1,500 steps, seed 0
    python tools/make_gan2d_states.py ring8 --steps 1500

Each state is the recommended recipe of its dataset (``recipes.TOY_RECIPES``) trained for
``--steps`` dashboard steps at constant learning rate (the dashboard steps; it does not decay),
with the KL/JS/mode curves recorded about 20 times along the way; ``GAN2DDashboard.pretrained``
starts from it. Each file is well under 1 MB.
"""

from __future__ import annotations

import argparse
import sys

import torch

from gan_course.data import DATASETS_2D
from gan_course.widgets.gan2d import GAN2DDashboard, pretrained_path


def make_state(name: str, steps: int = 1500, seed: int = 0, path=None):
    """Train the recommended recipe on ``name`` for ``steps`` steps and write its dashboard state."""
    dash = GAN2DDashboard(name, seed=seed)
    redraw_every = max(1, steps // 20)
    for i in range(1, steps + 1):
        dash.step("step", redraw=False)
        if i % redraw_every == 0:
            dash._track(dash.trainer.global_step, dash.snapshot())  # the KL/JS/modes curves, without drawing
    return dash.save_state(path or pretrained_path(name))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("names", nargs="*", choices=DATASETS_2D, default=list(DATASETS_2D))
    parser.add_argument("--steps", type=int, default=1500)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    for name in args.names:
        print(f"{name}: wrote {make_state(name, args.steps, args.seed)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
