"""The Lagrangian (parametric) mode: bound max <M0,P> + c0 with extra linear rows by minimising over (c, θ).

Method: an augmented-Lagrangian low-rank primal (a proximal-point method on θ, stable for any penalty, unlike
plain projected dual ascent whose step must match every row's scale). Rows are divided by
``problem.row_scale``. For scaled multipliers μ and penalty ρ, the inner problem

    maximise  <M0, VVᵀ> + c0 + Σ_k ψ(ĝ_k(V), μ_k, ρ)     over rows of V in the unit ball (sphere for E)

with ψ(g, μ, ρ) = μ g − ρ g²/2 (equality rows; inequality rows: the same while μ − ρ g > 0, else μ²/(2ρ))
is solved approximately by L-BFGS; its gradient is 2 M(θ(V)) V with θ_k(V) = ψ'(ĝ_k)/s_k. Then μ ← ψ'(ĝ(V))
(projected), ρ grows when the violation does not shrink, and a dual point c_i = <(M(θ)V)_i, v_i> (clipped at
0 outside E) gives the bound U(c, t; M(θ)) + const(θ) of :mod:`sdpsolve._lagrangian_problem`, valid for
every iterate. The reported bound is certified (rigorous / probabilistic) as in :func:`sdpsolve.solve`.
"""

from __future__ import annotations

import math
import time
import warnings
from dataclasses import dataclass

import numpy as np

from ._bounds import BOUND_KINDS, RIGOROUS_MAX_N, ShiftedOperator, bound_value_estimate, compute_bound
from ._cholesky import envelope_preferred
from ._eigen import lanczos
from ._errors import NotConvergedWarning
from ._kernels import project_rows
from ._lagrangian_ipm import lagrangian_ipm
from ._lagrangian_problem import LagrangianProblem, project_multipliers
from ._lowrank import lbfgs_maximise_rows
from ._method import dual_from_primal
from ._monitor import Monitor, Settings
from ._operator import as_operator
from ._result import Status
from ._threads import limit_threads
from ._validation import as_rng, check_choice, check_nonneg_float, check_positive_int, check_probability
from .rounding import U, up


@dataclass(frozen=True)
class LagrangianResult:
    """Outcome of :func:`solve_lagrangian`.

    ``upper`` is a bound of kind ``bound_kind`` on the optimum whatever the status. ``lower`` is the
    objective of the low-rank primal point ``factor``, which satisfies the extra rows only up to
    ``violation`` (max scaled violation), so it is an estimate of a lower bound, not a certificate.
    ``decision`` is "below" when the certified upper bound is < ``stop_below``, "above" when a primal
    point shows the optimum is > ``stop_above``, else None. That primal test asks for a violation ≤
    ``decide_viol`` and ``lower − Σ_k |θ_k| |g_k|⁻ > stop_above`` (the first-order change of the optimum when
    the rows are relaxed by the violations g_k⁻, priced by the current multipliers): an estimate, which only
    ends the search; it never enters ``upper``. ``dual`` is the diagonal c of the best bound, None when that
    bound is the problem's ``closed_form_bound`` at ``theta_hint``. ``phases``: seconds spent in each part of
    the run: "ipm" (the interior-point start at small n), "inner" (the L-BFGS rounds on V), "estimate" (the
    per-round Lanczos estimate and the dual point),
    "certify" (certified bounds at (c, θ): Lanczos and Cholesky tests), "inner_solve" (``sdpsolve.solve`` of
    SDP(M(θ)) at certification points), "hint" (the hinted multipliers' bound) and "other" (the rest: row
    values, multiplier updates, bookkeeping).
    """

    lower: float
    upper: float
    gap: float
    violation: float
    dual: np.ndarray | None
    theta: np.ndarray
    factor: np.ndarray
    status: Status
    message: str
    bound_kind: str
    failure_probability: float
    decision: str | None
    n_matvec: int
    n_iter: int
    time: float
    history: list | None = None
    phases: dict | None = None

    def __str__(self) -> str:
        return (
            f"LagrangianResult {self.status.value}: lower {self.lower:.8g} (violation {self.violation:.1e}), "
            f"upper {self.upper:.8g} ({self.bound_kind}), gap {self.gap:.2e}, {self.n_iter} iterations, "
            f"{self.n_matvec} products, {self.time:.3f} s\n  {self.message}"
        )


LAGRANGIAN_OPTIONS = {
    "rank": "rank of the primal factor (default min(n, 16))",
    "inner_iters": "L-BFGS steps per augmented-Lagrangian round (default 100; doubled, up to 1000, while a "
                   "nearly feasible primal point makes no progress on the certified bound)",
    "rho": "initial penalty (default: the scale of the objective)",
    "rho_growth": "factor applied to the penalty when the violation does not shrink enough (default 2)",
    "rho_max": "cap of the penalty, relative to its initial value (default 100)",
    "viol_tol": "largest scaled violation for a primal point to count as feasible (default 1e-4)",
    "decide_viol": "largest scaled violation of a primal point that decides 'above' (default 1e-3)",
    "delta": "failure probability of the probabilistic bound (default 1e-9)",
    "certify_every": "rounds between two certified bounds (default 5; the estimate is used in between)",
    "estimate_steps": "block-Lanczos steps of the per-round estimate of λ_max (default 60)",
    "inner_solve": "at certification points also bound h(θ) = SDP(M(θ)) + const(θ) with sdpsolve.solve (default True)",
    "blas_threads": "BLAS threads during the solve (default 1)",
    "ipm_max_n": "largest n solved first by the dense interior-point method when the problem offers "
                 "row_factors() and n + m <= 3000 (default: 300 when stop_below/stop_above ask for a decision, "
                 "where the augmented Lagrangian often decides in a few rounds; 1500 otherwise; 0 turns it off)",
    "ipm_tol": "relative gap and infeasibility the interior-point method aims at (default rtol / 100, at most "
               "1e-6; 1e-8 when rtol = 0)",
}


def default_ipm_tol(rtol: float) -> float:
    """The interior-point method's tolerance: 100× below the caller's ``rtol`` (its iterate is then certified
    within rtol with room to spare: the certified gap measured within 10× of the method's own), at most 1e-6;
    the last iterations to 1e-8 are not spent when rtol = 1e-4 is asked for."""
    return min(1e-6, 0.01 * rtol) if rtol > 0 else 1e-8


#: the interior-point start keeps about ten (n + m)² arrays: at most 3000 rows (diagonal ones included)
IPM_MAX_ROWS = 3000


class _Phases:
    """Seconds per phase of a run (``with phases("name"): ...``)."""

    def __init__(self):
        self.seconds = dict.fromkeys(("ipm", "inner", "estimate", "certify", "inner_solve", "hint"), 0.0)
        self._next = None
        self._open: list = []  # [name, start, seconds of the phases nested in it]

    def __call__(self, name):
        self._next = name
        return self

    def __enter__(self):
        self._open.append([self._next, time.perf_counter(), 0.0])

    def __exit__(self, *exc):
        # a phase nested in another (a certification inside the interior-point start) counts for itself only
        name, start, nested = self._open.pop()
        spent = time.perf_counter() - start
        self.seconds[name] += spent - nested
        if self._open:
            self._open[-1][2] += spent
        return False

    def total(self, elapsed: float) -> dict:
        return {**self.seconds, "other": max(0.0, elapsed - sum(self.seconds.values()))}


class _Counted:
    """Counts the products of the operators M(θ) built during a run."""

    def __init__(self):
        self.n = 0

    def add(self, op):
        self.n += op.n_matvec
        op.n_matvec = 0


#: the interior-point iterate's residuals below which a decision is tried: its dual multipliers are certified
#: (rigorous Cholesky test; any multipliers give a valid bound) once its dual value is below ``stop_below``; it
#: stops for "above" once its primal value exceeds ``stop_above`` by IPM_ABOVE_MARGIN (relative), decided after it
#: from the projected primal factor as always
IPM_DECIDE_RESIDUAL = 1e-5
IPM_ABOVE_MARGIN = 1e-2


def _ipm_decider(stop_below, stop_above, kind, scale, equality, problem, certify, best):
    """The interior-point method's ``watch`` when a decision is asked for (None otherwise): True once the iterate
    decides. A failed certification is retried two iterations later at the earliest."""
    if (stop_below is None and stop_above is None) or kind == "estimate":
        return None
    wait = [0]

    def watch(theta, c, primal, dual, pinf, dinf):
        wait[0] -= 1
        if stop_below is not None and dinf <= IPM_DECIDE_RESIDUAL and dual < stop_below and wait[0] <= 0:
            th = project_multipliers(theta / scale, equality)
            certify(as_operator(problem.operator(th), check=False), c, None, th, 0.5 * (stop_below - dual))
            if best()[0] < stop_below:
                return True
            wait[0] = 2
        return (stop_above is not None and pinf <= IPM_DECIDE_RESIDUAL
                and primal > stop_above + IPM_ABOVE_MARGIN * max(1.0, abs(primal)))

    return watch


def _checked_row_factors(factors, n: int, m: int):
    """``row_factors()``'s (Fa, Fb, β): Fa dense or scipy.sparse, Fb dense (n × m), β (m,); clear errors."""
    import scipy.sparse as sp

    try:
        Fa, Fb, rbeta = factors
    except (TypeError, ValueError):
        raise ValueError("`problem.row_factors()` must return (Fa, Fb, beta).") from None
    Fa = sp.csc_matrix(Fa, dtype=np.float64) if sp.issparse(Fa) else np.asarray(Fa, dtype=np.float64)
    Fb = Fb.toarray() if sp.issparse(Fb) else np.asarray(Fb, dtype=np.float64)
    rbeta = np.asarray(rbeta, dtype=np.float64)
    if Fa.shape != (n, m) or Fb.shape != (n, m) or rbeta.shape != (m,):
        raise ValueError(f"`problem.row_factors()` must return Fa and Fb of shape ({n}, {m}) and beta of shape "
                         f"({m},); got {Fa.shape}, {Fb.shape} and {rbeta.shape}.")
    return Fa, Fb, rbeta


def _envelope_fits(op, n: int) -> bool:
    """Whether M(θ) has one envelope order (``sparse_plan``) that the rigorous bound would factor."""
    plan = op.sparse_plan() if hasattr(op, "sparse_plan") else None
    return plan is not None and envelope_preferred(plan, n)


def _constant_upper(beta: np.ndarray, c0: float, theta: np.ndarray) -> float:
    """c0 + Σ θ_k β_k rounded upwards (fsum is correctly rounded; each product is within u of exact)."""
    terms = theta * beta
    s = math.fsum(terms) + 0.0
    err = (len(terms) + 2) * U * (float(np.sum(np.abs(terms))) + abs(c0)) + 2 * U * abs(s)
    return up(up(s + c0) + err)


def solve_lagrangian(
    problem: LagrangianProblem,
    *,
    rtol: float = 1e-3,
    atol: float = 0.0,
    max_iter: int | None = None,
    time_limit: float | None = None,
    bound: str = "rigorous",
    stop_below: float | None = None,
    stop_above: float | None = None,
    theta0: np.ndarray | None = None,
    theta_hint: np.ndarray | None = None,
    rng=None,
    callback=None,
    options: dict | None = None,
) -> LagrangianResult:
    """Bound max <M0, P> + c0 s.t. P ⪰ 0, diag(P) ≤ 1 (= 1 on E), extra rows g_k(P) ≥ 0 / = 0.

    Parameters
    ----------
    problem : LagrangianProblem
        See :mod:`sdpsolve._lagrangian_problem`.
    rtol, atol : float
        Stop when ``upper − lower ≤ max(atol, rtol · max(1, |upper|))`` with the primal violation ≤ viol_tol.
    max_iter : int, optional
        Augmented-Lagrangian rounds at most (default 200).
    time_limit : float, optional
        Seconds; the final certified bound is computed after it.
    bound : {"rigorous", "probabilistic", "estimate"}
    stop_below, stop_above : float, optional
        Early decision: stop once a certified upper bound is < ``stop_below`` or a (nearly) feasible primal
        value is > ``stop_above`` (e.g. both 0 for a robustness certificate).
    theta0 : array (m,), optional
        Starting multipliers (unscaled) of the method; default zeros.
    theta_hint : array (m,), optional
        Multipliers known to give a good bound (e.g. from bound propagation): their bound is certified before
        the first round — by the problem's ``closed_form_bound`` if it has one, else by an inner solve — and may
        decide at once ("below"); it is kept as the bound to beat. The method itself still starts from
        ``theta0`` (measured: starting the augmented Lagrangian at such multipliers can slow it down).
    rng, callback, options
        As in :func:`sdpsolve.solve`; options keys in ``sdpsolve.LAGRANGIAN_OPTIONS``. The callback gets a
        dict with iteration, lower, upper (certified or estimate, labelled), violation, time.

    Returns
    -------
    LagrangianResult
    """

    with limit_threads((options or {}).get("blas_threads", 1), blas_only=True):
        return _solve_lagrangian(problem, rtol, atol, max_iter, time_limit, bound, stop_below, stop_above, theta0,
                                 theta_hint, rng, callback, options)


def _solve_lagrangian(problem, rtol, atol, max_iter, time_limit, bound, stop_below, stop_above, theta0, theta_hint,
                      rng, callback, options):
    start = time.perf_counter()
    if not isinstance(problem, LagrangianProblem):
        raise TypeError(
            "`problem` must implement the LagrangianProblem protocol (n, m, equality, equal, row_scale, "
            f"constraint_values, objective_value, constant, operator); got {type(problem).__name__}."
        )
    n, m = int(problem.n), int(problem.m)
    equality = np.asarray(problem.equality, dtype=bool)
    if equality.shape != (m,):
        raise ValueError(f"`problem.equality` must have shape ({m},), got {equality.shape}.")
    scale = np.asarray(problem.row_scale, dtype=np.float64)
    if scale.shape != (m,) or not np.all(np.isfinite(scale)) or np.any(scale <= 0):
        raise ValueError("`problem.row_scale` must be a finite positive array of shape (m,).")
    mask = np.zeros(n, dtype=bool)
    mask[np.asarray(problem.equal, dtype=np.int64)] = True
    rtol = check_nonneg_float("rtol", rtol)
    atol = check_nonneg_float("atol", atol)
    max_iter = check_positive_int("max_iter", max_iter, allow_none=True)
    time_limit = check_nonneg_float("time_limit", time_limit, allow_none=True, positive=True)
    check_choice("bound", bound, BOUND_KINDS)
    opts = dict(options or {})
    unknown = sorted(set(opts) - set(LAGRANGIAN_OPTIONS))
    if unknown:
        raise ValueError(f"unknown `options` keys {unknown}; known keys: {sorted(LAGRANGIAN_OPTIONS)}.")
    delta = check_probability("options['delta']", opts.get("delta", 1e-9))
    gen = as_rng(rng)
    # the stopping rule (gap tolerance), max_iter (default 200 rounds) and the time limit are the Monitor's
    monitor = Monitor(None, Settings(rtol, atol, max_iter, time_limit, callback, gen, opts), default_max_iter=200,
                      start=start)
    r = int(opts.get("rank", min(n, 16)))
    inner_iters = int(opts.get("inner_iters", 100))
    viol_tol = float(opts.get("viol_tol", 1e-4))
    decide_viol = float(opts.get("decide_viol", 1e-3))
    growth = float(opts.get("rho_growth", 2.0))
    certify_every = int(opts.get("certify_every", 5))
    inner = bool(opts.get("inner_solve", True))
    kind = bound
    # beyond RIGOROUS_MAX_N only a structured M(θ) (``sparse_plan``: factored in its envelope) stays rigorous
    if kind == "rigorous" and n > RIGOROUS_MAX_N and not _envelope_fits(problem.operator(np.zeros(m)), n):
        warnings.warn(f"n = {n} exceeds {RIGOROUS_MAX_N}: reporting a probabilistic bound.", stacklevel=3)
        kind = "probabilistic"

    # β and c0 exactly: the rows and the objective evaluated at P = 0
    zero = np.zeros((n, 1))
    beta = np.asarray(problem.constraint_values(zero), dtype=np.float64)
    c0 = float(problem.objective_value(zero))

    counter = _Counted()
    phases = _Phases()
    theta = np.zeros(m) if theta0 is None else project_multipliers(np.asarray(theta0, float), equality)
    mu = theta * scale
    V = gen.standard_normal((n, r))
    V /= np.linalg.norm(V, axis=1, keepdims=True)

    # the penalty starts at the scale of the objective
    op0 = as_operator(problem.operator(np.zeros(m)), check=False)
    G0 = op0.matmat(V)
    counter.add(op0)
    rho = float(opts.get("rho", max(1.0, float(np.linalg.norm(G0)) / math.sqrt(n))))
    rho_cap = rho * float(opts.get("rho_max", 100.0))

    def ghat(Vx):
        return (np.asarray(problem.constraint_values(Vx)) - 0.0) / scale

    def violations(g):
        """(per-row scaled violation, its maximum): |ĝ| on equality rows, max(−ĝ, 0) on the others."""
        vec = np.where(equality, np.abs(g), np.maximum(-g, 0.0))
        return vec, float(np.max(vec, initial=0.0))

    def above(lower_, viol_, viol_vec_, when):
        """The "above" decision's message when a nearly feasible primal value, less its violations priced by the
        current multipliers, exceeds ``stop_above``; else None."""
        if stop_above is None or viol_ > decide_viol:
            return None
        priced = lower_ - float(np.sum(np.abs(mu) * viol_vec_))
        if priced <= stop_above:
            return None
        return (f"decided: primal value {lower_:.6g} (priced violation: {priced:.6g}) > {stop_above:g} with "
                f"violation {viol_:.1e} {when} (the relaxation cannot certify)")

    def w_of(g, mu_, rho_):
        w = mu_ - rho_ * g
        return np.where(equality, w, np.maximum(w, 0.0))

    def value_grad_factory(mu_, rho_):
        def value_grad(Vx):
            g = ghat(Vx)
            w = w_of(g, mu_, rho_)
            op = as_operator(problem.operator(w / scale), check=False)
            G = op.matmat(Vx)
            counter.add(op)
            # <M(θ(V)), VVᵀ> = <M0, VVᵀ> + Σ w_k (ĝ_k − β̂_k); the augmented value needs <M0, VVᵀ> + c0
            obj = float(problem.objective_value(Vx))
            psi = np.where(
                equality | (mu_ - rho_ * g > 0), mu_ * g - 0.5 * rho_ * g * g, mu_ * mu_ / (2 * rho_)
            )
            return obj + float(np.sum(psi)), 2.0 * G

        return value_grad

    best = None  # (upper, kind, fp, c, theta)
    own = np.inf  # the best bound of the method's own iterates (the hint's bound left out)

    def inner_bound(theta):
        """Certify h(θ) = SDP(M(θ)) + const(θ): the best c for these multipliers, from sdpsolve.solve."""
        nonlocal best, own
        from ._solve import solve

        with warnings.catch_warnings(), phases("inner_solve"):
            warnings.simplefilter("ignore", NotConvergedWarning)
            res = solve(problem.operator(theta), equal=np.flatnonzero(mask), rtol=max(rtol * 0.1, 1e-6),
                        bound=kind, rng=gen, options={"blas_threads": None})
        counter.n += res.n_matvec
        value = up(res.upper + _constant_upper(beta, c0, theta))
        own = min(own, value)
        if best is None or value < best[0]:
            best = (value, res.bound_kind, res.failure_probability, res.dual, theta.copy())

    def certify(opt, c, seed, theta, slack):
        """A certified bound at (c, θ); keeps the best one."""
        nonlocal best, own
        with phases("certify"):
            db = compute_bound(opt, c, mask, kind, delta=delta, rng=gen, v0=seed, target_slack=slack)
        counter.add(opt)
        value = up(db.value + _constant_upper(beta, c0, theta))
        own = min(own, value)
        if best is None or value < best[0]:
            best = (value, db.kind, db.failure_probability, c, theta.copy())

    best_est = np.inf
    history: list = []
    prev_viol = np.inf
    u = None
    status, message, decision = None, "", None
    lower, viol = -np.inf, np.inf
    it = 0
    if theta_hint is not None and kind != "estimate":
        # the hinted multipliers' own bound (e.g. bound propagation's): it may decide at once
        hint = project_multipliers(np.asarray(theta_hint, dtype=np.float64), equality)
        if hint.shape != (m,) or not np.all(np.isfinite(hint)):
            raise ValueError(f"`theta_hint` must be a finite array of shape ({m},).")
        closed = getattr(problem, "closed_form_bound", None)
        with phases("hint"):
            value = closed(hint) if closed is not None else None
        if value is not None:
            best = (float(value), "rigorous", 0.0, None, hint.copy())
        else:
            inner_bound(hint)
            own = np.inf  # the hint's bound is not one of the method's iterates
        if stop_below is not None and best[0] < stop_below:
            status, decision = Status.CONVERGED, "below"
            message = f"decided: the hinted multipliers' certified upper bound {best[0]:.6g} < {stop_below:g}"
    deciding = stop_below is not None or stop_above is not None
    ipm_max_n = int(opts.get("ipm_max_n", 300 if deciding else 1500))
    if status is None and m > 0 and n <= ipm_max_n and n + m <= IPM_MAX_ROWS and hasattr(problem, "row_factors"):
        # small n: a dense interior-point method finds near-optimal multipliers in a few dozen cheap steps;
        # they are certified like any iterate, and the augmented Lagrangian goes on from them if needed
        with phases("ipm"):
            Fa, Fb, rbeta = _checked_row_factors(problem.row_factors(), n, m)
            M0d = op0.to_dense()[0]
            left = None if time_limit is None else max(0.0, time_limit - monitor.elapsed())
            ipm = lagrangian_ipm(M0d, c0, Fa, Fb / scale, rbeta / scale, equality, mask,
                                 tol=float(opts.get("ipm_tol", default_ipm_tol(rtol))), time_limit=left,
                                 watch=_ipm_decider(stop_below, stop_above, kind, scale, equality, problem,
                                                    certify, lambda: best))
            theta = project_multipliers(ipm.theta / scale, equality)
            mu = theta * scale
            lam, Q = np.linalg.eigh(0.5 * (ipm.X + ipm.X.T))
            keep = lam > 1e-12 * max(float(lam[-1]), 1e-300)
            Vf = Q[:, keep][:, ::-1] * np.sqrt(lam[keep][::-1])
            # the factor's rows into the unit ball, onto the sphere on E (the interior point is feasible only
            # up to its tolerance); lower and violation below are those of this factor
            Vf = np.ascontiguousarray(Vf)
            project_rows(Vf, mask)
            opt = as_operator(problem.operator(theta), check=False)
            c, _ = dual_from_primal(mask, opt.matmat(Vf), Vf)
            counter.add(opt)
            viol_vec, viol = violations(ghat(Vf))
            lower = float(problem.objective_value(Vf))
        if kind != "estimate":
            # the interior point's own diagonal multipliers first (dual feasible up to its tolerance), then, when
            # they do not reach the tolerance, the best ones for its primal factor
            certify(opt, ipm.c, Vf[:, : min(r, Vf.shape[1])], theta, 0.25 * monitor.target(lower))
            if not (monitor.within_tolerance(lower, best[0]) or (stop_below is not None and best[0] < stop_below)):
                certify(opt, c, Vf[:, : min(r, Vf.shape[1])], theta, 0.25 * monitor.target(lower))
        else:
            est = lanczos(ShiftedOperator(opt, c), n, k=1, block_size=min(n, 2), v0=Vf[:, :1], tol=1e-8,
                          maxiter=200, rng=gen)
            best = (bound_value_estimate(c, float(est.values[0]), mask) + _constant_upper(beta, c0, theta),
                    "estimate", float("nan"), c, theta.copy())
        history.append({"iteration": 0, "lower": lower, "violation": viol, "upper_estimate": ipm.dual,
                        "upper_certified": best[0] if kind != "estimate" else None, "rho": None,
                        "time": monitor.elapsed(), "ipm": ipm.message})
        above_message = above(lower, viol, viol_vec, "at the interior-point start")
        if stop_below is not None and best[0] < stop_below:
            status, decision = Status.CONVERGED, "below"
            message = f"decided: certified upper bound {best[0]:.6g} < {stop_below:g} (interior-point start)"
        elif above_message is not None:
            status, decision, message = Status.CONVERGED, "above", above_message
        elif viol <= viol_tol and monitor.within_tolerance(lower, best[0]):
            status = Status.CONVERGED
            message = f"gap {monitor.relative_gap(lower, best[0]):.2e} within tolerance (interior-point start)"
        if status is not None:
            V = Vf
        else:
            # warm start of the augmented Lagrangian: the leading r columns of the interior-point factor
            V = np.ascontiguousarray(Vf[:, :r]) if Vf.shape[1] >= r else np.hstack([Vf, np.zeros((n, r - Vf.shape[1]))])
            project_rows(V, mask)
    while status is None:
        it += 1
        with phases("inner"):
            V = lbfgs_maximise_rows(value_grad_factory(mu, rho), V, mask, inner_iters)
        g = ghat(V)
        mu = w_of(g, mu, rho)
        theta = mu / scale
        viol_vec, viol = violations(g)
        lower = float(problem.objective_value(V))
        with phases("estimate"):
            # dual point from the primal for M(θ)
            opt = as_operator(problem.operator(theta), check=False)
            G = opt.matmat(V)
            c, _ = dual_from_primal(mask, G, V)
            seed = V if u is None else np.hstack([V, u])
            # the per-round estimate only steers the method: a small block warm-started from the last top vector
            est = lanczos(ShiftedOperator(opt, c), n, k=1, block_size=min(n, 2), v0=V[:, :1] if u is None else u,
                          tol=1e-6, maxiter=int(opts.get("estimate_steps", 60)), rng=gen,
                          value_tol=1e-6 * max(1.0, abs(lower)) / n)
        counter.add(opt)
        u = est.vectors
        const = _constant_upper(beta, c0, theta)
        upper_est = bound_value_estimate(c, float(est.values[0]), mask) + const
        best_est = min(best_est, upper_est)
        certified_now = False
        want = it % certify_every == 0 or (stop_below is not None and upper_est < stop_below)
        if want and kind != "estimate":
            slack = 0.25 * monitor.target(lower)
            before = own
            certify(opt, c, seed, theta, slack)
            if inner and viol <= 1e-2:
                inner_bound(theta)
            certified_now = True
            # inexact inner solves make the multiplier steps noisy once the penalty is at its cap: when a nearly
            # feasible point no longer improves the method's own certified bound, solve the rounds more accurately
            gap_now = own - lower
            if (viol <= 10 * viol_tol and before - own <= 0.1 * gap_now
                    and not monitor.within_tolerance(lower, own)):
                inner_iters = min(2 * inner_iters, max(1000, inner_iters))
        elif kind == "estimate" and (best is None or upper_est < best[0]):
            best = (upper_est, "estimate", float("nan"), c, theta.copy())
        cur_upper = best[0] if best is not None else np.inf
        history.append({"iteration": it, "lower": lower, "violation": viol, "upper_estimate": upper_est,
                        "upper_certified": cur_upper if best is not None and kind != "estimate" else None,
                        "rho": rho, "time": monitor.elapsed()})
        if callback is not None and callback(dict(history[-1])):
            status, message = Status.CALLBACK, f"stopped by the callback after {it} rounds"
            break
        if stop_below is not None and certified_now and cur_upper < stop_below:
            status, decision = Status.CONVERGED, "below"
            message = f"decided: certified upper bound {cur_upper:.6g} < {stop_below:g} after {it} rounds"
            break
        above_message = above(lower, viol, viol_vec, f"after {it} rounds")
        if above_message is not None:
            status, decision, message = Status.CONVERGED, "above", above_message
            break
        # the estimate is checked against half the tolerance, so that the certified bound normally meets it
        if viol <= viol_tol and monitor.within_tolerance(lower, best_est, scale=0.5):
            if not certified_now and kind != "estimate":
                certify(opt, c, seed, theta, 0.25 * monitor.target(best_est))
            if monitor.within_tolerance(lower, best[0]):
                status = Status.CONVERGED
                message = f"gap {monitor.relative_gap(lower, best[0]):.2e} within tolerance after {it} rounds"
                break
        if monitor.iterations_exhausted(it):
            status, message = Status.MAX_ITER, f"max_iter={monitor.max_iter} rounds reached"
            break
        if monitor.out_of_time():
            status, message = Status.TIME_LIMIT, f"time limit {time_limit:g} s reached after {it} rounds"
            break
        if viol > 0.5 * prev_viol:
            rho = min(rho * growth, rho_cap)
            # V = 0 rows are stationary for every (μ, ρ) (the gradient is 2 M(θ) V): when the rows demand
            # P ≠ 0 and the violation does not shrink, restart the collapsed rows from small random ones
            dead = ~mask & (np.einsum("ij,ij->i", V, V) < 1e-16)
            if dead.any():
                V[dead] = 0.1 * gen.standard_normal((int(dead.sum()), V.shape[1])) / math.sqrt(V.shape[1])
        prev_viol = min(prev_viol, viol)

    if best is None or (kind != "estimate" and status is not Status.CONVERGED and decision is None):
        # make sure the reported bound is certified at the final iterate too
        opt = as_operator(problem.operator(theta), check=False)
        c, _ = dual_from_primal(mask, opt.matmat(V), V)
        certify(opt, c, V, theta, 0.25 * monitor.target(lower))
    upper, bkind, fp, c_best, theta_best = best
    gap = monitor.relative_gap(lower, upper)
    elapsed = monitor.elapsed()
    message = f"{message}; {bkind} bound, {elapsed:.3g} s"
    if status in (Status.MAX_ITER, Status.TIME_LIMIT):
        warnings.warn(f"sdpsolve.solve_lagrangian did not converge: {message}", NotConvergedWarning, stacklevel=3)
    return LagrangianResult(
        lower=lower, upper=upper, gap=gap, violation=viol, dual=c_best, theta=theta_best, factor=V, status=status,
        message=message, bound_kind=bkind, failure_probability=fp, decision=decision, n_matvec=counter.n,
        n_iter=it, time=elapsed, history=history, phases=phases.total(elapsed),
    )
