"""Complete verification (``sdpsolve verify``) on the NeurIPS 2018 paper's three networks, ε = 0.1.

For the MNIST test images ``--start`` … ``--start + --count − 1`` and each network (Grad-NN, LP-NN, PGD-NN), one
resumable ``verify`` run (the engine's JSON-lines store under ``bench/results/verify_runs/``; a killed run is
resumed by running the same command again), ``--timeout`` seconds per input, ``--workers`` processes. Per network:
verified / falsified / unknown, the robust-error interval [falsified share, 1 − verified share], which stage
decided how many inputs, time per input (median, 90th percentile, total), and every witness re-checked here by
:func:`certifiers.confirm_witness`. ``--retry-timeout T`` adds a second pass over the inputs the first left
unknown, T seconds each (its verdicts replace "unknown"; the table states both passes); ``--retry-timeout-net
NET=T`` gives a network its own T (one store of second-pass verdicts per network and T).

Usage::

    .venv/bin/python bench/verify_paper_nets.py --count 200 --timeout 60 --workers 2 [--retry-timeout 300]
    .venv/bin/python bench/verify_paper_nets.py --count 200 --summary-only

Writes ``bench/results/verify_paper_nets.json`` (rendered by ``bench/render_tables.py``, section ``verify``).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench._machine import code_commit, cpu_model  # noqa: E402

DATA = ROOT.parent / "shared" / "data" / "raghunathan18"
RUNS = ROOT / "bench" / "results" / "verify_runs"
NETS = ("grad_nn", "lp_nn", "pgd_nn")


def store(net: str, eps: float, runs: Path = RUNS) -> Path:
    return runs / f"{net}_eps{eps:g}.jsonl"


def run(net: str, args) -> None:
    from certifiers.engine import CertifyConfig
    from certifiers.workflows import format_verdicts, run_verify

    args.runs_dir.mkdir(parents=True, exist_ok=True)
    config = CertifyConfig(model=str(DATA / f"{net}.npz"), data=str(DATA / "mnist_test.npz"), methods=("verify",),
                           eps=args.eps, start=args.start, count=args.count,
                           out=str(store(net, args.eps, args.runs_dir)),
                           options={"timeout": args.timeout}, seed=0, workers=args.workers, threads=1,
                           progress=not args.no_progress)
    t = time.perf_counter()
    _, summary = run_verify(config)
    print(f"== {net}: {time.perf_counter() - t:.0f} s wall\n{format_verdicts(summary)}", flush=True)


def _retry_one(net: str, index: int, eps: float, timeout: float) -> dict:
    from certifiers import load_network
    from certifiers._verify import decide

    data = np.load(DATA / "mnist_test.npz")
    x, label = data["X"][index].astype(np.float64), int(data["y"][index])
    d = decide(load_network(DATA / f"{net}.npz"), x, label, eps, timeout=timeout, rng=0)
    out = {"index": index, "label": label, "verdict": d.verdict.value, "stage": d.stage, "time": d.time,
           "nodes": d.nodes, "bounds": {str(j): v for j, v in d.bounds.items()}, "bound_kind": d.bound_kind}
    if d.witness is not None:
        out["witness"] = [float(v) for v in d.witness]
    return out


def _retry_timeout(net: str, args) -> float:
    """The second pass's seconds per input for ``net`` (``--retry-timeout-net`` over ``--retry-timeout``)."""
    return getattr(args, "retry_overrides", {}).get(net, args.retry_timeout)


def retry(net: str, args) -> None:
    """A second pass over the inputs the first left unknown, ``--retry-timeout`` seconds each (resumable: one JSON
    file per network and timeout; the first pass's records stay as they are)."""
    from certifiers._pool import process_pool
    from certifiers.engine import read_results

    path = store(net, args.eps, args.runs_dir)
    if not path.exists():
        return
    _, records = read_results(path)
    wanted = set(range(args.start, args.start + args.count))
    unknown = sorted(r["index"] for r in records if r.get("method") == "verify" and r["index"] in wanted
                     and r["verdict"] == "unknown")
    timeout = _retry_timeout(net, args)
    rpath = args.runs_dir / f"{net}_eps{args.eps:g}_retry{timeout:g}.json"
    done = json.loads(rpath.read_text()) if rpath.exists() else {}
    todo = [i for i in unknown if str(i) not in done]
    if not todo:
        return
    print(f"== {net}: second pass over {len(todo)} unknown inputs, {timeout:g} s each", flush=True)
    with process_pool(args.workers, threads=1) as pool:
        futures = {i: pool.submit(_retry_one, net, i, args.eps, timeout) for i in todo}
        for i, f in futures.items():
            done[str(i)] = f.result()
            rpath.write_text(json.dumps(done, indent=1))
            print(f"   image {i}: {done[str(i)]['verdict']} ({done[str(i)]['stage']}, {done[str(i)]['time']:.0f} s)",
                  flush=True)


def summarise(net: str, args) -> dict | None:
    from certifiers import confirm_witness, load_network
    from certifiers.engine import read_results
    from certifiers.workflows import summarize_verdicts

    path = store(net, args.eps, args.runs_dir)
    if not path.exists():
        return None
    header, records = read_results(path)
    wanted = set(range(args.start, args.start + args.count))
    recs = sorted((r for r in records if r.get("method") == "verify" and r["index"] in wanted),
                  key=lambda r: r["index"])
    if not recs:
        return None
    first = summarize_verdicts(recs)
    timeout = _retry_timeout(net, args)
    rpath = args.runs_dir / f"{net}_eps{args.eps:g}_retry{timeout:g}.json"
    second = json.loads(rpath.read_text()) if timeout and rpath.exists() else {}
    decided_later = {int(i): r for i, r in second.items() if r["verdict"] != "unknown"}
    recs = [decided_later.get(r["index"], r) if r["verdict"] == "unknown" else r for r in recs]
    s = summarize_verdicts(recs)
    network = load_network(DATA / f"{net}.npz")
    data = np.load(DATA / "mnist_test.npz")
    X = data["X"].astype(np.float64)
    witnesses = [r for r in recs if r["verdict"] == "falsified"]
    confirmed = sum(confirm_witness(network, X[r["index"]], r["label"], args.eps, r["witness"]) for r in witnesses)
    times = [r["time"] for r in recs]
    lo, hi = s.robust_error
    return {"n": s.n, "verified": s.verified, "falsified": s.falsified, "unknown": s.unknown,
            "robust_error": [lo, hi], "stages": {f"{v}/{st}": c for (v, st), c in sorted(s.stages.items())},
            "witnesses_confirmed": int(confirmed), "witnesses": len(witnesses),
            "unknown_indices": [r["index"] for r in recs if r["verdict"] == "unknown"],
            "first_pass": {"verified": first.verified, "falsified": first.falsified, "unknown": first.unknown},
            "second_pass": ({"timeout": timeout, "inputs": len(second),
                             "decided": {str(i): f"{r['verdict']} ({r['stage']}, {r['time']:.0f} s)"
                                         for i, r in sorted(second.items(), key=lambda kv: int(kv[0]))}}
                            if second else None),
            "time_median": float(np.median(times)), "time_p90": float(np.percentile(times, 90)),
            "time_total": float(np.sum(times)), "options": (header or {}).get("methods", {}).get("verify", {})}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--count", type=int, default=200)
    ap.add_argument("--start", type=int, default=0)
    ap.add_argument("--eps", type=float, default=0.1)
    ap.add_argument("--timeout", type=float, default=60.0, help="seconds per input (default 60)")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--nets", nargs="+", default=list(NETS), choices=NETS)
    ap.add_argument("--retry-timeout", type=float, default=0.0,
                    help="a second pass over the inputs left unknown, this many seconds each (default 0: none)")
    ap.add_argument("--retry-timeout-net", nargs="+", default=[], metavar="NET=T",
                    help="a network's own second-pass timeout, overriding --retry-timeout for it (e.g. lp_nn=120)")
    ap.add_argument("--summary-only", action="store_true")
    ap.add_argument("--runs", default=None,
                    help="with --summary-only: the commands that filled the stores (kept in the JSON, rendered)")
    ap.add_argument("--runs-dir", type=Path, default=RUNS,
                    help="where the resumable stores live (default bench/results/verify_runs; another folder for a "
                         "fresh run)")
    ap.add_argument("--no-progress", action="store_true")
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "verify_paper_nets.json")
    args = ap.parse_args(argv)
    try:
        args.retry_overrides = {k: float(v) for k, v in (item.split("=", 1) for item in args.retry_timeout_net)}
    except ValueError:
        ap.error(f"--retry-timeout-net: expected NET=SECONDS pairs, got {' '.join(args.retry_timeout_net)}")
    unknown_nets = set(args.retry_overrides) - set(NETS)
    if unknown_nets:
        ap.error(f"--retry-timeout-net: unknown networks {sorted(unknown_nets)} (choose from {', '.join(NETS)})")
    if not DATA.exists():
        print(f"data folder {DATA} not found: nothing to verify", file=sys.stderr)
        return 2
    machine = {"cpu": cpu_model(), "cores": os.cpu_count(), "python": platform.python_version(),
               "load_average_at_start": list(os.getloadavg())}
    if not args.summary_only:
        for net in args.nets:
            run(net, args)
            if _retry_timeout(net, args):
                retry(net, args)
    given = list(argv if argv is not None else sys.argv[1:])
    if "--runs" in given:  # the note is rendered on its own, not as part of the command
        k = given.index("--runs")
        given = given[:k] + given[k + 2:]
    out = {"command": "bench/verify_paper_nets.py " + " ".join(given),
           "machine": machine, "eps": args.eps, "start": args.start, "count": args.count, "timeout": args.timeout,
           "workers": args.workers, "date": time.strftime("%Y-%m-%d %H:%M"), "commit": code_commit(), "nets": {}}
    if args.runs:
        out["runs"] = args.runs
    for net in args.nets:
        row = summarise(net, args)
        if row is not None:
            out["nets"][net] = row
            print(f"{net}: {row['verified']} verified, {row['falsified']} falsified ({row['witnesses_confirmed']} "
                  f"witnesses confirmed), {row['unknown']} unknown; robust error in "
                  f"[{100 * row['robust_error'][0]:.1f}%, {100 * row['robust_error'][1]:.1f}%]", flush=True)
    out["machine"]["load_average_at_end"] = list(os.getloadavg())
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
