"""The problem description of the Lagrangian (parametric) mode (SPEC §1, extra linear constraints).

    maximise  <M0, P> + c0   s.t.  P ⪰ 0,  P_ii ≤ 1 (i ∉ E),  P_ii = 1 (i ∈ E),
              g_k(P) = <A_k, P> + β_k ≥ 0   (inequality rows),   g_k(P) = 0   (equality rows).

For multipliers θ with θ_k ≥ 0 on inequality rows (free on equality rows), every feasible P satisfies
<M0, P> + c0 ≤ <M(θ), P> + const(θ) with M(θ) = M0 + Σ θ_k A_k and const(θ) = c0 + Σ θ_k β_k, so

    U(c, t; M(θ)) + const(θ),   t ≥ λ_max(M(θ) − diag c),

bounds the optimum for ANY (c, θ) in the sign constraints (SPEC §1.1). The solver sees the constraints only
through the :class:`LagrangianProblem` protocol below; it knows nothing about where they come from.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np

from .rounding import U


@runtime_checkable
class LagrangianProblem(Protocol):
    """What :func:`sdpsolve.solve_lagrangian` needs.

    Attributes
    ----------
    n : int
        Size of P.
    m : int
        Number of extra constraint rows.
    equality : ndarray of bool, shape (m,)
        True for "= 0" rows, False for "≥ 0" rows.
    equal : ndarray of int
        The index set E of rows with P_ii = 1 (e.g. ``[0]`` for a homogenising coordinate).
    row_scale : ndarray, shape (m,)
        Positive scale of each row (e.g. ||A_k||_F); the solver works with g_k / row_scale_k for
        conditioning. Multipliers are reported for the unscaled rows.

    Methods
    -------
    constraint_values(V) -> ndarray (m,)
        g_k(V Vᵀ) = <A_k, V Vᵀ> + β_k for a factor V of shape (n, r).
    objective_value(V) -> float
        <M0, V Vᵀ> + c0.
    constant(theta) -> float
        const(θ) = c0 + Σ θ_k β_k.
    operator(theta) -> object
        M(θ) = M0 + Σ θ_k A_k as an object with ``shape`` and ``matmat`` (symmetric), and for the rigorous
        bound ``to_dense() -> (B, err)`` with err ≥ ||M(θ)_exact − B||_2, and for the probabilistic bound
        ``norm_bound()``. Must be cheap to construct (called once per iteration).
    closed_form_bound(theta) -> float or None, optional
        A problem may offer this: a proved upper bound on the optimum from the multipliers θ alone (say, when
        M(θ) has a structure whose SDP value is known in closed form), or None when it has none for this θ.
        :func:`sdpsolve.solve_lagrangian` calls it once, on ``theta_hint``; the problem answers for its soundness.
    row_factors() -> (Fa, Fb, beta), optional
        The rows in factored form, g_k(P) = a_kᵀ P b_k + β_k for every symmetric P with P_ii = 1 on E (a_k, b_k
        the columns of the n × m arrays Fa, Fb). With it, problems of n ≤ ``options["ipm_max_n"]`` are first
        solved by a dense interior-point method (:mod:`sdpsolve._lagrangian_ipm`) whose multipliers are then
        certified like any other iterate; the form only steers the method, never the bound.
    """

    n: int
    m: int
    equality: np.ndarray
    equal: np.ndarray
    row_scale: np.ndarray

    def constraint_values(self, V: np.ndarray) -> np.ndarray: ...

    def objective_value(self, V: np.ndarray) -> float: ...

    def constant(self, theta: np.ndarray) -> float: ...

    def operator(self, theta: np.ndarray): ...


def project_multipliers(theta: np.ndarray, equality: np.ndarray) -> np.ndarray:
    """θ_k ≥ 0 on inequality rows; equality rows are free."""
    return np.where(equality, theta, np.maximum(theta, 0.0))


class DenseLagrangianProblem:
    """:class:`LagrangianProblem` from explicit matrices: M0, c0, rows A_k, β_k, equality flags and E.

    Parameters
    ----------
    M0 : array (n, n)
        Symmetric objective.
    A : sequence of arrays (n, n) or array (m, n, n)
        Symmetric constraint matrices.
    beta : array (m,)
        Offsets: row k reads <A_k, P> + β_k ≥ 0 (or = 0 where ``equality``).
    equality : array of bool (m,), optional
        Default: all rows are inequalities.
    equal : indices, optional
        E (default: none).
    c0 : float
        Objective constant.

    Examples
    --------
    >>> import numpy as np
    >>> from sdpsolve import DenseLagrangianProblem, solve_lagrangian
    >>> M0 = np.array([[0., 1.], [1., 0.]])                  # maximise 2 P_01
    >>> A = [-np.array([[0., .5], [.5, 0.]])]                # subject to 0.5 − P_01 ≥ 0
    >>> res = solve_lagrangian(DenseLagrangianProblem(M0, A, [0.5]), rtol=1e-4)
    >>> round(res.upper, 3)
    1.0
    """

    def __init__(self, M0, A, beta, *, equality=None, equal=None, c0: float = 0.0):
        self.M0 = np.asarray(M0, dtype=np.float64)
        if self.M0.ndim != 2 or self.M0.shape[0] != self.M0.shape[1]:
            raise ValueError(f"`M0` must be square, got shape {self.M0.shape}.")
        self.n = self.M0.shape[0]
        A = np.asarray(A, dtype=np.float64).reshape(-1, self.n, self.n)
        self.A = 0.5 * (A + A.transpose(0, 2, 1))
        self.m = self.A.shape[0]
        self.beta = np.asarray(beta, dtype=np.float64).reshape(-1)
        if self.beta.shape != (self.m,):
            raise ValueError(f"`beta` must have shape ({self.m},), got {self.beta.shape}.")
        self.equality = np.zeros(self.m, bool) if equality is None else np.asarray(equality, dtype=bool)
        if self.equality.shape != (self.m,):
            raise ValueError(f"`equality` must have shape ({self.m},), got {self.equality.shape}.")
        self.equal = np.asarray([] if equal is None else equal, dtype=np.int64)
        self.c0 = float(c0)
        self.row_scale = np.maximum(np.linalg.norm(self.A.reshape(self.m, self.n * self.n), axis=1), 1e-300)

    def constraint_values(self, V):
        return np.einsum("kij,ir,jr->k", self.A, V, V) + self.beta

    def objective_value(self, V):
        return float(np.einsum("ij,ir,jr->", self.M0, V, V)) + self.c0

    def constant(self, theta):
        return self.c0 + float(np.dot(theta, self.beta))

    def operator(self, theta):
        """Dense M(θ) (its products are then exact up to the rounding of the sum, bounded in to_dense)."""
        B = self.M0 + np.tensordot(theta, self.A, axes=1)
        terms = np.abs(self.M0) + np.tensordot(np.abs(theta), np.abs(self.A), axes=1)
        err = float(np.linalg.norm(terms)) * (self.m + 2) * (2 * U)
        return _DenseWithError(B, err)


class _DenseWithError:
    def __init__(self, B, err):
        self.B, self.err, self.shape = B, err, B.shape

    def matmat(self, X):
        return self.B @ X

    def to_dense(self):
        return self.B, self.err

    def norm_bound(self):
        return float(np.linalg.norm(self.B)) * (1 + 1e-12) + self.err
