"""Benchmark: sdpsolve against CVXPY + SCS and CVXPY + Clarabel, side by side in one run.

Problem (P): maximise <M, P> s.t. P ⪰ 0, P_ii ≤ 1 (i ∉ E), P_ii = 1 (i ∈ E).

Instances
---------
* small (all three solvers, n ≤ ``--max-cvxpy-n``): dense symmetric Gaussian M = (A + Aᵀ)/√(2n) with E = ∅ and
  E = all, and certificate-structured matrices (SPEC §3: random W ∈ R^{m×d}, v ∈ R^m, n = 1 + d + m, E = ∅),
  for n in ``--sizes`` (default 50 100 150);
* large (sdpsolve alone): the same families for n in ``--large-sizes`` (default 1000 2000 5000);
* the 1285×1285 Grad-NN certificate matrix for classes 0 vs 1 (``grad_nn.npz`` of the shared data;
  skipped with a message when absent);
* with ``--big``: sparse MAXCUT graphs in the G-set style, written as G-set files and read back with
  :func:`sdpsolve._io.load_problem` (a G81-like ±1 toroidal grid and a random graph, n = 20000, E = all).

Columns
-------
``time`` is wall time (for CVXPY: the whole ``Problem.solve`` call, canonicalisation included; the solver's
own time is in the JSON as ``solver_time``; one untimed warm-up call of each solver runs first, so numba
compilation and imports are not counted). ``objective/lower``: for sdpsolve the value of its feasible
factor (a proved lower bound up to rounding); for CVXPY the primal objective of the solver's (slightly
infeasible) point. ``upper``: for sdpsolve its rigorous bound; for CVXPY the rigorous bound U(c, t) of
SPEC §1.1 computed by ``sdpsolve.dual_bound`` from the solver's dual multipliers c (time not counted).
``rel gap`` = (upper − objective)/max(1, |upper|). ``dist best`` = |objective − best|/max(1, |best|),
where ``best`` is the Clarabel objective (accurate to ~1e-8) when Clarabel ran on the instance; otherwise
"-" (no independent reference: judge by the gap between the two bounds).

Usage
-----
    .venv/bin/python bench/solver_vs_cvxpy.py --quick          # smoke run, ~1 minute
    .venv/bin/python bench/solver_vs_cvxpy.py --big            # full run (tens of minutes)

Results go to ``bench/results/solver_vs_cvxpy.json`` (``..._quick.json`` with ``--quick``), rewritten after
every row so an interrupted run keeps what it measured.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import scipy.sparse as sp

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import sdpsolve  # noqa: E402
from bench._machine import code_commit, cpu_model  # noqa: E402
from sdpsolve._io import load_problem, write_gset  # noqa: E402

DEFAULT_GRAD_NN = ROOT.parent / "shared" / "data" / "raghunathan18" / "grad_nn.npz"


# -- machine ---------------------------------------------------------------------------------------------
def machine_info() -> dict:
    """CPU model, core counts and library versions."""
    cpu = cpu_model()
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        usable = os.cpu_count()
    versions = {
        "python": platform.python_version(),
        "numpy": np.__version__,
        "sdpsolve": sdpsolve.__version__,
    }
    for mod in ("scipy", "cvxpy", "clarabel", "scs"):
        try:
            versions[mod] = __import__(mod).__version__
        except Exception:  # noqa: BLE001 - a missing optional package is only reported
            versions[mod] = None
    commit = code_commit() or ""
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "usable_cores": usable,
        "platform": platform.platform(),
        "versions": versions,
        "commit": commit or None,
    }


# -- instances -------------------------------------------------------------------------------------------
def gaussian(n: int, rng: np.random.Generator) -> np.ndarray:
    """Dense symmetric Gaussian M = (A + Aᵀ)/√(2n)."""
    A = rng.standard_normal((n, n))
    return (A + A.T) / math.sqrt(2.0 * n)


def certificate_matrix(W: np.ndarray, v: np.ndarray) -> np.ndarray:
    """SPEC §3: n = 1 + d + m, M[0, 1:1+d] = (Wᵀv)ᵀ, M[1:1+d, 1+d:] = Wᵀ diag(v), transposes, else 0."""
    m, d = W.shape
    n = 1 + d + m
    M = np.zeros((n, n))
    a = W.T @ v
    M[0, 1 : 1 + d] = a
    M[1 : 1 + d, 0] = a
    A = W.T * v
    M[1 : 1 + d, 1 + d :] = A
    M[1 + d :, 1 : 1 + d] = A.T
    return M


def random_certificate(n: int, rng: np.random.Generator) -> np.ndarray:
    """Certificate-structured matrix of size n with W ~ N(0, 1/d) (m×d, d = ⌊(n−1)/2⌋) and v ~ N(0, 1)."""
    d = (n - 1) // 2
    m = n - 1 - d
    return certificate_matrix(rng.standard_normal((m, d)) / math.sqrt(d), rng.standard_normal(m))


def grad_nn_matrix(path: Path, i: int = 0, j: int = 1) -> np.ndarray:
    """The Grad-NN certificate matrix (W = W0, v = V_i − V_j with V = W1), n = 1 + 784 + 500 = 1285."""
    with np.load(path) as z:
        W = np.asarray(z["W0"], dtype=np.float64)
        V = np.asarray(z["W1"], dtype=np.float64)
    return certificate_matrix(W, V[i] - V[j])


def torus_pm1_edges(rows: int, cols: int, rng: np.random.Generator) -> np.ndarray:
    """G81-style toroidal grid with random ±1 weights (0-based edges, shape (2·rows·cols, 3))."""
    idx = np.arange(rows * cols).reshape(rows, cols)
    right = np.column_stack([idx.ravel(), np.roll(idx, -1, axis=1).ravel()])
    down = np.column_stack([idx.ravel(), np.roll(idx, -1, axis=0).ravel()])
    ij = np.vstack([right, down])
    w = rng.choice([-1.0, 1.0], size=ij.shape[0])
    return np.column_stack([ij, w])


def random_graph_edges(n: int, m: int, rng: np.random.Generator) -> np.ndarray:
    """A random simple graph with about m unit-weight edges (G-set 'rudy'-like)."""
    i = rng.integers(0, n, size=int(m * 1.1) + 10)
    j = rng.integers(0, n, size=i.size)
    keep = i != j
    pairs = np.unique(np.sort(np.column_stack([i[keep], j[keep]]), axis=1), axis=0)
    pairs = pairs[rng.permutation(len(pairs))[:m]]
    return np.column_stack([pairs, np.ones(len(pairs))])


# -- solvers ---------------------------------------------------------------------------------------------
def run_sdpsolve(M, equal, rtol: float, seed: int, time_limit: float | None) -> dict:
    t0 = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = sdpsolve.solve(M, equal=equal, rtol=rtol, bound="rigorous", rng=seed, time_limit=time_limit)
    wall = time.perf_counter() - t0
    notes = [f"{res.status.value}"] + [str(w.message).split(":")[0] for w in caught]
    return {
        "solver": f"sdpsolve rtol={rtol:g}",
        "time": wall,
        "solver_time": res.time,
        "objective": res.lower,
        "upper": res.upper,
        "bound_kind": res.bound_kind,
        "method": res.method,
        "n_matvec": res.n_matvec,
        "n_iter": res.n_iter,
        "status": res.status.value,
        "note": "; ".join(notes) + ("" if res.bound_kind == "rigorous" else f"; {res.bound_kind} bound"),
    }


def run_cvxpy(M: np.ndarray, equal, solver: str, time_limit: float) -> dict:
    import cvxpy as cp

    n = M.shape[0]
    P = cp.Variable((n, n), PSD=True)
    d = cp.diag(P)
    con = (d == 1) if equal == "all" else (d <= 1)
    prob = cp.Problem(cp.Maximize(cp.trace(M @ P)), [con])
    if solver == "SCS":
        opts = {"eps_abs": 1e-6, "eps_rel": 1e-6, "max_iters": 100_000, "time_limit_secs": time_limit}
        label = "CVXPY+SCS eps=1e-6"
    else:
        opts = {"time_limit": time_limit}
        label = "CVXPY+Clarabel"
    t0 = time.perf_counter()
    prob.solve(solver=solver, **opts)
    wall = time.perf_counter() - t0
    row = {
        "solver": label,
        "time": wall,
        "solver_time": prob.solver_stats.solve_time,
        "objective": None if prob.value is None else float(prob.value),
        "upper": None,
        "bound_kind": None,
        "n_iter": prob.solver_stats.num_iters,
        "status": prob.status,
        "note": prob.status,
    }
    if con.dual_value is not None:
        y = np.asarray(con.dual_value, dtype=np.float64).ravel()
        b = sdpsolve.dual_bound(M, y, equal=equal, kind="rigorous")
        row["upper"] = b.value
        row["bound_kind"] = b.kind
        row["note"] += "; upper = rigorous bound from its dual"
    return row


def warm_up(args) -> None:
    """Untimed calls that trigger imports and numba compilation (dense and sparse paths, both E)."""
    rng = np.random.default_rng(12345)
    for M in (gaussian(30, rng), sp.csr_matrix(gaussian(30, rng))):
        for equal in (None, "all"):
            _safe(run_sdpsolve, M, equal, 1e-4, 0, None, label="warm-up")
    if args.max_cvxpy_n > 0:
        for solver in ("CLARABEL", "SCS"):
            _safe(run_cvxpy, gaussian(5, rng), None, solver, 60.0, label="warm-up")


# -- driver ----------------------------------------------------------------------------------------------
HEADER = (
    f"{'instance':<28} {'n':>6} {'solver':<22} {'time s':>8} {'objective/lower':>17} {'upper':>17} "
    f"{'rel gap':>9} {'dist best':>9}  note"
)


def _fmt(x, spec: str) -> str:
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return format("-", ">" + spec.split(".")[0])
    return format(x, spec)


class Recorder:
    """Prints rows as they come and rewrites the JSON file after each."""

    def __init__(self, out: Path, machine: dict, args: dict):
        self.out = out
        self.doc = {
            "machine": machine,
            "args": args,
            "started": time.strftime("%Y-%m-%d %H:%M:%S"),
            "rows": [],
        }

    def add(self, instance: str, n: int, equal, row: dict, best: float | None) -> None:
        obj, up = row.get("objective"), row.get("upper")
        gap = None if obj is None or up is None else (up - obj) / max(1.0, abs(up))
        dist = None if obj is None or best is None else abs(obj - best) / max(1.0, abs(best))
        row = {
            "instance": instance,
            "n": n,
            "equal": equal,
            **row,
            "rel_gap": gap,
            "best": best,
            "dist_best": dist,
        }
        self.doc["rows"].append(row)
        print(
            f"{instance:<28} {n:>6} {row['solver']:<22} {_fmt(row['time'], '8.2f')} {_fmt(obj, '17.9g')} "
            f"{_fmt(up, '17.9g')} {_fmt(gap, '9.2e')} {_fmt(dist, '9.2e')}  {row.get('note', '')}",
            flush=True,
        )
        self.save()

    def save(self) -> None:
        self.out.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.out.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(_clean(self.doc), indent=1))
        tmp.replace(self.out)


def _clean(obj):
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, dict):
        return {k: _clean(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_clean(v) for v in obj]
    if isinstance(obj, np.generic):
        return obj.item()
    return obj


def _safe(fn, *a, label: str) -> dict:
    try:
        return fn(*a)
    except Exception as exc:  # noqa: BLE001 - one failing solver must not end the comparison
        return {
            "solver": label,
            "time": None,
            "objective": None,
            "upper": None,
            "note": f"ERROR {exc!r}"[:200],
        }


def bench_instance(rec: Recorder, name: str, M, equal, args, *, with_cvxpy: bool, rtols) -> None:
    n = M.shape[0]
    rows = []
    if with_cvxpy:
        for solver in ("CLARABEL", "SCS"):
            rows.append(_safe(run_cvxpy, M, equal, solver, args.cvxpy_time_limit, label=f"CVXPY+{solver}"))
    for rtol in rtols:
        rows.append(
            _safe(run_sdpsolve, M, equal, rtol, args.seed, args.time_limit, label=f"sdpsolve rtol={rtol:g}")
        )
    best = None
    clar = rows[0] if with_cvxpy else None
    if clar is not None and clar.get("status") == "optimal" and clar.get("objective") is not None:
        best = clar["objective"]
    for row in rows:
        rec.add(name, n, equal, row, best)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="small smoke run (sizes 20 40 / 300; big n = 2000)")
    ap.add_argument(
        "--big", action="store_true", help="also the sparse G-set-style MAXCUT graphs (n = 20000)"
    )
    ap.add_argument("--sizes", type=int, nargs="+", help="n of the small instances (default 50 100 150)")
    ap.add_argument(
        "--large-sizes", type=int, nargs="+", help="n of sdpsolve-only instances (default 1000 2000 5000)"
    )
    ap.add_argument("--max-cvxpy-n", type=int, default=150, help="largest n given to CVXPY (default 150)")
    ap.add_argument(
        "--rtol", type=float, nargs="+", default=[1e-4, 1e-6], help="sdpsolve rtol(s), small instances"
    )
    ap.add_argument("--rtol-large", type=float, default=1e-4, help="sdpsolve rtol on the large instances")
    ap.add_argument("--time-limit", type=float, default=None, help="sdpsolve time limit per run (s)")
    ap.add_argument("--cvxpy-time-limit", type=float, default=1800.0, help="CVXPY solver time limit (s)")
    ap.add_argument("--no-large", action="store_true", help="only the small instances (no large sizes, no Grad-NN)")
    ap.add_argument("--grad-nn", type=Path, default=DEFAULT_GRAD_NN, help="path of grad_nn.npz")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument(
        "--out", type=Path, help="JSON output (default bench/results/solver_vs_cvxpy[_quick].json)"
    )
    args = ap.parse_args(argv)

    sizes = args.sizes or ([20, 40] if args.quick else [50, 100, 150])
    large = [] if args.no_large else args.large_sizes or ([300] if args.quick else [1000, 2000, 5000])
    big_n = 2000 if args.quick else 20000
    out = args.out or ROOT / "bench" / "results" / (
        "solver_vs_cvxpy_quick.json" if args.quick else "solver_vs_cvxpy.json"
    )

    machine = machine_info()
    print(
        f"machine: {machine['cpu']}, {machine['cores']} cores ({machine['usable_cores']} usable); "
        f"{machine['platform']}"
    )
    print(
        "versions: "
        + ", ".join(f"{k} {v}" for k, v in machine["versions"].items())
        + f"; commit {machine['commit']}"
    )
    print(f"results: {out}\n")
    rec = Recorder(out, machine, {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()})
    warm_up(args)
    print(HEADER)

    families = (
        ("gauss_E_none", gaussian, None),
        ("gauss_E_all", gaussian, "all"),
        ("cert_E_none", random_certificate, None),
    )
    for n in sizes:
        for k, (fam, make, equal) in enumerate(families):
            M = make(n, np.random.default_rng([args.seed, n, k]))
            bench_instance(
                rec, f"{fam}_n{n}", M, equal, args, with_cvxpy=n <= args.max_cvxpy_n, rtols=args.rtol
            )
    for n in large:
        for k, (fam, make, equal) in enumerate(families):
            M = make(n, np.random.default_rng([args.seed, n, k]))
            bench_instance(
                rec, f"{fam}_n{n}", M, equal, args, with_cvxpy=n <= args.max_cvxpy_n, rtols=[args.rtol_large]
            )
            del M

    if args.no_large:
        pass
    elif args.grad_nn.exists():
        M = grad_nn_matrix(args.grad_nn, 0, 1)
        bench_instance(rec, "grad_nn_cert_0v1", M, None, args, with_cvxpy=False, rtols=[args.rtol_large])
    else:
        print(f"{'grad_nn_cert_0v1':<28} skipped: {args.grad_nn} not found", flush=True)

    if args.big:
        rng = np.random.default_rng([args.seed, 99])
        rows = 50 if args.quick else 100
        graphs = (
            (f"torus_pm1_n{big_n}", torus_pm1_edges(rows, big_n // rows, rng)),
            (f"random_graph_n{big_n}", random_graph_edges(big_n, 3 * big_n, rng)),
        )
        with tempfile.TemporaryDirectory() as d:
            for name, edges in graphs:
                path = Path(d) / f"{name}.txt"
                write_gset(path, big_n, edges)
                t0 = time.perf_counter()
                M, equal = load_problem(path)
                print(
                    f"{name:<28} G-set file with {len(edges)} edges read in {time.perf_counter() - t0:.2f} s"
                )
                assert sp.issparse(M) and equal == "all"
                bench_instance(rec, name, M, equal, args, with_cvxpy=False, rtols=[args.rtol_large])

    rec.doc["finished"] = time.strftime("%Y-%m-%d %H:%M:%S")
    rec.save()
    print(f"\nwrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
