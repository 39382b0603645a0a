"""``sdpsolve verify``: a verdict for every input of a data set, through the run engine (method ``verify``).

The engine runs the ``verify`` plugin (:mod:`certifiers._verify`) like any other method — resumable store,
process pool, Dask — and this module turns its records into the verdict summary: how many inputs are verified,
falsified, unknown, which stage decided them, and the interval the robust error lies in,
[falsified share, 1 − verified share].
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace

from .._verify import STAGES
from ..engine import CertifyConfig, CertifyReport, CertifyRun


@dataclass(frozen=True)
class VerdictSummary:
    """Counts of a verify run.

    Attributes
    ----------
    n, verified, falsified, unknown : int
    stages : dict
        ``{(verdict, stage): count}``.
    median_time : float or None
        Seconds per input (median).
    """

    n: int
    verified: int
    falsified: int
    unknown: int
    stages: dict
    median_time: float | None

    @property
    def robust_error(self) -> tuple[float, float]:
        """The interval the robust error lies in: [falsified share, 1 − verified share]."""
        if not self.n:
            return float("nan"), float("nan")
        return self.falsified / self.n, (self.n - self.verified) / self.n


def summarize_verdicts(records: Sequence[dict]) -> VerdictSummary:
    """The :class:`VerdictSummary` of ``verify`` records.

    Examples
    --------
    >>> recs = [{"verdict": "verified", "stage": "crown", "time": 0.1},
    ...         {"verdict": "falsified", "stage": "attack", "time": 0.2},
    ...         {"verdict": "verified", "stage": "bab", "time": 3.0}]
    >>> s = summarize_verdicts(recs)
    >>> s.verified, s.falsified, s.unknown, [round(v, 3) for v in s.robust_error]
    (2, 1, 0, [0.333, 0.333])
    """
    import statistics

    counts = Counter(str(r.get("verdict", "unknown")) for r in records)
    stages = Counter((str(r.get("verdict", "unknown")), str(r.get("stage", "?"))) for r in records)
    times = [float(r["time"]) for r in records if r.get("time") is not None]
    return VerdictSummary(len(records), counts["verified"], counts["falsified"], counts["unknown"], dict(stages),
                          statistics.median(times) if times else None)


def format_verdicts(s: VerdictSummary) -> str:
    """The verdict table printed by ``sdpsolve verify``."""
    lo, hi = s.robust_error
    lines = [f"{s.n} inputs: {s.verified} verified, {s.falsified} falsified, {s.unknown} unknown"
             + (f"; median {s.median_time:.2f} s per input" if s.median_time is not None else ""),
             f"robust error in [{100 * lo:.2f}%, {100 * hi:.2f}%]", "",
             f"{'verdict':10s} {'stage':10s} {'inputs':>6s}"]
    order = {stage: i for i, stage in enumerate(STAGES)}
    for (verdict, stage), count in sorted(s.stages.items(), key=lambda kv: (kv[0][0], order.get(kv[0][1], 99))):
        lines.append(f"{verdict:10s} {stage:10s} {count:6d}")
    return "\n".join(lines)


def run_verify(config: CertifyConfig, *, notify=None) -> tuple[CertifyReport, VerdictSummary]:
    """Run ``verify`` on the examples of ``config`` (its ``methods`` are replaced by ``("verify",)``)."""
    run = CertifyRun(replace(config, methods=("verify",)))
    report = run.execute(notify=notify)
    return report, summarize_verdicts(report.records.get("verify", []))
