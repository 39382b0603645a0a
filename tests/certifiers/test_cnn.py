"""Tests of convolutional networks: the matrix-free :class:`certifiers.Conv2d` layer, CNNs in
:class:`certifiers.ReLUNetwork`, :func:`certifiers.from_torch` for Conv2d/BatchNorm/AvgPool, and every certifier,
attack and ``sdpsolve certify`` on CNNs.

Oracles used here:

* **Conv2d**: the dot test ⟨forward(x), y⟩ = ⟨x, transpose(y)⟩ (to 1e-12 relative to ⟨|x|, |M|ᵀ|y|⟩, the
  rounding scale); the matrix built entry by entry from the definition of a convolution in the test (index
  arithmetic only, so equality is exact) and torch's float64 ``conv2d`` applied to the identity basis (exact:
  every entry is one kernel entry times 1); elementwise |M|, max(M, 0), min(M, 0) of that matrix.
* **CNN = unrolled network**: the same network with every convolution replaced by its dense matrix
  (``ReLUNetwork(net.weights, net.biases)``) is the same function. Its logits agree to 1e-12 relative (torch's
  convolution and a matrix product round differently); IBP, CROWN and the LP run on the same dense matrices and
  must agree to 1e-9 relative (measured: bit-identical); SDP-cert (which multiplies by ``layer_matrix``: the
  dense matrix for a tiny CNN) agrees within its tolerance, 1e-3 (measured: bit-identical), and with the
  convolutions' CSR matrices forced its instance's products agree to 1e-12 and its decisions (certified or not
  per target) are the same; the strong attack (float64 torch: convolution modules against Linear modules) and
  PGD (float32 torch) with the same seeds visit the same points (measured: bit-identical; asserted to 1e-9,
  since the two torch modules round their products differently).
* **Exact worst cases**: the MILP of Tjeng et al. (:func:`certifiers._milp.exact_margin_max`, HiGHS) on the
  unrolled network: every certified bound (ibp, crown, lp, sdp-cert) is ≥ the margin of the MILP's incumbent (a
  real point) − 1e-7, the strong attack's margins are ≤ the MILP's dual bound + 1e-7, and ``verify`` never says
  "verified" where the MILP finds a positive margin, nor "falsified" without a witness that
  :func:`certifiers.confirm_witness` accepts.
* **torch**: the float64 eval-mode torch module (BatchNorm with non-trivial running statistics and affine
  parameters) is the reference for :func:`from_torch` (to 1e-12 relative); ``to_torch`` and the .npz round trip
  must reproduce the logits; the fingerprint of a dense network is the pre-convolution formula (sha256 over
  shape, W, b per layer), recomputed in the test and compared with a value hard-coded from the code before
  convolutions existed.
* **sdpsolve certify**: the same run on the CNN's .npz and on the unrolled network's .npz gives the same
  records; the records hold what the plugins compute on their own, and every attack witness is confirmed.

All networks are tiny (inputs (1, 5, 5), (2, 5, 5), (1, 8, 8)); the file runs in well under a minute on two
cores.
"""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest

import certifiers
import sdpsolve
from certifiers import Conv2d, ReLUNetwork, confirm_witness, from_npz, from_torch, get_certifier, strong_attack
from certifiers._attacks import pgd_attack
from certifiers._base import input_box
from certifiers._milp import exact_margin_max
from certifiers._outcome import Verdict
from certifiers._verify import decide

torch = pytest.importorskip("torch")
nn = torch.nn

#: (in_shape, C_out, kernel_size, stride, padding, dilation, groups): every option, alone and together
CONV_CASES = [
    ((1, 5, 5), 2, (3, 3), 1, 0, 1, 1),
    ((2, 4, 4), 4, (3, 3), 1, 1, 1, 2),
    ((2, 5, 5), 3, (2, 3), (2, 1), (1, 0), 1, 1),
    ((3, 6, 5), 3, (3, 3), 2, 2, 2, 3),
    ((2, 4, 4), 2, (1, 1), 1, 0, 1, 1),
    ((4, 5, 4), 2, (2, 2), (1, 2), (0, 1), (2, 1), 2),
]


pytestmark = pytest.mark.usefixtures("one_thread")


def _conv(case, seed: int = 0) -> Conv2d:
    in_shape, c_out, k, s, p, d, g = case
    K = np.random.default_rng(seed).standard_normal((c_out, in_shape[0] // g, *k))
    return Conv2d(K, in_shape, stride=s, padding=p, dilation=d, groups=g)


def _pair(v):
    return (v, v) if isinstance(v, int) else tuple(v)


def _matrix_by_definition(conv: Conv2d) -> np.ndarray:
    """M[(co, ho, wo), (ci, h, w)] = K[co, ci − g·C_in/G, kh, kw] where h = ho·s − p + kh·d (same for w) and ci is in
    the group g of co: the definition of torch's Conv2d, written with loops."""
    C, H, W = conv.in_shape
    Co, Ho, Wo = conv.out_shape
    K = conv.kernel
    (sh, sw), (ph, pw), (dh, dw) = conv.stride, conv.padding, conv.dilation
    cin_g, cout_g = C // conv.groups, Co // conv.groups
    M = np.zeros((Co * Ho * Wo, C * H * W))
    for co in range(Co):
        g = co // cout_g
        for ho in range(Ho):
            for wo in range(Wo):
                row = (co * Ho + ho) * Wo + wo
                for c in range(cin_g):
                    ci = g * cin_g + c
                    for kh in range(K.shape[2]):
                        for kw in range(K.shape[3]):
                            h, w = ho * sh - ph + kh * dh, wo * sw - pw + kw * dw
                            if 0 <= h < H and 0 <= w < W:
                                M[row, (ci * H + h) * W + w] += K[co, c, kh, kw]
    return M


# ---------------------------------------------------------------------------------------------------------
# 1. the Conv2d layer
# ---------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("case", CONV_CASES)
def test_conv_dot_test_and_exact_matrices(case):
    conv = _conv(case, seed=len(str(case)))
    rng = np.random.default_rng(1)
    n_out, n_in = conv.shape
    assert conv.out_shape == torch.nn.functional.conv2d(
        torch.zeros((1, *conv.in_shape), dtype=torch.float64), torch.tensor(conv.kernel), None, conv.stride,
        conv.padding, conv.dilation, conv.groups).shape[1:]
    # dot test: <Mx, y> = <x, Mᵀy>, to 1e-12 relative to the rounding scale <|x|, |M|ᵀ|y|>
    X, Y = rng.standard_normal((5, n_in)), rng.standard_normal((5, n_out))
    lhs = np.sum(conv.forward(X) * Y, axis=1)
    rhs = np.sum(X * conv.transpose(Y), axis=1)
    scale = np.sum(conv.abs().forward(np.abs(X)) * np.abs(Y), axis=1)
    assert np.all(np.abs(lhs - rhs) <= 1e-12 * scale), (case, lhs - rhs, scale)
    # the matrix: the definition (exact), torch's conv of the identity basis (exact), the sparse one (exact)
    M = conv.matrix()
    np.testing.assert_array_equal(M, _matrix_by_definition(conv))
    eye = torch.eye(n_in, dtype=torch.float64).reshape(n_in, *conv.in_shape)
    ref = torch.nn.functional.conv2d(eye, torch.tensor(conv.kernel), None, conv.stride, conv.padding,
                                     conv.dilation, conv.groups).reshape(n_in, -1).numpy().T
    np.testing.assert_array_equal(M, ref)
    S = conv.sparse()
    assert S.format == "csr" and S.shape == conv.shape
    np.testing.assert_array_equal(S.toarray(), M)
    assert np.diff(S.indptr).max() <= conv.taps and conv.multiply_adds == n_out * conv.taps
    with pytest.raises(ValueError):
        M[0, 0] = 1.0  # the cached matrix is read-only
    np.testing.assert_array_equal(conv.abs().matrix(), np.abs(M))
    np.testing.assert_array_equal(conv.positive().matrix(), np.maximum(M, 0.0))
    np.testing.assert_array_equal(conv.negative().matrix(), np.minimum(M, 0.0))
    # products with the matrix agree with the matrix-free ones to rounding
    np.testing.assert_allclose(conv.forward(X), X @ M.T, rtol=0, atol=1e-13 * np.abs(X).max() * conv.taps)
    np.testing.assert_allclose(conv @ X[0], M @ X[0], rtol=0, atol=1e-13 * np.abs(X).max() * conv.taps)
    np.testing.assert_allclose(conv.transpose(Y), Y @ M, rtol=0, atol=1e-13 * np.abs(Y).max() * n_out)
    # params / from_params round trip
    again = Conv2d.from_params(conv.kernel, conv.params())
    assert conv.params().dtype == np.int64 and np.array_equal(again.params(), conv.params())
    assert (again.in_shape, again.out_shape, again.stride, again.padding, again.dilation, again.groups) == (
        conv.in_shape, conv.out_shape, conv.stride, conv.padding, conv.dilation, conv.groups)
    np.testing.assert_array_equal(again.matrix(), M)
    # to_torch: a module on flat vectors computing the same map (float64: to rounding)
    bias = rng.standard_normal(conv.out_shape[0])
    with torch.no_grad():
        out = conv.to_torch(bias, torch.float64)(torch.tensor(X)).numpy()
    np.testing.assert_allclose(out, X @ M.T + np.repeat(bias, n_out // len(bias)), rtol=1e-12, atol=1e-12)


def test_conv_products_of_read_only_inputs_do_not_warn():
    """torch warns (once per process, so the check runs in a fresh one) when handed a read-only NumPy array;
    the network's inputs are often read-only (an attack's ``x_adv``, a record's witness)."""
    import subprocess
    import sys

    code = (
        "import numpy as np\n"
        "from certifiers import Conv2d\n"
        "conv = Conv2d(np.ones((2, 1, 2, 2)), (1, 3, 3))\n"
        "x = np.arange(9.0); x.setflags(write=False)\n"
        "y = conv.forward(x); y.setflags(write=False)\n"
        "assert conv.forward(x).tolist() == (conv.matrix() @ x)[None].tolist()\n"
        "conv.transpose(y)\n"
    )
    run = subprocess.run([sys.executable, "-W", "error::UserWarning", "-c", code], capture_output=True, text=True,
                         timeout=120)
    assert run.returncode == 0, run.stderr[-2000:]


@pytest.mark.parametrize(
    ("make", "error", "message"),
    [
        (lambda: Conv2d(np.ones((3, 1, 2, 2)), (2, 4, 4), groups=2), ValueError, r"`groups` must be a positive "
         r"divisor of both C_in = 2 and C_out = 3"),
        (lambda: Conv2d(np.ones((2, 1, 2, 2)), (3, 4, 4), groups=3), ValueError, "`groups`"),
        (lambda: Conv2d(np.ones((2, 2, 2, 2)), (2, 4, 4), groups=1.0), TypeError, "`groups` must be an int"),
        (lambda: Conv2d(np.ones((1, 1, 5, 5)), (1, 4, 4)), ValueError, r"kernel .* does not fit the input"),
        (lambda: Conv2d(np.ones((1, 1, 3, 3)), (1, 4, 4), dilation=2), ValueError, "does not fit"),
        (lambda: Conv2d(np.ones((1, 2, 2, 2)), (3, 4, 4)), ValueError, r"`in_shape` has C = 3"),
        (lambda: Conv2d(np.ones((1, 1, 2, 2)), (4, 4)), ValueError, r"`in_shape` must be \(C, H, W\)"),
        (lambda: Conv2d(np.ones((1, 1, 2, 2)), (1, 0, 4)), ValueError, "`in_shape`"),
        (lambda: Conv2d(np.ones((1, 1, 2, 2)), None), TypeError, "`in_shape`"),
        (lambda: Conv2d(np.ones((1, 1, 2, 2)), (1, 4, 4), stride=True), TypeError, "`stride`"),
        (lambda: Conv2d(np.ones((1, 1, 2, 2)), (1, 4, 4), stride=(1, False)), TypeError, "`stride`"),
        (lambda: Conv2d(np.ones((1, 1, 2, 2)), (1, 4, 4), stride=0), ValueError, "`stride` must be >= 1"),
        (lambda: Conv2d(np.ones((1, 1, 2, 2)), (1, 4, 4), padding=-1), ValueError, "`padding` must be >= 0"),
        (lambda: Conv2d(np.ones((1, 1, 2, 2)), (1, 4, 4), dilation=(1, 2, 3)), TypeError, "`dilation`"),
        (lambda: Conv2d(np.full((1, 1, 2, 2), np.nan), (1, 4, 4)), ValueError, "`kernel` has NaN"),
        (lambda: Conv2d(np.ones((1, 2, 2)), (1, 4, 4)), ValueError, r"`kernel` must have shape"),
        (lambda: Conv2d.from_params(np.ones((1, 1, 2, 2)), [1, 1, 0]), ValueError, "10 entries"),
        (lambda: Conv2d(np.ones((1, 1, 2, 2)), (1, 3, 3)).forward(np.ones((2, 8))), ValueError,
         r"`X` must have shape \(N, 9\)"),
        (lambda: Conv2d(np.ones((1, 1, 2, 2)), (1, 3, 3)).transpose(np.ones(9)), ValueError,
         r"`Y` must have shape \(N, 4\)"),
    ],
)
def test_conv_bad_arguments_name_the_argument(make, error, message):
    with pytest.raises(error, match=message):
        make()


# ---------------------------------------------------------------------------------------------------------
# 2. a CNN and the same network unrolled into dense layers
# ---------------------------------------------------------------------------------------------------------
def _cnn_a(seed: int = 0) -> ReLUNetwork:
    """(1, 8, 8) → conv 3×3 pad 1 (2 channels) → conv 3×3 stride 2 pad 1 (2 channels) → 3 classes; torch-style
    per-channel biases. Both convolutions are sparse enough for ``layer_matrix`` to return CSR when the size
    threshold is lowered."""
    rng = np.random.default_rng(seed)
    c1 = Conv2d(rng.standard_normal((2, 1, 3, 3)) / 2, (1, 8, 8), padding=1)
    c2 = Conv2d(rng.standard_normal((2, 2, 3, 3)) / 3, c1.out_shape, stride=2, padding=1)
    W = rng.standard_normal((3, c2.shape[0])) / 2
    b1 = np.repeat(0.2 * rng.standard_normal(2), 64)
    b2 = np.repeat(0.2 * rng.standard_normal(2), 16)
    return ReLUNetwork([c1, c2, W], [b1, b2, 0.3 * rng.standard_normal(3)])


def _cnn_b(seed: int = 1) -> ReLUNetwork:
    """(2, 5, 5) → conv 3×3 groups 2, dilation 2, pad 2 (4 channels) → conv 2×2 stride 2 (2 channels, 8 units) →
    4 classes; per-pixel biases (not torch-style)."""
    rng = np.random.default_rng(seed)
    c1 = Conv2d(rng.standard_normal((4, 1, 3, 3)), (2, 5, 5), padding=2, dilation=2, groups=2)
    c2 = Conv2d(rng.standard_normal((2, 4, 2, 2)) / 2, c1.out_shape, stride=2)
    W = rng.standard_normal((4, c2.shape[0])) * 1.5
    return ReLUNetwork([c1, c2, W], [0.2 * rng.standard_normal(c1.shape[0]), 0.2 * rng.standard_normal(c2.shape[0]),
                                     0.3 * rng.standard_normal(4)])


def _unrolled(net: ReLUNetwork) -> ReLUNetwork:
    return ReLUNetwork(net.weights, net.biases)


def _batch(net: ReLUNetwork, seed: int, n: int = 4):
    X = np.random.default_rng(seed).random((n, net.input_dim))
    y = net.predict(X)
    y[-1] = (y[-1] + 1) % net.n_classes  # one misclassified example
    return X, y


def _close(a, b, rtol: float = 1e-9, atol: float = 1e-12):
    np.testing.assert_allclose(a, b, rtol=rtol, atol=atol)


@pytest.mark.parametrize("make", [_cnn_a, _cnn_b])
def test_cnn_and_unrolled_network_agree_on_logits_and_bounds(make):
    cnn = make()
    dense = _unrolled(cnn)
    assert cnn.has_convolutions and not dense.has_convolutions
    assert cnn.layer_sizes == dense.layer_sizes and cnn.input_shape == cnn.layers[0].in_shape
    assert cnn.multiply_adds < dense.multiply_adds == sum(W.size for W in dense.weights)
    for i, W in enumerate(cnn.weights):
        np.testing.assert_array_equal(cnn.dense_weight(i), W)
    X, y = _batch(cnn, 3)
    _close(cnn.logits(X), dense.logits(X), rtol=1e-12)
    acts_c, acts_d = cnn.activations(X), dense.activations(X)
    for a, b in zip(acts_c, acts_d):
        _close(a, b, rtol=1e-12)
    for eps in (0.02, 0.05):
        for name in ("ibp", "crown", "lp"):
            Bc, kc = get_certifier(name).bound_margins(cnn, X, y, eps)
            Bd, kd = get_certifier(name).bound_margins(dense, X, y, eps)
            assert kc == kd
            _close(Bc, Bd)


def test_cnn_and_unrolled_network_agree_on_attacks():
    """Oracle: the same attacks with the same seeds on the same function. The strong attack runs in float64
    torch (Unflatten/Conv2d/Flatten modules against Linear modules), PGD in float32 torch; the points visited
    were bit-identical when this was written, and are asserted equal to 1e-9 because the two kinds of torch
    module round their products differently."""
    for make in (_cnn_a, _cnn_b):
        cnn = make()
        dense = _unrolled(cnn)
        X, y = _batch(cnn, 5, n=5)
        for eps in (0.02, 0.05):
            a = strong_attack(cnn, X, y, eps, steps=40, rng=3)
            b = strong_attack(dense, X, y, eps, steps=40, rng=3)
            _close(a.x_adv, b.x_adv, rtol=0, atol=1e-9)
            _close(a.best_margins, b.best_margins, rtol=0, atol=1e-9)
            np.testing.assert_array_equal(a.success, b.success)
            for k in np.flatnonzero(a.success):
                assert confirm_witness(cnn, X[k], y[k], eps, a.x_adv[k])
            p = pgd_attack(cnn, X, y, eps, steps=20, restarts=2, rng=4)
            q = pgd_attack(dense, X, y, eps, steps=20, restarts=2, rng=4)
            _close(p.x_adv, q.x_adv, rtol=0, atol=1e-9)
            _close(p.best_margins, q.best_margins, rtol=0, atol=1e-9)
            np.testing.assert_array_equal(p.success, q.success)
            for name, opts in (("attack", {"steps": 30, "seed": 0}), ("pgd", {"steps": 20, "restarts": 2, "seed": 0})):
                Bc, _ = get_certifier(name, **opts).bound_margins(cnn, X, y, eps)
                Bd, _ = get_certifier(name, **opts).bound_margins(dense, X, y, eps)
                _close(Bc, Bd, rtol=0, atol=1e-9)


def test_sdpcert_on_a_cnn_agrees_with_the_unrolled_network():
    """Oracle: the unrolled network. A tiny CNN's ``layer_matrix`` is its dense matrix (below the sparse size
    threshold), so SDP-cert solves the same instance: the bounds agree within the solver's tolerance
    (1e-3 · max(1, |bound|); measured: bit-identical); both lie above the strong attack's margins."""
    cnn = _cnn_a(0)
    dense = _unrolled(cnn)
    assert all(isinstance(cnn.layer_matrix(i), np.ndarray) for i in range(3))
    X, _ = _batch(cnn, 7, n=2)
    y = cnn.predict(X)
    eps = 0.03
    attack = strong_attack(dense, X, y, eps, steps=40, rng=0)
    for opts in ({}, {"bounds": "crown", "triangle": True}):
        Bc, kc = get_certifier("sdp-cert", **opts).bound_margins(cnn, X, y, eps)
        Bd, kd = get_certifier("sdp-cert", **opts).bound_margins(dense, X, y, eps)
        assert kc == kd and kc in ("rigorous", "closed-form")
        np.testing.assert_allclose(Bc, Bd, rtol=0, atol=1e-3 * max(1.0, np.abs(Bd).max()))
        for B in (Bc, Bd):
            assert np.all(B >= attack.best_margins - 1e-9), (opts, B, attack.best_margins)


def test_sdpcert_with_sparse_conv_layers(monkeypatch):
    """Oracles: the unrolled network's instance (dense rows) and sound bounds.

    With the sparse size threshold lowered, SDP-cert multiplies by the convolutions' CSR matrices. The
    instance's products (constraint values, operator, constant) then agree with the unrolled network's to
    1e-12 relative (they differ only in summation order). The solver's path is not bit-stable under such
    rounding differences, and with early decision a reported bound is the one reached when the solve stopped
    (measured on such instances: up to 0.1 apart), so the plugin is checked for the same kind and the
    same decisions (certified or not, per target), bounds above the strong attack's margins, and, for every
    target it solved with CROWN's layer bounds, a bound no looser than CROWN's."""
    import certifiers._network as network_module
    from certifiers import SDPCertInstance

    cnn = _cnn_a(0)
    dense = _unrolled(cnn)
    monkeypatch.setattr(network_module, "SPARSE_MIN_ENTRIES", 1)
    assert all(type(cnn.layer_matrix(i)).__name__ == "csr_matrix" for i in (0, 1))
    assert isinstance(dense.layer_matrix(0), np.ndarray)
    X, _ = _batch(cnn, 7, n=2)
    y = cnn.predict(X)
    eps = 0.03
    rng = np.random.default_rng(0)
    for bounds in ("ibp", "crown"):
        a = SDPCertInstance(cnn, X[0], eps, label=int(y[0]), target=2, bounds=bounds, triangle=True)
        b = SDPCertInstance(dense, X[0], eps, label=int(y[0]), target=2, bounds=bounds, triangle=True)
        assert (a.n, a.m) == (b.n, b.m)
        theta = np.abs(rng.standard_normal(a.m))
        V = rng.standard_normal((a.n, 3))
        for u, v in ((a.constraint_values(V), b.constraint_values(V)),
                     (a.operator(theta).matmat(V), b.operator(theta).matmat(V)),
                     (a.start_multipliers(), b.start_multipliers())):
            np.testing.assert_allclose(u, v, rtol=0, atol=1e-12 * (1 + np.abs(v).max()))
        assert a.constant(theta) == pytest.approx(b.constant(theta), rel=1e-12, abs=1e-12)
    attack = strong_attack(dense, X, y, eps, steps=40, rng=0)
    crown, _ = get_certifier("crown").bound_margins(cnn, X, y, eps)
    for opts in ({}, {"bounds": "crown", "triangle": True}):
        plugin = get_certifier("sdp-cert", **opts)
        Bc, kc = plugin.bound_margins(cnn, X, y, eps)
        Bd, kd = get_certifier("sdp-cert", **opts).bound_margins(dense, X, y, eps)
        assert kc == kd
        np.testing.assert_array_equal(Bc < 0, Bd < 0)
        for B in (Bc, Bd):
            assert np.all(B >= attack.best_margins - 1e-9), (opts, B, attack.best_margins)
        if opts:
            for k, details in enumerate(plugin.last_details):
                for j in details:
                    assert Bc[k, j] <= crown[k, j] + 1e-9 * (1 + abs(crown[k, j])), (k, j, Bc[k, j], crown[k, j])
    others = np.ones(Bc.shape, dtype=bool)
    others[np.arange(len(y)), y] = False
    assert np.any(Bc[others] < 0) and np.any(Bc[others] > 0), "the batch must include certified and open targets"


@pytest.mark.parametrize("sparse_convs", [False, True])
def test_sdpcert_matrix_factored_in_its_envelope(monkeypatch, sparse_convs):
    """Oracles: to_dense's matrix (entry for entry) and eigvalsh. M(θ) of a CNN is arrow plus block tridiagonal
    with local blocks: its envelope plan borders row 0, the rigorous proof runs in the envelope, proves a t no
    smaller than λ_max(M(θ)) and refuses one just below it; an MLP's dense cross blocks keep the dense path."""
    import certifiers._network as network_module
    import certifiers._sdpcert_instance as instance_module
    from certifiers import SDPCertInstance
    from sdpsolve._cholesky import materialise
    from sdpsolve._operator import as_operator

    if sparse_convs:
        monkeypatch.setattr(network_module, "SPARSE_MIN_ENTRIES", 1)
    monkeypatch.setattr(instance_module, "ENVELOPE_SEARCH_MIN_N", 0)  # search an order at this small n too
    cnn = _cnn_a(0)
    X, _ = _batch(cnn, 7, n=1)
    inst = SDPCertInstance(cnn, X[0], 0.05, label=int(cnn.predict(X)[0]), target=2, bounds="crown", triangle=True)
    rng = np.random.default_rng(1)
    theta = np.abs(rng.standard_normal(inst.m))
    op = inst.operator(theta)
    B, err = op.to_dense()
    S, err_s = op.to_sparse()
    assert err_s == err and np.array_equal(S.toarray(), B)
    plan = op.sparse_plan()
    assert plan.border >= 1 and 0 in plan.perm[inst.n - plan.border :]
    rm = materialise(as_operator(op))
    assert rm.structure == "envelope" and rm.err == err
    lmax = float(np.linalg.eigvalsh(B)[-1])
    proof = sdpsolve.prove_lambda_max(op, estimate=lmax)
    assert proof.factorisation == "envelope"
    assert lmax <= proof.t <= lmax + 1e-9 * (1 + abs(lmax)) + 2 * err
    assert not rm.proves(np.zeros(inst.n), lmax - 1e-8 * (1 + abs(lmax)))[0]
    mlp = ReLUNetwork([np.random.default_rng(2).standard_normal((20, 30)), np.ones((3, 20))], [np.zeros(20),
                                                                                            np.zeros(3)])
    x = np.random.default_rng(3).random(30)
    inst2 = SDPCertInstance(mlp, x, 0.5, label=int(mlp.predict(x[None])[0]), target=(int(mlp.predict(x[None])[0]) + 1)
                            % 3)
    op2 = inst2.operator(np.abs(rng.standard_normal(inst2.m)))
    assert materialise(as_operator(op2)).structure == "dense"


# ---------------------------------------------------------------------------------------------------------
# 3. soundness on small CNNs against the exact MILP worst case
# ---------------------------------------------------------------------------------------------------------
def _small_cnn(seed: int) -> ReLUNetwork:
    """(1, 5, 5) → conv 3×3 pad 1 (3 channels, 75 units) → conv 3×3 stride 2 (2 channels, 8 units) → 3 classes."""
    rng = np.random.default_rng(seed)
    c1 = Conv2d(rng.standard_normal((3, 1, 3, 3)) / 2, (1, 5, 5), padding=1)
    c2 = Conv2d(rng.standard_normal((2, 3, 3, 3)) / 3, c1.out_shape, stride=2)
    W = rng.standard_normal((3, c2.shape[0])) / 2
    return ReLUNetwork([c1, c2, W], [0.2 * rng.standard_normal(c1.shape[0]), 0.2 * rng.standard_normal(c2.shape[0]),
                                     0.3 * rng.standard_normal(3)])


def test_certifiers_attack_and_verify_are_sound_against_the_exact_milp():
    verdicts = set()
    for seed in range(6):
        cnn = _small_cnn(seed)
        dense = _unrolled(cnn)
        x = np.random.default_rng(100 + seed).random(cnn.input_dim)
        label = int(cnn.predict(x[None])[0])
        eps = (0.03, 0.08, 0.15)[seed % 3]
        lo, hi = input_box(x[None], eps)
        milp = {j: exact_margin_max(dense, lo[0], hi[0], label, j) for j in range(3) if j != label}
        for j, m in milp.items():
            assert m.status == "optimal", (seed, j, m.status)
            assert m.value <= m.upper + 1e-7
        worst = max(m.value for m in milp.values())
        for name, opts in (("ibp", {}), ("crown", {}), ("lp", {}), ("sdp-cert", {}),
                           ("sdp-cert", {"bounds": "crown", "triangle": True})):
            B, _ = get_certifier(name, **opts).bound_margins(cnn, x[None], [label], eps)
            for j, m in milp.items():
                assert B[0, j] >= m.value - 1e-7, (
                    f"seed {seed}: {name} {opts} bound {B[0, j]:.9g} below the exact margin {m.value:.9g} (target {j})")
        res = strong_attack(cnn, x[None], [label], eps, rng=seed)
        for j, m in milp.items():
            assert res.best_margins[0, j] <= m.upper + 1e-7, (seed, j, res.best_margins[0, j], m.upper)
        if res.success[0]:
            assert confirm_witness(cnn, x, label, eps, res.x_adv[0])
        d = decide(cnn, x, label, eps, timeout=30.0, rng=0)
        verdicts.add(d.verdict)
        assert d.verdict is not Verdict.UNKNOWN, f"seed {seed}: undecided: {d}"
        if d.verdict is Verdict.VERIFIED:
            assert worst < 0, f"seed {seed}: verified, but the MILP finds margin {worst:.3g}"
        else:
            assert d.witness is not None and confirm_witness(cnn, x, label, eps, d.witness)
            assert confirm_witness(dense, x, label, eps, d.witness)
    assert verdicts == {Verdict.VERIFIED, Verdict.FALSIFIED}, "the instances must include both verdicts"


def test_gradcert_on_a_cnn_with_one_convolution_layer():
    """Oracles: the same network unrolled into a dense first layer (Grad-cert reads the convolution through its
    dense matrix, so the bounds agree to rounding) and the exact MILP of each margin (every bound above it)."""
    rng = np.random.default_rng(5)
    conv = Conv2d(rng.standard_normal((2, 1, 3, 3)) * 0.5, in_shape=(1, 5, 5), stride=2, padding=1)
    net = ReLUNetwork([conv, rng.standard_normal((3, conv.shape[0])) / 3], [0.1 * rng.standard_normal(conv.shape[0]),
                                                                           np.zeros(3)])
    X = rng.random((3, 25))
    y = net.predict(X)
    plugin = get_certifier("grad-cert")
    B, kind = plugin.bound_margins(net, X, y, 0.05)
    B_dense, _ = get_certifier("grad-cert").bound_margins(_unrolled(net), X, y, 0.05)
    _close(B, B_dense, rtol=1e-6, atol=1e-9)
    for k in range(3):
        lo, hi = input_box(X[k], 0.05)
        for j in range(3):
            if j != y[k]:
                exact = exact_margin_max(_unrolled(net), lo, hi, int(y[k]), j).value  # an attained margin
                assert B[k, j] >= exact - 1e-7, (k, j, B[k, j], exact)


def test_verify_plugin_on_a_cnn():
    cnn = _small_cnn(3)
    X, y = _batch(cnn, 11, n=3)
    records = [r.to_json() for r in get_certifier("verify", timeout=20.0).certify(cnn, X, y, 0.08)]
    assert records[-1]["verdict"] == "falsified" and records[-1]["stage"] == "clean"
    assert {r["verdict"] for r in records} == {"verified", "falsified"}, [(r["verdict"], r["stage"]) for r in records]
    for rec, x in zip(records, X):
        json.dumps(rec)
        assert rec["verdict"] in ("verified", "falsified")
        if rec["verdict"] == "falsified":
            assert confirm_witness(cnn, x, rec["label"], 0.08, rec["witness"])
        else:
            lo, hi = input_box(x[None], 0.08)
            for j in range(cnn.n_classes):
                if j != rec["label"]:
                    assert exact_margin_max(_unrolled(cnn), lo[0], hi[0], rec["label"], j).value < 0


# ---------------------------------------------------------------------------------------------------------
# 4. from_torch, to_torch, .npz, fingerprints
# ---------------------------------------------------------------------------------------------------------
def _randomise_batchnorm(module, gen):
    with torch.no_grad():
        for m in module.modules():
            if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
                n = m.num_features
                m.running_mean.copy_(torch.randn(n, generator=gen, dtype=torch.float64))
                m.running_var.copy_(0.2 + 2 * torch.rand(n, generator=gen, dtype=torch.float64))
                m.weight.copy_(torch.randn(n, generator=gen, dtype=torch.float64))
                m.bias.copy_(torch.randn(n, generator=gen, dtype=torch.float64))


def _torch_logits(module, X, shape):
    with torch.no_grad():
        return module(torch.tensor(X, dtype=torch.float64).reshape(len(X), *shape)).numpy()


def test_from_torch_folds_batchnorm_exactly_to_rounding():
    torch.manual_seed(0)
    module = nn.Sequential(
        nn.Conv2d(2, 3, 3, padding=1), nn.BatchNorm2d(3), nn.ReLU(),
        nn.Conv2d(3, 2, 3, stride=2, bias=False), nn.BatchNorm2d(2), nn.ReLU(), nn.Dropout(0.5),
        nn.Flatten(), nn.Linear(8, 6), nn.BatchNorm1d(6), nn.ReLU(),
        nn.Linear(6, 3),
    ).double()
    _randomise_batchnorm(module, torch.Generator().manual_seed(1))
    module.eval()
    net = from_torch(module, input_shape=(2, 5, 5))
    assert [type(W).__name__ for W in net.layers] == ["Conv2d", "Conv2d", "ndarray", "ndarray"]
    assert net.input_shape == (2, 5, 5) and net.layer_sizes == (50, 75, 8, 6, 3)
    X = np.random.default_rng(0).random((6, 50))
    ref = _torch_logits(module, X, (2, 5, 5))
    np.testing.assert_allclose(net.logits(X), ref, rtol=1e-12, atol=1e-12 * np.abs(ref).max())
    assert not module.training  # from_torch leaves the module as it was
    # the pre-activations of every layer agree too (the folding is per layer, not only in the logits)
    with torch.no_grad():
        h = torch.tensor(X).reshape(6, 2, 5, 5)
        z1 = module[1](module[0](h)).reshape(6, -1).numpy()
    np.testing.assert_allclose(net.activations(X)[1], np.maximum(z1, 0), rtol=1e-12, atol=1e-12 * np.abs(z1).max())


def test_from_torch_avgpool_and_composed_affine_parts_become_dense_layers():
    torch.manual_seed(1)
    module = nn.Sequential(
        nn.Conv2d(1, 2, 3, padding=1), nn.ReLU(),
        nn.AvgPool2d(2), nn.Conv2d(2, 2, 1), nn.ReLU(),  # pool + conv: one dense layer
        nn.Flatten(), nn.Linear(8, 5), nn.Linear(5, 4), nn.ReLU(),  # Linear then Linear: composed
        nn.Linear(4, 3),
    ).double().eval()
    net = from_torch(module, input_shape=(1, 4, 4))
    assert [type(W).__name__ for W in net.layers] == ["Conv2d", "ndarray", "ndarray", "ndarray"]
    assert net.layer_sizes == (16, 32, 8, 4, 3)
    X = np.random.default_rng(1).random((5, 16))
    ref = _torch_logits(module, X, (1, 4, 4))
    np.testing.assert_allclose(net.logits(X), ref, rtol=1e-12, atol=1e-12 * np.abs(ref).max())
    lin1, lin2 = module[6], module[7]
    W1, b1 = lin1.weight.detach().numpy(), lin1.bias.detach().numpy()
    W2, b2 = lin2.weight.detach().numpy(), lin2.bias.detach().numpy()
    np.testing.assert_allclose(net.weights[2], W2 @ W1, rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(net.biases[2], W2 @ b1 + b2, rtol=1e-13, atol=1e-15)
    # a dense first layer keeps the input shape it was given
    pool_first = nn.Sequential(nn.AvgPool2d(2), nn.Flatten(), nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2)).double()
    net2 = from_torch(pool_first, input_shape=(1, 4, 4))
    assert isinstance(net2.layers[0], np.ndarray) and net2.input_shape == (1, 4, 4)
    ref2 = _torch_logits(pool_first, X, (1, 4, 4))
    np.testing.assert_allclose(net2.logits(X), ref2, rtol=1e-12, atol=1e-12 * np.abs(ref2).max())


@pytest.mark.parametrize(
    ("layers", "shape", "message"),
    [
        (lambda: [nn.Conv2d(1, 2, 3), nn.ReLU(), nn.Linear(8, 2)], (1, 4, 4),
         r"layer 2 \(Linear\) receives images of shape \(2, 2, 2\): put an nn.Flatten before it"),
        (lambda: [nn.Linear(16, 2)], (1, 4, 4), r"layer 0 \(Linear\) receives images.*nn.Flatten"),
        (lambda: [nn.Conv2d(1, 2, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(2, 2)], (1, 4, 4),
         r"unsupported layer 2 \(MaxPool2d\)"),
        (lambda: [nn.Conv2d(1, 2, 3), nn.ReLU(), nn.Flatten(), nn.Linear(8, 2)], None,
         r"layer 0 \(Conv2d\) works on images: pass `input_shape=\(C, H, W\)`"),
        (lambda: [nn.Conv2d(3, 2, 3), nn.ReLU(), nn.Flatten(), nn.Linear(8, 2)], (1, 4, 4),
         r"layer 0 \(Conv2d\) takes 3 channels"),
        (lambda: [nn.Conv2d(1, 2, 3, padding="same"), nn.ReLU(), nn.Flatten(), nn.Linear(32, 2)], (1, 4, 4),
         r"layer 0 \(Conv2d\): padding='same' is not supported"),
        (lambda: [nn.Conv2d(1, 2, 3, padding=1, padding_mode="reflect"), nn.ReLU(), nn.Flatten(),
                  nn.Linear(32, 2)], (1, 4, 4), r"padding_mode 'reflect'"),
        (lambda: [nn.Conv2d(1, 2, 3), nn.ReLU(), nn.Flatten(), nn.Linear(8, 2)], (1, 4), r"`input_shape` must be"),
        (lambda: [nn.Unflatten(1, (1, 4, 4)), nn.Conv2d(1, 2, 3), nn.ReLU(), nn.Flatten(), nn.Linear(8, 2)],
         (1, 5, 5), r"layer 0 \(Unflatten\) unflattens into \(1, 4, 4\) but its input has shape \(1, 5, 5\)"),
        (lambda: [nn.Unflatten(2, (2, 2)), nn.Linear(2, 2)], None, r"layer 0 \(Unflatten\): only Unflatten\(1, ...\)"),
    ],
)
def test_from_torch_errors_name_the_layer(layers, shape, message):
    with pytest.raises(ValueError, match=message):
        from_torch(nn.Sequential(*layers()), input_shape=shape)


@pytest.mark.parametrize("make", [_cnn_a, _cnn_b])
def test_to_torch_npz_round_trip_and_from_torch_again(make, tmp_path):
    net = make()
    X = np.random.default_rng(2).random((4, net.input_dim))
    z = net.logits(X)
    module = net.to_torch(torch.float64)
    with torch.no_grad():
        ref = module(torch.tensor(X)).numpy()
    np.testing.assert_allclose(ref, z, rtol=1e-12, atol=1e-12 * np.abs(z).max())
    with torch.no_grad():
        ref32 = net.to_torch()(torch.tensor(X, dtype=torch.float32)).double().numpy()
    np.testing.assert_allclose(ref32, z, rtol=1e-4, atol=1e-4 * np.abs(z).max())
    # .npz: layer types, shapes, input shape, fingerprint and logits survive exactly
    net.save_npz(tmp_path / "cnn.npz")
    with np.load(tmp_path / "cnn.npz") as data:
        assert {"K0", "conv0", "K1", "conv1", "W2", "input_shape"} <= set(data.files)
    again = from_npz(tmp_path / "cnn.npz")
    assert [type(W) for W in again.layers] == [type(W) for W in net.layers]
    for a, b in zip(again.layers, net.layers):
        if isinstance(a, Conv2d):
            np.testing.assert_array_equal(a.kernel, b.kernel)
            np.testing.assert_array_equal(a.params(), b.params())
        else:
            np.testing.assert_array_equal(a, b)
    assert again.input_shape == net.input_shape and again.fingerprint() == net.fingerprint()
    np.testing.assert_array_equal(again.logits(X), z)
    assert certifiers.load_network(tmp_path / "cnn.npz").fingerprint() == net.fingerprint()
    # to_torch → from_torch: with torch-style per-channel biases the module is Unflatten/Conv2d/Flatten and comes
    # back as the same Conv2d layers, exactly in float64 (the Unflatten gives the input shape); a per-pixel bias
    # needs a bias module that from_torch refuses by name
    if make is _cnn_a:
        for shape in (None, net.input_shape):
            back = from_torch(module, input_shape=shape)
            assert [type(W) for W in back.layers] == [type(W) for W in net.layers]
            assert back.input_shape == net.input_shape and back.fingerprint() == net.fingerprint()
        back32 = from_torch(net.to_torch())
        assert back32.input_shape == net.input_shape
        np.testing.assert_allclose(back32.logits(X), z, rtol=1e-4, atol=1e-4 * np.abs(z).max())
    else:
        with pytest.raises(ValueError, match=r"unsupported layer 3 \(AddBias\)"):
            from_torch(module)


def test_fingerprint_of_a_dense_network_is_unchanged():
    """Oracle: sha256 over (shape as int64, W, b) per layer, first 32 hex digits — recomputed here, and the value
    the code gave before convolutions existed (commit 3a1e049^), hard-coded."""
    W0 = np.arange(12.0).reshape(4, 3) / 8 - 0.5
    b0 = np.array([0.25, -1.0, 0.0, 3.0])
    W1 = np.array([[1.0, -2.0, 0.5, 0.0], [0.0, 1.5, -1.0, 2.0]])
    b1 = np.array([-0.125, 0.75])
    h = hashlib.sha256()
    for W, b in ((W0, b0), (W1, b1)):
        h.update(np.asarray(W.shape, dtype=np.int64).tobytes())
        h.update(np.ascontiguousarray(W, dtype=np.float64).tobytes())
        h.update(np.ascontiguousarray(b, dtype=np.float64).tobytes())
    expected = h.hexdigest()[:32]
    assert expected == "007522a8f97b678fe704c1f28a6d215e"
    net = ReLUNetwork([W0, W1], [b0, b1])
    assert net.fingerprint() == expected
    assert ReLUNetwork([W0, W1], [b0, b1], input_shape=(1, 1, 3)).fingerprint() == expected


# ---------------------------------------------------------------------------------------------------------
# 5. sdpsolve certify on a CNN .npz
# ---------------------------------------------------------------------------------------------------------
def test_certify_command_on_a_cnn_npz(tmp_path, capsys):
    from sdpsolve import cli

    cnn = _small_cnn(3)
    cnn.save_npz(tmp_path / "cnn.npz")
    _unrolled(cnn).save_npz(tmp_path / "dense.npz")
    X, y = _batch(cnn, 13, n=3)
    np.savez(tmp_path / "dense_data.npz", X=X, y=y)
    np.savez(tmp_path / "cnn_data.npz", X=X.reshape(3, *cnn.input_shape), y=y)  # images, flattened on loading
    eps = 0.08
    records = {}
    for model in ("cnn", "dense"):
        out = tmp_path / f"{model}.jsonl"
        argv = ["certify", "--model", str(tmp_path / f"{model}.npz"), "--data", str(tmp_path / f"{model}_data.npz"),
                "--method", "ibp,crown", "--method", "attack", "--eps", str(eps), "--out", str(out), "--no-progress"]
        code = cli.main(argv)
        printed, err = capsys.readouterr()
        assert code == 0, err
        assert "clean error: 33.3% (1 of 3)" in printed
        lines = {ln.split()[0]: ln for ln in printed.splitlines() if ln.split() and ln.split()[0] in ("ibp", "crown",
                                                                                                       "attack")}
        assert "certified error  66.7%" in lines["crown"] and "attack error     66.7%" in lines["attack"], printed
        lines = out.read_text().splitlines()
        assert "sdpsolve_results" in json.loads(lines[0])
        records[model] = {(r["method"], r["index"]): r for r in map(json.loads, lines[1:])}
        assert len(records[model]) == 9
    # the records hold what the plugins compute on the CNN on their own
    for name in ("ibp", "crown"):
        B, kind = get_certifier(name).bound_margins(cnn, X, y, eps)
        for i in range(3):
            rec = records["cnn"][(name, i)]
            assert rec["bound_kind"] == kind
            assert rec["bounds"] == {str(j): float(B[i, j]) for j in range(3) if j != y[i]}
    outcomes = set()
    for i in range(3):
        crown = records["cnn"][("crown", i)]
        attack = records["cnn"][("attack", i)]
        outcomes.add((crown["certified"], attack["adversarial"]))
        if attack["adversarial"]:
            assert confirm_witness(cnn, X[i], y[i], eps, attack["witness"])
            assert not crown["certified"]
        for j, b in attack["bounds"].items():
            assert b <= crown["bounds"][j] + 1e-12
    assert outcomes == {(True, False), (False, True)}, "the run must include certified and broken examples"
    # and the same as on the unrolled network (closed forms exactly, the seeded attack to rounding)
    for key, rec in records["cnn"].items():
        other = records["dense"][key]
        assert rec["bound_kind"] == other["bound_kind"] and rec["predicted"] == other["predicted"]
        assert rec["bounds"].keys() == other["bounds"].keys()
        for j in rec["bounds"]:
            assert rec["bounds"][j] == pytest.approx(other["bounds"][j], rel=1e-9, abs=1e-9), key
        assert rec.get("adversarial") == other.get("adversarial")
