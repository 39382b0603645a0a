"""Benchmark: how much of a second core this machine gives the sdp-cert workload, and how much of it the pool gets.

``bench/certify_throughput.py`` measures the speed-up of ``sdpsolve certify --workers 2`` and finds each example
slower when two worker processes run at once than when one runs alone. This script separates what the machine
does from what the process pool does, in the same interleaved rounds:

* ``alone``: one process (spawned, one torch/BLAS thread) certifies the examples, nothing else running;
* ``two at once``: two such processes started together, each certifying the *same* examples (identical work),
  no pool and no communication between them;
* ``pool``: one process certifies the examples twice over (each example listed twice) with
  ``certify_examples(workers=2)``, the process pool of ``--workers 2``: the same work as the pair, its workers'
  start inside the timing as a user pays it;
* ``loop alone`` / ``loop two at once``: a fixed pure-Python loop (no arrays, no memory traffic) in one process
  and in two at once: the slowdown the host gives any second busy core, whatever the work.

Each process times only its certification (its start, imports and the plugin's preparation are outside the
timing; the pool's own worker processes start inside it). The per-process slowdown s = (time of a process of the
pair) / (time alone) bounds the speed-up of any two-worker split of this work on this machine at 2 / s (with a
perfect balance of work and no start-up cost); the pool's speed-up is 2 × (time alone) / (time of the pool).
Rounds are interleaved (alone, two, pool, then reversed) because the shared host drifts in speed; each row
reports the median of its runs and lists them all.

Usage::

    .venv/bin/python bench/two_process_ceiling.py [--count 6] [--sdp-net grad_nn] [--max-iter 80] [--repeat 3]

Writes ``bench/results/two_process_ceiling.json`` (section ``ceiling`` of ``bench/render_tables.py``). Uses the
shared data folder ``../shared/data/raghunathan18`` and small random networks embedded in
``bench/certify_throughput.py`` when it is absent.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.certify_throughput import EPS, SDP_NETS, machine, workloads  # noqa: E402


def _workload(sdp_net: str, count: int, max_iter: int) -> dict:
    return workloads(["sdp-cert"], sdp_net=sdp_net, count=count, max_iter=max_iter)[0]


def _certify(sdp_net: str, count: int, max_iter: int, pool: bool, ready, start, results) -> None:
    """One process: prepare, say so, wait for the start signal, certify (``pool``: every example twice, with
    ``workers=2``), report its times."""
    from certifiers import engine
    from sdpsolve import limit_threads

    w = _workload(sdp_net, count, max_iter)
    X, y = (np.concatenate([w["X"], w["X"]]), np.concatenate([w["y"], w["y"]])) if pool else (w["X"], w["y"])
    plans, _ = engine.plan_methods(["sdp-cert"], extra={"sdp-cert": w["options"]})
    with limit_threads(1):
        engine.prepare_methods(plans, w["net"])
        ready.put(True)
        start.wait()
        t = time.perf_counter()
        out = engine.certify_examples(w["net"], X, y, EPS, plans, batch_size=1, threads=1, workers=2 if pool else 1)
        wall = time.perf_counter() - t
    records = out["sdp-cert"]
    results.put({"wall": wall, "example_seconds": [r["time"] for r in records],
                 "certified": [bool(r["certified"]) for r in records]})


def _spin(ready, start, results) -> None:
    """One process: a fixed pure-Python loop (registers and the first cache level only), timed."""
    ready.put(True)
    start.wait()
    t = time.perf_counter()
    acc = 0
    for i in range(LOOP_STEPS):
        acc += i ^ (i >> 3)
    results.put({"wall": time.perf_counter() - t, "check": acc})


#: iterations of the control loop (about 2.5 s on this machine)
LOOP_STEPS = 30_000_000


def run(mode: str, sdp_net: str, count: int, max_iter: int) -> list[dict]:
    """The processes of ``mode`` (see MODES), timed from the moment all of them are ready; their reports."""
    ctx = mp.get_context("spawn")
    ready, start, results = ctx.Queue(), ctx.Event(), ctx.Queue()
    k = 2 if mode in ("two at once", "loop two at once") else 1
    if mode.startswith("loop"):
        target, args = _spin, (ready, start, results)
    else:
        target, args = _certify, (sdp_net, count, max_iter, mode == "pool", ready, start, results)
    procs = [ctx.Process(target=target, args=args) for _ in range(k)]
    for p in procs:
        p.start()
    for _ in procs:
        ready.get(timeout=600)
    start.set()
    reports = [results.get() for _ in procs]
    for p in procs:
        p.join()
        if p.exitcode != 0:
            raise RuntimeError(f"a {mode!r} process exited with {p.exitcode}")
    return reports


#: the configurations of a round, in this order in odd rounds and reversed in even ones
MODES = ("alone", "two at once", "pool", "loop alone", "loop two at once")


def _medians(runs: dict, one: str, two: str) -> tuple[float, float, list[float]]:
    """Median time of the process of ``one``, of a process of ``two``, and their ratio round by round."""
    alone = float(np.median([r[0]["wall"] for r in runs[one]]))
    pair = float(np.median([r["wall"] for reports in runs[two] for r in reports]))
    per_round = [float(np.mean([r["wall"] for r in b])) / a[0]["wall"] for a, b in zip(runs[one], runs[two])]
    return alone, pair, per_round


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--count", type=int, default=6, help="examples certified by every process (default 6)")
    ap.add_argument("--sdp-net", choices=sorted(SDP_NETS), default="grad_nn")
    ap.add_argument("--max-iter", type=int, default=80, help="rounds per target (default 80, the plugin's)")
    ap.add_argument("--repeat", type=int, default=3, help="interleaved rounds (default 3)")
    ap.add_argument("--out", default=str(ROOT / "bench" / "results" / "two_process_ceiling.json"))
    args = ap.parse_args(argv)
    for name in ("count", "max_iter", "repeat"):
        if getattr(args, name) < 1:
            ap.error(f"--{name.replace('_', '-')} must be >= 1, got {getattr(args, name)}")
    info = machine()
    network = _workload(args.sdp_net, args.count, args.max_iter)["network"]
    print(f"machine: {info['cpu']}, {info['cpu_count']} cores, load {info['load_average_at_start'][0]:.2f}")
    print(f"sdp-cert on {network}: {args.count} examples per process, {args.max_iter} rounds per target")
    runs: dict = {mode: [] for mode in MODES}
    for rnd in range(args.repeat):
        for mode in MODES if rnd % 2 == 0 else MODES[::-1]:
            reports = run(mode, args.sdp_net, args.count, args.max_iter)
            runs[mode].append(reports)
            print(f"round {rnd + 1} {mode:<17} " + ", ".join(f"{r['wall']:.1f} s" for r in reports), flush=True)
    alone, pair, per_round = _medians(runs, "alone", "two at once")
    loop_alone, loop_pair, loop_per_round = _medians(runs, "loop alone", "loop two at once")
    slowdown, loop_slowdown = pair / alone, loop_pair / loop_alone
    pool = float(np.median([r[0]["wall"] for r in runs["pool"]]))
    n = args.count  # the pool certified every example twice: both halves must give the results of the others
    certified = {tuple(c) for mode in ("alone", "two at once", "pool") for reports in runs[mode] for r in reports
                 for c in (r["certified"][:n], r["certified"][n:]) if c}
    pool_per_round = [2 * a[0]["wall"] / p[0]["wall"] for a, p in zip(runs["alone"], runs["pool"])]
    info["load_average_at_end"] = list(os.getloadavg())
    out = {"benchmark": "two_process_ceiling", "date": time.strftime("%Y-%m-%dT%H:%M:%S"), "machine": info,
           "settings": {"count": args.count, "sdp_net": args.sdp_net, "network": network, "max_iter": args.max_iter,
                        "repeat": args.repeat, "eps": EPS, "threads_per_process": 1, "loop_steps": LOOP_STEPS},
           "alone_s": alone, "two_at_once_s": pair, "pool_s": pool, "slowdown": slowdown,
           "slowdown_per_round": per_round, "speedup_ceiling": 2.0 / slowdown,
           "pool_speedup": 2.0 * alone / pool, "pool_speedup_per_round": pool_per_round,
           "pool_share_of_ceiling": (2.0 * alone / pool) / (2.0 / slowdown),
           "loop_slowdown": loop_slowdown, "loop_slowdown_per_round": loop_per_round,
           "same_results": len(certified) == 1, "runs": runs}
    print(f"alone {alone:.1f} s, each of two at once {pair:.1f} s (median): slowdown {100 * (slowdown - 1):+.1f}% "
          f"(rounds {', '.join(f'{100 * (s - 1):+.1f}%' for s in per_round)}); ceiling of a 2-worker speed-up "
          f"{2 / slowdown:.2f}x; the pool {pool:.1f} s for twice the examples: {2 * alone / pool:.2f}x "
          f"(rounds {', '.join(f'{x:.2f}' for x in pool_per_round)}); the pure-Python loop "
          f"{100 * (loop_slowdown - 1):+.1f}% with two at once; same results in every process: {len(certified) == 1}")
    Path(args.out).write_text(json.dumps(out, indent=1))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
