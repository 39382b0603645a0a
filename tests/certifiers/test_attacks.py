"""Tests of certifiers._attacks: PGD, FGSM, the targeted margin attack and the ``pgd``/``fgsm`` plugins.

Oracles used here:

* the perturbation box itself: every returned point must satisfy max(x − ε, 0) ≤ x_adv ≤ min(x + ε, 1)
  exactly (no rounding slack), hence also 0 ≤ x_adv ≤ 1;
* an independent float64 forward pass (``network.logits``) at the returned point: a reported success must
  really change the prediction, and the reported margins must be the margins there;
* closed forms on linear models (the maximum of an affine margin over a box is at a known corner);
* FGSM as the weaker attack: PGD (which also starts from random points and iterates) must do at least as well
  on average, over a fixed batch where FGSM is visibly suboptimal.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from certifiers._attacks import (
    AttackResult,
    MarginAttackResult,
    fgsm_attack,
    pgd_attack,
    polytope_attack,
    targeted_margin_attack,
)
from certifiers._base import available, get_certifier, input_box
from certifiers._network import ReLUNetwork
from tests.strategies import perturbation_problems, relu_networks

ATTACKS = settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _deep_net(seed: int, d: int = 10, width: int = 24, classes: int = 4) -> ReLUNetwork:
    rng = np.random.default_rng(seed)
    sizes = [d, width, width, classes]
    return ReLUNetwork(
        [rng.standard_normal((o, i)) * 1.5 / np.sqrt(i) for i, o in zip(sizes[:-1], sizes[1:])],
        [0.3 * rng.standard_normal(o) for o in sizes[1:]],
    )


def _check_result(net, X, y, eps, res: AttackResult):
    """Shared checks: box membership (exact), float64 margins, success really flips the prediction."""
    lo, hi = input_box(X, eps)
    assert res.x_adv.shape == X.shape and res.margins.shape == (len(y), net.n_classes)
    assert np.all(res.x_adv >= lo) and np.all(res.x_adv <= hi), "x_adv leaves the perturbation box"
    assert np.all(res.x_adv >= 0.0) and np.all(res.x_adv <= 1.0), "x_adv leaves [0, 1]"
    z = net.logits(res.x_adv)
    rows = np.arange(len(y))
    np.testing.assert_array_equal(res.margins, z - z[rows, y][:, None])
    np.testing.assert_array_equal(res.success, np.argmax(z, axis=1) != y)
    assert np.all(res.best_margins >= res.margins)
    # best_margins are margins of visited points: at least the clean margins
    zc = net.logits(X)
    assert np.all(res.best_margins >= zc - zc[rows, y][:, None])


@ATTACKS
@given(
    perturbation_problems(relu_networks(min_hidden_layers=0, max_hidden_layers=2), max_eps=0.6),
    st.integers(0, 2**32 - 1),
)
def test_pgd_and_fgsm_stay_in_the_box_and_report_real_margins(problem, seed):
    net, x, label, eps = problem
    X = np.stack([x, np.clip(1.0 - x, 0.0, 1.0)])
    y = np.array([label, (label + 1) % net.n_classes])
    _check_result(net, X, y, eps, pgd_attack(net, X, y, eps, steps=8, restarts=2, rng=seed))
    _check_result(net, X, y, eps, fgsm_attack(net, X, y, eps))


def test_reported_successes_are_real_on_a_batch():
    """Oracle: float64 forward pass at x_adv; the batch must contain successes for the check to bite."""
    net = _deep_net(1)
    rng = np.random.default_rng(1)
    X = rng.random((60, 10))
    y = net.predict(X)
    res = pgd_attack(net, X, y, 0.15, steps=30, restarts=2, rng=2)
    _check_result(net, X, y, 0.15, res)
    assert 0 < res.success.sum() < len(y)
    assert np.all(net.predict(res.x_adv[res.success]) != y[res.success])
    assert np.all(np.max(np.where(np.eye(4, dtype=bool)[y], -np.inf, res.margins), axis=1)[~res.success] <= 0)


def test_pgd_at_least_as_strong_as_fgsm_on_average():
    """Oracle: FGSM is one step from the clean point; PGD with restarts must reach a larger mean worst margin
    and at least as many successes on a fixed batch of a deep random network."""
    net = _deep_net(3)
    rng = np.random.default_rng(3)
    X = rng.random((80, 10))
    y = net.predict(X)
    eps = 0.1
    pgd = pgd_attack(net, X, y, eps, steps=40, restarts=3, rng=0)
    fgsm = fgsm_attack(net, X, y, eps)

    def worst(res):
        m = np.where(np.eye(net.n_classes, dtype=bool)[y], -np.inf, res.best_margins)
        return m.max(axis=1)

    assert worst(pgd).mean() > worst(fgsm).mean(), (worst(pgd).mean(), worst(fgsm).mean())
    assert pgd.success.sum() >= fgsm.success.sum()


def test_attacks_on_a_linear_model_reach_the_known_optimum():
    """Oracle: for logits (x, −x + 0.1) at x̄ = 0.1 (label 0), the margin −2x + 0.1 is maximal at
    x = max(x̄ − ε, 0); with ε = 0.2 that is x = 0 (clipped), margin 0.1 > 0: both attacks must succeed
    and reach exactly 0.1."""
    net = ReLUNetwork([np.array([[1.0], [-1.0]])], [np.array([0.0, 0.1])])
    X, y = np.array([[0.1]]), np.array([0])
    for res in (pgd_attack(net, X, y, 0.2, steps=10, restarts=1, rng=0), fgsm_attack(net, X, y, 0.2)):
        assert res.success.tolist() == [True]
        assert res.x_adv.tolist() == [[0.0]]
        assert res.best_margins[0, 1] == pytest.approx(0.1, abs=1e-15)
    # ε = 0: nothing moves, the clean (correct) prediction stands
    res = pgd_attack(net, np.array([[0.9]]), y, 0.0, rng=0)
    assert res.success.tolist() == [False] and res.x_adv.tolist() == [[0.9]]


@ATTACKS
@given(perturbation_problems(relu_networks(min_hidden_layers=0, max_hidden_layers=0)))
def test_targeted_attack_exact_on_linear_models(problem):
    """Oracle: an affine margin cᵀx + c₀ reaches its maximum over the box at x = where(c > 0, hi, lo)."""
    net, x, label, eps = problem
    lo, hi = input_box(x, eps)
    W = net.weights[0]
    for j in range(net.n_classes):
        c = W[j] - W[label]
        best = net.logits(np.where(c > 0, hi, lo)[None])[0]
        res = targeted_margin_attack(net, x, label, j, eps, steps=5, restarts=2, rng=0)
        assert isinstance(res, MarginAttackResult)
        assert np.all(res.x >= lo) and np.all(res.x <= hi)
        z = net.logits(res.x[None])[0]
        assert res.margin == z[j] - z[label]
        assert res.margin >= (best[j] - best[label]) - 1e-12 * (1 + abs(best[j] - best[label]))


def test_seeded_runs_are_reproducible():
    net = _deep_net(4)
    X = np.random.default_rng(4).random((10, 10))
    y = net.predict(X)
    a = pgd_attack(net, X, y, 0.1, steps=5, restarts=2, rng=123)
    b = pgd_attack(net, X, y, 0.1, steps=5, restarts=2, rng=np.random.default_rng(123))
    np.testing.assert_array_equal(a.x_adv, b.x_adv)
    np.testing.assert_array_equal(a.best_margins, b.best_margins)


def test_plugins():
    """Oracle: the plugin bounds are PGD's best margins (0 at the label); adversarial ⇔ some bound > 0."""
    assert {"pgd", "fgsm"} <= set(available())
    net = _deep_net(5)
    X = np.random.default_rng(5).random((40, 10))
    y = net.predict(X)
    cert = get_certifier("pgd", steps=10, restarts=2, seed=9)
    assert cert.is_attack
    B, kind = cert.bound_margins(net, X, y, 0.12)
    assert kind == "attack" and np.all(B[np.arange(40), y] == 0)
    ref = pgd_attack(net, X, y, 0.12, steps=10, restarts=2, rng=9)
    expected = ref.best_margins.copy()
    expected[np.arange(40), y] = 0.0
    np.testing.assert_array_equal(B, expected)
    results = get_certifier("pgd", steps=10, restarts=2, seed=9).certify(net, X, y, 0.12)
    assert [r.adversarial for r in results] == [bool(np.delete(B[k], y[k]).max() > 0) for k in range(40)]
    assert any(r.adversarial for r in results) and all(r.certified is None for r in results)
    assert all(r.bound_kind == "attack" for r in results)
    fg = get_certifier("fgsm").certify(net, X, y, 0.12)
    assert sum(r.adversarial for r in fg) <= sum(r.adversarial for r in results)


def test_validation_messages():
    net = _deep_net(6)
    X, y = np.full((1, 10), 0.5), np.array([0])
    with pytest.raises(ValueError, match="`steps` must be a positive integer"):
        pgd_attack(net, X, y, 0.1, steps=0)
    with pytest.raises(ValueError, match="`restarts` must be a positive integer"):
        pgd_attack(net, X, y, 0.1, restarts=2.5)
    with pytest.raises(ValueError, match="`step_size` must be a positive finite float"):
        pgd_attack(net, X, y, 0.1, step_size=-1.0)
    with pytest.raises(TypeError, match="`rng` must be"):
        pgd_attack(net, X, y, 0.1, rng="seed")
    with pytest.raises(ValueError, match="`eps` must be a non-negative"):
        fgsm_attack(net, X, y, -0.1)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        pgd_attack(net, X + 1.0, y, 0.1)
    with pytest.raises(ValueError, match="`device`"):
        pgd_attack(net, X, y, 0.1, device="no-such-device")
    import torch

    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="`device` 'cuda' is not usable here"):
            pgd_attack(net, X, y, 0.1, device="cuda")
    with pytest.raises(ValueError, match="`j` must be a class index"):
        targeted_margin_attack(net, X[0], 0, 7, 0.1)
    with pytest.raises(ValueError, match="single input"):
        targeted_margin_attack(net, X, 0, 1, 0.1)
    with pytest.raises(ValueError, match="`steps`"):
        get_certifier("pgd", steps=-3)
    with pytest.raises(TypeError):
        get_certifier("fgsm", steps=3)


def test_cuda_device_gives_real_successes():
    """Oracle: as on the CPU, a float64 forward pass at x_adv; runs only where CUDA is available."""
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device")
    net = _deep_net(1)
    X = np.random.default_rng(1).random((60, 10))
    y = net.predict(X)
    res = pgd_attack(net, X, y, 0.15, steps=30, restarts=2, rng=2, device="cuda")
    _check_result(net, X, y, 0.15, res)
    assert res.success.any()


def test_small_cpu_attacks_restore_the_torch_thread_count():
    """Small CPU attacks run single-threaded; the global torch setting must be what it was afterwards."""
    torch = pytest.importorskip("torch")
    net = _deep_net(7)
    X = np.random.default_rng(7).random((5, 10))
    y = net.predict(X)
    before = torch.get_num_threads()
    pgd_attack(net, X, y, 0.1, steps=3, restarts=1, rng=0)
    fgsm_attack(net, X, y, 0.1)
    targeted_margin_attack(net, X[0], int(y[0]), (int(y[0]) + 1) % 4, 0.1, steps=3, restarts=3, rng=0)
    assert torch.get_num_threads() == before


# -- polytope_attack -----------------------------------------------------------------------------------------
def test_polytope_attack_finds_points_in_reachable_polytopes_and_stays_in_the_box():
    """Oracles: the box (exact membership), the float64 forward pass (reported values are the violations
    there), and a linear model whose reachable set is known: f(x) = x on [−1, 2] × [0, 3]."""
    net = ReLUNetwork([np.eye(2)], [np.zeros(2)])
    lo, hi = np.array([-1.0, 0.0]), np.array([2.0, 3.0])
    polys = [
        (np.array([[1.0, 1.0]]), np.array([0.5])),  # y0 + y1 ≤ −0.5: reachable near (−1, 0)
        (np.array([[-1.0, 0.0], [0.0, -1.0]]), np.array([1.9, 2.9])),  # y0 ≥ 1.9 and y1 ≥ 2.9: a corner
        (np.array([[1.0, 0.0]]), np.array([1.5])),  # y0 ≤ −1.5: unreachable, best violation 0.5 at y0 = −1
        (np.zeros((0, 2)), np.zeros(0)),  # no condition: everything
    ]
    res = polytope_attack(net, lo, hi, polys, steps=30, restarts=4, stop_early=False, rng=0)
    assert res.x.shape == (4, 2) and res.value.shape == (4,) and res.n_steps == 30
    assert np.all(res.x >= lo) and np.all(res.x <= hi)
    for q, (A, b) in enumerate(polys[:3]):
        assert res.value[q] == np.max(A @ net.logits(res.x[q][None])[0] + b)
    assert res.value[0] <= 0 and res.value[1] <= 0 and res.value[3] == -np.inf
    assert res.value[2] == pytest.approx(0.5)
    # by default the search stops at the first polytope reached (here the last one is reached at the start)
    assert polytope_attack(net, lo, hi, polys, steps=30, restarts=4, rng=0).n_steps == 0


def test_polytope_attack_margin_polytope_matches_targeted_attack():
    """Oracle: on the box [x − ε, x + ε] ∩ [0, 1], minimising f_label − f_j is the targeted margin attack; the
    polytope attack must find a violation ≤ −(margin found by targeted_margin_attack) + small slack."""
    net = _deep_net(3)
    rng = np.random.default_rng(1)
    x = rng.random(10)
    y = int(net.predict(x[None])[0])
    j = (y + 1) % net.n_classes
    lo, hi = input_box(x, 0.2)
    a = np.zeros(net.n_classes)
    a[y], a[j] = 1.0, -1.0
    res = polytope_attack(net, lo, hi, [(a[None], np.zeros(1))], steps=100, restarts=10, rng=0)
    ref = targeted_margin_attack(net, x, y, j, 0.2, steps=100, restarts=10, rng=0)
    assert -res.value[0] >= ref.margin - 0.05 * (1 + abs(ref.margin)), (res.value[0], ref.margin)


def test_polytope_attack_time_limit_and_validation():
    net = _deep_net(0)
    lo, hi = np.zeros(10), np.ones(10)
    poly = [(np.eye(4)[:1] - np.eye(4)[1:2], np.array([-100.0]))]  # unreachable: runs until stopped
    res = polytope_attack(net, lo, hi, poly, steps=10_000, restarts=3, time_limit=0.0, rng=0)
    assert res.n_steps == 0 and np.all(res.x >= lo) and np.all(res.x <= hi)
    with pytest.raises(ValueError, match="lo <= hi"):
        polytope_attack(net, hi, lo - 1, poly)
    with pytest.raises(ValueError, match="b must have shape"):
        polytope_attack(net, lo, hi, [(np.ones((2, 4)), np.zeros(3))])
    with pytest.raises(ValueError, match="time_limit"):
        polytope_attack(net, lo, hi, poly, time_limit=-1)
