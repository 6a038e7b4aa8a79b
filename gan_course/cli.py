"""The command line: ``python -m gan_course COMMAND`` (or ``gan-course COMMAND``).

Everything a terminal sees lives here: argument parsing, printing and exit codes (0 success,
1 a failed check or a run stopped by a non-finite loss, 2 bad input, 130 interrupted: the run so
far is written and ``--resume`` goes on with it). stdout holds one JSON object; messages, the
progress bar and reports go to stderr. ``--out`` is checked before any work, and a run is
written into a temporary folder that becomes ``--out`` only when it is complete.
"""

from __future__ import annotations

import argparse
import json
import shlex
import shutil
import sys
import tempfile
from pathlib import Path

IMAGE_KINDS = ("dcgan", "cgan", "wgan-gp")
# kinds trained by a function of their own module: train_X(out_folder, minutes=, seed=, progress=, command=)
OTHER_KINDS = {"autoregressive": ("gan_course.autoregressive", "train_autoregressive"),
               # notebook 11 (issue 16): the digit runs of diffusion and flow matching, and the self-conditioned DCGAN
               "diffusion": ("gan_course.denoising_runs", "train_diffusion_digits"),
               "flow": ("gan_course.denoising_runs", "train_flow_digits"),
               "dcgan-sc": ("gan_course.self_conditioned", "train_self_conditioned")}
# notebook 10's applications (issue 15): trained like OTHER_KINDS, and they also draw grid.png
APP_KINDS = {"semi": ("gan_course.semi_supervised", "train_semi"),
             "text2digit": ("gan_course.text2digit", "train_text2digit"),
             "aae": ("gan_course.aae", "train_aae"), "superres": ("gan_course.superres", "train_superres")}
OTHER_KINDS.update(APP_KINDS)


def _doctor(args: argparse.Namespace) -> int:
    from gan_course import doctor

    info = doctor.report()
    print(json.dumps(info, indent=2) if args.json else doctor.format_report(info))
    return 0 if info["data"]["bundled"] == "ok" else 1


EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT, EXIT_INTERRUPTED = 0, 1, 2, 130


def _train(args: argparse.Namespace) -> int:
    """Check everything, train into a temporary folder, put it in place; stdout gets one JSON object."""
    from gan_course import distributed
    from gan_course.loop import NonFiniteLossError

    try:
        if getattr(args, "labels", None) is not None and args.kind != "semi":
            raise ValueError(f"--labels is for train semi (how many digits keep their label), "
                             f"not {args.kind}; got --labels {args.labels}")
        if args.kind == "classifier":
            result = _train_classifier(args)
        elif args.kind in OTHER_KINDS:
            result = _train_other(args)
        else:
            result = _train_gan(args)
    except (ValueError, FileNotFoundError, NonFiniteLossError) as error:  # one line, not a traceback
        print(f"error: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT if not isinstance(error, NonFiniteLossError) else EXIT_FAILED
    except distributed.RankFailedError as error:  # under torchrun: another rank failed first
        print(f"error: {error}", file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:  # before training started, or a second Ctrl-C: no run to keep
        print("interrupted before a whole step was done (or twice); nothing was written", file=sys.stderr)
        return EXIT_INTERRUPTED
    finally:
        writes = distributed.writes_outputs()
        distributed.shutdown()
    if not writes:  # under torchrun, rank 0 reports
        return EXIT_FAILED if result.get("stopped") else EXIT_OK
    print(json.dumps(result, indent=2))
    if result.get("interrupted"):
        again = f"python -m gan_course train {args.kind} --resume {result['out']}" + \
            (f" --data {args.data}" if args.kind == "toy" else "") + " --steps N (or --minutes M)"
        print(f"interrupted: the run so far is in {result['out']}; go on with: {again}", file=sys.stderr)
        return EXIT_INTERRUPTED
    return EXIT_FAILED if result.get("stopped") else EXIT_OK


def _train_gan(args: argparse.Namespace) -> dict:
    """A toy or image GAN run, written into ``--out`` only once it is complete."""
    from gan_course import data, distributed, runs

    world = distributed.setup(args.device)  # None unless started by torchrun
    if world is not None:
        distributed.require_supported(args.kind)
    if args.data is None:
        args.data = "ring8" if args.kind == "toy" else "mnist"
    if args.kind == "toy" and args.data not in data.TOY_NAMES:
        raise ValueError(f"train toy needs --data in {', '.join(data.TOY_NAMES)}; got {args.data!r}")
    if args.kind != "toy":
        if args.data != "mnist":
            raise ValueError(f"train {args.kind} needs --data mnist; got {args.data!r}")
        if args.loss is not None:
            raise ValueError(f"--loss is for toy runs; {args.kind} uses its recipe's loss")
    resume = _resume_checkpoint(args)
    out = args.out if args.out is not None else args.resume
    if out is None:
        raise ValueError(f"train {args.kind} needs --out DIR")
    for name in ("steps", "minutes"):
        value = getattr(args, name)
        if value is not None and not value > 0:
            raise ValueError(f"{name} must be a {'positive int' if name == 'steps' else 'positive number'}, "
                             f"got {value!r}")
    force = args.force or (args.resume is not None and out == args.resume)  # resuming a run replaces it
    runs.check_output_folder(out, force)  # before any work: a 5-minute run is never thrown away at the end
    try:  # under torchrun, rank 0 writes --out; the others write a throwaway copy
        with (runs.output_folder(out, force) if distributed.writes_outputs()
              else tempfile.TemporaryDirectory(prefix="gan_course-rank-")) as folder:
            folder = Path(folder)
            if args.kind == "toy":
                summary = runs.train_toy(args.data, folder, loss=args.loss, steps=args.steps, minutes=args.minutes,
                                         seed=args.seed, device=args.device, progress=not args.quiet, resume=resume)
            else:
                summary = _train_image(args, folder, resume, world)
    finally:
        if resume is not None:
            shutil.rmtree(resume.parent, ignore_errors=True)
    return {**summary, "out": str(out)}


def _train_other(args: argparse.Namespace) -> dict:
    """A kind trained by its own module's ``train_<kind>`` into a folder made whole by ``runs.output_folder``."""
    import importlib

    from gan_course import runs

    for name in ("resume", "loss", "steps"):
        if getattr(args, name) is not None:
            raise ValueError(f"train {args.kind} takes --minutes, --seed and --out; --{name} is for the GANs")
    if args.data not in (None, "mnist"):
        raise ValueError(f"train {args.kind} trains on mnist; got --data {args.data!r}")
    if args.out is None:
        raise ValueError(f"train {args.kind} needs --out DIR")
    minutes = 5.0 if args.minutes is None else args.minutes
    if not minutes > 0:
        raise ValueError(f"minutes must be a positive number, got {minutes!r}")
    module_name, function = OTHER_KINDS[args.kind]
    train_kind = getattr(importlib.import_module(module_name), function)
    options = _app_options(args)
    runs.check_output_folder(args.out, args.force)
    with runs.output_folder(args.out, args.force) as folder:
        result = train_kind(folder, minutes=minutes, seed=args.seed, progress=not args.quiet, command=args.command,
                            **options)
    return {**result, "out": str(args.out)}


def _app_options(args: argparse.Namespace) -> dict:
    """The extra arguments of an application's ``train_<kind>``: ``labels`` (semi) and ``write_grid``,
    checked before any work."""
    labels = getattr(args, "labels", None)  # only semi gets here with --labels (``_train`` checks)
    if args.kind not in APP_KINDS:
        return {}
    options = {"write_grid": _write_grid}
    if args.kind == "semi":
        from gan_course import data, semi_supervised

        options["labels"] = 100 if labels is None else labels
        semi_supervised.choose_labelled(data.mnist("train", source="bundled")[1], options["labels"], args.seed)
    return options


def _write_grid(path: Path, images) -> None:
    """grid.png of an application's run: images (N, 1, 28, 28) in [0, 1], ten to a row."""
    from gan_course import plots, storage

    storage.atomic_write_bytes(path, plots.image_grid_png(images, nrow=10))


def _resume_checkpoint(args: argparse.Namespace) -> Path | None:
    """``--resume DIR``: the run's ``checkpoint.pt``, read into memory (the folder is replaced)."""
    if args.resume is None:
        return None
    path = Path(args.resume) / "checkpoint.pt"
    if not path.is_file():
        raise ValueError(f"--resume {args.resume!r} holds no checkpoint.pt to go on from")
    copy = Path(tempfile.mkdtemp(prefix="gan_course-resume-")) / "checkpoint.pt"
    shutil.copyfile(path, copy)  # the folder it came from is replaced when the resumed run is written
    return copy


def _train_image(args: argparse.Namespace, folder: Path, resume: Path | None, world=None) -> dict:
    """Train, then write samples.npy, grid.png, metrics.json, checkpoint.pt (and weights.pt)."""
    from gan_course import classifier, distributed, plots, runs, storage

    minutes = args.minutes if args.minutes is not None or args.steps is not None else 5.0
    summary, _, x_fake, y = runs.train_image(args.kind, folder, minutes=minutes, seed=args.seed,
                                             device=args.device, steps=args.steps, progress=not args.quiet,
                                             command=args.command, resume=resume, distributed=world)
    if not distributed.writes_outputs():  # rank 0 measures and reports
        return summary
    shown = x_fake[:100] if y is None else x_fake.view(10, -1, *x_fake.shape[1:])[:, :10].flatten(0, 1)  # a row per digit
    storage.atomic_write_bytes(folder / "grid.png", plots.image_grid_png((shown + 1) / 2, nrow=10))
    quality = classifier.evaluate_images(x_fake, value_range=(-1, 1), y_requested=y)
    runs.write_json(folder / "metrics.json", {**summary, "metrics": quality})
    print(classifier.format_report(quality), file=sys.stderr)  # for a person; stdout stays one JSON object
    return summary


def _train_classifier(args: argparse.Namespace) -> dict:
    from gan_course import classifier

    for name in ("minutes", "steps", "resume", "loss"):
        if getattr(args, name) is not None:
            raise ValueError(f"train classifier runs its fixed epochs; --{name} is for the GANs")
    if args.out is not None and not str(args.out).strip():
        raise ValueError(f"--out must be a file path for the classifier's weights, got {args.out!r}")
    return classifier.train_classifier(seed=args.seed, out=args.out, progress=not args.quiet)


DESCRIPTION = """\
Generative Modeling, from Likelihood to GANs: the course's command line.

commands:
  doctor      what the course will use on this machine (versions, device, data)
  train       train a model and write its outputs to a folder
  pretrain    remake the shipped checkpoints (longer, or on a GPU) for GAN_COURSE_WEIGHTS
  sample      draw digits from the weights of notebook 10's applications
  recsys      context-aware recommendation: every strategy of appendix B1, measured
  notebooks   copy the course's notebooks into a folder (for a pip-installed course)

Run "%(prog)s COMMAND --help" for a command's options and examples."""

TRAIN_EXAMPLES = """\
examples:
  %(prog)s toy --data ring8 --out runs/ring8            (the recommended 2-D GAN, 8,000 steps)
  %(prog)s toy --data mix1d --loss hinge --steps 3000 --out runs/mix1d
  %(prog)s dcgan --minutes 5 --seed 0 --out runs/dcgan  (also cgan, wgan-gp)
  %(prog)s dcgan --resume runs/dcgan --minutes 2        (go on with a run, e.g. after Ctrl-C)
  %(prog)s classifier --seed 0                          (rebuild the classifier of the metrics)
  %(prog)s autoregressive --minutes 5 --out runs/made   (appendix A1: MADE on binarised digits)
  %(prog)s semi --labels 100 --minutes 5 --out runs/semi (notebook 10; also text2digit, aae, superres)

A run's folder holds samples.npy, metrics.json, history.json and checkpoint.pt (image GANs also
weights.pt and grid.png). stdout gets one JSON object; exit codes: 0 done, 1 stopped by a
non-finite loss (the last good state is written), 2 bad input (nothing written), 130 interrupted
(the run so far is written)."""


def _add_train(commands) -> None:
    from gan_course.data import TOY_NAMES
    from gan_course.losses import LOSS_NAMES

    train = commands.add_parser("train", help="train a model and write its outputs to a folder",
                                description="Train a GAN or the digit classifier and write the run to a folder.",
                                epilog=TRAIN_EXAMPLES, formatter_class=_HelpFormatter)
    train.add_argument("kind", choices=("toy", *IMAGE_KINDS, *OTHER_KINDS, "classifier"), help="what to train")
    train.add_argument("--data", choices=(*TOY_NAMES, "mnist"), default=None,
                       help="the data: a toy dataset for toy (default ring8); mnist for the image GANs")
    train.add_argument("--loss", choices=LOSS_NAMES, default=None,
                       help="toy only (default: the dataset's recommended loss)")
    train.add_argument("--steps", type=int, default=None,
                       help="generator steps (toy default: the recipe's; with --resume: steps more)")
    train.add_argument("--minutes", type=float, default=None,
                       help="the training time budget (image GANs: 5 unless --steps is given)")
    train.add_argument("--seed", type=int, default=0, help="seed for data, weights and sampling")
    train.add_argument("--device", default="auto", help="auto, cpu, cuda or mps")
    train.add_argument("--out", default=None,
                       help="output folder (for classifier: the weights file, default the shipped one)")
    train.add_argument("--force", action="store_true", help="replace a run already in --out")
    train.add_argument("--resume", default=None, metavar="DIR",
                       help="go on from the run in DIR (its checkpoint.pt) for --steps/--minutes more; "
                            "writes back to DIR unless --out is given")
    train.add_argument("--labels", type=int, default=None,
                       help="semi only: how many training digits keep their label, a multiple of 10 (default 100)")
    train.add_argument("--quiet", action="store_true", help="no progress bar")
    train.set_defaults(run=_train)


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


def _sample(args: argparse.Namespace) -> int:
    """Digits from an application's weights.pt into ``--out`` (.npy: uint8 (N, 28, 28); .png: a grid)."""
    from gan_course import app_runs

    try:
        suffix = Path(args.out).suffix.lower()
        if suffix not in (".npy", ".png"):
            raise ValueError(f"--out must end in .npy (uint8 digits (N, 28, 28)) or .png (a grid), got {args.out!r}")
        x = app_runs.sample(args.weights, args.n, seed=args.seed, digit=args.digit, prompt=args.prompt,
                            attribute=args.attribute)
        if suffix == ".npy":
            app_runs.write_npy(args.out, x)
        else:
            import torch

            _write_grid(Path(args.out), torch.from_numpy(x).float().div(255).unsqueeze(1))  # (N, 1, 28, 28)
    except (ValueError, FileNotFoundError) as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    print(json.dumps({"out": str(args.out), "n": int(x.shape[0]), "kind": app_runs.weights_kind(args.weights)}))
    return EXIT_OK


def _add_sample(commands) -> None:
    sample = commands.add_parser(
        "sample", help="draw digits from an application's weights (semi, text2digit, aae, superres)",
        description="Draw digits from the weights.pt of a `train semi|text2digit|aae|superres` run (or a shipped "
                    "assets/models/KIND_mnist.pt) into a .npy (uint8 (N, 28, 28)) or a .png grid.",
        epilog="examples:\n  %(prog)s --weights assets/models/text2digit_mnist.pt "
               "--prompt 'a bold seven slanted right' --n 16 --out sevens.png\n"
               "  %(prog)s --weights runs/aae/weights.pt --attribute 2 --n 100 --out ink.npy\n"
               "  %(prog)s --weights runs/superres/weights.pt --digit 4 --n 10 --out fours.npy",
        formatter_class=_HelpFormatter)
    sample.add_argument("--weights", required=True, metavar="PATH", help="a weights.pt of one of the applications")
    sample.add_argument("--n", type=int, default=100, help="how many digits")
    sample.add_argument("--seed", type=int, default=0, help="seed of the noise")
    sample.add_argument("--out", required=True, metavar="FILE", help="FILE.npy or FILE.png")
    sample.add_argument("--digit", type=int, default=None, help="only this digit (semi, text2digit, superres)")
    sample.add_argument("--prompt", default=None, help="text2digit: a caption in the model's vocabulary")
    sample.add_argument("--attribute", type=float, default=None,
                        help="aae: the property unit's value, in training standard deviations")
    sample.set_defaults(run=_sample)


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


class _HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Help text as written (examples keep their lines), each option's default shown when it has one."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        if action.default not in (None, False, argparse.SUPPRESS) and "%(default)" not in text:
            text += " (default: %(default)s)"
        return text


def _prog() -> str:
    """How the course was invoked: ``gan-course`` (the script) or ``python -m gan_course``."""
    name = Path(sys.argv[0]).name if sys.argv and sys.argv[0] else ""
    return name if name and name not in ("__main__.py", "-c") else "python -m gan_course"


def build_parser() -> argparse.ArgumentParser:
    """The argument parser, one sub-command per task."""
    from gan_course import __version__

    parser = argparse.ArgumentParser(prog=_prog(), description=DESCRIPTION, formatter_class=_HelpFormatter)
    parser.add_argument("--version", action="version", version=f"gan_course {__version__}")
    commands = parser.add_subparsers(dest="command_name", required=True, metavar="COMMAND")
    doctor = commands.add_parser("doctor", help="check versions, device, FAST mode and data",
                                 description="What the course will use on this machine.",
                                 epilog="examples:\n  %(prog)s\n  %(prog)s --json     (paste it into a problem "
                                        "report)", formatter_class=_HelpFormatter)
    doctor.add_argument("--json", action="store_true", help="print one JSON object")
    doctor.set_defaults(run=_doctor)
    _add_train(commands)
    _add_sample(commands)
    recsys = commands.add_parser("recsys", help="context-aware recommendation, every strategy (appendix B1)",
                                 description="Generate a world of users, items and contexts with a seed, train "
                                             "every recommendation strategy of appendix B1 and measure them on "
                                             "held-out sessions (about a minute on a 2-core CPU).",
                                 epilog="examples:\n  %(prog)s --seed 0\n  %(prog)s --seed 3 --json",
                                 formatter_class=_HelpFormatter)
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
               "  GAN_COURSE_WEIGHTS=weights/term1 jupyter lab notebooks", formatter_class=_HelpFormatter)
    pretrain.add_argument("--all", action="store_true", help="every kind the course ships")
    pretrain.add_argument("--kinds", nargs="+", default=[], metavar="KIND",
                          choices=("dcgan", "cgan", "wgan-gp", "gan2d", *OTHER_KINDS),
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
                                    formatter_class=_HelpFormatter)
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
