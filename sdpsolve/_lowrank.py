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

from ._kernels import (
    greedy_colouring_dense,
    mixing_block_finish,
    mixing_sweep_csr,
    mixing_sweep_dense,
    project_rows,
    update_rows_from,
)
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
    return int(min(n, max(2, min(math.ceil(math.sqrt(2 * n)) + 1, 16))))


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


class MixingAscent(_Ascent):
    """Mixing sweeps on explicit entries.

    The rows are split by a greedy colouring of the sparsity graph of M: rows of one colour do not interact,
    so a large colour class is updated at once from one BLAS product M[C, :] @ V (the same result as visiting
    its rows one by one). Small classes and matrices without such structure use the numba row sweep.
    """

    min_block = 32
    #: rows per BLAS product in the sweep over a dense matrix without colour structure
    row_block = 64

    def __init__(self, problem, settings):
        super().__init__(problem, settings)
        op = problem.op
        n = problem.n
        self.eq = np.ascontiguousarray(problem.mask)
        self.order = np.arange(n, dtype=np.int64)
        self._count, self._prev, self._beta, self._last = 0, None, 2.0, None
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
            colours = greedy_colouring_dense(A)
            classes = [np.flatnonzero(colours == k) for k in range(int(colours.max()) + 1)]
            big = [c for c in classes if c.size >= self.min_block]
            covered = sum(c.size for c in big)
            if covered >= 0.9 * n:
                small = np.sort(np.concatenate([c for c in classes if c.size < self.min_block] or [np.empty(0, int)]))
                # keep only the columns a class touches outside itself (a class has no entries among its own
                # rows except the diagonal, which the row update takes from ``diag``): for a bipartite
                # certificate matrix each block is one off-diagonal block, half of the matrix
                self.blocks = []
                for cls in big:
                    rows = A[cls, :]
                    own = np.zeros(n, dtype=bool)
                    own[cls] = True
                    cols = np.flatnonzero(np.any(rows != 0, axis=0) & ~own)
                    self.blocks.append((cls, cols, np.ascontiguousarray(rows[:, cols])))
                self.rest = small.astype(np.int64)

    def sweep_flops(self, r: int) -> float:
        """Floating-point operations of one sweep at rank r (also of one product M·X with r columns)."""
        if self.blocks is not None:
            work = sum(rows.size * cols.size for rows, cols, _ in self.blocks) + self.rest.size * self.problem.n
        elif hasattr(self, "A"):
            work = self.problem.n**2
        else:
            work = self.csr[1].size
        return 2.0 * r * float(work)

    def product(self, X: np.ndarray) -> np.ndarray:
        """M @ X from the colour blocks (only the nonzero off-diagonal blocks are read); counted in the operator."""
        op = self.problem.op
        if self.blocks is None:
            return op.matmat(X)
        Y = self.diag[:, None] * X
        for rows, cols, Arows in self.blocks:
            Y[rows] += Arows @ X[cols]
        if self.rest.size:
            Y[self.rest] = self.A[self.rest] @ X
        op.n_matvec += X.shape[1]
        return Y

    def run(self, V, k):
        """k sweeps; every ``extrapolation``-th one is applied to an extrapolated point (:meth:`_extrapolate`)."""
        every = int(self.settings.options.get("extrapolation", 10)) if self.settings is not None else 0
        for _ in range(k):
            self._count += 1
            if every and self._count % every == 0:
                V = self._extrapolate(V)
            else:
                self._sweep(V)
        return V

    def _extrapolate(self, V):
        """One sweep at W = proj(V + β (V − V_prev)), V_prev the point of the previous extrapolation.

        Kept only if the objective after the sweep exceeds the objective at V (a safeguard: the iteration stays
        monotone); β grows by 1.5 after a success (up to 10) and halves after a failure (down to 0.5). Costs
        up to two products besides the sweep (none for two colour classes); the mixing iteration's slow
        linear tail typically needs about half as many sweeps.
        """
        prev = self._prev
        if prev is None or prev.shape != V.shape:
            self._sweep(V)
            self._prev = V.copy()
            return V
        f_old = self._value(V, self._last)
        W = V + self._beta * (V - prev)
        project_rows(W, self.eq)
        if self._value(W, self._sweep(W)) > f_old:
            self._beta = min(1.5 * self._beta, 10.0)
            V = W
        else:
            self._beta = max(0.5 * self._beta, 0.5)
            self._last = f_old
        self._prev = V.copy()
        return V

    def _value(self, V, known):
        """tr(Vᵀ M V): ``known`` when the sweep that produced V could give it, else one product."""
        return known if known is not None else float(np.einsum("ij,ij->", self.product(V), V))

    def _sweep(self, V):
        """One mixing sweep over all rows, in place. Returns tr(Vᵀ M V) when it comes for free, else None.

        (Two colour classes C1, C2 covering all rows: the products of the C2 update give
        tr(VᵀMV) = Σ_i M_ii ||v_i||² + 2 Σ_{i∈C2} <v_i, (M V)_i − M_ii v_i>.)
        """
        self._last = None
        if self.blocks is not None:
            for rows, cols, Arows in self.blocks:
                G = Arows @ V[cols]
                update_rows_from(V, rows, G, self.diag, self.eq)
            if self.rest.size:
                mixing_sweep_dense(self.A, V, self.eq, self.rest)
            elif len(self.blocks) == 2:
                diag_part = np.einsum("ij,ij,i->", V, V, self.diag)
                self._last = float(diag_part + 2.0 * np.einsum("ij,ij->", V[rows], G))
        elif hasattr(self, "A"):
            # rows in blocks: one BLAS product per block, the in-block dependencies in numba
            A, b = self.A, self.row_block
            for s0 in range(0, A.shape[0], b):
                mixing_block_finish(A, V, self.eq, s0, A[s0 : s0 + b] @ V)
        else:
            mixing_sweep_csr(*self.csr, V, self.eq, self.order)
        # a sweep reads every entry once: count it as V.shape[1] products (the work of M @ V)
        self.problem.op.n_matvec += V.shape[1]
        return self._last


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
    eq_rows = np.flatnonzero(mask)

    def fun(W):
        norms = np.maximum(np.sqrt(np.einsum("ij,ij->i", W, W)), 1e-300)[:, None]
        U = W / norms
        f, gV = value_grad(U[:, :r])
        gfull = np.zeros_like(W)
        gfull[:, :r] = -gV
        gW = (gfull - U * np.einsum("ij,ij->i", gfull, U)[:, None]) / norms
        gW[eq_rows, r] = 0.0
        return -f, gW

    # flat views: the dot products of the two-loop recursion are BLAS calls without temporaries
    f, g = fun(W)
    S, Y, RHO = [], [], []
    for _ in range(iters):
        gf = g.ravel()
        q = gf.copy()
        alphas = []
        for s_, y_, rho in zip(reversed(S), reversed(Y), reversed(RHO)):
            a = rho * np.dot(s_, q)
            alphas.append(a)
            q -= a * y_
        gamma = np.dot(S[-1], Y[-1]) / np.dot(Y[-1], Y[-1]) if S else 1.0 / max(np.linalg.norm(gf), 1e-300)
        d = gamma * q
        for s_, y_, rho, a in zip(S, Y, RHO, reversed(alphas)):
            d += (a - rho * np.dot(y_, d)) * s_
        d = -d
        slope = float(np.dot(gf, d))
        if slope >= 0:  # not a descent direction: reset the memory
            S, Y, RHO = [], [], []
            d = -gf / max(np.linalg.norm(gf), 1e-300)
            slope = float(np.dot(gf, d))
        if slope == 0.0:
            break
        D = d.reshape(W.shape)
        step = 1.0
        for _ls in range(30):
            Wn = W + step * D
            fn, gn = fun(Wn)
            if fn <= f + 1e-4 * step * slope:
                break
            step *= 0.5
        else:
            break
        s_, y_ = (Wn - W).ravel(), (gn - g).ravel()
        sy = float(np.dot(s_, y_))
        # a pair with sᵀy ≈ 0 would make 1/sᵀy overflow (and the next direction NaN): skip it
        if sy > 1e-12 * float(np.dot(s_, s_)) and math.isfinite(1.0 / sy):  # the first test implies sy > 0
            S.append(s_)
            Y.append(y_)
            RHO.append(1.0 / sy)
            if len(S) > memory:
                S.pop(0)
                Y.pop(0)
                RHO.pop(0)
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
    product = getattr(ascent, "product", problem.op.matmat)
    monitor = Monitor(problem, settings, default_max_iter=100000)
    if settings.warm_start is not None:
        V = np.ascontiguousarray(settings.warm_start.copy())
    else:
        V = initial_factor(problem, r, settings.rng)
    project_rows(V, mask)
    inner = int(opts.get("sweeps_per_check", 10 if isinstance(ascent, MixingAscent) else 25))
    u = None
    best = None  # (U_est, c, u, accurate, t)
    n_iter = 0
    prev_lower = -np.inf
    stall = 0
    near_misses = refusals = 0  # certification attempts: proved but too loose / refused by the test
    proved = None
    history_gaps: list = []
    while True:
        k = inner if monitor.max_iter is None else max(1, min(inner, monitor.max_iter - n_iter))
        V = ascent.run(V, k)
        products_before = problem.op.n_matvec
        eig_info: dict = {}
        n_iter += k
        G = product(V)
        c, lower = dual_from_primal(problem.mask, G, V)
        goal = monitor.target(best[0] if best else abs(lower) + 1.0)
        tight = 0.05 * goal / n

        def value_tol(theta, c=c, lower=lower, tight=tight, goal=goal):
            # λ_max to 10% of the (estimated) gap: enough to decide "not converged" and to schedule the next
            # check; the accuracy needed for convergence only once the gap is within the target
            gap = estimate_upper(problem, c, theta) - lower
            return tight if gap <= goal else max(tight, 0.1 * gap / n)

        t, u = top_eigenvector(problem, settings, c, u, value_tol=value_tol, factor=V, matmat=product,
                               quick=settings.certify is not None, info=eig_info)
        upper_est = estimate_upper(problem, c, t)
        accurate = value_tol(t) <= tight
        certificate = None
        goal = monitor.target(upper_est)
        if settings.certify is not None and upper_est - lower <= 0.8 * goal:
            # the estimate says "converged": prove it by one test just above the Ritz value, spending a quarter
            # of what is left of the tolerance (a checked Ritz value is far closer than that to λ_max; a refusal
            # is handled below)
            test = settings.certify(c, t, 0.25 * (0.9 * goal - (upper_est - lower)) / n, v0=u)
            if test.first:
                certificate = test.bound
                near_misses += certificate.value - lower > goal
            else:
                refusals += 1
                # λ_max is above the tested value: the Ritz value was far too low (an isolated top eigenvalue
                # that plain Lanczos cannot separate). Shift-and-invert vectors give λ_max and its eigenvector.
                t = test.tested
                if test.vectors is not None:
                    X, _ = np.linalg.qr(test.vectors)
                    BX = product(X) - c[:, None] * X
                    w, S = np.linalg.eigh(0.5 * (X.T @ BX + BX.T @ X))
                    order = np.argsort(w)[::-1]
                    t, u = max(t, float(w[order[0]])), X @ S[:, order]
                upper_est = estimate_upper(problem, c, t)
                if test.bound is not None and test.bound.value - lower <= goal:
                    certificate = test.bound
        # a check at reduced accuracy never replaces one at full accuracy (its Ritz value may be further below λ_max)
        if best is None or (accurate, -upper_est) > (best[3], -best[0]):
            best = (upper_est, c, u, accurate, t)
        status, msg = monitor.check(n_iter, lower, best[0],
                                    certified=None if certificate is None else certificate.value)
        if status is None and (near_misses >= 3 or refusals >= 8):
            # the estimate keeps saying "converged" and the rigorous test keeps failing: the tolerance is below
            # what the test can resolve (Rump's shift, or the materialisation error, is larger than the slack)
            status, msg = Status.STALLED, (
                f"the rigorous test did not confirm an estimated gap within the tolerance in "
                f"{near_misses + refusals} tries (estimated gap {(upper_est - lower) / max(1.0, abs(upper_est)):.2e})"
            )
        if status is not None:
            if status is Status.CONVERGED and certificate is not None:
                best = (upper_est, c, u, accurate, t)
                proved = certificate
            break
        improvement = lower - prev_lower
        prev_lower = lower
        gap_est = best[0] - lower
        history_gaps.append((n_iter, max(gap_est, 1e-300)))
        # slow progress compared with the remaining gap while λ_max > 0: the rank is too small (or a saddle).
        # Near an optimum the primal gains little per check while the gap (mostly on the dual side) still
        # shrinks fast: a gap that at least halved since the last check is progress, not a stall
        shrinking = len(history_gaps) >= 2 and gap_est <= 0.5 * history_gaps[-2][1]
        # a saddle of the rank-r problem: V nearly stationary (small RMS row residual of (M − diag c) V) while
        # λ_max stays large against it; near an optimum of sufficient rank both vanish together
        residual = float(np.linalg.norm(G - c[:, None] * V)) / math.sqrt(n)
        saddle = t > 20.0 * residual
        # (the progress test needs two checks at the current rank: an escape perturbs the primal value)
        stalled = len(history_gaps) >= 2 and improvement <= 0.02 * gap_est and not shrinking
        if (saddle or stalled) and t > 0 and V.shape[1] < max_rank:
            V = _escape(V, u[:, : min(2, max_rank - V.shape[1])], mask,
                        scale=float(settings.options.get("escape_scale", 0.3)))
            stall = 0
            # the rate observed at the old rank says nothing about the new one: schedule afresh
            history_gaps = []
            inner = max(5, inner // 3)
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
        # balance: a check may not cost much more than the sweeps between two checks (a large sparse matrix
        # has cheap sweeps and expensive checks). Counted in flops, not seconds, so that runs are reproducible
        sweep_flops = getattr(ascent, "sweep_flops", None)
        if sweep_flops is not None and "sweeps_per_check" not in opts:
            per_product = sweep_flops(1)
            check = (problem.op.n_matvec - products_before) * per_product + eig_info.get("flops", 0.0)
            inner = max(inner, int(0.5 * check / sweep_flops(V.shape[1])))
    # ``proved`` (a rigorous bound at best[1], within the tolerance) only when the run converged on it
    return MethodOutput(best[1], V, lower, status, msg, n_iter, monitor.history, best[2], certificate=proved,
                        ritz=best[4] if best[3] else None, product=product)


def mixing(problem: Problem, settings: Settings) -> MethodOutput:
    """Coordinate ascent on explicit entries (numba sweeps; colour classes as BLAS blocks)."""
    return run_lowrank(problem, settings, MixingAscent)


def lowrank(problem: Problem, settings: Settings) -> MethodOutput:
    """Matrix-free L-BFGS block ascent."""
    return run_lowrank(problem, settings, LBFGSAscent)
