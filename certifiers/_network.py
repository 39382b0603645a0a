"""Feed-forward ReLU networks: x_{i+1} = relu(W_i x_i + b_i), logits W_L x_L + b_L, evaluated in float64."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True, eq=False)
class ReLUNetwork:
    """A feed-forward ReLU network given by its layers (W_i of shape (out, in), b_i of shape (out,)).

    ReLU follows every layer but the last. Weights are stored as float64 copies (exact for float32 input).

    Examples
    --------
    >>> import numpy as np
    >>> net = ReLUNetwork([np.eye(2), np.ones((3, 2))], [np.zeros(2), np.zeros(3)])
    >>> net.logits(np.array([[1.0, -1.0]])).tolist()
    [[1.0, 1.0, 1.0]]
    """

    weights: tuple
    biases: tuple

    def __init__(self, weights, biases):
        weights = [np.array(w, dtype=np.float64) for w in weights]
        biases = [np.array(b, dtype=np.float64).reshape(-1) for b in biases]
        if len(weights) == 0 or len(weights) != len(biases):
            raise ValueError(
                f"a network needs one bias per weight matrix and at least one layer; got {len(weights)} weights "
                f"and {len(biases)} biases."
            )
        for i, (W, b) in enumerate(zip(weights, biases)):
            if W.ndim != 2:
                raise ValueError(f"W{i} must be a 2-d array (out, in), got shape {W.shape}.")
            if b.shape != (W.shape[0],):
                raise ValueError(f"b{i} must have shape ({W.shape[0]},) to match W{i} {W.shape}, got {b.shape}.")
            if i > 0 and W.shape[1] != weights[i - 1].shape[0]:
                raise ValueError(
                    f"W{i} takes {W.shape[1]} inputs but layer {i - 1} has {weights[i - 1].shape[0]} outputs."
                )
            if not (np.all(np.isfinite(W)) and np.all(np.isfinite(b))):
                raise ValueError(f"layer {i} has NaN or inf weights.")
            W.setflags(write=False)
            b.setflags(write=False)
        object.__setattr__(self, "weights", tuple(weights))
        object.__setattr__(self, "biases", tuple(biases))

    # -- shape information -------------------------------------------------------------------------------
    @property
    def n_layers(self) -> int:
        """Number of affine layers (hidden layers + 1)."""
        return len(self.weights)

    @property
    def n_hidden_layers(self) -> int:
        return len(self.weights) - 1

    @property
    def input_dim(self) -> int:
        return self.weights[0].shape[1]

    @property
    def n_classes(self) -> int:
        return self.weights[-1].shape[0]

    @property
    def layer_sizes(self) -> tuple[int, ...]:
        """(input, hidden_1, ..., hidden_L, classes)."""
        return (self.input_dim,) + tuple(W.shape[0] for W in self.weights)

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
        for i, (W, b) in enumerate(zip(self.weights, self.biases)):
            h = h @ W.T + b
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
        """A hex digest of the weights (for caches and result keys)."""
        h = hashlib.sha256()
        for W, b in zip(self.weights, self.biases):
            h.update(np.asarray(W.shape, dtype=np.int64).tobytes())
            h.update(np.ascontiguousarray(W).tobytes())
            h.update(np.ascontiguousarray(b).tobytes())
        return h.hexdigest()[:32]

    # -- conversion --------------------------------------------------------------------------------------
    def to_torch(self, dtype=None):
        """An equivalent ``torch.nn.Sequential`` of Linear/ReLU (float32 unless ``dtype`` is given)."""
        import torch

        dtype = dtype or torch.float32
        layers = []
        for i, (W, b) in enumerate(zip(self.weights, self.biases)):
            lin = torch.nn.Linear(W.shape[1], W.shape[0], dtype=dtype)
            with torch.no_grad():
                lin.weight.copy_(torch.tensor(W, dtype=dtype))
                lin.bias.copy_(torch.tensor(b, dtype=dtype))
            layers.append(lin)
            if i < self.n_layers - 1:
                layers.append(torch.nn.ReLU())
        return torch.nn.Sequential(*layers)

    def save_npz(self, path) -> None:
        """Write W0, b0, W1, b1, ... (the format :func:`load_network` reads)."""
        arrays = {}
        for i, (W, b) in enumerate(zip(self.weights, self.biases)):
            arrays[f"W{i}"] = W
            arrays[f"b{i}"] = b
        np.savez(path, **arrays)


def from_npz(path) -> ReLUNetwork:
    """Load a network from an .npz with keys W0, b0, W1, b1, ... (W_i of shape (out, in))."""
    with np.load(path) as data:
        keys = set(data.files)
        n = 0
        while f"W{n}" in keys:
            n += 1
        if n == 0:
            raise ValueError(f"{path}: expected keys W0, b0, W1, b1, ...; found {sorted(keys)}.")
        missing = [f"b{i}" for i in range(n) if f"b{i}" not in keys]
        if missing:
            raise ValueError(f"{path}: missing bias arrays {missing}.")
        return ReLUNetwork([data[f"W{i}"] for i in range(n)], [data[f"b{i}"] for i in range(n)])


def from_torch(module) -> ReLUNetwork:
    """Convert a torch ``nn.Sequential`` of Linear/ReLU (and Flatten) layers, alternating Linear and ReLU."""
    import torch.nn as nn

    mods = list(module) if isinstance(module, nn.Sequential) else [module]
    weights, biases = [], []
    expect_relu = False
    for k, m in enumerate(mods):
        if isinstance(m, nn.Flatten):
            if weights:
                raise ValueError(f"layer {k} (Flatten) is only supported before the first Linear layer.")
            continue
        if isinstance(m, nn.Linear):
            if expect_relu:
                raise ValueError(f"layer {k} (Linear) follows a Linear layer without a ReLU between them.")
            W = m.weight.detach().cpu().double().numpy()
            b = m.bias.detach().cpu().double().numpy() if m.bias is not None else np.zeros(W.shape[0])
            weights.append(W)
            biases.append(b)
            expect_relu = True
            continue
        if isinstance(m, nn.ReLU):
            if not expect_relu:
                raise ValueError(f"layer {k} (ReLU) must follow a Linear layer.")
            expect_relu = False
            continue
        raise ValueError(
            f"unsupported layer {k}: {type(m).__name__}; only Linear, ReLU and Flatten are supported."
        )
    if not weights:
        raise ValueError("the module has no Linear layer.")
    if not expect_relu:
        raise ValueError("the network must end with a Linear layer (the logits), not a ReLU.")
    return ReLUNetwork(weights, biases)
