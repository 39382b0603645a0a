"""Benchmark: the per-example cost of running sdp-cert inside a Dask worker, against a process-pool worker.

``certify_throughput.py`` compares whole runs; on this shared virtual machine their wall times drift by tens of
per cent between runs, which hides an effect of a few per cent. Here the same example is certified, one
right after the other, on warm one-process executors, and each example's times are compared pairwise:

* ``processes`` — a one-process ``spawn`` pool running :func:`certifiers.engine._executors._worker_batch` (what
  ``--workers N`` runs in each process);
* ``dask (Dask's defaults)`` — a one-worker local cluster whose workers keep Dask's event-loop settings
  (statistical profiler every 10 ms, a 20 ms tick, memory monitor every 100 ms);
* ``dask (--scheduler local)`` — the local cluster that ``--scheduler local`` starts
  (:data:`certifiers.engine._dask.QUIET_WORKER_CONFIG`).

and, as a control, the pool worker running the same task in a second thread of its process
(``processes, task in a second thread``), as a Dask worker runs its tasks outside its main thread.

Each round goes over the examples; for each example the executors take turns in a rotated order (so none is
always first after a pause), and only the example's own time in the worker (not the transfer) enters. Per
executor the benchmark reports the sum of its times and, over the (example, round) pairs, the median, mean and
range of its time over the process pool's for the same example, and how many pairs it was the slower one. One
torch/BLAS thread everywhere; the method is sdp-cert with ``--max-iter`` rounds per target (80, the plugin's
default), so every executor does the same work (the records are checked equal).

Those wall-clock ratios still carry the host's drift (the same example on the same executor varies by ±10–20%
from one run to the next). So each task also runs inside :func:`_measured`, which reads the worker's own clocks
around the real task function (:func:`certifiers.engine._executors._worker_batch` in the pool, the task
:func:`certifiers.engine._dask._batch_task` that :func:`certifiers.engine._dask.run_batches` submits on Dask) and
splits the example's wall time into

* ``task CPU`` — CPU time of the thread running the certification: the computation itself, the same work on
  every executor, whose differences are the host's speed of the moment;
* ``off-CPU`` — wall time minus that: the task thread waiting (for the GIL held by the worker's event loop,
  for the kernel, for the core);
* ``other threads`` — CPU time of the worker process's other threads during the task (Dask's event loop,
  its monitors, heartbeats), which competes for a core when every core has a worker;

and counts the page faults (the allocator's work). The executor's *overhead* against the pool is then
(off-CPU + other threads, minus the pool's) over the pool's wall time: what running inside Dask adds, with the
drift of the computation itself left out.

With ``--start-rounds K`` the benchmark also times, K times each and alternately, what each executor costs before
its first example: a 2-process ``spawn`` pool with the package imported in both workers, against a 2-worker
local cluster with its client, the package imported on both workers and the network sent to them.

Usage::

    .venv/bin/python bench/dask_overhead.py [--net grad_nn] [--examples 0 2 3] [--rounds 3] [--max-iter 80]
                                            [--start-rounds 5]

Writes ``bench/results/dask_overhead.json``; ``bench/render_tables.py`` renders it (section ``dask-overhead``).
The shared data folder ``../shared/data/raghunathan18`` is used when present, otherwise a small random network
embedded here (the timings then only show that the script runs).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import resource
import sys
import time
import uuid
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.certify_throughput import DATA, EPS, SDP_NETS, _random_net, machine  # noqa: E402
from certifiers import engine  # noqa: E402
from certifiers._network import from_npz  # noqa: E402
from certifiers.engine import _executors, reproducible  # noqa: E402  (_executors: its task functions are timed)

EXECUTORS = ("processes", "dask (Dask's defaults)", "dask (--scheduler local)")
#: a control: the same pool worker running the task in a second thread, as a Dask worker runs its tasks
IN_A_THREAD = "processes, task in a second thread"
MEASURED = (EXECUTORS[0], IN_A_THREAD, *EXECUTORS[1:])


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


def _measured(fn, *args):
    """``fn(*args)`` and the worker's clocks around it (seconds; page faults are counts)."""
    def clocks():
        return resource.getrusage(resource.RUSAGE_SELF), time.perf_counter(), time.thread_time(), time.process_time()

    r0, w0, t0, p0 = clocks()
    result = fn(*args)
    r1, w1, t1, p1 = clocks()
    return result, {
        "wall": w1 - w0,
        "task_cpu": t1 - t0,
        "off_cpu": (w1 - w0) - (t1 - t0),
        "other_threads_cpu": (p1 - p0) - (t1 - t0),
        "page_faults": r1.ru_minflt - r0.ru_minflt,
    }


def _measured_in_a_thread(fn, *args):
    """:func:`_measured` in a new thread of this process (the caller waits for it)."""
    import threading

    out = []
    thread = threading.Thread(target=lambda: out.append(_measured(fn, *args)))
    thread.start()
    thread.join()
    return out[0]


def _import_package():
    """What a worker imports before its first example (the pool's initialiser imports the same)."""
    import torch  # noqa: F401

    import certifiers  # noqa: F401


def _pid() -> int:
    return os.getpid()


def _payload(net, plans):
    """What :func:`certifiers.engine._dask.run_batches` scatters to the workers."""
    from certifiers.engine._dask import _Payload

    return _Payload(net, list(plans), EPS, 1, uuid.uuid4().hex[:12])


def _start_pool(n: int, net, plans):
    """A started ``n``-process spawn pool whose workers have all run their initialiser (what ``--workers n`` runs)."""
    pool = ProcessPoolExecutor(
        n, mp_context=multiprocessing.get_context("spawn"), initializer=_executors._init_worker,
        initargs=(net, list(plans), EPS, 1),
    )
    seen = set()
    while len(seen) < n:  # the pool spawns n processes at the first n submissions; each answers once initialised
        seen |= {f.result() for f in [pool.submit(_pid) for _ in range(n)]}
    return pool


def start_costs(net, plans, rounds: int, workers: int = 2) -> dict:
    """Seconds until each executor of ``workers`` processes can take an example, ``rounds`` times each, alternately."""
    import distributed

    from certifiers.engine import start_local_cluster

    out = {EXECUTORS[0]: [], EXECUTORS[2]: []}
    for r in range(rounds):
        for name in (list(out) if r % 2 == 0 else list(out)[::-1]):
            t0 = time.perf_counter()
            if name == EXECUTORS[0]:
                pool = _start_pool(workers, net, plans)
                out[name].append(time.perf_counter() - t0)
                pool.shutdown()
            else:
                cluster = start_local_cluster(workers)
                client = distributed.Client(cluster, set_as_default=False)
                client.run(_import_package)
                data = client.scatter(_payload(net, plans), broadcast=True, hash=False)
                out[name].append(time.perf_counter() - t0)
                data.release()
                client.close()
                cluster.close()
            print(f"start round {r}: {name} {out[name][-1]:.2f} s", flush=True)
    return out


class _Executors:
    """The warm one-process executors (one pool, two clusters); ``run(name, batch)`` gives the record and the clocks."""

    def __init__(self, net, plans):
        import distributed

        from certifiers.engine import start_local_cluster

        self.pool = _start_pool(1, net, plans)
        self.clusters = {}
        payload = _payload(net, plans)
        for name, quiet in ((EXECUTORS[1], False), (EXECUTORS[2], True)):
            cluster = start_local_cluster(1, quiet_workers=quiet)
            client = distributed.Client(cluster, set_as_default=False)
            self.clusters[name] = (cluster, client, client.scatter(payload, broadcast=True, hash=False))

    def run(self, name: str, batch) -> tuple[dict, dict]:
        from certifiers.engine._dask import _batch_task

        if name in (EXECUTORS[0], IN_A_THREAD):
            wrapper = _measured if name == EXECUTORS[0] else _measured_in_a_thread
            result, clocks = self.pool.submit(wrapper, _executors._worker_batch, batch).result()
        else:
            _, client, data = self.clusters[name]
            result, clocks = client.submit(_measured, _batch_task, data, batch, pure=False).result()
        return result["sdp-cert"][0], clocks

    def close(self):
        self.pool.shutdown()
        for cluster, client, data in self.clusters.values():
            data.release()
            client.close()
            cluster.close()


def _summary(name: str, pairs: list[dict]) -> dict:
    """One executor's row: wall-clock ratios to the pool, and its overhead from the worker's clocks."""
    base = MEASURED[0]
    wall = np.array([p[name]["wall"] for p in pairs])
    ref = np.array([p[base]["wall"] for p in pairs])
    extra = np.array([p[name]["off_cpu"] + p[name]["other_threads_cpu"] for p in pairs])
    ref_extra = np.array([p[base]["off_cpu"] + p[base]["other_threads_cpu"] for p in pairs])
    ratio = wall / ref

    def total(key):
        return float(sum(p[name][key] for p in pairs))

    return {
        "executor": name,
        "total_s": float(wall.sum()),
        "median_pct": float(100 * (np.median(ratio) - 1)),
        "mean_pct": float(100 * (ratio.mean() - 1)),
        "min_pct": float(100 * (ratio.min() - 1)),
        "max_pct": float(100 * (ratio.max() - 1)),
        "slower_pairs": int(np.sum(wall > ref)),
        "task_cpu_s": total("task_cpu"),
        "off_cpu_s": total("off_cpu"),
        "other_threads_cpu_s": total("other_threads_cpu"),
        "page_faults_median": float(np.median([p[name]["page_faults"] for p in pairs])),
        "task_cpu_median_pct": float(100 * (np.median([p[name]["task_cpu"] / p[base]["task_cpu"] for p in pairs]) - 1)),
        "overhead_median_pct": float(100 * np.median((extra - ref_extra) / ref)),
        "overhead_total_pct": float(100 * (extra.sum() - ref_extra.sum()) / ref.sum()),
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--net", choices=sorted(SDP_NETS), default="grad_nn")
    parser.add_argument("--examples", type=int, nargs="+", default=[0, 2, 3],
                        help="test-set indices (the default skips image 1, which Grad-NN misclassifies: no SDP)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--max-iter", type=int, default=80)
    parser.add_argument("--start-rounds", type=int, default=5,
                        help="times each executor's start is measured (2 workers; 0: not measured)")
    parser.add_argument("--out", default=str(ROOT / "bench" / "results" / "dask_overhead.json"))
    args = parser.parse_args(argv)
    if args.rounds < 1 or args.max_iter < 1 or args.start_rounds < 0 or min(args.examples) < 0:
        parser.error("--rounds and --max-iter must be >= 1, --start-rounds and --examples >= 0")

    net_name, net, X, y = _workload(args)
    info = machine()
    print(f"Dask overhead per example: {info['cpu']}, {info['cpu_count']} cores, load average "
          + " ".join(f"{v:.2f}" for v in info["load_average_at_start"]))
    options = {"max_iter": args.max_iter, "time_limit": 600.0}
    plans, _ = engine.plan_methods(["sdp-cert"], workers=1, extra={"sdp-cert": options})
    engine.prepare_methods(plans, net)
    starts = start_costs(net, plans, args.start_rounds) if args.start_rounds else {}
    batches = [(i, X[i:i + 1], y[i:i + 1], np.array([i]), {"sdp-cert": np.array([0])}) for i in args.examples]
    executors = _Executors(net, plans)
    pairs = []
    same = True
    try:
        for name in MEASURED:  # warm-up: imports and compiled kernels in every worker
            executors.run(name, batches[0])
        for r in range(args.rounds):
            for k, batch in enumerate(batches):
                shift = (r + k) % len(MEASURED)
                order = MEASURED[shift:] + MEASURED[:shift]
                got = {name: executors.run(name, batch) for name in order}
                record = {n: got[n][0] for n in MEASURED}
                same &= all(reproducible([record[n]]) == reproducible([record[MEASURED[0]]]) for n in MEASURED)
                pairs.append({"round": r, "example": int(batch[0]), **{n: got[n][1] for n in MEASURED}})
                print(f"round {r} example {batch[0]:>4}: "
                      + "  ".join(f"{n} {got[n][1]['wall']:6.2f} s (off-CPU {got[n][1]['off_cpu']:.3f}, other "
                                  f"{got[n][1]['other_threads_cpu']:.3f}, faults {got[n][1]['page_faults']})"
                                  for n in MEASURED), flush=True)
    finally:
        executors.close()

    rows = [_summary(name, pairs) for name in MEASURED]
    print(f"\n{'executor':34s} {'total s':>8s} {'median':>8s} {'mean':>8s} {'range':>16s} slower "
          f"{'task CPU':>9s} {'overhead':>9s} {'faults':>7s}")
    for row in rows:
        print(f"{row['executor']:34s} {row['total_s']:8.2f} {row['median_pct']:+7.1f}% {row['mean_pct']:+7.1f}% "
              f"{row['min_pct']:+6.1f}..{row['max_pct']:+5.1f}% {row['slower_pairs']:3d}/{len(pairs)} "
              f"{row['task_cpu_median_pct']:+8.1f}% {row['overhead_median_pct']:+8.2f}% "
              f"{row['page_faults_median']:7.0f}")
    start_rows = [{"executor": name, "median_s": float(np.median(t)), "runs_s": t} for name, t in starts.items()]
    for row in start_rows:
        print(f"start, 2 workers: {row['executor']:26s} median {row['median_s']:.2f} s")
    print(f"same records on every executor: {'yes' if same else 'NO'}")
    info["load_average_at_end"] = list(os.getloadavg())
    out = {
        "benchmark": "dask_overhead",
        "settings": {"net": net_name, "examples": args.examples, "rounds": args.rounds, "max_iter": args.max_iter,
                     "start_rounds": args.start_rounds, "eps": EPS, "threads": 1},
        "machine": info,
        "date": time.strftime("%Y-%m-%dT%H:%M:%S"),
        "same_records": bool(same),
        "rows": rows,
        "start": start_rows,
        "pairs": pairs,
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(out, indent=1))
    print(f"wrote {args.out}")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
