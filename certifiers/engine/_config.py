"""The configuration of a certify run, and the error that names the field of a bad value.

:class:`CertifyConfig` holds what a run needs (files, methods, ε, the examples, plugin options, how to execute);
:meth:`CertifyConfig.checked` validates every field and raises :class:`ConfigError` naming the field and the
rule. The command line turns the field into its flag (``data`` → ``--data``); the Python API shows it as is.

Examples
--------
>>> cfg = CertifyConfig(model="net.npz", data="test.npz", methods=("ibp",), eps=-1.0)
>>> try:
...     cfg.checked()
... except ConfigError as exc:
...     print(exc.field, "|", exc)
eps | `eps` must be a non-negative finite number, got -1.0.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from numbers import Integral, Real
from pathlib import Path

from ._dask import LOCAL, is_available


class ConfigError(ValueError):
    """A bad value in a run's configuration.

    Attributes
    ----------
    field : str
        The configuration field (``"data"``, ``"eps"``, a plugin option such as ``"rtol"``, ...).
    subject : str
        What the message is about when a field holds several things (e.g. the method named in ``methods``);
        empty otherwise.
    reason : str
        The message without the field's name (the command line puts the flag in front of it). Other fields are
        named in backticks (```workers```), which the command line replaces by their flags.
    """

    def __init__(self, field: str, reason: str, *, subject: str = ""):
        self.field = field
        self.subject = subject
        self.reason = reason
        where = f"`{field}`" + (f" {subject}" if subject else "")
        super().__init__(f"{where}: {reason}" if not reason.startswith("must") else f"{where} {reason}")



def _int(field_name: str, value, minimum: int, *, allow_none: bool = False):
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, Integral) or value < minimum:
        raise ConfigError(field_name, f"must be >= {minimum}, got {value!r}.")
    return int(value)


@dataclass(frozen=True)
class CertifyConfig:
    """What ``sdpsolve certify`` runs: every field has the meaning of the flag of the same name.

    Attributes
    ----------
    model, data : str or path
        The network (.npz or .onnx) and the examples (.npz with ``X`` in [0, 1] and ``y`` or ``labels``).
    methods : tuple of str
        Plugin names (duplicates dropped, order kept).
    eps : float
        l∞ radius ε ≥ 0.
    start, count : int
        The examples ``[start, start + count)`` (``count`` None: to the end of the data).
    out : str or path, optional
        JSON-lines result store; a rerun resumes it.
    options : dict
        Plugin options by name (``{"rtol": 1e-3, "bounds": "crown"}``), routed to the plugins that declare
        them (:attr:`certifiers.Certifier.option_specs`).
    seed : int
        Seed of the attacks and solvers.
    workers : int
        Processes (1: this process); with ``scheduler="local"`` the local cluster's workers.
    scheduler : str, optional
        A Dask scheduler address, or ``"local"``.
    threads : int, optional
        torch/BLAS threads per process.
    batch_size : int, optional
        Examples per batch (default: each plugin's own).
    progress : bool
        Progress bars and notes on stderr.
    """

    model: str | Path
    data: str | Path
    methods: tuple
    eps: float
    start: int = 0
    count: int | None = None
    out: str | Path | None = None
    options: dict = field(default_factory=dict)
    seed: int = 0
    workers: int = 1
    scheduler: str | None = None
    threads: int | None = None
    batch_size: int | None = None
    progress: bool = True

    def checked(self) -> CertifyConfig:
        """The configuration with its values validated and normalised; :class:`ConfigError` names a bad field."""
        eps = self.eps
        if isinstance(eps, bool) or not isinstance(eps, Real) or not math.isfinite(eps) or eps < 0:
            raise ConfigError("eps", f"must be a non-negative finite number, got {eps!r}.")
        if isinstance(self.methods, str):
            methods = [self.methods]
        else:
            methods = list(self.methods)
        names = [n.strip() for m in methods for n in str(m).split(",") if n.strip()]
        if not names:
            raise ConfigError("method", "give at least one method name.")
        seed = _int("seed", self.seed, 0)
        workers = _int("workers", self.workers, 1)
        threads = _int("threads", self.threads, 1, allow_none=True)
        batch_size = _int("batch_size", self.batch_size, 1, allow_none=True)
        start = _int("start", self.start, 0)
        count = _int("count", self.count, 1, allow_none=True)
        scheduler = self.scheduler
        if scheduler is not None:
            scheduler = str(scheduler).strip()
            if not scheduler:
                raise ConfigError("scheduler", f"give a scheduler address (tcp://host:8786) or {LOCAL!r}.")
            if scheduler != LOCAL and workers > 1:
                raise ConfigError(
                    "workers",
                    f"{workers} and `scheduler` {scheduler}: the cluster's workers run the batches; drop `workers`, "
                    f"or use `scheduler` {LOCAL} with `workers` {workers} for a local Dask cluster.",
                )
            if not is_available():
                raise ConfigError(
                    "scheduler",
                    "needs the optional package 'distributed' (Dask); install it with "
                    'pip install "sdpsolve[distributed]"',
                )
        if not isinstance(self.options, dict):
            raise ConfigError("options", f"must be a dict of plugin options, got {type(self.options).__name__}.")
        return replace(self, eps=float(eps), methods=tuple(dict.fromkeys(names)), seed=seed, workers=workers,
                       threads=threads, batch_size=batch_size, start=start, count=count, scheduler=scheduler,
                       options=dict(self.options))
