"""The flags every run command shares (``certify``, ``verify``), their configuration, and turning the engine's
:class:`~certifiers.engine.ConfigError` into a usage error that names the flag."""

from __future__ import annotations

import argparse
import dataclasses
import re

from sdpsolve.cli import UsageError

from ..engine import CertifyConfig, ConfigError, declared_options

#: the fields a certify configuration names in its messages (``method`` is the flag of ``methods``)
_FIELDS = {f.name for f in dataclasses.fields(CertifyConfig)} | {"method"}


def add_source_arguments(p: argparse.ArgumentParser) -> None:
    """``--model`` and ``--data``."""
    p.add_argument("--model", required=True, metavar="PATH", help="network: .npz (W0, b0, W1, b1, ...) or .onnx")
    p.add_argument(
        "--data", required=True, metavar="PATH", help="examples: .npz with X (N × d, values in [0, 1]) and y or labels"
    )


def add_range_arguments(p: argparse.ArgumentParser) -> None:
    """``--eps``, ``--start``, ``--count``, ``--out``."""
    p.add_argument("--eps", required=True, type=float, metavar="FLOAT", help="l∞ radius ε >= 0 (raw input units)")
    p.add_argument("--start", type=int, default=0, metavar="N", help="first example (0-based, default 0)")
    p.add_argument("--count", type=int, metavar="N", help="number of examples (default: to the end of the data)")
    p.add_argument(
        "--out", metavar="FILE", help="JSON lines, one record per (example, method); re-running resumes the file"
    )


def add_execution_arguments(p: argparse.ArgumentParser) -> None:
    """``--seed``, ``--workers``, ``--scheduler``, ``--threads``."""
    p.add_argument("--seed", type=int, default=0, metavar="N", help="seed of attacks and solvers (default 0)")
    p.add_argument("--workers", type=int, default=1, metavar="N", help="processes for the examples (default 1)")
    p.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="run the batches on a Dask cluster: a scheduler address (tcp://host:8786; then --workers stays 1) "
        "or 'local' (a local cluster of --workers processes); needs pip install \"sdpsolve[distributed]\"",
    )
    p.add_argument(
        "--threads",
        type=int,
        metavar="N",
        help="torch/BLAS threads per process (default: unchanged; with --workers, cores // workers)",
    )


def run_config(args: argparse.Namespace, methods: tuple, options: dict) -> CertifyConfig:
    """The :class:`CertifyConfig` of the shared flags, ``methods`` and the plugin ``options``."""
    return CertifyConfig(
        model=args.model,
        data=args.data,
        methods=tuple(methods),
        eps=args.eps,
        start=args.start,
        count=args.count,
        out=args.out,
        options=options,
        seed=args.seed,
        workers=args.workers,
        scheduler=args.scheduler,
        threads=args.threads,
        batch_size=getattr(args, "batch_size", None),
        progress=not args.no_progress,
    )


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


def add_plugin_options(p: argparse.ArgumentParser, names=None) -> None:
    """One flag per plugin option declared for the command line (``Certifier.option_specs``); ``names``: only
    these options (default all)."""
    for spec in declared_options().values():
        if not spec.command_line or (names is not None and spec.name not in names):
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
