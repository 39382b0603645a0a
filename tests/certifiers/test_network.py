"""Tests of certifiers._network: ReLUNetwork, the .npz and torch round trips, and the error messages.

Oracles used here: a direct numpy forward pass written in the test; torch's own forward pass (float64) of the
converted module; exact equality of the weights after a round trip (float64 is stored and read back exactly).
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from certifiers import ReLUNetwork, from_npz, from_torch
from certifiers._load import load_network
from tests.strategies import relu_networks

torch = pytest.importorskip("torch")
nn = torch.nn


def _forward(net: ReLUNetwork, X):
    h = X
    for i, (W, b) in enumerate(zip(net.weights, net.biases)):
        h = h @ W.T + b
        if i < net.n_layers - 1:
            h = np.maximum(h, 0)
    return h


def _same_weights(a: ReLUNetwork, b: ReLUNetwork):
    assert a.n_layers == b.n_layers
    for (Wa, ba), (Wb, bb) in zip(zip(a.weights, a.biases), zip(b.weights, b.biases)):
        np.testing.assert_array_equal(Wa, Wb)
        np.testing.assert_array_equal(ba, bb)


@settings(max_examples=25, deadline=None)
@given(relu_networks(min_hidden_layers=0, max_hidden_layers=3), st.integers(0, 2**32 - 1))
def test_npz_round_trip(tmp_path_factory, net, seed):
    path = tmp_path_factory.mktemp("npz") / "net.npz"
    net.save_npz(path)
    for loaded in (from_npz(path), load_network(path), load_network(str(path))):
        _same_weights(net, loaded)
        assert loaded.fingerprint() == net.fingerprint()
    X = np.random.default_rng(seed).random((4, net.input_dim))
    np.testing.assert_array_equal(from_npz(path).logits(X), net.logits(X))
    np.testing.assert_allclose(net.logits(X), _forward(net, X), rtol=1e-13, atol=1e-13)


@settings(max_examples=25, deadline=None)
@given(relu_networks(min_hidden_layers=0, max_hidden_layers=3), st.integers(0, 2**32 - 1))
def test_torch_round_trip(net, seed):
    """Oracle: the float32 module (what the attacks use) converted back equals the float32-rounded weights
    exactly, and its forward pass agrees with the float64 one to float32 accuracy."""
    module = net.to_torch()
    rounded = ReLUNetwork(
        [W.astype(np.float32) for W in net.weights], [b.astype(np.float32) for b in net.biases]
    )
    _same_weights(rounded, from_torch(module))
    _same_weights(rounded, load_network(module))
    assert [type(m).__name__ for m in module] == ["Linear", "ReLU"] * net.n_hidden_layers + ["Linear"]
    X = np.random.default_rng(seed).random((4, net.input_dim))
    with torch.no_grad():
        ref32 = module(torch.as_tensor(X, dtype=torch.float32)).double().numpy()
    np.testing.assert_allclose(net.logits(X), ref32, rtol=1e-4, atol=1e-4 * (1 + np.abs(ref32).max()))


def test_torch_float64_round_trip_is_exact():
    """Oracle: exact equality of the weights after ReLUNetwork → torch float64 → ReLUNetwork."""
    rng = np.random.default_rng(0)
    net = ReLUNetwork(
        [rng.standard_normal((4, 3)), rng.standard_normal((2, 4))],
        [rng.standard_normal(4), rng.standard_normal(2)],
    )
    module = net.to_torch(torch.float64)
    _same_weights(net, from_torch(module))
    X = rng.random((5, 3))
    with torch.no_grad():
        ref = module(torch.as_tensor(X)).numpy()
    np.testing.assert_allclose(net.logits(X), ref, rtol=1e-13, atol=1e-13)


def test_torch_with_flatten_and_without_bias():
    gen = torch.Generator().manual_seed(0)
    lin1, lin2 = nn.Linear(6, 5), nn.Linear(5, 3, bias=False)
    with torch.no_grad():
        for p in (*lin1.parameters(), *lin2.parameters()):
            p.copy_(torch.randn(p.shape, generator=gen))
    module = nn.Sequential(nn.Flatten(), lin1, nn.ReLU(), lin2).double()
    net = from_torch(module)
    assert net.layer_sizes == (6, 5, 3)
    np.testing.assert_array_equal(net.biases[1], np.zeros(3))
    images = torch.rand((4, 1, 2, 3), generator=gen, dtype=torch.float64)
    with torch.no_grad():
        ref = module(images).numpy()
    np.testing.assert_allclose(net.logits(images.reshape(4, -1).numpy()), ref, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize(
    ("layers", "message"),
    [
        (lambda: [nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2)], r"unsupported layer 1 \(Tanh\)"),
        (lambda: [nn.Conv2d(1, 2, 3)], r"layer 0 \(Conv2d\) works on images: pass `input_shape"),
        (
            lambda: [nn.Linear(3, 4), nn.ReLU(), nn.MaxPool1d(2), nn.Linear(2, 2)],
            r"unsupported layer 2 \(MaxPool1d\).*MaxPool",
        ),
        (lambda: [nn.ReLU(), nn.Linear(3, 2)], r"layer 0 \(ReLU\) must follow a Linear or Conv2d layer"),
        (lambda: [nn.Linear(3, 4), nn.ReLU()], r"must end with a Linear layer"),
        (lambda: [nn.Flatten()], r"no Linear or Conv2d layer"),
    ],
)
def test_unsupported_torch_modules_name_the_layer(layers, message):
    with pytest.raises(ValueError, match=message):
        from_torch(nn.Sequential(*layers()))


def test_wrong_widths_and_bad_arrays():
    with pytest.raises(ValueError, match=r"W1 takes 4 inputs but layer 0 has 3 outputs"):
        ReLUNetwork([np.ones((3, 2)), np.ones((2, 4))], [np.zeros(3), np.zeros(2)])
    with pytest.raises(ValueError, match=r"b0 must have shape \(3,\)"):
        ReLUNetwork([np.ones((3, 2))], [np.zeros(2)])
    with pytest.raises(ValueError, match=r"W0 must be a 2-d array"):
        ReLUNetwork([np.ones(3)], [np.zeros(3)])
    with pytest.raises(ValueError, match="one bias per weight matrix"):
        ReLUNetwork([np.ones((3, 2))], [])
    with pytest.raises(ValueError, match="NaN or inf"):
        ReLUNetwork([np.full((1, 2), np.nan)], [np.zeros(1)])
    net = ReLUNetwork([np.ones((3, 2)), np.ones((2, 3))], [np.zeros(3), np.zeros(2)])
    with pytest.raises(ValueError, match=r"`X` must have shape \(N, 2\)"):
        net.logits(np.zeros((4, 5)))
    with pytest.raises(ValueError, match="NaN or inf"):
        net.logits(np.array([[0.0, np.nan]]))
    assert net.logits(np.zeros(2)).shape == (1, 2)  # a single input is accepted as one row
    with pytest.raises(ValueError):
        net.weights[0][0, 0] = 5.0  # weights are read-only


def test_npz_errors(tmp_path):
    np.savez(tmp_path / "no_weights.npz", A=np.ones(2))
    with pytest.raises(ValueError, match="expected keys W0, b0"):
        from_npz(tmp_path / "no_weights.npz")
    np.savez(tmp_path / "no_bias.npz", W0=np.ones((2, 3)), W1=np.ones((1, 2)), b0=np.zeros(2))
    with pytest.raises(ValueError, match=r"missing arrays \['b1'\]"):
        from_npz(tmp_path / "no_bias.npz")
    with pytest.raises(FileNotFoundError, match="model file not found"):
        load_network(tmp_path / "absent.npz")
    (tmp_path / "model.h5").write_bytes(b"")
    with pytest.raises(ValueError, match="unsupported model file 'model.h5'"):
        load_network(tmp_path / "model.h5")
    with pytest.raises(TypeError, match="cannot load a network from int"):
        load_network(3)


def test_fingerprint_tracks_the_weights():
    a = ReLUNetwork([np.eye(2)], [np.zeros(2)])
    b = ReLUNetwork([np.eye(2)], [np.zeros(2)])
    c = ReLUNetwork([np.eye(2)], [np.array([0.0, 1e-300])])
    assert a.fingerprint() == b.fingerprint() != c.fingerprint()
