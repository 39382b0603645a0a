"""The strong attack (``--method attack``) against AutoAttack, side by side on the NeurIPS 2018 networks.

AutoAttack (Croce & Hein, ICML 2020; the reference for attack strength) runs in its own virtual environment
under a temporary folder, built by this script from its public source (``--autoattack-src``: a checkout or a
bare git directory of github.com/fra31/auto-attack; the column is skipped with a message when absent). That
environment sees torch and numpy of the project's ``.venv`` and AutoAttack's pure-Python source through a
``.pth`` file; the project does not depend on it. AutoAttack runs in its own process, in
float32, with ``version="standard"`` (APGD-CE, APGD-T, FAB-T, Square; the attacks after the first only on the
points not yet broken) on the network's torch module (``ReLUNetwork.to_torch``), inputs as 1 × 28 × 28 images.
Its adversarial inputs are then re-checked here exactly like ours: projected into the ε-ball ∩ [0, 1] and
confirmed by a float64 forward pass (``certifiers.confirm_witness``); only confirmed ones count.

Per network (first ``--count`` MNIST test images, ε = ``--eps``): counterexamples found by each attack, by
each one only, and seconds per image (wall time of each attack on the batch, divided by the images; one CPU
thread each, one after the other).

Usage::

    .venv/bin/python bench/attack_vs_autoattack.py --autoattack-src PATH [--count 200] [--eps 0.1]

Writes bench/results/attack_vs_autoattack.json (section ``attack-vs-autoattack`` of bench/render_tables.py).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench._machine import code_commit, machine_record  # noqa: E402

DATA = ROOT.parent / "shared" / "data" / "raghunathan18"
NETS = ("grad_nn", "lp_nn", "pgd_nn")

#: what runs inside AutoAttack's environment: the network's torch module, AutoAttack standard, the result saved
PEER_SCRIPT = r"""
import sys, time
import numpy as np
import torch
from autoattack import AutoAttack

torch.set_num_threads(1)
data = np.load(sys.argv[1], allow_pickle=False)
Ws = [torch.tensor(data[f"W{i}"], dtype=torch.float32) for i in range(int(data["n_layers"]))]
bs = [torch.tensor(data[f"b{i}"], dtype=torch.float32) for i in range(int(data["n_layers"]))]


class Net(torch.nn.Module):
    def forward(self, x):
        h = x.reshape(x.shape[0], -1)
        for i, (W, b) in enumerate(zip(Ws, bs)):
            h = h @ W.T + b
            if i < len(Ws) - 1:
                h = torch.relu(h)
        return h


X = torch.tensor(data["X"], dtype=torch.float32).reshape(-1, 1, 28, 28)
y = torch.tensor(data["y"], dtype=torch.long)
adversary = AutoAttack(Net().eval(), norm="Linf", eps=float(data["eps"]), version="standard", device="cpu",
                       verbose=False, seed=0)
t0 = time.perf_counter()
X_adv = adversary.run_standard_evaluation(X, y, bs=len(X))
seconds = time.perf_counter() - t0
np.savez(sys.argv[2], X_adv=X_adv.reshape(len(X), -1).double().numpy(), seconds=seconds)
"""


def build_peer(src: str | None, folder: Path) -> tuple[Path | None, str]:
    """A virtual environment with AutoAttack from ``src`` and the project's torch; (python, note)."""
    if not src:
        return None, "not run: give --autoattack-src (a checkout of github.com/fra31/auto-attack)"
    src_path = Path(src)
    code = folder / "auto-attack"
    if (src_path / "autoattack").is_dir():
        shutil.copytree(src_path, code, ignore=shutil.ignore_patterns(".git"))
    else:  # a bare git directory: its Python sources and setup files (a mirror may lack the large files)
        git = ["git", f"--git-dir={src_path}"]
        try:
            names = subprocess.run([*git, "ls-tree", "-r", "--name-only", "HEAD"], capture_output=True, text=True,
                                   check=True, timeout=60).stdout.split()
            for name in names:
                if name.endswith(".py") or name in ("README.md", "LICENSE"):
                    target = code / name
                    target.parent.mkdir(parents=True, exist_ok=True)
                    target.write_bytes(subprocess.run([*git, "show", f"HEAD:{name}"], capture_output=True,
                                                      check=True, timeout=60).stdout)
        except (OSError, subprocess.SubprocessError):
            return None, f"not run: no AutoAttack source in {src}"
        if not (code / "autoattack" / "autoattack.py").is_file():
            return None, f"not run: no AutoAttack source in {src}"
    env = folder / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(env)], check=True)
    python = env / "bin" / "python"
    site = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          capture_output=True, text=True, check=True).stdout.strip()
    # torch and numpy of the project's environment (not reinstalled), and AutoAttack's pure-Python source
    (Path(site) / "peer_packages.pth").write_text(f"{code}\n{sysconfig.get_paths()['purelib']}\n")
    proc = subprocess.run([str(python), "-c", "import autoattack, torch"], capture_output=True, text=True)
    if proc.returncode != 0:
        return None, f"not run: AutoAttack does not import ({proc.stderr.strip()[-300:]})"
    commit = subprocess.run(["git", f"--git-dir={src_path / '.git' if (src_path / '.git').exists() else src_path}",
                             "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    return python, f"AutoAttack {commit or '(commit unknown)'}"


def run_peer(python: Path, net, X, y, eps: float, folder: Path) -> tuple[np.ndarray, float]:
    arrays = {"n_layers": net.n_layers, "X": X, "y": y, "eps": eps}
    for i in range(net.n_layers):
        arrays[f"W{i}"] = net.dense_weight(i)
        arrays[f"b{i}"] = net.biases[i]
    np.savez(folder / "input.npz", **arrays)
    (folder / "peer.py").write_text(PEER_SCRIPT)
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
    t0 = time.perf_counter()
    subprocess.run([str(python), str(folder / "peer.py"), str(folder / "input.npz"), str(folder / "out.npz")],
                   check=True, env=env)
    wall = time.perf_counter() - t0
    out = np.load(folder / "out.npz")
    return out["X_adv"], wall


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--autoattack-src", default=None)
    ap.add_argument("--count", type=int, default=200)
    ap.add_argument("--eps", type=float, default=0.1)
    ap.add_argument("--nets", nargs="*", default=list(NETS))
    ap.add_argument("--out", default=str(ROOT / "bench" / "results" / "attack_vs_autoattack.json"))
    args = ap.parse_args(argv)
    if not (DATA / "mnist_test.npz").exists():
        print(f"{DATA} missing: nothing to measure", file=sys.stderr)
        return 2
    import torch

    from certifiers import confirm_witness, exact_box, load_network, strong_attack
    from sdpsolve import limit_threads

    torch.set_num_threads(1)
    data = np.load(DATA / "mnist_test.npz")
    X, y = data["X"][: args.count].astype(np.float64), data["y"][: args.count].astype(np.int64)
    out = {"command": "bench/attack_vs_autoattack.py " + " ".join(argv if argv is not None else sys.argv[1:]),
           "machine": machine_record(), "date": time.strftime("%Y-%m-%d %H:%M"), "commit": code_commit(),
           "count": args.count, "eps": args.eps, "ours": "strong_attack(steps=100, restarts=2) (the attack plugin's "
           "defaults)", "nets": {}}
    with tempfile.TemporaryDirectory(prefix="sdpsolve-autoattack-") as tmp:
        folder = Path(tmp)
        python, note = build_peer(args.autoattack_src, folder)
        out["peer"] = note
        print(note, flush=True)
        for name in args.nets:
            net = load_network(DATA / f"{name}.npz")
            clean = net.predict(X) == y
            with limit_threads(1):
                t0 = time.perf_counter()
                res = strong_attack(net, X, y, args.eps, rng=0)
                ours_s = time.perf_counter() - t0
            ours = np.array([bool(clean[k]) and confirm_witness(net, X[k], int(y[k]), args.eps, res.x_adv[k])
                             for k in range(len(y))])
            row = {"clean_correct": int(clean.sum()), "ours_found": int(ours.sum()), "ours_seconds": ours_s}
            if python is not None:
                X_adv, peer_s = run_peer(python, net, X, y, args.eps, folder)
                lo, hi = exact_box(X, args.eps)
                X_adv = np.clip(X_adv, lo, hi)  # AutoAttack's float32 point, projected into the exact set
                theirs = np.array([bool(clean[k]) and confirm_witness(net, X[k], int(y[k]), args.eps, X_adv[k])
                                   for k in range(len(y))])
                row.update(peer_found=int(theirs.sum()), peer_seconds=peer_s,
                           only_ours=[int(k) for k in np.flatnonzero(ours & ~theirs)],
                           only_peer=[int(k) for k in np.flatnonzero(theirs & ~ours)])
            out["nets"][name] = row
            print(name, row, flush=True)
    out["machine"]["load_average_at_end"] = list(os.getloadavg())
    Path(args.out).write_text(json.dumps(out, indent=1) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
