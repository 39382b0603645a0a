"""The differentiable dual certificate of Grad-cert (SPEC §3, last paragraph; SPEC §1.1).

For a one-hidden-layer network f(x) = V·relu(W x + b) + b' (W of shape (m, d)), a pair of classes with
v = V_i − V_j, and the implicit matrix M = M(W, v) of :class:`certifiers._gradcert.GradCertOperator`
(n = 1 + d + m), every vector c ∈ Rⁿ gives an upper bound on SDP(M):

    paper form   U(c) = n·max(λ_max(M − diag c), 0) + 1ᵀmax(c, 0)          (the ICLR 2018 paper)
    tight form   U(c) = Σ_k max(c_k + λ_max(M − diag c), 0)                  (SPEC §1.1; never larger)

so (ε/4)·U(c) bounds the change of f_i − f_j over the l∞ ball of radius ε (a valid Grad-cert bound when
λ_max is known exactly or bounded from above; see :func:`pair_certificate_bounds` for a proved value).

:class:`DualCertificate` evaluates U for a batch of pairs that share W, as a torch autograd function whose
gradient comes from a top eigenvector u of M − diag c (∂λ_max/∂M = u uᵀ, valid wherever λ_max is simple,
a subgradient otherwise), pulled back through the structure of M without ever forming it:

    <M, u uᵀ> = 2 u₀ gᵀu_t + 2 u_tᵀ Wᵀ diag(v) u_s = 2 Σ_l v_l (W u_t)_l (u₀ + u_{s,l}),
    ∂/∂W = 2 (v ⊙ (u₀ + u_s)) u_tᵀ,   ∂/∂v = 2 (W u_t) ⊙ (u₀ + u_s),   ∂λ_max/∂c = −u ⊙ u,

with u = [u₀; u_t; u_s] (blocks of sizes 1, d, m). The eigenpair comes from a batched Lanczos iteration in
torch float64 (on the device of W, CPU or CUDA), warm-started from the previous call's vector of the same
pair (a small cache keyed by pair), so a training step costs a handful of products O(m·d) per pair.

Public objects: :data:`FORMS`, :class:`DualCertificate`, :class:`LanczosInfo`, :func:`dual_certificate`,
:func:`certificate_value_dense` (dense reference, tests only), :func:`lanczos_top` (the batched eigen
oracle), :func:`gershgorin_dual_point` (a valid starting c), :func:`class_pairs` and
:func:`pair_certificate_bounds` (proved values for a whole network).
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from numbers import Integral, Real

import numpy as np

__all__ = [
    "FORMS",
    "DualCertificate",
    "LanczosInfo",
    "certificate_value_dense",
    "class_pairs",
    "dual_certificate",
    "gershgorin_dual_point",
    "lanczos_top",
    "pair_certificate_bounds",
]

#: the two forms of the certificate: the ICLR 2018 paper's, and the never-larger one of SPEC §1.1
FORMS = ("paper", "tight")


def _torch():
    try:
        import torch
    except ImportError as exc:  # pragma: no cover - torch is a hard dependency
        from sdpsolve._errors import MissingDependencyError

        raise MissingDependencyError(
            "the differentiable dual certificate needs torch; install it with `pip install torch`."
        ) from exc
    return torch


def class_pairs(n_classes: int) -> list[tuple[int, int]]:
    """The unordered pairs (i, j), i < j, of ``n_classes`` classes in the order used by the c tables.

    Examples
    --------
    >>> class_pairs(3)
    [(0, 1), (0, 2), (1, 2)]
    """
    if isinstance(n_classes, bool) or not isinstance(n_classes, Integral) or n_classes < 2:
        raise ValueError(f"`n_classes` must be an integer >= 2, got {n_classes!r}.")
    return [(i, j) for i in range(n_classes) for j in range(i + 1, n_classes)]


# ---------------------------------------------------------------------------------------------------------
# products with M(W, v_p) − diag(c_p) for a batch of pairs, in torch
# ---------------------------------------------------------------------------------------------------------
def _pair_matvec(W, V, G, C, X):
    """Rows of X (P, n) mapped to (M(W, v_p) − diag c_p) x_p; V (P, m), G = V W (P, d), C (P, n).

    Two GEMMs of size P×m×d; nothing of size n×n is formed.
    """
    d = W.shape[1]
    x0, xt, xs = X[:, :1], X[:, 1 : 1 + d], X[:, 1 + d :]
    y0 = (G * xt).sum(dim=1, keepdim=True)
    yt = G * x0 + (V * xs) @ W
    ys = V * (xt @ W.T)
    torch = _torch()
    return torch.cat([y0, yt, ys], dim=1) - C * X


def _top_ritz(T):
    """Top eigenpair and spectral radius of each tridiagonal T_p (P, k, k): (θ (P,), s (P, k), max|eig| (P,)).

    Small k: one batched dense ``eigh``; larger k: scipy's tridiagonal solver for the two extreme
    eigenvalues only (the batched dense solver costs O(P k³) and dominates long runs otherwise).
    """
    torch = _torch()
    P, k, _ = T.shape
    if k <= 16:
        evals, evecs = torch.linalg.eigh(T)
        return evals[:, -1], evecs[:, :, -1], evals.abs().amax(dim=1).clamp_min(1e-300)
    from scipy.linalg import eigh_tridiagonal

    d = torch.diagonal(T, dim1=1, dim2=2).cpu().numpy()
    e = torch.diagonal(T, offset=1, dim1=1, dim2=2).cpu().numpy()
    theta = np.empty(P)
    low = np.empty(P)
    S = np.empty((P, k))
    for p in range(P):
        w, v = eigh_tridiagonal(d[p], e[p], select="i", select_range=(k - 1, k - 1))
        theta[p], S[p] = w[0], v[:, 0]
        low[p] = eigh_tridiagonal(d[p], e[p], eigvals_only=True, select="i", select_range=(0, 0))[0]
    scale = np.maximum(np.maximum(np.abs(theta), np.abs(low)), 1e-300)
    as_t = {"dtype": T.dtype, "device": T.device}
    return torch.tensor(theta, **as_t), torch.tensor(S, **as_t), torch.tensor(scale, **as_t)


def _project(basis, w):
    """Rows Q_pᵀ(Q_p w_p) for orthonormal row bases Q (P, k, n) and vectors w (P, n) (two batched GEMVs)."""
    torch = _torch()
    coef = torch.bmm(w[:, None, :], basis.transpose(1, 2))  # (P, 1, k)
    return torch.bmm(coef, basis)[:, 0]


@dataclass(frozen=True)
class LanczosInfo:
    """What the eigen oracle did in one call (per pair, in the order of the batch).

    Attributes
    ----------
    lambda_max : numpy.ndarray, shape (P,)
        Top Ritz values of M − diag c. A Ritz value *under*-estimates λ_max: an estimate, not a bound.
    residuals : numpy.ndarray, shape (P,)
        ‖(M − diag c) u − θ u‖ of the returned Ritz pairs.
    n_matvec : int
        Products with a single M_p (a step on a batch of P pairs counts P).
    n_steps : int
        Lanczos steps taken (the same for every pair of the batch).
    converged : bool
        Whether every residual met the tolerance.
    warm : int
        How many pairs started from a cached vector.
    """

    lambda_max: np.ndarray
    residuals: np.ndarray
    n_matvec: int
    n_steps: int
    converged: bool
    warm: int


def lanczos_top(matvec, V0, *, max_steps: int = 40, tol: float = 1e-5, generator=None, check_every: int = 1):
    """Top eigenpair of P symmetric operators at once by Lanczos with full reorthogonalisation (torch).

    Parameters
    ----------
    matvec : callable
        X (P, n) -> rows B_p x_p (P, n).
    V0 : torch.Tensor, shape (P, n)
        Start vectors (e.g. the previous top eigenvectors); zero rows are replaced by random ones.
    max_steps : int
        Lanczos steps at most (products: ``max_steps`` per pair).
    tol : float
        Stop when, for every pair, the residual estimate β_k |s_k| ≤ ``tol`` · max|θ| (largest Ritz value in
        modulus, per pair) or the top Ritz value rose by at most 0.01 · ``tol`` · max|θ| since the last
        test (its value has converged while a clustered top may keep the vector from converging).
    generator : torch.Generator, optional
        CPU generator for random vectors (breakdowns and zero starts).
    check_every : int
        Steps between two convergence tests (each an eigendecomposition of the P projected matrices).

    Returns
    -------
    theta : torch.Tensor, shape (P,)
        Top Ritz values (estimates of λ_max from below).
    U : torch.Tensor, shape (P, n)
        Unit Ritz vectors.
    residuals : torch.Tensor, shape (P,)
        Residual norms ‖B u − θ u‖ (the Lanczos estimate β_k |s_k|).
    steps : int
        Steps taken.

    Examples
    --------
    >>> import torch
    >>> D = torch.diag(torch.tensor([3.0, 1.0, -2.0], dtype=torch.float64))[None]
    >>> theta, U, res, steps = lanczos_top(lambda X: (D @ X[..., None])[..., 0], torch.ones(1, 3, dtype=torch.float64))
    >>> round(float(theta[0]), 12), steps <= 3
    (3.0, True)
    """
    torch = _torch()
    P, n = V0.shape
    dev, dt = V0.device, V0.dtype
    k_max = max(1, min(int(max_steps), n))

    def randn(shape):
        return torch.randn(shape, generator=generator, dtype=dt).to(dev)

    q = V0.clone()
    norms = q.norm(dim=1)
    zero = norms <= 0
    if bool(zero.any()):
        q[zero] = randn((int(zero.sum()), n))
        norms = q.norm(dim=1)
    q = q / norms[:, None]
    Q = torch.zeros((P, k_max, n), dtype=dt, device=dev)
    T = torch.zeros((P, k_max, k_max), dtype=dt, device=dev)
    Q[:, 0] = q
    rows = torch.arange(P, device=dev)
    theta = U = res = None
    steps = 0
    had_breakdown = False
    prev_theta = None
    for k in range(k_max):
        w = matvec(Q[:, k])
        steps = k + 1
        alpha = (w * Q[:, k]).sum(dim=1)
        T[:, k, k] = alpha
        # full reorthogonalisation against the whole basis, twice (classical Gram–Schmidt)
        basis = Q[:, : k + 1]
        for _ in range(2):
            w = w - _project(basis, w)
        beta = w.norm(dim=1)
        last = k + 1 == k_max
        if not last and (k + 1) % check_every != 0:
            proxy = T[:, : k + 1, : k + 1].abs().amax(dim=(1, 2)).clamp_min(1e-300)
            if bool((beta > 1e-12 * proxy).all()):  # no breakdown: extend the basis without a test
                Q[:, k + 1] = w / beta[:, None]
                T[rows, k, k + 1] = beta
                T[rows, k + 1, k] = beta
                continue
        theta, s, scale = _top_ritz(T[:, : k + 1, : k + 1])
        res = beta * s[:, -1].abs()
        # breakdown: the basis spans an invariant subspace, whose top Ritz value is exact but need not be
        # λ_max (the start may lack the top eigenvector); continue from a fresh random direction, uncoupled
        # (its residual estimate is then 0 for good, so after a breakdown run to ``max_steps``)
        broken = beta <= 1e-12 * scale
        had_breakdown = had_breakdown or bool(broken.any())
        small = res <= tol * scale
        if prev_theta is not None:  # or: the top Ritz value stalled (value converged, vector may lag)
            small = small | (theta - prev_theta <= 0.01 * tol * scale)
        prev_theta = theta
        done = bool(small.all()) and not had_breakdown
        if done or last:
            break
        if bool(broken.any()):
            r = randn((int(broken.sum()), n))
            for _ in range(2):
                b = basis[broken]
                r = r - _project(b, r)
            w[broken] = r
            beta = torch.where(broken, torch.zeros_like(beta), beta)
            nxt = w / w.norm(dim=1, keepdim=True)
        else:
            nxt = w / beta[:, None]
        Q[:, k + 1] = nxt
        T[rows, k, k + 1] = beta
        T[rows, k + 1, k] = beta
    U = torch.bmm(s[:, None, :], Q[:, :steps])[:, 0]
    U = U / U.norm(dim=1, keepdim=True)
    return theta, U, res, steps


# ---------------------------------------------------------------------------------------------------------
# the autograd function
# ---------------------------------------------------------------------------------------------------------
class _EigenSolver:
    """The eigen oracle with its warm-start cache (one vector per key)."""

    def __init__(self, max_steps: int, tol: float, seed: int, cache_size: int):
        torch = _torch()
        self.max_steps = max_steps
        self.tol = tol
        self.cache_size = cache_size
        self.vectors: dict = {}
        self.generator = torch.Generator().manual_seed(seed)
        self.last_info: LanczosInfo | None = None
        self.total_matvec = 0

    def __call__(self, W, V, C, keys):
        torch = _torch()
        P, n = C.shape
        V0 = torch.zeros((P, n), dtype=torch.float64, device=W.device)
        warm = 0
        if keys is not None:
            for p, key in enumerate(keys):
                old = self.vectors.get(key)
                if old is not None and old.shape == (n,):
                    V0[p] = old.to(W.device)
                    warm += 1
        if warm:
            # a small random component keeps every direction in the Krylov space
            noise = torch.randn((P, n), generator=self.generator, dtype=torch.float64).to(W.device)
            V0 = V0 + 1e-6 * noise / math.sqrt(n)
        G = V @ W
        theta, U, res, steps = lanczos_top(
            lambda X: _pair_matvec(W, V, G, C, X), V0, max_steps=self.max_steps, tol=self.tol,
            generator=self.generator,
        )
        if keys is not None:
            for p, key in enumerate(keys):
                self.vectors.pop(key, None)
                self.vectors[key] = U[p].detach().clone()
            while len(self.vectors) > self.cache_size:
                self.vectors.pop(next(iter(self.vectors)))
        scale = theta.abs().clamp_min(1e-300)
        self.total_matvec += steps * P
        self.last_info = LanczosInfo(
            lambda_max=theta.cpu().numpy(),
            residuals=res.cpu().numpy(),
            n_matvec=steps * P,
            n_steps=steps,
            converged=bool((res <= self.tol * scale).all()),
            warm=warm,
        )
        return theta, U


def _make_function():
    torch = _torch()
    from torch.autograd.function import once_differentiable

    class _DualCertificateFunction(torch.autograd.Function):
        @staticmethod
        def forward(ctx, W, V, C, solver, keys, form):
            W64 = W.detach().to(torch.float64)
            V64 = V.detach().to(device=W.device, dtype=torch.float64)
            C64 = C.detach().to(device=W.device, dtype=torch.float64)
            theta, U = solver(W64, V64, C64, keys)
            n = C64.shape[1]
            if form == "paper":
                value = n * torch.relu(theta) + torch.relu(C64).sum(dim=1)
                a = n * (theta > 0).to(torch.float64)
                direct = (C64 > 0).to(torch.float64)
            else:
                pos = (C64 + theta[:, None]) > 0
                value = torch.relu(C64 + theta[:, None]).sum(dim=1)
                a = pos.sum(dim=1).to(torch.float64)
                direct = pos.to(torch.float64)
            ctx.W64, ctx.V64, ctx.U, ctx.a, ctx.direct = W64, V64, U, a, direct
            ctx.dtypes = (W.dtype, V.dtype, C.dtype)
            ctx.devices = (W.device, V.device, C.device)
            return value.to(device=C.device, dtype=C.dtype)

        @staticmethod
        @once_differentiable
        def backward(ctx, grad):
            W64, V64, U, a, direct = ctx.W64, ctx.V64, ctx.U, ctx.a, ctx.direct
            g = grad.detach().to(device=W64.device, dtype=torch.float64)
            ga = g * a  # dU/dλ_max times the incoming gradient, per pair
            d = W64.shape[1]
            u0, ut, us = U[:, :1], U[:, 1 : 1 + d], U[:, 1 + d :]
            h = u0 + us  # (P, m)
            gW = gV = gC = None
            if ctx.needs_input_grad[0]:
                gW = 2.0 * (ga[:, None] * V64 * h).T @ ut
                gW = gW.to(device=ctx.devices[0], dtype=ctx.dtypes[0])
            if ctx.needs_input_grad[1]:
                gV = 2.0 * ga[:, None] * (ut @ W64.T) * h
                gV = gV.to(device=ctx.devices[1], dtype=ctx.dtypes[1])
            if ctx.needs_input_grad[2]:
                gC = g[:, None] * direct - ga[:, None] * U * U
                gC = gC.to(device=ctx.devices[2], dtype=ctx.dtypes[2])
            return gW, gV, gC, None, None, None

    return _DualCertificateFunction


_FUNCTION = None


def _function():
    global _FUNCTION
    if _FUNCTION is None:
        _FUNCTION = _make_function()
    return _FUNCTION


# ---------------------------------------------------------------------------------------------------------
# public interface
# ---------------------------------------------------------------------------------------------------------
def _check_form(form) -> str:
    if not isinstance(form, str) or form not in FORMS:
        raise ValueError(f"`form` must be one of {', '.join(map(repr, FORMS))}; got {form!r}.")
    return form


def _check_inputs(W, v, c):
    torch = _torch()
    for name, x in (("W", W), ("v", v), ("c", c)):
        if not isinstance(x, torch.Tensor):
            raise TypeError(f"`{name}` must be a torch.Tensor, got {type(x).__name__}.")
        if not x.dtype.is_floating_point:
            raise TypeError(f"`{name}` must have a floating dtype, got {x.dtype}.")
    if W.ndim != 2 or W.shape[0] < 1 or W.shape[1] < 1:
        raise ValueError(f"`W` must be a non-empty 2-d tensor of shape (m, d), got shape {tuple(W.shape)}.")
    m, d = W.shape
    n = 1 + d + m
    single = v.ndim == 1
    if v.ndim not in (1, 2) or v.shape[-1] != m:
        raise ValueError(f"`v` must have shape ({m},) or (P, {m}) to match W {tuple(W.shape)}, got {tuple(v.shape)}.")
    P = 1 if single else v.shape[0]
    if (single and c.shape != (n,)) or (not single and c.shape != (P, n)):
        want = f"({n},)" if single else f"({P}, {n})"
        raise ValueError(f"`c` must have shape {want} (n = 1 + d + m = {n}), got {tuple(c.shape)}.")
    for name, x in (("W", W), ("v", v), ("c", c)):
        if not bool(torch.isfinite(x.detach()).all()):
            raise ValueError(f"`{name}` must be finite; it has NaN or inf entries.")
    return single


class DualCertificate:
    """The dual certificate U(c) of Grad-cert pairs as a differentiable torch function with warm starts.

    Calling ``cert(W, v, c, keys=...)`` returns U for each pair (module docstring), differentiable with
    respect to W, v (hence the last layer V through v = V_i − V_j) and c. The top eigenvector of each pair
    is cached under its key and starts the next call's Lanczos iteration for that key, so that when W and c
    change a little between training steps only a few products are needed.

    Parameters
    ----------
    form : {"paper", "tight"}
        ``"paper"``: n·max(λ_max, 0) + 1ᵀmax(c, 0) (the ICLR 2018 regulariser); ``"tight"``:
        Σ max(c_k + λ_max, 0) (SPEC §1.1, never larger, equal when c ≥ 0 and λ_max ≥ 0).
    max_steps : int
        Lanczos steps per call at most.
    tol : float
        Relative residual at which Lanczos stops (see :func:`lanczos_top`).
    seed : int
        Seed of the (CPU) torch generator for random start vectors.
    cache_size : int
        Number of pair vectors kept (oldest dropped first).

    Attributes
    ----------
    last_info : LanczosInfo or None
        What the eigen oracle did in the last call.
    total_matvec : int
        Products with single-pair matrices over all calls.

    Notes
    -----
    The value uses the top *Ritz* value, which approaches λ_max from below: it is the quantity to train,
    not a proved bound. :func:`pair_certificate_bounds` turns the same c into a proved bound.

    Examples
    --------
    >>> import torch
    >>> from certifiers._gradcert import gradcert_matrix_dense
    >>> g = torch.Generator().manual_seed(0)
    >>> W = torch.randn(3, 4, generator=g, dtype=torch.float64, requires_grad=True)
    >>> v = torch.randn(3, generator=g, dtype=torch.float64)
    >>> c = torch.full((8,), 0.5, dtype=torch.float64, requires_grad=True)
    >>> cert = DualCertificate(form="paper")
    >>> value = cert(W, v, c, keys=[(0, 1)])
    >>> M = torch.from_numpy(gradcert_matrix_dense(W.detach().numpy(), v.numpy()))
    >>> lam = torch.linalg.eigvalsh(M - torch.diag(c.detach()))[-1]
    >>> bool(torch.isclose(value, 8 * lam.clamp_min(0) + 4.0))
    True
    >>> value.backward(); W.grad.shape, c.grad.shape
    (torch.Size([3, 4]), torch.Size([8]))
    """

    def __init__(
        self, *, form: str = "paper", max_steps: int = 40, tol: float = 1e-5, seed: int = 0,
        cache_size: int = 4096,
    ):
        self.form = _check_form(form)
        if isinstance(max_steps, bool) or not isinstance(max_steps, Integral) or max_steps < 1:
            raise ValueError(f"`max_steps` must be a positive integer, got {max_steps!r}.")
        if isinstance(tol, bool) or not isinstance(tol, Real) or not (math.isfinite(tol) and tol >= 0):
            raise ValueError(f"`tol` must be a non-negative finite float, got {tol!r}.")
        if isinstance(seed, bool) or not isinstance(seed, Integral) or seed < 0:
            raise ValueError(f"`seed` must be a non-negative integer, got {seed!r}.")
        if isinstance(cache_size, bool) or not isinstance(cache_size, Integral) or cache_size < 0:
            raise ValueError(f"`cache_size` must be a non-negative integer, got {cache_size!r}.")
        self._solver = _EigenSolver(int(max_steps), float(tol), int(seed), int(cache_size))

    def __repr__(self) -> str:
        s = self._solver
        return (
            f"DualCertificate(form={self.form!r}, max_steps={s.max_steps}, tol={s.tol:g}, "
            f"cached={len(s.vectors)})"
        )

    @property
    def last_info(self) -> LanczosInfo | None:
        return self._solver.last_info

    @property
    def total_matvec(self) -> int:
        return self._solver.total_matvec

    def cached_vector(self, key: Hashable):
        """The cached top eigenvector of ``key`` (a float64 tensor of shape (n,)), or None."""
        return self._solver.vectors.get(key)

    def clear(self) -> None:
        """Forget every cached vector."""
        self._solver.vectors.clear()

    def __call__(self, W, v, c, *, keys: Sequence[Hashable] | None = None):
        """U(c) for one pair (v of shape (m,), c of shape (n,): a 0-d tensor) or a batch of P pairs (v of
        shape (P, m), c of shape (P, n): a tensor of shape (P,)); ``keys`` names the pairs for warm starts
        (one hashable per pair; None: cold start, nothing cached)."""
        single = _check_inputs(W, v, c)
        V = v[None] if single else v
        C = c[None] if single else c
        if keys is not None:
            keys = list(keys)
            if len(keys) != V.shape[0]:
                raise ValueError(f"`keys` must name each of the {V.shape[0]} pairs, got {len(keys)} keys.")
        out = _function().apply(W, V, C, self._solver, keys, self.form)
        return out[0] if single else out


def dual_certificate(W, v, c, *, form: str = "paper", state: DualCertificate | None = None, keys=None):
    """U(c) of :class:`DualCertificate` as a function: ``state`` (a DualCertificate) carries the warm starts
    between calls; without it each call starts cold.

    Examples
    --------
    >>> import torch
    >>> W = torch.tensor([[1.0, 0.0]], dtype=torch.float64); v = torch.tensor([2.0], dtype=torch.float64)
    >>> c = torch.tensor([2.0, 4.0, 0.0, 2.0], dtype=torch.float64)   # M − diag c ⪯ 0, λ_max = 0
    >>> round(float(dual_certificate(W, v, c, form="tight")), 9)   # = SDP(M) = 8
    8.0
    """
    if state is None:
        state = DualCertificate(form=form)
    elif _check_form(form) != state.form:
        raise ValueError(f"`form` is {form!r} but the given `state` evaluates the {state.form!r} form.")
    return state(W, v, c, keys=keys)


def certificate_value_dense(M: np.ndarray, c: np.ndarray, form: str = "paper") -> float:
    """U(c) from a dense symmetric M with numpy's eigvalsh (a reference for tests and small problems).

    Examples
    --------
    >>> import numpy as np
    >>> certificate_value_dense(np.array([[0.0, 1.0], [1.0, 0.0]]), np.zeros(2))   # 2·λ_max = 2
    2.0
    """
    form = _check_form(form)
    M = np.asarray(M, dtype=np.float64)
    c = np.asarray(c, dtype=np.float64)
    lam = float(np.linalg.eigvalsh(M - np.diag(c))[-1])
    if form == "paper":
        return float(M.shape[0] * max(lam, 0.0) + np.maximum(c, 0.0).sum())
    return float(np.maximum(c + lam, 0.0).sum())


# ---------------------------------------------------------------------------------------------------------
# proved values for a whole network
# ---------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class PairCertificateBounds:
    """Proved Grad-cert pair values from given dual points c_ij (:func:`pair_certificate_bounds`).

    Attributes
    ----------
    S : numpy.ndarray, shape (K, K)
        S[i, j] = S[j, i] ≥ SDP(M_ij), proved (rigorous, float64 Cholesky test); zero diagonal. Usable in
        place of :attr:`certifiers._gradcert.PairSDPTable.S`.
    lambda_max_upper : numpy.ndarray, shape (K, K)
        The proved t ≥ λ_max(M_ij − diag c_ij) behind each value.
    time : float
        Seconds for the whole table.
    """

    S: np.ndarray
    lambda_max_upper: np.ndarray
    time: float


def gershgorin_dual_point(W, v):
    """c with c_k = Σ_l |M_kl| (row sums of |M(W, v)|, computed in O(m·d)): M − diag c ⪯ 0 by Gershgorin.

    A valid, cheap starting dual point (U(c) = Σ c_k), typically within a small factor of the optimum.
    ``W`` (m, d) and ``v`` (m,) or (P, m) are torch tensors; returns (n,) or (P, n) in their dtype.

    Examples
    --------
    >>> import torch
    >>> gershgorin_dual_point(torch.tensor([[1.0, -2.0]]), torch.tensor([3.0])).tolist()
    [9.0, 6.0, 12.0, 9.0]
    """
    torch = _torch()
    single = v.ndim == 1
    V = v[None] if single else v
    aW = W.abs()
    g = V @ W
    r0 = g.abs().sum(dim=1, keepdim=True)
    rt = g.abs() + V.abs() @ aW
    rs = V.abs() * aW.sum(dim=1)
    c = torch.cat([r0, rt, rs], dim=1)
    return c[0] if single else c


def pair_certificate_bounds(W, V, C, *, warm: DualCertificate | None = None, seed: int = 0) -> PairCertificateBounds:
    """Proved upper bounds U(c_ij, t) on every pair SDP of a one-hidden-layer network from given c_ij.

    For each pair i < j: v = fl(V_i − V_j) with its exact rounding error δv (TwoSum), a Ritz pair (θ, r) of
    M_ij − diag c_ij by the batched Lanczos of :func:`lanczos_top` (structured products in float64, started
    from the vectors cached in ``warm`` when given), M_ij materialised in float64 with a proved bound on its
    rounding (``GradCertOperator.to_dense``), and a t ≥ λ_max(M_ij − diag c_ij) proved by Rump's
    floating-point Cholesky test (:func:`sdpsolve.prove_lambda_max`, first candidate just above θ + r, where
    r is the residual norm). The value is the tight form Σ_k max(c_k + t, 0) (≤ the paper
    form) rounded upwards, plus 4 Σ_l |δv_l| ‖W_l‖₁ ≥ SDP(M(δv)).

    Parameters
    ----------
    W : array_like, shape (m, d)
        First-layer weights.
    V : array_like, shape (K, m)
        Last-layer weights.
    C : array_like, shape (K (K − 1) / 2, n)
        Dual points in the order of :func:`class_pairs`.
    warm : DualCertificate, optional
        Its cached vectors (keyed by (i, j)) start the Lanczos iterations.
    seed : int
        Seed of the random start vectors.

    Returns
    -------
    PairCertificateBounds

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> W, V = rng.standard_normal((3, 2)), rng.standard_normal((2, 3))
    >>> C = np.ones((1, 6))
    >>> b = pair_certificate_bounds(W, V, C)
    >>> from certifiers._gradcert import gradcert_matrix_dense
    >>> dense = certificate_value_dense(gradcert_matrix_dense(W, V[0] - V[1]), C[0], "tight")
    >>> bool(dense <= b.S[0, 1] <= dense * (1 + 1e-9))
    True
    """
    import time

    from sdpsolve import dual_bound_value, prove_lambda_max
    from sdpsolve.rounding import exact_difference, up

    from ._gradcert import GradCertOperator, difference_correction

    torch = _torch()
    start = time.perf_counter()
    W = np.asarray(W, dtype=np.float64)
    V = np.asarray(V, dtype=np.float64)
    C = np.asarray(C, dtype=np.float64)
    if W.ndim != 2 or V.ndim != 2 or V.shape[1] != W.shape[0]:
        raise ValueError(
            f"`W` (m, d) and `V` (K, m) must be 2-d with matching m; got {W.shape} and {V.shape}."
        )
    K = V.shape[0]
    pairs = class_pairs(K)
    n = 1 + W.shape[1] + W.shape[0]
    if C.shape != (len(pairs), n):
        raise ValueError(f"`C` must have shape ({len(pairs)}, {n}) (one c per class pair), got {C.shape}.")
    if not np.all(np.isfinite(C)):
        raise ValueError("`C` must be finite.")
    if isinstance(seed, bool) or not isinstance(seed, Integral) or seed < 0:
        raise ValueError(f"`seed` must be a non-negative integer, got {seed!r}.")
    diffs = [exact_difference(V[i], V[j]) for i, j in pairs]
    # Ritz pairs of all pairs at once (structured products, float64)
    Wt = torch.tensor(W)
    Vt = torch.from_numpy(np.stack([v for v, _ in diffs]))
    Ct = torch.tensor(C)
    V0 = torch.zeros((len(pairs), n), dtype=torch.float64)
    if warm is not None:
        for p, key in enumerate(pairs):
            u = warm.cached_vector(key)
            if u is not None and tuple(u.shape) == (n,):
                V0[p] = u.detach().cpu()
    G = Vt @ Wt
    gen = torch.Generator().manual_seed(int(seed))
    theta, _, res, _ = lanczos_top(
        lambda X: _pair_matvec(Wt, Vt, G, Ct, X), V0, max_steps=min(n, 150), tol=1e-7, generator=gen,
        check_every=5,
    )
    S = np.zeros((K, K))
    T = np.zeros((K, K))
    for p, (i, j) in enumerate(pairs):
        v, dv = diffs[p]
        B, err = GradCertOperator(W, v, engine="numpy").to_dense()
        c = C[p]
        t = prove_lambda_max(B, c, estimate=float(theta[p] + res[p]), err=err, max_bisections=0).t
        value = dual_bound_value(c, t)  # E = ∅
        corr = difference_correction(W, dv)
        if corr:
            value = up(value + corr)
        S[i, j] = S[j, i] = value
        T[i, j] = T[j, i] = t
    for a in (S, T):
        a.setflags(write=False)
    return PairCertificateBounds(S, T, time.perf_counter() - start)
