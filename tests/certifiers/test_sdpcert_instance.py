"""Tests of certifiers._sdpcert_instance: the SDP-cert relaxation (SPEC §5) as a Lagrangian problem.

Oracles used here:

* the dense rows of ``dense_constraint_matrices`` / ``dense_objective`` (built row by row from the affine
  forms of z and Wx + b, not from the expanded formulas of the operator) for the products of M(θ), the
  constraint values and the row scales; ``sdpsolve.check_symmetric`` for symmetry;
* exact rational arithmetic (``fractions``) for the rounding bound of ``to_dense``, ``constant`` and
  ``interval_bound``;
* points of the input box pushed through the network in float64 (``lift``): every row is valid for the
  network, i.e. satisfied by its lifted points (the relaxation contains the network's behaviour);
* the CVXPY/Clarabel formulation of SPEC §5 in the original coordinates (``tests.certifiers.sdpcert_oracle``):
  the normalised problem has the same optimum as the oracle with ``stable_equality=True`` (the reduction is
  exact), and an optimum ≤ the verbatim SPEC §5 oracle (it only adds valid rows);
* a strong targeted attack (``targeted_margin_attack``): the oracle optimum is ≥ every margin found;
* the exact triangle LP (``margin_upper_bounds(..., "lp", lp_solver="highs")``): with the triangle rows and
  the same layer bounds the relaxation is at least as tight.
"""

from __future__ import annotations

import functools
import time
import warnings
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import sdpsolve
from certifiers._attacks import targeted_margin_attack
from certifiers._base import input_box
from certifiers._bound_propagation import layer_bounds, margin_upper_bounds
from certifiers._network import ReLUNetwork, from_npz
from certifiers._sdpcert_instance import ROW_KINDS, SDPCertInstance
from tests.certifiers.sdpcert_oracle import CLARABEL_SETTINGS, sdpcert_original_optimum
from tests.strategies import perturbation_problems, relu_networks

FAST = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
DATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "raghunathan18"


# -- helpers ----------------------------------------------------------------------------------------------
def random_net(seed: int, sizes: list[int]) -> ReLUNetwork:
    """Gaussian weights (1/√fan-in) and biases N(0, 0.5²), rounded to float32 like trained weights."""
    rng = np.random.default_rng(seed)
    Ws = [(rng.standard_normal((o, i)) / np.sqrt(i)).astype(np.float32) for i, o in zip(sizes[:-1], sizes[1:])]
    bs = [(0.5 * rng.standard_normal(o)).astype(np.float32) for o in sizes[1:]]
    return ReLUNetwork(Ws, bs)


#: (seed, layer sizes, ε): 2–3 hidden layers of ≤ 8 units, ≤ 6 inputs; x̄ is drawn from the seed with some
#: coordinates at 0 or 1 (clipped boxes)
CASES = [
    (0, [5, 6, 6, 3], 0.15),
    (1, [6, 8, 8, 8, 4], 0.1),
    (2, [3, 4, 4, 2], 0.3),
    (3, [4, 7, 5, 3], 0.2),
    (4, [6, 8, 8, 8, 4], 0.15),
]


def case(seed: int, sizes: list[int], eps: float):
    net = random_net(seed, sizes)
    rng = np.random.default_rng(1000 + seed)
    x = rng.random(sizes[0])
    x[0] = 0.0
    if sizes[0] > 2:
        x[1] = 1.0
    return net, x, eps, 0, 1


def net_problem(problem):
    """(net, x, eps, label, target) from a perturbation_problems draw (target = label + 1 mod K)."""
    net, x, label, eps = problem
    return net, x, eps, int(label), int((label + 1) % net.n_classes)


def random_theta(inst: SDPCertInstance, rng: np.random.Generator, scale: float = 1.0) -> np.ndarray:
    """Multipliers in the sign constraints (≥ 0 on inequality rows), magnitudes spread over decades."""
    th = rng.standard_normal(inst.m) * scale * 10.0 ** rng.uniform(-2, 1, inst.m)
    return np.where(inst.equality, th, np.abs(th))


def dense_M(inst: SDPCertInstance, theta: np.ndarray) -> np.ndarray:
    M0, _ = inst.dense_objective()
    M = M0.copy()
    for t, (A, _) in zip(theta, inst.dense_constraint_matrices()):
        M += t * A
    return M


def normalised_optimum(inst: SDPCertInstance) -> float:
    """max <M0, P̂> + c0 s.t. P̂ ⪰ 0, P̂_00 = 1, P̂_ii ≤ 1, rows (each divided by its row_scale) — CVXPY."""
    import cvxpy as cp

    M0, c0 = inst.dense_objective()
    P = cp.Variable((inst.n, inst.n), PSD=True)
    cons = [P[0, 0] == 1]
    if inst.n > 1:
        cons.append(cp.diag(P)[1:] <= 1)
    for k, (A, beta) in enumerate(inst.dense_constraint_matrices()):
        s = inst.row_scale[k]
        g = cp.trace((A / s) @ P) + beta / s
        cons.append(g == 0 if inst.equality[k] else g >= 0)
    prob = cp.Problem(cp.Maximize(cp.trace(M0 @ P) + c0), cons)
    prob.solve(solver="CLARABEL", **CLARABEL_SETTINGS)
    assert prob.status in (cp.OPTIMAL, cp.OPTIMAL_INACCURATE), prob.status
    return float(prob.value)


@functools.cache
def oracle(idx: int, *, triangle: bool = False, stable_equality: bool = True, bounds: str = "ibp") -> float:
    net, x, eps, y, j = case(*CASES[idx])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # CVXPY's "solution may be inaccurate"
        return sdpcert_original_optimum(
            net, x, eps, y, j, bounds=bounds, triangle=triangle, stable_equality=stable_equality
        )


@functools.cache
def normalised(idx: int, *, triangle: bool = False, bounds: str = "ibp", relaxation: str = "tight") -> float:
    net, x, eps, y, j = case(*CASES[idx])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return normalised_optimum(
            SDPCertInstance(net, x, eps, y, j, bounds=bounds, triangle=triangle, relaxation=relaxation)
        )


def fro(A: np.ndarray) -> float:
    """Frobenius norm scaled by the largest entry (hypothesis draws radii down to 1e-300)."""
    s = float(np.abs(A).max(initial=0.0))
    return 0.0 if s == 0 else s * float(np.linalg.norm(A / s))


def rel(a: float, b: float) -> float:
    return abs(a - b) / max(1.0, abs(b))


# -- the operator, the rows, the values ---------------------------------------------------------------------
@FAST
@given(
    perturbation_problems(relu_networks(min_hidden_layers=1, max_hidden_layers=3)),
    st.booleans(),
    st.sampled_from(["ibp", "crown"]),
    st.integers(0, 2**32 - 1),
)
def test_operator_matches_dense_rows_and_is_symmetric(problem, triangle, bounds, seed):
    """Oracle: M0 + Σ θ_k A_k from the dense rows; the randomized symmetry test."""
    net, x, eps, y, j = net_problem(problem)
    inst = SDPCertInstance(net, x, eps, y, j, bounds=bounds, triangle=triangle)
    rng = np.random.default_rng(seed)
    for theta in (inst.theta_zero(), random_theta(inst, rng)):
        op = inst.operator(theta)
        D = dense_M(inst, theta)
        assert op.shape == (inst.n, inst.n)
        sdpsolve.check_matches_dense(op, D, rtol=1e-12, rng=seed % 7)
        sdpsolve.check_symmetric(op, rtol=1e-12, rng=seed % 5)
        B, err = op.to_dense()
        np.testing.assert_array_equal(B, B.T)
        scale = 1.0 + np.abs(D).max()
        np.testing.assert_allclose(B, D, rtol=0, atol=1e-12 * scale)
        np.testing.assert_allclose(op.matmat(np.eye(inst.n)), B, rtol=0, atol=1e-12 * scale)
        np.testing.assert_array_equal(op.diagonal(), np.diag(B))
        assert 0 <= err <= 1e-10 * scale * inst.n
        assert op.norm_bound() >= np.linalg.norm(B, 2) + err
        v = rng.standard_normal(inst.n)
        assert op.matvec(v).shape == (inst.n,)


@FAST
@given(
    perturbation_problems(relu_networks(min_hidden_layers=1, max_hidden_layers=3)),
    st.booleans(),
    st.sampled_from(["tight", "paper"]),
    st.integers(0, 2**32 - 1),
)
def test_row_factors_match_the_dense_rows_where_p00_is_one(problem, triangle, relaxation, seed):
    """Oracle: <A_k, P> + β_k from the dense rows, for P = V Vᵀ with V's row 0 on the unit sphere (P_00 = 1,
    the only P the factored form speaks for)."""
    net, x, eps, y, j = net_problem(problem)
    inst = SDPCertInstance(net, x, eps, y, j, triangle=triangle, relaxation=relaxation)
    rng = np.random.default_rng(seed)
    V = rng.standard_normal((inst.n, 3))
    V[0] /= np.linalg.norm(V[0])
    P = V @ V.T
    Fa, Fb, beta = inst.row_factors()
    assert Fa.shape == Fb.shape == (inst.n, inst.m) and beta.shape == (inst.m,)
    got = np.einsum("ik,ij,jk->k", Fa, P, Fb) + beta
    rows = inst.dense_constraint_matrices()
    expect = np.array([np.sum(A * P) + b for A, b in rows])
    scale = 1.0 + np.abs(P).max() * max([np.abs(A).sum() + abs(b) for A, b in rows], default=1.0)
    np.testing.assert_allclose(got, expect, rtol=0, atol=1e-12 * scale)


@given(
    perturbation_problems(relu_networks(min_hidden_layers=1, max_hidden_layers=3)),
    st.booleans(),
    st.integers(1, 4),
    st.integers(0, 2**32 - 1),
)
def test_constraint_values_objective_and_scales_match_dense_rows(problem, triangle, r, seed):
    """Oracle: <A_k, V Vᵀ> + β_k, <M0, V Vᵀ> + c0 and ||A_k||_F from the dense rows."""
    net, x, eps, y, j = net_problem(problem)
    inst = SDPCertInstance(net, x, eps, y, j, triangle=triangle)
    V = np.random.default_rng(seed).standard_normal((inst.n, r))
    P = V @ V.T
    rows = inst.dense_constraint_matrices()
    assert len(rows) == inst.m == inst.equality.size == inst.row_scale.size
    expect = np.array([np.sum(A * P) + b for A, b in rows])
    scale = 1.0 + np.abs(P).max() * max([np.abs(A).sum() + abs(b) for A, b in rows], default=1.0)
    np.testing.assert_allclose(inst.constraint_values(V), expect, rtol=0, atol=1e-12 * scale)
    M0, c0 = inst.dense_objective()
    assert inst.objective_value(V) == pytest.approx(np.sum(M0 * P) + c0, rel=1e-12, abs=1e-12 * scale)
    np.testing.assert_allclose(inst.row_scale, [fro(A) for A, _ in rows], rtol=1e-12, atol=1e-299)
    assert np.all(inst.row_scale > 0)
    # the constant of the Lagrangian: c0 + Σ θ_k β_k (rounded upwards, by at most a few ulps of the terms)
    theta = random_theta(inst, np.random.default_rng(seed + 1))
    exact = c0 + sum(t * b for t, (_, b) in zip(theta, rows))
    terms = abs(c0) + sum(abs(t * b) for t, (_, b) in zip(theta, rows))
    assert exact - 1e-12 * (1 + terms) <= inst.constant(theta) <= exact + 1e-10 * (1 + terms)


@FAST
@given(
    perturbation_problems(relu_networks(min_hidden_layers=1, max_hidden_layers=3)),
    st.booleans(),
    st.sampled_from(["ibp", "crown", "lp"]),
    st.integers(0, 2**32 - 1),
)
def test_points_of_the_network_are_feasible(problem, triangle, bounds, seed):
    """Oracle: the float64 forward pass. For x0 in the box, ẑ = lift(x0) satisfies every row (≥ 0, or = 0),
    |ẑ_i| ≤ 1, and its objective is the margin f_target(x0) − f_label(x0): every row is valid."""
    net, x, eps, y, j = net_problem(problem)
    inst = SDPCertInstance(net, x, eps, y, j, bounds=bounds, triangle=triangle)
    lo, hi = input_box(x, eps)
    rng = np.random.default_rng(seed)
    radii = np.concatenate([r[f] for r, f in zip(inst.radii, inst.free)])
    corners = np.where(rng.random((20, lo.size)) < 0.5, lo, hi)
    pts = np.concatenate([[x, lo, hi], rng.uniform(lo, hi, (20, lo.size)), corners])
    for x0 in pts:
        z = inst.lift(x0)
        acts = net.activations(x0[None])
        tol = 1e-9 * (1.0 + max(np.abs(a).max() for a in acts))
        # |ẑ_i| ≤ 1, i.e. x within [a − r, a + r], up to the rounding of the forward pass (absolute, in x)
        # (compared in x, |ẑ_i| r_i ≤ r_i + tol: tol / r_i overflows for a subnormal radius)
        assert z[0] == 1.0 and np.all(np.abs(z[1:]) * radii <= radii + tol)
        g = inst.constraint_values(z[:, None])
        assert np.all(g[~inst.equality] >= -tol), (bounds, triangle, g[~inst.equality].min())
        assert np.all(np.abs(g[inst.equality]) <= tol), (bounds, triangle, np.abs(g[inst.equality]).max())
        logits = acts[-1][0]
        assert inst.objective_value(z[:, None]) == pytest.approx(logits[j] - logits[y], abs=tol)
        back = inst.to_original(z[:, None])
        for a, b in zip(back, acts[:-1]):
            np.testing.assert_allclose(a, b[0], rtol=0, atol=tol)


def _exact_matrix(inst: SDPCertInstance, theta: np.ndarray):
    """M(θ), c0 + Σ θ_k β_k and the interval bound in exact rational arithmetic from the instance's float data
    (weights, layer bounds, centres a, radii r, slopes s, θ)."""
    F = Fraction
    net, n = inst.network, inst.n
    L = net.n_hidden_layers
    M = [[F(0)] * n for _ in range(n)]
    WL, bL = net.weights[-1], net.biases[-1]
    c = [F(float(p)) - F(float(q)) for p, q in zip(WL[inst.target], WL[inst.label])]
    const = F(float(bL[inst.target])) - F(float(bL[inst.label]))
    const += sum(ci * F(float(ai)) for ci, ai in zip(c, inst.centers[L]))
    interval = const
    for p, f in enumerate(inst.free[L]):
        g = c[f] * F(float(inst.radii[L][f]))
        M[0][inst.offsets[L] + p] += g / 2
        M[inst.offsets[L] + p][0] += g / 2
        interval += abs(g)
    for blk in inst.row_blocks:
        i = blk.layer
        W, b = net.weights[i], net.biases[i]
        a_in, r_in = inst.centers[i], inst.radii[i]
        for row, k in zip(range(blk.start, blk.stop), blk.neurons):
            t = F(float(theta[row]))
            u = {0: F(float(inst.centers[i + 1][k]))}
            rk = float(inst.radii[i + 1][k])
            if rk > 0:
                u[inst.offsets[i + 1] + int(np.searchsorted(inst.free[i + 1], k))] = F(rk)
            v = {0: sum(F(float(W[k, q])) * F(float(a_in[q])) for q in range(W.shape[1])) + F(float(b[k]))}
            for p, f in enumerate(inst.free[i]):
                v[inst.offsets[i] + p] = F(float(W[k, f])) * F(float(r_in[f]))
            if blk.kind == "complementarity":
                w = dict(u)
                for key, val in v.items():
                    w[key] = w.get(key, F(0)) - val
                for p, up in u.items():
                    for q, wq in w.items():
                        term = t * up * wq / 2
                        if p == 0 and q == 0:
                            const += 2 * term
                            continue
                        M[p][q] += term
                        M[q][p] += term
                continue
            s = F(float(inst.slopes[i][k]))
            if blk.kind == "nonneg":
                g = dict(u)
            elif blk.kind in ("geq_affine", "eq_affine"):
                g = {key: u.get(key, F(0)) - v.get(key, F(0)) for key in set(u) | set(v)}
            elif blk.kind == "triangle":
                g = {key: s * v.get(key, F(0)) - u.get(key, F(0)) for key in set(u) | set(v)}
                g[0] -= s * F(float(inst.bounds.pre_lower[i][k]))
            else:
                g = {key: -val for key, val in v.items()}
            const += t * g.pop(0, F(0))
            for p, gp in g.items():
                M[0][p] += t * gp / 2
                M[p][0] += t * gp / 2
    return M, const, interval


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_rounding_bounds_hold_in_exact_arithmetic(seed):
    """Oracle: exact rational evaluation of M(θ), of c0 + Σ θ_k β_k and of the interval bound."""
    net, x, eps, y, j = case(seed, [4, 5, 5, 3], 0.25)
    # full float64 mantissas (not float32 weights): every product is rounded
    rng = np.random.default_rng(50 + seed)
    net = ReLUNetwork(
        [W.astype(np.float64) * (1 + 1e-3 * rng.standard_normal(W.shape)) for W in net.weights],
        [b.astype(np.float64) + 1e-3 * rng.standard_normal(b.shape) for b in net.biases],
    )
    inst = SDPCertInstance(net, x, eps, y, j, triangle=True)
    assert inst.m > 0
    for theta in (inst.theta_zero(), random_theta(inst, rng, 10.0), random_theta(inst, rng, 1e-3)):
        op = inst.operator(theta)
        B, err = op.to_dense()
        M, const, interval = _exact_matrix(inst, theta)
        dev = np.array([[float(Fraction(float(B[p, q])) - M[p][q]) for q in range(inst.n)] for p in range(inst.n)])
        actual = float(np.linalg.norm(dev))
        assert actual <= err, f"seed {seed}: ||M_exact − B||_F = {actual:.3g} > err = {err:.3g}"
        assert err <= 1e-12 * (1.0 + np.abs(B).max()) * inst.n
        exact_norm = np.linalg.norm(np.array([[float(e) for e in r] for r in M]), 2)
        assert op.norm_bound() >= exact_norm * (1 + 1e-12)
        assert Fraction(inst.constant(theta)) >= const, f"seed {seed}: constant below the exact value"
        assert inst.constant(theta) - float(const) <= 1e-10 * (1 + abs(float(const)))
    assert Fraction(inst.interval_bound()) >= interval
    assert inst.interval_bound() == pytest.approx(float(interval), rel=1e-12, abs=1e-12)


def test_row_structure_on_a_worked_example():
    """Oracle: hand count. x ∈ [0.25, 0.75]², h = (x0 − x1, x0 + x1) ∈ [−.5, .5] × [.5, 1.5]."""
    net = ReLUNetwork([np.array([[1.0, -1.0], [1.0, 1.0]]), np.eye(2)], [np.zeros(2), np.zeros(2)])
    inst = SDPCertInstance(net, np.array([0.5, 0.5]), 0.25, label=1, target=0)
    assert (inst.n, inst.m, inst.n_unstable) == (5, 5, (1,))
    assert inst.row_counts() == {
        "nonneg": 1, "geq_affine": 1, "triangle": 0, "eq_affine": 1, "inactive": 0, "complementarity": 2,
    }
    assert list(inst.equality) == [False, False, True, True, True]
    assert [blk.kind for blk in inst.row_blocks] == ["nonneg", "geq_affine", "eq_affine", "complementarity"]
    np.testing.assert_array_equal(inst.radii[1], [0.25, 0.5])
    np.testing.assert_array_equal(inst.centers[1], [0.25, 1.0])
    # interval bound on x_1[0] − x_1[1]: 0.5 − 0.5
    assert 0.0 <= inst.interval_bound() <= 1e-13  # rounded upwards
    tri = SDPCertInstance(net, np.array([0.5, 0.5]), 0.25, label=1, target=0, triangle=True)
    assert tri.m == 6 and tri.row_counts()["triangle"] == 1
    assert tri.slopes[0][0] >= 0.5 and tri.slopes[0][0] == pytest.approx(0.5, rel=1e-15)
    assert set(ROW_KINDS) == set(inst.row_counts())


def test_stable_inactive_rows_only_where_the_box_does_not_imply_them():
    """Oracle: hand computation. Layer 1 copies x0 twice; the layer-2 neuron h = z0 − z1 − 0.1 is −0.1 on the
    network (CROWN: inactive) but ranges up to 0.9 over the box of x_1 (IBP: unstable). With CROWN bounds
    SPEC §5's row z ≥ h at z = 0 is not implied by the box and is kept as E[−h] ≥ 0; with IBP bounds an
    inactive neuron never needs it."""
    net = ReLUNetwork(
        [np.array([[1.0, 0.0], [1.0, 0.0]]), np.array([[1.0, -1.0]]), np.array([[1.0], [-1.0]])],
        [np.zeros(2), np.array([-0.1]), np.zeros(2)],
    )
    x = np.array([0.5, 0.5])
    ibp = SDPCertInstance(net, x, 0.5, label=0, target=1, bounds="ibp")
    crown = SDPCertInstance(net, x, 0.5, label=0, target=1, bounds="crown")
    assert ibp.n_unstable == (0, 1) and crown.n_unstable == (0, 0)
    assert ibp.row_counts()["inactive"] == 0 and ibp.row_counts()["complementarity"] == 3
    assert crown.row_counts()["inactive"] == 1 and crown.row_counts()["complementarity"] == 2
    (blk,) = [b for b in crown.row_blocks if b.kind == "inactive"]
    assert blk.layer == 1 and blk.neurons.tolist() == [0]
    # the row at the network's points: −h = 0.1
    g = crown.constraint_values(crown.lift(np.array([0.2, 0.9]))[:, None])
    assert g[blk.start] == pytest.approx(0.1, rel=1e-12)
    # IBP: the stable neurons of a trained-like net get no "inactive" rows either
    net2, x2, eps2, y2, j2 = case(*CASES[1])
    assert SDPCertInstance(net2, x2, eps2, y2, j2).row_counts()["inactive"] == 0


# -- the reduction and the relaxation ------------------------------------------------------------------------
@pytest.mark.parametrize("idx", range(len(CASES)))
def test_normalised_problem_equals_the_original_coordinate_oracle(idx):
    """Oracle: SPEC §5 in the original coordinates (with the equality rows of the stable-active neurons,
    which the instance adds) — same optimum to 1e-5 relative; and ≤ the verbatim SPEC §5 optimum."""
    start = time.perf_counter()
    got = normalised(idx)
    want = oracle(idx)
    assert rel(got, want) <= 1e-5, f"case {CASES[idx]}: normalised {got:.9g} vs original {want:.9g}"
    spec = oracle(idx, stable_equality=False)
    assert got <= spec + 1e-6 * max(1.0, abs(spec)), f"case {CASES[idx]}: {got:.9g} > SPEC §5 {spec:.9g}"
    net, x, eps, y, j = case(*CASES[idx])
    inst = SDPCertInstance(net, x, eps, y, j)
    assert got <= inst.interval_bound() + 1e-7
    assert time.perf_counter() - start < 30


@pytest.mark.parametrize("idx", range(len(CASES)))
def test_paper_relaxation_equals_the_verbatim_spec_oracle(idx):
    """Oracle: SPEC §5 as printed (no equality rows for the stable-active neurons), original coordinates."""
    got = normalised(idx, relaxation="paper")
    want = oracle(idx, stable_equality=False)
    assert rel(got, want) <= 1e-5, f"case {CASES[idx]}: paper {got:.9g} vs SPEC §5 {want:.9g}"
    assert normalised(idx) <= got + 1e-6 * max(1.0, abs(got))
    net, x, eps, y, j = case(*CASES[idx])
    tight = SDPCertInstance(net, x, eps, y, j).row_counts()
    paper = SDPCertInstance(net, x, eps, y, j, relaxation="paper").row_counts()
    moved = tight["eq_affine"] - paper["eq_affine"]
    assert paper["geq_affine"] - tight["geq_affine"] == moved and paper["complementarity"] == tight["complementarity"]


@pytest.mark.parametrize("idx", [0, 3])
def test_reduction_is_exact_with_crown_bounds_and_triangle_rows(idx):
    """Oracle: the original-coordinate formulation with the same options."""
    for kw in ({"bounds": "crown"}, {"triangle": True}):
        got = normalised(idx, **kw)
        want = oracle(idx, **kw)
        assert rel(got, want) <= 1e-5, f"case {CASES[idx]} {kw}: normalised {got:.9g} vs original {want:.9g}"


@pytest.mark.parametrize("idx", range(len(CASES)))
def test_oracle_optimum_is_above_every_attack_margin(idx):
    """Oracle: a strong targeted attack. The relaxation (verbatim SPEC §5 and the tightened instance) contains
    every input of the box, so its optimum is ≥ every margin reached."""
    net, x, eps, y, j = case(*CASES[idx])
    found = targeted_margin_attack(net, x, y, j, eps, steps=100, restarts=8, rng=idx).margin
    for value in (oracle(idx), oracle(idx, stable_equality=False), normalised(idx)):
        assert value >= found - 1e-6 * max(1.0, abs(found)), f"case {CASES[idx]}: {value:.9g} < attack {found:.9g}"


@pytest.mark.parametrize("idx", [0, 1, 3])
def test_dual_bound_with_any_multipliers_is_sound(idx):
    """Oracle: the CVXPY optimum of the relaxation. For any (c, θ) in the sign constraints,
    U(c, t; M(θ)) + const(θ) ≥ the optimum (weak duality, SPEC §1.1)."""
    net, x, eps, y, j = case(*CASES[idx])
    inst = SDPCertInstance(net, x, eps, y, j)
    opt = oracle(idx)
    rng = np.random.default_rng(idx)
    for trial in range(4):
        theta = random_theta(inst, rng, scale=[0.01, 0.3, 1.0, 10.0][trial])
        c = rng.standard_normal(inst.n) * 3.0
        c[0] = rng.standard_normal()
        b = sdpsolve.dual_bound(inst.operator(theta), c, equal=[0], rng=trial)
        assert b.kind == "rigorous"
        assert b.value + inst.constant(theta) >= opt - 1e-7 * max(1.0, abs(opt)), (idx, trial)


@pytest.mark.parametrize("idx", [0, 2, 4])
def test_theta_zero_reproduces_the_interval_bound(idx):
    """Oracle: interval arithmetic on the last layer (``margin_upper_bounds(..., "ibp")``) and the SDP at θ = 0,
    whose optimum is exactly cᵀa_L + Σ|c ⊙ r_L| + c_0."""
    net, x, eps, y, j = case(*CASES[idx])
    inst = SDPCertInstance(net, x, eps, y, j)
    ib = inst.interval_bound()
    lo, hi = input_box(x, eps)
    assert ib == pytest.approx(margin_upper_bounds(net, lo, hi, y, "ibp")[j], rel=1e-12, abs=1e-12)
    res = sdpsolve.solve(inst.operator(inst.theta_zero()), equal=[0], rtol=1e-6, rng=0)
    assert res.bound_kind == "rigorous"
    got = res.upper + inst.constant(inst.theta_zero())
    assert got >= ib - 1e-12 * (1 + abs(ib)), (got, ib)
    assert got <= ib + 1e-4 * max(1.0, abs(ib)), (got, ib)


@pytest.mark.parametrize("idx", [0, 2, 3])
def test_triangle_rows_tighten_the_sdp_and_beat_the_lp(idx):
    """Oracle: the plain SDP optimum and the exact triangle LP (HiGHS) with the same layer bounds."""
    net, x, eps, y, j = case(*CASES[idx])
    lo, hi = input_box(x, eps)
    lb = layer_bounds(net, lo, hi, "lp", lp_solver="highs")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        plain = normalised_optimum(SDPCertInstance(net, x, eps, y, j, layer_bounds=lb))
        tri = normalised_optimum(SDPCertInstance(net, x, eps, y, j, layer_bounds=lb, triangle=True))
    lp = float(margin_upper_bounds(net, lo, hi, y, "lp", lp_solver="highs")[j])
    tol = 1e-6 * max(1.0, abs(lp))
    assert tri <= plain + tol, f"case {CASES[idx]}: triangle {tri:.9g} > plain {plain:.9g}"
    assert tri <= lp + tol, f"case {CASES[idx]}: triangle {tri:.9g} > LP {lp:.9g}"


@pytest.mark.parametrize("idx", [0, 1, 3, 4])
@pytest.mark.parametrize("triangle", [True, False])
def test_start_multipliers_reproduce_crown_and_are_sound(idx, triangle):
    """Oracles: CROWN's margin bound (``margin_upper_bounds(..., "crown")``, the better of its backward pass and
    the interval bound) with the same layer bounds; the exact SDP value 2 Σ|M_0i| + const of the dense M(θ₀)
    built row by row (``dense_constraint_matrices``) in exact rationals; the CVXPY optimum of the relaxation.
    With the triangle rows θ₀ gives CROWN's bound up to rounding; without them a valid, looser one."""
    net, x, eps, y, j = case(*CASES[idx])
    inst = SDPCertInstance(net, x, eps, y, j, bounds="crown", triangle=triangle)
    theta = inst.start_multipliers()
    assert np.all(theta[~inst.equality] >= 0)
    for blk in inst.row_blocks:
        if blk.kind == "complementarity":
            assert not np.any(theta[blk.start : blk.stop])
    bound = inst.closed_form_bound(theta)
    lo, hi = input_box(x, eps)
    crown = float(margin_upper_bounds(net, lo, hi, y, "crown")[j])
    if triangle:
        assert bound == pytest.approx(crown, rel=1e-9, abs=1e-12), (CASES[idx], bound, crown)
        assert bound >= crown - 1e-12 * max(1.0, abs(crown))
    interval = inst.interval_bound()
    assert bound <= interval + 1e-12 * max(1.0, abs(interval))  # θ = 0 (the interval bound) is a candidate
    # the exact dual value at θ₀ from the dense rows, in rationals: the closed form is above it
    M0, c0 = inst.dense_objective()
    row = [Fraction(float(v)) for v in M0[0]]
    const = Fraction(c0)
    for t, (A, beta) in zip(theta, inst.dense_constraint_matrices()):
        if t:
            row = [r + Fraction(float(t)) * Fraction(float(a)) for r, a in zip(row, A[0])]
            const += Fraction(float(t)) * Fraction(float(beta))
    exact = const + 2 * sum(abs(r) for r in row[1:])
    assert Fraction(bound) >= exact
    assert float(exact) == pytest.approx(bound, rel=1e-9, abs=1e-12)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        opt = normalised_optimum(inst)
    assert bound >= opt - 1e-6 * max(1.0, abs(opt))
    # any θ with a complementarity multiplier has no closed form
    other = theta.copy()
    other[inst.row_blocks[-1].start] = 1.0
    assert inst.closed_form_bound(other) is None
    with pytest.raises(ValueError, match="row 0 only"):
        inst.operator(other).arrow_bound()


def test_solve_lagrangian_decides_at_the_start_multipliers():
    """Oracle: the closed-form bound itself. A target that CROWN's multipliers already certify is decided
    before any round, with that bound; one they do not certify goes on to the rounds, never above it."""
    net, x, eps, y, j = case(*CASES[1])
    inst = SDPCertInstance(net, x, eps, y, j, bounds="crown", triangle=True)
    theta = inst.start_multipliers()
    start = inst.closed_form_bound(theta)
    res = sdpsolve.solve_lagrangian(inst, theta_hint=theta, stop_below=start + 1.0, rng=0)
    assert res.decision == "below" and res.n_iter == 0 and res.upper == start and res.dual is None
    assert res.bound_kind == "rigorous"
    res = sdpsolve.solve_lagrangian(inst, theta_hint=theta, rtol=1e-3, max_iter=20, rng=0)
    assert res.upper <= start


# -- validation ---------------------------------------------------------------------------------------------
def test_clear_errors():
    net, x, eps, y, j = case(*CASES[0])
    with pytest.raises(ValueError, match="eps"):
        SDPCertInstance(net, x, -0.1, y, j)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        SDPCertInstance(net, x + 2.0, eps, y, j)
    with pytest.raises(ValueError, match="shape"):
        SDPCertInstance(net, x[:-1], eps, y, j)
    with pytest.raises(ValueError, match="target"):
        SDPCertInstance(net, x, eps, 1, 1)
    with pytest.raises(ValueError, match="label"):
        SDPCertInstance(net, x, eps, 7, 1)
    with pytest.raises(ValueError, match="target"):
        SDPCertInstance(net, x, eps, 0, -1)
    with pytest.raises(TypeError, match="label"):
        SDPCertInstance(net, x, eps, 0.5, 1)
    with pytest.raises(ValueError, match="bounds"):
        SDPCertInstance(net, x, eps, y, j, bounds="sdp")
    with pytest.raises(ValueError, match="relaxation.*'tight', 'paper'.*'exact'"):
        SDPCertInstance(net, x, eps, y, j, relaxation="exact")
    with pytest.raises(ValueError, match="bounds_box.*'clipped', 'unclipped'.*'none'"):
        SDPCertInstance(net, x, eps, y, j, bounds_box="none")
    with pytest.raises(TypeError, match="network"):
        SDPCertInstance("net", x, eps, y, j)
    lo, hi = input_box(x, eps)
    with pytest.raises(ValueError, match="different input box"):
        SDPCertInstance(net, x, eps, y, j, layer_bounds=layer_bounds(net, lo, hi + 0.01))
    other = random_net(9, [5, 6, 3])
    with pytest.raises(ValueError, match="layers"):
        SDPCertInstance(net, x, eps, y, j, layer_bounds=layer_bounds(other, lo, hi))
    with pytest.raises(TypeError, match="LayerBounds"):
        SDPCertInstance(net, x, eps, y, j, layer_bounds=(lo, hi))
    inst = SDPCertInstance(net, x, eps, y, j)
    with pytest.raises(ValueError, match="theta"):
        inst.operator(np.zeros(inst.m + 1))
    with pytest.raises(ValueError, match="theta"):
        inst.constant(np.full(inst.m, np.nan))
    with pytest.raises(ValueError, match="V"):
        inst.constraint_values(np.zeros((inst.n + 1, 2)))
    with pytest.raises(ValueError, match="rows"):
        inst.operator(inst.theta_zero()).matmat(np.zeros((inst.n + 1, 2)))


def test_linear_network_and_zero_radius():
    """No hidden layer: no rows, the SDP is the interval bound. ε = 0: only hidden unstable coordinates."""
    net = ReLUNetwork([np.array([[1.0, -2.0], [0.5, 1.0]])], [np.array([0.1, -0.2])])
    inst = SDPCertInstance(net, np.array([0.3, 0.6]), 0.1, 0, 1)
    assert (inst.n, inst.m) == (3, 0)
    # margin (0.5 − 1) x0 + (1 + 2) x1 − 0.3 over [0.2, 0.4] × [0.5, 0.7]
    assert inst.interval_bound() == pytest.approx(-0.5 * 0.2 + 3 * 0.7 - 0.3, rel=1e-14)
    assert inst.constant(inst.theta_zero()) == pytest.approx(-0.5 * 0.3 + 3 * 0.6 - 0.3, rel=1e-14)
    net2, x, _, y, j = case(*CASES[0])
    z = SDPCertInstance(net2, x, 0.0, y, j)
    assert z.n == 1 and z.m == 0 and z.free[0].size == 0
    logits = net2.logits(x[None])[0]
    assert z.interval_bound() == pytest.approx(logits[j] - logits[y], rel=1e-12, abs=1e-12)


# -- the shipped network (skipped without the data folder) ------------------------------------------------
@pytest.mark.skipif(not (DATA / "pgd_nn.npz").exists(), reason="../shared/data/raghunathan18 is absent")
def test_pgd_nn_instance_sizes_and_soundness_of_rows():
    net = from_npz(DATA / "pgd_nn.npz")
    with np.load(DATA / "mnist_test.npz") as d:
        x, y = d["X"][0].astype(np.float64), int(d["y"][0])
    assert y == 8
    inst = SDPCertInstance(net, x, 0.1, y, 2)
    assert inst.n == 1 + sum(f.size for f in inst.free) and inst.free[0].size == 784
    assert inst.row_counts()["complementarity"] == sum(f.size for f in inst.free[1:])
    lo, hi = input_box(x, 0.1)
    assert inst.interval_bound() == pytest.approx(margin_upper_bounds(net, lo, hi, y, "ibp")[2], rel=1e-12)
    g = inst.constraint_values(inst.lift(x)[:, None])
    assert g[~inst.equality].min() >= -1e-9 and np.abs(g[inst.equality]).max() <= 1e-9
    op = inst.operator(random_theta(inst, np.random.default_rng(0)))
    sdpsolve.check_symmetric(op, rtol=1e-12, rng=0)
