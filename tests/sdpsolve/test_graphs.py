"""G-set-like graph generators (sdpsolve.graphs).

Oracles: counting (edges, degrees, Euler's bound m ≤ 3n − 6 for planar graphs), the cut identity
xᵀ(L/4)x = Σ_{edges cut by x} w for x ∈ {±1}ⁿ by enumeration, and the G-set reader of sdpsolve (round trip).
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from sdpsolve import graphs
from sdpsolve._io import load_problem


def _simple(g):
    assert g.edges.dtype == np.int64 and g.edges.shape == (g.m, 2)
    assert np.all(g.edges[:, 0] < g.edges[:, 1]) and np.all(g.edges >= 0) and np.all(g.edges < g.n)
    assert len(np.unique(g.edges, axis=0)) == g.m


def test_random_graph_counts_and_weights():
    g = graphs.random_graph(800, density=0.06, rng=1)
    _simple(g)
    assert g.m == round(0.06 * 800 * 799 / 2) and np.all(g.weights == 1)
    h = graphs.random_graph(300, edges=1000, weights="pm1", rng=2)
    _simple(h)
    assert h.m == 1000 and set(np.unique(h.weights)) == {-1.0, 1.0}
    assert graphs.random_graph(10, edges=45, rng=0).m == 45  # the complete graph
    again = graphs.random_graph(300, edges=1000, weights="pm1", rng=2)
    assert np.array_equal(again.edges, h.edges) and np.array_equal(again.weights, h.weights)


def test_torus_is_4_regular():
    g = graphs.toroidal_grid(5, 7, rng=0)
    _simple(g)
    deg = np.bincount(g.edges.ravel(), minlength=g.n)
    assert g.m == 2 * 35 and np.all(deg == 4)


def test_planar_graph_respects_euler():
    g = graphs.planar_graph(400, density=0.01, rng=3)
    _simple(g)
    assert g.m == round(0.01 * 400 * 399 / 2) <= 3 * 400 - 6
    full = graphs.planar_graph(50, edges=0, rng=0)
    assert full.m == 0
    with pytest.raises(ValueError, match="at most"):
        graphs.planar_graph(50, edges=200, rng=0)  # more than 3n − 6


def test_maxcut_matrix_is_the_cut_value():
    g = graphs.random_graph(9, edges=20, weights="pm1", rng=4)
    M = g.maxcut_matrix().toarray()
    for bits in itertools.product((-1.0, 1.0), repeat=g.n):
        x = np.array(bits)
        cut = sum(w for (i, j), w in zip(g.edges, g.weights) if x[i] != x[j])
        assert abs(x @ M @ x - cut) < 1e-12


def test_gset_round_trip(tmp_path):
    g = graphs.toroidal_grid(4, 5, weights="pm1", rng=5)
    M, equal = load_problem(g.write_gset(tmp_path / "t.txt"))
    assert equal == "all" and abs(M - g.maxcut_matrix()).max() == 0


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: graphs.random_graph(10, rng=0), "exactly one"),
        (lambda: graphs.random_graph(10, density=0.5, edges=3, rng=0), "exactly one"),
        (lambda: graphs.random_graph(10, density=1.5, rng=0), "density"),
        (lambda: graphs.random_graph(10, edges=46, rng=0), "at most 45"),
        (lambda: graphs.random_graph(1, edges=0, rng=0), "`n`"),
        (lambda: graphs.toroidal_grid(2, 5), "`rows`"),
        (lambda: graphs.random_graph(10, edges=3, weights="gauss", rng=0), "weights"),
    ],
)
def test_bad_arguments(call, message):
    with pytest.raises(ValueError, match=message):
        call()
