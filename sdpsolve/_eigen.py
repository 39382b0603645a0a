"""The eigen oracle: top eigenpairs of a symmetric operator from products only.

* :func:`lanczos` — block Lanczos with full reorthogonalisation (classical Gram–Schmidt applied twice, BLAS),
  warm start from previous vectors, explicit restart when the basis reaches ``max_dim``.
* :func:`lobpcg_top` — scipy's LOBPCG on a ``LinearOperator``, as an alternative.

Both return :class:`EigenResult` (Ritz values, vectors, residual norms). Ritz values *under*-estimate
λ_max: they are estimates, never bounds (see :mod:`sdpsolve._bounds`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import scipy.linalg as sla


@dataclass(frozen=True)
class EigenResult:
    """Top-k Ritz pairs (values in decreasing order) with residual norms ||B x − θ x||."""

    values: np.ndarray
    vectors: np.ndarray
    residuals: np.ndarray
    n_matvec: int
    n_iter: int
    converged: bool
    #: floating-point operations besides the products (projections, reorthogonalisation, small eigenproblems):
    #: a deterministic measure of the iteration's own cost
    flops: float = 0.0


def _orthonormalise(W: np.ndarray, Q: np.ndarray | None, rng: np.random.Generator, passes: int = 2) -> np.ndarray:
    """Orthonormalise the columns of W against Q and among themselves; replace lost directions by random ones.

    ``passes`` classical Gram–Schmidt sweeps against Q (two are enough for any W; one when W has already been
    projected once, as in the Lanczos recurrence).
    """
    for _ in range(passes):
        if Q is not None and Q.shape[1]:
            W = W - Q @ (Q.T @ W)
    norms_before = np.linalg.norm(W, axis=0)
    Qw, R = np.linalg.qr(W)
    weak = np.abs(np.diag(R)) <= 1e-10 * np.maximum(norms_before, 1e-300)
    if np.any(weak):
        for idx in np.flatnonzero(weak):
            x = rng.standard_normal(W.shape[0])
            basis = Qw[:, ~weak] if Q is None else np.hstack([Q, Qw[:, ~weak]])
            for _ in range(2):
                x -= basis @ (basis.T @ x)
            Qw[:, idx] = x / np.linalg.norm(x)
        Qw, _ = np.linalg.qr(Qw)
    return Qw


def lanczos(
    matmat: Callable[[np.ndarray], np.ndarray],
    n: int,
    *,
    k: int = 1,
    block_size: int | None = None,
    v0: np.ndarray | None = None,
    tol: float = 1e-8,
    maxiter: int = 300,
    max_dim: int | None = None,
    rng: np.random.Generator | None = None,
    scale: float | None = None,
    check_every: int = 4,
    value_tol: float | None = None,
    min_steps: int = 12,
    reorth: int = 2,
) -> EigenResult:
    """Top-``k`` eigenpairs (algebraically largest) of the symmetric operator ``matmat`` by block Lanczos.

    Parameters
    ----------
    matmat : callable
        X (n, p) -> B @ X.
    n : int
        Size of B.
    k : int
        Number of wanted eigenpairs.
    block_size : int, optional
        Block size p (default ``max(k, number of warm-start columns, 1)``); p = 1 is plain Lanczos.
    v0 : array (n,) or (n, q), optional
        Warm start (e.g. the previous top eigenvectors); filled up with random columns.
    tol : float
        Stop when every wanted Ritz pair has residual ``<= tol * max(|θ_1|, scale)``.
    maxiter : int
        Maximal number of block steps (products: ``maxiter * p``).
    max_dim : int, optional
        Basis size that triggers an explicit restart from the current Ritz vectors (default ``max(60, 8p)``).
    scale : float, optional
        Scale for the residual test (default: the largest |Ritz value| seen).
    check_every : int
        Steps between two convergence tests (each needs an eigendecomposition of the projected matrix).
    value_tol : float or callable, optional
        Also stop when the wanted Ritz values moved by at most ``value_tol`` in two successive tests (useful
        when only λ_max is needed and the top of the spectrum is clustered; the vectors may then be poor).
        A callable is evaluated at the current top Ritz value (an accuracy that depends on the value).
    min_steps : int
        Block steps before ``value_tol`` may stop the iteration.
    reorth : int
        Full reorthogonalisation passes after the three-term projection (1 is "twice is enough" with it).

    Returns
    -------
    EigenResult
    """
    gen = rng if rng is not None else np.random.default_rng()
    start = np.empty((n, 0)) if v0 is None else np.asarray(v0, dtype=np.float64).reshape(n, -1)
    k = min(k, n)
    # a block smaller than k could not hold the k wanted Ritz vectors across a restart
    p = max(block_size or max(k, start.shape[1], 1), k)
    p = min(p, n)
    max_dim = min(n, max_dim or max(60, 8 * p))
    # a warm start padded with random columns must let those columns reveal a larger eigenvalue: then all
    # p pairs of the block have to converge (an exact non-top eigenvector alone has a zero residual)
    need = p if 0 < start.shape[1] < p else k
    if start.shape[1] < p:
        start = np.hstack([start, gen.standard_normal((n, p - start.shape[1]))])
    Q = _orthonormalise(start[:, :p], None, gen)
    n_mv = 0
    flops = 0.0
    steps = 0
    best_scale = float(scale or 0.0)
    prev = None
    calm = 0
    while True:
        # preallocated basis Q and products B Q (no re-stacking per step)
        Qbuf = np.empty((n, max_dim))
        BQbuf = np.empty((n, max_dim))
        T = np.zeros((max_dim, max_dim))
        m = 0
        Qj = Q
        converged = False
        while True:
            p_j = Qj.shape[1]
            W = matmat(Qj)
            n_mv += p_j
            steps += 1
            Qbuf[:, m : m + p_j] = Qj
            BQbuf[:, m : m + p_j] = W
            m_new = m + p_j
            # T = Qᵀ B Q built incrementally (full reorthogonalisation keeps Q orthonormal)
            col = Qbuf[:, :m_new].T @ W
            T[:m_new, m:m_new] = col
            T[m:m_new, :m_new] = col.T
            m = m_new
            # projection, three-term removal, `reorth` passes and QR of the new block
            flops += 4.0 * n * m * p_j * (1 + reorth) + 2.0 * n * p_j * p_j
            room = min(p, max_dim - m)
            last = steps >= maxiter or room <= 0 or m >= n
            if not last and steps % check_every != 0 and steps > 2:
                Wn = W - Qbuf[:, :m] @ col
                Qj = _orthonormalise(Wn[:, :room] if room < p else Wn, Qbuf[:, :m], gen, passes=reorth)
                continue
            Tm = 0.5 * (T[:m, :m] + T[:m, :m].T)
            theta, S = np.linalg.eigh(Tm)
            flops += 9.0 * m**3 + 4.0 * n * m * min(need, m)
            order = np.argsort(theta)[::-1][: min(need, m)]
            theta_k, S_k = theta[order], S[:, order]
            best_scale = max(best_scale, float(np.max(np.abs(theta))))
            # residuals of Ritz pairs: R = B Q S − Q S diag θ
            X = Qbuf[:, :m] @ S_k
            Rm = BQbuf[:, :m] @ S_k - X * theta_k
            res = np.linalg.norm(Rm, axis=0)
            if m >= n or np.all(res <= tol * max(best_scale, 1e-300)):
                converged = True
                break
            vtol = value_tol(float(theta_k[0])) if callable(value_tol) else value_tol
            if vtol is not None and prev is not None and np.all(np.abs(theta_k[:k] - prev[:k]) <= vtol):
                calm += 1
                if calm >= 2 and steps >= min_steps:
                    converged = True
                    break
            else:
                calm = 0
            prev = theta_k
            if last:
                break
            Wn = W - Qbuf[:, :m] @ col
            Qj = _orthonormalise(Wn[:, :room] if room < p else Wn, Qbuf[:, :m], gen, passes=reorth)
        if converged or steps >= maxiter:
            return EigenResult(theta_k[:k], X[:, :k], res[:k], n_mv, steps, bool(converged), flops)
        # explicit restart from the current best Ritz vectors
        restart = Qbuf[:, :m] @ S[:, np.argsort(theta)[::-1][:p]]
        Q = _orthonormalise(restart, None, gen)


def lobpcg_top(
    matmat: Callable[[np.ndarray], np.ndarray],
    n: int,
    *,
    k: int = 1,
    v0: np.ndarray | None = None,
    tol: float = 1e-8,
    maxiter: int = 300,
    rng: np.random.Generator | None = None,
) -> EigenResult:
    """Top-``k`` eigenpairs by scipy's LOBPCG (``largest=True``) on a LinearOperator built from ``matmat``."""
    from scipy.sparse.linalg import LinearOperator, lobpcg

    gen = rng if rng is not None else np.random.default_rng()
    count = [0]

    def mm(X):
        X = np.asarray(X, dtype=np.float64)
        X2 = X.reshape(n, -1)
        count[0] += X2.shape[1]
        Y = matmat(X2)
        return Y.reshape(X.shape)

    op = LinearOperator((n, n), matvec=mm, matmat=mm, dtype=np.float64)
    m = max(k, 1)
    X0 = gen.standard_normal((n, m)) if v0 is None else np.asarray(v0, dtype=np.float64).reshape(n, -1)
    if X0.shape[1] < m:
        X0 = np.hstack([X0, gen.standard_normal((n, m - X0.shape[1]))])
    if n < 5 * m + 2:
        # LOBPCG needs n >> block size; small problems go to a dense eigensolver on the materialised operator
        B = mm(np.eye(n))
        B = 0.5 * (B + B.T)
        w, V = np.linalg.eigh(B)
        order = np.argsort(w)[::-1][:k]
        res = np.linalg.norm(B @ V[:, order] - V[:, order] * w[order], axis=0)
        return EigenResult(w[order], V[:, order], res, count[0], 1, True)
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        w, V = lobpcg(op, X0[:, :m], largest=True, tol=tol, maxiter=maxiter)
    order = np.argsort(w)[::-1][:k]
    w, V = np.asarray(w)[order], V[:, order]
    R = mm(V) - V * w
    res = np.linalg.norm(R, axis=0)
    scale = max(float(np.max(np.abs(w))), 1e-300)
    return EigenResult(w, V, res, count[0], maxiter, bool(np.all(res <= max(tol, 1e-10) * scale * 10)))


def top_eigenpairs(method: str, matmat, n, **kwargs) -> EigenResult:
    """Dispatch to :func:`lanczos` or :func:`lobpcg_top` by name ("lanczos" | "lobpcg")."""
    if method == "lanczos":
        return lanczos(matmat, n, **kwargs)
    if method == "lobpcg":
        kwargs.pop("block_size", None)
        kwargs.pop("max_dim", None)
        kwargs.pop("scale", None)
        return lobpcg_top(matmat, n, **kwargs)
    raise ValueError(f"`eigensolver` must be 'lanczos' or 'lobpcg'; got {method!r}.")


def dense_top_eigenvalue(B: np.ndarray) -> float:
    """λ_max of a small dense symmetric matrix (LAPACK; an estimate like any floating-point eigenvalue)."""
    n = B.shape[0]
    return float(sla.eigh(B, eigvals_only=True, subset_by_index=[n - 1, n - 1])[0])
