"""The dual-subgradient method of the ICLR 2018 paper (the baseline).

Minimises U(c) = Σ_{i∈E} (c_i + t) + Σ_{i∉E} max(c_i + t, 0), t = λ_max(M − diag c), by Adam steps along the
subgradient ∂U/∂c_j = 1[j ∈ A] − |A| u_j² (A = E ∪ {i ∉ E : c_i + t > 0}, u the unit top eigenvector from the
warm-started eigen oracle). A primal point for the lower bound comes from the top Ritz vectors, rows scaled
into the feasible set.
"""

from __future__ import annotations

import numpy as np

from ._method import MethodOutput, Problem, estimate_upper, top_eigenvector
from ._monitor import Monitor, Settings


def _primal_from_vector(problem: Problem, u: np.ndarray) -> tuple[np.ndarray, float]:
    """A feasible rank-one point from u: v = u / max|u| (rows in E set to ±1)."""
    v = u / max(float(np.max(np.abs(u))), 1e-300)
    v = np.where(problem.mask, np.where(v >= 0, 1.0, -1.0), v)
    V = v[:, None]
    return V, float(np.sum(problem.op.matmat(V) * V))


def dual_subgradient(problem: Problem, settings: Settings) -> MethodOutput:
    opts = settings.options
    n, mask = problem.n, problem.mask
    monitor = Monitor(problem, settings, default_max_iter=2000)
    c = np.zeros(n)
    t, U = top_eigenvector(problem, settings, c, None)
    u = U[:, 0]
    # a scale for the step: the spread of the initial bound over n coordinates
    scale = max(abs(t), 1e-12)
    lr = float(opts.get("lr", 0.05 * scale))
    b1, b2, eps = 0.9, 0.999, 1e-12
    m = np.zeros(n)
    s = np.zeros(n)
    best = (np.inf, c.copy(), U)
    best_lower, best_V = -np.inf, None
    check_every = int(opts.get("check_every", 10))
    n_iter = 0
    while True:
        n_iter += 1
        y = c + t
        active = mask | (y > 0)
        grad = active.astype(float) - active.sum() * u * u
        m = b1 * m + (1 - b1) * grad
        s = b2 * s + (1 - b2) * grad * grad
        mh = m / (1 - b1**n_iter)
        sh = s / (1 - b2**n_iter)
        c = c - lr * mh / (np.sqrt(sh) + eps)
        t, U = top_eigenvector(problem, settings, c, U, tol=1e-8)
        u = U[:, 0]
        upper_est = estimate_upper(problem, c, t)
        if upper_est < best[0]:
            best = (upper_est, c.copy(), U)
        if n_iter % check_every == 0 or n_iter == 1:
            V, lower = _primal_from_vector(problem, best[2][:, 0])
            if lower > best_lower:
                best_lower, best_V = lower, V
            status, msg = monitor.check(n_iter, best_lower, best[0])
            if status is not None:
                break
    return MethodOutput(best[1], best_V, best_lower, status, msg, n_iter, monitor.history, best[2])
