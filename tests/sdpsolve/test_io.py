"""Tests of sdpsolve._io: round trips of every format, the G-set Laplacian, and clear errors on bad files.

Oracles: the array written is the array read (round trips); for G-set files the cut identity
xᵀ(L/4)x = Σ_{ij∈edges, x_i≠x_j} w_ij on every x ∈ {±1}ⁿ, and a Laplacian built by hand.
"""

from __future__ import annotations

import itertools
import os
import tempfile

import numpy as np
import pytest
import scipy.io
import scipy.sparse as sp
from hypothesis import given, settings

from sdpsolve._io import gset_matrix, load_problem, write_gset
from tests.strategies import symmetric_matrices


def _sym(n: int, seed: int = 0) -> np.ndarray:
    A = np.random.default_rng(seed).standard_normal((n, n))
    return A + A.T


# -- dense / sparse / Matrix Market round trips ----
def test_npy_round_trip(tmp_path):
    A = _sym(6)
    f = tmp_path / "m.npy"
    np.save(f, A)
    M, equal = load_problem(f)
    assert equal is None
    assert isinstance(M, np.ndarray) and M.dtype == np.float64
    np.testing.assert_array_equal(M, A)


def test_npy_integer_and_str_path(tmp_path):
    A = np.array([[1, 2], [2, -3]], dtype=np.int32)
    f = tmp_path / "int.npy"
    np.save(f, A)
    M, _ = load_problem(str(f))
    assert M.dtype == np.float64
    np.testing.assert_array_equal(M, A)


@pytest.mark.parametrize("fmt", ["csr", "csc", "coo"])
def test_sparse_npz_round_trip(tmp_path, fmt):
    A = sp.random(30, 30, density=0.1, random_state=1, format="csr")
    A = (A + A.T).asformat(fmt)
    f = tmp_path / f"m_{fmt}.npz"
    sp.save_npz(f, A)
    M, equal = load_problem(f)
    assert equal is None
    assert sp.isspmatrix_csr(M) or isinstance(M, sp.csr_array)
    np.testing.assert_array_equal(M.toarray(), A.toarray())


@pytest.mark.parametrize(
    ("stored", "expected"),
    [
        (None, None),
        (np.array("all"), "all"),
        (np.array("none"), "none"),
        (np.array([0, 2]), [0, 2]),
        (np.array([True, False, False, True]), [True, False, False, True]),
    ],
)
def test_plain_npz_with_equal(tmp_path, stored, expected):
    A = _sym(4, seed=2)
    f = tmp_path / "plain.npz"
    if stored is None:
        np.savez(f, M=A)
    else:
        np.savez(f, M=A, equal=stored)
    M, equal = load_problem(f)
    np.testing.assert_array_equal(M, A)
    if isinstance(expected, list):
        np.testing.assert_array_equal(equal, expected)
    else:
        assert equal == expected


def test_mtx_symmetric_storage_is_expanded(tmp_path):
    A = sp.csr_matrix(np.array([[2.0, -1.0, 0.0], [-1.0, 0.0, 3.5], [0.0, 3.5, 1.0]]))
    f = tmp_path / "m.mtx"
    scipy.io.mmwrite(str(f), A, symmetry="symmetric")
    # the file stores only one triangle: 4 entries (3 diagonal + 2 off-diagonal would be 5; 0 is absent)
    body = [ln for ln in f.read_text().splitlines() if ln and not ln.startswith("%")]
    assert "symmetric" in f.read_text().splitlines()[0]
    assert len(body) - 1 == 4
    M, equal = load_problem(f)
    assert equal is None
    np.testing.assert_array_equal(M.toarray(), A.toarray())


def test_mtx_dense_array_format(tmp_path):
    A = _sym(5, seed=3)
    f = tmp_path / "dense.mtx"
    scipy.io.mmwrite(str(f), A)
    M, _ = load_problem(f)
    np.testing.assert_allclose(M.toarray(), A, rtol=1e-15, atol=0)


@settings(max_examples=25, deadline=None)
@given(symmetric_matrices(1, 12, structure="general"))
def test_round_trip_property(A):
    """Any symmetric float matrix survives .npy, sparse .npz and .mtx exactly (mmwrite uses 17 digits)."""
    with tempfile.TemporaryDirectory() as d:
        np.save(os.path.join(d, "a.npy"), A)
        sp.save_npz(os.path.join(d, "a.npz"), sp.csr_matrix(A))
        scipy.io.mmwrite(os.path.join(d, "a.mtx"), sp.coo_matrix(A))
        M1, _ = load_problem(os.path.join(d, "a.npy"))
        M2, _ = load_problem(os.path.join(d, "a.npz"))
        M3, _ = load_problem(os.path.join(d, "a.mtx"))
    np.testing.assert_array_equal(M1, A)
    np.testing.assert_array_equal(M2.toarray(), A)
    np.testing.assert_array_equal(M3.toarray(), A)


def test_content_detection_without_extension(tmp_path):
    A = _sym(3, seed=4)
    f = tmp_path / "matrix_without_suffix"
    with open(f, "wb") as fh:
        np.save(fh, A)
    M, equal = load_problem(f)
    np.testing.assert_array_equal(M, A)
    assert equal is None


# -- G-set ----
EDGES = [(0, 1, 2.0), (1, 2, 1.0), (2, 3, 3.0), (3, 0, 1.0), (0, 2, -1.0)]


def _laplacian_by_hand(n, edges):
    L = np.zeros((n, n))
    for i, j, w in edges:
        L[i, i] += w
        L[j, j] += w
        L[i, j] -= w
        L[j, i] -= w
    return L


@pytest.mark.parametrize("name", ["g.txt", "g.gset", "G11"])
def test_gset_laplacian_and_cut_identity(tmp_path, name):
    f = tmp_path / name
    write_gset(f, 4, EDGES)
    M, equal = load_problem(f)
    assert equal == "all"
    assert sp.issparse(M)
    np.testing.assert_array_equal(M.toarray(), _laplacian_by_hand(4, EDGES) / 4)
    for signs in itertools.product([-1.0, 1.0], repeat=4):
        x = np.array(signs)
        cut = sum(w for i, j, w in EDGES if x[i] != x[j])
        assert x @ (M @ x) == pytest.approx(cut, abs=1e-12), signs


def test_gset_file_format_is_one_based(tmp_path):
    f = tmp_path / "g.txt"
    write_gset(f, 3, [(0, 2, 5)])
    assert f.read_text().splitlines() == ["3 1", "1 3 5"]


def test_gset_float_weights_round_trip_exactly(tmp_path):
    edges = [(0, 1, 0.1), (1, 2, 1 / 3), (0, 2, -2.5e-7)]
    f = tmp_path / "float.gset"
    write_gset(f, 3, edges)
    M, _ = load_problem(f)
    np.testing.assert_array_equal(M.toarray(), _laplacian_by_hand(3, edges) / 4)


def test_gset_duplicates_add_self_loops_ignored_comments_skipped(tmp_path):
    f = tmp_path / "dup.txt"
    f.write_text("# a comment\n3 4\n1 2 1\n2 1 2\n3 3 7\n\n% another\n2 3 1\n")
    M, _ = load_problem(f)
    np.testing.assert_array_equal(M.toarray(), _laplacian_by_hand(3, [(0, 1, 3.0), (1, 2, 1.0)]) / 4)


def test_gset_matrix_helper_matches_loader(tmp_path):
    f = tmp_path / "g.txt"
    write_gset(f, 4, EDGES)
    E = np.array(EDGES)
    expected = gset_matrix(4, E[:, 0].astype(int), E[:, 1].astype(int), E[:, 2])
    M, _ = load_problem(f)
    assert abs(M - expected).max() == 0


def test_gset_with_no_edges(tmp_path):
    f = tmp_path / "empty_graph.txt"
    write_gset(f, 3, [])
    M, equal = load_problem(f)
    assert M.shape == (3, 3) and M.nnz == 0 and equal == "all"


# -- malformed files ----
@pytest.mark.parametrize(
    ("text", "pattern"),
    [
        ("", "empty file"),
        ("3\n", r"line 1: a G-set file starts with 'n m'"),
        ("3 x\n", r"line 1: `m` must be an integer"),
        ("0 0\n", r"line 1: need n >= 1"),
        ("3 2\n1 2 1\n", r"announces m = 2 edges but the file has 1"),
        ("3 1\n1 2 1\n2 3 1\n", r"line 3: more edge lines than the m = 1"),
        ("3 1\n1 2\n", r"line 2: an edge line must be 'i j w'"),
        ("3 1\n1 4 1\n", r"line 2: vertex j = 4 is outside 1..3"),
        ("3 1\n0 2 1\n", r"line 2: vertex i = 0 is outside 1..3"),
        ("3 1\n1 2 heavy\n", r"line 2: the weight must be a number"),
        ("3 1\n1 2 nan\n", r"line 2: the weight must be finite"),
        ("3 1\n1.5 2 1\n", r"line 2: `i` must be an integer"),
    ],
)
def test_malformed_gset_names_file_and_line(tmp_path, text, pattern):
    f = tmp_path / "bad.txt"
    f.write_text(text)
    with pytest.raises(ValueError, match=pattern) as info:
        load_problem(f)
    assert str(f) in str(info.value)


def test_gset_non_ascii(tmp_path):
    f = tmp_path / "bin.gset"
    f.write_bytes(b"3 1\n1 2 \xff\n")
    with pytest.raises(ValueError, match="non-ASCII"):
        load_problem(f)


@pytest.mark.parametrize(
    ("array", "pattern"),
    [
        (np.array([[1.0, 2.0], [0.0, 1.0]]), "must be symmetric"),
        (np.ones((2, 3)), "square"),
        (np.ones(4), "square"),
        (np.array([[np.nan, 0.0], [0.0, 1.0]]), "NaN/inf"),
        (np.eye(2) * 1j, "real"),
        (np.array([["a", "b"], ["b", "a"]]), "numeric"),
    ],
)
def test_bad_npy_contents(tmp_path, array, pattern):
    f = tmp_path / "bad.npy"
    np.save(f, array)
    with pytest.raises(ValueError, match=pattern) as info:
        load_problem(f)
    assert str(f) in str(info.value)


def test_asymmetric_sparse_rejected(tmp_path):
    f = tmp_path / "asym.npz"
    sp.save_npz(f, sp.csr_matrix(np.array([[0.0, 1.0], [0.0, 0.0]])))
    with pytest.raises(ValueError, match="must be symmetric"):
        load_problem(f)


def test_tiny_asymmetry_tolerated(tmp_path):
    A = _sym(4)
    A[0, 1] += 1e-14
    f = tmp_path / "near.npy"
    np.save(f, A)
    M, _ = load_problem(f)
    assert M[0, 1] == A[0, 1]


@pytest.mark.parametrize(
    ("name", "content", "pattern"),
    [
        ("x.npy", b"not numpy", "not a readable .npy"),
        ("x.npz", b"PK\x03\x04garbage", "not a readable .npz"),
        (
            "x.mtx",
            b"%%MatrixMarket matrix coordinate real general\n2 2 1\n1 1\n",
            "not a valid Matrix Market",
        ),
        ("x.csv", b"1,2\n2,1\n", "unknown problem file type '.csv'"),
    ],
)
def test_corrupt_files(tmp_path, name, content, pattern):
    f = tmp_path / name
    f.write_bytes(content)
    with pytest.raises(ValueError, match=pattern) as info:
        load_problem(f)
    assert str(f) in str(info.value)


def test_plain_npz_key_errors(tmp_path):
    f = tmp_path / "keys.npz"
    np.savez(f, A=np.eye(2))
    with pytest.raises(ValueError, match=r"under the key 'M'.*\['A'\]"):
        load_problem(f)
    np.savez(f, M=np.eye(2), extra=np.ones(1))
    with pytest.raises(ValueError, match=r"unexpected keys \['extra'\]"):
        load_problem(f)
    np.savez(f, M=np.eye(2), equal=np.array("some"))
    with pytest.raises(ValueError, match="'equal' must be"):
        load_problem(f)


def test_missing_file_and_directory(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such file"):
        load_problem(tmp_path / "absent.npy")
    with pytest.raises(ValueError, match="is a directory"):
        load_problem(tmp_path)
    with pytest.raises(TypeError, match="`path`"):
        load_problem(3)


@pytest.mark.parametrize(
    ("n", "edges", "pattern"),
    [
        (0, [], "`n` must be an integer >= 1"),
        (3, [(0, 1)], r"shape \(m, 3\)"),
        (3, [(0, 3, 1.0)], r"in \[0, 2\]"),
        (3, [(0, 1.5, 1.0)], r"in \[0, 2\]"),
        (3, [(0, 1, np.inf)], "finite"),
    ],
)
def test_write_gset_validation(tmp_path, n, edges, pattern):
    with pytest.raises(ValueError, match=pattern):
        write_gset(tmp_path / "w.txt", n, edges)
