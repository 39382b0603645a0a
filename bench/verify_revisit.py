"""The inputs an earlier ``verify`` table left unknown, decided again with the current code.

Reads a summary written by ``bench/verify_paper_nets.py`` (default: the 1000-image one), takes per network its
``unknown_indices``, and runs :func:`certifiers._verify.decide` on each of them with ``--timeout`` seconds
(``--workers`` processes, one thread each). Every witness is re-checked by :func:`certifiers.confirm_witness`.
The summary's counts updated by these verdicts (an input decided now moves from "unknown" to its verdict) give
the robust-error interval after this pass; the table states both, and the code of each.

Usage::

    .venv/bin/python bench/verify_revisit.py [--summary bench/results/verify_paper_nets_1000.json] [--timeout 120]

Writes ``bench/results/verify_revisit.json`` after every input (rerunning the command skips the inputs already
there when the timeout and code are the same; section ``verify-revisit`` of ``bench/render_tables.py``).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench._machine import code_commit, cpu_model  # noqa: E402

DATA = ROOT.parent / "shared" / "data" / "raghunathan18"


def decide_one(net: str, index: int, eps: float, timeout: float) -> dict:
    """verify_paper_nets's second-pass record of one input, its witness re-checked (``witness_confirmed``)."""
    from bench.verify_paper_nets import _retry_one
    from certifiers import confirm_witness, load_network

    out = _retry_one(net, index, eps, timeout)
    witness = out.pop("witness", None)
    if witness is not None:
        x = np.load(DATA / "mnist_test.npz")["X"][index].astype(np.float64)
        out["witness_confirmed"] = bool(confirm_witness(load_network(DATA / f"{net}.npz"), x, out["label"], eps,
                                                        witness))
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--summary", type=Path, default=ROOT / "bench" / "results" / "verify_paper_nets_1000.json")
    ap.add_argument("--timeout", type=float, default=120.0, help="seconds per input (default 120)")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--nets", nargs="+", default=None, help="default: every network of the summary")
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "verify_revisit.json")
    args = ap.parse_args(argv)
    if args.timeout <= 0 or args.workers < 1:
        ap.error("--timeout must be > 0 and --workers >= 1")
    if not DATA.exists():
        print(f"data folder {DATA} not found: nothing to decide", file=sys.stderr)
        return 2
    summary = json.loads(args.summary.read_text())
    nets = args.nets or list(summary["nets"])
    missing = [n for n in nets if n not in summary["nets"]]
    if missing:
        ap.error(f"--nets: {missing} not in {args.summary}")
    commit = code_commit()
    old = json.loads(args.out.read_text()) if args.out.exists() else {}
    same = old.get("timeout") == args.timeout and old.get("commit") == commit and old.get("summary") == str(
        args.summary.relative_to(ROOT))
    out = {"command": "bench/verify_revisit.py " + " ".join(argv if argv is not None else sys.argv[1:]),
           "summary": str(args.summary.relative_to(ROOT)), "summary_commit": summary.get("commit"),
           "summary_date": summary.get("date"), "eps": summary["eps"], "timeout": args.timeout,
           "workers": args.workers, "commit": commit, "date": time.strftime("%Y-%m-%d %H:%M"),
           "machine": {"cpu": cpu_model(), "cores": os.cpu_count(), "python": platform.python_version(),
                       "load_average_at_start": list(os.getloadavg())},
           "nets": {n: (old["nets"].get(n, {}) if same and n in old.get("nets", {}) else {}) for n in nets}}
    todo = [(n, i) for n in nets for i in summary["nets"][n]["unknown_indices"] if str(i) not in out["nets"][n]]
    from certifiers._pool import process_pool

    with process_pool(args.workers, threads=1) as pool:
        futures = [((n, i), pool.submit(decide_one, n, i, summary["eps"], args.timeout)) for n, i in todo]
        for (n, i), f in futures:
            r = f.result()
            out["nets"][n][str(i)] = r
            print(f"{n} image {i}: {r['verdict']} ({r['stage']}, {r['time']:.0f} s)", flush=True)
            args.out.write_text(json.dumps(out, indent=1))
    out["machine"]["load_average_at_end"] = list(os.getloadavg())
    args.out.write_text(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
