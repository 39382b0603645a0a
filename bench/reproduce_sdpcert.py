"""Reproduction (partial) of the NeurIPS 2018 SDP-cert table on the shipped networks, ε = 0.1.

For the first ``--count`` MNIST test images and each network (Grad-NN, LP-NN, PGD-NN): clean error, PGD attack
error, certified error of ibp / crown / lp and of sdp-cert (ibp bounds as in the paper; optionally crown bounds
with the LP triangle rows), with the time per (example, target class). A sanity check solves PGD-NN test-0 and
test-1 against every target without early stop (``--sanity``) and prints our certified upper bound and our
primal value beside the third-party MOSEK optima from the data README.

Usage::

    .venv/bin/python bench/reproduce_sdpcert.py --count 5 --time-limit 10 --sanity

Writes bench/results/reproduce_sdpcert.json. Prints the machine first.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench._machine import cpu_model  # noqa: E402
from certifiers import get_certifier, load_network  # noqa: E402

DATA = ROOT.parent / "shared" / "data" / "raghunathan18"
PAPER = {"grad_nn": {"pgd": 15, "lp": 97, "sdp-cert": 20}, "lp_nn": {"pgd": 18, "lp": 22, "sdp-cert": 20},
         "pgd_nn": {"pgd": 9, "lp": 100, "sdp-cert": 18}}
MOSEK = {0: {1: -7.978, 2: -3.681, 3: -4.353, 4: -6.836, 5: -6.946, 6: -11.302, 7: -6.759, 9: -5.043},
         1: {1: -4.917, 2: -0.892, 3: -0.442, 4: 0.102, 5: -0.215, 6: -8.222, 7: 2.548, 9: 4.245}}


def machine() -> str:
    return f"{cpu_model()}, {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}, Python {platform.python_version()}"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--count", type=int, default=5)
    ap.add_argument("--eps", type=float, default=0.1)
    ap.add_argument("--time-limit", type=float, default=10.0, help="seconds per (example, target) for sdp-cert")
    ap.add_argument("--nets", nargs="+", default=["grad_nn", "lp_nn", "pgd_nn"])
    ap.add_argument("--better", action="store_true", help="also sdp-cert with crown bounds and triangle rows")
    ap.add_argument("--sanity", action="store_true", help="PGD-NN test-0/test-1 against every target, no early stop")
    ap.add_argument("--out", default=str(ROOT / "bench" / "results" / "reproduce_sdpcert.json"))
    args = ap.parse_args(argv)
    if not DATA.exists():
        print(f"data folder {DATA} not found: nothing to reproduce", file=sys.stderr)
        return 2
    print(f"machine: {machine()}")
    data = np.load(DATA / "mnist_test.npz")
    X, y = data["X"][: args.count].astype(np.float64), data["y"][: args.count].astype(np.int64)
    out = {"machine": machine(), "eps": args.eps, "count": args.count, "time_limit": args.time_limit, "nets": {}}
    warnings.simplefilter("ignore")
    methods = [("pgd", {}), ("ibp", {}), ("crown", {}), ("lp", {}),
               ("sdp-cert", {"time_limit": args.time_limit})]
    if args.better:
        methods.append(("sdp-cert", {"time_limit": args.time_limit, "bounds": "crown", "triangle": True}))
    for name in args.nets:
        net = load_network(DATA / f"{name}.npz")
        clean = float(np.mean(net.predict(X) != y))
        rows = {}
        for meth, opts in methods:
            label = meth if not opts.get("triangle") else "sdp-cert+crown+triangle"
            plugin = get_certifier(meth, **opts)
            t0 = time.perf_counter()
            res = plugin.certify(net, X, y, args.eps)
            total = time.perf_counter() - t0
            if plugin.is_attack:
                err = float(np.mean([r.adversarial for r in res]))
            else:
                err = float(np.mean([not r.certified for r in res]))
            row = {"error": err, "time_total": total, "kind": res[0].bound_kind}
            if meth == "sdp-cert":
                times = [d["time"] for ex in plugin.last_details for d in ex.values()]
                row.update(per_target_median=float(np.median(times)) if times else None,
                           per_target_p90=float(np.percentile(times, 90)) if times else None,
                           n_targets_solved=len(times))
            rows[label] = row
            print(f"{name:8s} {label:26s} error {100 * err:5.1f}%  (paper {PAPER[name].get(meth, '-')}%)  "
                  f"time {total:7.1f} s  kind {row['kind']}"
                  + (f"  per target median {row['per_target_median']:.1f} s p90 {row['per_target_p90']:.1f} s"
                     if row.get("per_target_median") is not None else ""), flush=True)
        out["nets"][name] = {"clean_error": clean, "methods": rows}
        print(f"{name:8s} clean error {100 * clean:.1f}%")
    if args.sanity:
        net = load_network(DATA / "pgd_nn.npz")
        plugin = get_certifier("sdp-cert", early_stop=False, time_limit=args.time_limit * 3, rtol=1e-3)
        Xall, yall = data["X"].astype(np.float64), data["y"].astype(np.int64)
        out["sanity"] = {}
        for idx in (0, 1):
            for j, ref in MOSEK[idx].items():
                res = plugin.bound_target(net, Xall[idx], int(yall[idx]), j, args.eps)
                out["sanity"][f"test-{idx} vs {j}"] = {"mosek": ref, "upper": res.upper, "lower": res.lower,
                                                      "violation": res.violation, "time": res.time}
                print(f"sanity PGD-NN test-{idx} vs {j}: MOSEK {ref:+.3f}  ours: certified upper {res.upper:+.3f}, "
                      f"primal {res.lower:+.3f} (violation {res.violation:.1e}), {res.time:.1f} s", flush=True)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(out, indent=2))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
