"""What a rigorous SDP-cert bound costs at the sizes CNNs bring: the dense Cholesky against the envelope one.

M(θ) of SDP-cert is arrow plus block tridiagonal (row 0, one cross block per layer); a convolution's block is
local, so under reverse Cuthill–McKee with row 0 and the fully connected layers as a border
(``sdpsolve._cholesky.envelope_plan``) the factor is a narrow band. For each instance below, M(θ) is taken at
the start multipliers plus small random complementarity multipliers (so that it is a full matrix, not the
arrow of the start, whose bound needs no factorisation; n counts the free coordinates only), and a proof of
t ≥ λ_max(M(θ)) (``sdpsolve.prove_lambda_max`` with ``max_bisections=0``: its block-Lanczos estimate, then
Cholesky tests from just above it) is timed twice: from the dense matrix (``to_dense``, 16 n² bytes; skipped
above ``--dense-max-n``) and in the envelope (``to_sparse`` and the instance's plan). Each time is paired with
the bound reached (t against the Lanczos estimate) and the memory of the factorisation.

Instances: the project's PGD-trained MNIST CNN (``bench/models/mnist_cnn_pgd.npz``, test image ``--image``,
target ``--target``, ε = 0.1, CROWN bounds); random CNNs of CIFAR shape (3, s, s) → conv 4×4 stride 2 (16
channels) → conv 4×4 stride 2 (32 channels) → 100 → 10 for s in ``--cifar-sizes`` (He-initialised, a random
image, ε = 0.01, IBP bounds above s = 32); then the dense proof on random symmetric matrices of the sizes
``--sizes`` (a reference for the dense path's cost).

Usage::

    .venv/bin/python bench/cnn_rigorous_bound.py [--cifar-sizes 32 64] [--sizes 6000 10000] [--threads 2]

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

from bench._machine import code_commit, machine_record  # noqa: E402

DATA = ROOT.parent / "shared" / "data" / "raghunathan18" / "mnist_test.npz"


def timed_proof(M, err: float = 0.0) -> dict:
    """One proof of t ≥ λ_max(M) (the Lanczos estimate inside, then Cholesky tests) with its time and tightness."""
    import sdpsolve

    t0 = time.perf_counter()
    proof = sdpsolve.prove_lambda_max(M, err=err, max_bisections=0, rng=0)
    est = float(proof.estimate)
    return {"proof_seconds": time.perf_counter() - t0, "factorisations": proof.cholesky_tries,
            "factorisation": proof.factorisation, "lambda_estimate": est, "t_proved": float(proof.t),
            "relative_excess": (float(proof.t) - est) / max(1.0, abs(est))}


def random_cifar_cnn(side: int, seed: int = 0):
    """(3, side, side) → conv 4×4/2 (16) → conv 4×4/2 (32) → 100 → 10, He-initialised, zero biases."""
    from certifiers import Conv2d, ReLUNetwork

    rng = np.random.default_rng(seed)
    c1 = Conv2d(rng.standard_normal((16, 3, 4, 4)) * np.sqrt(2 / 48), (3, side, side), stride=2, padding=1)
    c2 = Conv2d(rng.standard_normal((32, 16, 4, 4)) * np.sqrt(2 / 256), c1.out_shape, stride=2, padding=1)
    W = rng.standard_normal((100, c2.shape[0])) * np.sqrt(2 / c2.shape[0])
    W2 = rng.standard_normal((10, 100)) * np.sqrt(2 / 100)
    return ReLUNetwork([c1, c2, W, W2], [np.zeros(c1.shape[0]), np.zeros(c2.shape[0]), np.zeros(100), np.zeros(10)])


def instance_rows(name: str, inst, rng, dense_max_n: int) -> list[dict]:
    """The dense and the envelope proof for M(θ) of one SDP-cert instance."""
    theta = inst.start_multipliers()
    for blk in inst.row_blocks:
        if blk.kind == "complementarity":
            theta[blk.start : blk.stop] = 0.01 * rng.standard_normal(blk.stop - blk.start)
    op = inst.operator(theta)
    rows = []
    if inst.n <= dense_max_n:
        t0 = time.perf_counter()
        B, err = op.to_dense()
        row = {"matrix": name, "n": inst.n, "path": "dense", "materialise_seconds": time.perf_counter() - t0,
               "memory_bytes": 16 * inst.n * inst.n}
        row.update(timed_proof(B, err))
        del B
        rows.append(row)
        print(row, flush=True)
    else:
        rows.append({"matrix": name, "n": inst.n, "path": "dense", "skipped": f"n > --dense-max-n {dense_max_n}",
                     "memory_bytes": 16 * inst.n * inst.n})
    t0 = time.perf_counter()
    plan = op.sparse_plan()
    S, _ = op.to_sparse()
    row = {"matrix": name, "n": inst.n, "path": "envelope", "materialise_seconds": time.perf_counter() - t0,
           "memory_bytes": int(plan.memory), "border": int(plan.border), "bandwidth": int(plan.bandwidth),
           "nonzeros": int(S.nnz)}
    row.update(timed_proof(op))
    rows.append(row)
    print(row, flush=True)
    return rows


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cifar-sizes", type=int, nargs="*", default=[32, 64])
    ap.add_argument("--sizes", type=int, nargs="*", default=[6000, 10000])
    ap.add_argument("--image", type=int, default=0)
    ap.add_argument("--target", type=int, default=3)
    ap.add_argument("--dense-max-n", type=int, default=12000, help="largest n proved densely (16 n² bytes)")
    ap.add_argument("--threads", type=int, default=2, help="BLAS threads (LAPACK's Cholesky)")
    ap.add_argument("--out", default=str(ROOT / "bench" / "results" / "cnn_rigorous_bound.json"))
    args = ap.parse_args(argv)
    from certifiers import SDPCertInstance, load_network
    from sdpsolve import limit_threads

    out = {"command": "bench/cnn_rigorous_bound.py " + " ".join(argv if argv is not None else sys.argv[1:]),
           "machine": machine_record(), "date": time.strftime("%Y-%m-%d %H:%M"), "commit": code_commit(),
           "threads": args.threads, "rows": []}
    rng = np.random.default_rng(0)
    with limit_threads(args.threads):
        if DATA.exists():
            net = load_network(ROOT / "bench" / "models" / "mnist_cnn_pgd.npz")
            data = np.load(DATA)
            x, y = data["X"][args.image].astype(np.float64), int(data["y"][args.image])
            inst = SDPCertInstance(net, x, 0.1, y, args.target, bounds="crown", triangle=True)
            name = f"MNIST CNN (PGD-trained), test image {args.image}, target {args.target}, ε = 0.1"
            out["rows"] += instance_rows(name, inst, rng, args.dense_max_n)
        else:
            print(f"{DATA} missing: the trained CNN's instance is skipped", flush=True)
        for side in args.cifar_sizes:
            net = random_cifar_cnn(side)
            x = np.random.default_rng(1).random(net.input_dim)
            y = int(net.predict(x[None])[0])
            bounds = "crown" if side <= 32 else "ibp"
            inst = SDPCertInstance(net, x, 0.01, y, (y + 1) % 10, bounds=bounds, triangle=True)
            name = f"random CNN (3, {side}, {side}), ε = 0.01, {bounds} bounds"
            out["rows"] += instance_rows(name, inst, rng, args.dense_max_n)
        for n in args.sizes:
            A = rng.standard_normal((n, n)) / np.sqrt(n)
            A = 0.5 * (A + A.T)
            row = {"matrix": f"random symmetric (Wigner), n = {n}", "n": n, "path": "dense",
                   "materialise_seconds": 0.0, "memory_bytes": 16 * n * n}
            row.update(timed_proof(A))
            out["rows"].append(row)
            print(row, flush=True)
            del A
    out["machine"]["load_average_at_end"] = list(__import__("os").getloadavg())
    Path(args.out).write_text(json.dumps(out, indent=1) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
