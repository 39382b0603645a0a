"""Low-rank primal methods (Burer–Monteiro) with the dual point extracted from the primal (SPEC §1.4).

P = V Vᵀ with V ∈ R^{n×r}; rows in E on the unit sphere, the others in the unit ball.

* ``mixing`` — coordinate ascent ("mixing method", Wang–Chang–Kolter 2017) over the rows, as numba sweeps
  over explicit entries (dense or sparse M).
* ``lowrank`` — matrix-free block ascent: L-BFGS on the row-normalised parametrisation
  v_i = w_i[:r] / ||w_i|| (a slack coordinate lets ball rows move inside the ball), one product M·V per step.

Both periodically form c_i = <(MV)_i, v_i> (clipped at 0 outside E) and t ≈ λ_max(M − diag c) to measure the
gap; when the primal stalls with t > 0 the rank is increased along the top eigenvector (saddle escape).
"""

from __future__ import annotations

import math

import numpy as np
import scipy.sparse as sp

from ._kernels import greedy_colouring, mixing_sweep_csr, mixing_sweep_dense, project_rows
from ._problem import (
    MethodOutput,
    Monitor,
    Problem,
    Settings,
    dual_from_primal,
    estimate_upper,
    top_eigenvector,
)
from ._result import Status


def default_rank(n: int) -> int:
    return int(min(n, max(2, min(math.ceil(math.sqrt(2 * n)) + 1, 12))))


def initial_factor(problem: Problem, r: int, rng: np.random.Generator) -> np.ndarray:
    V = rng.standard_normal((problem.n, r))
    V /= np.linalg.norm(V, axis=1, keepdims=True)
    return np.ascontiguousarray(V)


def _escape(V: np.ndarray, U: np.ndarray, mask: np.ndarray, scale: float) -> np.ndarray:
    """Append columns along top eigenvectors U of M − diag c (directions of ascent when λ_max > 0)."""
    U = U.reshape(V.shape[0], -1)
    V = np.hstack([V, scale * U / np.maximum(np.max(np.abs(U), axis=0), 1e-300)])
    V = np.ascontiguousarray(V)
    project_rows(V, mask)
    return V


class _Ascent:
    """Inner ascent steps for one method; ``run(V, k)`` returns the new V after k sweeps/steps."""

    def __init__(self, problem: Problem, settings: Settings):
        self.problem = problem
        self.settings = settings


def update_rows(V: np.ndarray, rows: np.ndarray, G: np.ndarray, diag: np.ndarray, eq: np.ndarray) -> None:
    """Exact maximisation of M_ii ||v||² + 2<v, g_i> for many independent rows at once (vectorised)."""
    gn = np.linalg.norm(G, axis=1)
    safe = np.where(gn > 0, gn, 1.0)
    sphere = eq | (diag >= 0) | (gn >= -diag)
    inner = np.where(diag < 0, -1.0 / np.where(diag < 0, diag, -1.0), 0.0)
    new = np.where(sphere[:, None], G / safe[:, None], G * inner[:, None])
    keep = (gn == 0) & (eq | (diag >= 0))
    if np.any(keep):
        new[keep] = V[rows[keep]]
    V[rows] = new


class MixingAscent(_Ascent):
    """Mixing sweeps on explicit entries.

    The rows are split by a greedy colouring of the sparsity graph of M: rows of one colour do not interact,
    so a large colour class is updated at once from one BLAS product M[C, :] @ V (the same result as visiting
    its rows one by one). Small classes and matrices without such structure use the numba row sweep.
    """

    min_block = 32

    def __init__(self, problem, settings):
        super().__init__(problem, settings)
        op = problem.op
        n = problem.n
        self.eq = np.ascontiguousarray(problem.mask)
        self.order = np.arange(n, dtype=np.int64)
        if op.kind == "sparse":
            A = sp.csr_matrix(op.A)
            self.csr = (A.indptr.astype(np.int64), A.indices.astype(np.int64), A.data, op.diagonal())
            self.blocks = None
            return
        A = np.ascontiguousarray(op.A if op.kind == "dense" else op.to_dense()[0])
        self.A = A
        self.diag = np.diag(A).copy()
        self.blocks = None
        if n >= 2 * self.min_block:
            pattern = sp.csr_matrix(A != 0)
            colours = greedy_colouring(pattern.indptr.astype(np.int64), pattern.indices.astype(np.int64), n)
            classes = [np.flatnonzero(colours == k) for k in range(int(colours.max()) + 1)]
            big = [c for c in classes if c.size >= self.min_block]
            covered = sum(c.size for c in big)
            if covered >= 0.9 * n:
                small = np.sort(np.concatenate([c for c in classes if c.size < self.min_block] or [np.empty(0, int)]))
                # keep only the columns a class touches (e.g. a bipartite certificate matrix: half of them)
                self.blocks = []
                for cls in big:
                    rows = A[cls, :]
                    cols = np.flatnonzero(np.any(rows != 0, axis=0) | np.isin(np.arange(n), cls))
                    self.blocks.append((cls, cols, np.ascontiguousarray(rows[:, cols])))
                self.rest = small.astype(np.int64)

    def run(self, V, k):
        op = self.problem.op
        for _ in range(k):
            if self.blocks is not None:
                for rows, cols, Arows in self.blocks:
                    G = Arows @ V[cols] - self.diag[rows, None] * V[rows]
                    update_rows(V, rows, G, self.diag[rows], self.eq[rows])
                if self.rest.size:
                    mixing_sweep_dense(self.A, V, self.eq, self.rest)
            elif hasattr(self, "A"):
                mixing_sweep_dense(self.A, V, self.eq, self.order)
            else:
                mixing_sweep_csr(*self.csr, V, self.eq, self.order)
            # a sweep reads every entry once: count it as V.shape[1] products (the work of M @ V)
            op.n_matvec += V.shape[1]
        return V


def row_parametrisation(V: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """W = [V, slack] with slack = sqrt(1 − ||v_i||²) (≥ 1e-2) on ball rows and 0 on sphere rows (E)."""
    slack = np.sqrt(np.maximum(1.0 - np.sum(V * V, axis=1), 0.0))
    slack = np.where(mask, 0.0, np.maximum(slack, 1e-2))
    return np.hstack([V, slack[:, None]])


def factor_from_rows(W: np.ndarray) -> np.ndarray:
    """v_i = w_i[:r] / ||w_i||: sphere rows for a zero slack, ball rows otherwise."""
    norms = np.maximum(np.linalg.norm(W, axis=1, keepdims=True), 1e-300)
    return np.ascontiguousarray(W[:, :-1] / norms)


def lbfgs_maximise_rows(value_grad, V: np.ndarray, mask: np.ndarray, iters: int, memory: int = 12) -> np.ndarray:
    """Maximise f(V) over rows on the unit sphere (i ∈ E) / in the unit ball (i ∉ E) by L-BFGS.

    ``value_grad(V) -> (f, ∂f/∂V)``. The rows are parametrised as v_i = w_i[:r] / ||w_i|| with one slack
    coordinate for ball rows; L-BFGS (two-loop recursion, Armijo backtracking) runs on W. Returns the new V.
    """
    n, r = V.shape
    W = row_parametrisation(V, mask)

    def fun(W):
        norms = np.maximum(np.linalg.norm(W, axis=1, keepdims=True), 1e-300)
        f, gV = value_grad(W[:, :r] / norms)
        gfull = np.zeros_like(W)
        gfull[:, :r] = -gV
        U = W / norms
        gW = (gfull - U * np.sum(gfull * U, axis=1, keepdims=True)) / norms
        gW[mask, r] = 0.0
        return -f, gW

    f, g = fun(W)
    S, Y = [], []
    for _ in range(iters):
        q = g.copy()
        alphas = []
        for s_, y_ in reversed(list(zip(S, Y))):
            rho = 1.0 / np.sum(y_ * s_)
            a = rho * np.sum(s_ * q)
            alphas.append((rho, a))
            q -= a * y_
        gamma = np.sum(S[-1] * Y[-1]) / np.sum(Y[-1] * Y[-1]) if S else 1.0 / max(np.linalg.norm(g), 1e-300)
        d = gamma * q
        for (s_, y_), (rho, a) in zip(zip(S, Y), reversed(alphas)):
            d += (a - rho * np.sum(y_ * d)) * s_
        d = -d
        slope = float(np.sum(g * d))
        if slope >= 0:  # not a descent direction: reset the memory
            S, Y = [], []
            d = -g / max(np.linalg.norm(g), 1e-300)
            slope = float(np.sum(g * d))
        if slope == 0.0:
            break
        step = 1.0
        for _ls in range(30):
            Wn = W + step * d
            fn, gn = fun(Wn)
            if fn <= f + 1e-4 * step * slope:
                break
            step *= 0.5
        else:
            break
        s_, y_ = Wn - W, gn - g
        if np.sum(s_ * y_) > 1e-12 * np.sum(s_ * s_):
            S.append(s_)
            Y.append(y_)
            if len(S) > memory:
                S.pop(0)
                Y.pop(0)
        W, f, g = Wn, fn, gn
    return factor_from_rows(W)


class LBFGSAscent(_Ascent):
    """Matrix-free ascent: :func:`lbfgs_maximise_rows` on f(V) = tr(Vᵀ M V) (one product M·V per step)."""


    def run(self, V, k):
        op = self.problem.op

        def value_grad(Vx):
            G = op.matmat(Vx)
            return float(np.sum(G * Vx)), 2.0 * G

        return lbfgs_maximise_rows(value_grad, V, self.problem.mask, k)


def _next_check(inner: int, history_gaps: list, gap: float, target: float, opts: dict) -> int:
    """Sweeps until the next dual check: predicted from the observed linear rate of the estimated gap.

    Between two checks the gap shrank by a factor q over s sweeps; reaching the target needs about
    s·log(target/gap)/log(q) more sweeps. The prediction is capped (×3 growth, ``max_sweeps_per_check``) and
    the classic 1.5× growth is used while no rate is known.
    """
    cap = int(opts.get("max_sweeps_per_check", 200))
    fallback = min(int(inner * 1.5) + 1, cap)
    if len(history_gaps) < 2:
        return fallback
    (i0, g0), (i1, g1) = history_gaps[-2], history_gaps[-1]
    if g1 >= g0 or i1 <= i0:
        return fallback
    rate = np.log(g1 / g0) / (i1 - i0)  # < 0
    need = np.log(max(0.4 * target, 1e-300) / g1) / rate
    return int(min(max(need, 5), 3 * inner, cap))


def run_lowrank(problem: Problem, settings: Settings, ascent_cls) -> MethodOutput:
    opts = settings.options
    n, mask = problem.n, problem.mask
    r = int(opts.get("rank", default_rank(n)))
    max_rank = int(opts.get("max_rank", min(n, max(r, math.ceil(math.sqrt(2 * n)) + 1))))
    ascent = ascent_cls(problem, settings)
    monitor = Monitor(problem, settings, default_max_iter=100000)
    if settings.warm_start is not None:
        V = np.ascontiguousarray(settings.warm_start.copy())
    else:
        V = initial_factor(problem, r, settings.rng)
    project_rows(V, mask)
    inner = int(opts.get("sweeps_per_check", 10 if isinstance(ascent, MixingAscent) else 25))
    u = None
    best = None  # (U_est, c, u)
    n_iter = 0
    prev_lower = -np.inf
    stall = 0
    history_gaps: list = []
    while True:
        k = inner if monitor.max_iter is None else max(1, min(inner, monitor.max_iter - n_iter))
        V = ascent.run(V, k)
        n_iter += k
        G = problem.op.matmat(V)
        c, lower = dual_from_primal(problem.mask, G, V)
        value_tol = 0.05 * monitor.target(best[0] if best else abs(lower) + 1.0) / n
        t, u = top_eigenvector(problem, settings, c, u, value_tol=value_tol, factor=V)
        upper_est = estimate_upper(problem, c, t)
        if best is None or upper_est < best[0]:
            best = (upper_est, c, u)
        status, msg = monitor.check(n_iter, lower, best[0])
        if status is not None:
            break
        improvement = lower - prev_lower
        prev_lower = lower
        gap_est = best[0] - lower
        history_gaps.append((n_iter, max(gap_est, 1e-300)))
        # slow progress compared with the remaining gap while λ_max > 0: the rank is too small (or a saddle)
        if improvement <= 0.02 * gap_est and t > 0 and V.shape[1] < max_rank:
            V = _escape(V, u[:, : min(2, max_rank - V.shape[1])], mask,
                        scale=float(settings.options.get("escape_scale", 0.3)))
            stall = 0
        elif improvement <= 1e-3 * monitor.target(best[0]):
            stall += 1
            if stall >= 50:
                status, msg = Status.STALLED, (
                    f"no progress in 50 checks at rank {V.shape[1]} (estimated gap "
                    f"{gap_est / max(1.0, abs(best[0])):.2e})"
                )
                break
        else:
            stall = 0
        inner = _next_check(inner, history_gaps, gap_est, monitor.target(best[0]), opts)
    return MethodOutput(best[1], V, lower, status, msg, n_iter, monitor.history, best[2])


def mixing(problem: Problem, settings: Settings) -> MethodOutput:
    """Coordinate ascent on explicit entries (numba sweeps; colour classes as BLAS blocks)."""
    return run_lowrank(problem, settings, MixingAscent)


def lowrank(problem: Problem, settings: Settings) -> MethodOutput:
    """Matrix-free L-BFGS block ascent."""
    return run_lowrank(problem, settings, LBFGSAscent)
