"""The run engine: plan the methods, cut the examples into batches, execute them, store and summarise.

Between the workflows (``certify``, ``demo``, ``train``, ``report``, ``vnnlib``) and the plugins. Plain Python:
a :class:`CertifyConfig` or keyword arguments in, frozen results out; errors name the configuration field
(:class:`ConfigError`), which the command line turns into its flag.

A whole run
-----------
CertifyConfig(model, data, methods, eps, *, start, count, out, options, seed, workers, scheduler, threads, ...)
CertifyRun(config)            checked and planned; ``.unused`` options; ``.execute(notify=None) -> CertifyReport``
run_certify(config) -> CertifyReport
ConfigError                   a ValueError with ``field`` (and ``subject``, ``reason``)

Pieces
------
plan_methods(names, options, *, seed, workers, extra) -> (plans, unused); MethodPlan; prepare_methods(plans, net)
    Route options to the plugins that declare them (:attr:`certifiers.Certifier.option_specs`).
declared_options(names=None) -> {name: Option}
certify_examples(network, X, y, eps, plans, *, done, on_records, batch_size, workers, threads, scheduler, ...)
    The executors: serial, a process pool (``workers``), a Dask cluster (``scheduler``).
batch_sizes(plans, batch_size=None), make_batches(...), run_batch(network, plans, eps, batch)
load_examples(data, *, input_dim, n_classes) -> (X, y); mnist_sample(); fingerprint_arrays(*arrays)
    The one data loader.
ResultStore(path, config), read_results(path), key_for(...), reproducible(records), StoreError, StoreConfigError
    The resumable JSON-lines store (its format and keys are a contract).
SummaryRow, summary_row(method, is_attack, records), summarize_records(plans, records), format_summary(rows, ...),
fmt_seconds(t)
    The one summary type.
LOCAL, is_available(), open_client(scheduler, *, workers), start_local_cluster(workers), LOCAL_SCHEDULER_CONFIG
    Dask (the optional extra ``distributed``).

Examples
--------
>>> import numpy as np, os, tempfile, certifiers
>>> from certifiers.engine import CertifyConfig, run_certify
>>> rng = np.random.default_rng(0)
>>> net = certifiers.ReLUNetwork([rng.standard_normal((8, 4)), rng.standard_normal((3, 8))], [np.zeros(8), np.zeros(3)])
>>> folder = tempfile.mkdtemp()
>>> net.save_npz(os.path.join(folder, "net.npz"))
>>> X = rng.random((5, 4)); np.savez(os.path.join(folder, "data.npz"), X=X, y=net.predict(X))
>>> report = run_certify(CertifyConfig(os.path.join(folder, "net.npz"), os.path.join(folder, "data.npz"),
...                                    methods=("ibp", "crown"), eps=0.0, progress=False))
>>> [(r.method, r.errors, r.n) for r in report.rows]
[('ibp', 0, 5), ('crown', 0, 5)]
"""

from __future__ import annotations

from ._batches import batch_sizes, make_batches, run_batch
from ._config import CertifyConfig, ConfigError
from ._dask import LOCAL, LOCAL_SCHEDULER_CONFIG, is_available, open_client, start_local_cluster
from ._data import fingerprint_arrays, load_examples, mnist_sample
from ._executors import certify_examples
from ._plan import MethodPlan, batch_seed, declared_options, plan_methods, prepare_methods
from ._run import CertifyReport, CertifyRun, run_certify
from ._store import ResultStore, StoreConfigError, StoreError, key_for, read_results, reproducible
from ._summary import SummaryRow, fmt_seconds, format_summary, summarize_records, summary_row

__all__ = [
    "CertifyConfig", "CertifyRun", "CertifyReport", "run_certify", "ConfigError",
    "MethodPlan", "plan_methods", "prepare_methods", "declared_options", "batch_seed",
    "certify_examples", "batch_sizes", "make_batches", "run_batch",
    "load_examples", "mnist_sample", "fingerprint_arrays",
    "ResultStore", "read_results", "key_for", "reproducible", "StoreError", "StoreConfigError",
    "SummaryRow", "summary_row", "summarize_records", "format_summary", "fmt_seconds",
    "LOCAL", "LOCAL_SCHEDULER_CONFIG", "is_available", "open_client", "start_local_cluster",
]
