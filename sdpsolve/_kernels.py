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
def mixing_block_finish(A, V, eq, start, G):
    """Sequential row updates of the rows start, start+1, … of a dense A, given G = A[rows, :] @ V (old V).

    Row i uses g_i = G_i − A_ii v_i^old + Σ_{j<i in the block} A_ij (v_j^new − v_j^old), i.e. exactly the
    vector of a row-by-row sweep: the bulk of the work is the BLAS product G, only the block's own triangle
    is done here. Returns the objective increase.
    """
    b, r = G.shape
    Vold = V[start : start + b].copy()
    g = np.empty(r)
    total = 0.0
    for p in range(b):
        i = start + p
        aii = A[i, i]
        for k in range(r):
            g[k] = G[p, k] - aii * Vold[p, k]
        for q in range(p):
            a = A[i, start + q]
            if a != 0.0:
                for k in range(r):
                    g[k] += a * (V[start + q, k] - Vold[q, k])
        total += _update_row(V, i, g, aii, eq[i])
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
def update_rows_from(V, rows, G, diag, eq):
    """Row updates of a colour class at once: v_i ← argmax M_ii ||v||² + 2<v, g_i> for i = rows[p], g_i = G[p].

    The rows of one class do not interact, so this equals visiting them one by one (the same rule as
    :func:`_update_row`, including keeping v_i when g_i = 0 and the maximiser is not unique).
    """
    r = V.shape[1]
    for p in range(rows.shape[0]):
        i = rows[p]
        gn2 = 0.0
        for k in range(r):
            gn2 += G[p, k] * G[p, k]
        gn = np.sqrt(gn2)
        aii = diag[i]
        if gn == 0.0:
            if eq[i] or aii >= 0.0:
                continue
            for k in range(r):
                V[i, k] = 0.0
            continue
        if eq[i] or aii >= 0.0 or gn >= -aii:
            inv = 1.0 / gn
        else:
            inv = -1.0 / aii
        for k in range(r):
            V[i, k] = G[p, k] * inv


@njit(cache=True)
def greedy_colouring_dense(A):
    """:func:`greedy_colouring` of the nonzero pattern of a dense square array (no sparse copy needed)."""
    n = A.shape[0]
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
            for j in range(n):
                if A[i, j] != 0.0 and not seen[j]:
                    seen[j] = True
                    order[tail] = j
                    tail += 1
    forbidden = -np.ones(n + 1, dtype=np.int64)
    for idx in range(n):
        i = order[idx]
        for j in range(n):
            if j != i and A[i, j] != 0.0 and colour[j] >= 0:
                forbidden[colour[j]] = i
        c = 0
        while forbidden[c] == i:
            c += 1
        colour[i] = c
    return colour


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


@njit(cache=True)
def is_exactly_symmetric(A):
    """True iff A[i, j] == A[j, i] for all i, j (compared in 64×64 tiles for the cache; stops at the first miss)."""
    n = A.shape[0]
    b = 64
    for i0 in range(0, n, b):
        for j0 in range(0, i0 + 1, b):
            for i in range(i0, min(i0 + b, n)):
                for j in range(j0, min(j0 + b, i)):
                    if A[i, j] != A[j, i]:
                        return False
    return True
