"""Benchmark: throughput of ``sdpsolve certify`` on local processes and on a Dask LocalCluster.

The same examples are certified by :func:`certifiers.engine.certify_examples` (what ``sdpsolve certify`` runs) in
four ways, one after the other in one run:

* ``processes``, 1 worker — in this process (``--workers 1``, the serial baseline);
* ``processes``, 2 workers — ``--workers 2`` (a ``spawn`` process pool, started inside the timing);
* ``dask``, 1 and 2 workers — ``--scheduler local --workers N``: a ``LocalCluster`` of N processes with one
  thread each. ``start`` is the cluster's start plus importing the package on its workers, ``run`` the
  certification with the cluster running (what ``--scheduler ADDRESS`` costs on a cluster already up);
  ``wall`` = ``start`` + ``run`` is compared with the process pool (whose start is inside its timing).

Methods and networks (the shared data folder ``../shared/data/raghunathan18``; small random networks embedded
here when it is absent):

* ``grad-cert`` on Grad-NN (784-500-10), ``--gradcert-count`` MNIST test images in batches of 100 (the CLI's
  default), as on a network seen for the first time: the 45 pair SDPs are solved inside the timing, without
  the cache, in ``workers`` processes (what ``--workers`` does for Grad-cert), then the images are certified
  (a closed-form lookup, tens of µs per image). With ``--gradcert-cached`` the pair table is loaded from the
  cache before any timing and the rows measure the per-example work alone.
* ``sdp-cert`` on ``--sdp-net`` (default Grad-NN, 784-500-10; ``pgd_nn`` is 784-200-100-50-10), ``--count``
  images in batches of 1 (sdp-cert's default in the CLI: one task per example; its targets share warm starts
  and stop at the first one that is not certified), each target's SDP bounded by ``--max-iter`` rounds (the
  plugin's default, 80) and ``--time-limit`` seconds. Rounds bound the work by default (the time limit is a
  safety cap): the work is then the same in every configuration, the records must be identical, and
  competition for the cores shows in the timings instead of being hidden by a clock.

The configurations run ``--repeat`` rounds, interleaved (1 worker, 2 workers, Dask 2, then again), and each row
reports the median wall time of its runs (all runs are listed in the JSON): the host behind this virtual machine
is shared, its speed drifts by tens of per cent over minutes without any steal time visible to the guest, and
interleaving makes a drift hit every configuration alike (the order is reversed every other round, and each Dask
run sits next to the process-pool run with as many workers: the JSON also has each round's Dask run against that
neighbour). With ``--compare-saturation`` a second Dask run per round sets the local cluster's scheduler back to
Dask's default ``worker-saturation`` (1.1: two tasks per one-thread worker, against 1.0 in ``--scheduler local``).
Before each run a fixed single-thread loop is timed (``calibration_s``) to show that drift. Every configuration
uses one torch/BLAS thread per worker. Each timing is paired with the result reached: the certified error of the
run and whether its records equal the serial run's (``time`` fields aside). The machine and its load average are
recorded, and per configuration the CPU cores it actually obtained: CPU seconds of this process and its ended
children (the pool, the cluster) over the wall time.

Usage::

    .venv/bin/python bench/certify_throughput.py [--count 16] [--sdp-net grad_nn] [--gradcert-count 10000]
                                                 [--max-iter 80] [--time-limit 300] [--dask-workers 2]
                                                 [--repeat 2] [--methods grad-cert sdp-cert] [--cache-dir DIR]
                                                 [--compare-saturation]

Writes ``bench/results/certify_throughput.json``; ``bench/render_tables.py`` renders it (section
``throughput``).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench._machine import cpu_model  # noqa: E402
from bench.reproduce_sdpcert import TIME_LIMIT  # noqa: E402
from certifiers import ReLUNetwork, engine, from_npz  # noqa: E402
from certifiers.engine import LOCAL_SCHEDULER_CONFIG, reproducible  # noqa: E402
from sdpsolve import limit_threads  # noqa: E402

DATA = ROOT.parent / "shared" / "data" / "raghunathan18"
EPS = 0.1
SDP_NETS = {"grad_nn": "Grad-NN", "lp_nn": "LP-NN", "pgd_nn": "PGD-NN"}


def machine() -> dict:
    """What the timings were taken on, the load average included."""
    info = {
        "platform": platform.platform(),
        "python": platform.python_version(),
        "cpu": cpu_model(),
        "cpu_count": os.cpu_count(),
        "affinity": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "numpy": np.__version__,
        "load_average_at_start": list(os.getloadavg()),
    }
    for name in ("torch", "dask", "distributed"):
        try:
            info[name] = __import__(name).__version__
        except ImportError:
            info[name] = None
    return info


def _random_net(sizes, rng) -> ReLUNetwork:
    weights = [rng.standard_normal((m, n)) / np.sqrt(n) for n, m in zip(sizes[:-1], sizes[1:])]
    biases = [0.1 * rng.standard_normal(m) for m in sizes[1:]]
    return ReLUNetwork(weights, biases)


def workloads(methods, *, data_dir=DATA, sdp_net: str = "grad_nn", count: int = 16, gradcert_count: int = 10000,
              max_iter: int = 80, time_limit: float = TIME_LIMIT, cache_dir=None,
              gradcert_cached: bool = False) -> list[dict]:
    """(method, network, examples, options) of each of ``methods`` ("grad-cert", "sdp-cert"), with the options of
    :func:`main`'s flags of the same names; the shared networks when present."""
    folder = Path(data_dir)
    have = all((folder / f).exists() for f in ("grad_nn.npz", f"{sdp_net}.npz", "mnist_test.npz"))
    if have:
        data = np.load(folder / "mnist_test.npz")
        X = data["X"].reshape(len(data["X"]), -1).astype(np.float64)
        y = data["y"].astype(np.int64)
        grad_net, grad_name = from_npz(folder / "grad_nn.npz"), "Grad-NN"
        sdp_model, sdp_name = from_npz(folder / f"{sdp_net}.npz"), SDP_NETS[sdp_net]
        Xg, yg, Xs, ys = X, y, X, y
    else:
        print(f"{folder} not found: using small random networks embedded in this script")
        rng = np.random.default_rng(0)
        grad_net, grad_name = _random_net([64, 32, 10], rng), "random 64-32-10"
        sdp_model, sdp_name = _random_net([32, 24, 16, 10], rng), "random 32-24-16-10"
        Xg = rng.random((gradcert_count, 64))
        yg = grad_net.predict(Xg)
        Xs = rng.random((count, 32))
        ys = sdp_model.predict(Xs)
    out = []
    if "grad-cert" in methods:
        n = min(gradcert_count, len(yg))
        out.append(
            {
                "method": "grad-cert",
                "network": grad_name,
                "net": grad_net,
                "X": Xg[:n],
                "y": yg[:n],
                "batch_size": 100,
                "options": {"cache_dir": cache_dir} if cache_dir else {},
                "fresh_prepare": not gradcert_cached,
            }
        )
    if "sdp-cert" in methods:
        n = min(count, len(ys))
        out.append(
            {
                "method": "sdp-cert",
                "network": sdp_name,
                "net": sdp_model,
                "X": Xs[:n],
                "y": ys[:n],
                "batch_size": 1,
                "options": {"max_iter": max_iter, "time_limit": time_limit},
                "fresh_prepare": False,
            }
        )
    return out


def _error(records: list[dict]) -> float:
    return float(np.mean([not r.get("certified", False) for r in records])) if records else float("nan")


#: the mode of the Dask runs whose scheduler is set back to Dask's default worker-saturation (``--compare-saturation``)
DASK_DEFAULT_SATURATION = "dask, saturation 1.1"
DASK_MODES = ("dask", DASK_DEFAULT_SATURATION)


def _dask_cluster(n: int, mode: str = "dask"):
    """A started LocalCluster of ``n`` one-thread processes, the package imported on its workers."""
    import dask
    import distributed

    from certifiers.engine import start_local_cluster

    cluster = start_local_cluster(n)  # what `--scheduler local` starts
    if mode == DASK_DEFAULT_SATURATION:  # Dask's own value (this process's config); read at every assignment
        cluster.scheduler.WORKER_SATURATION = dask.config.get("distributed.scheduler.worker-saturation")
    client = distributed.Client(cluster, set_as_default=False)
    client.run(_import_package)
    return cluster, client


def _cpu_seconds() -> float:
    """CPU time (user + system) of this process and of its children that have ended."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _import_package() -> None:
    import torch  # noqa: F401

    import certifiers  # noqa: F401


def _plans(w: dict, workers: int):
    """Plans of the workload's method; with ``fresh_prepare`` no cache and ``workers`` processes to prepare."""
    options = dict(w["options"], **({"cache": False} if w["fresh_prepare"] else {}))
    plans, _ = engine.plan_methods([w["method"]], workers=workers, extra={w["method"]: options})
    return plans


def _prepare(plans, net) -> tuple[float, bool | None]:
    start = time.perf_counter()
    with limit_threads(1):
        engine.prepare_methods(plans, net)
    table = getattr(plans[0].instance, "table", None)
    return time.perf_counter() - start, (bool(table(net).from_cache) if callable(table) else None)


def _calibrate() -> float:
    """Seconds of a fixed single-thread pure-Python loop: how fast the host runs right now (a shared host's
    speed drifts; the guest sees no steal time)."""
    t = time.perf_counter()
    acc = 0
    for i in range(3_000_000):
        acc += i
    return time.perf_counter() - t


def _run_config(w: dict, mode: str, k: int, plans) -> tuple[dict, list]:
    """One timed run of the workload: ``mode`` "processes" or one of :data:`DASK_MODES` with ``k`` workers."""
    load = os.getloadavg()[0]
    calibration = _calibrate()
    cluster = client = None
    prepare = from_cache = None
    cpu0 = _cpu_seconds()
    t0 = time.perf_counter()
    if mode in DASK_MODES:
        cluster, client = _dask_cluster(k, mode)
    t1 = time.perf_counter()
    try:
        if w["fresh_prepare"]:
            plans = _plans(w, k)
            prepare, from_cache = _prepare(plans, w["net"])
        out = engine.certify_examples(
            w["net"],
            w["X"],
            w["y"],
            EPS,
            plans,
            batch_size=w["batch_size"],
            threads=1,
            workers=k if mode == "processes" else 1,
            scheduler=client,
        )
    finally:
        t2 = time.perf_counter()
        if client is not None:
            client.close()
            cluster.close()
    cpu = _cpu_seconds() - cpu0  # the pool's and the cluster's processes have ended: counted
    records = out[w["method"]]
    run = {
        "start": t1 - t0 if mode in DASK_MODES else None,
        "run": t2 - t1,
        "wall": t2 - t0,
        "load1_at_start": load,
        "calibration_s": calibration,
        "cpu_seconds": cpu,
        "cores_used": cpu / (t2 - t0),
        # the examples' own times summed: against the serial run's, how much slower each example ran here
        "example_seconds": float(sum(r["time"] for r in records)),
        "certified_error": _error(records),
        "prepare": prepare,
        "prepare_from_cache": from_cache,
    }
    return run, reproducible(r for recs in out.values() for r in recs)


def run_workload(w: dict, workers: list[int], dask_workers: list[int], repeat: int,
                 compare_saturation: bool = False) -> list[dict]:
    """Every configuration ``repeat`` times, interleaved (1, 2, dask 2, 1, 2, dask 2, …), so that a drift of the
    host's speed hits all of them alike; a row reports the median of its runs and lists them all."""
    plans = _plans(w, 1)
    prepare, from_cache = (None, None) if w["fresh_prepare"] else _prepare(plans, w["net"])
    n = len(w["y"])
    what = ("pair SDPs solved inside each timing, no cache" if w["fresh_prepare"] else
            f"prepared once, {prepare:.2f} s" + ("" if from_cache is None else f" (from the cache: {from_cache})"))
    print(f"\n{w['method']} on {w['network']}: {n} examples, batches of {w['batch_size']}, {what}; {repeat} rounds")
    print(f"{'round':>5} {'mode':<20} {'workers':>7} {'start s':>8} {'run s':>8} {'wall s':>8} {'cores':>5} "
          f"{'calib s':>7} {'error':>7} {'same':>5} {'load':>5}")
    configs = [("processes", k) for k in workers]
    for k in dask_workers:  # the Dask runs on either side of the process pool of as many workers
        at = configs.index(("processes", k)) if ("processes", k) in configs else len(configs)
        configs.insert(at + 1, ("dask", k))
        if compare_saturation:
            configs.insert(at, (DASK_DEFAULT_SATURATION, k))
    runs: dict = {c: [] for c in configs}
    same: dict = {c: True for c in configs}
    serial = None
    for rnd in range(repeat):
        for mode, k in (configs if rnd % 2 == 0 else configs[::-1]):  # no configuration always first or last
            run, stripped = _run_config(w, mode, k, plans)
            if serial is None:
                serial = stripped
            same[(mode, k)] &= stripped == serial
            runs[(mode, k)].append(run)
            start_s = "" if run["start"] is None else f"{run['start']:.2f}"
            print(f"{rnd + 1:>5} {mode:<20} {k:>7} {start_s:>8} {run['run']:8.2f} {run['wall']:8.2f} "
                  f"{run['cores_used']:5.2f} {run['calibration_s']:7.3f} {100 * run['certified_error']:6.1f}% "
                  f"{'yes' if stripped == serial else 'NO':>5} {run['load1_at_start']:5.2f}", flush=True)

    def med(c, key):
        vals = [r[key] for r in runs[c] if r[key] is not None]
        return float(np.median(vals)) if vals else None

    rows = []
    for mode, k in configs:
        c = (mode, k)
        row = {
            "method": w["method"],
            "network": w["network"],
            "mode": mode,
            "workers": k,
            "examples": n,
            "batch_size": w["batch_size"],
            "rounds": repeat,
            "start": med(c, "start"),
            "run": med(c, "run"),
            "wall": med(c, "wall"),
            "walls": [r["wall"] for r in runs[c]],
            "certified_error": runs[c][0]["certified_error"],
            "same_as_serial": same[c],
            "load1_at_start": max(r["load1_at_start"] for r in runs[c]),
            "calibration_s": med(c, "calibration_s"),
            "cpu_seconds": med(c, "cpu_seconds"),
            "cores_used": med(c, "cores_used"),
            "example_seconds": med(c, "example_seconds"),
            "options": {key: v for key, v in w["options"].items() if key != "cache_dir"},
            "prepare": med(c, "prepare") if w["fresh_prepare"] else prepare,
            "prepare_in_timing": w["fresh_prepare"],
            "prepare_from_cache": runs[c][0]["prepare_from_cache"] if w["fresh_prepare"] else from_cache,
        }
        row["examples_per_s"] = n / row["wall"]
        base = med(("processes", 1), "wall")
        row["speedup"] = base / row["wall"] if base else None
        ref = med(("processes", k), "wall") if ("processes", k) in runs else None
        dask = mode in DASK_MODES
        row["dask_overhead_pct"] = 100 * (row["wall"] - ref) / ref if dask and ref else None
        row["dask_overhead_running_pct"] = 100 * (row["run"] - ref) / ref if dask and ref else None
        if dask and ("processes", k) in runs:
            # each round's Dask run against the process pool run next to it (adjacent in every round's order)
            pool = [r["wall"] for r in runs[("processes", k)]]
            row["dask_overhead_by_round_pct"] = [100 * (r["wall"] / p - 1) for r, p in zip(runs[c], pool)]
            row["dask_overhead_running_by_round_pct"] = [100 * (r["run"] / p - 1) for r, p in zip(runs[c], pool)]
        rows.append(row)
    print(f"{'mode':<20} {'workers':>7} {'median wall s':>13} {'speed-up':>8} {'Dask overhead':>13}")
    for r in rows:
        over = "" if r["dask_overhead_pct"] is None else f"{r['dask_overhead_pct']:+.1f}%"
        if r.get("dask_overhead_by_round_pct"):
            over += f" (rounds: {', '.join(f'{x:+.1f}%' for x in r['dask_overhead_by_round_pct'])})"
        print(f"{r['mode']:<20} {r['workers']:>7} {r['wall']:13.2f} {r['speedup']:8.2f} {over:>13}")
    return rows


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=16, help="sdp-cert examples (default 16)")
    parser.add_argument("--sdp-net", choices=sorted(SDP_NETS), default="grad_nn", help="sdp-cert network")
    parser.add_argument("--gradcert-count", type=int, default=10000, help="grad-cert examples (default 10000)")
    parser.add_argument("--max-iter", type=int, default=80, help="sdp-cert rounds per target (default 80)")
    parser.add_argument(
        "--time-limit", type=float, default=TIME_LIMIT,
        help=f"sdp-cert seconds per target, a cap (default {TIME_LIMIT:g})",
    )
    parser.add_argument("--methods", nargs="+", default=["grad-cert", "sdp-cert"], choices=("grad-cert", "sdp-cert"))
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2], help="worker counts (default 1 2)")
    parser.add_argument(
        "--dask-workers", type=int, nargs="*", help="worker counts of the Dask runs (default: 2)"
    )
    parser.add_argument("--no-dask", action="store_true", help="local processes only")
    parser.add_argument("--compare-saturation", action="store_true",
                        help="also run Dask with the scheduler's default worker-saturation (1.1)")
    parser.add_argument("--repeat", type=int, default=2, help="rounds over the configurations (default 2)")
    parser.add_argument("--cache-dir", help="Grad-cert pair SDP cache (default: the plugin's)")
    parser.add_argument(
        "--gradcert-cached", action="store_true", help="Grad-cert: load the pair table before timing"
    )
    parser.add_argument("--data-dir", default=str(DATA), help="networks and MNIST (default: the shared folder)")
    parser.add_argument("--out", default=str(ROOT / "bench" / "results" / "certify_throughput.json"))
    args = parser.parse_args(argv)
    if min(args.count, args.gradcert_count, args.max_iter, args.repeat) < 1 or args.time_limit <= 0:
        parser.error("--count, --gradcert-count, --max-iter, --repeat must be >= 1 and --time-limit > 0")
    if 1 not in args.workers:
        args.workers = [1, *args.workers]  # the serial baseline
    args.workers = sorted(set(args.workers))
    args.dask_workers = [max(args.workers)] if args.dask_workers is None else sorted(set(args.dask_workers))
    if any(k < 1 for k in args.workers + args.dask_workers):
        parser.error("--workers and --dask-workers must be >= 1")
    dask = not args.no_dask and bool(args.dask_workers)
    if dask:
        from certifiers.engine import is_available

        if not is_available():
            print('Dask distributed is not installed (pip install "sdpsolve[distributed]"): local processes only')
            dask = False

    info = machine()
    print(
        f"certify throughput: {info['cpu']}, {info['cpu_count']} cores, load average "
        f"{' '.join(f'{x:.2f}' for x in info['load_average_at_start'])}"
    )
    rows = []
    chosen = workloads(args.methods, data_dir=args.data_dir, sdp_net=args.sdp_net, count=args.count,
                       gradcert_count=args.gradcert_count, max_iter=args.max_iter, time_limit=args.time_limit,
                       cache_dir=args.cache_dir, gradcert_cached=args.gradcert_cached)
    for w in chosen:
        rows += run_workload(w, args.workers, args.dask_workers if dask else [], args.repeat,
                             compare_saturation=dask and args.compare_saturation)
    for r in rows:
        r["date"] = time.strftime("%Y-%m-%dT%H:%M:%S")
    path = Path(args.out)
    kept = []
    if path.exists():  # rows of the methods not run this time are kept (each row has its date and load)
        kept = [r for r in json.loads(path.read_text()).get("rows", []) if r["method"] not in args.methods]
    info["load_average_at_end"] = list(os.getloadavg())
    print(f"\nload average at the end: {' '.join(f'{x:.2f}' for x in info['load_average_at_end'])}")
    out = {
        "benchmark": "certify_throughput",
        "settings": {
            "count": args.count,
            "gradcert_count": args.gradcert_count,
            "max_iter": args.max_iter,
            "time_limit": args.time_limit,
            "eps": EPS,
            "workers": args.workers,
            "dask": dask,
            "dask_workers": args.dask_workers if dask else [],
            "compare_saturation": dask and args.compare_saturation,
            "repeat": args.repeat,
            "sdp_net": args.sdp_net,
            "threads_per_worker": 1,
            "local_scheduler_config": dict(LOCAL_SCHEDULER_CONFIG) if dask else None,
            "networks": sorted({r["network"] for r in rows}),
        },
        "machine": info,
        "date": time.strftime("%Y-%m-%dT%H:%M:%S"),
        "rows": kept + rows,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(out, indent=1))
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
