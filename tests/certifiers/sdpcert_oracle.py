"""Test oracle: the SDP-cert relaxation (SPEC §5) in the ORIGINAL coordinates, solved by CVXPY/Clarabel.

P is the Gram matrix of X = [1; x_0; x_1; …; x_L] (every coordinate, none dropped), exactly as SPEC §5
writes the relaxation:

    maximise    cᵀ P[x_L] + c_0,   c = W_L[j] − W_L[y],  c_0 = b_L[j] − b_L[y]
    subject to  P ⪰ 0,  P_00 = 1,
                for each hidden step i (x = x_i, z = x_{i+1}):
                    P[z] ≥ 0,   P[z] ≥ W_i P[x] + b_i,   diag(P[z, z]) = diag(W_i P[x, z]) + b_i ⊙ P[z],
                for each layer i = 0..L:
                    diag(P[x_i, x_i]) ≤ (l_i + u_i) ⊙ P[x_i] − l_i ⊙ u_i.

Options (off by default, so the default is SPEC §5 verbatim):

* ``triangle=True`` adds the LP triangle rows P[z]_k ≤ û_k (W_k P[x] + b_k − l̂_k)/(û_k − l̂_k) of the unstable
  neurons (l̂ < 0 < û);
* ``stable_equality=True`` adds P[z]_k = W_k P[x] + b_k for the free stable-active neurons (0 ≤ l̂_k < û_k),
  the row the instance of :mod:`certifiers._sdpcert_instance` adds (so that both relaxations coincide).

This module shares no code with the instance: it only uses the network, the input box and the layer bounds.
Accuracy: the constant coordinates (stable-inactive neurons, l_i = u_i) leave the problem without a strictly
feasible point, and Clarabel then rarely reaches tolerances of 1e-10; with the settings of
``CLARABEL_SETTINGS`` (1e-9, and 1e-7 for "almost solved") the value agrees with the normalised formulation to
about 1e-7 (measured on 3-layer nets of ≤ 8 units). Practical for 1 + Σ sizes ≤ ``ORIGINAL_ORACLE_MAX_N``.
"""

from __future__ import annotations

import numpy as np

from certifiers._base import input_box
from certifiers._bound_propagation import LayerBounds, layer_bounds
from certifiers._network import ReLUNetwork

#: largest 1 + Σ layer sizes accepted (beyond this CVXPY becomes slow)
ORIGINAL_ORACLE_MAX_N = 80

# Clarabel stops with "almost solved" (CVXPY: optimal_inaccurate) when only the reduced tolerances are met;
# they are set to 1e-7 here (default 5e-5), so both statuses mean a value accurate to about 1e-7.
CLARABEL_SETTINGS = {
    "tol_gap_abs": 1e-9,
    "tol_gap_rel": 1e-9,
    "tol_feas": 1e-9,
    "tol_ktratio": 1e-8,
    "reduced_tol_gap_abs": 1e-7,
    "reduced_tol_gap_rel": 1e-7,
    "reduced_tol_feas": 1e-7,
    "reduced_tol_ktratio": 1e-6,
    "max_iter": 500,
}


def sdpcert_original_optimum(
    network: ReLUNetwork,
    x,
    eps: float,
    label: int,
    target: int,
    *,
    bounds: str = "ibp",
    layer_bounds_: LayerBounds | None = None,
    triangle: bool = False,
    stable_equality: bool = False,
    change_of_variables: bool = True,
) -> float:
    """Optimal value of the SPEC §5 relaxation in the original coordinates (CVXPY + Clarabel).

    Parameters
    ----------
    network : ReLUNetwork
    x : array_like, shape (d,)
        The clean input in [0, 1]^d.
    eps : float
        l∞ radius; the input box is [max(x − ε, 0), min(x + ε, 1)].
    label, target : int
        y and j.
    bounds : {"ibp", "crown", "lp"}
        Layer bounds (ignored when ``layer_bounds_`` is given).
    layer_bounds_ : LayerBounds, optional
        Precomputed bounds for this box.
    triangle, stable_equality : bool
        Extra rows (module docstring).
    change_of_variables : bool, default True
        Solve for the Gram matrix of [1; y], x = l + (u − l) ⊙ y, instead of P itself (exact; see the comment
        in the code). False solves for P directly, at the price of a much less accurate solve.

    Returns
    -------
    float
        The optimum.

    Raises
    ------
    RuntimeError
        If Clarabel does not report an optimal solution.
    """
    import cvxpy as cp

    xv = np.asarray(x, dtype=np.float64)
    lo, hi = input_box(xv, float(eps))
    lb = layer_bounds(network, lo, hi, bounds) if layer_bounds_ is None else layer_bounds_
    L = network.n_hidden_layers
    sizes = [network.input_dim] + [network.weights[i].shape[0] for i in range(L)]
    starts = np.concatenate([[1], 1 + np.cumsum(sizes)]).astype(int)
    N = int(starts[-1])
    if N > ORIGINAL_ORACLE_MAX_N:
        raise ValueError(f"the lifted size 1 + Σ sizes = {N} exceeds {ORIGINAL_ORACLE_MAX_N}.")
    blk = [slice(int(starts[i]), int(starts[i + 1])) for i in range(L + 1)]
    xl = [np.asarray(lb.input_lower)] + [np.maximum(np.asarray(v), 0.0) for v in lb.pre_lower[:L]]
    xu = [np.asarray(lb.input_upper)] + [np.maximum(np.asarray(v), 0.0) for v in lb.pre_upper[:L]]

    # The solver's variable is Q, the Gram matrix of [1; y] with x = l + (u − l) ⊙ y (y ∈ [0, 1]^·) on the
    # coordinates with l < u; those with l = u are constants (the interval row and P ⪰ 0 force
    # P[x_k, ·] = l_k P[0, ·]). P = T Q Tᵀ is an exact change of variables, and every constraint below is
    # written on P exactly as SPEC §5 has it. Without it (``change_of_variables=False``: Q = P) Clarabel
    # misjudges the feasibility of thin intervals (u − l ≪ |l|) and of the constants, and returns values
    # up to ~1e-4 too high.
    lower = np.concatenate([[1.0], *xl])
    width = np.concatenate([[0.0], *[b - a for a, b in zip(xl, xu)]])
    if change_of_variables:
        keep = np.concatenate([[0], np.flatnonzero(width > 0)])
        T = np.zeros((N, keep.size))
        T[:, 0] = lower
        T[keep[1:], np.arange(1, keep.size)] = width[keep[1:]]
        Q = cp.Variable((keep.size, keep.size), PSD=True)
        P = T @ Q @ T.T
    else:
        Q = P = cp.Variable((N, N), PSD=True)
    first = P[0, :]  # P[x] for every block
    cons = [Q[0, 0] == 1]
    for i in range(L + 1):
        # with the change of variables the rows of the constants read l² ≤ l², identically: left out
        k = np.flatnonzero(xl[i] < xu[i]) if change_of_variables else np.arange(sizes[i])
        if k.size:
            idx = blk[i].start + k
            d = cp.hstack([P[j, j] for j in idx])
            cons.append(d <= cp.multiply(xl[i][k] + xu[i][k], first[idx]) - xl[i][k] * xu[i][k])
    for i in range(L):
        W, b = network.weights[i], network.biases[i]
        px, pz = first[blk[i]], first[blk[i + 1]]
        pre = W @ px + b
        cons += [pz >= 0, pz >= pre]
        cross = P[blk[i], blk[i + 1]]  # P[x, z], shape (n_i, n_{i+1})
        diag_wxz = cp.sum(cp.multiply(W.T, cross), axis=0)  # diag(W P[x, z])
        cons.append(cp.diag(P[blk[i + 1], blk[i + 1]]) == diag_wxz + cp.multiply(b, pz))
        pl, pu = np.asarray(lb.pre_lower[i]), np.asarray(lb.pre_upper[i])
        if triangle:
            k = np.flatnonzero((pl < 0) & (pu > 0))
            if k.size:
                slope = pu[k] / (pu[k] - pl[k])
                cons.append(pz[k] <= cp.multiply(slope, pre[k] - pl[k]))
        if stable_equality:
            k = np.flatnonzero((pl >= 0) & (pl < pu))
            if k.size:
                cons.append(pz[k] == pre[k])
    c = network.weights[-1][target] - network.weights[-1][label]
    c0 = float(network.biases[-1][target] - network.biases[-1][label])
    prob = cp.Problem(cp.Maximize(c @ first[blk[L]] + c0), cons)
    prob.solve(solver="CLARABEL", **CLARABEL_SETTINGS)
    if prob.status not in (cp.OPTIMAL, cp.OPTIMAL_INACCURATE) or prob.value is None:
        raise RuntimeError(f"CVXPY/CLARABEL did not solve the SDP-cert oracle (N = {N}): status {prob.status!r}.")
    return float(prob.value)
