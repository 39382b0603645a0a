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

Usage::

    .venv/bin/python bench/sdpcert_unclipped_box.py [--count 20] [--workers 2]

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

from bench.reproduce_sdpcert import DATA, RUNS, machine, store_path  # noqa: E402

NET = "pgd_nn"
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
    """Per-image sdp-cert outcome of a store over images 0 .. count − 1."""
    from certifiers._store import read_results

    _, records = read_results(path)
    rows = {r["index"]: r for r in records if r["method"] == "sdp-cert" and r["index"] < count}
    return {"n": len(rows), "uncertified": sorted(i for i, r in rows.items() if not r["certified"]),
            "time_total": float(sum(r["time"] for r in rows.values()))}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--count", type=int, default=20, help="the first COUNT test images (default 20)")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--out", default=str(ROOT / "bench" / "results" / "sdpcert_unclipped_box.json"))
    args = ap.parse_args(argv)
    if args.count < 1 or args.workers < 1:
        ap.error("--count and --workers must be >= 1")
    if not DATA.exists():
        print(f"data folder {DATA} not found: nothing to test", file=sys.stderr)
        return 2
    clipped_store = store_path(NET, "", EPS)
    if not clipped_store.exists():
        print(f"{clipped_store} not found: run bench/reproduce_sdpcert.py --nets {NET} first", file=sys.stderr)
        return 2
    print(f"machine: {machine()}")
    store = RUNS / f"{NET}_unclipped_box_eps{EPS:g}.jsonl"
    with tempfile.TemporaryDirectory() as tmp:
        model, data, eps2 = unclipped_problem(EPS, DATA / f"{NET}.npz", DATA / "mnist_test.npz", Path(tmp))
        cmd = [sys.executable, "-c", "import sys; from sdpsolve.cli import main; sys.exit(main(sys.argv[1:]))",
               "certify", "--model", str(model), "--data", str(data), "--eps", repr(eps2), "--start", "0",
               "--count", str(args.count), "--out", str(store), "--method", "sdp-cert", "--workers",
               str(args.workers), "--batch-size", "1", "--threads", "1"]
        print("$ sdpsolve", " ".join(cmd[3:]), flush=True)
        subprocess.run(cmd, check=True, cwd=ROOT)
    clipped, unclipped = errors(clipped_store, args.count), errors(store, args.count)
    for name, row in (("clipped to [0, 1] (SPEC §5)", clipped), ("not clipped", unclipped)):
        print(f"{name:28s} {row['n']:3d} images  certified error {100 * len(row['uncertified']) / row['n']:5.1f}%  "
              f"uncertified {row['uncertified']}")
    out = {"benchmark": "sdpcert_unclipped_box", "network": "PGD-NN", "eps": EPS, "eps_changed": eps2,
           "count": args.count, "workers": args.workers, "machine": machine(),
           "date": time.strftime("%Y-%m-%dT%H:%M:%S"), "clipped": clipped, "unclipped": unclipped}
    Path(args.out).write_text(json.dumps(out, indent=1))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
