"""The interior-point start of SDP-cert with and without the dual matrix's diagonal block, and from two starts.

For each instance (network, MNIST test image, target; ε = 0.1, ``bounds=crown``, triangle rows), the arguments
that ``solve_lagrangian`` passes to :func:`sdpsolve._lagrangian_ipm.lagrangian_ipm` are captured (the call is
intercepted, so they are exactly the ones of a real run), and the method is timed on them, one thread, to its
default tolerance for rtol = 1e-4 (1e-6), in three variants:

* ``structured, ξ = 3``: as shipped (the inputs' diagonal block first, Z⁻¹ from its Schur complement; start
  X = 3I);
* ``dense Z, ξ = 3``: the same start, Z treated as a dense matrix (``structure=False``: the arithmetic of the
  method before this change);
* ``structured, ξ = 1``: the earlier start X = I (``START_PRIMAL``).

Usage::

    .venv/bin/python bench/ipm_structure.py [--instances pgd_nn:0:0 grad_nn:24:3]

Writes bench/results/ipm_structure.json (section ``ipm-structure`` of bench/render_tables.py), rewritten after
every run. The instances need ../shared/data/raghunathan18 (skipped with a message when it is absent).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench._machine import code_commit, machine_record  # noqa: E402

DATA = ROOT.parent / "shared" / "data" / "raghunathan18"
VARIANTS = {"structured, ξ = 3": (True, 3.0), "dense Z, ξ = 3": (False, 3.0), "structured, ξ = 1": (True, 1.0)}


class _Captured(Exception):
    pass


def capture(net: str, image: int, target: int):
    """The positional and keyword arguments of the instance's interior-point call."""
    import sdpsolve._lagrangian as lag
    from certifiers import get_certifier, load_network

    network = load_network(DATA / f"{net}.npz")
    data = np.load(DATA / "mnist_test.npz")
    x, y = data["X"][image].astype(np.float64), int(data["y"][image])
    if target == y:
        raise SystemExit(f"{net}:{image}:{target}: the target is the label")
    plugin = get_certifier("sdp-cert", bounds="crown", triangle=True, rtol=1e-4, early_stop=False)
    inst = plugin.instance(network, x, y, target, 0.1)
    seen = {}

    def grab(*args, **kwargs):
        seen["args"], seen["kwargs"] = args, kwargs
        raise _Captured

    original = lag.lagrangian_ipm
    lag.lagrangian_ipm = grab
    try:
        plugin.solve(inst)
    except _Captured:
        pass
    finally:
        lag.lagrangian_ipm = original
    if "args" not in seen:
        raise SystemExit(f"{net}:{image}:{target}: solve_lagrangian did not call the interior-point method")
    kwargs = {k: v for k, v in seen["kwargs"].items() if k in ("tol",)}
    return seen["args"], kwargs


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--instances", nargs="*", default=["pgd_nn:0:0", "grad_nn:24:3"], metavar="NET:IMAGE:TARGET")
    ap.add_argument("--out", default=str(ROOT / "bench" / "results" / "ipm_structure.json"))
    args = ap.parse_args(argv)
    if not (DATA / "mnist_test.npz").exists():
        print(f"{DATA} missing: nothing to measure")
        return 0
    import sdpsolve._lagrangian_ipm as ipm
    from sdpsolve import limit_threads

    out = {"command": "bench/ipm_structure.py " + " ".join(argv if argv is not None else sys.argv[1:]),
           "machine": machine_record(), "date": time.strftime("%Y-%m-%d %H:%M"), "commit": code_commit(),
           "rows": []}

    def save():
        out["machine"]["load_average_at_end"] = list(__import__("os").getloadavg())
        Path(args.out).write_text(json.dumps(out, indent=1) + "\n")

    with limit_threads(1):
        for spec in args.instances:
            net, image, target = spec.split(":")
            pos, kw = capture(net, int(image), int(target))
            n, m = pos[2].shape
            row = {"instance": f"{net} test {image}, target {target}", "n": n, "m": m, "runs": {}}
            for name, (structure, xi) in VARIANTS.items():
                saved = ipm.START_PRIMAL
                ipm.START_PRIMAL = xi
                try:
                    t0 = time.perf_counter()
                    res = ipm.lagrangian_ipm(*pos, **kw, structure=structure)
                    row["runs"][name] = {"time": time.perf_counter() - t0, "iterations": res.iterations - 1,
                                         "converged": res.converged, "primal": res.primal, "dual": res.dual}
                finally:
                    ipm.START_PRIMAL = saved
                print(spec, name, row["runs"][name], flush=True)
            row["diagonal_block"] = int(ipm._diagonal_block(pos[0], pos[2]).size)
            out["rows"].append(row)
            save()
    save()
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
