"""Complete verification: a verdict for every input — verified (a proof), falsified (a checked witness) or unknown.

Per input x̄ with label y, at radius ε, the stages run cheapest first and each works only on the target
classes still open; the first stage that decides the input is its ``stage``:

1. ``clean``: x̄ itself is misclassified (falsified; the witness is x̄).
2. ``attack``: the strong attack (:func:`certifiers.strong_attack`) finds a counterexample (falsified).
3. ``crown``: bound propagation *proved in floating point* (:mod:`certifiers._rigorous_crown`: CROWN's
   multipliers, then 100 Adam steps on them, as α-CROWN does, every bound evaluated with directed rounding) over
   the box x̄ ± ε rounded outwards, clipped to [0, 1], proves f_j − f_y < 0 for every target (verified).
4. ``sdp-cert``: the multi-layer SDP (CROWN-style layer bounds proved as in 3, the LP triangle rows, rigorous
   Cholesky bound) proves the remaining targets (verified), each as :meth:`certifiers.SDPCert.decide_target`
   does: the solver's first-order method for a few seconds, then, for a target it leaves open, the
   interior-point method, whose iterates' multipliers are certified as it goes. Where it cannot,
   ``sdp-attack``: the strong attack
   again, started from the inputs the SDP's primal solution points at (its mean E[x_0] and the input of the
   leading eigenvector of P̂), finds a counterexample (falsified).
5. ``local-milp``: when too many neurons are unstable for the MILP of 7, the exact MILP over a neighbourhood of the best
   point the attacks reached (:func:`local_milp`: every unstable neuron keeps its sign there except the
   ``LOCAL_MILP_FREE`` nearest to their kink) for up to half of the time left; its maximiser is a witness when a float64
   forward pass confirms it (falsified). Gradient steps stall at a local maximum of a piecewise-linear margin; this
   search is exact over the 2^20 linear pieces around it.
6. ``bab``: branch and bound over the unstable ReLUs (half of the time left when the MILP of 7 may follow):
   each node splits one neuron (ẑ ≤ 0 / ẑ ≥ 0), which narrows its interval, and every node is bounded by the
   proved bound propagation of 3 with that split (the split neuron's multiplier is free, as β-CROWN's), 32 nodes
   at a time, each node's Adam steps started from its parent's multipliers; the neuron split is chosen as
   filtered smart branching does (:func:`_filtered_picks`: of the ``BRANCH_CANDIDATES`` per layer whose
   relaxation costs the worst open target most, the one whose worse child the node's multipliers bound best).
   Verified when every leaf is proved.
7. ``milp``: when at most ``milp_max_unstable`` neurons are unstable, the exact MILP (:mod:`certifiers._milp`,
   HiGHS): its incumbent is a witness when a float64 forward pass confirms it (falsified); its dual bound
   ≤ −``MILP_MARGIN`` for every open target verifies. The MILP is a floating-point solver with tolerances
   (feasibility 1e-7 on the rows, HiGHS's defaults), not a proof: its verdicts carry ``bound_kind`` "milp",
   and the margin of 10⁻⁴ on the logits is far above the effect of those tolerances on these networks.
8. otherwise ``unknown`` (the time budget ``timeout`` ran out, or no stage decided).

"verified" from stages 3, 4 and 6 rests only on proofs of the ``rigorous`` kind (every rounding accounted for).
"""

from __future__ import annotations

import heapq
import time

import numpy as np

from sdpsolve._validation import check_nonneg_float, check_positive_int

from ._base import Certifier, ExampleResult, check_certify_inputs, exact_box, outer_box, register
from ._network import ReLUNetwork
from ._options import Option, positive_seconds
from ._outcome import Verdict
from ._rigorous_crown import (
    ProvedBounds,
    _apply_splits,
    estimate_margins,
    proved_layer_bounds,
    proved_layer_bounds_batch,
    proved_logit_bounds,
    proved_margin_bounds,
    proved_margin_bounds_batch,
)
from ._strong_attack import confirm_witness, strong_attack

__all__ = ["Decision", "decide", "branch_and_bound", "local_milp", "Verify", "MILP_MARGIN", "STAGES"]

#: what the MILP's dual bound must stay below (logit units) for a MILP verdict "verified"
MILP_MARGIN = 1e-4
#: the stages, in the order they run
STAGES = ("clean", "attack", "crown", "sdp-cert", "sdp-attack", "local-milp", "bab", "milp", "none")


class Decision:
    """What :func:`decide` found for one input: ``verdict``, ``stage``, ``witness`` (falsified), per-target
    ``bounds`` (proved upper bounds on f_j − f_y, or the margins at the witness) and their ``bound_kind``,
    ``nodes`` (branch-and-bound nodes bounded), ``time``."""

    def __init__(self, verdict: Verdict, stage: str, bounds: dict, bound_kind: str, *, witness=None, nodes: int = 0,
                 time: float = 0.0):
        self.verdict, self.stage, self.bounds, self.bound_kind = verdict, stage, bounds, bound_kind
        self.witness, self.nodes, self.time = witness, nodes, time

    def __repr__(self) -> str:
        return f"Decision({self.verdict.value}, stage={self.stage!r}, nodes={self.nodes}, time={self.time:.2f})"


def _score(h: np.ndarray, l: np.ndarray, u: np.ndarray) -> np.ndarray:
    """What relaxing each unstable neuron costs a Lagrangian with coefficient h on its output (0 when stable)."""
    unstable = (l < 0) & (u > 0)
    width = np.where(unstable, u - l, 1.0)
    upper_cost = np.where(h >= 0, h * (-l) * u / width, -h * np.minimum(u, -l))
    return np.where(unstable, upper_cost, 0.0)


#: Adam steps on the root's multipliers (stage ``crown``): on the paper's networks 100 steps close 0.69–0.99 of
#: CROWN's gap to the LP optimum, 40 steps 0.54–0.94 (see ``ADAM_RATE`` in certifiers._rigorous_crown)
ROOT_STEPS = 100
#: unstable neurons left free (binary) by the local MILP; the others keep their signs at its centre. On PGD-NN
#: test image 636 (159 unstable), 20 free neurons reach a margin of +0.0034 (a counterexample the attack misses:
#: its best is −0.0098) in 13 s, 40 reach +0.0126 in 45 s; on images 116, 556 and 991 20 and 40 reach the same
#: maxima (below 0), and re-centring at the maximiser and solving again never raised them
LOCAL_MILP_FREE = 20
#: nodes bounded together by branch and bound (one batched product per layer and one Adam run for all of them)
BAB_BATCH = 32
#: candidate splits per layer that branch and bound tries on each node before choosing (filtered smart branching)
BRANCH_CANDIDATES = 4


class _Node:
    """A branch-and-bound node: its ``splits``, its proved layer bounds (None until computed, from ``parent``'s
    first ``reuse`` layers), the targets still open for it, the multipliers to start its Adam steps from, and its
    parent's proved margin bounds (valid for it too: its set lies in its parent's)."""

    __slots__ = ("splits", "bounds", "parent", "reuse", "open", "start", "inherited")

    def __init__(self, splits, bounds, parent, reuse, open_targets, start, inherited=None):
        self.splits, self.bounds, self.parent, self.reuse = splits, bounds, parent, reuse
        self.open, self.start, self.inherited = open_targets, start, inherited or {}


def _child_start(state: dict, b: int, rows: list, targets) -> tuple:
    """What a child of node ``b`` of a batch starts its Adam steps from: per target still open, per layer the
    parameters of its multipliers (float32) and their scale σ; per layer the neurons' classes."""
    layers = sorted(state)
    return ({t: [(state[i][0][b, rows.index(t)], state[i][2][b, rows.index(t)]) for i in layers] for t in targets},
            [state[i][1][b, 0] for i in layers])


def _batch_start(network: ReLUNetwork, nodes: list, rows: list) -> dict | None:
    """The ``start`` of :func:`proved_margin_bounds_batch` for ``nodes`` and the target ``rows``, from their
    :func:`_child_start` (NaN, and class 2, where a node has none for a target: a fresh start); None if no node
    has one."""
    if all(nd.start is None for nd in nodes):
        return None
    start = {}
    for i, W in enumerate(network.weights[:-1]):
        arr = np.full((len(nodes), len(rows), W.shape[0]), np.nan)
        sig = np.full((len(nodes), len(rows), 1), np.nan)
        cls = np.full((len(nodes), 1, W.shape[0]), 2, dtype=np.int8)
        for b, nd in enumerate(nodes):
            if nd.start is not None:
                cls[b, 0] = nd.start[1][i]
                for r, j in enumerate(rows):
                    if j in nd.start[0]:
                        arr[b, r], sig[b, r] = nd.start[0][j][i]
        start[i] = (arr, cls, sig)
    return start


def branch_and_bound(network: ReLUNetwork, lo, hi, label: int, targets, *, deadline: float,
                     max_nodes: int = 100_000, optimise: int = 20, root: ProvedBounds | None = None,
                     batch: int = BAB_BATCH):
    """Prove f_j − f_label < 0 on the box for every j in ``targets`` by splitting unstable ReLUs.

    Nodes are bounded ``batch`` at a time (the open nodes with the largest open margin first), each by the proved
    bound propagation of :func:`proved_margin_bounds_batch` with ``optimise`` Adam steps on its multipliers,
    started from its parent's optimised ones (a split neuron's multiplier is free: this is what lets a split
    inactive neuron constrain the input). A target proved at a node stays proved for all the nodes below it, so
    children bound only the targets still open.

    ``root``: the proved layer bounds of the unsplit box, when the caller has them already.

    Returns ``(proved, worst, nodes)``: whether every leaf was proved, per target the largest proved bound over
    the leaves (a proved bound on the whole box when ``proved``), and the number of nodes bounded.

    Examples
    --------
    >>> import numpy as np
    >>> net = ReLUNetwork([np.array([[1.0], [1.0]]), np.array([[0.0, 0.0], [1.0, -2.0]])],
    ...                   [np.array([0.0, -0.5]), np.array([0.0, -0.6])])
    >>> # f_1 − f_0 = relu(x) − 2 relu(x − 0.5) − 0.6 ≤ −0.1 on [−1, 1]; the relaxation alone says ≤ 0.18
    >>> proved, worst, nodes = branch_and_bound(net, [-1.0], [1.0], 0, [1], deadline=float("inf"))
    >>> proved, bool(-0.1 - 1e-9 <= worst[1] < 0), nodes > 1
    (True, True, True)
    """
    lo = np.asarray(lo, dtype=np.float64)
    hi = np.asarray(hi, dtype=np.float64)
    targets = [int(j) for j in targets]
    batch = check_positive_int("batch", batch)
    worst = {j: -np.inf for j in targets}
    no_splits = [np.zeros(W.shape[0], dtype=np.int8) for W in network.weights[:-1]]
    if root is None:
        root = proved_layer_bounds(network, lo, hi)
    # (priority, tie-break, node): the node with the largest open margin first
    heap = [(0.0, 0, _Node(no_splits, root, None, 0, tuple(targets), None))]
    counter, nodes = 1, 0
    while heap:
        if time.perf_counter() > deadline or nodes >= max_nodes:
            return False, worst, nodes
        group = [heapq.heappop(heap)[2] for _ in range(min(batch, len(heap), max_nodes - nodes))]
        fresh = [nd for nd in group if nd.bounds is None]
        if fresh:  # the layers up to each split one are its parent's
            computed = proved_layer_bounds_batch(network, lo, hi, [nd.splits for nd in fresh],
                                                 [nd.parent for nd in fresh], [nd.reuse for nd in fresh])
            for nd, bd in zip(fresh, computed):
                nd.bounds, nd.parent = bd, None
        nodes += len(group)
        live = [nd for nd in group if not nd.bounds.empty]  # an empty node excludes nothing: every bound is −∞
        if not live:
            continue
        rows = sorted(set().union(*(nd.open for nd in live)))
        start = _batch_start(network, live, rows) if optimise else None
        ub, kept, state = proved_margin_bounds_batch(network, lo, hi, label, rows, [nd.bounds for nd in live],
                                                   optimise=optimise, start=start)
        branching = []  # (node's index in the batch, node, its open targets, their margins, candidate splits)
        for b, nd in enumerate(live):
            margins = {j: min(float(ub[b, r]), nd.inherited.get(j, np.inf)) for r, j in enumerate(rows)}
            still = []
            for j in nd.open:
                if margins[j] < 0:
                    worst[j] = max(worst[j], margins[j])
                else:
                    still.append(j)
            if not still:
                continue
            r = rows.index(max(still, key=lambda t: margins[t]))
            candidates = _candidates(nd, [kept[i][b, r] for i in range(len(nd.bounds.lower))])
            if not candidates:  # nothing left to split: the leaf is a linear program; optimise its multipliers longer
                final = proved_margin_bounds(network, lo, hi, label, nd.bounds, optimise=25 * max(optimise, 20))
                final = {t: min(float(final[t]), margins[t]) for t in still}
                for t in still:
                    worst[t] = max(worst[t], final[t])
                if any(final[t] >= 0 for t in still):
                    return False, worst, nodes
                continue
            branching.append((b, nd, still, margins, candidates))
        picks = _filtered_picks(network, lo, hi, label, rows, state, branching)
        for (b, nd, still, margins, _), (i, k) in zip(branching, picks):
            child_start = None if state is None else _child_start(state, b, rows, still)
            for side in (-1, 1):
                child = [s.copy() for s in nd.splits]
                child[i][k] = side
                heapq.heappush(heap, (-max(margins[t] for t in still), counter,
                                      _Node(child, None, nd.bounds, i + 1, tuple(still), child_start,
                                            {t: margins[t] for t in still})))
                counter += 1
    return True, worst, nodes


def _candidates(node: _Node, coefficients: list) -> list[tuple[int, int]]:
    """The neurons (layer, index) worth trying as the node's next split: per layer the ``BRANCH_CANDIDATES`` unsplit
    unstable neurons whose relaxation costs the worst open target most (:func:`_score`, with that target's
    coefficients per layer), best first over all layers."""
    scored = []
    for i, h in enumerate(coefficients):
        s = _score(h, node.bounds.lower[i], node.bounds.upper[i])
        s[node.splits[i] != 0] = 0.0
        top = np.argsort(-s)[:BRANCH_CANDIDATES]
        scored += [(float(s[k]), i, int(k)) for k in top if s[k] > 0]
    return [(i, k) for _, i, k in sorted(scored, reverse=True)]


def _filtered_picks(network: ReLUNetwork, lo, hi, label: int, rows: list, state, branching: list) -> list:
    """Per node of ``branching`` the split to make, as filtered smart branching does: each candidate's two children
    are bounded with the node's multipliers (one evaluation of the dual function for all of them,
    :func:`estimate_margins`), and the candidate whose worse child has the smallest worst open margin wins (ties:
    the first candidate). Without multipliers (``state`` None) the first candidate."""
    if state is None or not branching:
        return [c[4][0] for c in branching]
    layers = sorted(state)
    owner, split = [], []  # per child: its node's position in ``branching``, and its (layer, index, side)
    for p, (_, _, _, _, candidates) in enumerate(branching):
        for i, k in candidates:
            for side in (-1, 1):
                owner.append(p)
                split.append((i, k, side))
    b_of = [branching[p][0] for p in owner]  # per child: its node's index in the batch (rows of ``state``)
    intervals, start = [], {}
    for t in layers:
        lower = np.stack([branching[p][1].bounds.lower[t] for p in owner])
        sides = np.zeros(lower.shape, dtype=np.int8)
        for c, (i, k, side) in enumerate(split):
            if i == t:
                sides[c, k] = side
        # a candidate is unstable in its node, so neither side is empty
        lower, upper, _ = _apply_splits(lower, np.stack([branching[p][1].bounds.upper[t] for p in owner]), sides)
        intervals.append((lower[:, None, :], upper[:, None, :]))
        start[t] = (state[t][0][b_of], state[t][1][b_of], state[t][2][b_of])
    est = estimate_margins(network, lo, hi, label, rows, intervals, start)
    picks, c = [], 0
    for _, _, still, _, candidates in branching:
        cols = [rows.index(t) for t in still]
        best, pick = np.inf, candidates[0]
        for i, k in candidates:
            value = max(float(np.max(est[c, cols])), float(np.max(est[c + 1, cols])))
            if value < best:
                best, pick = value, (i, k)
            c += 2
        picks.append(pick)
    return picks


def _sdp_layer_bounds(network: ReLUNetwork, lo, hi, proved: ProvedBounds):
    """A :class:`certifiers.LayerBounds` for SDP-cert from proved hidden bounds, the logits proved the same way."""
    from ._bound_propagation import LayerBounds

    logit_lower, logit_upper = proved_logit_bounds(network, lo, hi, proved)
    lower = (*proved.lower, logit_lower)
    upper = (*proved.upper, logit_upper)
    return LayerBounds(lo, hi, tuple(np.asarray(a) for a in lower), tuple(np.asarray(a) for a in upper))


def _primal_inputs(inst, V) -> list[np.ndarray]:
    """Inputs read off an SDP-cert primal factor V (P̂ = V Vᵀ): the mean E[x_0], and the input of the leading
    eigenvector of P̂ (scaled so that its homogenising coordinate is 1); both are clipped to the box later."""
    if V is None or not np.all(np.isfinite(V)):
        return []
    out = [inst.to_original(V)[0]]
    U, S, _ = np.linalg.svd(V, full_matrices=False)
    u = U[:, 0] * S[0]
    if abs(u[0]) > 1e-12:  # ẑ = u / u_0 (clipped to the box), mapped to x_0 as a rank-one factor with ẑ_0 = 1
        out.append(inst.to_original(np.clip(u / u[0], -1.0, 1.0)[:, None])[0])
    return out


def local_milp(network: ReLUNetwork, lo, hi, label: int, target: int, centre, intervals, *,
               free: int = LOCAL_MILP_FREE, time_limit: float = 60.0):
    """The exact maximum of f_target − f_label over the part of the box [lo, hi] around ``centre`` where every
    neuron unstable in ``intervals`` (proved pre-activation bounds over the box) keeps its sign at ``centre``,
    except the ``free`` ones whose pre-activation there is nearest to 0 relative to the width of its interval: a
    MILP with ``free`` binaries (:func:`certifiers._milp.exact_margin_max` with those signs as splits). The
    region contains ``centre``, so the maximum found is at least the margin there (up to HiGHS's tolerances);
    a :class:`certifiers._milp.MarginMILP`.

    Examples
    --------
    >>> import numpy as np
    >>> net = ReLUNetwork([np.array([[1.0], [-1.0]]), np.array([[1.0, 1.0], [0.0, 0.0]])],
    ...                   [np.zeros(2), np.array([0.0, 0.5])])          # f = (|x|, 0.5)
    >>> iv = [(np.array([-1.0, -0.25]), np.array([0.25, 1.0]))]
    >>> r = local_milp(net, [-1.0], [0.25], 0, 1, [-0.5], iv, free=0)   # x ≤ 0 kept: max of 0.5 + x there
    >>> round(r.value, 6)
    0.5
    """
    from ._milp import exact_margin_max

    free = check_positive_int("free", free, minimum=0)
    centre = np.asarray(centre, dtype=np.float64).reshape(1, -1)
    acts = network.activations(centre)
    splits, closeness, where = [], [], []
    for i, (l, u) in enumerate(intervals):
        z = (acts[i] @ network.weights[i].T + network.biases[i])[0]
        unstable = (np.asarray(l) < 0) & (np.asarray(u) > 0)
        splits.append(np.where(unstable, np.where(z >= 0, 1, -1), 0).astype(np.int8))
        ks = np.flatnonzero(unstable)
        closeness.append(np.abs(z[ks]) / (np.asarray(u)[ks] - np.asarray(l)[ks]))
        where += [(i, int(k)) for k in ks]
    if where and free:
        for p in np.argsort(np.concatenate(closeness), kind="stable")[:free]:
            i, k = where[p]
            splits[i][k] = 0
    return exact_margin_max(network, lo, hi, label, target, time_limit=time_limit, intervals=list(intervals),
                            splits=splits)


def _milp_witness(network: ReLUNetwork, x, label: int, eps: float, point) -> np.ndarray | None:
    """The MILP's maximiser as a witness, or None: the MILP runs over the box rounded outwards, so its point is first
    moved into the exact set (``exact_box``: by at most an ulp per coordinate), then checked by a float64 forward
    pass (:func:`confirm_witness`)."""
    lo, hi = (b[0] for b in exact_box(np.asarray(x, dtype=np.float64)[None], eps))
    w = np.clip(np.asarray(point, dtype=np.float64), lo, hi)
    return w if confirm_witness(network, x, label, eps, w) else None


def decide(network: ReLUNetwork, x, label: int, eps: float, *, timeout: float = 60.0, sdp: bool = True,
           bab: bool = True, milp_max_unstable: int = 60, attack_steps: int = 100, attack_restarts: int = 2,
           rng=0) -> Decision:
    """A verdict for one input: the stages of this module in order, within ``timeout`` seconds (checked between
    stages and between branch-and-bound nodes; a running SDP solve or MILP gets the time that is left).

    Examples
    --------
    >>> import numpy as np
    >>> net = ReLUNetwork([np.array([[1.0], [-1.0]])], [np.array([0.0, 0.1])])   # f = (x, 0.1 − x)
    >>> decide(net, [0.5], 0, 0.1).verdict.value, decide(net, [0.1], 0, 0.1).stage
    ('verified', 'attack')
    """
    start = time.perf_counter()
    deadline = start + float(timeout)
    X, y, eps = check_certify_inputs(network, np.asarray(x, dtype=np.float64)[None], [label], eps)
    x, label = X[0], int(y[0])
    K = network.n_classes
    targets = [j for j in range(K) if j != label]

    def done(verdict, stage, bounds, kind, **kw):
        return Decision(verdict, stage, {j: float(bounds[j]) for j in targets}, kind,
                        time=time.perf_counter() - start, **kw)

    def milp_falsified(m, stage, **kw):
        """"falsified" by a MILP's maximiser when it is a checked witness (:func:`_milp_witness`), else None."""
        w = _milp_witness(network, x, label, eps, m.x) if m is not None and m.value > 0 else None
        if w is None:
            return None
        zw = network.logits(w[None])[0]
        return done(Verdict.FALSIFIED, stage, zw - zw[label], "attack", witness=w, **kw)

    z = network.logits(x[None])[0]
    if np.argmax(z) != label:
        return done(Verdict.FALSIFIED, "clean", z - z[label], "attack", witness=x.copy())
    res = strong_attack(network, x[None], [label], eps, steps=attack_steps, restarts=attack_restarts, rng=rng)
    if res.success[0] and confirm_witness(network, x, label, eps, res.x_adv[0]):
        return done(Verdict.FALSIFIED, "attack", res.margins[0], "attack", witness=res.x_adv[0].copy())
    centre, centre_margins = res.x_adv[0], res.margins[0]  # the best point the attacks reached
    lo, hi = outer_box(x, eps)
    proved = proved_layer_bounds(network, lo, hi)
    bounds = proved_margin_bounds(network, lo, hi, label, proved, optimise=ROOT_STEPS)
    open_targets = [j for j in targets if bounds[j] >= 0]
    if not open_targets:
        return done(Verdict.VERIFIED, "crown", bounds, "rigorous")
    if sdp and network.n_hidden_layers >= 1 and time.perf_counter() < deadline:
        from ._sdpcert import SDPCert

        lb = _sdp_layer_bounds(network, lo, hi, proved)
        plugin = SDPCert(bounds="crown", triangle=True)
        primal_starts = []
        for j in sorted(open_targets, key=lambda t: -bounds[t]):
            left = deadline - time.perf_counter()
            if left <= 0:
                break
            inst = plugin.instance(network, x, label, j, eps, lb=lb)
            r = plugin.decide_target(inst, time_limit=left)
            if r.bound_kind == "rigorous" and r.upper < 0:
                bounds[j] = min(bounds[j], r.upper)
                continue
            primal_starts += _primal_inputs(inst, r.factor)
            if r.decision == "above":
                break  # this relaxation cannot prove that target: the others do not help
        open_targets = [j for j in targets if bounds[j] >= 0]
        if not open_targets:
            return done(Verdict.VERIFIED, "sdp-cert", bounds, "rigorous")
        if primal_starts and time.perf_counter() < deadline:
            # the SDP's own worst case as attack starts: its mean input and its leading direction
            res = strong_attack(network, x[None], [label], eps, steps=attack_steps, restarts=1, vertex_starts=False,
                                starts=np.array(primal_starts)[None], rng=rng)
            if res.success[0] and confirm_witness(network, x, label, eps, res.x_adv[0]):
                return done(Verdict.FALSIFIED, "sdp-attack", res.margins[0], "attack", witness=res.x_adv[0].copy())
            if np.max(np.delete(res.margins[0], label)) > np.max(np.delete(centre_margins, label)):
                centre, centre_margins = res.x_adv[0], res.margins[0]
    nodes = 0
    unstable = sum(int(np.sum((l < 0) & (u > 0))) for l, u in zip(proved.lower, proved.upper))
    milp_possible = unstable <= milp_max_unstable
    left = deadline - time.perf_counter()
    if not milp_possible and left > 0:
        # the best attack point's worst open target, exactly over the 2^LOCAL_MILP_FREE pieces around it
        j = max(open_targets, key=lambda t: centre_margins[t])
        try:
            m = local_milp(network, lo, hi, label, j, centre, list(zip(proved.lower, proved.upper)),
                           time_limit=0.5 * left)
        except RuntimeError:  # HiGHS found no point (only by its tolerances: the centre is one)
            m = None
        found = milp_falsified(m, "local-milp")
        if found is not None:
            return found
    if bab and time.perf_counter() < deadline:
        # with the exact MILP still to come, branch and bound gets half of the time that is left
        bab_deadline = deadline if not milp_possible else time.perf_counter() + 0.5 * (deadline - time.perf_counter())
        proved_all, worst, nodes = branch_and_bound(network, lo, hi, label, open_targets, deadline=bab_deadline,
                                                    root=proved)
        if proved_all:
            for j in open_targets:  # −∞: every leaf was empty (the splits excluded the whole box)
                bounds[j] = worst[j] if np.isfinite(worst[j]) else -np.finfo(np.float64).max
            return done(Verdict.VERIFIED, "bab", bounds, "rigorous", nodes=nodes)
    if milp_possible and time.perf_counter() < deadline:
        from ._milp import exact_margin_max

        milp_bounds = dict.fromkeys(open_targets, np.inf)
        for j in sorted(open_targets, key=lambda t: -bounds[t]):
            left = deadline - time.perf_counter()
            if left <= 0:
                break
            m = exact_margin_max(network, lo, hi, label, j, time_limit=left,
                                 intervals=list(zip(proved.lower, proved.upper)))
            found = milp_falsified(m, "milp", nodes=nodes)
            if found is not None:
                return found
            if m.status == "optimal":
                milp_bounds[j] = m.upper
        if all(milp_bounds[j] <= -MILP_MARGIN for j in open_targets):
            for j in open_targets:
                bounds[j] = milp_bounds[j]
            return done(Verdict.VERIFIED, "milp", bounds, "milp", nodes=nodes)
    return done(Verdict.UNKNOWN, "none", bounds, "rigorous", nodes=nodes)


@register
class Verify(Certifier):
    """``verify``: a verdict per input (:func:`decide`). Records carry ``verdict``, ``stage``, ``witness``
    (falsified), ``nodes``, and both ``certified`` (verified) and ``adversarial`` (falsified).

    Parameters
    ----------
    timeout : float, default 60
        Seconds per input.
    seed : int, default 0
        Seeds the attack.
    """

    name = "verify"
    description = ("complete verification: attack, proved bound propagation, SDP-cert, a local MILP around the best "
                   "attack point, branch and bound, MILP; a verdict per input (verified / falsified / unknown)")
    default_batch_size = 1
    option_specs = (
        Option("timeout", float, "verify: seconds per input (default 60)", check=positive_seconds, metavar="S"),
        Option("milp_max_unstable", int, "verify: largest number of unstable neurons for the MILP stage "
               "(default 60)", command_line=False),
    )

    def __init__(self, *, timeout: float = 60.0, milp_max_unstable: int = 60, seed=0):
        timeout = check_nonneg_float("timeout", timeout, positive=True)
        milp_max_unstable = check_positive_int("milp_max_unstable", milp_max_unstable, minimum=0)
        seed = check_positive_int("seed", seed, allow_none=True, minimum=0)
        super().__init__(timeout=timeout, milp_max_unstable=milp_max_unstable, seed=seed)

    def bound_margins(self, network, X, y, eps):  # pragma: no cover - certify() is overridden
        raise NotImplementedError("verify decides inputs one by one: use certify()")

    def certify(self, network: ReLUNetwork, X, y, eps: float, *, indices=None) -> list[ExampleResult]:
        X, y, eps = check_certify_inputs(network, X, y, eps)
        indices = np.arange(len(y)) if indices is None else np.asarray(indices)
        pred = network.predict(X)
        o = self.options
        out = []
        for k in range(len(y)):
            d = decide(network, X[k], int(y[k]), eps, timeout=o["timeout"], milp_max_unstable=o["milp_max_unstable"],
                       rng=o["seed"])
            extra = {"verdict": d.verdict.value, "stage": d.stage, "nodes": int(d.nodes)}
            if d.witness is not None:
                extra["witness"] = [float(v) for v in d.witness]
            out.append(ExampleResult(int(indices[k]), int(y[k]), int(pred[k]), d.bounds, d.bound_kind, self.name, eps,
                                     d.time, certified=d.verdict is Verdict.VERIFIED,
                                     adversarial=d.verdict is Verdict.FALSIFIED, extra=extra))
        return out
