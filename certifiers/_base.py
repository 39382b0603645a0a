"""The certifier plugin contract and the registry keyed by name.

A plugin turns (network, inputs, labels, ε) into, per example and per target class j ≠ label, an upper bound
on f_j − f_label over the l∞ ball of radius ε intersected with the input domain [0, 1]^d (or, for an
attack, the best margin it found, which is a lower bound). Plugins know nothing about how SDPs are solved.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np

from ._network import ReLUNetwork
from ._options import Option
from ._outcome import Verdict

#: bound kinds a plugin may report. "rigorous"/"probabilistic"/"estimate" come from the SDP solver
#: (SPEC §1.2); "closed-form" is a formula evaluated in float64 (IBP, CROWN, LP dual, norm bounds);
#: "attack" is the margin of an input actually found (a lower bound, not a certificate); "milp" is the dual bound
#: of a floating-point MILP solver (``verify``'s last stage: exact up to the solver's tolerances, not a proof).
BOUND_KINDS = ("rigorous", "probabilistic", "estimate", "closed-form", "attack", "milp")


@dataclass(frozen=True)
class ExampleResult:
    """What one plugin says about one example.

    ``bounds[j]`` is an upper bound on f_j − f_label over the perturbation set (certifiers) or the best
    margin f_j − f_label found (attacks). ``certified`` is True iff every bound is < 0 (certifiers; None for
    attacks); ``adversarial`` is True iff the attack found an input classified differently (attacks; None
    for certifiers).
    """

    index: int
    label: int
    predicted: int
    bounds: dict
    bound_kind: str
    method: str
    eps: float
    time: float
    certified: bool | None = None
    adversarial: bool | None = None
    extra: dict = field(default_factory=dict)

    @property
    def verdict(self) -> Verdict:
        """``verified`` (certified), ``falsified`` (an adversarial input found) or ``unknown``."""
        if self.certified:
            return Verdict.VERIFIED
        if self.adversarial:
            return Verdict.FALSIFIED
        return Verdict.UNKNOWN

    def to_json(self) -> dict:
        out = {
            "index": int(self.index),
            "label": int(self.label),
            "predicted": int(self.predicted),
            "bounds": {str(int(j)): float(v) for j, v in sorted(self.bounds.items())},
            "bound_kind": self.bound_kind,
            "method": self.method,
            "eps": float(self.eps),
            "time": float(self.time),
        }
        if self.certified is not None:
            out["certified"] = bool(self.certified)
        if self.adversarial is not None:
            out["adversarial"] = bool(self.adversarial)
        out.update(self.extra)
        return out


class Certifier(ABC):
    """Base class of all plugins. Subclasses set ``name`` and implement :meth:`bound_margins`.

    ``is_attack`` plugins return lower bounds (margins actually reached) instead of upper bounds.
    """

    name: ClassVar[str]
    is_attack: ClassVar[bool] = False
    description: ClassVar[str] = ""
    #: examples per batch (one task of ``sdpsolve certify``) when ``--batch-size`` is not given: methods that
    #: handle a batch in whole-array operations take many, so that per-batch costs are spread thin; a method
    #: that takes seconds per example takes 1, so that its work spreads evenly over the workers, each example
    #: is stored as soon as it is done, and a killed run loses at most the examples in flight
    default_batch_size: ClassVar[int] = 100
    #: False for plugins whose examples cost well under a millisecond each once prepared (a closed-form
    #: evaluation): with ``--workers`` or ``--scheduler`` their batches run in the calling process, since
    #: starting a worker process (seconds: Python, numpy, torch) and sending it the prepared plugin costs more
    #: than the work; the preparation itself may still use the workers (Grad-cert's pair SDPs)
    runs_in_workers: ClassVar[bool] = True
    #: the constructor options a run may set (:class:`certifiers._options.Option`: type, help, whether it can
    #: change a result, its flag); the run engine routes options only to the plugins that declare them
    option_specs: ClassVar[tuple[Option, ...]] = ()

    def __init__(self, **options):
        self.options = options

    def prepare(self, network: ReLUNetwork, *, progress: bool = False) -> None:  # noqa: B027
        """Work that depends on the network only (e.g. Grad-cert's pair SDPs). Default: nothing."""

    @abstractmethod
    def bound_margins(self, network: ReLUNetwork, X: np.ndarray, y: np.ndarray, eps: float) -> tuple[np.ndarray, str]:
        """Return ``(B, kind)`` with B of shape (N, classes): B[k, j] bounds f_j − f_{y_k} (B[k, y_k] = 0)."""

    def example_extra(self, k: int) -> dict:
        """Further JSON fields for the record of example ``k`` of the last :meth:`bound_margins` call (none)."""
        return {}

    def certify(self, network: ReLUNetwork, X, y, eps: float, *, indices=None) -> list[ExampleResult]:
        """Validate the inputs, call :meth:`bound_margins` and wrap the per-example results."""
        X, y, eps = check_certify_inputs(network, X, y, eps)
        indices = np.arange(len(y)) if indices is None else np.asarray(indices)
        start = time.perf_counter()
        B, kind = self.bound_margins(network, X, y, eps)
        elapsed = (time.perf_counter() - start) / max(len(y), 1)
        pred = network.predict(X)
        results = []
        for k in range(len(y)):
            bounds = {j: float(B[k, j]) for j in range(network.n_classes) if j != y[k]}
            extra = self.example_extra(k)
            worst = max(bounds.values()) if bounds else -np.inf
            if self.is_attack:
                results.append(
                    ExampleResult(int(indices[k]), int(y[k]), int(pred[k]), bounds, kind, self.name, eps, elapsed,
                                  adversarial=bool(worst > 0 or pred[k] != y[k]), extra=extra)
                )
            else:
                results.append(
                    ExampleResult(int(indices[k]), int(y[k]), int(pred[k]), bounds, kind, self.name, eps, elapsed,
                                  certified=bool(worst < 0 and pred[k] == y[k]), extra=extra)
                )
        return results


def check_certify_inputs(network: ReLUNetwork, X, y, eps):
    """Common validation: X (N, d) finite in [0, 1], integer labels in range, ε a finite float >= 0."""
    if not isinstance(network, ReLUNetwork):
        raise TypeError(f"`network` must be a ReLUNetwork, got {type(network).__name__}.")
    X = network.check_inputs(X)
    y = np.asarray(y)
    if y.ndim == 0:
        y = y[None]
    if y.shape != (X.shape[0],):
        raise ValueError(f"`y` must have shape ({X.shape[0]},) to match X, got {y.shape}.")
    if y.size and not np.issubdtype(y.dtype, np.integer):
        if np.all(np.equal(np.mod(y, 1), 0)):
            y = y.astype(np.int64)
        else:
            raise TypeError(f"`y` must hold integer class labels, got dtype {y.dtype}.")
    y = y.astype(np.int64)
    bad = y[(y < 0) | (y >= network.n_classes)]
    if bad.size:
        raise ValueError(f"labels in `y` must lie in [0, {network.n_classes - 1}]; got {bad[:5].tolist()}.")
    if isinstance(eps, bool) or not isinstance(eps, (int, float, np.floating, np.integer)):
        raise TypeError(f"`eps` must be a non-negative finite float, got {eps!r}.")
    eps = float(eps)
    if not np.isfinite(eps) or eps < 0:
        raise ValueError(f"`eps` must be a non-negative finite float, got {eps!r}.")
    if X.size and (X.min() < 0 or X.max() > 1):
        raise ValueError(
            f"inputs `X` must lie in the input domain [0, 1]; got values in [{X.min():.4g}, {X.max():.4g}]."
        )
    return X, y, eps


def input_box(X: np.ndarray, eps: float) -> tuple[np.ndarray, np.ndarray]:
    """The perturbation set as a box: [max(x − ε, 0), min(x + ε, 1)]."""
    return np.maximum(X - eps, 0.0), np.minimum(X + eps, 1.0)


def _rounded_box(X, eps: float, *, inwards: bool) -> tuple[np.ndarray, np.ndarray]:
    """:func:`input_box` with x̄ ± ε rounded inwards (a subset of the exact set) or outwards (a superset)."""
    from sdpsolve.rounding import exact_sub_down, exact_sub_up

    X = np.asarray(X, dtype=np.float64)
    lower, upper = (exact_sub_up, exact_sub_down) if inwards else (exact_sub_down, exact_sub_up)
    lo = np.maximum(lower(X, eps), 0.0)
    hi = np.minimum(upper(X, -eps), 1.0)
    return np.asarray(lo, dtype=np.float64), np.asarray(hi, dtype=np.float64)


def exact_box(X, eps: float) -> tuple[np.ndarray, np.ndarray]:
    """[max(x̄ − ε, 0), min(x̄ + ε, 1)] with x̄ ± ε rounded inwards: every float in it is in the exact set (where
    attacks search, so that a witness is a point of the set)."""
    return _rounded_box(X, eps, inwards=True)


def outer_box(X, eps: float) -> tuple[np.ndarray, np.ndarray]:
    """[max(x̄ − ε, 0), min(x̄ + ε, 1)] with x̄ ± ε rounded outwards: it contains the exact set (what proofs bound).

    Examples
    --------
    >>> lo, hi = outer_box([0.1], 0.1)
    >>> from fractions import Fraction as F
    >>> F(lo[0]) <= F(0.1) - F(0.1) and F(hi[0]) >= F(0.1) + F(0.1)
    True
    """
    return _rounded_box(X, eps, inwards=False)


_REGISTRY: dict[str, type[Certifier]] = {}


def register(cls: type[Certifier]) -> type[Certifier]:
    """Class decorator: make a plugin discoverable by its ``name``."""
    name = getattr(cls, "name", None)
    if not isinstance(name, str) or not name:
        raise TypeError(f"{cls.__name__} must set a non-empty string class attribute `name`.")
    if name in _REGISTRY and _REGISTRY[name] is not cls:
        raise ValueError(f"a certifier named {name!r} is already registered ({_REGISTRY[name].__name__}).")
    _REGISTRY[name] = cls
    return cls


def available() -> list[str]:
    """Names of all registered plugins."""
    return sorted(_REGISTRY)


def get_certifier(name: str, **options) -> Certifier:
    """Instantiate the plugin registered as ``name``."""
    if name not in _REGISTRY:
        raise ValueError(f"unknown certifier {name!r}; available: {', '.join(available())}.")
    return _REGISTRY[name](**options)
