"""A dense primal-dual interior-point method for the Lagrangian mode's multipliers at small n.

The problem of :func:`sdpsolve.solve_lagrangian` (SPEC §1),

    maximise <M0, P> + c0   s.t.  P ⪰ 0,  P_ii ≤ 1 (i ∉ E),  P_ii = 1 (i ∈ E),  g_k(P) ≥ 0 (= 0 on equality rows),

is solved here when its rows come in factored form, g_k(P) = a_kᵀ P b_k + β_k for every symmetric P with
P_ii = 1 on E (``LagrangianProblem.row_factors``). Every constraint is then A_i = sym(a_i b_iᵀ) (the diagonal
ones with a = b = e_i), and the Schur complement of the HKM direction, H_ij = tr(A_i X A_j Z⁻¹), is a sum of
four Hadamard products of q × q matrices FᵀXF, GᵀXF, … (q = n + m): O(n²q + nq²) per iteration, no n² × n²
system. Slacks of the inequalities (w for P_ii ≤ 1, s for g_k ≥ 0) form a nonnegative block. The method is the
infeasible primal-dual path-following one with Mehrotra's predictor-corrector (Helmberg, Rendl, Vanderbei,
Wolkowicz 1996; Todd, Toh, Tütüncü 1998 for the HKM direction), in the min form

    min <−M0, X>  s.t.  𝒜(X) + B x_l = b,  X ⪰ 0, x_l ≥ 0;     max bᵀy  s.t.  𝒜*(y) + Z = −M0,  Bᵀy + z_l = 0.

Structure: coordinates that no row's a_k touches and that M0 couples to no other such coordinate (a network's
input pixels) form a diagonal block of the dual matrix Z, which every iterate keeps. They are ordered first, and
Z⁻¹ comes from the Schur complement of that block (:class:`_ArrowFactor`), so that every product X W Z⁻¹ with W of
the same pattern costs O(n² h) instead of two n³ products (h: the other coordinates). The iterates are those of
the dense method; only the order of the arithmetic differs.

Only the multipliers θ (= y on the rows) and the primal X leave this module: the bound the caller reports is
certified from them by the usual rigorous (or probabilistic) test, so nothing here needs to be exact.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import scipy.linalg as sla
import scipy.sparse as sp
from scipy.linalg import lapack

#: fraction of the step to the boundary of the cones (0.98 measured to lose centrality on network instances
#: without much interior: 74 iterations against 26 at 0.9)
STEP_FRACTION = 0.9


@dataclass(frozen=True)
class IPMResult:
    """``theta``: multipliers of the rows (≥ 0 on inequalities); ``c``: those of the diagonal constraints (diag(c) −
    M(θ) is the dual matrix up to the dual residual); ``X``: the primal matrix; ``primal``/``dual``:
    the two objectives of the last iterate (estimates: the dual one is not certified); ``iterations``;
    ``converged``: relative gap and infeasibilities below the tolerance; ``message``."""

    theta: np.ndarray
    c: np.ndarray
    X: np.ndarray
    primal: float
    dual: float
    iterations: int
    converged: bool
    message: str


#: ξ of the start: on PGD-NN / Grad-NN instances (n = 990 / 1,162) ξ = 3, η = max(1, ‖M0‖_F/√n) takes 25 / 36
#: iterations to 1e-6 against 29 / 51 with ξ = 1, η = max(1, ‖M0‖_F); ξ = 10 or 30 took 27–29 / 39
START_PRIMAL = 3.0

#: above this n the step to the boundary is located by Lanczos (and checked by a Cholesky factorisation)
#: instead of a full eigenvalue decomposition
EXACT_STEP_MAX_N = 300


def _max_step(factor, D: np.ndarray) -> float:
    """The largest α with F + αD ⪰ 0 (∞ when D ⪰ 0) for F = LLᵀ given by ``factor``: −1/λ_min(L⁻¹ D L⁻ᵀ); above
    EXACT_STEP_MAX_N a Lanczos estimate of λ_min (possibly too large a step: :func:`_checked_step` checks it)."""
    n = D.shape[0]
    if n <= EXACT_STEP_MAX_N:
        L = factor.lower()
        S = sla.solve_triangular(L, sla.solve_triangular(L, D, lower=True).T, lower=True)
        lam = float(np.linalg.eigvalsh(0.5 * (S + S.T))[0])
    else:
        from scipy.sparse.linalg import LinearOperator, eigsh

        def matvec(v):
            return factor.solve_lower(D @ factor.solve_upper(np.ravel(v)))

        op = LinearOperator((n, n), matvec=matvec, dtype=np.float64)
        lam = float(eigsh(op, k=1, which="SA", tol=1e-4, maxiter=20 * n, return_eigenvectors=False)[0])
    return np.inf if lam >= 0 else -1.0 / lam


def _checked_step(M: np.ndarray, factor, D: np.ndarray, limit: float) -> float:
    """min(limit, STEP_FRACTION × the step to the boundary of M + αD ⪰ 0), shrunk until M + αD factors."""
    alpha = min(limit, STEP_FRACTION * _max_step(factor, D))
    if D.shape[0] <= EXACT_STEP_MAX_N:
        return alpha
    while alpha > 1e-12:
        try:
            factor.refactor(M + alpha * D)
            return alpha
        except np.linalg.LinAlgError:
            alpha *= 0.8
    return 0.0


class _DenseFactor:
    """M = LLᵀ by a dense Cholesky factorisation (raises ``LinAlgError`` when M is not positive definite)."""

    def __init__(self, M: np.ndarray):
        self.L = np.linalg.cholesky(M)

    def refactor(self, M: np.ndarray):
        return _DenseFactor(M)

    def lower(self) -> np.ndarray:
        return self.L

    def solve_lower(self, v: np.ndarray) -> np.ndarray:
        # (BLAS triangular solves; the iterates are finite, checked once per iteration by the caller)
        return sla.solve_triangular(self.L, v, lower=True, check_finite=False)

    def solve_upper(self, v: np.ndarray) -> np.ndarray:
        return sla.solve_triangular(self.L, v, lower=True, trans="T", check_finite=False)


class _ArrowFactor:
    """Z = [[diag(d), B], [Bᵀ, C]] ≻ 0 whose first k coordinates form a diagonal block, factored through the
    Schur complement S = C − Bᵀ diag(d)⁻¹ B = L_S L_Sᵀ: Z = LLᵀ with L = [[diag(√d), 0], [Bᵀ diag(√d)⁻¹, L_S]], and
    Z⁻¹ = blockdiag(diag(d)⁻¹, 0) + K S⁻¹ Kᵀ with K = [−diag(d)⁻¹ B; I]. Raises ``LinAlgError`` when Z is not
    positive definite. O(k h² + h³) to build (h = n − k)."""

    def __init__(self, Z: np.ndarray, k: int):
        self.k = k
        d = np.diag(Z)[:k].copy()
        if not np.all(d > 0):
            raise np.linalg.LinAlgError("the diagonal block is not positive definite")
        self.d, self.sd = d, np.sqrt(d)
        self.DB = Z[:k, k:] / d[:, None]
        self.BL = self.DB * self.sd[:, None]  # (the factor's block Bᵀ diag(√d)⁻¹)ᵀ
        self.LS = np.linalg.cholesky(Z[k:, k:] - Z[:k, k:].T @ self.DB)
        Si, info = lapack.dpotri(self.LS, lower=1)
        if info != 0:
            raise np.linalg.LinAlgError("singular Schur complement of the diagonal block")
        self.Si = np.tril(Si) + np.tril(Si, -1).T

    def refactor(self, Z: np.ndarray):
        return _ArrowFactor(Z, self.k)

    def inverse(self) -> np.ndarray:
        """Z⁻¹ as a dense matrix: O(k² h)."""
        k, DB, Si = self.k, self.DB, self.Si
        n = k + Si.shape[0]
        out = np.empty((n, n))
        T = DB @ Si
        out[:k, :k] = T @ DB.T
        out[np.arange(k), np.arange(k)] += 1.0 / self.d
        out[:k, k:] = -T
        out[k:, :k] = -T.T
        out[k:, k:] = Si
        return out

    def right(self, A: np.ndarray) -> np.ndarray:
        """A Z⁻¹ for A of shape (r, n): O(r h (k + h)) instead of the r n² of a dense product."""
        k = self.k
        P = (A[:, k:] - A[:, :k] @ self.DB) @ self.Si
        out = np.empty_like(P, shape=(A.shape[0], A.shape[1]))
        out[:, :k] = A[:, :k] / self.d - P @ self.DB.T
        out[:, k:] = P
        return out

    def lower(self) -> np.ndarray:
        k = self.k
        n = k + self.LS.shape[0]
        L = np.zeros((n, n))
        L[np.arange(k), np.arange(k)] = self.sd
        L[k:, :k] = self.BL.T
        L[k:, k:] = self.LS
        return L

    def solve_lower(self, v: np.ndarray) -> np.ndarray:
        k = self.k
        w1 = v[:k] / self.sd
        rest = v[k:] - self.BL.T @ w1
        return np.concatenate([w1, sla.solve_triangular(self.LS, rest, lower=True, check_finite=False)])

    def solve_upper(self, v: np.ndarray) -> np.ndarray:
        k = self.k
        w2 = sla.solve_triangular(self.LS, v[k:], lower=True, trans="T", check_finite=False)
        return np.concatenate([(v[:k] - self.BL @ w2) / self.sd, w2])


def _arrow_left(X: np.ndarray, W: np.ndarray, k: int) -> np.ndarray:
    """X W for W whose first k coordinates form a diagonal block: O(n h (n + k))."""
    out = np.empty((X.shape[0], W.shape[1]))
    out[:, :k] = X[:, :k] * np.diag(W)[:k] + X[:, k:] @ W[k:, :k]
    out[:, k:] = X @ W[:, k:]
    return out


def _diagonal_block(M0: np.ndarray, Fa: np.ndarray) -> np.ndarray:
    """Coordinates i that no row's a_k touches and that M0 couples to no other such coordinate: the dual matrix
    C − 𝒜*(y) has a diagonal block on them whatever y."""
    free = ~np.asarray((abs(Fa) != 0).sum(axis=1)).ravel().astype(bool)
    idx = np.flatnonzero(free)
    if idx.size:
        off = M0[np.ix_(idx, idx)] != 0
        np.fill_diagonal(off, False)
        idx = idx[~off.any(axis=1)]
    return idx


def _max_step_lp(x: np.ndarray, dx: np.ndarray) -> float:
    neg = dx < 0
    return float(np.min(-x[neg] / dx[neg])) if neg.any() else np.inf


@dataclass(frozen=True)
class _Newton:
    """One iterate's HKM Newton system, its Schur complement factored (``cH``); ``triple(A, W)`` is A W Z⁻¹ for W
    of the dual matrix's pattern."""

    X: np.ndarray
    Zi: np.ndarray
    base: np.ndarray
    FX: _DenseFactor
    FZ: _ArrowFactor
    triple: object
    Rp: np.ndarray
    Rd: np.ndarray
    rdl: np.ndarray
    xl: np.ndarray
    zl: np.ndarray
    D: np.ndarray
    cH: tuple
    A_op: object
    A_adj: object
    B_op: object
    Bt_op: object

    def direction(self, sigma_mu, corr_X=None, corr_l=None):
        """(ΔX, Δy, ΔZ, Δx_l, Δz_l) towards XZ = σμI (with Mehrotra's second-order terms when given)."""
        X = self.X
        RC = sigma_mu * self.Zi + self.base
        rcl = sigma_mu / self.zl - self.xl - self.D * self.rdl
        if corr_X is not None:
            RC = RC - corr_X
            rcl = rcl - corr_l
        RC = 0.5 * (RC + RC.T)
        dy = sla.cho_solve(self.cH, self.Rp - self.A_op(RC) - self.B_op(rcl))
        dZ = self.Rd - self.A_adj(dy)
        dX = RC + self.triple(X, self.A_adj(dy))
        dX = 0.5 * (dX + dX.T)
        dzl = self.rdl - self.Bt_op(dy)
        dxl = rcl + self.D * self.Bt_op(dy)
        return dX, dy, dZ, dxl, dzl

    def steps(self, dX, dZ, dxl, dzl):
        """The largest primal and dual steps (≤ 1) that keep the iterate in the cones (the predictor's)."""
        ap = min(1.0, _max_step(self.FX, dX), _max_step_lp(self.xl, dxl))
        ad = min(1.0, _max_step(self.FZ, dZ), _max_step_lp(self.zl, dzl))
        return ap, ad

    def damped_steps(self, Z, dX, dZ, dxl, dzl):
        """STEP_FRACTION of the steps to the boundary (≤ 1), each checked to keep X and Z positive definite."""
        ap = _checked_step(self.X, self.FX, dX, min(1.0, STEP_FRACTION * _max_step_lp(self.xl, dxl)))
        ad = _checked_step(Z, self.FZ, dZ, min(1.0, STEP_FRACTION * _max_step_lp(self.zl, dzl)))
        return ap, ad


def lagrangian_ipm(M0: np.ndarray, c0: float, Fa: np.ndarray, Fb: np.ndarray, beta: np.ndarray,
                   equality: np.ndarray, mask: np.ndarray, *, tol: float = 1e-7, max_iter: int = 80,
                   time_limit: float | None = None, structure: bool = True, watch=None) -> IPMResult:
    """Solve the problem above (rows g_k(P) = a_kᵀ P b_k + β_k, a_k = Fa[:, k], b_k = Fb[:, k]).

    ``equality`` marks the equality rows, ``mask`` the set E. Rows should be scaled to comparable norms. Never
    raises on numerical trouble: it stops and returns the best iterate so far with ``converged=False`` (also
    after ``time_limit`` seconds). ``structure=False`` treats Z as dense (the reference for the structured
    arithmetic; same iterates up to rounding). ``watch(theta, c, primal, dual, primal_infeasibility,
    dual_infeasibility)``, when given, sees every iterate (θ = y on the rows, c = −y on the diagonal constraints:
    diag(c) − M(θ) is the dual matrix Z up to the dual residual) and stops the method, returning that iterate,
    when it returns True.

    Examples
    --------
    Maximise 2 P_01 subject to 0.5 − P_01 ≥ 0 (the row e_0ᵀ P (−e_1) + 0.5): the optimum 1 and its multiplier 2.

    >>> import numpy as np
    >>> M0 = np.array([[0.0, 1.0], [1.0, 0.0]])
    >>> Fa, Fb = np.array([[1.0], [0.0]]), np.array([[0.0], [-1.0]])
    >>> res = lagrangian_ipm(M0, 0.0, Fa, Fb, np.array([0.5]), np.array([False]), np.array([False, False]))
    >>> res.converged, round(res.primal, 6), round(res.dual, 6), round(float(res.theta[0]), 3)
    (True, 1.0, 1.0, 2.0)
    """
    start = time.perf_counter()
    n, m = Fa.shape
    M0 = 0.5 * (M0 + M0.T)
    # the diagonal block first: the problem in the order perm, X returned in the caller's order
    first = _diagonal_block(M0, Fa) if structure else np.zeros(0, dtype=int)
    k = first.size
    perm = np.concatenate([first, np.setdiff1d(np.arange(n), first)])
    M0 = M0[np.ix_(perm, perm)]
    Fa = Fa[perm]
    Fb = np.asarray(Fb, dtype=np.float64)[perm]
    mask = np.asarray(mask, dtype=bool)[perm]
    # F = [I, Fa], G = [I, Fb]: q = n + m constraints A_i = sym(f_i g_iᵀ). Fa is kept sparse (a network's rows
    # have a_k = e_0 or two nonzeros), Fb dense; the blocks of FᵀXF, GᵀXF and GᵀXG are formed from X Fa and X Fb.
    Fa = sp.csc_matrix(Fa)
    # Fb's columns that reach the diagonal block (a network's rows on its first layer): X Fb and Fbᵀ X Fb are
    # summed over the block only for them
    top_cols = np.flatnonzero(np.any(Fb[:k] != 0, axis=0))
    Fb_top, Fb_rest = np.ascontiguousarray(Fb[:k][:, top_cols]), np.ascontiguousarray(Fb[k:])
    q = n + m
    inv = np.argsort(perm)
    b = np.concatenate([np.ones(n), -np.asarray(beta, dtype=np.float64)])
    # the nonnegative block: w_i (P_ii + w_i = 1, i ∉ E) and s_k (g_k − s_k = 0, inequality rows)
    w_rows = np.flatnonzero(~mask)
    s_rows = n + np.flatnonzero(~equality)
    l_rows = np.concatenate([w_rows, s_rows])
    l_sign = np.concatenate([np.ones(w_rows.size), -np.ones(s_rows.size)])
    p = l_rows.size

    def A_op(X):
        # diag(X), then a_kᵀ X b_k (X symmetric)
        return np.concatenate([np.diag(X), np.einsum("kj,jk->k", (Fa.T @ X), Fb)])

    Fa_rest = sp.csr_matrix(Fa[k:])  # Fa is zero on the diagonal block

    def A_adj(y):
        T = 0.5 * np.asarray(Fa_rest @ (y[n:, None] * Fb.T))
        S = np.zeros((n, n))
        S[k:] = T
        S[:, k:] += T.T
        S[np.diag_indices(n)] += y[:n]
        return S

    def blocks(X):
        """The pieces of FᵀXF, GᵀXF and GᵀXG for a symmetric X: X Fa, X Fb, Faᵀ X Fa, Faᵀ X Fb, Fbᵀ X Fb."""
        XFa = np.asarray(Fa.T @ X).T
        XFb = X[:, k:] @ Fb_rest
        XFb[:, top_cols] += X[:, :k] @ Fb_top
        FXF = Fb_rest.T @ XFb[k:]
        FXF[top_cols] += Fb_top.T @ XFb[:k]
        return XFa, XFb, np.asarray(Fa.T @ XFa), np.asarray(Fa.T @ XFb), FXF

    def schur(X, Y):
        """H = ¼ (GᵀXF ∘ (GᵀYF)ᵀ + GᵀXG ∘ FᵀYF + FᵀXF ∘ GᵀYG + (GᵀXF)ᵀ ∘ GᵀYF), block by block: X ∘ Y on the
        diagonal constraints, ½ (X Fa ∘ Y Fb + X Fb ∘ Y Fa) against the rows, and the rows' own m × m block."""
        xa, xb, xaa, xab, xbb = blocks(X)
        ya, yb, yaa, yab, ybb = blocks(Y)
        H = np.empty((q, q))
        H[:n, :n] = X * Y
        T = 0.5 * (xa * yb + xb * ya)
        H[:n, n:] = T
        H[n:, :n] = T.T
        H[n:, n:] = 0.25 * (xab.T * yab + xbb * yaa + xaa * ybb + xab * yab.T)
        return H

    def B_op(xl):
        out = np.zeros(q)
        np.add.at(out, l_rows, l_sign * xl)
        return out

    def Bt_op(y):
        return l_sign * y[l_rows]

    C = -M0
    # the infeasible start (X, x_l) = ξ (I, 1), (Z, z_l) = η (I, 1)
    scale = max(1.0, float(np.linalg.norm(M0)) / np.sqrt(n))
    X = START_PRIMAL * np.eye(n)
    Z = scale * np.eye(n)
    y = np.zeros(q)
    xl = START_PRIMAL * np.ones(p)
    zl = scale * np.ones(p)
    best = None
    message = f"{max_iter} iterations"
    converged = False
    it = 0
    normb = 1.0 + float(np.linalg.norm(b))
    normc = 1.0 + float(np.linalg.norm(C))
    for it in range(1, max_iter + 1):
        mu = (float(np.sum(X * Z)) + float(xl @ zl)) / (n + p)
        Rp = b - A_op(X) - B_op(xl)
        Rd = C - A_adj(y) - Z
        rdl = -Bt_op(y) - zl
        pobj = float(np.sum(M0 * X)) + c0
        dobj = -float(b @ y) + c0
        gap = abs(pobj - dobj) / (1.0 + abs(pobj) + abs(dobj))
        pinf = float(np.linalg.norm(Rp)) / normb
        dinf = (float(np.linalg.norm(Rd)) + float(np.linalg.norm(rdl))) / normc
        if best is None or max(gap, pinf, dinf) < best[0]:
            best = (max(gap, pinf, dinf), y.copy(), X.copy(), pobj, dobj)
        if gap < tol and pinf < tol and dinf < tol:
            converged, message = True, f"converged in {it - 1} iterations"
            break
        if watch is not None and watch(y[n:].copy(), -y[:n][inv], pobj, dobj, pinf, dinf):
            best = (0.0, y.copy(), X.copy(), pobj, dobj)
            message = f"stopped by the caller after {it - 1} iterations"
            break
        if time_limit is not None and time.perf_counter() - start > time_limit:
            message = f"time limit {time_limit:.3g} s after {it - 1} iterations"
            break
        try:
            FZ = _ArrowFactor(Z, k)
            FX = _DenseFactor(X)
        except np.linalg.LinAlgError:
            message = f"lost positive definiteness after {it - 1} iterations"
            break
        Zi = FZ.inverse()

        def triple(A, W, FZ=FZ):
            return FZ.right(_arrow_left(A, W, k))

        H = schur(X, Zi)
        H = 0.5 * (H + H.T)
        D = xl / zl
        np.add.at(H, (l_rows, l_rows), D)
        try:
            cH = sla.cho_factor(H + 1e-14 * np.trace(H) / q * np.eye(q))
        except np.linalg.LinAlgError:
            message = f"singular Schur complement after {it - 1} iterations"
            break

        # −X − X Rd Z⁻¹, shared by the predictor and the corrector; once the dual is feasible (‖Rd‖ at rounding
        # level) the second term is skipped: two n³ products less
        base = -X - triple(X, Rd) if float(np.linalg.norm(Rd)) > 1e-13 * normc else -X
        newton = _Newton(X, Zi, base, FX, FZ, triple, Rp, Rd, rdl, xl, zl, D, cH, A_op, A_adj, B_op, Bt_op)
        dX, dy, dZ, dxl, dzl = newton.direction(0.0)
        ap, ad = newton.steps(dX, dZ, dxl, dzl)
        mu_aff = (float(np.sum((X + ap * dX) * (Z + ad * dZ))) + float((xl + ap * dxl) @ (zl + ad * dzl))) / (n + p)
        sigma = min(1.0, (mu_aff / mu) ** 3)
        dX, dy, dZ, dxl, dzl = newton.direction(sigma * mu, triple(dX, dZ), dxl * dzl / zl)
        ap, ad = newton.damped_steps(Z, dX, dZ, dxl, dzl)
        X = X + ap * dX
        xl = xl + ap * dxl
        y = y + ad * dy
        Z = Z + ad * dZ
        zl = zl + ad * dzl
        X, Z = 0.5 * (X + X.T), 0.5 * (Z + Z.T)
        if not (np.all(np.isfinite(X)) and np.all(np.isfinite(y))):
            message = f"non-finite iterate after {it} iterations"
            break
    _, y, X, pobj, dobj = best
    X = X[np.ix_(inv, inv)]
    return IPMResult(theta=y[n:].copy(), c=-y[:n][inv], X=X, primal=pobj, dual=dobj, iterations=it, converged=converged,
                     message=message)
