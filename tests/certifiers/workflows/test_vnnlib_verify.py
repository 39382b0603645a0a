"""Tests of ``sdpsolve vnnlib`` (certifiers._vnnlib_verify): sat / unsat / unknown / timeout on ONNX models.

Oracles used here:

* the float64 forward pass and :func:`certifiers._vnnlib.check_unsafe`: a ``sat`` witness must lie in the box
  and its outputs must satisfy the unsafe condition (also after a round trip through the printed text);
* exact enumeration for 2-input networks with one hidden layer: the network is affine on every cell of the
  arrangement of the hidden neurons' lines, so the minimum of a_qᵀ f(x) + b_q over the box is attained at a
  vertex of that arrangement (box corners, line–edge and line–line intersections) — ``unsat`` is allowed only
  when that minimum is > 0 for every disjunct, and the SDP stage's bound must be ≥ the exact maximum of
  −(a_qᵀ f(x) + b_q);
* dense sampling of the box for deeper 2-input networks (a lower bound on the maximum, so the SDP bound must
  stay above it);
* the clock: with a small ``timeout`` the call must return ``timeout`` within a small overshoot.
"""

from __future__ import annotations

import io
import itertools
import re
import time
import warnings

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

from certifiers._network import ReLUNetwork  # noqa: E402
from certifiers._onnx import from_onnx  # noqa: E402
from certifiers._vnnlib import check_unsafe, parse_vnnlib, read_vnnlib  # noqa: E402
from certifiers.workflows._vnnlib_verify import (  # noqa: E402
    VERIFY_METHODS,
    VerificationStatus,
    _reduced_network,
    _sdp_row_bound,
    verify_vnnlib,
)
from sdpsolve import cli  # noqa: E402

SAT, UNSAT, UNKNOWN, TIMEOUT = (VerificationStatus[s] for s in ("SAT", "UNSAT", "UNKNOWN", "TIMEOUT"))


# -- builders --------------------------------------------------------------------------------------------
def _onnx_bytes(net: ReLUNetwork, dtype=np.float64) -> bytes:
    """A Gemm/Relu chain with the network's weights (float64 tensors: exact)."""
    elem = TensorProto.DOUBLE if dtype == np.float64 else TensorProto.FLOAT
    nodes, inits, cur = [], [], "x"
    for i, (W, b) in enumerate(zip(net.weights, net.biases)):
        inits += [numpy_helper.from_array(W.astype(dtype), f"W{i}"), numpy_helper.from_array(b.astype(dtype), f"b{i}")]
        out = "y" if i == net.n_layers - 1 else f"h{i}"
        nodes.append(helper.make_node("Gemm", [cur, f"W{i}", f"b{i}"], [out], transB=1, name=f"fc{i}"))
        cur = out
        if i < net.n_layers - 1:
            nodes.append(helper.make_node("Relu", [cur], [f"r{i}"], name=f"relu{i}"))
            cur = f"r{i}"
    graph = helper.make_graph(
        nodes,
        "g",
        [helper.make_tensor_value_info("x", elem, [1, net.input_dim])],
        [helper.make_tensor_value_info("y", elem, [1, net.n_classes])],
        inits,
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]).SerializeToString()


def _torch_onnx_bytes(net: ReLUNetwork) -> bytes:
    """The network exported by torch.onnx (float32, as VNN-COMP models are)."""
    torch = pytest.importorskip("torch")
    buf = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            torch.onnx.export(net.to_torch(torch.float32), (torch.zeros(1, net.input_dim),), buf,
                              opset_version=17, dynamo=False)
        except (ImportError, ModuleNotFoundError) as exc:
            pytest.skip(f"torch.onnx.export unavailable here: {exc}")
    return buf.getvalue()


def _vnnlib(lo, hi, n_outputs: int, disjuncts: list[list[str]]) -> str:
    """VNN-LIB text: the box lo ≤ X ≤ hi, and the unsafe region (or (and c ...) ...) of output conditions."""
    lines = [f"(declare-const X_{i} Real)" for i in range(len(lo))]
    lines += [f"(declare-const Y_{j} Real)" for j in range(n_outputs)]
    for i, (a, b) in enumerate(zip(lo, hi)):
        lines += [f"(assert (>= X_{i} {float(a)!r}))", f"(assert (<= X_{i} {float(b)!r}))"]
    body = " ".join("(and " + " ".join(d) + ")" for d in disjuncts)
    lines.append(f"(assert (or {body}))")
    return "\n".join(lines) + "\n"


def _robustness_vnnlib(x, eps: float, label: int, n_outputs: int) -> str:
    """The VNN-COMP MNIST form: box [x − ε, x + ε] ∩ [0, 1], unsafe iff Y_j ≥ Y_label for some j ≠ label."""
    return _vnnlib(np.maximum(x - eps, 0.0), np.minimum(x + eps, 1.0), n_outputs,
                   [[f"(>= Y_{j} Y_{label})"] for j in range(n_outputs) if j != label])


def _random_net(rng, sizes, scale=1.0) -> ReLUNetwork:
    return ReLUNetwork(
        [scale * rng.standard_normal((o, i)) / np.sqrt(i) for i, o in zip(sizes[:-1], sizes[1:])],
        [0.3 * rng.standard_normal(o) for o in sizes[1:]],
    )


# -- the exact oracle for 2-input, one-hidden-layer networks ---------------------------------------------
def _arrangement_vertices(net: ReLUNetwork, lo, hi) -> np.ndarray:
    """Box corners, intersections of each neuron's line w·x + b = 0 with the box edges and with each other."""
    W, b = net.weights[0], net.biases[0]
    pts = [np.array(c, dtype=np.float64) for c in itertools.product(*zip(lo, hi))]
    for (w1, w2), c in zip(W, b):
        for axis, other in ((0, 1), (1, 0)):
            wa, wo = (w1, w2) if axis == 0 else (w2, w1)
            for v in (lo[axis], hi[axis]):
                if wo != 0:
                    p = np.empty(2)
                    p[axis], p[other] = v, -(c + wa * v) / wo
                    pts.append(p)
    for k, m in itertools.combinations(range(W.shape[0]), 2):
        M = W[[k, m]]
        if abs(np.linalg.det(M)) > 1e-12:
            pts.append(np.linalg.solve(M, -b[[k, m]]))
    P = np.array(pts)
    inside = np.all((P >= lo - 1e-12) & (P <= hi + 1e-12), axis=1)
    return np.clip(P[inside], lo, hi)


def _exact_min(net, lo, hi, a, c) -> float:
    """min over the box of aᵀ f(x) + c (one hidden layer, 2 inputs; exact up to float64 evaluation)."""
    P = _arrangement_vertices(net, lo, hi)
    return float(np.min(net.logits(P) @ a + c))


def test_exact_oracle_against_dense_grid():
    """The oracle itself: its minimum is ≤ every grid value and is attained (it is a value at a point)."""
    rng = np.random.default_rng(0)
    net = _random_net(rng, [2, 7, 3], scale=2.0)
    lo, hi = np.array([-0.3, 0.1]), np.array([0.4, 0.9])
    a, c = np.array([1.0, -1.0, 0.5]), 0.2
    g = np.stack(np.meshgrid(np.linspace(lo[0], hi[0], 301), np.linspace(lo[1], hi[1], 301)), -1).reshape(-1, 2)
    grid_min = float(np.min(net.logits(g) @ a + c))
    exact = _exact_min(net, lo, hi, a, c)
    assert exact <= grid_min + 1e-12 and exact >= grid_min - 0.05


# -- soundness on 2-input networks -------------------------------------------------------------------------
@pytest.mark.parametrize("methods", [("pgd",), ("ibp",), ("crown",), ("lp",), ("sdp-cert",), ("bab",),
                                     VERIFY_METHODS])
def test_answers_agree_with_exact_enumeration(methods):
    """Oracle: exact enumeration. ``unsat`` only if every disjunct's exact minimum is > 0; ``sat`` only with a
    witness that really is one; the full pipeline settles every case whose exact minimum is clearly away from 0
    (a counterexample found by the attack, or a proof), and the ``bab`` stage alone (the verify pipeline: complete
    on these small nets) every case whose exact minimum is not within 10⁻³ of 0."""
    counts = dict.fromkeys(VerificationStatus, 0)
    for seed in range(12):
        rng = np.random.default_rng(seed)
        net = from_onnx(_onnx_bytes(_random_net(rng, [2, int(rng.integers(3, 9)), 3], scale=2.0)))
        x = rng.uniform(-1, 1, 2)
        label = int(net.predict(x[None])[0])
        eps = float(rng.choice([0.02, 0.1, 0.4]))
        lo, hi = x - eps, x + eps
        spec = parse_vnnlib(_vnnlib(lo, hi, 3, [[f"(>= Y_{j} Y_{label})"] for j in range(3) if j != label]))
        exact = []
        for A, b, _ in spec.polytopes():
            exact.append(_exact_min(net, spec.lower, spec.upper, A[0], b[0]))
        res = verify_vnnlib(net, spec, methods=methods, seed=seed)
        counts[res.status] += 1
        msg = f"seed {seed}, methods {methods}: {res.status.value} ({res.reason}); exact minima {exact}"
        if res.status is UNSAT:
            assert min(exact) > 0, msg
        elif res.status is SAT:
            assert spec.contains_input(res.counterexample), msg
            np.testing.assert_array_equal(res.outputs, net.logits(res.counterexample[None])[0])
            assert check_unsafe(res.outputs, spec) and min(exact) <= 0, msg
        else:
            assert res.status is UNKNOWN, msg
        if methods == VERIFY_METHODS and abs(min(exact)) > 0.05:
            assert res.status is (UNSAT if min(exact) > 0 else SAT), msg
        if methods == ("bab",) and abs(min(exact)) > 1e-3:
            assert res.status is (UNSAT if min(exact) > 0 else SAT), msg
    if methods in (VERIFY_METHODS, ("bab",)):
        assert counts[SAT] >= 2 and counts[UNSAT] >= 2, counts  # the cases exercise both answers


@pytest.mark.parametrize("seed", range(6))
def test_sdp_stage_bound_dominates_the_exact_maximum(seed):
    """Oracle: exact enumeration (one hidden layer) or dense sampling (two): the SDP bound on
    max −(aᵀ f(x) + c) over an arbitrary box — reached through the rescaled network — is ≥ the true maximum,
    and the rescaled network reproduces −(aᵀ f(x(u)) + c) up to its stated rounding bound."""
    rng = np.random.default_rng(100 + seed)
    deep = seed % 2 == 1
    net = _random_net(rng, [2, 6, 5, 3] if deep else [2, 6, 3], scale=1.5)
    lo = rng.uniform(-2, 1, 2)
    hi = lo + rng.uniform(0.05, 1.5, 2)
    a, c = rng.standard_normal(3), float(rng.standard_normal())
    g, err = _reduced_network(net, lo, hi, a, c)
    u = rng.random((200, 2))
    w = np.nextafter(hi - lo, np.inf)
    target = -(net.logits(lo + w * u) @ a + c)
    assert 0 < err < 1e-12 * (1 + np.abs(target).max())
    np.testing.assert_allclose(g.logits(u)[:, 1], target, rtol=0, atol=err + 1e-13)
    assert np.all(g.logits(u)[:, 0] == 0)
    upper, _ = _sdp_row_bound(net, lo, hi, a, c, bounds="crown", rtol=1e-4, max_iter=200, time_limit=None, seed=0)
    if deep:
        grid = np.stack(np.meshgrid(*(np.linspace(lo[i], hi[i], 201) for i in range(2))), -1).reshape(-1, 2)
        true_max = float(np.max(-(net.logits(grid) @ a + c)))
    else:
        true_max = -_exact_min(net, lo, hi, a, c)
    assert upper >= true_max - 1e-12, f"seed {seed}: SDP bound {upper!r} < true maximum {true_max!r}"


def test_fixed_inputs_are_folded_into_the_bias():
    """A box with some zero-width coordinates: the rescaled network has only the free inputs."""
    rng = np.random.default_rng(5)
    net = _random_net(rng, [4, 5, 2])
    lo = np.array([0.1, 0.5, -0.2, 0.3])
    hi = np.array([0.1, 0.9, -0.2, 0.6])
    g, _ = _reduced_network(net, lo, hi, np.array([1.0, -1.0]), 0.0)
    assert g.input_dim == 2
    x = lo.copy()
    x[[1, 3]] = [0.7, 0.45]
    u = (x[[1, 3]] - lo[[1, 3]]) / np.nextafter(hi[[1, 3]] - lo[[1, 3]], np.inf)
    assert g.logits(u[None])[0, 1] == pytest.approx(-(net.logits(x[None])[0] @ [1.0, -1.0]), abs=1e-12)
    assert _reduced_network(net, lo, lo, np.array([1.0, -1.0]), 0.0) == (None, 0.0)


def test_sdp_proves_what_bound_propagation_cannot():
    """A 2-input case found by search where LP leaves a disjunct open and SDP-cert closes it; the exact minimum
    confirms the property holds."""
    for seed in range(200):
        rng = np.random.default_rng(seed)
        net = _random_net(rng, [2, 8, 3], scale=2.0)
        x = rng.uniform(-1, 1, 2)
        label = int(net.predict(x[None])[0])
        spec = parse_vnnlib(_vnnlib(x - 0.3, x + 0.3, 3, [[f"(>= Y_{j} Y_{label})"] for j in range(3) if j != label]))
        lp = verify_vnnlib(net, spec, methods=("pgd", "ibp", "crown", "lp"))
        if lp.status is not UNKNOWN:
            continue
        res = verify_vnnlib(net, spec)
        if res.status is UNSAT:
            assert "sdp-cert" in res.refuted_by and "sdp-cert" in res.reason
            assert min(_exact_min(net, spec.lower, spec.upper, A[0], b[0]) for A, b, _ in spec.polytopes()) > 0
            return
    pytest.fail("no case where SDP-cert refutes a disjunct that LP leaves open")


# -- special forms -----------------------------------------------------------------------------------------
def test_strict_and_non_strict_boundaries():
    """f(x) = x on [0, 1]: "Y_0 <= 0" is reached at x = 0 (sat), "Y_0 < 0" never (unsat)."""
    net = ReLUNetwork([np.array([[1.0]])], [np.zeros(1)])
    text = _vnnlib([0.0], [1.0], 1, [["(<= Y_0 0.0)"]])
    res = verify_vnnlib(net, parse_vnnlib(text))
    assert res.status is SAT and res.counterexample.tolist() == [0.0] and res.outputs.tolist() == [0.0]
    assert verify_vnnlib(net, parse_vnnlib(text.replace("(<= Y_0", "(< Y_0"))).status is UNSAT


def test_empty_and_full_unsafe_regions():
    net = ReLUNetwork([np.array([[1.0], [2.0]])], [np.zeros(2)])
    head = "(declare-const X_0 Real)(declare-const Y_0 Real)(declare-const Y_1 Real)"
    head += "(assert (>= X_0 0))(assert (<= X_0 1))"
    res = verify_vnnlib(net, parse_vnnlib(head + "(assert (<= 1 0))"))
    assert res.status is UNSAT and "contradictory" in res.reason
    res = verify_vnnlib(net, parse_vnnlib(head), methods=("ibp",))
    assert res.status is SAT and "no output condition" in res.reason


def test_conjunctions_need_one_refuted_row():
    """Unsafe: Y_0 ≥ 3 and Y_1 ≤ 0 with f = (x, x) on [0, 1]: the first row alone is impossible."""
    net = ReLUNetwork([np.array([[1.0], [1.0]])], [np.zeros(2)])
    spec = parse_vnnlib(_vnnlib([0.0], [1.0], 2, [["(>= Y_0 3.0)", "(<= Y_1 0.0)"]]))
    res = verify_vnnlib(net, spec, methods=("ibp",))
    assert res.status is UNSAT and res.refuted_by == ("ibp",)
    spec = parse_vnnlib(_vnnlib([0.0], [1.0], 2, [["(>= Y_0 0.5)", "(<= Y_1 0.6)"]]))
    res = verify_vnnlib(net, spec)
    assert res.status is SAT and 0.5 <= res.counterexample[0] <= 0.6


def test_unknown_when_the_methods_are_too_weak():
    """f(x) = relu(x) − relu(x + 1) + 1 = relu(−x) ≥ 0 on [−1, 1]: IBP's lower bound is −1, so IBP alone leaves
    "Y_0 ≤ −0.5" open (unknown; no attack runs); CROWN's backward bound is exactly 0 and refutes it."""
    net = ReLUNetwork([np.array([[1.0], [1.0]]), np.array([[1.0, -1.0]])], [np.array([0.0, 1.0]), np.array([1.0])])
    spec = parse_vnnlib(_vnnlib([-1.0], [1.0], 1, [["(<= Y_0 -0.5)"]]))
    res = verify_vnnlib(net, spec, methods=("ibp",))
    assert res.status is UNKNOWN and "1 of 1 disjuncts not refuted by ibp" in res.reason
    assert res.refuted_by == (None,) and [s.method for s in res.stages] == ["ibp"]
    res = verify_vnnlib(net, spec)
    assert res.status is UNSAT and res.refuted_by == ("crown",)


# -- MNIST-sized models from ONNX ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def mnist_files(tmp_path_factory):
    """A 784-16-10 random net exported by torch (float32 ONNX), a point it classifies, and three properties:
    a tiny box (safe), a large box (a counterexample exists), and a medium one for the timeout."""
    tmp = tmp_path_factory.mktemp("vnnlib")
    rng = np.random.default_rng(20240601)
    net64 = _random_net(rng, [784, 16, 10], scale=1.5)
    model = tmp / "mnist.onnx"
    model.write_bytes(_torch_onnx_bytes(net64))
    net = from_onnx(model)
    x = rng.random(784)
    label = int(net.predict(x[None])[0])
    files = {"model": model, "net": net, "x": x, "label": label, "dir": tmp}
    for name, eps in (("tiny", 1e-4), ("large", 0.5), ("medium", 0.02)):
        files[name] = tmp / f"{name}.vnnlib"
        files[name].write_text(_robustness_vnnlib(x, eps, label, 10))
    return files


def test_mnist_style_sat_and_unsat(mnist_files):
    net = mnist_files["net"]
    spec = read_vnnlib(mnist_files["large"])
    assert spec.as_margin_property() == (mnist_files["label"], tuple(j for j in range(10) if j != mnist_files["label"]))
    res = verify_vnnlib(net, spec, seed=1)
    assert res.status is SAT
    assert spec.contains_input(res.counterexample) and check_unsafe(net.logits(res.counterexample[None]), spec)
    assert np.argmax(res.outputs) != mnist_files["label"] or res.outputs.max() == res.outputs[mnist_files["label"]]
    res = verify_vnnlib(net, read_vnnlib(mnist_files["tiny"]))
    assert res.status is UNSAT and all(r is not None for r in res.refuted_by)
    assert [s.method for s in res.stages][0] == "pgd"


def test_mnist_style_sdp_cert_closes_what_lp_leaves_open(mnist_files):
    """At ε = 0.02 the attack finds nothing and LP leaves disjuncts open; SDP-cert refutes them (the answer
    is sound: every refuted disjunct rests on a rigorous bound)."""
    net, spec = mnist_files["net"], read_vnnlib(mnist_files["medium"])
    lp = verify_vnnlib(net, spec, methods=("pgd", "ibp", "crown", "lp"))
    assert lp.status is UNKNOWN
    res = verify_vnnlib(net, spec)
    assert res.status is UNSAT, res.reason
    open_after_lp = [q for q, r in enumerate(lp.refuted_by) if r is None]
    assert all(res.refuted_by[q] == "sdp-cert" for q in open_after_lp)
    assert [s.method for s in res.stages] == [m for m in VERIFY_METHODS if m != "bab"]  # done before bab


def test_timeout_stops_the_work(mnist_files):
    """Oracle: the clock. Zero time: nothing runs; a small budget with the SDP stage: the call returns
    ``timeout`` soon after the budget (the solver's time limit, then one certified bound)."""
    net, spec = mnist_files["net"], read_vnnlib(mnist_files["medium"])
    res = verify_vnnlib(net, spec, timeout=0)
    assert res.status is TIMEOUT and res.stages == () and res.to_vnncomp() == "timeout"
    start = time.perf_counter()
    res = verify_vnnlib(net, spec, timeout=0.3, methods=("sdp-cert",))
    wall = time.perf_counter() - start
    assert res.status is TIMEOUT, res.reason
    assert wall < 0.3 + 2.0, f"ran {wall:.2f} s with a 0.3 s timeout"
    assert "time limit of 0.3 s" in res.reason


def test_validation_messages(mnist_files):
    net, spec = mnist_files["net"], read_vnnlib(mnist_files["tiny"])
    small = ReLUNetwork([np.ones((2, 3))], [np.zeros(2)])
    with pytest.raises(ValueError, match="784 inputs and 10 outputs, the network 3 inputs and 2 outputs"):
        verify_vnnlib(small, spec)
    with pytest.raises(ValueError, match="`methods` may contain"):
        verify_vnnlib(net, spec, methods=("pgd", "bogus"))
    with pytest.raises(ValueError, match="`timeout`"):
        verify_vnnlib(net, spec, timeout=-1)
    with pytest.raises(TypeError, match="`spec` must be a VNNLibSpec"):
        verify_vnnlib(net, "spec.vnnlib")


# -- the command line ------------------------------------------------------------------------------------------
def _parse_witness(text: str) -> dict[str, float]:
    return {name: float(v) for name, v in re.findall(r"\((\w+) ([^()\s]+)\)", text)}


def test_cli_sat_with_result_file(mnist_files, capsys):
    out_file = mnist_files["dir"] / "result.txt"
    code = cli.main(["vnnlib", str(mnist_files["model"]), str(mnist_files["large"]), "--out", str(out_file)])
    out, err = capsys.readouterr()
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0] == "sat" and "sdpsolve vnnlib: sat:" in err
    assert out_file.read_text() == out
    values = _parse_witness(out)
    x = np.array([values[f"X_{i}"] for i in range(784)])
    y = np.array([values[f"Y_{j}"] for j in range(10)])
    spec = read_vnnlib(mnist_files["large"])
    assert spec.contains_input(x)  # the printed values round-trip exactly (repr)
    np.testing.assert_array_equal(y, mnist_files["net"].logits(x[None])[0])
    assert check_unsafe(y, spec)


def test_cli_unsat_unknown_and_timeout(mnist_files, capsys):
    model = str(mnist_files["model"])
    assert cli.main(["vnnlib", model, str(mnist_files["tiny"]), "--method", "ibp,crown"]) == 0
    assert capsys.readouterr().out == "unsat\n"
    assert cli.main(["vnnlib", model, str(mnist_files["medium"]), "--method", "ibp"]) == 0
    out, err = capsys.readouterr()
    assert out == "unknown\n" and "not refuted by ibp" in err
    assert cli.main(["vnnlib", model, str(mnist_files["medium"]), "--timeout", "1e-6"]) == 0
    assert capsys.readouterr().out == "timeout\n"


def test_cli_bad_input(mnist_files, capsys, tmp_path):
    model, tiny = str(mnist_files["model"]), str(mnist_files["tiny"])
    bad = tmp_path / "bad.vnnlib"
    bad.write_text("(declare-const X_0 Real)\n(assert (<= X_0 1.0)\n")
    small = tmp_path / "small.vnnlib"
    small.write_text(_vnnlib([0.0], [1.0], 2, [["(>= Y_1 Y_0)"]]))
    junk = tmp_path / "junk.onnx"
    junk.write_bytes(b"not a model")
    cases = [
        (["vnnlib", str(tmp_path / "none.onnx"), tiny], "file not found"),
        (["vnnlib", model, str(tmp_path / "none.vnnlib")], "file not found"),
        (["vnnlib", str(junk), tiny], "not a readable ONNX model"),
        (["vnnlib", model, str(bad)], "bad.vnnlib:2:"),
        (["vnnlib", model, str(small)], "has 1 inputs and 2 outputs"),
        (["vnnlib", model, tiny, "--method", "magic"], "--method"),
        (["vnnlib", model, tiny, "--timeout", "-3"], "--timeout"),
        (["vnnlib", model, tiny, "--out", str(tmp_path / "no" / "dir" / "r.txt")], "--out"),
    ]
    for argv, needle in cases:
        assert cli.main(argv) == 2, argv
        out, err = capsys.readouterr()
        assert out == "" and needle in err and "Traceback" not in err, (argv, err)


def test_double_precision_onnx_gives_the_same_network(tmp_path):
    """The Gemm/Relu builder used above: a float64 ONNX model loads to exactly the source network."""
    net = _random_net(np.random.default_rng(3), [3, 4, 2])
    path = tmp_path / "n.onnx"
    path.write_bytes(_onnx_bytes(net))
    loaded = from_onnx(path)
    for W, V in zip(net.weights, loaded.weights):
        np.testing.assert_array_equal(W, V)
