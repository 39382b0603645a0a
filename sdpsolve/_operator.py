"""The operator layer: every supported form of M behind one interface that counts its products.

Accepted inputs (SPEC §2): a numpy array, a scipy.sparse matrix, a ``scipy.sparse.linalg.LinearOperator``,
a torch tensor (any device), or any object with ``.shape`` and ``matvec``/``matmat``.  Symmetry is the
caller's promise; :func:`check_symmetric` and :func:`check_matches_dense` test it.

The SDP only sees the symmetric part of M (<M, P> = <(M + Mᵀ)/2, P> for symmetric P), so a tiny
asymmetry of an explicit matrix changes nothing; it is accounted for in :meth:`Operator.to_dense`.
"""

from __future__ import annotations

import math
from numbers import Integral

import numpy as np
import scipy.sparse as sp

from ._errors import OperatorError
from ._validation import as_rng
from .rounding import up

#: relative asymmetry above which an explicit M is rejected
SYMMETRY_RTOL = 1e-10


class Operator:
    """A symmetric n×n operator with counted products.

    Attributes
    ----------
    n : int
        Size.
    kind : {"dense", "sparse", "implicit"}
        Whether explicit entries are available (``dense``/``sparse``) or only products.
    n_matvec : int
        Number of matrix–vector products so far (a product with an n×k block counts k).
    """

    kind = "implicit"

    def __init__(self, n: int):
        self.n = int(n)
        self.shape = (self.n, self.n)
        self.n_matvec = 0
        self._dense = None

    # -- products ---------------------------------------------------------------------------------------
    def _matmat(self, X: np.ndarray) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def matmat(self, X: np.ndarray) -> np.ndarray:
        """M @ X for an (n, k) float64 block (a 1-d vector is accepted and returned as 1-d)."""
        X = np.asarray(X, dtype=np.float64)
        vec = X.ndim == 1
        if vec:
            X = X[:, None]
        if X.shape[0] != self.n:
            raise ValueError(f"operand must have {self.n} rows, got shape {X.shape}.")
        Y = self._matmat(X)
        self.n_matvec += X.shape[1]
        return Y[:, 0] if vec else Y

    matvec = matmat

    def __matmul__(self, X):
        return self.matmat(X)

    # -- explicit information -----------------------------------------------------------------------------
    def diagonal(self) -> np.ndarray:
        """The diagonal of M (from explicit entries, or n unit products for an implicit operator)."""
        B, _ = self.to_dense()
        return np.diag(B).copy()

    def to_dense(self) -> tuple[np.ndarray, float]:
        """Return ``(B, err)``: a symmetric float64 array B and ``err >= ||sym(M) - B||_2``.

        For an implicit operator without an exact ``to_dense`` the matrix is *defined* as the operator's
        products with the identity, as computed; only the symmetrisation is accounted for in ``err``.
        Computed once per operator (the method and the final bound share it); treat B as read-only.
        """
        if self._dense is None:
            self._dense = self._to_dense()
        return self._dense

    def _to_dense(self) -> tuple[np.ndarray, float]:
        return symmetrise_with_error(self._raw_dense())

    def _raw_dense(self) -> np.ndarray:
        out = np.empty((self.n, self.n))
        block = 256
        for start in range(0, self.n, block):
            stop = min(start + block, self.n)
            E = np.zeros((self.n, stop - start))
            E[np.arange(start, stop), np.arange(stop - start)] = 1.0
            out[:, start:stop] = self.matmat(E)
        return out

    def norm_bound(self) -> float | None:
        """A proved upper bound on ||M||_2, or None when none is available without materialising M."""
        return None


def _symmetric(A: np.ndarray) -> bool:
    """Exact symmetry of a square float array (numba kernel for float64, numpy otherwise)."""
    if A.dtype == np.float64 and A.ndim == 2:
        from ._kernels import is_exactly_symmetric

        return bool(is_exactly_symmetric(A))
    return bool(np.array_equal(A, A.T))


def symmetrise_with_error(raw: np.ndarray) -> tuple[np.ndarray, float]:
    """Symmetric B from the lower triangle of ``raw`` and a bound on ||sym(raw) - B||_2 (Frobenius, rounded up).

    An exactly symmetric ``raw`` is returned as it is (no copy).
    """
    if _symmetric(raw):
        return raw, 0.0
    B = np.tril(raw) + np.tril(raw, -1).T
    diff = raw - raw.T
    if not np.any(diff):
        return B, 0.0
    # sym(raw) - B = (upper(raw) - lower(raw)ᵀ)/2 mirrored: its Frobenius norm is ||raw - rawᵀ||_F / 2.
    fro = float(np.linalg.norm(diff)) * 0.5
    return B, up(fro * (1.0 + 1e-12) + 1e-300)


class DenseOperator(Operator):
    kind = "dense"

    def __init__(self, A: np.ndarray):
        super().__init__(A.shape[0])
        self.A = A

    def _matmat(self, X):
        return self.A @ X

    def diagonal(self):
        return np.diag(self.A).copy()

    def _to_dense(self):
        return symmetrise_with_error(self.A)

    def norm_bound(self):
        # ||A||_2 <= ||A||_F; the float sum of squares is inflated to cover its rounding.
        fro2 = float(np.einsum("ij,ij->", self.A, self.A))
        return up(math.sqrt(fro2 * (1.0 + 4e-16 * self.n * self.n)) * (1 + 1e-15))


class SparseOperator(Operator):
    kind = "sparse"

    def __init__(self, A: sp.csr_matrix):
        super().__init__(A.shape[0])
        self.A = A

    def _matmat(self, X):
        return np.asarray(self.A @ X)

    def diagonal(self):
        return np.asarray(self.A.diagonal(), dtype=np.float64)

    def _to_dense(self):
        return symmetrise_with_error(self.A.toarray())

    def norm_bound(self):
        # Gershgorin / max absolute row sum (valid for symmetric A), inflated for the rounding of the sums.
        absA = abs(self.A)
        rows = np.asarray(absA.sum(axis=1)).ravel()
        maxlen = int(np.max(np.diff(self.A.indptr))) if self.n else 0
        bound = float(rows.max(initial=0.0)) * (1.0 + 2.3e-16 * (maxlen + 2))
        return up(bound)


class CallableOperator(Operator):
    """Wraps a LinearOperator or any object with ``shape`` and ``matvec``/``matmat``."""

    def __init__(self, obj, n: int):
        super().__init__(n)
        self.obj = obj
        self._has_matmat = callable(getattr(obj, "matmat", None))

    def _matmat(self, X):
        if self._has_matmat:
            Y = self.obj.matmat(X)
        else:
            Y = np.column_stack([np.asarray(self.obj.matvec(X[:, j])).reshape(-1) for j in range(X.shape[1])])
        Y = _as_numpy(Y)
        if Y.ndim == 1 and X.shape[1] == 1:
            Y = Y[:, None]
        if Y.shape != X.shape:
            raise OperatorError(
                f"`M` product has the wrong shape: M @ X with X of shape {X.shape} returned shape {Y.shape}."
            )
        if not np.all(np.isfinite(Y)):
            raise OperatorError("`M` product returned NaN or inf entries.")
        return Y

    def _to_dense(self):
        exact = getattr(self.obj, "to_dense", None)
        if callable(exact):
            out = exact()
            if isinstance(out, tuple):
                B, err = out
                B = np.asarray(B, dtype=np.float64)
                Bs, serr = symmetrise_with_error(B)
                return Bs, up(float(err) + serr)
            return symmetrise_with_error(np.asarray(out, dtype=np.float64))
        return symmetrise_with_error(self._raw_dense())

    def diagonal(self):
        diag = getattr(self.obj, "diagonal", None)
        if callable(diag):
            return np.asarray(diag(), dtype=np.float64)
        return super().diagonal()

    def norm_bound(self):
        nb = getattr(self.obj, "norm_bound", None)
        if callable(nb):
            nb = nb()
        return None if nb is None else float(nb)


class TorchOperator(Operator):
    """A dense torch tensor kept on its device (e.g. CUDA); products in float64 there."""

    def __init__(self, T):
        super().__init__(T.shape[0])
        import torch

        self.T = T.to(torch.float64)
        self.device = self.T.device

    def _matmat(self, X):
        import torch

        Y = self.T @ torch.as_tensor(X, device=self.device)
        return Y.cpu().numpy()

    def diagonal(self):
        return self.T.diagonal().cpu().numpy().copy()

    def _to_dense(self):
        return symmetrise_with_error(self.T.cpu().numpy())

    def norm_bound(self):
        return DenseOperator(self.T.cpu().numpy()).norm_bound()


def _as_numpy(Y):
    if hasattr(Y, "detach") and hasattr(Y, "cpu"):
        Y = Y.detach().cpu().numpy()
    Y = np.asarray(Y)
    if np.iscomplexobj(Y):
        raise OperatorError("`M` product returned complex values; M must be a real symmetric operator.")
    return np.asarray(Y, dtype=np.float64)


def _check_explicit(A, name: str = "M") -> bool:
    """Raise unless A is square, finite and symmetric up to SYMMETRY_RTOL; return whether it is exactly symmetric."""
    if A.ndim != 2 or A.shape[0] != A.shape[1]:
        raise ValueError(f"`{name}` must be a square matrix, got shape {A.shape}.")
    if A.shape[0] == 0:
        raise ValueError(f"`{name}` must have at least one row, got shape {A.shape}.")
    data = A.data if sp.issparse(A) else A
    if not np.all(np.isfinite(data)):
        raise ValueError(f"`{name}` must have finite entries; it has {int(np.sum(~np.isfinite(data)))} NaN/inf.")
    if not sp.issparse(A) and _symmetric(A):
        return True
    scale = float(np.max(np.abs(data), initial=0.0))
    asym = A - A.T
    asym = float(abs(asym).max()) if sp.issparse(A) else float(np.max(np.abs(asym), initial=0.0))
    if asym > SYMMETRY_RTOL * max(scale, np.finfo(float).tiny):
        raise ValueError(
            f"`{name}` must be symmetric: max |M - Mᵀ| = {asym:.3g} exceeds {SYMMETRY_RTOL:g} × max |M| = "
            f"{SYMMETRY_RTOL * scale:.3g}."
        )
    return False


def as_operator(M, *, check: bool = True) -> Operator:
    """Wrap any supported form of M as an :class:`Operator` (idempotent).

    With ``check=True`` explicit matrices are checked for squareness, finiteness and symmetry, and implicit
    ones for a square ``shape`` and a randomized symmetry test (:func:`check_symmetric`).
    """
    if isinstance(M, Operator):
        return M
    if isinstance(M, np.ndarray) or isinstance(M, (list, tuple)):
        A = np.asarray(M)
        if not (np.issubdtype(A.dtype, np.number) or A.dtype == bool) or np.iscomplexobj(A):
            raise TypeError(f"`M` must be a real numeric array, got dtype {A.dtype}.")
        A = np.ascontiguousarray(A, dtype=np.float64)
        if check:
            if _check_explicit(A):
                op = DenseOperator(A)
                op._dense = (A, 0.0)  # exactly symmetric: it is its own materialisation (no second check)
                return op
        return DenseOperator(A)
    if sp.issparse(M):
        if np.iscomplexobj(M.data):
            raise TypeError("`M` must be real, got a complex sparse matrix.")
        A = sp.csr_matrix(M, dtype=np.float64)
        A.sum_duplicates()
        if check:
            _check_explicit(A)
        return SparseOperator(A)
    if type(M).__module__.startswith("torch") and hasattr(M, "is_cuda"):
        if M.is_complex():
            raise TypeError("`M` must be real, got a complex torch tensor.")
        if M.ndim != 2 or M.shape[0] != M.shape[1]:
            raise ValueError(f"`M` must be a square matrix, got shape {tuple(M.shape)}.")
        if M.device.type == "cpu":
            return as_operator(M.detach().to(dtype=M.dtype).numpy(), check=check)
        op = TorchOperator(M.detach())
        if check:
            _check_explicit(op.T.cpu().numpy())
        return op
    shape = getattr(M, "shape", None)
    if shape is None or not (callable(getattr(M, "matvec", None)) or callable(getattr(M, "matmat", None))):
        raise TypeError(
            "`M` must be a numpy array, a scipy sparse matrix, a LinearOperator, a torch tensor or an object "
            f"with `shape` and `matvec`/`matmat`; got {type(M).__name__}."
        )
    shape = tuple(shape)
    if len(shape) != 2 or shape[0] != shape[1] or not isinstance(shape[0], Integral) or shape[0] < 1:
        raise ValueError(f"`M` must be square with a positive size, got shape {shape}.")
    op = CallableOperator(M, shape[0])
    if check:
        check_symmetric(op, trials=1)
        op.n_matvec = 0
    return op


def check_symmetric(M, *, rtol: float = 1e-8, trials: int = 3, rng=None) -> float:
    """Randomized symmetry test: max over trials of |xᵀMy − yᵀMx| / (||x|| ||My|| + ||y|| ||Mx||).

    Raises ``ValueError`` when the measured value exceeds ``rtol``; returns it otherwise.
    Costs ``2 * trials`` products.
    """
    op = M if isinstance(M, Operator) else as_operator(M, check=False)
    gen = as_rng(rng)
    worst = 0.0
    for _ in range(trials):
        X = gen.standard_normal((op.n, 2))
        Y = op.matmat(X)
        x, y, Mx, My = X[:, 0], X[:, 1], Y[:, 0], Y[:, 1]
        scale = np.linalg.norm(x) * np.linalg.norm(My) + np.linalg.norm(y) * np.linalg.norm(Mx)
        err = abs(x @ My - y @ Mx) / scale if scale > 0 else 0.0
        worst = max(worst, float(err))
    if worst > rtol:
        raise ValueError(
            f"`M` must be symmetric: randomized test gives |xᵀMy - yᵀMx| / scale = {worst:.3g} > rtol = {rtol:g}."
        )
    return worst


def check_matches_dense(M, dense, *, rtol: float = 1e-10, rng=None) -> float:
    """Check that the products of M equal those of the explicit ``dense`` matrix (relative error <= rtol).

    Compares M @ X with dense @ X on a random block and on the identity columns of a few coordinates;
    raises ``AssertionError`` with both numbers when they differ, returns the relative error otherwise.
    """
    op = M if isinstance(M, Operator) else as_operator(M, check=False)
    D = np.asarray(dense, dtype=np.float64)
    if D.shape != (op.n, op.n):
        raise ValueError(f"`dense` must have shape {(op.n, op.n)}, got {D.shape}.")
    gen = as_rng(rng)
    X = gen.standard_normal((op.n, 3))
    Y, Z = op.matmat(X), D @ X
    err = float(np.linalg.norm(Y - Z) / max(np.linalg.norm(Z), np.finfo(float).tiny))
    if err > rtol:
        raise AssertionError(f"implicit product differs from the dense matrix: relative error {err:.3g} > {rtol:g}")
    return err
