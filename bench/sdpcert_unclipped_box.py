"""Hypothesis test: did the paper's 18% on PGD-NN come from an input box not intersected with [0, 1]?

Our sdp-cert certifies PGD-NN with 12% certified error on the first 100 (and 200) test images at ε = 0.1, the
paper 18%. SPEC §5 intersects the ε-box with the pixel domain: [max(x̄ − ε, 0), min(x̄ + ε, 1)]. An
implementation that used [x̄ − ε, x̄ + ε] instead would certify less (most MNIST pixels are 0, so their interval
doubles). This script measures what that box gives, without changing the package: an exact change of variables

    x = (1 + 2ε) x' − ε,   x' ∈ [0, 1]   (the first layer becomes W₀(1 + 2ε), b₀ − ε W₀ 1),

turns the box x̄ ± ε into x̄' ± ε' with x̄' = (x̄ + ε) / (1 + 2ε) and ε' = ε / (1 + 2ε), which lies inside [0, 1]
for every pixel, so the package's clipping does nothing and the relaxation is the one of the unclipped box.
The certification runs through ``sdpsolve certify`` with the paper's settings (interval bounds, 80 rounds per
target, early decision) into a resumable store, and is compared with the stored clipped run
(``bench/reproduce_sdpcert.py``) on the same images.

The table also has the second variant, which keeps the SDP's input box clipped and takes only the interval
bounds of the hidden layers from x̄ ± ε (``sdpsolve certify --method sdp-cert --bounds-box unclipped``): its
runs are those of ``bench/reproduce_sdpcert.py --unclipped-bounds`` on the three networks, read from their
stores (an explanation of PGD-NN's gap must leave Grad-NN and LP-NN at the paper's 20%).

Usage::

    .venv/bin/python bench/sdpcert_unclipped_box.py [--count 20] [--workers 2] [--summary-only]

Writes ``bench/results/sdpcert_unclipped_box.json`` (section ``unclipped`` of ``bench/render_tables.py``).
Needs the shared data folder ``../shared/data/raghunathan18``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.reproduce_sdpcert import DATA, PAPER, RUNS, machine, store_path  # noqa: E402

NET = "pgd_nn"  # the network of the box variant
#: the store suffix of the interval-bounds variant in bench/reproduce_sdpcert.py (--unclipped-bounds)
INTERVALS = "_unclipped_bounds"
NETS = ("grad_nn", "lp_nn", "pgd_nn")
EPS = 0.1


def unclipped_problem(eps: float, model: Path, data: Path, out_dir: Path) -> tuple[Path, Path, float]:
    """Write the changed-variable network and images; return their paths and ε'."""
    from certifiers import load_network

    net = load_network(model)
    scale = 1.0 + 2.0 * eps
    W0, b0 = net.weights[0], net.biases[0]
    weights = {f"W{i}": W for i, W in enumerate(net.weights)}
    biases = {f"b{i}": b for i, b in enumerate(net.biases)}
    weights["W0"], biases["b0"] = W0 * scale, b0 - eps * W0.sum(axis=1)
    d = np.load(data)
    X = (d["X"].reshape(len(d["X"]), -1).astype(np.float64) + eps) / scale
    model_out, data_out = out_dir / f"{NET}_unclipped.npz", out_dir / "mnist_test_unclipped.npz"
    np.savez(model_out, **weights, **biases)
    np.savez(data_out, X=X, y=d["y"])
    return model_out, data_out, eps / scale


def errors(path: Path, count: int) -> dict:
    """Per-image sdp-cert outcome of a store over the images 0 .. count − 1 it holds."""
    from certifiers.engine import read_results

    _, records = read_results(path)
    rows = {r["index"]: r for r in records if r["method"] == "sdp-cert" and r["index"] < count}
    return {"n": len(rows), "uncertified": sorted(i for i, r in rows.items() if not r["certified"]),
            "time_total": float(sum(r["time"] for r in rows.values())), "images": sorted(rows)}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--count", type=int, default=20, help="the first COUNT test images (default 20)")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--summary-only", action="store_true", help="run nothing; rewrite --out from the stores")
    ap.add_argument("--out", default=str(ROOT / "bench" / "results" / "sdpcert_unclipped_box.json"))
    args = ap.parse_args(argv)
    if args.count < 1 or args.workers < 1:
        ap.error("--count and --workers must be >= 1")
    if not DATA.exists():
        print(f"data folder {DATA} not found: nothing to test", file=sys.stderr)
        return 2
    missing = [net for net in NETS if not store_path(net, "", EPS).exists()]
    if missing:
        print(f"no stored clipped run of {', '.join(missing)}: run bench/reproduce_sdpcert.py first", file=sys.stderr)
        return 2
    print(f"machine: {machine()}")
    previous = json.loads(Path(args.out).read_text()) if Path(args.out).exists() else {}
    box_store = RUNS / f"{NET}_unclipped_box_eps{EPS:g}.jsonl"
    eps2 = EPS / (1.0 + 2.0 * EPS)
    run = previous.get("runs", {}).get(f"{NET}/unclipped", "?")  # when the box variant last ran
    if not args.summary_only:
        with tempfile.TemporaryDirectory() as tmp:
            model, data, eps2 = unclipped_problem(EPS, DATA / f"{NET}.npz", DATA / "mnist_test.npz", Path(tmp))
            cmd = [sys.executable, "-c", "import sys; from sdpsolve.cli import main; sys.exit(main(sys.argv[1:]))",
                   "certify", "--model", str(model), "--data", str(data), "--eps", repr(eps2), "--start", "0",
                   "--count", str(args.count), "--out", str(box_store), "--method", "sdp-cert", "--workers",
                   str(args.workers), "--batch-size", "1", "--threads", "1"]
            print("$ sdpsolve", " ".join(cmd[3:]), flush=True)
            subprocess.run(cmd, check=True, cwd=ROOT)
        run = f"{time.strftime('%Y-%m-%d %H:%M')}, {machine()}"
    nets = {}
    for net in NETS:
        rows = {"clipped": {**errors(store_path(net, "", EPS), args.count),
                            "run": "the store of bench/reproduce_sdpcert.py"}}
        if net == NET and box_store.exists():
            rows["unclipped"] = {**errors(box_store, args.count), "run": run}
        if store_path(net, INTERVALS, EPS).exists():
            row = errors(store_path(net, INTERVALS, EPS), args.count)
            same = set(row["images"])  # the clipped run on the same images, when the variant has not run them all
            row["clipped_uncertified_same_images"] = [i for i in rows["clipped"]["uncertified"] if i in same]
            rows["unclipped_intervals"] = {**row, "run": "the store of bench/reproduce_sdpcert.py --unclipped-bounds"}
        if len(rows) > 1:
            nets[net] = rows
    names = {"clipped": "clipped to [0, 1] (SPEC §5)", "unclipped": "not clipped",
             "unclipped_intervals": "intervals from x̄ ± ε"}
    for net, rows in nets.items():
        for key, row in rows.items():
            print(f"{net:8s} {names[key]:28s} {row['n']:3d} images  certified error "
                  f"{100 * len(row['uncertified']) / max(row['n'], 1):5.1f}%  uncertified {row['uncertified']}")
    out = {"benchmark": "sdpcert_unclipped_box", "eps": EPS, "eps_changed": eps2, "count": args.count,
           "workers": args.workers, "date": time.strftime("%Y-%m-%dT%H:%M:%S"), "runs": {f"{NET}/unclipped": run},
           "nets": nets, "paper": {net: PAPER[net]["sdp-cert"] for net in nets}}
    Path(args.out).write_text(json.dumps(out, indent=1))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
