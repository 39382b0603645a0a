"""What every method of :func:`sdpsolve.solve` works with: the problem (operator + E), the method's output, the
eigen oracle as the methods call it, and the dual point extracted from a primal factor.

A method is a function ``method(problem: Problem, settings: Settings) -> MethodOutput`` (listed in
``sdpsolve._solve.METHODS``); it stops through a :class:`sdpsolve._monitor.Monitor`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ._bounds import ShiftedOperator, bound_value_estimate
from ._eigen import top_eigenpairs
from ._monitor import Settings
from ._operator import Operator
from ._result import Status


@dataclass
class Problem:
    op: Operator
    mask: np.ndarray  # True for i ∈ E

    @property
    def n(self) -> int:
        return self.op.n


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
