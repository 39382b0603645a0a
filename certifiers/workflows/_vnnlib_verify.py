"""Decide a VNN-LIB property for a ReLU network: ``sat`` (with a checked counterexample), ``unsat``, ``unknown``
or ``timeout`` — the answers of a VNN-COMP tool (``sdpsolve vnnlib``).

The property (:mod:`certifiers._vnnlib`) is an input box and an unsafe output region, a union of polytopes
("disjuncts") D_q = {y : A_q y + b_q ≤ 0} (some rows strict). The network is safe iff no x in the box has
f(x) in any D_q. The stages run cheapest first, and every stage works only on the disjuncts not yet settled:

1. ``pgd`` — :func:`certifiers._attacks.polytope_attack` minimises max_k (A_q f(x) + b_q)_k over the box.
   A point it returns is reported as ``sat`` only if it lies in the box and its float64 forward pass
   satisfies the property (:func:`certifiers._vnnlib.check_unsafe`).
2. ``ibp``, ``crown``, ``lp`` — a disjunct is *refuted* (proved empty over the box) when some row k has a
   lower bound ℓ_k > 0 on a_kᵀ f(x) + b_k over the box (ℓ_k ≥ 0 for a strict row), from
   :func:`certifiers._bound_propagation.linear_upper_bounds` applied to −a_k.
3. ``sdp-cert`` — the multi-layer SDP relaxation (:class:`certifiers._sdpcert_instance.SDPCertInstance`, solved
   by :func:`sdpsolve.solve_lagrangian` with a rigorous bound) of max −(a_kᵀ f(x) + b_k), row by row, the rows
   with the best bound-propagation value first. The instance is built for a margin f_target − f_label over a
   box [x̄ − ε, x̄ + ε] ∩ [0, 1]^d, so the row is reduced to that form without changing the instance: the free
   inputs are rescaled to u ∈ [0, 1] (x = lo + w ⊙ u, w ≥ hi − lo rounded up, fixed inputs folded into the
   first bias) and the last layer is replaced by the two outputs (0, −a_kᵀ(W_L x_L + b_L) − b_k), label 0 and
   target 1, x̄ = ½, ε = ½. The float64 rounding of this rewriting is bounded (:func:`_reduction_error`) and
   added to the SDP bound before it is compared with 0.

4. ``bab`` — the pipeline of ``sdpsolve verify`` (:func:`certifiers._verify.decide`: the strong attack, bound
   propagation proved in floating point, SDP-cert on proved layer bounds, branch and bound over the unstable
   ReLUs, the exact MILP when few remain) on the same reduced network of each open row, with the reduction's
   rounding bound added (rounded upwards) to the bias of its output, so that a proof for it is a proof for the
   row. A row is refuted only by a verdict of the ``rigorous`` kind (the MILP's own answer, a floating-point
   solver's, does not count); a counterexample it finds for a disjunct of one row is mapped back to the box
   and reported as ``sat`` only after the same float64 check as the attack's. ``bab_timeout`` seconds per row.

``unsat`` iff every disjunct is refuted. With ``timeout`` the clock is read between stages, between the rows,
and inside the attack (its time limit), the SDP solver (its ``time_limit``, set to the time left) and the
branch and bound (its timeout); once it has run out the answer is ``timeout``, even if a stage finished just
after. ``unknown`` is the answer when every stage ran and left a disjunct open.

Examples
--------
>>> import numpy as np
>>> from certifiers._network import ReLUNetwork
>>> from certifiers._vnnlib import parse_vnnlib
>>> net = ReLUNetwork([np.array([[1.0], [-1.0]])], [np.array([0.0, 0.5])])     # f(x) = (x, 0.5 − x)
>>> text = '''(declare-const X_0 Real) (declare-const Y_0 Real) (declare-const Y_1 Real)
... (assert (>= X_0 0.0)) (assert (<= X_0 1.0)) (assert (>= Y_1 Y_0))'''
>>> res = verify_vnnlib(net, parse_vnnlib(text))                  # unsafe: 0.5 − x ≥ x, i.e. x ≤ 0.25
>>> res.status.value, bool(res.counterexample[0] <= 0.25)
('sat', True)
>>> verify_vnnlib(net, parse_vnnlib(text.replace("0.0))", "0.3))"))).status.value   # x ∈ [0.3, 1]
'unsat'
"""

from __future__ import annotations

import enum
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from numbers import Integral, Real

import numpy as np

from sdpsolve.rounding import U, gamma, up

from .._network import ReLUNetwork
from .._outcome import Verdict
from .._vnnlib import VNNLibSpec, check_unsafe

__all__ = ["VERIFY_METHODS", "StageRecord", "VerificationResult", "VerificationStatus", "verify_vnnlib"]

#: the stages :func:`verify_vnnlib` can run, in the order they run (cheapest first)
VERIFY_METHODS = ("pgd", "ibp", "crown", "lp", "sdp-cert", "bab")
_BOUND_METHODS = ("ibp", "crown", "lp")


class VerificationStatus(enum.Enum):
    """The VNN-COMP answer; ``value`` is the word a VNN-COMP result file starts with."""

    SAT = "sat"
    UNSAT = "unsat"
    UNKNOWN = "unknown"
    TIMEOUT = "timeout"

    @property
    def verdict(self) -> Verdict:
        """The same outcome in the package's vocabulary: sat is falsified, unsat verified, the rest unknown."""
        return {"sat": Verdict.FALSIFIED, "unsat": Verdict.VERIFIED}.get(self.value, Verdict.UNKNOWN)


@dataclass(frozen=True)
class StageRecord:
    """One stage of :func:`verify_vnnlib`: its method, seconds spent, and disjuncts refuted so far."""

    method: str
    time: float
    refuted: int
    note: str = ""


@dataclass(frozen=True)
class VerificationResult:
    """What :func:`verify_vnnlib` decided.

    Attributes
    ----------
    status : VerificationStatus
    reason : str
        A sentence saying why, e.g. "all 9 disjuncts refuted (crown: 7, sdp-cert: 2) in 3.1 s".
    time : float
        Seconds spent.
    counterexample : numpy.ndarray or None
        With ``sat``: the input x (in the box), shape (n_inputs,).
    outputs : numpy.ndarray or None
        With ``sat``: f(x) in float64, which satisfies the unsafe condition.
    refuted_by : tuple of (str or None)
        Per disjunct, the method that proved it empty (None: not proved).
    stages : tuple of StageRecord
    """

    status: VerificationStatus
    reason: str
    time: float
    counterexample: np.ndarray | None
    outputs: np.ndarray | None
    refuted_by: tuple
    stages: tuple

    def to_vnncomp(self) -> str:
        """The result file of VNN-COMP: the status word, and for ``sat`` the assignment ``((X_0 v) ... (Y_0 v))``.

        Values are written with ``repr`` (shortest round-trip float64 text).

        Examples
        --------
        >>> r = VerificationResult(VerificationStatus.SAT, "", 0.0, np.array([0.5]), np.array([1.0, -2.0]), (), ())
        >>> print(r.to_vnncomp())
        sat
        ((X_0 0.5)
         (Y_0 1.0)
         (Y_1 -2.0))
        """
        if self.status is not VerificationStatus.SAT:
            return self.status.value
        pairs = [f"(X_{i} {float(v)!r})" for i, v in enumerate(self.counterexample)]
        pairs += [f"(Y_{j} {float(v)!r})" for j, v in enumerate(self.outputs)]
        return "sat\n(" + "\n ".join(pairs) + ")"


# ---------------------------------------------------------------------------------------------------------
# validation
# ---------------------------------------------------------------------------------------------------------
def _check_methods(methods) -> tuple[str, ...]:
    if isinstance(methods, str):
        methods = [methods]
    try:
        names = list(methods)
    except TypeError:
        raise TypeError(f"`methods` must be a sequence of method names, got {type(methods).__name__}.") from None
    bad = [m for m in names if m not in VERIFY_METHODS]
    if bad:
        raise ValueError(f"`methods` may contain {', '.join(map(repr, VERIFY_METHODS))}; got {bad[0]!r}.")
    if not names:
        raise ValueError("`methods` must name at least one method.")
    return tuple(m for m in VERIFY_METHODS if m in names)


def _check_seconds(value, name: str, *, allow_zero: bool) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, Real) or not math.isfinite(value) or value < 0 or (
        value == 0 and not allow_zero
    ):
        rule = "a non-negative" if allow_zero else "a positive"
        raise ValueError(f"`{name}` must be None or {rule} finite number of seconds, got {value!r}.")
    return float(value)


def _check_positive_int(value, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, Integral) or value < 1:
        raise ValueError(f"`{name}` must be a positive integer, got {value!r}.")
    return int(value)


# ---------------------------------------------------------------------------------------------------------
# the SDP stage: one row as an SDPCertInstance margin
# ---------------------------------------------------------------------------------------------------------
def _reduced_network(network: ReLUNetwork, lo: np.ndarray, hi: np.ndarray, a: np.ndarray, c: float):
    """The network g on u ∈ [0, 1]^f with outputs (0, −aᵀ f(x(u)) − c), and a bound on its rounding.

    x(u) puts lo + w ⊙ u on the free inputs (lo < hi; w = hi − lo rounded up, so x([0, 1]^f) ⊇ the box) and lo
    on the fixed ones. Returns (g, err) with |g_1(u) − (−aᵀ f(x(u)) − c)| ≤ err for every u ∈ [0, 1]^f, where
    g_1 is the exact function of g's float64 weights (what a rigorous SDP bound speaks about); (None, 0) when
    no input is free.

    The error: the first layer's weights fl(W_0[:, j] w_j) and bias fl(W_0 lo + b_0) differ from the exact ones
    by e_0 ≤ 2u |fl(W_0 diag w)| 1 + γ_{d+2} (|W_0| |lo| + |b_0|) per neuron on [0, 1]^f; ReLU is 1-Lipschitz,
    so layer i's pre-activations differ by e_i = |W_i| e_{i−1}; the folded last row fl(−aᵀ W_L), fl(−aᵀ b_L − c)
    adds γ_K (|a|ᵀ |W_L| |x_L| + |a|ᵀ |b_L| + |c|), |x_L| bounded by interval arithmetic on g plus e_{L−1}.
    The total is doubled to cover the rounding of its own evaluation (it is a few units in the last place of the
    weights' magnitude, so the factor costs nothing).
    """
    from .._bound_propagation import interval_bounds

    free = np.flatnonzero(hi > lo)
    if free.size == 0:
        return None, 0.0
    W = list(network.weights)
    b = list(network.biases)
    w = up(hi[free] - lo[free])
    W[0] = W[0][:, free] * w
    b[0] = network.weights[0] @ lo + network.biases[0]
    e = gamma(network.input_dim + 2) * (np.abs(network.weights[0]) @ np.abs(lo) + np.abs(network.biases[0]))
    e = e + 2 * U * np.abs(W[0]).sum(axis=1)
    L = len(W) - 1
    for i in range(1, L):
        e = np.abs(W[i]) @ e
    # now e bounds the error of the pre-activation of layer L − 1, hence of x_L (or, for L = 0, of the logits)
    if L:
        x_mag = interval_bounds(ReLUNetwork(W, b), np.zeros(free.size), np.ones(free.size)).x_upper[-1] + e
        e_logits = np.abs(W[L]) @ e
    else:
        x_mag, e_logits = np.ones(free.size), e
    a_abs = np.abs(a)
    gk = gamma(W[L].shape[1] + W[L].shape[0] + 4)
    err = a_abs @ e_logits + gk * (a_abs @ (np.abs(W[L]) @ x_mag) + a_abs @ np.abs(b[L]) + abs(c))
    row = -(a @ W[L])
    g = ReLUNetwork([*W[:L], np.stack([np.zeros_like(row), row])], [*b[:L], np.array([0.0, -(a @ b[L]) - c])])
    return g, 2.0 * float(err)


def _sdp_row_bound(network, lo, hi, a, c, *, bounds, rtol, max_iter, time_limit, seed) -> tuple[float, str]:
    """A rigorous upper bound on max over the box of −(aᵀ f(x) + c) by SDP-cert, and the solver's decision."""
    import warnings

    from sdpsolve import NotConvergedWarning, solve_lagrangian

    from .._sdpcert_instance import SDPCertInstance

    g, err = _reduced_network(network, lo, hi, a, c)
    if g is None:  # a single point: the forward pass is the answer (up to its rounding, IBP is exact here)
        from .._bound_propagation import linear_upper_bounds

        return float(linear_upper_bounds(network, lo, hi, -a[None], np.array([-c]), "ibp")[0]), "point"
    inst = SDPCertInstance(g, np.full(g.input_dim, 0.5), 0.5, 0, 1, bounds=bounds)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotConvergedWarning)
        res = solve_lagrangian(inst, rtol=rtol, bound="rigorous", stop_below=-err, stop_above=0.0,
                               max_iter=max_iter, time_limit=time_limit, rng=seed, theta_hint=inst.start_multipliers())
    return res.upper + err, str(res.decision)


def _decide_row(network, lo, hi, a, c, *, timeout: float, seed: int):
    """:func:`certifiers._verify.decide` on the reduced network of the row −(aᵀ f(x) + c), its output shifted
    up by the reduction's rounding bound: (decision, x) with x the decision's witness mapped back to the box
    (None without one), or (None, None) when no input is free."""
    from .._verify import decide

    g, err = _reduced_network(network, lo, hi, a, c)
    if g is None:
        return None, None
    biases = list(g.biases)
    biases[-1] = np.array([0.0, up(biases[-1][1] + err)])
    shifted = ReLUNetwork(g.layers, biases)
    d = decide(shifted, np.full(g.input_dim, 0.5), 0, 0.5, timeout=timeout, rng=seed)
    if d.witness is None:
        return d, None
    free = np.flatnonzero(hi > lo)
    x = np.array(lo, dtype=np.float64)
    x[free] = np.clip(lo[free] + up(hi[free] - lo[free]) * d.witness, lo[free], hi[free])
    return d, x


# ---------------------------------------------------------------------------------------------------------
# the driver
# ---------------------------------------------------------------------------------------------------------
class Clock:
    def __init__(self, timeout: float | None):
        self.start = time.perf_counter()
        self.timeout = timeout

    def elapsed(self) -> float:
        return time.perf_counter() - self.start

    def left(self) -> float | None:
        return None if self.timeout is None else self.timeout - self.elapsed()

    def out(self) -> bool:
        return self.timeout is not None and self.elapsed() >= self.timeout


def verify_vnnlib(
    network: ReLUNetwork,
    spec: VNNLibSpec,
    *,
    timeout: float | None = None,
    methods: Sequence[str] = VERIFY_METHODS,
    attack_steps: int = 100,
    attack_restarts: int = 10,
    attack_share: float = 0.25,
    sdp_bounds: str = "crown",
    sdp_rtol: float = 1e-3,
    sdp_max_iter: int = 150,
    sdp_time_limit: float | None = None,
    bab_timeout: float = 60.0,
    seed: int = 0,
    device="cpu",
) -> VerificationResult:
    """Decide whether some input in the box of ``spec`` reaches its unsafe output region (module docstring).

    Parameters
    ----------
    network : ReLUNetwork
        With ``spec.n_inputs`` inputs and ``spec.n_outputs`` outputs.
    spec : VNNLibSpec
        From :func:`certifiers._vnnlib.read_vnnlib` / :func:`~certifiers._vnnlib.parse_vnnlib`.
    timeout : float, optional
        Seconds for the whole call; the answer is ``timeout`` once they have passed.
    methods : sequence of str, default all of :data:`VERIFY_METHODS`
        Which stages to run; they always run in the order of :data:`VERIFY_METHODS`.
    attack_steps, attack_restarts : int
        :func:`~certifiers._attacks.polytope_attack` options (restarts per disjunct).
    attack_share : float, default 0.25
        With a timeout, the attack gets at most this share of it.
    sdp_bounds : {"ibp", "crown", "lp"}, default "crown"
        Layer bounds of the SDP instances.
    sdp_rtol, sdp_max_iter : float, int
        :func:`sdpsolve.solve_lagrangian` options per row.
    sdp_time_limit : float, optional
        Seconds per SDP row (always capped by the time left).
    bab_timeout : float, default 60
        Seconds of the ``bab`` stage per row (always capped by the time left).
    seed : int
        Seed of the attack's random starts and of the SDP solver.
    device : str, default "cpu"
        Torch device of the attack.

    Returns
    -------
    VerificationResult
        ``sat`` only with a counterexample whose float64 forward pass was checked against ``spec``;
        ``unsat`` only when every disjunct was refuted by a sound bound.
    """
    from .._attacks import polytope_attack
    from .._bound_propagation import BOUND_METHODS, linear_upper_bounds

    clock = Clock(_check_seconds(timeout, "timeout", allow_zero=True))
    if not isinstance(network, ReLUNetwork):
        raise TypeError(f"`network` must be a ReLUNetwork, got {type(network).__name__}.")
    if not isinstance(spec, VNNLibSpec):
        raise TypeError(f"`spec` must be a VNNLibSpec, got {type(spec).__name__}.")
    if (spec.n_inputs, spec.n_outputs) != (network.input_dim, network.n_classes):
        raise ValueError(
            f"the property has {spec.n_inputs} inputs and {spec.n_outputs} outputs, the network "
            f"{network.input_dim} inputs and {network.n_classes} outputs."
        )
    methods = _check_methods(methods)
    attack_steps = _check_positive_int(attack_steps, "attack_steps")
    attack_restarts = _check_positive_int(attack_restarts, "attack_restarts")
    if isinstance(attack_share, bool) or not isinstance(attack_share, Real) or not 0 < attack_share <= 1:
        raise ValueError(f"`attack_share` must be a number in (0, 1], got {attack_share!r}.")
    if sdp_bounds not in BOUND_METHODS:
        raise ValueError(f"`sdp_bounds` must be one of {', '.join(map(repr, BOUND_METHODS))}; got {sdp_bounds!r}.")
    sdp_time_limit = _check_seconds(sdp_time_limit, "sdp_time_limit", allow_zero=False)
    bab_timeout = _check_seconds(bab_timeout, "bab_timeout", allow_zero=False)
    if bab_timeout is None:
        raise ValueError("`bab_timeout` must be a positive finite number of seconds, got None.")
    if isinstance(seed, bool) or not isinstance(seed, Integral) or seed < 0:
        raise ValueError(f"`seed` must be a non-negative integer, got {seed!r}.")

    lo, hi = np.asarray(spec.lower), np.asarray(spec.upper)
    polys = spec.polytopes()
    Q = len(polys)
    refuted_by: list[str | None] = [None] * Q
    stages: list[StageRecord] = []
    best_row = [np.full(A.shape[0], np.inf) for A, _, _ in polys]  # best upper bound on −(a_kᵀ y + b_k)

    def result(status, reason, x=None, y=None):
        for arr in (x, y):
            if arr is not None:
                arr.setflags(write=False)
        return VerificationResult(VerificationStatus(status), reason, clock.elapsed(), x, y, tuple(refuted_by),
                                  tuple(stages))

    def timed_out():
        return result("timeout", f"the time limit of {clock.timeout:g} s ran out after "
                      f"{', '.join(s.method for s in stages) or 'no stage'}; "
                      f"{sum(r is not None for r in refuted_by)} of {Q} disjuncts refuted.")

    def witness(x):
        y = network.logits(x[None])[0]
        if spec.contains_input(x) and check_unsafe(y, spec):
            return y
        return None

    def proved():
        counts: dict = {}
        for r in refuted_by:
            counts[r] = counts.get(r, 0) + 1
        parts = ", ".join(f"{m}: {counts[m]}" for m in VERIFY_METHODS if m in counts)
        return result("unsat", f"all {Q} disjuncts of the unsafe region refuted ({parts}) in "
                      f"{clock.elapsed():.3g} s.")

    if Q == 0:
        return result("unsat", "the output constraints are contradictory: the unsafe region is empty.")
    if clock.out():
        return timed_out()
    for q, (A, _, _) in enumerate(polys):
        if A.shape[0] == 0:  # no output condition: every input of the box is a counterexample
            x = np.array(0.5 * (lo + hi))
            y = witness(x)
            if y is not None:
                return result("sat", f"disjunct {q} has no output condition: every input is a counterexample.", x, y)

    if "pgd" in methods:
        t = time.perf_counter()
        left = clock.left()
        res = polytope_attack(network, lo, hi, [(A, b) for A, b, _ in polys], steps=attack_steps,
                              restarts=attack_restarts, rng=seed, device=device,
                              time_limit=None if left is None else max(0.0, attack_share * left))
        order = np.argsort(res.value)
        found = None
        for q in order:
            if res.value[q] <= 0:
                y = witness(np.array(res.x[q]))
                if y is not None:
                    found = (q, np.array(res.x[q]), y)
                    break
        stages.append(StageRecord("pgd", time.perf_counter() - t, 0,
                                  f"{res.n_steps} steps, smallest violation {float(res.value.min()):.3g}"))
        if clock.out():
            return timed_out()
        if found is not None:
            q, x, y = found
            return result("sat", f"the attack found an input in the box whose outputs satisfy disjunct {q} "
                          f"(checked in float64) after {clock.elapsed():.3g} s.", x, y)

    for method in (m for m in methods if m in _BOUND_METHODS):
        t = time.perf_counter()
        open_q = [q for q in range(Q) if refuted_by[q] is None]
        C = np.concatenate([polys[q][0] for q in open_q])
        c0 = np.concatenate([polys[q][1] for q in open_q])
        # U_k ≥ max over the box of −(a_kᵀ f(x) + b_k): row k can never hold when U_k < 0 (U_k ≤ 0 if strict)
        U = linear_upper_bounds(network, lo, hi, -C, -c0, method)
        start = 0
        for q in open_q:
            A, _, strict = polys[q]
            u = U[start : start + A.shape[0]]
            start += A.shape[0]
            np.minimum(best_row[q], u, out=best_row[q])
            if np.any((u < 0) | (strict & (u <= 0))):
                refuted_by[q] = method
        stages.append(StageRecord(method, time.perf_counter() - t, sum(r is not None for r in refuted_by)))
        if clock.out():
            return timed_out()
        if all(r is not None for r in refuted_by):
            return proved()

    def row_stage(name, run_row):
        """Run ``run_row(q, k, left)`` on every row of the open disjuncts, most promising first; a row it refutes
        refutes its disjunct. ``run_row`` returns (refuted, note, found) with found = (reason, x, y) for a
        checked counterexample. Returns the final result, or None when disjuncts stay open."""
        t = time.perf_counter()
        notes: list[str] = []

        def record():
            stages.append(StageRecord(name, time.perf_counter() - t, sum(r is not None for r in refuted_by),
                                      "; ".join(notes)))

        for q in range(Q):
            if refuted_by[q] is not None:
                continue
            for k in np.argsort(best_row[q], kind="stable"):
                left = clock.left()
                if left is not None and left <= 0:
                    record()
                    return timed_out()
                refuted, note, found = run_row(q, int(k), left)
                notes.append(note)
                if found is not None:
                    record()
                    return result("sat", *found)
                if refuted:
                    refuted_by[q] = name
                    break
        record()
        if clock.out():
            return timed_out()
        if all(r is not None for r in refuted_by):
            return proved()
        return None

    def sdp_row(q, k, left):
        A, b, strict = polys[q]
        limit = sdp_time_limit
        if left is not None:
            limit = left if limit is None else min(left, limit)
        upper, decision = _sdp_row_bound(network, lo, hi, A[k], float(b[k]), bounds=sdp_bounds, rtol=sdp_rtol,
                                         max_iter=sdp_max_iter, time_limit=limit, seed=seed)
        refuted = upper < 0 or (strict[k] and upper <= 0)
        return refuted, f"disjunct {q} row {k}: bound {upper:.3g} ({decision})", None

    def bab_row(q, k, left):
        A, b, _ = polys[q]
        d, x = _decide_row(network, lo, hi, A[k], float(b[k]), seed=seed,
                           timeout=bab_timeout if left is None else min(bab_timeout, left))
        if d is None:
            return False, f"disjunct {q} row {k}: no free input", None
        note = f"disjunct {q} row {k}: {d.verdict.value} ({d.stage}, {d.nodes} nodes)"
        if d.verdict is Verdict.VERIFIED and d.bound_kind == "rigorous":
            return True, note, None
        y = witness(x) if x is not None and A.shape[0] == 1 else None
        if y is None:
            return False, note, None
        return False, note, (f"the {d.stage} stage of verify found an input in the box whose outputs satisfy "
                             f"disjunct {q} (checked in float64) after {clock.elapsed():.3g} s.", x, y)

    for name, run_row in (("sdp-cert", sdp_row), ("bab", bab_row)):
        if name in methods:
            final = row_stage(name, run_row)
            if final is not None:
                return final

    n_open = sum(r is None for r in refuted_by)
    return result("unknown", f"{n_open} of {Q} disjuncts not refuted by {', '.join(methods)} and no "
                  f"counterexample found, after {clock.elapsed():.3g} s.")
