"""Tests of Grad-cert (certifiers._gradcert): the operator, the soundness of the relaxation, the pair table
and the ``grad-cert`` plugin.

Oracles used here:

* the dense matrix :func:`gradcert_matrix_dense` (built independently of the product kernels) for the
  operator products, and exact rational arithmetic (``fractions``) for the rounding bound of ``to_dense``;
* brute force over the vertices s ∈ {0, 1}^m (with t chosen optimally, max_t tᵀAs = ‖As‖₁) for
  max_{s∈[0,1]^m, t∈[−1,1]^d} tᵀ A s, and CVXPY/Clarabel (tests.oracles.sdp_optimum) for the SDP optimum;
* a strong targeted attack (certifiers._attacks.targeted_margin_attack) plus the enumeration of all corners
  of the input box for the end-to-end soundness of the margins.
"""

from __future__ import annotations

import itertools
import json
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from certifiers._base import available, get_certifier, input_box
from certifiers._gradcert import (
    ENGINES,
    GradCertOperator,
    PairSDPTable,
    default_cache_dir,
    difference_correction,
    gradcert_matrix_dense,
    margin_rounding_bound,
    pair_sdp_values,
    paper_eq8_matrix_dense,
)
from certifiers._network import ReLUNetwork
from sdpsolve._operator import as_operator, check_matches_dense, check_symmetric
from sdpsolve.rounding import exact_difference
from tests.oracles import sdp_optimum

# -- helpers ----------------------------------------------------------------------------------------------


def random_weights(seed: int, m: int, d: int, *, scale: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return scale * rng.standard_normal((m, d)), rng.standard_normal(m)


def random_net(seed: int, d: int, m: int, K: int) -> ReLUNetwork:
    rng = np.random.default_rng(seed)
    # float32 weights, as trained networks have
    W0 = rng.standard_normal((m, d)).astype(np.float32)
    b0 = (0.5 * rng.standard_normal(m)).astype(np.float32)
    W1 = rng.standard_normal((K, m)).astype(np.float32)
    b1 = (0.5 * rng.standard_normal(K)).astype(np.float32)
    return ReLUNetwork([W0, W1], [b0, b1])


def vertex_max(W: np.ndarray, v: np.ndarray) -> float:
    """max_{s∈[0,1]^m, t∈[−1,1]^d} tᵀ A s (A = Wᵀ diag v) by enumerating s ∈ {0,1}^m (the objective is
    linear in s for fixed t, and max over t of tᵀ(As) is ‖As‖₁)."""
    A = W.T * v
    S = np.array(list(itertools.product((0.0, 1.0), repeat=W.shape[0])))
    return float(np.abs(S @ A.T).sum(axis=1).max())


SHAPES = [(1, 1), (1, 4), (5, 1), (7, 5), (12, 9), (30, 17)]


# -- the operator -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("m,d", SHAPES)
def test_operator_matches_dense_and_is_symmetric(engine, m, d):
    W, v = random_weights(m * 100 + d, m, d)
    op = GradCertOperator(W, v, engine=engine)
    dense = gradcert_matrix_dense(W, v)
    assert op.shape == (1 + d + m, 1 + d + m) == dense.shape
    check_matches_dense(op, dense, rtol=1e-13, rng=1)
    check_symmetric(op, rtol=1e-13, rng=2)
    # all columns: the identity (k = n, the many-column path), and single columns (k = 1, 2 paths)
    np.testing.assert_allclose(op.matmat(np.eye(op.n)), dense, rtol=0, atol=1e-13 * np.abs(dense).max())
    for k in (1, 2, 3):
        X = np.random.default_rng(k).standard_normal((op.n, k))
        np.testing.assert_allclose(op.matmat(X), dense @ X, rtol=1e-12, atol=1e-12)
    x = np.random.default_rng(9).standard_normal(op.n)
    y = op.matvec(x)
    assert y.shape == (op.n,)
    np.testing.assert_allclose(y, dense @ x, rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(op.diagonal(), np.zeros(op.n))


def test_dense_structure_is_the_spec_pairing():
    # SPEC §3: M[0, t] = (Wᵀ v)ᵀ, M[t, s] = Wᵀ diag(v); nothing on the (0, s), (t, t), (s, s) blocks
    W, v = random_weights(3, 6, 4)
    M = gradcert_matrix_dense(W, v)
    d = 4
    np.testing.assert_allclose(M[0, 1 : 1 + d], W.T @ v)
    np.testing.assert_allclose(M[1 : 1 + d, 1 + d :], W.T @ np.diag(v))
    assert not M[0, 1 + d :].any() and not M[1 + d :, 0].any()
    assert not M[1 : 1 + d, 1 : 1 + d].any() and not M[1 + d :, 1 + d :].any() and M[0, 0] == 0
    np.testing.assert_array_equal(M, M.T)
    # the vertex identity behind the factor 1/4: yᵀMy = 4 tᵀAs' ... for y = [1; t; 2s − 1]
    rng = np.random.default_rng(0)
    for _ in range(5):
        t = rng.choice([-1.0, 1.0], size=d)
        s = rng.choice([0.0, 1.0], size=6)
        y = np.concatenate([[1.0], t, 2 * s - 1])
        assert y @ M @ y == pytest.approx(4 * t @ (W.T * v) @ s, rel=1e-12, abs=1e-12)


@pytest.mark.parametrize("k", [1, 2, 5, 40])
def test_engines_agree(k):
    W, v = random_weights(11, 23, 13)
    X = np.random.default_rng(k).standard_normal((1 + 13 + 23, k))
    outs = {e: GradCertOperator(W, v, engine=e).matmat(X) for e in ENGINES}
    ref = outs["numpy"]
    for e, Y in outs.items():
        err = np.abs(Y - ref).max() / np.abs(ref).max()
        assert err < 1e-14, f"engine {e} differs from numpy by {err:.3g} (k={k})"


def test_products_are_counted_and_torch_tensors_round_trip():
    import torch

    W, v = random_weights(5, 8, 6)
    dense = gradcert_matrix_dense(W, v)
    for engine in ENGINES:
        op = GradCertOperator(W, v, engine=engine)
        X = torch.randn(op.n, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
        Y = op.matmat(X)
        assert isinstance(Y, torch.Tensor) and Y.shape == (op.n, 3)
        np.testing.assert_allclose(Y.numpy(), dense @ X.numpy(), rtol=1e-12, atol=1e-12)
        op.matmat(np.ones(op.n))
        assert op.n_matvec == 4


@pytest.mark.skipif(
    not __import__("torch").cuda.is_available(),
    reason="no CUDA device (the torch engine on CUDA is tested on GPU)",
)
def test_torch_engine_on_cuda_matches_dense():
    import torch

    W, v = random_weights(6, 40, 25)
    op = GradCertOperator(W, v, engine="torch", device="cuda")
    dense = gradcert_matrix_dense(W, v)
    check_matches_dense(op, dense, rtol=1e-13, rng=0)
    X = torch.randn(op.n, 4, dtype=torch.float64, device="cuda")
    Y = op.matmat(X)
    assert Y.device.type == "cuda"
    np.testing.assert_allclose(Y.cpu().numpy(), dense @ X.cpu().numpy(), rtol=1e-12, atol=1e-12)


def test_to_dense_error_bound_holds_in_exact_arithmetic():
    # float64 weights with full mantissas: the products W_lk·v_l and the sums of Wᵀv are rounded.
    rng = np.random.default_rng(21)
    m, d = 9, 6
    W = rng.standard_normal((m, d)) * np.exp(rng.uniform(-3, 3, (m, d)))
    v = rng.standard_normal(m) * np.exp(rng.uniform(-3, 3, m))
    op = GradCertOperator(W, v)
    B, err = op.to_dense()
    np.testing.assert_array_equal(B, B.T)
    Wf = [[Fraction(float(x)) for x in row] for row in W]
    vf = [Fraction(float(x)) for x in v]
    total = Fraction(0)
    for k in range(d):
        gk = sum(Wf[l][k] * vf[l] for l in range(m))
        total += 2 * (Fraction(float(B[0, 1 + k])) - gk) ** 2
        for l in range(m):
            total += 2 * (Fraction(float(B[1 + k, 1 + d + l])) - Wf[l][k] * vf[l]) ** 2
    assert total > 0, "this instance was built to have rounding errors"
    assert Fraction(err) ** 2 >= total, f"err {err!r} < exact ||M - B||_F = {float(total) ** 0.5!r}"
    # and the bound is not absurdly loose
    assert err < 1e-12 * np.linalg.norm(B)


def test_to_dense_is_exact_for_zero_products_and_passes_through_the_operator_layer():
    W, v = random_weights(2, 5, 3)
    wrapped = as_operator(GradCertOperator(W, v))
    B, err = wrapped.to_dense()
    np.testing.assert_allclose(B, gradcert_matrix_dense(W, v), rtol=0, atol=1e-15)
    assert 0 < err < 1e-13
    assert wrapped.norm_bound() == GradCertOperator(W, v).norm_bound()
    np.testing.assert_array_equal(wrapped.diagonal(), np.zeros(wrapped.n))


@pytest.mark.parametrize("m,d", SHAPES)
def test_norm_bound_is_an_upper_bound(m, d):
    W, v = random_weights(m + 7 * d, m, d, scale=3.0)
    op = GradCertOperator(W, v)
    exact = np.linalg.norm(gradcert_matrix_dense(W, v), 2)
    bound = op.norm_bound()
    # (LAPACK's ‖M‖₂ is itself rounded, to about 1e-15 relative; for m = d = 1 the bound is attained)
    assert bound >= exact * (1 - 1e-13), f"norm_bound {bound!r} < ||M||_2 = {exact!r}"
    # ‖M‖₂ = ‖[g A]‖₂ ≤ ‖[g A]‖_F: never worse than that Frobenius norm (plus rounding)
    assert bound <= np.linalg.norm(gradcert_matrix_dense(W, v)) / np.sqrt(2) * (1 + 1e-10)


@pytest.mark.parametrize(
    "kwargs,exc,match",
    [
        ({"W": np.ones(3), "v": np.ones(3)}, ValueError, "`W` must be a non-empty 2-d array"),
        ({"W": np.ones((3, 2)), "v": np.ones(2)}, ValueError, r"`v` must have shape \(3,\)"),
        ({"W": np.array([[np.nan, 1.0]]), "v": np.ones(1)}, ValueError, "`W` must be finite"),
        ({"W": np.ones((1, 2)), "v": np.array([np.inf])}, ValueError, "`v` must be finite"),
        ({"W": np.ones((1, 2)), "v": np.ones(1), "engine": "cuda"}, ValueError, "`engine` must be one of"),
        ({"W": np.ones((1, 2)), "v": np.ones(1), "device": "cuda"}, ValueError, "`device` must be 'cpu'"),
        ({"W": np.ones((1, 2)), "v": np.ones(1), "device": 0}, TypeError, "`device` must be a string"),
        ({"W": "abc", "v": np.ones(1)}, TypeError, "`W` must be a real 2-d array"),
    ],
)
def test_operator_rejects_bad_arguments(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        GradCertOperator(**kwargs)


def test_operator_rejects_wrong_operand_shape():
    op = GradCertOperator(np.ones((2, 3)), np.ones(2))
    with pytest.raises(ValueError, match=r"operand must have shape \(6,\)"):
        op.matmat(np.ones((5, 2)))


# -- soundness of the relaxation --------------------------------------------------------------------------


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 2**32 - 1),
    m=st.integers(1, 8),
    d=st.integers(1, 4),
    scale=st.sampled_from([0.1, 1.0, 30.0]),
)
def test_sdp_relaxation_is_sound_against_brute_force(seed, m, d, scale):
    """Oracle: enumeration of s ∈ {0,1}^m (exact max of tᵀAs over the box) vs CVXPY's SDP optimum."""
    W, v = random_weights(seed, m, d, scale=scale)
    exact = vertex_max(W, v)
    M = gradcert_matrix_dense(W, v)
    sdp = sdp_optimum(M)
    tol = 1e-6 * max(1.0, abs(sdp))
    assert sdp / 4 >= exact - tol, f"seed={seed} m={m} d={d}: SDP/4 = {sdp / 4!r} < brute force {exact!r}"
    # the ±1 vertices of y = [1; t; s'] give exactly 4·max tᵀAs, so the SDP is a relaxation of this problem
    y_vertices = np.array(list(itertools.product((-1.0, 1.0), repeat=M.shape[0] - 1)))
    Y = np.hstack([np.ones((len(y_vertices), 1)), y_vertices])
    assert np.einsum("ij,jk,ik->i", Y, M, Y).max() == pytest.approx(4 * exact, rel=1e-10, abs=1e-12)


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**32 - 1), m=st.integers(1, 8), d=st.integers(1, 4))
def test_sdpsolve_upper_bound_is_sound_and_tight(seed, m, d):
    """Oracles: brute force (soundness) and CVXPY (the solver's upper bound is ≥ the optimum, and close)."""
    from sdpsolve import solve

    W, v = random_weights(seed, m, d)
    res = solve(GradCertOperator(W, v), equal=None, rtol=1e-6, bound="rigorous", rng=0)
    assert res.bound_kind == "rigorous"
    exact = vertex_max(W, v)
    sdp = sdp_optimum(gradcert_matrix_dense(W, v))
    assert res.upper / 4 >= exact, f"seed={seed}: upper/4 = {res.upper / 4!r} < brute force {exact!r}"
    assert res.upper >= sdp - 1e-6 * max(1, abs(sdp)), f"seed={seed}: upper {res.upper!r} < CVXPY {sdp!r}"
    if res.converged:
        assert res.upper <= sdp + 1e-4 * max(1, abs(sdp)), f"seed={seed}: upper {res.upper!r} vs CVXPY {sdp!r}"


def test_paper_eq8_matrix_is_not_a_valid_bound():
    """Regression: the matrix printed in eq. (8) of the paper undercuts the brute-force value."""
    W, v = random_weights(3, 6, 3)
    exact = vertex_max(W, v)
    eq8 = sdp_optimum(paper_eq8_matrix_dense(W, v)) / 4
    ours = sdp_optimum(gradcert_matrix_dense(W, v)) / 4
    assert exact == pytest.approx(10.4412, abs=1e-4)
    assert eq8 < exact - 1.0, f"eq.(8) SDP/4 = {eq8!r} is not below the brute force {exact!r} any more"
    assert ours >= exact - 1e-6


# -- the exact difference of the last-layer rows ----------------------------------------------------------


def test_exact_difference_and_its_correction():
    a = np.array([1.0, 3.0, 1e20, 0.1])
    b = np.array([1e-20, 1.0, -1.0, 0.3])
    s, e = exact_difference(a, b)
    for ai, bi, si, ei in zip(a, b, s, e):
        assert Fraction(float(si)) + Fraction(float(ei)) == Fraction(float(ai)) - Fraction(float(bi))
    assert e[1] == 0 and e[0] != 0 and e[2] != 0
    W = np.random.default_rng(0).standard_normal((4, 3))
    corr = difference_correction(W, e)
    assert corr >= np.abs(gradcert_matrix_dense(W, e)).sum()  # ≥ Σ|M(δv)_ij| ≥ SDP(M(δv))
    assert difference_correction(W, np.zeros(4)) == 0.0


def test_margin_rounding_bound_holds_in_exact_arithmetic():
    """Oracle: the margins at points of the ball computed exactly with fractions."""
    rng = np.random.default_rng(8)
    d, m, K = 5, 6, 3
    # full-mantissa float64 weights, so that the float64 forward pass rounds
    net = ReLUNetwork(
        [rng.standard_normal((m, d)), rng.standard_normal((K, m))],
        [rng.standard_normal(m), rng.standard_normal(K)],
    )
    X = rng.uniform(0, 1, (2, d))
    y = np.array([0, 2])
    eps = 0.05
    rho = margin_rounding_bound(net, X, y, eps)
    assert np.all(rho > 0) and np.all(rho < 1e-13)
    F = [[[Fraction(float(w)) for w in row] for row in W] for W in net.weights]
    Fb = [[Fraction(float(b)) for b in bias] for bias in net.biases]
    worst = 0.0
    for k in range(len(X)):
        for _ in range(4):
            xp = np.clip(X[k] + rng.uniform(-eps, eps, d), 0, 1)
            h = [max(sum(F[0][i][c] * Fraction(float(xp[c])) for c in range(d)) + Fb[0][i], 0) for i in range(m)]
            z = [sum(F[1][j][i] * h[i] for i in range(m)) + Fb[1][j] for j in range(K)]
            zf = net.logits(xp[None])[0]
            for j in range(K):
                err = abs(Fraction(float(zf[j] - zf[y[k]])) - (z[j] - z[y[k]]))
                assert err <= Fraction(float(rho[k, j])), f"example {k} class {j}: error {float(err)!r} > rho"
                worst = max(worst, float(err / Fraction(float(rho[k, j]))))
    assert worst > 0, "this instance was built to have rounding errors"


# -- the pair table ----------------------------------------------------------------------------------------


def test_pair_table_symmetric_matches_cvxpy_and_caches(tmp_path):
    net = random_net(1, d=4, m=7, K=4)
    table = pair_sdp_values(net, rtol=1e-6, cache_dir=tmp_path)
    assert isinstance(table, PairSDPTable) and not table.from_cache
    assert table.bound_kind == "rigorous" and table.failure_probability == 0.0
    np.testing.assert_array_equal(table.S, table.S.T)
    np.testing.assert_array_equal(np.diag(table.S), np.zeros(4))
    W, V = net.weights
    for i, j in table.pairs():
        sdp = sdp_optimum(gradcert_matrix_dense(W, V[i] - V[j]))
        sdp_rev = sdp_optimum(gradcert_matrix_dense(W, V[j] - V[i]))
        assert sdp_rev == pytest.approx(sdp, rel=1e-6), "M(−v) must have the same value"
        assert table.S[i, j] >= sdp - 1e-6 * max(1, sdp), f"pair {(i, j)}: S {table.S[i, j]!r} < CVXPY {sdp!r}"
        assert table.S[i, j] <= sdp + 1e-4 * max(1, sdp), f"pair {(i, j)}: S {table.S[i, j]!r} >> CVXPY {sdp!r}"
        assert table.lower[i, j] <= table.S[i, j]
    files = sorted(p.suffix for p in tmp_path.iterdir())
    assert files == [".json", ".npz"]
    meta = json.loads(next(tmp_path.glob("*.json")).read_text())
    assert meta["fingerprint"] == net.fingerprint() and meta["rtol"] == 1e-6 and meta["bound"] == "rigorous"
    hit = pair_sdp_values(net, rtol=1e-6, cache_dir=tmp_path)
    assert hit.from_cache
    for name in PairSDPTable._ARRAYS:
        np.testing.assert_array_equal(getattr(hit, name), getattr(table, name))
    assert hit.bound_kind == table.bound_kind and hit.failure_probability == table.failure_probability
    # other settings are other entries
    other = pair_sdp_values(net, rtol=1e-3, cache_dir=tmp_path)
    assert not other.from_cache and len(list(tmp_path.glob("*.npz"))) == 2


def test_pair_table_with_probabilistic_bounds(tmp_path):
    """Oracle: CVXPY; the probabilistic bound uses the operator's norm_bound (matrix-free)."""
    net = random_net(3, d=3, m=5, K=3)
    table = pair_sdp_values(net, rtol=1e-5, bound="probabilistic", cache_dir=tmp_path, engine="numpy")
    assert table.bound_kind == "probabilistic"
    assert 0 < table.failure_probability < 1e-6
    W, V = net.weights
    for i, j in table.pairs():
        sdp = sdp_optimum(gradcert_matrix_dense(W, V[i] - V[j]))
        assert sdp - 1e-6 * max(1, sdp) <= table.S[i, j] <= sdp + 1e-3 * max(1, sdp), (
            i,
            j,
            table.S[i, j],
            sdp,
        )


def test_cache_location_env_var_and_no_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("SDPSOLVE_CACHE_DIR", str(tmp_path / "root"))
    assert default_cache_dir() == tmp_path / "root" / "gradcert"
    net = random_net(2, d=3, m=4, K=3)
    first = pair_sdp_values(net, rtol=1e-3)
    assert len(list((tmp_path / "root" / "gradcert").glob("*.npz"))) == 1
    assert pair_sdp_values(net, rtol=1e-3).from_cache
    fresh = pair_sdp_values(net, rtol=1e-3, cache=False)
    assert not fresh.from_cache
    np.testing.assert_array_equal(fresh.S, first.S)  # same seeds per pair: reproducible


def test_corrupt_cache_entry_is_recomputed(tmp_path):
    net = random_net(4, d=3, m=4, K=3)
    table = pair_sdp_values(net, rtol=1e-3, cache_dir=tmp_path)
    next(tmp_path.glob("*.npz")).write_bytes(b"not an npz")
    with pytest.warns(RuntimeWarning, match="unreadable Grad-cert cache entry"):
        again = pair_sdp_values(net, rtol=1e-3, cache_dir=tmp_path)
    assert not again.from_cache
    np.testing.assert_array_equal(again.S, table.S)


def test_pair_table_rejects_bad_arguments(tmp_path):
    net = random_net(0, d=3, m=4, K=3)
    deep = ReLUNetwork([np.ones((4, 3)), np.ones((4, 4)), np.ones((3, 4))], [np.zeros(4), np.zeros(4), np.zeros(3)])
    linear = ReLUNetwork([np.ones((3, 3))], [np.zeros(3)])
    with pytest.raises(ValueError, match="exactly one hidden layer.*2 hidden layers"):
        pair_sdp_values(deep, cache_dir=tmp_path)
    with pytest.raises(ValueError, match="exactly one hidden layer.*0 hidden layers"):
        pair_sdp_values(linear, cache_dir=tmp_path)
    with pytest.raises(TypeError, match="`network` must be a ReLUNetwork"):
        pair_sdp_values(np.ones((3, 3)))
    with pytest.raises(ValueError, match="`bound` must be one of"):
        pair_sdp_values(net, bound="estimate", cache_dir=tmp_path)
    with pytest.raises(ValueError, match="`rtol` must be a positive finite float"):
        pair_sdp_values(net, rtol=0.0, cache_dir=tmp_path)
    with pytest.raises(TypeError, match="`rtol` must be a positive finite float"):
        pair_sdp_values(net, rtol="1e-4", cache_dir=tmp_path)
    with pytest.raises(ValueError, match="`engine` must be one of"):
        pair_sdp_values(net, engine="jax", cache_dir=tmp_path)
    assert list(tmp_path.iterdir()) == []


# -- the plugin ---------------------------------------------------------------------------------------------


def test_plugin_is_registered():
    assert "grad-cert" in available()
    cert = get_certifier("grad-cert", cache=False)
    assert cert.name == "grad-cert" and not cert.is_attack


def test_plugin_rejects_bad_inputs(tmp_path):
    net = random_net(0, d=3, m=4, K=3)
    cert = get_certifier("grad-cert", cache_dir=tmp_path)
    x = np.full((2, 3), 0.5)
    y = np.array([0, 1])
    for call in (cert.bound_margins, cert.certify):
        with pytest.raises(ValueError, match=r"must have shape \(N, 3\)"):
            call(net, np.full((2, 4), 0.5), y, 0.1)
        with pytest.raises(ValueError, match=r"labels in `y` must lie in \[0, 2\]"):
            call(net, x, np.array([0, 3]), 0.1)
        with pytest.raises(ValueError, match="`eps` must be a non-negative finite float"):
            call(net, x, y, -0.1)
        with pytest.raises(ValueError, match="NaN or inf"):
            call(net, np.array([[0.5, np.nan, 0.5], [0.5, 0.5, 0.5]]), y, 0.1)
    deep = ReLUNetwork([np.ones((4, 3)), np.ones((4, 4)), np.ones((3, 4))], [np.zeros(4), np.zeros(4), np.zeros(3)])
    with pytest.raises(ValueError, match="exactly one hidden layer"):
        cert.bound_margins(deep, x, y, 0.1)
    with pytest.raises(ValueError, match="`bound` must be one of"):
        get_certifier("grad-cert", bound="estimate")


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_end_to_end_bounds_dominate_strong_attacks(seed, tmp_path):
    """Oracle: every reported bound ≥ the best margin of a strong targeted attack and of all box corners."""
    from certifiers._attacks import targeted_margin_attack

    d, m, K = 4, 8, 3
    net = random_net(100 + seed, d=d, m=m, K=K)
    rng = np.random.default_rng(seed)
    X = rng.uniform(0, 1, (6, d))
    y = net.predict(X)
    cert = get_certifier("grad-cert", cache_dir=tmp_path, rtol=1e-4)
    cert.prepare(net)
    corners = np.array(list(itertools.product((0.0, 1.0), repeat=d)))
    n_certified = n_broken = 0
    for eps in (0.0, 0.02, 0.1, 0.3):
        B, kind = cert.bound_margins(net, X, y, eps)
        assert kind == "rigorous" and B.shape == (len(X), K)
        lo, hi = input_box(X, eps)
        for k in range(len(X)):
            assert B[k, y[k]] == 0
            pts = lo[k] + corners * (hi[k] - lo[k])
            logits = net.logits(pts)
            found = {}
            for j in range(K):
                if j == y[k]:
                    continue
                att = targeted_margin_attack(net, X[k], int(y[k]), j, eps, steps=60, restarts=6, rng=seed)
                found[j] = max(att.margin, float((logits[:, j] - logits[:, y[k]]).max()))
                assert B[k, j] >= found[j], (
                    f"seed={seed} eps={eps} example {k} class {j}: bound {B[k, j]!r} < attack {found[j]!r}"
                )
            if all(B[k, j] < 0 for j in found):
                n_certified += 1
                assert all(v < 0 for v in found.values()), "a certified example was broken by the attack"
            if any(v > 0 for v in found.values()):
                n_broken += 1
        results = cert.certify(net, X, y, eps)
        assert [r.certified for r in results] == [bool(np.all(np.delete(B[k], y[k]) < 0)) for k in range(len(X))]
    # the test exercises both outcomes
    assert n_certified > 0 and n_broken > 0, (n_certified, n_broken)


def test_pair_table_with_workers_equals_serial():
    """Oracle: the serial run. Each pair keeps its own seed, so two worker processes give the same table."""
    rng = np.random.default_rng(3)
    net = ReLUNetwork([rng.standard_normal((12, 6)), rng.standard_normal((4, 12))], [np.zeros(12), np.zeros(4)])
    serial = pair_sdp_values(net, cache=False)
    parallel = pair_sdp_values(net, cache=False, workers=2)
    np.testing.assert_array_equal(serial.S, parallel.S)
    assert serial.bound_kind == parallel.bound_kind == "rigorous"
    with pytest.raises(ValueError, match="workers"):
        pair_sdp_values(net, cache=False, workers=0)
