"""The ``sdpsolve`` command line: a registry of subcommands, and ``sdpsolve solve``.

Subcommands are registered with :func:`add_command`; modules listed in ``PLUGIN_MODULES`` (``certifiers.cli``)
are imported when the parser is built and register theirs (``certify``, ``train``, ``demo``, ...). A plugin
module that is absent is skipped; an error *inside* a plugin module propagates.

Exit codes: 0 success, 1 solver failure (:class:`sdpsolve.SDPSolveError`), 2 bad input or usage (message on
stderr, no traceback; set the environment variable ``SDPSOLVE_DEBUG=1`` to get the traceback), 130 interrupt.

Examples
--------
Shell::

    sdpsolve solve G11.txt                       # G-set MAXCUT file: E = all by default
    sdpsolve solve cert.npy --equal 0 --rtol 1e-6 --json
"""

from __future__ import annotations

import argparse
import importlib
import json
import math
import os
import sys
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass

#: modules imported (if present) to register further subcommands
PLUGIN_MODULES = ("certifiers.cli",)


class UsageError(ValueError):
    """Bad command-line input: reported as ``sdpsolve CMD: error: ...`` with exit code 2."""


@dataclass(frozen=True)
class Command:
    """A registered subcommand."""

    name: str
    help: str
    build: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], int]


_COMMANDS: dict[str, Command] = {}


def add_command(
    name: str,
    help: str,
    build_parser: Callable[[argparse.ArgumentParser], None],
    run: Callable[[argparse.Namespace], int],
) -> None:
    """Register a subcommand ``sdpsolve NAME``.

    Parameters
    ----------
    name : str
        The subcommand (e.g. "certify").
    help : str
        One line shown by ``sdpsolve --help``.
    build_parser : callable
        ``build_parser(parser)`` adds the subcommand's arguments to an ``argparse.ArgumentParser``.
    run : callable
        ``run(args) -> int`` executes it and returns the exit code. ``ValueError``, ``TypeError`` and
        ``OSError`` raised by it are reported as bad input (exit 2), :class:`sdpsolve.SDPSolveError` as a
        failure (exit 1).

    Registering the same name again with the same functions is a no-op (module reloads); with different
    functions it raises ``ValueError``.
    """
    if not isinstance(name, str) or not name or name.startswith("-") or any(c.isspace() for c in name):
        raise ValueError(f"`name` must be a non-empty word not starting with '-', got {name!r}.")
    if not callable(build_parser) or not callable(run):
        raise TypeError("`build_parser` and `run` must be callable.")
    cmd = Command(name, help, build_parser, run)
    old = _COMMANDS.get(name)
    if old is not None and (_qualname(old.build), _qualname(old.run)) != (
        _qualname(build_parser),
        _qualname(run),
    ):
        raise ValueError(f"a subcommand named {name!r} is already registered (by {old.run.__module__}).")
    _COMMANDS[name] = cmd


def _qualname(fn) -> str:
    return f"{getattr(fn, '__module__', '')}.{getattr(fn, '__qualname__', repr(fn))}"


def commands() -> dict[str, Command]:
    """The registered subcommands by name (after loading the plugin modules)."""
    _load_plugins()
    return dict(_COMMANDS)


def _load_plugins() -> None:
    for module in PLUGIN_MODULES:
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as exc:
            # skip only when the plugin module itself (or its package) is absent
            parts = module.split(".")
            absent = {".".join(parts[: k + 1]) for k in range(len(parts))}
            if exc.name not in absent:
                raise


def build_parser() -> argparse.ArgumentParser:
    """The top-level parser with every registered subcommand."""
    parser = argparse.ArgumentParser(
        prog="sdpsolve",
        description="Matrix-free SDP solver with sound bounds, and neural-network certifiers built on it.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for cmd in commands().values():
        p = sub.add_parser(cmd.name, help=cmd.help, description=cmd.help)
        cmd.build(p)
        p.set_defaults(_command=cmd)
    return parser


def _version() -> str:
    try:
        from importlib.metadata import version

        return version("sdpsolve")
    except Exception:  # pragma: no cover - not installed
        return "unknown"


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit code (the console script passes it to ``sys.exit``)."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version, or a usage error already printed by argparse
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)
    cmd = getattr(args, "_command", None)
    if cmd is None:
        parser.print_help(sys.stderr)
        return 2
    from ._errors import SDPSolveError

    debug = os.environ.get("SDPSOLVE_DEBUG", "") not in ("", "0")
    try:
        code = cmd.run(args)
    except KeyboardInterrupt:
        print(f"sdpsolve {cmd.name}: interrupted", file=sys.stderr)
        return 130
    except SDPSolveError as exc:
        if debug:
            raise
        print(f"sdpsolve {cmd.name}: failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    except (ValueError, TypeError, OSError) as exc:
        if debug:
            raise
        print(f"sdpsolve {cmd.name}: error: {exc}", file=sys.stderr)
        return 2
    return 0 if code is None else int(code)


# -- sdpsolve solve ---------------------------------------------------------------------------------------
def _parse_equal(text: str):
    t = text.strip().lower()
    if t in ("all", "none"):
        return t
    try:
        idx = [int(s) for s in t.split(",") if s.strip() != ""]
    except ValueError:
        raise UsageError(
            f"--equal must be 'all', 'none' or comma-separated 0-based indices such as '0' or '0,3,7'; "
            f"got {text!r}."
        ) from None
    if not idx:
        raise UsageError(f"--equal got no indices: {text!r}.")
    return idx


def _parse_option(text: str) -> tuple[str, object]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    for conv in (int, float):
        try:
            return key, conv(value)
        except ValueError:
            pass
    return key, value


def _method_names() -> str:
    try:
        from . import _solve

        return ", ".join(["auto", *_solve.METHODS])
    except ImportError:  # pragma: no cover - solver core not importable
        return "auto, ..."


def _build_solve(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "file", help="problem file: .npy, .npz (sparse or with key 'M'), .mtx, or a G-set edge list"
    )
    p.add_argument(
        "--equal",
        metavar="E",
        help="rows with P_ii = 1: 'all', 'none', or 0-based indices 'i,j,...' "
        "(default: 'all' for G-set files, the file's own 'equal' for a plain .npz, else none)",
    )
    p.add_argument("--rtol", type=float, default=1e-4, help="relative gap to reach (default 1e-4)")
    p.add_argument("--atol", type=float, default=0.0, help="absolute gap to reach (default 0)")
    p.add_argument(
        "--bound",
        choices=("rigorous", "probabilistic", "estimate"),
        default="rigorous",
        help="kind of the reported upper bound (default rigorous; 'estimate' is not a bound)",
    )
    p.add_argument("--method", default="auto", help=f"one of: {_method_names()} (default auto)")
    p.add_argument("--time-limit", type=float, metavar="S", help="seconds for the optimisation")
    p.add_argument("--max-iter", type=int, metavar="K", help="iterations at most")
    p.add_argument("--seed", type=int, metavar="N", help="random seed (default: fresh entropy)")
    p.add_argument(
        "-o",
        "--option",
        type=_parse_option,
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="method option (repeatable), e.g. -o rank=8; see sdpsolve.OPTION_KEYS",
    )
    p.add_argument("--json", action="store_true", help="print one JSON object (SDPResult.to_dict()) instead")


def _finite_or_none(obj):
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, dict):
        return {k: _finite_or_none(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_finite_or_none(v) for v in obj]
    return obj


def _describe_equal(equal, n: int) -> str:
    import numpy as np

    from ._validation import equal_mask

    mask = equal_mask(equal, n)
    k = int(mask.sum())
    if k == 0:
        return "none (all rows P_ii <= 1)"
    if k == n:
        return f"all {n} rows (P_ii = 1)"
    idx = np.flatnonzero(mask)
    shown = ", ".join(str(i) for i in idx[:8]) + (", ..." if k > 8 else "")
    return f"{k} of {n} rows with P_ii = 1 ({shown})"


def _run_solve(args: argparse.Namespace) -> int:
    import scipy.sparse as sp

    from . import _solve
    from ._io import load_problem

    t0 = time.perf_counter()
    M, file_equal = load_problem(args.file)
    load_time = time.perf_counter() - t0
    n = M.shape[0]
    equal = file_equal if args.equal is None else _parse_equal(args.equal)
    options = dict(args.option)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = _solve.solve(
            M,
            equal=equal,
            method=args.method,
            rtol=args.rtol,
            atol=args.atol,
            max_iter=args.max_iter,
            time_limit=args.time_limit,
            bound=args.bound,
            rng=args.seed,
            options=options or None,
        )
    for w in caught:
        print(f"sdpsolve solve: warning: {w.message}", file=sys.stderr)
    if args.json:
        out = {"file": str(args.file), "n": n, **res.to_dict()}
        print(json.dumps(_finite_or_none(out), allow_nan=False))
        return 0
    if sp.issparse(M):
        storage = f"sparse, {M.nnz} stored entries"
    else:
        storage = "dense"
    if res.bound_kind == "probabilistic":
        kind = f"probabilistic bound, failure probability {res.failure_probability:.1e}"
    elif res.bound_kind == "estimate":
        kind = "estimate from a Ritz value: NOT a bound"
    else:
        kind = f"{res.bound_kind} bound"
    lines = [
        f"sdpsolve solve {args.file}",
        f"  n         {n} ({storage}; loaded in {load_time:.2f} s)",
        f"  E         {_describe_equal(equal, n)}",
        f"  method    {res.method}",
        f"  lower     {res.lower:.10g}",
        f"  upper     {res.upper:.10g}  ({kind})",
        f"  gap       {res.gap:.3e}  (rtol {args.rtol:g})",
        f"  status    {res.status.value}: {res.message}",
        f"  products  {res.n_matvec} matrix-vector products, {res.n_iter} iterations",
        f"  time      {res.time:.3f} s",
    ]
    print("\n".join(lines))
    return 0


add_command(
    "solve", "solve max <M,P> s.t. P ⪰ 0, diag(P) ≤ 1 (= 1 on E) from a file", _build_solve, _run_solve
)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
