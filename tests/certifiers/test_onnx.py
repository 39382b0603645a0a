"""ONNX import: exported torch nets and hand-built graphs give the source weights exactly; others fail.

Oracles: the source weights (compared bit for bit after the float32 → float64 conversion), numpy evaluation of
the ONNX formulas, onnx's own reference evaluator run in float64, and (for convolutional networks) torch's
float64 forward pass of the exported model.
"""

from __future__ import annotations

import io
import sys
import warnings

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402
from onnx.reference import ReferenceEvaluator  # noqa: E402

from certifiers import Conv2d, ReLUNetwork, from_torch  # noqa: E402
from certifiers._load import load_network  # noqa: E402
from certifiers._onnx import from_onnx  # noqa: E402
from sdpsolve._errors import MissingDependencyError  # noqa: E402


def _torch_export(module, example, **kwargs) -> bytes:
    torch = pytest.importorskip("torch")
    buf = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            torch.onnx.export(module, (example,), buf, opset_version=17, dynamo=False, **kwargs)
        except (ImportError, ModuleNotFoundError) as exc:  # an exporter that needs onnxscript
            pytest.skip(f"torch.onnx.export unavailable here: {exc}")
    return buf.getvalue()


def _model(nodes, inputs, outputs, inits, opset=17):
    graph = helper.make_graph(nodes, "g", inputs, outputs, inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])


def _vi(name, shape, elem=TensorProto.DOUBLE):
    return helper.make_tensor_value_info(name, elem, shape)


def _init(name, arr, dtype=np.float64):
    return numpy_helper.from_array(np.asarray(arr, dtype=dtype), name)


def _reference(model, x):
    return ReferenceEvaluator(model).run(None, {model.graph.input[0].name: x})[0]


# -- torch.onnx.export ------------------------------------------------------------------------------------
@pytest.mark.parametrize("dynamic_batch", [False, True])
def test_torch_export_gives_identical_weights_and_logits(dynamic_batch):
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    net_t = torch.nn.Sequential(
        torch.nn.Flatten(),
        torch.nn.Linear(12, 7),
        torch.nn.ReLU(),
        torch.nn.Linear(7, 5),
        torch.nn.ReLU(),
        torch.nn.Linear(5, 3),
    ).eval()
    kwargs = {"dynamic_axes": {"x": {0: "N"}}, "input_names": ["x"]} if dynamic_batch else {}
    data = _torch_export(net_t, torch.zeros(1, 1, 4, 3), **kwargs)
    ops = [n.op_type for n in onnx.load_from_string(data).graph.node]
    assert "Relu" in ops and ("Gemm" in ops or "MatMul" in ops), ops

    net = from_onnx(data)
    source = from_torch(net_t)
    assert net.layer_sizes == source.layer_sizes == (12, 7, 5, 3)
    for W, Ws, b, bs in zip(net.weights, source.weights, net.biases, source.biases):
        np.testing.assert_array_equal(W, Ws)
        np.testing.assert_array_equal(b, bs)
    X = np.random.default_rng(1).uniform(0, 1, (20, 12))
    np.testing.assert_array_equal(net.logits(X), source.logits(X))
    with torch.no_grad():
        ref = net_t(torch.tensor(X.reshape(20, 1, 4, 3), dtype=torch.float32)).double().numpy()
    np.testing.assert_allclose(net.logits(X), ref, rtol=1e-5, atol=1e-5)


def test_torch_cnn_export_gives_conv_layers_and_torch_float64_logits():
    # Conv + BatchNorm (folded) → Conv2d layer; grouped Conv → Conv2d layer; AvgPool + Flatten + Linear → dense
    torch = pytest.importorskip("torch")
    nn = torch.nn
    torch.manual_seed(5)
    model = nn.Sequential(nn.Conv2d(1, 4, 3, stride=2, padding=1), nn.BatchNorm2d(4), nn.ReLU(),
                          nn.Conv2d(4, 8, 3, padding=1, groups=2), nn.ReLU(), nn.AvgPool2d(2), nn.Flatten(),
                          nn.Linear(8 * 2 * 2, 10))
    with torch.no_grad():
        bn = model[1]
        bn.running_mean.uniform_(-1.0, 1.0)
        bn.running_var.uniform_(0.5, 2.0)
        bn.weight.uniform_(-2.0, 2.0)
        bn.bias.uniform_(-1.0, 1.0)
    model.eval()
    # PRESERVE keeps the BatchNormalization node (EVAL would fuse it into the Conv in float32)
    data = _torch_export(model, torch.zeros(1, 1, 8, 8), training=torch.onnx.TrainingMode.PRESERVE,
                         dynamic_axes={"x": {0: "N"}}, input_names=["x"])
    ops = [n.op_type for n in onnx.load_from_string(data).graph.node]
    assert {"Conv", "BatchNormalization", "AveragePool", "Gemm"} <= set(ops), ops

    net = from_onnx(data)
    source = from_torch(model, input_shape=(1, 8, 8))
    assert net.input_shape == source.input_shape == (1, 8, 8)
    assert net.layer_sizes == source.layer_sizes == (64, 64, 128, 10)
    assert [type(W) for W in net.layers] == [type(W) for W in source.layers] == [Conv2d, Conv2d, np.ndarray]
    conv1, conv1_source = net.layers[1], source.layers[1]  # no BatchNorm: the exported kernel, bit for bit
    np.testing.assert_array_equal(conv1.kernel, conv1_source.kernel)
    np.testing.assert_array_equal(conv1.params(), conv1_source.params())
    assert net.layers[0].params().tolist() == [2, 2, 1, 1, 1, 1, 1, 1, 8, 8]

    X = np.random.default_rng(6).uniform(0, 1, (16, 64))
    with torch.no_grad():
        ref = model.double()(torch.tensor(X.reshape(16, 1, 8, 8))).numpy()
    scale = np.abs(ref).max()
    np.testing.assert_allclose(net.logits(X), ref, rtol=0, atol=1e-12 * scale)
    np.testing.assert_allclose(net.logits(X), source.logits(X), rtol=0, atol=1e-12 * scale)


def test_load_network_dispatches_onnx_files(tmp_path):
    torch = pytest.importorskip("torch")
    torch.manual_seed(3)
    net_t = torch.nn.Sequential(torch.nn.Linear(4, 6), torch.nn.ReLU(), torch.nn.Linear(6, 2))
    path = tmp_path / "net.onnx"
    path.write_bytes(_torch_export(net_t, torch.zeros(1, 4)))
    net = load_network(path)
    assert isinstance(net, ReLUNetwork)
    assert net.fingerprint() == from_torch(net_t).fingerprint()


# -- hand-built graphs --------------------------------------------------------------------------------------
def test_matmul_add_graph_with_reshape_gives_exact_weights():
    rng = np.random.default_rng(2)
    W0, b0 = rng.standard_normal((6, 5)).astype(np.float32), rng.standard_normal(5).astype(np.float32)
    W1, b1 = rng.standard_normal((5, 4)).astype(np.float32), rng.standard_normal(4).astype(np.float32)
    nodes = [
        helper.make_node("Reshape", ["x", "shape"], ["flat"], name="flatten_it"),
        helper.make_node("MatMul", ["flat", "W0"], ["h0"], name="mm0"),
        helper.make_node("Add", ["h0", "b0"], ["z0"], name="add0"),
        helper.make_node("Relu", ["z0"], ["a0"], name="relu0"),
        helper.make_node("Identity", ["a0"], ["a0i"], name="id"),
        helper.make_node("MatMul", ["a0i", "W1"], ["h1"], name="mm1"),
        helper.make_node("Add", ["b1", "h1"], ["y"], name="add1"),  # constant on the left
    ]
    inits = [_init("shape", [1, -1], np.int64), _init("W0", W0, np.float32), _init("b0", b0, np.float32),
             _init("W1", W1, np.float32), _init("b1", b1, np.float32)]
    model = _model(nodes, [_vi("x", [1, 1, 2, 3], TensorProto.FLOAT)], [_vi("y", [1, 4], TensorProto.FLOAT)],
                   inits)
    net = from_onnx(model)
    np.testing.assert_array_equal(net.weights[0], W0.T.astype(np.float64))
    np.testing.assert_array_equal(net.weights[1], W1.T.astype(np.float64))
    np.testing.assert_array_equal(net.biases[0], b0.astype(np.float64))
    np.testing.assert_array_equal(net.biases[1], b1.astype(np.float64))
    x = rng.uniform(0, 1, (1, 1, 2, 3)).astype(np.float32)
    np.testing.assert_allclose(net.logits(x.reshape(1, -1)), _reference(model, x), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("trans_b", [0, 1])
def test_gemm_alpha_beta_trans_b_match_reference_evaluator(trans_b):
    rng = np.random.default_rng(10 + trans_b)
    W0 = rng.standard_normal((3, 5))  # (in, out) when transB = 0
    B0 = W0.T if trans_b else W0
    b0 = rng.standard_normal((1, 5))  # (1, out) bias, broadcast over the batch
    W1 = rng.standard_normal((5, 2))
    nodes = [
        helper.make_node("Gemm", ["x", "B0", "C0"], ["z0"], alpha=0.75, beta=-2.0, transB=trans_b,
                         name="fc0"),
        helper.make_node("Relu", ["z0"], ["a0"], name="r0"),
        helper.make_node("Gemm", ["a0", "W1"], ["y"], name="fc1"),  # no bias, defaults alpha = beta = 1
    ]
    model = _model(nodes, [_vi("x", ["N", 3])], [_vi("y", ["N", 2])],
                   [_init("B0", B0), _init("C0", b0), _init("W1", W1)])
    net = from_onnx(model)
    np.testing.assert_allclose(net.weights[0], 0.75 * W0.T, rtol=1e-15)
    np.testing.assert_allclose(net.biases[0], -2.0 * b0.ravel(), rtol=1e-15)
    np.testing.assert_array_equal(net.weights[1], W1.T)
    np.testing.assert_array_equal(net.biases[1], np.zeros(2))
    X = rng.uniform(-1, 1, (8, 3))
    expected = np.maximum(0.75 * X @ W0 - 2.0 * b0, 0) @ W1
    np.testing.assert_allclose(net.logits(X), expected, rtol=1e-13, atol=1e-13)
    np.testing.assert_allclose(net.logits(X), _reference(model, X), rtol=1e-13, atol=1e-13)


def test_sub_constant_nodes_and_affine_sums_are_composed():
    # y = relu((x − μ) @ W0 + x @ V0) @ W1: a Constant, a Sub, and two affine branches of one layer summed
    rng = np.random.default_rng(4)
    mu, W0, V0, W1 = rng.standard_normal(3), rng.standard_normal((3, 4)), rng.standard_normal((3, 4)), \
        rng.standard_normal((4, 2))
    nodes = [
        helper.make_node("Constant", [], ["mu"], value=_init("mu_v", mu), name="const_mu"),
        helper.make_node("Sub", ["x", "mu"], ["xc"], name="center"),
        helper.make_node("MatMul", ["xc", "W0"], ["p"], name="mmA"),
        helper.make_node("MatMul", ["x", "V0"], ["q"], name="mmB"),
        helper.make_node("Add", ["p", "q"], ["z"], name="sum"),
        helper.make_node("Relu", ["z"], ["a"], name="relu"),
        helper.make_node("MatMul", ["a", "W1"], ["y"], name="out"),
    ]
    model = _model(nodes, [_vi("x", [1, 3])], [_vi("y", [1, 2])],
                   [_init("W0", W0), _init("V0", V0), _init("W1", W1)])
    net = from_onnx(model)
    assert net.layer_sizes == (3, 4, 2)
    X = rng.uniform(0, 1, (6, 3))
    np.testing.assert_allclose(net.logits(X), np.maximum((X - mu) @ W0 + X @ V0, 0) @ W1, rtol=1e-13,
                               atol=1e-13)
    np.testing.assert_allclose(net.logits(X[:1]), _reference(model, X[:1]), rtol=1e-13, atol=1e-13)


@pytest.mark.parametrize("count_include_pad", [0, 1])
def test_conv_batchnorm_avgpool_graph_matches_reference_evaluator(count_include_pad):
    # x − μ → Conv (stride, dilation, bias) → BN → Relu → Conv → AveragePool (padded) → Reshape → Gemm → BN →
    # Relu → MatMul: layers Conv2d (μ and BN folded), dense (Conv ∘ pool composed), dense (Gemm + BN), dense
    rng = np.random.default_rng(7)
    K0, b0 = rng.standard_normal((3, 2, 3, 3)), rng.standard_normal(3)
    K1 = rng.standard_normal((4, 3, 2, 2))
    bn0 = [rng.uniform(-2, 2, 3), rng.standard_normal(3), rng.standard_normal(3), rng.uniform(0.5, 2, 3)]
    W2, bn2 = rng.standard_normal((5, 4 * 2 * 6)), [rng.uniform(-2, 2, 5), rng.standard_normal(5),
                                                     rng.standard_normal(5), rng.uniform(0.5, 2, 5)]
    W3, mu = rng.standard_normal((5, 2)), rng.standard_normal((2, 1, 1))
    nodes = [
        helper.make_node("Sub", ["x", "mu"], ["xc"], name="center"),
        helper.make_node("Conv", ["xc", "K0", "b0"], ["c0"], strides=[2, 1], pads=[1, 2, 1, 2], dilations=[1, 2],
                         kernel_shape=[3, 3], name="conv0"),
        helper.make_node("BatchNormalization", ["c0", "s0", "B0", "m0", "v0"], ["n0"], epsilon=1e-3, name="bn0"),
        helper.make_node("Relu", ["n0"], ["a0"], name="relu0"),
        helper.make_node("Conv", ["a0", "K1"], ["c1"], name="conv1"),
        helper.make_node("AveragePool", ["c1"], ["p1"], kernel_shape=[3, 2], strides=[2, 1], pads=[1, 1, 1, 1],
                         count_include_pad=count_include_pad, name="pool1"),
        helper.make_node("Relu", ["p1"], ["a1"], name="relu1"),
        helper.make_node("Reshape", ["a1", "shape"], ["f1"], name="flat1"),
        helper.make_node("Gemm", ["f1", "W2"], ["g2"], transB=1, name="fc2"),
        helper.make_node("BatchNormalization", ["g2", "s2", "B2", "m2", "v2"], ["n2"], name="bn2"),
        helper.make_node("Relu", ["n2"], ["a2"], name="relu2"),
        helper.make_node("MatMul", ["a2", "W3"], ["y"], name="out"),
    ]
    inits = [_init("mu", mu), _init("K0", K0), _init("b0", b0), _init("K1", K1), _init("shape", [0, -1], np.int64),
             _init("W2", W2), _init("W3", W3)]
    inits += [_init(f"{k}0", v) for k, v in zip("sBmv", bn0)] + [_init(f"{k}2", v) for k, v in zip("sBmv", bn2)]
    model = _model(nodes, [_vi("x", ["N", 2, 7, 6])], [_vi("y", ["N", 2])], inits)
    net = from_onnx(model)
    assert [type(W) for W in net.layers] == [Conv2d, np.ndarray, np.ndarray, np.ndarray]
    assert net.input_shape == (2, 7, 6) and net.layer_sizes == (84, 3 * 4 * 6, 4 * 2 * 6, 5, 2)
    assert net.layers[0].params().tolist() == [2, 1, 1, 2, 1, 2, 1, 2, 7, 6]
    X = rng.uniform(0, 1, (4, 2, 7, 6))
    np.testing.assert_allclose(net.logits(X.reshape(4, -1)), _reference(model, X), rtol=1e-12, atol=1e-12)


# -- rejections ---------------------------------------------------------------------------------------------
def _single_op_model(op, name, **attrs):
    nodes = [
        helper.make_node("Gemm", ["x", "W"], ["h"], transB=1, name="fc"),
        helper.make_node(op, ["h"], ["a"], name=name, **attrs),
        helper.make_node("Gemm", ["a", "W2"], ["y"], transB=1, name="fc2"),
    ]
    return _model(nodes, [_vi("x", [1, 3])], [_vi("y", [1, 2])],
                  [_init("W", np.ones((3, 3))), _init("W2", np.ones((2, 3)))])


@pytest.mark.parametrize("op", ["Sigmoid", "Tanh", "LeakyRelu"])
def test_unsupported_activation_is_rejected_with_op_and_node_name(op):
    with pytest.raises(ValueError, match=rf"unsupported operator '{op}'.*'my_{op.lower()}_node'"):
        from_onnx(_single_op_model(op, f"my_{op.lower()}_node"))


def _image_op_model(op, name, n_features, **attrs):
    """x (1, 1, 4, 4) → Conv 3×3 (2 channels, padding 1) → ``op`` → Flatten → Gemm to 2 logits."""
    nodes = [
        helper.make_node("Conv", ["x", "K"], ["c"], pads=[1, 1, 1, 1], name="conv0"),
        helper.make_node(op, ["c"], ["p"], name=name, **attrs),
        helper.make_node("Flatten", ["p"], ["f"], name="flat"),
        helper.make_node("Gemm", ["f", "W"], ["y"], transB=1, name="fc"),
    ]
    return _model(nodes, [_vi("x", [1, 1, 4, 4])], [_vi("y", [1, 2])],
                  [_init("K", np.ones((2, 1, 3, 3))), _init("W", np.ones((2, n_features)))])


def test_max_pool_is_rejected_with_op_and_node_name():
    model = _image_op_model("MaxPool", "pool_max", 8, kernel_shape=[2, 2], strides=[2, 2])
    with pytest.raises(ValueError, match=r"unsupported operator 'MaxPool'.*'pool_max'"):
        from_onnx(model)


@pytest.mark.parametrize(("op", "attrs", "message"), [
    ("AveragePool", {"kernel_shape": [2, 2], "pads": [0, 0, 1, 1]}, r"AveragePool node 'bad'.*symmetric pads"),
    ("AveragePool", {"kernel_shape": [3, 3], "strides": [2, 2], "ceil_mode": 1}, r"AveragePool node 'bad'.*ceil_mode"),
    ("AveragePool", {"kernel_shape": [2, 2], "auto_pad": "SAME_UPPER"}, r"AveragePool node 'bad'.*auto_pad"),
    ("Conv", {"pads": [1, 0, 0, 1]}, r"Conv node 'bad'.*symmetric pads"),
    ("Conv", {"auto_pad": "VALID"}, r"Conv node 'bad'.*auto_pad"),
])
def test_unsupported_pooling_and_padding_are_rejected(op, attrs, message):
    if op == "Conv":  # the second convolution is the bad one
        model = _image_op_model("Identity", "id", 8)
        model.graph.node[1].CopyFrom(helper.make_node("Conv", ["c", "K1"], ["p"], name="bad", **attrs))
        model.graph.initializer.append(_init("K1", np.ones((2, 2, 1, 1))))
    else:
        model = _image_op_model(op, "bad", 8, **attrs)
    with pytest.raises(ValueError, match=message):
        from_onnx(model)


def test_conv_on_a_flat_input_is_rejected():
    nodes = [helper.make_node("Conv", ["x", "K"], ["y"], name="conv_flat")]
    model = _model(nodes, [_vi("x", [1, 4])], [_vi("y", [1, 2])], [_init("K", np.ones((2, 1, 3, 3)))])
    with pytest.raises(ValueError, match=r"Conv node 'conv_flat'.*2-D"):
        from_onnx(model)


def test_gemm_trans_a_is_rejected():
    nodes = [helper.make_node("Gemm", ["x", "W"], ["y"], transA=1, name="bad_gemm")]
    model = _model(nodes, [_vi("x", [3, 1])], [_vi("y", [1, 2])], [_init("W", np.ones((3, 2)))])
    with pytest.raises(ValueError, match=r"Gemm node 'bad_gemm'.*transA"):
        from_onnx(model)


def test_non_flattening_reshape_is_rejected():
    nodes = [
        helper.make_node("Reshape", ["x", "s"], ["r"], name="reshape_bad"),
        helper.make_node("Flatten", ["r"], ["f"], name="flat"),
        helper.make_node("Gemm", ["f", "W"], ["y"], transB=1, name="fc"),
    ]
    model = _model(nodes, [_vi("x", [1, 6])], [_vi("y", [1, 2])],
                   [_init("s", [1, 2, 3], np.int64), _init("W", np.ones((2, 6)))])
    with pytest.raises(ValueError, match=r"Reshape node 'reshape_bad'.*flatten"):
        from_onnx(model)


def test_skip_connection_is_rejected():
    nodes = [
        helper.make_node("Gemm", ["x", "W"], ["h"], transB=1, name="fc"),
        helper.make_node("Relu", ["h"], ["a"], name="relu"),
        helper.make_node("Add", ["a", "x"], ["s"], name="skip"),
        helper.make_node("Gemm", ["s", "W2"], ["y"], transB=1, name="fc2"),
    ]
    model = _model(nodes, [_vi("x", [1, 3])], [_vi("y", [1, 2])],
                   [_init("W", np.ones((3, 3))), _init("W2", np.ones((2, 3)))])
    with pytest.raises(ValueError, match=r"Add node 'skip'.*not a feed-forward chain"):
        from_onnx(model)


def test_bad_arguments_and_files(tmp_path):
    with pytest.raises(TypeError, match="path_or_model"):
        from_onnx(42)
    with pytest.raises(FileNotFoundError):
        from_onnx(tmp_path / "missing.onnx")
    junk = tmp_path / "junk.onnx"
    junk.write_bytes(b"\xff\x00 not a protobuf")
    with pytest.raises(ValueError, match="junk.onnx"):
        from_onnx(junk)
    two_inputs = _model([helper.make_node("Add", ["x", "z"], ["y"], name="add")],
                        [_vi("x", [1, 2]), _vi("z", [1, 2])], [_vi("y", [1, 2])], [])
    with pytest.raises(ValueError, match="exactly one input"):
        from_onnx(two_inputs)


def test_missing_onnx_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "onnx", None)
    with pytest.raises(MissingDependencyError, match=r"sdpsolve\[onnx\]"):
        from_onnx(b"")
