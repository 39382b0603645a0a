"""Norm-based certificates of the ICLR 2018 paper (Raghunathan, Steinhardt & Liang), SPEC §3.

For a network with one hidden layer, f(x) = V relu(W x + b) + b' (W ∈ R^{m×d}, V ∈ R^{K×m}), and
v = V_j − V_y, ReLU being 1-Lipschitz gives for every ‖x̃ − x‖∞ ≤ ε

    f_j(x̃) − f_y(x̃) ≤ f_j(x) − f_y(x) + ‖v‖₂ ‖W (x̃ − x)‖₂ ≤ f_j(x) − f_y(x) + ε √d ‖W‖₂ ‖v‖₂,

the **spectral** bound; ‖W‖₂ ≤ ‖W‖_F gives the looser **Frobenius** bound. Both ignore the [0, 1] clipping
of the input domain, which keeps them sound (the clipped set is smaller). Plugins ``spectral`` and
``frobenius`` (bound kind ``"closed-form"``).
"""

from __future__ import annotations

import numpy as np

from ._base import Certifier, check_certify_inputs, register
from ._network import ReLUNetwork

__all__ = ["norm_margin_bounds", "SpectralBound", "FrobeniusBound", "NORMS"]

#: the matrix norms of W accepted by :func:`norm_margin_bounds`.
NORMS = ("spectral", "frobenius")


def _check_one_hidden_layer(network, who: str) -> ReLUNetwork:
    if not isinstance(network, ReLUNetwork):
        raise TypeError(f"`network` must be a ReLUNetwork, got {type(network).__name__}.")
    if network.n_hidden_layers != 1:
        raise ValueError(
            f"the {who} bound needs a network with exactly one hidden layer (SPEC §3); got "
            f"{network.n_hidden_layers} hidden layers (layer sizes {network.layer_sizes})."
        )
    return network


def norm_margin_bounds(network: ReLUNetwork, X, y, eps: float, norm: str = "spectral") -> np.ndarray:
    """Upper bounds f_j(x) − f_y(x) + ε √d ‖W‖ ‖V_j − V_y‖₂ on the margins of a one-hidden-layer network.

    Parameters
    ----------
    network : ReLUNetwork
        Exactly one hidden layer (W = first-layer weights, V = second-layer weights).
    X : array_like, shape (N, d)
        Clean inputs in [0, 1].
    y : array_like of int, shape (N,)
        Labels.
    eps : float
        l∞ radius, ≥ 0.
    norm : {"spectral", "frobenius"}, default "spectral"
        ‖W‖₂ (largest singular value) or ‖W‖_F.

    Returns
    -------
    np.ndarray, shape (N, classes)
        B[k, j] ≥ max f_j − f_{y_k} over the ε-ball; B[k, y_k] = 0.

    Examples
    --------
    With ‖W‖₂ = 4 and ‖V_0 − V_1‖₂ = √2 the bound is −0.5 + 0.1 · √2 · 4 · √2 = 0.3:

    >>> import numpy as np
    >>> net = ReLUNetwork([np.array([[3.0, 0.0], [0.0, 4.0]]), np.eye(2)], [np.zeros(2), np.zeros(2)])
    >>> norm_margin_bounds(net, np.array([[0.5, 0.5]]), np.array([1]), 0.1).round(6).tolist()
    [[0.3, 0.0]]
    """
    if norm not in NORMS:
        raise ValueError(f"`norm` must be one of {', '.join(map(repr, NORMS))}; got {norm!r}.")
    network = _check_one_hidden_layer(network, norm)
    X, y, eps = check_certify_inputs(network, X, y, eps)
    W, V = network.weights
    w_norm = np.linalg.norm(W, 2) if norm == "spectral" else np.linalg.norm(W, "fro")
    rows = np.arange(len(y))
    z = network.logits(X)
    margins = z - z[rows, y][:, None]
    v_norms = np.linalg.norm(V[None, :, :] - V[y][:, None, :], axis=2)  # (N, K): ‖V_j − V_y‖₂
    B = margins + eps * np.sqrt(network.input_dim) * w_norm * v_norms
    B[rows, y] = 0.0
    return B


class _NormBound(Certifier):
    norm: str = "spectral"

    def __init__(self):
        super().__init__()

    def prepare(self, network: ReLUNetwork, *, progress: bool = False) -> None:
        _check_one_hidden_layer(network, self.norm)

    def bound_margins(self, network: ReLUNetwork, X: np.ndarray, y: np.ndarray, eps: float):
        return norm_margin_bounds(network, X, y, eps, self.norm), "closed-form"


@register
class SpectralBound(_NormBound):
    """f_ij(x) + ε √d ‖W‖₂ ‖V_i − V_j‖₂ (ICLR 2018, one hidden layer)."""

    name = "spectral"
    norm = "spectral"
    description = "spectral-norm bound (ICLR 2018; one hidden layer)"


@register
class FrobeniusBound(_NormBound):
    """f_ij(x) + ε √d ‖W‖_F ‖V_i − V_j‖₂ (ICLR 2018, one hidden layer)."""

    name = "frobenius"
    norm = "frobenius"
    description = "Frobenius-norm bound (ICLR 2018; one hidden layer)"
    runs_in_workers = False  # under 0.1 ms per example on a 784-500-10 network
