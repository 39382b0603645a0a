"""Benchmark: the 45 Grad-cert pair SDPs of Grad-NN (784-500-10), and the certificate they give.

Times :func:`certifiers._gradcert.pair_sdp_values` (no cache) at ``--rtol`` with ``--bound`` bounds, prints
one row per class pair (time, products, lower/upper bound, relative gap) and a summary, and writes
``bench/results/gradcert_pairs.json`` with the machine stated. Every timing is paired with the accuracy
reached: the gap of each SDP, and the certified error of Grad-NN at ε = 0.1 on the 10,000 MNIST test images
(SPEC §6: the ICLR paper reports 35%).

Usage::

    .venv/bin/python bench/gradcert_pairs.py [--rtol 1e-4] [--bound rigorous] [--engine numba]
                                             [--blas-threads N]

``--blas-threads N`` caps the BLAS thread pools (threadpoolctl) for the run; the default leaves them as
they are. On a small shared machine multi-threaded BLAS can be several times slower than one thread.
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

from bench._machine import cpu_model  # noqa: E402
from certifiers._gradcert import ENGINES, pair_sdp_values  # noqa: E402
from certifiers._network import from_npz  # noqa: E402

DATA = ROOT.parent / "shared" / "data" / "raghunathan18"


def machine() -> dict:
    """What the timings were taken on."""
    cpu = cpu_model()
    info = {
        "platform": platform.platform(),
        "python": platform.python_version(),
        "cpu": cpu,
        "cpu_count": os.cpu_count(),
        "affinity": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "numpy": np.__version__,
        "thread_env": {
            k: os.environ[k] for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS") if k in os.environ
        },
    }
    try:
        from threadpoolctl import threadpool_info

        info["threadpools"] = [
            {"api": p.get("internal_api"), "num_threads": p.get("num_threads"), "version": p.get("version")}
            for p in threadpool_info()
        ]
    except ImportError:
        pass
    return info


def certified_error(net, table, eps: float) -> dict:
    data = np.load(DATA / "mnist_test.npz")
    X = data["X"].astype(np.float64)
    y = data["y"].astype(np.int64)
    logits = net.logits(X)
    margins = logits - logits[np.arange(len(y)), y][:, None]
    B = margins + (eps / 4.0) * table.S[:, y].T
    B[np.arange(len(y)), y] = -np.inf
    certified = (B.max(axis=1) < 0) & (logits.argmax(axis=1) == y)
    return {
        "eps": eps,
        "n": int(len(y)),
        "clean_error": float(np.mean(logits.argmax(axis=1) != y)),
        "certified_error": float(1.0 - certified.mean()),
        "paper_certified_error": 0.35,
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=str(DATA / "grad_nn.npz"))
    parser.add_argument("--rtol", type=float, default=1e-4)
    parser.add_argument("--bound", default="rigorous", choices=("rigorous", "probabilistic"))
    parser.add_argument("--engine", default="numba", choices=ENGINES)
    parser.add_argument("--blas-threads", type=int, default=None, help="cap the BLAS thread pools")
    parser.add_argument("--workers", type=int, default=1, help="processes solving pairs in parallel")
    parser.add_argument("--out", default=str(ROOT / "bench" / "results" / "gradcert_pairs.json"))
    args = parser.parse_args(argv)

    model = Path(args.model)
    if not model.exists():
        print(f"model file not found: {model} (the shared data folder is needed for this benchmark)")
        return 1
    net = from_npz(model)
    print(
        f"Grad-cert pair SDPs of {model.name} ({'-'.join(map(str, net.layer_sizes))}), rtol {args.rtol:g}, "
        f"{args.bound} bounds, engine {args.engine}, no cache, BLAS threads {args.blas_threads or 'default'}"
    )

    # compile the numba kernel outside the timing (first use of a cached compilation is still a load)
    from certifiers._gradcert import GradCertOperator

    GradCertOperator(net.weights[0][:2, :2], np.ones(2), engine=args.engine).matmat(np.ones((5, 3)))
    GradCertOperator(net.weights[0][:2, :2], np.ones(2), engine=args.engine).matmat(np.ones(5))

    limiter = None
    if args.blas_threads is not None:
        from threadpoolctl import threadpool_limits

        limiter = threadpool_limits(limits=args.blas_threads, user_api="blas")
    start = time.perf_counter()
    table = pair_sdp_values(net, rtol=args.rtol, bound=args.bound, cache=False, engine=args.engine,
                            workers=args.workers)
    wall = time.perf_counter() - start
    if limiter is not None:
        limiter.restore_original_limits()

    rows = []
    print(f"{'pair':>7} {'time s':>8} {'products':>9} {'lower':>12} {'upper':>12} {'gap':>9} conv")
    for i, j in table.pairs():
        row = {
            "pair": [i, j],
            "time": float(table.time[i, j]),
            "n_matvec": int(table.n_matvec[i, j]),
            "lower": float(table.lower[i, j]),
            "upper": float(table.S[i, j]),
            "gap": float(table.gap[i, j]),
            "converged": bool(table.converged[i, j]),
        }
        rows.append(row)
        print(
            f"{i:>3},{j:<3} {row['time']:8.3f} {row['n_matvec']:9d} "
            f"{row['lower']:12.6f} {row['upper']:12.6f} "
            f"{row['gap']:9.2e} {'yes' if row['converged'] else 'NO'}"
        )
    times = np.array([r["time"] for r in rows])
    gaps = np.array([r["gap"] for r in rows])
    cert = certified_error(net, table, 0.1) if (DATA / "mnist_test.npz").exists() else None
    summary = {
        "pairs": len(rows),
        "wall_time": wall,
        "sum_pair_time": float(times.sum()),
        "median_pair_time": float(np.median(times)),
        "max_pair_time": float(times.max()),
        "max_gap": float(gaps.max()),
        "all_converged": bool(table.converged.all()),
        "bound_kind": table.bound_kind,
        "failure_probability": table.failure_probability,
        "target_wall_time": 30.0,
    }
    print(
        f"\n{len(rows)} pairs in {wall:.2f} s wall (sum {times.sum():.2f} s, "
        f"median {np.median(times):.3f} s, "
        f"max {times.max():.3f} s); max gap {gaps.max():.2e}; bounds {table.bound_kind}; "
        f"all converged: {summary['all_converged']}"
    )
    if cert:
        print(
            f"Grad-NN at eps = 0.1 on {cert['n']} MNIST test images: clean error {cert['clean_error']:.2%}, "
            f"Grad-cert certified error {cert['certified_error']:.2%} (paper: 35%)"
        )
    out = {
        "benchmark": "gradcert_pairs",
        "model": model.name,
        "settings": {
            "rtol": args.rtol,
            "bound": args.bound,
            "engine": args.engine,
            "cache": False,
            "blas_threads": args.blas_threads,
            "workers": args.workers,
        },
        "machine": machine(),
        "date": time.strftime("%Y-%m-%dT%H:%M:%S"),
        "summary": summary,
        "certificate": cert,
        "pairs": rows,
    }
    path = Path(args.out)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(out, indent=1))
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
