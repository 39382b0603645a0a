"""Grad-cert: the ICLR 2018 SDP certificate for one-hidden-layer ReLU networks (SPEC §3).

For f(x) = V·relu(W x + b) + b' (W of shape (m, d), V of shape (K, m)), classes i ≠ j, v = V_i − V_j and
A = Wᵀ diag(v) (d × m), the mean value theorem along the segment from x to x̃ gives, for every x̃ with
‖x̃ − x‖_∞ ≤ ε,

    f_i(x̃) − f_j(x̃) ≤ f_i(x) − f_j(x) + ε · max_{s∈[0,1]^m} ‖A s‖₁ ≤ f_i(x) − f_j(x) + (ε/4) · SDP(M_ij),

where SDP(M) = max <M, P> s.t. P ⪰ 0, P_kk ≤ 1 (problem (P) of SPEC §1 with E = ∅) and, for y = [1; t; s]
(blocks of sizes 1, d, m, n = 1 + d + m),

    M_ij[0, t-block] = (Wᵀ v)ᵀ = (A·1_m)ᵀ,   M_ij[t-block, s-block] = A,   their transposes, zeros elsewhere.

Why this pairing: with s = (1 + s')/2 and s' ∈ {−1, 1}^m, tᵀ A s = ¼ (2 tᵀ A 1 + 2 tᵀ A s') = ¼ yᵀ M y for
y = [1; t; s'], so 4·max_{t, s} tᵀ A s ≤ SDP(M). The matrix printed in the paper's equation (8) puts the
first block against s instead (:func:`paper_eq8_matrix_dense`); that variant is **not** a valid bound.

The SDP depends on the weights only, so a model needs one SDP per unordered class pair (M(−v) = D M(v) D
with D = diag(−1, I_d, −I_m), so S_ij = S_ji); the per-example certificate is then a table lookup. The
bound holds on the whole ε-ball, hence also on its intersection with the input domain [0, 1]^d.

Public objects: :class:`GradCertOperator`, :func:`gradcert_matrix_dense`, :func:`paper_eq8_matrix_dense`
(invalid, for the regression test only), :func:`pair_sdp_values`, :class:`PairSDPTable` and the plugin
``grad-cert`` (:class:`GradCert`).
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import platform
import tempfile
import time
import warnings
import zipfile
from dataclasses import dataclass
from numbers import Integral, Real
from pathlib import Path

import numpy as np

from sdpsolve.rounding import ETA, U, exact_difference, gamma, sqrt_upper, sum_squares_upper, up

from ._base import Certifier, check_certify_inputs, register
from ._network import ReLUNetwork
from ._options import BOUND, RTOL, Option, check_torch_device

__all__ = [
    "GradCert",
    "GradCertOperator",
    "PairSDPTable",
    "default_cache_dir",
    "difference_correction",
    "gradcert_matrix_dense",
    "margin_rounding_bound",
    "pair_sdp_values",
    "paper_eq8_matrix_dense",
]

logger = logging.getLogger(__name__)

#: engines accepted by :class:`GradCertOperator`
ENGINES = ("numba", "numpy", "torch")
#: bound kinds accepted by :func:`pair_sdp_values`, strongest first ("estimate" is not a bound)
TABLE_BOUNDS = ("rigorous", "probabilistic")
#: bump when the cache layout or the meaning of a cached value changes
CACHE_FORMAT = 1


# ---------------------------------------------------------------------------------------------------------
# argument checks
# ---------------------------------------------------------------------------------------------------------
def _check_weights(W, v) -> tuple[np.ndarray, np.ndarray]:
    try:
        W = np.array(W, dtype=np.float64, order="C")
    except (TypeError, ValueError) as exc:
        raise TypeError(f"`W` must be a real 2-d array (m, d), got {type(W).__name__}.") from exc
    if W.ndim != 2 or W.shape[0] < 1 or W.shape[1] < 1:
        raise ValueError(f"`W` must be a non-empty 2-d array of shape (m, d), got shape {W.shape}.")
    if not np.all(np.isfinite(W)):
        raise ValueError(f"`W` must be finite; it has {int(np.sum(~np.isfinite(W)))} NaN/inf entries.")
    try:
        v = np.array(v, dtype=np.float64).reshape(-1) if np.ndim(v) <= 1 else np.array(v, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"`v` must be a real vector of length {W.shape[0]}, got {type(v).__name__}.") from exc
    if v.shape != (W.shape[0],):
        raise ValueError(f"`v` must have shape ({W.shape[0]},) to match W of shape {W.shape}, got {v.shape}.")
    if not np.all(np.isfinite(v)):
        raise ValueError(f"`v` must be finite; it has {int(np.sum(~np.isfinite(v)))} NaN/inf entries.")
    W.setflags(write=False)
    v.setflags(write=False)
    return W, v


def _check_rtol(rtol) -> float:
    if isinstance(rtol, bool) or not isinstance(rtol, Real):
        raise TypeError(f"`rtol` must be a positive finite float, got {rtol!r} of type {type(rtol).__name__}.")
    rtol = float(rtol)
    if not (math.isfinite(rtol) and rtol > 0):
        raise ValueError(f"`rtol` must be a positive finite float, got {rtol!r}.")
    return rtol


def _check_bound(bound) -> str:
    if not isinstance(bound, str) or bound not in TABLE_BOUNDS:
        raise ValueError(
            f"`bound` must be one of {', '.join(repr(b) for b in TABLE_BOUNDS)} "
            "(an 'estimate' is not a bound "
            f"and cannot certify); got {bound!r}."
        )
    return bound


def _check_one_hidden_layer(network) -> ReLUNetwork:
    if not isinstance(network, ReLUNetwork):
        raise TypeError(f"`network` must be a ReLUNetwork, got {type(network).__name__}.")
    if network.n_hidden_layers != 1:
        raise ValueError(
            "Grad-cert needs a network with exactly one hidden layer (layer sizes d-m-K); got "
            f"{network.n_hidden_layers} hidden layers (sizes {'-'.join(map(str, network.layer_sizes))})."
        )
    return network


# ---------------------------------------------------------------------------------------------------------
# the operator
# ---------------------------------------------------------------------------------------------------------
class GradCertOperator:
    """The implicit symmetric matrix M of the Grad-cert SDP for one pair of classes (SPEC §3).

    With A = Wᵀ diag(v) (d × m) and g = Wᵀ v = A·1, and y = [1; t; s] (n = 1 + d + m),

        M = [[0, gᵀ, 0],
             [g, 0,  A],
             [0, Aᵀ, 0]].

    Products cost O(m·d·k) for an (n, k) block and never form A.

    Parameters
    ----------
    W : array_like, shape (m, d)
        First-layer weights (hidden units × inputs).
    v : array_like, shape (m,)
        Difference of two rows of the last layer, V_i − V_j.
    engine : {"numba", "numpy", "torch"}
        How products are computed: a numba kernel (single pass over W), numpy/BLAS, or torch in float64 on
        ``device``. All give the same matrix up to the rounding of the products.
    device : str
        Torch device for ``engine="torch"`` ("cpu", "cuda", "cuda:1", ...); must be "cpu" for the others.

    Attributes
    ----------
    shape : tuple of int
        (n, n) with n = 1 + d + m.
    n_matvec : int
        Number of matrix–vector products so far (an (n, k) block counts k).

    Notes
    -----
    :meth:`to_dense` returns ``(B, err)`` with ``err`` a proved bound on ‖M_exact − B‖₂ (the rounding of
    Wᵀv and of the products W_lk·v_l), which the solver's rigorous bound uses; :meth:`norm_bound` is a proved
    upper bound on ‖M‖₂ for the probabilistic bound. Do not confuse this matrix with the one printed in
    equation (8) of the paper (:func:`paper_eq8_matrix_dense`), which is not a valid relaxation.

    Examples
    --------
    >>> import numpy as np
    >>> W = np.array([[1.0, -2.0], [0.5, 1.0]]); v = np.array([1.0, -1.0])
    >>> op = GradCertOperator(W, v, engine="numpy")
    >>> op.shape
    (5, 5)
    >>> bool(np.allclose(op.matmat(np.eye(5)), gradcert_matrix_dense(W, v)))
    True
    """

    def __init__(self, W, v, *, engine: str = "numba", device: str = "cpu"):
        W, v = _check_weights(W, v)
        if not isinstance(engine, str) or engine not in ENGINES:
            raise ValueError(f"`engine` must be one of {', '.join(map(repr, ENGINES))}; got {engine!r}.")
        if not isinstance(device, str):
            raise TypeError(f"`device` must be a string such as 'cpu' or 'cuda', got {type(device).__name__}.")
        if engine != "torch" and device != "cpu":
            raise ValueError(f"`device` must be 'cpu' for engine={engine!r}; got {device!r} (use engine='torch').")
        self.W = W
        self.v = v
        self.m, self.d = W.shape
        self.n = 1 + self.d + self.m
        self.shape = (self.n, self.n)
        self.dtype = np.dtype(np.float64)
        self.g = np.ascontiguousarray(W.T @ v)
        self.g.setflags(write=False)
        self.n_matvec = 0
        self.device = device
        self._kernel = None
        if engine == "numba":
            try:
                from ._gradcert_kernels import gradcert_matmat_kernel

                self._kernel = gradcert_matmat_kernel
            except ImportError as exc:  # pragma: no cover - numba is a hard dependency
                logger.warning("numba is unavailable (%s); GradCertOperator falls back to engine='numpy'.", exc)
                engine = "numpy"
        self.engine = engine
        if engine == "torch":
            import torch

            dev = self._torch_device = check_torch_device(device)
            self._tW = torch.from_numpy(W.copy()).to(device=dev)
            self._tv = torch.from_numpy(v.copy()).to(device=dev)[:, None]
            self._tg = torch.from_numpy(self.g.copy()).to(device=dev)[:, None]

    def __repr__(self) -> str:
        return f"GradCertOperator(n={self.n}, d={self.d}, m={self.m}, engine={self.engine!r}, device={self.device!r})"

    # -- products -------------------------------------------------------------------------------------------
    def matmat(self, X):
        """M @ X for X of shape (n,) or (n, k): numpy in, numpy out; a torch tensor in, a torch tensor out.

        Examples
        --------
        >>> import numpy as np
        >>> op = GradCertOperator(np.ones((2, 3)), np.array([1.0, 2.0]))
        >>> op.matmat(np.eye(6)[:, 0]).tolist()   # first column: [0; g; 0] with g = Wᵀv = (3, 3, 3)
        [0.0, 3.0, 3.0, 3.0, 0.0, 0.0]
        """
        is_torch = type(X).__module__.startswith("torch")
        if is_torch:
            import torch

            out_device = X.device
            if self.engine == "torch":
                Xt = X.detach().to(device=self._torch_device, dtype=torch.float64)
                vec = Xt.ndim == 1
                Xt = Xt[:, None] if vec else Xt
                self._check_operand(tuple(Xt.shape))
                Y = self._matmat_torch(Xt)
            else:
                Xn = X.detach().cpu().to(torch.float64).numpy()
                vec = Xn.ndim == 1
                Xn = Xn[:, None] if vec else Xn
                self._check_operand(Xn.shape)
                Y = torch.from_numpy(self._matmat_numpy_input(Xn))
            self.n_matvec += Y.shape[1]
            Y = Y[:, 0] if vec else Y
            return Y.to(out_device)
        X = np.asarray(X, dtype=np.float64)
        vec = X.ndim == 1
        if vec:
            X = X[:, None]
        self._check_operand(X.shape)
        if self.engine == "torch":
            import torch

            Y = self._matmat_torch(torch.as_tensor(X, device=self._torch_device)).cpu().numpy()
        else:
            Y = self._matmat_numpy_input(X)
        self.n_matvec += X.shape[1]
        return Y[:, 0] if vec else Y

    matvec = matmat

    def __matmul__(self, X):
        return self.matmat(X)

    def _check_operand(self, shape) -> None:
        if len(shape) != 2 or shape[0] != self.n:
            raise ValueError(f"operand must have shape ({self.n},) or ({self.n}, k), got {tuple(shape)}.")

    def _matmat_numpy_input(self, X: np.ndarray) -> np.ndarray:
        d = self.d
        if self.engine == "numba":
            Xc = np.ascontiguousarray(X)
            Y = np.empty_like(Xc)
            self._kernel(self.W, self.v, self.g, Xc, Y)
            return Y
        x0, Xt, Xs = X[:1], X[1 : 1 + d], X[1 + d :]
        Y = np.empty_like(X)
        Y[:1] = self.g @ Xt
        Y[1 : 1 + d] = np.outer(self.g, x0) + self.W.T @ (self.v[:, None] * Xs)
        Y[1 + d :] = self.v[:, None] * (self.W @ Xt)
        return Y

    def _matmat_torch(self, X):
        import torch

        d = self.d
        x0, Xt, Xs = X[:1], X[1 : 1 + d], X[1 + d :]
        y0 = self._tg.T @ Xt
        yt = self._tg @ x0 + self._tW.T @ (self._tv * Xs)
        ys = self._tv * (self._tW @ Xt)
        return torch.cat([y0, yt, ys], dim=0)

    # -- explicit information -------------------------------------------------------------------------------
    def diagonal(self) -> np.ndarray:
        """The diagonal of M (all zeros)."""
        return np.zeros(self.n)

    def _rounding_bounds(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Â = fl(Wᵀ diag v), and elementwise bounds e_g ≥ |ĝ − g|, e_A ≥ |Â − A| (exact g, A).

        Products: fl(w·v) = w·v(1 + δ) + η with |δ| ≤ u, |η| ≤ 2^-1075, so |Â − A| ≤ γ_1|A| + η ≤ γ_2|Â| + 2η.
        Sums: |ĝ − g| ≤ γ_m Σ_l |W_lk||v_l| (+ m·η for underflowing products) for any summation order (also
        with FMA); the exact Σ|W||v| is at most s̃ / (1 − γ_m) for its computed value s̃, and
        γ_m / (1 − γ_m) ≤ γ_2m. Two extra units in every γ cover the rounding of the bound's own evaluation.
        """
        A_hat = self.W.T * self.v  # (d, m), entry (k, l) = fl(W_lk · v_l)
        e_A = gamma(4) * np.abs(A_hat) + 2 * ETA
        s_tilde = np.abs(self.W).T @ np.abs(self.v)
        e_g = gamma(2 * self.m + 2) * s_tilde + (self.m + 1) * 2 * ETA
        return A_hat, e_g, e_A

    def to_dense(self) -> tuple[np.ndarray, float]:
        """Return ``(B, err)``: the float64 matrix B (from ĝ = fl(Wᵀv) and Â = fl(Wᵀ diag v)) and a proved
        ``err >= ||M_exact - B||_2``.

        ``err`` is the Frobenius norm of the elementwise rounding bounds (each block counted twice, for its
        transpose), rounded upwards; see :meth:`_rounding_bounds`.

        Examples
        --------
        >>> import numpy as np
        >>> B, err = GradCertOperator(np.array([[2.0, 1.0]]), np.array([0.5])).to_dense()
        >>> B[0].tolist(), err < 1e-14
        ([0.0, 1.0, 0.5, 0.0], True)
        """
        A_hat, e_g, e_A = self._rounding_bounds()
        d = self.d
        B = np.zeros((self.n, self.n))
        B[0, 1 : 1 + d] = self.g
        B[1 : 1 + d, 0] = self.g
        B[1 : 1 + d, 1 + d :] = A_hat
        B[1 + d :, 1 : 1 + d] = A_hat.T
        half = up(sum_squares_upper(e_g) + sum_squares_upper(e_A))
        err = sqrt_upper(up(2.0 * half))
        return B, err

    def norm_bound(self) -> float:
        """A proved upper bound on ‖M‖₂ (exact M), without forming M.

        M is a symmetric dilation of G = [g, A] (d × (1 + m)), so ‖M‖₂ = ‖G‖₂ ≤ ‖G‖_F, with
        ‖A‖_F² = Σ_l v_l² ‖W_l‖² and ‖g‖ ≤ ‖ĝ‖ + ‖ĝ − g‖, every float sum inflated by its γ.

        Examples
        --------
        >>> import numpy as np
        >>> op = GradCertOperator(np.array([[3.0, 4.0]]), np.array([1.0]))
        >>> exact = np.linalg.norm(gradcert_matrix_dense(op.W, op.v), 2)
        >>> bool(exact <= op.norm_bound() <= 1.01 * np.sqrt(2) * exact)
        True
        """
        rows2 = np.einsum("ij,ij->i", self.W, self.W)  # ‖W_l‖², relative error ≤ γ_d each (+ underflow)
        rows2 = rows2 * (1.0 + gamma(self.d + 2)) + (self.d + 1) * ETA
        vv = self.v * self.v
        a2 = float(np.dot(vv, rows2))
        a2 = up(a2 * (1.0 + gamma(self.m + 4)) + (self.m + 1) * 2 * ETA)
        s_tilde = np.abs(self.W).T @ np.abs(self.v)
        e_g = gamma(2 * self.m + 2) * s_tilde + (self.m + 1) * 2 * ETA
        g_norm = up(sqrt_upper(sum_squares_upper(self.g)) + sqrt_upper(sum_squares_upper(e_g)))
        return sqrt_upper(up(up(g_norm * g_norm * (1.0 + 4 * U)) + a2))


def gradcert_matrix_dense(W, v) -> np.ndarray:
    """The Grad-cert matrix M of SPEC §3 as a dense float64 array (for tests and small problems).

    Parameters
    ----------
    W : array_like, shape (m, d)
    v : array_like, shape (m,)

    Returns
    -------
    numpy.ndarray, shape (1 + d + m, 1 + d + m)
        M[0, t-block] = (Wᵀ v)ᵀ, M[t-block, s-block] = Wᵀ diag(v), their transposes, zeros elsewhere.

    Examples
    --------
    >>> import numpy as np
    >>> gradcert_matrix_dense(np.array([[2.0]]), np.array([3.0])).tolist()
    [[0.0, 6.0, 0.0], [6.0, 0.0, 6.0], [0.0, 6.0, 0.0]]
    """
    W, v = _check_weights(W, v)
    m, d = W.shape
    A = W.T * v
    M = np.zeros((1 + d + m, 1 + d + m))
    M[0, 1 : 1 + d] = W.T @ v
    M[1 : 1 + d, 0] = M[0, 1 : 1 + d]
    M[1 : 1 + d, 1 + d :] = A
    M[1 + d :, 1 : 1 + d] = A.T
    return M


def paper_eq8_matrix_dense(W, v) -> np.ndarray:
    """**INVALID** — the matrix as printed in equation (8) of the ICLR 2018 paper; kept for a regression test.

    It pairs the first block with the s-coordinates: M[0, s-block] = 1ᵀ Wᵀ diag(v) (entry l is
    v_l·Σ_k W_lk), M[t-block, s-block] = Wᵀ diag(v), transposes, zeros elsewhere. Its SDP value / 4 can fall
    *below* max_{s∈[0,1]^m, t∈[−1,1]^d} tᵀ A s, so it does not give a certificate. Never use it to certify;
    use :class:`GradCertOperator` / :func:`gradcert_matrix_dense`.

    Examples
    --------
    >>> import numpy as np
    >>> paper_eq8_matrix_dense(np.array([[2.0]]), np.array([3.0])).tolist()
    [[0.0, 0.0, 6.0], [0.0, 0.0, 6.0], [6.0, 6.0, 0.0]]
    """
    W, v = _check_weights(W, v)
    m, d = W.shape
    A = W.T * v
    M = np.zeros((1 + d + m, 1 + d + m))
    M[0, 1 + d :] = A.sum(axis=0)
    M[1 + d :, 0] = M[0, 1 + d :]
    M[1 : 1 + d, 1 + d :] = A
    M[1 + d :, 1 : 1 + d] = A.T
    return M


# ---------------------------------------------------------------------------------------------------------
# the per-model table of pair SDPs
# ---------------------------------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class PairSDPTable:
    """The Grad-cert SDP values of one network, one per unordered pair of classes.

    Attributes
    ----------
    S : numpy.ndarray, shape (K, K)
        S[i, j] = S[j, i] ≥ SDP(M_ij), a bound of kind ``bound_kind``; zeros on the diagonal. The margin
        bound is f_i(x̃) − f_j(x̃) ≤ f_i(x) − f_j(x) + (ε/4)·S[i, j].
    lower : numpy.ndarray, shape (K, K)
        Primal values (feasible points) of the pair SDPs: S[i, j] − lower[i, j] is the slack of the table.
    gap : numpy.ndarray, shape (K, K)
        Relative gaps reported by the solver.
    time : numpy.ndarray, shape (K, K)
        Solve time per pair in seconds (of the run that filled the cache, for a cache hit).
    n_matvec : numpy.ndarray, shape (K, K)
        Operator products per pair.
    converged : numpy.ndarray of bool, shape (K, K)
        Whether each solve reached ``rtol`` (S is a valid bound either way).
    bound_kind : {"rigorous", "probabilistic"}
        The weakest kind over the pairs.
    failure_probability : float
        For "probabilistic": probability that any entry of S is not a bound (union bound over pairs); 0 for
        "rigorous".
    rtol : float
        Relative gap requested from the solver.
    bound : str
        Kind of bound requested from the solver.
    fingerprint : str
        :meth:`ReLUNetwork.fingerprint` of the network.
    from_cache : bool
        Whether the values were read from the cache.

    Examples
    --------
    >>> import numpy as np
    >>> from certifiers._network import ReLUNetwork
    >>> rng = np.random.default_rng(2)
    >>> Ws = [rng.standard_normal((5, 3)), rng.standard_normal((3, 5))]
    >>> net = ReLUNetwork(Ws, [np.zeros(5), np.zeros(3)])
    >>> table = pair_sdp_values(net, cache=False)
    >>> table.n_classes, table.pairs(), bool(np.all(table.lower <= table.S))
    (3, [(0, 1), (0, 2), (1, 2)], True)
    """

    S: np.ndarray
    lower: np.ndarray
    gap: np.ndarray
    time: np.ndarray
    n_matvec: np.ndarray
    converged: np.ndarray
    bound_kind: str
    failure_probability: float
    rtol: float
    bound: str
    fingerprint: str
    from_cache: bool = False

    _ARRAYS = ("S", "lower", "gap", "time", "n_matvec", "converged")

    @property
    def n_classes(self) -> int:
        return self.S.shape[0]

    @property
    def total_time(self) -> float:
        """Sum of the per-pair solve times (seconds)."""
        return float(np.triu(self.time, 1).sum())

    def pairs(self) -> list[tuple[int, int]]:
        """The unordered pairs (i, j), i < j."""
        K = self.n_classes
        return [(i, j) for i in range(K) for j in range(i + 1, K)]


def default_cache_dir() -> Path:
    """``$SDPSOLVE_CACHE_DIR/gradcert`` when the variable is set, else ``~/.cache/sdpsolve/gradcert``."""
    root = os.environ.get("SDPSOLVE_CACHE_DIR")
    base = Path(root).expanduser() if root else Path.home() / ".cache" / "sdpsolve"
    return base / "gradcert"


def _cache_key(fingerprint: str, rtol: float, bound: str) -> str:
    text = f"gradcert-v{CACHE_FORMAT}|{fingerprint}|rtol={rtol!r}|bound={bound}"
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def _load_cached(path_npz: Path, path_json: Path, fingerprint: str, rtol: float, bound: str, K: int):
    if not (path_npz.exists() and path_json.exists()):
        return None
    try:
        meta = json.loads(path_json.read_text())
        if (
            meta.get("format") != CACHE_FORMAT
            or meta.get("fingerprint") != fingerprint
            or meta.get("rtol") != rtol
            or meta.get("bound") != bound
        ):
            return None
        with open(path_npz, "rb") as fh, np.load(fh) as data:
            arrays = {name: np.array(data[name]) for name in PairSDPTable._ARRAYS}
    except (OSError, EOFError, ValueError, KeyError, zipfile.BadZipFile) as exc:
        warnings.warn(f"ignoring unreadable Grad-cert cache entry {path_npz.name}: {exc}", RuntimeWarning, stacklevel=3)
        return None
    if any(a.shape != (K, K) for a in arrays.values()) or not np.all(np.isfinite(arrays["S"])):
        warnings.warn(f"ignoring malformed Grad-cert cache entry {path_npz.name}.", RuntimeWarning, stacklevel=3)
        return None
    for a in arrays.values():
        a.setflags(write=False)
    return PairSDPTable(
        bound_kind=meta["bound_kind"],
        failure_probability=float(meta["failure_probability"]),
        rtol=rtol,
        bound=bound,
        fingerprint=fingerprint,
        from_cache=True,
        **arrays,
    )


def _store_cached(table: PairSDPTable, path_npz: Path, path_json: Path) -> None:
    path_npz.parent.mkdir(parents=True, exist_ok=True)
    meta = {
        "format": CACHE_FORMAT,
        "fingerprint": table.fingerprint,
        "rtol": table.rtol,
        "bound": table.bound,
        "bound_kind": table.bound_kind,
        "failure_probability": table.failure_probability,
        "n_classes": table.n_classes,
        "total_time": table.total_time,
        "created": time.strftime("%Y-%m-%dT%H:%M:%S"),
        "machine": platform.platform(),
    }
    # write to temporary files in the same folder, then rename (atomic on POSIX), npz before json
    fd, tmp = tempfile.mkstemp(dir=path_npz.parent, suffix=".npz.tmp")
    os.close(fd)
    with open(tmp, "wb") as fh:
        np.savez(fh, **{name: getattr(table, name) for name in PairSDPTable._ARRAYS})
    os.replace(tmp, path_npz)
    fd, tmp = tempfile.mkstemp(dir=path_npz.parent, suffix=".json.tmp")
    with os.fdopen(fd, "w") as fh:
        json.dump(meta, fh, indent=1)
    os.replace(tmp, path_json)


def difference_correction(W: np.ndarray, dv: np.ndarray) -> float:
    """An upper bound on SDP(M(W, δv)) when v = V_i − V_j is only known as fl(V_i − V_j) + δv.

    M(W, v) is linear in v, so SDP(M(v_exact)) ≤ SDP(M(fl(v))) + SDP(M(δv)), and for any P feasible for (P)
    (|P_ij| ≤ 1) SDP(M(δv)) ≤ Σ_ij |M(δv)_ij| = 2 |Wᵀδv|ᵀ1 + 2 Σ_l |δv_l| ‖W_l‖₁ ≤ 4 Σ_l |δv_l| ‖W_l‖₁.
    The float64 evaluation is inflated by γ_{m+d+4} and an underflow term. ``dv`` is the exact rounding error
    of the difference (:func:`sdpsolve.rounding.exact_difference`); the result is 0 when δv = 0.

    Parameters
    ----------
    W : numpy.ndarray, shape (m, d)
        First-layer weights.
    dv : numpy.ndarray, shape (m,)
        The exact error δv = (V_i − V_j) − fl(V_i − V_j).

    Returns
    -------
    float
        A float ≥ 4 Σ_l |δv_l| ‖W_l‖₁.

    Examples
    --------
    >>> import numpy as np
    >>> difference_correction(np.ones((2, 3)), np.zeros(2))
    0.0
    >>> difference_correction(np.ones((2, 3)), np.array([1e-17, 0.0])) >= 4 * 1e-17 * 3
    True
    """
    if not np.any(dv):
        return 0.0
    row1 = np.abs(W).sum(axis=1)
    val = float(np.dot(np.abs(dv), row1))
    return up(4.0 * val * (1.0 + gamma(W.shape[0] + W.shape[1] + 4)) + 8 * W.size * ETA)


def _pair_seeds(rng, pairs) -> list:
    if isinstance(rng, np.random.Generator):
        return [int(s) for s in rng.integers(0, 2**63 - 1, size=len(pairs))]
    if rng is None or (isinstance(rng, Integral) and not isinstance(rng, bool)):
        base = np.random.SeedSequence().entropy if rng is None else int(rng)
        if base < 0:
            raise ValueError(f"`rng` as an int seed must be >= 0, got {rng!r}.")
        return [np.random.SeedSequence([base, i, j]).generate_state(1, np.uint64)[0].item() for i, j in pairs]
    raise TypeError(f"`rng` must be None, an int seed or a numpy Generator, got {type(rng).__name__}.")


_KIND_ORDER = {"rigorous": 0, "probabilistic": 1, "estimate": 2}


def pair_sdp_values(
    network: ReLUNetwork,
    *,
    rtol: float = 1e-4,
    bound: str = "rigorous",
    cache_dir=None,
    cache: bool = True,
    progress: bool = False,
    rng=0,
    engine: str = "numba",
    workers: int = 1,
) -> PairSDPTable:
    """Solve the Grad-cert SDP of every unordered pair of classes of a one-hidden-layer network.

    ``workers`` > 1 solves the pairs in that many processes (each pair keeps its own seed, so the table is the
    same as a serial run's).

    For each pair i < j the operator M_ij (:class:`GradCertOperator` with v = V_i − V_j) is passed to
    :func:`sdpsolve.solve` with E = ∅; the table stores the solver's upper bound U_ij ≥ SDP(M_ij) as
    S[i, j] = S[j, i] (M(−v) has the same value). The solver stops when (U − L)/max(1, |U|) ≤ ``rtol``;
    U is a valid bound of the reported kind whether or not it converged. If V_i − V_j is not exact in
    float64 its rounding error δv is added as 4 Σ_l |δv_l| ‖W_l‖₁ ≥ SDP(M(δv)) (zero for float32 weights
    of comparable magnitude).

    The table depends on the weights, ``rtol`` and ``bound`` only (not on ε or any input), and is cached on
    disk under ``cache_dir`` keyed by a hash of these.

    Parameters
    ----------
    network : ReLUNetwork
        A network with exactly one hidden layer (sizes d-m-K).
    rtol : float
        Relative gap at which each SDP solve stops (positive).
    bound : {"rigorous", "probabilistic"}
        Kind of upper bound requested from the solver (SPEC §1.2).
    cache_dir : str or path-like, optional
        Cache folder; default :func:`default_cache_dir` (``~/.cache/sdpsolve/gradcert``, or
        ``$SDPSOLVE_CACHE_DIR/gradcert``).
    cache : bool
        Read and write the cache (False: always solve, write nothing).
    progress : bool
        Show a tqdm progress bar over the pairs.
    rng : None, int or numpy.random.Generator
        Seeds of the solver's random starts; an int seed gives each pair its own stream (SeedSequence of
        (rng, i, j)), so values do not depend on the order of the solves; None draws fresh entropy. The seed
        is not part of the cache key (every seed gives valid bounds).
    engine : {"numba", "numpy", "torch"}
        Product engine of the operators.

    Returns
    -------
    PairSDPTable

    Raises
    ------
    ValueError
        If the network does not have exactly one hidden layer, or an argument is out of range.

    Examples
    --------
    >>> import numpy as np
    >>> from certifiers._network import ReLUNetwork
    >>> rng = np.random.default_rng(0)
    >>> Ws = [rng.standard_normal((4, 3)), rng.standard_normal((3, 4))]
    >>> net = ReLUNetwork(Ws, [np.zeros(4), np.zeros(3)])
    >>> table = pair_sdp_values(net, cache=False)
    >>> bool(np.allclose(table.S, table.S.T)), table.bound_kind
    (True, 'rigorous')
    """
    network = _check_one_hidden_layer(network)
    rtol = _check_rtol(rtol)
    bound = _check_bound(bound)
    if not isinstance(engine, str) or engine not in ENGINES:
        raise ValueError(f"`engine` must be one of {', '.join(map(repr, ENGINES))}; got {engine!r}.")
    K = network.n_classes
    fingerprint = network.fingerprint()
    pairs = [(i, j) for i in range(K) for j in range(i + 1, K)]
    seeds = _pair_seeds(rng, pairs)

    path_npz = path_json = None
    if cache:
        folder = default_cache_dir() if cache_dir is None else Path(os.fspath(cache_dir)).expanduser()
        key = _cache_key(fingerprint, rtol, bound)
        path_npz, path_json = folder / f"{key}.npz", folder / f"{key}.json"
        hit = _load_cached(path_npz, path_json, fingerprint, rtol, bound, K)
        if hit is not None:
            logger.info("Grad-cert pair table loaded from cache %s", path_npz)
            return hit


    W, V = network.weights[0], network.weights[1]
    S = np.zeros((K, K))
    lower = np.zeros((K, K))
    gap = np.zeros((K, K))
    times = np.zeros((K, K))
    n_matvec = np.zeros((K, K), dtype=np.int64)
    converged = np.ones((K, K), dtype=bool)
    kinds = []
    fail = 0.0
    iterator = pairs
    if progress:
        from tqdm.auto import tqdm

        iterator = tqdm(pairs, desc="Grad-cert pair SDPs", unit="pair")
    workers = _check_workers(workers)
    jobs = [(W, V[i], V[j], engine, rtol, bound, seed) for (i, j), seed in zip(pairs, seeds)]
    if workers > 1:
        from ._pool import process_pool

        pool = process_pool(workers, start_method=None)
        results = pool.map(_solve_pair, jobs)
    else:
        pool = None
        results = map(_solve_pair, jobs)
    try:
        for (i, j), out in zip(iterator, results):
            if out["bound_kind"] not in TABLE_BOUNDS:
                raise RuntimeError(
                    f"the solver returned a bound of kind {out['bound_kind']!r} for pair ({i}, {j}); a table "
                    f"needs one of {TABLE_BOUNDS}."
                )
            S[i, j] = S[j, i] = out["upper"]
            lower[i, j] = lower[j, i] = out["lower"]
            gap[i, j] = gap[j, i] = out["gap"]
            times[i, j] = times[j, i] = out["time"]
            n_matvec[i, j] = n_matvec[j, i] = out["n_matvec"]
            converged[i, j] = converged[j, i] = out["converged"]
            kinds.append(out["bound_kind"])
            if out["bound_kind"] == "probabilistic":
                fail += out["failure_probability"]
    finally:
        if pool is not None:
            pool.shutdown()
    if not converged.all():
        bad = [(i, j) for i, j in pairs if not converged[i, j]]
        warnings.warn(
            f"{len(bad)} of {len(pairs)} Grad-cert pair SDPs did not reach rtol = {rtol:g} "
            f"(e.g. pair {bad[0]}, "
            f"gap {gap[bad[0]]:.2e}); their upper bounds are still valid but looser.",
            _not_converged_warning(),
            stacklevel=2,
        )
    kind = max(kinds, key=_KIND_ORDER.__getitem__) if kinds else bound
    for a in (S, lower, gap, times, n_matvec, converged):
        a.setflags(write=False)
    table = PairSDPTable(S, lower, gap, times, n_matvec, converged, kind, min(fail, 1.0), rtol, bound, fingerprint)
    if cache:
        _store_cached(table, path_npz, path_json)
    return table


def _check_workers(workers) -> int:
    if isinstance(workers, bool) or not isinstance(workers, (int, np.integer)) or workers < 1:
        raise ValueError(f"`workers` must be an integer >= 1, got {workers!r}.")
    return int(workers)


def _solve_pair(job) -> dict:
    """One pair SDP (module level so that worker processes can run it)."""
    from sdpsolve import solve

    W, Vi, Vj, engine, rtol, bound, seed = job
    v, dv = exact_difference(Vi, Vj)
    op = GradCertOperator(W, v, engine=engine)
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=_not_converged_warning())
        res = solve(op, equal=None, rtol=rtol, bound=bound, rng=seed)
    elapsed = time.perf_counter() - start
    upper = float(res.upper)
    corr = difference_correction(W, dv)
    if corr:
        upper = up(upper + corr)
    return {"upper": upper, "lower": float(res.lower), "gap": float(res.gap), "time": elapsed,
            "n_matvec": int(res.n_matvec), "converged": bool(res.converged), "bound_kind": res.bound_kind,
            "failure_probability": float(res.failure_probability)}


def _not_converged_warning():
    from sdpsolve._errors import NotConvergedWarning

    return NotConvergedWarning


# ---------------------------------------------------------------------------------------------------------
# the plugin
# ---------------------------------------------------------------------------------------------------------
@register
class GradCert(Certifier):
    """``grad-cert``: the ICLR 2018 SDP certificate (one-hidden-layer networks; SPEC §3).

    B[k, j] = f_j(x_k) − f_{y_k}(x_k) + (ε/4)·S[j, y_k] bounds f_j − f_{y_k} over the whole l∞ ball of radius
    ε around x_k (so also over its intersection with [0, 1]^d), with S from :func:`pair_sdp_values`. The
    margins f_j(x) − f_y(x) are evaluated in float64 and their rounding is bounded (:meth:`bound_margins`),
    so the bound holds in exact arithmetic and also dominates any float64 evaluation of a margin in the ball.

    Parameters
    ----------
    rtol, bound, cache_dir, cache, rng, engine
        Passed to :func:`pair_sdp_values`.

    Examples
    --------
    >>> import numpy as np
    >>> from certifiers._base import get_certifier
    >>> from certifiers._network import ReLUNetwork
    >>> rng = np.random.default_rng(1)
    >>> Ws = [rng.standard_normal((4, 3)), rng.standard_normal((3, 4))]
    >>> net = ReLUNetwork(Ws, [np.zeros(4), np.zeros(3)])
    >>> cert = get_certifier("grad-cert", cache=False)
    >>> B, kind = cert.bound_margins(net, np.full((1, 3), 0.5), np.array([0]), 0.0)
    >>> z = net.logits(np.full((1, 3), 0.5))[0]
    >>> kind, bool(np.allclose(B[0], z - z[0]))   # ε = 0: the margins themselves
    ('rigorous', True)
    """

    name = "grad-cert"
    description = "ICLR 2018 SDP certificate for one-hidden-layer networks: one SDP per class pair, then a lookup."
    runs_in_workers = False  # the lookup takes about 0.1 ms per example; `workers` serves the pair SDPs
    option_specs = (
        RTOL,
        BOUND,
        Option("cache_dir", str, "cache of Grad-cert's pair SDPs (default ~/.cache/sdpsolve)", changes_results=False,
               metavar="DIR"),
        Option("cache", bool, "read and write the pair-SDP cache", changes_results=False, command_line=False),
        Option("workers", int, "processes for the pair SDPs (the run's --workers)", changes_results=False,
               command_line=False),
        Option("engine", str, "products of M_ij: numba, numpy or torch", command_line=False),
    )

    def __init__(
        self,
        *,
        rtol: float = 1e-4,
        bound: str = "rigorous",
        cache_dir=None,
        cache: bool = True,
        rng=0,
        engine: str = "numba",
        workers: int = 1,
    ):
        rtol = _check_rtol(rtol)
        bound = _check_bound(bound)
        if not isinstance(engine, str) or engine not in ENGINES:
            raise ValueError(f"`engine` must be one of {', '.join(map(repr, ENGINES))}; got {engine!r}.")
        workers = _check_workers(workers)
        super().__init__(rtol=rtol, bound=bound, cache_dir=cache_dir, cache=bool(cache), rng=rng, engine=engine,
                         workers=workers)
        self._tables: dict[str, PairSDPTable] = {}

    def prepare(self, network: ReLUNetwork, *, progress: bool = False) -> None:
        """Compute (or load from the cache) the pair table of ``network``."""
        self.table(network, progress=progress)

    def table(self, network: ReLUNetwork, *, progress: bool = False) -> PairSDPTable:
        """The :class:`PairSDPTable` of ``network`` (computed once per network and certifier)."""
        network = _check_one_hidden_layer(network)
        key = network.fingerprint()
        if key not in self._tables:
            self._tables[key] = pair_sdp_values(network, progress=progress, **self.options)
        return self._tables[key]

    def bound_margins(self, network: ReLUNetwork, X, y, eps) -> tuple[np.ndarray, str]:
        """B[k, j] = fl(f_j(x_k) − f_{y_k}(x_k)) + 2ρ_kj + (ε/4)·S[j, y_k], all additions rounded upwards.

        ρ_kj (:func:`margin_rounding_bound`) bounds the rounding of a float64 evaluation of the margin at any
        point of the ball: one ρ makes B a bound on the exact margins, the other makes it dominate any
        float64 evaluation of the margin in the ball as well (e.g. an attack's reported margin).
        """
        network = _check_one_hidden_layer(network)
        X, y, eps = check_certify_inputs(network, X, y, eps)
        table = self.table(network)
        rows = np.arange(len(y))
        logits = network.logits(X)
        margins = logits - logits[rows, y][:, None]
        rho = margin_rounding_bound(network, X, y, eps)
        radius = up((eps / 4.0) * table.S[:, y].T)  # (N, K): row k holds S[j, y_k]
        B = up(up(margins + up(2.0 * rho)) + radius)
        B[rows, y] = 0.0
        return B, table.bound_kind


def margin_rounding_bound(network: ReLUNetwork, X: np.ndarray, y: np.ndarray, eps: float) -> np.ndarray:
    """ρ[k, j] ≥ |fl(f_j(x') − f_{y_k}(x')) − (f_j(x') − f_{y_k}(x'))| for every x' with ‖x' − x_k‖_∞ ≤ ε.

    For a one-hidden-layer network evaluated in float64 (any summation order, FMA or not), with
    a = |x| + ε ≥ |x'| and H = |W0| a + |b0| ≥ |W0 x' + b0|:

        e1 = γ_{d+1} H                                 (pre-activations; ReLU is 1-Lipschitz)
        e2 = |W1| e1 + γ_{m+1} (|W1| (H + e1) + |b1|)  (logits)
        ρ_j = e2_j + e2_y + u (Z_j + Z_y),  Z = |W1| (H + e1) + |b1| + e2 ≥ |computed logits|,

    the whole evaluated in float64 and inflated to cover its own rounding.

    Examples
    --------
    >>> import numpy as np
    >>> from certifiers._network import ReLUNetwork
    >>> net = ReLUNetwork([np.ones((2, 2)), np.ones((2, 2))], [np.zeros(2), np.zeros(2)])
    >>> rho = margin_rounding_bound(net, np.array([[0.5, 0.5]]), np.array([0]), 0.1)
    >>> bool(np.all((rho > 0) & (rho < 1e-14)))
    True
    """
    W0, W1 = network.weights
    b0, b1 = network.biases
    m, d = W0.shape
    a = np.abs(X) + eps
    H = a @ np.abs(W0).T + np.abs(b0)
    e1 = gamma(d + 1) * H
    absW1 = np.abs(W1)
    inner = (H + e1) @ absW1.T
    e2 = e1 @ absW1.T + gamma(m + 1) * (inner + np.abs(b1))
    Z = inner + np.abs(b1) + e2
    rows = np.arange(len(y))
    rho = e2 + e2[rows, y][:, None] + U * (Z + Z[rows, y][:, None])
    # every quantity above is a sum of non-negative terms with at most 2(d + m) + 8 roundings
    return rho * (1.0 + gamma(2 * (d + m) + 16)) + 4 * (d + m) * ETA
