"""The "sdp-cert" plugin (certifiers._sdpcert): soundness and tightness against CVXPY, soundness against attacks,
the CROWN / LP / triangle variants, degenerate networks, option validation.

Oracles:

* the CVXPY/Clarabel formulation of SPEC §5 in the original coordinates
  (``tests.certifiers.sdpcert_oracle.sdpcert_original_optimum`` with ``stable_equality=True``, which equals the
  relaxation the plugin solves; ``triangle=True`` adds the triangle rows) — accurate to about 1e-7;
* the CVXPY/Clarabel optimum of the instance's own normalised problem, built from its dense rows
  (``SDPCertInstance.dense_constraint_matrices``) and solved by ``tests.oracles.lagrangian_optimum``;
* strong attacks (``targeted_margin_attack`` per target, ``pgd_attack`` per example): every reported bound is
  ≥ the best margin found, and no certified example has an adversarial point.

Soundness: bound ≥ OPT − 1e-6 · max(1, |OPT|) for every target. Tightness (early decision off, rtol 1e-4):
bound ≤ OPT + 1e-3 · max(1, |OPT|).
"""

from __future__ import annotations

import dataclasses
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

import certifiers
from certifiers._attacks import pgd_attack, targeted_margin_attack
from certifiers._bound_propagation import layer_bounds
from certifiers._network import ReLUNetwork
from certifiers._sdpcert import SDPCert
from certifiers._sdpcert_instance import SDPCertInstance, sdp_layer_bounds
from sdpsolve import NotConvergedWarning
from tests.certifiers.sdpcert_oracle import CLARABEL_SETTINGS, sdpcert_original_optimum
from tests.oracles import lagrangian_optimum
from tests.strategies import relu_networks

SOUND_RTOL = 1e-6
TIGHT_RTOL = 1e-3
#: shrinking re-solves CVXPY and the plugin many times; the failing example is printed without it
NO_SHRINK = [Phase.explicit, Phase.reuse, Phase.generate]
FEW = settings(max_examples=5, deadline=None, derandomize=True, phases=NO_SHRINK,
               suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])


@st.composite
def examples(draw, *, style: str = "any", max_eps: float = 0.3):
    """(net, x̄, label, ε): 2–3 hidden layers of 3–10 units, 2 ≤ d ≤ 8 inputs, 2–3 classes (≤ 2 targets),
    x̄ in [0, 1]^d with some coordinates at 0 or 1, ε in [0.02, max_eps], label = the predicted class."""
    net = draw(relu_networks(min_hidden_layers=2, max_hidden_layers=3, max_input_dim=8, max_width=10,
                             max_classes=3, style=style)
               .filter(lambda net: net.input_dim >= 2 and min(net.layer_sizes[1:-1]) >= 3))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    x = rng.random(net.input_dim)
    snap = rng.random(net.input_dim)
    x[snap < 0.15] = 0.0
    x[snap > 0.9] = 1.0
    eps = draw(st.floats(0.02, max_eps))
    return net, x, int(net.predict(x[None])[0]), eps


pytestmark = pytest.mark.usefixtures("one_thread")


def scale(x: float) -> float:
    return max(1.0, abs(x))


def instance_optimum(inst: SDPCertInstance) -> float:
    """The optimum of the instance's normalised problem (its dense rows), by CVXPY/Clarabel."""
    M0, c0 = inst.dense_objective()
    rows = inst.dense_constraint_matrices()
    A = np.array([a for a, _ in rows]).reshape(-1, inst.n, inst.n)
    beta = np.array([b for _, b in rows], dtype=np.float64)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # CVXPY's "solution may be inaccurate" (reduced tolerances)
        return lagrangian_optimum(M0, A, beta, equality=inst.equality, equal=[0], c0=c0, settings=CLARABEL_SETTINGS)


def original_optimum(net, x, eps, y, j, *, relaxation: str = "tight", **kw) -> float:
    """SPEC §5 in the original coordinates; "tight": with the stable-active equality rows, "paper": verbatim."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return sdpcert_original_optimum(net, x, eps, y, j, stable_equality=relaxation == "tight", **kw)


def describe(net: ReLUNetwork, x, eps, y) -> str:
    """Enough to rebuild the example: sizes, weights' fingerprint, x̄, ε, label (hypothesis prints the draw)."""
    xs = np.array2string(np.asarray(x), precision=17, max_line_width=10**6)
    return f"net {list(net.layer_sizes)} ({net.fingerprint()[:12]}), x {xs}, eps {eps!r}, label {y}"


def unclipped_layer_bounds(net, x, eps, bounds: str):
    """Layer bounds propagated from x̄ ± ε (not clipped to [0, 1]) with the clipped input box, written here
    from the propagation routines so that the oracle does not use the plugin's ``sdp_layer_bounds``."""
    lb = layer_bounds(net, x - eps, x + eps, bounds)
    return dataclasses.replace(lb, input_lower=np.clip(x - eps, 0, 1), input_upper=np.clip(x + eps, 0, 1))


def check_against_oracles(net, x, eps, y, cert: SDPCert, *, tight: bool, **oracle_kw) -> None:
    """Run the plugin on one example and compare every target's bound with both CVXPY optima."""
    if cert.bounds_box == "unclipped":
        oracle_kw["layer_bounds_"] = unclipped_layer_bounds(net, x, eps, cert.bounds)
    B, kind = cert.bound_margins(net, np.asarray(x)[None], np.array([y]), eps)
    assert kind in ("rigorous", "closed-form"), kind
    for j in range(net.n_classes):
        if j == y:
            assert B[0, j] == 0.0
            continue
        inst = SDPCertInstance(net, x, eps, y, j, bounds=cert.bounds, triangle=cert.triangle,
                               relaxation=cert.relaxation, bounds_box=cert.bounds_box)
        original = original_optimum(net, x, eps, y, j, bounds=cert.bounds, relaxation=cert.relaxation, **oracle_kw)
        for name, opt in (("original", original),
                          ("instance", instance_optimum(inst))):
            label = (f"{describe(net, x, eps, y)}, target {j}, {cert.options}: bound {B[0, j]!r}, {name} OPT {opt!r}, "
                     f"details {cert.last_details[0].get(j)}")
            assert B[0, j] >= opt - SOUND_RTOL * scale(opt), f"UNSOUND: {label}"
            if tight:
                assert B[0, j] <= opt + TIGHT_RTOL * scale(opt), f"not tight: {label}"
        assert B[0, j] <= inst.interval_bound() + 1e-12 * scale(B[0, j]), "worse than the interval bound"


# -- soundness and tightness against CVXPY ------------------------------------------------------------------
@FEW
@given(examples())
def test_sound_and_tight_against_cvxpy(problem):
    """Oracles: CVXPY, original coordinates and the instance's own rows. Early decision off, rtol 1e-4."""
    net, x, y, eps = problem
    check_against_oracles(net, x, eps, y, SDPCert(early_stop=False, rtol=1e-4), tight=True)


@FEW
@given(examples())
def test_paper_relaxation_sound_and_tight_against_the_verbatim_oracle(problem):
    """Oracles: CVXPY of SPEC §5 exactly as printed (original coordinates) and the instance's own rows."""
    net, x, y, eps = problem
    check_against_oracles(net, x, eps, y, SDPCert(early_stop=False, rtol=1e-4, relaxation="paper"), tight=True)


@FEW
@given(examples())
def test_triangle_sound_and_tight_against_cvxpy(problem):
    """Oracles: CVXPY with the triangle rows, original coordinates and the instance's own rows."""
    net, x, y, eps = problem
    check_against_oracles(net, x, eps, y, SDPCert(early_stop=False, rtol=1e-4, triangle=True), tight=True,
                          triangle=True)


@FEW
@given(examples())
def test_unclipped_bounds_box_sound_and_tight_against_cvxpy(problem):
    """``bounds_box="unclipped"``: oracles CVXPY in the original coordinates with the layer bounds of x̄ ± ε
    (the input box clipped; x̄ has coordinates at 0 and 1, so the boxes differ), and the instance's own rows."""
    net, x, y, eps = problem
    check_against_oracles(net, x, eps, y, SDPCert(early_stop=False, rtol=1e-4, bounds_box="unclipped"), tight=True)


@pytest.mark.parametrize("bounds", ["ibp", "crown", "lp"])
def test_unclipped_bounds_box_propagates_the_unclipped_box(bounds):
    """The layer bounds of ``bounds_box="unclipped"`` are those of x̄ ± ε, the same as the clipped box's where
    x̄ is not within ε of 0 or 1, and (interval bounds, which are monotone in the box) looser where it is; the
    input box the SDP constrains x to stays clipped. CROWN and LP bounds are not monotone neuron by neuron (their
    relaxation slopes follow the intermediate bounds), but valid for x̄ ± ε, hence for its clipped part."""
    net = random_net(5, [6, 8, 8, 3])
    x = 0.2 + 0.6 * np.random.default_rng(3).random(6)  # no coordinate within ε of 0 or 1
    eps = 0.1
    x_edge = x.copy()
    x_edge[:3] = [0.0, 1.0, 0.05]
    for point, clipped in ((x, False), (x_edge, True)):
        inner = sdp_layer_bounds(net, point, eps, bounds)
        outer = sdp_layer_bounds(net, point, eps, bounds, bounds_box="unclipped")
        expected = unclipped_layer_bounds(net, point, eps, bounds)
        np.testing.assert_array_equal(outer.input_lower, inner.input_lower)
        np.testing.assert_array_equal(outer.input_upper, inner.input_upper)
        assert inner.input_lower.min() >= 0 and inner.input_upper.max() <= 1
        same = True
        for i in range(net.n_layers):
            np.testing.assert_allclose(outer.pre_lower[i], expected.pre_lower[i], rtol=0, atol=1e-12)
            np.testing.assert_allclose(outer.pre_upper[i], expected.pre_upper[i], rtol=0, atol=1e-12)
            same &= np.array_equal(outer.pre_lower[i], inner.pre_lower[i])
            same &= np.array_equal(outer.pre_upper[i], inner.pre_upper[i])
            if bounds == "ibp":
                assert np.all(outer.pre_lower[i] <= inner.pre_lower[i])
                assert np.all(outer.pre_upper[i] >= inner.pre_upper[i])
        assert same != clipped, (bounds, clipped)
    inst = SDPCertInstance(net, x_edge, eps, 0, 1, bounds=bounds, bounds_box="unclipped")
    np.testing.assert_array_equal(inst.bounds.pre_upper[0],
                                  sdp_layer_bounds(net, x_edge, eps, bounds, "unclipped").pre_upper[0])
    if bounds == "ibp":
        assert inst.interval_bound() > SDPCertInstance(net, x_edge, eps, 0, 1).interval_bound()


# -- soundness against attacks ------------------------------------------------------------------------------
def check_against_attacks(net, X, y, eps, results, *, seed: int) -> None:
    """Every bound ≥ the margin of a strong targeted attack; no certified example has an adversarial point."""
    pgd = pgd_attack(net, X, y, eps, steps=100, restarts=10, rng=seed)
    for k, res in enumerate(results):
        label = f"{describe(net, X[k], eps, y[k])}: {res.bounds}, certified {res.certified}"
        assert res.bound_kind in ("rigorous", "closed-form"), label
        for j, bound in res.bounds.items():
            found = targeted_margin_attack(net, X[k], int(y[k]), j, eps, steps=100, restarts=8, rng=seed).margin
            assert bound >= found - 1e-9 * scale(found), f"UNSOUND: target {j}: attack margin {found!r} > {label}"
            best = pgd.best_margins[k, j]
            assert bound >= best - 1e-9 * scale(best), f"UNSOUND: PGD margin {best!r} > {label}"
            if res.certified:
                assert found < 0, f"certified, but the attack reaches margin {found!r} against {j}: {label}"
        if res.certified:
            assert not pgd.success[k], f"certified, but PGD found an adversarial point {pgd.x_adv[k]}: {label}"


@FEW
@given(examples(max_eps=0.15), st.integers(0, 2**16))
def test_certified_examples_withstand_attacks(problem, seed):
    """Oracle: PGD (cross-entropy, 10 restarts) and a targeted margin attack per class, default plugin settings
    (early decision on): every bound ≥ the best margin found; nothing certified is broken."""
    net, x, y, eps = problem
    results = SDPCert().certify(net, x[None], [y], eps)
    check_against_attacks(net, x[None], np.array([y]), eps, results, seed=seed)


def random_net(seed: int, sizes: list[int]) -> ReLUNetwork:
    """Gaussian weights (1/√fan-in) and biases N(0, 0.5²), rounded to float32 like trained weights."""
    rng = np.random.default_rng(seed)
    Ws = [(rng.standard_normal((o, i)) / np.sqrt(i)).astype(np.float32) for i, o in zip(sizes[:-1], sizes[1:])]
    bs = [(0.5 * rng.standard_normal(o)).astype(np.float32) for o in sizes[1:]]
    return ReLUNetwork(Ws, bs)


@pytest.mark.parametrize("bounds", ["ibp", "crown", "lp"])
def test_batch_against_attacks_certifies_some_and_not_all(bounds):
    """Oracle: the attacks above, on a batch of 6 correctly classified points of a 6-10-10-3 net at ε = 0.1: the
    batch mixes certified and uncertified examples (so the test is not vacuous), and nothing certified breaks."""
    net = random_net(3, [6, 10, 10, 3])
    rng = np.random.default_rng(33)
    X = rng.random((12, 6))
    y = net.predict(X)
    X, y = X[:6], y[:6]
    results = SDPCert(bounds=bounds).certify(net, X, y, 0.1)
    check_against_attacks(net, X, y, 0.1, results, seed=0)
    certified = [r.certified for r in results]
    assert any(certified) and not all(certified), f"{bounds}: certified {certified}; choose another ε"


def test_examples_broken_at_a_crown_corner_are_not_solved():
    """Oracles: the network's own margin at CROWN's worst corners (``crown_vertices``) and CROWN's margin bound.
    An example whose corner margin is > 0 cannot be certified by any relaxation: no SDP is solved for it (no
    per-target details), and every target's bound is the proved closed form at the start multipliers, which
    with the triangle rows is CROWN's bound (to rounding) and is ≥ that corner margin. An example without such
    a corner is solved as before."""
    from certifiers._base import input_box
    from certifiers._bound_propagation import crown_vertices, margin_upper_bounds

    net = random_net(3, [6, 10, 10, 3])
    rng = np.random.default_rng(33)
    X = rng.random((12, 6))
    y = net.predict(X)
    plugin = SDPCert(bounds="crown", triangle=True)
    broken = solved = 0
    for k in range(12):
        lo, hi = input_box(X[k], 0.1)
        z = net.logits(crown_vertices(net, lo[None], hi[None], [int(y[k])])[0])
        corner = np.array([z[j, j] - z[j, y[k]] for j in range(3)])
        B, _ = plugin.bound_margins(net, X[k : k + 1], y[k : k + 1], 0.1)
        if np.any(corner > 0):
            broken += 1
            assert plugin.last_details[0] == {}
            crown = margin_upper_bounds(net, lo, hi, int(y[k]), "crown")
            for j in range(3):
                if j != y[k]:
                    assert B[0, j] >= corner[j] - 1e-12
                    assert B[0, j] == pytest.approx(crown[j], rel=1e-9, abs=1e-12)
        else:
            solved += 1
    assert broken and solved, (broken, solved)


def gaussian_net(seed: int, sizes: list[int]) -> ReLUNetwork:
    """Gaussian weights (1/√fan-in) and biases N(0, 0.5²) in full float64."""
    rng = np.random.default_rng(seed)
    Ws = [rng.standard_normal((o, i)) / np.sqrt(i) for i, o in zip(sizes[:-1], sizes[1:])]
    return ReLUNetwork(Ws, [0.5 * rng.standard_normal(o) for o in sizes[1:]])


def test_tight_where_the_multipliers_stall():
    """Oracle: CVXPY (instance rows). An 8-7-10-8-3 net (seed 632270), ε = 0.2818, label 1, target 0: with early
    decision off and rtol 1e-4 the bound must come within 1e-3 · max(1, |OPT|) of OPT = −1.5674163."""
    net = gaussian_net(632270, [8, 7, 10, 8, 3])
    x = np.random.default_rng(632271).random(8)
    eps, y, j = 0.2818202786605751, 1, 0
    inst = SDPCertInstance(net, x, eps, y, j)
    opt = instance_optimum(inst)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotConvergedWarning)
        res = SDPCert(early_stop=False, rtol=1e-4).bound_target(net, x, y, j, eps)
    label = f"bound {res.upper!r}, OPT {opt!r}, {res.n_iter} rounds, lower {res.lower!r}, violation {res.violation:.1e}"
    assert res.upper >= opt - SOUND_RTOL * scale(opt), f"UNSOUND: {label}"
    assert res.upper <= opt + TIGHT_RTOL * scale(opt), f"not tight: {label}"


# -- tighter intermediate bounds -----------------------------------------------------------------------------
@pytest.mark.parametrize("bounds", ["crown", "lp"])
@settings(max_examples=3, deadline=None, derandomize=True, phases=NO_SHRINK,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(problem=examples())
def test_crown_and_lp_bounds_are_sound(bounds, problem):
    """Oracles: CVXPY with the same layer bounds (original coordinates and the instance's rows). Default plugin
    settings (early decision on, so only soundness is asserted): every bound ≥ OPT − 1e-6 · max(1, |OPT|)."""
    net, x, y, eps = problem
    check_against_oracles(net, x, eps, y, SDPCert(bounds=bounds), tight=False)


@pytest.mark.parametrize("bounds", ["crown", "lp"])
def test_crown_and_lp_tight_on_a_fixed_net(bounds):
    """Oracles: CVXPY with the same layer bounds; early decision off, rtol 1e-4: sound and tight."""
    net = random_net(4, [5, 8, 8, 3])
    x = np.random.default_rng(44).random(5)
    check_against_oracles(net, x, 0.15, int(net.predict(x[None])[0]), SDPCert(bounds=bounds, early_stop=False,
                                                                                 rtol=1e-4), tight=True)


# -- degenerate networks and inputs --------------------------------------------------------------------------
def test_linear_network_gives_the_exact_maximum():
    """Oracle: closed form. Without hidden layers the margin is affine and its maximum over the box is
    Σ max(c_i lo_i, c_i hi_i) + c_0; the plugin's bound is that value (up to rounding)."""
    rng = np.random.default_rng(0)
    net = ReLUNetwork([rng.standard_normal((3, 4))], [rng.standard_normal(3)])
    x = rng.random(4)
    y = int(net.predict(x[None])[0])
    eps = 0.1
    (res,) = SDPCert().certify(net, x[None], [y], eps)
    lo, hi = np.maximum(x - eps, 0), np.minimum(x + eps, 1)
    for j, bound in res.bounds.items():
        c = net.weights[0][j] - net.weights[0][y]
        exact = float(np.sum(np.maximum(c * lo, c * hi)) + net.biases[0][j] - net.biases[0][y])
        assert exact - 1e-12 <= bound <= exact + 1e-9, (j, bound, exact)


def test_zero_radius_gives_the_clean_margins():
    """Oracle: the float64 forward pass. With ε = 0 the perturbation set is {x̄} and the bounds are the margins."""
    net = random_net(5, [4, 6, 5, 3])
    x = np.random.default_rng(55).random(4)
    y = int(net.predict(x[None])[0])
    (res,) = SDPCert(early_stop=False).certify(net, x[None], [y], 0.0)
    logits = net.logits(x[None])[0]
    for j, bound in res.bounds.items():
        assert bound == pytest.approx(logits[j] - logits[y], abs=1e-9), (j, bound)
    assert res.certified


def test_one_hidden_layer_and_misclassified_points():
    """Oracles: CVXPY and the attacks. A one-hidden-layer net; a misclassified point is never certified and its
    bounds (the interval bounds with early decision on) stay sound."""
    net = random_net(6, [3, 7, 3])
    rng = np.random.default_rng(66)
    X = rng.random((4, 3))
    pred = net.predict(X)
    y = pred.copy()
    y[0] = (pred[0] + 1) % 3  # misclassified
    results = SDPCert().certify(net, X, y, 0.1)
    assert not results[0].certified and results[0].predicted != results[0].label
    check_against_attacks(net, X, y, 0.1, results, seed=1)
    check_against_oracles(net, X[1], 0.1, int(y[1]), SDPCert(early_stop=False, rtol=1e-4), tight=True)


def test_empty_batch():
    net = random_net(6, [3, 7, 3])
    assert SDPCert().certify(net, np.zeros((0, 3)), np.zeros(0, dtype=int), 0.1) == []


# -- options --------------------------------------------------------------------------------------------------
def test_registered_and_options_recorded():
    assert "sdp-cert" in certifiers.available()
    cert = certifiers.get_certifier("sdp-cert", bounds="crown", triangle=True, rtol=1e-2)
    assert isinstance(cert, SDPCert)
    assert cert.options["bounds"] == "crown" and cert.options["triangle"] is True and cert.options["rtol"] == 1e-2
    # the default relaxation is not recorded (stores written before the option existed keep their keys)
    assert "relaxation" not in cert.options and cert.relaxation == "tight"
    assert certifiers.get_certifier("sdp-cert", relaxation="paper").options["relaxation"] == "paper"
    assert "bounds_box" not in cert.options and cert.bounds_box == "clipped"
    assert certifiers.get_certifier("sdp-cert", bounds_box="unclipped").options["bounds_box"] == "unclipped"


def _tiny():
    net = random_net(7, [3, 5, 5, 3])
    x = np.random.default_rng(77).random(3)
    return net, x[None], net.predict(x[None]), 0.1


@pytest.mark.parametrize(
    "options, exc, match",
    [
        ({"bounds": "sdp"}, ValueError, "bounds"),
        ({"bound": "estimate"}, ValueError, "bound"),
        ({"bound": "exact"}, ValueError, "bound"),
        ({"speed": 3}, TypeError, "speed"),
        ({"rtol": -1.0}, ValueError, "rtol"),
        ({"max_iter": 0}, ValueError, "max_iter"),
        ({"time_limit": -1.0}, ValueError, "time_limit"),
        ({"time_limit": 0.0}, ValueError, "time_limit"),
    ],
)
def test_bad_options_give_clear_errors(options, exc, match):
    """A bad option raises an error naming it, at construction or at the latest when the first SDP is solved."""
    net, X, y, eps = _tiny()
    with pytest.raises(exc, match=match):
        certifiers.get_certifier("sdp-cert", **options).certify(net, X, y, eps)


@pytest.mark.parametrize(
    "options, exc, match",
    [
        ({"rtol": "small"}, TypeError, "rtol"),
        ({"max_iter": 2.5}, TypeError, "max_iter"),
        ({"seed": "a"}, TypeError, "seed"),
        ({"seed": -1}, ValueError, "seed"),
        ({"triangle": "no"}, TypeError, "triangle"),
        ({"relaxation": "exact"}, ValueError, "relaxation.*'tight', 'paper'"),
        ({"bounds_box": "open"}, ValueError, "bounds_box.*'clipped', 'unclipped'.*'open'"),
        ({"early_stop": "no"}, TypeError, "early_stop"),
        ({"rtol": -1.0}, ValueError, "rtol"),
        ({"max_iter": 0}, ValueError, "max_iter"),
    ],
)
def test_bad_options_are_rejected_at_construction(options, exc, match):
    """STYLE: one validation per entry point, naming the argument. A string "no" must not silently mean True, a
    float max_iter must not be truncated, and a bad rtol must be caught before any work (or even when no SDP
    is ever solved, e.g. every example misclassified)."""
    with pytest.raises(exc, match=match):
        SDPCert(**options)


def test_certify_input_errors():
    net, X, y, eps = _tiny()
    cert = SDPCert()
    with pytest.raises(ValueError, match="eps"):
        cert.certify(net, X, y, -0.1)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        cert.certify(net, X + 2.0, y, eps)
    with pytest.raises(ValueError, match="y"):
        cert.certify(net, X, [0, 1], eps)
    with pytest.raises(TypeError, match="network"):
        cert.certify("net", X, y, eps)


def _stub_result(upper, lower, *, decision=None, time=1.0, ipm=0.0):
    from sdpsolve import LagrangianResult, Status

    return LagrangianResult(lower=lower, upper=upper, gap=0.0, violation=0.0, dual=np.array([upper]),
                            theta=np.array([upper]), factor=np.zeros((2, 1)), status=Status.TIME_LIMIT, message="",
                            bound_kind="rigorous", failure_probability=0.0, decision=decision, n_matvec=3, n_iter=2,
                            time=time, phases={"ipm": ipm})


def test_decide_target_hands_an_open_target_to_the_interior_point_method(monkeypatch):
    """Oracle: the two solves' own results (stubbed). A target the quick solve decides, or that runs out of time,
    is returned as it is; an open one is solved again with ``ipm_max_n`` and the time left, and the smaller of the
    two certified bounds is kept with its multipliers, the seconds, rounds and products added up."""
    plugin = SDPCert(bounds="crown", triangle=True)
    inst = SDPCertInstance(random_net(3, [6, 10, 10, 3]), np.full(6, 0.5), 0.1, 0, 1, bounds="crown", triangle=True)
    calls = []

    def run(results):
        calls.clear()
        it = iter(results)

        def solve(inst, options=None, time_limit=None):
            calls.append((options, time_limit))
            return next(it)

        monkeypatch.setattr(plugin, "solve", solve)
        return plugin.decide_target(inst, time_limit=30.0)

    r = run([_stub_result(-0.5, -0.6, decision="below")])
    assert r.upper == -0.5 and calls == [(None, 5.0)]
    r = run([_stub_result(0.4, 0.1, ipm=0.2)])  # the interior-point method ran already (small n)
    assert len(calls) == 1
    r = run([_stub_result(0.4, 0.1, time=4.0), _stub_result(0.6, 0.2, decision="above", time=10.0)])
    assert calls == [(None, 5.0), ({"ipm_max_n": 1500}, 26.0)]
    assert (r.upper, r.theta[0], r.lower, r.decision, r.time, r.n_iter, r.n_matvec) == (0.4, 0.4, 0.2, "above",
                                                                                        14.0, 4, 6)
    r = run([_stub_result(0.4, 0.1), _stub_result(-0.1, -0.2, decision="below")])
    assert r.upper == -0.1 and r.decision == "below"
    with pytest.raises(ValueError, match="time_limit"):
        plugin.decide_target(inst, time_limit=0.0)


def test_decide_target_certifies_what_the_interior_point_method_certifies(monkeypatch):
    """Oracle: the same instance solved by the interior-point method from the start, early decision off, rtol 1e-4.
    A 300-120-3 net has n = 1 + 300 + 120 > 300, where the solver's default with early decision is the first-order
    method; with a quick phase of 0.05 s an open target goes to the interior-point method, whose decision must
    agree with the full solve's: "below" (and a certified bound < 0) where its bound is clearly below 0, "above"
    where its primal value is clearly above 0, never a bound below that primal value."""
    import certifiers._sdpcert as sdpcert

    monkeypatch.setattr(sdpcert, "QUICK_SECONDS", 0.05)
    net = random_net(11, [300, 120, 3])
    x = np.random.default_rng(12).random(300)
    y = int(net.predict(x[None])[0])
    for eps, j, ipm in ((0.02, (y + 1) % 3, True), (0.06, (y + 2) % 3, True), (0.1, (y + 2) % 3, True),
                        (0.01, (y + 2) % 3, False)):
        plugin = SDPCert(bounds="crown", triangle=True)
        inst = plugin.instance(net, x, y, j, eps)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", NotConvergedWarning)
            full = SDPCert(bounds="crown", triangle=True, early_stop=False, rtol=1e-4).solve(
                inst, options={"ipm_max_n": 1500})
            r = plugin.decide_target(inst)
        label = f"eps {eps}, target {j}: full [{full.lower}, {full.upper}], decide_target {r.upper} ({r.decision})"
        assert r.bound_kind == "rigorous" and r.upper >= full.lower - 1e-6 * scale(full.lower), label
        assert ((r.phases or {}).get("ipm", 0.0) > 0) == ipm, label  # the closed form at CROWN decides the last
        if full.upper < -1e-2:
            assert r.decision == "below" and r.upper < 0, label
        if full.lower > 1e-2:
            assert r.decision == "above", label
