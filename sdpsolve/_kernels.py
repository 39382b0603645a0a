"""numba kernels for the loops that are not BLAS calls: coordinate ("mixing") sweeps of the low-rank method, and
the minimum-degree elimination and sparse left-looking Cholesky of the rigorous bound (``SparseRump``).

One sweep visits every row i, computes g_i = Σ_{j≠i} M_ij v_j from explicit entries, and replaces v_i by the
maximiser of M_ii ||v||² + 2<v, g_i> over the unit sphere (i ∈ E) or the unit ball (i ∉ E).
"""

from __future__ import annotations

import heapq

import numpy as np
from numba import njit


@njit(cache=True, fastmath=False)
def _row_sums(V, i, g):
    """(||g||², <v_i, g>, ||v_i||²) with four partial sums each: independent chains of additions that the CPU
    overlaps (one chain waits for every addition; the order is fixed, so results stay reproducible)."""
    r = V.shape[1]
    a0 = a1 = a2 = a3 = 0.0
    b0 = b1 = b2 = b3 = 0.0
    c0 = c1 = c2 = c3 = 0.0
    k = 0
    while k + 4 <= r:
        g0, g1, g2, g3 = g[k], g[k + 1], g[k + 2], g[k + 3]
        v0, v1, v2, v3 = V[i, k], V[i, k + 1], V[i, k + 2], V[i, k + 3]
        a0 += g0 * g0
        a1 += g1 * g1
        a2 += g2 * g2
        a3 += g3 * g3
        b0 += v0 * g0
        b1 += v1 * g1
        b2 += v2 * g2
        b3 += v3 * g3
        c0 += v0 * v0
        c1 += v1 * v1
        c2 += v2 * v2
        c3 += v3 * v3
        k += 4
    while k < r:
        a0 += g[k] * g[k]
        b0 += V[i, k] * g[k]
        c0 += V[i, k] * V[i, k]
        k += 1
    return (a0 + a1) + (a2 + a3), (b0 + b1) + (b2 + b3), (c0 + c1) + (c2 + c3)


@njit(cache=True, fastmath=False)
def _update_row(V, i, g, aii, eq):
    r = V.shape[1]
    gn2, old, vn2 = _row_sums(V, i, g)
    gn = np.sqrt(gn2)
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


# ------------------------------------------------------------------------------------------------------------
# sparse Cholesky with a dense core (sdpsolve._cholesky.SparseRump)
# ------------------------------------------------------------------------------------------------------------
@njit(cache=True)
def min_degree_elimination(indptr, indices, n, cap, numba_rate, blas_rate, budget):
    """Minimum-degree elimination of the graph of a symmetric pattern (CSR, no diagonal) with explicit fill.

    A vertex whose degree (original or after fill) exceeds ``cap`` joins the dense core and is never eliminated.
    The elimination also stops at the first vertex whose column costs more (count² / ``numba_rate``) than it
    saves the dense core factored after it (about k² / ``blas_rate`` for a core of k vertices): the smallest
    degree left is then a large share of what is left, which is nearly dense. For the same reason a vertex
    whose degree passes √(numba_rate / blas_rate) · k joins the core at once (its list is not kept growing).
    It stops, too, before the factor's pattern or the adjacency lists pass ``budget`` entries (memory).
    Returns (order of the eliminated vertices, column pointers, column rows): the rows of eliminated
    column j are its neighbours (eliminated later, or core) at the moment it is eliminated — exactly the
    nonzero pattern of column j of the Cholesky factor in this order. The adjacency lists live in one pool and
    move to its end, twice as long, when they fill up (memory O(fill), not O(n · cap)).
    """
    deg = np.diff(indptr).astype(np.int64)
    core = deg > cap
    start = np.zeros(n, dtype=np.int64)
    room = np.zeros(n, dtype=np.int64)
    pool = np.empty(2 * len(indices) + 4 * n + 16, dtype=np.int64)
    top = 0
    for v in range(n):
        if not core[v]:
            start[v] = top
            room[v] = min(cap, 2 * deg[v] + 4)
            pool[top: top + deg[v]] = indices[indptr[v]: indptr[v + 1]]
            top += room[v]
    gone = np.zeros(n, dtype=np.bool_)
    stamp = -np.ones(n, dtype=np.int64)
    heap = [(np.int64(0), np.int64(0))]
    heap.pop()
    for v in range(n):
        if not core[v]:
            heap.append((deg[v], np.int64(v)))
    heapq.heapify(heap)
    order = np.empty(n, dtype=np.int64)
    colptr = np.zeros(n + 1, dtype=np.int64)
    rows = np.empty(max(16, 4 * len(indices)), dtype=np.int64)
    m = 0
    nnz = 0
    nb = np.empty(cap, dtype=np.int64)
    ratio = np.sqrt(numba_rate / blas_rate)
    limit = ratio * n
    while len(heap):
        d, v = heapq.heappop(heap)
        if gone[v] or core[v] or d != deg[v]:
            continue
        dv = deg[v]
        rest = float(n - m - 1)
        if float(dv) * float(dv) / numba_rate > rest * rest / blas_rate or nnz + dv > budget or top > budget:
            break
        # a vertex above this degree would be stopped at (the rest only shrinks): it joins the core at once
        limit = ratio * rest
        nb[:dv] = pool[start[v]: start[v] + dv]
        gone[v] = True
        order[m] = v
        if nnz + dv > len(rows):
            bigger = np.empty(2 * len(rows) + dv, dtype=np.int64)
            bigger[:nnz] = rows[:nnz]
            rows = bigger
        rows[nnz: nnz + dv] = nb[:dv]
        nnz += dv
        m += 1
        colptr[m] = nnz
        for a in range(dv):
            u = nb[a]
            if core[u]:
                continue
            su = start[u]
            for p in range(su, su + deg[u]):  # v leaves u's list
                if pool[p] == v:
                    deg[u] -= 1
                    pool[p] = pool[su + deg[u]]
                    break
            for p in range(su, su + deg[u]):
                stamp[pool[p]] = u
            for b in range(dv):  # fill: v's neighbours become u's neighbours
                w = nb[b]
                if w == u or stamp[w] == u:
                    continue
                if deg[u] == cap or deg[u] > limit:
                    core[u] = True
                    break
                if deg[u] == room[u]:  # move the list to the end of the pool, twice as long
                    want = min(cap, 2 * room[u])
                    if top + want > len(pool):
                        bigger = np.empty(2 * len(pool) + want, dtype=np.int64)
                        bigger[:top] = pool[:top]
                        pool = bigger
                    pool[top: top + deg[u]] = pool[su: su + deg[u]]
                    start[u] = top
                    su = top
                    room[u] = want
                    top += want
                pool[su + deg[u]] = w
                deg[u] += 1
            if not core[u]:
                heapq.heappush(heap, (deg[u], u))
    return order[:m], colptr[: m + 1], rows[:nnz]


@njit(cache=True, fastmath=False)
def sparse_cholesky_left(m, s, Ap, Ai, Ax, diag, Lp, Li, Rp, Rj, Lx, Ld, S):
    """Left-looking Cholesky of the first ``m`` columns of a symmetric matrix in elimination order (positions),
    and the Schur complement of the last ``s`` positions (the dense core) updated in place in ``S``.

    A's strict lower triangle by columns (``Ap``, ``Ai``, ``Ax``; rows > column), its diagonal ``diag``; the factor's
    pattern by columns (``Lp``, ``Li``, rows ascending) and by rows (``Rp``, ``Rj``: the columns k < i of row i,
    ascending). ``S`` holds A's core block (lower triangle read and written). Every entry is computed as
    (a_ij − Σ_k l_ik l_jk) / l_jj with the terms subtracted one by one in increasing k. Returns the first column
    whose pivot is not positive, or −1.
    """
    n = m + s
    w = np.zeros(n)
    nxt = Lp[:m].copy()
    for j in range(m):
        for p in range(Ap[j], Ap[j + 1]):
            w[Ai[p]] = Ax[p]
        d = diag[j]
        for q in range(Rp[j], Rp[j + 1]):
            k = Rj[q]
            pk = nxt[k]
            ljk = Lx[pk]
            d -= ljk * ljk
            for p in range(pk + 1, Lp[k + 1]):
                w[Li[p]] -= Lx[p] * ljk
            nxt[k] = pk + 1
        if not d > 0.0:
            return j
        ljj = np.sqrt(d)
        Ld[j] = ljj
        for p in range(Lp[j], Lp[j + 1]):
            r = Li[p]
            Lx[p] = w[r] / ljj
            w[r] = 0.0
    # the core's Schur complement: S_ab −= l_ak l_bk for every interior column k, in increasing k
    for k in range(m):
        p0 = nxt[k]  # the column's core rows are its last ones (every interior row has been visited)
        for p in range(p0, Lp[k + 1]):
            a = Li[p] - m
            la = Lx[p]
            for q in range(p0, p + 1):
                S[a, Li[q] - m] -= la * Lx[q]
    return -1


@njit(cache=True, fastmath=False)
def sparse_forward(m, Lp, Li, Lx, Ld, Y):
    """Y ← the forward substitution of the interior columns: for j < m, y_j /= l_jj, then y_r −= l_rj y_j."""
    for j in range(m):
        for c in range(Y.shape[1]):
            Y[j, c] /= Ld[j]
        for p in range(Lp[j], Lp[j + 1]):
            r = Li[p]
            for c in range(Y.shape[1]):
                Y[r, c] -= Lx[p] * Y[j, c]


@njit(cache=True, fastmath=False)
def sparse_backward(m, Lp, Li, Lx, Ld, Y):
    """Y ← the back substitution of the interior columns (the rows ≥ m already solved)."""
    for j in range(m - 1, -1, -1):
        for p in range(Lp[j], Lp[j + 1]):
            r = Li[p]
            for c in range(Y.shape[1]):
                Y[j, c] -= Lx[p] * Y[r, c]
        for c in range(Y.shape[1]):
            Y[j, c] /= Ld[j]
