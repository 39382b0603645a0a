"""Graphs of the kinds the G-set benchmark holds, and their MAXCUT matrices.

The G-set (Helmberg & Rendl's MAXCUT instances, made with G. Rinaldi's generator rudy) has three families, in
sizes from 800 to 20,000 vertices: random graphs of a given density (G1–G10, G22–G31, G43–G47, G55, G56, G60, G61,
G70), toroidal grids (G11–G13, G32–G34, G48–G50, G57, G62, G65–G67, G72, G77, G81) and planar graphs (G14–G21,
G35–G42, G51–G54, G58, G59, G63, G64), each with unit weights or weights ±1. The functions here draw graphs of
the same families from a seeded generator (they are like the G-set, not the same graphs):

random_graph(n, *, density=None, edges=None, weights="one", rng=None)
    m = density · n(n − 1)/2 (or ``edges``) distinct vertex pairs, uniformly.
toroidal_grid(rows, cols, *, weights="pm1", rng=None)
    The rows × cols torus: every vertex joined to its right and lower neighbour, wrapping around.
planar_graph(n, *, density=None, edges=None, weights="one", rng=None)
    The Delaunay triangulation of n uniform points in the unit square (at most 3n − 6 edges), thinned to m
    edges chosen uniformly (a subgraph of a planar graph is planar).

Each returns a :class:`Graph`; ``Graph.maxcut_matrix()`` is the sparse M = L/4 (L the weighted Laplacian), whose
(P) with E = all is the MAXCUT relaxation, and ``Graph.write_gset(path)`` writes the G-set file format that
:func:`sdpsolve.cli` and the Mixing method's C code read.

Examples
--------
>>> from sdpsolve import graphs, solve
>>> g = graphs.toroidal_grid(6, 6, rng=0)
>>> g.n, g.m
(36, 72)
>>> res = solve(g.maxcut_matrix(), equal="all", rng=0)
>>> res.bound_kind, bool(res.gap <= 1e-4)
('rigorous', True)
"""

from __future__ import annotations

from dataclasses import dataclass
from numbers import Integral, Real
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from ._io import gset_matrix, write_gset
from ._validation import as_rng, check_choice

WEIGHTS = ("one", "pm1")

__all__ = ["Graph", "WEIGHTS", "planar_graph", "random_graph", "toroidal_grid"]


@dataclass(frozen=True)
class Graph:
    """An undirected weighted graph: ``edges`` (m, 2) with 0-based i < j, no repeats; ``weights`` (m,)."""

    n: int
    edges: np.ndarray
    weights: np.ndarray
    name: str = ""

    @property
    def m(self) -> int:
        return int(len(self.edges))

    def maxcut_matrix(self) -> sp.csr_matrix:
        """M = L/4 (L the weighted Laplacian; :func:`sdpsolve._io.gset_matrix`): max <M, P> with diag(P) = 1 is
        the MAXCUT relaxation."""
        return gset_matrix(self.n, self.edges[:, 0], self.edges[:, 1], self.weights)

    def write_gset(self, path) -> Path:
        """The G-set text format: ``n m`` then ``i j w`` per edge, 1-based (:func:`sdpsolve._io.write_gset`)."""
        write_gset(path, self.n, np.column_stack([self.edges, self.weights]))
        return Path(path)


def _positive_int(name: str, value, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, Integral) or value < minimum:
        raise ValueError(f"`{name}` must be an integer >= {minimum}, got {value!r}.")
    return int(value)


def _edge_count(n: int, density, edges, most: int) -> int:
    if (density is None) == (edges is None):
        raise ValueError("give exactly one of `density` (a share of the n(n − 1)/2 pairs) and `edges` (a count).")
    if edges is not None:
        m = _positive_int("edges", edges, 0)
    else:
        if isinstance(density, bool) or not isinstance(density, Real) or not 0 <= density <= 1:
            raise ValueError(f"`density` must be a number in [0, 1], got {density!r}.")
        m = int(round(float(density) * n * (n - 1) / 2))
    if m > most:
        raise ValueError(f"{m} edges asked, but this family has at most {most} on {n} vertices.")
    return m


def _weights(kind: str, m: int, rng: np.random.Generator) -> np.ndarray:
    check_choice("weights", kind, WEIGHTS)
    return np.ones(m) if kind == "one" else rng.choice(np.array([-1.0, 1.0]), m)


def _unique_pairs(i: np.ndarray, j: np.ndarray) -> np.ndarray:
    lo, hi = np.minimum(i, j), np.maximum(i, j)
    pairs = np.unique(np.stack([lo, hi], axis=1), axis=0)
    return pairs[pairs[:, 0] != pairs[:, 1]]


def random_graph(n: int, *, density=None, edges=None, weights: str = "one", rng=None) -> Graph:
    """m distinct vertex pairs drawn uniformly (m = ``edges``, or ``density`` · n(n − 1)/2)."""
    n = _positive_int("n", n, 2)
    rng = as_rng(rng)
    m = _edge_count(n, density, edges, n * (n - 1) // 2)
    chosen = np.empty((0, 2), dtype=np.int64)
    while len(chosen) < m:  # draw more pairs than needed, keep distinct ones, in the order drawn
        k = 2 * (m - len(chosen)) + 16
        fresh = rng.integers(0, n, (k, 2))
        fresh = fresh[fresh[:, 0] != fresh[:, 1]]
        fresh = np.sort(fresh, axis=1)
        both = np.concatenate([chosen, fresh])
        _, first = np.unique(both, axis=0, return_index=True)
        chosen = both[np.sort(first)][:m]
    order = np.lexsort((chosen[:, 1], chosen[:, 0]))
    return Graph(n, chosen[order].astype(np.int64), _weights(weights, m, rng), f"random n={n} m={m} {weights}")


def toroidal_grid(rows: int, cols: int, *, weights: str = "pm1", rng=None) -> Graph:
    """The rows × cols torus (2·rows·cols edges for rows, cols ≥ 3)."""
    rows = _positive_int("rows", rows, 3)
    cols = _positive_int("cols", cols, 3)
    rng = as_rng(rng)
    v = np.arange(rows * cols).reshape(rows, cols)
    i = np.concatenate([v.ravel(), v.ravel()])
    j = np.concatenate([np.roll(v, -1, axis=1).ravel(), np.roll(v, -1, axis=0).ravel()])
    pairs = _unique_pairs(i, j)
    return Graph(rows * cols, pairs.astype(np.int64), _weights(weights, len(pairs), rng),
                 f"torus {rows}x{cols} {weights}")


def planar_graph(n: int, *, density=None, edges=None, weights: str = "one", rng=None) -> Graph:
    """A random planar graph: the Delaunay triangulation of n uniform points, thinned to m uniform edges."""
    from scipy.spatial import Delaunay

    n = _positive_int("n", n, 4)
    rng = as_rng(rng)
    tri = Delaunay(rng.random((n, 2))).simplices
    pairs = _unique_pairs(np.concatenate([tri[:, 0], tri[:, 1], tri[:, 2]]),
                          np.concatenate([tri[:, 1], tri[:, 2], tri[:, 0]]))
    m = _edge_count(n, density, edges, len(pairs))
    keep = np.sort(rng.choice(len(pairs), m, replace=False))
    return Graph(n, pairs[keep].astype(np.int64), _weights(weights, m, rng), f"planar n={n} m={m} {weights}")
