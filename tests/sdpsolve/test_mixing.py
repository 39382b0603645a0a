"""The mixing method's fast paths give the same iterates as the plain row-by-row sweep.

Oracles: :func:`sdpsolve._kernels.mixing_sweep_dense` (one row at a time, the definition of a mixing sweep)
and the dense product M @ X.
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

import sdpsolve
from sdpsolve._kernels import (
    greedy_colouring,
    greedy_colouring_dense,
    is_exactly_symmetric,
    mixing_block_finish,
    mixing_sweep_dense,
    update_rows_from,
)
from sdpsolve._method import Problem
from sdpsolve._mixing import MixingAscent
from sdpsolve._operator import as_operator, symmetrise_with_error


def _unit_rows(n, r, rng):
    V = rng.standard_normal((n, r))
    return V / np.linalg.norm(V, axis=1, keepdims=True)


def _bipartite(n1, n2, rng, *, diag=True, extra=0):
    """Symmetric matrix with nonzero blocks [0, 1] only (plus a diagonal, and ``extra`` rows joined to all)."""
    n = n1 + n2 + extra
    M = np.zeros((n, n))
    B = rng.standard_normal((n1, n2))
    B[rng.random(B.shape) < 0.2] = 0.0
    M[:n1, n1 : n1 + n2] = B
    if extra:
        M[n1 + n2 :, :] = rng.standard_normal((extra, n))
    M = np.triu(M) + np.triu(M, 1).T
    M[np.diag_indices(n)] = rng.standard_normal(n) if diag else 0.0
    return M


@pytest.mark.parametrize("seed", range(4))
def test_blocked_dense_sweep_equals_row_sweep(seed):
    """Oracle: mixing_sweep_dense. Rows in blocks (BLAS product + in-block triangle) give the same iterates up to
    rounding, with E rows, ball rows with a negative diagonal, zero entries and a ragged last block."""
    rng = np.random.default_rng(seed)
    n, r = 203, 6
    A = rng.standard_normal((n, n))
    A[rng.random((n, n)) < 0.3] = 0.0
    A = np.triu(A) + np.triu(A, 1).T
    A[np.diag_indices(n)] = rng.standard_normal(n) * 3
    eq = rng.random(n) < 0.4
    V1 = _unit_rows(n, r, rng) * rng.uniform(0.2, 1.0, (n, 1))
    V2 = V1.copy()
    for _ in range(3):
        mixing_sweep_dense(A, V1, eq, np.arange(n))
        for s0 in range(0, n, 64):
            mixing_block_finish(A, V2, eq, s0, A[s0 : s0 + 64] @ V2)
    assert np.max(np.abs(V1 - V2)) <= 1e-12, f"seed {seed}: blocked sweep differs by {np.max(np.abs(V1 - V2)):.3g}"


@pytest.mark.parametrize("seed", range(4))
def test_colour_class_update_equals_row_sweep(seed):
    """Oracle: mixing_sweep_dense over one side of a bipartite matrix. Rows that share no entry are updated at
    once from G = M[rows, other] @ V[other] with the same rule (sphere/ball, kept vector when g = 0)."""
    rng = np.random.default_rng(seed)
    n1, n2, r = 40, 30, 5
    M = _bipartite(n1, n2, rng)
    M[: n1 // 2, n1 : n1 + n2] = 0.0  # rows with g = 0
    M[n1 : n1 + n2, : n1 // 2] = 0.0
    eq = rng.random(n1 + n2) < 0.5
    V1 = _unit_rows(n1 + n2, r, rng) * rng.uniform(0.2, 1.0, (n1 + n2, 1))
    V2 = V1.copy()
    rows = np.arange(n1, dtype=np.int64)
    mixing_sweep_dense(M, V1, eq, rows)
    update_rows_from(V2, rows, M[:n1, n1:] @ V2[n1:], np.diag(M).copy(), eq)
    assert np.max(np.abs(V1 - V2)) <= 1e-13


@pytest.mark.parametrize("seed", range(3))
def test_dense_colouring_matches_sparse_colouring(seed):
    """Oracle: greedy_colouring on the CSR pattern, and the definition of a colouring."""
    rng = np.random.default_rng(seed)
    M = _bipartite(25, 17, rng, extra=3)
    M[rng.random(M.shape) < 0.1] = 0.0
    M = np.triu(M) + np.triu(M, 1).T
    pattern = sp.csr_matrix(M != 0)
    dense = greedy_colouring_dense(M)
    assert np.array_equal(dense, greedy_colouring(pattern.indptr.astype(np.int64),
                                                  pattern.indices.astype(np.int64), M.shape[0]))
    i, j = np.nonzero(M)
    off = i != j
    assert np.all(dense[i[off]] != dense[j[off]])
    assert greedy_colouring_dense(_bipartite(30, 20, rng)).max() == 1  # bipartite: two colours


@pytest.mark.parametrize("case", ["bipartite", "bipartite_plus_rest", "dense"])
def test_mixing_product_equals_dense_product(case):
    """Oracle: M @ X. The product from the colour blocks (used by the gap checks) is the matrix product, and it
    is counted as one product per column."""
    rng = np.random.default_rng(7)
    if case == "dense":
        M = rng.standard_normal((90, 90))
        M = M + M.T
    else:
        M = _bipartite(60, 50, rng, extra=5 if case == "bipartite_plus_rest" else 0)
    op = as_operator(M)
    asc = MixingAscent(Problem(op, np.zeros(M.shape[0], dtype=bool)), None)
    assert (asc.blocks is None) == (case == "dense")
    X = rng.standard_normal((M.shape[0], 4))
    before = op.n_matvec
    assert np.allclose(asc.product(X), M @ X, rtol=1e-13, atol=1e-12)
    assert op.n_matvec - before == 4


def test_exact_symmetry_check():
    rng = np.random.default_rng(3)
    A = rng.standard_normal((150, 150))
    S = A + A.T
    assert is_exactly_symmetric(S) and not is_exactly_symmetric(A)
    T = S.copy()
    T[149, 3] = np.nextafter(T[149, 3], np.inf)
    assert not is_exactly_symmetric(T)
    B, err = symmetrise_with_error(S)
    assert B is S and err == 0.0
    B, err = symmetrise_with_error(T)
    assert np.array_equal(B, B.T) and err > 0.0


def test_sweep_objective_for_two_colour_classes():
    """Oracle: tr(Vᵀ M V) from the dense product. A bipartite matrix (with a diagonal) reports the objective
    of its sweep without an extra product; other structures report None."""
    rng = np.random.default_rng(11)
    M = _bipartite(70, 45, rng)
    asc = MixingAscent(Problem(as_operator(M), np.zeros(M.shape[0], dtype=bool)), None)
    V = _unit_rows(M.shape[0], 5, rng)
    value = asc._sweep(V)
    assert value == pytest.approx(float(np.sum((M @ V) * V)), rel=1e-12)
    M = _bipartite(60, 50, rng, extra=5)
    asc = MixingAscent(Problem(as_operator(M), np.zeros(M.shape[0], dtype=bool)), None)
    assert asc._sweep(_unit_rows(M.shape[0], 5, rng)) is None


def test_rank_is_full_reads_the_singular_values():
    from sdpsolve._lowrank_driver import rank_is_full

    rng = np.random.default_rng(0)
    Q, _ = np.linalg.qr(rng.standard_normal((50, 6)))
    assert rank_is_full(Q)
    Q[:, -1] *= 0.05  # σ_min/σ_max = 0.05 < 0.1
    assert not rank_is_full(Q) and rank_is_full(Q, 0.01)
    assert not rank_is_full(np.zeros((5, 2)))


def test_rank_grows_while_every_column_is_in_use():
    """A random graph (n = 1,000, average degree 8) uses all 16 starting columns: the rule adds half as many;
    with the rule off the rank stays; both runs certify the same optimum."""
    from sdpsolve import graphs

    M = graphs.random_graph(1000, edges=4000, rng=3).maxcut_matrix()
    on = sdpsolve.solve(M, equal="all", rtol=1e-4, rng=0)
    off = sdpsolve.solve(M, equal="all", rtol=1e-4, rng=0, options={"full_rank": 0.0})
    assert on.factor.shape[1] >= 24 and off.factor.shape[1] == 16
    assert on.bound_kind == off.bound_kind == "rigorous"
    assert on.lower <= off.upper and off.lower <= on.upper
    with pytest.raises(ValueError, match="full_rank"):
        sdpsolve.solve(M, equal="all", options={"full_rank": 1.5})
