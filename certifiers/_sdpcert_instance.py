"""The SDP-cert relaxation of one (network, x̄, ε, label, target) as a Lagrangian problem (SPEC §5).

The relaxation (Raghunathan, Steinhardt & Liang, NeurIPS 2018) lifts X = [1; x_0; x_1; …; x_L] to its Gram
matrix. Here it is written in the normalised coordinates of SPEC §5,

    x_i = a_i + r_i ⊙ z_i,   a_i = (l_i + u_i)/2,   r_i ≥ (u_i − l_i)/2   (rounded so that [a ± r] ⊇ [l, u]),

where coordinates with l = u (r = 0) are constants and are dropped. The lifted variable is the Gram matrix
P̂ of ẑ = [1; z_0; z_1; …; z_L] (only the free coordinates), n = 1 + #free; the interval constraints of
SPEC §5 become P̂_ii ≤ 1 and P̂_00 = 1 (E = {0}), which the solver handles; everything else is a row
g_k(P̂) = <A_k, P̂> + β_k ≥ 0 (or = 0), A_k symmetric.

Objective: cᵀ E[x_L] + c_0 with c = W_L[target] − W_L[label], c_0 = b_L[target] − b_L[label], i.e.
M0 = ½(e_0 gᵀ + g e_0ᵀ) with g = c ⊙ r_L on the free coordinates of x_L, and the constant c_0 + cᵀa_L.

Rows, for each hidden neuron k of layer i + 1 (x = x_i, z = x_{i+1}, h = W_i x + b_i, pre-activation bounds
l̂ ≤ h ≤ û; E[·] is linear in P̂):

* ``nonneg``: E[z_k] ≥ 0, for the unstable neurons (l̂ < 0 < û);
* ``geq_affine``: E[z_k − h_k] ≥ 0, unstable (and free stable-active with ``relaxation="paper"``);
* ``triangle``: E[s_k (h_k − l̂_k) − z_k] ≥ 0 with s_k ≥ û_k/(û_k − l̂_k), unstable, only with ``triangle=True``;
* ``eq_affine``: E[z_k − h_k] = 0, stable active (l̂ ≥ 0; free ones only with ``relaxation="tight"``,
  the default); for a constant neuron (l̂ = û) only if a_k lies in
  the range of h_k over the box;
* ``inactive``: E[−h_k] ≥ 0, stable inactive (û ≤ 0), only where the box of x does not already imply it
  (never with IBP bounds, often with CROWN/LP bounds);
* ``complementarity``: E[z_k (z_k − h_k)] = 0, every free hidden neuron (unstable or stable active).

Relation to SPEC §5 (P ⪰ 0, P_00 = 1, z ≥ 0, z ≥ Wx + b, z ⊙ z = z ⊙ (Wx + b), the interval rows): for
stable-inactive and constant neurons the rows above are exactly what SPEC §5 implies; for unstable neurons
they are SPEC §5's rows; for free stable-active neurons the row ``eq_affine`` is added (valid for the network:
relu(h) = h when h ≥ l̂ ≥ 0), and z ≥ 0, z ≥ h are then implied; their ``complementarity`` row is kept,
because E[z − h] = 0 does not imply E[z (z − h)] = 0 (without it the optimum can exceed SPEC §5's: measured
−1.0711 against −1.0798 on a 5-6-6-3 net). So the optimum of this relaxation is ≤ the
SPEC §5 optimum with the same layer bounds (a tightening), and ``triangle=True`` makes it ≤ the triangle LP.
With ``relaxation="paper"`` the free stable-active neurons keep ``geq_affine`` instead of ``eq_affine`` (their
E[z] ≥ 0 is implied by the box), and the rows are exactly SPEC §5's.

The operator M(θ) = M0 + Σ θ_k A_k has the structure

* row/column 0: a vector m0 (all linear rows, the linear parts of the complementarity rows, the objective);
* the diagonal: θ_k r_k² on the free neuron of each complementarity row;
* the blocks between layer i + 1 and layer i: −½ diag(θ ⊙ r_{i+1}) W_i diag(r_i) (complementarity rows),

so a product with an (n, k) block costs one forward and one backward pass through the (sub-)network
(:meth:`SDPCertOperator.matmat`), and :meth:`SDPCertInstance.constraint_values` one forward pass of the k
columns. ``to_dense`` materialises M(θ) together with a proved bound on its rounding, ``norm_bound`` a proved
bound on ||M(θ)||₂ without materialising it.

Rounding (how the bounds stay rigorous). The exact problem is defined by the float64 data: the weights, the
layer bounds, the centres a, radii r and slopes s stored on the instance (r and s rounded upwards so that
every row is valid for the network), c and c_0 as exact differences, θ. Every entry of M(θ), and the constant
c_0 + cᵀa_L + Σ θ_k β_k, is a polynomial of that data evaluated in floating point by +, −, × only, each term
passing through at most K roundings, K = Σ layer sizes + 16. Hence |computed − exact| ≤ γ_K · S with
γ_K = K u / (1 − K u) (rounded upwards: :func:`sdpsolve.rounding.gamma`), u = 2⁻⁵³, and S the same
polynomial evaluated with absolute values (computed alongside, and inflated by 1/(1 − γ_K) and a 1 % margin
for its own rounding). ``to_dense`` reports the Frobenius norm of
these entrywise bounds (≥ the spectral norm of the error), ``constant`` the value rounded up by its bound.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from numbers import Integral

import numpy as np
import scipy.sparse as sp

from sdpsolve._validation import check_choice
from sdpsolve.rounding import down, exact_sub_down, exact_sub_up, gamma, up

from ._base import check_certify_inputs, input_box
from ._bound_propagation import BOUND_METHODS, LayerBounds
from ._bound_propagation import layer_bounds as _compute_layer_bounds
from ._network import ReLUNetwork

__all__ = ["BOUNDS_BOXES", "RELAXATIONS", "ROW_KINDS", "RowBlock", "SDPCertInstance", "SDPCertOperator",
           "sdp_layer_bounds"]

#: the kinds of constraint rows, in the order they appear within one layer
ROW_KINDS = ("nonneg", "geq_affine", "triangle", "eq_affine", "inactive", "complementarity")
#: "tight": stable-active neurons get E[z − h] = 0; "paper": SPEC §5's rows as printed (E[z − h] ≥ 0)
RELAXATIONS = ("tight", "paper")
#: the box the layer bounds are propagated from: x̄ ± ε ∩ [0, 1] (the input set) or x̄ ± ε
BOUNDS_BOXES = ("clipped", "unclipped")

_EQUALITY_KINDS = frozenset({"eq_affine", "complementarity"})

_SQRT2 = math.sqrt(2.0)
_TINY = 1e-300  # covers underflow (each op loses at most 2^-1074 absolutely; far fewer than 1e20 ops)


def sdp_layer_bounds(
    network: ReLUNetwork, x: np.ndarray, eps: float, bounds: str = "ibp", bounds_box: str = "clipped"
) -> LayerBounds:
    """The layer bounds of SDP-cert for the input set [max(x̄ − ε, 0), min(x̄ + ε, 1)].

    ``bounds_box="clipped"`` (the default) propagates ``bounds`` ("ibp" | "crown" | "lp") from that set;
    ``"unclipped"`` propagates them from x̄ ± ε without the clipping to [0, 1], a larger box, so the bounds are
    looser and still valid for the clipped set (the input box recorded in the result, which the SDP constrains
    x_0 to, stays the clipped one). The unclipped propagation reproduces the certified errors of the NeurIPS 2018
    paper (see docs/benchmarks.md); it exists for that comparison, not as a better setting.

    ``x`` and ``eps`` are assumed already checked (:func:`certifiers._base.check_certify_inputs`).

    Examples
    --------
    >>> net = ReLUNetwork([np.array([[1.0]]), np.array([[1.0]])], [np.zeros(1), np.zeros(1)])
    >>> x = np.array([0.9])
    >>> sdp_layer_bounds(net, x, 0.2).pre_upper[0].tolist()
    [1.0]
    >>> b = sdp_layer_bounds(net, x, 0.2, bounds_box="unclipped")
    >>> b.pre_upper[0].tolist(), b.input_upper.tolist()
    ([1.1], [1.0])
    """
    check_choice("bounds", bounds, BOUND_METHODS)
    check_choice("bounds_box", bounds_box, BOUNDS_BOXES)
    lo, hi = input_box(x, eps)
    if bounds_box == "clipped":
        return _compute_layer_bounds(network, lo, hi, bounds)
    lb = _compute_layer_bounds(network, x - eps, x + eps, bounds)
    return dataclasses.replace(lb, input_lower=lo, input_upper=hi)


def _norm(x) -> float:
    """Euclidean norm without underflow or overflow of the squares (scaled by the largest entry)."""
    x = np.abs(np.ravel(np.asarray(x, dtype=np.float64)))
    s = float(x.max(initial=0.0))
    if s == 0.0 or not np.isfinite(s):
        return s
    return s * math.sqrt(float(np.sum((x / s) ** 2)))


def _row_norms(A) -> np.ndarray:
    """Euclidean norms of the rows of A (dense or sparse), scaled row by row (no underflow of the squares)."""
    if A.shape[1] == 0:
        return np.zeros(A.shape[0])
    if sp.issparse(A):
        s = abs(A).max(axis=1).toarray().ravel()
        safe = np.where(s > 0, s, 1.0)
        return s * np.sqrt(_row_sums((sp.diags(1.0 / safe) @ A).power(2)))
    s = np.abs(A).max(axis=1)
    safe = np.where(s > 0, s, 1.0)
    return s * np.sqrt(np.sum((A / safe[:, None]) ** 2, axis=1))


# A layer's matrix is a dense array, or (a convolution) an exact scipy.sparse CSR matrix; these helpers let the
# instance treat both alike. Sparse products sum fewer terms than dense ones, so the rounding bounds (which
# count at most K terms per entry) hold for both.
def _absolute(A):
    return abs(A) if sp.issparse(A) else np.abs(A)


def _row_sums(A) -> np.ndarray:
    return np.asarray(A.sum(axis=1)).ravel()


def _scale_columns(W, cols: np.ndarray, r: np.ndarray):
    """W[:, cols] ⊙ r[cols] (each entry one rounded product, dense or sparse alike)."""
    if sp.issparse(W):
        return sp.csr_matrix(W[:, cols].multiply(r[cols][None, :]))
    return np.ascontiguousarray(W[:, cols] * r[cols])


def _dense_row(A, k: int) -> np.ndarray:
    return A[[k]].toarray().ravel() if sp.issparse(A) else A[k]


@dataclass(frozen=True)
class RowBlock:
    """A contiguous block of constraint rows of one kind.

    Attributes
    ----------
    kind : str
        One of :data:`ROW_KINDS`.
    layer : int
        The rows constrain the neurons of layer ``layer + 1`` (x_{layer+1} = relu(W_layer x_layer + b_layer)).
    neurons : np.ndarray of int
        The neurons of that layer, one per row.
    start, stop : int
        The rows ``start:stop`` of the instance.
    """

    kind: str
    layer: int
    neurons: np.ndarray
    start: int
    stop: int


#: from this n on, the rigorous bound searches a fill-reducing envelope order (reverse Cuthill–McKee with a
#: border); below it the layer order is used, since the search (measured 0.08–0.16 s at n ≈ 1,000 on the
#: paper's networks) costs more than the dense factorisation it could save (10–30 ms there)
ENVELOPE_SEARCH_MIN_N = 2000


class SDPCertInstance:
    """The SDP-cert relaxation of f_target − f_label over the ε-ball ∩ [0, 1]^d, as a Lagrangian problem.

    Implements the protocol :class:`sdpsolve.LagrangianProblem`: maximise
    <M0, P̂> + c0 subject to P̂ ⪰ 0, P̂_00 = 1, P̂_ii ≤ 1, and the rows g_k(P̂) = <A_k, P̂> + β_k ≥ 0 (or = 0)
    described in the module docstring.

    Parameters
    ----------
    network : ReLUNetwork
    x : array_like, shape (d,)
        The clean input x̄ in [0, 1]^d.
    eps : float
        l∞ radius ε ≥ 0; the input set is [max(x̄ − ε, 0), min(x̄ + ε, 1)].
    label, target : int
        The class y of x̄ and the class j it is certified against (j ≠ y).
    bounds : {"ibp", "crown", "lp"}, default "ibp"
        How the layer bounds are computed (ignored when ``layer_bounds`` is given). "ibp" is the paper's.
    triangle : bool, default False
        Add the LP triangle rows z ≤ s (Wx + b − l̂) of the unstable neurons.
    layer_bounds : LayerBounds, optional
        Precomputed bounds for exactly this input box (one box, arrays of shape (n_i,)).
    relaxation : {"tight", "paper"}, default "tight"
        "tight" adds the row E[z_k − h_k] = 0 of each free stable-active neuron (valid for the network, so
        the optimum is ≤ SPEC §5's); "paper" keeps SPEC §5's E[z_k − h_k] ≥ 0 there, the rows as printed.
    bounds_box : {"clipped", "unclipped"}, default "clipped"
        The box the layer bounds are propagated from (ignored when ``layer_bounds`` is given): the input set
        itself, or x̄ ± ε not clipped to [0, 1] (looser; see :func:`sdp_layer_bounds`).

    Attributes
    ----------
    n, m : int
        Size of P̂ and number of rows.
    equality : np.ndarray of bool, shape (m,)
        True for "= 0" rows.
    equal : np.ndarray of int
        ``[0]``: P̂_00 = 1.
    row_scale : np.ndarray, shape (m,)
        ||A_k||_F (exact up to rounding).
    row_blocks : tuple of RowBlock
        Which rows are which.
    bounds : LayerBounds
        The layer bounds used.
    centers, radii : list of np.ndarray
        a_i and r_i for the layers x_0..x_L (r_i = 0 on the dropped constant coordinates).
    free : list of np.ndarray of int
        The free coordinates (r > 0) of each layer; layer i occupies ẑ[offsets[i] : offsets[i + 1]].
    offsets : np.ndarray of int
    slopes : list of np.ndarray
        s ≥ û/(û − l̂) per hidden layer (0 where the neuron is not unstable); used by the triangle rows.
    n_unstable : tuple of int
        Unstable neurons per hidden layer.

    Examples
    --------
    >>> import numpy as np
    >>> net = ReLUNetwork([np.array([[1.0, -1.0], [1.0, 1.0]]), np.eye(2)], [np.zeros(2), np.zeros(2)])
    >>> inst = SDPCertInstance(net, np.array([0.5, 0.5]), 0.25, label=1, target=0)
    >>> inst.n, inst.m, inst.n_unstable          # ẑ = [1, z_0 (2), z_1 (2)]; neuron 0 is unstable
    (5, 5, (1,))
    >>> round(inst.interval_bound(), 12)         # max x_1[0] − x_1[1] from the IBP bounds [0, .5], [.5, 1.5]
    0.0
    """

    def __init__(
        self,
        network: ReLUNetwork,
        x,
        eps: float,
        label: int,
        target: int,
        *,
        bounds: str = "ibp",
        triangle: bool = False,
        layer_bounds: LayerBounds | None = None,
        relaxation: str = "tight",
        bounds_box: str = "clipped",
    ):
        if not isinstance(network, ReLUNetwork):
            raise TypeError(f"`network` must be a ReLUNetwork, got {type(network).__name__}.")
        xv = np.asarray(x, dtype=np.float64)
        if xv.ndim != 1 or xv.shape[0] != network.input_dim:
            raise ValueError(f"`x` must be a single input of shape ({network.input_dim},), got {xv.shape}.")
        for name, v in (("label", label), ("target", target)):
            if isinstance(v, bool) or not isinstance(v, Integral):
                raise TypeError(f"`{name}` must be an integer class index, got {v!r}.")
            if not 0 <= v < network.n_classes:
                raise ValueError(f"`{name}` must be a class index in [0, {network.n_classes - 1}], got {v}.")
        if label == target:
            raise ValueError(f"`target` must differ from `label`; both are {label}.")
        if not isinstance(triangle, (bool, np.bool_)):
            raise TypeError(f"`triangle` must be a bool, got {triangle!r}.")
        check_choice("relaxation", relaxation, RELAXATIONS)
        check_choice("bounds_box", bounds_box, BOUNDS_BOXES)
        X, _, eps = check_certify_inputs(network, xv[None], np.array([label]), eps)
        if layer_bounds is None:
            lb = sdp_layer_bounds(network, X[0], eps, bounds, bounds_box)
            self.bounds_method = bounds
        else:
            lb = _check_layer_bounds(network, layer_bounds, *input_box(X[0], eps))
            self.bounds_method = "given"
        self.network = network
        self.x = X[0]
        self.eps = eps
        self.label = int(label)
        self.target = int(target)
        self.triangle = bool(triangle)
        self.relaxation = relaxation
        self.bounds = lb
        self._build()

    # ------------------------------------------------------------------------------------------------------
    # construction
    # ------------------------------------------------------------------------------------------------------
    def _build(self) -> None:
        net, lb = self.network, self.bounds
        L = net.n_hidden_layers
        xl, xu = lb.x_lower, lb.x_upper
        self.centers, self.radii, self.free = [], [], []
        for i in range(L + 1):
            lo = np.asarray(xl[i], dtype=np.float64)
            hi = np.asarray(xu[i], dtype=np.float64)
            a = 0.5 * (lo + hi)
            # ≥ the exact half-widths (TwoSum; no overflow here: bounds are finite and moderate)
            r = np.maximum(exact_sub_up(hi, a), exact_sub_up(a, lo))
            r = np.where(lo == hi, 0.0, np.maximum(r, 0.0))
            a = np.where(lo == hi, lo, a)
            self.centers.append(a)
            self.radii.append(r)
            self.free.append(np.flatnonzero(r > 0))
        sizes = [f.size for f in self.free]
        self.offsets = np.concatenate([[1], 1 + np.cumsum(sizes)]).astype(np.int64)
        self.n = int(self.offsets[-1])
        self.equal = np.array([0], dtype=np.int64)
        # K bounds the number of roundings any term of any entry passes through (module docstring)
        K = int(sum(net.layer_sizes)) + 16
        g = gamma(K)  # rounded upwards
        self._err_factor = 1.01 * g / (1.0 - g) / (1.0 - g)

        # objective: c = W_L[target] − W_L[label] on x_L, c0 = b_L[target] − b_L[label]
        WL, bL = net.dense_weight(-1), net.biases[-1]
        self._c = WL[self.target] - WL[self.label]
        self._c_abs = np.abs(WL[self.target]) + np.abs(WL[self.label])
        self._c0_terms = [float(bL[self.target]), -float(bL[self.label])]
        self._c0_abs = abs(float(bL[self.target])) + abs(float(bL[self.label]))
        aL, rL, fL = self.centers[L], self.radii[L], self.free[L]
        self._obj_row = self._c[fL] * rL[fL]  # g on the free coordinates of x_L (M0 = ½(e0 gᵀ + g e0ᵀ))
        self._obj_row_abs = self._c_abs[fL] * rL[fL]
        const_terms = self._c0_terms + list(self._c * aL)
        self._objective_constant = math.fsum(const_terms)
        self._objective_constant_abs = self._c0_abs + float(np.sum(self._c_abs * np.abs(aL)))

        # per hidden step i (layer i → layer i + 1)
        self.slopes = []
        self._steps = []
        self._plan = None
        blocks, betas, betas_abs, scales = [], [], [], []
        start = 0
        for i in range(L):
            W, b = net.layer_matrix(i), net.biases[i]
            pl, pu = np.asarray(lb.pre_lower[i], np.float64), np.asarray(lb.pre_upper[i], np.float64)
            a_in, r_in, f_in = self.centers[i], self.radii[i], self.free[i]
            a, r = self.centers[i + 1], self.radii[i + 1]
            Wt = _scale_columns(W, f_in, r_in)  # w̃ = W ⊙ r on the free inputs, all neurons of layer i + 1
            Wt_abs = _absolute(Wt)
            bt = W @ a_in + b  # β̃ = W a + b
            bt_abs = _absolute(W) @ np.abs(a_in) + np.abs(b)
            w1 = _row_sums(Wt_abs)  # ||w̃_k||_1: h_k ranges over β̃_k ± w1_k on the box
            wn = _row_norms(Wt)  # ||w̃_k||_2
            inactive = pu <= 0
            unstable = (pl < 0) & (pu > 0)
            active = (~inactive) & (pl >= 0)
            free_out = r > 0
            s = np.zeros_like(pl)
            if unstable.any():
                d = exact_sub_down(pu[unstable], pl[unstable])  # ≤ the exact û − l̂ (TwoSum)
                s[unstable] = up(pu[unstable] / d)  # ≥ the exact slope û/(û − l̂)
            self.slopes.append(s)
            const_active = active & ~free_out & (w1 > 0) & (np.abs(a - bt) <= w1)
            # "paper": a free stable-active neuron keeps SPEC §5's z ≥ h (z ≥ 0 is implied by its box)
            paper_active = active & free_out if self.relaxation == "paper" else np.zeros_like(active)
            rows = {
                "nonneg": np.flatnonzero(unstable),
                "geq_affine": np.flatnonzero(unstable | paper_active),
                "triangle": np.flatnonzero(unstable) if self.triangle else np.zeros(0, np.int64),
                "eq_affine": np.flatnonzero((active & free_out & ~paper_active) | const_active),
                "inactive": np.flatnonzero(inactive & (w1 > 0) & (bt + w1 > 0)),
                "complementarity": np.flatnonzero(free_out & ~inactive),
            }
            for kind in ROW_KINDS:
                k = rows[kind]
                if k.size == 0:
                    continue
                blocks.append(RowBlock(kind, i, k, start, start + k.size))
                start += k.size
                ak, rk, btk, bak, wk = a[k], r[k], bt[k], bt_abs[k], wn[k]
                # ||A_k||_F = ||g||_2 / √2 for a linear row E[gᵀẑ] ≥ 0 (hypot: no underflow of the squares)
                if kind == "nonneg":
                    beta, beta_abs = ak, np.abs(ak)
                    sc = rk / _SQRT2
                elif kind in ("geq_affine", "eq_affine"):
                    beta, beta_abs = ak - btk, np.abs(ak) + bak
                    sc = np.hypot(rk, wk) / _SQRT2
                elif kind == "triangle":
                    beta = s[k] * (btk - pl[k]) - ak
                    beta_abs = s[k] * (bak + np.abs(pl[k])) + np.abs(ak)
                    sc = np.hypot(rk, s[k] * wk) / _SQRT2
                elif kind == "inactive":
                    beta, beta_abs = -btk, bak
                    sc = wk / _SQRT2
                else:  # complementarity: A[0,ζ] = r(2a − β̃)/2, A[0,F] = −a w̃/2, A[ζ,ζ] = r², A[ζ,F] = −r w̃/2
                    beta, beta_abs = ak * (ak - btk), np.abs(ak) * (np.abs(ak) + bak)
                    sc = np.hypot(
                        np.hypot(rk * (2 * ak - btk) / _SQRT2, ak * wk / _SQRT2), np.hypot(rk * rk, rk * wk / _SQRT2)
                    )
                betas.append(beta)
                betas_abs.append(beta_abs)
                scales.append(sc)
            K_rows = Wt[self.free[i + 1]]
            self._steps.append(
                _Step(
                    Wt=Wt,
                    Wt_abs=Wt_abs,
                    K=sp.csr_matrix(K_rows) if sp.issparse(K_rows) else np.ascontiguousarray(K_rows),
                    K_row_norm=_row_norms(K_rows),
                    bt=bt,
                    bt_abs=bt_abs,
                    lhat=pl,
                    slope=s,
                    n_out=r.size,
                )
            )
        self.row_blocks = tuple(blocks)
        self.m = start
        self._beta = np.concatenate(betas) if betas else np.zeros(0)
        self._beta_abs = np.concatenate(betas_abs) if betas_abs else np.zeros(0)
        self.row_scale = np.maximum(np.concatenate(scales), 1e-300) if scales else np.zeros(0)
        self.equality = np.zeros(self.m, dtype=bool)
        for blk in self.row_blocks:
            if blk.kind in _EQUALITY_KINDS:
                self.equality[blk.start : blk.stop] = True
        self.n_unstable = tuple(
            int(np.sum((lo < 0) & (up > 0))) for lo, up in zip(lb.pre_lower[:-1], lb.pre_upper[:-1])
        )
        for arr in (self.equality, self.row_scale, self._beta, self._beta_abs):
            arr.setflags(write=False)

    # ------------------------------------------------------------------------------------------------------
    # protocol
    # ------------------------------------------------------------------------------------------------------
    def theta_zero(self) -> np.ndarray:
        """θ = 0 (all rows switched off): M(0) = M0, whose bound is the interval bound."""
        return np.zeros(self.m)

    def _check_theta(self, theta) -> np.ndarray:
        th = np.asarray(theta, dtype=np.float64)
        if th.shape != (self.m,):
            raise ValueError(f"`theta` must have shape ({self.m},), got {th.shape}.")
        if not np.all(np.isfinite(th)):
            raise ValueError("`theta` must be finite.")
        return th

    def _check_factor(self, V) -> np.ndarray:
        V = np.asarray(V, dtype=np.float64)
        if V.ndim == 1:
            V = V[:, None]
        if V.ndim != 2 or V.shape[0] != self.n:
            raise ValueError(f"`V` must have shape ({self.n}, r), got {V.shape}.")
        return V

    def constant(self, theta) -> float:
        """c_0 + cᵀa_L + Σ θ_k β_k, rounded upwards (≥ the exact value, so bound + constant stays a bound)."""
        th = self._check_theta(theta)
        terms = [self._objective_constant]
        terms.extend((th * self._beta).tolist())
        value = math.fsum(terms)
        S = self._objective_constant_abs + float(np.abs(th) @ self._beta_abs)
        return up(value + up(self._err_factor * S + _TINY))

    def objective_value(self, V) -> float:
        """<M0, V Vᵀ> + c0 = cᵀ E[x_L] + c_0 with E[ẑ] = V V[0] (and P̂_00 taken as 1)."""
        V = self._check_factor(V)
        L = self.network.n_hidden_layers
        p = V[self.offsets[L] : self.offsets[L + 1]] @ V[0]
        return float(self._objective_constant + self._obj_row @ p)

    def constraint_values(self, V) -> np.ndarray:
        """g_k(V Vᵀ) = <A_k, V Vᵀ> + β_k for every row, by one forward pass of the columns of V."""
        V = self._check_factor(V)
        out = np.empty(self.m)
        if self.m == 0:
            return out
        p0 = V @ V[0]
        per_step = []
        for i, st in enumerate(self._steps):
            o0, o1, o2 = self.offsets[i], self.offsets[i + 1], self.offsets[i + 2]
            a, r = self.centers[i + 1], self.radii[i + 1]
            lin = st.Wt @ p0[o0:o1]  # E[h] − β̃
            pz = np.zeros(st.n_out)
            pz[self.free[i + 1]] = p0[o1:o2]
            Vz = V[o1:o2]
            G = st.K @ V[o0:o1]  # forward pass of the columns: w̃_k · v_F for the free neurons
            sq = np.zeros(st.n_out)
            cross = np.zeros(st.n_out)
            sq[self.free[i + 1]] = np.einsum("kr,kr->k", Vz, Vz)
            cross[self.free[i + 1]] = np.einsum("kr,kr->k", Vz, G)
            mx = a + r * pz  # E[z]
            mh = st.bt + lin  # E[h]
            per_step.append((mx, mh, lin, pz, sq, cross))
        for blk in self.row_blocks:
            mx, mh, lin, pz, sq, cross = per_step[blk.layer]
            st = self._steps[blk.layer]
            k = blk.neurons
            a, r = self.centers[blk.layer + 1][k], self.radii[blk.layer + 1][k]
            if blk.kind == "nonneg":
                val = mx[k]
            elif blk.kind in ("geq_affine", "eq_affine"):
                val = mx[k] - mh[k]
            elif blk.kind == "triangle":
                val = st.slope[k] * (mh[k] - st.lhat[k]) - mx[k]
            elif blk.kind == "inactive":
                val = -mh[k]
            else:
                bt = st.bt[k]
                val = (
                    a * (a - bt)
                    + r * (2 * a - bt) * pz[k]
                    - a * lin[k]
                    + r * r * sq[k]
                    - r * cross[k]
                )
            out[blk.start : blk.stop] = val
        return out

    def propagation_multipliers(self) -> np.ndarray:
        """θ₀: the multipliers of CROWN's backward pass, as rows of this instance (complementarity rows 0).

        Going back from the objective's coefficients λ_L = c on x_L, each free neuron's coefficient λ_k is moved
        onto its pre-activation h_k by the linear rows: a stable-active neuron's E[z − h] = 0 (θ = −λ_k); an
        unstable one's triangle row (θ = λ_k > 0, h gets s_k λ_k) when λ_k > 0 and ``triangle=True``, else, when
        λ_k < 0, its row z ≥ h (θ = |λ_k|) if û ≥ −l̂ and z ≥ 0 (θ = |λ_k|) otherwise — CROWN's adaptive slope.
        A coefficient no row can move stays on the neuron. Then λ_i = W_iᵀ μ on the layer below. With every
        complementarity multiplier 0, M(θ₀) has nonzeros in row and column 0 only, so its bound is the closed
        form :meth:`SDPCertOperator.arrow_bound`: with the triangle rows it equals CROWN's bound on the margin
        for these layer bounds (up to rounding, accounted for): the bound the Lagrangian method must beat.
        """
        theta = np.zeros(self.m)
        where = {(blk.layer, blk.kind): blk for blk in self.row_blocks}

        def assign(layer, kind, neurons, values):
            blk = where.get((layer, kind))
            if blk is None or neurons.size == 0:
                return np.zeros(neurons.size, dtype=bool)
            pos = np.searchsorted(blk.neurons, neurons)
            ok = pos < blk.neurons.size
            ok[ok] = blk.neurons[pos[ok]] == neurons[ok]
            theta[blk.start + pos[ok]] = values[ok]
            return ok

        lam = np.array(self._c, dtype=np.float64)
        for i in reversed(range(len(self._steps))):
            st = self._steps[i]
            pl, pu = np.asarray(self.bounds.pre_lower[i], np.float64), np.asarray(self.bounds.pre_upper[i], np.float64)
            mu = np.zeros(st.n_out)
            eq = where.get((i, "eq_affine"))
            if eq is not None:  # free neurons only: a constant one's coefficient is exact in the constant
                k = eq.neurons[self.radii[i + 1][eq.neurons] > 0]
                assign(i, "eq_affine", k, -lam[k])
                mu[k] = lam[k]
            unstable = np.flatnonzero((pl < 0) & (pu > 0) & (self.radii[i + 1] > 0))
            up_k = unstable[lam[unstable] > 0]
            done = assign(i, "triangle", up_k, lam[up_k])
            mu[up_k[done]] = st.slope[up_k[done]] * lam[up_k[done]]
            down_k = unstable[lam[unstable] < 0]
            to_h = pu[down_k] >= -pl[down_k]
            done = assign(i, "geq_affine", down_k[to_h], -lam[down_k[to_h]])
            mu[down_k[to_h][done]] = lam[down_k[to_h][done]]
            assign(i, "nonneg", down_k[~to_h], -lam[down_k[~to_h]])
            # "paper": a free stable-active neuron has z ≥ h only
            paper = where.get((i, "geq_affine"))
            if paper is not None and eq is None:
                k = paper.neurons[(lam[paper.neurons] < 0) & (pl[paper.neurons] >= 0)]
                assign(i, "geq_affine", k, -lam[k])
                mu[k] = lam[k]
            W = self.network.layer_matrix(i)
            lam = np.asarray(W.T @ mu, dtype=np.float64).ravel()
        return theta

    def start_multipliers(self) -> np.ndarray:
        """The ``theta_hint`` of :func:`sdpsolve.solve_lagrangian`: :meth:`propagation_multipliers` or 0 (the
        interval bound of x_L's box), whichever has the smaller :meth:`closed_form_bound` — as the crown plugin
        takes the better of its backward bound and the interval one."""
        theta = self.propagation_multipliers()
        if self.closed_form_bound(theta) <= self.interval_bound():
            return theta
        return self.theta_zero()

    def closed_form_bound(self, theta) -> float | None:
        """The proved bound :meth:`SDPCertOperator.arrow_bound` when every complementarity multiplier is 0 (then
        M(θ) lives in row/column 0 and its SDP value is a sum of absolute values), else None."""
        op = self.operator(theta)
        return op.arrow_bound() if op.is_arrow() else None

    def _strict_upper(self, m0: np.ndarray, kappa: list) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(rows, cols, values) of the strict upper triangle of M(θ): row 0 (``m0``), then each cross block
        −½ diag(κ_i) K_i transposed (layer i's coordinates as rows, layer i + 1's as columns)."""
        n = self.n
        rows, cols, vals = [np.zeros(n - 1, dtype=np.int64)], [np.arange(1, n)], [m0[1:]]
        for i, st in enumerate(self._steps):
            if st.K.shape[0] == 0 or st.K.shape[1] == 0:
                continue
            o0, o1 = self.offsets[i], self.offsets[i + 1]
            C = sp.coo_matrix(st.K.multiply(-0.5 * kappa[i][:, None]) if sp.issparse(st.K) else (
                -0.5 * kappa[i][:, None] * st.K
            ))
            rows.append(C.col + o0)
            cols.append(C.row + o1)
            vals.append(C.data)
        return np.concatenate(rows), np.concatenate(cols), np.concatenate(vals)

    def _symmetric(self, m0: np.ndarray, kappa: list, diag: np.ndarray) -> sp.csr_matrix:
        """The symmetric matrix with strict upper triangle :meth:`_strict_upper` and diagonal ``diag``; every
        entry is set once (the blocks are disjoint), so no sum rounds anything."""
        n = self.n
        r, c, v = self._strict_upper(m0, kappa)
        d = np.arange(n)
        return sp.csr_matrix((np.concatenate([v, v, diag]), (np.concatenate([r, c, d]), np.concatenate([c, r, d]))),
                             shape=(n, n))

    def sparse_plan(self):
        """The envelope order (:class:`sdpsolve._cholesky.EnvelopePlan`) of the pattern every M(θ) lives in: row
        0, the diagonal and the cross blocks K_i. Computed once; the rigorous bound uses it for every θ (an
        order is valid for any matrix; the shift counts each matrix's own envelope)."""
        if self._plan is None and self.n < ENVELOPE_SEARCH_MIN_N:
            self._plan = self._layer_order_plan()
        if self._plan is None:
            from sdpsolve._cholesky import envelope_plan

            ones = np.ones(self.n)
            self._plan = envelope_plan(self._symmetric(ones, [np.ones(st.K.shape[0]) for st in self._steps], ones))
        return self._plan

    def _layer_order_plan(self):
        """The envelope order of the layer order, row 0 as the border: no search (below
        ``ENVELOPE_SEARCH_MIN_N`` the search costs more than the dense factorisation it could save)."""
        from sdpsolve._cholesky import EnvelopePlan

        n = self.n
        first = np.arange(n)  # first nonzero column of each row left of the diagonal, row 0 left out
        for i, st in enumerate(self._steps):
            o0, o1 = self.offsets[i], self.offsets[i + 1]
            if st.K.shape[0] == 0 or st.K.shape[1] == 0:
                continue
            if sp.issparse(st.K):
                K = sp.csr_matrix(st.K)
                K.eliminate_zeros()
                K.sort_indices()
                has = np.diff(K.indptr) > 0
                lead = K.indices[K.indptr[:-1][has]]
            else:
                nz = np.asarray(st.K) != 0
                has = nz.any(axis=1)
                lead = np.argmax(nz[has], axis=1)
            rows = o1 + np.flatnonzero(has)
            first[rows] = np.minimum(first[rows], o0 + lead)
        terms = np.arange(n) - first
        # row 0 moved last shifts every other index by one, which leaves the differences unchanged
        return EnvelopePlan.of(np.concatenate([np.arange(1, n), [0]]), 1, int(terms[1:].max(initial=0)))

    def operator(self, theta) -> SDPCertOperator:
        """M(θ) = M0 + Σ θ_k A_k as a light matrix-free operator (see :class:`SDPCertOperator`)."""
        return SDPCertOperator(self, self._check_theta(theta))

    # ------------------------------------------------------------------------------------------------------
    # bounds, lifting, diagnostics
    # ------------------------------------------------------------------------------------------------------
    def interval_bound(self) -> float:
        """cᵀa_L + Σ |c ⊙ r_L| + c_0 (rounded upwards): the interval bound on the margin from x_L's bounds.

        It is also max <M0, P̂> + c0 over P̂ ⪰ 0, P̂_00 = 1, P̂_ii ≤ 1 (θ = 0).
        """
        value = math.fsum([self._objective_constant, *np.abs(self._obj_row).tolist()])
        S = self._objective_constant_abs + float(np.sum(self._obj_row_abs))
        return up(value + up(self._err_factor * S + _TINY))

    def lift(self, x0) -> np.ndarray:
        """ẑ for an input point x0 of the box: [1; (x_i − a_i)/r_i on the free coordinates, i = 0..L].

        For every x0 in the input box, V = ẑ[:, None] is feasible up to rounding (rows ≥ 0 or = 0, |ẑ_i| ≤ 1)
        and ``objective_value`` gives the margin f_target(x0) − f_label(x0).
        """
        acts = self.network.activations(np.asarray(x0, dtype=np.float64).reshape(1, -1))
        out = np.empty(self.n)
        out[0] = 1.0
        for i, f in enumerate(self.free):
            out[self.offsets[i] : self.offsets[i + 1]] = (acts[i][0, f] - self.centers[i][f]) / self.radii[i][f]
        return out

    def to_original(self, V) -> list[np.ndarray]:
        """First moments E[x_i] = a_i + r_i ⊙ E[z_i], i = 0..L, of the factor V (E[ẑ] = V V[0]).

        Constant coordinates are filled with their value a_i. For P̂ = V Vᵀ feasible (||v_j|| ≤ 1,
        ||v_0|| = 1) the moments lie in the layer boxes; E[x_0] is a natural starting point for an attack.
        """
        V = self._check_factor(V)
        p0 = V @ V[0]
        out = []
        for i, f in enumerate(self.free):
            xi = self.centers[i].copy()
            xi[f] += self.radii[i][f] * p0[self.offsets[i] : self.offsets[i + 1]]
            out.append(xi)
        return out

    def row_counts(self) -> dict:
        """Number of rows of each kind."""
        counts = dict.fromkeys(ROW_KINDS, 0)
        for blk in self.row_blocks:
            counts[blk.kind] += blk.stop - blk.start
        return counts

    # -- dense forms (tests, small instances) ------------------------------------------------------------
    def _affine_forms(self, layer: int, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Homogeneous linear forms u, v in ẑ with x_{layer+1,k} = uᵀẑ and h_k = vᵀẑ (ẑ_0 = 1)."""
        u = np.zeros(self.n)
        v = np.zeros(self.n)
        u[0] = self.centers[layer + 1][k]
        r = self.radii[layer + 1][k]
        if r > 0:
            u[self.offsets[layer + 1] + int(np.searchsorted(self.free[layer + 1], k))] = r
        st = self._steps[layer]
        v[0] = st.bt[k]
        v[self.offsets[layer] : self.offsets[layer + 1]] = _dense_row(st.Wt, k)
        return u, v

    @staticmethod
    def _linear_form(kind: str, st, k: int, u: np.ndarray, v: np.ndarray) -> np.ndarray:
        """g of a linear row E[gᵀẑ] ≥ 0 (or = 0) of neuron k, from its affine forms u (z) and v (Wx + b)."""
        if kind == "nonneg":
            return u
        if kind in ("geq_affine", "eq_affine"):
            return u - v
        if kind == "triangle":
            g = st.slope[k] * v - u
            g[0] -= st.slope[k] * st.lhat[k]
            return g
        return -v  # inactive

    def dense_constraint_matrices(self) -> list[tuple[np.ndarray, float]]:
        """[(A_k, β_k)] as dense n×n arrays, built row by row from their definitions (tests only).

        A linear row E[gᵀẑ] ≥ 0 gives A = ½(e_0 g'ᵀ + g' e_0ᵀ) (g' = g with g'_0 = 0) and β = g_0; the
        complementarity row E[(uᵀẑ)((u − v)ᵀẑ)] = 0 gives A = sym(u (u − v)ᵀ) with its (0, 0) entry moved to β.
        """
        out = []
        for blk in self.row_blocks:
            st = self._steps[blk.layer]
            for k in blk.neurons:
                u, v = self._affine_forms(blk.layer, int(k))
                if blk.kind == "complementarity":
                    w = u - v
                    A = 0.5 * (np.outer(u, w) + np.outer(w, u))
                    beta = float(A[0, 0])
                    A[0, 0] = 0.0
                    out.append((A, beta))
                    continue
                gvec = self._linear_form(blk.kind, st, int(k), u, v)
                A = np.zeros((self.n, self.n))
                A[0, 1:] = 0.5 * gvec[1:]
                A[1:, 0] = 0.5 * gvec[1:]
                out.append((A, float(gvec[0])))
        return out

    def row_factors(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(Fa, Fb, beta)``, each row in factored form: g_k(P) = a_kᵀ P b_k + β_k for every P with P_00 = 1.

        A linear row E[gᵀẑ] ≥ 0 is e_0ᵀ P g (a = e_0, b = g, β = 0); a complementarity row E[(uᵀẑ)((u − v)ᵀẑ)]
        = 0 is uᵀ P (u − v) (β = 0). Dense n × m arrays (for the interior-point path at small n).
        """
        Fa = np.zeros((self.n, self.m))
        Fb = np.zeros((self.n, self.m))
        row = 0
        for blk in self.row_blocks:
            st = self._steps[blk.layer]
            for k in blk.neurons:
                u, v = self._affine_forms(blk.layer, int(k))
                if blk.kind == "complementarity":
                    Fa[:, row], Fb[:, row] = u, u - v
                else:
                    Fa[0, row], Fb[:, row] = 1.0, self._linear_form(blk.kind, st, int(k), u, v)
                row += 1
        return Fa, Fb, np.zeros(self.m)

    def dense_objective(self) -> tuple[np.ndarray, float]:
        """(M0, c0) dense, with c0 = c_0 + cᵀa_L (tests only)."""
        M0 = np.zeros((self.n, self.n))
        L = self.network.n_hidden_layers
        o0, o1 = self.offsets[L], self.offsets[L + 1]
        M0[0, o0:o1] = 0.5 * self._obj_row
        M0[o0:o1, 0] = 0.5 * self._obj_row
        return M0, float(self._objective_constant)


@dataclass(frozen=True, eq=False)
class _Step:
    """Precomputed data of one hidden step (layer i → i + 1)."""

    Wt: np.ndarray  # (n_{i+1}, f_i) = W_i[:, free_i] * r_i[free_i]; scipy.sparse CSR for a convolution
    Wt_abs: np.ndarray
    K: np.ndarray  # Wt restricted to the free neurons of layer i + 1 (the cross block, up to −½ θ r)
    K_row_norm: np.ndarray  # ||row||_2 of K
    bt: np.ndarray  # β̃ = W_i a_i + b_i
    bt_abs: np.ndarray
    lhat: np.ndarray
    slope: np.ndarray
    n_out: int


class SDPCertOperator:
    """M(θ) = M0 + Σ θ_k A_k of an :class:`SDPCertInstance`, matrix-free.

    Built in O(network size) per θ: the row-0 vector m0, the diagonal D and the scales κ_i = θ ⊙ r of the
    cross blocks −½ diag(κ_{i+1}) W̃_i (W̃_i = W_i diag(r_i) on the free coordinates).

    Attributes
    ----------
    shape : tuple
        (n, n).
    """

    def __init__(self, instance: SDPCertInstance, theta: np.ndarray):
        self.instance = inst = instance
        self.theta = theta
        self.n = inst.n
        self.shape = (inst.n, inst.n)
        m0 = np.zeros(inst.n)
        diag = np.zeros(inst.n)
        self._kappa = []
        per_step = [dict() for _ in inst._steps]
        for blk in inst.row_blocks:
            arr = per_step[blk.layer].setdefault(blk.kind, np.zeros(inst._steps[blk.layer].n_out))
            arr[blk.neurons] = theta[blk.start : blk.stop]
        self._per_step = per_step
        for i, st in enumerate(inst._steps):
            o0, o1, o2 = inst.offsets[i], inst.offsets[i + 1], inst.offsets[i + 2]
            zero = np.zeros(st.n_out)
            th = {k: per_step[i].get(k, zero) for k in ROW_KINDS}
            a, r, f = inst.centers[i + 1], inst.radii[i + 1], inst.free[i + 1]
            alpha = (
                th["geq_affine"] + th["eq_affine"] + th["inactive"]
                - st.slope * th["triangle"] + a * th["complementarity"]
            )
            m0[o0:o1] += -0.5 * (st.Wt.T @ alpha)
            rho = r * (
                th["nonneg"] + th["geq_affine"] + th["eq_affine"] - th["triangle"]
                + th["complementarity"] * (2 * a - st.bt)
            )
            m0[o1:o2] += 0.5 * rho[f]
            kappa = (th["complementarity"] * r)[f]
            diag[o1:o2] = kappa * r[f]
            self._kappa.append(kappa)
        L = inst.network.n_hidden_layers
        m0[inst.offsets[L] : inst.offsets[L + 1]] += 0.5 * inst._obj_row
        m0[0] = 0.0
        self._m0 = m0
        self._diag = diag
        self._err = None

    # -- products ------------------------------------------------------------------------------------------
    def matmat(self, X) -> np.ndarray:
        """M(θ) X for X of shape (n, k) (or (n,)): a forward and a backward pass through the network."""
        X = np.asarray(X, dtype=np.float64)
        vec = X.ndim == 1
        if vec:
            X = X[:, None]
        if X.shape[0] != self.n:
            raise ValueError(f"operand must have {self.n} rows, got shape {X.shape}.")
        inst = self.instance
        Y = self._diag[:, None] * X
        Y += self._m0[:, None] * X[0][None, :]
        Y[0] = self._m0 @ X
        for i, st in enumerate(inst._steps):
            kappa = self._kappa[i]
            if kappa.size == 0 or st.K.shape[1] == 0:
                continue
            o0, o1, o2 = inst.offsets[i], inst.offsets[i + 1], inst.offsets[i + 2]
            Y[o1:o2] -= 0.5 * kappa[:, None] * (st.K @ X[o0:o1])
            Y[o0:o1] -= 0.5 * (st.K.T @ (kappa[:, None] * X[o1:o2]))
        return Y[:, 0] if vec else Y

    matvec = matmat

    def __matmul__(self, X):
        return self.matmat(X)

    def diagonal(self) -> np.ndarray:
        """The diagonal of M(θ) (M_00 = 0)."""
        return self._diag.copy()

    # -- rounding and norm bounds --------------------------------------------------------------------------
    def _cross_row_norms(self, i: int) -> np.ndarray:
        """||row k of the block −½ diag(κ) K_i||_2 for the free neurons k of layer i + 1."""
        return np.abs(0.5 * self._kappa[i]) * self.instance._steps[i].K_row_norm

    def rounding_bound(self) -> float:
        """A proved bound on ||M(θ)_exact − B||_F ≥ ||·||_2, B the float64 matrix of :meth:`to_dense`.

        γ_K times the Frobenius norm of the entrywise absolute-value evaluations S: row/column 0 (twice), the
        diagonal and the cross blocks (twice); see the module docstring.
        """
        if self._err is not None:
            return self._err
        inst = self.instance
        S0 = self._row0_abs()
        cross = [self._cross_row_norms(i) for i in range(len(inst._steps))]
        parts = [_SQRT2 * S0, self._diag, *[_SQRT2 * c for c in cross]]
        fro = _norm(np.concatenate(parts)) * (1.0 + 1e-9)
        self._err = up(inst._err_factor * fro + _TINY)
        return self._err

    def _row0_abs(self) -> np.ndarray:
        """Row 0 of M(θ) evaluated with absolute values (S of the module docstring): |error_i| ≤ γ-factor · S_i."""
        inst = self.instance
        S0 = np.zeros(inst.n)
        for i, st in enumerate(inst._steps):
            o0, o1, o2 = inst.offsets[i], inst.offsets[i + 1], inst.offsets[i + 2]
            zero = np.zeros(st.n_out)
            th = {k: np.abs(self._per_step[i].get(k, zero)) for k in ROW_KINDS}
            a, r, f = np.abs(inst.centers[i + 1]), inst.radii[i + 1], inst.free[i + 1]
            alpha = (
                th["geq_affine"] + th["eq_affine"] + th["inactive"]
                + st.slope * th["triangle"] + a * th["complementarity"]
            )
            S0[o0:o1] += 0.5 * (st.Wt_abs.T @ alpha)
            rho = r * (
                th["nonneg"] + th["geq_affine"] + th["eq_affine"] + th["triangle"]
                + th["complementarity"] * (2 * a + st.bt_abs)
            )
            S0[o1:o2] += 0.5 * rho[f]
        L = inst.network.n_hidden_layers
        S0[inst.offsets[L] : inst.offsets[L + 1]] += 0.5 * inst._obj_row_abs
        S0[0] = 0.0
        return S0

    def is_arrow(self) -> bool:
        """True when M(θ) has nonzeros in row and column 0 only."""
        return not (np.any(self._diag != 0) or any(np.any(k != 0) for k in self._kappa))

    def arrow_bound(self) -> float:
        """A proved upper bound on the dual function at θ when M(θ) lives in row/column 0 only.

        That is the case when every complementarity multiplier is 0 (diagonal and cross blocks vanish): then
        max <M(θ), P̂> over P̂ ⪰ 0, P̂_00 = 1, |P̂_ij| ≤ 1 is exactly 2 Σ_i |M_0i|, so the bound is
        ``constant(θ) + 2 Σ |m0_i| + 2 Σ e_i`` summed upwards, with e_i ≥ |exact − computed| of each entry (the
        entrywise evaluations of :meth:`rounding_bound`). Raises ``ValueError`` for any other θ.
        """
        if not self.is_arrow():
            raise ValueError("arrow_bound needs M(θ) with nonzeros in row 0 only (complementarity multipliers 0).")
        inst = self.instance
        S0 = self._row0_abs()
        total = math.fsum([*np.abs(self._m0).tolist(), *(inst._err_factor * S0).tolist()])
        return up(up(2.0 * up(total + _TINY)) + inst.constant(self.theta))

    def to_dense(self) -> tuple[np.ndarray, float]:
        """``(B, err)``: the symmetric float64 matrix of M(θ) and err ≥ ||M(θ)_exact − B||_2."""
        inst = self.instance
        n = inst.n
        B = np.zeros((n, n))
        B[0, :] = self._m0
        B[:, 0] = self._m0
        B[np.diag_indices(n)] = self._diag
        # block slices, not _strict_upper's coordinates: 6x faster for dense layers (1.6 against 10 ms on Grad-NN)
        for i, st in enumerate(inst._steps):
            o0, o1, o2 = inst.offsets[i], inst.offsets[i + 1], inst.offsets[i + 2]
            C = st.K.multiply(-0.5 * self._kappa[i][:, None]).toarray() if sp.issparse(st.K) else (
                -0.5 * self._kappa[i][:, None] * st.K
            )
            B[o1:o2, o0:o1] = C
            B[o0:o1, o1:o2] = C.T
        return B, self.rounding_bound()

    def to_sparse(self) -> tuple[sp.csr_matrix, float]:
        """``(S, err)``: :meth:`to_dense`'s matrix as a sparse one (the same entries; exact zeros left out).

        Row/column 0 and the diagonal plus one cross block per layer: arrow plus block tridiagonal, which the
        rigorous bound factors in its envelope with row 0 (and any dense layer between convolutions) as a border
        (:func:`sdpsolve._cholesky.envelope_plan`).
        """
        S = self.instance._symmetric(self._m0, self._kappa, self._diag)
        S.eliminate_zeros()
        return S, self.rounding_bound()

    def sparse_plan(self):
        """The envelope order of every M(θ) of this instance (:meth:`SDPCertInstance.sparse_plan`)."""
        return self.instance.sparse_plan()

    def norm_bound(self) -> float:
        """A proved bound on ||M(θ)||₂: ||m0|| + max|D| + ||cross blocks|| (triangle inequality) + rounding."""
        row0 = _norm(self._m0)
        dmax = float(np.max(np.abs(self._diag), initial=0.0))
        blocks = np.array([_norm(self._cross_row_norms(i)) for i in range(len(self._kappa))])
        cross = min(float(np.sum(blocks)), _SQRT2 * _norm(blocks)) if blocks.size else 0.0
        return up((row0 + dmax + cross) * (1.0 + 1e-9) + self.rounding_bound())


def _check_layer_bounds(network: ReLUNetwork, lb, lo: np.ndarray, hi: np.ndarray) -> LayerBounds:
    if not isinstance(lb, LayerBounds):
        raise TypeError(f"`layer_bounds` must be a LayerBounds, got {type(lb).__name__}.")
    if lb.n_layers != network.n_layers:
        raise ValueError(
            f"`layer_bounds` has {lb.n_layers} layers but the network has {network.n_layers} affine layers."
        )
    if np.shape(lb.input_lower) != lo.shape or np.shape(lb.input_upper) != hi.shape:
        raise ValueError(
            f"`layer_bounds` must hold one box of shape ({lo.size},); got input bounds of shape "
            f"{np.shape(lb.input_lower)}."
        )
    # the box itself, or the box rounded outwards by at most one ulp per end (certifiers._base.outer_box,
    # which contains the exact set): the relaxation is then over a box that contains the input set
    il, iu = np.asarray(lb.input_lower), np.asarray(lb.input_upper)
    if not (np.all((il == lo) | ((il < lo) & (il >= down(lo)))) and np.all((iu == hi) | ((iu > hi) & (iu <= up(hi))))):
        raise ValueError(
            "`layer_bounds` were computed for a different input box than [max(x − ε, 0), min(x + ε, 1)] (or that "
            "box rounded outwards by one ulp)."
        )
    for i, (pl, pu) in enumerate(zip(lb.pre_lower, lb.pre_upper)):
        n_i = network.layer_sizes[i + 1]
        if np.shape(pl) != (n_i,) or np.shape(pu) != (n_i,):
            raise ValueError(
                f"`layer_bounds` layer {i} must have shape ({n_i},), got {np.shape(pl)} and {np.shape(pu)}."
            )
        if not (np.all(np.isfinite(pl)) and np.all(np.isfinite(pu))) or np.any(pl > pu):
            raise ValueError(f"`layer_bounds` layer {i} must be finite with lower <= upper.")
    return lb
