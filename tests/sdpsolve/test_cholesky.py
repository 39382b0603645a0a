"""The envelope (sparse) Rump test against the dense one and against exact eigenvalues.

Oracles: closed-form Laplacian spectra (cycles: λ = 2 − 2cos(2πk/n); p×q tori: sums of two cycle eigenvalues),
mpmath eigenvalues at 60 digits for small random matrices, numpy's eigvalsh with a margin far above its error,
and the dense test of :mod:`sdpsolve._bounds` (the reference path). Soundness: no t below the true λ_max is ever
proved; tightness: the envelope test proves t at least as close to λ_max as the dense one.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.sparse as sp

import sdpsolve
from sdpsolve._bounds import rigorous_lambda_max_upper
from sdpsolve._cholesky import (
    DenseRump,
    EnvelopeRump,
    SparseRump,
    elimination_plan,
    envelope,
    envelope_plan,
    materialise,
)
from sdpsolve._operator import as_operator


def cycle_laplacian(n: int) -> sp.csr_matrix:
    i = np.arange(n)
    A = sp.coo_matrix((np.ones(n), (i, (i + 1) % n)), shape=(n, n))
    A = (A + A.T).tocsr()
    return (sp.diags(np.asarray(A.sum(axis=1)).ravel()) - A).tocsr()


def torus_laplacian(p: int, q: int) -> sp.csr_matrix:
    return (sp.kron(cycle_laplacian(p), sp.identity(q)) + sp.kron(sp.identity(p), cycle_laplacian(q))).tocsr()


def cycle_lmax(n: int) -> float:
    return max(2.0 - 2.0 * math.cos(2.0 * math.pi * k / n) for k in range(n))


def random_sparse(n: int, density: float, rng) -> sp.csr_matrix:
    A = sp.random(n, n, density=density, random_state=rng, data_rvs=rng.standard_normal).tocsr()
    return ((A + A.T) * 0.5 + sp.diags(rng.standard_normal(n))).tocsr()


def mpmath_lmax(mpmath, B: np.ndarray, c: np.ndarray):
    """λ_max(B − diag c) to 60 digits (the oracle of the small-case tests)."""
    with mpmath.workdps(60):
        Bm = mpmath.matrix(np.asarray(B).tolist())
        for i in range(B.shape[0]):
            Bm[i, i] -= mpmath.mpf(float(c[i]))
        return max(mpmath.eigsy(Bm, eigvals_only=True))


def test_envelope_lengths():
    L = sp.csr_matrix(np.array([[0, 0, 0, 0], [1, 0, 0, 0], [0, 0, 0, 0], [2, 0, 3, 0.0]]))
    assert envelope(L).tolist() == [0, 1, 0, 3]


@pytest.mark.parametrize("n", [5, 8, 31, 200])
def test_cycle_closed_form(n):
    """Refuses every t below the exact λ_max of a cycle Laplacian; proves one a hair above it."""
    L = cycle_laplacian(n)
    lmax = cycle_lmax(n)
    rm = EnvelopeRump(L)
    c = np.zeros(n)
    for below in (1e-3, 1e-8, 1e-12):
        assert not rm.proves(c, lmax - below * lmax)[0], f"n={n}: proved λ_max < {lmax - below * lmax!r}"
    assert rm.proves(c, lmax + 1e-9)[0]
    t, _ = rigorous_lambda_max_upper(rm, c, lmax)
    assert lmax <= t <= lmax + 1e-10


@pytest.mark.parametrize(("p", "q"), [(4, 6), (9, 7), (30, 30)])
def test_torus_closed_form_and_tighter_than_dense(p, q):
    """p×q torus (the G-set's toroidal graphs): the exact λ_max is the sum of the two cycles' largest ones."""
    L = torus_laplacian(p, q)
    n = p * q
    lmax = cycle_lmax(p) + cycle_lmax(q)
    c = np.zeros(n)
    env = EnvelopeRump(L)
    assert env.bandwidth < n // 2 or n < 50
    assert not env.proves(c, lmax * (1 - 1e-12))[0]
    t_env, _ = rigorous_lambda_max_upper(env, c, lmax, max_bisections=0)
    t_dense, _ = rigorous_lambda_max_upper(L.toarray(), c, lmax, max_bisections=0)
    assert lmax <= t_env <= t_dense, (lmax, t_env, t_dense)
    # the shift scales with Σ (t_j + 3), not n²/2: for the 30×30 torus about 30× smaller
    assert env.shift_terms() < DenseRump(L.toarray()).shift_terms() / (4 if n > 100 else 1)


@pytest.mark.parametrize("seed", range(6))
def test_random_sparse_agrees_with_dense_and_mpmath(seed):
    """Random sparse symmetric matrices with a random diagonal shift c: both tests prove t ≥ λ_max (60-digit
    mpmath eigenvalues), refuse λ_max − margin, and the envelope's t is never looser than the dense one's."""
    mpmath = pytest.importorskip("mpmath")
    rng = np.random.default_rng(seed)
    n = 24
    B = random_sparse(n, 0.12, rng)
    c = rng.standard_normal(n)
    lmax = mpmath_lmax(mpmath, B.toarray(), c)
    est = float(lmax)
    env, dense = EnvelopeRump(B), DenseRump(B.toarray())
    for rm in (env, dense):
        assert not rm.proves(c, float(lmax) - 1e-9 * (1 + abs(est)))[0], f"seed {seed}: {rm.structure} unsound"
    t_env, _ = rigorous_lambda_max_upper(env, c, est)
    t_dense, _ = rigorous_lambda_max_upper(dense, c, est)
    assert mpmath.mpf(t_env) >= lmax and mpmath.mpf(t_dense) >= lmax
    assert t_env <= t_dense + 1e-15 * (1 + abs(est)), (t_env, t_dense)


def clustered_top(n: int, rng) -> sp.csr_matrix:
    """Tridiagonal with 40 eigenvalues within 1e-13 of the top (5.0) and tiny off-diagonal couplings."""
    d = np.concatenate([np.full(40, 5.0) + 1e-13 * rng.random(40), rng.uniform(-5, 4, n - 40)])
    off = sp.diags([1e-9 * rng.standard_normal(n - 1)], [1])
    return (sp.diags(d) + off + off.T).tocsr()


def test_adversarial_clustered_top_and_wide_norm_range():
    """A cluster of 40 eigenvalues within 1e-13 of the top, and rows scaled by 1e-6..1e6 (a norm range of 1e12):
    never a t below λ_max; the envelope never looser than the dense test."""
    rng = np.random.default_rng(3)
    n = 120
    B = clustered_top(n, rng)
    lmax = float(np.linalg.eigvalsh(B.toarray())[-1])
    t_env, _ = rigorous_lambda_max_upper(EnvelopeRump(B), np.zeros(n), lmax)
    t_dense, _ = rigorous_lambda_max_upper(B.toarray(), np.zeros(n), lmax)
    assert lmax <= t_env <= t_dense
    D = sp.diags(10.0 ** rng.uniform(-6, 6, n))
    S = (D @ random_sparse(n, 0.03, rng) @ D).tocsr()
    ev = np.linalg.eigvalsh(S.toarray())
    lmax, scale = float(ev[-1]), float(np.abs(ev).max())
    t_env, _ = rigorous_lambda_max_upper(EnvelopeRump(S), np.zeros(n), lmax)
    assert t_env >= lmax - 1e-12 * scale  # eigvalsh's own error is ~1e-15 · scale
    assert not EnvelopeRump(S).proves(np.zeros(n), lmax - 1e-6 * scale)[0]


def test_materialise_picks_the_smaller_factorisation():
    torus = as_operator(torus_laplacian(20, 20))
    rm = materialise(torus)
    assert rm.structure == "envelope" and rm.memory < 16 * 400 * 400
    rng = np.random.default_rng(0)
    dense_like = as_operator(random_sparse(60, 0.5, rng))  # a random graph fills in: dense is no larger
    assert materialise(dense_like).structure == "dense"
    assert materialise(torus, max_memory=1000.0) is None
    assert materialise(as_operator(np.eye(3))).structure == "dense"


def test_prove_lambda_max_on_a_sparse_matrix_uses_the_envelope():
    L = torus_laplacian(12, 10)
    proof = sdpsolve.prove_lambda_max(L, estimate=8.0)
    assert proof.factorisation == "envelope" and 8.0 <= proof.t <= 8.0 + 1e-9


def test_solve_maxcut_on_a_torus_is_rigorous_beyond_rigorous_max_n():
    """With rigorous_max_n far below n, a sparse M is still certified rigorously (in its envelope), with the same
    bound as the dense path; a dense M of that size falls back to a probabilistic bound."""
    rng = np.random.default_rng(5)
    p = q = 16
    i = np.arange(p * q).reshape(p, q)
    edges = np.concatenate([np.stack([i.ravel(), np.roll(i, 1, 0).ravel()], 1),
                            np.stack([i.ravel(), np.roll(i, 1, 1).ravel()], 1)])
    w = rng.choice([-1.0, 1.0], len(edges))
    A = sp.coo_matrix((w, (edges[:, 0], edges[:, 1])), shape=(p * q, p * q))
    A = (A + A.T).tocsr()
    M = ((sp.diags(np.asarray(A.sum(axis=1)).ravel()) - A) / 4.0).tocsr()
    res = sdpsolve.solve(M, equal="all", rng=0, options={"rigorous_max_n": 50})
    ref = sdpsolve.solve(M.toarray(), equal="all", rng=0)
    assert res.bound_kind == "rigorous" and ref.bound_kind == "rigorous"
    assert res.lower <= ref.upper and ref.lower <= res.upper
    assert abs(res.upper - ref.upper) <= 2e-4 * abs(ref.upper)
    with pytest.warns(UserWarning, match="probabilistic"):
        prob = sdpsolve.solve(M.toarray(), equal="all", rng=0, options={"rigorous_max_n": 50})
    assert prob.bound_kind == "probabilistic"


def star_laplacian(n: int) -> sp.csr_matrix:
    """K_{1,n−1}: eigenvalues 0, 1 (n − 2 times) and n."""
    hub = np.zeros(n - 1, dtype=np.int64)
    A = sp.coo_matrix((np.ones(n - 1), (hub, np.arange(1, n))), shape=(n, n))
    A = (A + A.T).tocsr()
    return (sp.diags(np.asarray(A.sum(axis=1)).ravel()) - A).tocsr()


def arrow_block_tridiagonal(sizes, rng, density=0.3) -> np.ndarray:
    """Row/column 0 full, one random sparse cross block between consecutive layers (SDP-cert's M(θ) shape)."""
    n = 1 + sum(sizes)
    off = np.cumsum([1, *sizes])
    B = np.zeros((n, n))
    B[0, 1:] = B[1:, 0] = rng.standard_normal(n - 1)
    B[np.diag_indices(n)] = rng.standard_normal(n)
    for i in range(len(sizes) - 1):
        C = rng.standard_normal((sizes[i + 1], sizes[i])) * (rng.random((sizes[i + 1], sizes[i])) < density)
        B[off[i + 1] : off[i + 2], off[i] : off[i + 1]] = C
        B[off[i] : off[i + 1], off[i + 1] : off[i + 2]] = C.T
    return B


@pytest.mark.parametrize("n", [6, 50, 400])
def test_star_hub_goes_to_the_border_closed_form(n):
    """The star's hub would make the plain envelope dense; bordered, the band is 0 and λ_max = n is proved to a
    hair, never below it."""
    L = star_laplacian(n)
    plan = envelope_plan(L)
    assert plan.border >= 1 and plan.bandwidth == 0
    rm = EnvelopeRump(L, perm=plan.perm, border=plan.border)
    c = np.zeros(n)
    assert not rm.proves(c, n * (1 - 1e-12))[0]
    t, _ = rigorous_lambda_max_upper(rm, c, float(n))
    assert n <= t <= n * (1 + 1e-12)


@pytest.mark.parametrize("seed", range(4))
def test_bordered_envelope_agrees_with_mpmath_and_dense(seed):
    """Arrow plus block tridiagonal (the lifted network's matrix): the plan borders row 0; the bordered test
    refuses λ_max − margin (60-digit mpmath), proves t ≥ λ_max, and is never looser than the dense test."""
    mpmath = pytest.importorskip("mpmath")
    rng = np.random.default_rng(seed)
    B = arrow_block_tridiagonal([7, 9, 8, 6], rng)
    n = B.shape[0]
    c = rng.standard_normal(n)
    lmax = mpmath_lmax(mpmath, B, c)
    est = float(lmax)
    plan = envelope_plan(sp.csr_matrix(B))
    assert plan.border >= 1 and 0 in plan.perm[n - plan.border :]
    env = EnvelopeRump(sp.csr_matrix(B), perm=plan.perm, border=plan.border)
    dense = DenseRump(B)
    for rm in (env, dense):
        assert not rm.proves(c, est - 1e-9 * (1 + abs(est)))[0], f"seed {seed}: {rm.structure} unsound"
    t_env, _ = rigorous_lambda_max_upper(env, c, est)
    t_dense, _ = rigorous_lambda_max_upper(dense, c, est)
    assert mpmath.mpf(t_env) >= lmax and mpmath.mpf(t_dense) >= lmax
    assert t_env <= t_dense + 1e-15 * (1 + abs(est))


@pytest.mark.parametrize("border", [0, 1, 5])
def test_bordered_factor_solves_the_shifted_system(border):
    """The factor handed to shift-and-invert solves (tI − B + diag c − sI) X = Y, for 1-D and 2-D Y, with any
    border size (including one chosen by hand: every order is valid)."""
    rng = np.random.default_rng(border)
    B = arrow_block_tridiagonal([12, 10, 9], rng)
    n = B.shape[0]
    perm = rng.permutation(n)
    rm = EnvelopeRump(sp.csr_matrix(B), perm=perm, border=border)
    c = rng.standard_normal(n)
    t = float(np.linalg.eigvalsh(B - np.diag(c))[-1]) + 1.0
    ok, solve = rm.proves(c, t)
    assert ok
    A = t * np.eye(n) - B + np.diag(c)
    for Y in (rng.standard_normal(n), rng.standard_normal((n, 3))):
        X = solve(Y)
        assert X.shape == Y.shape
        assert np.allclose(A @ X, Y, atol=1e-9)
    assert not rm.proves(c, t - 1.5)[0]


def test_envelope_rump_rejects_bad_orders():
    B = star_laplacian(5)
    with pytest.raises(ValueError, match="permutation"):
        EnvelopeRump(B, perm=np.array([0, 1, 2, 3, 3]))
    with pytest.raises(ValueError, match="border"):
        EnvelopeRump(B, perm=np.arange(5), border=6)


# ------------------------------------------------------------------------------------------------------------
# minimum degree with a dense core (SparseRump)
# ------------------------------------------------------------------------------------------------------------
def random_graph_matrix(n: int, edges: int, rng) -> sp.csr_matrix:
    i, j = rng.integers(0, n, edges), rng.integers(0, n, edges)
    keep = i != j
    A = sp.coo_matrix((rng.standard_normal(int(keep.sum())), (i[keep], j[keep])), shape=(n, n)).tocsr()
    return ((A + A.T) + sp.diags(rng.standard_normal(n))).tocsr()


@pytest.mark.parametrize(("seed", "cap"), [(0, 1024), (1, 1024), (2, 4), (3, 8), (4, 2)])
def test_elimination_pattern_contains_the_exact_fill(seed, cap):
    """The symbolic elimination is the soundness-critical part (t_j counts the factor's nonzeros): every
    nonzero of the exact Cholesky factor (numpy, in the plan's order) of an interior column lies in the plan's
    pattern, and every row has at most t_j nonzeros left of the diagonal."""
    rng = np.random.default_rng(seed)
    n = 150
    B = random_graph_matrix(n, 3 * n, rng)
    plan = elimination_plan(B, cap=cap)
    assert sorted(plan.perm.tolist()) == list(range(n))
    m = plan.interior
    P = B.toarray()[np.ix_(plan.perm, plan.perm)]
    A = (np.abs(P).sum() + 1.0) * np.eye(n) - P
    L = np.linalg.cholesky(A)
    pattern = np.zeros((n, n), dtype=bool)
    for j in range(m):
        pattern[plan.li[plan.lp[j] : plan.lp[j + 1]], j] = True
    nonzero = np.abs(L) > 1e-300
    np.fill_diagonal(nonzero, False)
    assert not np.any(nonzero[:, :m] & ~pattern[:, :m]), "fill outside the symbolic pattern"
    rm = SparseRump(B, plan=plan)
    assert np.all(np.tril(nonzero).sum(axis=1) <= rm.terms)
    if cap <= 8:
        assert plan.core > 0  # a small cap leaves a dense core


@pytest.mark.parametrize("seed", range(5))
def test_sparse_rump_agrees_with_mpmath_and_dense(seed):
    """Random sparse symmetric matrices with a random c, with and without a dense core: the minimum-degree test
    refuses λ_max − margin (60-digit mpmath), proves t ≥ λ_max, and is never looser than the dense test."""
    mpmath = pytest.importorskip("mpmath")
    rng = np.random.default_rng(seed)
    n = 30
    B = random_graph_matrix(n, 2 * n, rng)
    c = rng.standard_normal(n)
    lmax = mpmath_lmax(mpmath, B.toarray(), c)
    est = float(lmax)
    dense = DenseRump(B.toarray())
    t_dense, _ = rigorous_lambda_max_upper(dense, c, est)
    for cap in (1024, 3):
        rm = SparseRump(B, plan=elimination_plan(B, cap=cap))
        assert not rm.proves(c, est - 1e-9 * (1 + abs(est)))[0], f"seed {seed}, cap {cap}: unsound"
        t, _ = rigorous_lambda_max_upper(rm, c, est)
        assert mpmath.mpf(t) >= lmax
        assert t <= t_dense + 1e-15 * (1 + abs(est))


@pytest.mark.parametrize("n", [5, 31, 400])
def test_sparse_rump_cycle_closed_form(n):
    """A cycle eliminates with 2 nonzeros per column, its last few rows (and all of a 5-cycle) dense, where the
    cost model finds LAPACK cheaper: refuses every t below the exact λ_max."""
    L = cycle_laplacian(n)
    lmax = cycle_lmax(n)
    plan = elimination_plan(L)
    if n > 5:
        assert plan.core <= 10 and int(np.diff(plan.lp).max()) <= 2
    rm = SparseRump(L, plan=plan)
    c = np.zeros(n)
    for below in (1e-3, 1e-8, 1e-12):
        assert not rm.proves(c, lmax - below * lmax)[0]
    t, _ = rigorous_lambda_max_upper(rm, c, lmax)
    assert lmax <= t <= lmax + 1e-10


def test_sparse_rump_torus_with_a_forced_core():
    """30 × 30 torus with a cap of 6: a dense core of hundreds of rows; exact λ_max refused below, proved above."""
    L = torus_laplacian(30, 30)
    lmax = 2 * cycle_lmax(30)
    plan = elimination_plan(L, cap=6)
    assert plan.core > 50
    rm = SparseRump(L, plan=plan)
    assert not rm.proves(np.zeros(900), lmax * (1 - 1e-12))[0]
    t, _ = rigorous_lambda_max_upper(rm, np.zeros(900), lmax)
    assert lmax <= t <= lmax * (1 + 1e-9)
    assert rm.shift_terms() < DenseRump(L.toarray()).shift_terms() / 2


def test_sparse_rump_adversarial_clustered_top_and_wide_norm_range():
    """The envelope test's adversarial matrices (a cluster of 40 eigenvalues within 1e-13 of the top; rows
    scaled over 12 orders of magnitude) with a forced core: never a t below λ_max."""
    rng = np.random.default_rng(3)
    n = 120
    B = clustered_top(n, rng)
    lmax = float(np.linalg.eigvalsh(B.toarray())[-1])
    t, _ = rigorous_lambda_max_upper(SparseRump(B, plan=elimination_plan(B, cap=1)), np.zeros(n), lmax)
    assert lmax <= t <= lmax + 1e-9
    D = sp.diags(10.0 ** rng.uniform(-6, 6, n))
    S = (D @ random_graph_matrix(n, 2 * n, rng) @ D).tocsr()
    ev = np.linalg.eigvalsh(S.toarray())
    lmax, scale = float(ev[-1]), float(np.abs(ev).max())
    for cap in (1024, 4):
        rm = SparseRump(S, plan=elimination_plan(S, cap=cap))
        t, _ = rigorous_lambda_max_upper(rm, np.zeros(n), lmax)
        assert t >= lmax - 1e-12 * scale
        assert not rm.proves(np.zeros(n), lmax - 1e-6 * scale)[0]


@pytest.mark.parametrize("cap", [1024, 5])
def test_sparse_factor_solves_the_shifted_system(cap):
    rng = np.random.default_rng(cap)
    B = random_graph_matrix(80, 200, rng)
    n = 80
    c = rng.standard_normal(n)
    t = float(np.linalg.eigvalsh(B.toarray() - np.diag(c))[-1]) + 1.0
    ok, solve = SparseRump(B, plan=elimination_plan(B, cap=cap)).proves(c, t)
    assert ok
    A = t * np.eye(n) - B.toarray() + np.diag(c)
    for Y in (rng.standard_normal(n), rng.standard_normal((n, 3))):
        X = solve(Y)
        assert X.shape == Y.shape
        assert np.allclose(A @ X, Y, atol=1e-9)


def test_materialise_picks_minimum_degree_for_a_random_graph():
    """A sparse random graph (n = 2,000, 1%): its band is nearly dense, the minimum-degree factor is not; the
    rigorous bound through it matches the dense one."""
    rng = np.random.default_rng(22)
    B = random_graph_matrix(2000, 20000, rng)
    rm = materialise(as_operator(B))
    assert rm.structure == "sparse" and rm.memory < 16 * 2000 * 2000 / 3
    c = np.zeros(2000)
    lmax = float(np.linalg.eigvalsh(B.toarray())[-1])
    t, _ = rigorous_lambda_max_upper(rm, c, lmax)
    t_dense, _ = rigorous_lambda_max_upper(B.toarray(), c, lmax)
    assert lmax <= t <= t_dense
    proof = sdpsolve.prove_lambda_max(B, estimate=lmax)
    assert proof.factorisation == "sparse" and proof.t >= lmax


def test_sparse_rump_rejects_bad_plans():
    B = cycle_laplacian(6)
    with pytest.raises(ValueError, match="plan"):
        SparseRump(B, plan=elimination_plan(cycle_laplacian(7)))
    with pytest.raises(ValueError, match="cap"):
        elimination_plan(B, cap=0)


def test_elimination_stops_within_its_memory_budget():
    """With a budget far below the fill, the elimination stops early: a larger core, still a valid plan (its
    proofs agree with the dense test's), and ``materialise`` refuses what does not fit."""
    rng = np.random.default_rng(7)
    B = random_graph_matrix(600, 1800, rng)
    full = elimination_plan(B)
    small = elimination_plan(B, max_memory=2e5)
    assert small.interior < full.interior and small.core > full.core
    assert len(small.li) * 16 <= 2e5
    c = np.zeros(600)
    lmax = float(np.linalg.eigvalsh(B.toarray())[-1])
    t, _ = rigorous_lambda_max_upper(SparseRump(B, plan=small), c, lmax)
    t_dense, _ = rigorous_lambda_max_upper(B.toarray(), c, lmax)
    assert lmax <= t <= t_dense
    assert materialise(as_operator(B), max_memory=1e4) is None
