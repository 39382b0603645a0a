"""Methods of a run: which options reach which plugin, and one prepared plugin instance per method.

Options reach a plugin only when it declares them (:attr:`certifiers.Certifier.option_specs`); the run's seed
is passed as ``rng`` to plugins whose constructor takes ``rng`` and as ``seed`` to those that take ``seed``
(attacks: a fresh seed per batch, so that results do not depend on how examples are split among processes).
"""

from __future__ import annotations

import inspect
import time
from collections.abc import Sequence
from dataclasses import dataclass
from numbers import Integral, Real
from pathlib import Path

import numpy as np

from .._base import get_certifier
from .._plugins import registry
from ._config import ConfigError


def accepted_parameters(cls) -> set[str]:
    """Names of the keyword parameters of a plugin's constructor (``**kwargs`` does not count)."""
    try:
        sig = inspect.signature(cls)
    except (TypeError, ValueError):  # pragma: no cover - builtin or C constructors
        return set()
    return {
        name
        for name, p in sig.parameters.items()
        if p.kind in (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    }


def declared_options(names: Sequence[str] | None = None) -> dict:
    """``{option name: Option}`` declared by the plugins ``names`` (default: every registered plugin).

    The first declaration of a name wins (plugins sharing an option share its declaration).
    """
    reg = registry()
    out: dict = {}
    for name in sorted(reg) if names is None else names:
        for spec in reg[name].option_specs:
            out.setdefault(spec.name, spec)
    return out


def batch_seed(seed: int, first_index: int) -> int:
    """The seed of the batch that starts at example ``first_index`` (independent of which process runs it)."""
    return int(np.random.SeedSequence([int(seed), int(first_index)]).generate_state(1, np.uint64)[0])


def _jsonable(value):
    if isinstance(value, (str, bool)) or value is None:
        return value
    if isinstance(value, Integral):
        return int(value)
    if isinstance(value, Real):
        return float(value)
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return repr(value)


@dataclass
class MethodPlan:
    """One method of a run: its plugin class, the options passed to it, and (after :func:`prepare_methods`)
    the prepared instance.

    Attributes
    ----------
    name : str
        Registered plugin name.
    is_attack : bool
        Whether the plugin is an attack (its error is an attack error, a lower bound on the robust error).
    options : dict
        Keyword options passed to the constructor.
    reseed : bool
        True for attacks that take ``seed``: every batch gets a fresh instance seeded from (``seed``, first
        index of the batch), so results do not depend on how the examples are split among processes.
    seed : int
        The run's seed (base of the per-batch seeds).
    instance : Certifier or None
        The prepared plugin (for ``reseed`` methods: the one prepared up front; batches use fresh ones).
    prepare_time : float
        Seconds spent in ``prepare`` (NaN until prepared).
    """

    name: str
    is_attack: bool
    options: dict
    reseed: bool = False
    seed: int = 0
    instance: object = None
    prepare_time: float = float("nan")

    def key_options(self) -> dict:
        """The options that define the results (for the result store's keys and header), JSON-ready.

        These are the plugin's own ``options`` (its defaults filled in) without those declared with
        ``changes_results=False`` (e.g. Grad-cert's ``cache_dir``); for per-batch seeded attacks, ``seed`` is
        the run's seed.
        """
        instance = self.instance
        if instance is None:  # an unprepared instance: constructors are cheap, ``prepare`` is not
            instance = get_certifier(self.name, **self.options, **({"seed": self.seed} if self.reseed else {}))
        opts = dict(getattr(instance, "options", None) or self.options)
        if self.reseed:
            opts["seed"] = self.seed
        inert = {spec.name for spec in registry()[self.name].option_specs if not spec.changes_results}
        return {k: _jsonable(v) for k, v in sorted(opts.items()) if k not in inert}

    def plugin_for_batch(self, network, first_index: int):
        """The plugin instance to run on the batch that starts at ``first_index``."""
        if not self.reseed:
            return self.instance
        plugin = get_certifier(self.name, **self.options, seed=batch_seed(self.seed, first_index))
        plugin.prepare(network)
        return plugin


def plan_methods(
    names: Sequence[str],
    options: dict | None = None,
    *,
    seed: int = 0,
    workers: int | None = None,
    extra: dict | None = None,
) -> tuple[list[MethodPlan], list[str]]:
    """Resolve method names and route the run's options to the plugins that declare them.

    Parameters
    ----------
    names : sequence of str
        Registered plugin names (duplicates are dropped, order kept).
    options : dict, optional
        ``{option: value}`` (values None are ignored): passed to every selected plugin that declares the option
        in its ``option_specs``, after the declaration's check. An option no registered plugin declares is an
        error.
    seed : int
        Passed as ``rng`` to plugins that take ``rng``, and as ``seed`` to plugins that take ``seed``
        (attacks: per batch, see :class:`MethodPlan`).
    workers : int, optional
        The run's processes; passed when > 1 to the plugins that declare ``workers`` (Grad-cert's pair SDPs).
        It never changes a result and is not reported as unused.
    extra : dict, optional
        ``{method: {option: value}}``: further options for one method, passed as they are.

    Returns
    -------
    plans : list of MethodPlan
    unused : list of str
        The options given (not None) that no selected method declares.

    Raises
    ------
    ConfigError
        For an unknown method name (field ``method``; the message lists the available ones), an option no
        plugin declares, or a value its declaration rejects (field: the option's name).

    Examples
    --------
    >>> plans, unused = plan_methods(["ibp", "pgd"], {"rtol": 1e-3}, seed=1)
    >>> [(p.name, p.is_attack, p.reseed) for p in plans], unused
    ([('ibp', False, False), ('pgd', True, True)], ['rtol'])
    """
    reg = registry()
    known = declared_options()
    given = {}
    for key, value in (options or {}).items():
        if value is None:
            continue
        if key not in known:
            raise ConfigError("options", f"no plugin takes an option {key!r}; options: {', '.join(sorted(known))}.")
        try:
            given[key] = known[key].validate(value)
        except ValueError as exc:
            raise ConfigError(key, str(exc)) from None
    used: set[str] = set()
    plans = []
    for name in dict.fromkeys(names):
        if name not in reg:
            raise ConfigError("method", f"unknown method {name!r}; available: {', '.join(sorted(reg))}.")
        cls = reg[name]
        declared = {spec.name for spec in cls.option_specs}
        accepted = accepted_parameters(cls)
        opts = {}
        for key, value in given.items():
            if key in declared:
                opts[key] = value
                used.add(key)
        if workers is not None and workers > 1 and "workers" in declared:
            opts["workers"] = int(workers)
        if "rng" in accepted:
            opts["rng"] = int(seed)
        is_attack = bool(getattr(cls, "is_attack", False))
        reseed = "seed" in accepted and is_attack
        if "seed" in accepted and not reseed:
            opts["seed"] = int(seed)
        opts.update((extra or {}).get(name) or {})
        plans.append(MethodPlan(name, is_attack, opts, reseed=reseed, seed=int(seed)))
    unused = sorted(k for k in given if k not in used)
    return plans, unused


def prepare_methods(plans: Sequence[MethodPlan], network, *, progress: bool = False) -> None:
    """Instantiate every plugin and call its ``prepare`` once (timed into ``plan.prepare_time``).

    Raises
    ------
    ConfigError
        When a plugin rejects an option or the network (e.g. Grad-cert on a network with two hidden layers):
        field ``method``, the method named as the subject.
    """
    for plan in plans:
        start = time.perf_counter()
        try:
            options = dict(plan.options)
            if plan.reseed:
                options["seed"] = plan.seed
            plan.instance = get_certifier(plan.name, **options)
            plan.instance.prepare(network, progress=progress)
        except (ValueError, TypeError) as exc:
            raise ConfigError("method", str(exc), subject=plan.name) from exc
        plan.prepare_time = time.perf_counter() - start
