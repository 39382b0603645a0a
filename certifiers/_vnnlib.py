"""Read VNN-LIB properties (the format of VNN-COMP): an input box and an unsafe output region.

A VNN-LIB file states the *negation* of a property: an input ``x`` with outputs ``y = f(x)`` is a
counterexample iff it satisfies every ``assert``. This module supports the fragment used by the VNN-COMP
MNIST, ACAS Xu and similar benchmarks:

* ``(declare-const X_i Real)`` for the inputs and ``(declare-const Y_j Real)`` for the outputs (indices
  0, 1, … without gaps);
* input constraints that bound single variables, ``(assert (<= X_0 0.5))``, ``(assert (>= X_0 0.1))``
  (either side may be the constant, ``=`` fixes a variable), possibly inside ``and``; together they must
  give every input a finite lower and upper bound — the input set is one box;
* output constraints that are linear (in)equalities over Y with constants, combined with ``and`` / ``or``
  in any nesting, e.g. ``(assert (<= Y_0 Y_1))`` or
  ``(assert (or (and (>= Y_1 Y_0)) (and (>= Y_2 Y_0))))``. Linear terms are numbers, variables,
  ``(+ …)``, ``(- …)`` and ``(* c …)`` with at most one non-constant factor.

The unsafe region is returned in disjunctive normal form: a tuple of conjunctions, each a tuple of
:class:`LinearConstraint` ``aᵀy + b ≤ 0`` (``< 0`` when ``strict``). An output ``y`` is unsafe iff some
conjunction holds entirely. Strict input bounds (``<``, ``>``) are read as non-strict, i.e. the box is the
closure of the stated input set (a superset, so a proof over the box is a proof for the file).

Examples
--------
>>> spec = parse_vnnlib('''
... (declare-const X_0 Real)
... (declare-const Y_0 Real)
... (declare-const Y_1 Real)
... (assert (>= X_0 0.0))
... (assert (<= X_0 1.0))
... (assert (>= Y_1 Y_0))
... ''')
>>> spec.lower.tolist(), spec.upper.tolist()
([0.0], [1.0])
>>> spec.unsafe[0][0]
LinearConstraint(a=[1.0, -1.0], b=0.0, strict=False)
>>> check_unsafe([2.0, 1.0], spec), check_unsafe([1.0, 2.0], spec)
(False, True)
"""

from __future__ import annotations

import gzip
import itertools
import math
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from sdpsolve.rounding import down, up

#: most conjunctions the unsafe region may expand to (products of disjunctions grow fast)
MAX_CONJUNCTIONS = 100_000

_TOKEN = re.compile(r"\(|\)|[^\s()]+")
_VAR = re.compile(r"^([XY])_(\d+)$")
_COMPARISONS = ("<=", ">=", "<", ">", "=")
_IGNORED_COMMANDS = ("set-logic", "set-info", "set-option", "check-sat", "get-model", "exit")


class VNNLibError(ValueError):
    """A VNN-LIB text that is malformed or outside the supported fragment (message names the line)."""


@dataclass(frozen=True, eq=False)
class LinearConstraint:
    """The constraint ``aᵀy + b ≤ 0`` on the outputs (``< 0`` when ``strict``)."""

    a: np.ndarray
    b: float
    strict: bool = False

    def holds(self, y: np.ndarray) -> bool:
        """Whether the float64 output vector ``y`` satisfies the constraint."""
        value = float(self.a @ y) + self.b
        return value < 0 if self.strict else value <= 0

    def __repr__(self) -> str:
        return f"LinearConstraint(a={self.a.tolist()}, b={self.b!r}, strict={self.strict})"


@dataclass(frozen=True, eq=False)
class VNNLibSpec:
    """A parsed VNN-LIB property.

    Attributes
    ----------
    lower, upper : numpy.ndarray
        The input box, shape (n_inputs,), float64, ``lower <= upper``.
    unsafe : tuple of tuple of LinearConstraint
        The unsafe output region as a disjunction of conjunctions. ``((),)`` (one empty conjunction) means
        every output is unsafe (no output constraint); ``()`` means none is (the output constraints are
        contradictory).
    n_outputs : int
        Number of declared outputs ``Y_j``.
    """

    lower: np.ndarray
    upper: np.ndarray
    unsafe: tuple
    n_outputs: int

    @property
    def n_inputs(self) -> int:
        return int(self.lower.shape[0])

    def polytopes(self) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """Each conjunction as arrays ``(A, b, strict)``: ``A y + b ≤ 0`` row-wise (``<`` where strict)."""
        out = []
        for conj in self.unsafe:
            A = np.array([c.a for c in conj], dtype=np.float64).reshape(len(conj), self.n_outputs)
            b = np.array([c.b for c in conj], dtype=np.float64)
            s = np.array([c.strict for c in conj], dtype=bool)
            out.append((A, b, s))
        return out

    def contains_input(self, x) -> bool:
        """Whether ``x`` (shape (n_inputs,)) lies in the input box."""
        x = _as_vector(x, self.n_inputs, "x")
        return bool(np.all(x >= self.lower) and np.all(x <= self.upper))

    def as_margin_property(self) -> tuple[int, tuple[int, ...]] | None:
        """``(label, targets)`` when the unsafe region is "some y_j ≥ y_label for j in targets", else None.

        This is the form of the VNN-COMP MNIST/CIFAR robustness properties; a margin certifier proves it by
        showing f_j − f_label < 0 over the box for every target j.
        """
        label, targets = None, []
        for conj in self.unsafe:
            if len(conj) != 1 or conj[0].b != 0:
                return None
            a = conj[0].a
            nz = np.flatnonzero(a)
            if len(nz) != 2 or sorted(a[nz].tolist()) != [-1.0, 1.0]:
                return None
            lab, tgt = (int(nz[0]), int(nz[1])) if a[nz[0]] == 1.0 else (int(nz[1]), int(nz[0]))
            if label is not None and lab != label:
                return None
            label = lab
            targets.append(tgt)
        if label is None:
            return None
        return label, tuple(sorted(set(targets)))


def check_unsafe(y, spec: VNNLibSpec) -> bool:
    """Whether the output vector ``y`` lies in the unsafe region of ``spec`` (evaluated in float64).

    Parameters
    ----------
    y : array_like, shape (n_outputs,)
        One output vector (a (1, n_outputs) row is accepted).
    spec : VNNLibSpec

    Returns
    -------
    bool
        True iff some conjunction of ``spec.unsafe`` holds at ``y``.
    """
    if not isinstance(spec, VNNLibSpec):
        raise TypeError(f"`spec` must be a VNNLibSpec, got {type(spec).__name__}.")
    y = _as_vector(y, spec.n_outputs, "y")
    return any(all(c.holds(y) for c in conj) for conj in spec.unsafe)


def _as_vector(v, n: int, name: str) -> np.ndarray:
    arr = np.asarray(v, dtype=np.float64)
    if arr.ndim == 2 and arr.shape[0] == 1:
        arr = arr[0]
    if arr.shape != (n,):
        raise ValueError(f"`{name}` must have shape ({n},) for this property, got {np.shape(v)}.")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"`{name}` must be finite, got NaN or inf entries.")
    return arr


# -- reading ------------------------------------------------------------------------------------------------
def read_vnnlib(path) -> VNNLibSpec:
    """Parse a ``.vnnlib`` file (or a gzip-compressed ``.vnnlib.gz``); errors name the file and line."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"VNN-LIB file not found: {path}")
    raw = path.read_bytes()
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise VNNLibError(f"{path}: not a UTF-8 text file ({exc}).") from None
    return parse_vnnlib(text, name=str(path))


class _Atom(str):
    line: int


class _List(list):
    line: int


def _tokenize_and_read(text: str, name: str) -> list:
    """Text → list of top-level S-expressions; every node carries the line where it starts."""
    top: list = []
    stack: list[_List] = []
    for lineno, line in enumerate(text.splitlines(), start=1):
        line = line.split(";", 1)[0]
        for tok in _TOKEN.findall(line):
            if tok == "(":
                node = _List()
                node.line = lineno
                stack.append(node)
            elif tok == ")":
                if not stack:
                    raise VNNLibError(f"{name}:{lineno}: unexpected ')' with no matching '('.")
                node = stack.pop()
                (stack[-1] if stack else top).append(node)
            else:
                atom = _Atom(tok)
                atom.line = lineno
                if not stack:
                    raise VNNLibError(f"{name}:{lineno}: {tok!r} outside of parentheses.")
                stack[-1].append(atom)
    if stack:
        raise VNNLibError(f"{name}:{stack[-1].line}: '(' opened here is never closed.")
    return top


@dataclass
class _Linear:
    """Σ coef[var] · var + const; vars are ("X", i) / ("Y", j)."""

    coef: dict
    const: float

    def scaled(self, s: float) -> _Linear:
        return _Linear({k: s * v for k, v in self.coef.items() if s * v != 0.0}, s * self.const)

    def plus(self, other: _Linear, sign: float = 1.0) -> _Linear:
        coef = dict(self.coef)
        for k, v in other.coef.items():
            coef[k] = coef.get(k, 0.0) + sign * v
        return _Linear({k: v for k, v in coef.items() if v != 0.0}, self.const + sign * other.const)


@dataclass(frozen=True)
class _Atomic:
    """expr ≤ 0 (< 0 when strict), from source line ``line``."""

    expr: _Linear
    strict: bool
    line: int


class _Parser:
    def __init__(self, name: str):
        self.name = name
        self.declared: dict[str, int] = {"X": -1, "Y": -1}
        self.seen: dict[str, set] = {"X": set(), "Y": set()}

    def error(self, node, msg: str) -> VNNLibError:
        return VNNLibError(f"{self.name}:{getattr(node, 'line', '?')}: {msg}")

    # -- declarations -----------------------------------------------------------------------------------
    def declare(self, node) -> None:
        if len(node) != 3 or not all(isinstance(t, _Atom) for t in node[1:]):
            raise self.error(node, "expected (declare-const NAME Real).")
        m = _VAR.match(node[1])
        if not m:
            raise self.error(node, f"variable {node[1]!r} must be named X_<i> (input) or Y_<j> (output).")
        if node[2] != "Real":
            raise self.error(node, f"variable {node[1]} must have type Real, got {node[2]!r}.")
        kind, idx = m.group(1), int(m.group(2))
        if idx in self.seen[kind]:
            raise self.error(node, f"variable {node[1]} is declared twice.")
        self.seen[kind].add(idx)

    def variable(self, atom) -> tuple[str, int] | None:
        m = _VAR.match(atom)
        if not m:
            return None
        key = (m.group(1), int(m.group(2)))
        if key[1] not in self.seen[key[0]]:
            raise self.error(atom, f"variable {atom} is used before it is declared.")
        return key

    # -- terms ------------------------------------------------------------------------------------------
    def term(self, node) -> _Linear:
        if isinstance(node, _Atom):
            var = self.variable(node)
            if var is not None:
                return _Linear({var: 1.0}, 0.0)
            try:
                value = float(node)
            except ValueError:
                raise self.error(node, f"expected a number or a variable X_i / Y_j, got {str(node)!r}.") from None
            if not math.isfinite(value):
                raise self.error(node, f"constants must be finite, got {str(node)!r}.")
            return _Linear({}, value)
        if not node or not isinstance(node[0], _Atom):
            raise self.error(node, "expected a term such as (+ Y_0 1.5).")
        op, args = node[0], [self.term(a) for a in node[1:]]
        if op == "+" and args:
            out = args[0]
            for a in args[1:]:
                out = out.plus(a)
            return out
        if op == "-" and args:
            if len(args) == 1:
                return args[0].scaled(-1.0)
            out = args[0]
            for a in args[1:]:
                out = out.plus(a, -1.0)
            return out
        if op == "*" and args:
            nonconst = [a for a in args if a.coef]
            if len(nonconst) > 1:
                raise self.error(node, "products of variables are not linear; only (* c term) is supported.")
            factor = math.prod(a.const for a in args if not a.coef)
            return nonconst[0].scaled(factor) if nonconst else _Linear({}, factor)
        raise self.error(node, f"unsupported term operator {str(op)!r}; expected +, - or * with arguments.")

    # -- formulas → DNF (list of conjunctions, each a list of _Atomic) ------------------------------------
    def dnf(self, node) -> list[list[_Atomic]]:
        if isinstance(node, _Atom) or not node or not isinstance(node[0], _Atom):
            raise self.error(node, "expected a formula such as (<= Y_0 Y_1), (and ...) or (or ...).")
        op, args = node[0], node[1:]
        if op == "and":
            out: list[list[_Atomic]] = [[]]
            for a in args:
                part = self.dnf(a)
                if len(out) * len(part) > MAX_CONJUNCTIONS:
                    raise self.error(node, f"the formula expands to more than {MAX_CONJUNCTIONS} conjunctions.")
                out = [x + y for x, y in itertools.product(out, part)]
            return out
        if op == "or":
            out = []
            for a in args:
                out.extend(self.dnf(a))
            if len(out) > MAX_CONJUNCTIONS:
                raise self.error(node, f"the formula expands to more than {MAX_CONJUNCTIONS} conjunctions.")
            return out
        if op in _COMPARISONS:
            if len(args) < 2:
                raise self.error(node, f"({op} ...) needs at least two arguments, got {len(args)}.")
            terms = [self.term(a) for a in args]
            atoms = []
            for lhs, rhs in zip(terms, terms[1:]):  # chains (<= a b c) mean a <= b and b <= c
                if op in ("<=", "<", "="):
                    atoms.append(_Atomic(lhs.plus(rhs, -1.0), op == "<", node.line))
                if op in (">=", ">", "="):
                    atoms.append(_Atomic(rhs.plus(lhs, -1.0), op == ">", node.line))
            return [atoms]
        raise self.error(
            node, f"unsupported operator {str(op)!r}; supported: and, or, {', '.join(_COMPARISONS)}."
        )


def parse_vnnlib(text: str, *, name: str = "<string>") -> VNNLibSpec:
    """Parse VNN-LIB text into a :class:`VNNLibSpec`.

    Parameters
    ----------
    text : str
        The property (comments start with ``;``).
    name : str
        Used in error messages (``name:line: message``).

    Raises
    ------
    VNNLibError
        (a ``ValueError``) for malformed text, undeclared variables, unsupported operators, non-linear terms,
        constraints mixing inputs and outputs, a disjunction over different input boxes, or an input without
        a finite lower and upper bound; the message names the line.
    """
    if not isinstance(text, str):
        raise TypeError(f"`text` must be a str, got {type(text).__name__}.")
    p = _Parser(name)
    lower: dict[int, float] = {}
    upper: dict[int, float] = {}
    output_dnfs: list[list[list[_Atomic]]] = []
    for node in _tokenize_and_read(text, name):
        if not isinstance(node, _List) or not node or not isinstance(node[0], _Atom):
            raise p.error(node, "expected a command such as (declare-const X_0 Real) or (assert ...).")
        cmd = node[0]
        if cmd == "declare-const":
            p.declare(node)
        elif cmd == "assert":
            if len(node) != 2:
                raise p.error(node, f"(assert F) takes one formula, got {len(node) - 1}.")
            box, outputs = _split(p, node, p.dnf(node[1]))
            for idx, lo, hi in box:
                lower[idx] = max(lower.get(idx, -math.inf), lo)
                upper[idx] = min(upper.get(idx, math.inf), hi)
            output_dnfs.append(outputs)
        elif cmd in _IGNORED_COMMANDS:
            continue
        else:
            raise p.error(node, f"unknown command {str(cmd)!r}; expected declare-const or assert.")

    n_in = _count(p, "X")
    n_out = _count(p, "Y")
    missing_lo = [i for i in range(n_in) if not math.isfinite(lower.get(i, -math.inf))]
    missing_hi = [i for i in range(n_in) if not math.isfinite(upper.get(i, math.inf))]
    if missing_lo or missing_hi:
        parts = []
        if missing_lo:
            parts.append(f"no lower bound for {_names('X', missing_lo)}")
        if missing_hi:
            parts.append(f"no upper bound for {_names('X', missing_hi)}")
        raise VNNLibError(f"{name}: the input set must be a box; " + "; ".join(parts) + ".")
    lo = np.array([lower[i] for i in range(n_in)], dtype=np.float64)
    hi = np.array([upper[i] for i in range(n_in)], dtype=np.float64)
    empty = np.flatnonzero(lo > hi)
    if empty.size:
        i = int(empty[0])
        raise VNNLibError(f"{name}: the input box is empty: X_{i} has lower bound {lo[i]!r} > upper {hi[i]!r}.")

    unsafe: list[list[_Atomic]] = [[]]
    for dnf in output_dnfs:
        if len(unsafe) * len(dnf) > MAX_CONJUNCTIONS:
            raise VNNLibError(f"{name}: the output constraints expand to more than {MAX_CONJUNCTIONS} conjunctions.")
        unsafe = [a + b for a, b in itertools.product(unsafe, dnf)]
    conjunctions = []
    for conj in unsafe:
        out = []
        feasible = True
        for atom in conj:
            a = np.zeros(n_out)
            for (_, j), v in atom.expr.coef.items():
                a[j] = v
            if not a.any():  # a constant comparison: true (drop it) or false (drop the conjunction)
                holds = atom.expr.const < 0 if atom.strict else atom.expr.const <= 0
                feasible = feasible and holds
                continue
            a.setflags(write=False)
            out.append(LinearConstraint(a, float(atom.expr.const), atom.strict))
        if feasible:
            conjunctions.append(tuple(out))
    lo.setflags(write=False)
    hi.setflags(write=False)
    return VNNLibSpec(lo, hi, tuple(conjunctions), n_out)


def _count(p: _Parser, kind: str) -> int:
    seen = p.seen[kind]
    n = len(seen)
    if seen and max(seen) != n - 1:
        gaps = sorted(set(range(max(seen) + 1)) - seen)
        raise VNNLibError(f"{p.name}: variables {kind}_0 … {kind}_{max(seen)} must all be declared; "
                          f"missing {_names(kind, gaps)}.")
    return n


def _names(kind: str, idx: list[int]) -> str:
    shown = ", ".join(f"{kind}_{i}" for i in idx[:5])
    return shown + (f" and {len(idx) - 5} more" if len(idx) > 5 else "")


def _split(p: _Parser, node, dnf: list[list[_Atomic]]):
    """Separate the input-box atoms (shared by every disjunct) from the output DNF of one assert."""
    boxes, outputs = [], []
    for conj in dnf:
        box, outs = [], []
        for atom in conj:
            kinds = {k for k, _ in atom.expr.coef}
            if kinds == {"X", "Y"}:
                raise VNNLibError(f"{p.name}:{atom.line}: a constraint may not mix inputs X and outputs Y.")
            if kinds == {"X"}:
                box.append(_box_atom(p, atom))
            else:
                outs.append(atom)
        boxes.append(sorted(box))
        outputs.append(outs)
    if any(b != boxes[0] for b in boxes[1:]):
        raise VNNLibError(
            f"{p.name}:{node.line}: a disjunction over different input constraints is not supported "
            "(the input set must be one box)."
        )
    return (boxes[0] if boxes else []), outputs


def _box_atom(p: _Parser, atom: _Atomic) -> tuple[int, float, float]:
    """``k·X_i + c ≤ 0`` → (i, lower, upper); a division by |k| ≠ 1 is rounded outwards."""
    if len(atom.expr.coef) != 1:
        raise VNNLibError(
            f"{p.name}:{atom.line}: input constraints must bound one variable (a box), got a constraint on "
            f"{_names('X', sorted(i for _, i in atom.expr.coef))}."
        )
    ((_, i), k), = atom.expr.coef.items()
    value = -atom.expr.const / k + 0.0  # + 0.0 turns -0.0 into 0.0
    if abs(k) != 1.0:
        value = up(value) if k > 0 else down(value)
    return (i, -math.inf, value) if k > 0 else (i, value, math.inf)
