"""Independent oracles for the tests: a CVXPY formulation of (P) and a brute-force vertex enumeration.

These share no code with :mod:`sdpsolve`'s methods (only the normalisation of ``equal``), so they can be used
to test it.

* :func:`sdp_optimum` solves (P) with an interior-point solver through CVXPY. **Accuracy**: with the default
  solver Clarabel and the tolerances set here (gap and feasibility 1e-10), the returned value agrees with the
  exact optimum to about 1e-9 relative (measured on the closed-form entries of :mod:`tests.catalogue`: worst
  4.4e-11 relative, 2e-11 absolute at optimum 0). Interior-point solvers stop at a slightly infeasible point,
  so the error can have either sign: compare with a tolerance (1e-7 · max(1, |value|) is safe), never
  exactly. SCS (first order, ``eps`` 1e-9) is less predictable (from 1e-12 to 1e-5 relative). Practical for
  n ≤ ~60 (n(n+1)/2 variables; n = 60 takes about 4 s on one core).
* :func:`lagrangian_optimum` solves (P) with extra linear rows (the Lagrangian mode of SPEC §1):
  maximise <M0, P> + c0 s.t. P ⪰ 0, P_ii ≤ 1 (i ∉ E), P_ii = 1 (i ∈ E), <A_k, P> + β_k ≥ 0 (or = 0), with the
  same solver and tolerances; each row is divided by ||A_k||_F (as the solver does) before it is handed to
  Clarabel. **Accuracy**: on strictly feasible random problems (n ≤ 15, ≤ 6 rows, E = ∅ or {0}) the value lies
  between the rigorous upper bound of ``solve_lagrangian(rtol=1e-8)`` and 2e-8 · max(1, |value|) below it
  (measured on 30 problems; the oracle was never more than 1.3e-11 above the rigorous bound): compare with
  1e-6 · max(1, |value|).
* :func:`brute_force_vertices` computes max xᵀMx over x ∈ {−1, 1}ⁿ exactly (enumeration, n ≤ 22). Every such x
  gives a feasible P = xxᵀ for any E, so the value is a *lower* bound on (P) whatever E is; it is the MAXCUT
  optimum when M = L/4.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import scipy.sparse as sp

from sdpsolve._validation import equal_mask

#: largest n accepted by :func:`sdp_optimum` (beyond this CVXPY is slow and memory hungry)
SDP_ORACLE_MAX_N = 120
#: largest n accepted by :func:`brute_force_vertices` (2^(n-1) sign vectors)
BRUTE_FORCE_MAX_N = 22

_CLARABEL_TOL = {
    "tol_gap_abs": 1e-10,
    "tol_gap_rel": 1e-10,
    "tol_feas": 1e-10,
    "tol_ktratio": 1e-8,
    "max_iter": 500,
}
_SCS_TOL = {"eps": 1e-9, "max_iters": 200_000}


def _dense_symmetric(M) -> np.ndarray:
    A = M.toarray() if sp.issparse(M) else np.asarray(M)
    if A.ndim != 2 or A.shape[0] != A.shape[1] or A.shape[0] < 1:
        raise ValueError(f"`M` must be a non-empty square matrix, got shape {A.shape}.")
    if np.iscomplexobj(A):
        raise TypeError("`M` must be real, got a complex matrix.")
    A = A.astype(np.float64)
    if not np.all(np.isfinite(A)):
        raise ValueError("`M` must be finite.")
    return 0.5 * (A + A.T)


def sdp_optimum(M, equal=None, solver: str = "CLARABEL") -> float:
    """Optimal value of (P) computed with CVXPY.

    (P): maximise <M, P> subject to P ⪰ 0, P_ii ≤ 1 (i ∉ E), P_ii = 1 (i ∈ E).

    Parameters
    ----------
    M : array_like or scipy.sparse matrix, shape (n, n)
        Symmetric (its symmetric part is used), n ≤ ``SDP_ORACLE_MAX_N``.
    equal : None, "all", "none", sequence of int or bool mask
        The set E, as for :func:`sdpsolve.solve`.
    solver : {"CLARABEL", "SCS"}
        Interior point (default, accurate to ~1e-8 relative) or SCS (first order, ~1e-5).

    Returns
    -------
    float
        The optimal value.

    Raises
    ------
    RuntimeError
        If the solver does not report an optimal solution (the message names the status).

    Examples
    --------
    >>> round(sdp_optimum([[1.0, 2.0], [2.0, -1.0]]), 6)   # P = [[1, 1], [1, 1]] gives 1 + 4 - 1
    4.0
    """
    import cvxpy as cp

    A = _dense_symmetric(M)
    n = A.shape[0]
    if n > SDP_ORACLE_MAX_N:
        raise ValueError(f"`M` must have n <= {SDP_ORACLE_MAX_N} for the CVXPY oracle, got n = {n}.")
    mask = equal_mask(equal, n)
    solver = solver.upper()
    if solver not in ("CLARABEL", "SCS"):
        raise ValueError(f"`solver` must be 'CLARABEL' or 'SCS', got {solver!r}.")
    P = cp.Variable((n, n), PSD=True)
    d = cp.diag(P)
    cons = []
    if mask.any():
        cons.append(d[np.flatnonzero(mask)] == 1)
    if (~mask).any():
        cons.append(d[np.flatnonzero(~mask)] <= 1)
    prob = cp.Problem(cp.Maximize(cp.trace(A @ P)), cons)
    opts = _CLARABEL_TOL if solver == "CLARABEL" else _SCS_TOL
    prob.solve(solver=solver, **opts)
    if prob.status not in (cp.OPTIMAL, cp.OPTIMAL_INACCURATE) or prob.value is None:
        raise RuntimeError(f"CVXPY/{solver} did not solve (P) for n = {n}: status {prob.status!r}.")
    if prob.status == cp.OPTIMAL_INACCURATE and solver == "CLARABEL":
        raise RuntimeError(
            f"CVXPY/CLARABEL returned {prob.status!r} for n = {n}; the value is not an oracle."
        )
    return float(prob.value)


def lagrangian_optimum(
    M0, A, beta, *, equality=None, equal=None, c0: float = 0.0, settings: dict | None = None
) -> float:
    """Optimal value of (P) with extra linear rows, computed with CVXPY/Clarabel.

    maximise <M0, P> + c0 subject to P ⪰ 0, P_ii ≤ 1 (i ∉ E), P_ii = 1 (i ∈ E) and, for every row k,
    <A_k, P> + β_k ≥ 0 (``equality[k]`` False) or = 0 (True).

    Parameters
    ----------
    M0 : array_like, shape (n, n)
        Objective (its symmetric part is used), n ≤ ``SDP_ORACLE_MAX_N``.
    A : array_like, shape (m, n, n)
        Row matrices (symmetric parts used).
    beta : array_like, shape (m,)
        Offsets.
    equality : array_like of bool, shape (m,), optional
        Default: every row is an inequality.
    equal : None, "all", "none", sequence of int or bool mask
        The set E, as for :func:`sdpsolve.solve`.
    c0 : float
        Objective constant.
    settings : dict, optional
        Clarabel settings replacing the defaults (gap and feasibility 1e-10). When given, CVXPY's
        "optimal_inaccurate" (Clarabel's "almost solved", which meets the ``reduced_tol_*`` settings) is
        accepted too: pass reduced tolerances that make it an oracle (e.g. ``CLARABEL_SETTINGS`` of
        ``tests.certifiers.sdpcert_oracle`` for the degenerate SDP-cert instances).

    Returns
    -------
    float
        The optimal value.

    Raises
    ------
    RuntimeError
        If Clarabel does not report an optimal solution (e.g. infeasible rows).

    Examples
    --------
    >>> M0 = [[0.0, 1.0], [1.0, 0.0]]                     # maximise 2 P_01 s.t. 0.5 − P_01 ≥ 0
    >>> round(lagrangian_optimum(M0, [[[0.0, -0.5], [-0.5, 0.0]]], [0.5]), 6)
    1.0
    """
    import cvxpy as cp

    M = _dense_symmetric(M0)
    n = M.shape[0]
    if n > SDP_ORACLE_MAX_N:
        raise ValueError(f"`M0` must have n <= {SDP_ORACLE_MAX_N} for the CVXPY oracle, got n = {n}.")
    rows = np.asarray(A, dtype=np.float64).reshape(-1, n, n)
    rows = 0.5 * (rows + rows.transpose(0, 2, 1))
    m = rows.shape[0]
    b = np.asarray(beta, dtype=np.float64).reshape(-1)
    if b.shape != (m,):
        raise ValueError(f"`beta` must have shape ({m},), got {b.shape}.")
    eq = np.zeros(m, bool) if equality is None else np.asarray(equality, dtype=bool).reshape(-1)
    if eq.shape != (m,):
        raise ValueError(f"`equality` must have shape ({m},), got {eq.shape}.")
    mask = equal_mask(equal, n)
    P = cp.Variable((n, n), PSD=True)
    d = cp.diag(P)
    cons = []
    if mask.any():
        cons.append(d[np.flatnonzero(mask)] == 1)
    if (~mask).any():
        cons.append(d[np.flatnonzero(~mask)] <= 1)
    for k in range(m):
        s = max(float(np.linalg.norm(rows[k])), 1e-300)
        g = cp.trace((rows[k] / s) @ P) + b[k] / s
        cons.append(g == 0 if eq[k] else g >= 0)
    prob = cp.Problem(cp.Maximize(cp.trace(M @ P) + float(c0)), cons)
    prob.solve(solver="CLARABEL", **(_CLARABEL_TOL if settings is None else settings))
    ok = (cp.OPTIMAL,) if settings is None else (cp.OPTIMAL, cp.OPTIMAL_INACCURATE)
    if prob.status not in ok or prob.value is None:
        raise RuntimeError(f"CVXPY/CLARABEL did not solve the Lagrangian problem (n = {n}, m = {m}): status "
                           f"{prob.status!r}.")
    return float(prob.value)


class VertexMax(NamedTuple):
    """Result of :func:`brute_force_vertices`: the maximum and one maximiser."""

    value: float
    x: np.ndarray


def brute_force_vertices(M, *, chunk: int = 1 << 14) -> VertexMax:
    """max xᵀMx over x ∈ {−1, 1}ⁿ by enumeration (exact up to float64 summation).

    A lower bound on (P) for every E (P = xxᵀ is feasible), equal to the MAXCUT optimum for M = L/4, and
    equal to the maximum over the box [−1, 1]ⁿ when diag(M) ≥ 0 (xᵀMx is then convex in each coordinate).

    Parameters
    ----------
    M : array_like or scipy.sparse matrix, shape (n, n)
        Symmetric part used; n ≤ ``BRUTE_FORCE_MAX_N`` (2^(n−1) sign vectors, x and −x being equivalent).
    chunk : int
        Sign vectors evaluated per vectorised block.

    Returns
    -------
    VertexMax
        ``value`` and a maximiser ``x`` (with x_0 = 1).

    Examples
    --------
    >>> brute_force_vertices([[0.0, -1.0], [-1.0, 0.0]]).value   # x = (1, -1)
    2.0
    """
    A = _dense_symmetric(M)
    n = A.shape[0]
    if n > BRUTE_FORCE_MAX_N:
        raise ValueError(f"`M` must have n <= {BRUTE_FORCE_MAX_N} for enumeration, got n = {n}.")
    if n == 1:
        return VertexMax(float(A[0, 0]), np.ones(1))
    total = 1 << (n - 1)
    bits = np.arange(n - 1, dtype=np.int64)
    best_val, best_x = -np.inf, None
    for start in range(0, total, chunk):
        codes = np.arange(start, min(start + chunk, total), dtype=np.int64)
        X = np.ones((codes.size, n))
        X[:, 1:] = 1.0 - 2.0 * ((codes[:, None] >> bits) & 1)
        vals = np.einsum("ij,ij->i", X @ A, X)
        k = int(np.argmax(vals))
        if vals[k] > best_val:
            best_val, best_x = float(vals[k]), X[k].copy()
    return VertexMax(best_val, best_x)
