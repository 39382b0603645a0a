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
prove_lambda_max(M, c=None, *, estimate=None, err=0.0, ...) -> LambdaMaxProof
    Prove t ≥ λ_max(M − diag c) by Rump's floating-point Cholesky test (the rigorous kind of SPEC §1.2).
dual_bound_value(c, t, *, equal=None) -> float
    U(c, t) = Σ_{i∈E} (c_i + t) + Σ_{i∉E} max(c_i + t, 0), rounded upwards (SPEC §1.1).
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
SDPResult, DualBound, LambdaMaxProof, Status

Directed rounding
-----------------
sdpsolve.rounding (a public module)
    U = 2⁻⁵³, ETA = 2⁻¹⁰⁷⁴, up/down, gamma(k) (rounded upwards), two_sum, exact_difference, exact_sub_up/down,
    sum_up/sum_down, sum_squares_upper, sqrt_upper: the primitives every proved bound is evaluated with.

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

Graphs (MAXCUT benchmarks)
--------------------------
sdpsolve.graphs (a public module)
    random_graph, toroidal_grid, planar_graph: G-set-like graphs; ``Graph.maxcut_matrix()`` is L/4 (sparse),
    ``Graph.write_gset(path)`` the G-set file.

Threads
-------
limit_threads(threads, *, blas_only=False)
    Context manager capping torch's and the BLAS/OpenMP pools' threads for a block; set_threads(threads) for
    the rest of a process (workers' initialisers).

Errors and warnings
-------------------
SDPSolveError, BoundError, OperatorError, NotConvergedWarning, MissingDependencyError

Examples
--------
>>> import numpy as np, sdpsolve
>>> L = np.array([[2., -1, -1], [-1, 2, -1], [-1, -1, 2]]) / 4       # MAXCUT of a triangle: L/4
>>> res = sdpsolve.solve(L, equal="all")
>>> round(res.upper, 2), res.bound_kind
(2.25, 'rigorous')
"""

from __future__ import annotations

from . import graphs, rounding
from ._bounds import dual_bound, dual_bound_value, prove_lambda_max
from ._eigen import EigenResult, lanczos, lobpcg_top
from ._errors import BoundError, MissingDependencyError, NotConvergedWarning, OperatorError, SDPSolveError
from ._lagrangian import LAGRANGIAN_OPTIONS, LagrangianResult, solve_lagrangian
from ._lagrangian_problem import DenseLagrangianProblem, LagrangianProblem
from ._operator import Operator, as_operator, check_matches_dense, check_symmetric
from ._result import DualBound, LambdaMaxProof, SDPResult, Status
from ._solve import METHODS, OPTION_KEYS, solve
from ._threads import limit_threads, set_threads

__version__ = "0.1.0"

__all__ = [
    "solve",
    "dual_bound",
    "dual_bound_value",
    "prove_lambda_max",
    "METHODS",
    "OPTION_KEYS",
    "solve_lagrangian",
    "LagrangianProblem",
    "DenseLagrangianProblem",
    "LagrangianResult",
    "LAGRANGIAN_OPTIONS",
    "SDPResult",
    "DualBound",
    "LambdaMaxProof",
    "Status",
    "rounding",
    "graphs",
    "Operator",
    "as_operator",
    "check_symmetric",
    "check_matches_dense",
    "EigenResult",
    "lanczos",
    "lobpcg_top",
    "limit_threads",
    "set_threads",
    "SDPSolveError",
    "BoundError",
    "OperatorError",
    "NotConvergedWarning",
    "MissingDependencyError",
]
