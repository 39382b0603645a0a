"""Tests of the norm-based baselines of the ICLR 2018 paper (certifiers._norm_bounds): spectral, frobenius.

Oracles used here:

* the formula f_j(x) − f_y(x) + ε √d ‖W‖ ‖V_j − V_y‖₂ computed directly, example by example, with ‖W‖₂
  from the singular values (``np.linalg.svd``) and ‖W‖_F from the sum of squares;
* a strong targeted attack and the corners of the perturbation box (every bound must dominate the margins they
  reach), on small random one-hidden-layer networks;
* ‖W‖₂ ≤ ‖W‖_F, so the Frobenius bound is never below the spectral one.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from certifiers._attacks import targeted_margin_attack
from certifiers._base import available, get_certifier, input_box
from certifiers._network import ReLUNetwork
from certifiers._norm_bounds import norm_margin_bounds
from tests.strategies import perturbation_problems, relu_networks

ONE_HIDDEN = relu_networks(
    min_hidden_layers=1, max_hidden_layers=1, max_input_dim=6, max_width=8, max_classes=4
)


def _direct(net: ReLUNetwork, X, y, eps, norm: str) -> np.ndarray:
    W, V = net.weights
    if norm == "spectral":
        w = np.linalg.svd(W, compute_uv=False)[0]
    else:
        w = np.sqrt(np.sum(W * W))
    out = np.zeros((len(y), net.n_classes))
    for k in range(len(y)):
        h = np.maximum(W @ X[k] + net.biases[0], 0.0)
        f = V @ h + net.biases[1]
        for j in range(net.n_classes):
            if j != y[k]:
                out[k, j] = (
                    f[j] - f[y[k]] + eps * np.sqrt(X.shape[1]) * w * np.sqrt(np.sum((V[j] - V[y[k]]) ** 2))
                )
    return out


@settings(max_examples=40, deadline=None)
@given(ONE_HIDDEN, st.integers(0, 2**32 - 1), st.floats(0.0, 0.5))
def test_formulas_match_a_direct_computation(net, seed, eps):
    rng = np.random.default_rng(seed)
    X = rng.random((5, net.input_dim))
    y = rng.integers(0, net.n_classes, 5)
    for norm in ("spectral", "frobenius"):
        B, kind = get_certifier(norm).bound_margins(net, X, y, eps)
        assert kind == "closed-form"
        ref = _direct(net, X, y, eps, norm)
        np.testing.assert_allclose(B, ref, rtol=1e-12, atol=1e-12 * (1 + np.abs(ref).max()))
        assert np.all(B[np.arange(5), y] == 0.0)
    spec = norm_margin_bounds(net, X, y, eps, "spectral")
    frob = norm_margin_bounds(net, X, y, eps, "frobenius")
    assert np.all(frob >= spec - 1e-12 * (1 + np.abs(spec).max()))


def test_known_values():
    """Oracle: W = diag(3, 4) (‖W‖₂ = 4, ‖W‖_F = 5), V = I, x = (0.5, 0.5), y = 1, ε = 0.1: margin −0.5,
    ‖V_0 − V_1‖₂ = √2, so the bounds are −0.5 + 0.1·√2·4·√2 = 0.3 and −0.5 + 0.1·√2·5·√2 = 0.5."""
    net = ReLUNetwork([np.diag([3.0, 4.0]), np.eye(2)], [np.zeros(2), np.zeros(2)])
    X, y = np.array([[0.5, 0.5]]), np.array([1])
    assert norm_margin_bounds(net, X, y, 0.1, "spectral")[0] == pytest.approx([0.3, 0.0], abs=1e-15)
    assert norm_margin_bounds(net, X, y, 0.1, "frobenius")[0] == pytest.approx([0.5, 0.0], abs=1e-15)
    # ε = 0 is the clean margin
    assert norm_margin_bounds(net, X, y, 0.0)[0].tolist() == [-0.5, 0.0]


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(perturbation_problems(ONE_HIDDEN, max_eps=0.3), st.integers(0, 2**16))
def test_bounds_dominate_strong_attacks(problem, seed):
    """Oracle: a targeted attack on every margin, plus all corners of the box (d ≤ 6): bound ≥ both."""
    net, x, label, eps = problem
    lo, hi = input_box(x, eps)
    corners = np.array(list(itertools.product((0.0, 1.0), repeat=net.input_dim)))
    z = net.logits(lo + corners * (hi - lo))
    for norm in ("spectral", "frobenius"):
        B = norm_margin_bounds(net, x[None], np.array([label]), eps, norm)[0]
        for j in range(net.n_classes):
            if j == label:
                continue
            att = targeted_margin_attack(net, x, label, j, eps, steps=40, restarts=4, rng=seed)
            found = max(att.margin, float((z[:, j] - z[:, label]).max()))
            assert B[j] >= found - 1e-12 * (1 + abs(found)), (
                f"{norm} class {j}: {B[j]!r} < {found!r} (seed {seed})"
            )


def test_certify_and_registry():
    assert {"spectral", "frobenius"} <= set(available())
    rng = np.random.default_rng(2)
    net = ReLUNetwork([rng.standard_normal((6, 3)), rng.standard_normal((3, 6))], [np.zeros(6), np.zeros(3)])
    X = rng.random((20, 3))
    y = net.predict(X)
    for name in ("spectral", "frobenius"):
        cert = get_certifier(name)
        cert.prepare(net)
        res = cert.certify(net, X, y, 0.001)
        assert all(r.bound_kind == "closed-form" and r.method == name for r in res)
        assert [r.certified for r in res] == [all(v < 0 for v in r.bounds.values()) for r in res]
        assert any(r.certified for r in res)  # tiny ε: the clean margins dominate


@pytest.mark.parametrize("depth", [0, 2])
def test_other_depths_are_rejected(depth):
    rng = np.random.default_rng(0)
    sizes = [3] + [4] * depth + [2]
    net = ReLUNetwork(
        [rng.standard_normal((o, i)) for i, o in zip(sizes[:-1], sizes[1:])], [np.zeros(o) for o in sizes[1:]]
    )
    X, y = np.full((1, 3), 0.5), np.array([0])
    for name in ("spectral", "frobenius"):
        with pytest.raises(ValueError, match=f"exactly one hidden layer.*got {depth} hidden layers"):
            get_certifier(name).bound_margins(net, X, y, 0.1)
        with pytest.raises(ValueError, match="exactly one hidden layer"):
            get_certifier(name).prepare(net)


def test_validation_messages():
    net = ReLUNetwork([np.ones((2, 3)), np.ones((2, 2))], [np.zeros(2), np.zeros(2)])
    with pytest.raises(ValueError, match="`norm` must be one of"):
        norm_margin_bounds(net, np.zeros((1, 3)), [0], 0.1, "nuclear")
    with pytest.raises(ValueError, match="`eps` must be a non-negative"):
        norm_margin_bounds(net, np.zeros((1, 3)), [0], -1.0)
    with pytest.raises(TypeError, match="ReLUNetwork"):
        norm_margin_bounds("net", np.zeros((1, 3)), [0], 0.1)
