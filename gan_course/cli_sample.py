"""``python -m gan_course sample`` (draw from a run's weights) and ``python -m gan_course scoreboard``
(every model of the course on the same held-out digits).

``sample`` reads the kind from the weights file's header: diffusion and flow matching (a 2-D toy's
points or digits; ``--steps`` sets the sampler's steps), the self-conditioned DCGAN and notebook
10's applications; the weights of any other kind are refused with a message naming them.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from gan_course.cli_common import EXIT_INTERRUPTED, EXIT_OK, HelpFormatter, bad_input, dumps, write_grid

# the checkpoint kind in a weights file's header -> the kind ``train`` calls it
DENOISER_CHECKPOINTS = {"diffusion": "diffusion", "flow_matching": "flow"}
SELF_CONDITIONED_CHECKPOINT = "self_conditioned_gan"
STYLEGAN_CHECKPOINT = "stylegan_weights"
SAMPLE_KINDS = ("diffusion", "flow", "dcgan-sc", "stylegan", "semi", "text2digit", "aae", "superres")

SAMPLE_EXAMPLES = """\
examples:
  %(prog)s --weights assets/models/text2digit_mnist.pt --prompt 'a bold seven slanted right' --n 16 --out sevens.png
  %(prog)s --weights runs/aae/weights.pt --attribute 2 --n 100 --out ink.npy
  %(prog)s --weights runs/superres/weights.pt --digit 4 --n 10 --out fours.npy
  %(prog)s --weights runs/flow_ring8/weights.pt --n 2500 --steps 10 --out ring.npy   (2-D: float32 (N, 2))
  %(prog)s --weights assets/models/diffusion_mnist.pt --steps 20 --n 64 --out digits.png
  %(prog)s --weights runs/dcgan-sc/weights.pt --n 100 --out digits.npy"""


def add_sample(commands) -> None:
    """The ``sample`` sub-command and its options."""
    sample = commands.add_parser(
        "sample", help="draw from a run's weights (diffusion, flow, dcgan-sc, stylegan, semi, text2digit, aae, superres)",
        description="Draw from the weights.pt of a `train diffusion|flow|dcgan-sc|stylegan|semi|text2digit|aae|superres` run "
                    "(or a shipped assets/models/KIND_mnist.pt) into a .npy (digits: uint8 (N, 28, 28); 2-D "
                    "points: float32 (N, 2)) or a .png grid of digits.",
        epilog=SAMPLE_EXAMPLES, formatter_class=HelpFormatter)
    sample.add_argument("--weights", required=True, metavar="PATH", help="the weights.pt of a run")
    sample.add_argument("--n", type=int, default=100, help="how many samples")
    sample.add_argument("--seed", type=int, default=0, help="seed of the noise")
    sample.add_argument("--out", required=True, metavar="FILE", help="FILE.npy or FILE.png")
    sample.add_argument("--steps", type=int, default=None,
                        help="diffusion and flow: the sampler's steps (default: the run's)")
    sample.add_argument("--digit", type=int, default=None, help="only this digit (semi, text2digit, superres)")
    sample.add_argument("--prompt", default=None, help="text2digit: a caption in the model's vocabulary")
    sample.add_argument("--attribute", type=float, default=None,
                        help="aae: the property unit's value, in training standard deviations")
    sample.set_defaults(run=run_sample)


def weights_kind(path: str) -> str:
    """The kind (one of ``SAMPLE_KINDS``) of the weights file at ``path``; any other file is a
    ValueError naming ``--weights``, what it holds and what is allowed."""
    from gan_course import app_runs, checkpoints

    try:
        kind = checkpoints.kind_of(path)
    except FileNotFoundError:
        raise ValueError(f"--weights {path!r}: no such file") from None
    except checkpoints.CheckpointError as error:
        raise ValueError(f"--weights: {error}") from None
    if kind in DENOISER_CHECKPOINTS:
        return DENOISER_CHECKPOINTS[kind]
    if kind == SELF_CONDITIONED_CHECKPOINT:
        return "dcgan-sc"
    if kind == STYLEGAN_CHECKPOINT:
        return "stylegan"
    if kind.endswith("_weights") and kind.removesuffix("_weights") in app_runs.KINDS:
        return kind.removesuffix("_weights")
    raise ValueError(f"--weights {path!r} holds a {kind!r} checkpoint; sample reads the weights.pt of "
                     f"{', '.join(SAMPLE_KINDS)}")


def draw(args: argparse.Namespace, kind: str):
    """The samples of ``args`` from weights of ``kind``, as the array ``--out`` gets."""
    from gan_course import app_runs, denoising_runs, recipes, self_conditioned, stylegan
    from gan_course.validate import require_positive_int, require_seed

    require_seed(args.seed, "--seed")
    if kind in DENOISER_CHECKPOINTS.values():
        if args.steps is not None:
            require_positive_int("--steps", args.steps)
        app_runs.refuse(kind, digit=args.digit, prompt=args.prompt, attribute=args.attribute)
        sample = denoising_runs.sample_diffusion if kind == "diffusion" else denoising_runs.sample_flow
        return sample(args.weights, require_positive_int("--n", args.n), seed=args.seed, steps=args.steps)
    if args.steps is not None:
        raise ValueError(f"--steps sets the sampler's steps of diffusion and flow weights; {kind} draws in one "
                         f"network call, got --steps {args.steps}")
    if kind == "dcgan-sc":
        app_runs.refuse(kind, digit=args.digit, prompt=args.prompt, attribute=args.attribute)
        return self_conditioned.sample_dcgan_sc(args.weights, require_positive_int("--n", args.n), seed=args.seed)
    if kind == "stylegan":
        app_runs.refuse(kind, digit=args.digit, prompt=args.prompt, attribute=args.attribute)
        x, _ = stylegan.load(args.weights).sample(require_positive_int("--n", args.n), seed=args.seed)
        return recipes.to_uint8(x)
    return app_runs.sample(args.weights, args.n, seed=args.seed, digit=args.digit, prompt=args.prompt,
                           attribute=args.attribute)


def run_sample(args: argparse.Namespace) -> int:
    """Samples from a run's weights.pt into ``--out`` (.npy: the array; .png: a grid of digits)."""
    from gan_course import app_runs

    try:
        suffix = Path(args.out).suffix.lower()
        if suffix not in (".npy", ".png"):
            raise ValueError(f"--out must end in .npy (the samples' array) or .png (a grid of digits), "
                             f"got {args.out!r}")
        kind = weights_kind(args.weights)
        x = draw(args, kind)
        if suffix == ".npy":
            app_runs.write_npy(args.out, x)
        elif x.ndim != 3:  # 2-D points: no grid of digits to draw
            raise ValueError(f"--out {args.out!r}: {kind} weights of a 2-D toy give points (N, 2); write them "
                             f"to a .npy")
        else:
            import torch

            write_grid(Path(args.out), torch.from_numpy(x).float().div(255).unsqueeze(1))  # (N, 1, 28, 28)
    except (ValueError, FileNotFoundError) as error:
        return bad_input(error)
    print(dumps({"out": str(args.out), "n": int(x.shape[0]), "kind": kind,
                 **({"steps": args.steps} if args.steps is not None else {})}, indent=None))
    return EXIT_OK


# --------------------------------------------------------------------------------------------
# scoreboard
# --------------------------------------------------------------------------------------------


def add_scoreboard(commands) -> None:
    """The ``scoreboard`` sub-command and its options."""
    board = commands.add_parser(
        "scoreboard", help="every model of the course on the same held-out digits (notebook 11)",
        description="Every model of the course on the same 1,000 held-out digits: bits/dim where a likelihood or "
                    "a bound exists, the sample metrics (classifier score, FID, KID, precision, recall) for all, "
                    "the real digits' reference first. From the shipped weights (or GAN_COURSE_WEIGHTS), about "
                    "a minute on a 2-core CPU; --train retrains the GANs and the latent models instead.",
        epilog="examples:\n  %(prog)s\n  %(prog)s --json > scoreboard.json\n"
               "  %(prog)s --train --minutes 30 --seed 1 --json\n  %(prog)s --iw-samples 100   (a faster, looser "
               "VAE bound)", formatter_class=HelpFormatter)
    board.add_argument("--json", action="store_true",
                       help='print one JSON list of rows {"model", "bits_per_dim", "classifier_score", "fid", ...} '
                            "(null where a number does not exist)")
    board.add_argument("--train", action="store_true", help="retrain the GANs and the latent models here")
    board.add_argument("--minutes", type=float, default=None,
                       help="--train's time budget for all the runs together (default 10)")
    board.add_argument("--seed", type=int, default=0, help="seeds the fits, the training and the samples")
    board.add_argument("--components", type=int, default=50, help="K of the Bernoulli mixture fitted here")
    board.add_argument("--iw-samples", type=int, default=None,
                       help="importance samples of the VAE's bound (default 1000; fewer: faster and looser)")
    board.add_argument("--quiet", action="store_true", help="no progress messages")
    board.set_defaults(run=run_scoreboard)


def run_scoreboard(args: argparse.Namespace) -> int:
    """The scoreboard as a table, or (``--json``) one JSON list of rows on stdout; progress on stderr."""
    from gan_course import scoreboard
    from gan_course.validate import require_int, require_positive_int, require_positive_number, require_seed

    try:
        if args.minutes is not None and not args.train:
            raise ValueError(f"--minutes is the time budget of --train; got --minutes {args.minutes:g} without "
                             f"--train")
        minutes = 10.0 if args.minutes is None else require_positive_number("--minutes", args.minutes)
        require_seed(args.seed, "--seed")
        require_int("--components", args.components, 2)
        if args.iw_samples is not None:
            require_positive_int("--iw-samples", args.iw_samples)
        if not args.quiet:
            what = f"training for {minutes:g} minutes" if args.train else "from the shipped weights"
            print(f"scoreboard: every model on the held-out digits, {what} ...", file=sys.stderr)
        table = scoreboard.rows(train=args.train, minutes=minutes, seed=args.seed, progress=not args.quiet,
                                mixture_components=args.components, iw_samples=args.iw_samples)
    except (ValueError, FileNotFoundError) as error:
        return bad_input(error)
    except KeyboardInterrupt:
        print("interrupted: no scoreboard", file=sys.stderr)
        return EXIT_INTERRUPTED
    if not args.quiet:
        print(f"scoreboard: {len(table)} rows", file=sys.stderr)
    print(dumps(table, indent=None) if args.json else scoreboard.format_table(table))
    return EXIT_OK
