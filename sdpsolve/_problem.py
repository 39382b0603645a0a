"""What every method shares: the problem (operator + E), the settings, and the monitor that stops and records.

The monitor owns the stopping rule: converged when ``upper_est − lower ≤ max(atol, rtol · max(1, |upper_est|))``
(checked on the estimated bound, with the target halved so that the certified bound computed at the end
normally still meets it), or stopped by ``max_iter``, ``time_limit`` or the callback.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from ._bounds import ShiftedOperator, bound_value_estimate
from ._eigen import top_eigenpairs
from ._operator import Operator
from ._result import Status


@dataclass
class Problem:
    op: Operator
    mask: np.ndarray  # True for i ∈ E

    @property
    def n(self) -> int:
        return self.op.n


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


@dataclass
class MethodOutput:
    """What a method hands back to :func:`solve` before the final certified bound is computed."""

    c: np.ndarray
    V: np.ndarray | None
    lower: float
    status: Status
    message: str
    n_iter: int
    history: list = field(default_factory=list)
    eigvec: np.ndarray | None = None
    #: a rigorous bound at ``c`` proved by the method (then :func:`solve` reports it as is)
    certificate: object = None
    #: the top Ritz value of M − diag c found by the method for the returned c (an estimate, not a bound)
    ritz: float | None = None
    #: a cheaper equivalent of the operator's product M·X that the method built (e.g. from explicit blocks)
    product: object = None


class Monitor:
    def __init__(self, problem: Problem, settings: Settings, default_max_iter: int):
        self.problem = problem
        self.settings = settings
        self.start = time.perf_counter()
        self.max_iter = settings.max_iter if settings.max_iter is not None else default_max_iter
        self.history: list = []

    def elapsed(self) -> float:
        return time.perf_counter() - self.start

    def target(self, upper: float) -> float:
        return max(self.settings.atol, self.settings.rtol * max(1.0, abs(upper)))

    def check(self, n_iter: int, lower: float, upper_est: float, certified: float | None = None
              ) -> tuple[Status | None, str]:
        """Record a point; return (status, sentence) when the run must stop, else (None, "").

        ``certified``: a proved upper bound found at this check. When the settings carry a certifier, only a
        certified gap within the tolerance counts as convergence; otherwise the estimate is used (with the
        target scaled by ``target_scale`` so that the bound computed afterwards normally meets it).
        """
        gap = (upper_est - lower) / max(1.0, abs(upper_est))
        info = IterationInfo(n_iter, float(lower), float(upper_est), float(gap), self.problem.op.n_matvec,
                             self.elapsed())
        if self.settings.record_history:
            self.history.append(info.__dict__.copy())
        if certified is not None and certified - lower <= self.target(certified):
            cgap = (certified - lower) / max(1.0, abs(certified))
            return Status.CONVERGED, f"certified gap {cgap:.2e} within the tolerance after {n_iter} iterations"
        if self.settings.certify is None and upper_est - lower <= self.settings.target_scale * self.target(upper_est):
            return Status.CONVERGED, f"estimated gap {gap:.2e} within the tolerance after {n_iter} iterations"
        if self.settings.callback is not None and self.settings.callback(info):
            return Status.CALLBACK, f"stopped by the callback after {n_iter} iterations (estimated gap {gap:.2e})"
        if n_iter >= self.max_iter:
            return Status.MAX_ITER, f"estimated gap {gap:.2e} not within the tolerance after max_iter={self.max_iter}"
        if self.settings.time_limit is not None and self.elapsed() >= self.settings.time_limit:
            return (
                Status.TIME_LIMIT,
                f"estimated gap {gap:.2e} not within the tolerance at the time limit of {self.settings.time_limit:g} s",
            )
        return None, ""


def eigensolver(settings: Settings) -> str:
    return settings.options.get("eigensolver", "lanczos")


#: block size of the Lanczos oracle inside the methods, and number of Ritz vectors kept for warm starts
EIG_BLOCK = 4
EIG_KEEP = 3


def top_eigenvector(problem: Problem, settings: Settings, c: np.ndarray, v0, *, tol: float = 1e-9,
                    value_tol=None, factor: np.ndarray | None = None, matmat=None, quick: bool = False,
                    info: dict | None = None):
    """Ritz estimate of λ_max of M − diag c and the top Ritz vectors (n, EIG_KEEP), warm-started from ``v0``.

    The top vector is the first column. Block Lanczos (previous Ritz vectors + random columns) handles the
    clustered top spectrum found near an optimum, where a single warm-started vector stagnates; with
    ``factor`` (the primal V) the block starts from range(V), which is close to the top eigenspace there.

    ``value_tol``: stop once λ_max is known to about this accuracy (a float, or a callable of the current Ritz
    value; Lanczos only). ``matmat``: a cheaper product X ↦ M X than the operator's (e.g. from explicit blocks).
    ``quick``: test for convergence after every block step, allow a ``value_tol`` stop after 4 steps, and
    reorthogonalise once after the three-term projection (for frequent gap checks seeded with good vectors,
    where a Ritz value that is too low is caught later by the rigorous test). ``info``: a dict that receives
    ``flops``, the eigensolver's own work besides the products.
    """
    block = EIG_BLOCK
    if factor is not None:
        # near an optimum the top eigenspace of M − diag c is close to range(V): seed the block with it
        v0 = factor if v0 is None else np.hstack([factor, v0])
        block = min(problem.n, v0.shape[1] + 1)
    kwargs = {"value_tol": value_tol, "block_size": block} if eigensolver(settings) == "lanczos" else {}
    if quick and kwargs:
        kwargs.update(check_every=1, min_steps=4, reorth=1)
    k = min(EIG_KEEP, problem.n)
    res = top_eigenpairs(
        eigensolver(settings), ShiftedOperator(problem.op, c, matmat), problem.n, k=k, v0=v0, tol=tol, maxiter=400,
        rng=settings.rng, **kwargs,
    )
    if info is not None:
        info["flops"] = res.flops
    return float(res.values[0]), res.vectors


def dual_from_primal(mask: np.ndarray, G: np.ndarray, V: np.ndarray) -> tuple[np.ndarray, float]:
    """c_i = <(MV)_i, v_i> (clipped at 0 for i ∉ E, ``mask`` marking E) and the primal value tr(Vᵀ M V)."""
    raw = np.einsum("ij,ij->i", G, V)
    lower = float(raw.sum())
    c = np.where(mask, raw, np.maximum(raw, 0.0))
    return c, lower


def estimate_upper(problem: Problem, c: np.ndarray, t: float) -> float:
    return bound_value_estimate(c, t, problem.mask)
