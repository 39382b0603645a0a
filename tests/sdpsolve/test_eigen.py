"""The eigen oracle (SPEC §1.4): block Lanczos with full reorthogonalisation and the LOBPCG alternative.

Oracle throughout: ``np.linalg.eigvalsh`` / ``eigh`` of the dense matrix (accurate to about n·u·||B||, far below
the tolerances asserted here), and the residual ||Bx − θx|| recomputed from the returned pair.
"""

from __future__ import annotations

import numpy as np
import pytest

from sdpsolve import lanczos, lobpcg_top
from sdpsolve._eigen import dense_top_eigenvalue, top_eigenpairs


@pytest.fixture(autouse=True, scope="module")
def _one_blas_thread():
    """Small products gain nothing from BLAS threads, and on a 2-core CI machine they lose a lot."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1, user_api="blas"):
        yield


def _orthogonal(n: int, rng: np.random.Generator) -> np.ndarray:
    Q, R = np.linalg.qr(rng.standard_normal((n, n)))
    return Q * np.sign(np.diag(R))


def _with_spectrum(lam: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """B = Q diag(lam) Qᵀ for a random orthogonal Q; returns (B, Q)."""
    Q = _orthogonal(lam.size, np.random.default_rng(seed))
    B = (Q * lam) @ Q.T
    return 0.5 * (B + B.T), Q


def _random_symmetric(n: int, seed: int) -> np.ndarray:
    A = np.random.default_rng(seed).standard_normal((n, n))
    return 0.5 * (A + A.T)


def _clustered(n: int, seed: int) -> np.ndarray:
    """Top three eigenvalues 1, 1 − 1e-10, 1 − 2e-10; the rest uniform in [−1, 0.9]."""
    rng = np.random.default_rng(seed + 1000)
    lam = np.concatenate([[1.0, 1.0 - 1e-10, 1.0 - 2e-10], rng.uniform(-1.0, 0.9, n - 3)])
    return _with_spectrum(lam, seed)[0]


class Counter:
    """matmat closure that counts columns (the oracle for the reported n_matvec)."""

    def __init__(self, B):
        self.B = B
        self.columns = 0

    def __call__(self, X):
        self.columns += X.shape[1]
        return self.B @ X


def _check_result(res, B, k, *, label, value_tol=1e-8, counter=None):
    w = np.linalg.eigvalsh(B)[::-1]
    scale = max(1.0, float(np.max(np.abs(w))))
    kk = min(k, B.shape[0])
    assert res.values.shape == (kk,), f"{label}: {res.values.shape} values for k = {k}"
    assert res.vectors.shape == (B.shape[0], kk)
    assert np.all(np.diff(res.values) <= 0), f"{label}: values not decreasing: {res.values}"
    err = np.max(np.abs(res.values - w[:kk]))
    assert err <= value_tol * scale, f"{label}: Ritz values {res.values} vs eigvalsh {w[:kk]} (error {err:.2e})"
    true_res = np.linalg.norm(B @ res.vectors - res.vectors * res.values, axis=0)
    np.testing.assert_allclose(
        res.residuals,
        true_res,
        rtol=1e-6,
        atol=1e-13 * scale,
        err_msg=f"{label}: reported residuals are not ||Bx − θx||",
    )
    orth = np.linalg.norm(res.vectors.T @ res.vectors - np.eye(kk))
    assert orth <= 1e-10, f"{label}: Ritz vectors not orthonormal ({orth:.2e})"
    if counter is not None:
        assert res.n_matvec == counter.columns, f"{label}: n_matvec {res.n_matvec} but {counter.columns} columns"


CASES = [
    *[(f"random_n{n}_s{s}", n, s, "random") for n in (1, 2, 5, 40) for s in (0, 1)],
    ("clustered_n60", 60, 3, "clustered"),
    ("clustered_n150", 150, 4, "clustered"),
]


def _matrix(n, seed, kind):
    return _random_symmetric(n, seed) if kind == "random" else _clustered(n, seed)


# k > block_size on n > 60 (where the basis restarts) is test_lanczos_k_larger_than_block_size_restarts
LANCZOS_CASES = [
    pytest.param(*case, bs, k, id=f"{case[0]}-block{bs}-k{k}")
    for case in CASES
    for bs in (1, 3)
    for k in (1, 3)
    if not (case[1] > 60 and k > bs)
]


@pytest.mark.parametrize("name, n, seed, kind, block_size, k", LANCZOS_CASES)
def test_lanczos_agrees_with_eigvalsh(name, n, seed, kind, block_size, k):
    """Oracle: eigvalsh. Top-k values within 1e-8·scale, residuals are the true ones, vectors orthonormal,
    products counted exactly, and `converged` is reported."""
    B = _matrix(n, seed, kind)
    counter = Counter(B)
    res = lanczos(counter, n, k=k, block_size=block_size, tol=1e-10, rng=np.random.default_rng(seed))
    label = f"lanczos {name} seed {seed} block {block_size} k {k}"
    _check_result(res, B, k, label=label, counter=counter)
    assert res.converged, f"{label}: not converged after {res.n_iter} steps"
    assert np.all(res.residuals <= 1e-10 * max(1.0, np.abs(np.linalg.eigvalsh(B)).max()) * 1.01)


@pytest.mark.parametrize("seed", [0, 1])
def test_lanczos_k_larger_than_block_size_restarts(seed):
    """Oracle: eigvalsh. Plain Lanczos (block 1) asked for k = 3 pairs of a 100×100 matrix (restarts at the
    default max_dim = 60) must converge within maxiter = 300 steps."""
    B = _clustered(100, seed)
    res = lanczos(lambda X: B @ X, 100, k=3, block_size=1, tol=1e-10, rng=np.random.default_rng(seed))
    _check_result(res, B, 3, label=f"seed {seed}")
    assert res.converged


@pytest.mark.parametrize("k", [1, 3])
@pytest.mark.parametrize("name, n, seed, kind", CASES, ids=[c[0] for c in CASES])
def test_lobpcg_agrees_with_eigvalsh(name, n, seed, kind, k):
    """Oracle: eigvalsh. LOBPCG (or its dense fallback for tiny n) gives the top-k values and true residuals."""
    B = _matrix(n, seed, kind)
    counter = Counter(B)
    res = lobpcg_top(counter, n, k=k, tol=1e-10, maxiter=500, rng=np.random.default_rng(seed))
    label = f"lobpcg {name} seed {seed} k {k}"
    # clustered tops: values to 1e-8 are what LOBPCG guarantees at this tolerance
    _check_result(res, B, k, label=label, counter=counter)


@pytest.mark.parametrize("block_size", [1, 3])
@pytest.mark.parametrize("seed", range(3))
def test_warm_start_from_exact_vector_converges_in_one_step(seed, block_size):
    """Oracle: eigh. Started from the exact top eigenvector(s), Lanczos stops after one block step with the
    exact value(s)."""
    B = _random_symmetric(80, seed)
    w, V = np.linalg.eigh(B)
    k = block_size
    v0 = V[:, ::-1][:, :k]
    res = lanczos(lambda X: B @ X, 80, k=k, block_size=block_size, v0=v0, tol=1e-8, rng=np.random.default_rng(seed))
    assert res.n_iter == 1 and res.n_matvec == block_size, f"seed {seed}: {res.n_iter} steps, {res.n_matvec} products"
    np.testing.assert_allclose(res.values, w[::-1][:k], rtol=0, atol=1e-12 * np.abs(w).max())
    assert res.converged


@pytest.mark.parametrize("seed", range(3))
def test_warm_start_saves_products(seed):
    """Oracle: eigvalsh. After a small perturbation of B, a warm start from the previous top-3 Ritz vectors
    reaches the same accuracy with fewer products than a cold start (the point of warm starting)."""
    B = _clustered(200, seed)
    first = lanczos(lambda X: B @ X, 200, k=3, block_size=3, tol=1e-9, rng=np.random.default_rng(seed))
    B2 = B + 1e-5 * _random_symmetric(200, seed + 7) / 200
    cold = lanczos(lambda X: B2 @ X, 200, k=3, block_size=3, tol=1e-9, rng=np.random.default_rng(seed))
    warm = lanczos(
        lambda X: B2 @ X, 200, k=3, block_size=3, v0=first.vectors, tol=1e-9, rng=np.random.default_rng(seed)
    )
    _check_result(warm, B2, 3, label=f"warm seed {seed}")
    assert warm.n_matvec < cold.n_matvec, f"seed {seed}: warm {warm.n_matvec} products, cold {cold.n_matvec}"


@pytest.mark.parametrize("seed", range(3))
def test_warm_start_from_a_non_top_eigenvector_still_finds_the_top(seed):
    """Oracle: eigvalsh. A warm start that is an exact eigenvector for the 6th eigenvalue, filled up with one
    random column (block_size = 2), must still return λ_max: the random column has a component along the top
    eigenvector."""
    B, Q = _with_spectrum(np.linspace(1.0, -1.0, 300), seed)
    res = lanczos(lambda X: B @ X, 300, k=1, block_size=2, v0=Q[:, 5], tol=1e-10, rng=np.random.default_rng(seed))
    assert abs(res.values[0] - 1.0) <= 1e-8, f"seed {seed}: Ritz value {res.values[0]} but λ_max = 1"


def test_maxiter_limits_the_work_and_reports_not_converged():
    """A hard spectrum with maxiter = 3 returns after 3 block steps, unconverged, values still Ritz values
    (≤ λ_max: the Rayleigh–Ritz values of a subspace never exceed λ_max)."""
    B = _clustered(300, 0)
    res = lanczos(lambda X: B @ X, 300, k=1, block_size=2, maxiter=3, tol=1e-12, rng=np.random.default_rng(0))
    assert res.n_iter == 3 and res.n_matvec == 6 and not res.converged
    assert res.values[0] <= np.linalg.eigvalsh(B)[-1] + 1e-14


def test_top_eigenpairs_dispatch():
    """The dispatcher accepts 'lanczos' and 'lobpcg' (same answer) and names `eigensolver` otherwise."""
    B = _random_symmetric(30, 2)
    top = np.linalg.eigvalsh(B)[-1]
    for method in ("lanczos", "lobpcg"):
        res = top_eigenpairs(
            method,
            lambda X: B @ X,
            30,
            k=1,
            tol=1e-10,
            rng=np.random.default_rng(0),
            block_size=2,
            max_dim=30,
            scale=None,
        )
        assert abs(res.values[0] - top) <= 1e-8, f"{method}: {res.values[0]} vs {top}"
    with pytest.raises(ValueError, match="`eigensolver`"):
        top_eigenpairs("arpack", lambda X: B @ X, 30)


@pytest.mark.parametrize("n", [1, 2, 9])
def test_dense_top_eigenvalue(n):
    """Oracle: eigvalsh."""
    B = _random_symmetric(n, n)
    assert dense_top_eigenvalue(B) == pytest.approx(np.linalg.eigvalsh(B)[-1], abs=1e-13)
