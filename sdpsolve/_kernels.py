"""numba kernels for the loops that are not BLAS calls: coordinate ("mixing") sweeps of the low-rank method.

One sweep visits every row i, computes g_i = Σ_{j≠i} M_ij v_j from explicit entries, and replaces v_i by the
maximiser of M_ii ||v||² + 2<v, g_i> over the unit sphere (i ∈ E) or the unit ball (i ∉ E).
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True, fastmath=False)
def _update_row(V, i, g, aii, eq):
    r = V.shape[1]
    gn2 = 0.0
    for k in range(r):
        gn2 += g[k] * g[k]
    gn = np.sqrt(gn2)
    old = 0.0
    vn2 = 0.0
    for k in range(r):
        old += V[i, k] * g[k]
        vn2 += V[i, k] * V[i, k]
    old_val = aii * vn2 + 2.0 * old
    if gn == 0.0:
        if eq or aii >= 0.0:
            return 0.0  # every unit vector is optimal: keep the current one
        for k in range(r):
            V[i, k] = 0.0
        return -old_val
    if eq or aii >= 0.0 or gn >= -aii:
        inv = 1.0 / gn
        for k in range(r):
            V[i, k] = g[k] * inv
        new_val = aii + 2.0 * gn
    else:
        inv = -1.0 / aii
        for k in range(r):
            V[i, k] = g[k] * inv
        new_val = gn2 * inv  # = aii ||v||² + 2<v,g> at v = -g/aii
    return new_val - old_val


@njit(cache=True, fastmath=False)
def mixing_sweep_dense(A, V, eq, order):
    """One sweep over the rows in ``order`` for a dense symmetric A. Returns the objective increase."""
    n, r = V.shape
    g = np.empty(r)
    total = 0.0
    for idx in range(order.shape[0]):
        i = order[idx]
        for k in range(r):
            g[k] = 0.0
        for j in range(n):
            a = A[i, j]
            if a != 0.0 and j != i:
                for k in range(r):
                    g[k] += a * V[j, k]
        total += _update_row(V, i, g, A[i, i], eq[i])
    return total


@njit(cache=True, fastmath=False)
def mixing_sweep_csr(indptr, indices, data, diag, V, eq, order):
    """One sweep for a CSR symmetric matrix (``diag`` its diagonal). Returns the objective increase."""
    r = V.shape[1]
    g = np.empty(r)
    total = 0.0
    for idx in range(order.shape[0]):
        i = order[idx]
        for k in range(r):
            g[k] = 0.0
        for p in range(indptr[i], indptr[i + 1]):
            j = indices[p]
            if j != i:
                a = data[p]
                for k in range(r):
                    g[k] += a * V[j, k]
        total += _update_row(V, i, g, diag[i], eq[i])
    return total


@njit(cache=True, fastmath=False)
def project_rows(V, eq):
    """Rows in E onto the unit sphere, others into the unit ball (in place)."""
    n, r = V.shape
    for i in range(n):
        s = 0.0
        for k in range(r):
            s += V[i, k] * V[i, k]
        s = np.sqrt(s)
        if s == 0.0:
            if eq[i]:
                V[i, 0] = 1.0
            continue
        if eq[i] or s > 1.0:
            for k in range(r):
                V[i, k] /= s


@njit(cache=True)
def greedy_colouring(indptr, indices, n):
    """Greedy colouring of the sparsity graph in BFS order (bipartite graphs get 2 colours).

    Returns an int64 array of colours; rows of one colour never share a nonzero off-diagonal entry.
    """
    colour = -np.ones(n, dtype=np.int64)
    order = np.empty(n, dtype=np.int64)
    seen = np.zeros(n, dtype=np.bool_)
    head = 0
    tail = 0
    for root in range(n):
        if seen[root]:
            continue
        seen[root] = True
        order[tail] = root
        tail += 1
        while head < tail:
            i = order[head]
            head += 1
            for p in range(indptr[i], indptr[i + 1]):
                j = indices[p]
                if not seen[j]:
                    seen[j] = True
                    order[tail] = j
                    tail += 1
    forbidden = -np.ones(n + 1, dtype=np.int64)
    for idx in range(n):
        i = order[idx]
        for p in range(indptr[i], indptr[i + 1]):
            j = indices[p]
            if j != i and colour[j] >= 0:
                forbidden[colour[j]] = i
        c = 0
        while forbidden[c] == i:
            c += 1
        colour[i] = c
    return colour
