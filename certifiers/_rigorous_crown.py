"""Bound propagation proved in floating point: CROWN's multipliers, a Lagrangian evaluated with directed rounding.

The ``crown`` plugin evaluates its bounds in float64 with round-to-nearest (kind ``"closed-form"``): correct up
to rounding, not proved. Here the same bounds become proofs. For a ReLU network with affine layers
ẑ_i = W_i x_i + b_i, x_{i+1} = relu(ẑ_i), an objective V ẑ_t, and intervals l_i ≤ ẑ_i ≤ u_i already proved for
the layers below t, weak duality gives, for *any* multipliers ν_i (one per pre-activation):

    max V ẑ_t  ≤  V b_t + Σ_{i<t} ν_i b_i + max_{x ∈ box} (W_0ᵀ ν_0)ᵀ x
                 + Σ_{i<t} Σ_k max_{p ∈ {l_ik, 0, u_ik} ∩ [l_ik, u_ik]} ( −ν_ik p + h_ik relu(p) ),

with h_i = W_{i+1}ᵀ ν_{i+1} (h_{t−1} = W_tᵀ Vᵀ) the coefficient of x_{i+1}: the Lagrangian of the constraints
ẑ_i = W_i x_i + b_i separates into the input box and one interval per neuron, where −ν p + h relu(p) is
piecewise linear with its kink at 0. With CROWN's choice ν = h · (slope of its linear relaxation) this is CROWN's
bound or tighter (the exact ReLU graph replaces the relaxation lines). The multipliers are computed in float64
(any values are valid); what is proved is the evaluation: every product h = Wᵀν is enclosed (Higham's γ bound on
the computed |W|ᵀ|ν|, underflow included), every term is rounded upwards, every sum bounded by its γ term. The
layer bounds are computed layer by layer this way and intersected with interval arithmetic done the same way;
a split neuron (branch and bound) only narrows its interval to [l, 0] or [0, u]. An interval that comes out
empty means the set is empty: every bound is −∞ there.

The perturbation set must be given as a box that contains it: :func:`certifiers._base.outer_box` rounds x̄ ± ε
outwards.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sdpsolve import limit_threads
from sdpsolve.rounding import ETA, down, gamma, up

from ._network import ReLUNetwork

__all__ = ["ProvedBounds", "proved_layer_bounds", "proved_margin_bounds", "proved_logit_bounds",
           "optimise_multipliers"]


def _enclose(A: np.ndarray, B: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(C, E) with |A B − C| ≤ E elementwise: C = fl(A B), E = γ_{2k+2} fl(|A||B|) + 2(k+1)η (k inner terms).

    fl(|A||B|) ≥ (1 − γ_k)|A||B|, so γ_k |A||B| ≤ γ_{2k} fl(|A||B|); one more γ step covers the product with
    the constant, and the underflow term the products that fall below the normal range."""
    k = A.shape[-1]
    C = A @ B
    if k == 0:
        return C, np.zeros_like(C)
    E = up(up(gamma(2 * k + 2) * (np.abs(A) @ np.abs(B))) + 2.0 * (k + 1) * ETA)
    return C, np.asarray(E)


def _sum_up(T: np.ndarray) -> np.ndarray:
    """Upper bounds on the exact sums of the rows of ``T`` (last axis)."""
    k = T.shape[-1]
    if k == 0:
        return np.zeros(T.shape[:-1])
    s = T.sum(axis=-1)
    return np.asarray(up(s + up(gamma(2 * k + 2) * np.abs(T).sum(axis=-1))))


def _box_max(G: np.ndarray, E: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Upper bounds on max h·x over x ∈ [lo, hi] and h ∈ [G − E, G + E] (rows of G), summed over x's entries."""
    hlo, hhi = np.asarray(down(G - E)), np.asarray(up(G + E))
    corners = [up(hlo * lo), up(hlo * hi), up(hhi * lo), up(hhi * hi)]
    return _sum_up(np.maximum.reduce([np.asarray(c) for c in corners]))


def _crown_multipliers(H: np.ndarray, l: np.ndarray, u: np.ndarray) -> np.ndarray:
    """ν = h · slope: the upper line u(z − l)/(u − l) where h ≥ 0, the adaptive lower line where h < 0."""
    active, inactive = l >= 0, u <= 0
    unstable = ~(active | inactive)
    with np.errstate(divide="ignore", invalid="ignore"):
        upper_slope = np.where(unstable, u / np.where(unstable, u - l, 1.0), active.astype(float))
    lower_slope = np.where(unstable, (u >= -l).astype(float), active.astype(float))
    return np.where(H >= 0, H * upper_slope, H * lower_slope)


def _neuron_max(nu: np.ndarray, G: np.ndarray, E: np.ndarray, l: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Per neuron, an upper bound on max over p ∈ [l, u] of −ν p + h relu(p), h ∈ [G − E, G + E]: at p ∈ {l, 0, u}."""
    hhi = np.asarray(up(G + E))

    def at(p):
        return np.asarray(up(np.asarray(up(-nu * p)) + np.asarray(up(hhi * np.maximum(p, 0.0)))))

    best = np.maximum(at(l), at(u))
    inside = (l < 0) & (u > 0)
    return np.where(inside, np.maximum(best, at(np.zeros_like(l))), best)


def _lagrangian_upper(network: ReLUNetwork, t: int, V: np.ndarray, lo, hi, intervals, *, keep: bool = False,
                      multipliers: dict | None = None, with_interval: bool = False):
    """Upper bounds on max V ẑ_t (rows of V) over the box and the proved intervals of layers < t.

    Every layer below t is eliminated by multipliers ν_i: CROWN's unless ``multipliers`` gives them (per layer i,
    an array of V's rows × n_i: any values are valid). With ``with_interval`` the bound is also intersected with
    interval arithmetic from the interval of the layer below (the same enclosed product V W_t serves both).
    With ``keep`` also the coefficients h_i per layer."""
    W, b = network.weights[t], network.biases[t]
    G, E = _enclose(V, W)  # coefficient of x_t
    cb, cbe = _enclose(V, b)
    terms = [np.asarray(up(cb + cbe))]
    interval = None
    if with_interval and t > 0:  # x_t = relu(ẑ_{t−1}) lies in [relu(l), relu(u)]
        xl, xu = np.maximum(intervals[t - 1][0], 0.0), np.maximum(intervals[t - 1][1], 0.0)
        interval = np.asarray(up(terms[0] + _box_max(G, E, xl, xu)))
    kept = {}
    for i in range(t - 1, -1, -1):
        l, u = intervals[i]
        nu = _crown_multipliers(G, l, u) if multipliers is None else np.asarray(multipliers[i], dtype=np.float64)
        terms.append(_sum_up(_neuron_max(nu, G, E, l, u)))
        if keep:
            kept[i] = G
        cb, cbe = _enclose(nu, network.biases[i])
        terms.append(np.asarray(up(cb + cbe)))
        G, E = _enclose(nu, network.weights[i])
    terms.append(_box_max(G, E, lo, hi))
    total = np.asarray(up(np.sum(terms, axis=0) + up(gamma(2 * len(terms) + 2) * np.sum(np.abs(terms), axis=0))))
    if interval is not None:
        total = np.minimum(total, interval)
    return (total, kept) if keep else total


def optimise_multipliers(network: ReLUNetwork, t: int, V: np.ndarray, lo, hi, intervals, *, steps: int = 40):
    """Multipliers ν_i (per layer i < t) that lower the Lagrangian bound on max V ẑ_t: CROWN's to start with, then
    ``steps`` Adam steps on the (float64, unproved) dual function with torch — the bound itself is proved
    afterwards by :func:`_lagrangian_upper` with these multipliers, so nothing here needs to be exact. This is
    what optimised-slope CROWN (α-CROWN) and the split multipliers of β-CROWN do, in Lagrangian form: a split
    neuron's interval is [l, 0] or [0, u] and its multiplier is free."""
    import torch

    if t == 0 or steps == 0:
        return None
    Vt = torch.as_tensor(V, dtype=torch.float64)
    Ws = [torch.tensor(np.array(W, dtype=np.float64)) for W in network.weights[: t + 1]]
    bs = [torch.tensor(np.array(b, dtype=np.float64)) for b in network.biases[: t + 1]]
    ls = [torch.as_tensor(np.asarray(intervals[i][0], dtype=np.float64)) for i in range(t)]
    us = [torch.as_tensor(np.asarray(intervals[i][1], dtype=np.float64)) for i in range(t)]
    lo_t, hi_t = torch.tensor(np.array(lo, dtype=np.float64)), torch.tensor(np.array(hi, dtype=np.float64))
    # CROWN's multipliers as the start
    G = V @ network.weights[t]
    start = {}
    for i in range(t - 1, -1, -1):
        start[i] = _crown_multipliers(G, *intervals[i])
        G = start[i] @ network.weights[i]
    nus = {i: torch.tensor(start[i], requires_grad=True) for i in start}

    def value():
        h = Vt @ Ws[t]
        total = Vt @ bs[t]
        for i in range(t - 1, -1, -1):
            nu, l, u = nus[i], ls[i], us[i]
            cands = torch.stack([-nu * l + h * torch.relu(l), -nu * u + h * torch.relu(u),
                                 torch.where((l < 0) & (u > 0), torch.zeros_like(nu), -nu * l + h * torch.relu(l))])
            total = total + cands.max(dim=0).values.sum(dim=1) + nu @ bs[i]
            h = nu @ Ws[i]
        return total + torch.maximum(h * lo_t, h * hi_t).sum(dim=1)

    best_val = value().detach()
    best = {i: start[i].copy() for i in start}
    scale = max(float(np.max(np.abs(G))) if G.size else 0.0, 1e-3)
    opt = torch.optim.Adam(list(nus.values()), lr=0.05 * max(float(np.mean([np.abs(a).mean() for a in start.values()])),
                                                               1e-3 / scale))
    # small problems run torch single-threaded: its intra-op threads cost far more than they save there
    # (measured on a loaded 2-core machine: 7 s against 0.1 s for a tiny network)
    small = V.shape[0] * network.multiply_adds < _SMALL_WORK
    with limit_threads(1 if small else None):
        _adam_steps(steps, opt, value, nus, best, best_val)
    return best


#: below this many multiply-adds per evaluation, optimise_multipliers runs torch on one thread
_SMALL_WORK = 2**20


def _adam_steps(steps, opt, value, nus, best, best_val) -> None:
    """``steps`` Adam steps on the dual function, keeping per row the best multipliers seen (in ``best``)."""
    import torch

    for _ in range(steps):
        opt.zero_grad()
        v = value()
        v.sum().backward()
        opt.step()
        with torch.no_grad():
            cur = value()
            better = cur < best_val
            if better.any():
                rows = better.numpy()
                for i in nus:
                    best[i][rows] = nus[i].detach().numpy()[rows]
                best_val = torch.where(better, cur, best_val)


@dataclass(frozen=True)
class ProvedBounds:
    """Proved intervals l_i ≤ ẑ_i ≤ u_i of every hidden pre-activation (i < L) over a box, with splits applied.

    ``empty`` is True when some interval came out empty: no input of the box satisfies the splits.
    """

    lower: tuple
    upper: tuple
    empty: bool

    def unstable(self) -> list[np.ndarray]:
        """Per hidden layer, the indices of the neurons whose sign is not decided (l < 0 < u)."""
        return [np.flatnonzero((l < 0) & (u > 0)) for l, u in zip(self.lower, self.upper)]


def proved_layer_bounds(network: ReLUNetwork, lo, hi, splits=None, *, parent: ProvedBounds | None = None,
                        reuse: int = 0) -> ProvedBounds:
    """Proved bounds on every hidden pre-activation over the box [lo, hi] (which must contain the input set).

    ``splits``: per hidden layer an int array, +1 (the neuron is active: ẑ ≥ 0), −1 (inactive: ẑ ≤ 0) or 0.
    ``parent`` and ``reuse``: the first ``reuse`` layers are the parent's bounds (with ``splits`` applied) — valid
    when the splits differ from the parent's only in layers ≥ reuse − 1, since a layer's bounds depend only on
    the layers below it (a branch-and-bound child split in layer i reuses layers 0..i).

    Examples
    --------
    >>> import numpy as np
    >>> net = ReLUNetwork([np.array([[1.0, -1.0]]), np.array([[1.0], [0.0]])], [np.zeros(1), np.zeros(2)])
    >>> b = proved_layer_bounds(net, np.zeros(2), np.ones(2))
    >>> float(b.lower[0][0]) <= -1.0 <= 1.0 <= float(b.upper[0][0]) < 1.0 + 1e-12
    True
    """
    lo = np.asarray(lo, dtype=np.float64)
    hi = np.asarray(hi, dtype=np.float64)
    intervals = []
    empty = False
    for t in range(network.n_layers - 1):
        if parent is not None and t < reuse:
            l, u = parent.lower[t], parent.upper[t]
        else:
            n = network.weights[t].shape[0]
            V = np.vstack([np.eye(n), -np.eye(n)])
            ub = _lagrangian_upper(network, t, V, lo, hi, intervals, with_interval=True)
            u, l = ub[:n], -ub[n:]
        if splits is not None:
            s = np.asarray(splits[t])
            u = np.where(s < 0, np.minimum(u, 0.0), u)
            l = np.where(s > 0, np.maximum(l, 0.0), l)
        if np.any(l > u):
            empty = True
            l, u = np.minimum(l, u), np.minimum(l, u)
        intervals.append((l, u))
    return ProvedBounds(tuple(i[0] for i in intervals), tuple(i[1] for i in intervals), empty)


def proved_margin_bounds(network: ReLUNetwork, lo, hi, label: int, bounds: ProvedBounds | None = None,
                         keep: bool = False, optimise: int = 0):
    """Proved upper bounds on f_j − f_label over the box, per class j (entry ``label`` is 0).

    With ``keep``: also, per hidden layer, the coefficients of its output in each target's Lagrangian (rows:
    the targets j ≠ label in class order), which say how much each neuron's relaxation costs. ``optimise``
    Adam steps on the multipliers (:func:`optimise_multipliers`) tighten the bound (0: CROWN's multipliers).

    Examples
    --------
    >>> import numpy as np
    >>> net = ReLUNetwork([np.array([[1.0, -1.0], [0.0, 1.0]])], [np.zeros(2)])
    >>> b = proved_margin_bounds(net, np.zeros(2), np.ones(2), 0)     # x1 − (x0 − x1) ≤ 2
    >>> bool(2.0 <= b[1] < 2.0 + 1e-12), float(b[0])
    (True, 0.0)
    """
    lo = np.asarray(lo, dtype=np.float64)
    hi = np.asarray(hi, dtype=np.float64)
    K = network.n_classes
    if bounds is None:
        bounds = proved_layer_bounds(network, lo, hi)
    targets = [j for j in range(K) if j != label]
    out = np.zeros(K)
    if bounds.empty:
        out[targets] = -np.inf
        return (out, {}) if keep else out
    V = np.zeros((len(targets), K))
    V[np.arange(len(targets)), targets] = 1.0
    V[:, label] = -1.0
    intervals = list(zip(bounds.lower, bounds.upper))
    L = network.n_layers - 1
    ub, kept = _lagrangian_upper(network, L, V, lo, hi, intervals, keep=True, with_interval=True)
    if optimise and L > 0:
        nus = optimise_multipliers(network, L, V, lo, hi, intervals, steps=optimise)
        ub = np.minimum(ub, _lagrangian_upper(network, L, V, lo, hi, intervals, multipliers=nus))
    out[targets] = ub
    return (out, kept) if keep else out


def proved_logit_bounds(network: ReLUNetwork, lo, hi, bounds: ProvedBounds) -> tuple[np.ndarray, np.ndarray]:
    """Proved lower and upper bounds on every logit over the box, from proved hidden-layer ``bounds``.

    Examples
    --------
    >>> import numpy as np
    >>> net = ReLUNetwork([np.array([[1.0], [-1.0]])], [np.zeros(2)])       # logits (x, −x) on [0, 1]
    >>> l, u = proved_logit_bounds(net, np.zeros(1), np.ones(1), proved_layer_bounds(net, np.zeros(1), np.ones(1)))
    >>> [round(float(v), 12) + 0.0 for v in (*l, *u)]
    [0.0, -1.0, 1.0, 0.0]
    """
    K = network.n_classes
    ub = _lagrangian_upper(network, network.n_layers - 1, np.vstack([np.eye(K), -np.eye(K)]),
                           np.asarray(lo, dtype=np.float64), np.asarray(hi, dtype=np.float64),
                           list(zip(bounds.lower, bounds.upper)))
    return -ub[K:], ub[:K]
