"""What the command line's sub-commands share (:mod:`gan_course.cli`, ``cli_train``, ``cli_sample``):
the exit codes, the kinds each command knows, the help layout, strict JSON and the grid a run draws.

Exit codes: 0 success, 1 a failed check or a run stopped by a non-finite loss, 2 bad input
(nothing written), 130 interrupted (the run so far is written; ``--resume`` goes on with it).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT, EXIT_INTERRUPTED = 0, 1, 2, 130

IMAGE_KINDS = ("dcgan", "cgan", "wgan-gp")
# notebook 11 (issue 16): diffusion and flow matching, on a 2-D toy (--data ring8 ...) or on digits
DENOISER_KINDS = ("diffusion", "flow")
# kinds trained by a function of their own module: train_X(out_folder, minutes=, seed=, progress=, command=)
OTHER_KINDS = {"autoregressive": ("gan_course.autoregressive", "train_autoregressive"),
               # notebook 11 (issue 16): the digit runs of diffusion and flow matching, and the self-conditioned DCGAN
               "diffusion": ("gan_course.denoising_runs", "train_diffusion_digits"),
               "flow": ("gan_course.denoising_runs", "train_flow_digits"),
               "dcgan-sc": ("gan_course.self_conditioned", "train_self_conditioned"),
               "stylegan": ("gan_course.stylegan", "train_stylegan")}
# notebook 10's applications (issue 15): trained like OTHER_KINDS, and they also draw grid.png
APP_KINDS = {"semi": ("gan_course.semi_supervised", "train_semi"),
             "text2digit": ("gan_course.text2digit", "train_text2digit"),
             "aae": ("gan_course.aae", "train_aae"), "superres": ("gan_course.superres", "train_superres")}
OTHER_KINDS.update(APP_KINDS)


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Help text as written (examples keep their lines), each option's default shown when it has one."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        if action.default not in (None, False, argparse.SUPPRESS) and "%(default)" not in text:
            text += " (default: %(default)s)"
        return text


def bad_input(error: BaseException) -> int:
    """Print ``error`` as one line on stderr (no traceback); the exit code of bad input."""
    print(f"error: {error}", file=sys.stderr)
    return EXIT_BAD_INPUT


def json_ready(obj):
    """``obj`` with every NaN or inf float replaced by None (strict JSON, which ``json.loads`` of
    any language reads)."""
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, dict):
        return {k: json_ready(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [json_ready(v) for v in obj]
    return obj


def dumps(obj, indent: int | None = 2) -> str:
    """``obj`` as strict JSON (NaN and inf become null)."""
    return json.dumps(json_ready(obj), indent=indent, allow_nan=False)


def write_grid(path: Path, images) -> None:
    """grid.png of an application's run: images (N, 1, 28, 28) in [0, 1], ten to a row."""
    from gan_course import plots, storage

    storage.atomic_write_bytes(path, plots.image_grid_png(images, nrow=10))
