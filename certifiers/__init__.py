"""certifiers."""
from . import (  # noqa: F401  (importing a plugin module registers its plugins)
    _attacks,  # "pgd", "fgsm"
    _bound_propagation,  # "ibp", "crown", "lp"
    _gradcert,  # "grad-cert"
    _norm_bounds,  # "spectral", "frobenius"
)
