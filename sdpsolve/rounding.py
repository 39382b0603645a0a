"""Directed rounding and floating-point error constants (float64), for every proved bound of the project.

A rigorous bound evaluated in floating point must come out ≥ (or ≤) the exact value of the formula it
evaluates. The primitives below are the only places where that is done by hand: the bounds of
:mod:`sdpsolve` (Rump's Cholesky test, U(c, t) rounded upwards, materialisation errors) and of the packages
that build operators on it (rounding errors of materialised matrices and of network evaluations) import them
from here.

Constants
---------
U
    The unit roundoff of float64, u = 2⁻⁵³: fl(a ∘ b) = (a ∘ b)(1 + δ) with |δ| ≤ u for normal results.
ETA
    The smallest positive subnormal float64, η = 2⁻¹⁰⁷⁴: an operation whose result underflows loses at most
    η absolutely (rounding to nearest loses at most η/2; η is the simple, safe choice).

Functions
---------
up(x), down(x)
    The next float64 towards +∞ / −∞ (``np.nextafter``): applied to fl(expr) of a single correctly rounded
    operation, the result is ≥ / ≤ the exact value.
gamma(k)
    Higham's γ_k = k·u / (1 − k·u), rounded upwards: a float ≥ the exact constant.
two_sum(a, b), exact_difference(a, b)
    Knuth's TwoSum: s = fl(a ± b) and the exact error e with a ± b = s + e.
exact_sub_up(x, y), exact_sub_down(x, y)
    A float ≥ / ≤ the exact x − y (fl(x − y), moved one ulp only where it was rounded the wrong way).
sum_up(x), sum_down(x)
    ``math.fsum`` (correctly rounded) moved one ulp up / down: ≥ / ≤ the exact sum.
sum_squares_upper(x), sqrt_upper(x)
    Upper bounds on the exact Σ x_i² and on the exact √x.

All functions accept Python floats and numpy float64 arrays; a scalar argument gives a Python float.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = [
    "ETA",
    "U",
    "down",
    "exact_difference",
    "exact_sub_down",
    "exact_sub_up",
    "gamma",
    "sqrt_upper",
    "sum_down",
    "sum_squares_upper",
    "sum_up",
    "two_sum",
    "up",
]

#: unit roundoff of float64 (u = 2⁻⁵³)
U = 2.0**-53
#: smallest positive subnormal float64 (η = 2⁻¹⁰⁷⁴): the absolute error of an operation that underflows
ETA = 2.0**-1074


def _scalar_or_array(r: np.ndarray):
    return float(r) if r.ndim == 0 else r


def up(x):
    """The next float64 above ``x`` (towards +∞), elementwise.

    If ``x`` = fl(a ∘ b) is one correctly rounded operation, ``up(x)`` ≥ the exact a ∘ b.

    Parameters
    ----------
    x : float or array_like
        Converted to float64.

    Returns
    -------
    float or numpy.ndarray
        A Python float for a scalar ``x``, else a float64 array.

    Examples
    --------
    >>> up(1.0) == 1.0 + 2.0**-52
    True
    >>> up([0.0, -1.0]).tolist() == [5e-324, -1.0 + 2.0**-53]
    True
    """
    return _scalar_or_array(np.nextafter(np.asarray(x, dtype=np.float64), np.inf))


def down(x):
    """The next float64 below ``x`` (towards −∞), elementwise.

    If ``x`` = fl(a ∘ b) is one correctly rounded operation, ``down(x)`` ≤ the exact a ∘ b.

    Parameters
    ----------
    x : float or array_like
        Converted to float64.

    Returns
    -------
    float or numpy.ndarray
        A Python float for a scalar ``x``, else a float64 array.

    Examples
    --------
    >>> down(1.0) == 1.0 - 2.0**-53
    True
    >>> down(0.0)
    -5e-324
    """
    return _scalar_or_array(np.nextafter(np.asarray(x, dtype=np.float64), -np.inf))


def gamma(k):
    """Higham's rounding-error constant γ_k = k·u / (1 − k·u), rounded upwards.

    A sum or a dot product of k terms evaluated in float64 (any order, with or without FMA) has a relative
    error at most γ_k against the sum of the absolute values (Higham, *Accuracy and Stability of Numerical
    Algorithms*, 2nd ed., §3.1). The returned float is ≥ the exact γ_k: the numerator is rounded up, the
    denominator down, and the quotient up.

    Parameters
    ----------
    k : int or array of int
        Number of roundings, 0 ≤ k with k·u < 1/2.

    Returns
    -------
    float or numpy.ndarray
        A Python float for a scalar ``k``, else a float64 array.

    Raises
    ------
    ValueError
        If k·u ≥ 1/2 (the constant is not a useful bound there).

    Examples
    --------
    >>> g = gamma(10)
    >>> g >= 10 * 2.0**-53 / (1 - 10 * 2.0**-53) and g < 1.2e-15
    True
    >>> gamma([3, 4]).shape
    (2,)
    """
    ku = np.asarray(k, dtype=np.float64) * U
    if np.any(ku >= 0.5):
        worst = int(np.max(k))
        raise ValueError(f"rounding-error constant γ_{worst} is undefined for k·u = {worst * U:g} >= 1/2.")
    return up(up(ku) / down(1.0 - ku))


def two_sum(a, b):
    """Knuth's TwoSum: s = fl(a + b) and e with a + b = s + e exactly (elementwise; no overflow assumed).

    Parameters
    ----------
    a, b : float or array_like
        float64 operands.

    Returns
    -------
    (s, e)
        The rounded sum and its exact rounding error.

    Examples
    --------
    >>> s, e = two_sum(1.0, 2.0**-60)
    >>> s, e == 2.0**-60
    (1.0, True)
    """
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    s = a + b
    bv = s - a
    av = s - bv
    e = (a - av) + (b - bv)
    return _scalar_or_array(s), _scalar_or_array(e)


def exact_difference(a, b):
    """fl(a − b) and its exact rounding error (TwoSum on (a, −b)): a − b = diff + err exactly.

    Parameters
    ----------
    a, b : float or array_like
        float64 operands.

    Returns
    -------
    (diff, err)

    Examples
    --------
    >>> d, e = exact_difference(1.0, 2.0**-60)
    >>> d, e == -(2.0**-60)
    (1.0, True)
    """
    return two_sum(a, np.negative(np.asarray(b, dtype=np.float64)))


def exact_sub_up(x, y):
    """A float ≥ the exact x − y: fl(x − y), moved up one ulp only where it was rounded down (TwoSum).

    Parameters
    ----------
    x, y : float or array_like
        Finite float64 operands (no overflow of x − y).

    Returns
    -------
    float or numpy.ndarray

    Examples
    --------
    >>> exact_sub_up(1.0, 1.0)           # exact: not moved
    0.0
    >>> exact_sub_up(1.0, -(2.0**-60)) > 1.0
    True
    """
    s, e = exact_difference(x, y)
    return _scalar_or_array(np.where(np.asarray(e) > 0, up(s), s))


def exact_sub_down(x, y):
    """A float ≤ the exact x − y: fl(x − y), moved down one ulp only where it was rounded up (TwoSum).

    Parameters
    ----------
    x, y : float or array_like
        Finite float64 operands (no overflow of x − y).

    Returns
    -------
    float or numpy.ndarray

    Examples
    --------
    >>> exact_sub_down(3.0, 1.0)
    2.0
    >>> exact_sub_down(1.0, 2.0**-60) < 1.0
    True
    """
    s, e = exact_difference(x, y)
    return _scalar_or_array(np.where(np.asarray(e) < 0, down(s), s))


def sum_up(x) -> float:
    """A float ≥ the exact sum of the float64 values ``x`` (``math.fsum`` is correctly rounded; one ulp up).

    Examples
    --------
    >>> sum_up([0.1, 0.2]) >= 0.30000000000000004
    True
    """
    return up(math.fsum(x))


def sum_down(x) -> float:
    """A float ≤ the exact sum of the float64 values ``x`` (``math.fsum`` is correctly rounded; one ulp down).

    Examples
    --------
    >>> sum_down([1.0, 2.0]) < 3.0
    True
    """
    return down(math.fsum(x))


def sum_squares_upper(x) -> float:
    """An upper bound on the exact Σ x_i² of the float64 entries of ``x``.

    The float64 dot product carries a relative error ≤ γ_{N+2} (N squares and additions, any order; the
    extra 2 covers the inflation itself); a square that underflows loses less than η each.

    Examples
    --------
    >>> sum_squares_upper([3.0, 4.0]) >= 25.0
    True
    >>> sum_squares_upper([])
    0.0
    """
    x = np.asarray(x, dtype=np.float64).ravel()
    if x.size == 0:
        return 0.0
    s = float(np.dot(x, x))
    return up(up(s * (1.0 + gamma(x.size + 2))) + x.size * ETA)


def sqrt_upper(x: float) -> float:
    """An upper bound on the exact √x of a float64 x ≥ 0 (``math.sqrt`` is correctly rounded; inflated).

    Examples
    --------
    >>> sqrt_upper(2.0) > 2.0**0.5
    True
    """
    return up(up(math.sqrt(x)) * (1.0 + 2 * U))
