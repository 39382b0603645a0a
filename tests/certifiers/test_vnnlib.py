"""VNN-LIB parsing: MNIST- and ACAS-style properties written here in the VNN-COMP layout.

Oracles: the box the text was generated from (exact float equality), and for the unsafe region a direct
evaluation of the stated property on random and tied output vectors (e.g. "max_{j≠ℓ} y_j ≥ y_ℓ").
"""

from __future__ import annotations

import gzip

import numpy as np
import pytest

from certifiers._vnnlib import (
    LinearConstraint,
    VNNLibError,
    VNNLibSpec,
    check_unsafe,
    parse_vnnlib,
    read_vnnlib,
)

ACAS_DECLS = "\n".join([f"(declare-const X_{i} Real)" for i in range(5)] +
                       [f"(declare-const Y_{j} Real)" for j in range(5)])
ACAS_BOX_LO = [0.6, -0.5, -0.5, 0.45, -0.5]
ACAS_BOX_HI = [0.679857769, 0.5, 0.5, 0.5, -0.45]


def _acas_input() -> str:
    lines = ["; Input constraints:"]
    for i, (lo, hi) in enumerate(zip(ACAS_BOX_LO, ACAS_BOX_HI)):
        lines.append(f"(assert (<= X_{i} {hi!r}))")
        lines.append(f"(assert (>= X_{i} {lo!r}))")
    return "\n".join(lines)


def mnist_text(x: np.ndarray, eps: float, label: int) -> str:
    """A VNN-COMP MNIST-style property: the l∞ ball ∩ [0, 1] around x, unsafe if another class ≥ label's."""
    lines = [f"; Mnist property with label: {label}.", ""]
    lines += [f"(declare-const X_{i} Real)" for i in range(x.size)]
    lines += ["", *[f"(declare-const Y_{j} Real)" for j in range(10)], "", "; Input constraints:"]
    for i, v in enumerate(x):
        lines.append(f"(assert (<= X_{i} {float(min(v + eps, 1.0))!r}))")
        lines.append(f"(assert (>= X_{i} {float(max(v - eps, 0.0))!r}))")
    lines += ["", "; Output constraints:", "(assert (or"]
    lines += [f"\t(and (>= Y_{j} Y_{label}))" for j in range(10) if j != label]
    lines += ["))", ""]
    return "\n".join(lines)


def test_mnist_property_box_disjunction_and_margin_form():
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 1, 784)
    x[:50] = 0.0
    x[50:90] = 1.0
    eps, label = 0.02, 7
    spec = parse_vnnlib(mnist_text(x, eps, label), name="mnist_7.vnnlib")
    assert isinstance(spec, VNNLibSpec)
    assert (spec.n_inputs, spec.n_outputs) == (784, 10)
    np.testing.assert_array_equal(spec.lower, np.maximum(x - eps, 0.0))
    np.testing.assert_array_equal(spec.upper, np.minimum(x + eps, 1.0))
    assert len(spec.unsafe) == 9 and all(len(c) == 1 for c in spec.unsafe)
    assert spec.as_margin_property() == (label, tuple(j for j in range(10) if j != label))
    assert spec.contains_input(x) and not spec.contains_input(np.minimum(x + 2 * eps, 1.0))

    # oracle: unsafe iff max_{j≠ℓ} y_j ≥ y_ℓ; include exact ties, which are unsafe (non-strict ≥)
    others = [j for j in range(10) if j != label]
    for _ in range(300):
        y = np.round(rng.normal(size=10), 1)
        if rng.random() < 0.3:
            y[label] = y[others].max()
        expected = bool(y[others].max() >= y[label])
        assert check_unsafe(y, spec) is expected, y
    A, b, strict = spec.polytopes()[0]
    assert A.shape == (1, 10) and b.tolist() == [0.0] and strict.tolist() == [False]


def test_acas_constant_comparison_property_1():
    text = (ACAS_DECLS + "\n" + _acas_input()
            + "\n; unsafe if COC >= 1500 (normalised)\n(assert (>= Y_0 3.991125645861615))\n")
    spec = parse_vnnlib(text)
    np.testing.assert_array_equal(spec.lower, ACAS_BOX_LO)
    np.testing.assert_array_equal(spec.upper, ACAS_BOX_HI)
    (conj,) = spec.unsafe
    (c,) = conj
    assert c.a.tolist() == [-1.0, 0, 0, 0, 0] and c.b == 3.991125645861615 and not c.strict
    assert check_unsafe([3.991125645861615, 0, 0, 0, 0], spec)
    assert check_unsafe([4.0, 9, 9, 9, 9], spec)
    assert not check_unsafe(np.array([[3.99, 9, 9, 9, 9]]), spec)  # a (1, n) row is accepted
    assert spec.as_margin_property() is None


def test_acas_conjunction_over_several_asserts_and_inside_and():
    # property 3 (unsafe if COC is minimal) as separate asserts; property 2 (COC maximal) as one (and ...)
    prop3 = ACAS_DECLS + "\n" + _acas_input() + "\n" + "\n".join(f"(assert (<= Y_0 Y_{j}))" for j in range(1, 5))
    prop2 = ACAS_DECLS + "\n" + _acas_input() + "\n(assert (and " + " ".join(
        f"(>= Y_0 Y_{j})" for j in range(1, 5)) + "))"
    s3, s2 = parse_vnnlib(prop3), parse_vnnlib(prop2)
    assert len(s3.unsafe) == 1 and len(s3.unsafe[0]) == 4
    assert len(s2.unsafe) == 1 and len(s2.unsafe[0]) == 4
    rng = np.random.default_rng(1)
    for _ in range(200):
        y = rng.integers(-2, 3, size=5).astype(float)  # small integers: many ties
        assert check_unsafe(y, s3) is bool(y[0] <= y[1:].min())
        assert check_unsafe(y, s2) is bool(y[0] >= y[1:].max())


def test_product_of_disjunctions_strict_and_linear_terms():
    text = """
    (declare-const X_0 Real) (declare-const Y_0 Real) (declare-const Y_1 Real) (declare-const Y_2 Real)
    (assert (and (>= X_0 -1) (<= X_0 (- 2 0.5))))     ; box [-1, 1.5] with a term as the constant
    (assert (or (< Y_0 Y_1) (> Y_2 1.25)))
    (assert (or (and (<= (+ Y_0 (* 2 Y_1)) (- 3 Y_2))) (and (= Y_0 (- Y_1)))))
    """
    spec = parse_vnnlib(text)
    assert spec.lower.tolist() == [-1.0] and spec.upper.tolist() == [1.5]
    assert len(spec.unsafe) == 4

    def oracle(y):
        first = y[0] < y[1] or y[2] > 1.25
        second = y[0] + 2 * y[1] <= 3 - y[2] or y[0] == -y[1]
        return bool(first and second)

    rng = np.random.default_rng(2)
    for _ in range(400):
        y = rng.integers(-3, 4, size=3) / 4.0
        assert check_unsafe(y, spec) is oracle(y), y
    strict = [c for conj in spec.unsafe for c in conj if c.strict]
    assert strict and all(isinstance(c, LinearConstraint) for c in strict)


def test_no_output_constraint_means_everything_unsafe_and_contradiction_means_nothing():
    base = "(declare-const X_0 Real)(declare-const Y_0 Real)(assert (<= X_0 1))(assert (>= X_0 0))"
    assert parse_vnnlib(base).unsafe == ((),)
    assert check_unsafe([5.0], parse_vnnlib(base))
    contradiction = parse_vnnlib(base + "(assert (<= 1 0))")
    assert contradiction.unsafe == () and not check_unsafe([5.0], contradiction)


def test_scaled_input_bounds_are_rounded_outwards():
    spec = parse_vnnlib("(declare-const X_0 Real)(declare-const Y_0 Real)"
                        "(assert (<= (* 3 X_0) 1))(assert (>= (* 3 X_0) -1))")
    assert spec.upper[0] >= 1 / 3 and spec.upper[0] - 1 / 3 <= 1e-16
    assert spec.lower[0] <= -1 / 3 and -1 / 3 - spec.lower[0] <= 1e-16


def test_read_plain_and_gzipped_files(tmp_path):
    text = ACAS_DECLS + "\n" + _acas_input() + "\n(assert (<= Y_0 Y_1))\n"
    plain = tmp_path / "prop.vnnlib"
    plain.write_text(text)
    packed = tmp_path / "prop.vnnlib.gz"
    packed.write_bytes(gzip.compress(text.encode()))
    for path in (plain, packed):
        spec = read_vnnlib(path)
        assert spec.upper.tolist() == ACAS_BOX_HI
    with pytest.raises(FileNotFoundError):
        read_vnnlib(tmp_path / "absent.vnnlib")
    bad = tmp_path / "bad.vnnlib"
    bad.write_text("(declare-const X_0 Real)\n(assert (<= X_0 1)\n")
    with pytest.raises(VNNLibError, match=r"bad\.vnnlib:2: '\(' opened here is never closed"):
        read_vnnlib(bad)


HEAD = "(declare-const X_0 Real)\n(declare-const Y_0 Real)\n(declare-const Y_1 Real)\n"
BOX = "(assert (<= X_0 1))\n(assert (>= X_0 0))\n"


@pytest.mark.parametrize(
    ("text", "pattern"),
    [
        (HEAD + BOX + "(assert (<= Y_0 Y_1)))\n", r"f:6: unexpected '\)'"),
        (HEAD + BOX + "(assert (<= Y_0 Y_2))\n", r"f:6: variable Y_2 is used before it is declared"),
        (HEAD + BOX + "(assert (not (<= Y_0 Y_1)))\n", r"f:6: unsupported operator 'not'"),
        (HEAD + BOX + "\n(assert (<= (* Y_0 Y_1) 0))\n", r"f:7: products of variables"),
        (HEAD + BOX + "(assert (<= Y_0 abc))\n", r"f:6: expected a number or a variable.*'abc'"),
        (HEAD + BOX + "(assert (<= X_0 Y_1))\n", r"f:6: .*may not mix inputs X and outputs Y"),
        (HEAD + BOX + "(assert (<= (+ X_0 X_0 X_0) 1))\n(assert (<= (+ X_0 X_1) 1))\n",
         r"f:7: variable X_1 is used before"),
        (HEAD + BOX + "(assert (or (and (<= X_0 0.5) (<= Y_0 Y_1)) (and (>= X_0 0.5) (<= Y_1 Y_0))))\n",
         r"f:6: a disjunction over different input constraints"),
        (HEAD + "(declare-const X_1 Real)\n" + BOX + "(assert (<= (+ X_0 X_1) 1))\n",
         r"f:7: input constraints must bound one variable"),
        (HEAD + "(declare-const X_0 Int)\n", r"f:4: variable X_0 must have type Real"),
        (HEAD + "(declare-const Z_0 Real)\n", r"f:4: variable 'Z_0' must be named X_<i>"),
        (HEAD + "(declare-const X_0 Real)\n", r"f:4: variable X_0 is declared twice"),
        (HEAD + "(declare-const X_2 Real)\n" + BOX, r"must all be declared; missing X_1"),
        (HEAD + "(assert (<= X_0 1))\n", r"no lower bound for X_0"),
        (HEAD + "(assert (<= X_0 0))\n(assert (>= X_0 1))\n", r"input box is empty: X_0"),
        (HEAD + BOX + "(check-sat)\n(push 1)\n", r"f:7: unknown command 'push'"),
        (HEAD + BOX + "X_0\n", r"f:6: 'X_0' outside of parentheses"),
        (HEAD + BOX + "(assert (<= Y_0))\n", r"f:6: \(<= \.\.\.\) needs at least two arguments"),
    ],
)
def test_malformed_text_names_the_line(text, pattern):
    with pytest.raises(VNNLibError, match=pattern):
        parse_vnnlib(text, name="f")


def test_check_unsafe_validates_arguments():
    spec = parse_vnnlib(HEAD + BOX + "(assert (<= Y_0 Y_1))")
    with pytest.raises(ValueError, match=r"`y` must have shape \(2,\)"):
        check_unsafe([1.0, 2.0, 3.0], spec)
    with pytest.raises(ValueError, match="`y` must be finite"):
        check_unsafe([np.nan, 1.0], spec)
    with pytest.raises(TypeError, match="`spec` must be a VNNLibSpec"):
        check_unsafe([1.0, 2.0], {"unsafe": []})
    with pytest.raises(TypeError, match="`text` must be a str"):
        parse_vnnlib(b"(declare-const X_0 Real)")
