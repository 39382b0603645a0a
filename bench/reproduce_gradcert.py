"""Reproduce the ICLR 2018 comparison (SPEC §6) on Grad-NN and LP-NN: MNIST, ε = 0.1, l∞.

For each network (``grad_nn.npz``, ``lp_nn.npz`` of ``../shared/data/raghunathan18``, 784-500-10) and the
first ``--count`` of the 10,000 MNIST test images (``mnist_test.npz``):

* clean error;
* PGD attack error on the first ``--pgd-count`` images (PGD is the slow part; default 1,000 — the printed table
  says how many images it covers). PGD with cross-entropy, random start in the ball ∩ [0, 1]^d, 100 steps,
  5 restarts (the ``pgd`` plugin's defaults); a lower bound on the robust error;
* the strong attack's error (``--method attack``: APGD margin steps on every target class, CROWN-corner
  starts) on the first ``--attack-count`` images, every counterexample re-checked in float64 — the lower end of
  the robust error; ``--attack-only`` adds it to an existing result file;
* certified error of Grad-cert (the SDP certificate, rigorous bounds by default), and of the spectral and
  Frobenius norm bounds;
* beside the papers' figures (Grad-cert 35% on Grad-NN, 93% on LP-NN; PGD 15% / 18%);
* timings: the 45 pair SDPs with the cache disabled (a fresh temporary cache folder), and the certification
  of the ``--count`` images by each method (table lookups once the SDPs are solved);
* diagnostics that bear on any difference from the paper: the certified error with the SDP values replaced
  by their primal lower bounds (how much the solver tolerance can matter), the spread of the pair values, and
  the Grad-cert bound kind;
* optionally (``--unclipped-pgd-count N``) PGD in the l∞ ball *not* intersected with [0, 1]^d on N images,
  which bears on the PGD figures (see below);
* a curve of certified error against ε ∈ [0, 0.15] for Grad-cert, spectral and Frobenius (cheap: the pair
  table does not depend on ε), written to ``bench/results/reproduce_gradcert_curve.png``.

Prints the machine and a table, and writes ``bench/results/reproduce_gradcert.json``.

Usage::

    .venv/bin/python bench/reproduce_gradcert.py [--count 10000] [--pgd-count 1000] [--eps 0.1]
        [--rtol 1e-4] [--bound rigorous] [--models grad_nn lp_nn] [--threads 1] [--seed 0]
        [--unclipped-pgd-count 0] [--attack-count N] [--attack-only]

What was found (AMD EPYC, 2 shared cores; see ``bench/results/reproduce_gradcert.json``): Grad-cert 34.77%
(Grad-NN) and 93.24% (LP-NN) against the paper's 35% and 93%, identical with the SDP upper values replaced by
their primal lower values, so the solver tolerance does not matter; spectral and Frobenius bounds are vacuous
(100%) at ε = 0.1. PGD on all 10,000 images gives 11.6% (Grad-NN) and 18.0% (LP-NN) against 15% and 18%; an 8×
stronger PGD (200 steps, 20 restarts) finds no further adversarial example on the first 500 images, but PGD
in the ball *without* clipping to [0, 1] gives 15.5% (Grad-NN) and 21.4% (LP-NN) on the first 1,000 images
(11.5% / 17.1% clipped): the Grad-NN figure of the paper matches an attack that ignores the input domain.

``--threads N`` caps torch and BLAS threads (default 1: measured on 2 shared, loaded cores, PGD on Grad-NN
ran 22× slower with two torch threads than with one).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench._machine import cpu_model  # noqa: E402
from certifiers import get_certifier  # noqa: E402
from certifiers._network import from_npz  # noqa: E402
from sdpsolve import limit_threads  # noqa: E402

DATA = ROOT.parent / "shared" / "data" / "raghunathan18"
RESULTS = ROOT / "bench" / "results"
#: the papers' figures at ε = 0.1 (SPEC §6): certified error of Grad-cert and PGD attack error
PAPER = {
    "grad_nn": {"label": "Grad-NN", "grad-cert": 0.35, "pgd": 0.15, "clean": 0.042},
    "lp_nn": {"label": "LP-NN", "grad-cert": 0.93, "pgd": 0.18, "clean": None},
}
CERTIFIERS = ("grad-cert", "spectral", "frobenius")


def machine() -> dict:
    """CPU model, cores and library versions of the machine the timings were taken on."""
    cpu = cpu_model()
    import torch

    info = {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "usable_cores": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "torch": torch.__version__,
    }
    try:
        info["load_average_at_start"] = [round(x, 2) for x in os.getloadavg()]
    except OSError:  # pragma: no cover - platform dependent
        pass
    return info


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--count", type=int, default=10000, help="test images certified (default all 10,000)")
    p.add_argument("--pgd-count", type=int, default=1000, help="test images attacked by PGD (default 1,000)")
    p.add_argument(
        "--unclipped-pgd-count",
        type=int,
        default=0,
        help="also run PGD in the l∞ ball NOT clipped to [0, 1] on this many images (diagnostic; default 0)",
    )
    p.add_argument("--attack-count", type=int, default=None,
                   help="test images attacked by the strong attack (`--method attack`; default: --pgd-count)")
    p.add_argument("--attack-only", action="store_true",
                   help="only add the strong attack to the existing --out file (Grad-cert's pair SDPs from the cache)")
    p.add_argument("--eps", type=float, default=0.1, help="l∞ radius (default 0.1)")
    p.add_argument("--rtol", type=float, default=1e-4, help="relative gap of the pair SDPs (default 1e-4)")
    p.add_argument("--bound", choices=("rigorous", "probabilistic"), default="rigorous")
    p.add_argument("--models", nargs="+", choices=sorted(PAPER), default=["grad_nn", "lp_nn"])
    p.add_argument("--threads", type=int, default=1, help="torch/BLAS threads (default 1)")
    p.add_argument("--seed", type=int, default=0, help="seed of PGD and of the SDP solver (default 0)")
    p.add_argument("--curve-points", type=int, default=31, help="ε values in [0, 0.15] for the curve")
    p.add_argument("--out", type=Path, default=RESULTS / "reproduce_gradcert.json")
    args = p.parse_args(argv)
    if not 1 <= args.count <= 10000:
        p.error(f"--count must be in [1, 10000], got {args.count}.")
    if not 0 <= args.pgd_count <= args.count:
        p.error(f"--pgd-count must be in [0, --count = {args.count}], got {args.pgd_count}.")
    if args.attack_count is None:
        args.attack_count = args.pgd_count
    if not 0 <= args.attack_count <= args.count:
        p.error(f"--attack-count must be in [0, --count = {args.count}], got {args.attack_count}.")
    if not 0 <= args.unclipped_pgd_count <= args.count:
        p.error(f"--unclipped-pgd-count must be in [0, --count = {args.count}], got {args.unclipped_pgd_count}.")
    if not (np.isfinite(args.eps) and args.eps >= 0):
        p.error(f"--eps must be a non-negative finite number, got {args.eps}.")
    if args.threads < 1 or args.curve_points < 2:
        p.error("--threads must be >= 1 and --curve-points >= 2.")
    return args


def check_data() -> None:
    missing = [f for f in ("grad_nn.npz", "lp_nn.npz", "mnist_test.npz") if not (DATA / f).is_file()]
    if missing:
        sys.exit(
            f"reproduce_gradcert: the shared data folder {DATA} is missing {', '.join(missing)}; "
            "it holds the networks and test images of the NeurIPS 2018 evaluation (see SPEC §4)."
        )


def error_of(results) -> float:
    """Certified error (certifiers) or attack error (attacks) of a list of ExampleResult."""
    if not results:
        return float("nan")
    if results[0].adversarial is not None:
        return float(np.mean([r.adversarial for r in results]))
    return float(np.mean([not r.certified for r in results]))


def pgd_unclipped(net, X: np.ndarray, y: np.ndarray, eps: float, *, steps=100, restarts=5, rng=0) -> np.ndarray:
    """Which examples PGD breaks in the l∞ ball *without* intersecting it with the input domain [0, 1]^d.

    Same attack as the ``pgd`` plugin (cross-entropy, uniform random start, ``steps`` sign-gradient steps of
    2.5·ε/steps, ``restarts`` starts), in float64, every visited point checked by a float64 forward pass;
    misclassified clean examples count as broken. The Grad-cert certificate holds on the whole ball, so it
    must never be broken by this attack either; the usual threat model clips to [0, 1].
    """
    import torch

    rng = np.random.default_rng(rng)
    model = net.to_torch(torch.float64)
    lo_t, hi_t = torch.tensor(X - eps), torch.tensor(X + eps)
    y_t = torch.tensor(y)
    broken = net.predict(X) != y
    for _ in range(restarts):
        x = torch.tensor(rng.uniform(X - eps, X + eps))
        for _ in range(steps):
            x.requires_grad_(True)
            loss = torch.nn.functional.cross_entropy(model(x), y_t, reduction="sum")
            (g,) = torch.autograd.grad(loss, x)
            x = torch.minimum(torch.maximum(x.detach() + (2.5 * eps / steps) * g.sign(), lo_t), hi_t)
            broken |= net.predict(x.numpy()) != y
    return broken


def certified_error_from_bounds(B: np.ndarray, X_pred: np.ndarray, y: np.ndarray) -> float:
    rows = np.arange(len(y))
    B = B.copy()
    B[rows, y] = -np.inf
    return float(np.mean(~((B.max(axis=1) < 0) & (X_pred == y))))


def attack_entry(net, X: np.ndarray, y: np.ndarray, args, grad) -> dict:
    """The strong attack (``--method attack``) on the first ``--attack-count`` images, its counterexamples
    re-checked by :func:`certifiers.confirm_witness`, and no Grad-cert certificate among them."""
    from certifiers import confirm_witness

    attack = get_certifier("attack", seed=args.seed)
    Xa, ya = X[: args.attack_count], y[: args.attack_count]
    start = time.perf_counter()
    res = attack.certify(net, Xa, ya, args.eps)
    elapsed = time.perf_counter() - start
    witnesses = [r.extra.get("witness") for r in res]
    confirmed = sum(confirm_witness(net, x, lab, args.eps, w) for x, lab, w in zip(Xa, ya, witnesses) if w)
    cert = grad.certify(net, Xa, ya, args.eps)
    broken = sum(c.certified and a.adversarial for c, a in zip(cert, res))
    print(f"{'attack':10s} attack error    {100 * error_of(res):6.2f}%  ({elapsed:.1f} s for {len(ya)} images; "
          f"{confirmed} witnesses confirmed; {broken} Grad-cert certificates broken)", flush=True)
    return {"attack_error": error_of(res), "bound_kind": "attack", "certify_time": elapsed,
            "per_example_time": elapsed / len(ya), "n": len(ya), "witnesses_confirmed": int(confirmed),
            "gradcert_certified_but_attacked": int(broken),
            "settings": {k: v for k, v in attack.options.items() if k != "device"}}


def attack_only(args) -> int:
    """``--attack-only``: add the strong attack to an existing result file (the rest is left as it is)."""
    report = json.loads(args.out.read_text())
    data = np.load(DATA / "mnist_test.npz")
    X = data["X"][: args.attack_count].astype(np.float64)
    y = data["y"][: args.attack_count].astype(np.int64)
    with limit_threads(args.threads):
        for r in report["results"]:
            net = from_npz(DATA / r["file"])
            print(f"\n== {r['network']} ({r['file']}) ==", flush=True)
            grad = get_certifier("grad-cert", rtol=report["settings"]["rtol"], bound=report["settings"]["bound"],
                                 rng=report["settings"]["seed"])
            grad.prepare(net, progress=True)
            r["methods"]["attack"] = attack_entry(net, X, y, args, grad)
    report["settings"]["attack_count"] = args.attack_count
    report["attack_machine"] = machine()
    report["attack_date"] = time.strftime("%Y-%m-%dT%H:%M:%S")
    args.out.write_text(json.dumps(report, indent=1) + "\n")
    print(f"\nwrote {args.out}")
    return 0


def run_model(name: str, X: np.ndarray, y: np.ndarray, args, eps_grid: np.ndarray) -> dict:
    net = from_npz(DATA / f"{name}.npz")
    label = PAPER[name]["label"]
    print(f"\n== {label} ({name}.npz, {'-'.join(map(str, net.layer_sizes))}) ==", flush=True)
    pred = net.predict(X)
    clean = float(np.mean(pred != y))
    out = {"network": label, "file": f"{name}.npz", "clean_error": clean, "n": len(y)}

    # -- Grad-cert: the 45 pair SDPs, no cache (a fresh temporary folder) -------------------------------------
    with tempfile.TemporaryDirectory(prefix="gradcert-cache-") as cache:
        grad = get_certifier("grad-cert", rtol=args.rtol, bound=args.bound, cache_dir=cache, rng=args.seed)
        start = time.perf_counter()
        grad.prepare(net, progress=True)
        sdp_time = time.perf_counter() - start
        table = grad.table(net)
    assert not table.from_cache
    iu = np.triu_indices(net.n_classes, 1)
    out["pair_sdps"] = {
        "pairs": len(iu[0]),
        "wall_time": sdp_time,
        "sum_pair_time": table.total_time,
        "median_pair_time": float(np.median(table.time[iu])),
        "max_pair_time": float(np.max(table.time[iu])),
        "max_gap": float(np.max(table.gap[iu])),
        "all_converged": bool(table.converged[iu].all()),
        "bound_kind": table.bound_kind,
        "failure_probability": table.failure_probability,
        "rtol": args.rtol,
        "n_matvec_total": int(table.n_matvec[iu].sum()),
        "S_upper": {f"{i}-{j}": float(table.S[i, j]) for i, j in zip(*iu)},
        "S_lower": {f"{i}-{j}": float(table.lower[i, j]) for i, j in zip(*iu)},
    }
    print(
        f"pair SDPs: {len(iu[0])} pairs in {sdp_time:.1f} s (max gap {out['pair_sdps']['max_gap']:.2e}, "
        f"{'all converged' if out['pair_sdps']['all_converged'] else 'NOT all converged'}, {table.bound_kind})",
        flush=True,
    )

    # -- certification of every image: Grad-cert, spectral, Frobenius ---------------------------------------
    methods = {"grad-cert": grad, "spectral": get_certifier("spectral"), "frobenius": get_certifier("frobenius")}
    out["methods"] = {}
    for mname, plugin in methods.items():
        plugin.prepare(net)
        start = time.perf_counter()
        res = plugin.certify(net, X, y, args.eps)
        elapsed = time.perf_counter() - start
        out["methods"][mname] = {
            "certified_error": error_of(res),
            "bound_kind": res[0].bound_kind,
            "certify_time": elapsed,
            "per_example_time": elapsed / len(y),
            "n": len(y),
        }
        print(f"{mname:10s} certified error {100 * error_of(res):6.2f}%  ({elapsed:.3g} s for {len(y)} images)")

    # -- PGD ------------------------------------------------------------------------------------------------
    if args.pgd_count:
        pgd = get_certifier("pgd", seed=args.seed)
        Xp, yp = X[: args.pgd_count], y[: args.pgd_count]
        start = time.perf_counter()
        res = pgd.certify(net, Xp, yp, args.eps)
        elapsed = time.perf_counter() - start
        out["methods"]["pgd"] = {
            "attack_error": error_of(res),
            "bound_kind": "attack",
            "certify_time": elapsed,
            "per_example_time": elapsed / len(yp),
            "n": len(yp),
            "clean_error_same_images": float(np.mean(pred[: args.pgd_count] != yp)),
            "settings": {k: v for k, v in pgd.options.items() if k != "device"},
        }
        # consistency: on the attacked images, nothing Grad-cert certified may be broken
        cert = grad.certify(net, Xp, yp, args.eps)
        broken = sum(c.certified and a.adversarial for c, a in zip(cert, res))
        out["methods"]["pgd"]["gradcert_certified_but_attacked"] = int(broken)
        print(
            f"{'pgd':10s} attack error    {100 * error_of(res):6.2f}%  ({elapsed:.1f} s for {len(yp)} images; "
            f"{broken} Grad-cert certificates broken)"
        )

    if args.attack_count:
        out["methods"]["attack"] = attack_entry(net, X, y, args, grad)

    # -- PGD that ignores the input domain (diagnostic for the difference from the papers' PGD figures) -------
    if args.unclipped_pgd_count:
        Xu, yu = X[: args.unclipped_pgd_count], y[: args.unclipped_pgd_count]
        start = time.perf_counter()
        adv = pgd_unclipped(net, Xu, yu, args.eps, rng=args.seed)
        elapsed = time.perf_counter() - start
        cert = grad.certify(net, Xu, yu, args.eps)
        broken = int(sum(c.certified and a for c, a in zip(cert, adv)))
        out["methods"]["pgd-unclipped"] = {
            "attack_error": float(np.mean(adv)),
            "bound_kind": "attack (l∞ ball NOT intersected with [0, 1]^d)",
            "certify_time": elapsed,
            "n": len(yu),
            "gradcert_certified_but_attacked": broken,
        }
        print(
            f"{'pgd, no [0,1] clipping':10s} attack error {100 * np.mean(adv):6.2f}%  ({elapsed:.1f} s for "
            f"{len(yu)} images; {broken} Grad-cert certificates broken — the certificate covers the whole ball)"
        )

    # -- diagnostics -----------------------------------------------------------------------------------------
    logits = net.logits(X)
    rows = np.arange(len(y))
    margins = logits - logits[rows, y][:, None]
    B_upper, _ = grad.bound_margins(net, X, y, args.eps)
    B_lower = margins + (args.eps / 4.0) * table.lower[:, y].T
    out["diagnostics"] = {
        "gradcert_error_with_sdp_upper": certified_error_from_bounds(B_upper, pred, y),
        "gradcert_error_with_sdp_lower": certified_error_from_bounds(B_lower, pred, y),
        "gradcert_error_without_rounding_terms": certified_error_from_bounds(
            margins + (args.eps / 4.0) * table.S[:, y].T, pred, y
        ),
        "S_min": float(table.S[iu].min()),
        "S_median": float(np.median(table.S[iu])),
        "S_max": float(table.S[iu].max()),
        "radius_median_at_eps": float(np.median(args.eps / 4.0 * table.S[iu])),
        "clean_margin_median": float(np.median(np.sort(margins, axis=1)[:, -2])),
    }
    d = out["diagnostics"]
    print(
        f"diagnostics: Grad-cert error with SDP upper bounds {100 * d['gradcert_error_with_sdp_upper']:.2f}%, "
        f"with primal lower values {100 * d['gradcert_error_with_sdp_lower']:.2f}%; pair values S in "
        f"[{d['S_min']:.1f}, {d['S_max']:.1f}] (median {d['S_median']:.1f}), so ε/4·S has median "
        f"{d['radius_median_at_eps']:.2f} against a median clean margin {-d['clean_margin_median']:.2f}"
    )

    # -- curve of certified error against ε ------------------------------------------------------------------
    curve = {m: [] for m in CERTIFIERS}
    start = time.perf_counter()
    for e in eps_grid:
        for mname in CERTIFIERS:
            B, _ = methods[mname].bound_margins(net, X, y, float(e))
            curve[mname].append(certified_error_from_bounds(B, pred, y))
    out["curve"] = {"eps": eps_grid.tolist(), **curve, "time": time.perf_counter() - start}
    return out


def plot_curves(results: list[dict], path: Path, eps: float) -> None:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(5.2 * len(results), 4.0))
    FigureCanvasAgg(fig)
    styles = {"grad-cert": ("C0", "-"), "spectral": ("C1", "--"), "frobenius": ("C2", ":")}
    for k, res in enumerate(results):
        ax = fig.add_subplot(1, len(results), k + 1)
        e = np.asarray(res["curve"]["eps"])
        for m in CERTIFIERS:
            color, ls = styles[m]
            ax.plot(e, 100 * np.asarray(res["curve"][m]), color=color, ls=ls, label=m)
        paper = PAPER[Path(res["file"]).stem]
        ax.plot([eps], [100 * paper["grad-cert"]], "o", color="C0", mfc="none", label="Grad-cert (paper)")
        if "pgd" in res["methods"]:
            ax.plot(
                [eps],
                [100 * res["methods"]["pgd"]["attack_error"]],
                "x",
                color="C3",
                label=f"PGD (n={res['methods']['pgd']['n']})",
            )
            ax.plot([eps], [100 * paper["pgd"]], "s", color="C3", mfc="none", label="PGD (paper)")
        ax.axhline(100 * res["clean_error"], color="grey", lw=0.8, label="clean error")
        ax.set_title(f"{res['network']} (n = {res['n']})")
        ax.set_xlabel("ε (l∞, pixels in [0, 1])")
        ax.set_ylabel("error (%)")
        ax.set_xlim(e[0], e[-1])
        ax.set_ylim(0, 101)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)


def print_table(results: list[dict], args) -> None:
    pgd_n = args.pgd_count
    head = ["network", "clean", f"PGD (n={pgd_n})", "Grad-cert", "spectral", "Frobenius", "| paper: PGD", "Grad-cert"]
    rows = [head]
    for r in results:
        paper = PAPER[Path(r["file"]).stem]
        m = r["methods"]
        rows.append(
            [
                r["network"],
                f"{100 * r['clean_error']:.2f}%",
                f"{100 * m['pgd']['attack_error']:.1f}%" if "pgd" in m else "-",
                f"{100 * m['grad-cert']['certified_error']:.2f}%",
                f"{100 * m['spectral']['certified_error']:.2f}%",
                f"{100 * m['frobenius']['certified_error']:.2f}%",
                f"| {100 * paper['pgd']:.0f}%",
                f"{100 * paper['grad-cert']:.0f}%",
            ]
        )
    widths = [max(len(row[k]) for row in rows) for k in range(len(head))]
    print(
        f"\ncertified / attack error at ε = {args.eps:g} on the first {args.count} MNIST test images "
        f"(PGD: first {pgd_n} only — it is the slow part)"
    )
    for row in rows:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip())
    for r in results:
        u = r["methods"].get("pgd-unclipped")
        if u:
            print(
                f"  {r['network']}: PGD in the ball NOT clipped to [0, 1] (first {u['n']} images): "
                f"{100 * u['attack_error']:.1f}% ({u['gradcert_certified_but_attacked']} Grad-cert certificates broken)"
            )
    print("\ntimings")
    for r in results:
        s = r["pair_sdps"]
        m = r["methods"]
        line = (
            f"  {r['network']}: 45 pair SDPs {s['wall_time']:.1f} s (no cache, rtol {s['rtol']:g}, max gap "
            f"{s['max_gap']:.1e}, {s['bound_kind']}); certification of {r['n']} images: "
            + ", ".join(f"{k} {m[k]['certify_time']:.3g} s" for k in CERTIFIERS)
        )
        if "pgd" in m:
            line += f"; PGD {m['pgd']['certify_time']:.1f} s for {m['pgd']['n']} images"
        print(line)


def main(argv=None) -> int:
    args = parse_args(argv)
    check_data()
    if args.attack_only:
        return attack_only(args)
    info = machine()
    print(
        f"machine: {info['cpu']}, {info['cores']} cores ({info['usable_cores']} usable), {info['platform']}; "
        f"load average {info.get('load_average_at_start')}; threads capped at {args.threads}"
    )
    data = np.load(DATA / "mnist_test.npz")
    X = data["X"][: args.count].astype(np.float64)
    y = data["y"][: args.count].astype(np.int64)
    eps_grid = np.linspace(0.0, 0.15, args.curve_points)
    results = []
    start = time.perf_counter()
    with limit_threads(args.threads):
        for name in args.models:
            results.append(run_model(name, X, y, args, eps_grid))
    total = time.perf_counter() - start
    print_table(results, args)
    png = args.out.with_name(args.out.stem + "_curve.png")
    plot_curves(results, png, args.eps)
    report = {
        "benchmark": "reproduce_gradcert",
        "settings": {
            "eps": args.eps,
            "count": args.count,
            "pgd_count": args.pgd_count,
            "attack_count": args.attack_count,
            "unclipped_pgd_count": args.unclipped_pgd_count,
            "rtol": args.rtol,
            "bound": args.bound,
            "threads": args.threads,
            "seed": args.seed,
            "cache": "disabled (fresh temporary cache folder per network)",
        },
        "machine": info,
        "date": time.strftime("%Y-%m-%dT%H:%M:%S"),
        "total_time": total,
        "paper": PAPER,
        "results": results,
        "plot": str(png.relative_to(ROOT)) if png.is_relative_to(ROOT) else str(png),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=1) + "\n")
    print(f"\nwrote {args.out} and {png} (total {total:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
