"""Loading a network from any source: an .npz, an .onnx file, a torch module (one entry, :func:`load_network`).

It sits above :mod:`certifiers._network` (the network type and its .npz/torch readers) and
:mod:`certifiers._onnx` (the ONNX reader), which therefore never import each other.
"""

from __future__ import annotations

from pathlib import Path

from ._from_torch import from_torch
from ._network import ReLUNetwork, from_npz
from ._onnx import from_onnx


def load_network(source) -> ReLUNetwork:
    """A network from a path (.npz, or .onnx where supported) or a torch module."""
    if isinstance(source, ReLUNetwork):
        return source
    if isinstance(source, (str, Path)):
        path = Path(source)
        if not path.exists():
            raise FileNotFoundError(f"model file not found: {path}")
        if path.suffix == ".npz":
            return from_npz(path)
        if path.suffix == ".onnx":
            return from_onnx(path)
        raise ValueError(f"unsupported model file {path.name!r}: expected .npz or .onnx.")
    try:
        import torch.nn as nn

        if isinstance(source, nn.Module):
            return from_torch(source)
    except ImportError:  # pragma: no cover
        pass
    raise TypeError(f"cannot load a network from {type(source).__name__}.")
