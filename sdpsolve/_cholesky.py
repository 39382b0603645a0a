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

The tested matrix has the exact off-diagonal entries −B_ij and the diagonal (t − B_jj + c_j) − s rounded
downwards (an upward-rounded copy of t − B_jj + c_j enters the shift), so it is ⪯ the exact tI − B + diag c − sI.
"""

from __future__ import annotations

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
        "dense" or "envelope".
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
    """B sparse, permuted by reverse Cuthill–McKee, factored as a band of half-width max_j t_j (LAPACK ``dpbtrf``).

    The shift uses each row's own envelope length t_j (module docstring), not the band width.
    """

    structure = "envelope"

    def __init__(self, B: sp.spmatrix, err: float = 0.0, *, perm: np.ndarray | None = None):
        from scipy.sparse.csgraph import reverse_cuthill_mckee

        B = sp.csr_matrix(B, dtype=np.float64)
        n = B.shape[0]
        if perm is None:
            perm = np.asarray(reverse_cuthill_mckee(B, symmetric_mode=True), dtype=np.int64)
        self.perm = perm
        P = B[perm][:, perm].tocsr()
        L = sp.tril(P, k=-1, format="csr")
        L.eliminate_zeros()
        L.sort_indices()
        terms = envelope(L)
        super().__init__(n, err, np.asarray(B.diagonal(), dtype=np.float64), terms)
        self._pdiag = self.diag[perm]
        self.bandwidth = int(terms.max(initial=0))
        # lower band storage: ab[i − j, j] = A[i, j] for j ≤ i ≤ j + b; off-diagonal entries of A are −B (exact)
        coo = L.tocoo()
        self._band = np.zeros((self.bandwidth + 1, n), order="F")
        self._band[coo.row - coo.col, coo.col] = -coo.data

    @property
    def memory(self) -> int:
        return 16 * self.n * (self.bandwidth + 1)

    def proves(self, c, t):
        diag = self.tested_diagonal(np.asarray(c, dtype=np.float64)[self.perm], t, self._pdiag)
        if diag is None:
            return False, None
        ab = self._band.copy(order="F")
        ab[0] = diag
        cb, info = lapack.dpbtrf(ab, lower=1, overwrite_ab=1)
        if info != 0:
            return False, None
        perm, inv = self.perm, np.argsort(self.perm)

        def solve(X):
            X = np.asarray(X, dtype=np.float64)
            Y, _ = lapack.dpbtrs(cb, X[perm], lower=1)
            return Y[inv]

        return True, solve


def envelope_memory(A: sp.spmatrix) -> tuple[int, np.ndarray]:
    """(bytes of an envelope factorisation of the sparse ``A`` under reverse Cuthill–McKee, the order)."""
    from scipy.sparse.csgraph import reverse_cuthill_mckee

    A = sp.csr_matrix(A)
    perm = np.asarray(reverse_cuthill_mckee(A, symmetric_mode=True), dtype=np.int64)
    L = sp.tril(A[perm][:, perm], k=-1, format="csr")
    L.eliminate_zeros()
    L.sort_indices()
    b = int(envelope(L).max(initial=0))
    return 16 * A.shape[0] * (b + 1), perm


def materialise(op, *, max_memory: float = RIGOROUS_MAX_MEMORY) -> RumpMatrix | None:
    """The cheapest :class:`RumpMatrix` of an operator within ``max_memory`` bytes (None: none fits).

    A sparse matrix (or an implicit operator with ``to_sparse() -> (S, err)``) is factored in its envelope when
    that takes at most half the memory of the dense matrix; everything else densely (``to_dense``).
    """
    n = op.n
    dense_memory = 16 * n * n
    sparse = None
    if op.kind == "sparse":
        sparse = (op.A, 0.0)
    elif hasattr(getattr(op, "obj", None), "to_sparse"):
        sparse = op.obj.to_sparse()
    if sparse is not None:
        S, err = sparse
        mem, perm = envelope_memory(S)
        # a band as wide as half the matrix factors slower than the dense blocked kernel: keep dense then
        if 2 * mem <= dense_memory and mem <= max_memory:
            S = sp.csr_matrix(S)
            # only the lower triangle is read: a non-symmetric S is symmetrised from it (its error bounded as dense)
            if (abs(S - S.T) > 0).nnz:
                from ._operator import symmetrise_with_error

                B, extra = symmetrise_with_error(S.toarray())
                return DenseRump(B, up(err + extra)) if dense_memory <= max_memory else None
            return EnvelopeRump(S, err, perm=perm)
    if dense_memory > max_memory:
        return None
    B, err = op.to_dense()
    return DenseRump(B, err)
