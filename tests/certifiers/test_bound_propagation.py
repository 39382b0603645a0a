"""Tests of certifiers._bound_propagation: IBP, CROWN, the triangle LP, the margin bounds and their plugins.

Oracles used here:

* points sampled in the input box (uniformly and on its corners), evaluated by the float64 forward pass:
  every pre-activation and every margin must lie within the bounds (soundness);
* a strong targeted attack (``targeted_margin_attack``) on every margin (soundness);
* nesting by construction: CROWN ⊆ IBP, LP ⊆ CROWN, exact LP (HiGHS) ⊆ LP dual, elementwise;
* networks whose neurons are all stable on the box are affine there: the bound must equal the margin at the
  maximising corner, a point where the network actually reaches it (exactness);
* an independent CVXPY formulation of the triangle LP for one-hidden-layer networks (whose first-layer bounds
  are exact for every method), solved by Clarabel.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from certifiers import _bound_propagation as bp
from certifiers._attacks import pgd_attack, targeted_margin_attack
from certifiers._base import available, get_certifier, input_box
from certifiers._bound_propagation import (
    BOUND_METHODS,
    LayerBounds,
    crown_bounds,
    interval_bounds,
    layer_bounds,
    linear_upper_bounds,
    lp_bounds,
    margin_upper_bounds,
)
from certifiers._network import ReLUNetwork
from tests.strategies import perturbation_problems, relu_networks

FAST = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
SLOW = settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _tol(*arrays) -> float:
    """Rounding allowance: 1e-9 relative to the largest magnitude involved."""
    return 1e-9 * (1.0 + max(float(np.max(np.abs(a))) if np.size(a) else 0.0 for a in arrays))


def _box_points(lo, hi, rng, n_random=200):
    """Uniform points of the box plus random corners (where maxima of affine pieces lie)."""
    d = lo.size
    corners = np.where(rng.random((n_random, d)) < 0.5, lo, hi)
    return np.concatenate([lo[None], hi[None], rng.uniform(lo, hi, (n_random, d)), corners])


def _pre_activations(net, P):
    """[W_i x_i + b_i for i = 0..L] at the points P (float64)."""
    acts = net.activations(P)
    return [acts[i] @ W.T + b for i, (W, b) in enumerate(zip(net.weights, net.biases))]


def _margins(net, P, label):
    z = net.logits(P)
    return z - z[:, [label]]


# -- soundness ------------------------------------------------------------------------------------------
@FAST
@given(
    perturbation_problems(relu_networks(min_hidden_layers=0, max_hidden_layers=3)), st.integers(0, 2**32 - 1)
)
def test_layer_bounds_contain_sampled_pre_activations(problem, seed):
    """Oracle: sampled points of the box; every pre-activation of every layer lies within each method's
    bounds."""
    net, x, label, eps = problem
    lo, hi = input_box(x, eps)
    P = _box_points(lo, hi, np.random.default_rng(seed))
    pre = _pre_activations(net, P)
    for method in BOUND_METHODS:
        b = layer_bounds(net, lo, hi, method)
        assert b.n_layers == net.n_layers
        for i, z in enumerate(pre):
            tol = _tol(z, b.pre_lower[i], b.pre_upper[i])
            assert np.all(z >= b.pre_lower[i] - tol), f"{method} layer {i}: {z.min(0)} < {b.pre_lower[i]}"
            assert np.all(z <= b.pre_upper[i] + tol), f"{method} layer {i}: {z.max(0)} > {b.pre_upper[i]}"
        acts = net.activations(P)
        for i in range(net.n_layers):  # x_0..x_L
            assert np.all(acts[i] >= b.x_lower[i] - _tol(acts[i])) and np.all(
                acts[i] <= b.x_upper[i] + _tol(acts[i])
            )


@FAST
@given(
    perturbation_problems(relu_networks(min_hidden_layers=0, max_hidden_layers=3)), st.integers(0, 2**32 - 1)
)
def test_margin_bounds_dominate_sampled_margins(problem, seed):
    """Oracle: sampled points of the box; max f_j − f_label over them ≤ each method's bound, and
    bound[label] = 0."""
    net, x, label, eps = problem
    lo, hi = input_box(x, eps)
    P = _box_points(lo, hi, np.random.default_rng(seed))
    found = _margins(net, P, label).max(axis=0)
    for method in BOUND_METHODS:
        B = margin_upper_bounds(net, lo, hi, label, method)
        assert B.shape == (net.n_classes,) and B[label] == 0.0
        assert np.all(B >= found - _tol(found, B)), (
            f"{method}: bound {B} < sampled margin {found} (seed {seed})"
        )


@FAST
@given(
    perturbation_problems(relu_networks(min_hidden_layers=0, max_hidden_layers=3)), st.integers(0, 2**32 - 1)
)
def test_linear_bounds_dominate_sampled_values_and_nest(problem, seed):
    """Oracles: sampled points of the box (C f(x) + c0 ≤ each method's bound), nesting LP ≤ CROWN ≤ IBP, and
    the margin rows e_j − e_label give exactly :func:`margin_upper_bounds`."""
    net, x, label, eps = problem
    lo, hi = input_box(x, eps)
    rng = np.random.default_rng(seed)
    K = net.n_classes
    C = rng.standard_normal((3, K))
    c0 = rng.standard_normal(3)
    found = (net.logits(_box_points(lo, hi, rng)) @ C.T + c0).max(axis=0)
    bounds = {m: linear_upper_bounds(net, lo, hi, C, c0, m) for m in BOUND_METHODS}
    for m, B in bounds.items():
        assert B.shape == (3,)
        assert np.all(B >= found - _tol(found, B)), f"{m}: bound {B} < sampled value {found} (seed {seed})"
    assert np.all(bounds["crown"] <= bounds["ibp"]) and np.all(bounds["lp"] <= bounds["crown"])
    E = np.eye(K) - np.eye(K)[label]
    for m in BOUND_METHODS:
        np.testing.assert_array_equal(
            np.delete(linear_upper_bounds(net, lo, hi, E, None, m), label),
            np.delete(margin_upper_bounds(net, lo, hi, label, m), label),
        )


def test_linear_bounds_batched_and_validated():
    net = ReLUNetwork([np.array([[1.0], [-1.0]]), np.eye(2)], [np.zeros(2), np.zeros(2)])
    lo, hi = np.array([[-1.0], [0.0]]), np.array([[2.0], [1.0]])
    B = linear_upper_bounds(net, lo, hi, [[1.0, 1.0]], [-0.5], "crown")
    assert B.shape == (2, 1) and B[:, 0].tolist() == [1.5, 0.5]  # |x| − 0.5 on [−1, 2] and on [0, 1]
    assert linear_upper_bounds(net, lo[0], hi[0], np.zeros((0, 2))).shape == (0,)
    with pytest.raises(ValueError, match="`C` must have shape"):
        linear_upper_bounds(net, lo[0], hi[0], [1.0, 1.0])
    with pytest.raises(ValueError, match="`c0` must have shape"):
        linear_upper_bounds(net, lo[0], hi[0], [[1.0, 1.0]], [0.0, 0.0])
    with pytest.raises(ValueError, match="finite"):
        linear_upper_bounds(net, lo[0], hi[0], [[np.nan, 1.0]])


@SLOW
@given(perturbation_problems(relu_networks(max_hidden_layers=3, max_classes=3)), st.integers(0, 2**16))
def test_margin_bounds_dominate_targeted_attacks(problem, seed):
    """Oracle: a strong targeted attack on each margin; the tightest bound (LP) must stay above it."""
    net, x, label, eps = problem
    lo, hi = input_box(x, eps)
    B = margin_upper_bounds(net, lo, hi, label, "lp")
    for j in range(net.n_classes):
        if j == label:
            continue
        att = targeted_margin_attack(net, x, label, j, eps, steps=60, restarts=6, rng=seed)
        assert np.all(att.x >= lo) and np.all(att.x <= hi)
        assert B[j] >= att.margin - _tol(att.margin, B[j]), (
            f"seed {seed}, class {j}: LP bound {B[j]!r} < attack margin {att.margin!r}"
        )


def test_bounds_dominate_pgd_on_a_fixed_net():
    """Oracle: PGD's best margins (lower bounds) ≤ every certifier's upper bounds, example by example."""
    rng = np.random.default_rng(7)
    net = ReLUNetwork(
        [rng.standard_normal((12, 6)), rng.standard_normal((8, 12)), rng.standard_normal((4, 8))],
        [rng.standard_normal(12), rng.standard_normal(8), rng.standard_normal(4)],
    )
    X = rng.random((30, 6))
    y = net.predict(X)
    res = pgd_attack(net, X, y, 0.1, steps=30, restarts=2, rng=0)
    for name in ("ibp", "crown", "lp"):
        B, kind = get_certifier(name).bound_margins(net, X, y, 0.1)
        assert kind == "closed-form"
        assert np.all(B >= res.best_margins - _tol(B)), name


# -- nesting --------------------------------------------------------------------------------------------
@FAST
@given(perturbation_problems(relu_networks(min_hidden_layers=0, max_hidden_layers=3)))
def test_methods_are_nested(problem):
    """Oracle: by construction crown ⊆ ibp and lp ⊆ crown, layer by layer and for the margins."""
    net, x, label, eps = problem
    lo, hi = input_box(x, eps)
    ibp, crown, lp = (layer_bounds(net, lo, hi, m) for m in BOUND_METHODS)
    for i in range(net.n_layers):
        assert np.all(crown.pre_upper[i] <= ibp.pre_upper[i]) and np.all(
            crown.pre_lower[i] >= ibp.pre_lower[i]
        )
        assert np.all(lp.pre_upper[i] <= crown.pre_upper[i]) and np.all(lp.pre_lower[i] >= crown.pre_lower[i])
        assert np.all(lp.pre_lower[i] <= lp.pre_upper[i])
    m_ibp, m_crown, m_lp = (margin_upper_bounds(net, lo, hi, label, m) for m in BOUND_METHODS)
    assert np.all(m_crown <= m_ibp) and np.all(m_lp <= m_crown)


def test_crown_strictly_tighter_than_ibp_on_abs():
    """Oracle: |x| = relu(x) + relu(−x) on [−1, 1] has maximum 1; IBP says 2, CROWN and LP find 1."""
    net = ReLUNetwork([np.array([[1.0], [-1.0]]), np.array([[1.0, 1.0]])], [np.zeros(2), np.zeros(1)])
    assert interval_bounds(net, [-1.0], [1.0]).logits_upper.tolist() == [2.0]
    assert crown_bounds(net, [-1.0], [1.0]).logits_upper.tolist() == [1.0]
    assert lp_bounds(net, [-1.0], [1.0]).logits_upper.tolist() == [1.0]
    # the lower bound: IBP gives 0, the truth is 0 too
    assert crown_bounds(net, [-1.0], [1.0]).logits_lower.tolist() == [0.0]


def test_margin_folds_the_difference_into_the_last_layer():
    """Oracle: f_1 − f_0 = x − x = 0 identically; subtracting the logit intervals would give 0.6."""
    net = ReLUNetwork([np.array([[1.0], [1.0]])], [np.zeros(2)])
    for method in BOUND_METHODS:
        assert margin_upper_bounds(net, [0.2], [0.8], 0, method).tolist() == [0.0, 0.0]


# -- exactness when every neuron is stable --------------------------------------------------------------
def _stabilise(net: ReLUNetwork, lo, hi, rng) -> ReLUNetwork:
    """Shift biases layer by layer so that IBP proves every hidden neuron stable on the box."""
    weights, biases = list(net.weights), [b.copy() for b in net.biases]
    for i in range(net.n_layers - 1):
        b = interval_bounds(ReLUNetwork(weights[: i + 1], biases[: i + 1]), lo, hi)
        l, u = b.pre_lower[i], b.pre_upper[i]
        active = rng.random(l.size) < 0.6
        biases[i] = biases[i] + np.where(active, np.maximum(-l, 0.0) + 0.1, -np.maximum(u, 0.0) - 0.1)
    return ReLUNetwork(weights, biases)


@FAST
@given(perturbation_problems(relu_networks(max_hidden_layers=3)), st.integers(0, 2**32 - 1))
def test_exact_when_all_neurons_are_stable(problem, seed):
    """Oracle: on a box where all neurons are stable the network is affine, so the max of each margin is
    reached at the corner chosen by the sign of its gradient; CROWN and LP must return exactly that value
    (to 1e-9 relative)."""
    net, x, label, eps = problem
    lo, hi = input_box(x, eps)
    net = _stabilise(net, lo, hi, np.random.default_rng(seed))
    assert not any(m.any() for m in crown_bounds(net, lo, hi).unstable())
    # effective affine map of the margins on the box, from the activation pattern at the centre
    pattern = [a > 0 for a in _pre_activations(net, (0.5 * (lo + hi))[None])[:-1]]
    A = np.eye(net.input_dim)
    for i in range(net.n_layers - 1):
        A = (net.weights[i] @ A) * pattern[i][0][:, None]
    G = net.weights[-1] @ A  # gradient of the logits
    for j in range(net.n_classes):
        g = G[j] - G[label]
        corner = np.where(g > 0, hi, lo)
        reached = _margins(net, corner[None], label)[0, j]
        for method in ("crown", "lp"):
            B = margin_upper_bounds(net, lo, hi, label, method)
            assert abs(B[j] - reached) <= _tol(B, reached), (
                f"{method} class {j}: bound {B[j]} vs reached {reached}"
            )
        # pre-activation bounds of the logits are exact too (attained at corners)
        zc = net.logits(np.where(G[j] > 0, hi, lo)[None])[0, j]
        assert abs(crown_bounds(net, lo, hi).logits_upper[j] - zc) <= _tol(zc)


@given(perturbation_problems(relu_networks(min_hidden_layers=0, max_hidden_layers=0)))
@FAST
def test_linear_model_is_exact_for_every_method(problem):
    """Oracle: with no hidden layer the margin is affine; even IBP (with the folded difference) is exact."""
    net, x, label, eps = problem
    lo, hi = input_box(x, eps)
    c = net.weights[0] - net.weights[0][label]
    corners = np.where(c > 0, hi, lo)
    reached = np.array([_margins(net, corners[j][None], label)[0, j] for j in range(net.n_classes)])
    for method in BOUND_METHODS:
        B = margin_upper_bounds(net, lo, hi, label, method)
        np.testing.assert_allclose(B, reached, rtol=0, atol=_tol(reached))


# -- the exact LP ---------------------------------------------------------------------------------------
def _cvxpy_triangle_lp(net: ReLUNetwork, lo, hi, c, c0):
    """max cᵀ h + c0 over the triangle relaxation h of relu(W0 x + b0), x in the box, written independently
    with CVXPY (one hidden layer)."""
    cp = pytest.importorskip("cvxpy")
    W, b = net.weights[0], net.biases[0]
    zl = np.minimum(W, 0) @ hi + np.maximum(W, 0) @ lo + b  # exact bounds of the first layer
    zu = np.maximum(W, 0) @ hi + np.minimum(W, 0) @ lo + b
    x = cp.Variable(lo.size)
    h = cp.Variable(W.shape[0])
    pre = W @ x + b
    cons = [x >= lo, x <= hi, h >= 0, h >= pre]
    for k in range(W.shape[0]):
        if zu[k] <= 0:
            cons.append(h[k] == 0)
        elif zl[k] >= 0:
            cons.append(h[k] == pre[k])
        else:
            cons.append(h[k] <= zu[k] / (zu[k] - zl[k]) * (pre[k] - zl[k]))
    prob = cp.Problem(cp.Maximize(c @ h + c0), cons)
    prob.solve(solver="CLARABEL", tol_gap_abs=1e-10, tol_gap_rel=1e-10, tol_feas=1e-10)
    return prob.value


@SLOW
@given(perturbation_problems(relu_networks(min_hidden_layers=1, max_hidden_layers=1, max_classes=3)))
def test_exact_lp_matches_cvxpy_on_one_hidden_layer(problem):
    """Oracle: an independent CVXPY/Clarabel triangle LP (accurate to ~1e-8); the HiGHS value must match it
    to 1e-6, and the dual-network and CROWN values must not be below it."""
    net, x, label, eps = problem
    lo, hi = input_box(x, eps)
    exact = margin_upper_bounds(net, lo, hi, label, "lp", lp_solver="highs")
    dual = margin_upper_bounds(net, lo, hi, label, "lp")
    crown = margin_upper_bounds(net, lo, hi, label, "crown")
    assert np.all(exact <= dual) and np.all(dual <= crown)
    W, b = net.weights[-1], net.biases[-1]
    for j in range(net.n_classes):
        if j == label:
            continue
        ref = _cvxpy_triangle_lp(net, lo, hi, W[j] - W[label], b[j] - b[label])
        scale = 1.0 + abs(ref)
        assert abs(exact[j] - ref) <= 1e-6 * scale, f"class {j}: HiGHS {exact[j]!r} vs CVXPY {ref!r}"
        assert dual[j] >= ref - 1e-7 * scale


@SLOW
@given(
    perturbation_problems(relu_networks(min_hidden_layers=2, max_hidden_layers=3, max_width=4)),
    st.integers(0, 2**32 - 1),
)
def test_exact_lp_layers_are_sound_and_tighter(problem, seed):
    """Oracle: sampled points (soundness) and the dual-network bounds (the exact LP may only tighten them)."""
    net, x, label, eps = problem
    lo, hi = input_box(x, eps)
    exact = lp_bounds(net, lo, hi, solver="highs")
    dual = lp_bounds(net, lo, hi)
    P = _box_points(lo, hi, np.random.default_rng(seed), n_random=100)
    for i, z in enumerate(_pre_activations(net, P)):
        assert np.all(exact.pre_upper[i] <= dual.pre_upper[i]) and np.all(
            exact.pre_lower[i] >= dual.pre_lower[i]
        )
        tol = _tol(z, exact.pre_upper[i])
        assert np.all(z <= exact.pre_upper[i] + tol) and np.all(z >= exact.pre_lower[i] - tol), f"layer {i}"


def test_exact_lp_value_is_the_lp_optimum():
    """Oracle: the float64 Lagrangian bound from HiGHS' multipliers is within 1e-7 of HiGHS' primal optimum
    (a wrong sign convention for the multipliers would leave a large gap) and never below it."""
    from scipy.optimize import linprog

    rng = np.random.default_rng(3)
    net = ReLUNetwork(
        [rng.standard_normal((6, 4)), rng.standard_normal((5, 6)), rng.standard_normal((3, 5))],
        [rng.standard_normal(6), rng.standard_normal(5), rng.standard_normal(3)],
    )
    lo, hi = input_box(rng.random(4), 0.3)
    b = crown_bounds(net, lo, hi)
    assert any(m.any() for m in b.unstable())
    for k in (1, 2):
        problem = bp._lp_problem(net, k, b.pre_lower, b.pre_upper, lo, hi)
        A_ub, b_ub, A_eq, b_eq, lbv, ubv, off = problem
        for row in range(net.weights[k].shape[0]):
            a = net.weights[k][row]
            obj = np.zeros(lbv.size)
            obj[off:] = a
            res = linprog(
                -obj,
                A_ub=A_ub if A_ub.size else None,
                b_ub=b_ub if A_ub.size else None,
                A_eq=A_eq if A_eq.size else None,
                b_eq=b_eq if A_eq.size else None,
                bounds=np.column_stack([lbv, ubv]),
                method="highs",
            )
            primal = -res.fun
            dual = bp._lp_max(problem, a, 0.0)
            assert primal - 1e-7 <= dual <= primal + 1e-7, f"layer {k} row {row}: {dual} vs {primal}"


# -- batches, chunking, plugins, validation -------------------------------------------------------------
def test_batch_equals_single_boxes_and_chunking(monkeypatch):
    """Oracle: a batch of boxes gives the same bounds as one call per box, also when cut into tiny chunks."""
    rng = np.random.default_rng(11)
    net = ReLUNetwork(
        [rng.standard_normal((7, 5)), rng.standard_normal((6, 7)), rng.standard_normal((3, 6))],
        [rng.standard_normal(7), rng.standard_normal(6), rng.standard_normal(3)],
    )
    lo, hi = input_box(rng.random((9, 5)), 0.2)
    labels = rng.integers(0, 3, 9)
    full = {m: margin_upper_bounds(net, lo, hi, labels, m) for m in BOUND_METHODS}
    layers = lp_bounds(net, lo, hi)
    monkeypatch.setattr(bp, "_MAX_CHUNK_ENTRIES", 1)
    for m in BOUND_METHODS:
        chunked = margin_upper_bounds(net, lo, hi, labels, m)
        single = np.array([margin_upper_bounds(net, lo[k], hi[k], int(labels[k]), m) for k in range(9)])
        np.testing.assert_allclose(chunked, full[m], rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(single, full[m], rtol=1e-12, atol=1e-12)
    chunked_layers = lp_bounds(net, lo, hi)
    for a, b in zip(layers.pre_upper + layers.pre_lower, chunked_layers.pre_upper + chunked_layers.pre_lower):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)


def test_layer_bounds_structure():
    rng = np.random.default_rng(0)
    net = ReLUNetwork([rng.standard_normal((4, 3)), rng.standard_normal((2, 4))], [np.zeros(4), np.zeros(2)])
    lo, hi = np.zeros(3), np.full(3, 0.5)
    b = interval_bounds(net, lo, hi)
    assert isinstance(b, LayerBounds) and b.n_layers == 2
    assert len(b.x_lower) == 2 and b.x_lower[0] is b.input_lower
    np.testing.assert_array_equal(b.x_upper[1], np.maximum(b.pre_upper[0], 0))
    assert b.logits_lower.shape == (2,) and len(b.unstable()) == 1
    with pytest.raises(ValueError):
        b.pre_upper[0][0] = 1.0  # read-only
    batch = crown_bounds(net, np.zeros((5, 3)), np.full((5, 3), 0.5))
    assert batch.pre_lower[1].shape == (5, 2)


def test_plugins_registered_and_certify():
    """Oracle: certified ⇔ all bounds < 0 and the clean prediction is right; bound kind closed-form."""
    assert {"ibp", "crown", "lp"} <= set(available())
    rng = np.random.default_rng(5)
    net = ReLUNetwork([rng.standard_normal((8, 4)), rng.standard_normal((3, 8))], [np.zeros(8), np.zeros(3)])
    X = rng.random((10, 4))
    y = net.predict(X)
    counts = {}
    for name in ("ibp", "crown", "lp"):
        results = get_certifier(name).certify(net, X, y, 0.01)
        counts[name] = sum(r.certified for r in results)
        for r in results:
            assert r.bound_kind == "closed-form" and r.method == name
            assert r.certified == all(v < 0 for v in r.bounds.values())
    assert counts["ibp"] <= counts["crown"] <= counts["lp"] and counts["lp"] > 0
    assert get_certifier("lp", solver="highs").options == {"solver": "highs"}


def test_input_validation_messages():
    net = ReLUNetwork([np.ones((2, 3)), np.ones((2, 2))], [np.zeros(2), np.zeros(2)])
    with pytest.raises(ValueError, match=r"lo <= hi"):
        interval_bounds(net, np.ones(3), np.zeros(3))
    with pytest.raises(ValueError, match=r"shape \(3,\) or \(N, 3\)"):
        crown_bounds(net, np.zeros(2), np.ones(2))
    with pytest.raises(ValueError, match="same shape"):
        crown_bounds(net, np.zeros(3), np.ones((1, 3)))
    with pytest.raises(ValueError, match="finite"):
        interval_bounds(net, np.zeros(3), np.array([1.0, np.inf, 1.0]))
    with pytest.raises(ValueError, match="`method` must be one of"):
        margin_upper_bounds(net, np.zeros(3), np.ones(3), 0, "sdp")
    with pytest.raises(ValueError, match="`solver` must be one of"):
        lp_bounds(net, np.zeros(3), np.ones(3), solver="mosek")
    with pytest.raises(ValueError, match=r"`label` must lie in \[0, 1\]"):
        margin_upper_bounds(net, np.zeros(3), np.ones(3), 2)
    with pytest.raises(TypeError, match="integer class labels"):
        margin_upper_bounds(net, np.zeros(3), np.ones(3), 0.5)
    with pytest.raises(TypeError, match="ReLUNetwork"):
        interval_bounds([np.ones((2, 3))], np.zeros(3), np.ones(3))
    with pytest.raises(ValueError, match="`solver` must be one of"):
        get_certifier("lp", solver="simplex")
    with pytest.raises(TypeError):
        get_certifier("crown", alpha=0.5)
