"""sdpsolve.rounding (directed-rounding primitives) and the public proved-λ_max entry points.

Oracle: exact rational arithmetic (``fractions.Fraction`` holds every float64 exactly), and ``numpy.linalg.eigvalsh``
for λ_max (accurate to a few ulps of ||M||, far below the gaps asserted).
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest

import sdpsolve
from sdpsolve import BoundError, dual_bound_value, prove_lambda_max
from sdpsolve._bounds import bound_value
from sdpsolve._monitor import Monitor, Settings
from sdpsolve.rounding import (
    ETA,
    U,
    down,
    exact_difference,
    exact_sub_down,
    exact_sub_up,
    gamma,
    sqrt_upper,
    sum_down,
    sum_squares_upper,
    sum_up,
    two_sum,
    up,
)


def _values(seed: int, size: int = 200) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.standard_normal(size) * 10.0 ** rng.integers(-30, 30, size)


def test_constants():
    assert U == Fraction(1, 2**53) and ETA == Fraction(1, 2**1074)
    assert ETA > 0 and ETA / 2 == 0.0


@pytest.mark.parametrize("seed", range(3))
def test_up_down_bracket(seed):
    x = _values(seed)
    assert np.all(up(x) > x) and np.all(down(x) < x)
    assert isinstance(up(1.0), float) and isinstance(down(np.float64(1.0)), float)
    assert up(np.float32(1.0)) == 1.0 + 2.0**-52  # always float64 steps


@pytest.mark.parametrize("k", [0, 1, 2, 3, 17, 1000, 10**6, 2**40])
def test_gamma_is_an_upper_bound(k):
    exact = Fraction(k) * Fraction(U) / (1 - Fraction(k) * Fraction(U))
    g = gamma(k)
    assert isinstance(g, float) and Fraction(g) >= exact, f"k={k}: γ_k = {g!r} < exact {float(exact)!r}"
    assert Fraction(g) <= exact * (1 + Fraction(1, 2**48)) + 2 * Fraction(ETA)  # tight: a few ulps


def test_gamma_vectorised_and_checked():
    ks = np.arange(3, 40)
    assert np.array_equal(gamma(ks), np.array([gamma(int(k)) for k in ks]))
    with pytest.raises(ValueError, match="undefined"):
        gamma(2**52)


@pytest.mark.parametrize("seed", range(3))
def test_two_sum_and_exact_differences_are_exact(seed):
    a, b = _values(seed), _values(seed + 10)
    s, e = two_sum(a, b)
    d, f = exact_difference(a, b)
    hi, lo = exact_sub_up(a, b), exact_sub_down(a, b)
    for i in range(a.size):
        A, B = Fraction(float(a[i])), Fraction(float(b[i]))
        assert Fraction(float(s[i])) + Fraction(float(e[i])) == A + B
        assert Fraction(float(d[i])) + Fraction(float(f[i])) == A - B
        assert Fraction(float(lo[i])) <= A - B <= Fraction(float(hi[i]))
        if f[i] == 0:
            assert hi[i] == lo[i] == d[i]  # an exact difference is not moved
    assert two_sum(1.0, 2.0) == (3.0, 0.0)


@pytest.mark.parametrize("seed", range(3))
def test_sums_bracket_the_exact_sum(seed):
    x = _values(seed, 50)
    exact = sum(Fraction(float(v)) for v in x)
    assert Fraction(sum_down(x)) <= exact <= Fraction(sum_up(x))
    sq = sum(Fraction(float(v)) ** 2 for v in x)
    assert Fraction(sum_squares_upper(x)) >= sq
    assert sum_squares_upper(np.zeros(0)) == 0.0


@pytest.mark.parametrize("x", [0.0, 2.0, 3.0, 1e-300, 1e300, 0.1])
def test_sqrt_upper(x):
    r = Fraction(sqrt_upper(x))
    assert r >= 0 and r * r >= Fraction(x)


@pytest.mark.parametrize("seed", range(4))
def test_prove_lambda_max(seed):
    rng = np.random.default_rng(seed)
    n = 12
    B = rng.standard_normal((n, n))
    M = 0.5 * (B + B.T)
    c = rng.uniform(-1, 1, n)
    lmax = float(np.linalg.eigvalsh(M - np.diag(c))[-1])
    proof = prove_lambda_max(M, c, rng=seed)
    assert isinstance(proof, sdpsolve.LambdaMaxProof)
    assert lmax < proof.t <= lmax + 1e-9 * max(1.0, abs(lmax)), f"seed {seed}: t {proof.t!r}, λ_max {lmax!r}"
    assert proof.materialisation_error == 0.0 and proof.cholesky_tries >= 1
    # a caller's materialisation error is added, rounded upwards
    first = prove_lambda_max(M, c, estimate=lmax, max_bisections=0)
    with_err = prove_lambda_max(M, c, estimate=lmax, err=1e-3, max_bisections=0)
    assert with_err.t >= first.t + 1e-3 and with_err.materialisation_error == 1e-3
    # an implicit operator is materialised through its products
    op = sdpsolve.as_operator(M)
    assert prove_lambda_max(op, c, estimate=lmax).t > lmax


def test_prove_lambda_max_refuses_and_validates():
    M = np.diag([1.0, 2.0, 3.0])
    with pytest.raises(BoundError):
        prove_lambda_max(M, estimate=-100.0, max_tries=2)
    with pytest.raises(ValueError, match="err"):
        prove_lambda_max(M, estimate=3.0, err=-1.0)
    with pytest.raises(ValueError, match="estimate"):
        prove_lambda_max(M, estimate=float("nan"))
    with pytest.raises(ValueError, match="c"):
        prove_lambda_max(M, np.ones(2), estimate=3.0)


@pytest.mark.parametrize("equal", [None, "all", [0, 2]])
def test_dual_bound_value(equal):
    rng = np.random.default_rng(1)
    c = rng.standard_normal(6)
    t = 0.3
    mask = np.zeros(6, dtype=bool) if equal is None else sdpsolve._validation.equal_mask(equal, 6)
    exact = sum(Fraction(float(ci)) + Fraction(t) if m else max(Fraction(float(ci)) + Fraction(t), Fraction(0))
                for ci, m in zip(c, mask))
    value = dual_bound_value(c, t, equal=equal)
    assert value == bound_value(c, t, mask) and Fraction(value) >= exact
    with pytest.raises(ValueError):
        dual_bound_value(np.ones((2, 2)), 1.0)
    with pytest.raises(ValueError):
        dual_bound_value(c, math.inf)


def test_monitor_owns_the_stopping_rule():
    settings = Settings(rtol=1e-2, atol=1e-3, max_iter=None, time_limit=None, callback=None,
                        rng=np.random.default_rng(0), options={})
    mon = Monitor(None, settings, default_max_iter=5)
    assert mon.target(0.5) == 1e-2  # max(atol, rtol · max(1, |upper|)): the max(1, ·) applies
    assert mon.target(-300.0) == 3.0
    assert mon.within_tolerance(-300.0, -297.1) and not mon.within_tolerance(-300.0, -297.0)  # at |upper|
    assert mon.within_tolerance(0.0, 0.005, scale=0.5) and not mon.within_tolerance(0.0, 0.0051, scale=0.5)
    assert Monitor.relative_gap(1.0, 3.0) == 2.0 / 3.0 and Monitor.relative_gap(0.1, 0.5) == 0.4
    assert not mon.iterations_exhausted(4) and mon.iterations_exhausted(5)
    assert not Monitor(None, settings).iterations_exhausted(10**9) and not mon.out_of_time()
