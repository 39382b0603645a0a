"""A catalogue of named instances of (P) with known optima, shared by every method's tests.

(P): maximise <M, P> subject to P ⪰ 0, P_ii ≤ 1 (i ∉ E), P_ii = 1 (i ∈ E).

Each :class:`Problem` carries the matrix, the set E (``equal``), the optimum, where the optimum comes from
(``source``) and how accurately it is known (``optimum_rtol``: about 1e-15 for closed forms, 1e-8 for values
computed with the CVXPY/Clarabel oracle of :mod:`tests.oracles`). The matrices are built from explicit integer
formulas, not from a random generator, so the constants do not depend on the numpy version.

Usage in a test::

    @pytest.mark.parametrize("problem", CATALOGUE, ids=lambda p: p.name)
    def test_bounds(problem):
        res = sdpsolve.solve(problem.matrix, equal=problem.equal)
        assert res.upper >= problem.optimum - problem.tolerance()   # soundness
        assert res.lower <= problem.optimum + problem.tolerance()   # feasibility of the factor

Re-verify every CVXPY constant (and the closed forms of the small entries) with
``.venv/bin/python -m tests.catalogue`` (about 10 s); :func:`verify` does the same from a test.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

#: accuracy of a closed-form optimum evaluated in float64
CLOSED_FORM_RTOL = 1e-14
#: accuracy of an optimum computed with tests.oracles.sdp_optimum (Clarabel, tolerances 1e-10)
CVXPY_RTOL = 1e-8


@dataclass(frozen=True, eq=False)
class Problem:
    """One catalogue entry.

    Attributes
    ----------
    name : str
        Unique identifier (used as the pytest id).
    matrix : numpy.ndarray or scipy.sparse.csr_matrix
        The symmetric matrix M (read-only).
    equal : None, "all", or tuple of int
        The set E.
    optimum : float
        The optimal value of (P).
    source : str
        Why ``optimum`` is the optimum: a proof sketch or the oracle that computed it.
    optimum_rtol : float
        Relative accuracy of ``optimum`` (the exact optimum lies within ``tolerance()`` of it).
    """

    name: str
    matrix: np.ndarray | sp.csr_matrix
    equal: None | str | tuple[int, ...]
    optimum: float
    source: str
    optimum_rtol: float = CLOSED_FORM_RTOL

    @property
    def n(self) -> int:
        return int(self.matrix.shape[0])

    def tolerance(self, rtol: float = 0.0) -> float:
        """Absolute slack: how well the optimum is known, plus ``rtol`` · max(1, |optimum|)."""
        return (self.optimum_rtol + rtol) * max(1.0, abs(self.optimum))

    def dense(self) -> np.ndarray:
        """M as a dense float64 array (a copy)."""
        return self.matrix.toarray() if sp.issparse(self.matrix) else np.array(self.matrix, dtype=np.float64)


def _frozen(A):
    if sp.issparse(A):
        A = sp.csr_matrix(A, dtype=np.float64)
        for arr in (A.data, A.indices, A.indptr):
            arr.setflags(write=False)
        return A
    A = np.array(A, dtype=np.float64)
    A.setflags(write=False)
    return A


# -- constructions (explicit formulas; no random generator) ----------------------------------------------
def rank_one_vector(n: int) -> np.ndarray:
    """v_i = ((37 i) mod 11 − 5) / 3: mixed signs, some zeros."""
    i = np.arange(n)
    return ((37 * i) % 11 - 5) / 3.0


def cycle_laplacian_quarter(n: int) -> sp.csr_matrix:
    """L/4 for the unweighted cycle C_n (the MAXCUT matrix of the G-set convention)."""
    i = np.arange(n)
    W = sp.coo_matrix((np.ones(n), (i, (i + 1) % n)), shape=(n, n))
    W = W + W.T
    L = sp.diags(np.asarray(W.sum(axis=1)).ravel()) - W
    return sp.csr_matrix(L / 4.0)


def weighted_maxcut_12() -> np.ndarray:
    """L/4 of a dense weighted graph on 12 vertices: w_ij = (5i + 3j + ij) mod 4 for i < j (60 edges)."""
    n = 12
    W = np.zeros((n, n))
    for i in range(n):
        for j in range(i + 1, n):
            W[i, j] = W[j, i] = (5 * i + 3 * j + i * j) % 4
    return (np.diag(W.sum(axis=1)) - W) / 4.0


def indefinite_7() -> np.ndarray:
    """M_ij = ((3i + 5j + ij) mod 7 − 3) / 2 for i ≤ j, then M_00 = −10 and M_66 = −8.

    The negative diagonal makes the three choices of E give three different optima.
    """
    n = 7
    M = np.zeros((n, n))
    for i in range(n):
        for j in range(i, n):
            M[i, j] = M[j, i] = ((3 * i + 5 * j + i * j) % 7 - 3) / 2.0
    M[0, 0] = -10.0
    M[6, 6] = -8.0
    return M


def grad_cert_matrix(W: np.ndarray, v: np.ndarray) -> np.ndarray:
    """The ICLR 2018 certificate matrix (SPEC §3) for first-layer weights W (m×d) and v = V_i − V_j.

    n = 1 + d + m; M[0, 1:1+d] = (Wᵀv)ᵀ, M[1:1+d, 1+d:] = Wᵀ diag(v), their transposes, zeros elsewhere.
    """
    W = np.asarray(W, dtype=np.float64)
    v = np.asarray(v, dtype=np.float64)
    m, d = W.shape
    if v.shape != (m,):
        raise ValueError(f"`v` must have shape ({m},) to match `W` of shape {W.shape}, got {v.shape}.")
    n = 1 + d + m
    M = np.zeros((n, n))
    a = W.T @ v
    M[0, 1 : 1 + d] = a
    M[1 : 1 + d, 0] = a
    A = W.T * v
    M[1 : 1 + d, 1 + d :] = A
    M[1 + d :, 1 : 1 + d] = A.T
    return M


def grad_cert_small() -> np.ndarray:
    """Certificate matrix with d = 3, m = 4: W_kl = ((3k + 5l + 1) mod 7 − 3)/2, v = (1, −2, 0.5, 1.5)."""
    d, m = 3, 4
    W = np.array([[((3 * k + 5 * l + 1) % 7 - 3) / 2.0 for l in range(d)] for k in range(m)])
    return grad_cert_matrix(W, np.array([1.0, -2.0, 0.5, 1.5]))


def _tridiag_negdef(n: int) -> np.ndarray:
    return -(2.0 * np.eye(n) - np.eye(n, k=1) - np.eye(n, k=-1))


def _build() -> list[Problem]:
    out: list[Problem] = []

    # rank one: <vvᵀ, P> = Σ v_i v_j P_ij ≤ Σ |v_i||v_j| = ‖v‖₁² since |P_ij| ≤ √(P_ii P_jj) ≤ 1;
    # attained by P = ssᵀ with s = sign(v) (0 ↦ +1), which has unit diagonal, so for every E.
    for n, tag in ((7, ""), (200, "_n200")):
        v = rank_one_vector(n)
        opt = float(np.sum(np.abs(v))) ** 2
        src = "closed form ‖v‖₁² (|P_ij| ≤ 1; attained by P = sign(v)sign(v)ᵀ)"
        M = np.outer(v, v)
        out.append(Problem(f"rank_one{tag}_E_none", _frozen(M), None, opt, src))
        out.append(Problem(f"rank_one{tag}_E_all", _frozen(M), "all", opt, src))
        if not tag:
            out.append(Problem("rank_one_E_0", _frozen(M), (0,), opt, src))

    # negative semidefinite (singular): <M, P> ≤ 0 for P ⪰ 0, attained by P = 0 when E = ∅.
    B = np.array(
        [[1.0, 2.0, 0.0, -1.0, 3.0, 1.0], [0.0, 1.0, -2.0, 1.0, 1.0, 0.0], [2.0, 0.0, 1.0, 1.0, -1.0, 2.0]]
    )
    out.append(
        Problem(
            "neg_semidefinite_E_none", _frozen(-B.T @ B), None, 0.0, "M ⪯ 0 gives <M,P> ≤ 0; P = 0 attains it"
        )
    )

    # negative definite with E = {0}: the dual max{y : −M − y e₀e₀ᵀ ⪰ 0} gives y = 1/(Q⁻¹)₀₀, Q = −M (Schur),
    # attained by x = Q⁻¹e₀/(Q⁻¹)₀₀ = (1, .8, .6, .4, .2), which satisfies |x_i| ≤ 1, so P = xxᵀ is feasible.
    out.append(
        Problem(
            "neg_definite_tridiag_E_0",
            _frozen(_tridiag_negdef(5)),
            (0,),
            -6.0 / 5.0,
            "closed form −1/(Q⁻¹)₀₀ = −(n+1)/n for Q = tridiag(−1, 2, −1), n = 5 (Schur complement; "
            "primal x = (1, .8, .6, .4, .2))",
        )
    )

    # diagonal: <D, P> = Σ D_ii P_ii with P_ii ∈ [0, 1] free (i ∉ E) or 1 (i ∈ E), P diagonal.
    d = np.array([-2.0, 3.0, -1.0, 0.5, 0.0, 4.0])
    src = "closed form: <D,P> = Σ D_ii P_ii, each P_ii chosen independently in [0, 1] or fixed to 1"
    D = _frozen(np.diag(d))
    out.append(Problem("diagonal_E_none", D, None, float(np.sum(np.maximum(d, 0.0))), src))
    out.append(Problem("diagonal_E_all", D, "all", float(np.sum(d)), src))
    out.append(Problem("diagonal_E_0", D, (0,), float(d[0] + np.sum(np.maximum(d[1:], 0.0))), src))

    # edge cases: n = 1 and the zero matrix
    out.append(Problem("scalar_negative_E_none", _frozen([[-1.5]]), None, 0.0, "P = 0"))
    out.append(
        Problem("scalar_negative_E_all", _frozen([[-1.5]]), "all", -1.5, "P = 1 is the only feasible point")
    )
    out.append(Problem("zero_E_none", _frozen(np.zeros((4, 4))), None, 0.0, "<0, P> = 0"))

    # odd cycles: the eigenvalue bound (n/4)·λ_max(L) = (n/2)(1 + cos(π/n)) is an upper bound (dual c = 0,
    # t = λ_max(L/4) in SPEC §1.1) and is attained by unit vectors v_k = (cos kθ, sin kθ), θ = π(n − 1)/n,
    # which give Σ_edges (1 − cos θ)/2 = (n/2)(1 + cos(π/n)). For n = 5: (25 + 5√5)/8 = 4.5225424859…
    # With E = ∅ the optimum is the same: diag(M) ≥ 0 makes <M, VVᵀ> convex in each row v_i, so the
    # maximum over ‖v_i‖ ≤ 1 is attained on the sphere.
    for n in (5, 101):
        opt = n / 2.0 * (1.0 + math.cos(math.pi / n))
        src = (
            "closed form (n/2)(1 + cos(π/n)) for the odd cycle C_n (eigenvalue bound attained; "
            "also CVXPY for n = 5)"
        )
        L4 = _frozen(cycle_laplacian_quarter(n))
        out.append(Problem(f"cycle{n}_maxcut_E_all", L4, "all", opt, src))
        if n == 5:
            out.append(
                Problem(
                    "cycle5_maxcut_E_none",
                    L4,
                    None,
                    opt,
                    src + "; E = ∅ equal since diag(M) ≥ 0 (row convexity)",
                )
            )

    # values computed once with tests.oracles.sdp_optimum (CVXPY + Clarabel, tolerances 1e-10)
    cvx = "CVXPY + Clarabel (tests/oracles.py, tolerances 1e-10), re-checked by `python -m tests.catalogue`"
    out.append(
        Problem(
            "weighted_maxcut12_E_all",
            _frozen(weighted_maxcut_12()),
            "all",
            66.68316575091343,
            cvx,
            CVXPY_RTOL,
        )
    )
    M7 = _frozen(indefinite_7())
    out.append(Problem("indefinite7_E_none", M7, None, 18.213166144008202, cvx, CVXPY_RTOL))
    out.append(Problem("indefinite7_E_0", M7, (0,), 12.014972381364313, cvx, CVXPY_RTOL))
    out.append(Problem("indefinite7_E_all", M7, "all", 8.066568421381445, cvx, CVXPY_RTOL))
    out.append(
        Problem(
            "grad_cert_small_E_none", _frozen(grad_cert_small()), None, 40.218554333633996, cvx, CVXPY_RTOL
        )
    )

    names = [p.name for p in out]
    if len(set(names)) != len(names):  # pragma: no cover - guards edits of this file
        raise RuntimeError(f"duplicate catalogue names: {sorted(n for n in names if names.count(n) > 1)}")
    return out


#: every entry; tests parametrise over it (``ids=lambda p: p.name``)
CATALOGUE: list[Problem] = _build()
#: the entries small enough for the CVXPY oracle
SMALL: list[Problem] = [p for p in CATALOGUE if p.n <= 60]


def by_name(name: str) -> Problem:
    """The catalogue entry called ``name``."""
    for p in CATALOGUE:
        if p.name == name:
            return p
    raise KeyError(f"no catalogue entry named {name!r}; known: {', '.join(p.name for p in CATALOGUE)}")


def verify(entries=None, *, rtol: float = 1e-7) -> list[tuple[str, float, float]]:
    """Recompute the optimum of every small entry with the CVXPY oracle and compare.

    Returns ``(name, catalogue optimum, oracle value)`` for each entry checked; raises ``AssertionError``
    naming the entry and both values when they differ by more than ``rtol`` · max(1, |optimum|).
    Also checks that the odd-cycle primal witness and dual bound both equal the closed form.
    """
    from tests.oracles import sdp_optimum

    checked = []
    for p in SMALL if entries is None else entries:
        if p.n > 60:
            continue
        value = sdp_optimum(p.matrix, p.equal)
        tol = rtol * max(1.0, abs(p.optimum))
        if abs(value - p.optimum) > tol:
            raise AssertionError(
                f"{p.name}: catalogue optimum {p.optimum!r} but CVXPY gives {value!r} (tol {tol:.1e})"
            )
        checked.append((p.name, p.optimum, value))
    for n in (5, 101):
        p = by_name(f"cycle{n}_maxcut_E_all")
        theta = math.pi * (n - 1) / n
        V = np.column_stack([np.cos(theta * np.arange(n)), np.sin(theta * np.arange(n))])
        primal = float(np.sum(V * (p.matrix @ V)))
        dual = n * float(np.linalg.eigvalsh(p.dense())[-1])
        for what, val in (("primal witness", primal), ("dual bound", dual)):
            if abs(val - p.optimum) > 1e-12 * n:
                raise AssertionError(f"{p.name}: {what} {val!r} differs from the closed form {p.optimum!r}")
    return checked


if __name__ == "__main__":  # pragma: no cover
    for name, opt, val in verify():
        print(f"{name:28s} catalogue {opt:.12g}  CVXPY {val:.12g}  diff {val - opt:+.1e}")
    print(f"{len(CATALOGUE)} entries; all small entries agree with CVXPY/Clarabel.")
