"""Where SDP-cert's time goes, solved to a relative gap of 1e-4 without early decision, beside CVXPY + Clarabel.

Per (example, target) instance, ``SDPCert(rtol=1e-4, early_stop=False).solve`` (the Lagrangian mode with
CROWN's multipliers as the hint when ``--bounds crown``) is timed, with the seconds of each phase
(``LagrangianResult.phases``: L-BFGS rounds on V, the per-round Lanczos estimate, certified bounds, the inner
``sdpsolve.solve`` of SDP(M(θ)), the hint, the rest), the rounds, the products with M(θ) and the gap reached.
Beside it, the same SDP (the instance's normalised rows, ``dense_constraint_matrices``) is solved by CVXPY +
Clarabel (default tolerances; the whole ``Problem.solve`` call is timed, canonicalisation included) on the
random networks, where ``--clarabel-max-n`` allows. One untimed sdp-cert solve of a tiny network runs first.

Instances: random ReLU networks (input d, two hidden layers, 10 classes; He-initialised weights, biases
N(0, 0.1²), a uniform random input in [0, 1]^d, ε = ``--eps``) for each ``--nets d,h1,h2``, and the NeurIPS
paper's PGD-NN (``../shared/data/raghunathan18/pgd_nn.npz``) on test images ``--pgd-images`` (ε = 0.1; skipped
with a message when the data are absent). n counts the free coordinates of the lifted variable only.

Usage::

    .venv/bin/python bench/sdpcert_profile.py [--nets 20,20,16 40,40,25 60,60,45] [--pgd-images 0 1]

Writes bench/results/sdpcert_profile.json (section ``sdpcert-profile`` of bench/render_tables.py), rewritten
after every instance so an interrupted run keeps what it measured.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench._machine import code_commit, machine_record  # noqa: E402

DATA = ROOT.parent / "shared" / "data" / "raghunathan18"


def random_net(d: int, h1: int, h2: int, seed: int):
    from certifiers import ReLUNetwork

    rng = np.random.default_rng(seed)
    sizes = [d, h1, h2, 10]
    Ws = [rng.standard_normal((b, a)) * np.sqrt(2.0 / a) for a, b in zip(sizes[:-1], sizes[1:])]
    bs = [0.1 * rng.standard_normal(b) for b in sizes[1:]]
    return ReLUNetwork(Ws, bs)


def clarabel_solve(inst) -> dict:
    """The instance's SDP (normalised coordinates) by CVXPY + Clarabel: max <M0, P> + c0, P ⪰ 0, P_00 = 1,
    P_ii ≤ 1, <A_k, P> + β_k ≥ 0 (= 0 on the equality rows)."""
    import cvxpy as cp
    import scipy.sparse as sp

    n = inst.n
    rows = inst.dense_constraint_matrices()
    M0, c0 = inst.dense_objective()
    equality = np.asarray(inst.equality, dtype=bool)
    t0 = time.perf_counter()
    P = cp.Variable((n, n), symmetric=True)
    A = sp.vstack([sp.csr_matrix(a.reshape(1, -1, order="F")) for a, _ in rows]).tocsr()
    beta = np.array([b for _, b in rows])
    g = A @ cp.vec(P, order="F") + beta
    cons = [P >> 0, P[0, 0] == 1, cp.diag(P) <= 1]
    if equality.any():
        cons.append(g[np.flatnonzero(equality)] == 0)
    if (~equality).any():
        cons.append(g[np.flatnonzero(~equality)] >= 0)
    prob = cp.Problem(cp.Maximize(cp.sum(cp.multiply(M0, P)) + c0), cons)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        value = prob.solve(solver="CLARABEL")
    return {"time": time.perf_counter() - t0, "value": float(value), "status": prob.status,
            "solver_time": float(prob.solver_stats.solve_time or 0.0)}


def profile_row(plugin, inst, name: str, clarabel: bool) -> dict:
    t0 = time.perf_counter()
    res = plugin.solve(inst)
    wall = time.perf_counter() - t0
    row = {"instance": name, "n": inst.n, "m": inst.m, "time": wall, "lower": res.lower, "upper": res.upper,
           "gap": res.gap, "status": res.status.value, "bound_kind": res.bound_kind, "rounds": res.n_iter,
           "products": res.n_matvec, "phases": res.phases}
    if clarabel:
        row["clarabel"] = clarabel_solve(inst)
        v = row["clarabel"]["value"]
        row["upper_minus_clarabel"] = (res.upper - v) / max(1.0, abs(v))
    return row


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--nets", nargs="*", default=["20,20,16", "40,40,25", "60,60,45"],
                    help="random networks d,h1,h2")
    ap.add_argument("--eps", type=float, default=0.05)
    ap.add_argument("--targets", type=int, default=1, help="target classes per random example")
    ap.add_argument("--pgd-images", type=int, nargs="*", default=[0, 1])
    ap.add_argument("--pgd-targets", type=int, default=2, help="target classes per PGD-NN image")
    ap.add_argument("--bounds", default="crown", choices=("ibp", "crown", "lp"))
    ap.add_argument("--no-triangle", action="store_true")
    ap.add_argument("--clarabel-max-n", type=int, default=200)
    ap.add_argument("--time-limit", type=float, default=600.0, help="seconds per instance for sdp-cert")
    ap.add_argument("--out", default=str(ROOT / "bench" / "results" / "sdpcert_profile.json"))
    args = ap.parse_args(argv)
    from certifiers import get_certifier, load_network
    from sdpsolve import limit_threads

    plugin = get_certifier("sdp-cert", bounds=args.bounds, triangle=not args.no_triangle, rtol=1e-4,
                           early_stop=False, max_iter=100000, time_limit=args.time_limit)
    out = {"command": "bench/sdpcert_profile.py " + " ".join(argv if argv is not None else sys.argv[1:]),
           "machine": machine_record(), "date": time.strftime("%Y-%m-%d %H:%M"), "commit": code_commit(),
           "options": f"bounds={args.bounds}, triangle={not args.no_triangle}, rtol=1e-4, early_stop=False",
           "rows": []}

    def save():
        out["machine"]["load_average_at_end"] = list(__import__("os").getloadavg())
        Path(args.out).write_text(json.dumps(out, indent=1) + "\n")

    with limit_threads(1):
        # one untimed solve first: imports and first calls of the linear algebra are not counted
        warm = random_net(6, 6, 4, seed=1)
        xw = np.random.default_rng(2).random(6)
        yw = int(warm.predict(xw[None])[0])
        plugin.solve(plugin.instance(warm, xw, yw, (yw + 1) % 10, args.eps))
        for spec in args.nets:
            d, h1, h2 = (int(v) for v in spec.split(","))
            net = random_net(d, h1, h2, seed=0)
            x = np.random.default_rng(1).random(d)
            label = int(net.predict(x[None])[0])
            for target in [j for j in range(10) if j != label][: args.targets]:
                inst = plugin.instance(net, x, label, target, args.eps)
                row = profile_row(plugin, inst, f"random {d}-{h1}-{h2}-10, target {target}",
                                  inst.n <= args.clarabel_max_n)
                out["rows"].append(row)
                save()
                print(row, flush=True)
        if (DATA / "pgd_nn.npz").exists() and (DATA / "mnist_test.npz").exists():
            net = load_network(DATA / "pgd_nn.npz")
            data = np.load(DATA / "mnist_test.npz")
            for i in args.pgd_images:
                x, y = data["X"][i].astype(np.float64), int(data["y"][i])
                for target in [j for j in range(10) if j != y][: args.pgd_targets]:
                    inst = plugin.instance(net, x, y, target, 0.1)
                    row = profile_row(plugin, inst, f"PGD-NN test {i}, target {target}", False)
                    out["rows"].append(row)
                    save()
                    print(row, flush=True)
        else:
            print(f"{DATA} missing: the PGD-NN rows are skipped", flush=True)
    save()
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
