"""Tests of the strong attack (certifiers._strong_attack), its witnesses, and the MILP oracle (certifiers._milp).

Oracles used here:

* exact worst cases: the MILP of Tjeng et al. (HiGHS) on small random networks of depth 1–3 — the attack's
  margins never exceed the MILP's maximum (they are margins of real points), and where the MILP's own incumbent
  is a counterexample with a clear margin the attack finds one too;
* the MILP itself against a dense grid of the box on two-dimensional inputs;
* exact arithmetic (fractions) for the inward-rounded box and for :func:`confirm_witness`;
* an independent float64 forward pass (``network.logits``) for every reported success and witness;
* the papers' PGD on the same batch: the strong attack finds every counterexample PGD finds, and more.
"""

from __future__ import annotations

import json
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from certifiers import ReLUNetwork, confirm_witness, crown_vertices, exact_box, get_certifier, strong_attack
from certifiers._attacks import pgd_attack
from certifiers._base import input_box
from certifiers._milp import exact_margin_max
from tests.strategies import relu_networks


def _net(seed: int, sizes) -> ReLUNetwork:
    rng = np.random.default_rng(seed)
    return ReLUNetwork(
        [rng.standard_normal((o, i)) * 1.5 / np.sqrt(i) for i, o in zip(sizes[:-1], sizes[1:])],
        [0.3 * rng.standard_normal(o) for o in sizes[1:]],
    )


def _instances():
    """(net, x, label, eps) on random nets of depth 1–3, labels = clean predictions."""
    out = []
    for seed in range(18):
        depth = 1 + seed % 3
        net = _net(seed, [6] + [10] * depth + [4])
        rng = np.random.default_rng(100 + seed)
        x = rng.random(6)
        out.append((net, x, int(net.predict(x[None])[0]), [0.05, 0.15, 0.3][seed % 3]))
    return out


def test_milp_oracle_matches_a_dense_grid_on_two_dimensional_inputs():
    for seed in range(6):
        net = _net(seed, [2, 8, 8, 3][: 3 + seed % 2] + ([3] if seed % 2 == 0 else []))
        lo, hi = np.array([0.1, 0.2]), np.array([0.6, 0.9])
        g = np.stack(np.meshgrid(np.linspace(lo[0], hi[0], 201), np.linspace(lo[1], hi[1], 201)), -1).reshape(-1, 2)
        z = net.logits(g)
        for j in (1, 2):
            r = exact_margin_max(net, lo, hi, 0, j)
            grid = float(np.max(z[:, j] - z[:, 0]))
            assert r.status == "optimal"
            assert grid <= r.upper + 1e-6, "the MILP's bound is below a point of the box"
            assert r.value >= grid - 1e-6, "the MILP's incumbent is worse than the grid"
            assert r.value <= r.upper + 1e-6
            assert np.all(r.x >= lo) and np.all(r.x <= hi)


def test_attack_margins_are_real_and_never_above_the_exact_maximum():
    found = needed = 0
    for net, x, label, eps in _instances():
        res = strong_attack(net, x[None], [label], eps, rng=0)
        lo, hi = input_box(x[None], eps)
        for j in range(net.n_classes):
            if j == label:
                continue
            milp = exact_margin_max(net, lo[0], hi[0], label, j)
            assert res.best_margins[0, j] <= milp.upper + 1e-6, "an attack margin above the exact maximum"
        worst = max(exact_margin_max(net, lo[0], hi[0], label, j).value for j in range(net.n_classes) if j != label)
        if res.success[0]:
            assert confirm_witness(net, x, label, eps, res.x_adv[0])
        else:
            assert worst <= 1e-3 or not np.isfinite(worst), f"missed a counterexample of margin {worst:.3g}"
        if worst > 1e-3:
            needed += 1
            found += bool(res.success[0])
    assert needed >= 4, "the instances must include non-robust ones"
    assert found == needed


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(net=relu_networks(max_hidden_layers=3), data=st.data())
def test_successes_are_confirmed_witnesses_in_the_exact_set(net, data):
    N = data.draw(st.integers(1, 3))
    X = np.array([[data.draw(st.floats(0, 1)) for _ in range(net.input_dim)] for _ in range(N)])
    y = np.array([data.draw(st.integers(0, net.n_classes - 1)) for _ in range(N)])
    eps = data.draw(st.sampled_from([0.0, 1e-3, 0.1, 0.4]))
    res = strong_attack(net, X, y, eps, steps=20, restarts=2, rng=0)
    lo, hi = input_box(X, eps)
    assert np.all(res.x_adv >= lo) and np.all(res.x_adv <= hi)
    z = np.array([net.logits(x[None])[0] for x in res.x_adv])  # one point per pass, as confirm_witness does
    np.testing.assert_array_equal(res.margins, z - z[np.arange(N), y][:, None])
    np.testing.assert_array_equal(res.success, np.argmax(z, axis=1) != y)
    zc = net.logits(X)
    clean = zc - zc[np.arange(N), y][:, None]
    assert np.all(res.best_margins >= clean - 1e-12 * (1 + np.abs(clean)))  # the clean point is visited
    for k in np.flatnonzero(res.success):
        assert confirm_witness(net, X[k], y[k], eps, res.x_adv[k])


def test_exact_box_is_inside_the_exact_set():
    rng = np.random.default_rng(0)
    X = rng.random(2000)
    X[:5] = [0.0, 1.0, 0.1, 0.3, 0.7]
    for eps in (0.1, 0.3, 1e-3, 1 / 3):
        lo, hi = exact_box(X, eps)
        for x, a, b in zip(X, lo, hi):
            fx, fe = Fraction(x), Fraction(eps)
            assert Fraction(a) >= fx - fe and Fraction(b) <= fx + fe
            assert 0 <= a <= x <= b <= 1
        ilo, ihi = input_box(X, eps)
        assert np.all(lo >= ilo) and np.all(hi <= ihi) and np.all(hi - lo >= ihi - ilo - 4e-16)


def test_confirm_witness_rejects_points_outside_the_set_and_correct_predictions():
    net = ReLUNetwork([np.array([[1.0], [-1.0]])], [np.array([0.0, 0.1])])  # f = (x, 0.1 − x): class 1 iff x < 0.05
    x, eps = np.array([0.1]), 0.1
    assert confirm_witness(net, x, 0, eps, [0.0])
    assert not confirm_witness(net, x, 0, eps, [0.06])  # correctly classified
    assert not confirm_witness(net, x, 0, 0.05, [np.nextafter(0.05, 0)])  # one ulp outside the ball
    assert not confirm_witness(net, [0.0], 0, 0.1, [-1e-300])  # outside [0, 1]
    assert not confirm_witness(net, x, 0, eps, [np.nan])
    assert not confirm_witness(net, x, 0, eps, [0.0, 0.0])  # wrong shape
    # |w − x| = ε exactly (x = 0.1 is not 1/10: the check is exact, not fl(w − x) ≤ ε)
    w = 0.0
    exact = abs(Fraction(w) - Fraction(0.1)) <= Fraction(0.1)
    assert confirm_witness(net, x, 0, 0.1, [w]) == exact


def test_stronger_than_the_papers_pgd_on_a_fixed_batch():
    net = _net(3, [8, 24, 24, 4])
    rng = np.random.default_rng(1)
    X = rng.random((40, 8))
    y = net.predict(X)
    strong = strong_attack(net, X, y, 0.08, rng=0)
    pgd = pgd_attack(net, X, y, 0.08, rng=0)
    assert not np.any(pgd.success & ~strong.success), "PGD found a counterexample the strong attack missed"
    assert strong.success.sum() >= pgd.success.sum()


def test_crown_vertices_maximise_the_linear_bound_and_match_a_linear_model():
    # linear model: the margin is affine, its maximum over the box is at the sign corner
    rng = np.random.default_rng(0)
    W, b = rng.standard_normal((3, 5)), rng.standard_normal(3)
    net = ReLUNetwork([W], [b])
    lo, hi = np.zeros((1, 5)), np.ones((1, 5))
    V = crown_vertices(net, lo, hi, [0])
    for j in (1, 2):
        c = W[j] - W[0]
        np.testing.assert_array_equal(V[0, j], np.where(c > 0, 1.0, 0.0))


def test_plugin_records_carry_checked_witnesses():
    net = _net(3, [8, 24, 24, 4])
    rng = np.random.default_rng(2)
    X = rng.random((12, 8))
    y = net.predict(X)
    plugin = get_certifier("attack", seed=0)
    records = [r.to_json() for r in plugin.certify(net, X, y, 0.2)]
    assert any(r["adversarial"] for r in records) and not all(r["adversarial"] for r in records)
    for rec, x in zip(records, X):
        json.dumps(rec)
        assert rec["bound_kind"] == "attack" and rec["method"] == "attack"
        if rec["adversarial"]:
            assert confirm_witness(net, x, rec["label"], 0.2, rec["witness"])
        else:
            assert "witness" not in rec


def test_plugin_and_function_validation():
    net = _net(0, [3, 4, 2])
    with pytest.raises(ValueError, match="steps"):
        get_certifier("attack", steps=0)
    with pytest.raises(ValueError, match="restarts"):
        get_certifier("attack", restarts=-1)
    with pytest.raises(TypeError, match="seed"):
        get_certifier("attack", seed="x")
    with pytest.raises(ValueError, match="eps"):
        strong_attack(net, np.zeros((1, 3)), [0], -0.1)
    with pytest.raises(ValueError, match="device"):
        strong_attack(net, np.zeros((1, 3)), [0], 0.1, device="nonsense")
    with pytest.raises(ValueError, match="lo <= hi"):
        exact_margin_max(net, [0.0, 0.0, 1.0], [1.0, 1.0, 0.0], 0, 1)
    with pytest.raises(ValueError, match="target"):
        exact_margin_max(net, np.zeros(3), np.ones(3), 0, 5)


def test_seeded_runs_are_reproducible_and_eps_zero_is_the_clean_point():
    net = _net(1, [5, 9, 3])
    X = np.random.default_rng(0).random((6, 5))
    y = np.zeros(6, dtype=int)
    a = strong_attack(net, X, y, 0.1, rng=7)
    b = strong_attack(net, X, y, 0.1, rng=7)
    np.testing.assert_array_equal(a.x_adv, b.x_adv)
    c = strong_attack(net, X, y, 0.0, rng=0)
    np.testing.assert_array_equal(c.x_adv, X)
    np.testing.assert_array_equal(c.success, net.predict(X) != y)


def test_given_starts_are_used_for_every_target():
    """Oracle: the network's exact form. f = (1, 20 relu(x − 0.7)) is misclassified exactly for x > 0.75; from the
    clean point 0.5 the ReLU is dead, so the gradient is 0 and a one-step attack without other starts stays there;
    given the start 0.8 it reports a confirmed witness. Bad shapes are refused."""
    net = ReLUNetwork([np.array([[1.0]]), np.array([[0.0], [20.0]])], [np.array([-0.7]), np.array([1.0, 0.0])])
    x, label, eps = np.array([0.5]), 0, 0.3
    plain = strong_attack(net, x[None], [label], eps, steps=1, restarts=1, vertex_starts=False, rng=0)
    assert not plain.success[0]
    res = strong_attack(net, x[None], [label], eps, steps=1, restarts=1, vertex_starts=False,
                        starts=np.array([[[0.8]]]), rng=0)
    assert res.success[0] and res.x_adv[0, 0] > 0.75 and confirm_witness(net, x, label, eps, res.x_adv[0])
    for starts in (np.zeros((2, 1, 1)), np.zeros((1, 1, 3)), np.full((1, 1, 1), np.nan)):
        with pytest.raises(ValueError, match="`starts` must be"):
            strong_attack(net, x[None], [label], eps, starts=starts)


def test_primal_inputs_of_an_sdp_solution_lie_in_the_box():
    """Oracle: the instance's own box. The inputs read off an SDP-cert primal factor (its mean, and its leading
    direction) are points of the layer-0 box [a − r, a + r]."""
    from certifiers._sdpcert import SDPCert
    from certifiers._verify import _primal_inputs

    rng = np.random.default_rng(4)
    net = ReLUNetwork([rng.standard_normal((6, 4)), rng.standard_normal((3, 6))], [rng.standard_normal(6), np.zeros(3)])
    x = rng.random(4)
    label = int(net.predict(x[None])[0])
    plugin = SDPCert(bounds="crown", triangle=True, early_stop=False, max_iter=5)
    inst = plugin.instance(net, x, label, (label + 1) % 3, 0.2)
    res = plugin.solve(inst)
    points = _primal_inputs(inst, res.factor)
    assert len(points) >= 1
    lo, hi = inst.centers[0] - inst.radii[0], inst.centers[0] + inst.radii[0]
    for p in points:
        assert np.all(p >= lo - 1e-9) and np.all(p <= hi + 1e-9)
