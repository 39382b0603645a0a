"""The one summary type: a :class:`SummaryRow` per method (certify, demo) or per (model, method, ε) (report).

``errors`` counts the examples not certified (certifiers) or with an adversarial input found (attacks,
misclassified clean examples included); :attr:`SummaryRow.error` is its share. The certify table
(:func:`format_summary`) and the report table (:func:`certifiers.workflows.format_table`) both read these rows.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass

from .._outcome import Verdict, verdict_of_record


@dataclass(frozen=True)
class SummaryRow:
    """One line of a summary table.

    ``certify_time`` is the sum of the per-example times of the records; ``per_example`` its mean;
    ``median_time`` their median (None without times); ``prepare_time`` is NaN when ``prepare`` did not run in
    this call (every record was already stored) or is unknown (a report of stored files).
    """

    method: str
    is_attack: bool
    bound_kind: str
    n: int
    errors: int
    prepare_time: float = float("nan")
    certify_time: float = 0.0
    model: str = ""
    eps: float = float("nan")
    clean_errors: int = 0
    median_time: float | None = None

    @property
    def error(self) -> float:
        return self.errors / self.n if self.n else float("nan")

    @property
    def per_example(self) -> float:
        return self.certify_time / self.n if self.n else float("nan")

    @property
    def error_name(self) -> str:
        return "attack error" if self.is_attack else "certified error"

    @property
    def certified_error(self) -> float | None:
        """Share of examples not certified (None for attacks)."""
        return None if self.is_attack or not self.n else self.error

    @property
    def attack_error(self) -> float | None:
        """Share of examples with an adversarial input found (None for certifiers)."""
        return self.error if self.is_attack and self.n else None

    @property
    def clean_error(self) -> float:
        return self.clean_errors / self.n if self.n else float("nan")


def is_error(record: dict, is_attack: bool) -> bool:
    """Whether a record counts as an error: falsified (attacks) or not verified (certifiers)."""
    verdict = verdict_of_record(record)
    return verdict is Verdict.FALSIFIED if is_attack else verdict is not Verdict.VERIFIED


def summary_row(method: str, is_attack: bool, records: Sequence[dict], *, prepare_time: float = float("nan"),
                model: str = "", eps: float = float("nan")) -> SummaryRow:
    """The :class:`SummaryRow` of one method's records (JSON dicts of :meth:`ExampleResult.to_json`)."""
    kinds = sorted({str(r.get("bound_kind")) for r in records}) or ["-"]
    times = [float(r["time"]) for r in records if r.get("time") is not None]
    return SummaryRow(
        method=method,
        is_attack=is_attack,
        bound_kind="/".join(kinds),
        n=len(records),
        errors=sum(is_error(r, is_attack) for r in records),
        prepare_time=prepare_time,
        certify_time=float(sum(float(r.get("time", 0.0)) for r in records)),
        model=model,
        eps=eps,
        clean_errors=sum(int(r["predicted"]) != int(r["label"]) for r in records if "predicted" in r and "label" in r),
        median_time=statistics.median(times) if times else None,
    )


def summarize_records(plans: Sequence, records: dict[str, list[dict]]) -> list[SummaryRow]:
    """One :class:`SummaryRow` per method from its records (attacks first, then certifiers, in plan order)."""
    return [
        summary_row(plan.name, plan.is_attack, records.get(plan.name, []), prepare_time=plan.prepare_time)
        for plan in sorted(plans, key=lambda p: not p.is_attack)
    ]


def fmt_seconds(t: float) -> str:
    """Seconds for a table: µs, ms, s; "-" for NaN.

    >>> fmt_seconds(0.0025), fmt_seconds(12.3), fmt_seconds(float("nan"))
    ('2.5 ms', '12.30 s', '-')
    """
    if not math.isfinite(t):
        return "-"
    if t < 1e-3:
        return f"{t * 1e6:.0f} µs"
    if t < 1:
        return f"{t * 1e3:.1f} ms"
    if t < 100:
        return f"{t:.2f} s"
    return f"{t:.0f} s"


def format_summary(rows: Sequence[SummaryRow], *, clean_errors: int, n: int, title: str = "") -> str:
    """The summary table as text: the clean error, then one line per method.

    Examples
    --------
    >>> row = SummaryRow("ibp", False, "closed-form", 4, 1, 0.0, 0.002)
    >>> print(format_summary([row], clean_errors=0, n=4))   # doctest: +NORMALIZE_WHITESPACE
    clean error: 0.0% (0 of 4)
    method  error            value   bound kind   prepare  certify (total)  per example
    ibp     certified error  25.0%   closed-form  0 µs     2.0 ms           500 µs
    """
    header = ("method", "error", "value", "bound kind", "prepare", "certify (total)", "per example")
    table = [header]
    for r in rows:
        table.append(
            (
                r.method,
                r.error_name,
                f"{100 * r.error:.1f}%",
                r.bound_kind,
                fmt_seconds(r.prepare_time),
                fmt_seconds(r.certify_time),
                fmt_seconds(r.per_example),
            )
        )
    widths = [max(len(row[k]) for row in table) for k in range(len(header))]
    lines = [title] if title else []
    lines.append(f"clean error: {100 * clean_errors / n:.1f}% ({clean_errors} of {n})")
    for row in table:
        lines.append("  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip())
    return "\n".join(lines)
