"""The exact worst case of a margin over a box, as a mixed-integer LP (Tjeng, Xiao & Tedrake, ICLR 2019).

max f_j(x) − f_y(x) over lo ≤ x ≤ hi for a ReLU network is the MILP with, per hidden neuron with pre-activation
bounds l ≤ ẑ = wᵀx + b ≤ u (from :func:`certifiers.layer_bounds`):

* l ≥ 0 (stably active): x' = ẑ;   u ≤ 0 (stably inactive): x' = 0 (l and u widened by a relative 1e-7
  first, so that the rounding of the bounds cannot cut off a feasible point);
* otherwise a binary a and x' ≥ ẑ, x' ≥ 0, x' ≤ ẑ − l (1 − a), x' ≤ u a (exact for a ∈ {0, 1}).

Solved by HiGHS (scipy.optimize.milp). The answer is a floating-point solver's answer, with its feasibility
and optimality tolerances: it is an *oracle* for tests and small networks, not a proof. What is returned is the
solver's dual bound (≥ the optimum up to those tolerances), its incumbent input and that input's margin
recomputed by ``network.logits`` in float64 (a true lower bound on the maximum, since the incumbent is clipped
into the box).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._network import ReLUNetwork

__all__ = ["MarginMILP", "exact_margin_max"]


@dataclass(frozen=True)
class MarginMILP:
    """The worst case of f_j − f_y over a box found by :func:`exact_margin_max`.

    Attributes
    ----------
    upper : float
        HiGHS's dual bound on the maximum (up to its tolerances).
    x : numpy.ndarray
        The incumbent input (clipped into the box).
    value : float
        f_j(x) − f_y(x) recomputed in float64: a lower bound on the maximum.
    status : str
        "optimal", or HiGHS's message when it stopped early (time limit).
    unstable : int
        Binary variables (unstable neurons).
    """

    upper: float
    x: np.ndarray
    value: float
    status: str
    unstable: int


def exact_margin_max(
    network: ReLUNetwork, lo, hi, label: int, target: int, *, bounds: str = "crown", time_limit: float = 60.0,
    intervals=None, relax: bool = False, splits=None,
) -> MarginMILP:
    """max f_target(x) − f_label(x) over lo ≤ x ≤ hi, by a MILP with big-M constants from ``bounds``.

    ``intervals``: per hidden layer, valid bounds ``(lower, upper)`` on its pre-activations over the box (e.g. the
    proved ones the caller has); when given, ``bounds`` is not computed. ``relax``: solve the linear programming
    relaxation instead (the indicators continuous in [0, 1]: the triangle relaxation of every unstable ReLU); its
    ``upper`` is then the LP optimum, the least value any Lagrangian bound with these intervals can reach.
    ``splits``: per hidden layer an int array, +1 (the neuron is restricted to ẑ ≥ 0), −1 (to ẑ ≤ 0) or 0 (free):
    the maximum over the part of the box where the split neurons have those signs (a branch-and-bound node, or a
    neighbourhood of one activation pattern); such a neuron is linear there, and its sign is a row.

    Examples
    --------
    >>> import numpy as np
    >>> net = ReLUNetwork([np.array([[1.0], [-1.0]]), np.array([[1.0, 1.0], [0.0, 0.0]])],
    ...                   [np.zeros(2), np.array([0.0, 0.5])])          # f = (|x|, 0.5)
    >>> r = exact_margin_max(net, [-1.0], [0.25], 0, 1)                  # max of 0.5 − |x|: at x = 0
    >>> round(r.upper, 6), round(r.value, 6)
    (0.5, 0.5)
    """
    from scipy.optimize import Bounds, LinearConstraint, milp
    from scipy.sparse import lil_matrix

    from ._bound_propagation import layer_bounds

    if not isinstance(network, ReLUNetwork):
        raise TypeError(f"`network` must be a ReLUNetwork, got {type(network).__name__}.")
    lo = np.asarray(lo, dtype=np.float64).reshape(-1)
    hi = np.asarray(hi, dtype=np.float64).reshape(-1)
    if lo.shape != (network.input_dim,) or hi.shape != lo.shape or np.any(lo > hi):
        raise ValueError(f"`lo` and `hi` must be boxes of shape ({network.input_dim},) with lo <= hi.")
    K = network.n_classes
    for name, v in (("label", label), ("target", target)):
        if not (isinstance(v, (int, np.integer)) and 0 <= v < K):
            raise ValueError(f"`{name}` must be a class index in [0, {K - 1}], got {v!r}.")
    if intervals is None:
        lb = layer_bounds(network, lo, hi, method=bounds)
        intervals = list(zip(lb.pre_lower, lb.pre_upper))
    L = network.n_layers - 1
    if splits is None:
        splits = [np.zeros(W.shape[0], dtype=np.int8) for W in network.weights[:-1]]
    splits = [np.asarray(sp).reshape(-1) for sp in splits]
    if len(splits) != L or any(sp.shape != (W.shape[0],) for sp, W in zip(splits, network.weights[:-1])):
        raise ValueError("`splits` must give one int array per hidden layer, of that layer's size.")
    # variable layout: x_0 (d), then per hidden layer i: x_{i+1} (n_i), a_{i+1} (n_i)
    sizes = [network.input_dim] + [W.shape[0] for W in network.weights[:-1]]
    offsets, pos = [], 0
    for i, s in enumerate(sizes):
        offsets.append(pos)
        pos += s if i == 0 else 2 * s
    nvar = pos
    var_lo, var_hi = np.zeros(nvar), np.zeros(nvar)
    integrality = np.zeros(nvar)
    var_lo[: sizes[0]], var_hi[: sizes[0]] = lo, hi
    rows: list[tuple[dict, float, float]] = []  # ({column: coefficient}, lower, upper)
    unstable = 0
    for i in range(L):
        W, b = network.weights[i], network.biases[i]
        # widened by a relative 1e-7: the bounds are float64 evaluations, the big-M constants must not cut
        l = intervals[i][0] - 1e-7 * (1.0 + np.abs(intervals[i][0]))
        u = intervals[i][1] + 1e-7 * (1.0 + np.abs(intervals[i][1]))
        prev = offsets[i]
        xo, ao = offsets[i + 1], offsets[i + 1] + sizes[i + 1]
        var_hi[xo : xo + sizes[i + 1]] = np.maximum(u, 0.0)
        for k in range(sizes[i + 1]):
            lin = {prev + c: W[k, c] for c in np.flatnonzero(W[k])}
            if splits[i][k] > 0 or (splits[i][k] == 0 and l[k] >= 0):  # x' − wᵀx = b (and x' ≥ 0)
                rows.append(({**{c: -v for c, v in lin.items()}, xo + k: 1.0}, b[k], b[k]))
            elif splits[i][k] < 0:  # x' = 0 and wᵀx + b ≤ 0
                var_hi[xo + k] = 0.0
                rows.append((dict(lin), -np.inf, -b[k]))
            elif u[k] <= 0:
                var_hi[xo + k] = 0.0
            else:
                unstable += 1
                integrality[ao + k] = 1
                var_hi[ao + k] = 1.0
                # x' − wᵀx ≥ b
                rows.append(({**{c: -v for c, v in lin.items()}, xo + k: 1.0}, b[k], np.inf))
                # x' − wᵀx − l a ≤ b − l
                rows.append(({**{c: -v for c, v in lin.items()}, xo + k: 1.0, ao + k: -l[k]}, -np.inf, b[k] - l[k]))
                # x' − u a ≤ 0
                rows.append(({xo + k: 1.0, ao + k: -u[k]}, -np.inf, 0.0))
    A = lil_matrix((len(rows), nvar))
    rlo, rhi = np.empty(len(rows)), np.empty(len(rows))
    for r, (coef, a, bb) in enumerate(rows):
        for c, v in coef.items():
            A[r, c] = v
        rlo[r], rhi[r] = a, bb
    c_last = network.weights[L][target] - network.weights[L][label]
    c0 = network.biases[L][target] - network.biases[L][label]
    obj = np.zeros(nvar)
    obj[offsets[L] : offsets[L] + sizes[L]] = -c_last  # milp minimises
    cons = [LinearConstraint(A.tocsr(), rlo, rhi)] if rows else []
    if relax:
        integrality[:] = 0
    res = milp(obj, constraints=cons, integrality=integrality, bounds=Bounds(var_lo, var_hi),
               options={"time_limit": float(time_limit), "mip_rel_gap": 1e-9})
    if res.x is None:
        raise RuntimeError(f"the MILP found no feasible point ({res.message}).")
    x = np.clip(res.x[: sizes[0]], lo, hi)
    z = network.logits(x[None])[0]
    dual = getattr(res, "mip_dual_bound", None)
    upper = float((-float(dual) if dual is not None and np.isfinite(dual) else -float(res.fun)) + c0)
    status = "optimal" if res.status == 0 else str(res.message)
    return MarginMILP(upper, x, float(z[target] - z[label]), status, unstable)
