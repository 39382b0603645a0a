"""Exception and warning hierarchy of sdpsolve (small and flat, so users can catch by name)."""

from __future__ import annotations


class SDPSolveError(Exception):
    """Base class of the errors raised by sdpsolve for solver failures (not for bad input)."""


class BoundError(SDPSolveError):
    """A requested bound could not be established (e.g. the Cholesky proof never succeeded)."""


class OperatorError(SDPSolveError, ValueError):
    """A user-supplied operator misbehaved (wrong output shape, non-finite or complex output, ...)."""


class NotConvergedWarning(UserWarning):
    """A result is returned, valid, but the requested tolerance was not reached."""


class MissingDependencyError(ImportError):
    """An optional dependency is needed for the requested feature."""


def require(module: str, extra: str):
    """Import ``module`` lazily; raise a :class:`MissingDependencyError` naming the extra to install."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise MissingDependencyError(
            f"this feature needs the optional package {module!r}; install it with "
            f"`pip install sdpsolve[{extra}]`"
        ) from exc
