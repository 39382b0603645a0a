"""``sdpsolve report``: summarise JSON-lines result files (a table and plots) with :mod:`certifiers.workflows`."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ..workflows import format_table, load_results, plot_results, summarize
from ..workflows._report import REQUIRED_KEYS, row_json

NAME = "report"
HELP = "summarise certify results (JSON lines): certified-error table and plots"


def build(p: argparse.ArgumentParser) -> None:
    p.add_argument("results", nargs="+", help="JSON-lines result files written by `sdpsolve certify`")
    p.add_argument("--out-dir", metavar="DIR",
                   help="where to write the PNG plots (default: the directory of the first results file)")
    p.add_argument("--no-plots", action="store_true", help="print the table only")
    p.add_argument("--format", choices=("text", "markdown", "json"), default="text",
                   help="table format (json: one object per row)")


def run(args: argparse.Namespace) -> int:
    loaded = load_results(args.results)
    if not loaded.records:
        raise ValueError(
            f"no example records in {', '.join(args.results)} (skipped {loaded.skipped} records without "
            f"{', '.join(REQUIRED_KEYS)}, or with a 'target')."
        )
    rows = summarize(loaded.records)
    if args.format == "json":
        for r in rows:
            print(json.dumps(row_json(r)))
    else:
        print(format_table(rows, markdown=args.format == "markdown"))
        notes = []
        if loaded.duplicates:
            notes.append(f"{loaded.duplicates} duplicate records ignored (first kept)")
        if loaded.skipped:
            notes.append(f"{loaded.skipped} non-example records skipped")
        if notes:
            print("note: " + "; ".join(notes))
    if not args.no_plots:
        out_dir = Path(args.out_dir) if args.out_dir else Path(args.results[0]).resolve().parent
        for path in plot_results(loaded.records, out_dir):
            print(f"wrote {path}", file=sys.stderr if args.format == "json" else sys.stdout)
    return 0
