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

A second variant keeps the SDP's input box clipped and takes only the interval bounds of the hidden layers from
the unclipped box [x̄ − ε, x̄ + ε] (looser bounds, still valid for the clipped box): the implementation that
clips the pixels where it states the input constraint but propagates intervals from x̄ ± ε. It runs the
package's sdp-cert in this process with ``certifiers._sdpcert.layer_bounds`` replaced by that propagation
(:func:`interval_bounds_of_unclipped_box`), the images split among ``--workers`` processes of this script, each
record kept as soon as its image is done (a rerun continues). ``--net`` runs it on the other networks too: an
explanation of PGD-NN's gap must leave Grad-NN and LP-NN at the paper's 20%.

Usage::

    .venv/bin/python bench/sdpcert_unclipped_box.py [--net pgd_nn] [--count 20] [--workers 2]
        [--variant both|box|intervals|summary]

Writes ``bench/results/sdpcert_unclipped_box.json`` (section ``unclipped`` of ``bench/render_tables.py``).
Needs the shared data folder ``../shared/data/raghunathan18``.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.reproduce_sdpcert import DATA, PAPER, RUNS, TIME_LIMIT, machine, store_path  # noqa: E402

NET = "pgd_nn"  # the network of the box variant
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


def interval_bounds_of_unclipped_box(eps: float):
    """A stand-in for ``certifiers._sdpcert.layer_bounds``: the hidden layers' bounds propagated from x̄ ± ε.

    It receives the clipped box [max(x̄ − ε, 0), min(x̄ + ε, 1)] and recovers x̄ ± ε from it (at ε < 1/2 no pixel
    is clipped on both sides); the returned bounds keep the clipped box as their input box, which is what
    the SDP constrains x to.
    """
    from certifiers import _sdpcert

    propagate = _sdpcert.layer_bounds

    def layer_bounds(network, lo, hi, method="ibp"):
        lo_x, hi_x = np.where(lo > 0, lo, hi - 2 * eps), np.where(hi < 1, hi, lo + 2 * eps)
        return dataclasses.replace(propagate(network, lo_x, hi_x, method=method), input_lower=lo, input_upper=hi)

    return layer_bounds


def intervals_runs(net: str) -> Path:
    """The folder of the interval-bounds variant's records on ``net``."""
    return RUNS / f"{net}_unclipped_intervals_eps{EPS:g}"


def recorded_intervals_variant(net: str) -> dict[int, dict]:
    """The interval-bounds variant's records on ``net`` so far, by image (one JSON-lines file per process; a
    line cut short by a killed process is skipped and its image run again)."""
    rows = {}
    folder = intervals_runs(net)
    for path in sorted(folder.glob("part*.jsonl")) if folder.exists() else []:
        for line in path.read_text().splitlines():
            try:
                rec = json.loads(line)
            except json.JSONDecodeError:
                continue
            rows[int(rec["index"])] = rec
    return rows


def certify_part(net_name: str, part: int, parts: int, first: int, count: int) -> None:
    """sdp-cert (the CLI's defaults) with interval bounds of the unclipped box on this process's share of the
    images first .. count − 1 not recorded yet; each record is appended as soon as its image is done."""
    from certifiers import _sdpcert, load_network
    from certifiers import cli as ccli

    _sdpcert.layer_bounds = interval_bounds_of_unclipped_box(EPS)
    net = load_network(DATA / f"{net_name}.npz")
    X, y = ccli.load_data(DATA / "mnist_test.npz", net.input_dim, net.n_classes)
    done = recorded_intervals_variant(net_name)
    idx = np.array([i for i in range(first, count) if i not in done][part::parts], dtype=np.int64)
    if not len(idx):
        return
    plans, _ = ccli.plan_methods(["sdp-cert"], time_limit=TIME_LIMIT)
    ccli.prepare_methods(plans, net)
    intervals_runs(net_name).mkdir(parents=True, exist_ok=True)
    with open(intervals_runs(net_name) / f"part{part}.jsonl", "a") as f, ccli.limit_threads(1):

        def write(method, records):
            for rec in records:
                f.write(json.dumps(rec) + "\n")
            f.flush()

        ccli.certify_examples(net, X[idx], y[idx], EPS, plans, indices=idx, on_records=write)


def run_intervals_variant(net: str, first: int, count: int, workers: int) -> None:
    """The variant with unclipped interval bounds on ``net``, images first .. count − 1, in ``workers`` processes."""
    procs = [subprocess.Popen([sys.executable, __file__, "--part", f"{k}/{workers}", "--net", net, "--from-image",
                               str(first), "--count", str(count)], cwd=ROOT) for k in range(workers)]
    if any(p.wait() != 0 for p in procs):
        raise RuntimeError("a part of the interval-bounds variant failed (see its output above)")


def outcome(rows: dict[int, dict], count: int) -> dict:
    """Per-image sdp-cert outcome of the records ``{image: record}`` over the images 0 .. count − 1 among them."""
    rows = {i: r for i, r in rows.items() if i < count}
    return {"n": len(rows), "uncertified": sorted(i for i, r in rows.items() if not r["certified"]),
            "time_total": float(sum(r["time"] for r in rows.values())), "images": sorted(rows)}


def errors(path: Path, count: int) -> dict:
    """Per-image sdp-cert outcome of a store over images 0 .. count − 1."""
    from certifiers._store import read_results

    _, records = read_results(path)
    return outcome({r["index"]: r for r in records if r["method"] == "sdp-cert"}, count)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--net", choices=NETS, default=NET, help=f"network of the interval-bounds variant (default {NET})")
    ap.add_argument("--count", type=int, default=20, help="the first COUNT test images (default 20)")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--variant", choices=("both", "box", "intervals", "summary"), default="both",
                    help="which variants to run (the box variant on PGD-NN only); summary: none, rewrite --out "
                    "from the records (default both)")
    ap.add_argument("--from-image", type=int, default=0,
                    help="the interval-bounds variant runs images FROM_IMAGE .. COUNT − 1 not recorded yet "
                    "(default 0; its records are kept in bench/results/sdpcert_runs)")
    ap.add_argument("--out", default=str(ROOT / "bench" / "results" / "sdpcert_unclipped_box.json"))
    ap.add_argument("--part", help=argparse.SUPPRESS)  # K/N: one process of the interval-bounds variant
    args = ap.parse_args(argv)
    if args.part:
        k, n = map(int, args.part.split("/"))
        certify_part(args.net, k, n, args.from_image, args.count)
        return 0
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
    now = f"{time.strftime('%Y-%m-%d %H:%M')}, {machine()}"
    runs = previous.get("runs", {})  # when each variant on each network last ran
    box_store = RUNS / f"{NET}_unclipped_box_eps{EPS:g}.jsonl"
    eps2 = EPS / (1.0 + 2.0 * EPS)
    if args.variant in ("both", "box"):
        with tempfile.TemporaryDirectory() as tmp:
            model, data, eps2 = unclipped_problem(EPS, DATA / f"{NET}.npz", DATA / "mnist_test.npz", Path(tmp))
            cmd = [sys.executable, "-c", "import sys; from sdpsolve.cli import main; sys.exit(main(sys.argv[1:]))",
                   "certify", "--model", str(model), "--data", str(data), "--eps", repr(eps2), "--start", "0",
                   "--count", str(args.count), "--out", str(box_store), "--method", "sdp-cert", "--workers",
                   str(args.workers), "--batch-size", "1", "--threads", "1"]
            print("$ sdpsolve", " ".join(cmd[3:]), flush=True)
            subprocess.run(cmd, check=True, cwd=ROOT)
        runs[f"{NET}/unclipped"] = now
    if args.variant in ("both", "intervals"):
        print(f"{args.net}: interval bounds of the unclipped box, images {args.from_image}..{args.count - 1} in "
              f"{args.workers} processes", flush=True)
        run_intervals_variant(args.net, args.from_image, args.count, args.workers)
        runs[f"{args.net}/unclipped_intervals"] = now
    nets = {}
    for net in NETS:
        rows = {"clipped": {**errors(store_path(net, "", EPS), args.count),
                            "run": "the store of bench/reproduce_sdpcert.py"}}
        if net == NET and box_store.exists():
            rows["unclipped"] = {**errors(box_store, args.count), "run": runs.get(f"{net}/unclipped", "?")}
        recorded = recorded_intervals_variant(net)
        if recorded:
            row = outcome(recorded, args.count)
            same = set(row["images"])  # the clipped run on the same images, when the variant has not run them all
            row["clipped_uncertified_same_images"] = [i for i in rows["clipped"]["uncertified"] if i in same]
            rows["unclipped_intervals"] = {**row, "run": runs.get(f"{net}/unclipped_intervals", "?")}
        if len(rows) > 1:
            nets[net] = rows
    names = {"clipped": "clipped to [0, 1] (SPEC §5)", "unclipped": "not clipped",
             "unclipped_intervals": "intervals from x̄ ± ε"}
    for net, rows in nets.items():
        for key, row in rows.items():
            print(f"{net:8s} {names[key]:28s} {row['n']:3d} images  certified error "
                  f"{100 * len(row['uncertified']) / max(row['n'], 1):5.1f}%  uncertified {row['uncertified']}")
    out = {"benchmark": "sdpcert_unclipped_box", "eps": EPS, "eps_changed": eps2, "count": args.count,
           "workers": args.workers, "date": time.strftime("%Y-%m-%dT%H:%M:%S"), "runs": runs, "nets": nets,
           "paper": {net: PAPER[net]["sdp-cert"] for net in nets}}
    Path(args.out).write_text(json.dumps(out, indent=1))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
