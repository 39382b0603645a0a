"""``sdpsolve vnnlib``: parse, load the network and the property, call :func:`certifiers.verify_vnnlib`, print."""

from __future__ import annotations

import math
import sys
from pathlib import Path

from sdpsolve import limit_threads
from sdpsolve.cli import UsageError

from .._load import load_network
from .._vnnlib import read_vnnlib
from ..workflows._vnnlib_verify import VERIFY_METHODS, Clock, verify_vnnlib

NAME = "vnnlib"
HELP = "decide a VNN-LIB property for an ONNX network: sat (with a witness), unsat, unknown or timeout"


def build(p) -> None:
    p.add_argument("model", help="the network: .onnx (or .npz with W0, b0, W1, b1, ...)")
    p.add_argument("spec", help="the property: .vnnlib (or .vnnlib.gz)")
    p.add_argument("--timeout", type=float, metavar="S", help="seconds for the whole run, loading included")
    p.add_argument(
        "--method",
        action="append",
        metavar="NAME",
        help=f"stage to run (repeatable or comma-separated; default all): {', '.join(VERIFY_METHODS)}",
    )
    p.add_argument("--out", metavar="FILE", help="also write the result file (VNN-COMP format) here")
    p.add_argument("--sdp-time-limit", type=float, metavar="S", help="seconds per SDP row (default: the time left)")
    p.add_argument("--bab-timeout", type=float, default=60.0, metavar="S",
                   help="seconds of the bab stage (the verify pipeline) per output row (default 60; capped by the "
                   "time left)")
    p.add_argument("--seed", type=int, default=0, metavar="N", help="seed of the attack and the SDP solver")
    p.add_argument("--threads", type=int, default=1, metavar="N", help="torch/BLAS threads (default 1)")


def run(args) -> int:
    clock = Clock(None)
    if args.timeout is not None and not (math.isfinite(args.timeout) and args.timeout > 0):
        raise UsageError(f"--timeout must be a positive number of seconds, got {args.timeout!r}.")
    if args.sdp_time_limit is not None and not (math.isfinite(args.sdp_time_limit) and args.sdp_time_limit > 0):
        raise UsageError(f"--sdp-time-limit must be a positive number of seconds, got {args.sdp_time_limit!r}.")
    if not (math.isfinite(args.bab_timeout) and args.bab_timeout > 0):
        raise UsageError(f"--bab-timeout must be a positive number of seconds, got {args.bab_timeout!r}.")
    if args.seed < 0:
        raise UsageError(f"--seed must be >= 0, got {args.seed}.")
    if args.threads < 1:
        raise UsageError(f"--threads must be >= 1, got {args.threads}.")
    methods = VERIFY_METHODS
    if args.method:
        methods = [n.strip() for m in args.method for n in m.split(",") if n.strip()]
        bad = [m for m in methods if m not in VERIFY_METHODS]
        if bad or not methods:
            raise UsageError(f"--method must name stages among {', '.join(VERIFY_METHODS)}; got {bad or methods}.")
    out = Path(args.out) if args.out else None
    if out is not None and not out.parent.exists():
        raise UsageError(f"--out {out}: folder {out.parent} does not exist.")
    model_path, spec_path = Path(args.model), Path(args.spec)
    for what, path in (("MODEL", model_path), ("SPEC", spec_path)):
        if not path.is_file():
            raise UsageError(f"{what}: file not found: {path}")
    try:
        network = load_network(model_path)
    except (ValueError, TypeError, OSError, KeyError, ImportError) as exc:  # ImportError: onnx missing
        raise UsageError(f"MODEL {model_path}: {exc}") from None
    try:
        spec = read_vnnlib(spec_path)
    except ValueError as exc:  # VNNLibError names the file and line
        raise UsageError(str(exc)) from None
    if (spec.n_inputs, spec.n_outputs) != (network.input_dim, network.n_classes):
        raise UsageError(
            f"{spec_path} has {spec.n_inputs} inputs and {spec.n_outputs} outputs, but {args.model} has "
            f"{network.input_dim} inputs and {network.n_classes} outputs."
        )
    timeout = None if args.timeout is None else max(0.0, args.timeout - clock.elapsed())
    with limit_threads(args.threads):
        res = verify_vnnlib(network, spec, timeout=timeout, methods=methods, sdp_time_limit=args.sdp_time_limit,
                            bab_timeout=args.bab_timeout, seed=args.seed)
    text = res.to_vnncomp()
    print(text, flush=True)
    print(f"sdpsolve vnnlib: {res.status.value}: {res.reason}", file=sys.stderr)
    if out is not None:
        out.write_text(text + "\n")
    return 0
