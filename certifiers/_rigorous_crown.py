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

__all__ = ["ProvedBounds", "proved_layer_bounds", "proved_layer_bounds_batch", "proved_margin_bounds",
           "proved_margin_bounds_batch", "proved_logit_bounds", "optimise_multipliers", "estimate_margins"]


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
    """Upper bounds on max h·x over x ∈ [lo, hi] and h ∈ [G − E, G + E] (rows of G), summed over x's entries.

    The largest corner product is rounded upwards once (``up`` is monotone); on a box with lo ≥ 0 the largest
    h is the maximiser at every x, so only its two corners are formed."""
    hhi = np.asarray(up(G + E))
    if np.all(lo >= 0):
        corner = np.maximum(hhi * lo, hhi * hi)
    else:
        hlo = np.asarray(down(G - E))
        corner = np.maximum(np.maximum(hlo * lo, hlo * hi), np.maximum(hhi * lo, hhi * hi))
    return _sum_up(np.asarray(up(corner)))


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
    an array of V's rows × n_i: any values are valid). A batch of nodes: intervals of shape (B, 1, n_i), and the
    bounds come out B × rows. With ``with_interval`` the bound is also intersected with
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
    terms = np.array(np.broadcast_arrays(*terms))  # a batch of nodes: the first term is shared by all of them
    total = np.asarray(up(np.sum(terms, axis=0) + up(gamma(2 * len(terms) + 2) * np.sum(np.abs(terms), axis=0))))
    if interval is not None:
        total = np.minimum(total, interval)
    return (total, kept) if keep else total


def _neuron_classes(l: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Per neuron: 0 unstable (l < 0 < u), 1 active (l ≥ 0), −1 inactive (u ≤ 0; a split neuron is one of the
    last two)."""
    return np.where(l >= 0, 1, np.where(u <= 0, -1, 0)).astype(np.int8)


#: Adam's rate on the multipliers' parameters at the first step, and the fraction of it left at the last step (it
#: decays geometrically). On the root bounds of 4 test images of PGD-NN and Grad-NN (bench/bab_throughput.py) the
#: mean share of CROWN's gap to the LP optimum closed is 0.05–0.53 in 20 steps, 0.54–0.94 in 40 and 0.69–0.99 in
#: 100 (a constant rate 0.1 closed 0.34–0.54 in 100 on two of them)
ADAM_RATE, ADAM_FINAL = 0.1, 0.03


def _dual_function(network: ReLUNetwork, t: int, V: np.ndarray, lo, hi, intervals, start: dict | None):
    """The (float64, unproved) dual function of :func:`optimise_multipliers` in its parametrisation: ``(value,
    params, classes, sigma)``, where ``value()`` gives the dual value per row and the multipliers it used at the
    current ``params`` (torch tensors, per layer; from ``start`` where given, as described there)."""
    import torch

    Vt = torch.as_tensor(V, dtype=torch.float64)
    Ws = [torch.tensor(np.array(W, dtype=np.float64)) for W in network.weights[: t + 1]]
    bs = [torch.tensor(np.array(b, dtype=np.float64)) for b in network.biases[: t + 1]]
    ls = [np.asarray(intervals[i][0], dtype=np.float64) for i in range(t)]
    us = [np.asarray(intervals[i][1], dtype=np.float64) for i in range(t)]
    lo_t, hi_t = torch.tensor(np.array(lo, dtype=np.float64)), torch.tensor(np.array(hi, dtype=np.float64))
    classes = [_neuron_classes(ls[i], us[i]) for i in range(t)]
    # a stable neuron's multiplier moves by sigma·a: sigma is half the row's mean |ν| in the layer under CROWN's
    # multipliers (or the start's own sigma), so that one Adam step (rate 0.1, about 0.1 in a) moves it by 5% of
    # that; the slopes α move by about 0.1
    G = V @ network.weights[t]
    sigma = {}
    for i in range(t - 1, -1, -1):
        crown = _crown_multipliers(G, ls[i], us[i])
        sigma[i] = 0.5 * np.maximum(np.mean(np.abs(crown), axis=-1, keepdims=True), 1e-6)
        G = crown @ network.weights[i]
    params, consts = {}, {}
    for i in range(t):
        l, u, c = ls[i], us[i], classes[i]
        shape = np.broadcast_shapes(l.shape, (V.shape[0], l.shape[-1]))
        a0 = np.broadcast_to(np.where(c == 0, (u >= -l).astype(np.float64), 0.0), shape).copy()
        if start is not None and start.get(i) is not None:
            prev, prev_classes, prev_sigma = start[i]
            same = np.broadcast_to(np.asarray(prev_classes) == c, shape) & ~np.isnan(np.broadcast_to(prev, shape))
            a0 = np.where(same, np.broadcast_to(prev, shape), a0)
            prev_sigma = np.broadcast_to(prev_sigma, shape[:-1] + (1,))
            sigma[i] = np.where(np.isnan(prev_sigma), np.broadcast_to(sigma[i], prev_sigma.shape), prev_sigma)
        sigma[i] = torch.as_tensor(np.asarray(sigma[i], dtype=np.float64))
        params[i] = torch.tensor(a0, requires_grad=True)
        unstable = c == 0
        with np.errstate(divide="ignore", invalid="ignore"):
            upper_slope = np.where(unstable, u / np.where(unstable, u - l, 1.0), 0.0)
        consts[i] = tuple(torch.as_tensor(np.asarray(x, dtype=np.float64)) for x in (
            l, u, np.maximum(l, 0.0), np.maximum(u, 0.0), np.where(unstable, 0.0, -np.inf), upper_slope)) + tuple(
            torch.as_tensor(m) for m in (unstable, c == 1, c == -1))
    top_h, top_b = Vt @ Ws[t], Vt @ bs[t]

    def value():
        """The dual value per row and the multipliers it used."""
        h, total, nus = top_h, top_b, {}
        for i in range(t - 1, -1, -1):
            l, u, rl, ru, floor, upper_slope, unstable, active, inactive = consts[i]
            a = params[i]
            slope = torch.where(h >= 0, upper_slope, a.clamp(0.0, 1.0))
            free = sigma[i] * a
            nu = torch.where(unstable, h * slope, torch.where(active, h + free, torch.where(inactive, free, h)))
            nus[i] = nu
            # per neuron, max over p ∈ {l, u} (and 0 when unstable) of −ν p + h relu(p)
            at_l, at_u = h * rl - nu * l, h * ru - nu * u
            total = total + torch.maximum(torch.maximum(at_l, at_u), floor).sum(dim=-1) + nu @ bs[i]
            h = nu @ Ws[i]
        return total + torch.maximum(h * lo_t, h * hi_t).sum(dim=-1), nus

    return value, params, classes, sigma


def estimate_margins(network: ReLUNetwork, lo, hi, label: int, targets, intervals, start: dict | None) -> np.ndarray:
    """Estimates (float64, not proved) of the bounds on f_j − f_label (j in ``targets``) that the multipliers of
    ``start`` give over a batch of nodes with ``intervals`` (per hidden layer, (B, 1, n_i) arrays): one evaluation
    of the dual function, no steps. A neuron whose class differs from the start's gets CROWN's slope or, when
    stable, its exact linear piece. Branch and bound ranks candidate splits by these. Returns a (B, rows) array.
    """
    import torch

    V = np.zeros((len(targets), network.n_classes))
    V[np.arange(len(targets)), list(targets)] = 1.0
    V[:, label] -= 1.0
    L = network.n_layers - 1
    value, _, _, _ = _dual_function(network, L, V, lo, hi, intervals, start)
    with torch.no_grad(), limit_threads(1):
        return value()[0].numpy()


def optimise_multipliers(network: ReLUNetwork, t: int, V: np.ndarray, lo, hi, intervals, *, steps: int = 40,
                         start: dict | None = None, rate: float = ADAM_RATE, final: float = ADAM_FINAL):
    """Multipliers ν_i (per layer i < t) that lower the Lagrangian bound on max V ẑ_t, found by ``steps`` Adam
    steps on the (float64, unproved) dual function with torch — the bound itself is proved afterwards by
    :func:`_lagrangian_upper` with these multipliers, so nothing here needs to be exact.

    The multipliers are parametrised as optimised-slope CROWN (α-CROWN) and the split multipliers of β-CROWN
    do, layer by layer from the top, with h_i the coefficient of x_{i+1} (h_i = W_{i+1}ᵀ ν_{i+1}) and one free
    parameter a per neuron and row: an unstable neuron has ν = h·u/(u − l) where h ≥ 0 (the triangle's upper
    line) and ν = h·α, α = clip(a, 0, 1), where h < 0 (a lower line); an active one (l ≥ 0, split or not)
    ν = h + σa, an inactive one (u ≤ 0) ν = σa — the multiplier of the constraints that make it stable, σ a scale
    per row and layer. a = 0 on stable neurons and CROWN's lower slope on unstable ones give CROWN's multipliers,
    the start.

    A batch of nodes has intervals of shape (B, 1, n_i) (each node's Adam steps are its own: Adam acts entry by
    entry). ``start``: the parameters of an earlier run to start from (a parent's, in branch and bound): per
    layer ``(a, classes, σ)``, broadcastable to (B, rows, n_i), (B, 1, n_i) and (B, rows, 1); a neuron whose class
    (:func:`_neuron_classes`) changed since starts afresh, NaN entries too. The parent's multipliers are then the
    start's, except where a class changed.

    Returns ``(multipliers, parameters)``: per layer the multipliers of the best dual value seen, per row (the
    start's included), and the parameters ``(a, classes, σ)`` at the end, a start for nodes split from these;
    None for both when ``t`` = 0 or ``steps`` = 0.
    """
    import torch

    if t == 0 or steps == 0:
        return None, None
    value, params, classes, sigma = _dual_function(network, t, V, lo, hi, intervals, start)
    opt = torch.optim.Adam(list(params.values()), lr=rate)
    small = int(np.prod(params[0].shape[:-1])) * network.multiply_adds < _SMALL_WORK
    # small problems run torch single-threaded: its intra-op threads cost far more than they save there
    # (measured on a loaded 2-core machine: 7 s against 0.1 s for a tiny network)
    with limit_threads(1 if small else None):
        best = _adam_steps(steps, opt, value, final ** (1.0 / steps))
    return best, {i: (params[i].detach().numpy().astype(np.float32), classes[i], sigma[i].numpy()) for i in params}


#: below this many multiply-adds per evaluation, optimise_multipliers runs torch on one thread
_SMALL_WORK = 2**20


def _adam_steps(steps, opt, value, decay) -> dict:
    """``steps`` Adam steps on the dual function; returns per layer the multipliers of the best value seen, per
    row (the start's included: the first evaluation is at the start)."""
    import torch

    best, best_val = {}, None
    for step in range(steps + 1):
        if step == steps:
            with torch.no_grad():
                cur, nus = value()
        else:
            opt.zero_grad()
            cur, nus = value()
            cur.sum().backward()
        cur = cur.detach()
        if best_val is None:
            best = {i: nus[i].detach().numpy().copy() for i in nus}
            best_val = cur
        else:
            better = cur < best_val
            if better.any():
                rows = better.numpy()
                for i in nus:
                    best[i][rows] = nus[i].detach().numpy()[rows]
                best_val = torch.where(better, cur, best_val)
        if step < steps:
            opt.step()
            for group in opt.param_groups:
                group["lr"] *= decay
    return best


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
        l, u, crossed = _apply_splits(l, u, 0 if splits is None else np.asarray(splits[t]))
        empty |= bool(crossed)
        intervals.append((l, u))
    return ProvedBounds(tuple(i[0] for i in intervals), tuple(i[1] for i in intervals), empty)


def _apply_splits(l: np.ndarray, u: np.ndarray, s) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Intervals narrowed by splits (s < 0: ẑ ≤ 0, s > 0: ẑ ≥ 0), per node along the last axis; a node whose
    interval comes out empty somewhere has all of that layer's collapsed to min(l, u). Returns (l, u, empty) with
    ``empty`` per node."""
    u = np.where(s < 0, np.minimum(u, 0.0), u)
    l = np.where(s > 0, np.maximum(l, 0.0), l)
    empty = np.any(l > u, axis=-1)
    if np.any(empty):
        m = np.minimum(l, u)
        l, u = np.where(empty[..., None], m, l), np.where(empty[..., None], m, u)
    return l, u, empty


def proved_layer_bounds_batch(network: ReLUNetwork, lo, hi, splits, parents, reuses) -> list[ProvedBounds]:
    """:func:`proved_layer_bounds` for a batch of branch-and-bound nodes at once (one product per layer for all).

    Node b has ``splits[b]`` (per hidden layer, as there), its ``parents[b]`` (:class:`ProvedBounds` of the unsplit
    box or of the node it was split from) whose first ``reuses[b]`` layers it keeps. Above those, the neurons
    unstable in some parent of the batch are bounded again as :func:`proved_layer_bounds` does and intersected
    with the parent's interval; the others keep the parent's interval.
    """
    lo = np.asarray(lo, dtype=np.float64)
    hi = np.asarray(hi, dtype=np.float64)
    B = len(splits)
    if not (len(parents) == len(reuses) == B):
        raise ValueError(f"`splits`, `parents` and `reuses` must have one entry per node, got {B}, {len(parents)} "
                         f"and {len(reuses)}")
    intervals = []  # per layer, (B, 1, n) arrays
    empty = np.zeros(B, dtype=bool)
    for t in range(network.n_layers - 1):
        # every node starts from its parent's interval (sound: a node's set lies in its parent's)
        lower = np.stack([p.lower[t] for p in parents])
        upper = np.stack([p.upper[t] for p in parents])
        fresh = [b for b in range(B) if t >= reuses[b]]
        if fresh:
            # only the neurons unstable in some parent are bounded again: a stable one keeps its parent's interval,
            # which its multiplier (CROWN's: the slope 0 or 1) ignores
            rows = np.flatnonzero(np.any((lower[fresh] < 0) & (upper[fresh] > 0), axis=0))
            if rows.size:
                n = network.weights[t].shape[0]
                V = np.zeros((2 * rows.size, n))
                V[np.arange(rows.size), rows] = 1.0
                V[rows.size + np.arange(rows.size), rows] = -1.0
                sub = [(lw[fresh], up_[fresh]) for lw, up_ in intervals]
                ub = np.broadcast_to(_lagrangian_upper(network, t, V, lo, hi, sub, with_interval=True),
                                     (len(fresh), V.shape[0]))  # (layer 0 depends on the box alone)
                f = np.array(fresh)[:, None]
                upper[f, rows] = np.minimum(upper[f, rows], ub[:, : rows.size])
                lower[f, rows] = np.maximum(lower[f, rows], -ub[:, rows.size:])
        lower, upper, crossed = _apply_splits(lower, upper, np.array([np.asarray(sp[t]) for sp in splits]))
        empty |= crossed
        intervals.append((lower[:, None, :], upper[:, None, :]))
    return [ProvedBounds(tuple(l[b, 0] for l, _ in intervals), tuple(u[b, 0] for _, u in intervals), bool(empty[b]))
            for b in range(B)]


def proved_margin_bounds_batch(network: ReLUNetwork, lo, hi, label: int, targets, bounds: list[ProvedBounds], *,
                               optimise: int = 0, start: dict | None = None):
    """:func:`proved_margin_bounds` for a batch of nodes (none of them empty) and the given ``targets`` only.

    Returns ``(ub, kept, parameters)``: ``ub[b, r]`` a proved upper bound on f_{targets[r]} − f_label over node
    b's set; ``kept[i][b, r]`` the coefficients of layer i's output in that Lagrangian (with the optimised
    multipliers where they did better); ``parameters`` those of :func:`optimise_multipliers` (None without
    ``optimise``), a ``start`` for the nodes split from these.
    """
    lo = np.asarray(lo, dtype=np.float64)
    hi = np.asarray(hi, dtype=np.float64)
    targets = [int(j) for j in targets]
    if any(b.empty for b in bounds):
        raise ValueError("`bounds`: an empty node has no margins to bound (every bound there is -inf)")
    V = np.zeros((len(targets), network.n_classes))
    V[np.arange(len(targets)), targets] = 1.0
    V[:, label] -= 1.0
    L = network.n_layers - 1
    intervals = [tuple(np.stack([getattr(b, side)[i] for b in bounds])[:, None, :] for side in ("lower", "upper"))
                 for i in range(L)]
    ub, kept = _lagrangian_upper(network, L, V, lo, hi, intervals, keep=True, with_interval=True)
    ub = np.broadcast_to(ub, (len(bounds), len(targets))).copy()
    state = None
    if optimise and L > 0:
        nus, state = optimise_multipliers(network, L, V, lo, hi, intervals, steps=optimise, start=start)
        opt, kept_opt = _lagrangian_upper(network, L, V, lo, hi, intervals, multipliers=nus, keep=True)
        better = opt < ub
        ub = np.minimum(ub, opt)
        kept = {i: np.where(better[:, :, None], kept_opt[i], np.broadcast_to(kept[i], kept_opt[i].shape))
                for i in kept_opt}
    kept = {i: np.broadcast_to(kept[i], (len(bounds), len(targets), kept[i].shape[-1])) for i in kept}
    return ub, kept, state


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
        nus, _ = optimise_multipliers(network, L, V, lo, hi, intervals, steps=optimise)
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
