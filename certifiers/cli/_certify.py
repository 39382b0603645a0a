"""``sdpsolve certify``: parse, build a :class:`certifiers.engine.CertifyConfig`, run it, print the summary.

The run itself (loading, planning, batches, executors, the resumable store, summaries) is the engine's
(:mod:`certifiers.engine`); the plugin flags (``--rtol``, ``--bounds``, ``--triangle``, ...) come from the plugins'
declared options.
"""

from __future__ import annotations

import argparse
import sys

from .._plugins import registry
from ..engine import CertifyRun, ConfigError
from ._flags import (
    add_execution_arguments,
    add_plugin_options,
    add_range_arguments,
    add_source_arguments,
    flag_of,
    plugin_options,
    run_config,
    usage_error,
)

NAME = "certify"
HELP = "certify (or attack) examples of a data set with one or more plugins; summary table and JSON lines"


def build(p: argparse.ArgumentParser) -> None:
    names = ", ".join(sorted(registry()))
    add_source_arguments(p)
    p.add_argument("--method", required=True, action="append", metavar="NAME",
                   help=f"certifier or attack to run (repeatable, or comma-separated): {names}")
    add_range_arguments(p)
    add_plugin_options(p)
    add_execution_arguments(p)
    p.add_argument(
        "--batch-size",
        type=int,
        metavar="N",
        help="examples per batch, one task each (default: per method, 100 for the methods that work on whole "
        "arrays, 1 for sdp-cert)",
    )
    p.add_argument("--no-progress", action="store_true", help="no progress bars")


def run(args: argparse.Namespace) -> int:
    config = run_config(args, args.method, plugin_options(args))
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
