"""Tests of complete verification (certifiers._verify, ``sdpsolve verify``) and of the proved bound propagation
(certifiers._rigorous_crown) it rests on.

Oracles used here:

* exact MILP worst cases (certifiers._milp, HiGHS) on small random networks of depth 1–3: ``verify`` never says
  "verified" where the MILP finds an input with a positive margin, never "falsified" without a witness that
  :func:`confirm_witness` accepts, and decides every instance within the timeout;
* the same MILP on the sub-box of every branch-and-bound split (the split constraints added as neuron-sign
  restrictions): a node's proved bound is never below the node's exact maximum;
* the LP relaxation of the same MILP (HiGHS): no Lagrangian bound is below its optimum (weak duality), and the
  optimised multipliers get close to it;
* the closed-form CROWN bounds (the proved bounds agree with them up to rounding and are never looser by more
  than a relative 1e-9), dense sampling, and exact rational arithmetic for the outward box.
"""

from __future__ import annotations

import json
from fractions import Fraction

import numpy as np
import pytest

from certifiers import ReLUNetwork, confirm_witness, get_certifier, margin_upper_bounds
from certifiers._base import outer_box
from certifiers._milp import exact_margin_max
from certifiers._outcome import Verdict
from certifiers._rigorous_crown import (
    proved_layer_bounds,
    proved_layer_bounds_batch,
    proved_margin_bounds,
    proved_margin_bounds_batch,
)
from certifiers._verify import _milp_witness, branch_and_bound, decide
from certifiers.workflows import summarize_verdicts


def _net(seed: int, sizes) -> ReLUNetwork:
    rng = np.random.default_rng(seed)
    return ReLUNetwork(
        [rng.standard_normal((o, i)) * 1.5 / np.sqrt(i) for i, o in zip(sizes[:-1], sizes[1:])],
        [0.3 * rng.standard_normal(o) for o in sizes[1:]],
    )


def _instances(count: int = 15):
    out = []
    for seed in range(count):
        depth = 1 + seed % 3
        net = _net(50 + seed, [5] + [8] * depth + [3])
        x = np.random.default_rng(seed).random(5)
        out.append((net, x, int(net.predict(x[None])[0]), [0.05, 0.12, 0.25][seed % 3]))
    return out


def _milp_worst(net, lo, hi, label):
    return max(exact_margin_max(net, lo, hi, label, j).value for j in range(net.n_classes) if j != label)


def test_outer_box_contains_the_exact_set():
    rng = np.random.default_rng(0)
    X = rng.random(1000)
    for eps in (0.1, 1 / 3, 1e-3):
        lo, hi = outer_box(X, eps)
        for x, a, b in zip(X, lo, hi):
            assert Fraction(a) <= max(Fraction(x) - Fraction(eps), Fraction(0))
            assert Fraction(b) >= min(Fraction(x) + Fraction(eps), Fraction(1))


def test_proved_bounds_match_crown_and_are_sound():
    for net, x, label, eps in _instances(12):
        lo, hi = outer_box(x, eps)
        proved = proved_margin_bounds(net, lo, hi, label)
        crown = margin_upper_bounds(net, lo[None], hi[None], [label], "crown")[0]
        scale = 1.0 + np.abs(crown)
        assert np.all(proved <= crown + 1e-9 * scale), "the proved bound is looser than CROWN beyond rounding"
        optimised = proved_margin_bounds(net, lo, hi, label, optimise=30)
        assert np.all(optimised <= proved)
        for j in range(net.n_classes):
            if j != label:
                exact = exact_margin_max(net, lo, hi, label, j)
                assert optimised[j] >= exact.value - 1e-9, "a proved bound below a point's margin"
        # layer bounds contain every sampled pre-activation
        b = proved_layer_bounds(net, lo, hi)
        P = np.random.default_rng(1).uniform(lo, hi, size=(2000, lo.size))
        acts = net.activations(P)
        for i, (l, u) in enumerate(zip(b.lower, b.upper)):
            z = acts[i] @ net.weights[i].T + net.biases[i]
            assert np.all(z >= l) and np.all(z <= u)


def test_verdicts_agree_with_the_exact_milp_and_are_decided():
    verdicts = set()
    for net, x, label, eps in _instances():
        d = decide(net, x, label, eps, timeout=30.0, rng=0)
        lo, hi = outer_box(x, eps)
        worst = _milp_worst(net, lo, hi, label)
        verdicts.add(d.verdict)
        assert d.verdict is not Verdict.UNKNOWN, f"undecided within the timeout: {d}"
        if d.verdict is Verdict.VERIFIED:
            assert worst < 0, f"verified, but the MILP finds margin {worst:.3g}"
            assert all(v < 0 for v in d.bounds.values())
        else:
            assert d.witness is not None and confirm_witness(net, x, label, eps, d.witness)
        assert d.time <= 30.0 + 5.0
    assert verdicts == {Verdict.VERIFIED, Verdict.FALSIFIED}, "the instances must include both verdicts"


def test_branch_and_bound_node_bounds_are_sound_on_sub_boxes():
    net = _net(7, [4, 10, 10, 3])
    x = np.full(4, 0.5)
    label = int(net.predict(x[None])[0])
    lo, hi = outer_box(x, 0.2)
    base = proved_layer_bounds(net, lo, hi)
    unstable = base.unstable()
    layer = next(i for i, u in enumerate(unstable) if u.size)
    k = int(unstable[layer][0])
    for side in (-1, 1):
        splits = [np.zeros(W.shape[0], dtype=np.int8) for W in net.weights[:-1]]
        splits[layer][k] = side
        b = proved_layer_bounds(net, lo, hi, splits)
        bound = proved_margin_bounds(net, lo, hi, label, b, optimise=30)
        # the node's exact maximum: sample the box, keep the points on the node's side of the split
        P = np.random.default_rng(2).uniform(lo, hi, size=(20000, 4))
        z = net.activations(P)[layer] @ net.weights[layer].T + net.biases[layer]
        keep = (z[:, k] <= 0) if side < 0 else (z[:, k] >= 0)
        if keep.any() and not b.empty:
            logits = net.logits(P[keep])
            m = logits - logits[:, [label]]
            assert np.all(m.max(axis=0) <= bound + 1e-9)


def test_branch_and_bound_proves_what_the_relaxation_cannot():
    net = ReLUNetwork([np.array([[1.0], [1.0]]), np.array([[0.0, 0.0], [1.0, -2.0]])],
                      [np.array([0.0, -0.5]), np.array([0.0, -0.6])])
    root = proved_margin_bounds(net, np.array([-1.0]), np.array([1.0]), 0)
    assert root[1] > 0
    proved, worst, nodes = branch_and_bound(net, [-1.0], [1.0], 0, [1], deadline=float("inf"))
    assert proved and worst[1] < 0 and nodes > 1
    # the exact maximum is −0.1 (at x = 0.5): the proved bound cannot be below it
    assert worst[1] >= -0.1 - 1e-12


def test_plugin_records_and_summary():
    net = _net(3, [6, 10, 3])
    X = np.random.default_rng(4).random((6, 6))
    y = net.predict(X)
    y[0] = (y[0] + 1) % 3  # a misclassified input: falsified at the clean point
    plugin = get_certifier("verify", timeout=20.0)
    records = [r.to_json() for r in plugin.certify(net, X, y, 0.1)]
    for rec, x in zip(records, X):
        json.dumps(rec)
        assert rec["method"] == "verify" and rec["verdict"] in ("verified", "falsified", "unknown")
        assert rec["certified"] == (rec["verdict"] == "verified")
        assert rec["adversarial"] == (rec["verdict"] == "falsified")
        if rec["verdict"] == "falsified":
            assert confirm_witness(net, x, rec["label"], 0.1, rec["witness"])
    assert records[0]["stage"] == "clean"
    s = summarize_verdicts(records)
    assert s.verified + s.falsified + s.unknown == 6
    lo, hi = s.robust_error
    assert lo <= hi
    with pytest.raises(ValueError, match="timeout"):
        get_certifier("verify", timeout=0)


def test_command_line_verify_resumes(tmp_path):
    from sdpsolve.cli import main

    net = _net(5, [6, 8, 3])
    np.savez(tmp_path / "net.npz", **{f"W{i}": W for i, W in enumerate(net.weights)},
             **{f"b{i}": b for i, b in enumerate(net.biases)})
    X = np.random.default_rng(6).random((5, 6))
    np.savez(tmp_path / "data.npz", X=X, y=net.predict(X))
    out = tmp_path / "v.jsonl"
    args = ["verify", "--model", str(tmp_path / "net.npz"), "--data", str(tmp_path / "data.npz"), "--eps", "0.05",
            "--timeout", "20", "--out", str(out), "--no-progress"]
    assert main(args) == 0
    first = out.read_text()
    assert main(args) == 0
    assert out.read_text() == first, "a resumed run recomputed or rewrote records"
    assert main(args[:-3] + ["--timeout", "-1", "--no-progress"]) == 2


def test_child_bounds_reusing_the_parents_equal_a_full_computation():
    net = _net(11, [5, 9, 9, 9, 3])
    lo, hi = outer_box(np.full(5, 0.4), 0.3)
    parent = proved_layer_bounds(net, lo, hi)
    for layer, unstable in enumerate(parent.unstable()):
        for k in unstable[:2]:
            for side in (-1, 1):
                splits = [np.zeros(W.shape[0], dtype=np.int8) for W in net.weights[:-1]]
                splits[layer][k] = side
                full = proved_layer_bounds(net, lo, hi, splits)
                reused = proved_layer_bounds(net, lo, hi, splits, parent=parent, reuse=layer + 1)
                assert full.empty == reused.empty
                for a, b in zip(full.lower + full.upper, reused.lower + reused.upper):
                    np.testing.assert_array_equal(a, b)


def test_optimised_multipliers_approach_the_lp_optimum_and_never_pass_it():
    closed = []
    for net, x, label, eps in _instances(9):
        lo, hi = outer_box(x, eps)
        b = proved_layer_bounds(net, lo, hi)
        crown = proved_margin_bounds(net, lo, hi, label, b)
        opt = proved_margin_bounds(net, lo, hi, label, b, optimise=300)
        for j in range(net.n_classes):
            if j == label:
                continue
            lp = exact_margin_max(net, lo, hi, label, j, intervals=list(zip(b.lower, b.upper)), relax=True).upper
            # the LP's own tolerances (feasibility 1e-7, the intervals widened by 1e-7) are far below 1e-6
            assert opt[j] >= lp - 1e-6 * (1.0 + abs(lp)), "a Lagrangian bound below the LP optimum"
            assert opt[j] <= crown[j]
            if crown[j] - lp > 1e-3:
                closed.append((crown[j] - opt[j]) / (crown[j] - lp))
    assert len(closed) >= 8, "the instances must leave CROWN a gap to the LP"
    assert min(closed) >= 0.9, f"the optimised multipliers closed only {min(closed):.2f} of CROWN's gap to the LP"


def _random_nodes(net, root, count, seed):
    """``count`` branch-and-bound nodes: 1–3 unstable neurons of the root split at random, each reusing the root."""
    rng = np.random.default_rng(seed)
    cands = [(i, int(k)) for i, u in enumerate(root.unstable()) for k in u]
    nodes = []
    for _ in range(count):
        splits = [np.zeros(W.shape[0], dtype=np.int8) for W in net.weights[:-1]]
        picked = rng.choice(len(cands), size=min(len(cands), rng.integers(1, 4)), replace=False)
        for p in picked:
            i, k = cands[p]
            splits[i][k] = rng.choice([-1, 1])
        first = min(cands[p][0] for p in picked)
        nodes.append((splits, first + 1))
    return nodes


def test_batched_node_bounds_contain_every_point_of_the_node():
    net = _net(21, [4, 10, 10, 10, 3])
    x = np.full(4, 0.5)
    label = int(net.predict(x[None])[0])
    lo, hi = outer_box(x, 0.25)
    root = proved_layer_bounds(net, lo, hi)
    nodes = _random_nodes(net, root, 24, 0)
    batch = proved_layer_bounds_batch(net, lo, hi, [s for s, _ in nodes], [root] * len(nodes), [r for _, r in nodes])
    live = [k for k, b in enumerate(batch) if not b.empty]
    assert 0 < len(live) < len(nodes) or len(live) == len(nodes)
    targets = [j for j in range(net.n_classes) if j != label]
    ub, kept, state = proved_margin_bounds_batch(net, lo, hi, label, targets, [batch[k] for k in live], optimise=30)
    assert ub.shape == (len(live), len(targets)) and state is not None
    P = np.random.default_rng(3).uniform(lo, hi, size=(40000, 4))
    acts = net.activations(P)
    pre = [acts[i] @ net.weights[i].T + net.biases[i] for i in range(net.n_layers - 1)]
    logits = net.logits(P)
    seen = 0
    for row, k in enumerate(live):
        splits, _ = nodes[k]
        inside = np.ones(len(P), dtype=bool)
        for i, s in enumerate(splits):
            for n in np.flatnonzero(s):
                inside &= (pre[i][:, n] <= 0) if s[n] < 0 else (pre[i][:, n] >= 0)
        if not inside.any():
            continue
        seen += 1
        for i, (l, u) in enumerate(zip(batch[k].lower, batch[k].upper)):
            assert np.all(pre[i][inside] >= l) and np.all(pre[i][inside] <= u), f"node {k}, layer {i}"
        margins = logits[inside][:, targets] - logits[inside][:, [label]]
        assert np.all(margins.max(axis=0) <= ub[row] + 1e-9), f"node {k}: a point above its proved margin bound"
    assert seen >= 5, "too few nodes with sampled points to test"
    # a node whose splits exclude every point of the box is empty (every sampled point misses it)
    for k, b in enumerate(batch):
        if b.empty:
            splits, _ = nodes[k]
            inside = np.ones(len(P), dtype=bool)
            for i, s in enumerate(splits):
                for n in np.flatnonzero(s):
                    inside &= (pre[i][:, n] <= 0) if s[n] < 0 else (pre[i][:, n] >= 0)
            assert not inside.any()


def test_branch_and_bound_batches_prove_what_one_node_at_a_time_proves():
    for seed in (7, 8, 9):
        net = _net(seed, [4, 12, 12, 3])
        x = np.full(4, 0.5)
        label = int(net.predict(x[None])[0])
        lo, hi = outer_box(x, 0.15)
        exact = {j: exact_margin_max(net, lo, hi, label, j).value for j in range(3) if j != label}
        if max(exact.values()) >= 0:
            continue
        results = [branch_and_bound(net, lo, hi, label, list(exact), deadline=float("inf"), batch=batch)
                   for batch in (1, 32)]
        for proved, worst, nodes in results:
            assert proved and nodes >= 1
            for j in exact:
                assert exact[j] - 1e-9 <= worst[j] < 0, "a proved bound below the exact maximum"


def test_batched_bounds_reject_bad_input():
    net = _net(2, [3, 5, 2])
    lo, hi = np.zeros(3), np.ones(3)
    root = proved_layer_bounds(net, lo, hi)
    with pytest.raises(ValueError, match="one entry per node"):
        proved_layer_bounds_batch(net, lo, hi, [[np.zeros(5, dtype=np.int8)]], [root, root], [1])
    empty = proved_layer_bounds(net, lo, hi, [np.full(5, -1, dtype=np.int8)])
    splits = [np.zeros(5, dtype=np.int8)]
    bounds = proved_layer_bounds_batch(net, lo, hi, [splits], [root], [0])
    if empty.empty:
        with pytest.raises(ValueError, match="empty node"):
            proved_margin_bounds_batch(net, lo, hi, 0, [1], [empty])
    assert not bounds[0].empty
    with pytest.raises(ValueError, match="batch"):
        branch_and_bound(net, lo, hi, 0, [1], deadline=float("inf"), batch=0)


def test_a_milp_maximiser_on_the_outer_box_becomes_a_witness_inside_the_exact_set():
    # x̄ = 0.6369616873214543, ε = 0.1: the outer box starts one ulp below the exact set (0.5369616873214542 against
    # 0.5369616873214543); f_1 − f_0 = c − x with c just above the exact set's start is positive on both
    x = np.array([0.6369616873214543])
    lo, hi = outer_box(x, 0.1)
    inner = np.nextafter(lo, 1.0)
    assert lo[0] < inner[0]
    c = float(np.nextafter(inner[0], 1.0))
    net = ReLUNetwork([np.array([[0.0], [-1.0]])], [np.array([0.0, c])])  # logits (0, c − x): label 0 at x̄
    assert int(net.predict(x[None])[0]) == 0
    m = exact_margin_max(net, lo, hi, 0, 1)
    assert m.value > 0 and m.x[0] == lo[0], "the MILP's maximiser is the outer box's corner"
    assert not confirm_witness(net, x, 0, 0.1, m.x), "outside the exact set: no witness as it stands"
    w = _milp_witness(net, x, 0, 0.1, m.x)
    assert w is not None and w[0] == inner[0] and confirm_witness(net, x, 0, 0.1, w)
    # a point whose margin is negative once inside stays no witness
    assert _milp_witness(net, x, 0, 0.1, hi) is None


def test_estimated_margins_are_the_dual_values_of_their_multipliers():
    """Oracles: the proved Lagrangian bound with the multipliers the estimate used (equal up to rounding), and
    dense sampling (an estimate is a dual value: never below a sampled margin of the node it bounds)."""
    from certifiers._rigorous_crown import _dual_function, _lagrangian_upper, estimate_margins

    net = _net(21, [4, 10, 10, 10, 3])
    x = np.full(4, 0.5)
    label = int(net.predict(x[None])[0])
    lo, hi = outer_box(x, 0.25)
    root = proved_layer_bounds(net, lo, hi)
    nodes = [n for n in _random_nodes(net, root, 16, 1)]
    batch = proved_layer_bounds_batch(net, lo, hi, [s for s, _ in nodes], [root] * len(nodes), [r for _, r in nodes])
    live = [k for k, b in enumerate(batch) if not b.empty]
    targets = [j for j in range(3) if j != label]
    bounds = [batch[k] for k in live]
    _, _, state = proved_margin_bounds_batch(net, lo, hi, label, targets, bounds, optimise=10)
    intervals = [tuple(np.stack([getattr(b, side)[i] for b in bounds])[:, None, :] for side in ("lower", "upper"))
                 for i in range(net.n_layers - 1)]
    est = estimate_margins(net, lo, hi, label, targets, intervals, state)
    V = np.zeros((2, 3))
    V[np.arange(2), targets] = 1.0
    V[:, label] -= 1.0
    value, _, _, _ = _dual_function(net, net.n_layers - 1, V, lo, hi, intervals, state)
    total, nus = value()
    proved = _lagrangian_upper(net, net.n_layers - 1, V, lo, hi, intervals,
                               multipliers={i: nu.detach().numpy() for i, nu in nus.items()})
    assert np.allclose(est, total.detach().numpy()) and np.allclose(est, proved, rtol=1e-12, atol=1e-12)
    P = np.random.default_rng(4).uniform(lo, hi, size=(40000, 4))
    acts = net.activations(P)
    pre = [acts[i] @ net.weights[i].T + net.biases[i] for i in range(net.n_layers - 1)]
    logits = net.logits(P)
    for row, k in enumerate(live):
        inside = np.ones(len(P), dtype=bool)
        for i, s in enumerate(nodes[k][0]):
            for n in np.flatnonzero(s):
                inside &= (pre[i][:, n] <= 0) if s[n] < 0 else (pre[i][:, n] >= 0)
        if inside.any():
            margins = logits[inside][:, targets] - logits[inside][:, [label]]
            assert np.all(margins.max(axis=0) <= est[row] + 1e-9)


def test_filtered_branching_picks_the_candidate_with_the_best_worse_child():
    """Oracle: each candidate's two children estimated one at a time (:func:`estimate_margins` on a batch of one);
    the batched choice must be the candidate whose worse child is smallest."""
    from certifiers._rigorous_crown import estimate_margins
    from certifiers._verify import _candidates, _child_start, _filtered_picks, _Node

    net = _net(5, [4, 12, 12, 12, 3])
    x = np.full(4, 0.5)
    label = int(net.predict(x[None])[0])
    lo, hi = outer_box(x, 0.3)
    root = proved_layer_bounds(net, lo, hi)
    targets = [j for j in range(3) if j != label]
    ub, kept, state = proved_margin_bounds_batch(net, lo, hi, label, targets, [root], optimise=10)
    splits = [np.zeros(W.shape[0], dtype=np.int8) for W in net.weights[:-1]]
    node = _Node(splits, root, None, 0, tuple(targets), None)
    r = int(np.argmax(ub[0]))
    cands = _candidates(node, [kept[i][0, r] for i in range(3)])
    assert len(cands) >= 3, "the instance must offer several candidates"
    [pick] = _filtered_picks(net, lo, hi, label, targets, state, [(0, node, targets, {}, cands)])
    start = _child_start(state, 0, targets, targets)
    one = {i: (np.array([[p[0] for p in (start[0][t][i] for t in targets)]]),
               start[1][i][None], np.array([[p[1] for p in (start[0][t][i] for t in targets)]])) for i in range(3)}
    worse = {}
    for i, k in cands:
        values = []
        for side in (-1, 1):
            iv = []
            for t in range(3):
                l, u = root.lower[t].copy(), root.upper[t].copy()
                if t == i:
                    (u if side < 0 else l)[k] = 0.0
                iv.append((l[None, None], u[None, None]))
            values.append(float(np.max(estimate_margins(net, lo, hi, label, targets, iv, one))))
        worse[(i, k)] = max(values)
    assert worse[pick] == pytest.approx(min(worse.values()), rel=1e-12, abs=1e-12)


def test_milp_over_a_split_is_exact_on_each_side():
    """Oracle: the MILP of the whole box. Splitting one unstable neuron gives two MILPs whose larger maximum is the
    whole box's (the two sides cover the box), each at most the whole one, each at least the margin of every
    sampled point on its side."""
    net = _net(7, [4, 10, 10, 3])
    x = np.full(4, 0.5)
    label = int(net.predict(x[None])[0])
    lo, hi = outer_box(x, 0.2)
    b = proved_layer_bounds(net, lo, hi)
    iv = list(zip(b.lower, b.upper))
    layer = max(i for i, u in enumerate(b.unstable()) if u.size)
    k = int(b.unstable()[layer][0])
    P = np.random.default_rng(2).uniform(lo, hi, size=(20000, 4))
    z = net.activations(P)[layer] @ net.weights[layer].T + net.biases[layer]
    for j in (j for j in range(3) if j != label):
        whole = exact_margin_max(net, lo, hi, label, j, intervals=iv)
        sides = []
        for side in (-1, 1):
            splits = [np.zeros(W.shape[0], dtype=np.int8) for W in net.weights[:-1]]
            splits[layer][k] = side
            m = exact_margin_max(net, lo, hi, label, j, intervals=iv, splits=splits)
            keep = (z[:, k] <= 0) if side < 0 else (z[:, k] >= 0)
            logits = net.logits(P[keep])
            assert m.value <= whole.upper + 1e-7 and np.max(logits[:, j] - logits[:, label]) <= m.upper + 1e-7
            sides.append(m.upper)
        assert max(sides) == pytest.approx(whole.upper, abs=1e-6)
    with pytest.raises(ValueError, match="splits"):
        exact_margin_max(net, lo, hi, label, (label + 1) % 3, intervals=iv, splits=[np.zeros(10)])


def test_local_milp_contains_its_centre_and_is_exact_when_every_neuron_is_free():
    """Oracles: the margin at the centre (the local region contains it) and the MILP of the whole box (no neuron
    fixed: the local MILP is that MILP)."""
    from certifiers._verify import local_milp

    for net, x, label, eps in _instances(6):
        lo, hi = outer_box(x, eps)
        b = proved_layer_bounds(net, lo, hi)
        iv = list(zip(b.lower, b.upper))
        centre = np.random.default_rng(1).uniform(lo, hi)
        zc = net.logits(centre[None])[0]
        for j in (j for j in range(net.n_classes) if j != label):
            fixed = local_milp(net, lo, hi, label, j, centre, iv, free=0)
            assert fixed.upper >= zc[j] - zc[label] - 1e-7
            whole = exact_margin_max(net, lo, hi, label, j, intervals=iv)
            assert fixed.upper <= whole.upper + 1e-7
            assert local_milp(net, lo, hi, label, j, centre, iv, free=100).upper == pytest.approx(whole.upper,
                                                                                                 abs=1e-6)


def test_the_local_milp_stage_falsifies_with_a_checked_witness(monkeypatch):
    """Oracle: the exact MILP. With the full MILP ruled out (``milp_max_unstable=0``), no SDP, no branch and bound
    and an attack that only evaluates the clean point (a stand-in, so that the stage under test gets every
    instance), every instance the MILP shows not robust is falsified by the local MILP (centred at the clean
    point, it frees all of these small networks' unstable neurons), with a witness that confirm_witness accepts;
    none is verified by anything but proofs."""
    import certifiers._verify as verify
    from certifiers._attacks import AttackResult

    def clean_point_only(network, X, y, eps, **kw):
        z = network.logits(X)
        margins = z - z[np.arange(len(y)), y][:, None]
        return AttackResult(np.array(X, dtype=np.float64), margins, np.zeros(len(y), dtype=bool), margins)

    monkeypatch.setattr(verify, "strong_attack", clean_point_only)
    falsified = 0
    for net, x, label, eps in _instances(15):
        lo, hi = outer_box(x, eps)
        d = decide(net, x, label, eps, timeout=30, sdp=False, bab=False, milp_max_unstable=0)
        if _milp_worst(net, lo, hi, label) > 1e-6:
            assert d.verdict is Verdict.FALSIFIED and d.stage == "local-milp", d
            assert confirm_witness(net, x, label, eps, d.witness)
            falsified += 1
        else:
            assert d.verdict is not Verdict.FALSIFIED and d.stage in ("crown", "none"), d
    assert falsified >= 3, "too few instances that are not robust"
