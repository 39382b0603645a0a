"""The matrix-free low-rank method (SPEC §1.4): L-BFGS block ascent on the Burer–Monteiro factor.

The rows are parametrised as v_i = w_i[:r] / ||w_i|| (a slack coordinate lets ball rows move inside the ball,
sphere rows (E) have none) and L-BFGS maximises tr(Vᵀ M V) over W, one product M·V per step. The dual checks,
the certification and the saddle escape are the shared driver's (:mod:`sdpsolve._lowrank_driver`);
:func:`lbfgs_maximise_rows` also serves the inner problems of the Lagrangian mode.
"""

from __future__ import annotations

import math

import numpy as np

from ._lowrank_driver import Ascent, run_lowrank
from ._method import MethodOutput, Problem
from ._monitor import Settings


def row_parametrisation(V: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """W = [V, slack] with slack = sqrt(1 − ||v_i||²) (≥ 1e-2) on ball rows and 0 on sphere rows (E)."""
    slack = np.sqrt(np.maximum(1.0 - np.sum(V * V, axis=1), 0.0))
    slack = np.where(mask, 0.0, np.maximum(slack, 1e-2))
    return np.hstack([V, slack[:, None]])


def factor_from_rows(W: np.ndarray) -> np.ndarray:
    """v_i = w_i[:r] / ||w_i||: sphere rows for a zero slack, ball rows otherwise."""
    norms = np.maximum(np.linalg.norm(W, axis=1, keepdims=True), 1e-300)
    return np.ascontiguousarray(W[:, :-1] / norms)


def lbfgs_maximise_rows(value_grad, V: np.ndarray, mask: np.ndarray, iters: int, memory: int = 12) -> np.ndarray:
    """Maximise f(V) over rows on the unit sphere (i ∈ E) / in the unit ball (i ∉ E) by L-BFGS.

    ``value_grad(V) -> (f, ∂f/∂V)``. The rows are parametrised as v_i = w_i[:r] / ||w_i|| with one slack
    coordinate for ball rows; L-BFGS (two-loop recursion, Armijo backtracking) runs on W. Returns the new V.
    """
    n, r = V.shape
    W = row_parametrisation(V, mask)
    eq_rows = np.flatnonzero(mask)

    def fun(W):
        norms = np.maximum(np.sqrt(np.einsum("ij,ij->i", W, W)), 1e-300)[:, None]
        U = W / norms
        f, gV = value_grad(U[:, :r])
        gfull = np.zeros_like(W)
        gfull[:, :r] = -gV
        gW = (gfull - U * np.einsum("ij,ij->i", gfull, U)[:, None]) / norms
        gW[eq_rows, r] = 0.0
        return -f, gW

    # flat views: the dot products of the two-loop recursion are BLAS calls without temporaries
    f, g = fun(W)
    S, Y, RHO = [], [], []
    for _ in range(iters):
        gf = g.ravel()
        q = gf.copy()
        alphas = []
        for s_, y_, rho in zip(reversed(S), reversed(Y), reversed(RHO)):
            a = rho * np.dot(s_, q)
            alphas.append(a)
            q -= a * y_
        gamma = np.dot(S[-1], Y[-1]) / np.dot(Y[-1], Y[-1]) if S else 1.0 / max(np.linalg.norm(gf), 1e-300)
        d = gamma * q
        for s_, y_, rho, a in zip(S, Y, RHO, reversed(alphas)):
            d += (a - rho * np.dot(y_, d)) * s_
        d = -d
        slope = float(np.dot(gf, d))
        if slope >= 0:  # not a descent direction: reset the memory
            S, Y, RHO = [], [], []
            d = -gf / max(np.linalg.norm(gf), 1e-300)
            slope = float(np.dot(gf, d))
        if slope == 0.0:
            break
        D = d.reshape(W.shape)
        step = 1.0
        for _ls in range(30):
            Wn = W + step * D
            fn, gn = fun(Wn)
            if fn <= f + 1e-4 * step * slope:
                break
            step *= 0.5
        else:
            break
        s_, y_ = (Wn - W).ravel(), (gn - g).ravel()
        sy = float(np.dot(s_, y_))
        # a pair with sᵀy ≈ 0 would make 1/sᵀy overflow (and the next direction NaN): skip it
        if sy > 1e-12 * float(np.dot(s_, s_)) and math.isfinite(1.0 / sy):  # the first test implies sy > 0
            S.append(s_)
            Y.append(y_)
            RHO.append(1.0 / sy)
            if len(S) > memory:
                S.pop(0)
                Y.pop(0)
                RHO.pop(0)
        W, f, g = Wn, fn, gn
    return factor_from_rows(W)


class LBFGSAscent(Ascent):
    """Matrix-free ascent: :func:`lbfgs_maximise_rows` on f(V) = tr(Vᵀ M V) (one product M·V per step)."""


    def run(self, V, k):
        op = self.problem.op

        def value_grad(Vx):
            G = op.matmat(Vx)
            return float(np.sum(G * Vx)), 2.0 * G

        return lbfgs_maximise_rows(value_grad, V, self.problem.mask, k)


def lowrank(problem: Problem, settings: Settings) -> MethodOutput:
    """Matrix-free L-BFGS block ascent."""
    return run_lowrank(problem, settings, LBFGSAscent)
