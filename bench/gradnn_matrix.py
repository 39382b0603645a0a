"""Time sdpsolve.solve on the 1285×1285 Grad-NN certificate matrix (classes 0 vs 1) given as a dense array.

Issue target: relative gap ≤ 1e-4 with a rigorous bound in under 1 s on 2 cores. One untimed warm-up run (numba
compilation / cache load), then ``--repeats`` seeded runs for 1 and 2 BLAS threads. Usage::

    .venv/bin/python bench/gradnn_matrix.py

Writes bench/results/gradnn_matrix.json.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import sdpsolve  # noqa: E402
from bench.solver_vs_cvxpy import grad_nn_matrix, machine_info  # noqa: E402

DATA = ROOT.parent / "shared" / "data" / "raghunathan18" / "grad_nn.npz"


def main(argv=None) -> int:
    import argparse

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--out", default=str(ROOT / "bench" / "results" / "gradnn_matrix.json"))
    args = ap.parse_args(argv)
    if not DATA.exists():
        print(f"{DATA} not found", file=sys.stderr)
        return 2
    M = grad_nn_matrix(DATA, 0, 1)
    sdpsolve.solve(M)
    rows = []
    load = os.getloadavg()[0]
    for threads in (1, 2):
        for seed in range(args.repeats):
            t = time.perf_counter()
            r = sdpsolve.solve(M, rng=seed, options={"blas_threads": threads})
            el = time.perf_counter() - t
            rows.append({"blas_threads": threads, "seed": seed, "time": el, "gap": r.gap, "upper": r.upper,
                         "lower": r.lower, "bound_kind": r.bound_kind, "status": r.status.value,
                         "n_iter": r.n_iter, "n_matvec": r.n_matvec})
            print(f"threads {threads} seed {seed}: {el:.2f} s, gap {r.gap:.1e}, {r.bound_kind}, {r.status.value}")
    out = {"machine": machine_info(), "load_average_at_start": load, "n": M.shape[0], "rows": rows}
    Path(args.out).write_text(json.dumps(out, indent=1, default=str))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
