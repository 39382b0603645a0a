"""Certify the project-trained MNIST CNNs (bench/train_cnn.py) with every method, side by side.

For each network (``normal``: cross-entropy training; ``pgd``: PGD-adversarial training at ε = 0.1), each ε of
``--eps`` and the MNIST test images ``--start`` … ``--start + --count − 1``: clean error, the strong attack's and
the papers' PGD error (lower bounds on the robust error), and the certified error (an upper bound) of ibp,
crown, lp and sdp-cert (CROWN layer bounds + LP triangle rows, early decision, rigorous bounds), each with its
time per image. sdp-cert runs on the first ``--sdp-count`` images only (it costs seconds per image), and its
row says how many; the other methods' errors on those same images are given beside it, so the comparison is
on equal images.

The work runs through ``sdpsolve certify --out`` (one resumable JSON-lines store per network, ε and method
group under ``bench/results/cnn_runs/``, git-ignored: the attack's records carry counterexamples, i.e. perturbed
test images), so an interrupted run resumes when the same command is run again. Needs the MNIST test set of
``../shared/data/raghunathan18`` and the networks of ``bench/models/`` (made by ``bench/train_cnn.py``).

Usage::

    .venv/bin/python bench/certify_cnn.py --count 100 --sdp-count 50 [--eps 0.1 ...] [--workers 2]
    .venv/bin/python bench/certify_cnn.py --summary-only

Writes bench/results/certify_cnn.json (rendered into README/docs by bench/render_tables.py, section ``cnn``).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench._machine import code_commit, machine_record  # noqa: E402

DATA = ROOT.parent / "shared" / "data" / "raghunathan18" / "mnist_test.npz"
MODELS = ROOT / "bench" / "models"
RUNS = ROOT / "bench" / "results" / "cnn_runs"
KINDS = ("normal", "pgd")
#: (store suffix, certify arguments); "sdp" runs on the first --sdp-count images
GROUPS = {
    "cheap": ["--method", "attack,pgd,ibp,crown,lp"],
    "sdp": ["--method", "sdp-cert", "--bounds", "crown", "--triangle"],
}
ORDER = ("attack", "pgd", "ibp", "crown", "lp", "sdp-cert")
#: ε = 0.1 for both (the issue's radius); the normally trained network certifies nothing there, so also 0.02
DEFAULT_EPS = {"normal": (0.1, 0.02), "pgd": (0.1, 0.05)}


def store_path(kind: str, group: str, eps: float) -> Path:
    return RUNS / f"cnn_{kind}_{group}_eps{eps:g}.jsonl"


def run_certify(kind: str, group: str, eps: float, count: int, args) -> None:
    RUNS.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, "-c", "import sys; from sdpsolve.cli import main; sys.exit(main(sys.argv[1:]))",
           "certify", "--model", str(MODELS / f"mnist_cnn_{kind}.npz"), "--data", str(DATA), "--eps", str(eps),
           "--start", str(args.start), "--count", str(count), "--out", str(store_path(kind, group, eps)),
           "--workers", str(args.workers), "--threads", "1", "--no-progress", *GROUPS[group]]
    if group == "sdp":
        cmd += ["--time-limit", str(args.time_limit)]
    print("$", " ".join(cmd[3:]), flush=True)
    subprocess.run(cmd, check=True, cwd=ROOT)


def method_rows(kind: str, eps: float, start: int, count: int, sdp_count: int) -> dict:
    """Per method: error and times on all its images, and on the sdp-cert images."""
    from certifiers.engine import read_results

    records = []
    for group in GROUPS:
        path = store_path(kind, group, eps)
        if path.exists():
            records += read_results(path)[1]
    sdp_images = set(range(start, start + sdp_count))
    out = {}
    for method in ORDER:
        rows = [r for r in records if r["method"] == method and start <= r["index"] < start + count]
        if not rows:
            continue
        attack = "adversarial" in rows[0]

        def error(rs, attack=attack):
            return float(np.mean([r["adversarial"] if attack else not r["certified"] for r in rs]))

        times = [r["time"] for r in rows]
        row = {"n": len(rows), "error": error(rows), "kind": "attack" if attack else "certifier",
               "bound_kinds": sorted({r.get("bound_kind", "attack") for r in rows}),
               "time_median": float(np.median(times)), "time_p90": float(np.percentile(times, 90)),
               "time_total": float(np.sum(times))}
        on_sdp = [r for r in rows if r["index"] in sdp_images]
        if on_sdp:
            row.update(n_sdp_images=len(on_sdp), error_sdp_images=error(on_sdp))
        out[method] = row
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--count", type=int, default=100, help="images for attack, pgd, ibp, crown, lp")
    ap.add_argument("--sdp-count", type=int, default=50, help="images for sdp-cert (the first ones)")
    ap.add_argument("--start", type=int, default=0)
    ap.add_argument("--eps", type=float, nargs="+", default=None,
                    help="radii for every network (default: 0.1 and 0.05 for pgd, 0.1 and 0.02 for normal)")
    ap.add_argument("--kinds", nargs="+", default=list(KINDS), choices=KINDS)
    ap.add_argument("--time-limit", type=float, default=20.0, help="sdp-cert: seconds per (image, target)")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--summary-only", action="store_true")
    ap.add_argument("--out", default=str(ROOT / "bench" / "results" / "certify_cnn.json"))
    args = ap.parse_args(argv)
    if not DATA.exists():
        print(f"{DATA} not found: nothing to certify", file=sys.stderr)
        return 2
    machine = machine_record()
    print(f"machine: {machine}", flush=True)
    started = time.strftime("%Y-%m-%d %H:%M")
    if not args.summary_only:
        for kind in args.kinds:
            for eps in args.eps or DEFAULT_EPS[kind]:
                run_certify(kind, "cheap", eps, args.count, args)
                run_certify(kind, "sdp", eps, args.sdp_count, args)
    machine["load_average_at_end"] = list(os.getloadavg())

    from certifiers import load_network

    data = np.load(DATA)
    X, y = data["X"].astype(np.float64), data["y"].astype(np.int64)
    out = {"command": "bench/certify_cnn.py " + " ".join(argv if argv is not None else sys.argv[1:]),
           "machine": machine, "date": started, "start": args.start, "count": args.count,
           "sdp_count": args.sdp_count, "workers": args.workers, "time_limit": args.time_limit,
           "sdp_options": " ".join(GROUPS["sdp"][2:]), "nets": {},
           "commit": code_commit()}
    train = json.loads((ROOT / "bench" / "results" / "train_cnn.json").read_text()) \
        if (ROOT / "bench" / "results" / "train_cnn.json").exists() else {}
    for kind in KINDS:
        path = MODELS / f"mnist_cnn_{kind}.npz"
        if not path.exists():
            continue
        net = load_network(path)
        sl = slice(args.start, args.start + args.count)
        entry = {"layer_sizes": list(net.layer_sizes), "sdp_n": 1 + int(sum(net.layer_sizes[:-1])),
                 "layers": [type(W).__name__ if not isinstance(W, np.ndarray) else "Dense" for W in net.layers],
                 "clean_error": float(np.mean(net.predict(X[sl]) != y[sl])),
                 "clean_error_sdp_images": float(np.mean(net.predict(X[args.start: args.start + args.sdp_count])
                                                         != y[args.start: args.start + args.sdp_count])),
                 "training": (train.get("kinds") or train).get(kind, {}).get("architecture") if train else None,
                 "eps": {}}
        for eps in args.eps or DEFAULT_EPS[kind]:
            rows = method_rows(kind, eps, args.start, args.count, args.sdp_count)
            if rows:
                entry["eps"][f"{eps:g}"] = rows
                for name, r in rows.items():
                    extra = (f"  [first {r['n_sdp_images']}: {100 * r['error_sdp_images']:.1f}%]"
                             if "n_sdp_images" in r else "")
                    print(f"cnn_{kind:6s} eps {eps:<5g} {name:9s} {r['n']:4d} images  error {100 * r['error']:5.1f}%"
                          f"{extra}  per image median {r['time_median']:.2f} s p90 {r['time_p90']:.2f} s",
                          flush=True)
        out["nets"][kind] = entry
    Path(args.out).write_text(json.dumps(out, indent=1) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
