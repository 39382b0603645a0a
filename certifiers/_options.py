"""Plugin options: each plugin declares the constructor options a run may set (type, help, checks, flag).

A plugin lists its options in ``Certifier.option_specs``; the run engine routes a run's options to the plugins
that declare them (:func:`certifiers.engine.plan_methods`), leaves the options that cannot change a result
(``changes_results=False``) out of the result store's keys, and the command line builds one flag per declared
option (``sdpsolve certify --help``). A new plugin option is therefore declared in one place: here when several
plugins share it, else in the plugin's module.

Examples
--------
>>> RTOL.check(1e-3)
0.001
>>> RTOL.flag, EARLY_STOP.flag, EARLY_STOP.flag_value
('--rtol', '--no-early-stop', False)
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from numbers import Real


@dataclass(frozen=True)
class Option:
    """One constructor option of a plugin.

    Attributes
    ----------
    name : str
        The constructor keyword (and the key in a run's ``options``).
    type : type
        ``float``, ``int``, ``str`` or ``bool`` (the command line converts with it).
    help : str
        One line for ``--help``.
    changes_results : bool
        False for options that cannot change a result (where a cache lives, how many processes prepare): they
        are left out of the result store's keys, so a run with another value resumes the same file.
    choices : tuple, optional
        The allowed values.
    check : callable, optional
        ``check(value) -> value``: raises ``ValueError`` naming the rule for a bad value.
    flag : str, optional
        The command-line flag (default ``--name`` with ``_`` → ``-``).
    flag_value : object, optional
        For ``bool`` options: the value the flag sets (``--triangle`` → True, ``--no-early-stop`` → False).
    metavar : str, optional
        The placeholder shown by ``--help``.
    command_line : bool
        False for options only the Python API sets (no flag).
    """

    name: str
    type: type
    help: str
    changes_results: bool = True
    choices: tuple | None = None
    check: Callable | None = None
    flag: str | None = None
    flag_value: object = None
    metavar: str | None = None
    command_line: bool = True

    def __post_init__(self):
        if self.flag is None:
            object.__setattr__(self, "flag", "--" + self.name.replace("_", "-"))

    def validate(self, value):
        """``value`` checked against the choices and the rule (returned, possibly normalised)."""
        if self.choices is not None and value not in self.choices:
            raise ValueError(f"must be one of {', '.join(map(repr, self.choices))}; got {value!r}.")
        return value if self.check is None else self.check(value)


def positive_finite(value):
    """``value`` as a float if it is a positive finite number, else ``ValueError``."""
    if isinstance(value, bool) or not isinstance(value, Real) or not (math.isfinite(value) and value > 0):
        raise ValueError(f"must be a positive finite number, got {value!r}.")
    return float(value)


def positive_seconds(value):
    """``value`` as a float if it is a positive finite number of seconds, else ``ValueError``."""
    if isinstance(value, bool) or not isinstance(value, Real) or not (math.isfinite(value) and value > 0):
        raise ValueError(f"must be a positive number of seconds, got {value!r}.")
    return float(value)


def check_torch_device(device, *, prefix: str = "`device` "):
    """``torch.device(device)`` if torch knows the device and, for CUDA, has one on this machine.

    The one device check of the package (attacks, Grad-cert's torch engine, training, the ``device`` option).
    ``prefix`` starts the messages (the argument's name).

    Raises
    ------
    TypeError
        ``device`` is neither a string nor a ``torch.device``.
    ValueError
        An unknown device, or CUDA without a CUDA device.
    """
    import torch

    if not isinstance(device, (str, torch.device)):
        raise TypeError(f"{prefix}must be a string such as 'cpu' or 'cuda', got {type(device).__name__}.")
    try:
        dev = torch.device(device)
    except (RuntimeError, ValueError, TypeError) as exc:
        raise ValueError(f"{prefix}must name a torch device such as 'cpu' or 'cuda', got {device!r}.") from exc
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"{prefix}{str(device)!r} is not usable here: torch reports no CUDA device on this machine.")
    return dev


def torch_device(value):
    """``value`` if it is a usable torch device (:func:`check_torch_device`), else ``ValueError``."""
    try:
        check_torch_device(value, prefix="")
    except TypeError as exc:
        raise ValueError(str(exc)) from None
    return value


# -- options that several plugins share ----------------------------------------------------------------------
RTOL = Option("rtol", float, "relative gap of the SDP solves (default: each plugin's own, e.g. grad-cert 1e-4)",
              check=positive_finite, metavar="R")
BOUND = Option("bound", str, "kind of the SDP upper bounds (default: the plugin's, rigorous)",
               choices=("rigorous", "probabilistic"))
EARLY_STOP = Option("early_stop", bool, "solve every SDP to --rtol even when the sign of the bound is already decided",
                    flag="--no-early-stop", flag_value=False)
DEVICE = Option("device", str, "torch device of the attacks: cpu, cuda, cuda:1 (default cpu)", check=torch_device,
                metavar="DEV")
STEPS = Option("steps", int, "attacks: gradient steps per start (default 100)", command_line=False)
RESTARTS = Option("restarts", int, "attacks: starts per example (pgd, default 5) or per (example, target class) "
                  "(attack, default 2)", command_line=False)
