"""The batches of ``sdpsolve certify`` on a Dask distributed cluster (``--scheduler``).

:func:`certifiers.engine.certify_examples` stays the one place that dispatches batches; with ``scheduler=`` it
hands them to :func:`run_batches`, which

* sends the network, the prepared plans and ε to the workers once (``Client.scatter(..., broadcast=True)``),
* submits one task per batch (``retries=`` :data:`RETRIES`: a task that raises is run again; a task whose
  worker dies is rescheduled by the scheduler itself, up to ``distributed.scheduler.allowed-failures`` times),
* yields ``(batch, records)`` as tasks finish (``as_completed``), in any order: the caller stores them at once,
  so a resumable store (:class:`certifiers.engine.ResultStore`, keyed by hash) receives every record exactly
  once whatever the order of arrival,
* submits a batch again, with the data scattered again, when the only worker holding the scattered data
  died (Dask cancels the tasks that depended on it; up to :data:`RESUBMITS` times per batch),
* starts local clusters whose workers keep their event loops quiet while tasks run
  (:data:`QUIET_WORKER_CONFIG`: with Dask's defaults, sdp-cert ran about 10% slower per example than in a
  process pool), and whose scheduler hands a one-thread worker one task at a time
  (:data:`LOCAL_SCHEDULER_CONFIG`, as a process pool does),
* serves arrays up to 32 MiB from the heap, and keeps freed heap memory, while a batch runs
  (:func:`heap_allocations`: Dask's default ``MALLOC_TRIM_THRESHOLD_`` otherwise makes every larger array a
  fresh ``mmap``, and hands freed memory back to the kernel; sdp-cert ran 2.5× slower);
  the local cluster of ``"local"`` (:func:`start_local_cluster`) does not set that variable at all, and leaves
  this process's environment as it was (a plain LocalCluster writes it there, where a later ``--workers``
  process pool inherited it: 2 workers ran slower than 1).

Each task returns its whole batch; no record is stored before its batch has finished, so a batch run twice (a
worker lost after finishing) is reported once (each future is yielded once) and in any case stored once.

``scheduler`` is one of: ``"local"`` (:data:`LOCAL`; a ``LocalCluster`` of ``workers`` processes with one
thread each, started and closed here), the address of a running scheduler (``"tcp://10.0.0.5:8786"``,
``"10.0.0.5:8786"``), or a ``distributed.Client`` (used as is, not closed).

The package ``distributed`` is an optional extra (``pip install "sdpsolve[distributed]"``), imported only here
and only when a scheduler is asked for.

Examples
--------
>>> from certifiers.engine._dask import LOCAL, is_available
>>> LOCAL
'local'
"""

from __future__ import annotations

import logging
import os
import threading
import uuid
from collections.abc import Iterator, Sequence
from concurrent.futures import CancelledError
from contextlib import contextmanager
from dataclasses import dataclass

from sdpsolve import MissingDependencyError

#: the ``scheduler`` spelling that starts a LocalCluster of ``workers`` processes
LOCAL = "local"
#: seconds to wait for a scheduler at an address before giving up
CONNECT_TIMEOUT = 5.0
#: re-runs of a batch whose task raised an exception (a lost worker is handled by the scheduler)
RETRIES = 2
#: re-submissions of a batch cancelled because the scattered network and plans were lost with their workers
RESUBMITS = 3
#: the command that installs the extra (quoted: the brackets are shell patterns)
INSTALL_HINT = 'pip install "sdpsolve[distributed]"'


def _import_distributed():
    try:
        import distributed
    except ImportError as exc:
        raise MissingDependencyError(
            f"running on a Dask cluster (a scheduler) needs the optional package 'distributed'; install it with "
            f"`{INSTALL_HINT}`"
        ) from exc
    return distributed


def is_available() -> bool:
    """Whether ``distributed`` can be imported (without raising)."""
    try:
        _import_distributed()
    except MissingDependencyError:
        return False
    return True


#: What the workers of a local cluster leave out of their event loop while tasks run: the statistical profiler
#: (a stack sample every 10 ms), the 20 ms "event loop blocked" tick, the 100 ms memory and 500 ms system
#: monitors run less often. Each wake-up takes the GIL from the task's thread; measured on Grad-NN sdp-cert
#: (``bench/dask_overhead.py``, per example against a process-pool worker, from the worker's clocks: the task
#: thread's waits and the other threads' CPU time): 11.9% with Dask's defaults, 0.7% with these (wall time,
#: median: +10.5% and +4.0%). Memory limits are still checked every second.
QUIET_WORKER_CONFIG = {
    "distributed.worker.profile.enabled": False,
    "distributed.admin.tick.interval": "1s",
    "distributed.worker.memory.monitor-interval": "1s",
    "distributed.admin.system-monitor.interval": "5s",
}

#: The local cluster's scheduler hands a one-thread worker one queued task at a time (Dask's default 1.1 gives
#: it ceil(1.1) = 2: one runs, one waits on that worker, where only work stealing can move it to a worker that
#: has become idle). With 1.0 every task goes to the first worker that is free, as in a process pool: what
#: matters for batches of very unequal length (sdp-cert stops a batch at its first uncertified target).
LOCAL_SCHEDULER_CONFIG = {"distributed.scheduler.worker-saturation": 1.0}

#: Dask's nanny sets MALLOC_TRIM_THRESHOLD_=65536 for its workers; any fixed value switches off glibc's dynamic
#: mmap threshold, so every large temporary array is mmap-ed afresh and page-faulted. Measured on Grad-NN
#: sdp-cert (one example, three targets): 3.8–4.1 s without it, 9.2 s with it. Local clusters started here unset it.
_UNSET_SPAWN_ENVIRON = ("MALLOC_TRIM_THRESHOLD_",)


def start_local_cluster(workers: int, *, threads_per_worker: int = 1, quiet_workers: bool = True):
    """A started ``distributed.LocalCluster`` of ``workers`` processes, for numerical work.

    Unlike a plain ``LocalCluster``: its workers keep glibc's dynamic malloc thresholds (see
    ``_UNSET_SPAWN_ENVIRON``), their event loops wake up less often while tasks run
    (:data:`QUIET_WORKER_CONFIG`), its scheduler gives each worker thread one task at a time
    (:data:`LOCAL_SCHEDULER_CONFIG`), and this process's ``os.environ`` is left as it was (the nanny writes its
    pre-spawn variables into the parent's environment, where every process started later, e.g. a
    ``--workers`` process pool, would inherit them). ``quiet_workers=False`` keeps Dask's event-loop
    defaults (e.g. for the dashboard's profiler).

    Examples
    --------
    >>> cluster = start_local_cluster(1)          # doctest: +SKIP
    >>> cluster.close()                           # doctest: +SKIP
    """
    import dask

    distributed = _import_distributed()
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ValueError(f"`workers` must be an int >= 1 for a local cluster, got {workers!r}.")
    saved = dict(os.environ)
    unset = {f"distributed.nanny.pre-spawn-environ.{k}": None for k in _UNSET_SPAWN_ENVIRON}
    try:
        with dask.config.set({**unset, **LOCAL_SCHEDULER_CONFIG, **(QUIET_WORKER_CONFIG if quiet_workers else {})}):
            return distributed.LocalCluster(
                n_workers=workers, threads_per_worker=threads_per_worker, processes=True, dashboard_address=":0"
            )
    finally:
        os.environ.clear()
        os.environ.update(saved)


def open_client(scheduler, *, workers: int = 1, timeout: float | None = None):
    """Connect to (or start) a Dask cluster: ``(client, close)``.

    Parameters
    ----------
    scheduler : str or distributed.Client
        :data:`LOCAL`, a scheduler address, or a client (returned as is; ``close`` then does nothing).
    workers : int
        Processes of the LocalCluster for :data:`LOCAL` (one thread each); ignored otherwise.
    timeout : float, optional
        Seconds to wait for a scheduler at an address (default :data:`CONNECT_TIMEOUT`).

    Returns
    -------
    client : distributed.Client
    close : callable
        Closes what was opened here (the client, and the LocalCluster for :data:`LOCAL`).

    Raises
    ------
    MissingDependencyError
        ``distributed`` is not installed (the message names the extra).
    ValueError
        Not a scheduler address, no scheduler answered within ``timeout``, or ``workers`` < 1.
    """
    distributed = _import_distributed()
    if isinstance(scheduler, distributed.Client):
        return scheduler, lambda: None
    if not isinstance(scheduler, str):
        raise TypeError(f"`scheduler` must be {LOCAL!r}, an address or a distributed.Client, got {scheduler!r}.")
    address = scheduler.strip()
    if not address:
        raise ValueError(f"`scheduler` must be {LOCAL!r} or a scheduler address such as tcp://host:8786, got ''.")
    if address == LOCAL:
        cluster = start_local_cluster(workers)
        try:
            client = distributed.Client(cluster, set_as_default=False)
        except BaseException:
            cluster.close()
            raise

        def close_local():
            client.close()
            cluster.close()

        return client, close_local
    wait = CONNECT_TIMEOUT if timeout is None else float(timeout)
    try:
        client = distributed.Client(address, timeout=wait, set_as_default=False)
    except (OSError, TimeoutError) as exc:
        raise ValueError(
            f"no Dask scheduler answered at {address!r} within {wait:g} s ({type(exc).__name__}: {exc}); start one "
            f"with `dask scheduler` (and workers with `dask worker ADDRESS`), or use {LOCAL!r} for a local cluster."
        ) from None
    except (ValueError, TypeError) as exc:
        raise ValueError(f"not a Dask scheduler address: {address!r} ({exc}).") from None
    return client, client.close


def describe(client) -> str:
    """One line about the cluster: scheduler address, workers and threads."""
    try:
        info = client.scheduler_info()
        workers = info.get("workers", {})
        threads = sum(int(w.get("nthreads", 0)) for w in workers.values())
        return f"Dask scheduler {client.scheduler.address}: {len(workers)} workers, {threads} threads"
    except Exception:  # pragma: no cover - a description only
        return f"Dask client {client!r}"


def local_threads(scheduler, workers: int, threads: int | None) -> int | None:
    """Threads per task: ``threads``, else for :data:`LOCAL` ``cpu_count // workers``, else None (unchanged)."""
    if threads is not None:
        return int(threads)
    if isinstance(scheduler, str) and scheduler.strip() == LOCAL:
        return max(1, (os.cpu_count() or 1) // max(1, int(workers)))
    return None


@dataclass
class _Payload:
    """What every task needs besides its batch; scattered once (a single object, not a collection)."""

    network: object
    plans: list
    eps: float
    threads: int | None
    token: str


_THREAD_STATE = threading.local()
_LOG = logging.getLogger(__name__)


def _plans_for_this_thread(payload: _Payload) -> list:
    """The prepared plans; a private copy per thread when the worker runs several tasks at once.

    Plugins keep state between calls (e.g. ``last_details``); one copy per worker thread keeps concurrent
    batches in one process apart. A worker with one thread uses the scattered object itself.
    """
    try:
        from distributed import get_worker

        nthreads = int(get_worker().state.nthreads)
    except (ImportError, ValueError, AttributeError):
        nthreads = 1
    if nthreads <= 1:
        return payload.plans
    cached = getattr(_THREAD_STATE, "plans", None)
    if cached is None or cached[0] != payload.token:
        import cloudpickle

        cached = (payload.token, cloudpickle.loads(cloudpickle.dumps(payload.plans)))
        _THREAD_STATE.plans = cached
    return cached[1]


#: glibc's ``mallopt`` parameters M_TRIM_THRESHOLD and M_MMAP_THRESHOLD, their defaults, and the values set during
#: a batch (glibc's largest dynamic mmap threshold on 64-bit, and twice it for trimming, as its dynamic rule does)
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
_TRIM_THRESHOLD_DEFAULT = 128 << 10
_MMAP_THRESHOLD_DEFAULT = 128 << 10
_MMAP_THRESHOLD_BATCH = 32 << 20
_TRIM_THRESHOLD_BATCH = 64 << 20
_HEAP_LOCK = threading.Lock()
_HEAP_USERS = [0]


def _mallopt():
    """glibc's ``mallopt`` (None elsewhere)."""
    import ctypes

    try:
        return ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):  # pragma: no cover - not glibc
        return None


def _trim_threshold_from_environ() -> int:
    """The M_TRIM_THRESHOLD the process started with: ``MALLOC_TRIM_THRESHOLD_`` if it is a number, else glibc's."""
    try:
        return int(os.environ["MALLOC_TRIM_THRESHOLD_"])
    except (KeyError, ValueError):
        return _TRIM_THRESHOLD_DEFAULT


@contextmanager
def heap_allocations():
    """Serve arrays up to 32 MiB from the heap, and keep freed heap memory, during a batch in a worker started by a
    Dask nanny.

    Dask's nannies start their workers with ``MALLOC_TRIM_THRESHOLD_=65536`` (the configuration key
    ``distributed.nanny.pre-spawn-environ``), and setting any glibc malloc threshold switches off its
    *dynamic* mmap threshold: every array above 128 KiB is then a fresh ``mmap``, page-faulted in and unmapped
    again at release. SDP-cert allocates such temporaries at every product (measured on PGD-NN: 2.5× slower
    per example). During a batch, M_MMAP_THRESHOLD is set to 32 MiB (glibc's own dynamic maximum) and
    M_TRIM_THRESHOLD to 64 MiB: with the mmap threshold alone, the 64 KiB trim threshold still hands every freed
    temporary at the top of the heap back to the kernel (measured on Grad-NN sdp-cert, 40 rounds per target:
    about 28,000 page faults and 0.1 s of system time per example, against under 600 with both). Both are restored
    when the last batch running in the process finishes. Nothing is done outside glibc, outside such workers
    (``MALLOC_TRIM_THRESHOLD_`` not set), or when ``MALLOC_MMAP_THRESHOLD_`` was chosen explicitly.
    """
    env = os.environ
    mallopt = _mallopt() if "MALLOC_TRIM_THRESHOLD_" in env and "MALLOC_MMAP_THRESHOLD_" not in env else None
    if mallopt is None:
        yield
        return
    with _HEAP_LOCK:
        _HEAP_USERS[0] += 1
        if _HEAP_USERS[0] == 1:
            mallopt(_M_MMAP_THRESHOLD, _MMAP_THRESHOLD_BATCH)
            mallopt(_M_TRIM_THRESHOLD, _TRIM_THRESHOLD_BATCH)
    try:
        yield
    finally:
        with _HEAP_LOCK:
            _HEAP_USERS[0] -= 1
            if _HEAP_USERS[0] == 0:
                mallopt(_M_MMAP_THRESHOLD, _MMAP_THRESHOLD_DEFAULT)
                mallopt(_M_TRIM_THRESHOLD, _trim_threshold_from_environ())


def _batch_task(payload: _Payload, batch) -> dict[str, list[dict]]:
    """One batch on a worker: ``{method: [record, ...]}`` (the task function)."""
    from sdpsolve import limit_threads

    from ._batches import run_batch

    with limit_threads(payload.threads), heap_allocations():
        return run_batch(payload.network, _plans_for_this_thread(payload), payload.eps, batch)


def _methods(batch) -> str:
    """The methods a batch runs, for messages: ``"sdp-cert"``, ``"pgd+ibp"``."""
    return "+".join(batch[4])


def run_batches(
    client,
    network,
    plans: Sequence,
    eps: float,
    batches: Sequence[tuple],
    *,
    threads: int | None = None,
    retries: int = RETRIES,
) -> Iterator[tuple[tuple, dict[str, list[dict]]]]:
    """Run batches on a Dask cluster; yield ``(batch, {method: records})`` as each finishes (any order).

    Parameters
    ----------
    client : distributed.Client
    network, plans, eps
        As for :func:`certifiers.engine.certify_examples` (plans prepared); sent to the workers once.
    batches : sequence of tuple
        ``(first index, X, y, indices, todo)`` as built by :func:`certifiers.engine.certify_examples`.
    threads : int, optional
        torch/BLAS threads per task (None: as the worker has them; Dask's nannies set the OpenMP/BLAS
        variables to 1).
    retries : int
        Re-runs of a task that raised.

    Raises
    ------
    Exception
        The exception of a batch that still failed after its retries (the remaining tasks are cancelled;
        what was yielded before stays valid). ``distributed.KilledWorker`` when a batch took its workers down
        more than ``distributed.scheduler.allowed-failures`` times.
    RuntimeError
        When a batch had to be submitted again more than :data:`RESUBMITS` times.
    """
    distributed = _import_distributed()
    tag = uuid.uuid4().hex[:12]
    payload = _Payload(network, list(plans), float(eps), threads, tag)

    def scatter():
        return client.scatter(payload, broadcast=True, hash=False)

    data = scatter()
    attempts = [0] * len(batches)

    def submit(k: int):
        return client.submit(
            _batch_task,
            data,
            batches[k],
            key=f"certify-batch-{batches[k][0]}-{k}-{tag}-{attempts[k]}",  # k: methods may batch differently
            retries=int(retries),
            pure=False,
        )

    futures = {submit(k): k for k in range(len(batches))}
    pending = distributed.as_completed(list(futures), loop=client.loop)
    try:
        for future in pending:
            k = futures.pop(future)
            try:
                result = future.result()  # raises the task's exception after its retries
            except CancelledError as exc:
                # the scattered payload was lost with the worker(s) holding it, before the batch ran or while
                # its result was being fetched (Dask cancels what depends on lost data): scatter, submit again
                attempts[k] += 1
                if attempts[k] > RESUBMITS:
                    raise RuntimeError(
                        f"the {_methods(batches[k])} batch starting at example {batches[k][0]} was cancelled "
                        f"{attempts[k]} times (its workers were lost together with the network sent to them); "
                        "giving up."
                    ) from exc
                if data.status != "finished":
                    data.release()
                    data = scatter()
                _LOG.warning(
                    "the %s batch starting at example %d was cancelled (the network sent to its workers was lost); "
                    "submitted again (attempt %d)",
                    _methods(batches[k]),
                    batches[k][0],
                    attempts[k] + 1,
                )
                again = submit(k)
                futures[again] = k
                pending.add(again)
                continue
            future.release()
            yield batches[k], result
    finally:
        if futures:
            client.cancel(list(futures), force=True)
        data.release()
