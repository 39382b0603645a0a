"""Linear maps of a network's layers that are not stored as a dense matrix: 2-D convolution.

A :class:`Conv2d` is the map x ↦ conv2d(x) (no bias) between flattened feature maps, in torch's (C, H, W) order
(index c·H·W + h·W + w), with stride, padding, dilation and groups exactly as ``torch.nn.Conv2d`` defines them.
It offers what the certifiers need without a dense matrix:

* :meth:`Conv2d.forward` and :meth:`Conv2d.transpose`: products with the map and its transpose for a batch of
  vectors (torch's float64 convolution and its input gradient on the CPU, i.e. im2col and a matrix product:
  every output entry is a sum of at most ``taps`` = C_in/groups · kh · kw products, so the usual bound
  γ_taps · |W| |x| on the rounding of a dot product holds for it);
* :meth:`Conv2d.abs`, :meth:`Conv2d.positive`, :meth:`Conv2d.negative`: the maps with |K|, max(K, 0), min(K, 0);
* :meth:`Conv2d.sparse`: the exact matrix as ``scipy.sparse`` CSR (its nonzeros are the kernel's entries, so
  the matrix has ``taps`` nonzeros per row at most), for code that wants a matrix without the dense one;
* :meth:`Conv2d.matrix`: the dense matrix (cached), for the code paths that need one (MILP, small exact
  oracles, the dense bound propagation).

Every entry of :meth:`matrix` and :meth:`sparse` is an entry of the kernel or 0, so both are exact.
"""

from __future__ import annotations

import hashlib
import math
from numbers import Integral

import numpy as np

__all__ = ["Conv2d", "conv_output_shape", "image_shape"]

#: columns of the identity pushed through the convolution at once when the matrix is built
_CHUNK = 256


def _pair(name: str, value, minimum: int) -> tuple[int, int]:
    if isinstance(value, Integral) and not isinstance(value, bool):
        value = (value, value)
    try:
        a, b = value
    except (TypeError, ValueError):
        raise TypeError(f"`{name}` must be an int or a pair of ints, got {value!r}.") from None
    for v in (a, b):
        if not isinstance(v, Integral) or isinstance(v, bool):
            raise TypeError(f"`{name}` must be an int or a pair of ints, got {value!r}.")
        if v < minimum:
            raise ValueError(f"`{name}` must be >= {minimum}, got {value!r}.")
    return int(a), int(b)


def image_shape(name: str, value) -> tuple[int, int, int]:
    """``value`` as a (C, H, W) tuple of positive ints; a ``TypeError`` / ``ValueError`` naming ``name`` otherwise."""
    try:
        shape = tuple(int(s) for s in value)
    except TypeError:
        raise TypeError(f"`{name}` must be a tuple (C, H, W) of ints, got {value!r}.") from None
    if len(shape) != 3 or min(shape) < 1:
        raise ValueError(f"`{name}` must be (C, H, W) with positive entries, got {value!r}.")
    return shape


def conv_output_shape(in_shape, out_channels: int, kernel_size, stride, padding, dilation) -> tuple[int, int, int]:
    """(C_out, H_out, W_out) of a convolution, by torch's formula ⌊(H + 2p − d(k − 1) − 1)/s⌋ + 1."""
    _, H, W = in_shape
    out = []
    for size, k, s, p, d in zip((H, W), kernel_size, stride, padding, dilation):
        out.append((size + 2 * p - d * (k - 1) - 1) // s + 1)
    return (int(out_channels), int(out[0]), int(out[1]))


class Conv2d:
    """The linear map of a 2-D convolution (no bias) on flattened (C, H, W) feature maps.

    Parameters
    ----------
    kernel : array_like, shape (C_out, C_in / groups, kh, kw)
        The convolution weights (stored as a read-only float64 copy).
    in_shape : tuple of 3 ints
        (C_in, H, W) of the input feature map.
    stride, padding, dilation : int or pair of ints, default 1, 0, 1
        As ``torch.nn.Conv2d`` (zero padding).
    groups : int, default 1
        As ``torch.nn.Conv2d``: C_in and C_out must both be divisible by it.

    Attributes
    ----------
    shape : tuple
        (C_out·H_out·W_out, C_in·H·W), the shape of the matrix of the map.
    in_shape, out_shape : tuple of 3 ints
    taps : int
        C_in/groups · kh · kw: the most nonzeros in a row of the matrix.

    Examples
    --------
    >>> import numpy as np
    >>> conv = Conv2d(np.ones((1, 1, 2, 2)), in_shape=(1, 3, 3))   # sums of 2×2 windows
    >>> conv.shape, conv.out_shape
    ((4, 9), (1, 2, 2))
    >>> conv.forward(np.arange(9.0)).tolist()
    [[8.0, 12.0, 20.0, 24.0]]
    >>> bool(np.array_equal(conv.matrix() @ np.arange(9.0), conv.forward(np.arange(9.0))[0]))
    True
    """

    def __init__(self, kernel, in_shape, *, stride=1, padding=0, dilation=1, groups=1):
        K = np.array(kernel, dtype=np.float64)
        if K.ndim != 4:
            raise ValueError(f"`kernel` must have shape (C_out, C_in/groups, kh, kw), got shape {K.shape}.")
        if not np.all(np.isfinite(K)):
            raise ValueError("`kernel` has NaN or inf entries.")
        in_shape = image_shape("in_shape", in_shape)
        if not isinstance(groups, Integral) or isinstance(groups, bool):
            raise TypeError(f"`groups` must be an int, got {groups!r}.")
        if groups < 1 or in_shape[0] % groups or K.shape[0] % groups:
            raise ValueError(
                f"`groups` must be a positive divisor of both C_in = {in_shape[0]} and C_out = {K.shape[0]}, "
                f"got {groups}."
            )
        if K.shape[1] * groups != in_shape[0]:
            raise ValueError(
                f"the kernel takes {K.shape[1]} channels per group × {groups} groups = {K.shape[1] * groups} input "
                f"channels, but `in_shape` has C = {in_shape[0]}."
            )
        self.stride = _pair("stride", stride, 1)
        self.padding = _pair("padding", padding, 0)
        self.dilation = _pair("dilation", dilation, 1)
        self.groups = int(groups)
        self.kernel_size = (int(K.shape[2]), int(K.shape[3]))
        self.in_shape = in_shape
        self.out_shape = conv_output_shape(in_shape, K.shape[0], self.kernel_size, self.stride, self.padding,
                                           self.dilation)
        if min(self.out_shape) < 1:
            raise ValueError(
                f"a {self.kernel_size} kernel (dilation {self.dilation}, padding {self.padding}) does not fit the "
                f"input of shape {in_shape}."
            )
        K.setflags(write=False)
        self.kernel = K
        self.shape = (math.prod(self.out_shape), math.prod(in_shape))
        self.taps = int(K.shape[1] * K.shape[2] * K.shape[3])
        self._matrix = None
        self._sparse = None
        self._kernel_t = None

    # -- construction helpers ----------------------------------------------------------------------------
    def with_kernel(self, kernel) -> Conv2d:
        """The same convolution (shapes, stride, ...) with another kernel."""
        return Conv2d(kernel, self.in_shape, stride=self.stride, padding=self.padding, dilation=self.dilation,
                      groups=self.groups)

    def abs(self) -> Conv2d:
        """The map with kernel |K| (its matrix is |matrix|: every entry is one kernel entry or 0)."""
        return self.with_kernel(np.abs(self.kernel))

    def positive(self) -> Conv2d:
        """The map with kernel max(K, 0)."""
        return self.with_kernel(np.maximum(self.kernel, 0.0))

    def negative(self) -> Conv2d:
        """The map with kernel min(K, 0)."""
        return self.with_kernel(np.minimum(self.kernel, 0.0))

    @property
    def multiply_adds(self) -> int:
        """Multiply-adds of one forward product (C_out·H_out·W_out · taps)."""
        return self.shape[0] * self.taps

    def params(self) -> np.ndarray:
        """[sh, sw, ph, pw, dh, dw, groups, C, H, W] as int64 (the .npz encoding, with the kernel)."""
        return np.array([*self.stride, *self.padding, *self.dilation, self.groups, *self.in_shape], dtype=np.int64)

    @classmethod
    def from_params(cls, kernel, params) -> Conv2d:
        """Inverse of :meth:`params`."""
        p = [int(v) for v in np.asarray(params).reshape(-1)]
        if len(p) != 10:
            raise ValueError(f"convolution parameters must have 10 entries, got {len(p)}.")
        return cls(kernel, p[7:10], stride=p[0:2], padding=p[2:4], dilation=p[4:6], groups=p[6])

    def digest(self, h: hashlib._Hash) -> None:
        """Feed the kernel and the parameters to a hash (for fingerprints)."""
        h.update(b"conv2d")
        h.update(self.params().tobytes())
        h.update(np.asarray(self.kernel.shape, dtype=np.int64).tobytes())
        h.update(np.ascontiguousarray(self.kernel).tobytes())

    # -- products --------------------------------------------------------------------------------------
    def _torch_kernel(self):
        """The kernel as a float64 torch tensor (its own writable copy: torch wants one)."""
        if self._kernel_t is None:
            import torch

            self._kernel_t = torch.tensor(self.kernel)
        return self._kernel_t

    def _check(self, X, width: int, name: str) -> np.ndarray:
        X = np.asarray(X, dtype=np.float64)
        if X.ndim == 1:
            X = X[None, :]
        if X.ndim != 2 or X.shape[1] != width:
            raise ValueError(f"`{name}` must have shape (N, {width}) for this convolution, got {X.shape}.")
        # torch.from_numpy wants a C-contiguous, writable array (it warns on a read-only one, e.g. a network's
        # read-only activations or an attack's frozen x_adv): copy only when X is not already one
        return np.require(X, requirements=["C", "W"])

    def forward(self, X) -> np.ndarray:
        """Rows x ↦ conv2d(x): (N, C·H·W) → (N, C_out·H_out·W_out), float64."""
        import torch

        X = self._check(X, self.shape[1], "X")
        x = torch.from_numpy(X).reshape(X.shape[0], *self.in_shape)
        y = torch.nn.functional.conv2d(x, self._torch_kernel(), None, self.stride, self.padding,
                                       self.dilation, self.groups)
        return y.reshape(X.shape[0], -1).numpy()

    def transpose(self, Y) -> np.ndarray:
        """Rows y ↦ Wᵀy (the input gradient of the convolution): (N, C_out·H_out·W_out) → (N, C·H·W)."""
        import torch

        Y = self._check(Y, self.shape[0], "Y")
        y = torch.from_numpy(Y).reshape(Y.shape[0], *self.out_shape)
        x = torch.nn.grad.conv2d_input((Y.shape[0], *self.in_shape), self._torch_kernel(), y,
                                       self.stride, self.padding, self.dilation, self.groups)
        return x.reshape(Y.shape[0], -1).numpy()

    def __matmul__(self, x):
        """W @ x for a vector (n_in,) or a matrix (n_in, k)."""
        x = np.asarray(x, dtype=np.float64)
        if x.ndim == 1:
            return self.forward(x[None, :])[0]
        return self.forward(x.T).T

    # -- matrices ----------------------------------------------------------------------------------------
    def _column_blocks(self):
        """The matrix's columns in blocks of :data:`_CHUNK`: (first column, the block (out, width)), by pushing
        the identity basis through the convolution."""
        n_in = self.shape[1]
        for s in range(0, n_in, _CHUNK):
            e = np.zeros((min(_CHUNK, n_in - s), n_in))
            e[np.arange(e.shape[0]), s + np.arange(e.shape[0])] = 1.0
            yield s, self.forward(e).T

    def matrix(self) -> np.ndarray:
        """The dense (out, in) matrix, built once (read-only)."""
        if self._matrix is None:
            M = np.empty(self.shape)
            for s, block in self._column_blocks():
                M[:, s : s + block.shape[1]] = block
            M.setflags(write=False)
            self._matrix = M
        return self._matrix

    def sparse(self):
        """The exact matrix as ``scipy.sparse.csr_matrix`` (kernel entries only; built without the dense one)."""
        if self._sparse is None:
            import scipy.sparse as sp

            self._sparse = sp.hstack([sp.csc_matrix(block) for _, block in self._column_blocks()], format="csr")
        return self._sparse

    # -- torch -----------------------------------------------------------------------------------------
    def to_torch(self, bias=None, dtype=None):
        """``nn.Sequential(Unflatten, Conv2d, Flatten)`` taking and giving flat vectors."""
        import torch

        dtype = dtype or torch.float32
        conv = torch.nn.Conv2d(self.in_shape[0], self.out_shape[0], self.kernel_size, stride=self.stride,
                               padding=self.padding, dilation=self.dilation, groups=self.groups,
                               bias=bias is not None, dtype=dtype)
        with torch.no_grad():
            conv.weight.copy_(torch.tensor(self.kernel, dtype=dtype))
            if bias is not None:
                conv.bias.copy_(torch.tensor(np.asarray(bias).reshape(-1), dtype=dtype))
        return torch.nn.Sequential(torch.nn.Unflatten(1, self.in_shape), conv, torch.nn.Flatten())

    def __repr__(self) -> str:
        return (f"Conv2d({self.in_shape} -> {self.out_shape}, kernel {self.kernel_size}, stride {self.stride}, "
                f"padding {self.padding}, dilation {self.dilation}, groups {self.groups})")
