"""Summaries of ``certify`` results: the certified-error table and plots (``sdpsolve report``).

Input: JSON-lines files of per-example records as written by ``sdpsolve certify`` (``ExampleResult.to_json``
records, with or without a :mod:`certifiers.engine` store header); several files, and several runs per file, may
be combined. A record counts as an *example record* when it has ``method``, ``eps``, ``index``, ``label`` and
``predicted``; per-(example, target) records (those with a ``target`` field) and anything else are skipped.

The model of a record is, in this order: its ``model`` field, the ``model_name`` or ``model`` entry of its
file's header configuration, or the file name without suffix. When the same (model, method, ε, index)
appears more than once, the first record read is kept.

Per (model, method, ε) the table gives

* ``N``: examples;
* ``clean err``: share of examples with ``predicted != label``;
* ``cert. err`` (certifiers): share of examples *not* certified — ``certified`` when present, else
  "predicted == label and every bound < 0";
* ``attack err`` (attacks, ``bound_kind == "attack"`` or an ``adversarial`` field): share of examples where the
  attack found an input classified differently (``adversarial`` when present, else "predicted != label or some
  margin > 0") — a lower bound on the true robust error;
* ``median time``: median of the per-example ``time`` in seconds.

Plots (matplotlib, written without pyplot through the Agg canvas): ``certified_error_vs_eps.png`` (certified
error, and attack error dashed, against ε per model and method) and ``worst_bound_hist.png`` (per method, the
histogram of the per-example worst bound max_j bounds[j]; < 0 means certified); :func:`plot_method_errors`
draws one bar per method (the plot of ``sdpsolve demo``).
"""

from __future__ import annotations

import json
import math
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from ..engine import SummaryRow, read_results, summary_row

PLOT_FILES = ("certified_error_vs_eps.png", "worst_bound_hist.png")
REQUIRED_KEYS = ("method", "eps", "index", "label", "predicted")


@dataclass(frozen=True)
class ExampleRecord:
    """One example's outcome, normalised from a JSON record."""

    model: str
    method: str
    eps: float
    index: int
    label: int
    predicted: int
    bound_kind: str
    is_attack: bool
    certified: bool | None
    adversarial: bool | None
    worst_bound: float | None
    time: float | None
    source: str


@dataclass(frozen=True)
class LoadedResults:
    """Example records of one or more files, with what was skipped."""

    records: tuple
    duplicates: int
    skipped: int


def _model_name(rec: dict, config: dict | None, path: Path) -> str:
    if isinstance(rec.get("model"), str):
        return rec["model"]
    if isinstance(config, dict):
        for k in ("model_name", "model"):
            if isinstance(config.get(k), str):
                return config[k]
    return path.stem


def _normalise(rec: dict, config, path: Path) -> ExampleRecord | None:
    if "target" in rec or any(k not in rec for k in REQUIRED_KEYS):
        return None
    bounds = rec.get("bounds") or {}
    values = [float(v) for v in bounds.values()] if isinstance(bounds, dict) else []
    worst = max(values) if values else None
    kind = str(rec.get("bound_kind", "?"))
    # a verify record (``verdict``) is a certifier's: its error is "not verified"; it also has ``adversarial``
    is_attack = (kind == "attack" or "adversarial" in rec) and "verdict" not in rec
    label, predicted = int(rec["label"]), int(rec["predicted"])
    certified = adversarial = None
    if is_attack:
        adversarial = rec.get("adversarial")
        if adversarial is None:
            adversarial = predicted != label or (worst is not None and worst > 0)
        adversarial = bool(adversarial)
    else:
        certified = rec.get("certified")
        if certified is None:
            certified = predicted == label and worst is not None and worst < 0
        certified = bool(certified)
    t = rec.get("time")
    return ExampleRecord(
        model=_model_name(rec, config, path),
        method=str(rec["method"]),
        eps=float(rec["eps"]),
        index=int(rec["index"]),
        label=label,
        predicted=predicted,
        bound_kind=kind,
        is_attack=is_attack,
        certified=certified,
        adversarial=adversarial,
        worst_bound=worst,
        time=None if t is None else float(t),
        source=str(path),
    )


def load_results(paths) -> LoadedResults:
    """Read example records from one or more JSON-lines result files (see the module docstring)."""
    if isinstance(paths, (str, Path)):
        paths = [paths]
    seen: set = set()
    out = []
    duplicates = skipped = 0
    for p in paths:
        path = Path(p)
        if not path.is_file():
            raise FileNotFoundError(f"results file not found: {path}")
        config, records = read_results(path)
        for rec in records:
            try:
                ex = _normalise(rec, config, path)
            except (TypeError, ValueError) as exc:
                raise ValueError(f"{path}: malformed example record {json.dumps(rec)[:200]}: {exc}") from None
            if ex is None:
                skipped += 1
                continue
            ident = (ex.model, ex.method, ex.eps, ex.index)
            if ident in seen:
                duplicates += 1
                continue
            seen.add(ident)
            out.append(ex)
    return LoadedResults(tuple(out), duplicates, skipped)


def summarize(records) -> list[SummaryRow]:
    """One :class:`certifiers.engine.SummaryRow` per (model, method, ε), sorted by model, method and ε."""
    groups: dict = defaultdict(list)
    for r in records:
        groups[(r.model, r.method, r.eps)].append(r)
    rows = []
    for (model, method, eps), grp in sorted(groups.items()):
        is_attack = any(r.is_attack for r in grp)
        dicts = [
            {
                "bound_kind": r.bound_kind,
                "predicted": r.predicted,
                "label": r.label,
                **({"adversarial": r.adversarial} if is_attack else {"certified": r.certified}),
                **({} if r.time is None else {"time": r.time}),
            }
            for r in grp
        ]
        rows.append(summary_row(method, is_attack, dicts, model=model, eps=eps))
    return rows


def row_json(row: SummaryRow) -> dict:
    """The JSON object of a report row (``sdpsolve report --format json``)."""
    return {
        "model": row.model,
        "method": row.method,
        "eps": row.eps,
        "bound_kind": row.bound_kind,
        "n": row.n,
        "clean_error": row.clean_error,
        "certified_error": row.certified_error,
        "attack_error": row.attack_error,
        "median_time": row.median_time,
    }


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.1f}%"


def _seconds(x: float | None) -> str:
    if x is None:
        return "-"
    if x < 1e-3:
        return f"{x * 1e6:.3g} µs"
    if x < 1:
        return f"{x * 1e3:.3g} ms"
    return f"{x:.3g} s" if x < 100 else f"{x:.0f} s"


def format_table(rows, *, markdown: bool = False) -> str:
    """The summary as an aligned text table (or a Markdown table)."""
    head = ["model", "method", "kind", "eps", "N", "clean err", "cert. err", "attack err", "median time"]
    body = [
        [r.model, r.method, r.bound_kind, f"{r.eps:g}", str(r.n), _pct(r.clean_error), _pct(r.certified_error),
         _pct(r.attack_error), _seconds(r.median_time)]
        for r in rows
    ]
    if markdown:
        lines = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
        lines += ["| " + " | ".join(row) + " |" for row in body]
        return "\n".join(lines)
    widths = [max(len(h), *(len(row[i]) for row in body)) for i, h in enumerate(head)]
    numeric = set(range(3, len(head)))

    def fmt(row):
        return "  ".join(c.rjust(w) if i in numeric else c.ljust(w) for i, (c, w) in enumerate(zip(row, widths)))

    return "\n".join([fmt(head), "  ".join("-" * w for w in widths), *(fmt(row) for row in body)])


def plot_results(records, out_dir) -> list[Path]:
    """Write the two PNG plots into ``out_dir`` (created if needed); return their paths."""
    from sdpsolve._errors import require

    require("matplotlib", "plot")
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    records = list(records)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    rows = summarize(records)

    # 1. certified (and attack) error against ε
    fig = Figure(figsize=(6.4, 4.4))
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    lines: dict = defaultdict(list)
    for r in rows:
        lines[(r.model, r.method)].append(r)
    for (model, method), grp in sorted(lines.items()):
        grp.sort(key=lambda r: r.eps)
        cert = [(r.eps, 100 * r.certified_error) for r in grp if r.certified_error is not None]
        att = [(r.eps, 100 * r.attack_error) for r in grp if r.attack_error is not None]
        if cert:
            ax.plot(*zip(*cert), marker="o", label=f"{model} / {method}")
        if att:
            ax.plot(*zip(*att), marker="s", linestyle="--", label=f"{model} / {method} (attack)")
    ax.set_xlabel("ε (l∞ radius)")
    ax.set_ylabel("error (%)")
    ax.set_ylim(-2, 102)
    ax.set_title("Certified error (solid) and attack error (dashed) against ε")
    ax.grid(alpha=0.3)
    if lines:
        ax.legend(fontsize="small")
    fig.tight_layout()
    first = out_dir / PLOT_FILES[0]
    fig.savefig(first, dpi=110)

    # 2. histogram of the per-example worst bound, one panel per method
    methods = sorted({r.method for r in records})
    ncols = min(3, max(1, len(methods)))
    nrows = max(1, math.ceil(len(methods) / ncols))
    fig = Figure(figsize=(4.6 * ncols, 3.4 * nrows))
    FigureCanvasAgg(fig)
    axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
    for ax, method in zip(axes, methods):
        series: dict = defaultdict(list)
        for r in records:
            if r.method == method and r.worst_bound is not None and math.isfinite(r.worst_bound):
                series[(r.model, r.eps)].append(r.worst_bound)
        for (model, eps), vals in sorted(series.items()):
            ax.hist(vals, bins=30, histtype="step", linewidth=1.4, label=f"{model}, ε={eps:g} (n={len(vals)})")
        ax.axvline(0.0, color="k", linewidth=0.8)
        attack = all(r.is_attack for r in records if r.method == method)
        ax.set_title(f"{method} (attack: margins found, not bounds)" if attack else method)
        ax.set_xlabel("max_j margin f_j − f_label found" if attack else "max_j bound on f_j − f_label")
        ax.set_ylabel("examples")
        if series:
            ax.legend(fontsize="x-small")
    for ax in axes[len(methods):]:
        ax.set_visible(False)
    fig.tight_layout()
    second = out_dir / PLOT_FILES[1]
    fig.savefig(second, dpi=110)
    return [first, second]


def plot_method_errors(records, path, *, title: str | None = None) -> Path:
    """One bar per (model, method, ε): the certified error, or the attack error (hatched), with the median time
    per example written above each bar, and the attack error drawn across as a dashed line (the robust error
    lies between it and every certified error). Writes a PNG to ``path`` and returns it.
    """
    from sdpsolve._errors import require

    require("matplotlib", "plot")
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    rows = summarize(list(records))
    # attacks first, then the certifiers from the tightest to the loosest
    rows.sort(key=lambda r: (r.attack_error is None, r.certified_error if r.attack_error is None else 0.0))
    several = len({(r.model, r.eps) for r in rows}) > 1
    fig = Figure(figsize=(max(6.4, 0.9 * len(rows) + 1.5), 4.4))
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    for k, r in enumerate(rows):
        attack = r.attack_error is not None
        value = 100 * (r.attack_error if attack else r.certified_error)
        ax.bar(k, value, color="0.75" if attack else f"C{k % 10}", hatch="//" if attack else None,
               edgecolor="k", linewidth=0.6)
        ax.text(k, value + 1.5, f"{value:.0f}%\n{_seconds(r.median_time)}", ha="center", va="bottom",
                fontsize="x-small")
        if attack:
            ax.axhline(value, color="k", linestyle="--", linewidth=0.8)
    labels = [r.method + (f"\n{r.model}, ε={r.eps:g}" if several else "") for r in rows]
    ax.set_xticks(range(len(rows)), labels, rotation=30 if len(rows) > 5 else 0, ha="right" if len(rows) > 5 else
                  "center", fontsize="small")
    ax.set_ylabel("error (%)")
    ax.set_ylim(0, 118)
    if title is None and rows and not several:
        title = f"{rows[0].model}, ε = {rows[0].eps:g}, {rows[0].n} examples"
    ax.set_title((title + "\n" if title else "") + "attack error (hatched, dashed line) ≤ robust error ≤ "
                 "certified error; median time per example", fontsize="small")
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    return path
