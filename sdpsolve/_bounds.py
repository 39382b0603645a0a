"""Upper bounds on (P) from a dual point c (SPEC §1.1–§1.2), with the three kinds of t ≥ λ_max(M − diag c).

For any c and any t ≥ λ_max(M − diag c),

    U(c, t) = Σ_{i∈E} (c_i + t) + Σ_{i∉E} max(c_i + t, 0)

bounds the optimum of (P). How t is obtained decides what the number is:

* ``rigorous``: t is proved by a floating-point Cholesky factorisation (S. M. Rump, "Verification of positive
  definiteness", BIT 46 (2006) 433–452) of tI − M + diag c, shifted by Rump's a-priori error bound, with every
  diagonal rounding directed downwards. float64 only.
* ``probabilistic``: Lanczos from a random start on the PSD-shifted matrix B + σI (σ ≥ ||B||, proved);
  Kuczyński & Woźniakowski (SIAM J. Matrix Anal. Appl. 13 (1992)) give
  P(θ_k < (1 − ε) λ_max) ≤ 1.648 √n exp(−√ε (2k − 1)), so t = (θ_k + σ)/(1 − ε) − σ holds with probability
  ≥ 1 − δ for the ε solving 1.648 √n exp(−√ε (2k − 1)) = δ (exact-arithmetic statement; full
  reorthogonalisation keeps the floating-point process close to it, and a relative safety term is added).
* ``estimate``: the Ritz value itself. It under-estimates λ_max and is NOT a bound.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from numbers import Real

import numpy as np

from ._cholesky import DenseRump, RumpMatrix, materialise
from ._eigen import lanczos
from ._errors import BoundError
from ._operator import Operator, as_operator
from ._result import DualBound, LambdaMaxProof
from ._validation import (
    as_rng,
    check_choice,
    check_nonneg_float,
    check_positive_int,
    check_probability,
    check_vector,
    equal_mask,
)
from .rounding import U, sum_up, up

BOUND_KINDS = ("rigorous", "probabilistic", "estimate")

# ------------------------------------------------------------------------------------------------------------
# U(c, t), rounded upwards
# ------------------------------------------------------------------------------------------------------------
def bound_value(c: np.ndarray, t: float, mask: np.ndarray) -> float:
    """U(c, t) with upward rounding (a float ≥ the exact value)."""
    y = up(c + t)  # fl(c + t) is within half an ulp; one step up makes it ≥ the exact sum
    y = np.where(mask, y, np.maximum(y, 0.0))
    pos = sum_up(y[y > 0])  # fsum is correctly rounded
    neg = sum_up(y[y < 0]) if np.any(y < 0) else 0.0
    return up(pos + neg) if neg else pos


def bound_value_estimate(c: np.ndarray, t: float, mask: np.ndarray) -> float:
    """U(c, t) in plain floating point (for use inside the optimiser)."""
    y = c + t
    return float(np.sum(np.where(mask, y, np.maximum(y, 0.0))))


# ------------------------------------------------------------------------------------------------------------
# rigorous: Rump's floating-point Cholesky test
# ------------------------------------------------------------------------------------------------------------
def cholesky_proves_upper(Mdense: np.ndarray, c: np.ndarray, t: float) -> bool:
    """True iff a float64 Cholesky proves tI − (M − diag c) positive definite, i.e. λ_max(M − diag c) < t.

    See :func:`rump_cholesky` (which also returns the factor).
    """
    return rump_cholesky(Mdense, c, t)[0]


def rump_cholesky(Mdense: np.ndarray, c: np.ndarray, t: float) -> tuple[bool, np.ndarray | None]:
    """(proved, solve): proved iff a float64 Cholesky proves tI − (M − diag c) positive definite (λ_max < t).

    ``Mdense`` is a symmetric float64 array (only its lower triangle is read). The test, its shift and the
    rounding of the tested diagonal are :class:`sdpsolve._cholesky.DenseRump`'s (module docstring there).
    ``solve`` (when proved) applies the inverse of the computed factor's matrix, for shift-and-invert iterations,
    never a bound.
    """
    return as_rump_matrix(Mdense).proves(c, t)


def as_rump_matrix(M, err: float = 0.0) -> RumpMatrix:
    """``M`` as a :class:`RumpMatrix` (a dense array is wrapped; a RumpMatrix is returned as it is)."""
    return M if isinstance(M, RumpMatrix) else DenseRump(np.asarray(M, dtype=np.float64), err)


def _smallest_step(rm: RumpMatrix, c: np.ndarray, estimate: float) -> tuple[float, float]:
    """(step, typical): the smallest useful distance of a Cholesky candidate above ``estimate``, and the typical
    tested diagonal. Rump's shift is about Σ_j (t_j + 3) u (t − M_jj + c_j) (≈ n²/2 u · typical when dense); the
    tested diagonal t − M_jj + c_j is rounded at the scale of |M_jj| and |c_j|, not of their difference."""
    d = rm.diag
    scale = max(float(np.max(np.abs(d), initial=0.0)), float(np.max(np.abs(c), initial=0.0)), abs(estimate), 1e-300)
    typical = float(np.mean(np.abs(estimate - d + c))) + 1e-300
    return max(4.0 * rm.shift_terms() * U * typical, 8.0 * U * scale, 1e-300), typical


def rigorous_lambda_max_upper(
    Mdense: np.ndarray,
    c: np.ndarray,
    estimate: float,
    *,
    err: float = 0.0,
    resolution: float = 0.0,
    max_tries: int = 60,
    max_bisections: int = 8,
    first_step: float = 0.0,
) -> tuple[float, int]:
    """A t with a Cholesky proof that λ_max(M − diag c) < t, plus ``err`` (rounded up).

    ``Mdense`` is a dense array or a :class:`RumpMatrix` (e.g. a sparse matrix in its envelope). Candidates start
    just above ``estimate`` (a Ritz value, possibly too low; the first one at least
    ``first_step`` above it) and grow geometrically until one is proved; then bisection between the last
    refused and the proved candidate tightens t until the interval is below ``resolution`` (or
    ``max_bisections`` factorisations). ``err`` bounds ||M_exact − Mdense||_2. Returns (t, number of Cholesky
    factorisations).
    """
    rm = as_rump_matrix(Mdense)
    floor, typical = _smallest_step(rm, c, estimate)
    step = max(floor, float(first_step))
    tries = 0
    lo = float(estimate)
    hi = None
    while tries < max_tries:
        t = up(estimate + step)
        tries += 1
        if rm.proves(c, t)[0]:
            hi = t
            break
        lo = t
        step *= 4.0
    if hi is None:
        raise BoundError(
            f"the Cholesky test did not prove any t up to {t:.6g} (estimate {estimate:.6g}); the matrix may be "
            "huge in norm compared with its top eigenvalue, or contain values near overflow."
        )
    for _ in range(max_bisections):
        if hi - lo <= max(resolution, 8.0 * rm.shift_terms() * U * typical):
            break
        mid = 0.5 * (lo + hi)
        tries += 1
        if rm.proves(c, mid)[0]:
            hi = mid
        else:
            lo = mid
    return (up(hi + err) if err else hi), tries


@dataclass(frozen=True)
class ShiftTest:
    """Outcome of :func:`certify_near`.

    ``bound``: a rigorous bound at the first proved candidate (None if none). ``first``: whether the first
    candidate (estimate + step) was proved. ``ritz``/``vectors``: when it was not and refinement was asked
    for, the top Ritz value/vectors of M − diag c from shift-and-invert Lanczos with the factor of the proved
    candidate (an estimate of λ_max far better than plain Lanczos when the top eigenvalue is isolated by a gap
    tiny against the spread of the spectrum).
    """

    bound: DualBound | None
    first: bool
    tested: float
    ritz: float | None = None
    vectors: np.ndarray | None = None


def certify_near(
    Mdense: np.ndarray,
    err: float,
    c: np.ndarray,
    mask: np.ndarray,
    estimate: float,
    step: float,
    *,
    refine: bool = False,
    v0: np.ndarray | None = None,
    rng: np.random.Generator | None = None,
    max_tries: int = 16,
) -> ShiftTest:
    """Rigorous test of t = estimate + step (one Cholesky); optionally locate λ_max when it fails.

    ``estimate`` is a Ritz value (or any guess) of λ_max(M − diag c); ``step`` > 0 is the slack the caller can
    afford (U(c, t) ≤ U(c, estimate) + n·step). If the test fails and ``refine`` is set, candidates
    estimate + step·4^k are tested until one is proved (a rigorous bound there), and block Lanczos on the
    inverse of the proved factor (warm start ``v0``) gives the top eigenpairs (estimates).
    """
    rm = as_rump_matrix(Mdense)
    n = rm.n
    details = {"materialisation_error": err, "factorisation": rm.structure}

    def bound_at(t, tries):
        t = up(t + err) if err else float(t)
        return DualBound(bound_value(c, t, mask), "rigorous", t, 0.0, float(estimate), 0,
                         {**details, "cholesky_tries": tries})

    step = max(float(step), _smallest_step(rm, c, estimate)[0])
    first = up(estimate + step)
    ok, solve = rm.proves(c, first)
    if ok:
        return ShiftTest(bound_at(first, 1), True, first)
    if not refine:
        return ShiftTest(None, False, first)
    t = first
    for k in range(1, max_tries):
        t = up(estimate + step * 4.0**k)
        ok, solve = rm.proves(c, t)
        if ok:
            break
    if not ok:
        return ShiftTest(None, False, first)
    res = lanczos(solve, n, k=3, v0=v0, tol=1e-7, maxiter=60, rng=rng, check_every=1)
    return ShiftTest(bound_at(t, k + 1), False, first, None, res.vectors)


# ------------------------------------------------------------------------------------------------------------
# probabilistic: Kuczyński–Woźniakowski
# ------------------------------------------------------------------------------------------------------------
def kw_epsilon(n: int, k: int, delta: float) -> float:
    """ε with 1.648 √n exp(−√ε (2k − 1)) = δ: after k Lanczos steps θ_k ≥ (1 − ε) λ_max w.p. ≥ 1 − δ."""
    root = math.log(1.648 * math.sqrt(n) / delta) / (2 * k - 1)
    return min(root * root, 1.0)


def kw_steps(n: int, eps: float, delta: float) -> int:
    """Smallest k with kw_epsilon(n, k, delta) ≤ eps."""
    return int(math.ceil((math.log(1.648 * math.sqrt(n) / delta) / math.sqrt(eps) + 1) / 2))


def probabilistic_lambda_max_upper(
    matmat, n: int, sigma: float, *, delta: float, steps: int, rng: np.random.Generator
) -> tuple[float, float, int]:
    """t ≥ λ_max(B) with probability ≥ 1 − δ, from ``steps`` Lanczos steps from a uniformly random start.

    ``sigma`` must be a proved upper bound on ||B||_2 (so B + σI ⪰ 0). Returns (t, Ritz value, products).
    """
    steps = max(1, min(steps, n))
    x0 = rng.standard_normal(n)  # Gaussian direction = uniform on the sphere
    # full reorthogonalisation: the three-term projection plus one classical Gram–Schmidt pass against the whole
    # basis ("twice is enough"), which keeps the basis orthonormal to working precision
    res = lanczos(matmat, n, k=1, block_size=1, v0=x0, tol=0.0, maxiter=steps, max_dim=steps + 1, rng=rng,
                  check_every=steps + 1, reorth=1)
    theta = float(res.values[0])
    k = res.n_iter
    if k >= n:  # the Krylov space is the whole space: θ is λ_max up to rounding
        eps = 0.0
    else:
        eps = kw_epsilon(n, k, delta)
    if eps >= 1.0:
        t = sigma
    else:
        shifted = (theta + sigma) * (1.0 + 64 * n * U)  # safety for the floating-point Lanczos process
        t = min(sigma, shifted / (1.0 - eps) - sigma)
    return up(t), theta, res.n_matvec


#: above this many Kuczyński–Woźniakowski steps the probabilistic bound runs Lanczos on a Chebyshev filter of
#: the shifted matrix (:func:`filtered_lambda_max_upper`) with at most this many Krylov vectors
FILTER_KRYLOV = 150
#: products the probabilistic bound may spend by default (plain Lanczos alone was capped at 4,000 steps by its
#: O(n k²) orthogonalisation)
FILTER_MAX_PRODUCTS = 40000


def chebyshev_filter(matmat, a: float, degree: int):
    """X ↦ p(A) X with p(x) = 1 + T_d(2x/a − 1) (three-term recurrence, ``degree`` products with A).

    p maps [0, a] into [0, 2] and grows like cosh(d · arccosh(2x/a − 1)) above a: p(A) ⪰ 0 for every A with its
    spectrum in [0, ∞), and its top eigenvalue is p(λ_max(A)) once λ_max(A) ≥ a."""

    def apply(X):
        Y0 = X
        Y1 = (2.0 / a) * matmat(X) - X
        for _ in range(degree - 1):
            Y0, Y1 = Y1, 2.0 * ((2.0 / a) * matmat(Y1) - Y1) - Y0
        return X + Y1

    return apply


def filtered_lambda_max_upper(
    matmat, n: int, sigma: float, estimate: float, *, delta: float, steps: int, rng: np.random.Generator
) -> tuple[float, float, int, int]:
    """t ≥ λ_max(B) with probability ≥ 1 − δ, from Lanczos on a Chebyshev filter of A = B + σI.

    ``matmat`` is X ↦ B X, ``sigma`` a proved bound on ||B||_2 (so A's spectrum lies in [0, 2σ]), ``estimate`` a
    Ritz value of B. With a = estimate + σ (just below it), p(x) = 1 + T_d(2x/a − 1) ≥ 0 on [0, 2σ], so p(A) ⪰ 0
    and Kuczyński–Woźniakowski apply to it: after k Lanczos steps on p(A) from a uniformly random start,
    θ ≥ (1 − ε) λ_max(p(A)) ≥ (1 − ε) p(λ_max(A)) with probability ≥ 1 − δ. Then λ_max(A) ≤ x* = sup{x ∈ [0, 2σ]:
    p(x) ≤ θ/(1 − ε)} (x* ≤ a when θ/(1 − ε) < 2, else the root of p above a). The error x* − λ_max(A) ≈ ε p/p' ≈
    ε a/d² is that of plain Lanczos with k·d steps, but only k vectors are stored and reorthogonalised (O(n k²)
    instead of O(n k² d²)). Same floating-point caveat as :func:`probabilistic_lambda_max_upper`: the statement is
    one of exact arithmetic, with a relative safety term (64 n d u on θ). ``steps`` is the number of plain steps
    to match; returns (t, Ritz value of p(A), products, degree).
    """
    k = max(1, min(FILTER_KRYLOV, steps, n))
    d = max(1, math.ceil(steps / k))
    top = 2.0 * sigma
    a = max((estimate + sigma) * (1.0 - 0.5 / (d * d)), 1e-300 + 1e-12 * top)  # the knee just below the estimate
    p = chebyshev_filter(lambda X: matmat(X) + sigma * X, a, d)
    x0 = rng.standard_normal(n)
    res = lanczos(p, n, k=1, block_size=1, v0=x0, tol=0.0, maxiter=k, max_dim=k + 1, rng=rng, check_every=k + 1,
                  reorth=1)
    theta = float(res.values[0])
    kk = res.n_iter
    eps = 0.0 if kk >= n else kw_epsilon(n, kk, delta)
    if eps >= 1.0 or not math.isfinite(theta):  # (p overflows only for a knee far below the spectrum)
        return up(sigma), theta, res.n_matvec * d, d
    v = theta * (1.0 + 64 * n * d * U) / (1.0 - eps)
    if v < 2.0:
        x = a
    else:
        y = math.cosh(math.acosh(v - 1.0) / d)  # T_d(y) = v − 1, y ≥ 1
        x = 0.5 * a * (y + 1.0)
    x = min(top, x * (1.0 + 1e-12))  # (the rounding of acosh/cosh, far below the safety term)
    return up(min(sigma, x - sigma)), theta, res.n_matvec * d, d


# ------------------------------------------------------------------------------------------------------------
# the public entry point
# ------------------------------------------------------------------------------------------------------------
class ShiftedOperator:
    """x ↦ (M − diag c) x, counting products in the wrapped operator (``matmat``: an equivalent, cheaper M·X)."""

    def __init__(self, op: Operator, c: np.ndarray, matmat=None):
        self.op, self.c = op, c
        self.matmat = op.matmat if matmat is None else matmat

    def __call__(self, X: np.ndarray) -> np.ndarray:
        return self.matmat(X) - self.c[:, None] * X


#: largest n for which the rigorous bound materialises M densely by default (a sparse M factored in its envelope
#: is limited by memory instead: :data:`sdpsolve._cholesky.RIGOROUS_MAX_MEMORY`)
RIGOROUS_MAX_N = 12000


def _rump(op: Operator, max_memory: float = float("inf")) -> tuple[RumpMatrix, float]:
    """The operator materialised for the Rump test (envelope where sparse and smaller), with its error."""
    rm = materialise(op, max_memory=max_memory)
    if rm is None:
        raise BoundError(f"no rigorous factorisation of this n = {op.n} operator fits in {max_memory:.3g} bytes.")
    return rm, rm.err


def probabilistic_budget(op: Operator, c: np.ndarray, mask: np.ndarray, theta: float, slack: float,
                         delta: float) -> tuple[float, int]:
    """(σ, steps) of the probabilistic bound at c: σ = ||M|| bound + max|c| (proved, rounded up: B + σI ⪰ 0 for
    B = M − diag c), and the Kuczyński–Woźniakowski steps that keep U(c, t) within ``slack`` of U(c, λ_max) (t is
    counted once per row where c_i + θ > 0 or i ∈ E). Raises BoundError when the operator has no ``norm_bound``."""
    norm_m = op.norm_bound()
    if norm_m is None:
        raise BoundError(
            "the probabilistic bound needs a proved bound on ||M||_2, and this operator provides none; give the "
            "operator a `norm_bound()` method, or use bound='rigorous'."
        )
    sigma = up(up(norm_m) + float(np.max(np.abs(c), initial=0.0)) * (1 + 4 * U))
    n_active = max(1, int(np.sum(mask | (c + theta > 0))))
    eps_wanted = max(min(slack / n_active / max(sigma, 1e-300), 0.5), 1e-14)
    return sigma, kw_steps(op.n, eps_wanted, delta)


def compute_bound(
    op: Operator,
    c: np.ndarray,
    mask: np.ndarray,
    kind: str,
    *,
    delta: float = 1e-9,
    rng: np.random.Generator,
    v0: np.ndarray | None = None,
    dense: tuple[np.ndarray, float] | None = None,
    target_slack: float | None = None,
    max_steps: int = FILTER_MAX_PRODUCTS,
    matmat=None,
    estimate: tuple[float, np.ndarray] | None = None,
) -> DualBound:
    """The bound of kind ``kind`` at c (internal; see :func:`dual_bound`).

    ``max_steps`` caps the products of the probabilistic bound (plain Lanczos steps, or the filter's k·d).

    ``matmat``: an equivalent cheaper product X ↦ M X for the Lanczos runs. ``estimate``: (θ, x), a Ritz pair of
    M − diag c the caller already has; for a rigorous bound with ``target_slack`` a single Cholesky test at
    θ + ½·target_slack/n is tried first (no Lanczos run when it succeeds). Whatever the inputs, the returned
    value is a bound of the stated kind: only the Cholesky test (rigorous) or the probabilistic Lanczos decides.
    """
    n = op.n
    before = op.n_matvec
    pre_tries = 0
    B = ShiftedOperator(op, c, matmat)
    resolution = None if target_slack is None else 0.02 * target_slack / n
    if kind == "rigorous" and estimate is not None and target_slack is not None and np.isfinite(estimate[0]):
        Md, err = dense if dense is not None else _rump(op)
        db = certify_near(Md, err, c, mask, float(estimate[0]), 0.5 * target_slack / n).bound
        if db is not None:
            db.details["ritz_vector"] = np.asarray(estimate[1]).reshape(n, -1)[:, 0]
            return db
        pre_tries = 1  # the estimate was too low: locate λ_max by Lanczos below
    block = min(n, 4 if v0 is None else np.asarray(v0).reshape(n, -1).shape[1] + 1)
    est = lanczos(B, n, k=1, block_size=block, v0=v0, tol=1e-8, maxiter=500, rng=rng, value_tol=resolution,
                  check_every=1)
    theta = float(est.values[0])
    details = {"ritz_residual": float(est.residuals[0]), "ritz_vector": est.vectors[:, 0]}
    if kind == "estimate":
        return DualBound(bound_value_estimate(c, theta, mask), "estimate", theta, float("nan"), theta,
                         op.n_matvec - before, details)
    if kind == "rigorous":
        Md, err = dense if dense is not None else _rump(op)
        t, tries = rigorous_lambda_max_upper(Md, c, theta, err=err, resolution=resolution or 0.0,
                                             first_step=0.5 * (resolution or 0.0))
        details.update(cholesky_tries=tries + pre_tries, materialisation_error=err,
                       factorisation=as_rump_matrix(Md).structure)
        return DualBound(bound_value(c, t, mask), "rigorous", t, 0.0, theta, op.n_matvec - before, details)
    # probabilistic
    slack = target_slack if target_slack is not None else 1e-6 * max(1.0, abs(bound_value_estimate(c, theta, mask)))
    sigma, wanted = probabilistic_budget(op, c, mask, theta, slack, delta)
    if wanted > FILTER_KRYLOV and n > FILTER_KRYLOV:
        # many steps: a Chebyshev filter of degree d and k ≤ FILTER_KRYLOV Krylov vectors, about as many products
        # and the same accuracy as plain Lanczos with k·d steps, without storing and reorthogonalising k·d vectors
        steps = min(wanted, max_steps)
        t, theta_k, _, degree = filtered_lambda_max_upper(B, n, sigma, theta, delta=delta, steps=steps, rng=rng)
        details.update(filter_degree=degree)
    else:
        steps = min(wanted, max_steps, n)
        t, theta_k, _ = probabilistic_lambda_max_upper(B, n, sigma, delta=delta, steps=steps, rng=rng)
    t = max(t, theta)  # both are ≥ the Ritz value; keep the (probabilistically) valid one
    details.update(lanczos_steps=steps, psd_shift=sigma)
    return DualBound(bound_value(c, t, mask), "probabilistic", t, delta, theta, op.n_matvec - before, details)


def dual_bound(M, c, *, equal=None, kind: str = "rigorous", delta: float = 1e-9, rng=None) -> DualBound:
    """Upper bound on max <M,P> s.t. P ⪰ 0, P_ii ≤ 1 (i ∉ E), P_ii = 1 (i ∈ E) from the dual point ``c``.

    Parameters
    ----------
    M : array, sparse matrix, LinearOperator, torch tensor or object with ``shape`` and ``matmat``
        The symmetric objective.
    c : array (n,)
        Any dual point: every c gives a bound.
    equal : None, "all", "none", indices or boolean mask
        The set E of rows with P_ii = 1.
    kind : {"rigorous", "probabilistic", "estimate"}
        How t ≥ λ_max(M − diag c) is obtained (module docstring). "estimate" is not a bound.
    delta : float
        Failure probability of the probabilistic kind.
    rng : None, int or Generator

    Returns
    -------
    DualBound

    Examples
    --------
    >>> import numpy as np
    >>> from sdpsolve import dual_bound
    >>> v = np.array([1.0, -2.0, 0.5])
    >>> b = dual_bound(np.outer(v, v), np.abs(v) * np.abs(v).sum())   # optimal c for a rank-one M
    >>> b.kind, round(b.value, 9)   # the optimum is ||v||_1² = 12.25
    ('rigorous', 12.25)
    """
    op = as_operator(M)
    c = check_vector("c", c, op.n)
    check_choice("kind", kind, BOUND_KINDS)
    delta = check_probability("delta", delta)
    mask = equal_mask(equal, op.n)
    return compute_bound(op, c, mask, kind, delta=delta, rng=as_rng(rng))


def _check_finite_real(name: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, Real):
        raise TypeError(f"`{name}` must be a finite real number, got {value!r} of type {type(value).__name__}.")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"`{name}` must be a finite real number, got {value!r}.")
    return value


def prove_lambda_max(
    M,
    c=None,
    *,
    estimate: float | None = None,
    err: float = 0.0,
    resolution: float = 0.0,
    max_tries: int = 60,
    max_bisections: int = 8,
    first_step: float = 0.0,
    rng=None,
) -> LambdaMaxProof:
    """Prove t ≥ λ_max(M − diag c) by Rump's floating-point Cholesky test (the rigorous kind of SPEC §1.2).

    M is materialised in float64 (an implicit operator through its ``to_dense() -> (B, err)``), candidates
    t = estimate + step are tested, the step growing geometrically until tI − (B − diag c) is proved positive
    definite; bisection between the last refused and the proved candidate then tightens t until the interval is
    below ``resolution`` (or ``max_bisections`` more factorisations). The materialisation error and ``err``
    are added to t, rounded upwards.

    Parameters
    ----------
    M : array, sparse matrix, LinearOperator, torch tensor or object with ``shape`` and ``matmat``
        The symmetric matrix (materialised; n up to about 2·10⁴ dense, far more when sparse: a sparse matrix is
        factored in its envelope or in minimum-degree order when that is cheaper).
    c : array (n,), optional
        The diagonal shift (default 0).
    estimate : float, optional
        An estimate of λ_max(M − diag c), e.g. a Ritz value (default: block Lanczos). The closer, the fewer
        factorisations and the tighter t.
    err : float
        A bound on ||M_exact − M||_2 the caller knows (e.g. when M is a float64 rounding of the matrix meant).
    resolution : float
        Stop bisecting once t is known to this accuracy (0: only ``max_bisections`` limits).
    max_tries : int
        Candidates tested before giving up (each tries a 4× larger step).
    max_bisections : int
        Factorisations spent tightening a proved t (0: keep the first proved candidate).
    first_step : float
        The first candidate is at least this far above ``estimate``.
    rng : None, int or Generator
        For the Lanczos estimate (only when ``estimate`` is None).

    Returns
    -------
    LambdaMaxProof

    Raises
    ------
    BoundError
        If no candidate is proved within ``max_tries``.

    Examples
    --------
    >>> import numpy as np
    >>> from sdpsolve import prove_lambda_max
    >>> M = np.array([[2.0, 1.0], [1.0, 2.0]])          # λ_max = 3
    >>> proof = prove_lambda_max(M, estimate=3.0)
    >>> bool(3.0 < proof.t < 3.0 + 1e-12), proof.materialisation_error
    (True, 0.0)
    """
    op = as_operator(M)
    n = op.n
    c = np.zeros(n) if c is None else check_vector("c", c, n)
    err = check_nonneg_float("err", err)
    resolution = check_nonneg_float("resolution", resolution)
    first_step = check_nonneg_float("first_step", first_step)
    max_tries = check_positive_int("max_tries", max_tries)
    max_bisections = check_positive_int("max_bisections", max_bisections, minimum=0)
    if estimate is None:
        est = lanczos(ShiftedOperator(op, c), n, k=1, block_size=min(n, 4), tol=1e-8, maxiter=500, rng=as_rng(rng))
        estimate = float(est.values[0])
    else:
        estimate = _check_finite_real("estimate", estimate)
    rm = materialise(op, max_memory=float("inf"))
    merr = rm.err
    total = up(merr + err) if (merr and err) else (merr or err)
    t, tries = rigorous_lambda_max_upper(rm, c, estimate, err=total, resolution=resolution, max_tries=max_tries,
                                         max_bisections=max_bisections, first_step=first_step)
    return LambdaMaxProof(float(t), estimate, float(total), int(tries), rm.structure)


def dual_bound_value(c, t: float, *, equal=None) -> float:
    """U(c, t) = Σ_{i∈E} (c_i + t) + Σ_{i∉E} max(c_i + t, 0), rounded upwards (SPEC §1.1).

    An upper bound on max <M,P> s.t. P ⪰ 0, P_ii ≤ 1 (i ∉ E), P_ii = 1 (i ∈ E) whenever t ≥ λ_max(M − diag c),
    e.g. t from :func:`prove_lambda_max`. The returned float is ≥ the exact value of the formula.

    Parameters
    ----------
    c : array (n,)
        The dual point.
    t : float
        An upper bound on λ_max(M − diag c) (what makes the value a bound is the caller's t).
    equal : None, "all", "none", indices or boolean mask
        The set E.

    Returns
    -------
    float

    Examples
    --------
    >>> from sdpsolve import dual_bound_value
    >>> u = dual_bound_value([1.0, -3.0], 1.0)            # max(2, 0) + max(−2, 0) = 2
    >>> bool(2.0 <= u < 2.0 + 1e-14)                      # rounded upwards: ≥ the exact value
    True
    >>> bool(0.0 <= dual_bound_value([1.0, -3.0], 1.0, equal="all") < 1e-14)   # 2 + (−2)
    True
    """
    arr = np.asarray(c, dtype=np.float64) if not isinstance(c, np.ndarray) else c
    if arr.ndim != 1:
        raise ValueError(f"`c` must be a vector, got shape {arr.shape}.")
    c = check_vector("c", arr, arr.shape[0])
    t = _check_finite_real("t", t)
    return bound_value(c, t, equal_mask(equal, c.shape[0]))
