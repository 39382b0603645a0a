"""Adversarial attacks (lower bounds on the worst margin): PGD and FGSM, a targeted margin attack, and an attack
on any box and any union of output polytopes (the unsafe regions of VNN-LIB properties).

Except for :func:`polytope_attack`, the perturbation set is the box {x' : ‖x' − x‖∞ ≤ ε, 0 ≤ x' ≤ 1}.
Gradients are taken in torch float32; every iterate is kept in float64 and projected onto the float64 box,
and every margin that is reported (``margins``, ``best_margins``, ``success``, the plugin bounds) is
recomputed by ``network.logits`` in float64 at a point that lies in the box, so a reported success or margin
is real, not a rounding artefact.

Plugins ``pgd`` and ``fgsm`` (``is_attack=True``, bound kind ``"attack"``) report, per target class j, the
largest f_j − f_label seen at any visited point (the clean point included): a lower bound on the true
maximum of the margin over the perturbation set.
"""

from __future__ import annotations

from dataclasses import dataclass
from numbers import Integral, Real

import numpy as np

from sdpsolve import limit_threads

from ._base import Certifier, check_certify_inputs, input_box, register
from ._network import ReLUNetwork
from ._options import DEVICE, RESTARTS, STEPS, Option, check_torch_device

__all__ = [
    "AttackResult",
    "MarginAttackResult",
    "PolytopeAttackResult",
    "pgd_attack",
    "fgsm_attack",
    "targeted_margin_attack",
    "polytope_attack",
    "PGDAttack",
    "FGSMAttack",
]


@dataclass(frozen=True)
class AttackResult:
    """What an untargeted attack found for a batch of N examples.

    Attributes
    ----------
    x_adv : np.ndarray, shape (N, d)
        Per example, the visited point with the largest worst margin max_{j≠y} f_j − f_y (a misclassified
        point whenever one was found). Lies in the ε-box and in [0, 1]^d.
    margins : np.ndarray, shape (N, classes)
        f_j(x_adv) − f_y(x_adv) in float64 (0 in column y).
    success : np.ndarray of bool, shape (N,)
        Whether ``network.predict(x_adv) != y`` (float64 forward pass).
    best_margins : np.ndarray, shape (N, classes)
        Per target class j, the largest f_j − f_y over all visited points (float64; ≥ ``margins``).
    """

    x_adv: np.ndarray
    margins: np.ndarray
    success: np.ndarray
    best_margins: np.ndarray

    @property
    def success_rate(self) -> float:
        """Share of examples for which a misclassified point was found."""
        return float(np.mean(self.success)) if self.success.size else 0.0


@dataclass(frozen=True)
class MarginAttackResult:
    """Result of :func:`targeted_margin_attack`: the best point found and its margin f_j − f_y (float64)."""

    x: np.ndarray
    margin: float


@dataclass(frozen=True)
class PolytopeAttackResult:
    """Result of :func:`polytope_attack`, one entry per polytope P_q = {y : A_q y + b_q ≤ 0}.

    Attributes
    ----------
    x : np.ndarray, shape (Q, d)
        The visited point with the smallest violation v_q(x) = max_k (A_q f(x) + b_q)_k (float64); it lies in
        the box.
    value : np.ndarray, shape (Q,)
        v_q at that point, recomputed by ``network.logits``: ≤ 0 iff f(x) lies in P_q (−inf for a polytope
        without rows, i.e. every output).
    n_steps : int
        Gradient steps taken (fewer than asked when the time limit or a found point stopped the attack).
    """

    x: np.ndarray
    value: np.ndarray
    n_steps: int


# ---------------------------------------------------------------------------------------------------------
# validation helpers
# ---------------------------------------------------------------------------------------------------------
def _check_positive_int(value, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, Integral) or value < 1:
        raise ValueError(f"`{name}` must be a positive integer, got {value!r}.")
    return int(value)


def _check_step_size(step_size, eps: float, steps: int, default_factor: float) -> float:
    if step_size is None:
        return default_factor * eps / steps
    if (
        isinstance(step_size, bool)
        or not isinstance(step_size, Real)
        or not np.isfinite(step_size)
        or step_size <= 0
    ):
        raise ValueError(f"`step_size` must be a positive finite float or None, got {step_size!r}.")
    return float(step_size)


def _check_rng(rng) -> np.random.Generator:
    if rng is None or (isinstance(rng, (Integral, np.random.Generator)) and not isinstance(rng, bool)):
        return np.random.default_rng(rng)
    raise TypeError(f"`rng` must be None, an int seed or a numpy.random.Generator, got {type(rng).__name__}.")


def _torch_models(network: ReLUNetwork, device, dtype=None):
    """The network as a torch module (float32 unless ``dtype`` is given) on ``device``, and the device; a device
    torch does not know or cannot use is a ``ValueError`` naming ``device``."""
    import torch

    try:
        dev = check_torch_device(device)
    except TypeError as exc:
        raise ValueError(str(exc)) from None
    try:
        return network.to_torch(dtype or torch.float32).to(dev), dev
    except (RuntimeError, AssertionError) as exc:  # e.g. "Torch not compiled with CUDA enabled"
        raise ValueError(f"`device` {device!r} is not usable here: {exc}") from exc


#: below this many multiply-adds per forward pass, CPU attacks run torch single-threaded (see _small_work)
_SMALL_WORK = 2**20


def _small_work(network: ReLUNetwork, batch: int, dev):
    """One thread (:func:`sdpsolve.limit_threads`) for small CPU problems, the settings as they are otherwise.

    For tiny layers torch's intra-op threads cost far more than they save (measured: 10× to 200× slower with
    two threads on a loaded two-core machine), so below ``_SMALL_WORK`` multiply-adds per forward pass the
    thread count is set to 1 for the duration of the attack.
    """
    import torch

    work = batch * network.multiply_adds
    small = dev.type == "cpu" and work < _SMALL_WORK and torch.get_num_threads() != 1
    return limit_threads(1 if small else None)


def _sign_grad(model, x64, loss_fn):
    """sign(∇ loss) at x64 (float64 tensor), the gradient taken in float32."""
    import torch

    x = x64.to(torch.float32).detach().requires_grad_(True)
    loss = loss_fn(model(x))
    (g,) = torch.autograd.grad(loss, x)
    return torch.sign(g).to(torch.float64)


# ---------------------------------------------------------------------------------------------------------
# untargeted attacks
# ---------------------------------------------------------------------------------------------------------
class _Tracker:
    """Keeps, in float64, the best point per example and the best margin per (example, class)."""

    def __init__(self, network: ReLUNetwork, X: np.ndarray, y: np.ndarray):
        self.network = network
        self.y = y
        self.rows = np.arange(len(y))
        self.x_best = X.copy()
        m = self._margins(X)
        self.best_margins = m.copy()
        self.best_worst = self._worst(m)

    def _margins(self, X):
        z = self.network.logits(X)
        return z - z[self.rows, self.y][:, None]

    def _worst(self, m):
        m = m.copy()
        m[self.rows, self.y] = -np.inf
        return m.max(axis=1) if m.shape[1] > 1 else np.full(m.shape[0], -np.inf)

    def update(self, X):
        m = self._margins(X)
        np.maximum(self.best_margins, m, out=self.best_margins)
        worst = self._worst(m)
        better = worst > self.best_worst
        self.x_best[better] = X[better]
        self.best_worst[better] = worst[better]

    def result(self) -> AttackResult:
        z = self.network.logits(self.x_best)
        margins = z - z[self.rows, self.y][:, None]
        success = np.argmax(z, axis=1) != self.y
        for a in (self.x_best, margins, success, self.best_margins):
            a.setflags(write=False)
        return AttackResult(self.x_best, margins, success, self.best_margins)


def _prepare(network, X, y, eps):
    X, y, eps = check_certify_inputs(network, X, y, eps)
    lo, hi = input_box(X, eps)
    return X, y, eps, lo, hi


def pgd_attack(
    network: ReLUNetwork,
    X,
    y,
    eps: float,
    *,
    steps: int = 100,
    step_size: float | None = None,
    restarts: int = 5,
    rng=None,
    device="cpu",
) -> AttackResult:
    """Projected gradient descent on the cross-entropy loss in the l∞ ball (Madry et al. 2018).

    Each restart draws x uniformly in the box B = [max(x̄ − ε, 0), min(x̄ + ε, 1)] and takes ``steps``
    steps x ← Π_B(x + step_size · sign(∇_x CE(f(x), y))). Every visited point (and the clean point) is
    evaluated in float64; the best per example is kept across restarts.

    Parameters
    ----------
    network : ReLUNetwork
    X : array_like, shape (N, d)
        Clean inputs in [0, 1].
    y : array_like of int, shape (N,)
        Labels.
    eps : float
        l∞ radius, ≥ 0.
    steps : int, default 100
        Gradient steps per restart.
    step_size : float, optional
        Default 2.5 · ε / steps.
    restarts : int, default 5
        Number of random starts.
    rng : None, int or numpy.random.Generator
        Source of the random starts.
    device : str or torch.device, default "cpu"
        Where the float32 gradients are computed.

    Returns
    -------
    AttackResult

    Examples
    --------
    >>> import numpy as np
    >>> net = ReLUNetwork([np.array([[1.0], [-1.0]])], [np.array([0.0, 0.1])])
    >>> res = pgd_attack(net, np.array([[0.1]]), np.array([0]), 0.2, steps=10, restarts=1, rng=0)
    >>> bool(res.success[0]), float(res.x_adv[0, 0]) <= 0.3
    (True, True)
    """
    import torch

    network = _check_net(network)
    X, y, eps, lo, hi = _prepare(network, X, y, eps)
    steps = _check_positive_int(steps, "steps")
    restarts = _check_positive_int(restarts, "restarts")
    step_size = _check_step_size(step_size, eps, steps, 2.5)
    rng = _check_rng(rng)
    tracker = _Tracker(network, X, y)
    if X.shape[0] == 0 or eps == 0:
        return tracker.result()
    model, dev = _torch_models(network, device)
    lo_t = torch.as_tensor(lo, device=dev)
    hi_t = torch.as_tensor(hi, device=dev)
    y_t = torch.as_tensor(y, device=dev)

    def loss_fn(z):
        return torch.nn.functional.cross_entropy(z, y_t, reduction="sum")

    with _small_work(network, X.shape[0], dev):
        for _ in range(restarts):
            x = torch.as_tensor(rng.uniform(lo, hi), device=dev)
            x = torch.minimum(torch.maximum(x, lo_t), hi_t)
            tracker.update(x.cpu().numpy())
            for _ in range(steps):
                x = x + step_size * _sign_grad(model, x, loss_fn)
                x = torch.minimum(torch.maximum(x, lo_t), hi_t)
                tracker.update(x.cpu().numpy())
    return tracker.result()


def fgsm_attack(network: ReLUNetwork, X, y, eps: float, *, device="cpu") -> AttackResult:
    """The fast gradient sign method: one step x̄ + ε · sign(∇_x CE(f(x̄), y)), projected onto [0, 1].

    Parameters
    ----------
    network : ReLUNetwork
    X : array_like, shape (N, d)
    y : array_like of int, shape (N,)
    eps : float
    device : str or torch.device, default "cpu"

    Returns
    -------
    AttackResult
        The better of the clean point and the FGSM point, per example.

    Examples
    --------
    >>> import numpy as np
    >>> net = ReLUNetwork([np.array([[1.0], [-1.0]])], [np.array([0.0, 0.1])])
    >>> bool(fgsm_attack(net, np.array([[0.1]]), np.array([0]), 0.2).success[0])
    True
    """
    import torch

    network = _check_net(network)
    X, y, eps, lo, hi = _prepare(network, X, y, eps)
    tracker = _Tracker(network, X, y)
    if X.shape[0] == 0 or eps == 0:
        return tracker.result()
    model, dev = _torch_models(network, device)
    y_t = torch.as_tensor(y, device=dev)
    x = torch.as_tensor(X, device=dev)
    with _small_work(network, X.shape[0], dev):
        g = _sign_grad(model, x, lambda z: torch.nn.functional.cross_entropy(z, y_t, reduction="sum"))
    x = torch.minimum(
        torch.maximum(x + eps * g, torch.as_tensor(lo, device=dev)), torch.as_tensor(hi, device=dev)
    )
    tracker.update(x.cpu().numpy())
    return tracker.result()


def _check_net(network) -> ReLUNetwork:
    if not isinstance(network, ReLUNetwork):
        raise TypeError(f"`network` must be a ReLUNetwork, got {type(network).__name__}.")
    return network


# ---------------------------------------------------------------------------------------------------------
# targeted margin attack
# ---------------------------------------------------------------------------------------------------------
def targeted_margin_attack(
    network: ReLUNetwork,
    x,
    y: int,
    j: int,
    eps: float,
    *,
    steps: int = 200,
    restarts: int = 10,
    step_size: float | None = None,
    rng=None,
    device="cpu",
) -> MarginAttackResult:
    """Maximise the margin f_j(x') − f_y(x') over the box directly (a strong attack on one margin).

    All restarts run as one batch: one from the clean point, one from each vertex-like corner chosen by the
    sign of the gradient at the clean point, the rest uniform in the box. Steps are sign-gradient steps on
    the margin with a step size decaying linearly from ``step_size`` to ``step_size / 10``; the best point
    visited (margins evaluated in float64) is returned, its margin recomputed by ``network.logits`` on that
    single point. Used as the oracle of the soundness tests: any upper bound on the margin must be ≥ the
    margin returned here.

    Parameters
    ----------
    network : ReLUNetwork
    x : array_like, shape (d,)
        Clean input in [0, 1].
    y, j : int
        Label and target class.
    eps : float
    steps : int, default 200
    restarts : int, default 10
        Batch of starting points (≥ 2: the clean point and the gradient-sign corner are always included).
    step_size : float, optional
        Initial step size; default ε / 4.
    rng : None, int or numpy.random.Generator
    device : str or torch.device, default "cpu"

    Returns
    -------
    MarginAttackResult

    Examples
    --------
    >>> import numpy as np
    >>> net = ReLUNetwork([np.array([[1.0, 1.0], [-1.0, 0.0]])], [np.zeros(2)])
    >>> r = targeted_margin_attack(net, np.array([0.5, 0.5]), 0, 1, 0.1, steps=20, restarts=2, rng=0)
    >>> round(r.margin, 12)   # −x0 − (x0 + x1) at x = (0.4, 0.4)
    -1.2
    """
    import torch

    network = _check_net(network)
    xv = np.asarray(x, dtype=np.float64)
    if xv.ndim != 1:
        raise ValueError(f"`x` must be a single input of shape ({network.input_dim},), got {xv.shape}.")
    X, yy, eps, lo, hi = _prepare(network, xv[None], np.array([y]), eps)
    for name, v in (("y", y), ("j", j)):
        if isinstance(v, bool) or not isinstance(v, Integral) or not 0 <= v < network.n_classes:
            raise ValueError(f"`{name}` must be a class index in [0, {network.n_classes - 1}], got {v!r}.")
    steps = _check_positive_int(steps, "steps")
    restarts = _check_positive_int(restarts, "restarts")
    step_size = _check_step_size(step_size, eps, 1, 0.25)
    rng = _check_rng(rng)

    def margin64(P):
        z = network.logits(P)
        return z[:, j] - z[:, y]

    if eps == 0 or j == y:
        return MarginAttackResult(X[0].copy(), float(margin64(X)[0]))
    model, dev = _torch_models(network, device)
    lo_t = torch.as_tensor(lo, device=dev)
    hi_t = torch.as_tensor(hi, device=dev)

    def loss_fn(z):
        return (z[:, j] - z[:, y]).sum()

    with _small_work(network, max(restarts, 2), dev):
        g0 = _sign_grad(model, torch.as_tensor(X, device=dev), loss_fn).cpu().numpy()
        corner = np.where(g0 > 0, hi, np.where(g0 < 0, lo, X))
        starts = [X, corner]
        if restarts > 2:
            starts.append(rng.uniform(lo, hi, size=(restarts - 2, X.shape[1])))
        P = np.concatenate(starts)[: max(restarts, 2)]
        best_m = margin64(P)
        best_x = P.copy()
        x = torch.as_tensor(P, device=dev)
        for t in range(steps):
            h = step_size * (1.0 - 0.9 * t / max(steps - 1, 1))
            x = torch.minimum(torch.maximum(x + h * _sign_grad(model, x, loss_fn), lo_t), hi_t)
            Pn = x.cpu().numpy()
            m = margin64(Pn)
            better = m > best_m
            best_m[better] = m[better]
            best_x[better] = Pn[better]
    k = int(np.argmax(best_m))
    return MarginAttackResult(best_x[k].copy(), float(margin64(best_x[k][None])[0]))


# ---------------------------------------------------------------------------------------------------------
# attack on a union of output polytopes over any box
# ---------------------------------------------------------------------------------------------------------
def _check_polytopes(polytopes, n_outputs: int) -> list[tuple[np.ndarray, np.ndarray]]:
    out = []
    for q, item in enumerate(polytopes):
        try:
            A, b = item[0], item[1]
        except (TypeError, IndexError, KeyError):
            raise TypeError(f"`polytopes[{q}]` must be a pair (A, b), got {type(item).__name__}.") from None
        A = np.asarray(A, dtype=np.float64).reshape(-1, n_outputs) if np.size(A) else np.zeros((0, n_outputs))
        b = np.asarray(b, dtype=np.float64).reshape(-1)
        if b.shape != (A.shape[0],):
            raise ValueError(f"`polytopes[{q}]`: b must have shape ({A.shape[0]},) to match A, got {b.shape}.")
        if not (np.all(np.isfinite(A)) and np.all(np.isfinite(b))):
            raise ValueError(f"`polytopes[{q}]` has NaN or inf entries.")
        out.append((A, b))
    return out


def polytope_attack(
    network: ReLUNetwork,
    lo,
    hi,
    polytopes,
    *,
    steps: int = 100,
    restarts: int = 10,
    step_size: float = 0.25,
    time_limit: float | None = None,
    stop_early: bool = True,
    rng=None,
    device="cpu",
) -> PolytopeAttackResult:
    """Search the box lo ≤ x ≤ hi for an input whose output lies in one of the polytopes A_q y + b_q ≤ 0.

    For each polytope the violation v_q(x) = max_k (A_q f(x) + b_q)_k is minimised by sign-gradient steps
    x ← Π(x − h_t (hi − lo) ⊙ sign ∇v_q(x)), h_t decaying linearly from ``step_size`` to ``step_size / 10``,
    from ``restarts`` starts per polytope (the centre of the box, the corner picked by the sign of the
    gradient there, the rest uniform), all polytopes in one batch. Gradients are taken in torch float32;
    every visited point is evaluated in float64 and the best per polytope is kept. The attack stops after
    ``steps`` steps, when ``time_limit`` seconds have passed, or (``stop_early``) as soon as some polytope has
    v_q < 0 at a visited point — one point in the union is all a counterexample search needs.

    Parameters
    ----------
    network : ReLUNetwork
    lo, hi : array_like, shape (d,)
        The box (any finite box, lo ≤ hi).
    polytopes : sequence of (A, b)
        A of shape (m_q, classes), b of shape (m_q,), e.g. :meth:`certifiers._vnnlib.VNNLibSpec.polytopes`.
    steps : int, default 100
    restarts : int, default 10
        Starts per polytope (≥ 2: the centre and the gradient-sign corner are always included).
    step_size : float, default 0.25
        Initial step as a fraction of the box width, per coordinate.
    time_limit : float, optional
        Seconds; checked after every step.
    stop_early : bool, default True
        Stop once any polytope is reached (v_q < 0); False keeps searching for every polytope.
    rng : None, int or numpy.random.Generator
    device : str or torch.device, default "cpu"

    Returns
    -------
    PolytopeAttackResult

    Examples
    --------
    >>> import numpy as np
    >>> net = ReLUNetwork([np.array([[1.0], [-1.0]])], [np.zeros(2)])     # f(x) = (x, −x)
    >>> res = polytope_attack(net, [-1.0], [2.0], [(np.array([[1.0, -1.0]]), np.array([-3.0]))], rng=0)
    >>> bool(res.value[0] <= 0), bool(2 * res.x[0, 0] <= 3.0)             # found some x with 2x − 3 ≤ 0
    (True, True)
    """
    import time

    import torch

    start = time.perf_counter()
    network = _check_net(network)
    lo = np.array(network.check_inputs(lo, "lo")[0])  # writable copies (torch refuses read-only arrays)
    hi = np.array(network.check_inputs(hi, "hi")[0])
    if np.any(lo > hi):
        raise ValueError(f"the box must satisfy lo <= hi; got lo > hi at index {int(np.argmax(lo > hi))}.")
    polys = _check_polytopes(polytopes, network.n_classes)
    steps = _check_positive_int(steps, "steps")
    restarts = _check_positive_int(restarts, "restarts")
    _check_step_size(step_size, 1.0, 1, 1.0)
    if time_limit is not None and not (isinstance(time_limit, Real) and time_limit >= 0):
        raise ValueError(f"`time_limit` must be None or a non-negative number of seconds, got {time_limit!r}.")
    rng = _check_rng(rng)
    Q, R = len(polys), max(restarts, 2)
    center = 0.5 * (lo + hi)
    if Q == 0:
        return PolytopeAttackResult(np.zeros((0, lo.size)), np.zeros(0), 0)
    # pad every polytope to the same number of rows with copies of its first row (the max is unchanged)
    m = max(1, max(A.shape[0] for A, _ in polys))
    A_pad = np.zeros((Q, m, network.n_classes))
    b_pad = np.zeros((Q, m))
    empty = np.array([A.shape[0] == 0 for A, _ in polys])
    for q, (A, b) in enumerate(polys):
        if A.shape[0]:
            A_pad[q, : A.shape[0]], b_pad[q, : A.shape[0]] = A, b
            A_pad[q, A.shape[0] :], b_pad[q, A.shape[0] :] = A[0], b[0]
    owner = np.repeat(np.arange(Q), R)

    def value64(P, who):  # v_q(P[i]) in float64 with q = who[i]
        z = network.logits(P)
        v = np.einsum("imk,ik->im", A_pad[who], z) + b_pad[who]
        return np.where(empty[who], -np.inf, v.max(axis=1))

    width = hi - lo
    P = np.repeat(center[None], Q * R, axis=0)
    n_steps = 0
    if width.any() and not empty.all():
        model, dev = _torch_models(network, device)
        A_t = torch.as_tensor(A_pad[owner], dtype=torch.float32, device=dev)
        b_t = torch.as_tensor(b_pad[owner], dtype=torch.float32, device=dev)
        lo_t, hi_t = torch.as_tensor(lo, device=dev), torch.as_tensor(hi, device=dev)
        w_t = torch.as_tensor(width, device=dev)

        def loss_fn(z):
            return (torch.einsum("imk,ik->im", A_t, z) + b_t).max(dim=1).values.sum()

        with _small_work(network, Q * R, dev):
            g0 = _sign_grad(model, torch.as_tensor(P, device=dev), loss_fn).cpu().numpy()
            P[1::R] = np.where(g0[1::R] < 0, hi, np.where(g0[1::R] > 0, lo, center))
            if R > 2:
                idx = (np.arange(Q * R) % R) >= 2
                P[idx] = rng.uniform(lo, hi, size=(int(idx.sum()), lo.size))
            best_v, best_x = value64(P, owner), P.copy()
            x = torch.as_tensor(P, device=dev)
            for t in range(steps):
                if stop_early and np.any(best_v < 0):
                    break
                if time_limit is not None and time.perf_counter() - start >= time_limit:
                    break
                h = step_size * (1.0 - 0.9 * t / max(steps - 1, 1))
                x = x - h * w_t * _sign_grad(model, x, loss_fn)
                x = torch.minimum(torch.maximum(x, lo_t), hi_t)
                Pn = x.cpu().numpy()
                v = value64(Pn, owner)
                better = v < best_v
                best_v[better], best_x[better] = v[better], Pn[better]
                n_steps += 1
    else:
        best_v, best_x = value64(P, owner), P.copy()
    k = np.argmin(best_v.reshape(Q, R), axis=1) + R * np.arange(Q)
    xs = best_x[k].copy()
    values = value64(xs, np.arange(Q))
    xs.setflags(write=False)
    values.setflags(write=False)
    return PolytopeAttackResult(xs, values, n_steps)


# ---------------------------------------------------------------------------------------------------------
# plugins
# ---------------------------------------------------------------------------------------------------------
@register
class PGDAttack(Certifier):
    """PGD attack plugin: bounds are the best margins found (lower bounds), kind ``"attack"``.

    Parameters
    ----------
    steps : int, default 100
    restarts : int, default 5
    step_size : float, optional
        Default 2.5 · ε / steps.
    seed : None, int or numpy.random.Generator
        Seeds the random starts (a generator is created once, so repeated calls differ but are reproducible).
    device : str, default "cpu"
    """

    name = "pgd"
    is_attack = True
    description = "PGD attack (cross-entropy, random starts, restarts): a lower bound on the error"
    option_specs = (
        DEVICE,
        STEPS,
        RESTARTS,
        Option("step_size", float, "pgd: step size (default 2.5 ε / steps)", command_line=False),
    )

    def __init__(
        self, *, steps: int = 100, restarts: int = 5, step_size: float | None = None, seed=None, device="cpu"
    ):
        steps = _check_positive_int(steps, "steps")
        restarts = _check_positive_int(restarts, "restarts")
        if step_size is not None:
            _check_step_size(step_size, 1.0, steps, 2.5)
        super().__init__(steps=steps, restarts=restarts, step_size=step_size, seed=seed, device=device)
        self._rng = _check_rng(seed)

    def bound_margins(self, network: ReLUNetwork, X: np.ndarray, y: np.ndarray, eps: float):
        o = self.options
        res = pgd_attack(
            network,
            X,
            y,
            eps,
            steps=o["steps"],
            restarts=o["restarts"],
            step_size=o["step_size"],
            rng=self._rng,
            device=o["device"],
        )
        return _attack_bounds(res, y), "attack"


@register
class FGSMAttack(Certifier):
    """FGSM attack plugin (one gradient-sign step of size ε): kind ``"attack"``.

    Parameters
    ----------
    device : str, default "cpu"
    """

    name = "fgsm"
    is_attack = True
    description = "FGSM attack (one step): a weak lower bound on the error"
    option_specs = (DEVICE,)

    def __init__(self, *, device="cpu"):
        super().__init__(device=device)

    def bound_margins(self, network: ReLUNetwork, X: np.ndarray, y: np.ndarray, eps: float):
        res = fgsm_attack(network, X, y, eps, device=self.options["device"])
        return _attack_bounds(res, y), "attack"


def _attack_bounds(res: AttackResult, y) -> np.ndarray:
    B = np.array(res.best_margins, dtype=np.float64, copy=True)
    y = np.asarray(y).reshape(-1).astype(np.int64)
    B[np.arange(len(y)), y] = 0.0
    return B
