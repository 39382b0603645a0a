"""Shared hypothesis strategies for the tests, with their size caps documented.

* :func:`symmetric_matrices`, :func:`equal_sets`, :func:`sdp_problems` — inputs of (P) (sdpsolve).
* :func:`relu_networks`, :func:`perturbation_problems` — small ReLU networks and (x, label, ε) (certifiers).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

# -- matrices and equality sets for (P) (sdpsolve tests) -----------------------------------------------------
#
# Size caps: ``symmetric_matrices`` draws n(n+1)/2 floats, so hypothesis' generation and shrinking get slow
# beyond n ≈ 30; it refuses n_max > SYMMETRIC_MAX_N. Entries are bounded (``max_abs``), finite and not
# subnormal. For structured draws the factor entries are bounded by ``max_abs`` and the rank by
# min(n, max_rank), so |M_ij| ≤ max_rank · max_abs² there.

#: the largest n_max accepted by :func:`symmetric_matrices`
SYMMETRIC_MAX_N = 40
#: the structures :func:`symmetric_matrices` can draw
MATRIX_STRUCTURES = ("general", "psd", "nsd", "diagonal", "low_rank", "integer")
#: the containers :func:`symmetric_matrices` can return
MATRIX_FORMATS = ("dense", "sparse", "linear_operator")


def _bounded_floats(max_abs: float):
    return st.floats(
        min_value=-max_abs, max_value=max_abs, allow_nan=False, allow_infinity=False, allow_subnormal=False
    )


@st.composite
def symmetric_matrices(
    draw,
    n_min: int = 1,
    n_max: int = 8,
    *,
    max_abs: float = 10.0,
    structure: str = "any",
    formats: tuple[str, ...] = ("dense",),
    max_rank: int = 3,
):
    """Real symmetric n×n matrices, n_min ≤ n ≤ n_max ≤ ``SYMMETRIC_MAX_N``.

    Parameters
    ----------
    n_min, n_max : int
        Size range (1 ≤ n_min ≤ n_max ≤ 40).
    max_abs : float
        Bound on the drawn entries (on the factor entries for "psd", "nsd", "low_rank").
    structure : {"any", "general", "psd", "nsd", "diagonal", "low_rank", "integer"}
        "general": free upper triangle; "psd"/"nsd": ±BBᵀ with B of rank ≤ ``max_rank`` (singular unless
        full rank); "diagonal"; "low_rank": BSBᵀ with signs S (indefinite); "integer": integer entries in
        [−max_abs, max_abs] (exact arithmetic, useful for closed forms); "any": one of these, drawn.
    formats : tuple of {"dense", "sparse", "linear_operator"}
        Containers to draw from: a float64 ndarray, a scipy CSR matrix or a
        ``scipy.sparse.linalg.LinearOperator`` (products only).
    max_rank : int
        Largest rank of the factor B for the factored structures.

    Examples
    --------
    >>> from hypothesis import given
    >>> @given(symmetric_matrices(2, 4))
    ... def test(M):
    ...     assert (M == M.T).all()
    >>> test()
    """
    if not (1 <= n_min <= n_max <= SYMMETRIC_MAX_N):
        raise ValueError(f"need 1 <= n_min <= n_max <= {SYMMETRIC_MAX_N}, got n_min={n_min}, n_max={n_max}.")
    if structure != "any" and structure not in MATRIX_STRUCTURES:
        raise ValueError(f"`structure` must be 'any' or one of {MATRIX_STRUCTURES}, got {structure!r}.")
    bad = [f for f in formats if f not in MATRIX_FORMATS]
    if not formats or bad:
        raise ValueError(f"`formats` must be a non-empty tuple from {MATRIX_FORMATS}, got {formats!r}.")
    n = draw(st.integers(n_min, n_max))
    kind = draw(st.sampled_from(MATRIX_STRUCTURES)) if structure == "any" else structure
    if kind in ("general", "integer"):
        if kind == "general":
            elems = _bounded_floats(max_abs)
        else:
            elems = st.integers(-int(max_abs), int(max_abs)).map(float)
        upper = draw(hnp.arrays(np.float64, n * (n + 1) // 2, elements=elems))
        M = np.zeros((n, n))
        M[np.triu_indices(n)] = upper
        M = np.triu(M) + np.triu(M, 1).T
    elif kind == "diagonal":
        M = np.diag(draw(hnp.arrays(np.float64, n, elements=_bounded_floats(max_abs))))
    else:
        r = draw(st.integers(1, max(1, min(n, max_rank))))
        B = draw(hnp.arrays(np.float64, (n, r), elements=_bounded_floats(max_abs)))
        if kind == "low_rank":
            signs = np.asarray(draw(st.lists(st.sampled_from([-1.0, 1.0]), min_size=r, max_size=r)))
            M = (B * signs) @ B.T
        else:
            M = B @ B.T if kind == "psd" else -(B @ B.T)
        M = 0.5 * (M + M.T)
    fmt = draw(st.sampled_from(formats))
    if fmt == "sparse":
        return sp.csr_matrix(M)
    if fmt == "linear_operator":
        return spla.aslinearoperator(M)
    return M


def equal_sets(n: int):
    """The argument ``equal`` of (P) for size n: None, "all", "none", [0], index lists or boolean masks.

    Examples
    --------
    >>> from hypothesis import given
    >>> @given(equal_sets(3))
    ... def test(e):
    ...     assert e is None or isinstance(e, (str, list, np.ndarray))
    >>> test()
    """
    if n < 1:
        raise ValueError(f"`n` must be >= 1, got {n}.")
    return st.one_of(
        st.just(None),
        st.just("all"),
        st.just("none"),
        st.just([0]),
        st.lists(st.integers(0, n - 1), unique=True, max_size=n).map(sorted),
        hnp.arrays(np.bool_, n),
    )


@st.composite
def sdp_problems(draw, n_min: int = 1, n_max: int = 8, **matrix_kwargs):
    """Pairs ``(M, equal)``: a :func:`symmetric_matrices` draw and a matching :func:`equal_sets` draw."""
    M = draw(symmetric_matrices(n_min, n_max, **matrix_kwargs))
    return M, draw(equal_sets(M.shape[0]))


# -- small ReLU networks and perturbation problems (certifiers tests) ---------------------------------------
#
# Size caps: ``relu_networks`` refuses more than RELU_NET_MAX_HIDDEN_LAYERS hidden layers and widths, input
# dimensions or class counts above RELU_NET_MAX_WIDTH, RELU_NET_MAX_INPUT_DIM and RELU_NET_MAX_CLASSES: the
# tests built on them enumerate box vertices (2^d points) or solve one LP per neuron, and hypothesis runs them
# tens of times. The weights come from a drawn seed (cheap to generate; shrinking goes through the seed and
# the sizes), in one of three styles: Gaussian (scaled by 1/√fan-in, biases N(0, 0.5²)), small integers in
# [−2, 2] (exact ties, zero rows, pre-activation bounds exactly 0), and sparse Gaussian (half the entries 0).

#: the largest number of hidden layers :func:`relu_networks` accepts
RELU_NET_MAX_HIDDEN_LAYERS = 4
#: the largest hidden width :func:`relu_networks` accepts
RELU_NET_MAX_WIDTH = 16
#: the largest input dimension :func:`relu_networks` accepts
RELU_NET_MAX_INPUT_DIM = 12
#: the largest number of classes :func:`relu_networks` accepts
RELU_NET_MAX_CLASSES = 8
#: the weight styles :func:`relu_networks` draws from
RELU_NET_STYLES = ("gaussian", "integer", "sparse")


@st.composite
def relu_networks(
    draw,
    *,
    min_hidden_layers: int = 1,
    max_hidden_layers: int = 2,
    max_input_dim: int = 5,
    max_width: int = 6,
    min_classes: int = 2,
    max_classes: int = 4,
    style: str = "any",
):
    """Small :class:`certifiers._network.ReLUNetwork` instances.

    Parameters
    ----------
    min_hidden_layers, max_hidden_layers : int
        Depth range, 0 ≤ min ≤ max ≤ ``RELU_NET_MAX_HIDDEN_LAYERS`` (4). 0 hidden layers is a linear model.
    max_input_dim : int
        Input dimension d is drawn in [1, max_input_dim], max_input_dim ≤ ``RELU_NET_MAX_INPUT_DIM`` (12).
    max_width : int
        Every hidden width is drawn in [1, max_width], max_width ≤ ``RELU_NET_MAX_WIDTH`` (16).
    min_classes, max_classes : int
        2 ≤ min_classes ≤ max_classes ≤ ``RELU_NET_MAX_CLASSES`` (8).
    style : {"any", "gaussian", "integer", "sparse"}
        How the weights are drawn (see the comment above ``RELU_NET_MAX_HIDDEN_LAYERS``).

    Examples
    --------
    >>> from hypothesis import given
    >>> @given(relu_networks(max_hidden_layers=1))
    ... def test(net):
    ...     assert net.n_hidden_layers <= 1
    >>> test()
    """
    from certifiers._network import ReLUNetwork

    if not 0 <= min_hidden_layers <= max_hidden_layers <= RELU_NET_MAX_HIDDEN_LAYERS:
        raise ValueError(
            f"need 0 <= min_hidden_layers <= max_hidden_layers <= {RELU_NET_MAX_HIDDEN_LAYERS}, got "
            f"{min_hidden_layers} and {max_hidden_layers}."
        )
    if not 1 <= max_input_dim <= RELU_NET_MAX_INPUT_DIM:
        raise ValueError(f"`max_input_dim` must lie in [1, {RELU_NET_MAX_INPUT_DIM}], got {max_input_dim}.")
    if not 1 <= max_width <= RELU_NET_MAX_WIDTH:
        raise ValueError(f"`max_width` must lie in [1, {RELU_NET_MAX_WIDTH}], got {max_width}.")
    if not 2 <= min_classes <= max_classes <= RELU_NET_MAX_CLASSES:
        raise ValueError(
            f"need 2 <= min_classes <= max_classes <= {RELU_NET_MAX_CLASSES}, got {min_classes} and "
            f"{max_classes}."
        )
    if style != "any" and style not in RELU_NET_STYLES:
        raise ValueError(f"`style` must be 'any' or one of {RELU_NET_STYLES}, got {style!r}.")
    depth = draw(st.integers(min_hidden_layers, max_hidden_layers))
    sizes = [draw(st.integers(1, max_input_dim))]
    sizes += [draw(st.integers(1, max_width)) for _ in range(depth)]
    sizes.append(draw(st.integers(min_classes, max_classes)))
    kind = draw(st.sampled_from(RELU_NET_STYLES)) if style == "any" else style
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    weights, biases = [], []
    for n_in, n_out in zip(sizes[:-1], sizes[1:]):
        if kind == "integer":
            W = rng.integers(-2, 3, size=(n_out, n_in)).astype(np.float64)
            b = rng.integers(-2, 3, size=n_out).astype(np.float64)
        else:
            W = rng.standard_normal((n_out, n_in)) / np.sqrt(n_in)
            b = 0.5 * rng.standard_normal(n_out)
            if kind == "sparse":
                W *= rng.random((n_out, n_in)) < 0.5
        weights.append(W)
        biases.append(b)
    return ReLUNetwork(weights, biases)


@st.composite
def perturbation_problems(draw, networks=None, *, max_eps: float = 0.5):
    """Tuples ``(network, x, label, eps)`` for the certifier tests.

    ``x`` has shape (d,) and lies in [0, 1]^d, with some coordinates drawn exactly at 0 or 1 (where the
    clipping of the perturbation box to [0, 1] matters); ``label`` is a class index; ``eps`` lies in
    [0, max_eps].

    Parameters
    ----------
    networks : hypothesis strategy, optional
        Default ``relu_networks()``.
    max_eps : float
        Largest radius (0 < max_eps ≤ 1).
    """
    if not 0 < max_eps <= 1:
        raise ValueError(f"`max_eps` must lie in (0, 1], got {max_eps}.")
    net = draw(networks if networks is not None else relu_networks())
    d = net.input_dim
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    x = rng.random(d)
    snap = rng.random(d)
    x[snap < 0.15] = 0.0
    x[snap > 0.9] = 1.0
    label = draw(st.integers(0, net.n_classes - 1))
    eps = draw(st.floats(0.0, max_eps))  # hypothesis draws the end points 0 and max_eps often
    return net, x, label, eps
