"""The strong attack: APGD-style steps on the margin of every target class, many starts, witnesses checked.

The papers' PGD (cross-entropy, 5 random restarts; :func:`certifiers.pgd_attack`) is a weak baseline: it
misses counterexamples that a margin attack finds in milliseconds. This attack, in the spirit of the
AutoAttack family (Croce & Hein, ICML 2020: APGD with a targeted margin loss), runs for every example, every
target class j ≠ y and every start one ascent on the margin f_j(x) − f_y(x) over the box
B = [max(x̄ − ε, 0), min(x̄ + ε, 1)]:

* **starts**: per (example, target) the corner of B where CROWN's linear upper bound on that margin is largest
  (:func:`certifiers.crown_vertices`: where the relaxation is tight, the worst case is there), the clean point,
  then points drawn uniformly in B;
* **steps** (APGD): a sign-gradient step of size η followed by momentum 0.75, both projected onto B; η starts
  at 2ε and is halved at the checkpoints 0, 0.22, 0.41, … of the budget when fewer than 75 % of the steps
  since the last checkpoint increased the margin, or when neither η nor the best margin changed — and then the
  iterate restarts from the best point of its row;
* **early stop**: an example stops as soon as one of its rows has reached a misclassified point.

Soundness of what is reported: iterates are float64 and stay in the box B' ⊆ B whose ends are x̄ − ε and
x̄ + ε rounded *inwards* (:func:`sdpsolve.rounding.exact_sub_up`), so every point lies in the exact set
{x : ‖x − x̄‖∞ ≤ ε, 0 ≤ x ≤ 1}; the gradients come from torch (float64) but every margin that is reported,
and the decision "misclassified", are recomputed by :meth:`ReLUNetwork.logits` in float64 at the reported
point. :func:`confirm_witness` re-checks a witness from scratch (exact comparison of |x − x̄| with ε).
"""

from __future__ import annotations

from numbers import Integral

import numpy as np

from ._attacks import (
    AttackResult,
    _attack_bounds,
    _check_net,
    _check_positive_int,
    _check_rng,
    _small_work,
    _torch_models,
)
from ._base import Certifier, check_certify_inputs, exact_box, register
from ._network import ReLUNetwork
from ._options import DEVICE, RESTARTS, STEPS

__all__ = ["strong_attack", "confirm_witness", "StrongAttack"]

#: APGD's momentum and the share of increasing steps below which the step size is halved (Croce & Hein 2020)
_MOMENTUM = 0.75
_RHO = 0.75


def confirm_witness(network: ReLUNetwork, x, label: int, eps: float, witness) -> bool:
    """Whether ``witness`` is a counterexample: 0 ≤ w ≤ 1, |w − x̄| ≤ ε exactly, argmax f(w) ≠ label (float64).

    Examples
    --------
    >>> import numpy as np
    >>> net = ReLUNetwork([np.array([[1.0], [-1.0]])], [np.array([0.0, 0.1])])   # f = (x, 0.1 − x)
    >>> confirm_witness(net, [0.1], 0, 0.2, [0.0]), confirm_witness(net, [0.1], 0, 0.2, [0.3])
    (True, False)
    >>> confirm_witness(net, [0.1], 0, 0.05, [0.0])   # misclassified, but outside the ball
    False
    """
    from sdpsolve.rounding import exact_difference

    network = _check_net(network)
    x = np.asarray(x, dtype=np.float64).reshape(-1)
    w = np.asarray(witness, dtype=np.float64).reshape(-1)
    if w.shape != (network.input_dim,) or x.shape != w.shape or not np.all(np.isfinite(w)):
        return False
    if np.any(w < 0) or np.any(w > 1):
        return False
    s, e = exact_difference(w, x)  # w − x = s + e exactly
    s, e = np.abs(s), np.where(s < 0, -e, e)  # |w − x| = s + e (the sign of the sum is the sign of s)
    inside = (s < eps) | ((s == eps) & (e <= 0))
    if not np.all(inside):
        return False
    return bool(np.argmax(network.logits(w[None])[0]) != int(label))


def _checkpoints(steps: int) -> set[int]:
    """APGD's checkpoints: ⌈p_j · steps⌉ for p_0 = 0, p_1 = 0.22, p_{j+1} = p_j + max(p_j − p_{j−1} − 0.03, 0.06)."""
    p = [0.0, 0.22]
    while p[-1] < 1.0:
        p.append(p[-1] + max(p[-1] - p[-2] - 0.03, 0.06))
    return {int(np.ceil(q * steps)) for q in p if 0 < q < 1}


def strong_attack(
    network: ReLUNetwork,
    X,
    y,
    eps: float,
    *,
    steps: int = 100,
    restarts: int = 2,
    vertex_starts: bool = True,
    starts=None,
    stop_on_success: bool = True,
    rng=None,
    device="cpu",
) -> AttackResult:
    """The strong attack of this module on a batch: APGD steps on every targeted margin from many starts.

    Parameters
    ----------
    network : ReLUNetwork
    X : array_like, shape (N, d)
        Clean inputs in [0, 1].
    y : array_like of int, shape (N,)
    eps : float
    steps : int, default 100
        Steps per start.
    restarts : int, default 2
        Starts per (example, target class): the CROWN corner (``vertex_starts``), the clean point, then
        uniform points; at least 1.
    vertex_starts : bool, default True
        Start from CROWN's worst-case corner first (one CROWN pass per batch).
    starts : array_like, shape (N, S, d), optional
        S more starts per example, used for every target class after the ``restarts`` ones (clipped to the
        box): e.g. input points read off a relaxation's primal solution.
    stop_on_success : bool, default True
        Stop an example once a misclassified point is found (its other margins are then lower bounds from
        fewer steps).
    rng : None, int or numpy.random.Generator
    device : str or torch.device, default "cpu"
        Where the float64 products run.

    Returns
    -------
    AttackResult
        ``x_adv`` the point with the largest worst margin per example (a counterexample where ``success``),
        ``margins`` there, ``best_margins`` per target class the largest margin at a point of that row (all
        recomputed by ``network.logits``).

    Examples
    --------
    >>> import numpy as np
    >>> net = ReLUNetwork([np.array([[1.0], [-1.0]])], [np.array([0.0, 0.1])])
    >>> res = strong_attack(net, np.array([[0.1]]), np.array([0]), 0.2, steps=10, rng=0)
    >>> bool(res.success[0]), confirm_witness(net, [0.1], 0, 0.2, res.x_adv[0])
    (True, True)
    """
    import torch

    network = _check_net(network)
    X, y, eps = check_certify_inputs(network, X, y, eps)
    steps = _check_positive_int(steps, "steps")
    restarts = _check_positive_int(restarts, "restarts")
    rng = _check_rng(rng)
    N, K = X.shape[0], network.n_classes
    extra = np.zeros((N, 0, X.shape[1])) if starts is None else np.asarray(starts, dtype=np.float64)
    if extra.ndim != 3 or extra.shape[0] != N or extra.shape[2] != X.shape[1] or not np.all(np.isfinite(extra)):
        raise ValueError(f"`starts` must be a finite array of shape ({N}, S, {X.shape[1]}), got {extra.shape}.")
    model, dev = _torch_models(network, device, torch.float64)
    lo, hi = exact_box(X, eps)
    # rows: (example k, target j ≠ y_k, start r)
    ks, js = [], []
    for k in range(N):
        for j in range(K):
            if j != y[k]:
                ks.append(k)
                js.append(j)
    per_row = restarts + extra.shape[1]
    ks = np.repeat(np.asarray(ks, dtype=np.int64), per_row)
    js = np.repeat(np.asarray(js, dtype=np.int64), per_row)
    rs = np.tile(np.arange(per_row), max(N * (K - 1), 0))
    starts = _starts(network, X, y, lo, hi, ks, js, rs, restarts, extra, vertex_starts, rng)
    best_x = starts.copy()  # per row: its best point (largest targeted margin)
    if len(ks) and np.any(hi > lo):
        with _small_work(network, len(ks), dev):
            best_x = _ascend(model, starts, lo[ks], hi[ks], y[ks], js, ks, N, eps, steps, stop_on_success, dev)
    return _result(network, X, y, best_x, ks, js)


def _starts(network, X, y, lo, hi, ks, js, rs, restarts, extra, vertex_starts, rng):
    P = np.empty((len(ks), X.shape[1]))
    first = 0
    if vertex_starts and len(ks):
        from ._bound_propagation import crown_vertices

        V = crown_vertices(network, lo, hi, y)
        sel = rs == 0
        P[sel] = V[ks[sel], js[sel]]
        first = 1
    sel = rs == first
    P[sel] = X[ks[sel]]
    sel = (rs > first) & (rs < restarts)
    if np.any(sel):
        P[sel] = rng.uniform(lo[ks[sel]], hi[ks[sel]])
    sel = rs >= restarts
    if np.any(sel):
        P[sel] = extra[ks[sel], rs[sel] - restarts]
    return np.minimum(np.maximum(P, lo[ks]), hi[ks])


def _ascend(model, P, lo, hi, y, js, ks, N, eps, steps, stop_on_success, dev):
    """APGD on the margins f_j − f_y of every row (``model``: the network in torch float64); each row's best point."""
    import torch

    for p in model.parameters():
        p.requires_grad_(False)
    rows = torch.arange(len(js), device=dev)
    j_t = torch.as_tensor(js, device=dev)
    y_t = torch.as_tensor(y, device=dev)
    lo_t, hi_t = torch.as_tensor(lo, device=dev), torch.as_tensor(hi, device=dev)
    k_t = torch.as_tensor(ks, device=dev)

    def margin_and_grad(x, idx):
        x = x.detach().requires_grad_(True)
        z = model(x)
        zy = z[torch.arange(len(idx), device=dev), y_t[idx]]
        m = z[torch.arange(len(idx), device=dev), j_t[idx]] - zy
        (g,) = torch.autograd.grad(m.sum(), x)
        # the worst margin over all classes at x decides "misclassified"
        zz = z.detach().clone()
        zz[torch.arange(len(idx), device=dev), y_t[idx]] = -torch.inf
        return m.detach(), g, (zz.max(dim=1).values - zy.detach())

    x = torch.as_tensor(P, device=dev).clone()
    m, g, worst = margin_and_grad(x, rows)
    best_m, best_x = m.clone(), x.clone()
    done = torch.zeros(N, dtype=torch.bool, device=dev)
    if stop_on_success:
        done[k_t[worst > 0]] = True
    eta = torch.full((len(js), 1), 2.0 * eps, dtype=torch.float64, device=dev)
    x_prev = x.clone()
    m_prev = m.clone()
    increases = torch.zeros(len(js), dtype=torch.int64, device=dev)
    last_cp, eta_cp, best_cp = 0, eta.clone(), best_m.clone()
    checkpoints = _checkpoints(steps)
    for t in range(steps):
        active = torch.nonzero(~done[k_t]).flatten() if stop_on_success else rows
        if active.numel() == 0:
            break
        xa, ga = x[active], g[active]
        z = torch.minimum(torch.maximum(xa + eta[active] * torch.sign(ga), lo_t[active]), hi_t[active])
        alpha = 1.0 if t == 0 else _MOMENTUM
        xn = xa + alpha * (z - xa) + (1.0 - alpha) * (xa - x_prev[active])
        xn = torch.minimum(torch.maximum(xn, lo_t[active]), hi_t[active])
        mn, gn, worst = margin_and_grad(xn, active)
        x_prev[active] = xa
        x[active], g[active] = xn, gn
        increases[active] += (mn > m_prev[active]).to(torch.int64)
        m_prev[active] = mn
        better = mn > best_m[active]
        best_m[active] = torch.where(better, mn, best_m[active])
        best_x[active] = torch.where(better[:, None], xn, best_x[active])
        if stop_on_success:
            done[k_t[active][worst > 0]] = True
        if t + 1 in checkpoints:
            span = t + 1 - last_cp
            halve = (increases < _RHO * span) | ((eta == eta_cp).flatten() & (best_m == best_cp))
            eta_cp, best_cp = eta.clone(), best_m.clone()
            eta[halve] *= 0.5
            # rows whose step is halved restart from their best point
            x[halve] = best_x[halve]
            x_prev[halve] = best_x[halve]
            if halve.any():
                _, g_h, _ = margin_and_grad(x[halve], rows[halve])
                g[halve] = g_h
            increases.zero_()
            last_cp = t + 1
    return best_x.cpu().numpy()


def _result(network, X, y, best_x, ks, js) -> AttackResult:
    """Margins recomputed by ``network.logits`` at the row bests and the clean points; the best per example."""
    N, K = X.shape[0], network.n_classes
    cand = np.concatenate([X, best_x]) if len(ks) else X.copy()
    owner = np.concatenate([np.arange(N), ks])
    z = network.logits(cand) if len(cand) else np.zeros((0, K))
    m = z - z[np.arange(len(cand)), y[owner]][:, None]
    worst = m.copy()
    worst[np.arange(len(cand)), y[owner]] = -np.inf
    worst = worst.max(axis=1) if K > 1 else np.full(len(cand), -np.inf)
    best_margins = m[:N].copy()
    np.maximum.at(best_margins, owner[N:], m[N:])  # a row's point counts for every class (it is a visited point)
    x_adv = X.copy()
    best_worst = worst[:N].copy()
    for r in range(N, len(cand)):
        k = owner[r]
        if worst[r] > best_worst[k]:
            best_worst[k] = worst[r]
            x_adv[k] = cand[r]
    # one point per pass, as :func:`confirm_witness` evaluates it (BLAS may round a batch differently)
    za = np.array([network.logits(x_adv[k : k + 1])[0] for k in range(N)]).reshape(N, K)
    margins = za - za[np.arange(N), y][:, None]
    success = np.argmax(za, axis=1) != y if N else np.zeros(0, dtype=bool)
    for a in (x_adv, margins, success, best_margins):
        a.setflags(write=False)
    return AttackResult(x_adv, margins, success, best_margins)


@register
class StrongAttack(Certifier):
    """The strong attack plugin (:func:`strong_attack`): kind ``"attack"``; a found counterexample is stored in
    the record as ``witness`` (the input, a list of floats; re-check it with :func:`confirm_witness`).

    Parameters
    ----------
    steps : int, default 100
    restarts : int, default 2
    seed : None, int or numpy.random.Generator
    device : str, default "cpu"
    """

    name = "attack"
    is_attack = True
    description = ("strong attack (APGD margin steps on every target class, starts at CROWN's worst-case corners; "
                   "counterexamples re-checked in float64 and stored as `witness`)")
    option_specs = (
        DEVICE,
        STEPS,
        RESTARTS,
    )

    def __init__(self, *, steps: int = 100, restarts: int = 2, seed=None, device="cpu"):
        steps = _check_positive_int(steps, "steps")
        restarts = _check_positive_int(restarts, "restarts")
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, (Integral, np.random.Generator))):
            raise TypeError(f"`seed` must be None, an int or a numpy.random.Generator, got {type(seed).__name__}.")
        super().__init__(steps=steps, restarts=restarts, seed=seed, device=device)
        self._rng = _check_rng(seed)
        self._last: AttackResult | None = None

    def bound_margins(self, network: ReLUNetwork, X: np.ndarray, y: np.ndarray, eps: float):
        o = self.options
        res = strong_attack(network, X, y, eps, steps=o["steps"], restarts=o["restarts"], rng=self._rng,
                            device=o["device"])
        self._last = res
        return _attack_bounds(res, y), "attack"

    def example_extra(self, k: int) -> dict:
        res = self._last
        if res is None or not res.success[k]:
            return {}
        return {"witness": [float(v) for v in res.x_adv[k]]}
