"""sdpsolve.solve_lagrangian on DenseLagrangianProblem instances: soundness and tightness against CVXPY, the bound
at every stop, bound kinds, early decisions, the reported certificate, argument validation.

Oracles:

* ``tests.oracles.lagrangian_optimum`` — the CVXPY/Clarabel optimum of
  max <M0, P> + c0 s.t. P ⪰ 0, P_ii ≤ 1 (i ∉ E), P_ii = 1 (i ∈ E), <A_k, P> + β_k ≥ 0 / = 0 (accurate to about
  1e-8 relative on these problems). Soundness: ``upper ≥ OPT − 1e-6 · max(1, |OPT|)`` always; tightness:
  ``upper ≤ OPT + 1e-3 · max(1, |OPT|)`` when the solver reports convergence.
* weak duality recomputed in numpy: the reported (dual c, multipliers θ) give
  U(c, λ_max(M(θ) − diag c); M(θ)) + c0 + Σ θ_k β_k ≤ ``upper`` (the certificate proves the number reported).

Problems are built feasible from a seed (:func:`problem`): a strictly feasible P0 (full rank, diag < 1 off E,
= 1 on E) fixes β (β_k = s_k − <A_k, P0>, slack s_k > 0 on inequality rows, 0 on equality rows, fewer equality
rows than the free dimensions of P so that the feasible set keeps an interior), and row 0, when it is an
inequality, caps the objective (A_0 = −M0) so that at least one row is active at the optimum.
"""

from __future__ import annotations

import functools
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

import sdpsolve
from sdpsolve import (
    LAGRANGIAN_OPTIONS,
    DenseLagrangianProblem,
    LagrangianResult,
    NotConvergedWarning,
    Status,
    solve_lagrangian,
)
from tests.oracles import lagrangian_optimum

SOUND_RTOL = 1e-6  # upper ≥ OPT − SOUND_RTOL · max(1, |OPT|): the oracle's accuracy with a wide margin
TIGHT_RTOL = 1e-3  # upper ≤ OPT + TIGHT_RTOL · max(1, |OPT|) when converged (solve_lagrangian's default rtol)
#: shrinking re-solves with CVXPY many times; the failing example is printed without it
NO_SHRINK = [Phase.explicit, Phase.reuse, Phase.generate]


@pytest.fixture(autouse=True, scope="module")
def _one_blas_thread():
    """Tiny products gain nothing from BLAS threads, and on a 2-core CI machine they lose a lot."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1, user_api="blas"):
        yield


# -- problems and their optima ------------------------------------------------------------------------------
def problem_data(seed: int, n: int, m: int, n_eq: int, equal: tuple[int, ...]):
    """(M0, A, β, equality, E, c0) of a feasible problem with a strictly feasible point (module docstring).

    The last ``n_eq`` rows are equalities; ``n_eq + |E|`` must stay below n(n+1)/2 (the dimension of P) for the
    feasible set to keep an interior.
    """
    if n_eq + len(equal) >= n * (n + 1) // 2 and n_eq > 0:
        raise ValueError(f"n_eq = {n_eq} with |E| = {len(equal)} leaves no interior for n = {n}.")
    rng = np.random.default_rng(seed)
    B = rng.standard_normal((n, n))
    M0 = 0.5 * (B + B.T)
    A = rng.standard_normal((m, n, n))
    A = 0.5 * (A + A.transpose(0, 2, 1))
    V0 = rng.standard_normal((n, n))
    V0 /= np.linalg.norm(V0, axis=1, keepdims=True)
    V0 *= rng.uniform(0.5, 0.95, (n, 1))
    E = list(equal)
    if E:
        V0[E] /= np.linalg.norm(V0[E], axis=1, keepdims=True)
    P0 = V0 @ V0.T
    equality = np.zeros(m, dtype=bool)
    equality[m - n_eq :] = True
    if m and not equality[0]:
        A[0] = -M0  # <M0, P> ≤ <M0, P0> + s_0: active unless P0 is already optimal
    slack = np.where(equality, 0.0, rng.uniform(0.0, 1.0, m))
    beta = slack - np.einsum("kij,ij->k", A, P0)
    c0 = float(rng.standard_normal())
    return M0, A, beta, equality, E, c0


def problem(seed, n, m, n_eq, equal) -> DenseLagrangianProblem:
    M0, A, beta, equality, E, c0 = problem_data(seed, n, m, n_eq, equal)
    return DenseLagrangianProblem(M0, A, beta, equality=equality, equal=E, c0=c0)


@functools.cache
def optimum(seed, n, m, n_eq, equal) -> float:
    M0, A, beta, equality, E, c0 = problem_data(seed, n, m, n_eq, equal)
    return lagrangian_optimum(M0, A, beta, equality=equality, equal=E, c0=c0)


def scale(x: float) -> float:
    return max(1.0, abs(x))


def certificate_value(prob: DenseLagrangianProblem, res: LagrangianResult) -> float:
    """U(c, λ_max(M(θ) − diag c); M(θ)) + c0 + Σ θ_k β_k from the reported (c, θ), with numpy's eigvalsh."""
    theta, c = res.theta, res.dual
    M = prob.M0 + np.tensordot(theta, prob.A, axes=1)
    t = float(np.linalg.eigvalsh(M - np.diag(c))[-1])
    mask = np.zeros(prob.n, dtype=bool)
    mask[prob.equal] = True
    y = np.where(mask, c + t, np.maximum(c + t, 0.0))
    return float(np.sum(y)) + prob.c0 + float(theta @ prob.beta)


def check_result(prob, res: LagrangianResult, opt: float, label: str, *, tight: bool = True) -> None:
    """Soundness, tightness when converged, and the internal consistency of the result."""
    tol = SOUND_RTOL * scale(opt)
    assert res.upper >= opt - tol, f"{label}: upper {res.upper!r} < OPT {opt!r} — UNSOUND ({res.message})"
    if tight and res.status is Status.CONVERGED:
        assert res.upper <= opt + TIGHT_RTOL * scale(opt), (
            f"{label}: converged but upper {res.upper!r} > OPT {opt!r} + {TIGHT_RTOL:g}·max(1, |OPT|) ({res.message})"
        )
    assert res.bound_kind == "rigorous" and res.failure_probability == 0.0, f"{label}: {res.bound_kind}"
    assert res.gap == pytest.approx((res.upper - res.lower) / scale(res.upper), rel=1e-9, abs=1e-15)
    # the certificate: the reported (c, θ) prove the reported number (θ within the sign constraints)
    assert res.theta.shape == (prob.m,) and res.dual.shape == (prob.n,)
    assert np.all(res.theta[~prob.equality] >= 0), f"{label}: negative multiplier on an inequality row"
    value = certificate_value(prob, res)
    assert value <= res.upper + 1e-9 * scale(res.upper), (
        f"{label}: the reported (dual, theta) give {value!r} > upper {res.upper!r}"
    )
    # the primal point: rows in the unit ball (sphere on E), lower and violation are its values
    V = res.factor
    norms = np.linalg.norm(V, axis=1)
    assert np.all(norms <= 1 + 1e-12), f"{label}: factor rows outside the unit ball ({norms.max()!r})"
    assert np.all(np.abs(norms[prob.equal] - 1) <= 1e-12), f"{label}: rows in E not on the unit sphere"
    assert res.lower == pytest.approx(prob.objective_value(V), rel=1e-12, abs=1e-12)
    g = prob.constraint_values(V) / prob.row_scale
    viol = np.where(prob.equality, np.abs(g), np.maximum(-g, 0.0))
    assert res.violation == pytest.approx(float(np.max(viol, initial=0.0)), rel=1e-9, abs=1e-12)
    assert res.n_iter >= 1 and res.n_matvec >= 1 and res.time >= 0


# -- soundness and tightness against CVXPY ------------------------------------------------------------------
@st.composite
def problem_keys(draw):
    """(seed, n, m, n_eq, E): n ≤ 15, m ≤ 4 rows, E = ∅ or {0}, equality rows only where P keeps an interior."""
    n = draw(st.integers(1, 15))
    m = draw(st.integers(1, 4))
    equal = draw(st.sampled_from([(), (0,)]))
    room = n * (n + 1) // 2 - len(equal) - 1
    n_eq = draw(st.integers(0, max(0, min(m, room))))
    return draw(st.integers(0, 2**32 - 1)), n, m, n_eq, equal


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True,
          phases=NO_SHRINK)
@given(key=problem_keys())
def test_property_sound_and_tight_against_cvxpy(key):
    """Oracle: CVXPY. Random feasible problems (n ≤ 15, ≤ 4 rows, E = ∅ or {0}): upper ≥ OPT − 1e-6·max(1, |OPT|);
    when converged, upper ≤ OPT + 1e-3·max(1, |OPT|); the reported certificate proves the reported bound."""
    seed, n, m, n_eq, equal = key
    opt = optimum(*key)
    prob = problem(*key)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotConvergedWarning)
        res = solve_lagrangian(prob, rng=0)
    label = (f"problem(seed={seed}, n={n}, m={m}, n_eq={n_eq}, equal={equal}): OPT {opt!r}, upper {res.upper!r}, "
             f"lower {res.lower!r}, status {res.status.value}")
    check_result(prob, res, opt, label)


#: fixed problems that need several rounds (equality rows), E = ∅ and {0}
SLOW = [(11, 8, 3, 2, ()), (12, 8, 3, 2, (0,))]


@pytest.mark.parametrize("key", SLOW, ids=["E_none", "E_0"])
def test_converges_on_problems_with_equality_rows(key):
    """Oracle: CVXPY. Sound, converged and tight at the default rtol, with equality and inequality rows."""
    prob, opt = problem(*key), optimum(*key)
    res = solve_lagrangian(prob, rng=0)
    label = f"problem{key}: OPT {opt!r}, upper {res.upper!r}, lower {res.lower!r}"
    assert res.status is Status.CONVERGED, f"{label}: {res.message}"
    assert res.decision is None
    check_result(prob, res, opt, label)
    assert res.n_iter > 1, f"{label}: the early-stop tests below need a problem that takes several rounds"
    assert res.history and len(res.history) == res.n_iter


def test_docstring_example():
    """Oracle: hand computation. max 2 P_01 s.t. P_01 ≤ 0.5 with P_ii ≤ 1 is 1."""
    M0 = np.array([[0.0, 1.0], [1.0, 0.0]])
    A = [-np.array([[0.0, 0.5], [0.5, 0.0]])]
    prob = DenseLagrangianProblem(M0, A, [0.5])
    res = solve_lagrangian(prob, rtol=1e-4)
    check_result(prob, res, 1.0, "docstring example")
    assert res.status is Status.CONVERGED and res.upper == pytest.approx(1.0, abs=1e-4)


def test_problem_without_rows_matches_solve():
    """Oracle: sdpsolve.solve and CVXPY. With m = 0 the Lagrangian mode is (P) plus the constant c0."""
    rng = np.random.default_rng(5)
    B = rng.standard_normal((6, 6))
    M0 = B + B.T
    prob = DenseLagrangianProblem(M0, np.zeros((0, 6, 6)), np.zeros(0), equal=[0], c0=0.25)
    res = solve_lagrangian(prob, rng=0)
    opt = sdpsolve.solve(M0, equal=[0], rtol=1e-8, rng=0).upper + 0.25
    check_result(prob, res, lagrangian_optimum(M0, np.zeros((0, 6, 6)), [], equal=[0], c0=0.25), "m = 0")
    assert res.upper == pytest.approx(opt, rel=TIGHT_RTOL)


def test_multipliers_from_theta0_stay_sound():
    """Oracle: CVXPY. Any starting multipliers (negative ones on inequality rows are projected) give sound bounds."""
    key = SLOW[1]
    prob, opt = problem(*key), optimum(*key)
    for theta0 in (np.full(prob.m, -3.0), np.full(prob.m, 50.0)):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", NotConvergedWarning)
            res = solve_lagrangian(prob, theta0=theta0, rng=1, max_iter=3)
        check_result(prob, res, opt, f"problem{key}, theta0 {theta0[0]}: OPT {opt!r}, upper {res.upper!r}")


#: tiny problems where M0 ⪯ 0 pulls every row of V to 0 while the rows demand P ≠ 0; V = 0 is a stationary point
#: of the augmented Lagrangian for any (μ, ρ) (its gradient is 2 M(θ) V = 0), so the solver must restart the
#: collapsed rows (before that fix: bound stuck at e.g. 5.73 for OPT 0.58 on (280408, 1, 4, 0, ())).
ZERO_FACTOR_STALLS = [(280408, 1, 4, 0, ()), (852146, 1, 2, 0, ()), (10104, 2, 3, 0, ()), (296149, 2, 1, 1, ())]


@pytest.mark.parametrize("key", ZERO_FACTOR_STALLS, ids=[f"seed{k[0]}_n{k[1]}" for k in ZERO_FACTOR_STALLS])
def test_tiny_problems_converge(key):
    """Oracle: CVXPY. The solver converges on feasible problems of size 1 and 2 (n ≤ 15 property, pinned)."""
    prob, opt = problem(*key), optimum(*key)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotConvergedWarning)
        res = solve_lagrangian(prob, rng=0)
    label = f"problem{key}: OPT {opt!r}, upper {res.upper!r}, lower {res.lower!r}, violation {res.violation:.2e}"
    check_result(prob, res, opt, label)
    assert res.status is Status.CONVERGED, f"{label}: {res.message}"


def test_no_nan_on_a_tiny_problem():
    """Oracle: CVXPY. n = 2, four inequality rows: the solver must return a sound bound, not raise."""
    key = (55333, 2, 4, 0, ())
    prob, opt = problem(*key), optimum(*key)
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore", NotConvergedWarning)
        res = solve_lagrangian(prob, rng=0)
    check_result(prob, res, opt, f"problem{key}: OPT {opt!r}, upper {res.upper!r}")


# -- the bound at every stop --------------------------------------------------------------------------------
@pytest.mark.parametrize("key", SLOW, ids=["E_none", "E_0"])
def test_bound_is_certified_at_every_stop(key):
    """Oracle: CVXPY. max_iter=1, a tiny time limit and a callback that stops: each returns an upper bound
    ≥ OPT of kind "rigorous" (no primal-method convergence needed); the unconverged ones warn."""
    prob, opt = problem(*key), optimum(*key)
    with pytest.warns(NotConvergedWarning):
        res = solve_lagrangian(prob, max_iter=1, rng=0)
    assert res.status is Status.MAX_ITER and res.n_iter == 1, res.message
    check_result(prob, res, opt, f"problem{key} max_iter=1: OPT {opt!r}, upper {res.upper!r}")

    with pytest.warns(NotConvergedWarning):
        res = solve_lagrangian(prob, time_limit=1e-9, rng=0)
    assert res.status is Status.TIME_LIMIT and res.n_iter == 1, res.message
    check_result(prob, res, opt, f"problem{key} time_limit: OPT {opt!r}, upper {res.upper!r}")

    seen = []

    def stop_at_two(info):
        seen.append(info)
        return info["iteration"] >= 2

    res = solve_lagrangian(prob, callback=stop_at_two, rng=0)
    assert res.status is Status.CALLBACK and res.n_iter == 2, res.message
    assert [h["iteration"] for h in seen] == [1, 2]
    for h in seen:
        assert {"iteration", "lower", "violation", "upper_estimate", "upper_certified", "time"} <= set(h), h
    check_result(prob, res, opt, f"problem{key} callback: OPT {opt!r}, upper {res.upper!r}")
    # every certified value that was ever shown is a bound
    for h in res.history:
        if h["upper_certified"] is not None:
            assert h["upper_certified"] >= opt - SOUND_RTOL * scale(opt), h


def test_probabilistic_and_estimate_bounds_are_labelled():
    """bound="probabilistic" reports its kind and failure probability; bound="estimate" is labelled as such and
    never appears as a certified value in the history."""
    key = SLOW[0]
    prob, opt = problem(*key), optimum(*key)
    res = solve_lagrangian(prob, bound="probabilistic", rng=0, options={"delta": 1e-6})
    assert res.bound_kind == "probabilistic" and 0 < res.failure_probability <= 1e-6, (
        res.bound_kind, res.failure_probability)
    assert res.upper >= opt - SOUND_RTOL * scale(opt), f"problem{key}: OPT {opt!r}, upper {res.upper!r}"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotConvergedWarning)
        est = solve_lagrangian(prob, bound="estimate", rng=0, max_iter=20)
    assert est.bound_kind == "estimate", est.bound_kind
    assert all(h["upper_certified"] is None for h in est.history), "an estimate was shown as a certified value"
    assert "estimate" in str(est)


# -- early decisions ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("key", SLOW, ids=["E_none", "E_0"])
def test_early_decision_below(key):
    """Oracle: CVXPY. With stop_below above OPT the solver stops with decision "below" and a certified
    upper < stop_below (and ≥ OPT); with stop_below under OPT it can never decide "below"."""
    prob, opt = problem(*key), optimum(*key)
    threshold = opt + 0.05 * scale(opt)
    res = solve_lagrangian(prob, stop_below=threshold, rng=0)
    label = f"problem{key}: OPT {opt!r}, stop_below {threshold!r}, upper {res.upper!r}"
    assert res.decision == "below" and res.status is Status.CONVERGED, f"{label}: {res.decision} ({res.message})"
    assert res.upper < threshold, label
    check_result(prob, res, opt, label, tight=False)
    full = solve_lagrangian(prob, rng=0)
    assert res.n_iter <= full.n_iter, f"{label}: deciding took {res.n_iter} rounds, solving {full.n_iter}"

    low = opt - 0.05 * scale(opt)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotConvergedWarning)
        res = solve_lagrangian(prob, stop_below=low, rng=0, max_iter=30)
    assert res.decision != "below", f"problem{key}: decided 'below' {low!r} with OPT {opt!r} — UNSOUND"
    check_result(prob, res, opt, f"problem{key}: OPT {opt!r}, stop_below {low!r}, upper {res.upper!r}")


@pytest.mark.parametrize("key", SLOW, ids=["E_none", "E_0"])
def test_early_decision_above(key):
    """Oracle: CVXPY. With stop_above under OPT the solver stops with decision "above" (a nearly feasible primal
    value above the threshold) and still reports a sound upper bound; well above OPT it never decides "above"."""
    prob, opt = problem(*key), optimum(*key)
    threshold = opt - 0.05 * scale(opt)
    res = solve_lagrangian(prob, stop_above=threshold, rng=0)
    label = f"problem{key}: OPT {opt!r}, stop_above {threshold!r}, lower {res.lower!r}, upper {res.upper!r}"
    assert res.decision == "above" and res.status is Status.CONVERGED, f"{label}: {res.decision} ({res.message})"
    assert res.lower > threshold and res.violation <= 1e-3, label
    check_result(prob, res, opt, label, tight=False)

    high = opt + 0.1 * scale(opt)
    res = solve_lagrangian(prob, stop_above=high, stop_below=high + 1.0, rng=0)
    assert res.decision == "below", f"problem{key}: OPT {opt!r}, stop_above {high!r}: decision {res.decision}"
    check_result(prob, res, opt, f"problem{key}: OPT {opt!r}, upper {res.upper!r}", tight=False)


# -- argument validation ------------------------------------------------------------------------------------
class _BadScale:
    """A LagrangianProblem whose row_scale has the wrong shape."""

    def __init__(self, base: DenseLagrangianProblem, row_scale):
        self._base = base
        self.n, self.m, self.equality, self.equal = base.n, base.m, base.equality, base.equal
        self.row_scale = row_scale

    def constraint_values(self, V):
        return self._base.constraint_values(V)

    def objective_value(self, V):
        return self._base.objective_value(V)

    def constant(self, theta):
        return self._base.constant(theta)

    def operator(self, theta):
        return self._base.operator(theta)


def test_clear_errors():
    prob = problem(*SLOW[0])
    with pytest.raises(TypeError, match="problem"):
        solve_lagrangian(np.eye(3))
    with pytest.raises(TypeError, match="problem"):
        solve_lagrangian("problem")
    for bad in (np.ones(prob.m + 1), np.ones((prob.m, 1)), -np.ones(prob.m), np.full(prob.m, np.nan)):
        with pytest.raises(ValueError, match="row_scale"):
            solve_lagrangian(_BadScale(prob, bad))
    with pytest.raises(ValueError, match="options") as info:
        solve_lagrangian(prob, options={"rank": 2, "speed": 3})
    assert "speed" in str(info.value)
    with pytest.raises(ValueError, match="rtol"):
        solve_lagrangian(prob, rtol=-1.0)
    with pytest.raises(ValueError, match="rtol"):
        solve_lagrangian(prob, rtol=float("nan"))
    with pytest.raises(TypeError, match="rtol"):
        solve_lagrangian(prob, rtol="small")
    with pytest.raises(ValueError, match="atol"):
        solve_lagrangian(prob, atol=-1e-3)
    with pytest.raises(ValueError, match="max_iter"):
        solve_lagrangian(prob, max_iter=0)
    with pytest.raises(TypeError, match="max_iter"):
        solve_lagrangian(prob, max_iter=2.5)
    with pytest.raises(ValueError, match="time_limit"):
        solve_lagrangian(prob, time_limit=0.0)
    with pytest.raises(ValueError, match="bound"):
        solve_lagrangian(prob, bound="exact")
    with pytest.raises(ValueError, match="delta"):
        solve_lagrangian(prob, bound="probabilistic", options={"delta": 2.0})
    with pytest.raises(TypeError, match="rng"):
        solve_lagrangian(prob, rng="seed")
    assert set(LAGRANGIAN_OPTIONS) >= {"rank", "inner_iters", "delta"}
    # DenseLagrangianProblem's own checks
    with pytest.raises(ValueError, match="M0"):
        DenseLagrangianProblem(np.ones((2, 3)), np.zeros((1, 2, 2)), [0.0])
    with pytest.raises(ValueError, match="beta"):
        DenseLagrangianProblem(np.eye(2), np.zeros((2, 2, 2)), [0.0])
    with pytest.raises(ValueError, match="equality"):
        DenseLagrangianProblem(np.eye(2), np.zeros((2, 2, 2)), [0.0, 0.0], equality=[True])
