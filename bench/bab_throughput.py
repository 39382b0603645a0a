"""Branch and bound of ``sdpsolve verify``: the optimised multipliers against the LP optimum, and batches of nodes.

Two parts, one run, one machine:

1. **Root multipliers.** On the paper's PGD-NN and Grad-NN (ε = 0.1, test images ``--images``, every target class
   CROWN does not prove): the proved bound with CROWN's multipliers, with 20 / 40 / 100 Adam steps
   (:func:`certifiers._rigorous_crown.optimise_multipliers`), and the LP optimum over the same intervals (HiGHS,
   :func:`certifiers._milp.exact_margin_max` with ``relax=True``, the least any such bound can be). Reported: the
   mean share of CROWN's gap to the LP that each closes, and the time.
2. **Branch and bound.** Random ReLU networks (``--instances`` of them, sizes ``--sizes``) at a radius where the
   exact MILP says the input is robust but the root bound cannot prove it; :func:`certifiers._verify.branch_and_bound`
   with 32 nodes per batch and with one node at a time (the same code), and the branch and bound of commit
   ``--baseline`` (one node at a time, CROWN's multipliers as every node's start, a constant Adam rate; run from a
   temporary git worktree in a subprocess), each with ``--timeout`` seconds. Reported: proved or not, nodes,
   seconds. Also the node rate of each on PGD-NN test image 116 (its open targets, ``--timeout`` seconds).

Usage::

    .venv/bin/python bench/bab_throughput.py [--images 116 346 5 81] [--instances 8] [--timeout 30]

Writes ``bench/results/bab_throughput.json`` (rendered by ``bench/render_tables.py``, section ``bab``).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench._machine import code_commit, cpu_model  # noqa: E402

DATA = ROOT.parent / "shared" / "data" / "raghunathan18"

#: the baseline's side: reads a JSON job on stdin, runs that commit's branch_and_bound, prints a JSON result
BASELINE_JOB = r"""
import json, sys, time
import numpy as np
from certifiers import ReLUNetwork
from certifiers._verify import branch_and_bound
from certifiers._rigorous_crown import proved_layer_bounds
job = json.load(sys.stdin)
# warm-up (imports, first torch calls) outside the timings
warm = ReLUNetwork([np.array([[1.0], [1.0]]), np.array([[0.0, 0.0], [1.0, -2.0]])],
                   [np.array([0.0, -0.5]), np.array([0.0, -0.6])])
branch_and_bound(warm, np.array([-1.0]), np.array([1.0]), 0, [1], deadline=float("inf"))
out = []
for inst in job["instances"]:
    net = ReLUNetwork([np.array(W) for W in inst["weights"]], [np.array(b) for b in inst["biases"]])
    lo, hi = np.array(inst["lo"]), np.array(inst["hi"])
    t = time.perf_counter()
    proved, worst, nodes = branch_and_bound(net, lo, hi, inst["label"], inst["targets"],
                                            deadline=time.perf_counter() + job["timeout"])
    out.append({"proved": bool(proved), "nodes": int(nodes), "time": time.perf_counter() - t})
print(json.dumps(out))
"""


def _warm_up() -> None:
    """One tiny optimisation first: torch's start-up is not in the first timing."""
    from certifiers import ReLUNetwork
    from certifiers._rigorous_crown import optimise_multipliers, proved_layer_bounds

    net = ReLUNetwork([np.array([[1.0], [1.0]]), np.array([[0.0, 0.0], [1.0, -2.0]])],
                      [np.array([0.0, -0.5]), np.array([0.0, -0.6])])
    b = proved_layer_bounds(net, np.array([-1.0]), np.array([1.0]))
    optimise_multipliers(net, 1, np.array([[-1.0, 1.0]]), np.array([-1.0]), np.array([1.0]),
                         list(zip(b.lower, b.upper)), steps=5)


def root_part(images, nets=("pgd_nn", "grad_nn")) -> list[dict]:
    from certifiers import load_network
    from certifiers._base import outer_box
    from certifiers._milp import exact_margin_max
    from certifiers._rigorous_crown import _lagrangian_upper, optimise_multipliers, proved_layer_bounds

    data = np.load(DATA / "mnist_test.npz")
    rows = []
    _warm_up()
    for name in nets:
        net = load_network(DATA / f"{name}.npz")
        L = net.n_layers - 1
        for idx in images:
            x, y = data["X"][idx].astype(np.float64), int(data["y"][idx])
            lo, hi = outer_box(x, 0.1)
            pb = proved_layer_bounds(net, lo, hi)
            iv = list(zip(pb.lower, pb.upper))
            targets = [j for j in range(net.n_classes) if j != y]
            V = np.zeros((len(targets), net.n_classes))
            V[np.arange(len(targets)), targets] = 1.0
            V[:, y] -= 1.0
            crown = _lagrangian_upper(net, L, V, lo, hi, iv)
            open_rows = [r for r in range(len(targets)) if crown[r] >= 0]
            if not open_rows:
                continue
            t = time.perf_counter()
            lp = np.array([exact_margin_max(net, lo, hi, y, targets[r], intervals=iv, relax=True).upper
                           for r in open_rows])
            lp_time = time.perf_counter() - t
            row = {"net": name, "image": int(idx), "targets": [targets[r] for r in open_rows],
                   "crown": crown[open_rows].tolist(), "lp": lp.tolist(), "lp_time": lp_time, "steps": {}}
            for steps in (20, 40, 100):
                t = time.perf_counter()
                nus, _ = optimise_multipliers(net, L, V[open_rows], lo, hi, iv, steps=steps)
                b = _lagrangian_upper(net, L, V[open_rows], lo, hi, iv, multipliers=nus)
                closed = (crown[open_rows] - b) / np.maximum(crown[open_rows] - lp, 1e-12)
                row["steps"][str(steps)] = {"bound": b.tolist(), "closed_mean": float(np.mean(closed)),
                                            "closed_min": float(np.min(closed)), "time": time.perf_counter() - t}
            rows.append(row)
            print(f"   {name} image {idx}: LP {lp_time:.1f} s, closed (mean) "
                  + ", ".join(f"{s} steps {v['closed_mean']:.2f}" for s, v in row["steps"].items()), flush=True)
    return rows


def _instances(count: int, sizes, seed: int = 0):
    """Random networks and inputs the exact MILP proves robust but the root bound (100 Adam steps) cannot."""
    from certifiers import ReLUNetwork
    from certifiers._base import outer_box
    from certifiers._milp import exact_margin_max
    from certifiers._rigorous_crown import proved_layer_bounds, proved_margin_bounds

    rng = np.random.default_rng(seed)
    out, tried = [], 0
    while len(out) < count and tried < 40 * count:
        tried += 1
        net = ReLUNetwork([rng.standard_normal((o, i)) * 1.6 / np.sqrt(i) for i, o in zip(sizes[:-1], sizes[1:])],
                          [0.2 * rng.standard_normal(o) for o in sizes[1:]])
        x = rng.random(sizes[0])
        label = int(net.predict(x[None])[0])
        eps = float(rng.choice([0.05, 0.08, 0.12]))
        lo, hi = outer_box(x, eps)
        root = proved_margin_bounds(net, lo, hi, label, proved_layer_bounds(net, lo, hi), optimise=100)
        targets = [j for j in range(net.n_classes) if j != label and root[j] >= 0]
        if not targets:
            continue
        exact = [exact_margin_max(net, lo, hi, label, j, time_limit=60.0) for j in targets]
        if any(e.status != "optimal" or e.upper >= -1e-3 for e in exact):
            continue
        out.append({"weights": [W.tolist() for W in net.weights], "biases": [b.tolist() for b in net.biases],
                    "lo": lo.tolist(), "hi": hi.tolist(), "label": label, "targets": targets, "eps": eps,
                    "exact": [e.upper for e in exact],
                    "unstable": int(sum(u.size for u in proved_layer_bounds(net, lo, hi).unstable()))})
    return out


def _baseline(rev: str, job: dict) -> list[dict] | str:
    """Runs ``job`` with the branch and bound of commit ``rev`` (a temporary worktree, this .venv)."""
    with tempfile.TemporaryDirectory() as tmp:
        wt = Path(tmp) / "baseline"
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(wt), rev], check=True,
                       capture_output=True)
        try:
            env = {**os.environ, "PYTHONPATH": str(wt)}
            r = subprocess.run([sys.executable, "-c", BASELINE_JOB], input=json.dumps(job), env=env, cwd=str(wt),
                               capture_output=True, text=True)
            if r.returncode != 0:
                return f"failed: {r.stderr.strip().splitlines()[-1] if r.stderr.strip() else r.returncode}"
            return json.loads(r.stdout.strip().splitlines()[-1])
        finally:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(wt)], capture_output=True)


def bab_part(count: int, sizes, timeout: float, baseline: str) -> dict:
    from certifiers import ReLUNetwork, load_network
    from certifiers._base import outer_box
    from certifiers._rigorous_crown import proved_layer_bounds, proved_margin_bounds
    from certifiers._verify import branch_and_bound

    insts = _instances(count, sizes)
    print(f"   {len(insts)} random instances (sizes {sizes})", flush=True)
    rows = []
    for inst in insts:
        net = ReLUNetwork([np.array(W) for W in inst["weights"]], [np.array(b) for b in inst["biases"]])
        lo, hi = np.array(inst["lo"]), np.array(inst["hi"])
        row = {"unstable": inst["unstable"], "targets": len(inst["targets"]), "eps": inst["eps"], "runs": {}}
        for batch in (32, 1):
            t = time.perf_counter()
            proved, worst, nodes = branch_and_bound(net, lo, hi, inst["label"], inst["targets"],
                                                    deadline=time.perf_counter() + timeout, batch=batch)
            row["runs"][f"batch {batch}"] = {"proved": bool(proved), "nodes": int(nodes),
                                             "time": time.perf_counter() - t}
            assert not proved or all(worst[j] >= e - 1e-9 for j, e in zip(inst["targets"], inst["exact"]))
        rows.append(row)
    # node rate on a paper network: PGD-NN test image 116, its targets the root bound leaves open
    net = load_network(DATA / "pgd_nn.npz")
    data = np.load(DATA / "mnist_test.npz")
    x, y = data["X"][116].astype(np.float64), int(data["y"][116])
    lo, hi = outer_box(x, 0.1)
    pb = proved_layer_bounds(net, lo, hi)
    m = proved_margin_bounds(net, lo, hi, y, pb, optimise=100)
    targets = [j for j in range(net.n_classes) if j != y and m[j] >= 0]
    rate = {}
    for batch in (32, 1):
        t = time.perf_counter()
        _, _, nodes = branch_and_bound(net, lo, hi, y, targets, deadline=time.perf_counter() + timeout, root=pb,
                                       batch=batch)
        rate[f"batch {batch}"] = {"nodes": int(nodes), "time": time.perf_counter() - t}
    pgd_job = {"weights": [W.tolist() for W in net.weights], "biases": [b.tolist() for b in net.biases],
               "lo": lo.tolist(), "hi": hi.tolist(), "label": y, "targets": targets}
    # the baseline: one worktree and one process for the random instances and PGD-NN's
    base = _baseline(baseline, {"instances": insts + [pgd_job], "timeout": timeout}) if baseline else None
    if isinstance(base, list):
        for row, b in zip(rows, base):
            row["runs"][f"commit {baseline}"] = b
        rate[f"commit {baseline}"] = {"nodes": base[-1]["nodes"], "time": base[-1]["time"]}
    return {"sizes": list(sizes), "timeout": timeout, "baseline": baseline,
            "baseline_error": base if isinstance(base, str) else None, "rows": rows,
            "pgd_nn_116": {"targets": targets, "rates": rate}}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--images", type=int, nargs="+", default=[116, 346, 5, 81])
    ap.add_argument("--instances", type=int, default=8)
    ap.add_argument("--sizes", type=int, nargs="+", default=[10, 40, 40, 40, 5])
    ap.add_argument("--timeout", type=float, default=30.0)
    ap.add_argument("--baseline", default="41969aa", help="commit whose branch and bound to compare ('' for none)")
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "bab_throughput.json")
    args = ap.parse_args()
    if not DATA.exists():
        print(f"needs the paper's networks in {DATA}", file=sys.stderr)
        return 2
    out = {"command": "bench/bab_throughput.py " + " ".join(sys.argv[1:]),
           "machine": {"cpu": cpu_model(), "cores": os.cpu_count(), "load_average_at_start": list(os.getloadavg())},
           "date": time.strftime("%Y-%m-%d %H:%M"), "commit": code_commit()}
    from sdpsolve import limit_threads

    with limit_threads(1):  # as a verify worker runs (--threads 1); the baseline's subprocess inherits it
        os.environ["OMP_NUM_THREADS"] = "1"
        print("== root multipliers against the LP optimum", flush=True)
        out["root"] = root_part(args.images)
        print("== branch and bound", flush=True)
        out["bab"] = bab_part(args.instances, args.sizes, args.timeout, args.baseline)
    out["machine"]["load_average_at_end"] = list(os.getloadavg())
    args.out.write_text(json.dumps(out, indent=1))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
