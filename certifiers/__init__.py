"""certifiers — turn a ReLU network, inputs and ε into robustness bounds (l∞), one plugin per relaxation.

The plugins know nothing about how SDPs are solved: they build operators / Lagrangian problems and hand them
to :mod:`sdpsolve`.

Networks
--------
ReLUNetwork(weights, biases, input_shape=None)
    Feed-forward ReLU net (W_i of shape (out, in), or a Conv2d), evaluated in float64.
Conv2d(kernel, in_shape, stride=, padding=, dilation=, groups=)
    A convolution layer kept matrix-free (products, transposed products, |K|, sparse and dense matrices).
load_network(path_or_module), from_npz(path), from_torch(module, input_shape=None), from_onnx(path)

Plugins (registry keyed by name)
--------------------------------
available() -> list[str]; get_certifier(name, **options) -> Certifier; register (class decorator)
Certifier
    Base class: ``bound_margins(network, X, y, eps) -> (B, kind)``, ``certify(...) -> list[ExampleResult]``;
    ``option_specs``: the options a run may set, each an :class:`Option` (type, help, changes results?, flag).
ExampleResult
    Per-example bounds on f_j − f_label (``to_json()`` gives the JSON-lines contract); ``.verdict``.
Verdict
    The one outcome vocabulary: verified / falsified / unknown (VerificationStatus.verdict maps VNN-COMP's words).

Registered plugins: ``grad-cert`` (ICLR 2018 SDP, one hidden layer), ``sdp-cert`` (NeurIPS 2018 SDP, any
depth), ``spectral``, ``frobenius`` (norm bounds), ``ibp``, ``crown``, ``lp`` (bound propagation / LP dual),
``attack`` (the strong attack: APGD margin steps on every target, CROWN-corner starts, checked ``witness``),
``pgd``, ``fgsm`` (the papers' attacks, kept as baselines: lower bounds on the error).

Building blocks
---------------
GradCertOperator, pair_sdp_values
    The implicit M_ij of the two-layer certificate and the table of its 45 pair SDPs.
SDPCertInstance
    The multi-layer relaxation as a :class:`sdpsolve.LagrangianProblem`.
strong_attack, confirm_witness, exact_box
    The strong attack, the float64 re-check of a counterexample, the ε-box with its ends rounded inwards.
pgd_attack, fgsm_attack, targeted_margin_attack, polytope_attack
interval_bounds, crown_bounds, lp_bounds, layer_bounds, margin_upper_bounds, linear_upper_bounds,
crown_vertices

Subpackages
-----------
certifiers.engine
    The run engine: CertifyConfig, run_certify, plan_methods, certify_examples (serial / process pool / Dask),
    the resumable ResultStore, SummaryRow, the data loader.
certifiers.workflows
    run_demo, train, report (load_results, summarize, ...), verify_vnnlib.
certifiers.cli
    The subcommands of ``sdpsolve`` (imported only by :mod:`sdpsolve.cli`).

VNN-LIB properties
------------------
read_vnnlib(path), parse_vnnlib(text) -> VNNLibSpec; check_unsafe(y, spec) -> bool
verify_vnnlib(network, spec, *, timeout=None, methods=...) -> VerificationResult
    sat (checked witness) / unsat / unknown / timeout, as ``sdpsolve vnnlib`` prints them.

Examples
--------
>>> import numpy as np, certifiers
>>> rng = np.random.default_rng(0)
>>> net = certifiers.ReLUNetwork([rng.standard_normal((8, 4)), rng.standard_normal((3, 8))],
...                              [np.zeros(8), np.zeros(3)])
>>> x = rng.random((2, 4)); y = net.predict(x)
>>> res = certifiers.get_certifier("crown").certify(net, x, y, eps=0.0)
>>> [r.certified for r in res]       # ε = 0: only the clean prediction matters
[True, True]
"""

from __future__ import annotations

from . import _plugins  # noqa: F401  (registers every plugin)
from ._attacks import fgsm_attack, pgd_attack, polytope_attack, targeted_margin_attack
from ._base import Certifier, ExampleResult, available, exact_box, get_certifier, register
from ._bound_propagation import (
    crown_bounds,
    crown_vertices,
    interval_bounds,
    layer_bounds,
    linear_upper_bounds,
    lp_bounds,
    margin_upper_bounds,
)
from ._from_torch import from_torch
from ._gradcert import GradCertOperator, pair_sdp_values
from ._layers import Conv2d
from ._load import load_network
from ._network import ReLUNetwork, from_npz
from ._onnx import from_onnx
from ._options import Option
from ._outcome import Verdict
from ._sdpcert_instance import SDPCertInstance
from ._strong_attack import confirm_witness, strong_attack
from ._vnnlib import VNNLibSpec, check_unsafe, parse_vnnlib, read_vnnlib
from .workflows import VerificationResult, VerificationStatus, verify_vnnlib

__all__ = [
    "ReLUNetwork", "Conv2d", "load_network", "from_npz", "from_torch", "from_onnx",
    "Certifier", "ExampleResult", "Option", "Verdict", "available", "get_certifier", "register",
    "GradCertOperator", "pair_sdp_values", "SDPCertInstance",
    "strong_attack", "confirm_witness", "exact_box",
    "pgd_attack", "fgsm_attack", "targeted_margin_attack", "polytope_attack",
    "interval_bounds", "crown_bounds", "lp_bounds", "layer_bounds", "margin_upper_bounds", "linear_upper_bounds",
    "crown_vertices",
    "VNNLibSpec", "read_vnnlib", "parse_vnnlib", "check_unsafe",
    "verify_vnnlib", "VerificationResult", "VerificationStatus",
]
