"""The settings every method shares, and the monitor that stops and records a run.

:class:`Monitor` is the only place where the stopping rule is evaluated, for :func:`sdpsolve.solve`, its
methods and :func:`sdpsolve.solve_lagrangian`:

    converged  ⟺  upper − lower ≤ max(atol, rtol · max(1, |upper|))

(:meth:`Monitor.within_tolerance`). During a run the methods check it on the estimated bound, with the target
scaled by ``Settings.target_scale`` (½ by default) so that the certified bound computed at the end normally
still meets it, or on a certified bound when the settings carry a certifier. A run also stops at ``max_iter``,
at ``time_limit`` or when the callback returns True. The relative gap reported everywhere is
(upper − lower) / max(1, |upper|) (:meth:`Monitor.relative_gap`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from ._result import Status


@dataclass(frozen=True)
class IterationInfo:
    """Passed to the callback after every dual check. ``upper_estimate`` uses a Ritz value (not a bound)."""

    iteration: int
    lower: float
    upper_estimate: float
    gap_estimate: float
    n_matvec: int
    time: float


@dataclass
class Settings:
    rtol: float
    atol: float
    max_iter: int | None
    time_limit: float | None
    callback: object
    rng: np.random.Generator
    options: dict
    record_history: bool = True
    #: factor to continue from (set by :func:`solve` when it resumes a method) and the stopping-target scale
    warm_start: np.ndarray | None = None
    target_scale: float = 0.5
    #: ``certify(c, estimate, step) -> (DualBound | None, t)``: one rigorous test of t = estimate + step (set by
    #: :func:`solve` for rigorous bounds). With it, a method converges on a *certified* gap, not an estimate.
    certify: object = None


class Monitor:
    """Stops and records a run (module docstring: the stopping rule).

    ``problem`` gives the product count recorded by :meth:`check` (None where :meth:`check` is not used, e.g.
    the Lagrangian mode); ``default_max_iter`` applies when ``settings.max_iter`` is None (None: no limit);
    ``start`` is the ``time.perf_counter()`` the time limit counts from (default: now).
    """

    def __init__(self, problem, settings: Settings, default_max_iter: int | None = None, *,
                 start: float | None = None):
        self.problem = problem
        self.settings = settings
        self.start = time.perf_counter() if start is None else start
        self.max_iter = settings.max_iter if settings.max_iter is not None else default_max_iter
        self.history: list = []

    def elapsed(self) -> float:
        return time.perf_counter() - self.start

    def target(self, upper: float) -> float:
        """The tolerance on the gap at an upper bound ``upper``: max(atol, rtol · max(1, |upper|))."""
        return max(self.settings.atol, self.settings.rtol * max(1.0, abs(upper)))

    def within_tolerance(self, lower: float, upper: float, *, scale: float = 1.0) -> bool:
        """The stopping rule: upper − lower ≤ scale · max(atol, rtol · max(1, |upper|))."""
        return upper - lower <= scale * self.target(upper)

    @staticmethod
    def relative_gap(lower: float, upper: float) -> float:
        """(upper − lower) / max(1, |upper|)."""
        return (upper - lower) / max(1.0, abs(upper))

    def iterations_exhausted(self, n_iter: int) -> bool:
        """True once ``n_iter`` reached ``max_iter`` (never when there is no limit)."""
        return self.max_iter is not None and n_iter >= self.max_iter

    def out_of_time(self) -> bool:
        """True once the time limit (if any) has passed."""
        return self.settings.time_limit is not None and self.elapsed() >= self.settings.time_limit

    def check(self, n_iter: int, lower: float, upper_est: float, certified: float | None = None
              ) -> tuple[Status | None, str]:
        """Record a point; return (status, sentence) when the run must stop, else (None, "").

        ``certified``: a proved upper bound found at this check. When the settings carry a certifier, only a
        certified gap within the tolerance counts as convergence; otherwise the estimate is used (with the
        target scaled by ``target_scale`` so that the bound computed afterwards normally meets it).
        """
        gap = self.relative_gap(lower, upper_est)
        info = IterationInfo(n_iter, float(lower), float(upper_est), float(gap), self.problem.op.n_matvec,
                             self.elapsed())
        if self.settings.record_history:
            self.history.append(info.__dict__.copy())
        if certified is not None and self.within_tolerance(lower, certified):
            cgap = self.relative_gap(lower, certified)
            return Status.CONVERGED, f"certified gap {cgap:.2e} within the tolerance after {n_iter} iterations"
        if self.settings.certify is None and self.within_tolerance(lower, upper_est, scale=self.settings.target_scale):
            return Status.CONVERGED, f"estimated gap {gap:.2e} within the tolerance after {n_iter} iterations"
        if self.settings.callback is not None and self.settings.callback(info):
            return Status.CALLBACK, f"stopped by the callback after {n_iter} iterations (estimated gap {gap:.2e})"
        if self.iterations_exhausted(n_iter):
            return Status.MAX_ITER, f"estimated gap {gap:.2e} not within the tolerance after max_iter={self.max_iter}"
        if self.out_of_time():
            return (
                Status.TIME_LIMIT,
                f"estimated gap {gap:.2e} not within the tolerance at the time limit of {self.settings.time_limit:g} s",
            )
        return None, ""
