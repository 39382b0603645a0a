"""The interior-point start of :func:`sdpsolve.solve_lagrangian` (problems that offer ``row_factors``).

Oracles: CVXPY/Clarabel (``tests.oracles.lagrangian_optimum``, accurate to ~1e-8) on random problems whose rows
are sym(a_k b_kᵀ), and the augmented-Lagrangian path of the same solver (``ipm_max_n=0``). Soundness: the
certified bound is ≥ the optimum whatever the interior-point method returns — also when ``row_factors`` lies
(it only steers the multipliers; the bound is certified from them).
"""

from __future__ import annotations

import numpy as np
import pytest

from sdpsolve import DenseLagrangianProblem, Status, solve_lagrangian
from sdpsolve._lagrangian_ipm import lagrangian_ipm
from tests.oracles import lagrangian_optimum


@pytest.fixture(autouse=True, scope="module")
def _one_blas_thread():
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1, user_api="blas"):
        yield


class FactoredProblem(DenseLagrangianProblem):
    """Rows g_k(P) = a_kᵀ P b_k + β_k (A_k = sym(a_k b_kᵀ)), offered in factored form too."""

    def __init__(self, M0, Fa, Fb, beta, *, equality, equal, c0=0.0, factors=None):
        A = np.einsum("ik,jk->kij", Fa, Fb)
        super().__init__(M0, A, beta, equality=equality, equal=equal, c0=c0)
        self._factors = (Fa, Fb, np.asarray(beta, dtype=np.float64)) if factors is None else factors

    def row_factors(self):
        return self._factors


def factored_data(seed: int, n: int, m: int, n_eq: int, equal=(0,)):
    """A feasible problem with a strictly feasible point P0 (rows with slack, equalities through P0)."""
    rng = np.random.default_rng(seed)
    B = rng.standard_normal((n, n))
    M0 = 0.5 * (B + B.T)
    Fa, Fb = rng.standard_normal((n, m)), rng.standard_normal((n, m))
    V0 = rng.standard_normal((n, n))
    V0 /= np.linalg.norm(V0, axis=1, keepdims=True)
    V0 *= rng.uniform(0.5, 0.95, (n, 1))
    V0[list(equal)] /= np.linalg.norm(V0[list(equal)], axis=1, keepdims=True)
    P0 = V0 @ V0.T
    equality = np.zeros(m, dtype=bool)
    equality[m - n_eq :] = True
    Fa[:, 0], Fb[:, 0] = -M0[:, 0], np.eye(n)[0]  # a row that bounds the objective's first column
    slack = np.where(equality, 0.0, rng.uniform(0.05, 1.0, m))
    beta = slack - np.einsum("ik,ij,jk->k", Fa, P0, Fb)
    return M0, Fa, Fb, beta, equality, list(equal), float(rng.standard_normal())


def oracle(M0, Fa, Fb, beta, equality, equal, c0) -> float:
    A = 0.5 * (np.einsum("ik,jk->kij", Fa, Fb) + np.einsum("ik,jk->kji", Fa, Fb))
    return lagrangian_optimum(M0, A, beta, equality=equality, equal=equal, c0=c0)


@pytest.mark.parametrize(("seed", "n", "m", "n_eq"), [(0, 6, 4, 0), (1, 10, 8, 2), (2, 14, 12, 3), (3, 20, 6, 1)])
def test_ipm_reaches_the_cvxpy_optimum(seed, n, m, n_eq):
    M0, Fa, Fb, beta, equality, equal, c0 = factored_data(seed, n, m, n_eq)
    opt = oracle(M0, Fa, Fb, beta, equality, equal, c0)
    mask = np.isin(np.arange(n), equal)
    res = lagrangian_ipm(M0, c0, Fa, Fb, beta, equality, mask, tol=1e-9)
    assert res.converged, res.message
    assert abs(res.primal - opt) <= 1e-6 * max(1.0, abs(opt))
    assert abs(res.dual - opt) <= 1e-6 * max(1.0, abs(opt))
    assert np.all(res.theta[~equality] >= -1e-8)  # dual feasible up to the tolerance (the caller projects)
    assert np.all(np.linalg.eigvalsh(res.X) > 0)


@pytest.mark.parametrize(("seed", "n", "m", "n_eq"), [(4, 8, 6, 1), (5, 16, 10, 2)])
def test_solve_lagrangian_interior_point_start_is_sound_tight_and_consistent(seed, n, m, n_eq):
    """The interior-point start converges at once (no augmented-Lagrangian round) with a rigorous bound within
    1e-4 of the optimum; its factor's rows lie in the unit ball and its lower value is the factor's. The
    augmented Lagrangian alone (``ipm_max_n=0``) reaches the same optimum."""
    M0, Fa, Fb, beta, equality, equal, c0 = factored_data(seed, n, m, n_eq)
    opt = oracle(M0, Fa, Fb, beta, equality, equal, c0)
    prob = FactoredProblem(M0, Fa, Fb, beta, equality=equality, equal=equal, c0=c0)
    res = solve_lagrangian(prob, rtol=1e-4, rng=0)
    assert res.status is Status.CONVERGED and res.n_iter == 0 and "interior-point" in res.message
    assert res.phases["ipm"] > 0 and res.phases["inner"] == 0
    assert res.bound_kind == "rigorous"
    assert opt - 1e-7 * max(1.0, abs(opt)) <= res.upper <= opt + 1e-4 * max(1.0, abs(opt))
    V = res.factor
    assert np.all(np.linalg.norm(V, axis=1) <= 1 + 1e-12)
    assert np.allclose(np.linalg.norm(V[equal], axis=1), 1.0, atol=1e-12)
    assert res.lower == pytest.approx(prob.objective_value(V), rel=1e-12, abs=1e-12)
    al = solve_lagrangian(prob, rtol=1e-4, rng=0, options={"ipm_max_n": 0})
    assert al.phases["ipm"] == 0 and al.n_iter >= 1
    assert al.upper >= opt - 1e-7 * max(1.0, abs(opt))


def test_wrong_row_factors_only_cost_time_never_soundness():
    """``row_factors`` describing other rows: the interior-point multipliers are wrong for this problem, the
    certified bound is still ≥ the optimum and the augmented Lagrangian takes over to reach the tolerance."""
    M0, Fa, Fb, beta, equality, equal, c0 = factored_data(6, 10, 6, 1)
    opt = oracle(M0, Fa, Fb, beta, equality, equal, c0)
    rng = np.random.default_rng(0)
    lies = (rng.standard_normal(Fa.shape), rng.standard_normal(Fb.shape), rng.standard_normal(beta.shape))
    prob = FactoredProblem(M0, Fa, Fb, beta, equality=equality, equal=equal, c0=c0, factors=lies)
    res = solve_lagrangian(prob, rtol=1e-4, rng=0)
    assert res.phases["ipm"] > 0
    assert res.upper >= opt - 1e-7 * max(1.0, abs(opt))
    if res.status is Status.CONVERGED:
        assert res.upper <= opt + 1e-3 * max(1.0, abs(opt))


def test_early_decisions_from_the_interior_point_start():
    M0, Fa, Fb, beta, equality, equal, c0 = factored_data(7, 10, 6, 1)
    opt = oracle(M0, Fa, Fb, beta, equality, equal, c0)
    prob = FactoredProblem(M0, Fa, Fb, beta, equality=equality, equal=equal, c0=c0)
    below = solve_lagrangian(prob, stop_below=opt + 0.5, rng=0)
    assert below.decision == "below" and below.upper < opt + 0.5 and below.n_iter == 0
    above = solve_lagrangian(prob, stop_above=opt - 0.5, rng=0)
    assert above.decision == "above" and above.lower > opt - 0.5 and above.upper >= opt - 1e-7


def test_bad_row_factors_are_refused():
    M0, Fa, Fb, beta, equality, equal, c0 = factored_data(8, 6, 4, 0)
    bad = FactoredProblem(M0, Fa, Fb, beta, equality=equality, equal=equal, c0=c0, factors=(Fa[:, :2], Fb, beta))
    with pytest.raises(ValueError, match="row_factors"):
        solve_lagrangian(bad, rng=0)
    bad = FactoredProblem(M0, Fa, Fb, beta, equality=equality, equal=equal, c0=c0, factors=(Fa, Fb))
    with pytest.raises(ValueError, match="row_factors"):
        solve_lagrangian(bad, rng=0)


def test_interior_point_start_respects_the_time_limit():
    """A time limit shorter than the interior-point method: it stops, and the bound reported is certified."""
    M0, Fa, Fb, beta, equality, equal, c0 = factored_data(9, 12, 8, 1)
    opt = oracle(M0, Fa, Fb, beta, equality, equal, c0)
    mask = np.isin(np.arange(12), equal)
    res = lagrangian_ipm(M0, c0, Fa, Fb, beta, equality, mask, tol=1e-9, time_limit=0.0)
    assert not res.converged and "time limit" in res.message
    prob = FactoredProblem(M0, Fa, Fb, beta, equality=equality, equal=equal, c0=c0)
    with pytest.warns(UserWarning):
        out = solve_lagrangian(prob, rtol=1e-12, time_limit=1e-3, rng=0)
    assert out.upper >= opt - 1e-7 * max(1.0, abs(opt)) and out.bound_kind == "rigorous"


def arrow_matrix(rng, k: int, h: int, shift: float) -> np.ndarray:
    """A symmetric matrix whose first k coordinates form a diagonal block (the pattern of a network's dual
    matrix: input pixels coupled only to the hidden units and the constant)."""
    n = k + h
    A = np.zeros((n, n))
    A[np.arange(k), np.arange(k)] = rng.uniform(0.5, 2.0, k)
    A[:k, k:] = rng.standard_normal((k, h))
    A[k:, :k] = A[:k, k:].T
    B = rng.standard_normal((h, h))
    A[k:, k:] = 0.5 * (B + B.T)
    lam = np.linalg.eigvalsh(A)[0]
    A[np.arange(n), np.arange(n)] += shift - lam  # λ_min = shift
    return A


def test_arrow_factor_against_dense_linear_algebra():
    """Z⁻¹, A Z⁻¹, the factor L (Z = LLᵀ) and its triangular solves, and the arrow product X W, against numpy."""
    from sdpsolve._lagrangian_ipm import _arrow_left, _ArrowFactor

    rng = np.random.default_rng(0)
    k, h = 30, 8
    Z = arrow_matrix(rng, k, h, 0.3)
    F = _ArrowFactor(Z, k)
    assert np.allclose(F.inverse(), np.linalg.inv(Z), atol=1e-10)
    A = rng.standard_normal((5, k + h))
    assert np.allclose(F.right(A), A @ np.linalg.inv(Z), atol=1e-10)
    L = F.lower()
    assert np.allclose(L @ L.T, Z, atol=1e-12) and np.allclose(L, np.tril(L))
    v = rng.standard_normal(k + h)
    assert np.allclose(F.solve_lower(v), np.linalg.solve(L, v), atol=1e-10)
    assert np.allclose(F.solve_upper(v), np.linalg.solve(L.T, v), atol=1e-10)
    X = rng.standard_normal((k + h, k + h))
    W = arrow_matrix(rng, k, h, 0.0)
    assert np.allclose(_arrow_left(X, W, k), X @ W, atol=1e-12)
    # not positive definite: refused, as a dense Cholesky factorisation refuses it
    with pytest.raises(np.linalg.LinAlgError):
        _ArrowFactor(arrow_matrix(rng, k, h, -0.1), k)
    bad = Z.copy()
    bad[0, 0] = -1.0
    with pytest.raises(np.linalg.LinAlgError):
        _ArrowFactor(bad, k)


def test_arrow_step_to_the_boundary_above_the_exact_size():
    """Above EXACT_STEP_MAX_N the step to the boundary of Z + αD ⪰ 0 is a Lanczos estimate through the arrow
    factor's solves: it matches the exact generalised eigenvalue, and the checked step keeps Z + αD factorable."""
    import scipy.linalg as sla

    from sdpsolve._lagrangian_ipm import EXACT_STEP_MAX_N, STEP_FRACTION, _ArrowFactor, _checked_step, _max_step

    rng = np.random.default_rng(1)
    k, h = EXACT_STEP_MAX_N, 20
    Z = arrow_matrix(rng, k, h, 0.5)
    D = arrow_matrix(rng, k, h, -2.0)
    exact = -1.0 / float(sla.eigh(D, Z, eigvals_only=True)[0])
    F = _ArrowFactor(Z, k)
    assert _max_step(F, D) == pytest.approx(exact, rel=1e-3)
    alpha = _checked_step(Z, F, D, 1.0)
    assert 0 < alpha <= min(1.0, STEP_FRACTION * exact * (1 + 1e-3))
    assert np.linalg.eigvalsh(Z + alpha * D)[0] > 0


def arrow_data(seed: int, k: int, h: int, m: int, n_eq: int):
    """``factored_data`` with a network's pattern: the first k coordinates are touched by no row's a_k and M0
    couples them to nothing but the others; the rows' b_k are dense."""
    M0, Fa, Fb, beta, equality, equal, c0 = factored_data(seed, k + h, m, n_eq, equal=(k,))
    M0[:k, :k] = np.diag(np.diag(M0)[:k])
    rng = np.random.default_rng(seed + 100)
    n = k + h
    Fa = np.zeros((n, m))
    Fa[k:] = rng.standard_normal((h, m))
    Fa[:, 0], Fb[:, 0] = 0.0, 0.0
    Fa[k, 0], Fb[k + 1, 0] = 1.0, -1.0  # −P_{k,k+1} ≥ −β: keeps the problem bounded
    V0 = rng.standard_normal((n, n))
    V0 /= np.linalg.norm(V0, axis=1, keepdims=True)
    V0 *= rng.uniform(0.5, 0.95, (n, 1))
    V0[k] /= np.linalg.norm(V0[k])
    P0 = V0 @ V0.T
    slack = np.where(equality, 0.0, rng.uniform(0.05, 1.0, m))
    beta = slack - np.einsum("ik,ij,jk->k", Fa, P0, Fb)
    # the block's coordinates scattered among the others
    p = rng.permutation(n)
    block = np.sort(np.argsort(p)[:k])
    M0, Fa, Fb = M0[np.ix_(p, p)], Fa[p], Fb[p]
    return M0, Fa, Fb, beta, equality, [int(np.argsort(p)[k])], c0, block


@pytest.mark.parametrize(("seed", "k", "h", "m", "n_eq"), [(10, 12, 6, 8, 2), (11, 20, 5, 10, 3)])
def test_structured_dual_matrix_gives_the_dense_methods_iterates(seed, k, h, m, n_eq):
    """With the diagonal block ordered first and Z⁻¹ from its Schur complement, the method takes the dense
    method's steps (same iterations, same X and θ up to rounding) and reaches the CVXPY optimum."""
    from sdpsolve._lagrangian_ipm import _diagonal_block

    M0, Fa, Fb, beta, equality, equal, c0, block = arrow_data(seed, k, h, m, n_eq)
    assert np.array_equal(_diagonal_block(M0, Fa), block) and not np.array_equal(block, np.arange(k))
    opt = oracle(M0, Fa, Fb, beta, equality, equal, c0)
    mask = np.isin(np.arange(k + h), equal)
    res = lagrangian_ipm(M0, c0, Fa, Fb, beta, equality, mask, tol=1e-9)
    ref = lagrangian_ipm(M0, c0, Fa, Fb, beta, equality, mask, tol=1e-9, structure=False)
    assert res.converged and ref.converged, (res.message, ref.message)
    assert res.iterations == ref.iterations
    assert np.allclose(res.X, ref.X, atol=1e-7) and np.allclose(res.theta, ref.theta, atol=1e-6)
    assert abs(res.primal - opt) <= 1e-6 * max(1.0, abs(opt))
    assert abs(res.dual - opt) <= 1e-6 * max(1.0, abs(opt))


def test_watch_stops_the_method_at_the_iterate_it_accepts():
    M0, Fa, Fb, beta, equality, equal, c0 = factored_data(12, 12, 8, 2)
    mask = np.isin(np.arange(12), equal)
    full = lagrangian_ipm(M0, c0, Fa, Fb, beta, equality, mask, tol=1e-9)
    seen = []

    def watch(theta, c, primal, dual, pinf, dinf):
        seen.append((theta, c, dual))
        return dinf < 1e-3

    res = lagrangian_ipm(M0, c0, Fa, Fb, beta, equality, mask, tol=1e-9, watch=watch)
    assert "stopped by the caller" in res.message and not res.converged
    assert res.iterations == len(seen) < full.iterations
    assert np.array_equal(res.theta, seen[-1][0]) and res.dual == seen[-1][2]
    # c = −y on the diagonal constraints: Σ c + θᵀβ + c0 is the iterate's dual value
    theta, c, dual = seen[-1]
    assert float(np.sum(c) + theta @ beta + c0) == pytest.approx(dual, rel=1e-12, abs=1e-12)


def test_decision_mid_way_through_the_interior_point_method():
    """Deciding "below" with a threshold the optimum clears: the iterates' multipliers are certified as the
    method goes, and it stops before convergence with a rigorous bound between the optimum and the threshold."""
    M0, Fa, Fb, beta, equality, equal, c0 = factored_data(13, 14, 10, 2)
    opt = oracle(M0, Fa, Fb, beta, equality, equal, c0)
    prob = FactoredProblem(M0, Fa, Fb, beta, equality=equality, equal=equal, c0=c0)
    res = solve_lagrangian(prob, stop_below=opt + 0.05, rng=0)
    assert res.decision == "below" and res.bound_kind == "rigorous" and res.n_iter == 0
    assert opt - 1e-7 * max(1.0, abs(opt)) <= res.upper < opt + 0.05
    assert "stopped by the caller" in res.history[0]["ipm"]
    assert res.phases["certify"] > 0 and res.phases["ipm"] > 0
    assert sum(res.phases.values()) <= res.time * (1 + 1e-9) + 1e-9
