"""``sdpsolve verify``: a verdict (verified / falsified / unknown) for every input; resumable like ``certify``."""

from __future__ import annotations

import argparse
import sys

from ..engine import CertifyConfig, ConfigError
from ..workflows import format_verdicts, run_verify
from ._flags import usage_error

NAME = "verify"
HELP = ("decide every input: verified (a proof), falsified (a checked counterexample) or unknown; "
        "attack, proved bound propagation, SDP-cert, branch and bound, MILP")


def build(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", required=True, metavar="PATH", help="network: .npz (W0, b0, W1, b1, ...) or .onnx")
    p.add_argument("--data", required=True, metavar="PATH",
                   help="examples: .npz with X (N × d, values in [0, 1]) and y or labels")
    p.add_argument("--eps", required=True, type=float, metavar="FLOAT", help="l∞ radius ε >= 0 (raw input units)")
    p.add_argument("--start", type=int, default=0, metavar="N", help="first example (0-based, default 0)")
    p.add_argument("--count", type=int, metavar="N", help="number of examples (default: to the end of the data)")
    p.add_argument("--timeout", type=float, metavar="S", help="seconds per input (default 60)")
    p.add_argument("--out", metavar="FILE", help="JSON lines, one record per input; re-running resumes the file")
    p.add_argument("--seed", type=int, default=0, metavar="N", help="seed of the attack (default 0)")
    p.add_argument("--workers", type=int, default=1, metavar="N", help="processes for the inputs (default 1)")
    p.add_argument("--scheduler", metavar="ADDRESS",
                   help="run on a Dask cluster: a scheduler address or 'local' (see sdpsolve certify --help)")
    p.add_argument("--threads", type=int, metavar="N",
                   help="torch/BLAS threads per process (default: unchanged; with --workers, cores // workers)")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")


def run(args: argparse.Namespace) -> int:
    options = {} if args.timeout is None else {"timeout": args.timeout}
    config = CertifyConfig(model=args.model, data=args.data, methods=("verify",), eps=args.eps, start=args.start,
                           count=args.count, out=args.out, options=options, seed=args.seed, workers=args.workers,
                           scheduler=args.scheduler, threads=args.threads, progress=not args.no_progress)
    notify = None if args.no_progress else (lambda sentence: print(f"sdpsolve verify: {sentence}", file=sys.stderr))
    try:
        report, summary = run_verify(config, notify=notify)
    except ConfigError as exc:
        raise usage_error(exc) from exc
    print(format_verdicts(summary))
    if report.out is not None:
        note = f"{report.skipped} inputs were already in {args.out}; " if report.skipped else ""
        print(f"{note}results: {args.out}")
    return 0
