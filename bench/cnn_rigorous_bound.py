"""What a rigorous SDP-cert bound costs at the sizes CNNs bring (the dense Cholesky path).

For the project's PGD-trained MNIST CNN (``bench/models/mnist_cnn_pgd.npz``) and MNIST test image ``--image``,
target ``--target``: the instance is built with CROWN layer bounds and triangle rows, and M(θ) is taken at the
start multipliers plus small random complementarity multipliers (so that it is a full matrix, not the arrow of
the start, whose bound needs no factorisation; n counts the free coordinates only). Timed: materialising M(θ)
densely (``to_dense``, with its rounding bound) and a proof of t ≥ λ_max(M(θ)) (``sdpsolve.prove_lambda_max``
with ``max_bisections=0``: its block-Lanczos estimate, then Cholesky tests of tI − M(θ) from just above it);
then the same proof on random symmetric matrices of the sizes ``--sizes`` (the n of larger CNNs). Each time is
paired with the bound reached (t against the Lanczos estimate). Memory: the dense matrix and its factor,
16 n² bytes.

Usage::

    .venv/bin/python bench/cnn_rigorous_bound.py [--sizes 6000 10000] [--threads 2]

Writes bench/results/cnn_rigorous_bound.json (section ``cnn-rigorous`` of bench/render_tables.py).
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

from bench._machine import machine_record  # noqa: E402

DATA = ROOT.parent / "shared" / "data" / "raghunathan18" / "mnist_test.npz"


def timed_proof(M, err: float) -> dict:
    """One proof of t ≥ λ_max(M) (the Lanczos estimate inside, then Cholesky tests) with its time and tightness."""
    import sdpsolve

    n = M.shape[0]
    t0 = time.perf_counter()
    proof = sdpsolve.prove_lambda_max(M, err=err, max_bisections=0, rng=0)
    est = float(proof.estimate)
    return {"n": n, "proof_seconds": time.perf_counter() - t0, "factorisations": proof.cholesky_tries,
            "lambda_estimate": est, "t_proved": float(proof.t),
            "relative_excess": (float(proof.t) - est) / max(1.0, abs(est)), "memory_bytes": 16 * n * n}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", type=int, nargs="*", default=[6000, 10000])
    ap.add_argument("--image", type=int, default=0)
    ap.add_argument("--target", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2, help="BLAS threads (LAPACK's Cholesky)")
    ap.add_argument("--out", default=str(ROOT / "bench" / "results" / "cnn_rigorous_bound.json"))
    args = ap.parse_args(argv)
    from sdpsolve import limit_threads

    out = {"command": "bench/cnn_rigorous_bound.py " + " ".join(argv if argv is not None else sys.argv[1:]),
           "machine": machine_record(), "date": time.strftime("%Y-%m-%d %H:%M"), "threads": args.threads, "rows": []}
    rng = np.random.default_rng(0)
    with limit_threads(args.threads):
        if DATA.exists():
            from certifiers import SDPCertInstance, load_network

            net = load_network(ROOT / "bench" / "models" / "mnist_cnn_pgd.npz")
            data = np.load(DATA)
            x, y = data["X"][args.image].astype(np.float64), int(data["y"][args.image])
            inst = SDPCertInstance(net, x, 0.1, y, args.target, bounds="crown", triangle=True)
            theta = inst.start_multipliers()
            for blk in inst.row_blocks:
                if blk.kind == "complementarity":
                    theta[blk.start : blk.stop] = 0.01 * rng.standard_normal(blk.stop - blk.start)
            op = inst.operator(theta)
            t0 = time.perf_counter()
            B, err = op.to_dense()
            row = {"matrix": f"SDP-cert M(θ), CNN (PGD-trained), test image {args.image}, target {args.target}",
                   "materialise_seconds": time.perf_counter() - t0}
            row.update(timed_proof(B, err))
            out["rows"].append(row)
            print(row, flush=True)
        for n in args.sizes:
            A = rng.standard_normal((n, n)) / np.sqrt(n)
            A = 0.5 * (A + A.T)
            row = {"matrix": f"random symmetric (Wigner), n = {n}", "materialise_seconds": 0.0}
            row.update(timed_proof(A, 0.0))
            out["rows"].append(row)
            print(row, flush=True)
            del A
    out["machine"]["load_average_at_end"] = list(__import__("os").getloadavg())
    Path(args.out).write_text(json.dumps(out, indent=1) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
