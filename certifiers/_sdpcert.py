"""The "sdp-cert" plugin: the multi-layer SDP relaxation of Raghunathan, Steinhardt & Liang (NeurIPS 2018).

Per (example, target class) the instance of :mod:`certifiers._sdpcert_instance` (normalised coordinates,
ReLU rows as extra linear constraints) is bounded by :func:`sdpsolve.solve_lagrangian`. Every reported number
is a certified upper bound on f_target − f_label over the ε-ball ∩ [0, 1]^d (rigorous by default). Each solve
first certifies CROWN's multipliers (:meth:`SDPCertInstance.start_multipliers`, the ``theta_hint``), whose
bound is proved in closed form, so a target CROWN certifies is decided before any round. With early decision
(the default) a target stops as soon as its bound is < 0 (certified against it) or a nearly feasible primal point shows
the relaxation's optimum is > 0 (cannot be certified; the bound reported is then the certified one reached so far, which
is > 0); a target still open after ``QUICK_SECONDS`` of the first-order method goes to the interior-point method
(:meth:`SDPCert.decide_target`); an example is not solved at all when the network's own margin is > 0 at one of CROWN's
worst corners of the box (then no relaxation can certify it), and the remaining targets of an example are skipped once
one target cannot be certified. A skipped target's bound is the closed form at its start multipliers (CROWN's bound with
the triangle rows, at most the interval bound of the last layer), also proved.
"""

from __future__ import annotations

import numpy as np

from sdpsolve import solve_lagrangian
from sdpsolve._monitor import Monitor
from sdpsolve._validation import check_choice, check_nonneg_float, check_positive_int

from ._base import Certifier, register
from ._bound_propagation import crown_vertices
from ._network import ReLUNetwork
from ._options import BOUND, EARLY_STOP, RTOL, Option, positive_seconds
from ._sdpcert_instance import BOUNDS_BOXES, RELAXATIONS, SDPCertInstance, sdp_layer_bounds

_KIND_ORDER = ("rigorous", "probabilistic", "estimate")

#: with early decision, seconds of the first-order method per target before the interior-point method takes over
#: (the targets it decides are mostly decided in well under a second; the hard ones take the interior-point
#: method's ~20–40 iterations whatever the first-order method did)
QUICK_SECONDS = 5.0
#: the largest SDP size n handed to the interior-point method after QUICK_SECONDS (the paper's networks: 990–1,162;
#: its (n + m)² arrays stay below IPM_MAX_ROWS of sdpsolve's Lagrangian mode)
IPM_MAX_N = 1500


@register
class SDPCert(Certifier):
    """SDP-cert with interval (``bounds="ibp"``, the paper's setting), CROWN or LP intermediate bounds.

    Options: ``bounds`` ("ibp" | "crown" | "lp"), ``triangle`` (add the LP triangle rows), ``relaxation``
    ("tight": E[z − h] = 0 for the stable-active neurons, the default; "paper": SPEC §5's rows as printed),
    ``bounds_box`` ("clipped": the layer bounds of the input set x̄ ± ε ∩ [0, 1], the default; "unclipped":
    propagated from x̄ ± ε, looser, which reproduces the paper's certified errors; the SDP's input box is the
    clipped one either way),
    ``rtol`` (1e-3), ``early_stop`` (True), ``bound`` ("rigorous" | "probabilistic"), ``max_iter`` (rounds per
    target, 80), ``time_limit`` (seconds per target, None), ``seed`` (0).
    """

    name = "sdp-cert"
    description = "multi-layer SDP relaxation (NeurIPS 2018) solved in Lagrangian mode"
    default_batch_size = 1  # seconds to minutes per example, and no work shared between examples
    option_specs = (
        Option("bounds", str, "sdp-cert: intermediate layer bounds (default ibp, the paper's setting)",
               choices=("ibp", "crown", "lp")),
        Option("triangle", bool, "sdp-cert: add the LP triangle rows to the SDP", flag_value=True),
        Option("relaxation", str, "sdp-cert: 'tight' (default) adds z = Wx + b for the stable-active neurons; "
               "'paper' keeps the paper's z >= Wx + b there (SPEC §5 as printed, a looser relaxation)",
               choices=RELAXATIONS),
        Option("bounds_box", str, "sdp-cert: propagate the layer bounds from the input set clipped to [0, 1] "
               "(default) or from x ± eps unclipped (looser; reproduces the NeurIPS 2018 paper's table); the SDP's "
               "box stays clipped", choices=BOUNDS_BOXES),
        Option("time_limit", float, "sdp-cert: seconds per (example, target class); the bound reached is still "
               "certified (default none)", check=positive_seconds, metavar="S"),
        RTOL,
        EARLY_STOP,
        BOUND,
        Option("max_iter", int, "sdp-cert: outer rounds per target (default 80)", command_line=False),
    )

    def __init__(self, *, bounds: str = "ibp", triangle: bool = False, rtol: float = 1e-3, early_stop: bool = True,
                 bound: str = "rigorous", max_iter: int = 80, time_limit: float | None = None, seed: int = 0,
                 relaxation: str = "tight", bounds_box: str = "clipped"):
        check_choice("bounds", bounds, ("ibp", "crown", "lp"))
        check_choice("relaxation", relaxation, RELAXATIONS)
        check_choice("bounds_box", bounds_box, BOUNDS_BOXES)
        check_choice("bound", bound, ("rigorous", "probabilistic"))
        for name, flag in (("triangle", triangle), ("early_stop", early_stop)):
            if not isinstance(flag, (bool, np.bool_)):
                raise TypeError(f"`{name}` must be True or False, got {flag!r} of type {type(flag).__name__}.")
        rtol = check_nonneg_float("rtol", rtol, positive=True)
        max_iter = check_positive_int("max_iter", max_iter)
        time_limit = check_nonneg_float("time_limit", time_limit, allow_none=True, positive=True)
        seed = check_positive_int("seed", seed, minimum=0)
        # ``relaxation`` and ``bounds_box`` are recorded only when they are not the default, so that stores
        # written before the options existed (with the same settings) keep their keys and stay resumable
        extra = {} if relaxation == "tight" else {"relaxation": relaxation}
        if bounds_box != "clipped":
            extra["bounds_box"] = bounds_box
        super().__init__(bounds=bounds, triangle=bool(triangle), rtol=rtol, early_stop=bool(early_stop), bound=bound,
                         max_iter=max_iter, time_limit=time_limit, seed=seed, **extra)
        self.relaxation, self.bounds_box = relaxation, bounds_box
        self.bounds, self.triangle, self.rtol = bounds, bool(triangle), rtol
        self.early_stop, self.bound, self.max_iter = bool(early_stop), bound, max_iter
        self.time_limit, self.seed = time_limit, seed
        self.last_details: list = []

    def instance(self, network: ReLUNetwork, x: np.ndarray, label: int, target: int, eps: float, lb=None):
        """The SDPCertInstance of one (example, target) with this plugin's options."""
        return SDPCertInstance(network, x, eps, label, target, bounds=self.bounds, triangle=self.triangle,
                               layer_bounds=lb, relaxation=self.relaxation, bounds_box=self.bounds_box)

    def solve(self, inst: SDPCertInstance, options: dict | None = None, time_limit: float | None = None):
        """Bound one instance, CROWN's multipliers (proved in closed form) certified first; a LagrangianResult.
        ``options``: :func:`sdpsolve.solve_lagrangian`'s; ``time_limit`` replaces the plugin's."""
        stop = 0.0 if self.early_stop else None
        limit = self.time_limit if time_limit is None else time_limit
        return solve_lagrangian(inst, rtol=self.rtol, bound=self.bound, stop_below=stop, stop_above=stop,
                                max_iter=self.max_iter, time_limit=limit, rng=self.seed,
                                theta_hint=inst.start_multipliers(), options=options)

    def decide_target(self, inst: SDPCertInstance, time_limit: float | None = None):
        """Bound one instance with early decision in two steps: the solver's default (the interior-point method first up
        to n = 300, the first-order method above) for ``QUICK_SECONDS``, then, when the target is still open, the
        interior-point method (up to ``IPM_MAX_N`` coordinates, its iterates certified as it goes) with the time left of
        ``time_limit`` (the plugin's when None; no limit when both are None). Returns the LagrangianResult of the last
        solve, with the smaller of the two certified bounds (and its multipliers) and the two solves' seconds, rounds
        and products added up."""
        from dataclasses import replace

        limit = self.time_limit if time_limit is None else check_nonneg_float("time_limit", time_limit, positive=True)
        quick = QUICK_SECONDS if limit is None else min(limit, QUICK_SECONDS)
        first = self.solve(inst, time_limit=quick)
        left = None if limit is None else limit - first.time
        if first.decision is not None or (first.bound_kind == "rigorous" and first.upper < 0) or (
                left is not None and left <= 0) or inst.n > IPM_MAX_N or (first.phases or {}).get("ipm", 0.0) > 0:
            return first  # decided, out of time, too large, or the interior-point method has run already
        second = self.solve(inst, options={"ipm_max_n": IPM_MAX_N}, time_limit=left)
        total = {"time": first.time + second.time, "n_iter": first.n_iter + second.n_iter,
                 "n_matvec": first.n_matvec + second.n_matvec}
        if first.upper < second.upper:
            return replace(second, upper=first.upper, gap=Monitor.relative_gap(second.lower, first.upper),
                           dual=first.dual, theta=first.theta, bound_kind=first.bound_kind,
                           failure_probability=first.failure_probability, **total)
        return replace(second, **total)

    def bound_target(self, network: ReLUNetwork, x: np.ndarray, label: int, target: int, eps: float, lb=None):
        """Solve one (example, target) instance; returns the LagrangianResult."""
        return self.solve(self.instance(network, x, label, target, eps, lb))

    def example_extra(self, k: int) -> dict:
        """``targets``: per solved target class, the seconds, rounds and early decision of its solve."""
        details = self.last_details[k] if k < len(self.last_details) else {}
        return {"targets": {str(j): {"time": d["time"], "rounds": d["rounds"], "decision": d["decision"]}
                            for j, d in details.items()}}

    def bound_margins(self, network, X, y, eps):
        import warnings

        from sdpsolve import NotConvergedWarning

        N, K = X.shape[0], network.n_classes
        B = np.zeros((N, K))
        kinds = set()
        self.last_details = []
        pred = network.predict(X)
        for k in range(N):
            lb = sdp_layer_bounds(network, X[k], eps, self.bounds, self.bounds_box)
            decided_uncertifiable = pred[k] != y[k]
            if self.early_stop and not decided_uncertifiable:
                # the network's own margins at CROWN's worst corners of the box: one > 0 means no relaxation
                # of this box can certify the example (its optimum is ≥ that margin), so no SDP is solved
                corners = crown_vertices(network, lb.input_lower[None], lb.input_upper[None], [int(y[k])])[0]
                z = network.logits(corners)
                decided_uncertifiable = bool(np.any(z[np.arange(K), np.arange(K)] > z[:, int(y[k])]))
            details = {}
            # the targets closest to winning at x̄ first: with early decision, an example that cannot be
            # certified is then usually decided by its first target and the others keep their closed-form bounds
            logits = network.logits(X[k][None, :])[0]
            for j in np.argsort(-logits, kind="stable"):
                j = int(j)
                if j == y[k]:
                    continue
                inst = self.instance(network, X[k], int(y[k]), j, eps, lb)
                if decided_uncertifiable and self.early_stop:
                    # a valid bound without a solve: the closed form at the start multipliers (CROWN's bound
                    # when the triangle rows are there, never above the interval bound), proved
                    B[k, j] = inst.closed_form_bound(inst.start_multipliers())
                    kinds.add("rigorous")
                    continue
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", NotConvergedWarning)
                    res = self.decide_target(inst) if self.early_stop else self.solve(inst)
                B[k, j] = res.upper
                kinds.add(res.bound_kind)
                details[j] = {"time": res.time, "rounds": res.n_iter, "decision": res.decision,
                              "lower": res.lower, "violation": res.violation}
                if B[k, j] >= 0 and self.early_stop:
                    decided_uncertifiable = True
            self.last_details.append(details)
        kind = next((kd for kd in reversed(_KIND_ORDER) if kd in kinds), "rigorous")
        if "closed-form" in kinds and kind == "rigorous":
            kind = "closed-form"
        return B, kind
