"""Benchmark: work done per second by 2 busy workers — a process pool against Dask local clusters.

Every worker runs the same fixed loop for ``--seconds`` (a 300×300 matrix product on one BLAS thread, then 200
steps of a pure-Python loop: numpy with the GIL released, then Python holding it, as in sdp-cert's iterations),
on as many workers as the machine has cores, and the iterations are counted. Three executors, in interleaved
rounds:

* ``processes`` — a ``spawn`` process pool with one BLAS thread per process (what ``--workers`` runs);
* ``dask (Dask's defaults)`` — a local cluster whose workers keep Dask's event-loop settings;
* ``dask (--scheduler local)`` — the local cluster that ``--scheduler local`` starts
  (:data:`certifiers.engine._dask.QUIET_WORKER_CONFIG`).

Unlike the certification benchmarks, the work per second of a fixed loop does not depend on which examples a
worker drew, and all cores are busy, so the cost of Dask's own threads and processes shows directly. The CPU
time of this process during the timing is recorded too: for Dask it holds the scheduler and the client.

Usage::

    .venv/bin/python bench/dask_busy_workers.py [--seconds 20] [--rounds 3]

Writes ``bench/results/dask_busy_workers.json``; ``bench/render_tables.py`` renders it (section
``dask-busy``).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import statistics
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.certify_throughput import machine  # noqa: E402
from bench.dask_overhead import EXECUTORS  # noqa: E402


def busy_loop(seconds: float) -> int:
    """Iterations of the fixed loop done in ``seconds``."""
    import time

    import numpy as np

    a = np.random.default_rng(0).random((300, 300))
    n, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        a = (a @ a) / 300.0
        n += 1
        for _ in range(200):
            n += 1
    return n


def _one_blas_thread() -> None:
    from threadpoolctl import threadpool_limits

    threadpool_limits(1)


def _timed(run, seconds: float) -> tuple[float, float]:
    """(iterations per second, CPU seconds of this process per second) of ``run()``, which returns iterations."""
    cpu = time.process_time()
    rate = run() / seconds
    return rate, (time.process_time() - cpu) / seconds


def _rate(name: str, workers: int, seconds: float) -> tuple[float, float]:
    """Iterations per second of ``workers`` busy workers on executor ``name`` (warm: started before timing), and
    the share of a core this process used meanwhile (for Dask: its scheduler and the client)."""
    if name == EXECUTORS[0]:
        with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"),
                                 initializer=_one_blas_thread) as pool:
            list(pool.map(busy_loop, [0.5] * workers))
            return _timed(lambda: sum(pool.map(busy_loop, [seconds] * workers)), seconds)
    import distributed

    from certifiers.engine import start_local_cluster

    with (start_local_cluster(workers, quiet_workers=name == EXECUTORS[2]) as cluster,
          distributed.Client(cluster, set_as_default=False) as client):
        client.gather([client.submit(busy_loop, 0.5, pure=False) for _ in range(workers)])
        return _timed(lambda: sum(client.gather([client.submit(busy_loop, seconds, pure=False)
                                                 for _ in range(workers)])), seconds)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--out", default=str(ROOT / "bench" / "results" / "dask_busy_workers.json"))
    args = parser.parse_args(argv)
    if args.seconds <= 0 or args.rounds < 1:
        parser.error("--seconds must be > 0 and --rounds >= 1")
    workers = os.cpu_count() or 1
    info = machine()
    print(f"busy workers: {info['cpu']}, {workers} workers, load average "
          + " ".join(f"{v:.2f}" for v in info["load_average_at_start"]))
    rates = {name: [] for name in EXECUTORS}
    own = {name: [] for name in EXECUTORS}
    for r in range(args.rounds):
        for name in EXECUTORS:
            rate, cpu = _rate(name, workers, args.seconds)
            rates[name].append(rate)
            own[name].append(cpu)
            print(f"round {r} {name:26s} {rate:12,.0f} iterations/s; this process {100 * cpu:.1f}% of a core",
                  flush=True)
    base = statistics.median(rates[EXECUTORS[0]])
    rows = []
    for name in EXECUTORS:
        median = statistics.median(rates[name])
        rows.append({"executor": name, "rates": rates[name], "median": median,
                     "vs_processes_pct": 100 * (median / base - 1),
                     "this_process_core_pct": [100 * c for c in own[name]]})
        print(f"{name:26s} median {median:12,.0f} iterations/s  {rows[-1]['vs_processes_pct']:+.1f}% against processes")
    info["load_average_at_end"] = list(os.getloadavg())
    out = {"benchmark": "dask_busy_workers", "settings": {"seconds": args.seconds, "rounds": args.rounds,
                                                          "workers": workers},
           "machine": info, "date": time.strftime("%Y-%m-%dT%H:%M:%S"), "rows": rows}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(out, indent=1))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
