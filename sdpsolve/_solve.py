"""The public entry point :func:`solve`: validation, method choice, and the final certified bound."""

from __future__ import annotations

import time
import warnings

import numpy as np

from ._bounds import BOUND_KINDS, RIGOROUS_MAX_N, certify_near, compute_bound
from ._cholesky import RIGOROUS_MAX_MEMORY, materialise
from ._errors import NotConvergedWarning
from ._lowrank import lowrank
from ._method import Problem
from ._mixing import mixing
from ._monitor import Monitor, Settings
from ._operator import as_operator
from ._result import SDPResult, Status
from ._subgradient import dual_subgradient
from ._threads import limit_threads
from ._validation import (
    as_rng,
    check_choice,
    check_nonneg_float,
    check_positive_int,
    check_probability,
    equal_mask,
)

#: every method by name; tests parametrise over this list
METHODS = {
    "mixing": mixing,
    "lowrank": lowrank,
    "dual-subgradient": dual_subgradient,
}

OPTION_KEYS = {
    "rank": "initial rank r of the factor V (default min(⌈√(2n)⌉ + 1, 16); raised along eigenvectors when needed)",
    "escape_scale": "size of the columns added along eigenvectors when the rank is raised (default 0.3)",
    "max_rank": "largest rank the saddle escape and the rank rule may reach (default ⌈√(2n)⌉ + 1)",
    "full_rank": "low-rank methods: at a check, a factor whose σ_min/σ_max is at least this uses every column and "
    "gets half as many more (default 0.1; 0: off)",
    "sweeps_per_check": "ascent sweeps/steps between two dual checks (grows by 1.5× up to max_sweeps_per_check)",
    "extrapolation": "mixing: every k-th sweep starts from an extrapolated point, kept if it gains (10; 0: off)",
    "max_sweeps_per_check": "cap of the sweeps between two checks (default 200; schedule from the observed rate)",
    "blas_threads": "BLAS threads during the solve (default 1 for n ≤ 5000: small products do not gain from threads)",
    "eigensolver": "'lanczos' (default) or 'lobpcg' for the eigen oracle inside the methods",
    "lr": "step size of the dual-subgradient method (Adam)",
    "check_every": "dual-subgradient iterations between primal/gap checks",
    "delta": "failure probability of the probabilistic bound (default 1e-9)",
    "rigorous_max_n": f"largest n for a dense rigorous bound (default {RIGOROUS_MAX_N}); above it: the envelope of a "
    "sparse M, else probabilistic",
    "rigorous_max_memory": f"bytes for the rigorous factorisation (default {RIGOROUS_MAX_MEMORY:.3g}); above it: "
    "probabilistic",
    "dense_max_n": "largest n for which 'auto' materialises an implicit operator for the mixing method (default 4000)",
}


def _choose_method(op, opts) -> str:
    if op.kind in ("dense", "sparse"):
        return "mixing"
    if op.n <= int(opts.get("dense_max_n", 4000)):
        return "mixing"  # materialised once (the rigorous bound needs the dense matrix anyway)
    return "lowrank"


def solve(
    M,
    *,
    equal=None,
    method: str = "auto",
    rtol: float = 1e-4,
    atol: float = 0.0,
    max_iter: int | None = None,
    time_limit: float | None = None,
    bound: str = "rigorous",
    rng=None,
    callback=None,
    options: dict | None = None,
) -> SDPResult:
    """Solve max <M, P> s.t. P ⪰ 0, P_ii ≤ 1 (i ∉ E), P_ii = 1 (i ∈ E) from products with M.

    Parameters
    ----------
    M : array, scipy.sparse matrix, LinearOperator, torch tensor, or object with ``shape`` and ``matmat``
        The symmetric objective (symmetry is checked: exactly for explicit matrices, by a randomized test for
        implicit operators).
    equal : None, "all", "none", sequence of int, or boolean mask
        The set E of rows with P_ii = 1 (None: all rows are "≤ 1").
    method : {"auto", "mixing", "lowrank", "dual-subgradient"}
        "auto" uses the mixing method when entries are available (or cheap to materialise, n ≤ 4000) and the
        matrix-free low-rank method otherwise.
    rtol, atol : float
        Stop when ``upper − lower ≤ max(atol, rtol · max(1, |upper|))`` (estimated during the run).
    max_iter : int, optional
        Iterations (sweeps / steps) at most.
    time_limit : float, optional
        Seconds for the optimisation; the final bound is computed after it.
    bound : {"rigorous", "probabilistic", "estimate"}
        Kind of the reported upper bound (see :func:`sdpsolve.dual_bound`). "rigorous" falls back to
        "probabilistic" (with a warning) when n exceeds ``options["rigorous_max_n"]``.
    rng : None, int or numpy Generator
    callback : callable, optional
        ``callback(info)`` after every gap check (``info``: iteration, lower, upper_estimate, gap_estimate,
        n_matvec, time); returning True stops the solver (the result still carries a valid bound).
    options : dict, optional
        Method options; see ``sdpsolve.OPTION_KEYS``.

    Returns
    -------
    SDPResult
        ``upper`` is a bound of kind ``bound_kind`` whatever the status.

    Examples
    --------
    >>> import numpy as np, sdpsolve
    >>> v = np.array([1.0, -2.0, 0.5])
    >>> res = sdpsolve.solve(np.outer(v, v))          # optimum ||v||_1² = 12.25
    >>> res.status.value, res.bound_kind, abs(res.upper - 12.25) < 1e-3
    ('converged', 'rigorous', True)
    """
    start = time.perf_counter()
    op = as_operator(M)
    mask = equal_mask(equal, op.n)
    check_choice("method", method, ("auto", *METHODS))
    rtol = check_nonneg_float("rtol", rtol)
    atol = check_nonneg_float("atol", atol)
    if rtol == 0 and atol == 0:
        raise ValueError("`rtol` and `atol` cannot both be 0 (the gap of a floating-point solve is never 0).")
    max_iter = check_positive_int("max_iter", max_iter, allow_none=True)
    time_limit = check_nonneg_float("time_limit", time_limit, allow_none=True, positive=True)
    check_choice("bound", bound, BOUND_KINDS)
    if callback is not None and not callable(callback):
        raise TypeError(f"`callback` must be callable or None, got {type(callback).__name__}.")
    opts = dict(options or {})
    unknown = sorted(set(opts) - set(OPTION_KEYS))
    if unknown:
        raise ValueError(f"unknown `options` keys {unknown}; known keys: {sorted(OPTION_KEYS)}.")
    delta = check_probability("options['delta']", opts.get("delta", 1e-9))
    gen = as_rng(rng)
    op.n_matvec = 0

    threads = opts.get("blas_threads", 1 if op.n <= 5000 else None)
    with limit_threads(threads, blas_only=True):
        return _solve(op, mask, method, rtol, atol, max_iter, time_limit, bound, gen, callback, opts, delta, start)


def _solve(op, mask, method, rtol, atol, max_iter, time_limit, bound, gen, callback, opts, delta, start):
    chosen = _choose_method(op, opts) if method == "auto" else method
    problem = Problem(op, mask)
    settings = Settings(rtol, atol, max_iter, time_limit, callback, gen, opts)
    monitor = Monitor(problem, settings)  # the stopping rule for the certified bound

    kind = bound
    dense = None
    if kind == "rigorous":
        # the factorisation the rigorous bound needs: dense up to rigorous_max_n, a sparse matrix in its envelope
        # when that is smaller, and within rigorous_max_memory bytes either way
        max_memory = float(opts.get("rigorous_max_memory", RIGOROUS_MAX_MEMORY))
        structured = op.kind == "sparse" or hasattr(getattr(op, "obj", None), "to_sparse")
        too_big = op.n > int(opts.get("rigorous_max_n", RIGOROUS_MAX_N)) and not structured
        rm = None if too_big else materialise(op, max_memory=max_memory)
        if rm is None or (rm.structure == "dense" and op.n > int(opts.get("rigorous_max_n", RIGOROUS_MAX_N))):
            warnings.warn(
                f"n = {op.n}: no rigorous factorisation within rigorous_max_n = "
                f"{opts.get('rigorous_max_n', RIGOROUS_MAX_N)} (dense) and rigorous_max_memory = {max_memory:.3g} "
                "bytes: reporting a probabilistic bound instead of a rigorous one.", stacklevel=3,
            )
            kind = "probabilistic"
        else:
            dense = (rm, rm.err)
    if kind == "rigorous" and chosen in ("mixing", "lowrank"):
        def certify(c, estimate, step, v0=None):
            Md, err = dense
            return certify_near(Md, err, c, mask, estimate, step, refine=True, v0=v0, rng=gen)

        settings.certify = certify
    n_iter = 0
    history: list = []
    for _round in range(4):
        out = METHODS[chosen](problem, settings)
        n_iter += out.n_iter
        history += out.history
        target = 0.25 * monitor.target(out.lower)
        seed = out.eigvec if out.V is None else np.hstack([out.V, out.eigvec])
        estimate = None if out.ritz is None else (out.ritz, out.eigvec)
        if out.certificate is not None:  # proved by the method at out.c
            db = out.certificate
        else:
            db = compute_bound(op, out.c, mask, kind, delta=delta, rng=gen, v0=seed, target_slack=target,
                               dense=dense, matmat=out.product, estimate=estimate)
        upper, lower = db.value, out.lower
        gap = monitor.relative_gap(lower, upper)
        status, message = out.status, out.message
        met = monitor.within_tolerance(lower, upper)
        if status is not Status.CONVERGED or met or out.V is None:
            break
        # the estimate met the tolerance but the certified bound did not: continue from V with a tighter target
        settings.warm_start = out.V
        settings.target_scale *= 0.25
        if settings.max_iter is not None:
            settings.max_iter = max(1, settings.max_iter - out.n_iter)
    if status is Status.CONVERGED and not met:
        status = Status.STALLED
        message = (f"the {db.kind} bound {upper:.10g} leaves a gap {gap:.2e} above the tolerance although the "
                   f"estimated gap was within it ({message})")
    elapsed = time.perf_counter() - start
    message = f"{message}; {db.kind} bound, {elapsed:.3g} s"
    if status is not Status.CONVERGED and status is not Status.CALLBACK:
        warnings.warn(f"sdpsolve.solve did not converge: {message}", NotConvergedWarning, stacklevel=3)
    return SDPResult(
        lower=float(lower),
        upper=float(upper),
        gap=float(gap),
        dual=out.c,
        factor=out.V,
        status=status,
        message=message,
        bound_kind=db.kind,
        failure_probability=db.failure_probability,
        n_matvec=op.n_matvec,
        n_iter=n_iter,
        time=elapsed,
        method=chosen,
        lambda_max_upper=db.lambda_max_upper,
        history=history or None,
    )
