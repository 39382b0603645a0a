"""Turning the engine's :class:`~certifiers.engine.ConfigError` into a usage error that names the flag."""

from __future__ import annotations

import argparse
import dataclasses
import re

from sdpsolve.cli import UsageError

from ..engine import CertifyConfig, ConfigError, declared_options

#: the fields a certify configuration names in its messages (``method`` is the flag of ``methods``)
_FIELDS = {f.name for f in dataclasses.fields(CertifyConfig)} | {"method"}


def flag_of(field: str, flags: dict | None = None) -> str:
    """The flag of a configuration field: a plugin option's declared flag, an explicit mapping, or ``--field``."""
    if flags and field in flags:
        return flags[field]
    spec = declared_options().get(field)
    if spec is not None:
        return spec.flag
    return "--" + field.replace("_", "-")


def usage_error(exc: ConfigError, flags: dict | None = None) -> UsageError:
    """``--flag [subject] reason`` as a :class:`sdpsolve.cli.UsageError` (exit code 2)."""
    head = " ".join(p for p in (flag_of(exc.field, flags), exc.subject) if p)
    sep = " " if exc.reason.startswith("must") else ": "
    known = _FIELDS | set(declared_options()) | set(flags or ())
    reason = re.sub(r"`([a-z_]+)`", lambda m: flag_of(m.group(1), flags) if m.group(1) in known else m.group(0),
                    exc.reason)
    return UsageError(f"{head}{sep}{reason}")


def add_plugin_options(p: argparse.ArgumentParser) -> None:
    """One flag per plugin option declared for the command line (``Certifier.option_specs``)."""
    for spec in declared_options().values():
        if not spec.command_line:
            continue
        if spec.type is bool:
            p.add_argument(spec.flag, dest=spec.name, action="store_const", const=spec.flag_value, default=None,
                           help=spec.help)
        else:
            p.add_argument(spec.flag, dest=spec.name, type=spec.type, choices=spec.choices, metavar=spec.metavar,
                           default=None, help=spec.help)


def plugin_options(args: argparse.Namespace) -> dict:
    """The plugin options given on the command line (flags not given are left out)."""
    return {
        spec.name: getattr(args, spec.name)
        for spec in declared_options().values()
        if spec.command_line and getattr(args, spec.name, None) is not None
    }
