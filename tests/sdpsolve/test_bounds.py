"""Soundness of the upper bounds (SPEC §1.1–§1.2): the heart of the project.

Oracles:

* matrices with an *exactly* known λ_max: A = H diag(λ) Hᵀ / n with H a Hadamard matrix (n a power of 2) and
  integer λ — every entry is an integer multiple of 1/n below 2^53/n, so A is exact in float64 and
  λ_max(A) = max λ exactly;
* mpmath at 60 digits for small general matrices (exact float entries, eigenvalues to ~1e-55 relative);
* the CVXPY/Clarabel optimum of (P) (``tests.oracles.sdp_optimum``, accurate to ~1e-9 relative);
* exact rational arithmetic (``fractions.Fraction``) for the upward-rounded value U(c, t).
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
import scipy.linalg as sla
import scipy.sparse as sp
import scipy.sparse.linalg as spla

import sdpsolve
from sdpsolve import BoundError, dual_bound, lanczos
from sdpsolve._bounds import (
    bound_value,
    bound_value_estimate,
    certify_near,
    chebyshev_filter,
    cholesky_proves_upper,
    filtered_lambda_max_upper,
    kw_epsilon,
    kw_steps,
    probabilistic_lambda_max_upper,
    rigorous_lambda_max_upper,
)
from tests.oracles import sdp_optimum

mpmath = pytest.importorskip("mpmath")
U = 2.0**-53


@pytest.fixture(autouse=True, scope="module")
def _one_blas_thread():
    """Small products gain nothing from BLAS threads, and on a 2-core CI machine they lose a lot."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1, user_api="blas"):
        yield


# -- exact constructions -------------------------------------------------------------------------------------
def hadamard_matrix(lam: np.ndarray) -> np.ndarray:
    """H diag(lam) Hᵀ / n, exact in float64 for integer lam with n · max|lam| < 2^53."""
    n = lam.size
    assert n * np.abs(lam).max() < 2.0**53
    H = sla.hadamard(n).astype(np.float64)
    A = ((H * lam) @ H.T) / n
    assert np.array_equal(A, A.T)
    return A


def exact_spectra(n: int = 128, seed: int = 0) -> dict[str, np.ndarray]:
    """Integer spectra whose top is hard for a floating-point test: tiny gaps, clusters, sign, spread."""
    rng = np.random.default_rng(seed)
    out = {}
    lam = rng.integers(-(2**40), 2**40 - 2, n).astype(float)
    lam[3], lam[9] = 2.0**40, 2.0**40 - 1  # relative gap 1e-12
    out["tiny_gap"] = lam
    lam = rng.integers(-1000, 995, n).astype(float)
    lam[:5] = 1000.0  # five-fold top eigenvalue
    out["cluster"] = lam
    lam = -rng.integers(1, 2**20, n).astype(float)
    lam[7] = -1.0  # negative definite: t < 0
    out["negative_definite"] = lam
    lam = -rng.integers(0, 2**20, n).astype(float)
    lam[7] = 0.0  # singular, λ_max = 0
    out["zero_top"] = lam
    lam = -rng.integers(0, 2**44, n).astype(float)
    lam[7] = 1.0  # ||A|| = 1.7e13 against λ_max = 1
    out["huge_spread"] = lam
    return out


SPECTRA = exact_spectra()


def mp_lambda_max(M: np.ndarray, c: np.ndarray | None = None):
    """λ_max(M − diag c) with mpmath at 60 digits from the exact float entries."""
    with mpmath.workdps(60):
        A = mpmath.matrix(M.tolist())
        if c is not None:
            for i, ci in enumerate(c):
                A[i, i] = mpmath.mpf(M[i, i]) - mpmath.mpf(ci)
        return max(mpmath.eigsy(A, eigvals_only=True))


def dad_matrix(n: int, seed: int, span: int = 27) -> tuple[np.ndarray, np.ndarray]:
    """D A D with D = diag(2^k), k ∈ [−span, span] (entries from ~1e-16 to ~1e16), and a c of mixed scales."""
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((n, n))
    A = A + A.T
    d = 2.0 ** rng.integers(-span, span + 1, n)
    M = (d[:, None] * A) * d[None, :]
    c = rng.standard_normal(n) * d * d * rng.choice([0.0, 1.0, 1e-3], n)
    return M, c


def _below(value, steps: int) -> float:
    """A float strictly below the exact (mpmath or float) value, ``steps`` ulps down from its rounding."""
    t = float(value)
    while mpmath.mpf(t) >= value:
        t = float(np.nextafter(t, -np.inf))
    if steps > 1:
        t = float(np.nextafter(t - (steps - 1) * float(np.spacing(abs(t))), -np.inf))
    return t


# -- the Cholesky test ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", list(SPECTRA))
def test_cholesky_refuses_every_t_below_lambda_max_exact(name):
    """Oracle: exact λ_max (Hadamard construction). For t = λ_max − δ with δ from 1 ulp to 1e-3·||A||, and
    for t = λ_max itself, the test must refuse (it proves the *strict* λ_max < t); it accepts a t slightly
    above. Also with a shift c: B = (A + diag c) − diag c exactly."""
    lam = SPECTRA[name]
    A = hadamard_matrix(lam)
    lmax = float(lam.max())
    scale = float(np.abs(lam).max())
    n = lam.size
    rng = np.random.default_rng(1)
    c_int = rng.integers(-1000, 1000, n).astype(float)  # A + diag(c) is exact (multiples of 1/n, < 2^53/n)
    for M, c in ((A, np.zeros(n)), (A + np.diag(c_int), c_int)):
        for delta in (0.0, 1.0 / n, 1.0, 1e-12 * scale, 1e-9 * scale, 1e-6 * scale, 1e-3 * scale):
            t = lmax - delta
            if delta:
                t = min(t, float(np.nextafter(lmax, -np.inf)))
            assert not cholesky_proves_upper(M, c, t), f"{name}: Cholesky 'proved' λ_max < {t!r} but λ_max = {lmax!r}"
        t_ok = lmax + 1e-9 * scale
        assert cholesky_proves_upper(M, c, t_ok), f"{name}: Cholesky refused t = λ_max + 1e-9·||A|| = {t_ok!r}"


@pytest.mark.parametrize("seed", range(6))
def test_cholesky_refuses_below_lambda_max_scaled(seed):
    """Oracle: mpmath. D A D with entries spanning 1e-16..1e16 and a c of mixed scales: every t below the
    exact λ_max(M − diag c) (1, 2, 16, 2^20 ulps below, and 1e-12 relative) is refused."""
    M, c = dad_matrix(12, seed)
    lm = mp_lambda_max(M, c)
    for steps in (1, 2, 16, 2**20):
        t = _below(lm, steps)
        assert not cholesky_proves_upper(M, c, t), f"seed {seed}: proved λ_max < {t!r} but λ_max = {lm}"
    t = float(lm - abs(lm) * mpmath.mpf("1e-12"))
    assert not cholesky_proves_upper(M, c, t), f"seed {seed}: proved λ_max < {t!r} but λ_max = {lm}"


@pytest.mark.parametrize("name", list(SPECTRA))
def test_rigorous_upper_is_valid_exact(name):
    """Oracle: exact λ_max. Whatever the estimate (exact, too low by 1e-3 or 1·||A||, too high), the returned t
    is ≥ λ_max; from the exact estimate it is tight (≤ 1e-10·||A|| above); ``err`` is added on top."""
    lam = SPECTRA[name]
    A = hadamard_matrix(lam)
    lmax = float(lam.max())
    scale = float(np.abs(lam).max())
    c = np.zeros(lam.size)
    for est in (lmax, lmax - 1e-3 * scale, lmax - scale, lmax + 1e-9 * scale, -3 * scale):
        t, tries = rigorous_lambda_max_upper(A, c, est)
        assert t >= lmax, f"{name}: estimate {est!r} gave t = {t!r} < λ_max = {lmax!r}"
        assert tries >= 1
    t, _ = rigorous_lambda_max_upper(A, c, lmax)
    assert t - lmax <= 1e-10 * scale, f"{name}: t − λ_max = {t - lmax:.3g} for ||A|| = {scale:.3g}"
    t_err, _ = rigorous_lambda_max_upper(A, c, lmax, err=0.125 * scale)
    assert t_err >= t + 0.125 * scale, f"{name}: err not added: {t_err!r} vs {t!r} + {0.125 * scale!r}"


@pytest.mark.parametrize("name", list(SPECTRA))
def test_certify_near_is_valid_exact(name):
    """Oracle: exact λ_max. One test at estimate + step proves a t ≥ λ_max when the estimate is close, refuses
    (``first`` False, no bound) when it is far below without ``refine``, and with ``refine`` still returns a
    bound ≥ λ_max plus vectors whose Rayleigh quotient locates λ_max (simple top eigenvalue)."""
    lam = SPECTRA[name]
    A = hadamard_matrix(lam)
    n = lam.size
    lmax = float(lam.max())
    scale = float(np.abs(lam).max())
    c = np.zeros(n)
    mask = np.zeros(n, dtype=bool)
    test = certify_near(A, 0.0, c, mask, lmax, 1e-9 * scale)
    assert test.first and test.bound.kind == "rigorous"
    assert test.bound.lambda_max_upper >= lmax, f"{name}: t = {test.bound.lambda_max_upper!r} < λ_max = {lmax!r}"
    assert test.bound.value >= bound_value(c, lmax, mask)
    low = lmax - 0.25 * scale
    test = certify_near(A, 0.0, c, mask, low, 1e-9 * scale)
    assert not test.first and test.bound is None and test.tested < lmax
    test = certify_near(A, 0.5, c, mask, low, 1e-9 * scale, refine=True, rng=np.random.default_rng(0))
    assert not test.first
    assert test.bound is not None and test.bound.lambda_max_upper >= lmax + 0.5, f"{name}: err not added or t too low"
    if np.sum(lam == lmax) == 1 and name != "tiny_gap":
        x = test.vectors[:, 0] / np.linalg.norm(test.vectors[:, 0])
        assert x @ A @ x == pytest.approx(lmax, abs=1e-6 * scale), f"{name}: refined vector misses the top"


@pytest.mark.parametrize("seed", range(8))
def test_rigorous_upper_is_valid_scaled(seed):
    """Oracle: mpmath. D A D scaling (entries 1e-16..1e16) with mixed-scale c, estimates from the LAPACK value
    (possibly above or below the exact λ_max) and from far below: t ≥ λ_max(M − diag c) exactly."""
    M, c = dad_matrix(14, seed)
    lm = mp_lambda_max(M, c)
    B = M - np.diag(c)
    est0 = float(np.linalg.eigvalsh(0.5 * (B + B.T))[-1])
    for est in (est0, _below(lm, 1), est0 - 1e-6 * abs(est0), -abs(est0)):
        try:
            t, _ = rigorous_lambda_max_upper(M, c, est)
        except BoundError:
            continue  # refusing to certify is sound; a wrong certificate is not
        assert mpmath.mpf(t) >= lm, f"seed {seed}: estimate {est!r} gave t = {t!r} < λ_max = {lm}"


@pytest.mark.parametrize("seed", range(4))
def test_rigorous_upper_random_small(seed):
    """Oracle: mpmath. Plain random symmetric matrices n ≤ 25 (and n = 1, 2): t ≥ λ_max, tight to 1e-12."""
    for n in (1, 2, 25):
        rng = np.random.default_rng(seed * 100 + n)
        A = rng.standard_normal((n, n))
        A = A + A.T
        c = rng.standard_normal(n)
        lm = mp_lambda_max(A, c)
        t, _ = rigorous_lambda_max_upper(A, c, float(lm))
        assert mpmath.mpf(t) >= lm, f"seed {seed}, n {n}: t = {t!r} < λ_max = {lm}"
        assert t - float(lm) <= 1e-12 * max(1.0, np.abs(A).max()), f"seed {seed}, n {n}: t − λ_max = {t - float(lm)}"


@pytest.mark.filterwarnings("ignore:overflow encountered")
def test_rigorous_refuses_near_overflow():
    """Entries near the overflow threshold: either a BoundError (no proof) or a valid t — never a wrong one."""
    A = hadamard_matrix(np.array([1.0, -1.0, 0.5, -0.5] * 2)) * 2.0**1020
    lmax = 2.0**1020
    try:
        t, _ = rigorous_lambda_max_upper(A, np.zeros(8), lmax)
    except BoundError as exc:
        assert "Cholesky" in str(exc)
    else:
        assert t >= lmax


@pytest.mark.parametrize(
    "M, c",
    [
        (np.array([[-1.5]]), np.array([-1.5])),
        (np.diag([-2.0, 3.0, -1.0, 0.5, 0.0, 4.0]), np.array([-2.0, 3.0, -1.0, 0.5, 0.0, 4.0])),
        (np.diag([1e-200, 1.0]), np.array([1e-200, 1.0])),
        (np.diag([3e6, -7e5]), np.array([3e6, -7e5])),
    ],
    ids=["scalar", "diagonal", "tiny_and_unit", "large"],
)
def test_rigorous_when_m_minus_diag_c_is_zero(M, c):
    """Oracle: M − diag c = 0 exactly, so λ_max = 0 and (E = all) the optimum is Σ c_i. The rigorous bound
    must exist (it did not before the fix in rigorous_lambda_max_upper: the candidate step was scaled by
    |M_jj − c_j| = 0 and never reached the rounding level of |M_jj|) and be ≥ Σ c_i and tight."""
    b = dual_bound(M, c, equal="all")
    exact = math.fsum(c)
    assert b.kind == "rigorous" and b.lambda_max_upper > 0
    scale = max(1.0, float(np.abs(c).sum()))
    assert exact <= b.value <= exact + 1e-12 * scale, f"value {b.value!r}, optimum {exact!r}"


# -- a Ritz value is not a bound -----------------------------------------------------------------------------
def test_ritz_value_after_few_steps_is_not_a_bound_but_rigorous_is():
    """Oracle: exact optimum. M = H diag(λ) Hᵀ/n has flat eigenvectors (±1/√n entries), so with E = all the
    optimum is n·λ_max (attained by P = n q qᵀ; matched by the dual c = 0). Five Lanczos steps from a random
    start give a Ritz value below λ_max and a 'bound' n·θ below the optimum; dual_bound at the same c = 0 is
    valid for the rigorous and probabilistic kinds."""
    n = 128
    rng = np.random.default_rng(7)
    lam = rng.integers(-1000, 990, n).astype(float)
    lam[17] = 1000.0
    M = hadamard_matrix(lam)
    opt = n * 1000.0
    c = np.zeros(n)
    mask = np.ones(n, dtype=bool)
    for seed in range(5):
        ritz = lanczos(lambda X: M @ X, n, k=1, block_size=1, maxiter=5, tol=0.0, rng=np.random.default_rng(seed))
        assert ritz.n_iter == 5
        theta = float(ritz.values[0])
        est = bound_value_estimate(c, theta, mask)
        assert theta < 1000.0 and est < opt, f"seed {seed}: θ = {theta}, U_estimate = {est} vs optimum {opt}"
    rig = dual_bound(M, c, equal="all", kind="rigorous", rng=0)
    assert rig.value >= opt, f"rigorous {rig.value!r} < optimum {opt!r}"
    assert rig.value <= opt * (1 + 1e-9)
    prob = dual_bound(M, c, equal="all", kind="probabilistic", rng=0)
    assert prob.value >= opt, f"probabilistic {prob.value!r} < optimum {opt!r}"


# -- dual_bound against the CVXPY optimum --------------------------------------------------------------------
EQUALS = [None, [0], "all"]


@pytest.mark.parametrize("equal", EQUALS, ids=["E_none", "E_0", "E_all"])
@pytest.mark.parametrize("seed", range(3))
def test_dual_bound_any_c_is_an_upper_bound(seed, equal):
    """Oracle: CVXPY optimum. For random c (mixed signs, several scales, and c = 0), the rigorous and
    probabilistic values are ≥ OPT − 1e-7·max(1, |OPT|); the estimate never exceeds the rigorous value; the
    tight form is never worse than the paper's 1ᵀmax(c, 0) + n·max(t, 0)."""
    rng = np.random.default_rng(seed)
    n = 6 + 2 * seed
    A = rng.standard_normal((n, n))
    A = A + A.T
    opt = sdp_optimum(A, equal)
    tol = 1e-7 * max(1.0, abs(opt))
    cs = [np.zeros(n), rng.standard_normal(n), 5 * rng.standard_normal(n), np.abs(rng.standard_normal(n)) * 3]
    for j, c in enumerate(cs):
        rig = dual_bound(A, c, equal=equal, kind="rigorous", rng=seed)
        prob = dual_bound(A, c, equal=equal, kind="probabilistic", rng=seed)
        est = dual_bound(A, c, equal=equal, kind="estimate", rng=seed)
        label = f"seed {seed}, c #{j}, equal {equal}"
        assert rig.value >= opt - tol, f"{label}: rigorous {rig.value!r} < OPT {opt!r}"
        assert prob.value >= opt - tol, f"{label}: probabilistic {prob.value!r} < OPT {opt!r}"
        assert est.value <= rig.value, f"{label}: estimate {est.value!r} > rigorous {rig.value!r}"
        t = rig.lambda_max_upper
        paper = math.fsum(np.maximum(c, 0.0)) + n * max(t, 0.0)
        slack = 8 * U * (math.fsum(np.abs(c)) + n * abs(t))
        assert rig.value <= paper + slack, f"{label}: tight form {rig.value!r} > paper form {paper!r}"
        if np.all(c >= 0) and t >= 0 and equal is None:
            assert rig.value >= paper - slack, f"{label}: c ≥ 0 must reproduce the paper form"


def test_tight_form_strictly_better_than_paper_form():
    """Oracle: closed form. M = diag(1, 0), c = (0, −5): λ_max(M − diag c) = 5, U = max(0 + 5, 0) + max(−5 + 5, 0)
    = 5, while the paper's form gives 0 + 2·5 = 10. The optimum is 1 (P = diag(1, 0)) ≤ 5."""
    b = dual_bound(np.diag([1.0, 0.0]), np.array([0.0, -5.0]))
    assert b.lambda_max_upper == pytest.approx(5.0, abs=1e-12)
    assert b.value == pytest.approx(5.0, abs=1e-12)


@pytest.mark.parametrize("equal", EQUALS, ids=["E_none", "E_0", "E_all"])
def test_dual_bound_at_the_solver_dual_is_tight(equal):
    """Oracle: CVXPY optimum. At the dual point returned by solve, dual_bound confirms the solver's upper
    bound (same kind): it is at least as tight (the solver stops at the first t it proves within the tolerance,
    dual_bound searches for the smallest), within the solver's tolerance of it, and within 1e-3 above OPT."""
    rng = np.random.default_rng(11)
    A = rng.standard_normal((10, 10))
    A = A + A.T
    opt = sdp_optimum(A, equal)
    res = sdpsolve.solve(A, equal=equal, rng=0)
    b = dual_bound(A, res.dual, equal=equal, rng=0)
    scale = max(1.0, abs(opt))
    assert opt - 1e-7 * scale <= b.value <= opt + 1e-3 * scale, f"equal {equal}: {b.value!r} vs OPT {opt!r}"
    assert b.kind == res.bound_kind
    assert res.upper - 1e-4 * max(1.0, abs(res.upper)) <= b.value <= res.upper * (1 + 1e-12) + 1e-12, (
        f"equal {equal}: dual_bound {b.value!r} vs solver {res.upper!r}"
    )


# -- kinds and labels ----------------------------------------------------------------------------------------
def test_kind_labels_and_failure_probability():
    """rigorous: failure probability 0; probabilistic: δ (default 1e-9, or as given); estimate: nan. The Ritz
    estimate never exceeds the certified t."""
    rng = np.random.default_rng(3)
    A = rng.standard_normal((12, 12))
    A = A + A.T
    c = rng.standard_normal(12)
    rig = dual_bound(A, c)
    assert rig.kind == "rigorous" and rig.failure_probability == 0.0
    prob = dual_bound(A, c, kind="probabilistic")
    assert prob.kind == "probabilistic" and prob.failure_probability == 1e-9
    prob3 = dual_bound(A, c, kind="probabilistic", delta=1e-3)
    assert prob3.failure_probability == 1e-3
    est = dual_bound(A, c, kind="estimate")
    assert est.kind == "estimate" and math.isnan(est.failure_probability)
    for b in (rig, prob):
        assert b.lambda_max_estimate <= b.lambda_max_upper
        assert b.n_matvec > 0
    assert est.lambda_max_upper == est.lambda_max_estimate


def test_dual_bound_is_deterministic_for_a_seed():
    rng = np.random.default_rng(4)
    A = rng.standard_normal((20, 20))
    A = A + A.T
    c = rng.standard_normal(20)
    for kind in ("rigorous", "probabilistic", "estimate"):
        assert dual_bound(A, c, kind=kind, rng=5).value == dual_bound(A, c, kind=kind, rng=5).value


class UserOp:
    def __init__(self, A, with_norm=False, dense_err=None):
        self.A = A
        self.shape = A.shape
        if with_norm:
            self.norm_bound = lambda: float(np.linalg.norm(A))
        if dense_err is not None:
            self.to_dense = lambda: (A, dense_err)

    def matvec(self, x):
        return self.A @ x


def test_probabilistic_needs_a_norm_bound():
    """An implicit operator without ``norm_bound`` cannot give a probabilistic bound: a BoundError that says
    what to add; with ``norm_bound`` it works and is valid (oracle: eigvalsh)."""
    rng = np.random.default_rng(5)
    A = rng.standard_normal((15, 15))
    A = A + A.T
    c = np.zeros(15)
    for M in (spla.aslinearoperator(A), UserOp(A)):
        with pytest.raises(BoundError, match="norm_bound"):
            dual_bound(M, c, kind="probabilistic")
        assert dual_bound(M, c, kind="rigorous").kind == "rigorous"  # materialised by products
    b = dual_bound(UserOp(A, with_norm=True), c, kind="probabilistic")
    assert b.kind == "probabilistic" and b.lambda_max_upper >= np.linalg.eigvalsh(A)[-1]


def test_materialisation_error_is_added():
    """Oracle: eigvalsh. A user ``to_dense`` returning (B, err) makes the rigorous t cover λ_max(B) + err."""
    rng = np.random.default_rng(6)
    A = rng.standard_normal((10, 10))
    A = A + A.T
    b = dual_bound(UserOp(A, dense_err=0.25), np.zeros(10))
    assert b.details["materialisation_error"] >= 0.25
    assert b.lambda_max_upper >= np.linalg.eigvalsh(A)[-1] + 0.25


@pytest.mark.parametrize("form", ["csr", "linear_operator", "torch", "user_with_norm"])
def test_dual_bound_same_for_every_operator_form(form):
    """Oracle: the numpy result. Every container of the same matrix gives the same rigorous value (to 1e-12)."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(8)
    A = rng.standard_normal((16, 16))
    A = A + A.T
    A[np.abs(A) < 0.8] = 0.0
    c = rng.standard_normal(16)
    ref = dual_bound(A, c, equal=[0], rng=1)
    M = {
        "csr": sp.csr_matrix(A),
        "linear_operator": spla.aslinearoperator(A),
        "torch": torch.tensor(A),
        "user_with_norm": UserOp(A, with_norm=True),
    }[form]
    b = dual_bound(M, c, equal=[0], rng=1)
    assert b.kind == "rigorous"
    assert b.value == pytest.approx(ref.value, rel=1e-12), f"{form}: {b.value!r} vs numpy {ref.value!r}"


# -- the probabilistic bound ---------------------------------------------------------------------------------
def _spectrum_psd_problem(kind: str, n: int, seed: int):
    rng = np.random.default_rng(seed)
    # λ_max = 0.5 while ||B|| = 1, so that the shifted matrix B + σI has room above λ_max
    if kind == "uniform":
        lam = np.concatenate([[0.5, -1.0], rng.uniform(-1, 0.5, n - 2)])
    elif kind == "needle":  # λ_max isolated by 1e-3 above a dense cluster: slow Lanczos convergence
        lam = np.concatenate([[0.5, -1.0], rng.uniform(0.49, 0.499, n // 2), rng.uniform(-1, 0.49, n - 2 - n // 2)])
    else:  # "hidden": λ_max = 0.5, next 0.4, then everything packed near −1 (largest in magnitude)
        lam = np.concatenate([[0.5, 0.4], rng.uniform(-1.0, -0.98, n - 2)])
    Q, _ = np.linalg.qr(rng.standard_normal((n, n)))
    B = (Q * lam) @ Q.T
    return 0.5 * (B + B.T)


@pytest.mark.parametrize("kind", ["uniform", "needle", "hidden"])
def test_probabilistic_lambda_max_upper_is_valid_over_many_seeds(kind):
    """Oracle: eigvalsh. With δ = 1e-9, 40 independent random starts × 60 Lanczos steps on n = 300: t ≥ λ_max
    every time (a single violation would be a 1e-9 event), and t < σ (the Kuczyński–Woźniakowski branch, not
    the trivial t = σ, is exercised)."""
    n = 300
    B = _spectrum_psd_problem(kind, n, 0)
    w = np.linalg.eigvalsh(B)
    lmax = float(w[-1])
    sigma = float(np.abs(w).max()) * (1 + 1e-10)  # a valid bound on ||B||_2
    for seed in range(40):
        t, theta, nmv = probabilistic_lambda_max_upper(
            lambda X: B @ X, n, sigma, delta=1e-9, steps=60, rng=np.random.default_rng(seed)
        )
        assert t >= lmax, f"{kind}, seed {seed}: t = {t!r} < λ_max = {lmax!r} (Ritz value {theta!r})"
        assert theta <= lmax + 1e-12 and t < sigma, f"{kind}, seed {seed}: θ = {theta}, t = {t}, σ = {sigma}"
        assert nmv == 60


def test_chebyshev_filter_is_the_polynomial():
    """p(A) X from the recurrence equals 1 + T_d(2λ/a − 1) on each eigenvalue (numpy's Chebyshev polynomial)."""
    rng = np.random.default_rng(0)
    lam = np.array([0.0, 0.3, 0.9, 1.0, 1.05, 1.4])
    a, d = 1.0, 7
    x = rng.standard_normal(6)
    out = chebyshev_filter(lambda X: lam[:, None] * X if X.ndim == 2 else lam * X, a, d)(x)
    want = (1.0 + np.polynomial.chebyshev.Chebyshev.basis(d)(2 * lam / a - 1)) * x
    assert np.allclose(out, want, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("kind", ["uniform", "needle", "hidden"])
def test_filtered_lambda_max_upper_is_valid_over_many_seeds(kind):
    """Oracle: eigvalsh. The Chebyshev-filtered bound (degree > 1) with δ = 1e-9 over 30 random starts, with the
    knee at a good estimate, at one far too low and at one above λ_max: t ≥ λ_max every time, and t < σ with a
    good estimate."""
    n = 300
    B = _spectrum_psd_problem(kind, n, 1)
    w = np.linalg.eigvalsh(B)
    lmax = float(w[-1])
    sigma = float(np.abs(w).max()) * (1 + 1e-10)
    for seed in range(30):
        for estimate in (lmax - 1e-4, -0.5, lmax + 0.01):
            t, theta, nmv, degree = filtered_lambda_max_upper(
                lambda X: B @ X, n, sigma, estimate, delta=1e-9, steps=400, rng=np.random.default_rng(seed)
            )
            assert degree > 1
            assert t >= lmax, f"{kind}, seed {seed}, estimate {estimate}: t = {t!r} < λ_max = {lmax!r}"
            if estimate == lmax - 1e-4:
                assert t < sigma


def test_filtered_bound_matches_plain_lanczos_with_as_many_products():
    """On a random graph's M − diag c (n = 1,500): the filtered bound with 1,000 products is within 2× of plain
    Lanczos with 1,000 fully reorthogonalised steps, and both are ≥ λ_max (eigvalsh)."""
    from sdpsolve import graphs

    M = sp.csr_matrix(graphs.random_graph(1500, edges=4000, rng=5).maxcut_matrix())
    c = 0.6 * np.asarray(abs(M).sum(axis=1)).ravel()
    B = (M - sp.diags(c)).tocsr()
    lmax = float(np.linalg.eigvalsh(B.toarray())[-1])
    sigma = float(abs(B).sum(axis=1).max())
    tp, _, _ = probabilistic_lambda_max_upper(lambda X: B @ X, 1500, sigma, delta=1e-9, steps=1000,
                                              rng=np.random.default_rng(2))
    tf, _, nmv, _ = filtered_lambda_max_upper(lambda X: B @ X, 1500, sigma, lmax - 1e-3, delta=1e-9, steps=1000,
                                              rng=np.random.default_rng(2))
    assert tp >= lmax and tf >= lmax
    assert 1000 <= nmv <= 1100
    assert tf - lmax <= 2.0 * (tp - lmax)


def test_dual_bound_uses_the_filter_for_many_steps():
    """A probabilistic bound that needs more Kuczyński–Woźniakowski steps than FILTER_KRYLOV runs the filter
    (its degree in the details) and stays ≥ λ_max."""
    from sdpsolve import graphs
    from sdpsolve._bounds import compute_bound

    M = sp.csr_matrix(graphs.random_graph(2000, edges=6000, rng=9).maxcut_matrix())
    c = 0.6 * np.asarray(abs(M).sum(axis=1)).ravel()
    lmax = float(np.linalg.eigvalsh((M - sp.diags(c)).toarray())[-1])
    b = compute_bound(sdpsolve.as_operator(M), c, np.ones(2000, dtype=bool), "probabilistic",
                      rng=np.random.default_rng(0), target_slack=1e-3)
    assert b.details.get("filter_degree", 1) > 1 and b.lambda_max_upper >= lmax


@pytest.mark.parametrize("seed", range(10))
def test_probabilistic_dual_bound_is_valid(seed):
    """Oracle: eigvalsh. dual_bound(kind="probabilistic") on dense and sparse matrices with random c:
    lambda_max_upper ≥ λ_max(M − diag c) for every seed."""
    rng = np.random.default_rng(seed)
    n = 40
    A = rng.standard_normal((n, n)) * (rng.random((n, n)) < 0.3)
    A = A + A.T
    c = rng.standard_normal(n)
    lmax = float(np.linalg.eigvalsh(A - np.diag(c))[-1])
    for M in (A, sp.csr_matrix(A)):
        b = dual_bound(M, c, kind="probabilistic", rng=seed)
        assert b.lambda_max_upper >= lmax, f"seed {seed}: t = {b.lambda_max_upper!r} < λ_max = {lmax!r}"


@pytest.mark.parametrize("form", ["dense", "sparse"])
def test_probabilistic_compute_bound_with_few_steps_is_valid(form):
    """Oracle: eigvalsh. The probabilistic path of compute_bound with the Lanczos budget capped (max_steps = 40
    < n = 400, so the Kuczyński–Woźniakowski branch and the proved shift σ = ||M|| bound + max|c| are used)
    gives t ≥ λ_max(M − diag c) for 20 seeds with random c."""
    from sdpsolve._bounds import compute_bound

    n = 400
    rng = np.random.default_rng(12)
    A = sp.random(n, n, density=0.02, random_state=12, data_rvs=rng.standard_normal).toarray()
    A = A + A.T
    op = sdpsolve.as_operator(A if form == "dense" else sp.csr_matrix(A))
    mask = np.zeros(n, dtype=bool)
    for seed in range(20):
        c = np.random.default_rng(seed).standard_normal(n)
        lmax = float(np.linalg.eigvalsh(A - np.diag(c))[-1])
        b = compute_bound(op, c, mask, "probabilistic", rng=np.random.default_rng(seed), max_steps=40)
        assert b.details["lanczos_steps"] == 40
        assert b.lambda_max_upper >= lmax, f"seed {seed}: t = {b.lambda_max_upper!r} < λ_max = {lmax!r}"
        assert b.kind == "probabilistic" and b.failure_probability == 1e-9


def test_kw_epsilon_and_steps_are_consistent():
    """Oracle: the defining equation 1.648 √n exp(−√ε (2k − 1)) = δ. kw_steps is the smallest k whose ε is
    within the target; ε decreases with k and with δ growing."""
    for n in (2, 10, 1000, 10**6):
        for delta in (1e-12, 1e-9, 1e-3, 0.5):
            for k in (1, 5, 50, 500):
                eps = kw_epsilon(n, k, delta)
                if eps < 1.0:
                    lhs = 1.648 * math.sqrt(n) * math.exp(-math.sqrt(eps) * (2 * k - 1))
                    assert lhs == pytest.approx(delta, rel=1e-9), f"n {n}, k {k}, δ {delta}: {lhs} ≠ δ"
                assert 0.0 <= eps <= 1.0
                assert kw_epsilon(n, k + 1, delta) <= eps
                assert kw_epsilon(n, k, min(0.9, delta * 10)) <= eps
            for eps in (1e-1, 1e-3, 1e-6, 1e-10):
                k = kw_steps(n, eps, delta)
                assert k >= 1
                assert kw_epsilon(n, k, delta) <= eps, f"n {n}, δ {delta}, ε {eps}: k = {k} is not enough"
                if k > 1:
                    assert kw_epsilon(n, k - 1, delta) > eps, f"n {n}, δ {delta}, ε {eps}: k = {k} not minimal"


# -- U(c, t) rounded upwards ---------------------------------------------------------------------------------
@pytest.mark.parametrize("seed", range(20))
def test_bound_value_rounds_upwards(seed):
    """Oracle: exact rational arithmetic. bound_value(c, t, mask) ≥ the exact U(c, t), and at most a few ulps of
    Σ|c_i + t| above; inputs include heavy cancellation (c ≈ −t)."""
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 50))
    t = float(rng.standard_normal() * 10.0 ** rng.integers(-5, 6))
    c = -t + rng.standard_normal(n) * 10.0 ** rng.integers(-17, 3, n) * abs(t)
    mask = rng.random(n) < 0.5
    exact = Fraction(0)
    size = Fraction(0)
    for ci, mi in zip(c, mask):
        y = Fraction(float(ci)) + Fraction(t)
        exact += y if mi else max(y, Fraction(0))
        size += abs(y)
    val = bound_value(c, t, mask)
    assert Fraction(val) >= exact, f"seed {seed}: bound_value {val!r} < exact {float(exact)!r}"
    assert Fraction(val) - exact <= 4 * n * Fraction(U) * size + Fraction(2.0**-1070), f"seed {seed}: too loose"


# -- validation ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "kwargs, exc, name",
    [
        ({"kind": "exact"}, ValueError, "`kind`"),
        ({"kind": None}, ValueError, "`kind`"),
        ({"c": np.zeros(3)}, ValueError, "`c`"),
        ({"c": np.full(4, np.nan)}, ValueError, "`c`"),
        ({"c": "abc"}, (TypeError, ValueError), "`c`"),
        ({"delta": 0.0}, ValueError, "`delta`"),
        ({"delta": 1.0}, ValueError, "`delta`"),
        ({"delta": -1e-3}, ValueError, "`delta`"),
        ({"delta": "small"}, TypeError, "`delta`"),
        ({"equal": [4]}, ValueError, "`equal`"),
        ({"equal": np.ones(3, dtype=bool)}, ValueError, "`equal`"),
        ({"equal": "some"}, ValueError, "`equal`"),
        ({"rng": "seed"}, TypeError, "`rng`"),
    ],
)
def test_dual_bound_validation(kwargs, exc, name):
    """Bad arguments raise ValueError/TypeError whose message names the argument."""
    args = {"c": np.zeros(4)}
    args.update(kwargs)
    c = args.pop("c")
    with pytest.raises(exc, match=name):
        dual_bound(np.eye(4), c, **args)
