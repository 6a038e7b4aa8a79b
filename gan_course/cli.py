"""The command line: ``python -m gan_course COMMAND`` (or ``gan-course COMMAND``).

Commands:
    doctor    what the course will use on this machine (``--json`` for one JSON object)
    train     train a model and write its outputs to a folder:
              ``train toy --data mix1d --loss nonsaturating --steps 3000 --out runs/mix1d``
              ``train dcgan|cgan|wgan-gp --data mnist --minutes 5 --seed 0 --out runs/dcgan``
              ``train classifier [--seed 0] [--out assets/models/mnist_classifier.pt]``

Everything a terminal sees lives here: argument parsing, printing and exit codes (0 success,
1 a failed check, 2 bad input). The work itself is done by the package's modules.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from pathlib import Path

IMAGE_KINDS = ("dcgan", "cgan", "wgan-gp")


def _doctor(args: argparse.Namespace) -> int:
    from gan_course import doctor

    info = doctor.report()
    print(json.dumps(info, indent=2) if args.json else doctor.format_report(info))
    return 0 if info["data"]["bundled"] == "ok" else 1


def _train(args: argparse.Namespace) -> int:
    try:
        if args.kind == "toy":
            result = _train_toy(args)
        elif args.kind == "classifier":
            result = _train_classifier(args)
        else:
            result = _train_image(args)
    except ValueError as error:  # bad settings: one line for the user, not a traceback
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(json.dumps(result, indent=2))
    return 0


def _train_toy(args: argparse.Namespace) -> dict:
    from gan_course import data, runs

    if args.data not in data.TOY_NAMES:
        raise ValueError(f"train toy needs --data in {', '.join(data.TOY_NAMES)}; got {args.data!r}")
    if args.out is None:
        raise ValueError("train toy needs --out DIR")
    return runs.train_toy(args.data, args.out, loss=args.loss, steps=args.steps, seed=args.seed,
                          device=args.device, progress=not args.quiet)


def _train_image(args: argparse.Namespace) -> dict:
    """Train, then write samples.npy, grid.png, metrics.json, checkpoint.pt (and weights.pt)."""
    from gan_course import classifier, plots, runs, storage

    if args.data != "mnist":
        raise ValueError(f"train {args.kind} needs --data mnist; got {args.data!r}")
    if args.out is None:
        raise ValueError(f"train {args.kind} needs --out DIR")
    if args.loss is not None:
        raise ValueError(f"--loss is for toy runs; {args.kind} uses its recipe's loss")
    minutes = args.minutes if args.minutes is not None or args.steps is not None else 5.0
    summary, _, x_fake, y = runs.train_image(args.kind, args.out, minutes=minutes, seed=args.seed,
                                             device=args.device, steps=args.steps, progress=not args.quiet,
                                             command=args.command)
    out = Path(args.out)
    shown = x_fake[:100] if y is None else x_fake.view(10, -1, *x_fake.shape[1:])[:, :10].flatten(0, 1)  # a row per digit
    storage.atomic_write_bytes(out / "grid.png", plots.image_grid_png((shown + 1) / 2, nrow=10))
    quality = classifier.evaluate_images(x_fake, value_range=(-1, 1), y_requested=y)
    runs.write_json(out / "metrics.json", {**summary, "metrics": quality})
    print(classifier.format_report(quality))
    return {**summary, "out": str(out)}


def _train_classifier(args: argparse.Namespace) -> dict:
    from gan_course import classifier

    return classifier.train_classifier(seed=args.seed, out=args.out, progress=not args.quiet)


def _add_train(commands) -> None:
    from gan_course.data import TOY_NAMES
    from gan_course.losses import LOSS_NAMES

    train = commands.add_parser("train", help="train a GAN or the digit classifier; write samples, metrics, "
                                "checkpoint")
    train.add_argument("kind", choices=("toy", *IMAGE_KINDS, "classifier"), help="what to train")
    train.add_argument("--data", choices=(*TOY_NAMES, "mnist"), default="mnist",
                       help="a toy dataset for `toy`; mnist (the default) for the image GANs")
    train.add_argument("--loss", choices=LOSS_NAMES, default=None,
                       help="toy only; default: the dataset's recommended loss")
    train.add_argument("--steps", type=int, default=None, help="generator steps (default: recommended)")
    train.add_argument("--minutes", type=float, default=None,
                       help="image GANs: the training time budget (default 5 unless --steps is given)")
    train.add_argument("--seed", type=int, default=0, help="seed for data, weights and sampling")
    train.add_argument("--device", default="auto", help="auto, cpu, cuda or mps")
    train.add_argument("--out", default=None, help="output folder (for classifier: the weights file)")
    train.add_argument("--quiet", action="store_true", help="no progress bar")
    train.set_defaults(run=_train)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser, one sub-command per task."""
    parser = argparse.ArgumentParser(prog="python -m gan_course", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command_name", required=True)
    doctor = commands.add_parser("doctor", help="check versions, device, FAST mode and data")
    doctor.add_argument("--json", action="store_true", help="print one JSON object")
    doctor.set_defaults(run=_doctor)
    _add_train(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run one command; returns its exit code."""
    argv = sys.argv[1:] if argv is None else list(argv)
    args = build_parser().parse_args(argv)
    args.command = "python -m gan_course " + shlex.join(argv)  # recorded as the provenance of shipped weights
    return args.run(args)
