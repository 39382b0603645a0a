"""Numba kernels of the Grad-cert operator product (private; see :mod:`certifiers._gradcert`).

The operator is, for y = [1; t; s] with blocks of sizes 1, d, m and A = Wᵀ diag(v), g = Wᵀ v = A·1,

    M = [[0, gᵀ, 0], [g, 0, A], [0, Aᵀ, 0]],

so for a block X = [x0; Xt; Xs] (k columns)

    Y0 = gᵀ Xt,    Yt = g x0 + Wᵀ (v ⊙ Xs),    Ys = v ⊙ (W Xt).

Both kernels make a single pass over the rows of W (C order), reading each weight once per product
(2·m·d·k multiply–adds). For few columns (k ≤ 2) the columns are transposed to contiguous rows and the dot
products use eight independent partial sums (vectorisable without reassociation); for more columns the
column index is the inner, contiguous loop. ``fastmath`` is off: every operation is an ordinary IEEE
operation in a fixed order, so results are reproducible (the rigorous bound does not depend on them).
"""

from __future__ import annotations

import numba
import numpy as np

#: at most this many columns use the transposed (dot-product) kernel
SMALL_K = 2


@numba.njit(cache=True, fastmath=False, nogil=True)
def _matmat_few_columns(W, v, g, X, Y):  # pragma: no cover - compiled
    m, d = W.shape
    k = X.shape[1]
    XtT = np.empty((k, d))
    YtT = np.zeros((k, d))
    for j in range(d):
        for c in range(k):
            XtT[c, j] = X[1 + j, c]
    for c in range(k):
        s = 0.0
        for j in range(d):
            s += g[j] * XtT[c, j]
        Y[0, c] = s
    acc = np.empty(8)
    d8 = d - d % 8
    for l in range(m):
        vl = v[l]
        row = W[l]
        for c in range(k):
            u = vl * X[1 + d + l, c]
            xr = XtT[c]
            yr = YtT[c]
            for q in range(8):
                acc[q] = 0.0
            for j in range(0, d8, 8):
                for q in range(8):
                    acc[q] += row[j + q] * xr[j + q]
                    yr[j + q] += row[j + q] * u
            s = 0.0
            for j in range(d8, d):
                s += row[j] * xr[j]
                yr[j] += row[j] * u
            Y[1 + d + l, c] = vl * (
                (((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]))) + s
            )
    for j in range(d):
        for c in range(k):
            Y[1 + j, c] = YtT[c, j] + g[j] * X[0, c]


@numba.njit(cache=True, fastmath=False, nogil=True)
def _matmat_many_columns(W, v, g, X, Y):  # pragma: no cover - compiled
    m, d = W.shape
    k = X.shape[1]
    for c in range(k):
        Y[0, c] = 0.0
    for j in range(d):
        gj = g[j]
        for c in range(k):
            Y[0, c] += gj * X[1 + j, c]
            Y[1 + j, c] = gj * X[0, c]
    acc = np.empty(k)
    us = np.empty(k)
    for l in range(m):
        vl = v[l]
        row_s = 1 + d + l
        for c in range(k):
            acc[c] = 0.0
            us[c] = vl * X[row_s, c]
        for j in range(d):
            w = W[l, j]
            for c in range(k):
                acc[c] += w * X[1 + j, c]
                Y[1 + j, c] += w * us[c]
        for c in range(k):
            Y[row_s, c] = vl * acc[c]


@numba.njit(cache=True, fastmath=False, nogil=True)
def gradcert_matmat_kernel(W, v, g, X, Y):  # pragma: no cover - compiled
    """Write M @ X into Y (both (1 + d + m, k), C-contiguous float64); W (m, d) C-contiguous, v (m,), g (d,).

    Examples
    --------
    >>> import numpy as np
    >>> W = np.array([[1.0, 2.0]]); v = np.array([3.0]); g = W.T @ v
    >>> X = np.eye(4); Y = np.empty((4, 4))
    >>> gradcert_matmat_kernel(W, v, g, X, Y)
    >>> Y[0].tolist(), Y[3].tolist()
    ([0.0, 3.0, 6.0, 0.0], [0.0, 3.0, 6.0, 0.0])
    """
    if X.shape[1] <= SMALL_K:
        _matmat_few_columns(W, v, g, X, Y)
    else:
        _matmat_many_columns(W, v, g, X, Y)
