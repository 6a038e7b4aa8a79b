"""The command line: ``python -m gan_course COMMAND`` (or ``gan-course COMMAND``).

Everything a terminal sees lives here and in the modules of its larger commands: argument parsing,
printing and exit codes (0 success, 1 a failed check or a run stopped by a non-finite loss, 2 bad
input, 130 interrupted: the run so far is written and ``--resume`` goes on with it). stdout holds
one JSON object (``scoreboard --json``: one JSON list); messages, the progress bar and reports go
to stderr. This module holds the parser, ``main`` and the small commands; ``cli_train`` the
``train`` command, ``cli_sample`` ``sample`` and ``scoreboard``, ``cli_common`` what they share.
"""

from __future__ import annotations

import argparse
import json
import shlex
import shutil
import sys
import tempfile
from pathlib import Path

from gan_course.cli_common import EXIT_BAD_INPUT, EXIT_FAILED, EXIT_OK, IMAGE_KINDS, OTHER_KINDS, HelpFormatter
from gan_course.cli_sample import add_sample, add_scoreboard
from gan_course.cli_train import add_train

__all__ = ["main", "build_parser", "make_gan2d_state", "OTHER_KINDS", "PRETRAINED_2D_STEPS"]


def _doctor(args: argparse.Namespace) -> int:
    from gan_course import doctor

    info = doctor.report()
    print(json.dumps(info, indent=2) if args.json else doctor.format_report(info))
    return 0 if info["data"]["bundled"] == "ok" else 1


DESCRIPTION = """\
Generative Modeling, from Likelihood to GANs: the course's command line.

commands:
  doctor      what the course will use on this machine (versions, device, data)
  train       train a model and write its outputs to a folder
  pretrain    remake the shipped checkpoints (longer, or on a GPU) for GAN_COURSE_WEIGHTS
  sample      draw from a run's weights (diffusion, flow, dcgan-sc, notebook 10's applications)
  scoreboard  every model of the course on the same held-out digits, as a table or JSON
  recsys      context-aware recommendation: every strategy of appendix B1, measured
  notebooks   copy the course's notebooks into a folder (for a pip-installed course)

Run "%(prog)s COMMAND --help" for a command's options and examples."""

PRETRAINED_2D_STEPS = 1500  # the shipped 2-D dashboard states are this far into training


def _pretrain(args: argparse.Namespace) -> int:
    """Remake the shipped checkpoints into a folder that ``GAN_COURSE_WEIGHTS`` can point at."""
    from gan_course import data, recipes, runs

    kinds = list(recipes.KINDS) + ["gan2d", *OTHER_KINDS] if args.all else args.kinds
    if not kinds:
        print("error: name the checkpoints to make (--kinds dcgan gan2d ...) or pass --all", file=sys.stderr)
        return EXIT_BAD_INPUT
    try:
        if not args.minutes > 0:
            raise ValueError(f"minutes must be a positive number, got {args.minutes!r}")
        runs.check_output_folder(args.out, args.force)
        written = []
        with runs.output_folder(args.out, args.force) as folder:
            for kind in kinds:
                print(f"pretrain: {kind}", file=sys.stderr)
                if kind in recipes.KINDS:
                    with tempfile.TemporaryDirectory() as scratch:
                        runs.train_image(kind, scratch, minutes=args.minutes, seed=args.seed, device=args.device,
                                         progress=not args.quiet, command=args.command)
                        shutil.copyfile(Path(scratch) / "weights.pt", folder / f"{kind}_mnist.pt")
                    written.append(f"{kind}_mnist.pt")
                elif kind == "gan2d":
                    for name in data.DATASETS_2D:
                        make_gan2d_state(name, folder / f"gan2d_{name}.pt", PRETRAINED_2D_STEPS, seed=args.seed)
                        written.append(f"gan2d_{name}.pt")
                else:
                    module_name, function = OTHER_KINDS[kind]
                    with tempfile.TemporaryDirectory() as scratch:
                        train_kind = getattr(__import__(module_name, fromlist=[function]), function)
                        train_kind(Path(scratch), minutes=args.minutes, seed=args.seed, progress=not args.quiet,
                                   command=args.command)
                        shutil.copyfile(Path(scratch) / "weights.pt", folder / f"{kind}_mnist.pt")
                    written.append(f"{kind}_mnist.pt")
    except (ValueError, FileNotFoundError) as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    print(json.dumps({"out": str(args.out), "written": written}, indent=2))
    print(f"use them with: GAN_COURSE_WEIGHTS={args.out} jupyter lab notebooks", file=sys.stderr)
    return EXIT_OK


def make_gan2d_state(name: str, path: Path, steps: int = PRETRAINED_2D_STEPS, seed: int = 0) -> Path:
    """Train the recommended recipe of the 2-D dataset ``name`` for ``steps`` dashboard steps and
    write the state ``GAN2DDashboard.pretrained`` starts from (the curves recorded ~20 times)."""
    from gan_course.widgets.gan2d import GAN2DDashboard

    dash = GAN2DDashboard(name, seed=seed)
    every = max(1, steps // 20)
    for i in range(1, steps + 1):
        dash.step("step", redraw=False)
        if i % every == 0:
            dash._track(dash.trainer.global_step, dash.snapshot())  # the KL/JS/modes curves, without drawing
    return dash.save_state(path)


def _recsys(args: argparse.Namespace) -> int:
    """Appendix B1: every recommendation strategy on one generated world, as a table or JSON."""
    from gan_course import recsys

    try:
        result = recsys.run_all(seed=args.seed, progress=not args.quiet and not args.json)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    print(json.dumps(result, indent=2) if args.json else recsys.format_table(result))
    return EXIT_OK


def _notebooks(args: argparse.Namespace) -> int:
    """Copy the course's notebooks into a folder (what a pip install needs to start the course)."""
    from gan_course.config import notebooks_dir

    out = Path(args.dir)
    try:
        source = notebooks_dir()
    except FileNotFoundError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_FAILED
    notebooks = sorted(source.glob("*.ipynb"))
    clashes = [nb.name for nb in notebooks if (out / nb.name).exists()]
    if out.exists() and not out.is_dir():
        print(f"error: {out} is a file, not a folder", file=sys.stderr)
        return EXIT_BAD_INPUT
    if clashes and not args.force:
        print(f"error: {out} already holds {', '.join(clashes)}; pass --force to overwrite them", file=sys.stderr)
        return EXIT_BAD_INPUT
    out.mkdir(parents=True, exist_ok=True)
    for nb in notebooks:
        shutil.copyfile(nb, out / nb.name)
    print(json.dumps({"copied": [nb.name for nb in notebooks], "to": str(out)}, indent=2))
    print(f"start with: jupyter lab {out}", file=sys.stderr)
    return EXIT_OK


def _prog() -> str:
    """How the course was invoked: ``gan-course`` (the script) or ``python -m gan_course``."""
    name = Path(sys.argv[0]).name if sys.argv and sys.argv[0] else ""
    return name if name and name not in ("__main__.py", "-c") else "python -m gan_course"


def build_parser() -> argparse.ArgumentParser:
    """The argument parser, one sub-command per task."""
    from gan_course import __version__

    parser = argparse.ArgumentParser(prog=_prog(), description=DESCRIPTION, formatter_class=HelpFormatter)
    parser.add_argument("--version", action="version", version=f"gan_course {__version__}")
    commands = parser.add_subparsers(dest="command_name", required=True, metavar="COMMAND")
    doctor = commands.add_parser("doctor", help="check versions, device, FAST mode and data",
                                 description="What the course will use on this machine.",
                                 epilog="examples:\n  %(prog)s\n  %(prog)s --json     (paste it into a problem "
                                        "report)", formatter_class=HelpFormatter)
    doctor.add_argument("--json", action="store_true", help="print one JSON object")
    doctor.set_defaults(run=_doctor)
    add_train(commands)
    add_sample(commands)
    add_scoreboard(commands)
    recsys = commands.add_parser("recsys", help="context-aware recommendation, every strategy (appendix B1)",
                                 description="Generate a world of users, items and contexts with a seed, train "
                                             "every recommendation strategy of appendix B1 and measure them on "
                                             "held-out sessions (about a minute on a 2-core CPU).",
                                 epilog="examples:\n  %(prog)s --seed 0\n  %(prog)s --seed 3 --json",
                                 formatter_class=HelpFormatter)
    recsys.add_argument("--seed", type=int, default=0, help="seeds the world and every model")
    recsys.add_argument("--json", action="store_true",
                        help="print one JSON object {strategy: {recall_at_10, ndcg_at_10, coverage, seconds, ...}}")
    recsys.add_argument("--quiet", action="store_true", help="no progress bar")
    recsys.set_defaults(run=_recsys)
    pretrain = commands.add_parser(
        "pretrain", help="remake the shipped checkpoints into a folder (for GAN_COURSE_WEIGHTS)",
        description="Train every shipped checkpoint again, e.g. longer or on a GPU, into a folder; point "
                    "GAN_COURSE_WEIGHTS at it and the notebooks load these instead of the shipped ones.",
        epilog="examples:\n  %(prog)s --all --minutes 20 --out weights/term1\n"
               "  %(prog)s --kinds dcgan cgan --minutes 30 --device cuda --out weights/gpu\n"
               "  GAN_COURSE_WEIGHTS=weights/term1 jupyter lab notebooks", formatter_class=HelpFormatter)
    pretrain.add_argument("--all", action="store_true", help="every kind the course ships")
    pretrain.add_argument("--kinds", nargs="+", default=[], metavar="KIND",
                          choices=(*IMAGE_KINDS, "gan2d", *OTHER_KINDS),
                          help="some kinds only (gan2d: the five 2-D dashboard states)")
    pretrain.add_argument("--minutes", type=float, default=5.0, help="training time per trained kind")
    pretrain.add_argument("--seed", type=int, default=0, help="seed of every run")
    pretrain.add_argument("--device", default="auto", help="auto, cpu, cuda or mps")
    pretrain.add_argument("--out", required=True, help="the folder to write the checkpoints into")
    pretrain.add_argument("--force", action="store_true", help="replace a folder that already holds files")
    pretrain.add_argument("--quiet", action="store_true", help="no progress bars")
    pretrain.set_defaults(run=_pretrain)
    notebooks = commands.add_parser("notebooks", help="copy the course's notebooks into a folder",
                                    description="Copy the course's notebooks into DIR, e.g. after pip install.",
                                    epilog="example:\n  %(prog)s my-course && jupyter lab my-course",
                                    formatter_class=HelpFormatter)
    notebooks.add_argument("dir", help="the folder to copy them into (made if missing)")
    notebooks.add_argument("--force", action="store_true", help="overwrite notebooks already there")
    notebooks.set_defaults(run=_notebooks)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run one command; returns its exit code."""
    argv = sys.argv[1:] if argv is None else list(argv)
    args = build_parser().parse_args(argv)
    args.command = "python -m gan_course " + shlex.join(argv)  # recorded as the provenance of shipped weights
    return args.run(args)
