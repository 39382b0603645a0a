"""Result types: frozen dataclasses with a status enum and a readable message."""

from __future__ import annotations

import enum
from dataclasses import asdict, dataclass, field

import numpy as np


class Status(enum.Enum):
    """Why a solve stopped."""

    CONVERGED = "converged"
    MAX_ITER = "max_iter"
    TIME_LIMIT = "time_limit"
    CALLBACK = "callback"
    STALLED = "stalled"


@dataclass(frozen=True)
class DualBound:
    """An upper bound on (P) from a dual point c (SPEC §1.1–1.2).

    Attributes
    ----------
    value : float
        U(c, t) = Σ_{i∈E} (c_i + t) + Σ_{i∉E} max(c_i + t, 0), rounded upwards.
    kind : {"rigorous", "probabilistic", "estimate"}
        How t was obtained. Only "rigorous" and "probabilistic" are bounds; "estimate" uses a Ritz value,
        which under-estimates λ_max, and is not a bound.
    lambda_max_upper : float
        t, claimed ≥ λ_max(M − diag c) (proved, with probability ≥ 1 − failure_probability, or estimated).
    failure_probability : float
        0 for "rigorous", δ for "probabilistic", nan for "estimate".
    lambda_max_estimate : float
        The Ritz value the bound started from.
    n_matvec : int
        Products with M spent on this bound.
    """

    value: float
    kind: str
    lambda_max_upper: float
    failure_probability: float
    lambda_max_estimate: float
    n_matvec: int = 0
    details: dict = field(default_factory=dict)


@dataclass(frozen=True)
class LambdaMaxProof:
    """A proved upper bound t on λ_max(M − diag c) (:func:`sdpsolve.prove_lambda_max`).

    Attributes
    ----------
    t : float
        Proved: λ_max(M − diag c) ≤ t. A floating-point Cholesky test (Rump 2006) proved
        tI − (B − diag c) positive definite for the float64 matrix B the operator materialised, and
        ``materialisation_error`` (≥ ||M_exact − B||_2) was added, rounded upwards.
    estimate : float
        The estimate of λ_max the candidates started from (a Ritz value: not a bound).
    materialisation_error : float
        The bound on ||M_exact − B||_2 included in ``t`` (0 for an explicit float64 matrix).
    cholesky_tries : int
        Number of Cholesky factorisations spent.
    factorisation : str
        "dense", "envelope" (a sparse matrix factored in its profile under reverse Cuthill–McKee, with Rump's
        shift from each row's own length) or "sparse" (minimum-degree order with a dense core, the shift from
        each row's own nonzeros): :mod:`sdpsolve._cholesky`.
    """

    t: float
    estimate: float
    materialisation_error: float
    cholesky_tries: int
    factorisation: str = "dense"


@dataclass(frozen=True)
class SDPResult:
    """Outcome of :func:`sdpsolve.solve`.

    ``upper`` is a valid bound of kind ``bound_kind`` on the optimum of (P) whatever ``status`` is;
    ``lower`` = tr(Vᵀ M V) for the feasible factor ``factor`` (or -inf when no primal point is known).
    ``gap`` = (upper − lower) / max(1, |upper|).
    """

    lower: float
    upper: float
    gap: float
    dual: np.ndarray
    factor: np.ndarray | None
    status: Status
    message: str
    bound_kind: str
    failure_probability: float
    n_matvec: int
    n_iter: int
    time: float
    method: str
    lambda_max_upper: float = float("nan")
    history: list | None = None

    @property
    def converged(self) -> bool:
        return self.status is Status.CONVERGED

    def to_dict(self, *, arrays: bool = False) -> dict:
        """A JSON-friendly dict (arrays left out unless ``arrays=True``)."""
        out = {k: v for k, v in asdict(self).items() if k not in ("dual", "factor", "history")}
        out["status"] = self.status.value
        if arrays:
            out["dual"] = self.dual.tolist()
            out["factor"] = None if self.factor is None else self.factor.tolist()
        if self.history is not None:
            out["history"] = self.history
        return out

    def __str__(self) -> str:
        fp = f" (failure probability {self.failure_probability:.1e})" if self.bound_kind == "probabilistic" else ""
        return (
            f"SDPResult[{self.method}] {self.status.value}: lower {self.lower:.10g}, upper {self.upper:.10g} "
            f"({self.bound_kind}{fp}), gap {self.gap:.2e}, {self.n_iter} iterations, {self.n_matvec} products, "
            f"{self.time:.3f} s\n  {self.message}"
        )
