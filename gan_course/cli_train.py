"""``python -m gan_course train KIND``: check everything, train into a temporary folder, put it in place.

stdout gets one JSON object (what ``metrics.json`` holds, and ``out``); messages, the progress bar
and reports go to stderr. ``--out`` is checked before any work, and a run is written into a
temporary folder that becomes ``--out`` only when it is complete (``runs.output_folder``).
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

from gan_course.cli_common import (APP_KINDS, DENOISER_KINDS, EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK, IMAGE_KINDS,
                                   OTHER_KINDS, HelpFormatter, bad_input, dumps, write_grid)

TRAIN_EXAMPLES = """\
examples:
  %(prog)s toy --data ring8 --out runs/ring8            (the recommended 2-D GAN, 8,000 steps)
  %(prog)s toy --data mix1d --loss hinge --steps 3000 --out runs/mix1d
  %(prog)s dcgan --minutes 5 --seed 0 --out runs/dcgan  (also cgan, wgan-gp, dcgan-sc)
  %(prog)s dcgan --resume runs/dcgan --minutes 2        (go on with a run, e.g. after Ctrl-C)
  %(prog)s flow --data ring8 --steps 6000 --out runs/flow_ring8  (also diffusion; 2-D: ring8, grid25, spiral ...)
  %(prog)s diffusion --minutes 5 --out runs/diffusion   (digits: a model of a VAE's codes)
  %(prog)s classifier --seed 0                          (rebuild the classifier of the metrics)
  %(prog)s autoregressive --minutes 5 --out runs/made   (appendix A1: MADE on binarised digits)
  %(prog)s semi --labels 100 --minutes 5 --out runs/semi (notebook 10; also text2digit, aae, superres)

A run's folder holds samples.npy, metrics.json, history.json and checkpoint.pt (image GANs also
weights.pt and grid.png; diffusion and flow: samples.npy, metrics.json, weights.pt). stdout gets one
JSON object; exit codes: 0 done, 1 stopped by a non-finite loss (the last good state is written),
2 bad input (nothing written), 130 interrupted (the run so far is written)."""


def add_train(commands) -> None:
    """The ``train`` sub-command and its options."""
    from gan_course.data import TOY_NAMES
    from gan_course.losses import LOSS_NAMES

    train = commands.add_parser("train", help="train a model and write its outputs to a folder",
                                description="Train a model (a GAN, diffusion, flow matching, the digit classifier "
                                            "...) and write the run to a folder.",
                                epilog=TRAIN_EXAMPLES, formatter_class=HelpFormatter)
    train.add_argument("kind", choices=("toy", *IMAGE_KINDS, *OTHER_KINDS, "classifier"), help="what to train")
    train.add_argument("--data", choices=(*TOY_NAMES, "mnist"), default=None,
                       help="the data: a toy dataset for toy (default ring8) and for diffusion or flow (default "
                            "mnist); mnist for the image GANs")
    train.add_argument("--loss", choices=LOSS_NAMES, default=None,
                       help="toy only (default: the dataset's recommended loss)")
    train.add_argument("--steps", type=int, default=None,
                       help="updates (toy, and diffusion or flow on a toy: default the recipe's; with --resume: "
                            "steps more)")
    train.add_argument("--minutes", type=float, default=None,
                       help="the training time budget (image GANs and digit runs: 5 unless --steps is given)")
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
    train.set_defaults(run=run_train)


def run_train(args: argparse.Namespace) -> int:
    """Check everything, train into a temporary folder, put it in place; stdout gets one JSON object."""
    from gan_course import distributed
    from gan_course.loop import NonFiniteLossError

    try:
        if getattr(args, "labels", None) is not None and args.kind != "semi":
            raise ValueError(f"--labels is for train semi (how many digits keep their label), "
                             f"not {args.kind}; got --labels {args.labels}")
        if args.kind == "classifier":
            result = _train_classifier(args)
        elif args.kind in DENOISER_KINDS:
            result = _train_denoiser(args)
        elif args.kind in OTHER_KINDS:
            result = _train_other(args)
        else:
            result = _train_gan(args)
    except NonFiniteLossError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_FAILED
    except (ValueError, FileNotFoundError) as error:  # one line, not a traceback
        return bad_input(error)
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
    print(dumps(result))
    if result.get("interrupted"):
        if args.kind == "toy" or args.kind in IMAGE_KINDS:
            again = f"python -m gan_course train {args.kind} --resume {result['out']}" + \
                (f" --data {args.data}" if args.kind == "toy" else "") + " --steps N (or --minutes M)"
            print(f"interrupted: the run so far is in {result['out']}; go on with: {again}", file=sys.stderr)
        else:
            print(f"interrupted: the run so far is in {result['out']}", file=sys.stderr)
        return EXIT_INTERRUPTED
    return EXIT_FAILED if result.get("stopped") else EXIT_OK


def _check_budget(args: argparse.Namespace) -> None:
    """``--steps`` and ``--minutes``, when given, are positive (before any work)."""
    from gan_course.validate import require_positive_int, require_positive_number

    if args.steps is not None:
        require_positive_int("--steps", args.steps)
    if args.minutes is not None:
        require_positive_number("--minutes", args.minutes)


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


def _train_denoiser(args: argparse.Namespace) -> dict:
    """``train diffusion|flow``: on a 2-D toy (``--data ring8 ...``: ``--steps``, default the recipe's,
    or ``--minutes``) or on digits (``--data mnist``, the default: ``--minutes``, default 5)."""
    from gan_course import denoising_runs, runs
    from gan_course.validate import require_seed

    for name in ("resume", "loss"):
        if getattr(args, name) is not None:
            raise ValueError(f"train {args.kind} takes --data, --steps (2-D toys), --minutes, --seed and --out; "
                             f"--{name} is for the GANs")
    data_name = "mnist" if args.data is None else args.data
    if data_name not in denoising_runs.DATA:
        raise ValueError(f"train {args.kind} needs --data in {', '.join(denoising_runs.DATA)}; got --data "
                         f"{data_name!r}")
    _check_budget(args)
    require_seed(args.seed, "--seed")
    minutes = args.minutes
    if data_name == "mnist":
        if args.steps is not None:
            raise ValueError(f"train {args.kind} on mnist takes --minutes (a time budget); --steps is for the "
                             f"2-D toys, got --steps {args.steps}")
        minutes = 5.0 if minutes is None else minutes
    if args.out is None:
        raise ValueError(f"train {args.kind} needs --out DIR")
    train = denoising_runs.train_diffusion if args.kind == "diffusion" else denoising_runs.train_flow
    runs.check_output_folder(args.out, args.force)
    with runs.output_folder(args.out, args.force) as folder:
        result = train(data_name, folder, steps=args.steps, minutes=minutes, seed=args.seed,
                       progress=not args.quiet, command=args.command)
    return {**result, "out": str(args.out)}


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
    labels = getattr(args, "labels", None)  # only semi gets here with --labels (``run_train`` checks)
    if args.kind not in APP_KINDS:
        return {}
    options = {"write_grid": write_grid}
    if args.kind == "semi":
        from gan_course import data, semi_supervised

        options["labels"] = 100 if labels is None else labels
        semi_supervised.choose_labelled(data.mnist("train", source="bundled")[1], options["labels"], args.seed)
    return options


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
