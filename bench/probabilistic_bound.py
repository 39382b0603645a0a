"""The probabilistic bound where no factor is used: plain Lanczos against Lanczos on a Chebyshev filter.

For each graph, the MAXCUT SDP is solved with ``sdpsolve.solve(..., rtol=1e-4)`` (rigorous: its certified
t ≥ λ_max(M − diag c) at the returned dual point c is the reference, proved by a Cholesky factorisation). At
that c, t is then bounded with probability ≥ 1 − δ (δ = 1e-9) from products only, as ``compute_bound`` does
when no factorisation fits: a block-Lanczos Ritz value θ, then the proved shift σ = ||M|| bound + max|c| and
the Kuczyński–Woźniakowski number of steps for the slack ``--slack`` · |U| (``probabilistic_budget``); then

* plain: that many fully reorthogonalised Lanczos steps (capped at 4,000, as before the filter;
  ``sdpsolve._bounds.probabilistic_lambda_max_upper``; not run above ``--plain-max-n``), and
* filtered: Lanczos on p(A), p(x) = 1 + T_d(2x/a − 1), A = M − diag c + σI, with at most 150 Krylov vectors and
  about as many products (``sdpsolve._bounds.filtered_lambda_max_upper``, what ``compute_bound`` now runs),

each timed and paired with t − t_rigorous and the relative gap of its U(c, t) to the primal value.

Usage::

    .venv/bin/python bench/probabilistic_bound.py [--quick]

Writes bench/results/probabilistic_bound.json (section ``probabilistic-bound`` of bench/render_tables.py).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import sdpsolve  # noqa: E402
from bench._machine import code_commit, machine_record  # noqa: E402
from sdpsolve import graphs  # noqa: E402
from sdpsolve._bounds import (  # noqa: E402
    ShiftedOperator,
    bound_value,
    filtered_lambda_max_upper,
    probabilistic_budget,
    probabilistic_lambda_max_upper,
)
from sdpsolve._eigen import lanczos  # noqa: E402

OUT = ROOT / "bench" / "results" / "probabilistic_bound.json"
DELTA = 1e-9
PLAIN_MAX_STEPS = 4000


def graphs_to_run(quick: bool):
    out = [("random 5000, m 12498 (G55-like)", lambda: graphs.random_graph(5000, edges=12498, rng=55)),
           ("random 20000, m 40000", lambda: graphs.random_graph(20000, edges=40000, rng=81))]
    if not quick:
        out.append(("planar 100000 (Delaunay)", lambda: graphs.planar_graph(100_000, edges=280_000, rng=101)))
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="skip the n = 10⁵ graph")
    ap.add_argument("--slack", type=float, default=1e-4, help="relative slack of U the bound may use (1e-4)")
    ap.add_argument("--plain-max-n", type=int, default=20000,
                    help="largest n for plain Lanczos (at n = 10⁵ its 4,000 vectors take 3.2 GB and ~10¹² flops)")
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args(argv)
    out = {"command": "bench/probabilistic_bound.py " + " ".join(argv if argv is not None else sys.argv[1:]),
           "machine": machine_record(), "date": time.strftime("%Y-%m-%d %H:%M"), "commit": code_commit(),
           "delta": DELTA, "slack": args.slack, "rows": []}
    for name, make in graphs_to_run(args.quick):
        g = make()
        M = g.maxcut_matrix()
        n = g.n
        mask = np.ones(n, dtype=bool)
        res = sdpsolve.solve(M, equal="all", rtol=1e-4, rng=0)
        c = np.asarray(res.dual, dtype=np.float64)
        op = sdpsolve.as_operator(M)
        B = ShiftedOperator(op, c)
        t0 = time.perf_counter()
        est = lanczos(B, n, k=1, block_size=4, tol=1e-8, maxiter=500, rng=np.random.default_rng(0), check_every=1)
        theta = float(est.values[0])
        t_ritz = time.perf_counter() - t0
        sigma, wanted = probabilistic_budget(op, c, mask, theta, args.slack * abs(res.lower), DELTA)
        row = {"instance": name, "n": n, "edges": g.m, "lower": res.lower, "t_rigorous": res.lambda_max_upper,
               "sigma": sigma, "kw_steps": wanted, "ritz_seconds": t_ritz, "ritz": theta}
        for label in ("filtered", "plain") if n <= args.plain_max_n else ("filtered",):
            gen = np.random.default_rng(1)
            t0 = time.perf_counter()
            if label == "filtered":
                t, _, products, degree = filtered_lambda_max_upper(B, n, sigma, theta, delta=DELTA, steps=wanted,
                                                                   rng=gen)
            else:
                steps = min(wanted, PLAIN_MAX_STEPS, n)
                t, _, products = probabilistic_lambda_max_upper(B, n, sigma, delta=DELTA, steps=steps, rng=gen)
                degree = 1
            seconds = time.perf_counter() - t0
            t = max(t, theta)
            value = bound_value(c, t, mask)
            row[label] = {"seconds": seconds, "t": t, "products": int(products), "degree": degree,
                          "t_minus_rigorous": t - res.lambda_max_upper,
                          "gap": (value - res.lower) / max(1.0, abs(value))}
            print(f"{name:32s} {label:8s} {seconds:8.2f} s  t − t_rig {t - res.lambda_max_upper:.2e}  gap "
                  f"{row[label]['gap']:.2e}  products {products} (degree {degree})", flush=True)
        out["rows"].append(row)
        out["machine"]["load_average_at_end"] = list(__import__("os").getloadavg())
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(out, indent=1) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
