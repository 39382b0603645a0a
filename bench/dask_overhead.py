"""Benchmark: the per-example cost of running sdp-cert inside a Dask worker, against a process-pool worker.

``certify_throughput.py`` compares whole runs; on this shared virtual machine their wall times drift by tens of
per cent between runs, which hides an effect of a few per cent. Here the same example is certified, one
right after the other, on three warm one-process executors, and each example's times are compared pairwise:

* ``processes`` — a one-process ``spawn`` pool running :func:`certifiers.cli._worker_batch` (what
  ``--workers N`` runs in each process);
* ``dask (Dask's defaults)`` — a one-worker local cluster whose workers keep Dask's event-loop settings
  (statistical profiler every 10 ms, a 20 ms tick, memory monitor every 100 ms);
* ``dask (--scheduler local)`` — the local cluster that ``--scheduler local`` starts
  (:data:`certifiers._distributed.QUIET_WORKER_CONFIG`).

Each round goes over the examples; for each example the executors take turns in a rotated order (so none is
always first after a pause), and only the example's own time (the record's ``time``: the certification inside
the worker, not the transfer) enters. Per executor the benchmark reports the sum of its times and, over the
(example, round) pairs, the median, mean and range of its time over the process pool's for the same example,
and how many pairs it was the slower one. One torch/BLAS thread everywhere; the method is sdp-cert with
``--max-iter`` rounds per target (80, the plugin's default), so every executor does the same work (the records
are checked equal).

Usage::

    .venv/bin/python bench/dask_overhead.py [--net grad_nn] [--examples 0 2 3] [--rounds 3] [--max-iter 80]

Writes ``bench/results/dask_overhead.json``; ``bench/render_tables.py`` renders it (section ``dask-overhead``).
The shared data folder ``../shared/data/raghunathan18`` is used when present, otherwise a small random network
embedded here (the timings then only show that the script runs).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.certify_throughput import DATA, EPS, SDP_NETS, _random_net, _without_times, machine  # noqa: E402
from certifiers import cli as ccli  # noqa: E402
from certifiers._network import from_npz  # noqa: E402

EXECUTORS = ("processes", "dask (Dask's defaults)", "dask (--scheduler local)")


def _workload(args):
    """(network name, network, X, y) of the benchmark."""
    if (DATA / f"{args.net}.npz").exists() and (DATA / "mnist_test.npz").exists():
        data = np.load(DATA / "mnist_test.npz")
        X = data["X"].reshape(len(data["X"]), -1).astype(np.float64)
        return SDP_NETS[args.net], from_npz(DATA / f"{args.net}.npz"), X, data["y"].astype(np.int64)
    print(f"{DATA} not found: using a small random network embedded in this script")
    rng = np.random.default_rng(0)
    net = _random_net([32, 24, 16, 10], rng)
    X = rng.random((max(args.examples) + 1, 32))
    return "random 32-24-16-10", net, X, net.predict(X)


class _Executors:
    """The three warm one-process executors; ``run(name, batch)`` returns the batch's sdp-cert record."""

    def __init__(self, net, plans):
        import distributed

        from certifiers._distributed import start_local_cluster

        self.net, self.plans = net, list(plans)
        self.pool = ProcessPoolExecutor(
            1,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=ccli._init_worker,
            initargs=(net, self.plans, EPS, 1),
        )
        self.clusters = {}
        for name, quiet in ((EXECUTORS[1], False), (EXECUTORS[2], True)):
            cluster = start_local_cluster(1, quiet_workers=quiet)
            self.clusters[name] = (cluster, distributed.Client(cluster, set_as_default=False))

    def run(self, name: str, batch) -> dict:
        from certifiers._distributed import run_batches

        if name == EXECUTORS[0]:
            result = self.pool.submit(ccli._worker_batch, batch).result()
        else:
            client = self.clusters[name][1]
            result = next(iter(run_batches(client, self.net, self.plans, EPS, [batch], threads=1)))[1]
        return result["sdp-cert"][0]

    def close(self):
        self.pool.shutdown()
        for cluster, client in self.clusters.values():
            client.close()
            cluster.close()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--net", choices=sorted(SDP_NETS), default="grad_nn")
    parser.add_argument("--examples", type=int, nargs="+", default=[0, 2, 3],
                        help="test-set indices (the default skips image 1, which Grad-NN misclassifies: no SDP)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--max-iter", type=int, default=80)
    parser.add_argument("--out", default=str(ROOT / "bench" / "results" / "dask_overhead.json"))
    args = parser.parse_args(argv)
    if args.rounds < 1 or args.max_iter < 1 or min(args.examples) < 0:
        parser.error("--rounds and --max-iter must be >= 1 and --examples >= 0")

    net_name, net, X, y = _workload(args)
    info = machine()
    print(f"Dask overhead per example: {info['cpu']}, {info['cpu_count']} cores, load average "
          + " ".join(f"{v:.2f}" for v in info["load_average_at_start"]))
    options = {"max_iter": args.max_iter, "time_limit": 600.0}
    plans, _ = ccli.plan_methods(["sdp-cert"], workers=1, extra={"sdp-cert": options})
    ccli.prepare_methods(plans, net)
    batches = [(i, X[i:i + 1], y[i:i + 1], np.array([i]), {"sdp-cert": np.array([0])}) for i in args.examples]
    executors = _Executors(net, plans)
    times = {name: [] for name in EXECUTORS}
    pairs = []
    same = True
    try:
        for name in EXECUTORS:  # warm-up: imports and compiled kernels in every worker
            executors.run(name, batches[0])
        for r in range(args.rounds):
            for k, batch in enumerate(batches):
                shift = (r + k) % len(EXECUTORS)
                order = EXECUTORS[shift:] + EXECUTORS[:shift]
                got = {name: executors.run(name, batch) for name in order}
                same &= all(_without_times(got[n]) == _without_times(got[EXECUTORS[0]]) for n in EXECUTORS)
                for name in EXECUTORS:
                    times[name].append(got[name]["time"])
                pairs.append({"round": r, "example": int(batch[0]), **{n: got[n]["time"] for n in EXECUTORS}})
                print(f"round {r} example {batch[0]:>4}: "
                      + "  ".join(f"{n} {got[n]['time']:6.2f} s" for n in EXECUTORS), flush=True)
    finally:
        executors.close()

    base = np.asarray(times[EXECUTORS[0]])
    rows = []
    for name in EXECUTORS:
        t = np.asarray(times[name])
        ratio = t / base
        rows.append({
            "executor": name,
            "total_s": float(t.sum()),
            "median_pct": float(100 * (np.median(ratio) - 1)),
            "mean_pct": float(100 * (ratio.mean() - 1)),
            "min_pct": float(100 * (ratio.min() - 1)),
            "max_pct": float(100 * (ratio.max() - 1)),
            "slower_pairs": int(np.sum(t > base)),
        })
    print(f"\n{'executor':26s} {'total s':>8s} {'median':>8s} {'mean':>8s} {'range':>16s} slower")
    for row in rows:
        print(f"{row['executor']:26s} {row['total_s']:8.2f} {row['median_pct']:+7.1f}% {row['mean_pct']:+7.1f}% "
              f"{row['min_pct']:+6.1f}..{row['max_pct']:+5.1f}% {row['slower_pairs']:3d}/{len(pairs)}")
    print(f"same records on every executor: {'yes' if same else 'NO'}")
    info["load_average_at_end"] = list(os.getloadavg())
    out = {
        "benchmark": "dask_overhead",
        "settings": {"net": net_name, "examples": args.examples, "rounds": args.rounds, "max_iter": args.max_iter,
                     "eps": EPS, "threads": 1},
        "machine": info,
        "date": time.strftime("%Y-%m-%dT%H:%M:%S"),
        "same_records": bool(same),
        "rows": rows,
        "pairs": pairs,
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(out, indent=1))
    print(f"wrote {args.out}")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
