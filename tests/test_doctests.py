"""The examples in the docstrings of the layers' entry points run and print what they show (oracle: the text).

Each module's doctests run with :mod:`doctest`; a module with no example at all fails, so a list entry can
never pass vacuously.
"""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "sdpsolve",
    "sdpsolve.rounding",
    "sdpsolve.graphs",
    "sdpsolve._cholesky",
    "sdpsolve._lagrangian_ipm",
    "sdpsolve._threads",
    "certifiers.engine",
    "certifiers.engine._config",
    "certifiers.engine._data",
    "certifiers.engine._plan",
    "certifiers.engine._summary",
    "certifiers._options",
    "certifiers._outcome",
    "certifiers._plugins",
    "certifiers._pool",
    "certifiers._strong_attack",
    "certifiers._bound_propagation",
    "certifiers._base",
    "certifiers._rigorous_crown",
    "certifiers._verify",
    "certifiers._milp",
    "certifiers.workflows._verify_run",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE | doctest.ELLIPSIS, verbose=False)
    assert result.attempted > 0, f"{name} has no docstring example"
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples of {name} failed (see the output)"
