"""sdpsolve.solve: every method on the catalogue and on random problems, early stops, bound kinds, the forms of
``equal`` and ``M``, argument validation, and a sparse MAXCUT instance.

Oracles: the catalogue optima (closed forms or CVXPY, ``tests.catalogue``), the CVXPY/Clarabel optimum
(``tests.oracles.sdp_optimum``, accurate to ~1e-9 relative; compared with 1e-7 · max(1, |OPT|)), and, for the
large MAXCUT instance, the value of a cut (a lower bound on the optimum) and the eigenvalue bound n·λ_max.
"""

from __future__ import annotations

import json
import math
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
import scipy.sparse.linalg as spla
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

import sdpsolve
from sdpsolve import METHODS, BoundError, NotConvergedWarning, Status, solve
from tests.catalogue import CATALOGUE, by_name
from tests.oracles import sdp_optimum
from tests.strategies import symmetric_matrices

ORACLE_RTOL = 1e-7  # how far the CVXPY value may be from the exact optimum (relative to max(1, |OPT|))
RTOL = 1e-4  # solve's default

#: the slow baseline; every other method (present or future) is held to the primal-method standard
SUBGRADIENT = "dual-subgradient"
#: iterations given to the dual-subgradient baseline (2000 takes minutes on cycle101: ~360 products per step)
SUBGRADIENT_ITERS_SMALL, SUBGRADIENT_ITERS_LARGE = 300, 50
#: measured (same for seeds 0-2): after those iterations its upper bound is within 4.5e-2 relative of the optimum
#: on the catalogue (worst: diagonal_E_all, 4.4e-2 at 300 iterations, 1.7e-2 at 2000; cycle101: 2.5e-2 at 50)
SUBGRADIENT_UPPER_RTOL = 5e-2


@pytest.fixture(autouse=True, scope="module")
def _one_blas_thread():
    """Small products gain nothing from BLAS threads, and on a 2-core CI machine they lose a lot."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1, user_api="blas"):
        yield


def _scale(x: float) -> float:
    return max(1.0, abs(x))


def _check_result(res, M, equal, opt, opt_tol, *, label, primal=True, rtol=RTOL):
    """Soundness against OPT, internal consistency (factor feasible, lower = <M, VVᵀ>), and tightness."""
    dense = M.toarray() if sp.issparse(M) else np.asarray(M)
    n = dense.shape[0]
    assert res.upper >= opt - opt_tol, f"{label}: upper {res.upper!r} < OPT {opt!r} (tol {opt_tol:.1e}) — UNSOUND"
    assert res.lower <= opt + opt_tol, f"{label}: lower {res.lower!r} > OPT {opt!r} (tol {opt_tol:.1e})"
    assert res.lower <= res.upper
    assert res.dual.shape == (n,) and np.all(np.isfinite(res.dual))
    if res.factor is not None:
        V = res.factor
        norms = np.linalg.norm(V, axis=1)
        mask = sdpsolve._validation.equal_mask(equal, n)
        assert np.all(norms <= 1 + 1e-12), f"{label}: factor rows outside the unit ball: {norms.max()!r}"
        assert np.all(np.abs(norms[mask] - 1) <= 1e-12), f"{label}: rows in E not on the unit sphere"
        value = float(np.sum(V * (dense @ V)))
        assert value == pytest.approx(res.lower, rel=1e-9, abs=1e-9), (
            f"{label}: lower {res.lower!r} ≠ <M,VVᵀ> {value!r}"
        )
    assert res.gap == pytest.approx((res.upper - res.lower) / _scale(res.upper), rel=1e-9, abs=1e-15)
    if res.status is Status.CONVERGED:
        assert res.upper - res.lower <= rtol * _scale(res.upper) * (1 + 1e-12), (
            f"{label}: 'converged' but gap {res.gap}"
        )
    if primal:
        assert res.status is Status.CONVERGED, f"{label}: status {res.status.value}: {res.message}"
    assert res.bound_kind == "rigorous" and res.failure_probability == 0.0
    assert res.n_iter >= 1 and res.time >= 0 and res.n_matvec >= 1


def _catalogue_params():
    out = []
    for method in METHODS:
        for p in CATALOGUE:
            marks = [pytest.mark.slow] if p.n > 60 else []
            out.append(pytest.param(method, p, id=f"{method}-{p.name}", marks=marks))
    return out


@pytest.mark.filterwarnings("ignore::sdpsolve.NotConvergedWarning")
@pytest.mark.parametrize("method, problem", _catalogue_params())
def test_catalogue(method, problem):
    """Oracle: the catalogue optimum. Always: upper ≥ OPT − tol (soundness), lower ≤ OPT + tol, a feasible factor
    whose value is `lower`. Primal methods (every method but the dual-subgradient baseline): converged with
    upper − lower ≤ rtol = 1e-4. The baseline: its upper bound within 5e-2 relative of OPT after 300 (n ≤ 60) or
    50 iterations (its rank-one primal is poor, so its lower bound is only checked for soundness)."""
    primal = method != SUBGRADIENT
    kwargs = {}
    if not primal:
        kwargs["max_iter"] = SUBGRADIENT_ITERS_SMALL if problem.n <= 60 else SUBGRADIENT_ITERS_LARGE
    res = solve(problem.matrix, equal=problem.equal, method=method, rng=0, **kwargs)
    label = f"{method} on {problem.name} (seed 0): OPT {problem.optimum!r}, lower {res.lower!r}, upper {res.upper!r}"
    assert res.method == method
    _check_result(res, problem.matrix, problem.equal, problem.optimum, problem.tolerance(), label=label, primal=primal)
    if not primal:
        excess = (res.upper - problem.optimum) / _scale(problem.optimum)
        assert excess <= SUBGRADIENT_UPPER_RTOL, f"{label}: upper bound {excess:.2e} relative above OPT"


def test_subgradient_estimates_never_fall_below_the_primal_value():
    """Oracle: weak duality. An upper estimate below a feasible value <M, VVᵀ> proves the Ritz value was wrong
    (by more than rounding). On rank_one_n200_E_none no history entry may have upper_estimate < lower."""
    p = by_name("rank_one_n200_E_none")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotConvergedWarning)
        res = solve(p.matrix, equal=p.equal, method=SUBGRADIENT, rng=0, max_iter=200)
    bad = [h for h in res.history if h["upper_estimate"] < h["lower"] - 1e-9 * _scale(h["lower"])]
    assert not bad, f"seed 0: {len(bad)} checks with upper_estimate < lower, e.g. {bad[0]}"


# -- property tests against CVXPY ----------------------------------------------------------------------------
E_CHOICES = [None, [0], "all"]
#: shrinking re-solves with CVXPY hundreds of times (minutes); the failing example is printed without it
NO_SHRINK = [Phase.explicit, Phase.reuse, Phase.generate]


def _property_check(M, equal, methods):
    dense = M.toarray() if sp.issparse(M) else (M @ np.eye(M.shape[0]) if not isinstance(M, np.ndarray) else M)
    opt = sdp_optimum(dense, equal)
    tol = ORACLE_RTOL * _scale(opt)
    for method in methods:
        primal = method != SUBGRADIENT
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", NotConvergedWarning)
            res = solve(M, equal=equal, method=method, rng=0, max_iter=None if primal else 200)
        label = (
            f"{method}, n {dense.shape[0]}, equal {equal}, {type(M).__name__}: OPT {opt!r}, "
            f"lower {res.lower!r}, upper {res.upper!r}, status {res.status.value}"
        )
        _check_result(res, dense, equal, opt, tol, label=label, primal=primal)


PRIMAL_METHODS = [m for m in METHODS if m != SUBGRADIENT]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True,
          phases=NO_SHRINK)
@given(
    M=symmetric_matrices(1, 12, formats=("dense", "sparse", "linear_operator")),
    equal=st.sampled_from(E_CHOICES),
)
def test_property_small_against_cvxpy(M, equal):
    """Oracle: CVXPY. Random symmetric M (all structures, n ≤ 12, dense / sparse / LinearOperator) with
    E = ∅, {0}, all: lower ≤ OPT + tol ≤ upper + 2 tol for every method; primal methods converge with gap ≤ 1e-4.
    The failure message carries the matrix size, E, both bounds and OPT (hypothesis prints the example)."""
    _property_check(M, equal, list(METHODS))


@pytest.mark.slow
@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True,
          phases=NO_SHRINK)
@given(
    M=symmetric_matrices(20, 30, structure="general", max_abs=10.0),
    equal=st.sampled_from(E_CHOICES),
)
def test_property_larger_against_cvxpy(M, equal):
    """Oracle: CVXPY. General dense M with 20 ≤ n ≤ 30, primal methods only (as above)."""
    _property_check(M, equal, PRIMAL_METHODS)


@pytest.mark.slow
@pytest.mark.parametrize("equal", E_CHOICES, ids=["E_none", "E_0", "E_all"])
@pytest.mark.parametrize("seed", [0, 1])
def test_gaussian_n30_against_cvxpy(seed, equal):
    """Oracle: CVXPY. A Gaussian (GOE-like) 30×30 matrix, the typical hard-ish case (no structure, rank of the
    optimum > 1): every method is sound, primal methods converge with gap ≤ 1e-4."""
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((30, 30))
    _property_check(A + A.T, equal, list(METHODS))


# -- early stops ---------------------------------------------------------------------------------------------
EARLY = by_name("cycle101_maxcut_E_all")  # no method converges within one iteration here


def _early_stop_check(res, status, label):
    assert res.status is status, f"{label}: status {res.status.value} ({res.message})"
    assert not res.converged
    assert res.upper >= EARLY.optimum - EARLY.tolerance(), f"{label}: upper {res.upper!r} < OPT {EARLY.optimum!r}"
    assert res.lower <= EARLY.optimum + EARLY.tolerance()
    assert res.bound_kind == "rigorous"
    assert res.history, f"{label}: no history"
    for h in res.history:
        assert {"iteration", "lower", "upper_estimate", "gap_estimate", "n_matvec", "time"} <= set(h), h
        assert "upper" not in h, "a history entry must not present an estimate as a bound"


@pytest.mark.parametrize("method", list(METHODS))
def test_max_iter_one(method):
    """Oracle: the closed-form optimum of C_101. max_iter = 1 stops after one iteration with status max_iter, a
    NotConvergedWarning (pointing at the caller), and an upper bound that is still ≥ OPT."""
    with pytest.warns(NotConvergedWarning, match="did not converge"):
        res = solve(EARLY.matrix, equal=EARLY.equal, method=method, max_iter=1, rng=0)
    _early_stop_check(res, Status.MAX_ITER, f"{method}, max_iter=1")
    assert res.n_iter == 1
    assert "max_iter" in res.message


def test_not_converged_warning_points_at_the_caller():
    with pytest.warns(NotConvergedWarning) as rec:
        solve(EARLY.matrix, equal=EARLY.equal, max_iter=1, rng=0)
    assert [w.filename for w in rec if w.category is NotConvergedWarning] == [__file__]


@pytest.mark.parametrize("method", list(METHODS))
def test_time_limit(method):
    """A tiny time limit stops at the first check: status time_limit, a NotConvergedWarning, valid bound."""
    with pytest.warns(NotConvergedWarning, match="time limit"):
        res = solve(EARLY.matrix, equal=EARLY.equal, method=method, time_limit=1e-9, rng=0)
    _early_stop_check(res, Status.TIME_LIMIT, f"{method}, time_limit=1e-9")


@pytest.mark.parametrize("method", list(METHODS))
def test_callback_stops(method):
    """A callback returning True stops the solver: status callback, no warning (the user asked for it), valid
    bound; the callback saw estimates (labelled as such), not bounds."""
    seen = []

    def stop(info):
        seen.append(info)
        return True

    with warnings.catch_warnings():
        warnings.simplefilter("error", NotConvergedWarning)
        res = solve(EARLY.matrix, equal=EARLY.equal, method=method, callback=stop, rng=0)
    _early_stop_check(res, Status.CALLBACK, f"{method}, callback")
    assert len(seen) == 1
    info = seen[0]
    assert info.iteration >= 1 and info.n_matvec >= 1 and info.time >= 0
    assert info.gap_estimate == pytest.approx((info.upper_estimate - info.lower) / _scale(info.upper_estimate))


def test_callback_false_keeps_going():
    """A callback returning False/None does not stop the solver; it is called at every gap check that does not
    end the run (the converging check itself skips it)."""
    calls = []
    p = by_name("indefinite7_E_none")
    res = solve(p.matrix, equal=p.equal, callback=lambda info: calls.append(info), rng=0)
    assert res.status is Status.CONVERGED
    assert len(calls) >= max(1, len(res.history) - 1), f"{len(calls)} calls for {len(res.history)} checks"
    assert [c.iteration for c in calls] == sorted(c.iteration for c in calls)


# -- bound kinds ---------------------------------------------------------------------------------------------
KIND_PROBLEM = by_name("indefinite7_E_0")


def test_bound_probabilistic():
    """Oracle: the catalogue optimum. bound='probabilistic' reports that kind with δ (default 1e-9, or
    options['delta']) and a valid, tight upper bound."""
    p = KIND_PROBLEM
    res = solve(p.matrix, equal=p.equal, bound="probabilistic", rng=0)
    assert res.bound_kind == "probabilistic" and res.failure_probability == 1e-9
    assert p.optimum - p.tolerance() <= res.upper <= p.optimum + 1e-3 * _scale(p.optimum)
    res = solve(p.matrix, equal=p.equal, bound="probabilistic", options={"delta": 1e-4}, rng=0)
    assert res.failure_probability == 1e-4
    assert "probabilistic" in str(res) and "failure probability" in str(res)


def test_bound_estimate():
    """bound='estimate' is labelled as such, with failure probability nan (it is not a bound)."""
    p = KIND_PROBLEM
    res = solve(p.matrix, equal=p.equal, bound="estimate", rng=0)
    assert res.bound_kind == "estimate" and math.isnan(res.failure_probability)
    assert res.upper == pytest.approx(p.optimum, rel=1e-3)


def test_rigorous_max_n_fallback():
    """n above options['rigorous_max_n']: a warning naming the option, and the result says probabilistic."""
    p = by_name("weighted_maxcut12_E_all")
    with pytest.warns(UserWarning, match="rigorous_max_n"):
        res = solve(p.matrix, equal=p.equal, options={"rigorous_max_n": 5}, rng=0)
    assert res.bound_kind == "probabilistic" and res.failure_probability == 1e-9
    assert res.upper >= p.optimum - p.tolerance()


def test_probabilistic_needs_norm_bound_through_solve():
    """An implicit operator without norm_bound cannot be reported probabilistically: BoundError naming it."""
    p = KIND_PROBLEM
    with pytest.raises(BoundError, match="norm_bound"):
        solve(spla.aslinearoperator(p.dense()), equal=p.equal, bound="probabilistic", rng=0)


# -- equal= --------------------------------------------------------------------------------------------------
def _same(n, which):
    idx = {"none": [], "zero": [0], "all": list(range(n))}[which]
    mask = np.zeros(n, dtype=bool)
    mask[idx] = True
    forms = [idx, tuple(idx), np.array(idx, dtype=np.int64), mask]
    forms += {"none": [None, "none"], "zero": [], "all": ["all"]}[which]
    return forms


@pytest.mark.parametrize(
    "which, entry", [("none", "indefinite7_E_none"), ("zero", "indefinite7_E_0"), ("all", "indefinite7_E_all")]
)
def test_equal_forms(which, entry):
    """Oracle: the catalogue optimum for E = ∅, {0}, all (three different values on indefinite7). Every way of
    writing E (indices as list, tuple or array, boolean mask, 'all', 'none', None) gives that optimum."""
    p = by_name(entry)
    for equal in _same(p.n, which):
        res = solve(p.matrix, equal=equal, rng=0)
        label = f"equal={equal!r}: upper {res.upper!r}, OPT {p.optimum!r}"
        assert p.optimum - p.tolerance() <= res.upper <= p.optimum + RTOL * _scale(p.optimum), label
        assert res.lower <= p.optimum + p.tolerance(), label


@pytest.mark.parametrize(
    "equal, exc",
    [
        ([7], ValueError),
        ([0, 100], ValueError),
        ([-1], ValueError),
        (np.ones(6, dtype=bool), ValueError),
        (np.ones(8, dtype=bool), ValueError),
        ([0.5], TypeError),
        (np.array([[0, 1]]), TypeError),
        ("some", ValueError),
    ],
    ids=["index_n", "index_100", "negative", "mask_short", "mask_long", "float", "2d", "string"],
)
def test_equal_bad(equal, exc):
    """Out-of-range indices, a wrong-length mask, non-integer indices: ValueError/TypeError naming `equal`."""
    with pytest.raises(exc, match="`equal`"):
        solve(KIND_PROBLEM.matrix, equal=equal)


# -- argument validation -------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "kwargs, exc, name",
    [
        ({"rtol": -1.0}, ValueError, "`rtol`"),
        ({"rtol": float("nan")}, ValueError, "`rtol`"),
        ({"rtol": float("inf")}, ValueError, "`rtol`"),
        ({"rtol": "1e-4"}, TypeError, "`rtol`"),
        ({"rtol": True}, TypeError, "`rtol`"),
        ({"atol": -1e-9}, ValueError, "`atol`"),
        ({"rtol": 0.0, "atol": 0.0}, ValueError, "`rtol`"),
        ({"method": "interior-point"}, ValueError, "`method`"),
        ({"method": None}, ValueError, "`method`"),
        ({"bound": "exact"}, ValueError, "`bound`"),
        ({"options": {"rnak": 3}}, ValueError, "`options`"),
        ({"options": {"delta": 2.0}}, ValueError, "delta"),
        ({"callback": 3}, TypeError, "`callback`"),
        ({"max_iter": 0}, ValueError, "`max_iter`"),
        ({"max_iter": -5}, ValueError, "`max_iter`"),
        ({"max_iter": 2.5}, TypeError, "`max_iter`"),
        ({"time_limit": 0.0}, ValueError, "`time_limit`"),
        ({"time_limit": -1.0}, ValueError, "`time_limit`"),
        ({"rng": "seed"}, TypeError, "`rng`"),
    ],
    ids=lambda v: repr(v) if not isinstance(v, type) else v.__name__,
)
def test_bad_arguments(kwargs, exc, name):
    """Bad arguments raise ValueError/TypeError whose message names the argument (before any work)."""
    with pytest.raises(exc, match=name):
        solve(np.eye(3), **kwargs)


def test_option_keys_are_documented():
    """Every accepted options key has a description; every method name is a string key of METHODS."""
    assert all(isinstance(k, str) and isinstance(v, str) and v for k, v in sdpsolve.OPTION_KEYS.items())
    assert all(isinstance(k, str) and callable(v) for k, v in METHODS.items())
    assert {"mixing", "lowrank", SUBGRADIENT} <= set(METHODS)


# -- operator forms ------------------------------------------------------------------------------------------
class MatvecOnly:
    def __init__(self, A):
        self._A = A
        self.shape = A.shape

    def matvec(self, x):
        return self._A @ x


class MatmatTorch:
    def __init__(self, A):
        import torch

        self._T = torch.tensor(A)
        self.shape = A.shape

    def matmat(self, X):
        import torch

        return self._T @ torch.as_tensor(X)


def _operator_forms(A):
    torch = pytest.importorskip("torch")
    return {
        "numpy": A,
        "csr": sp.csr_matrix(A),
        "coo": sp.coo_matrix(A),
        "linear_operator": spla.aslinearoperator(A),
        "torch_f64": torch.tensor(A),
        "torch_f32": torch.tensor(A, dtype=torch.float32),  # entries are halves: exact in float32
        "user_matvec": MatvecOnly(A),
        "user_matmat_torch": MatmatTorch(A),
    }


@pytest.mark.parametrize(
    "form", ["numpy", "csr", "coo", "linear_operator", "torch_f64", "torch_f32", "user_matvec", "user_matmat_torch"]
)
@pytest.mark.parametrize("method", ["auto", *METHODS])
def test_every_operator_form_through_solve(form, method):
    """Oracle: the catalogue optimum of indefinite7_E_0. Every container of M gives a valid rigorous bound and
    (primal methods) the same answer to the tolerance."""
    p = KIND_PROBLEM
    M = _operator_forms(p.dense())[form]
    primal = method != SUBGRADIENT
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotConvergedWarning)
        res = solve(M, equal=p.equal, method=method, rng=0, max_iter=None if primal else 300)
    label = f"{form}, {method}: lower {res.lower!r}, upper {res.upper!r}, OPT {p.optimum!r}"
    _check_result(res, p.dense(), p.equal, p.optimum, p.tolerance(), label=label, primal=primal)
    if method == "auto":
        assert res.method == "mixing"


def test_auto_chooses_lowrank_for_large_implicit_operators():
    """'auto' with an implicit operator above options['dense_max_n'] runs the matrix-free method."""
    p = KIND_PROBLEM
    res = solve(spla.aslinearoperator(p.dense()), equal=p.equal, options={"dense_max_n": 3}, rng=0)
    assert res.method == "lowrank"
    assert p.optimum - p.tolerance() <= res.upper <= p.optimum + RTOL * _scale(p.optimum)


def test_torch_cpu_tensor_input():
    """Oracle: closed form ‖v‖₁². A CPU torch tensor (float64 and float32, requires_grad) solves like numpy."""
    torch = pytest.importorskip("torch")
    v = torch.tensor([1.0, -2.0, 0.5, 0.0, 3.0], dtype=torch.float64)
    M = torch.outer(v, v).requires_grad_(True)
    opt = float(v.abs().sum()) ** 2
    for T in (M, M.detach().float()):
        res = solve(T, rng=0)
        assert opt - 1e-12 * opt <= res.upper <= opt * (1 + RTOL), f"{T.dtype}: upper {res.upper!r}, OPT {opt!r}"
        assert res.bound_kind == "rigorous"


def test_result_is_serialisable():
    """to_dict gives JSON-compatible data; status is a readable sentence with the bound kind."""
    res = solve(KIND_PROBLEM.matrix, equal=KIND_PROBLEM.equal, rng=0)
    d = json.loads(json.dumps(res.to_dict(arrays=True)))
    assert d["status"] == "converged" and d["bound_kind"] == "rigorous" and len(d["dual"]) == 7
    assert "rigorous bound" in res.message


def test_same_seed_same_result():
    p = by_name("weighted_maxcut12_E_all")
    a, b = solve(p.matrix, equal="all", rng=3), solve(p.matrix, equal="all", rng=3)
    assert a.upper == b.upper and a.lower == b.lower


# -- a sparse MAXCUT instance --------------------------------------------------------------------------------
def random_maxcut(n: int, degree: int, seed: int) -> sp.csr_matrix:
    """L/4 of a random graph with about n·degree/2 edges (unit weights)."""
    rng = np.random.default_rng(seed)
    m = n * degree // 2
    i, j = rng.integers(0, n, m), rng.integers(0, n, m)
    keep = i != j
    W = sp.coo_matrix((np.ones(keep.sum()), (i[keep], j[keep])), shape=(n, n)).tocsr()
    W = ((W + W.T) > 0).astype(np.float64)
    L = sp.diags(np.asarray(W.sum(axis=1)).ravel()) - W
    return sp.csr_matrix(L / 4.0)


@pytest.mark.slow
def test_sparse_maxcut_n2000():
    """Oracles: any cut x gives xᵀMx ≤ OPT, and n·λ_max(M) ≥ OPT (dual c = 0). On a random graph with n = 2000
    (sparse, E = all): converged with gap ≤ rtol = 1e-3, rigorous bound; the bound is ≥ the best of 10
    Goemans–Williamson cuts from the factor, which reach ≥ 0.85 of the lower bound; the bound is below the
    eigenvalue bound."""
    seed = 0
    M = random_maxcut(2000, 6, seed)
    res = solve(M, equal="all", rng=seed, rtol=1e-3)
    label = f"seed {seed}: lower {res.lower!r}, upper {res.upper!r}"
    assert res.status is Status.CONVERGED, f"{label}: {res.message}"
    assert res.bound_kind == "rigorous" and res.method == "mixing"
    assert res.lower <= res.upper and res.upper - res.lower <= 1e-3 * res.upper, label
    rng = np.random.default_rng(seed)
    V = res.factor
    cut = max(float(x @ (M @ x)) for x in (np.sign(V @ rng.standard_normal(V.shape[1])) for _ in range(10)))
    assert cut <= res.upper, f"{label}: a cut of value {cut} exceeds the upper bound"
    assert cut >= 0.85 * res.lower, f"{label}: best rounded cut {cut} < 0.85 × lower"
    lam = float(spla.eigsh(M, k=1, which="LA", return_eigenvectors=False)[0])
    assert res.upper <= 2000 * lam * (1 + 1e-9), f"{label}: worse than the eigenvalue bound {2000 * lam}"


@pytest.mark.parametrize("method", list(METHODS))
def test_lobpcg_eigensolver_option(method):
    """Oracle: the catalogue optimum of indefinite7_E_0. options={'eigensolver': 'lobpcg'} gives a valid bound
    (and, for primal methods, the same converged answer); an unknown eigensolver is refused by name."""
    p = KIND_PROBLEM
    primal = method != SUBGRADIENT
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotConvergedWarning)
        res = solve(
            p.matrix,
            equal=p.equal,
            method=method,
            rng=0,
            options={"eigensolver": "lobpcg"},
            max_iter=None if primal else 300,
        )
    label = f"lobpcg, {method}: lower {res.lower!r}, upper {res.upper!r}, OPT {p.optimum!r}"
    _check_result(res, p.dense(), p.equal, p.optimum, p.tolerance(), label=label, primal=primal)
    with pytest.raises(ValueError, match="`eigensolver`"):
        solve(p.matrix, equal=p.equal, method=method, options={"eigensolver": "arpack"})
