"""The mixing method (SPEC §1.4): coordinate ascent over the rows of V on explicit entries.

The "mixing method" of Wang, Chang & Kolter (2017): each row v_i in turn is replaced by the maximiser of
M_ii ||v||² + 2<v, g_i>, g_i = Σ_{j≠i} M_ij v_j, over the unit sphere (i ∈ E) or the unit ball (i ∉ E), as
numba sweeps (:mod:`sdpsolve._kernels`) over a dense or sparse M; the rows of one colour class of the sparsity
graph do not interact and are updated at once from one BLAS product. The dual checks, the certification and
the saddle escape are the shared driver's (:mod:`sdpsolve._lowrank_driver`).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from ._kernels import (
    greedy_colouring_dense,
    mixing_block_finish,
    mixing_sweep_csr,
    mixing_sweep_dense,
    project_rows,
    update_rows_from,
)
from ._lowrank_driver import Ascent, run_lowrank
from ._method import MethodOutput, Problem
from ._monitor import Settings


class MixingAscent(Ascent):
    """Mixing sweeps on explicit entries.

    The rows are split by a greedy colouring of the sparsity graph of M: rows of one colour do not interact,
    so a large colour class is updated at once from one BLAS product M[C, :] @ V (the same result as visiting
    its rows one by one). Small classes and matrices without such structure use the numba row sweep.
    """

    default_sweeps_per_check = 10
    min_block = 32
    #: rows per BLAS product in the sweep over a dense matrix without colour structure
    row_block = 64

    def __init__(self, problem, settings):
        super().__init__(problem, settings)
        op = problem.op
        n = problem.n
        self.eq = np.ascontiguousarray(problem.mask)
        self.order = np.arange(n, dtype=np.int64)
        self._count, self._prev, self._beta, self._last = 0, None, 2.0, None
        if op.kind == "sparse":
            A = sp.csr_matrix(op.A)
            self.csr = (A.indptr.astype(np.int64), A.indices.astype(np.int64), A.data, op.diagonal())
            self.blocks = None
            return
        A = np.ascontiguousarray(op.A if op.kind == "dense" else op.to_dense()[0])
        self.A = A
        self.diag = np.diag(A).copy()
        self.blocks = None
        if n >= 2 * self.min_block:
            colours = greedy_colouring_dense(A)
            classes = [np.flatnonzero(colours == k) for k in range(int(colours.max()) + 1)]
            big = [c for c in classes if c.size >= self.min_block]
            covered = sum(c.size for c in big)
            if covered >= 0.9 * n:
                small = np.sort(np.concatenate([c for c in classes if c.size < self.min_block] or [np.empty(0, int)]))
                # keep only the columns a class touches outside itself (a class has no entries among its own
                # rows except the diagonal, which the row update takes from ``diag``): for a bipartite
                # certificate matrix each block is one off-diagonal block, half of the matrix
                self.blocks = []
                for cls in big:
                    rows = A[cls, :]
                    own = np.zeros(n, dtype=bool)
                    own[cls] = True
                    cols = np.flatnonzero(np.any(rows != 0, axis=0) & ~own)
                    self.blocks.append((cls, cols, np.ascontiguousarray(rows[:, cols])))
                self.rest = small.astype(np.int64)

    def sweep_flops(self, r: int) -> float:
        """Floating-point operations of one sweep at rank r (also of one product M·X with r columns)."""
        if self.blocks is not None:
            work = sum(rows.size * cols.size for rows, cols, _ in self.blocks) + self.rest.size * self.problem.n
        elif hasattr(self, "A"):
            work = self.problem.n**2
        else:
            work = self.csr[1].size
        return 2.0 * r * float(work)

    def product(self, X: np.ndarray) -> np.ndarray:
        """M @ X from the colour blocks (only the nonzero off-diagonal blocks are read); counted in the operator."""
        op = self.problem.op
        if self.blocks is None:
            return op.matmat(X)
        Y = self.diag[:, None] * X
        for rows, cols, Arows in self.blocks:
            Y[rows] += Arows @ X[cols]
        if self.rest.size:
            Y[self.rest] = self.A[self.rest] @ X
        op.n_matvec += X.shape[1]
        return Y

    def run(self, V, k):
        """k sweeps; every ``extrapolation``-th one is applied to an extrapolated point (:meth:`_extrapolate`)."""
        every = int(self.settings.options.get("extrapolation", 10)) if self.settings is not None else 0
        for _ in range(k):
            self._count += 1
            if every and self._count % every == 0:
                V = self._extrapolate(V)
            else:
                self._sweep(V)
        return V

    def _extrapolate(self, V):
        """One sweep at W = proj(V + β (V − V_prev)), V_prev the point of the previous extrapolation.

        Kept only if the objective after the sweep exceeds the objective at V (a safeguard: the iteration stays
        monotone); β grows by 1.5 after a success (up to 10) and halves after a failure (down to 0.5). Costs
        up to two products besides the sweep (none for two colour classes); the mixing iteration's slow
        linear tail typically needs about half as many sweeps.
        """
        prev = self._prev
        if prev is None or prev.shape != V.shape:
            self._sweep(V)
            self._prev = V.copy()
            return V
        f_old = self._value(V, self._last)
        W = V + self._beta * (V - prev)
        project_rows(W, self.eq)
        if self._value(W, self._sweep(W)) > f_old:
            self._beta = min(1.5 * self._beta, 10.0)
            V = W
        else:
            self._beta = max(0.5 * self._beta, 0.5)
            self._last = f_old
        self._prev = V.copy()
        return V

    def _value(self, V, known):
        """tr(Vᵀ M V): ``known`` when the sweep that produced V could give it, else one product."""
        return known if known is not None else float(np.einsum("ij,ij->", self.product(V), V))

    def _sweep(self, V):
        """One mixing sweep over all rows, in place. Returns tr(Vᵀ M V) when it comes for free, else None.

        (Two colour classes C1, C2 covering all rows: the products of the C2 update give
        tr(VᵀMV) = Σ_i M_ii ||v_i||² + 2 Σ_{i∈C2} <v_i, (M V)_i − M_ii v_i>.)
        """
        self._last = None
        if self.blocks is not None:
            for rows, cols, Arows in self.blocks:
                G = Arows @ V[cols]
                update_rows_from(V, rows, G, self.diag, self.eq)
            if self.rest.size:
                mixing_sweep_dense(self.A, V, self.eq, self.rest)
            elif len(self.blocks) == 2:
                diag_part = np.einsum("ij,ij,i->", V, V, self.diag)
                self._last = float(diag_part + 2.0 * np.einsum("ij,ij->", V[rows], G))
        elif hasattr(self, "A"):
            # rows in blocks: one BLAS product per block, the in-block dependencies in numba
            A, b = self.A, self.row_block
            for s0 in range(0, A.shape[0], b):
                mixing_block_finish(A, V, self.eq, s0, A[s0 : s0 + b] @ V)
        else:
            mixing_sweep_csr(*self.csr, V, self.eq, self.order)
        # a sweep reads every entry once: count it as V.shape[1] products (the work of M @ V)
        self.problem.op.n_matvec += V.shape[1]
        return self._last


def mixing(problem: Problem, settings: Settings) -> MethodOutput:
    """Coordinate ascent on explicit entries (numba sweeps; colour classes as BLAS blocks)."""
    return run_lowrank(problem, settings, MixingAscent)
