"""Benchmark: MAXCUT SDPs of G-set-like graphs, sdpsolve against the Mixing method's C code and CVXPY + SCS.

Side by side in one run, per graph:

* **sdpsolve**: ``sdpsolve.solve(L/4, equal="all", rtol=1e-4)`` — wall time to a *certified* relative gap
  (U − L)/max(1, |U|) ≤ 1e-4, the upper bound U of the kind stated (rigorous: a dense Cholesky, or the envelope
  of a sparse matrix under reverse Cuthill–McKee; probabilistic where no factor fits). One untimed warm-up solve
  first (numba compilation).
* **Mixing** (Wang, Chang & Kolter 2017; C code, primal only, no bound): built by this script from its public
  source (``--mixing-src``: a checkout or a git directory holding ``mixing.c``, compiled with the flags of its
  Makefile), run as ``mixing -s maxcut -e 0 -t max FILE`` on the G-set file, its per-sweep output read as it
  comes; the time is its own clock (after reading the file) at the first sweep whose value reaches the same
  primal accuracy as sdpsolve's, value ≥ U·(1 − 1e-4) with sdpsolve's certified U — then it is stopped. Rank:
  its default ⌈√(2n)⌉. Without the source the column says so.
* **CVXPY + SCS** (n ≤ ``--max-scs-n``): ``eps_abs = eps_rel = 1e-4``, wall time of ``Problem.solve`` (capped
  at ``--scs-time-limit`` seconds; its status says whether it finished) and its objective's relative distance
  below U.

Graphs (:mod:`sdpsolve.graphs`, seeded; G-set-like, not the G-set's own): random graphs with the densities of
G1/G22/G43/G55/G60/G70, ±1 tori of the sizes of G11/G57/G62/G72/G81, Delaunay planar graphs; ``--huge`` adds a
±1 torus and a planar graph with n ≈ 10⁵ (sdpsolve only: the Mixing method's solution file alone would take
about 1 GB there).

Usage::

    .venv/bin/python bench/maxcut_vs_mixing.py --mixing-src PATH --quick     # n ≤ 2,000, a minute
    .venv/bin/python bench/maxcut_vs_mixing.py --mixing-src PATH             # n up to 20,000
    .venv/bin/python bench/maxcut_vs_mixing.py --mixing-src PATH --huge-only # then n ≈ 10⁵, rows added

Results: ``bench/results/maxcut_vs_mixing.json`` (rewritten after every graph), rendered by
``bench/render_tables.py`` (section ``maxcut``).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import sdpsolve  # noqa: E402
from bench._machine import code_commit, cpu_model  # noqa: E402
from sdpsolve import graphs  # noqa: E402

RTOL = 1e-4
OUT = ROOT / "bench" / "results" / "maxcut_vs_mixing.json"


HUGE = [
    ("torus 316x317 ±1", lambda: graphs.toroidal_grid(316, 317, rng=100)),
    ("planar 100000 (Delaunay)", lambda: graphs.planar_graph(100_000, edges=280_000, rng=101)),
]


def instances(quick: bool, huge: bool) -> list[tuple[str, object]]:
    """(name, factory) per graph; each factory draws its graph from a fixed seed."""
    out = [
        ("random 800, 6% (G1-like)", lambda: graphs.random_graph(800, density=0.06, rng=1)),
        ("torus 20x40 ±1 (G11-like)", lambda: graphs.toroidal_grid(20, 40, rng=11)),
        ("planar 800 (Delaunay)", lambda: graphs.planar_graph(800, edges=2000, rng=14)),
        ("random 1000, 2% ±1 (G43-like)", lambda: graphs.random_graph(1000, density=0.02, weights="pm1", rng=43)),
        ("random 2000, 1% (G22-like)", lambda: graphs.random_graph(2000, density=0.01, rng=22)),
    ]
    if quick:
        return out
    out += [
        ("random 5000, m 12498 (G55-like)", lambda: graphs.random_graph(5000, edges=12498, rng=55)),
        ("torus 50x100 ±1 (G57-like)", lambda: graphs.toroidal_grid(50, 100, rng=57)),
        ("planar 5000 (Delaunay)", lambda: graphs.planar_graph(5000, edges=14000, rng=58)),
        ("random 7000, m 17148 (G60-like)", lambda: graphs.random_graph(7000, edges=17148, rng=60)),
        ("torus 70x100 ±1 (G62-like)", lambda: graphs.toroidal_grid(70, 100, rng=62)),
        ("random 10000, m 9999 (G70-like)", lambda: graphs.random_graph(10000, edges=9999, rng=70)),
        ("torus 100x100 ±1 (G72-like)", lambda: graphs.toroidal_grid(100, 100, rng=72)),
        ("torus 100x200 ±1 (G81-like)", lambda: graphs.toroidal_grid(100, 200, rng=81)),
        ("planar 20000 (Delaunay)", lambda: graphs.planar_graph(20000, edges=56000, rng=20)),
        ("random 20000, m 40000", lambda: graphs.random_graph(20000, edges=40000, rng=81)),
    ]
    if huge:
        out += HUGE
    return out


def machine() -> dict:
    versions = {"python": platform.python_version(), "numpy": np.__version__, "sdpsolve": sdpsolve.__version__}
    for mod in ("scipy", "cvxpy", "scs"):
        try:
            versions[mod] = __import__(mod).__version__
        except Exception:  # noqa: BLE001 - a missing optional package is only reported
            versions[mod] = None
    commit = code_commit()
    return {"cpu": cpu_model(), "cores": os.cpu_count(), "platform": platform.platform(), "versions": versions,
            "commit": commit, "load_average_at_start": list(os.getloadavg())}


# -- the Mixing method ------------------------------------------------------------------------------------
def build_mixing(src: str | None, folder: Path) -> tuple[Path | None, str]:
    """Compile the Mixing method's C code from ``src``; (binary, note)."""
    if not src:
        return None, "not run: give --mixing-src (a checkout of the Mixing method's public repository)"
    src_path = Path(src)
    code = folder / "mixing.c"
    if (src_path / "mixing.c").is_file():
        shutil.copy(src_path / "mixing.c", code)
    else:  # a bare git directory
        try:
            text = subprocess.run(["git", f"--git-dir={src_path}", "show", "HEAD:mixing.c"], capture_output=True,
                                  text=True, check=True, timeout=60).stdout
        except (OSError, subprocess.SubprocessError):
            return None, f"not run: no mixing.c in {src}"
        code.write_text(text)
    cc = shutil.which("gcc") or shutil.which("cc")
    if cc is None:
        return None, "not run: no C compiler"
    binary = folder / "mixing"
    cmd = [cc, "-g", "-Wall", "-O3", "-std=gnu11", str(code), "-o", str(binary), "-lm", "-lrt"]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        return None, f"not run: compiling failed ({proc.stderr.strip()[:200]})"
    return binary, "gcc -O3 (its Makefile's flags)"


def run_mixing(binary: Path, gset: Path, target: float, time_limit: float) -> dict:
    """Run until the SDP value (the negated ``fval`` it prints) reaches ``target``; its own clock at that sweep."""
    proc = subprocess.Popen([str(binary), "-s", "maxcut", "-e", "0", "-t", "max", str(gset)],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, cwd=gset.parent)
    start = time.perf_counter()
    best, sweeps, reached, rank = -np.inf, 0, None, None
    try:
        for line in proc.stdout:
            if line.startswith("MAXCUT"):
                rank = int(line.split("k=")[1].split()[0])
            if not line.startswith("iter"):
                continue
            parts = line.split()
            sweeps = int(parts[1])
            clock = float(parts[3])
            value = -float(parts[5])  # it prints fval/4 = −(the cut SDP's value)
            best = max(best, value)
            if sweeps > 0 and value >= target:
                reached = clock
                break
            if time.perf_counter() - start > time_limit:
                break
    finally:
        proc.kill()
        proc.wait()
    return {"time": reached, "reached": reached is not None, "value": best, "sweeps": sweeps, "rank": rank,
            "wall": time.perf_counter() - start}


def sweep_speed(M, mix: dict, sweeps: int = 20) -> dict:
    """Seconds per mixing sweep: sdpsolve's numba kernel at the Mixing method's rank (one thread, ``sweeps``
    sweeps on random unit rows) beside the Mixing method's own average (its clock at its last sweep / sweeps)."""
    import scipy.sparse as sp

    from sdpsolve import limit_threads
    from sdpsolve._kernels import mixing_sweep_csr

    A = sp.csr_matrix(M)
    n, r = A.shape[0], int(mix["rank"])
    args = (A.indptr.astype(np.int64), A.indices.astype(np.int64), A.data, A.diagonal())
    V = np.random.default_rng(0).standard_normal((n, r))
    V /= np.linalg.norm(V, axis=1, keepdims=True)
    eq, order = np.ones(n, dtype=bool), np.arange(n, dtype=np.int64)
    with limit_threads(1):
        mixing_sweep_csr(*args, V, eq, order)
        t0 = time.perf_counter()
        for _ in range(sweeps):
            mixing_sweep_csr(*args, V, eq, order)
        ours = (time.perf_counter() - t0) / sweeps
    clock = mix["time"] if mix.get("time") is not None else None
    theirs = clock / mix["sweeps"] if clock else None
    return {"rank": r, "entries": int(A.nnz), "sdpsolve_s": ours, "mixing_s": theirs}


# -- CVXPY + SCS ------------------------------------------------------------------------------------------
def run_scs(M, time_limit: float) -> dict:
    import cvxpy as cp

    n = M.shape[0]
    P = cp.Variable((n, n), PSD=True)
    prob = cp.Problem(cp.Maximize(cp.trace(M.toarray() @ P)), [cp.diag(P) == 1])
    t0 = time.perf_counter()
    prob.solve(solver="SCS", eps_abs=RTOL, eps_rel=RTOL, time_limit_secs=time_limit)
    return {"time": time.perf_counter() - t0, "objective": float(prob.value), "status": prob.status}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--mixing-src", help="checkout (or git directory) of the Mixing method's code (mixing.c)")
    ap.add_argument("--quick", action="store_true", help="graphs with n ≤ 2,000 only")
    ap.add_argument("--huge", action="store_true", help="add the n ≈ 10⁵ graphs (sdpsolve only)")
    ap.add_argument("--huge-only", action="store_true",
                    help="only the n ≈ 10⁵ graphs, their rows added to the existing --out file (a second run)")
    ap.add_argument("--rigorous-max-memory", type=float, default=None,
                    help="bytes the rigorous factorisation may take (sdpsolve's option; default its 2.4e9)")
    ap.add_argument("--max-scs-n", type=int, default=1000, help="largest n for CVXPY + SCS (default 1000)")
    ap.add_argument("--time-limit", type=float, default=600.0, help="seconds per Mixing run (default 600)")
    ap.add_argument("--scs-time-limit", type=float, default=120.0, help="seconds per SCS run (default 120)")
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args(argv)
    if args.max_scs_n < 0 or args.time_limit <= 0 or args.scs_time_limit <= 0:
        ap.error("--max-scs-n must be >= 0, --time-limit and --scs-time-limit > 0")
    result = {"command": "bench/maxcut_vs_mixing.py " + " ".join(argv if argv is not None else sys.argv[1:]),
              "started": time.strftime("%Y-%m-%d %H:%M:%S"), "machine": machine(), "rtol": RTOL, "rows": []}
    todo = HUGE if args.huge_only else instances(args.quick, args.huge)
    if args.huge_only and args.out.exists():  # keep the first run's rows and machine, add a second run's rows
        previous = json.loads(args.out.read_text())
        names = {name for name, _ in HUGE}
        result["rows"] = [r for r in previous["rows"] if r["instance"] not in names]
        result["command"] = previous["command"] + "; then " + result["command"]
        result["started"], result["machine"] = previous["started"], previous["machine"]
        result["second_run"] = {"started": time.strftime("%Y-%m-%d %H:%M:%S"), "machine": machine()}
    # warm-up: numba's compiled kernels load once per process (the sweeps; the minimum-degree factor)
    sdpsolve.solve(graphs.toroidal_grid(10, 10, rng=0).maxcut_matrix(), equal="all", rng=0)
    sdpsolve.solve(graphs.random_graph(3000, edges=7500, rng=0).maxcut_matrix(), equal="all", rng=0)
    with tempfile.TemporaryDirectory(prefix="maxcut-bench-") as tmp:
        folder = Path(tmp)
        binary, note = build_mixing(args.mixing_src, folder)
        result["mixing_build"] = note
        print(f"Mixing method: {note}", flush=True)
        for name, make in todo:
            g = make()
            M = g.maxcut_matrix()
            t0 = time.perf_counter()
            options = {} if args.rigorous_max_memory is None else {"rigorous_max_memory": args.rigorous_max_memory}
            res = sdpsolve.solve(M, equal="all", rtol=RTOL, rng=0, options=options)
            t_ours = time.perf_counter() - t0
            row = {"instance": name, "n": g.n, "m": g.m,
                   "sdpsolve": {"time": t_ours, "lower": res.lower, "upper": res.upper, "gap": res.gap,
                                "kind": res.bound_kind, "status": res.status.value, "method": res.method,
                                "rank": int(res.factor.shape[1]),
                                "options": options, "message": res.message}}
            target = res.upper * (1.0 - RTOL)
            if binary is not None and g.n <= 20000:
                gset = g.write_gset(folder / "graph.txt")
                row["mixing"] = run_mixing(binary, gset, target, args.time_limit)
                if row["mixing"]["sweeps"] and row["mixing"]["rank"]:
                    row["sweep"] = sweep_speed(M, row["mixing"])
                for extra in folder.glob("graph.txt.*"):
                    extra.unlink()
            if g.n <= args.max_scs_n:
                try:
                    scs = run_scs(M, args.scs_time_limit)
                    scs["rel_below_upper"] = (res.upper - scs["objective"]) / max(1.0, abs(res.upper))
                    row["scs"] = scs
                except Exception as exc:  # noqa: BLE001 - a failing peer is reported, not fatal
                    row["scs"] = {"error": f"{type(exc).__name__}: {exc}"[:200]}
            mix = row.get("mixing", {})
            print(f"{name:34s} n={g.n:6d} sdpsolve {t_ours:8.2f} s ({res.bound_kind}, gap {res.gap:.1e})  "
                  f"mixing {mix.get('time') if mix.get('time') is not None else '-'} s  "
                  f"scs {row.get('scs', {}).get('time', '-')}", flush=True)
            result["rows"].append(row)
            (result.get("second_run") or result)["machine"]["load_average_at_end"] = list(os.getloadavg())
            args.out.parent.mkdir(parents=True, exist_ok=True)
            args.out.write_text(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
