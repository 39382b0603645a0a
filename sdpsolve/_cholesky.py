"""Materialised matrices for Rump's Cholesky test: dense, or an envelope (profile) under a fill-reducing order.

Rump's test (S. M. Rump, "Verification of positive definiteness", BIT 46 (2006) 433–452; SPEC §1.2, §9) proves
A = tI − B positive definite when a floating-point Cholesky factorisation of A − sI runs to completion, for a
shift s that covers every rounding error of the factorisation. His bound (Theorem 2.3 there, and its use for
sparse matrices in his INTLAB routine ``isspd``) depends on the matrix only through its diagonal and, per column
j, the number t_j of terms of the inner products that define column j of the factor:

    s ≥ Σ_j γ_{t_j + 3} · A_jj  +  6 n (n + max_j A_jj) η,        γ_k = k u / (1 − k u),

(with ``gamma`` rounded upwards, every sum rounded upwards, u = 2⁻⁵³, η = 2⁻¹⁰⁷⁴). Each inner product of the
Cholesky recurrence, r_ij = (a_ij − Σ_{k<i} r_ki r_kj) / r_ii, carries at most t_j roundings from its terms, one
from the subtraction and one from the division (or the square root on the diagonal): hence t_j + 3 in
γ. The bound holds for every order of evaluation of the sums (blocked LAPACK kernels, FMA), which is why the
LAPACK factorisations below may be used as black boxes.

Dense: t_j = j (every entry left of the diagonal may be nonzero) — the shift ≈ n²/2 · u · A_jj.

Envelope: for a symmetric matrix whose row j has its first nonzero in column f_j ≤ j, the Cholesky factor has no
entry outside the envelope {(j, k): f_j ≤ k ≤ j} (fill stays inside the profile: George & Liu, "Computer
Solution of Large Sparse Positive Definite Systems", 1981). A factor entry outside the envelope is computed as
an exact 0: all its terms are products with an exact 0, and adding exact zeros rounds nothing — so those terms
do not count, and t_j = j − f_j. A band solver (LAPACK ``dpbtrf`` with half-bandwidth b = max_j t_j) touches
entries between the envelope and the band, but they, too, stay exact zeros. The order comes from reverse
Cuthill–McKee (scipy.sparse.csgraph), which keeps the envelope of grids, tori and planar graphs to O(√n) per
row: the shift shrinks from ≈ n²/2 · u · A_jj to ≈ n · b · u · A_jj, and the memory from 8n² to 8n(b + 1) bytes.
A permutation P does not change eigenvalues: PᵀAP ≻ 0 ⟺ A ≻ 0.

Border: a few dense rows (the constant coordinate of a lifted problem, a hub vertex) would stretch every later
row's envelope back to them. :func:`envelope_plan` orders the k densest rows last (the "border") and the rest
by reverse Cuthill–McKee; the interior is factored as a band, the border by a banded forward substitution and
a dense Cholesky of its Schur complement (:class:`EnvelopeRump`). Border rows count their full envelope in the
shift, interior rows their band only; k is chosen by the flops of one factorisation.

Minimum degree: a random sparse graph has no narrow envelope in any order (its band is nearly as wide as the
matrix), but eliminated by minimum degree it fills in only late, in a few hundred to thousands of rows that are
then nearly dense. :func:`elimination_plan` eliminates by minimum degree (fill tracked explicitly), cuts the
order where the cost model says LAPACK on the rest is cheaper than numba on more columns, and
:class:`SparseRump` factors the eliminated columns left-looking and the rest (the "core") as one dense block.
Each row's t_j is its exact number of factor nonzeros left of the diagonal (plus its position in the core).

The tested matrix has the exact off-diagonal entries −B_ij and the diagonal (t − B_jj + c_j) − s rounded
downwards (an upward-rounded copy of t − B_jj + c_j enters the shift), so it is ⪯ the exact tI − B + diag c − sI.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy.linalg import lapack

from .rounding import ETA, down, gamma, sum_up, up

#: default memory for a rigorous factorisation (the matrix and its factor): about dense n = 12,000
RIGOROUS_MAX_MEMORY = 2.4e9


class RumpMatrix:
    """A materialised symmetric B (``err`` ≥ ||B_meant − B||_2) in a form the Rump test can factor.

    Attributes
    ----------
    n : int
    err : float
    diag : numpy.ndarray
        The diagonal of B.
    terms : numpy.ndarray of int
        t_j, the number of terms of the inner products of column j of the factor (in the factor's order).
    structure : str
        "dense", "envelope" or "sparse" (minimum degree with a dense core).
    """

    structure = "dense"

    def __init__(self, n: int, err: float, diag: np.ndarray, terms: np.ndarray):
        self.n = int(n)
        self.err = float(err)
        self.diag = np.asarray(diag, dtype=np.float64)
        self.terms = np.asarray(terms, dtype=np.int64)

    @property
    def memory(self) -> int:  # pragma: no cover - abstract
        raise NotImplementedError

    def shift(self, a_up: np.ndarray) -> float:
        """Rump's shift s (rounded upwards) for the upward-rounded diagonal ``a_up`` of tI − B + diag c."""
        s = sum_up(up(gamma(self.terms + 3) * a_up))
        return up(s + up(6.0 * self.n * up(self.n + float(a_up.max())) * ETA))

    def tested_diagonal(self, c: np.ndarray, t: float, diag: np.ndarray | None = None) -> np.ndarray | None:
        """The diagonal handed to the factorisation (⪯ the exact one minus the shift), or None when not positive.

        ``diag`` and ``c`` in the factor's order (default: B's diagonal, no permutation)."""
        d = self.diag if diag is None else diag
        a_up = up(up(t - d) + c)
        a_down = down(down(t - d) + c)
        if not np.all(a_down > 0):
            return None
        diag = down(a_down - self.shift(a_up))
        return diag if np.all(diag > 0) else None

    def proves(self, c: np.ndarray, t: float):
        """``(proved, solve)``: whether tI − B + diag c is proved positive definite, and (when proved) X ↦ (tI − B +
        diag c − sI)⁻¹ X from the computed factor (for shift-and-invert iterations, never a bound)."""
        raise NotImplementedError  # pragma: no cover - abstract

    def shift_terms(self) -> float:
        """Σ_j (t_j + 3): Rump's shift is about u · this · (a typical tested diagonal)."""
        return float(np.sum(self.terms + 3.0))


class DenseRump(RumpMatrix):
    """B as a dense float64 array (t_j = j): LAPACK ``dpotrf``."""

    structure = "dense"

    def __init__(self, B: np.ndarray, err: float = 0.0):
        n = B.shape[0]
        super().__init__(n, err, np.diag(B).copy(), np.arange(n))
        self.B = B

    @property
    def memory(self) -> int:
        return 16 * self.n * self.n

    def shift_terms(self) -> float:
        # (n + 3)²/2 ≥ Σ_j (j + 3): the scale the candidate steps of the dense test have always used
        return 0.5 * (self.n + 3.0) ** 2

    def proves(self, c, t):
        diag = self.tested_diagonal(c, t)
        if diag is None:
            return False, None
        A = np.negative(self.B)  # exact
        A[np.diag_indices(self.n)] = diag
        # the transpose of a C-ordered array is Fortran-ordered (no copy); its upper triangle is A's lower one
        At = A.T if A.flags.c_contiguous else np.asfortranarray(A).T
        R, info = lapack.dpotrf(At, lower=0, clean=0, overwrite_a=1)
        if info != 0:
            return False, None

        def solve(X):
            return lapack.dpotrs(R, X, lower=0)[0]

        return True, solve


def envelope(L: sp.csr_matrix) -> np.ndarray:
    """t_j = j − (column of the first nonzero of row j) for the lower triangle ``L`` (CSR, diagonal included or
    not); rows without an entry left of the diagonal get 0."""
    rows = np.arange(L.shape[0])
    first = rows.copy()
    nonempty = np.diff(L.indptr) > 0
    first[nonempty] = L.indices[L.indptr[:-1][nonempty]]  # sorted indices: the row's first column
    return np.maximum(rows - first, 0).astype(np.int64)


class EnvelopeRump(RumpMatrix):
    """B sparse: an envelope (band) factor of its interior, and a dense border for its few dense rows.

    The order (from :func:`envelope_plan` unless given) puts the ``border`` densest rows last and the others in
    reverse Cuthill–McKee order. With A = [[A11, A12], [A21, A22]] in that order, the factorisation is the
    Cholesky recurrence in blocks: A11 = L11 L11ᵀ as a band of half-width max t_j (LAPACK ``dpbtrf``), L21ᵀ =
    L11⁻¹ A12 by banded forward substitution (``dtbtrs``), then ``dpotrf`` of A22 − L21 L21ᵀ. Every entry is
    still (a_ij − Σ_k l_ik l_jk) / l_jj with its sum split into partial sums (one order of evaluation among
    those Rump's bound covers), and the terms it sums lie inside the envelope of its row. So the shift uses each
    row's own envelope length t_j in the final order (module docstring): border rows count their full length,
    interior rows only their band. Without a border this is the plain band factorisation.
    """

    structure = "envelope"

    def __init__(self, B: sp.spmatrix, err: float = 0.0, *, perm: np.ndarray | None = None, border: int = 0):
        B = sp.csr_matrix(B, dtype=np.float64)
        n = B.shape[0]
        if perm is None:
            perm, border = envelope_plan(B).order
        perm = np.asarray(perm, dtype=np.int64)
        if perm.shape != (n,) or not np.array_equal(np.sort(perm), np.arange(n)):
            raise ValueError(f"`perm` must be a permutation of range({n}).")
        if not 0 <= int(border) <= n:
            raise ValueError(f"`border` must be in [0, {n}], got {border!r}.")
        self.perm, self.border = perm, int(border)
        self._inv = np.argsort(perm)
        P = B[perm][:, perm].tocsr()
        L = sp.tril(P, k=-1, format="csr")
        L.eliminate_zeros()
        L.sort_indices()
        terms = envelope(L)
        super().__init__(n, err, np.asarray(B.diagonal(), dtype=np.float64), terms)
        self._pdiag = self.diag[perm]
        m = n - self.border
        self.bandwidth = int(terms[:m].max(initial=0))
        # lower band storage of A11: ab[i − j, j] = A[i, j] for j ≤ i ≤ j + b; off-diagonal entries are −B (exact)
        coo = L.tocoo()
        inner = coo.row < m
        self._band = np.zeros((self.bandwidth + 1, m), order="F")
        self._band[coo.row[inner] - coo.col[inner], coo.col[inner]] = -coo.data[inner]
        # the border rows A21 (A12 = A21ᵀ) and the strict lower triangle of A22, dense
        self._a12 = np.zeros((m, self.border), order="F")
        self._a22 = np.zeros((self.border, self.border))
        rows, cols, vals = coo.row[~inner] - m, coo.col[~inner], coo.data[~inner]
        left = cols < m
        self._a12[cols[left], rows[left]] = -vals[left]
        self._a22[rows[~left], cols[~left] - m] = -vals[~left]

    @property
    def memory(self) -> int:
        m = self.n - self.border
        return 16 * m * (self.bandwidth + 1) + 16 * m * self.border + 16 * self.border ** 2

    def proves(self, c, t):
        diag = self.tested_diagonal(np.asarray(c, dtype=np.float64)[self.perm], t, self._pdiag)
        if diag is None:
            return False, None
        m, k = self.n - self.border, self.border
        ab = self._band.copy(order="F")
        ab[0] = diag[:m]
        cb, info = lapack.dpbtrf(ab, lower=1, overwrite_ab=1)
        if info != 0:
            return False, None
        if k:
            # L21ᵀ = L11⁻¹ A12 (the band forward substitution), then the Schur complement of the border
            x, info = lapack.dtbtrs(cb, self._a12, uplo="L", trans="N")
            if info != 0:
                return False, None
            S = self._a22 + self._a22.T
            S[np.diag_indices(k)] = diag[m:]
            S -= x.T @ x
            R, info = lapack.dpotrf(S, lower=0, clean=0, overwrite_a=1)
            if info != 0:
                return False, None
        perm, inv = self.perm, self._inv

        def solve(X):
            X = np.asarray(X, dtype=np.float64)
            Y = X[perm].reshape(self.n, -1)
            if not k:
                Z = lapack.dpbtrs(cb, Y, lower=1)[0]
            else:
                # forward L y = b, then backward Lᵀ z = y, with L = [[L11, 0], [L21, R22ᵀ]] and L21 = xᵀ
                y1 = lapack.dtbtrs(cb, Y[:m], uplo="L", trans="N")[0]
                y2 = lapack.dtrtrs(R, Y[m:] - x.T @ y1, lower=0, trans=1)[0]
                z2 = lapack.dtrtrs(R, y2, lower=0, trans=0)[0]
                z1 = lapack.dtbtrs(cb, y1 - x @ z2, uplo="L", trans="T")[0]
                Z = np.concatenate([z1, z2])
            return Z[inv].reshape(X.shape)

        return True, solve


def off_diagonal_pattern(A: sp.spmatrix) -> sp.csr_matrix:
    """The nonzero pattern of ``A`` without its diagonal (int8 CSR): the graph an order is searched on."""
    pattern = (sp.csr_matrix(A) != 0).astype(np.int8).tocsr()
    pattern.setdiag(0)
    pattern.eliminate_zeros()
    return pattern


class SparseRump(RumpMatrix):
    """B sparse without a narrow envelope (random graphs): a sparse factor in minimum-degree order and a dense core.

    The order comes from :func:`elimination_plan`: vertices are eliminated by minimum degree with their fill
    tracked explicitly, and those whose degree passes a cap form a dense core ordered last. The interior columns
    are factored left-looking (numba; :func:`sdpsolve._kernels.sparse_cholesky_left`), the core's Schur
    complement is updated from them and factored by ``dpotrf``. Each entry is still (a_ij − Σ_k l_ik l_jk) / l_jj
    (one order of evaluation), and its terms are the nonzeros of the factor's row j left of the diagonal (the
    symbolic elimination gives that pattern exactly; an entry outside it is never formed, its terms are exact
    zeros). So t_j is row j's count of interior nonzeros, plus its position in the core for core rows.
    """

    structure = "sparse"

    def __init__(self, B: sp.spmatrix, err: float = 0.0, *, plan: EliminationPlan | None = None):
        B = sp.csr_matrix(B, dtype=np.float64)
        n = B.shape[0]
        if plan is None:
            plan = elimination_plan(B)
        if len(plan.perm) != n:
            raise ValueError(f"`plan` is for n = {len(plan.perm)}, the matrix has n = {n}.")
        self.plan = plan
        self._inv = np.argsort(plan.perm)
        m, k = plan.interior, n - plan.interior
        rowcount = np.diff(plan.rp)
        terms = rowcount + np.concatenate([np.zeros(m, dtype=np.int64), np.arange(k, dtype=np.int64)])
        super().__init__(n, err, np.asarray(B.diagonal(), dtype=np.float64), terms)
        perm = plan.perm
        self._pdiag = self.diag[perm]
        P = B[perm][:, perm].tocsr()
        P.sum_duplicates()  # (duplicates are scattered below, not added)
        low = sp.tril(P, k=-1, format="csc")
        low.sort_indices()
        self._ap = low.indptr[: m + 1].astype(np.int64)
        self._ai = low.indices[: low.indptr[m]].astype(np.int64)
        self._ax = np.negative(low.data[: low.indptr[m]])  # exact
        core = sp.tril(P[m:, m:], k=-1, format="coo")  # the core block's strict lower triangle, scattered per test
        self._core = (core.row.astype(np.int64), core.col.astype(np.int64), np.negative(core.data))

    @property
    def memory(self) -> int:
        return self.plan.memory

    def proves(self, c, t):
        from ._kernels import sparse_backward, sparse_cholesky_left, sparse_forward

        plan = self.plan
        diag = self.tested_diagonal(np.asarray(c, dtype=np.float64)[plan.perm], t, self._pdiag)
        if diag is None:
            return False, None
        m, k = plan.interior, self.n - plan.interior
        lx = np.empty(len(plan.li))
        ld = np.empty(m)
        S = np.zeros((k, k))  # lower triangle: the kernel reads and writes only it
        rows, cols, vals = self._core
        S[rows, cols] = vals
        S[np.diag_indices(k)] = diag[m:]
        bad = sparse_cholesky_left(m, k, self._ap, self._ai, self._ax, diag[:m], plan.lp, plan.li, plan.rp,
                                   plan.rj, lx, ld, S)
        if bad >= 0:
            return False, None
        R = None
        if k:
            # S's lower triangle read as the upper triangle of its (Fortran-ordered) transpose
            R, info = lapack.dpotrf(S.T, lower=0, clean=0, overwrite_a=1)
            if info != 0:
                return False, None
        perm, inv = plan.perm, self._inv

        def solve(X):
            X = np.asarray(X, dtype=np.float64)
            Y = np.ascontiguousarray(X[perm].reshape(self.n, -1))
            sparse_forward(m, plan.lp, plan.li, lx, ld, Y)
            if k:
                Y[m:] = lapack.dtrtrs(R, Y[m:], lower=0, trans=1)[0]
                Y[m:] = lapack.dtrtrs(R, Y[m:], lower=0, trans=0)[0]
            sparse_backward(m, plan.lp, plan.li, lx, ld, Y)
            return Y[inv].reshape(X.shape)

        return True, solve


@dataclass(frozen=True)
class EliminationPlan:
    """A minimum-degree order for :class:`SparseRump`: ``perm`` (the ``interior`` eliminated vertices, then the
    dense core), the factor's pattern by columns (``lp``, ``li``: interior columns, rows as positions ascending)
    and by rows (``rp``, ``rj``: per position, its interior columns), the ``cap`` on eliminated degrees, and the
    estimated ``flops``, ``memory`` (bytes) and ``seconds`` (cost model of :func:`elimination_plan`) of one
    factorisation."""

    perm: np.ndarray
    interior: int
    lp: np.ndarray
    li: np.ndarray
    rp: np.ndarray
    rj: np.ndarray
    cap: int
    flops: float
    memory: int
    seconds: float

    @property
    def core(self) -> int:
        return len(self.perm) - self.interior


#: the largest degree :func:`elimination_plan` eliminates (a vertex above it joins the dense core)
ELIMINATION_CAP = 1024
#: the rates of the cost model that chooses a factorisation (flops per second on one core of this class of
#: machine): numba's scalar loops of the sparse interior, and LAPACK's blocked kernels (dense, band, core)
NUMBA_RATE, BLAS_RATE = 1.0e9, 2.0e10


def elimination_plan(A: sp.spmatrix, cap: int = ELIMINATION_CAP,
                     max_memory: float = RIGOROUS_MAX_MEMORY) -> EliminationPlan:
    """A minimum-degree plan of the sparse symmetric ``A`` for :class:`SparseRump`, with its core chosen by cost.

    Vertices are eliminated by minimum degree (fill tracked explicitly) up to degree ``cap``; the order is then
    cut where the eliminated degrees first pass 16, 32, …, ``cap``, everything after the cut forming the dense
    core, at the cut with the smallest estimated time (numba flops / :data:`NUMBA_RATE` + LAPACK flops /
    :data:`BLAS_RATE`). The elimination also stops before its lists and the factor's pattern pass ``max_memory``
    bytes (the plan's ``memory`` then shows whether its dense core fits). Minimum degree keeps the factor of
    sparse random graphs and planar graphs small where any band is nearly dense (a random graph with n = 5,000
    and 12,500 edges: a core of about 1,500 and 10⁹ flops, against 4·10¹⁰ dense; a planar graph with n = 10⁵: a
    core of about 1,500 and 1.5·10⁹ flops, against 1.3·10¹¹ in its envelope).

    Examples
    --------
    The adjacency matrix of a cycle of 100 vertices: eliminated one by one with at most 2 nonzeros per column;
    the last few rows, where LAPACK is cheaper than more sparse columns, form the core.

    >>> import numpy as np, scipy.sparse as sp
    >>> i = np.arange(100); C = sp.csr_matrix((np.ones(100), (i, (i + 1) % 100)), shape=(100, 100)); C = C + C.T
    >>> plan = elimination_plan(C)
    >>> plan.core < 10, int(np.diff(plan.lp).max())
    (True, 2)
    >>> rm = SparseRump(C, plan=plan)   # λ_max(C) = 2: proved below 2 + 1e-9, not below 2 − 1e-9
    >>> rm.proves(np.zeros(100), 2 + 1e-9)[0], rm.proves(np.zeros(100), 2 - 1e-9)[0]
    (True, False)
    """
    from ._kernels import min_degree_elimination

    if int(cap) < 1:
        raise ValueError(f"`cap` must be a positive int, got {cap!r}.")
    A = abs(sp.csr_matrix(A))
    n = A.shape[0]
    pattern = off_diagonal_pattern(A + A.T)  # (|A| + |A|ᵀ: no entry cancels)
    cap = max(1, min(int(cap), n - 1)) if n > 1 else 1
    order, colptr, rows = min_degree_elimination(pattern.indptr.astype(np.int64),
                                                       pattern.indices.astype(np.int64), n, cap, NUMBA_RATE,
                                                       BLAS_RATE, int(min(max_memory / 16.0, 2.0**62)))
    counts = np.diff(colptr)
    step = np.full(n, len(order), dtype=np.int64)  # core vertices: after every eliminated one
    step[order] = np.arange(len(order))
    row_step, col_of = step[rows], np.repeat(np.arange(len(order)), counts)
    squares = np.concatenate([[0.0], np.cumsum(counts.astype(float) ** 2)])
    best = None
    cuts = {len(order)}
    tau = 16
    while tau < cap:
        above = np.flatnonzero(counts > tau)
        cuts.add(int(above[0]) if len(above) else len(order))
        tau *= 2
    for m in sorted(cuts):
        k = n - m
        inner = col_of < m
        core_rows = np.bincount(col_of[inner], weights=row_step[inner] >= m, minlength=m)
        numba_flops = squares[m] + float(np.sum(core_rows ** 2))
        seconds = numba_flops / NUMBA_RATE + (k ** 3 / 3.0) / BLAS_RATE
        if best is None or seconds < best[0]:
            best = (seconds, m, numba_flops + k ** 3 / 3.0)
    seconds, m, flops = best
    # the core: what was not eliminated before the cut (including vertices the elimination never reached)
    left = np.ones(n, dtype=bool)
    left[order[:m]] = False
    perm = np.concatenate([order[:m], np.flatnonzero(left)]).astype(np.int64)
    pos = np.empty(n, dtype=np.int64)
    pos[perm] = np.arange(n)
    nnz = int(colptr[m])
    L = sp.csc_matrix((np.ones(nnz, dtype=np.int8), pos[rows[:nnz]], colptr[: m + 1]), shape=(n, m))
    L.sort_indices()
    R = L.tocsr()
    R.sort_indices()
    memory = int(16 * nnz + 8 * (n - m) ** 2 + 24 * pattern.nnz)
    return EliminationPlan(perm, m, L.indptr.astype(np.int64), L.indices.astype(np.int64),
                           R.indptr.astype(np.int64), R.indices.astype(np.int64), cap, flops, memory, seconds)


@dataclass(frozen=True)
class EnvelopePlan:
    """An order for :class:`EnvelopeRump`: ``perm`` (border last), ``border`` rows, the interior's half-bandwidth,
    and the estimated ``flops`` and ``memory`` (bytes) of one factorisation."""

    perm: np.ndarray
    border: int
    bandwidth: int
    flops: float
    memory: int

    @property
    def order(self) -> tuple[np.ndarray, int]:
        return self.perm, self.border

    @classmethod
    def of(cls, perm: np.ndarray, border: int, bandwidth: int) -> EnvelopePlan:
        """The plan of an order, with the flops (band m b², forward substitution 2 m b k, Schur complement m k²,
        its Cholesky k³/3) and memory (band, border rows, Schur complement) of one factorisation."""
        n, k, b = len(perm), int(border), int(bandwidth)
        m = n - k
        flops = m * (b + 1.0) ** 2 + 2.0 * m * b * k + m * k * k + k ** 3 / 3.0
        return cls(np.asarray(perm, dtype=np.int64), k, b, flops, 16 * m * (b + 1) + 16 * m * k + 16 * k * k)


def envelope_plan(A: sp.spmatrix) -> EnvelopePlan:
    """The cheapest envelope order of the sparse symmetric ``A``: its k densest rows last and reverse
    Cuthill–McKee on the rest; k = 0, powers of two and the number of rows above each degree n/2, n/4, … (rows
    of more than twice the median degree only, k ≤ n/4), chosen by the flops of one factorisation.

    A few dense rows (the constant coordinate of a lifted problem, a hub vertex, a fully connected layer between
    convolutions) would make every later row's envelope reach back to them; bordered, they cost O(n·k·b).

    Examples
    --------
    The Laplacian of a star with 6 vertices (eigenvalues 0, 1, 1, 1, 1, 6): its hub becomes the border, the rest a
    band of width 0, and the test proves λ_max ≤ 6 + 10⁻⁹ but not ≤ 6 − 10⁻⁹.

    >>> import numpy as np, scipy.sparse as sp
    >>> star = sp.lil_matrix((6, 6)); star[0, 1:] = -1; star[1:, 0] = -1; star.setdiag([5, 1, 1, 1, 1, 1])
    >>> plan = envelope_plan(star.tocsr())
    >>> plan.border, plan.bandwidth, int(plan.perm[-1])
    (1, 0, 0)
    >>> rm = EnvelopeRump(star.tocsr(), perm=plan.perm, border=plan.border)
    >>> rm.proves(np.zeros(6), 6 + 1e-9)[0], rm.proves(np.zeros(6), 6 - 1e-9)[0]
    (True, False)
    """
    from scipy.sparse.csgraph import reverse_cuthill_mckee

    A = sp.csr_matrix(A)
    n = A.shape[0]
    pattern = off_diagonal_pattern(A)
    degree = np.diff(pattern.indptr)
    by_degree = np.argsort(-degree, kind="stable")
    # border sizes: powers of two, and the number of rows above each degree n/2, n/4, … (the "cliffs": a dense
    # layer's rows all have about the same degree), down to twice the median degree; at most n/4
    floor = 2.0 * max(float(np.median(degree)), 1.0) if n else 1.0
    dense_rows = int(np.sum(degree > floor))
    sizes = {0}
    k = 1
    while k <= dense_rows:
        sizes.add(k)
        k *= 2
    tau = n / 2.0
    while tau > floor:
        sizes.add(int(np.sum(degree > tau)))
        tau /= 2.0
    sizes.add(dense_rows)
    best = None
    for k in sorted(x for x in sizes if x <= max(n // 4, 0)):
        border = np.sort(by_degree[:k])
        keep = np.setdiff1d(np.arange(n), border, assume_unique=True)
        sub = pattern[keep][:, keep]
        order = np.asarray(reverse_cuthill_mckee(sub, symmetric_mode=True), dtype=np.int64)
        perm = np.concatenate([keep[order], border])
        m = n - k
        L = sp.tril(sub[order][:, order], k=-1, format="csr")
        L.sort_indices()
        b = int(envelope(L).max(initial=0))
        plan = EnvelopePlan.of(perm, k, b)
        if best is None or plan.flops < best.flops:
            best = plan
        elif m * k * k > best.flops:
            break  # the border's own cost already exceeds the best plan's
    return best


def envelope_preferred(plan: EnvelopePlan, n: int, max_memory: float = RIGOROUS_MAX_MEMORY) -> bool:
    """Whether :func:`materialise` factors in the envelope of ``plan``: at most ¾ of the dense flops, in memory."""
    return plan.flops <= 0.25 * float(n) ** 3 and plan.memory <= max_memory


#: an envelope factorisation estimated faster than this (seconds) is kept without searching a minimum-degree
#: plan (whose search costs about as much as a few such factorisations)
ELIMINATION_WORTH = 0.05


def materialise(op, *, max_memory: float = RIGOROUS_MAX_MEMORY) -> RumpMatrix | None:
    """The cheapest :class:`RumpMatrix` of an operator within ``max_memory`` bytes (None: none fits).

    A sparse matrix (or an implicit operator with ``to_sparse() -> (S, err)``) is factored in its envelope
    (:func:`envelope_plan`) when that takes at most ¾ of the flops of the dense factorisation (n³/3; a band as
    wide as half the matrix factors slower than the dense blocked kernel), or in minimum-degree order with a
    dense core (:func:`elimination_plan`, :class:`SparseRump`) when the envelope would take more than
    :data:`ELIMINATION_WORTH` seconds and the cost model says the minimum-degree factor is faster than both;
    everything else densely (``to_dense``). An implicit operator may also provide ``sparse_plan() ->
    EnvelopePlan``, one order for all the matrices it stands for, so that the order is not searched again at
    every call.
    """
    n = op.n
    dense_memory = 16 * n * n
    obj = getattr(op, "obj", None)
    if op.kind == "sparse" or hasattr(obj, "to_sparse"):
        S, err = (op.A, 0.0) if op.kind == "sparse" else (None, 0.0)
        # an implicit operator may keep one order for all its matrices (``sparse_plan()``): no RCM per call
        plan = obj.sparse_plan() if S is None and hasattr(obj, "sparse_plan") else None
        searched = plan is None
        if searched:
            if S is None:
                S, err = obj.to_sparse()
            plan = envelope_plan(S)
        envelope_ok = envelope_preferred(plan, n, max_memory)
        # the time to beat: the envelope's, else the dense factorisation's, else none (dense does not fit either)
        dense = float(n) ** 3 / 3.0 / BLAS_RATE if dense_memory <= max_memory else np.inf
        best = plan.flops / BLAS_RATE if envelope_ok else dense
        elimination = None
        if searched and best > ELIMINATION_WORTH:
            elimination = elimination_plan(S, max_memory=max_memory)
            if elimination.memory > max_memory or elimination.seconds >= best:
                elimination = None
        if envelope_ok or elimination is not None:
            if S is None:
                S, err = obj.to_sparse()
            S = sp.csr_matrix(S)
            # only the lower triangle is read: a non-symmetric S is symmetrised from it (its error bounded as dense)
            if (abs(S - S.T) > 0).nnz:
                from ._operator import symmetrise_with_error

                B, extra = symmetrise_with_error(S.toarray())
                return DenseRump(B, up(err + extra)) if dense_memory <= max_memory else None
            if elimination is not None:
                return SparseRump(S, err, plan=elimination)
            return EnvelopeRump(S, err, perm=plan.perm, border=plan.border)
    if dense_memory > max_memory:
        return None
    B, err = op.to_dense()
    return DenseRump(B, err)
