"""``sdpsolve verify``: a verdict (verified / falsified / unknown) for every input; resumable like ``certify``."""

from __future__ import annotations

import argparse
import sys

from ..engine import ConfigError
from ..workflows import format_verdicts, run_verify
from ._flags import (
    add_execution_arguments,
    add_plugin_options,
    add_range_arguments,
    add_source_arguments,
    plugin_options,
    run_config,
    usage_error,
)

NAME = "verify"
HELP = ("decide every input: verified (a proof), falsified (a checked counterexample) or unknown; "
        "attack, proved bound propagation, SDP-cert, a local MILP, branch and bound, MILP")


def build(p: argparse.ArgumentParser) -> None:
    add_source_arguments(p)
    add_range_arguments(p)
    add_plugin_options(p, names=("timeout",))
    add_execution_arguments(p)
    p.add_argument("--no-progress", action="store_true", help="no progress bars")


def run(args: argparse.Namespace) -> int:
    config = run_config(args, ("verify",), plugin_options(args))
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
