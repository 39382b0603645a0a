"""Feed-forward ReLU networks: x_{i+1} = relu(W_i x_i + b_i), logits W_L x_L + b_L, evaluated in float64."""

from __future__ import annotations

import hashlib
import math

import numpy as np

from ._layers import Conv2d, image_shape

#: a convolution's matrix with fewer entries than this is used dense in repeated products (layer_matrix)
SPARSE_MIN_ENTRIES = 2**18


class ReLUNetwork:
    """A feed-forward ReLU network given by its layers (W_i of shape (out, in), b_i of shape (out,)).

    ReLU follows every layer but the last. A layer's W_i is a dense matrix or a :class:`Conv2d` (a convolution
    on flattened (C, H, W) feature maps, kept matrix-free); inputs are flat vectors in torch's (C, H, W) order.
    Weights are stored as float64 copies (exact for float32 input).

    Parameters
    ----------
    weights : sequence of array_like (out, in) or Conv2d
    biases : sequence of array_like (out,)
        One entry per output coordinate (for a convolution: per channel, pixel; torch's per-channel bias
        repeated over the pixels).
    input_shape : tuple of 3 ints, optional
        (C, H, W) of the input image; taken from the first layer when it is a convolution. Needed by nothing
        else (data stay N × C·H·W), and kept so that exports can restore the image shape.

    Attributes
    ----------
    layers : tuple
        The linear maps as given (dense arrays or :class:`Conv2d`).
    weights : tuple of np.ndarray
        Dense matrices of every layer (a convolution's is built on first use and cached): the form the dense
        code paths (bound propagation, MILP, Grad-cert) use.
    biases : tuple of np.ndarray

    Examples
    --------
    >>> import numpy as np
    >>> net = ReLUNetwork([np.eye(2), np.ones((3, 2))], [np.zeros(2), np.zeros(3)])
    >>> net.logits(np.array([[1.0, -1.0]])).tolist()
    [[1.0, 1.0, 1.0]]
    >>> conv = Conv2d(np.ones((2, 1, 2, 2)), in_shape=(1, 3, 3))         # 2 channels of 2×2 windows
    >>> cnn = ReLUNetwork([conv, np.ones((1, 8))], [np.zeros(8), np.zeros(1)])
    >>> cnn.input_shape, cnn.layer_sizes, cnn.has_convolutions
    ((1, 3, 3), (9, 8, 1), True)
    >>> cnn.logits(np.ones((1, 9))).tolist()
    [[32.0]]
    """

    def __init__(self, weights, biases, input_shape=None):
        layers = [w if isinstance(w, Conv2d) else np.array(w, dtype=np.float64) for w in weights]
        biases = [np.array(b, dtype=np.float64).reshape(-1) for b in biases]
        if len(layers) == 0 or len(layers) != len(biases):
            raise ValueError(
                f"a network needs one bias per weight matrix and at least one layer; got {len(layers)} weights "
                f"and {len(biases)} biases."
            )
        for i, (W, b) in enumerate(zip(layers, biases)):
            if not isinstance(W, Conv2d):
                if W.ndim != 2:
                    raise ValueError(f"W{i} must be a 2-d array (out, in) or a Conv2d, got shape {W.shape}.")
                if not np.all(np.isfinite(W)):
                    raise ValueError(f"layer {i} has NaN or inf weights.")
                W.setflags(write=False)
            if b.shape != (W.shape[0],):
                raise ValueError(f"b{i} must have shape ({W.shape[0]},) to match W{i} {W.shape}, got {b.shape}.")
            if i > 0 and W.shape[1] != layers[i - 1].shape[0]:
                raise ValueError(
                    f"W{i} takes {W.shape[1]} inputs but layer {i - 1} has {layers[i - 1].shape[0]} outputs."
                )
            if i > 0 and isinstance(W, Conv2d) and isinstance(layers[i - 1], Conv2d) \
                    and W.in_shape != layers[i - 1].out_shape:
                raise ValueError(
                    f"W{i} (a convolution) takes feature maps of shape {W.in_shape} but layer {i - 1} gives "
                    f"{layers[i - 1].out_shape}."
                )
            if not np.all(np.isfinite(b)):
                raise ValueError(f"layer {i} has NaN or inf biases.")
            b.setflags(write=False)
        if input_shape is not None:
            input_shape = image_shape("input_shape", input_shape)
            if math.prod(input_shape) != layers[0].shape[1]:
                raise ValueError(
                    f"`input_shape` must be (C, H, W) with C·H·W = {layers[0].shape[1]} (the input size), got "
                    f"{input_shape!r}."
                )
        if isinstance(layers[0], Conv2d):
            if input_shape is not None and input_shape != layers[0].in_shape:
                raise ValueError(
                    f"`input_shape` {input_shape} differs from the first convolution's input shape "
                    f"{layers[0].in_shape}."
                )
            input_shape = layers[0].in_shape
        self._layers = tuple(layers)
        self._biases = tuple(biases)
        self._input_shape = input_shape
        self._dense = None

    def __setattr__(self, name, value):
        if not name.startswith("_"):
            raise AttributeError(f"ReLUNetwork is immutable; cannot set {name!r}.")
        object.__setattr__(self, name, value)

    def __repr__(self) -> str:
        kinds = ["conv" if isinstance(W, Conv2d) else "dense" for W in self._layers]
        return f"ReLUNetwork(layer_sizes={self.layer_sizes}, layers={kinds})"

    @property
    def layers(self) -> tuple:
        return self._layers

    @property
    def biases(self) -> tuple:
        return self._biases

    @property
    def input_shape(self):
        """(C, H, W) of the input, or None when the network does not say."""
        return self._input_shape

    @property
    def has_convolutions(self) -> bool:
        return any(isinstance(W, Conv2d) for W in self._layers)

    @property
    def weights(self) -> tuple:
        """Dense matrices of every layer (convolutions materialised once, cached)."""
        if self._dense is None:
            self._dense = tuple(self.dense_weight(i) for i in range(len(self._layers)))
        return self._dense

    def dense_weight(self, i: int) -> np.ndarray:
        """W_i as a dense matrix (only this layer is materialised)."""
        W = self._layers[i]
        return W.matrix() if isinstance(W, Conv2d) else W

    def layer_matrix(self, i: int):
        """W_i as the cheapest exact matrix for repeated products: the dense array, or for a convolution its
        ``scipy.sparse`` CSR matrix when that saves work (at most a quarter of the entries nonzero and at least
        :data:`SPARSE_MIN_ENTRIES` entries: below that, sparse products cost more in overhead than they save)."""
        W = self._layers[i]
        if not isinstance(W, Conv2d):
            return W
        if W.shape[0] * W.shape[1] >= SPARSE_MIN_ENTRIES and W.multiply_adds * 4 <= W.shape[0] * W.shape[1]:
            return W.sparse()
        return W.matrix()

    @property
    def multiply_adds(self) -> int:
        """Multiply-adds of one forward pass of one input."""
        return int(sum(W.multiply_adds if isinstance(W, Conv2d) else W.size for W in self._layers))

    # -- shape information -------------------------------------------------------------------------------
    @property
    def n_layers(self) -> int:
        """Number of affine layers (hidden layers + 1)."""
        return len(self._layers)

    @property
    def n_hidden_layers(self) -> int:
        return len(self._layers) - 1

    @property
    def input_dim(self) -> int:
        return self._layers[0].shape[1]

    @property
    def n_classes(self) -> int:
        return self._layers[-1].shape[0]

    @property
    def layer_sizes(self) -> tuple[int, ...]:
        """(input, hidden_1, ..., hidden_L, classes)."""
        return (self.input_dim,) + tuple(W.shape[0] for W in self._layers)

    # -- evaluation --------------------------------------------------------------------------------------
    def check_inputs(self, X, name: str = "X") -> np.ndarray:
        """Return X as a float64 (N, d) array, raising a clear error for a wrong width or NaN."""
        X = np.asarray(X, dtype=np.float64)
        if X.ndim == 1:
            X = X[None, :]
        if X.ndim != 2 or X.shape[1] != self.input_dim:
            raise ValueError(f"`{name}` must have shape (N, {self.input_dim}) for this network, got {X.shape}.")
        if not np.all(np.isfinite(X)):
            raise ValueError(f"`{name}` has NaN or inf entries.")
        return X

    def activations(self, X) -> list[np.ndarray]:
        """[x_0, x_1, ..., x_L, logits] for a batch X of shape (N, d)."""
        X = self.check_inputs(X)
        out = [X]
        h = X
        for i, (W, b) in enumerate(zip(self._layers, self._biases)):
            h = (W.forward(h) if isinstance(W, Conv2d) else h @ W.T) + b
            if i < self.n_layers - 1:
                h = np.maximum(h, 0.0)
            out.append(h)
        return out

    def logits(self, X) -> np.ndarray:
        """Logits in float64, shape (N, classes)."""
        return self.activations(X)[-1]

    def predict(self, X) -> np.ndarray:
        return np.argmax(self.logits(X), axis=1)

    def fingerprint(self) -> str:
        """A hex digest of the weights (for caches and result keys; unchanged for dense networks)."""
        h = hashlib.sha256()
        for W, b in zip(self._layers, self._biases):
            if isinstance(W, Conv2d):
                W.digest(h)
            else:
                h.update(np.asarray(W.shape, dtype=np.int64).tobytes())
                h.update(np.ascontiguousarray(W).tobytes())
            h.update(np.ascontiguousarray(b).tobytes())
        return h.hexdigest()[:32]

    # -- conversion --------------------------------------------------------------------------------------
    def to_torch(self, dtype=None):
        """An equivalent ``torch.nn.Sequential`` of Linear (or Unflatten/Conv2d/Flatten) and ReLU modules taking
        flat inputs (float32 unless ``dtype`` is given)."""
        import torch

        dtype = dtype or torch.float32
        layers = []
        for i, (W, b) in enumerate(zip(self._layers, self._biases)):
            if isinstance(W, Conv2d):
                layers.append(_conv_module(W, b, dtype))
                if i < self.n_layers - 1:
                    layers.append(torch.nn.ReLU())
                continue
            lin = torch.nn.Linear(W.shape[1], W.shape[0], dtype=dtype)
            with torch.no_grad():
                lin.weight.copy_(torch.tensor(W, dtype=dtype))
                lin.bias.copy_(torch.tensor(b, dtype=dtype))
            layers.append(lin)
            if i < self.n_layers - 1:
                layers.append(torch.nn.ReLU())
        return torch.nn.Sequential(*layers)

    def save_npz(self, path) -> None:
        """Write W0, b0, W1, b1, ... (the format :func:`load_network` reads); a convolution as its kernel
        ``K{i}`` and parameters ``conv{i}`` (see :meth:`Conv2d.params`), the input shape as ``input_shape``."""
        arrays = {}
        for i, (W, b) in enumerate(zip(self._layers, self._biases)):
            if isinstance(W, Conv2d):
                arrays[f"K{i}"] = W.kernel
                arrays[f"conv{i}"] = W.params()
            else:
                arrays[f"W{i}"] = W
            arrays[f"b{i}"] = b
        if self._input_shape is not None:
            arrays["input_shape"] = np.asarray(self._input_shape, dtype=np.int64)
        np.savez(path, **arrays)


def _conv_module(conv: Conv2d, b: np.ndarray, dtype):
    """A convolution layer with its bias as torch modules on flat vectors (a per-channel bias goes into the
    Conv2d; any other bias is added by a module holding it)."""
    import torch

    per_channel = b.reshape(conv.out_shape[0], -1)
    if np.all(per_channel == per_channel[:, :1]):
        return conv.to_torch(per_channel[:, 0], dtype)
    return torch.nn.Sequential(conv.to_torch(None, dtype), _add_bias_module(torch.tensor(b, dtype=dtype)))


def _add_bias_module(bias):
    """A module x ↦ x + bias (bias a fixed tensor); built lazily so that torch stays an optional import."""
    import torch

    class AddBias(torch.nn.Module):
        def __init__(self, b):
            super().__init__()
            self.register_buffer("bias", b)

        def forward(self, x):
            return x + self.bias

    return AddBias(bias)


def from_npz(path) -> ReLUNetwork:
    """Load a network from an .npz with keys W0, b0, W1, b1, ... (W_i of shape (out, in)); a convolution layer
    i as ``K{i}`` (kernel) and ``conv{i}`` (parameters), see :meth:`ReLUNetwork.save_npz`."""
    with np.load(path) as data:
        keys = set(data.files)
        n = 0
        while f"W{n}" in keys or f"K{n}" in keys:
            n += 1
        if n == 0:
            raise ValueError(f"{path}: expected keys W0, b0, W1, b1, ...; found {sorted(keys)}.")
        missing = [f"b{i}" for i in range(n) if f"b{i}" not in keys]
        missing += [f"conv{i}" for i in range(n) if f"K{i}" in keys and f"conv{i}" not in keys]
        if missing:
            raise ValueError(f"{path}: missing arrays {missing}.")
        layers = [
            Conv2d.from_params(data[f"K{i}"], data[f"conv{i}"]) if f"K{i}" in keys else data[f"W{i}"]
            for i in range(n)
        ]
        shape = tuple(int(v) for v in data["input_shape"]) if "input_shape" in keys else None
        return ReLUNetwork(layers, [data[f"b{i}"] for i in range(n)], input_shape=shape)
