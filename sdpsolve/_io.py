"""Reading problems of the form (P) from files, and writing G-set graphs.

Formats understood by :func:`load_problem`:

* ``.npy`` — a dense square array (``numpy.save``).
* ``.npz`` — either ``scipy.sparse.save_npz`` output, or a plain ``numpy.savez`` archive holding the matrix
  as ``M`` (dense) and optionally ``equal`` (indices, a boolean mask, or the string "all"/"none").
* ``.mtx`` — Matrix Market (``scipy.io.mmread``); symmetric storage is expanded to the full matrix.
* G-set MAXCUT edge lists (extension ``.txt``, ``.gset`` or none; recognised by content): a first line
  ``n m`` and then m lines ``i j w`` with 1-based vertices. The problem is L/4 with E = all vertices, where
  L = D − W is the weighted Laplacian, so that (P) is the Goemans–Williamson relaxation of
  max_x Σ_{ij∈edges} w_ij (1 − x_i x_j)/2 over x ∈ {±1}ⁿ. Repeated edges add their weights; self-loops
  contribute nothing (they never cross a cut). Blank lines and lines starting with ``#`` or ``%`` are skipped.

Files without a recognised extension are identified by their first bytes (numpy magic, zip, Matrix Market
banner, otherwise a G-set edge list).
"""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

import numpy as np
import scipy.io
import scipy.sparse as sp

#: relative asymmetry tolerated in a loaded matrix (the solver's own check uses the same threshold)
_SYMMETRY_RTOL = 1e-10
_GSET_SUFFIXES = ("", ".txt", ".gset")
_NPZ_SPARSE_KEYS = {"format", "shape", "data"}


def load_problem(path) -> tuple[np.ndarray | sp.csr_matrix, None | str | np.ndarray]:
    """Read a matrix M and the set E of (P) from a file.

    Parameters
    ----------
    path : str or os.PathLike
        A ``.npy``, ``.npz``, ``.mtx`` or G-set file (see the module docstring).

    Returns
    -------
    M : numpy.ndarray or scipy.sparse.csr_matrix
        Square, real, finite and symmetric, float64 (dense for ``.npy`` and plain ``.npz``, CSR otherwise).
    equal : None, "all", "none" or numpy.ndarray
        "all" for G-set files; for a plain ``.npz`` its ``equal`` entry if present; None otherwise.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    ValueError
        If the file cannot be parsed or does not describe a square, finite, symmetric real matrix; the message
        names the file (and the line, for text formats).

    Examples
    --------
    >>> import tempfile, os
    >>> d = tempfile.mkdtemp()
    >>> f = os.path.join(d, "triangle.txt")
    >>> write_gset(f, 3, [(0, 1, 1.0), (1, 2, 1.0), (0, 2, 1.0)])
    >>> M, equal = load_problem(f)
    >>> M.toarray()[0], equal
    (array([ 0.5 , -0.25, -0.25]), 'all')
    """
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"`path` must be a str or os.PathLike, got {type(path).__name__}.")
    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(f"{p}: no such file.")
    if p.is_dir():
        raise ValueError(f"{p}: is a directory, not a problem file.")
    fmt = _detect_format(p)
    if fmt == "npy":
        M, equal = _load_npy(p), None
    elif fmt == "npz":
        M, equal = _load_npz(p)
    elif fmt == "mtx":
        M, equal = _load_mtx(p), None
    else:
        M, equal = _load_gset(p), "all"
    _check_matrix(M, p)
    return M, equal


def _detect_format(p: Path) -> str:
    suffix = p.suffix.lower()
    if suffix == ".npy":
        return "npy"
    if suffix == ".npz":
        return "npz"
    if suffix == ".mtx":
        return "mtx"
    with open(p, "rb") as f:
        head = f.read(16)
    if head.startswith(b"\x93NUMPY"):
        return "npy"
    if head.startswith(b"PK"):
        return "npz"
    if head.startswith(b"%%MatrixMarket"):
        return "mtx"
    if suffix in _GSET_SUFFIXES:
        return "gset"
    raise ValueError(
        f"{p}: unknown problem file type {suffix!r}; expected .npy, .npz, .mtx, or a G-set edge list "
        "(.txt, .gset or no extension)."
    )


def _load_npy(p: Path) -> np.ndarray:
    try:
        A = np.load(p, allow_pickle=False)
    except (ValueError, OSError, EOFError) as exc:
        raise ValueError(f"{p}: not a readable .npy array ({exc}).") from exc
    return _as_float_array(A, p)


def _as_float_array(A, p: Path, what: str = "array") -> np.ndarray:
    A = np.asarray(A)
    if A.dtype == object or not (np.issubdtype(A.dtype, np.number) or A.dtype == bool):
        raise ValueError(f"{p}: the {what} must be numeric, got dtype {A.dtype}.")
    if np.iscomplexobj(A):
        raise ValueError(f"{p}: the {what} must be real, got dtype {A.dtype}.")
    return np.asarray(A, dtype=np.float64)


def _load_npz(p: Path):
    try:
        with np.load(p, allow_pickle=False) as z:
            keys = set(z.files)
            if _NPZ_SPARSE_KEYS <= keys:
                return sp.csr_matrix(sp.load_npz(p), dtype=np.float64), None
            if "M" not in keys:
                raise ValueError(
                    f"{p}: a plain .npz must hold the matrix under the key 'M' (and optionally 'equal'); "
                    f"found keys {sorted(keys)}."
                )
            extra = keys - {"M", "equal"}
            if extra:
                raise ValueError(f"{p}: unexpected keys {sorted(extra)} (allowed: 'M', 'equal').")
            M = _as_float_array(z["M"], p, "array 'M'")
            equal = _npz_equal(z["equal"], p) if "equal" in keys else None
    except (zipfile.BadZipFile, OSError, EOFError, KeyError) as exc:
        raise ValueError(f"{p}: not a readable .npz archive ({exc}).") from exc
    return M, equal


def _npz_equal(e: np.ndarray, p: Path):
    if e.dtype.kind in "US":
        s = str(e)
        if e.ndim != 0 or s not in ("all", "none"):
            raise ValueError(f"{p}: 'equal' must be 'all', 'none', indices or a boolean mask, got {e!r}.")
        return s
    if e.dtype == bool or np.issubdtype(e.dtype, np.integer):
        if e.ndim != 1:
            raise ValueError(f"{p}: 'equal' must be one-dimensional, got shape {e.shape}.")
        return e
    raise ValueError(
        f"{p}: 'equal' must be 'all', 'none', integer indices or a boolean mask, got dtype {e.dtype}."
    )


def _load_mtx(p: Path) -> sp.csr_matrix:
    try:
        with open(p, "rb") as f:
            A = scipy.io.mmread(f)
    except (ValueError, OSError, EOFError, IndexError, TypeError) as exc:
        raise ValueError(f"{p}: not a valid Matrix Market file ({exc}).") from exc
    if sp.issparse(A):
        if np.iscomplexobj(A.data):
            raise ValueError(f"{p}: the matrix must be real, got a complex Matrix Market file.")
        return sp.csr_matrix(A, dtype=np.float64)
    return sp.csr_matrix(_as_float_array(A, p, "matrix"))


def _load_gset(p: Path) -> sp.csr_matrix:
    try:
        text = p.read_text(encoding="ascii")
    except UnicodeDecodeError as exc:
        raise ValueError(f"{p}: not a G-set edge list (non-ASCII byte at offset {exc.start}).") from exc
    header = None
    rows: list[int] = []
    cols: list[int] = []
    weights: list[float] = []
    n = m = 0
    for lineno, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line[0] in "#%":
            continue
        fields = line.split()
        if header is None:
            if len(fields) != 2:
                raise ValueError(
                    f"{p}, line {lineno}: a G-set file starts with 'n m' (vertex, edge counts), got {line!r}."
                )
            n, m = (_parse_int(f, p, lineno, name) for f, name in zip(fields, ("n", "m")))
            if n < 1 or m < 0:
                raise ValueError(f"{p}, line {lineno}: need n >= 1 and m >= 0, got n = {n}, m = {m}.")
            header = lineno
            continue
        if len(weights) == m:
            raise ValueError(
                f"{p}, line {lineno}: more edge lines than the m = {m} announced on line {header}."
            )
        if len(fields) != 3:
            raise ValueError(f"{p}, line {lineno}: an edge line must be 'i j w', got {line!r}.")
        i = _parse_int(fields[0], p, lineno, "i")
        j = _parse_int(fields[1], p, lineno, "j")
        try:
            w = float(fields[2])
        except ValueError:
            raise ValueError(f"{p}, line {lineno}: the weight must be a number, got {fields[2]!r}.") from None
        if not np.isfinite(w):
            raise ValueError(f"{p}, line {lineno}: the weight must be finite, got {fields[2]!r}.")
        for name, v in (("i", i), ("j", j)):
            if not 1 <= v <= n:
                raise ValueError(
                    f"{p}, line {lineno}: vertex {name} = {v} is outside 1..{n} (vertices are 1-based)."
                )
        rows.append(i - 1)
        cols.append(j - 1)
        weights.append(w)
    if header is None:
        raise ValueError(f"{p}: empty file; a G-set file starts with a line 'n m'.")
    if len(weights) != m:
        raise ValueError(
            f"{p}: the header announces m = {m} edges but the file has {len(weights)} edge lines."
        )
    return gset_matrix(
        n, np.asarray(rows, dtype=np.int64), np.asarray(cols, dtype=np.int64), np.asarray(weights)
    )


def _parse_int(s: str, p: Path, lineno: int, name: str) -> int:
    try:
        return int(s)
    except ValueError:
        raise ValueError(f"{p}, line {lineno}: `{name}` must be an integer, got {s!r}.") from None


def gset_matrix(n: int, i: np.ndarray, j: np.ndarray, w: np.ndarray) -> sp.csr_matrix:
    """L/4 for the weighted graph with edges (i_k, j_k, w_k) (0-based), L = D − W the Laplacian.

    Repeated edges add up; self-loops contribute nothing.

    Examples
    --------
    >>> gset_matrix(2, np.array([0]), np.array([1]), np.array([2.0])).toarray()
    array([[ 0.5, -0.5],
           [-0.5,  0.5]])
    """
    i = np.asarray(i, dtype=np.int64)
    j = np.asarray(j, dtype=np.int64)
    w = np.asarray(w, dtype=np.float64)
    keep = i != j
    i, j, w = i[keep], j[keep], w[keep]
    W = sp.coo_matrix(
        (np.concatenate([w, w]), (np.concatenate([i, j]), np.concatenate([j, i]))), shape=(n, n)
    )
    W = W.tocsr()
    W.sum_duplicates()
    L = sp.diags(np.asarray(W.sum(axis=1)).ravel()) - W
    return sp.csr_matrix(L * 0.25)


def write_gset(path, n: int, edges) -> None:
    """Write a graph as a G-set edge list (``n m`` then ``i j w``, 1-based) readable by :func:`load_problem`.

    Parameters
    ----------
    path : str or os.PathLike
        Destination (overwritten).
    n : int
        Number of vertices (≥ 1).
    edges : array_like, shape (m, 3)
        Rows (i, j, w) with **0-based** vertices 0 ≤ i, j < n and finite weights w. Weights that are all
        integers are written as integers, others with 17 significant digits (exact round trip).
    """
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"`n` must be an integer >= 1, got {n!r}.")
    E = np.asarray(edges, dtype=np.float64)
    if E.size == 0:
        E = E.reshape(0, 3)
    if E.ndim != 2 or E.shape[1] != 3:
        raise ValueError(f"`edges` must have shape (m, 3) with rows (i, j, w), got shape {E.shape}.")
    ij = E[:, :2]
    if np.any(ij != np.round(ij)) or np.any(ij < 0) or np.any(ij >= n):
        raise ValueError(f"`edges` vertices must be integers in [0, {n - 1}] (0-based).")
    w = E[:, 2]
    if not np.all(np.isfinite(w)):
        raise ValueError("`edges` weights must be finite.")
    ij = ij.astype(np.int64) + 1
    integral = bool(np.all(w == np.round(w))) and bool(np.all(np.abs(w) < 2**53))
    with open(path, "w", encoding="ascii") as f:
        f.write(f"{n} {E.shape[0]}\n")
        if integral:
            np.savetxt(f, np.column_stack([ij, w.astype(np.int64)]), fmt="%d")
        else:
            for (a, b), x in zip(ij, w):
                f.write(f"{a} {b} {float(x)!r}\n")


def _check_matrix(M, p: Path) -> None:
    if M.ndim != 2 or M.shape[0] != M.shape[1] or M.shape[0] < 1:
        raise ValueError(f"{p}: the matrix must be square and non-empty, got shape {M.shape}.")
    data = M.data if sp.issparse(M) else M
    if not np.all(np.isfinite(data)):
        raise ValueError(f"{p}: the matrix has {int(np.sum(~np.isfinite(data)))} NaN/inf entries.")
    if sp.issparse(M):
        D = M - M.T
        asym = float(abs(D).max()) if D.nnz else 0.0
        scale = float(abs(M).max()) if M.nnz else 0.0
    else:
        asym = float(np.max(np.abs(M - M.T)))
        scale = float(np.max(np.abs(M)))
    if asym > _SYMMETRY_RTOL * scale:
        raise ValueError(
            f"{p}: the matrix must be symmetric; max |M - Mᵀ| = {asym:.3g} exceeds "
            f"{_SYMMETRY_RTOL:g} × max |M| = {_SYMMETRY_RTOL * scale:.3g}."
        )
