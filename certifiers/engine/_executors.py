"""Executors: run a run's batches serially, in a process pool, or on a Dask cluster (:func:`certify_examples`).

Adding an executor means one more branch in :func:`certify_examples` that takes the ``away`` batches and
yields ``(batch, {method: records})`` to ``collect``; the Dask one lives in :mod:`certifiers.engine._dask`.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from contextlib import closing

import numpy as np

from sdpsolve import limit_threads

from .._plugins import registry
from .._pool import default_threads, process_pool
from ._batches import make_batches, run_batch
from ._dask import LOCAL

_WORKER: dict = {}


def _init_worker(network, plans, eps) -> None:
    _WORKER.update(network=network, plans=plans, eps=eps)


def _worker_batch(batch):
    from ._dask import heap_allocations  # a worker that inherited Dask's malloc setting: see there

    with heap_allocations():
        return run_batch(_WORKER["network"], _WORKER["plans"], _WORKER["eps"], batch)


def certify_examples(
    network,
    X: np.ndarray,
    y: np.ndarray,
    eps: float,
    plans: Sequence,
    *,
    indices: np.ndarray | None = None,
    done=None,
    on_records=None,
    batch_size: int | None = None,
    workers: int = 1,
    threads: int | None = None,
    scheduler=None,
    progress: bool = False,
) -> dict[str, list[dict]]:
    """Run prepared methods over the examples, in batches: serially, in worker processes or on a Dask cluster.

    Each method's examples are split into batches of its own size (see ``batch_size``); a batch is one task.

    Parameters
    ----------
    network : ReLUNetwork
    X : numpy.ndarray, shape (N, d)
    y : numpy.ndarray of int, shape (N,)
    eps : float
    plans : sequence of MethodPlan
        Prepared by :func:`prepare_methods`.
    indices : numpy.ndarray of int, optional
        Data-set index of each example (default ``arange(N)``); a method's batches start at multiples of its
        batch size counted from the first example.
    done : callable, optional
        ``done(method, index) -> bool``: skip examples already recorded.
    on_records : callable, optional
        ``on_records(method, records)`` is called as each batch finishes (e.g. to store them), with the
        batch's records in index order; batches arrive in order of their first index, except with
        ``scheduler`` (in the order they finish).
    batch_size : int, optional
        Examples per batch for every method; default: each plugin's ``default_batch_size`` (100 for methods
        that work on whole arrays, 1 for sdp-cert), so that slow methods spread over the workers example by
        example while fast ones keep their whole-array speed.
    workers : int
        Processes; 1 runs in this process. With ``scheduler="local"``: the workers of the local cluster;
        with any other ``scheduler`` it must be 1. With workers or a scheduler, the batches of plugins with
        ``runs_in_workers = False`` (closed-form methods) still run in this process, while the workers start.
    threads : int, optional
        Threads per process for torch and BLAS (default: as they are when serial; cpu_count // workers
        in worker processes and in a local Dask cluster; as the workers have them on another cluster).
    scheduler : str or distributed.Client, optional
        Run the batches on a Dask cluster (:mod:`certifiers.engine._dask`): ``"local"`` (a LocalCluster of
        ``workers`` processes, started and closed here), a scheduler address, or a ``distributed.Client``.
        Needs the optional extra ``distributed``.
    progress : bool
        A tqdm bar over the (example, method) results on stderr.

    Returns
    -------
    dict
        ``{method: [record, ...]}``: the new records (``ExampleResult.to_json()``), in index order.

    Raises
    ------
    ValueError
        ``workers`` > 1 together with a ``scheduler`` other than ``"local"``, a scheduler that does not
        answer, or ``batch_size`` < 1.
    sdpsolve.MissingDependencyError
        ``scheduler`` given and ``distributed`` not installed.
    """
    N = len(y)
    if scheduler is not None and workers > 1 and not (isinstance(scheduler, str) and scheduler.strip() == LOCAL):
        raise ValueError(
            f"`workers` must be 1 with a Dask `scheduler` other than 'local' (the cluster's workers run the "
            f"batches), got {workers}."
        )
    indices = np.arange(N) if indices is None else np.asarray(indices, dtype=np.int64)
    # the batches run in this process (all of them when serial) and those for the workers or the cluster: the
    # methods whose examples cost less than starting a worker and sending it the plugin stay here
    serial = scheduler is None and workers <= 1
    reg = registry()
    stays = [serial or not reg[plan.name].runs_in_workers for plan in plans]
    here = make_batches(X, y, indices, [p for p, s in zip(plans, stays) if s], batch_size, done)
    away = make_batches(X, y, indices, [p for p, s in zip(plans, stays) if not s], batch_size, done)
    out: dict[str, list[dict]] = {plan.name: [] for plan in plans}
    bar = None
    if progress:
        from tqdm.auto import tqdm

        total = N * len(plans)
        pending = sum(len(rows) for batch in here + away for rows in batch[4].values())
        bar = tqdm(total=total, initial=total - pending, desc="certify", unit="result", file=sys.stderr,
                   dynamic_ncols=True)

    def collect(batch, result):
        for name, records in result.items():
            out[name].extend(records)
            if on_records is not None:
                on_records(name, records)
            if bar is not None:
                bar.update(len(records))

    def run_here(batches, threads_here):
        with limit_threads(threads_here):
            for batch in batches:
                collect(batch, run_batch(network, plans, eps, batch))

    try:
        if scheduler is not None:
            run_here(here, threads)
            if away:
                from ._dask import local_threads, open_client, run_batches

                client, close = open_client(scheduler, workers=workers)
                try:
                    per_task = local_threads(scheduler, workers, threads)
                    # closing: a failure while storing cancels the batches still running on the cluster
                    with closing(run_batches(client, network, list(plans), eps, away, threads=per_task)) as results:
                        for batch, result in results:
                            collect(batch, result)
                finally:
                    close()
        elif len(away) <= 1:  # no pool for a single batch
            run_here(here + away, threads)
        else:
            n = min(workers, len(away))
            per_worker = threads if threads is not None else default_threads(n)
            with process_pool(n, threads=per_worker, initializer=_init_worker,
                              initargs=(network, list(plans), eps)) as pool:
                try:
                    results = pool.map(_worker_batch, away)
                    run_here(here, per_worker)  # while the workers start
                    for batch, result in zip(away, results):
                        collect(batch, result)
                except BaseException:  # e.g. the store failed or Ctrl-C: the batches not started are dropped
                    pool.shutdown(cancel_futures=True)
                    raise
    finally:
        if bar is not None:
            bar.close()
    for records in out.values():  # a Dask cluster returns batches in the order they finish
        records.sort(key=lambda r: r["index"])
    return out
