"""``sdpsolve certify``: parse, build a :class:`certifiers.engine.CertifyConfig`, run it, print the summary.

The run itself (loading, planning, batches, executors, the resumable store, summaries) is the engine's
(:mod:`certifiers.engine`); the plugin flags (``--rtol``, ``--bounds``, ``--triangle``, ...) come from the plugins'
declared options.
"""

from __future__ import annotations

import argparse
import sys

from .._plugins import registry
from ..engine import CertifyConfig, CertifyRun, ConfigError
from ._flags import add_plugin_options, flag_of, plugin_options, usage_error

NAME = "certify"
HELP = "certify (or attack) examples of a data set with one or more plugins; summary table and JSON lines"


def build(p: argparse.ArgumentParser) -> None:
    names = ", ".join(sorted(registry()))
    p.add_argument("--model", required=True, metavar="PATH", help="network: .npz (W0, b0, W1, b1, ...) or .onnx")
    p.add_argument(
        "--data", required=True, metavar="PATH", help="examples: .npz with X (N × d, values in [0, 1]) and y or labels"
    )
    p.add_argument("--method", required=True, action="append", metavar="NAME",
                   help=f"certifier or attack to run (repeatable, or comma-separated): {names}")
    p.add_argument("--eps", required=True, type=float, metavar="FLOAT", help="l∞ radius ε >= 0 (raw input units)")
    p.add_argument("--start", type=int, default=0, metavar="N", help="first example (0-based, default 0)")
    p.add_argument("--count", type=int, metavar="N", help="number of examples (default: to the end of the data)")
    p.add_argument(
        "--out", metavar="FILE", help="JSON lines, one record per (example, method); re-running resumes the file"
    )
    add_plugin_options(p)
    p.add_argument("--seed", type=int, default=0, metavar="N", help="seed of attacks and solvers (default 0)")
    p.add_argument("--workers", type=int, default=1, metavar="N", help="processes for the examples (default 1)")
    p.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="run the batches on a Dask cluster: a scheduler address (tcp://host:8786; then --workers stays 1) "
        "or 'local' (a local cluster of --workers processes); needs pip install \"sdpsolve[distributed]\"",
    )
    p.add_argument(
        "--threads",
        type=int,
        metavar="N",
        help="torch/BLAS threads per process (default: unchanged; with --workers, cores // workers)",
    )
    p.add_argument(
        "--batch-size",
        type=int,
        metavar="N",
        help="examples per batch, one task each (default: per method, 100 for the methods that work on whole "
        "arrays, 1 for sdp-cert)",
    )
    p.add_argument("--no-progress", action="store_true", help="no progress bars")


def run(args: argparse.Namespace) -> int:
    config = CertifyConfig(
        model=args.model,
        data=args.data,
        methods=tuple(args.method),
        eps=args.eps,
        start=args.start,
        count=args.count,
        out=args.out,
        options=plugin_options(args),
        seed=args.seed,
        workers=args.workers,
        scheduler=args.scheduler,
        threads=args.threads,
        batch_size=args.batch_size,
        progress=not args.no_progress,
    )
    try:
        certify_run = CertifyRun(config)
        for key in certify_run.unused:
            names = ", ".join(p.name for p in certify_run.plans)
            print(f"sdpsolve certify: note: {flag_of(key)} is ignored: none of {names} takes it.", file=sys.stderr)
        notify = None if args.no_progress else (lambda sentence: print(f"sdpsolve certify: {sentence}",
                                                                         file=sys.stderr))
        report = certify_run.execute(notify=notify)
    except ConfigError as exc:
        raise usage_error(exc) from exc
    print(report.table)
    if report.out is not None:
        note = f"{report.skipped} (example, method) records were already in {args.out}; " if report.skipped else ""
        print(f"{note}results: {args.out}")
    return 0
