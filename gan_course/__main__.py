"""The command line: ``python -m gan_course COMMAND``.

Commands:
    doctor    what the course will use on this machine (``--json`` for one JSON object)
    train     train a GAN: ``train toy --data mix1d --loss nonsaturating --steps 3000 --out runs/mix1d``
"""

from __future__ import annotations

import argparse
import json
import sys


def _doctor(args: argparse.Namespace) -> int:
    from gan_course import doctor

    info = doctor.report()
    print(json.dumps(info, indent=2) if args.json else doctor.format_report(info))
    return 0 if info["data"]["bundled"] == "ok" else 1


def _train(args: argparse.Namespace) -> int:
    from gan_course import train

    try:
        result = train.train_toy(args.data, args.out, loss=args.loss, steps=args.steps, seed=args.seed,
                                 device=args.device, progress=not args.quiet)
    except ValueError as error:  # bad settings: one line for the user, not a traceback
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(json.dumps(result, indent=2))
    return 0


def _add_train(commands) -> None:
    from gan_course.data import TOY_NAMES
    from gan_course.losses import LOSS_NAMES

    train = commands.add_parser("train", help="train a GAN (toy data), write samples, metrics, checkpoint")
    train.add_argument("kind", choices=["toy"], help="what to train on")
    train.add_argument("--data", required=True, choices=TOY_NAMES, help="the toy dataset")
    train.add_argument("--loss", choices=LOSS_NAMES, default=None, help="default: the dataset's recommended loss")
    train.add_argument("--steps", type=int, default=None, help="generator steps (default: recommended)")
    train.add_argument("--seed", type=int, default=0, help="seed for data, weights and sampling")
    train.add_argument("--device", default="auto", help="auto, cpu, cuda or mps")
    train.add_argument("--out", required=True, help="output folder")
    train.add_argument("--quiet", action="store_true", help="no progress bar")
    train.set_defaults(run=_train)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser, one sub-command per task."""
    parser = argparse.ArgumentParser(prog="python -m gan_course", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    doctor = commands.add_parser("doctor", help="check versions, device, FAST mode and data")
    doctor.add_argument("--json", action="store_true", help="print one JSON object")
    doctor.set_defaults(run=_doctor)
    _add_train(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
