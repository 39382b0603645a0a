"""sdpsolve — a matrix-free solver for max <M, P> s.t. P ⪰ 0, diag(P) ≤ 1 with sound floating-point bounds.

Solving
-------
solve(M, *, equal=None, method="auto", rtol=1e-4, ...) -> SDPResult
    Low-rank primal (mixing / L-BFGS Burer–Monteiro) or dual-subgradient; reports lower and upper bounds, the
    upper one of a stated kind ("rigorous", "probabilistic" or "estimate").
dual_bound(M, c, *, equal=None, kind="rigorous", delta=1e-9, rng=None) -> DualBound
    U(c, t) = Σ_{i∈E}(c_i + t) + Σ_{i∉E} max(c_i + t, 0) with t ≥ λ_max(M − diag c) proved by a
    floating-point Cholesky test (rigorous), by Lanczos with a failure probability (probabilistic), or a Ritz
    value (estimate; not a bound).
METHODS, OPTION_KEYS
    The methods by name (tests parametrise over them) and the accepted ``options`` keys.

Lagrangian (parametric) mode
----------------------------
solve_lagrangian(problem, *, rtol=1e-3, stop_below=None, stop_above=None, ...) -> LagrangianResult
    max <M0, P> + c0 with extra rows <A_k, P> + β_k ≥ 0 / = 0, bounded by minimising over (c, θ) with an
    augmented-Lagrangian low-rank primal; every iterate's bound is valid; early decision against a threshold.
LagrangianProblem
    The protocol a problem implements (the solver sees rows only through values on V Vᵀ and M(θ) products).
DenseLagrangianProblem(M0, A, beta, *, equality=None, equal=None, c0=0.0)
    The protocol from explicit matrices. LAGRANGIAN_OPTIONS lists the options keys.

Results
-------
SDPResult, DualBound, Status

Operators
---------
as_operator(M) -> Operator
    numpy / scipy.sparse / LinearOperator / torch tensor / any object with ``shape`` and ``matmat``, behind one
    interface that counts products.
check_symmetric(M, *, rtol=1e-8, trials=3, rng=None)
    Randomized test |xᵀMy − yᵀMx| / scale ≤ rtol.
check_matches_dense(M, dense, *, rtol=1e-10, rng=None)
    Products of an implicit operator agree with an explicit matrix.

Eigen oracle
------------
lanczos(matmat, n, *, k=1, ...) -> EigenResult ; lobpcg_top(matmat, n, *, k=1, ...) -> EigenResult

Errors and warnings
-------------------
SDPSolveError, BoundError, OperatorError, NotConvergedWarning, MissingDependencyError

Examples
--------
>>> import numpy as np, sdpsolve
>>> L = np.array([[2., -1, -1], [-1, 2, -1], [-1, -1, 2]]) / 4       # MAXCUT of a triangle: L/4
>>> res = sdpsolve.solve(L, equal="all")
>>> round(res.upper, 4), res.bound_kind
(2.25, 'rigorous')
"""

from __future__ import annotations

from ._bounds import dual_bound
from ._eigen import EigenResult, lanczos, lobpcg_top
from ._errors import BoundError, MissingDependencyError, NotConvergedWarning, OperatorError, SDPSolveError
from ._lagrangian import LAGRANGIAN_OPTIONS, LagrangianResult, solve_lagrangian
from ._lagrangian_problem import DenseLagrangianProblem, LagrangianProblem
from ._operator import Operator, as_operator, check_matches_dense, check_symmetric
from ._result import DualBound, SDPResult, Status
from ._solve import METHODS, OPTION_KEYS, solve

__version__ = "0.1.0"

__all__ = [
    "solve",
    "dual_bound",
    "METHODS",
    "OPTION_KEYS",
    "solve_lagrangian",
    "LagrangianProblem",
    "DenseLagrangianProblem",
    "LagrangianResult",
    "LAGRANGIAN_OPTIONS",
    "SDPResult",
    "DualBound",
    "Status",
    "Operator",
    "as_operator",
    "check_symmetric",
    "check_matches_dense",
    "EigenResult",
    "lanczos",
    "lobpcg_top",
    "SDPSolveError",
    "BoundError",
    "OperatorError",
    "NotConvergedWarning",
    "MissingDependencyError",
]
