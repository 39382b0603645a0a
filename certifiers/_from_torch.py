"""Reading a torch ``nn.Sequential`` into a :class:`ReLUNetwork`: Linear, Conv2d, BatchNorm, AvgPool, Flatten.

The modules are cut at every ``nn.ReLU``; what lies between two ReLUs must be a linear (affine) map, and becomes
one layer of the network:

* ``Conv2d`` (optionally followed by ``BatchNorm2d``) → a :class:`Conv2d` layer, matrix-free;
* ``Linear`` (optionally followed by ``BatchNorm1d``) → a dense layer;
* anything else that is affine (``AvgPool2d``, a lone ``BatchNorm``, a convolution followed by a pooling, two
  convolutions in a row, ...) → a dense layer: the map applied in float64 to the identity basis (column j is
  f(e_j) − f(0), the bias f(0)).

A BatchNorm is folded as in eval mode, in float64: s = γ / √(running_var + eps), W' = s ⊙ W (per output
channel), b' = s ⊙ (b − running_mean) + β. ``Flatten`` (torch's (C, H, W) order), ``Identity`` and ``Dropout``
(the identity in eval mode) are allowed anywhere, and so is ``Unflatten`` (dim 1), which
:meth:`ReLUNetwork.to_torch` writes before a convolution (at the input it gives the image shape, so
``from_torch(net.to_torch())`` needs no ``input_shape``). Any other module (MaxPool, other activations, a
non-Sequential container such as a residual block) is a ``ValueError`` naming the module and its position.
"""

from __future__ import annotations

import copy
import math

import numpy as np

from ._layers import Conv2d, image_shape
from ._network import ReLUNetwork

__all__ = ["from_torch"]


def _modules(module) -> list:
    """The leaf modules of nested ``nn.Sequential`` containers, in order."""
    import torch.nn as nn

    if isinstance(module, nn.Sequential):
        out = []
        for m in module:
            out.extend(_modules(m))
        return out
    return [module]


def _kinds():
    import torch.nn as nn

    passive = (nn.Flatten, nn.Unflatten, nn.Identity, nn.Dropout)
    affine = (nn.Linear, nn.Conv2d, nn.BatchNorm1d, nn.BatchNorm2d, nn.AvgPool2d)
    return passive, affine


def _bn_fold(bn, name: str) -> tuple[np.ndarray, np.ndarray]:
    """(scale, shift) of an eval-mode BatchNorm in float64: y = scale ⊙ x + shift per channel."""
    if bn.running_mean is None or bn.running_var is None:
        raise ValueError(f"{name} has no running statistics (track_running_stats=False); cannot fold it.")
    mean = bn.running_mean.detach().cpu().double().numpy()
    var = bn.running_var.detach().cpu().double().numpy()
    gamma = bn.weight.detach().cpu().double().numpy() if bn.weight is not None else np.ones_like(mean)
    beta = bn.bias.detach().cpu().double().numpy() if bn.bias is not None else np.zeros_like(mean)
    scale = gamma / np.sqrt(var + float(bn.eps))
    return scale, beta - scale * mean


def _unflatten(m, shape, name: str) -> tuple:
    """The shape after ``nn.Unflatten`` ``m`` at the start of a layer whose input has ``shape`` (None: not known
    yet; the input is a flat vector in (C, H, W) order whatever its shape, so only the sizes must agree)."""
    size = tuple(int(s) for s in m.unflattened_size)
    if m.dim not in (1, -1):
        raise ValueError(f"{name}: only Unflatten(1, ...) of flat vectors is supported, got dim={m.dim}.")
    if shape is not None and math.prod(size) != math.prod(shape):
        raise ValueError(f"{name} unflattens into {size} but its input has shape {shape}.")
    return size


def _check_conv(m, name: str) -> None:
    if m.padding_mode != "zeros":
        raise ValueError(f"{name}: padding_mode {m.padding_mode!r} is not supported (only 'zeros').")
    if isinstance(m.padding, str):
        raise ValueError(f"{name}: padding={m.padding!r} is not supported; give the padding as numbers.")


def _conv_layer(conv, bn, shape, name: str) -> tuple[Conv2d, np.ndarray]:
    _check_conv(conv, name)
    K = conv.weight.detach().cpu().double().numpy()
    b = conv.bias.detach().cpu().double().numpy() if conv.bias is not None else np.zeros(K.shape[0])
    if bn is not None:
        scale, shift = _bn_fold(bn, name)
        K = K * scale[:, None, None, None]
        b = scale * b + shift
    layer = Conv2d(K, shape, stride=conv.stride, padding=conv.padding, dilation=conv.dilation, groups=conv.groups)
    return layer, np.repeat(b, layer.out_shape[1] * layer.out_shape[2])


def _linear_layer(lin, bn, name: str) -> tuple[np.ndarray, np.ndarray]:
    W = lin.weight.detach().cpu().double().numpy()
    b = lin.bias.detach().cpu().double().numpy() if lin.bias is not None else np.zeros(W.shape[0])
    if bn is not None:
        scale, shift = _bn_fold(bn, name)
        W = W * scale[:, None]
        b = scale * b + shift
    return W, b


def _dense_layer(mods, shape) -> tuple[np.ndarray, np.ndarray, tuple]:
    """The affine map of ``mods`` on inputs of ``shape``, by pushing the identity basis through it in float64."""
    import torch

    seq = copy.deepcopy(torch.nn.Sequential(*mods)).double().eval()
    n = math.prod(shape)
    with torch.no_grad():
        zero = seq(torch.zeros((1, *shape), dtype=torch.float64))
        out_shape = tuple(zero.shape[1:])
        b = zero.reshape(-1).numpy().copy()
        W = np.empty((b.size, n))
        for s in range(0, n, 512):
            m = min(512, n - s)
            e = torch.zeros((m, n), dtype=torch.float64)
            e[torch.arange(m), s + torch.arange(m)] = 1.0
            W[:, s : s + m] = (seq(e.reshape(m, *shape)).reshape(m, -1) - zero.reshape(1, -1)).numpy().T
    return W, b, out_shape


def from_torch(module, input_shape=None) -> ReLUNetwork:
    """Convert a torch ``nn.Sequential`` (nested ones are flattened) into a :class:`ReLUNetwork`.

    Parameters
    ----------
    module : torch.nn.Module
        Linear / Conv2d / BatchNorm1d / BatchNorm2d / AvgPool2d / Flatten / Unflatten / Identity / Dropout / ReLU
        modules, with a ReLU between consecutive affine parts and none after the last (see the module docstring
        for how the parts become layers). BatchNorm and Dropout act as in eval mode.
    input_shape : tuple (C, H, W), optional
        The input image's shape; required when the first affine module works on images (Conv2d, AvgPool2d,
        BatchNorm2d). The network then takes flat inputs of size C·H·W in torch's (C, H, W) order.

    Returns
    -------
    ReLUNetwork
        In float64. A Conv2d (with its BatchNorm folded) stays a matrix-free :class:`Conv2d` layer.

    Examples
    --------
    >>> import torch.nn as nn
    >>> _ = torch_seed = __import__("torch").manual_seed(0)
    >>> cnn = nn.Sequential(nn.Conv2d(1, 4, 3, stride=2), nn.BatchNorm2d(4), nn.ReLU(), nn.Flatten(),
    ...                     nn.Linear(4 * 3 * 3, 10))
    >>> net = from_torch(cnn, input_shape=(1, 7, 7))
    >>> net.layer_sizes, type(net.layers[0]).__name__, net.input_shape
    ((49, 36, 10), 'Conv2d', (1, 7, 7))
    """
    import torch.nn as nn

    passive, affine = _kinds()
    if input_shape is not None:
        input_shape = image_shape("input_shape", input_shape)
    mods = _modules(module)
    groups, current = [], []
    for k, m in enumerate(mods):
        name = f"layer {k} ({type(m).__name__})"
        if isinstance(m, nn.ReLU):
            if not any(isinstance(x, affine) for _, x in current):
                raise ValueError(f"{name} must follow a Linear or Conv2d layer.")
            groups.append(current)
            current = []
        elif isinstance(m, passive + affine):
            current.append((k, m))
        else:
            raise ValueError(
                f"unsupported {name}: only Linear, Conv2d, BatchNorm1d/2d, AvgPool2d, Flatten, Unflatten, Identity, "
                "Dropout and ReLU are supported (MaxPool, other activations and residual connections are not)."
            )
    if not groups and not any(isinstance(x, affine) for _, x in current):
        raise ValueError("the module has no Linear or Conv2d layer.")
    if not any(isinstance(x, affine) for _, x in current):
        raise ValueError("the network must end with a Linear layer (the logits), not a ReLU.")
    groups.append(current)

    shape = input_shape  # (C, H, W), (n,) for flat vectors, or None while unknown
    layers, biases = [], []
    for group in groups:
        core = [(k, m) for k, m in group if not isinstance(m, (nn.Identity, nn.Dropout))]
        flat_in = flat_out = False
        while core and isinstance(core[0][1], nn.Flatten):
            core, flat_in = core[1:], True
        while core and isinstance(core[-1][1], nn.Flatten):
            core, flat_out = core[:-1], True
        while core and isinstance(core[0][1], nn.Unflatten):
            shape, flat_in = _unflatten(core[0][1], shape, f"layer {core[0][0]} (Unflatten)"), False
            core = core[1:]
        parts = [m for _, m in core]
        k0, first = core[0]
        name = f"layer {k0} ({type(first).__name__})"
        if shape is None:
            if not isinstance(first, nn.Linear):
                raise ValueError(f"{name} works on images: pass `input_shape=(C, H, W)`.")
            shape = (first.in_features,)
        if flat_in:
            shape = (math.prod(shape),)
        if isinstance(first, nn.Linear) and len(shape) == 3:
            raise ValueError(f"{name} receives images of shape {shape}: put an nn.Flatten before it.")
        bn = parts[1] if len(parts) == 2 and isinstance(parts[1], (nn.BatchNorm1d, nn.BatchNorm2d)) else None
        if isinstance(first, nn.Conv2d) and len(shape) == 3 and (len(parts) == 1 or isinstance(bn, nn.BatchNorm2d)):
            if first.in_channels != shape[0]:
                raise ValueError(f"{name} takes {first.in_channels} channels but its input has shape {shape}.")
            W, b = _conv_layer(first, bn, shape, name)
            shape = W.out_shape
        elif isinstance(first, nn.Linear) and (len(parts) == 1 or isinstance(bn, nn.BatchNorm1d)):
            if first.in_features != shape[0]:
                raise ValueError(f"{name} takes {first.in_features} inputs but receives {shape[0]}.")
            W, b = _linear_layer(first, bn, name)
            shape = (W.shape[0],)
        else:
            for k, m in core:
                if isinstance(m, nn.Conv2d):
                    _check_conv(m, f"layer {k} (Conv2d)")
            try:
                W, b, shape = _dense_layer(parts, shape)
            except RuntimeError as exc:
                raise ValueError(f"the layers from {name} do not fit an input of shape {shape}: {exc}") from None
        if flat_out:
            shape = (math.prod(shape),)
        layers.append(W)
        biases.append(b)
    first_shape = input_shape if input_shape is not None and not isinstance(layers[0], Conv2d) else None
    return ReLUNetwork(layers, biases, input_shape=first_shape)
