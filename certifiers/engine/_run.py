"""A whole certify run: load, plan, resume from the store, execute, summarise (what ``sdpsolve certify`` does).

Usage::

    run = CertifyRun(config)      # checks the config, loads the model and the data, plans the methods
    run.unused                    # options that no selected method takes
    report = run.execute()        # prepares, runs the pending examples, stores, summarises
    print(report.table)

:func:`run_certify` does the three steps in one call (an example in :mod:`certifiers.engine`).
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from sdpsolve import MissingDependencyError, limit_threads

from .._load import load_network
from ._config import CertifyConfig, ConfigError
from ._data import fingerprint_arrays, load_examples
from ._executors import certify_examples
from ._plan import plan_methods, prepare_methods
from ._store import ResultStore, key_for
from ._summary import format_summary, summarize_records


@dataclass(frozen=True)
class CertifyReport:
    """What a certify run produced.

    Attributes
    ----------
    rows : tuple of SummaryRow
        One per method, over every requested example (stored ones included).
    records : dict
        ``{method: [record, ...]}`` over every requested example, in index order.
    clean_errors, n : int
        Misclassified examples among the ``n`` requested.
    skipped : int
        (example, method) records found in the store and not recomputed.
    table : str
        The printed summary table (:func:`format_summary`).
    out : pathlib.Path or None
        The result store.
    """

    rows: tuple
    records: dict
    clean_errors: int
    n: int
    skipped: int
    table: str
    out: Path | None


def _load_model(path):
    p = Path(path)
    if not p.is_file():
        raise ConfigError("model", f"file not found: {p}")
    try:
        return load_network(p)
    except (ValueError, TypeError, OSError, KeyError, ImportError) as exc:  # ImportError: e.g. onnx missing
        raise ConfigError("model", str(exc), subject=str(p)) from None


class CertifyRun:
    """A certify run, checked and planned on construction (cheap), executed by :meth:`execute`.

    Parameters
    ----------
    config : CertifyConfig

    Attributes
    ----------
    config : CertifyConfig
        The checked configuration.
    network : ReLUNetwork
    plans : list of MethodPlan
    unused : list of str
        Plugin options given that none of the selected methods declares (worth a note to the user).
    indices : numpy.ndarray
        The data-set indices of the requested examples.

    Raises
    ------
    ConfigError
        For a bad field (its name in ``field``): missing or unreadable model or data, examples out of range,
        an unknown method or option, a bad option value, an output folder that does not exist or a store of
        another run.
    """

    def __init__(self, config: CertifyConfig):
        cfg = config.checked()
        self.config = cfg
        self.network = _load_model(cfg.model)
        try:
            X_all, y_all = load_examples(Path(cfg.data), input_dim=self.network.input_dim,
                                         n_classes=self.network.n_classes)
        except (ValueError, OSError, TypeError) as exc:
            raise ConfigError("data", str(exc)) from None
        N = len(y_all)
        if cfg.start >= N:
            raise ConfigError("start", f"{cfg.start} is out of range: the data has {N} examples (0..{N - 1}).")
        count = N - cfg.start if cfg.count is None else cfg.count
        if cfg.start + count > N:
            raise ConfigError(
                "count", f"{count} from start {cfg.start} runs past the end of the data ({N} examples); at most "
                f"{N - cfg.start}."
            )
        self.plans, self.unused = plan_methods(cfg.methods, cfg.options, seed=cfg.seed, workers=cfg.workers)
        self.indices = np.arange(cfg.start, cfg.start + count)
        self.X, self.y = X_all[self.indices], y_all[self.indices]
        self._data_fingerprint = fingerprint_arrays(X_all, y_all)
        self.model_name = Path(cfg.model).stem
        self.fingerprint = self.network.fingerprint()
        self.key_options: dict = {}
        if cfg.out is not None:
            # the header is written before anything is prepared: options come from unprepared instances
            for plan in self.plans:
                try:
                    self.key_options[plan.name] = plan.key_options()
                except (ValueError, TypeError) as exc:
                    raise ConfigError("method", str(exc), subject=plan.name) from exc
            out_path = Path(cfg.out)
            if not out_path.parent.exists():
                raise ConfigError("out", f"folder {out_path.parent} does not exist.", subject=str(out_path))

    def _open_store(self) -> ResultStore | None:
        cfg = self.config
        if cfg.out is None:
            return None
        config = {
            "model": self.fingerprint,
            "model_name": self.model_name,
            "data": self._data_fingerprint,
            "methods": self.key_options,
            "eps": float(cfg.eps),
        }
        out_path = Path(cfg.out)
        try:
            # fsync per record costs ~2.5 ms here (175 s for 10,000 examples × 7 methods, against 2 s of
            # Grad-cert lookups); without it a killed process still loses nothing, a machine crash at most
            # the last records, which a rerun recomputes
            return ResultStore(out_path, config, fsync=False)
        except ValueError as exc:
            raise ConfigError("out", str(exc), subject=str(out_path)) from None

    @contextmanager
    def _scheduler(self, notify):
        """The Dask client of ``scheduler`` (None without it), connected before anything is prepared."""
        cfg = self.config
        if cfg.scheduler is None:
            yield None
            return
        from ._dask import describe, open_client

        try:
            client, close = open_client(cfg.scheduler, workers=cfg.workers)
        except (MissingDependencyError, ValueError, TypeError) as exc:
            raise ConfigError("scheduler", str(exc), subject=cfg.scheduler) from None
        try:
            notify(describe(client))
            yield client
        finally:
            close()

    def execute(self, *, notify: Callable[[str], None] | None = None) -> CertifyReport:
        """Prepare the methods that have work left, run them over the pending examples, store, summarise.

        ``notify(sentence)`` receives notes for the user (e.g. the cluster connected to); None drops them.
        """
        notify = notify or (lambda sentence: None)
        store = self._open_store()
        try:
            with self._scheduler(notify) as scheduler:
                return self._execute(store, scheduler)
        finally:
            if store is not None:
                store.close()

    def _execute(self, store, scheduler) -> CertifyReport:
        cfg, plans, indices = self.config, self.plans, self.indices
        eps = float(cfg.eps)
        keys: dict = {}
        if store is not None:
            keys = {
                (p.name, int(i)): key_for(self.fingerprint, p.name, self.key_options[p.name], eps, int(i))
                for p in plans
                for i in indices
            }
        done = None
        skipped = 0
        pending_methods = list(plans)
        if store is not None:
            pending_methods = [p for p in plans if any(not store.has(keys[p.name, int(i)]) for i in indices)]
            skipped = sum(store.has(keys[p.name, int(i)]) for p in plans for i in indices)

            def done(method, index):
                return store.has(keys[method, int(index)])

        # prepare only the methods that still have work (a finished run re-prints its summary without the SDPs)
        with limit_threads(cfg.threads):
            prepare_methods(pending_methods, self.network, progress=cfg.progress)

        def on_records(method, records):
            if store is None:
                return
            for rec in records:
                store.add({**rec, "model": self.model_name}, key=keys[method, int(rec["index"])])

        threads = cfg.threads
        if scheduler is not None:
            from ._dask import local_threads

            # the client of `scheduler="local"` is passed on: the threads per task are decided here
            threads = local_threads(cfg.scheduler, cfg.workers, cfg.threads)
        new = certify_examples(
            self.network,
            self.X,
            self.y,
            eps,
            pending_methods,
            indices=indices,
            done=done,
            on_records=on_records,
            batch_size=cfg.batch_size,
            workers=1 if scheduler is not None else cfg.workers,  # the cluster's workers are already there
            threads=threads,
            scheduler=scheduler,
            progress=cfg.progress,
        )
        records: dict[str, list[dict]] = {}
        if store is not None:
            wanted = {keys[p.name, int(i)]: p.name for p in plans for i in indices}
            for rec in store.records():
                name = wanted.get(rec.get("key"))
                if name is not None:
                    records.setdefault(name, []).append(rec)
        else:
            records = new
        for recs in records.values():
            recs.sort(key=lambda r: r["index"])
        rows = summarize_records(plans, records)
        clean_errors = int(np.sum(self.network.predict(self.X) != self.y))
        title = (
            f"model {cfg.model} ({'-'.join(map(str, self.network.layer_sizes))}), data {cfg.data} "
            f"examples [{indices[0]}, {indices[-1] + 1}), eps = {eps:g}"
        )
        table = format_summary(rows, clean_errors=clean_errors, n=len(self.y), title=title)
        return CertifyReport(tuple(rows), records, clean_errors, len(self.y), skipped, table,
                             None if cfg.out is None else Path(cfg.out))


def run_certify(config: CertifyConfig, *, notify: Callable[[str], None] | None = None) -> CertifyReport:
    """Check, plan and execute a certify run in one call (see :class:`CertifyRun`)."""
    return CertifyRun(config).execute(notify=notify)
