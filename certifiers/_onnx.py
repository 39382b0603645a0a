"""Read feed-forward ReLU networks from ONNX files (needs the optional ``onnx`` package).

Supported graphs are chains ``x → affine → Relu → affine → Relu → … → affine`` written with the operators

* ``Gemm`` (``transA = 0``, ``transB`` 0 or 1, any ``alpha`` / ``beta``, optional ``C``),
* ``MatMul`` (activation on the left, a constant 2-d matrix on the right) and ``Add`` / ``Sub`` (a constant
  bias, or two affine expressions of the same layer),
* ``Relu``, ``Flatten`` (``axis = 1``), ``Reshape`` (only to flatten: target ``[1, -1]``, ``[-1, d]``,
  ``[0, -1]`` or ``[N, d]``), ``Identity``, ``Constant``.

Weights come from the graph's initializers (or ``Constant`` nodes). The first axis of the single graph input
is the batch axis; the remaining axes are flattened in C order, as ``torch.nn.Flatten`` does. Consecutive
affine operators are composed into one layer in float64, so a ``MatMul`` followed by an ``Add`` gives exactly
the stored weights and bias. Any other operator raises ``ValueError`` naming its type and node name.

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
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ._network import ReLUNetwork

#: operator types :func:`from_onnx` understands
SUPPORTED_OPS = ("Gemm", "MatMul", "Add", "Sub", "Relu", "Flatten", "Reshape", "Identity", "Constant")


@dataclass
class _Affine:
    """A tensor equal to ``A @ h + c`` per example, h the input of hidden layer ``depth`` (A None: identity).

    ``fshape`` is the tensor's shape without the batch axis; A and c act on its C-order flattening.
    """

    A: np.ndarray | None
    c: np.ndarray
    depth: int
    fshape: tuple[int, ...]

    @property
    def size(self) -> int:
        return int(np.prod(self.fshape, dtype=np.int64))

    def matrix(self, width: int) -> np.ndarray:
        return np.eye(width) if self.A is None else self.A


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

    Raises
    ------
    ValueError
        For an operator outside :data:`SUPPORTED_OPS` (naming its type and node name), for a supported
        operator used in a way that is not a feed-forward ReLU chain (e.g. ``Gemm`` with ``transA = 1``, a
        skip connection, a non-flattening ``Reshape``), or for a graph without exactly one input and output.
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
    input_dim = int(np.prod(fshape))
    values[inputs[0].name] = _Affine(None, np.zeros(input_dim), 0, fshape)

    layers: list[tuple[np.ndarray, np.ndarray]] = []
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
    width = layers[-1][0].shape[0] if layers else input_dim
    layers.append((result.matrix(width), result.c))
    return ReLUNetwork([W for W, _ in layers], [b for _, b in layers])


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
        if len(x.fshape) != 1:
            raise ValueError(f"{_where(node)}: ReLU of feature shape {x.fshape}; flatten it first.")
        width = layers[-1][0].shape[0] if layers else x.size
        layers.append((x.matrix(width), x.c))
        return _Affine(None, np.zeros(x.size), len(layers), x.fshape)
    if op == "Flatten":
        axis = int(attrs.get("axis", 1))
        if not isinstance(x, _Affine):
            shape = x.shape
            a = axis + x.ndim if axis < 0 else axis
            return x.reshape(int(np.prod(shape[:a], dtype=np.int64)), -1)
        if (axis + 1 + len(x.fshape) if axis < 0 else axis) != 1:
            raise ValueError(f"{_where(node)}: only axis = 1 (keep the batch axis) is supported, got {axis}.")
        return _Affine(x.A, x.c, x.depth, (x.size,))
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
        return _Affine(x.A, x.c, x.depth, (x.size,))
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
            width = layers[-1][0].shape[0] if layers else a.size
            return _Affine(a.matrix(width) + sign * b.matrix(width), a.c + sign * b.c, a.depth, a.fshape)
        if isinstance(a, _Affine):
            return _Affine(a.A, a.c + sign * _bias(node, b, a.fshape), a.depth, a.fshape)
        # constant − affine
        width = layers[-1][0].shape[0] if layers else b.size
        return _Affine(sign * b.matrix(width), _bias(node, a, b.fshape) + sign * b.c, b.depth, b.fshape)
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
    A = W if a.A is None else W @ a.A
    c = W @ a.c
    return _Affine(np.ascontiguousarray(A), c, a.depth, (B.shape[1],))
