"""The operator layer (SPEC §2): every accepted form of M behaves like the dense matrix, counts its products,
and bad input is refused with a message naming `M`.

Oracle throughout: the explicit dense numpy matrix the operator was built from (``A @ X``), and, for the
symmetrisation error bound, the exact difference computed in extended precision.
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
import scipy.sparse.linalg as spla

import sdpsolve
from sdpsolve import OperatorError, as_operator, check_matches_dense, check_symmetric

torch = pytest.importorskip("torch")

SEED = 20240611
N = 7


def _random_symmetric(n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((n, n))
    A = A + A.T
    A[rng.random((n, n)) < 0.3] = 0.0  # some structural zeros, kept symmetric below
    return np.triu(A) + np.triu(A, 1).T


class MatvecOnly:
    """A user operator with nothing but ``shape`` and ``matvec``."""

    def __init__(self, A):
        self._A = np.asarray(A)
        self.shape = self._A.shape

    def matvec(self, x):
        return self._A @ x


class MatmatOnly:
    """A user operator with ``shape`` and ``matmat`` (returns a torch tensor, as a torch closure would)."""

    def __init__(self, A):
        self._A = torch.as_tensor(np.asarray(A))
        self.shape = tuple(self._A.shape)

    def matmat(self, X):
        return self._A @ torch.as_tensor(X)


class WithNormBound(MatvecOnly):
    def norm_bound(self):
        return float(np.linalg.norm(self._A))  # Frobenius ≥ spectral norm


def _forms(A):
    """Every accepted container of the same matrix, with the kind the operator layer should report."""
    return {
        "numpy": (A.copy(), "dense"),
        "list": (A.tolist(), "dense"),
        "csr": (sp.csr_matrix(A), "sparse"),
        "coo": (sp.coo_matrix(A), "sparse"),
        "csc": (sp.csc_matrix(A), "sparse"),
        "linear_operator": (spla.aslinearoperator(A), "implicit"),
        "torch_cpu_f64": (torch.tensor(A), "dense"),
        "user_matvec": (MatvecOnly(A), "implicit"),
        "user_matmat_torch": (MatmatOnly(A), "implicit"),
        "operator_instance": (as_operator(A.copy()), "dense"),
    }


FORM_NAMES = list(_forms(np.eye(2)))


@pytest.mark.parametrize("form", FORM_NAMES)
def test_every_form_matches_dense_and_is_symmetric(form):
    """Oracle: the dense matrix A. Products agree (check_matches_dense and a direct comparison), the randomized
    symmetry test passes, diagonal and to_dense reproduce A exactly (with error bound 0)."""
    A = _random_symmetric(N, SEED)
    M, kind = _forms(A)[form]
    op = as_operator(M)
    assert op.kind == kind, f"form {form}: kind {op.kind!r}, expected {kind!r}"
    assert op.shape == (N, N) and op.n == N
    err = check_matches_dense(op, A, rng=SEED)
    assert err <= 1e-14, f"form {form}, seed {SEED}: relative product error {err:.3g}"
    assert check_symmetric(op, rng=SEED) <= 1e-14
    X = np.random.default_rng(SEED).standard_normal((N, 4))
    Y = op.matmat(X)
    assert isinstance(Y, np.ndarray) and Y.dtype == np.float64 and Y.shape == (N, 4)
    np.testing.assert_allclose(Y, A @ X, rtol=1e-13, atol=1e-13, err_msg=f"form {form}, seed {SEED}")
    y = op.matvec(X[:, 0])
    assert y.shape == (N,), f"form {form}: a 1-d operand must give a 1-d product, got shape {y.shape}"
    np.testing.assert_allclose(y, A @ X[:, 0], rtol=1e-13, atol=1e-13)
    np.testing.assert_allclose(op @ X, A @ X, rtol=1e-13, atol=1e-13)
    np.testing.assert_array_equal(op.diagonal(), np.diag(A))
    B, berr = op.to_dense()
    np.testing.assert_array_equal(B, A)
    assert berr == 0.0, f"form {form}: exactly symmetric input must have symmetrisation error 0, got {berr}"


@pytest.mark.parametrize("form", FORM_NAMES)
def test_product_counting(form):
    """n_matvec counts columns: 0 after construction (the symmetry check is not charged), +k for an (n, k) block,
    +1 for a vector."""
    A = _random_symmetric(N, SEED + 1)
    M, _ = _forms(A)[form]
    op = as_operator(M)
    start = op.n_matvec
    if form != "operator_instance":
        assert start == 0, f"form {form}: a fresh operator has n_matvec = {start}"
    op.matmat(np.ones((N, 3)))
    assert op.n_matvec == start + 3
    op.matvec(np.ones(N))
    assert op.n_matvec == start + 4
    op.matmat(np.ones((N, 1)))
    assert op.n_matvec == start + 5


def test_as_operator_is_idempotent():
    """Wrapping an Operator returns the same object (its count is preserved)."""
    op = as_operator(_random_symmetric(4, 1))
    op.matvec(np.ones(4))
    assert as_operator(op) is op and op.n_matvec == 1


@pytest.mark.parametrize("dtype", ["float32", "float64", "int64"])
def test_torch_cpu_dtypes(dtype):
    """Oracle: the same matrix as float64 numpy. A CPU torch tensor of any real dtype is accepted as dense."""
    A = np.round(_random_symmetric(5, 3) * 4)  # integer-valued: exact in every dtype
    op = as_operator(torch.tensor(A).to(getattr(torch, dtype)))
    assert op.kind == "dense"
    np.testing.assert_array_equal(op.to_dense()[0], A)


def test_torch_requires_grad_is_accepted():
    """A tensor that requires grad is detached, not refused."""
    A = torch.tensor(_random_symmetric(4, 5), requires_grad=True)
    np.testing.assert_array_equal(as_operator(A).to_dense()[0], A.detach().numpy())


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_torch_cuda_tensor_stays_on_device():
    """Oracle: the dense numpy matrix. A CUDA tensor is kept there; products come back as float64 numpy."""
    A = _random_symmetric(N, SEED)
    op = as_operator(torch.tensor(A, device="cuda"))
    assert check_matches_dense(op, A, rng=SEED) <= 1e-13
    np.testing.assert_array_equal(op.diagonal(), np.diag(A))
    assert op.norm_bound() >= np.linalg.norm(A, 2)


@pytest.mark.parametrize("form", ["numpy", "csr", "torch_cpu_f64"])
def test_norm_bound_explicit(form):
    """Oracle: ||A||_2 from numpy. Explicit operators provide a proved bound, not below the spectral norm."""
    A = _random_symmetric(30, SEED + 2) * 1e3
    op = as_operator(_forms(A)[form][0])
    nb = op.norm_bound()
    assert nb is not None and nb >= np.linalg.norm(A, 2) * (1 + 1e-15), f"norm bound {nb} < ||A|| (seed {SEED})"


def test_norm_bound_implicit():
    """An implicit operator has no norm bound unless it supplies one (then it is used as given)."""
    A = _random_symmetric(6, 9)
    assert as_operator(spla.aslinearoperator(A)).norm_bound() is None
    assert as_operator(MatvecOnly(A)).norm_bound() is None
    assert as_operator(WithNormBound(A)).norm_bound() == pytest.approx(np.linalg.norm(A))


# -- bad input -----------------------------------------------------------------------------------------------
def _asym(n=5, seed=0):
    A = _random_symmetric(n, seed)
    A[0, 1] += 1.0
    return A


@pytest.mark.parametrize(
    "M, exc, words",
    [
        (np.ones((3, 4)), ValueError, "square"),
        (np.ones(3), ValueError, "square"),
        (np.ones((2, 2, 2)), ValueError, "square"),
        (sp.csr_matrix(np.ones((3, 4))), ValueError, "square"),
        (torch.ones(3, 4, dtype=torch.float64), ValueError, "square"),
        (np.array([[1.0, np.nan], [np.nan, 1.0]]), ValueError, "finite"),
        (np.array([[np.inf, 0.0], [0.0, 1.0]]), ValueError, "finite"),
        (sp.csr_matrix(np.array([[1.0, np.inf], [np.inf, 1.0]])), ValueError, "finite"),
        (torch.tensor([[1.0, float("nan")], [float("nan"), 1.0]], dtype=torch.float64), ValueError, "finite"),
        (_asym(), ValueError, "symmetric"),
        (sp.csr_matrix(_asym()), ValueError, "symmetric"),
        (sp.coo_matrix(np.triu(_random_symmetric(5, 1))), ValueError, "symmetric"),
        (torch.tensor(_asym()), ValueError, "symmetric"),
        (spla.aslinearoperator(_asym()), ValueError, "symmetric"),
        (MatvecOnly(np.triu(_random_symmetric(6, 2))), ValueError, "symmetric"),
        (np.array([[1.0, 1j], [-1j, 1.0]]), TypeError, "real"),
        (sp.csr_matrix(np.array([[1.0, 1j], [-1j, 1.0]])), TypeError, "real"),
        (torch.tensor([[1.0, 1j], [-1j, 1.0]]), TypeError, "real"),
        (np.array([["a", "b"], ["c", "d"]]), TypeError, "real"),
        (object(), TypeError, "shape"),
        ("abc", TypeError, "shape"),
    ],
    ids=lambda v: type(v).__name__ if not isinstance(v, str) else v,
)
def test_bad_input_is_refused(M, exc, words):
    """Each malformed M raises the documented exception type, and the message names `M` and the rule."""
    with pytest.raises(exc) as info:
        as_operator(M)
    msg = str(info.value)
    assert "`M`" in msg and words in msg, f"message does not name `M` and {words!r}: {msg}"


def test_bad_input_through_solve_and_dual_bound():
    """The public entry points refuse the same input with the same exceptions."""
    with pytest.raises(ValueError, match="`M`"):
        sdpsolve.solve(_asym())
    with pytest.raises(ValueError, match="`M`"):
        sdpsolve.dual_bound(np.ones((2, 3)), np.zeros(2))
    with pytest.raises(TypeError, match="`M`"):
        sdpsolve.solve(np.array([[1.0, 1j], [-1j, 1.0]]))


def test_implicit_shape_checks():
    """A user object must have a square, positive, integer shape."""

    class Shaped(MatvecOnly):
        def __init__(self, shape):
            self.shape = shape

    for shape in [(3, 4), (0, 0), (3,), (3.0, 3.0), (3, 3, 3)]:
        with pytest.raises(ValueError, match="`M`"):
            as_operator(Shaped(shape))
    wrapped = MatvecOnly(_random_symmetric(4, 0))
    wrapped.shape = (np.int64(4), np.int64(4))  # numpy integers are integers
    assert as_operator(wrapped).n == 4


@pytest.mark.parametrize("M", [np.zeros((0, 0)), sp.csr_matrix((0, 0))], ids=["numpy", "csr"])
def test_empty_matrix_is_refused(M):
    """Oracle: SPEC §1 needs n ≥ 1 (the implicit path already demands a positive size)."""
    with pytest.raises(ValueError, match="`M`"):
        as_operator(M)


def test_asymmetric_implicit_operator_randomized_check():
    """Oracle: |xᵀMy − yᵀMx| is O(1) for a clearly asymmetric matrix, O(u) for a symmetric one.
    check_symmetric rejects the first (for every seed) and returns a tiny value for the second."""
    A = _random_symmetric(20, 4)
    asym = A.copy()
    asym[3, 7] += 0.5
    for seed in range(10):
        with pytest.raises(ValueError, match="symmetric"):
            check_symmetric(spla.aslinearoperator(asym), rng=seed)
        assert check_symmetric(spla.aslinearoperator(A), rng=seed) <= 1e-14
    # it costs 2 products per trial
    op = as_operator(spla.aslinearoperator(A))
    check_symmetric(op, trials=3, rng=0)
    assert op.n_matvec == 6


def test_check_matches_dense_detects_a_wrong_product():
    """Oracle: an operator that computes (A + E) x with ||E|| = 1e-6 ||A|| must be flagged against A."""
    A = _random_symmetric(8, 5)
    E = np.zeros_like(A)
    E[2, 2] = 1e-6 * np.linalg.norm(A)
    with pytest.raises(AssertionError, match="relative error"):
        check_matches_dense(MatvecOnly(A + E), A, rng=0)
    with pytest.raises(ValueError, match="`dense`"):
        check_matches_dense(MatvecOnly(A), A[:3, :3])


class WrongShape(MatvecOnly):
    def matvec(self, x):
        return np.ones(self.shape[0] + 1)


class NonFinite(MatvecOnly):
    def matvec(self, x):
        y = self._A @ x
        y[0] = np.nan
        return y


class NonFiniteLater(MatvecOnly):
    """Finite during the symmetry check (2 products), inf afterwards."""

    calls = 0

    def matvec(self, x):
        self.calls += 1
        y = self._A @ x
        if self.calls > 2:
            y[-1] = np.inf
        return y


def test_wrong_output_shape_is_an_operator_error():
    """A user operator returning n + 1 entries raises OperatorError naming `M` and both shapes."""
    with pytest.raises(OperatorError, match=r"`M` product has the wrong shape"):
        as_operator(WrongShape(np.eye(4)))
    op = as_operator(WrongShape(np.eye(4)), check=False)
    with pytest.raises(OperatorError, match=r"\(4, 2\)"):
        op.matmat(np.ones((4, 2)))


def test_non_finite_output_is_an_operator_error():
    """NaN or inf in a product raises OperatorError (at construction, or at the first bad product)."""
    with pytest.raises(OperatorError, match="NaN or inf"):
        as_operator(NonFinite(np.eye(4)))
    op = as_operator(NonFiniteLater(np.eye(4)))
    with pytest.raises(OperatorError, match="NaN or inf"):
        op.matvec(np.ones(4))
    with pytest.raises(sdpsolve.SDPSolveError):  # the hierarchy lets users catch solver failures at once
        sdpsolve.solve(NonFiniteLater(np.eye(4)))


@pytest.mark.filterwarnings("ignore:Casting complex values")
@pytest.mark.parametrize("kind", ["linear_operator", "user"])
def test_complex_implicit_operator_is_refused(kind):
    """Oracle: a Hermitian, non-real operator is not a real symmetric M; it must be refused, not truncated."""
    rng = np.random.default_rng(0)
    H = rng.standard_normal((5, 5)) + 1j * rng.standard_normal((5, 5))
    H = H + H.conj().T
    M = spla.aslinearoperator(H) if kind == "linear_operator" else MatvecOnly(H)
    with pytest.raises((TypeError, OperatorError)):
        as_operator(M)


# -- symmetrisation error bound ------------------------------------------------------------------------------
@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("rel", [1e-11, 1e-13, 1e-16])
@pytest.mark.parametrize("container", ["numpy", "csr", "user_to_dense_tuple"])
def test_to_dense_error_bound_covers_asymmetry(seed, rel, container):
    """Oracle: ||sym(M) − B||_2 with sym(M) − B computed in extended precision (longdouble) from the raw
    entries. A slightly asymmetric matrix (within the 1e-10 acceptance threshold) is accepted, and to_dense
    returns a symmetric B with err ≥ ||sym(M) − B||_2 (and err not wildly pessimistic: ≤ 2 ||·||_F)."""
    rng = np.random.default_rng(seed)
    n = 12
    S = _random_symmetric(n, seed) * 10.0 ** rng.integers(-3, 4)
    noise = rng.standard_normal((n, n)) * rel * np.abs(S).max()
    raw = S + noise
    extra = 0.0
    if container == "numpy":
        M = raw
    elif container == "csr":
        M = sp.csr_matrix(raw)
    else:
        extra = 1e-9

        class Exact(MatvecOnly):
            def to_dense(self):
                return raw, extra

        M = Exact(raw)
    op = as_operator(M)
    B, err = op.to_dense()
    np.testing.assert_array_equal(B, B.T)
    L = raw.astype(np.longdouble)
    diff = ((L + L.T) / 2 - B.astype(np.longdouble)).astype(np.float64)
    true = float(np.linalg.norm(diff, 2))
    assert err >= true + extra, f"seed {seed}, rel {rel}: err {err!r} < ||sym(M) − B||_2 {true!r} + {extra}"
    assert err <= 2 * float(np.linalg.norm(diff)) + extra * (1 + 1e-12) + 1e-300, (
        f"seed {seed}: err {err!r} much larger than ||sym(M) − B||_F {np.linalg.norm(diff)!r}"
    )


def test_to_dense_of_implicit_operator():
    """Oracle: the dense matrix. An implicit operator is materialised column block by column block; its count
    grows by n."""
    A = _random_symmetric(300, 8)  # > one block of 256 columns
    op = as_operator(MatvecOnly(A))
    B, err = op.to_dense()
    np.testing.assert_allclose(B, A, rtol=0, atol=1e-12)
    assert err <= 1e-12 and op.n_matvec == 300
