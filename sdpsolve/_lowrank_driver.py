"""The driver both low-rank (Burer–Monteiro) methods share (SPEC §1.4).

P = V Vᵀ with V ∈ R^{n×r}; rows in E on the unit sphere, the others in the unit ball. A method supplies an
:class:`Ascent` (``sdpsolve._mixing.MixingAscent``: coordinate sweeps on explicit entries;
``sdpsolve._lowrank.LBFGSAscent``: matrix-free L-BFGS steps); :func:`run_lowrank` alternates ascent sweeps with
dual checks: c_i = <(MV)_i, v_i> (clipped at 0 outside E) and t ≈ λ_max(M − diag c) measure the gap (a rigorous
test confirms it when the settings carry a certifier); when the primal stalls with t > 0 the rank is increased
along the top eigenvector (saddle escape).
"""

from __future__ import annotations

import math

import numpy as np

from ._kernels import project_rows
from ._method import MethodOutput, Problem, dual_from_primal, estimate_upper, top_eigenvector
from ._monitor import Monitor, Settings
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


#: V (n × r) "uses all its columns" when its smallest singular value is at least this fraction of its largest
FULL_RANK = 0.1


def rank_is_full(V: np.ndarray, threshold: float = FULL_RANK) -> bool:
    """Whether σ_min(V) ≥ threshold · σ_max(V) (from the r × r Gram matrix: O(n r²))."""
    w = np.linalg.eigvalsh(V.T @ V)
    return bool(w[0] >= threshold * threshold * w[-1] > 0)


def _ascent_directions(u: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """k directions for new columns: the top eigenvectors ``u`` of M − diag c first, random ones after them."""
    u = u.reshape(u.shape[0], -1)[:, :k]
    if u.shape[1] < k:
        u = np.hstack([u, rng.standard_normal((u.shape[0], k - u.shape[1])) / math.sqrt(u.shape[0])])
    return u


class Ascent:
    """Inner ascent steps for one method; ``run(V, k)`` returns the new V after k sweeps/steps.

    ``default_sweeps_per_check``: sweeps/steps between the first two dual checks (``options["sweeps_per_check"]``
    overrides it). A subclass may define ``product(X)`` (a cheaper M·X, counted in the operator) and
    ``sweep_flops(r)`` (the work of one sweep at rank r, which balances checks against sweeps).
    """

    default_sweeps_per_check = 25

    def __init__(self, problem: Problem, settings: Settings):
        self.problem = problem
        self.settings = settings


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


def run_lowrank(problem: Problem, settings: Settings, ascent_cls: type[Ascent]) -> MethodOutput:
    """The driver shared by the low-rank methods: ascent sweeps, dual checks, saddle escape, certification."""
    opts = settings.options
    n, mask = problem.n, problem.mask
    r = int(opts.get("rank", default_rank(n)))
    max_rank = int(opts.get("max_rank", min(n, max(r, math.ceil(math.sqrt(2 * n)) + 1))))
    # the rank is raised while V uses all its columns (an explicit "rank" option fixes the start, not the rule)
    full_rank = float(opts.get("full_rank", FULL_RANK))
    if not 0.0 <= full_rank < 1.0:
        raise ValueError(f"options['full_rank'] must be in [0, 1), got {opts.get('full_rank')!r}.")
    ascent = ascent_cls(problem, settings)
    product = getattr(ascent, "product", problem.op.matmat)
    monitor = Monitor(problem, settings, default_max_iter=100000)
    if settings.warm_start is not None:
        V = np.ascontiguousarray(settings.warm_start.copy())
    else:
        V = initial_factor(problem, r, settings.rng)
    project_rows(V, mask)
    inner = int(opts.get("sweeps_per_check", ascent.default_sweeps_per_check))
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
                f"{near_misses + refusals} tries (estimated gap {monitor.relative_gap(lower, upper_est):.2e})"
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
        grow = 0
        if t > 0 and V.shape[1] < max_rank and (saddle or stalled):
            grow = min(2, max_rank - V.shape[1])
        elif t > 0 and V.shape[1] < max_rank and rank_is_full(V, full_rank):
            # every column is in use: the rank constraint binds, and coordinate ascent at this rank crawls along
            # it; half as many columns again (the optimum's rank shows as singular values of V near zero)
            grow = min(max(2, V.shape[1] // 2), max_rank - V.shape[1])
        if grow:
            V = _escape(V, _ascent_directions(u, grow, settings.rng), mask,
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
                    f"{monitor.relative_gap(lower, best[0]):.2e})"
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
