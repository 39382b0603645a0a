"""The one process-pool helper: a pool whose workers cap their threads before they take work.

Both places that fan work out to processes use it: the run engine's ``workers`` (batches of examples) and
Grad-cert's preparation (its pair SDPs). Each worker process caps torch's and the BLAS pools' threads
(:func:`sdpsolve.set_threads`; default ``cpu_count // workers``), so that N workers do not each start as many
threads as there are cores, then runs the caller's initialiser.

Examples
--------
>>> with process_pool(2, threads=1) as pool:
...     sorted(pool.map(abs, [-1, -2]))
[1, 2]
"""

from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor

from sdpsolve import set_threads


def default_threads(workers: int) -> int:
    """Threads per worker when the caller does not say: the cores shared evenly, at least one."""
    return max(1, (os.cpu_count() or 1) // max(1, int(workers)))


def _initialise(threads: int, initializer, initargs) -> None:
    set_threads(threads)
    if initializer is not None:
        initializer(*initargs)


def process_pool(workers: int, *, threads: int | None = None, initializer=None, initargs=(),
                 start_method: str | None = "spawn") -> ProcessPoolExecutor:
    """A ``ProcessPoolExecutor`` of ``workers`` processes, each with ``threads`` torch/BLAS threads.

    Parameters
    ----------
    workers : int
        Processes (>= 1).
    threads : int, optional
        Threads per worker (default :func:`default_threads`).
    initializer, initargs
        Run in each worker after its threads are capped (as for ``ProcessPoolExecutor``).
    start_method : str or None
        ``"spawn"`` (default: a fresh interpreter, safe with threads and torch), ``"fork"``, or None (the
        platform's default).
    """
    if isinstance(workers, bool) or int(workers) != workers or workers < 1:
        raise ValueError(f"`workers` must be an integer >= 1, got {workers!r}.")
    threads = default_threads(workers) if threads is None else int(threads)
    context = None if start_method is None else multiprocessing.get_context(start_method)
    return ProcessPoolExecutor(max_workers=int(workers), mp_context=context, initializer=_initialise,
                               initargs=(threads, initializer, tuple(initargs)))
