"""Tests of the differentiable dual certificate (certifiers._dual_cert).

Oracles used here:

* the dense Grad-cert matrix (:func:`certifiers._gradcert.gradcert_matrix_dense`, built independently of the
  structured products) and ``torch.linalg.eigvalsh``/numpy ``eigvalsh`` for λ_max and the value;
* dense torch autograd through ``torch.linalg.eigvalsh`` of a differentiably built M(W, v) − diag c for the
  gradients, and central finite differences (``torch.autograd.gradcheck``);
* CVXPY/Clarabel (tests.oracles.sdp_optimum) and :func:`sdpsolve.solve` for the SDP value that every
  certificate must bound from above, and vertex enumeration for the Grad-cert quantity max_{s,t} tᵀAs that
  (ε/4)·U must bound.

Sizes are kept small (n ≤ 40 for the dense oracles) except one realistic-size smoke test (784-500).
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch

from certifiers._dual_cert import (
    FORMS,
    DualCertificate,
    certificate_value_dense,
    class_pairs,
    dual_certificate,
    gershgorin_dual_point,
    lanczos_top,
    pair_certificate_bounds,
)
from certifiers._gradcert import gradcert_matrix_dense
from tests.oracles import sdp_optimum

F64 = torch.float64


def instance(seed: int, m: int, d: int, P: int = 1, *, c_scale: float = 0.3):
    """Random W (m, d), v (P, m) and c (P, n) in float64 (c ≥ 0, around c_scale × Gershgorin)."""
    g = torch.Generator().manual_seed(seed)
    W = torch.randn(m, d, generator=g, dtype=F64)
    v = torch.randn(P, m, generator=g, dtype=F64)
    c = c_scale * gershgorin_dual_point(W, v) * (0.5 + torch.rand(P, 1 + d + m, generator=g, dtype=F64))
    return W, v, c


def dense_m_torch(W, v):
    """M(W, v) built densely and differentiably in torch (independent of the structured products)."""
    m, d = W.shape
    n = 1 + d + m
    A = W.T * v  # (d, m)
    g = W.T @ v
    M = torch.zeros((n, n), dtype=W.dtype)
    M = M.index_put((torch.zeros(d, dtype=torch.long), torch.arange(1, 1 + d)), g)
    M = M.index_put((torch.arange(1, 1 + d), torch.zeros(d, dtype=torch.long)), g)
    rows = torch.arange(1, 1 + d)[:, None].expand(d, m)
    cols = torch.arange(1 + d, n)[None, :].expand(d, m)
    M = M.index_put((rows, cols), A)
    M = M.index_put((cols.T, rows.T), A.T)
    return M


def dense_value_torch(W, v, c, form):
    lam = torch.linalg.eigvalsh(dense_m_torch(W, v) - torch.diag(c))[-1]
    n = c.shape[0]
    if form == "paper":
        return n * torch.relu(lam) + torch.relu(c).sum()
    return torch.relu(c + lam).sum()


# -- the operator and the eigen oracle --------------------------------------------------------------------


def test_dense_helper_matches_reference_matrix():
    W, v, _ = instance(0, 4, 3)
    M = dense_m_torch(W, v[0]).numpy()
    np.testing.assert_array_equal(M, gradcert_matrix_dense(W.numpy(), v[0].numpy()))


@pytest.mark.parametrize("m,d,P", [(1, 1, 1), (3, 5, 2), (12, 9, 4), (20, 17, 3)])
def test_lanczos_top_matches_eigvalsh(m, d, P):
    W, V, C = instance(m * 100 + d, m, d, P)
    n = 1 + d + m
    from certifiers._dual_cert import _pair_matvec

    G = V @ W
    theta, U, res, steps = lanczos_top(
        lambda X: _pair_matvec(W, V, G, C, X), torch.zeros(P, n, dtype=F64), max_steps=n, tol=1e-12,
        generator=torch.Generator().manual_seed(1),
    )
    for p in range(P):
        B = gradcert_matrix_dense(W.numpy(), V[p].numpy()) - np.diag(C[p].numpy())
        lam = np.linalg.eigvalsh(B)[-1]
        scale = max(1.0, np.abs(B).max())
        assert abs(theta[p].item() - lam) <= 1e-9 * scale, (m, d, p, theta[p].item(), lam)
        r = B @ U[p].numpy() - theta[p].item() * U[p].numpy()
        assert np.linalg.norm(r) <= 1e-6 * scale
        assert abs(np.linalg.norm(U[p].numpy()) - 1) < 1e-12


def test_lanczos_handles_invariant_start():
    # the start vector is an eigenvector of a non-top eigenvalue: breakdown after one step, then a fresh
    # random direction must still find the top eigenvalue
    D = torch.diag(torch.tensor([3.0, 1.0, -2.0, 0.5], dtype=F64))[None]
    start = torch.tensor([[0.0, 1.0, 0.0, 0.0]], dtype=F64)
    theta, U, res, steps = lanczos_top(lambda X: (D @ X[..., None])[..., 0], start, max_steps=4, tol=1e-12,
                                       generator=torch.Generator().manual_seed(0))
    assert theta.item() == pytest.approx(3.0, abs=1e-12)


# -- value and gradients ----------------------------------------------------------------------------------


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("seed", range(4))
def test_value_matches_dense_eigvalsh(form, seed):
    W, v, c = instance(seed, 6, 5, 3, c_scale=0.2 + 0.3 * seed)
    cert = DualCertificate(form=form, max_steps=40, tol=1e-12)
    vals = cert(W, v, c)
    for p in range(3):
        M = gradcert_matrix_dense(W.numpy(), v[p].numpy())
        ref = certificate_value_dense(M, c[p].numpy(), form)
        assert vals[p].item() == pytest.approx(ref, rel=1e-10, abs=1e-10), (seed, p)


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("seed", range(3))
def test_gradients_match_dense_autograd(form, seed):
    """∂U/∂W, ∂U/∂v, ∂U/∂c from the eigenvector pull-back equal autograd through a dense eigvalsh."""
    W, v, c = instance(10 + seed, 7, 6, 2, c_scale=0.15)  # small c: λ_max > 0, so the n·λ term is active
    W1 = W.clone().requires_grad_(True)
    v1 = v.clone().requires_grad_(True)
    c1 = c.clone().requires_grad_(True)
    weights = torch.tensor([1.0, 0.7], dtype=F64)
    (DualCertificate(form=form, max_steps=60, tol=1e-13)(W1, v1, c1) * weights).sum().backward()
    W2 = W.clone().requires_grad_(True)
    v2 = v.clone().requires_grad_(True)
    c2 = c.clone().requires_grad_(True)
    total = sum(weights[p] * dense_value_torch(W2, v2[p], c2[p], form) for p in range(2))
    total.backward()
    lam = [torch.linalg.eigvalsh(dense_m_torch(W, v[p]) - torch.diag(c[p])) for p in range(2)]
    assert all(float(ev[-1]) > 0 and float(ev[-1] - ev[-2]) > 1e-6 for ev in lam), "instance must be generic"
    for name, a, b in (("W", W1.grad, W2.grad), ("v", v1.grad, v2.grad), ("c", c1.grad, c2.grad)):
        assert torch.allclose(a, b, rtol=1e-7, atol=1e-8), (form, seed, name, (a - b).abs().max().item())


@pytest.mark.parametrize("form", FORMS)
def test_gradcheck_finite_differences(form):
    W, v, c = instance(3, 4, 3, 2, c_scale=0.2)
    cert = DualCertificate(form=form, max_steps=20, tol=1e-14)

    def f(W, v, c):
        return cert(W, v, c, keys=[("a", 0), ("a", 1)])

    inputs = tuple(x.clone().requires_grad_(True) for x in (W, v, c))
    assert torch.autograd.gradcheck(f, inputs, eps=1e-6, atol=1e-5, rtol=1e-4)


def test_float32_inputs_give_float32_gradients_computed_in_float64():
    W, v, c = instance(5, 6, 4, 2)
    W32 = W.float().requires_grad_(True)
    v32 = v.float().requires_grad_(True)
    c32 = c.float().requires_grad_(True)
    out = DualCertificate(form="paper", tol=1e-12, max_steps=30)(W32, v32, c32)
    out.sum().backward()
    assert out.dtype == torch.float32 and W32.grad.dtype == torch.float32 and c32.grad.dtype == torch.float32
    ref = DualCertificate(form="paper", tol=1e-12, max_steps=30)(W32.detach().double(), v32.detach().double(),
                                                                  c32.detach().double())
    assert torch.allclose(out.double(), ref, rtol=1e-6)


def test_gradient_reaches_last_layer_through_v():
    g = torch.Generator().manual_seed(0)
    W = torch.randn(5, 4, generator=g, dtype=F64)
    V = torch.randn(3, 5, generator=g, dtype=F64, requires_grad=True)
    c = torch.full((10,), 0.1, dtype=F64)
    DualCertificate(tol=1e-12, max_steps=20)(W, V[0] - V[2], c).backward()
    assert V.grad[1].abs().max() == 0 and V.grad[0].abs().max() > 0
    assert torch.allclose(V.grad[0], -V.grad[2])


# -- validity ---------------------------------------------------------------------------------------------


def vertex_max(W: np.ndarray, v: np.ndarray) -> float:
    """max_{s∈[0,1]^m, t∈[−1,1]^d} tᵀ A s (A = Wᵀ diag v) by enumerating s ∈ {0, 1}^m."""
    A = W.T * v
    S = np.array(list(itertools.product((0.0, 1.0), repeat=W.shape[0])))
    return float(np.abs(S @ A.T).sum(axis=1).max())


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("seed", range(3))
def test_value_bounds_sdp_and_vertex_max_for_any_c(form, seed):
    """U(c) ≥ SDP(M) ≥ 4·max tᵀAs for arbitrary (also poor) c: so (ε/4)·U is a valid Grad-cert radius."""
    m, d = 6, 5
    W, v, c = instance(20 + seed, m, d, 3, c_scale=0.05 + 0.4 * seed)
    vals = DualCertificate(form=form, tol=1e-12, max_steps=40)(W, v, c)
    for p in range(3):
        M = gradcert_matrix_dense(W.numpy(), v[p].numpy())
        opt = sdp_optimum(M)
        assert vals[p].item() >= opt * (1 - 1e-7) - 1e-7, (seed, p, vals[p].item(), opt)
        assert opt >= 4 * vertex_max(W.numpy(), v[p].numpy()) * (1 - 1e-7) - 1e-7


def test_optimised_c_is_tight_and_valid():
    """Adam on log c drives U(c) to the SDP value (CVXPY) from above; the proved bound stays above it."""
    g = torch.Generator().manual_seed(7)
    W = torch.randn(10, 12, generator=g, dtype=F64)
    V = torch.randn(2, 10, generator=g, dtype=F64)
    v = (V[0] - V[1])[None]
    theta = gershgorin_dual_point(W, v).log().clone().requires_grad_(True)
    cert = DualCertificate(form="tight", max_steps=23, tol=1e-10)
    m = torch.zeros_like(theta)
    s = torch.zeros_like(theta)
    steps = 300
    for t in range(1, steps + 1):  # Adam with a cosine learning rate (torch.optim costs seconds to import)
        val = cert(W, v, theta.exp(), keys=[(0, 1)])
        (g,) = torch.autograd.grad(val.sum(), theta)
        m = 0.9 * m + 0.1 * g
        s = 0.999 * s + 0.001 * g * g
        lr = 5e-4 + 0.5 * (0.05 - 5e-4) * (1 + np.cos(np.pi * t / steps))
        with torch.no_grad():
            theta -= lr * (m / (1 - 0.9**t)) / ((s / (1 - 0.999**t)).sqrt() + 1e-8)
    sdp = sdp_optimum(gradcert_matrix_dense(W.numpy(), v[0].numpy()))
    c = theta.detach().exp().numpy()
    proved = pair_certificate_bounds(W.numpy(), V.numpy(), c).S[0, 1]
    assert sdp * (1 - 1e-7) <= proved <= 1.01 * sdp, (proved, sdp)


def test_pair_bounds_match_dense_value_and_solver():
    import sdpsolve

    g = torch.Generator().manual_seed(2)
    W = torch.randn(8, 6, generator=g, dtype=F64)
    V = torch.randn(3, 8, generator=g, dtype=F64)
    pairs = class_pairs(3)
    v = torch.stack([V[i] - V[j] for i, j in pairs])
    C = 0.5 * gershgorin_dual_point(W, v)
    b = pair_certificate_bounds(W.numpy(), V.numpy(), C.numpy())
    assert np.array_equal(b.S, b.S.T) and np.all(np.diag(b.S) == 0)
    for p, (i, j) in enumerate(pairs):
        M = gradcert_matrix_dense(W.numpy(), v[p].numpy())
        dense = certificate_value_dense(M, C[p].numpy(), "tight")
        assert dense <= b.S[i, j] <= dense * (1 + 1e-8) + 1e-12
        res = sdpsolve.solve(M, rtol=1e-6, rng=0)
        assert b.S[i, j] >= res.lower - 1e-9  # a bound is above every primal value
        assert b.lambda_max_upper[i, j] >= np.linalg.eigvalsh(M - np.diag(C[p].numpy()))[-1]


def test_symmetric_in_the_sign_of_v():
    W, v, c = instance(4, 6, 5, 1)
    cert = DualCertificate(tol=1e-12, max_steps=30)
    assert cert(W, v, c).item() == pytest.approx(cert(W, -v, c).item(), rel=1e-12)


def test_gershgorin_point_is_feasible():
    W, v, _ = instance(8, 9, 7, 2)
    C = gershgorin_dual_point(W, v)
    for p in range(2):
        M = gradcert_matrix_dense(W.numpy(), v[p].numpy())
        np.testing.assert_allclose(C[p].numpy(), np.abs(M).sum(axis=1), rtol=1e-12)
        assert np.linalg.eigvalsh(M - np.diag(C[p].numpy()))[-1] <= 1e-10


# -- warm starts ------------------------------------------------------------------------------------------


def test_warm_start_needs_fewer_products():
    W, v, c = instance(6, 60, 80, 3)
    cert = DualCertificate(max_steps=100, tol=1e-8)
    keys = [(0, 1), (0, 2), (1, 2)]
    cert(W, v, c, keys=keys)
    cold = cert.last_info
    assert cold.warm == 0
    W2 = W + 1e-3 * torch.randn(W.shape, generator=torch.Generator().manual_seed(1), dtype=F64)
    val = cert(W2, v, c, keys=keys)
    warm = cert.last_info
    assert warm.warm == 3
    assert warm.n_matvec < cold.n_matvec / 2, (warm.n_matvec, cold.n_matvec)
    ref = DualCertificate(max_steps=200, tol=1e-12)(W2, v, c)
    assert torch.allclose(val, ref, rtol=1e-6)


def test_no_keys_means_no_cache_and_wrong_key_count_rejected():
    W, v, c = instance(1, 4, 3, 2)
    cert = DualCertificate()
    cert(W, v, c)
    assert cert.cached_vector((0, 1)) is None
    with pytest.raises(ValueError, match="keys"):
        cert(W, v, c, keys=[(0, 1)])


def test_realistic_size_warm_starts_track_lambda_max():
    """784-500 pairs (n = 1285): ten products per pair and call, and warm-started calls converge to λ_max
    (reference: a cold Lanczos run to a 1e-10 residual)."""
    g = torch.Generator().manual_seed(0)
    W = (torch.rand(500, 784, generator=g) * 2 - 1) / 28
    V = (torch.rand(10, 500, generator=g) * 2 - 1) / 22
    live = [(0, j) for j in range(1, 10)]
    v = torch.stack([V[0] - V[j] for j in range(1, 10)])
    c = gershgorin_dual_point(W.double(), v.double()).float() * 0.3
    ref = DualCertificate(max_steps=400, tol=1e-10)
    ref(W, v, c)
    lam = ref.last_info.lambda_max
    cert = DualCertificate(form="tight", max_steps=10, tol=1e-4)
    errors = []
    for _ in range(6):
        cert(W, v, c, keys=live)
        assert cert.last_info.n_matvec <= 10 * 9
        errors.append(np.abs(cert.last_info.lambda_max - lam).max())
    assert np.all(cert.last_info.lambda_max <= lam + 1e-12)  # Ritz values approach from below
    assert errors[-1] <= errors[0] / 5 and errors[-1] <= 1e-2 * float(c.mean()), errors
    out = cert(W.requires_grad_(True), v, c, keys=live)
    out.sum().backward()
    assert W.grad.shape == (500, 784) and torch.isfinite(W.grad).all()


# -- input validation -------------------------------------------------------------------------------------


def test_bad_inputs_are_rejected_clearly():
    W, v, c = instance(0, 4, 3, 2)
    cert = DualCertificate()
    with pytest.raises(ValueError, match="`form` must be one of"):
        DualCertificate(form="loose")
    with pytest.raises(ValueError, match=r"`c` must have shape \(2, 8\)"):
        cert(W, v, c[:, :-1])
    with pytest.raises(ValueError, match="`v` must have shape"):
        cert(W, v[:, :-1], c)
    with pytest.raises(TypeError, match="`W` must be a torch.Tensor"):
        cert(W.numpy(), v, c)
    with pytest.raises(ValueError, match="`c` must be finite"):
        cert(W, v, c * float("nan"))
    with pytest.raises(ValueError, match="`max_steps`"):
        DualCertificate(max_steps=0)
    with pytest.raises(ValueError, match="`form` is 'tight'"):
        dual_certificate(W, v, c, form="tight", state=DualCertificate(form="paper"))
    with pytest.raises(ValueError, match="`C` must have shape"):
        pair_certificate_bounds(W.numpy(), np.ones((3, 4)), np.ones((2, 8)))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_cuda_matches_cpu():
    W, v, c = instance(9, 30, 20, 3)
    cpu = DualCertificate(tol=1e-12, max_steps=60)(W, v, c)
    gpu = DualCertificate(tol=1e-12, max_steps=60)(W.cuda(), v.cuda(), c.cuda())
    assert gpu.device.type == "cuda"
    assert torch.allclose(gpu.cpu(), cpu, rtol=1e-9)
