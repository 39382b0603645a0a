"""Argument checks shared by the public entry points. Messages name the argument, the rule and the value."""

from __future__ import annotations

import math
from numbers import Integral, Real

import numpy as np


def check_nonneg_float(name: str, value, *, allow_none: bool = False, positive: bool = False) -> float | None:
    """Return ``value`` as a float after checking it is a finite non-negative (or positive) real."""
    if value is None and allow_none:
        return None
    rule = "a positive finite float" if positive else "a non-negative finite float"
    if isinstance(value, bool) or not isinstance(value, Real):
        raise TypeError(f"`{name}` must be {rule}, got {value!r} of type {type(value).__name__}.")
    value = float(value)
    if not math.isfinite(value) or value < 0 or (positive and value == 0):
        raise ValueError(f"`{name}` must be {rule}, got {value!r}.")
    return value


def check_probability(name: str, value) -> float:
    """A probability strictly between 0 and 1."""
    if isinstance(value, bool) or not isinstance(value, Real):
        raise TypeError(f"`{name}` must be a float in (0, 1), got {value!r} of type {type(value).__name__}.")
    value = float(value)
    if not (0.0 < value < 1.0):
        raise ValueError(f"`{name}` must be a float in (0, 1), got {value!r}.")
    return value


def check_positive_int(name: str, value, *, allow_none: bool = False, minimum: int = 1) -> int | None:
    """An integer ``>= minimum`` (``None`` allowed when ``allow_none``)."""
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, Integral):
        raise TypeError(f"`{name}` must be an integer >= {minimum}, got {value!r} of type {type(value).__name__}.")
    if value < minimum:
        raise ValueError(f"`{name}` must be an integer >= {minimum}, got {value!r}.")
    return int(value)


def check_choice(name: str, value, choices) -> str:
    """One of a fixed set of strings."""
    if not isinstance(value, str) or value not in choices:
        listed = ", ".join(repr(c) for c in choices)
        raise ValueError(f"`{name}` must be one of {listed}; got {value!r}.")
    return value


def as_rng(rng) -> np.random.Generator:
    """``rng`` may be None, an int seed or a ``np.random.Generator``."""
    if rng is None or isinstance(rng, Integral) and not isinstance(rng, bool):
        return np.random.default_rng(rng)
    if isinstance(rng, np.random.Generator):
        return rng
    raise TypeError(f"`rng` must be None, an int seed or a numpy Generator, got {type(rng).__name__}.")


def equal_mask(equal, n: int) -> np.ndarray:
    """Normalise ``equal`` (None, 'all', 'none', indices or a boolean mask of length n) to a boolean mask."""
    if equal is None:
        return np.zeros(n, dtype=bool)
    if isinstance(equal, str):
        if equal == "all":
            return np.ones(n, dtype=bool)
        if equal == "none":
            return np.zeros(n, dtype=bool)
        raise ValueError(f"`equal` must be None, 'all', 'none', a list of indices or a boolean mask; got {equal!r}.")
    arr = np.asarray(equal)
    if arr.dtype == bool:
        if arr.shape != (n,):
            raise ValueError(f"`equal` as a boolean mask must have shape ({n},), got {arr.shape}.")
        return arr.copy()
    if arr.size == 0:
        return np.zeros(n, dtype=bool)
    if arr.ndim > 1 or not np.issubdtype(arr.dtype, np.integer):
        raise TypeError(f"`equal` must be integer indices or a boolean mask, got an array of dtype {arr.dtype}.")
    bad = arr[(arr < 0) | (arr >= n)]
    if bad.size:
        raise ValueError(f"`equal` indices must lie in [0, {n - 1}]; got {bad.tolist()[:5]}.")
    mask = np.zeros(n, dtype=bool)
    mask[arr] = True
    return mask


def check_vector(name: str, value, n: int) -> np.ndarray:
    """A finite float64 vector of length n."""
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"`{name}` must be a real vector of length {n}, got {type(value).__name__}.") from exc
    if arr.shape != (n,):
        raise ValueError(f"`{name}` must have shape ({n},), got {arr.shape}.")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"`{name}` must be finite; it has {int(np.sum(~np.isfinite(arr)))} NaN/inf entries.")
    return arr
