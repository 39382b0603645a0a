"""Benchmark: whole sdp-cert runs on the local Dask cluster against the process pool, in many paired rounds.

``certify_throughput.py`` reports Dask's overhead as the ratio of two medians over a few rounds that also
contain the serial run; on this shared virtual machine, whose host drifts in speed by ±10–20% from one run to
the next, five rounds gave +9.1% in one run and −4.7% in another. This script spends the time on the one
comparison the target is about. Each round runs the same ``--count`` examples twice through
:func:`certifiers.engine.certify_examples` (what ``sdpsolve certify`` runs), with what
``certify_throughput.py`` times for each (:func:`bench.certify_throughput._run_config`):

* ``processes`` — ``--workers K``: a ``spawn`` process pool, started inside the timing;
* ``dask`` — ``--scheduler local --workers K``: the local cluster that command starts, its start (and importing
  the package on its workers) inside the timing.

The two runs of a round are adjacent, and their order alternates (pool first in odd rounds, Dask first in even
ones: a drift that is steady over a round then favours each side as often). Each round gives one paired ratio,
Dask's wall time over the pool's; the benchmark reports their median with a distribution-free confidence interval
(order statistics of the paired ratios: no assumption on the shape of the host's drift), their mean, and how
many rounds Dask was slower. Two more ratios per pair separate what the host does from what the executor does:

* examples' own time — the sum of the per-example times the workers measured, Dask's over the pool's: how
  fast the host ran the same examples during each run (plus whatever Dask adds inside an example, which
  ``bench/dask_overhead.py`` measures directly);
* wall time per second of example work — the wall ratio divided by that: the part of the wall time the
  executor decides (starting, handing out batches, the idle tail), with the host's speed of each run taken out.

Every run must give the same records (``time`` fields aside); one torch/BLAS thread per worker.

Usage::

    .venv/bin/python bench/dask_vs_pool_runs.py [--count 16] [--sdp-net grad_nn] [--max-iter 80] [--workers 2]
                                                [--rounds 14]

Writes ``bench/results/dask_vs_pool_runs.json``; ``bench/render_tables.py`` renders it (section
``dask-runs``). Uses the shared data folder ``../shared/data/raghunathan18`` and small random networks
embedded in ``bench/certify_throughput.py`` when it is absent (the timings then only show that the script runs).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
from scipy.stats import binom

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.certify_throughput import EPS, SDP_NETS, _plans, _prepare, _run_config, machine, workloads  # noqa: E402
from certifiers.engine import LOCAL_SCHEDULER_CONFIG  # noqa: E402

MODES = ("processes", "dask")


def median_interval(values, level: float = 0.95) -> tuple[float, float, float]:
    """A distribution-free confidence interval for the median of ``values``: ``(low, high, coverage)``.

    With n values, the true median lies between the k-th smallest and the k-th largest with probability
    1 − 2·P(Binomial(n, ½) < k) whatever the distribution (continuous, independent draws); k is the largest
    giving at least ``level``. Fewer than 6 values cannot reach 95%: the interval is then the whole range, with
    its coverage 1 − 2⁻ⁿ⁺¹.

    Examples
    --------
    >>> low, high, coverage = median_interval(range(1, 13))
    >>> low, high, round(coverage, 3)
    (3.0, 10.0, 0.961)
    """
    x = np.sort(np.asarray(list(values), dtype=float))
    n = len(x)
    if n == 0:
        raise ValueError("`values` must not be empty")
    k = 1
    while k + 1 <= n // 2 and 1 - 2 * binom.cdf(k, n, 0.5) >= level:
        k += 1
    return float(x[k - 1]), float(x[n - k]), float(1 - 2 * binom.cdf(k - 1, n, 0.5))


def summary(pct) -> dict:
    """Median, its confidence interval, mean, range of per-round percentages."""
    low, high, coverage = median_interval(pct)
    return {"median_pct": float(np.median(pct)), "ci_low_pct": low, "ci_high_pct": high, "ci_coverage": coverage,
            "mean_pct": float(np.mean(pct)), "min_pct": float(min(pct)), "max_pct": float(max(pct)),
            "positive": int(sum(p > 0 for p in pct))}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--count", type=int, default=16, help="examples per run (default 16)")
    ap.add_argument("--sdp-net", choices=sorted(SDP_NETS), default="grad_nn")
    ap.add_argument("--max-iter", type=int, default=80, help="rounds per target (default 80, the plugin's)")
    ap.add_argument("--workers", type=int, default=2, help="processes of the pool and of the cluster (default 2)")
    ap.add_argument("--rounds", type=int, default=14, help="paired rounds (default 14)")
    ap.add_argument("--out", default=str(ROOT / "bench" / "results" / "dask_vs_pool_runs.json"))
    args = ap.parse_args(argv)
    for name in ("count", "max_iter", "workers", "rounds"):
        if getattr(args, name) < 1:
            ap.error(f"--{name.replace('_', '-')} must be >= 1, got {getattr(args, name)}")
    from certifiers.engine import is_available

    if not is_available():
        ap.error('this benchmark needs Dask distributed: pip install "sdpsolve[distributed]"')
    w = workloads(["sdp-cert"], sdp_net=args.sdp_net, count=args.count, max_iter=args.max_iter)[0]
    plans = _plans(w, 1)
    prepare, _ = _prepare(plans, w["net"])
    info = machine()
    print(f"machine: {info['cpu']}, {info['cpu_count']} cores, load {info['load_average_at_start'][0]:.2f}")
    print(f"sdp-cert on {w['network']}: {len(w['y'])} examples per run, {args.max_iter} rounds per target, "
          f"{args.workers} workers; prepared once in {prepare:.2f} s")
    print(f"{'round':>5} {'mode':<10} {'start s':>8} {'wall s':>8} {'examples s':>10} {'calib s':>7} {'same':>5}")
    runs: dict = {mode: [] for mode in MODES}
    first = None
    same = True
    for rnd in range(args.rounds):
        for mode in MODES if rnd % 2 == 0 else MODES[::-1]:
            run, records = _run_config(w, mode, args.workers, plans)
            first = records if first is None else first
            agrees = records == first
            same &= agrees
            runs[mode].append(run)
            start = "" if run["start"] is None else f"{run['start']:.2f}"
            print(f"{rnd + 1:>5} {mode:<10} {start:>8} {run['wall']:8.2f} {run['example_seconds']:10.1f} "
                  f"{run['calibration_s']:7.3f} {'yes' if agrees else 'NO':>5}", flush=True)
    pool, dask = runs["processes"], runs["dask"]
    wall = [100 * (d["wall"] / p["wall"] - 1) for p, d in zip(pool, dask)]
    own = [100 * (d["example_seconds"] / p["example_seconds"] - 1) for p, d in zip(pool, dask)]
    per_work = [100 * ((1 + a / 100) / (1 + b / 100) - 1) for a, b in zip(wall, own)]
    info["load_average_at_end"] = list(os.getloadavg())
    out = {"benchmark": "dask_vs_pool_runs", "date": time.strftime("%Y-%m-%dT%H:%M:%S"), "machine": info,
           "settings": {"count": len(w["y"]), "sdp_net": args.sdp_net, "network": w["network"],
                        "max_iter": args.max_iter, "workers": args.workers, "rounds": args.rounds, "eps": EPS,
                        "threads_per_worker": 1, "local_scheduler_config": dict(LOCAL_SCHEDULER_CONFIG)},
           "certified_error": pool[0]["certified_error"], "same_records": same,
           "wall": summary(wall), "examples_own_time": summary(own), "wall_per_example_second": summary(per_work),
           "wall_pct_by_round": wall, "examples_own_time_pct_by_round": own,
           "wall_per_example_second_pct_by_round": per_work, "runs": runs}
    for key, label in (("wall", "wall time"), ("examples_own_time", "examples' own time"),
                       ("wall_per_example_second", "wall time per second of example work")):
        s = out[key]
        print(f"Dask against the pool, {label}: median {s['median_pct']:+.1f}% "
              f"({100 * s['ci_coverage']:.1f}% interval {s['ci_low_pct']:+.1f}% .. {s['ci_high_pct']:+.1f}%), "
              f"mean {s['mean_pct']:+.1f}%, Dask slower in {s['positive']} of {args.rounds} rounds")
    print(f"same records in every run: {same}")
    Path(args.out).write_text(json.dumps(out, indent=1))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
