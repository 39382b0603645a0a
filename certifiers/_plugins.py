"""The plugin families, one module each; importing this module registers every plugin by name.

====================  ===========================  ===========================================
module                plugins                      what they compute
====================  ===========================  ===========================================
``_gradcert``         ``grad-cert``                ICLR 2018 SDP (one hidden layer)
``_sdpcert``          ``sdp-cert``                 NeurIPS 2018 SDP (any depth)
``_bound_propagation````ibp``, ``crown``, ``lp``   bound propagation and the LP dual
``_norm_bounds``      ``spectral``, ``frobenius``  norm bounds of the ICLR paper
``_attacks``          ``pgd``, ``fgsm``            the papers' attacks (lower bounds on the error)
``_strong_attack``    ``attack``                   the strong attack (checked witnesses)
``_verify``           ``verify``                   a verdict per input (complete verification)
====================  ===========================  ===========================================

A new family is a module that defines :class:`certifiers.Certifier` subclasses decorated with
:func:`certifiers.register`, imported here.

Examples
--------
>>> sorted(registry())[:3]
['attack', 'crown', 'fgsm']
"""

from __future__ import annotations

from . import _attacks, _bound_propagation, _gradcert, _norm_bounds, _sdpcert, _strong_attack, _verify  # noqa: F401
from ._base import _REGISTRY, Certifier


def registry() -> dict[str, type[Certifier]]:
    """The registered plugin classes by name."""
    return dict(_REGISTRY)
