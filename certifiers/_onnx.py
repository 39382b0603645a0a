"""Read feed-forward ReLU networks, dense or convolutional, from ONNX files (needs the optional ``onnx`` package).

Supported graphs are chains ``x → affine → Relu → affine → Relu → … → affine`` written with the operators

* ``Gemm`` (``transA = 0``, ``transB`` 0 or 1, any ``alpha`` / ``beta``, optional ``C``),
* ``MatMul`` (activation on the left, a constant 2-d matrix on the right) and ``Add`` / ``Sub`` (a constant
  bias, or two affine expressions of the same layer),
* ``Conv`` (2-D: input (N, C, H, W); ``strides``, ``dilations``, ``group``, ``kernel_shape`` and symmetric
  ``pads`` = [ph, pw, ph, pw]; ``auto_pad`` only ``NOTSET``), with an optional constant bias,
* ``BatchNormalization`` (inference form, ``training_mode = 0``), ``AveragePool`` (2-D, symmetric ``pads``,
  ``count_include_pad`` as ONNX defines it, ``ceil_mode = 0``),
* ``Relu``, ``Flatten`` (``axis = 1``), ``Reshape`` (only to flatten: target ``[1, -1]``, ``[-1, d]``,
  ``[0, -1]`` or ``[N, d]``), ``Identity``, ``Constant``.

Weights come from the graph's initializers (or ``Constant`` nodes). The first axis of the single graph input
is the batch axis; the remaining axes are flattened in C order, as ``torch.nn.Flatten`` does (for an image
input (N, C, H, W) that is torch's (C, H, W) order, and the network's ``input_shape`` is (C, H, W)).

The affine operators between two ``Relu`` nodes become one layer, computed in float64:

* a lone ``Conv`` on the layer input (with a ``BatchNormalization`` right after it folded in: per output
  channel s = scale / √(var + epsilon), K' = s·K, b' = s·(b − mean) + B; constant ``Add`` / ``Sub`` and a
  trailing ``Flatten`` / ``Reshape`` allowed) becomes a matrix-free :class:`~certifiers.Conv2d` layer, its
  per-channel bias repeated over the pixels;
* anything else is composed into one dense matrix and bias: a ``MatMul`` followed by an ``Add`` gives exactly
  the stored weights and bias, a ``BatchNormalization`` after a ``Gemm`` / ``MatMul`` scales its rows, and an
  ``AveragePool``, a ``Conv`` after another affine operator or a lone ``BatchNormalization`` are applied to the
  dense matrix of what precedes them.

Any other operator (``MaxPool``, other activations, ...) raises ``ValueError`` naming its type and node name;
so do a residual ``Add`` of two activations and an operator used outside the rules above.

Examples
--------
>>> import numpy as np, onnx
>>> from onnx import helper, numpy_helper, TensorProto
>>> W = np.array([[1.0, -2.0], [0.5, 3.0]], dtype=np.float32)
>>> graph = helper.make_graph(
...     [helper.make_node("Gemm", ["x", "W", "b"], ["y"], transB=1, name="fc")],
...     "g",
...     [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 2])],
...     [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 2])],
...     [numpy_helper.from_array(W, "W"), numpy_helper.from_array(np.zeros(2, np.float32), "b")],
... )
>>> net = from_onnx(helper.make_model(graph))
>>> net.logits(np.array([[1.0, 1.0]])).tolist()
[[-1.0, 3.5]]

A convolution on the input (2×2 windows summed over a 1×3×3 image) stays a ``Conv2d`` layer:

>>> graph = helper.make_graph(
...     [helper.make_node("Conv", ["x", "K"], ["c"], name="conv"),
...      helper.make_node("Relu", ["c"], ["r"], name="relu"),
...      helper.make_node("Flatten", ["r"], ["f"], name="flat"),
...      helper.make_node("Gemm", ["f", "V"], ["y"], transB=1, name="fc")],
...     "cnn",
...     [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 1, 3, 3])],
...     [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 1])],
...     [numpy_helper.from_array(np.ones((1, 1, 2, 2), np.float32), "K"),
...      numpy_helper.from_array(np.ones((1, 4), np.float32), "V")],
... )
>>> cnn = from_onnx(helper.make_model(graph))
>>> type(cnn.layers[0]).__name__, cnn.input_shape, cnn.layer_sizes
('Conv2d', (1, 3, 3), (9, 4, 1))
>>> cnn.logits(np.arange(9.0)).tolist()
[[64.0]]
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from ._layers import Conv2d
from ._network import ReLUNetwork

#: operator types :func:`from_onnx` understands
SUPPORTED_OPS = ("Gemm", "MatMul", "Add", "Sub", "Conv", "BatchNormalization", "AveragePool", "Relu", "Flatten",
                 "Reshape", "Identity", "Constant")


@dataclass
class _Affine:
    """A tensor equal to ``L h + c`` per example, h the (flattened) input of hidden layer ``depth``.

    The linear part L is ``A`` (a dense matrix), or ``conv`` (a convolution of h, kept matrix-free), or the
    identity (both None). ``fshape`` is the tensor's shape without the batch axis; L and c give its C-order
    flattening.
    """

    A: np.ndarray | None
    c: np.ndarray
    depth: int
    fshape: tuple[int, ...]
    conv: Conv2d | None = None

    @property
    def size(self) -> int:
        return int(np.prod(self.fshape, dtype=np.int64))

    @property
    def is_input(self) -> bool:
        """Whether L is the identity (the tensor is the layer input plus a constant)."""
        return self.A is None and self.conv is None

    def matrix(self) -> np.ndarray:
        """L as a dense matrix."""
        if self.conv is not None:
            return self.conv.matrix()
        return np.eye(self.size) if self.A is None else self.A

    def layer(self) -> tuple:
        """(weights, bias) of the network layer this tensor is the output of: a Conv2d or a dense matrix."""
        return (self.conv if self.conv is not None else self.matrix()), self.c

    def then(self, f, fshape: tuple[int, ...]) -> _Affine:
        """``f`` applied after this tensor, as a dense affine map; f is linear on rows (N, size) → (N, m)."""
        return _Affine(np.ascontiguousarray(f(self.matrix().T).T), f(self.c[None, :])[0], self.depth, fshape)


def _onnx():
    from sdpsolve._errors import require

    return require("onnx", "onnx")


def _load_model(path_or_model):
    onnx = _onnx()
    if isinstance(path_or_model, onnx.ModelProto):
        return path_or_model
    if isinstance(path_or_model, (bytes, bytearray)):
        return onnx.load_from_string(bytes(path_or_model))
    if isinstance(path_or_model, (str, Path)):
        path = Path(path_or_model)
        if not path.exists():
            raise FileNotFoundError(f"ONNX model file not found: {path}")
        try:
            return onnx.load(str(path))
        except Exception as exc:  # protobuf raises its own DecodeError
            raise ValueError(f"{path}: not a readable ONNX model ({type(exc).__name__}: {exc}).") from exc
    raise TypeError(
        f"`path_or_model` must be a path, bytes or an onnx.ModelProto, got {type(path_or_model).__name__}."
    )


def _attrs(node) -> dict:
    onnx = _onnx()
    return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}


def _where(node) -> str:
    return f"{node.op_type} node {node.name or '(unnamed)'!r}"


def from_onnx(path_or_model) -> ReLUNetwork:
    """Convert an ONNX feed-forward ReLU network into a :class:`ReLUNetwork` (float64 weights).

    Parameters
    ----------
    path_or_model : str, pathlib.Path, bytes or onnx.ModelProto
        The model file (or its serialized bytes, or a loaded model).

    Returns
    -------
    ReLUNetwork
        ``logits(x)`` equals the graph's output for the input ``x`` flattened in C order (batch axis first).
        A ``Conv`` on a layer's input (with a ``BatchNormalization`` after it folded in) is a
        :class:`~certifiers.Conv2d` layer; for an input (N, C, H, W), ``input_shape`` is (C, H, W).

    Raises
    ------
    ValueError
        For an operator outside :data:`SUPPORTED_OPS` (naming its type and node name), for a supported
        operator used in a way that is not a feed-forward ReLU chain (e.g. ``Gemm`` with ``transA = 1``, a
        skip connection, a non-flattening ``Reshape``, asymmetric ``pads``, ``auto_pad``, an ``AveragePool``
        with ``ceil_mode = 1``), or for a graph without exactly one input and output.
    MissingDependencyError
        When the ``onnx`` package is not installed (``pip install sdpsolve[onnx]``).

    Examples
    --------
    >>> from certifiers import load_network                            # doctest: +SKIP
    >>> net = load_network("mnist-net_256x2.onnx")                      # doctest: +SKIP
    """
    model = _load_model(path_or_model)
    from onnx import numpy_helper

    graph = model.graph
    if len(graph.sparse_initializer):
        raise ValueError("sparse initializers are not supported; store the weights as dense initializers.")
    values: dict[str, object] = {}
    for init in graph.initializer:
        values[init.name] = np.asarray(numpy_helper.to_array(init), dtype=np.float64)
    inputs = [vi for vi in graph.input if vi.name not in values]
    if len(inputs) != 1:
        raise ValueError(
            f"the graph must have exactly one input that is not an initializer, got "
            f"{[vi.name for vi in inputs]}."
        )
    dims = []
    for d in inputs[0].type.tensor_type.shape.dim:
        dims.append(d.dim_value if d.HasField("dim_value") else None)
    if len(dims) < 2:
        raise ValueError(
            f"input {inputs[0].name!r} must have a batch axis and at least one feature axis, "
            f"got shape {dims}."
        )
    if any(d is None or d <= 0 for d in dims[1:]):
        raise ValueError(f"input {inputs[0].name!r} must have fixed feature dimensions, got shape {dims}.")
    batch = dims[0]  # None when symbolic
    fshape = tuple(int(d) for d in dims[1:])
    values[inputs[0].name] = _Affine(None, np.zeros(int(np.prod(fshape))), 0, fshape)

    layers: list[tuple] = []  # (dense matrix or Conv2d, bias)
    for node in graph.node:
        op = node.op_type
        if node.domain not in ("", "ai.onnx"):
            raise ValueError(
                f"unsupported operator {op!r} from domain {node.domain!r} ({_where(node)}); supported: "
                f"{', '.join(SUPPORTED_OPS)}."
            )
        if op not in SUPPORTED_OPS:
            raise ValueError(
                f"unsupported operator {op!r} ({_where(node)}); a feed-forward ReLU network may only use "
                f"{', '.join(SUPPORTED_OPS)}."
            )
        ins = []
        for name in node.input:
            if name == "":
                ins.append(None)
                continue
            if name not in values:
                raise ValueError(f"{_where(node)}: input {name!r} is not produced by any earlier node.")
            ins.append(values[name])
        out = _apply(op, node, ins, _attrs(node), layers, batch)
        if len(node.output) != 1:
            # Dropout-like multi-output nodes are not in SUPPORTED_OPS; every supported op has one output
            raise ValueError(f"{_where(node)}: expected one output, got {len(node.output)}.")
        values[node.output[0]] = out

    if len(graph.output) != 1:
        raise ValueError(f"the graph must have exactly one output, got {[o.name for o in graph.output]}.")
    result = values.get(graph.output[0].name)
    if not isinstance(result, _Affine):
        raise ValueError(f"the graph output {graph.output[0].name!r} does not depend on the input.")
    if len(result.fshape) != 1:
        raise ValueError(
            f"the graph output must have shape (batch, classes), got feature shape {result.fshape}."
        )
    if result.depth != len(layers):
        raise ValueError(
            f"the graph output depends on layer {result.depth} but {len(layers)} ReLU layers were built: "
            "not a feed-forward chain."
        )
    layers.append(result.layer())
    return ReLUNetwork([W for W, _ in layers], [b for _, b in layers],
                       input_shape=fshape if len(fshape) == 3 else None)


# -- operator semantics -------------------------------------------------------------------------------------
def _const(node, value, what: str) -> np.ndarray:
    if isinstance(value, _Affine):
        raise ValueError(f"{_where(node)}: {what} must be a constant (an initializer), not the input.")
    if value is None:
        raise ValueError(f"{_where(node)}: {what} is missing.")
    return value


def _bias(node, const: np.ndarray, fshape: tuple[int, ...]) -> np.ndarray:
    """A constant added to a per-example tensor of feature shape ``fshape``, flattened (batch axis size 1)."""
    full = (1, *fshape)
    try:
        b = np.broadcast_to(const, full)
    except ValueError:
        b = None
    if b is None:
        raise ValueError(
            f"{_where(node)}: constant of shape {const.shape} does not broadcast to one example's "
            f"shape {full}."
        )
    return np.array(b, dtype=np.float64).reshape(-1)


def _apply(op: str, node, ins: list, attrs: dict, layers: list, batch: int | None):
    if op == "Constant":
        if "value" not in attrs:
            raise ValueError(f"{_where(node)}: only the `value` attribute is supported, got {sorted(attrs)}.")
        from onnx import numpy_helper

        return np.asarray(numpy_helper.to_array(attrs["value"]), dtype=np.float64)
    if op == "Identity":
        return ins[0]
    x = ins[0]
    if op == "Relu":
        if not isinstance(x, _Affine):
            return np.maximum(_const(node, x, "input"), 0.0)
        if x.depth != len(layers):
            raise ValueError(
                f"{_where(node)}: its input depends on layer {x.depth}, but {len(layers)} ReLU layers "
                "already exist (a skip connection or a second branch): not a feed-forward chain."
            )
        layers.append(x.layer())
        return _Affine(None, np.zeros(x.size), len(layers), x.fshape)
    if op == "Flatten":
        axis = int(attrs.get("axis", 1))
        if not isinstance(x, _Affine):
            shape = x.shape
            a = axis + x.ndim if axis < 0 else axis
            return x.reshape(int(np.prod(shape[:a], dtype=np.int64)), -1)
        if (axis + 1 + len(x.fshape) if axis < 0 else axis) != 1:
            raise ValueError(f"{_where(node)}: only axis = 1 (keep the batch axis) is supported, got {axis}.")
        return replace(x, fshape=(x.size,))
    if op == "Reshape":
        shape = _const(node, ins[1] if len(ins) > 1 else None, "the target shape").astype(np.int64)
        if int(attrs.get("allowzero", 0)) and 0 in shape.tolist():
            raise ValueError(f"{_where(node)}: allowzero = 1 with a 0 in the target shape is not supported.")
        if not isinstance(x, _Affine):
            return x.reshape([x.shape[i] if s == 0 else s for i, s in enumerate(shape.tolist())])
        target = shape.tolist()
        ok = False
        if len(target) == 2:
            t0, t1 = target
            if t0 == -1:
                ok = t1 == x.size
            elif t0 == 0 or (t0 > 0 and (batch is None or t0 == batch)):
                ok = t1 in (-1, x.size)
        if not ok:
            raise ValueError(
                f"{_where(node)}: only reshapes that flatten one example are supported (target [1, -1], "
                f"[-1, {x.size}], [0, -1] or [N, {x.size}]); got target {target} for feature shape "
                f"{x.fshape}."
            )
        return replace(x, fshape=(x.size,))
    if op in ("Add", "Sub"):
        a, b = ins[0], ins[1]
        sign = -1.0 if op == "Sub" else 1.0
        if not isinstance(a, _Affine) and not isinstance(b, _Affine):
            return a + sign * b
        if isinstance(a, _Affine) and isinstance(b, _Affine):
            if a.depth != b.depth or a.fshape != b.fshape:
                raise ValueError(
                    f"{_where(node)}: adds tensors of layers {a.depth} and {b.depth} (feature shapes "
                    f"{a.fshape} and {b.fshape}): not a feed-forward chain."
                )
            return _Affine(a.matrix() + sign * b.matrix(), a.c + sign * b.c, a.depth, a.fshape)
        if isinstance(a, _Affine):
            return replace(a, c=a.c + sign * _bias(node, b, a.fshape))
        if sign == 1.0:  # constant + affine
            return replace(b, c=_bias(node, a, b.fshape) + b.c)
        return _Affine(-b.matrix(), _bias(node, a, b.fshape) - b.c, b.depth, b.fshape)  # constant − affine
    if op == "MatMul":
        a, B = ins[0], ins[1]
        if not isinstance(a, _Affine):
            if isinstance(B, _Affine):
                raise ValueError(
                    f"{_where(node)}: the input must be the left operand (x @ W with W constant)."
                )
            return a @ B
        B = _const(node, B, "the right operand (the weight matrix)")
        return _linear(node, a, B, 1.0, layers)
    if op == "Gemm":
        a = ins[0]
        if int(attrs.get("transA", 0)) != 0:
            raise ValueError(f"{_where(node)}: transA = 1 is not supported (input must be (batch, d)).")
        B = _const(node, ins[1] if len(ins) > 1 else None, "B (the weight matrix)")
        if B.ndim != 2:
            raise ValueError(f"{_where(node)}: B must be a 2-d matrix, got shape {B.shape}.")
        if int(attrs.get("transB", 0)):
            B = B.T
        alpha = float(attrs.get("alpha", 1.0))
        beta = float(attrs.get("beta", 1.0))
        C = ins[2] if len(ins) > 2 else None
        if not isinstance(a, _Affine):
            a = _const(node, a, "A")
            y = alpha * (a @ B)
            return y if C is None else y + beta * _const(node, C, "C")
        if len(a.fshape) != 1:
            raise ValueError(f"{_where(node)}: input must be (batch, features), got features {a.fshape}.")
        y = _linear(node, a, B, alpha, layers)
        if C is not None:
            y.c = y.c + beta * _bias(node, _const(node, C, "C (the bias)"), y.fshape)
        return y
    if not isinstance(x, _Affine):
        raise ValueError(f"{_where(node)}: its input must be computed from the graph input, not a constant.")
    if op == "Conv":
        return _conv(node, x, _const(node, ins[1] if len(ins) > 1 else None, "W (the kernel)"),
                     ins[2] if len(ins) > 2 else None, attrs)
    if op == "BatchNormalization":
        params = [_const(node, ins[k] if len(ins) > k else None, what)
                  for k, what in enumerate(("scale", "B", "mean", "var"), start=1)]
        return _batch_norm(node, x, *params, attrs)
    if op == "AveragePool":
        return _average_pool(node, x, attrs)
    raise AssertionError(op)  # pragma: no cover - SUPPORTED_OPS and this function disagree


def _linear(node, a: _Affine, B: np.ndarray, alpha: float, layers: list) -> _Affine:
    """``alpha * (a @ B)`` for an affine ``a`` with one feature axis and a constant 2-d ``B``."""
    if B.ndim != 2:
        raise ValueError(f"{_where(node)}: the weight matrix must be 2-d, got shape {B.shape}.")
    if len(a.fshape) != 1:
        raise ValueError(
            f"{_where(node)}: the input must be (batch, features), got feature shape {a.fshape}; "
            "flatten first."
        )
    if B.shape[0] != a.size:
        raise ValueError(f"{_where(node)}: weight of shape {B.shape} does not fit input width {a.size}.")
    W = B.T if alpha == 1.0 else alpha * B.T
    if a.conv is not None:
        A = a.conv.transpose(W)  # W @ (the convolution's matrix), matrix-free
    else:
        A = W if a.A is None else W @ a.A
    c = W @ a.c
    return _Affine(np.ascontiguousarray(A), c, a.depth, (B.shape[1],))


def _window(node, attrs: dict, x: _Affine, kernel_shape) -> dict:
    """Stride, padding and dilation of a 2-D ``Conv`` / ``AveragePool`` on ``x``, checked (Conv2d's keywords)."""
    auto_pad = attrs.get("auto_pad", b"NOTSET")
    auto_pad = auto_pad.decode() if isinstance(auto_pad, bytes) else str(auto_pad)
    if auto_pad not in ("NOTSET", ""):
        raise ValueError(f"{_where(node)}: auto_pad = {auto_pad!r} is not supported; give explicit `pads`.")
    if len(x.fshape) != 3 or len(kernel_shape) != 2:
        raise ValueError(
            f"{_where(node)}: only 2-D operators on inputs (N, C, H, W) are supported, got feature shape "
            f"{x.fshape} and kernel shape {list(kernel_shape)}."
        )
    pads = [int(p) for p in attrs.get("pads", (0, 0, 0, 0))]
    if len(pads) != 4 or pads[:2] != pads[2:]:
        raise ValueError(
            f"{_where(node)}: only symmetric pads [ph, pw, ph, pw] are supported (as torch pads), got {pads}."
        )
    return {
        "stride": tuple(int(v) for v in attrs.get("strides", (1, 1))),
        "padding": tuple(pads[:2]),
        "dilation": tuple(int(v) for v in attrs.get("dilations", (1, 1))),
    }


def _conv2d(node, kernel, shape, **kwargs) -> Conv2d:
    try:
        return Conv2d(kernel, shape, **kwargs)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"{_where(node)}: {exc}") from None


def _conv(node, x: _Affine, K: np.ndarray, bias, attrs: dict) -> _Affine:
    """``Conv``: a Conv2d layer on the layer input, or composed into the dense map of what precedes it."""
    if K.ndim != 4:
        raise ValueError(f"{_where(node)}: only 2-D convolutions are supported, got a kernel of shape {K.shape}.")
    if "kernel_shape" in attrs and [int(k) for k in attrs["kernel_shape"]] != list(K.shape[2:]):
        raise ValueError(
            f"{_where(node)}: kernel_shape {list(attrs['kernel_shape'])} differs from the kernel's shape {K.shape}."
        )
    conv = _conv2d(node, K, x.fshape, groups=int(attrs.get("group", 1)), **_window(node, attrs, x, K.shape[2:]))
    b = np.zeros(K.shape[0]) if bias is None else _const(node, bias, "B (the bias)").reshape(-1)
    if b.shape != (K.shape[0],):
        raise ValueError(f"{_where(node)}: bias of shape {b.shape} for {K.shape[0]} output channels.")
    b = np.repeat(b, conv.out_shape[1] * conv.out_shape[2])
    if x.is_input:  # conv(h + c) + b = conv(h) + (conv(c) + b)
        return _Affine(None, conv.forward(x.c)[0] + b, x.depth, conv.out_shape, conv)
    y = x.then(conv.forward, conv.out_shape)
    y.c = y.c + b
    return y


def _batch_norm(node, x: _Affine, scale, B, mean, var, attrs: dict) -> _Affine:
    """Inference ``BatchNormalization``: folded into a Conv2d's kernel, otherwise into the dense map's rows."""
    if int(attrs.get("training_mode", 0)) or int(attrs.get("spatial", 1)) != 1:
        raise ValueError(f"{_where(node)}: only the inference form (training_mode = 0, spatial = 1) is supported.")
    C = x.fshape[0]
    scale, B, mean, var = (np.reshape(v, -1) for v in (scale, B, mean, var))
    if any(v.shape != (C,) for v in (scale, B, mean, var)):
        raise ValueError(
            f"{_where(node)}: scale, B, mean and var must have one entry per channel ({C}), got shapes "
            f"{[v.shape for v in (scale, B, mean, var)]}."
        )
    s = scale / np.sqrt(var + float(attrs.get("epsilon", 1e-5)))
    per = x.size // C
    c = np.repeat(s, per) * (x.c - np.repeat(mean, per)) + np.repeat(B, per)
    if x.conv is not None and x.fshape == x.conv.out_shape:
        return _Affine(None, c, x.depth, x.fshape, x.conv.with_kernel(x.conv.kernel * s[:, None, None, None]))
    return _Affine(np.repeat(s, per)[:, None] * x.matrix(), c, x.depth, x.fshape)


def _average_pool(node, x: _Affine, attrs: dict) -> _Affine:
    """``AveragePool`` as a linear map (window sums by a depthwise convolution of ones, divided by the count)."""
    if int(attrs.get("ceil_mode", 0)):
        raise ValueError(f"{_where(node)}: ceil_mode = 1 is not supported (windows would leave the input).")
    kernel_shape = [int(k) for k in attrs.get("kernel_shape", ())]
    window = _window(node, attrs, x, kernel_shape)
    if window["dilation"] != (1, 1):
        raise ValueError(f"{_where(node)}: dilations {list(window['dilation'])} are not supported.")
    C = x.fshape[0]
    sums = _conv2d(node, np.ones((C, 1, *kernel_shape)), x.fshape, groups=C, **window)
    if int(attrs.get("count_include_pad", 0)):
        count = float(np.prod(kernel_shape))
    else:  # only the input pixels of each window count
        count = sums.forward(np.ones(x.size))[0]
    return x.then(lambda rows: sums.forward(rows) / count, sums.out_shape)
