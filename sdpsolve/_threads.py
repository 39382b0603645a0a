"""The one thread limiter: torch's intra-op threads and the BLAS/OpenMP pools (threadpoolctl), together.

On a small or shared machine one thread can be much faster than several for small problems (measured on 2
loaded cores: PGD on a 784-64-10 net, 50 images, 3.9 s with one torch thread against 89 s with two), and
worker processes split the cores among them. :func:`limit_threads` caps both for a block and restores them;
:func:`set_threads` caps them for the rest of a process (a worker's initialiser).

``blas_only=True`` leaves torch and OpenMP alone and caps the BLAS pool only (the solver's own setting: its
products are BLAS calls and numba kernels, and it never imports torch for that).

Examples
--------
>>> import torch
>>> with limit_threads(1):
...     torch.get_num_threads()
1
"""

from __future__ import annotations

from contextlib import contextmanager


@contextmanager
def limit_threads(threads: int | None, *, blas_only: bool = False):
    """Cap torch's intra-op threads and the BLAS/OpenMP pools at ``threads`` for the block (None: unchanged).

    With ``blas_only`` only the BLAS pool is capped (torch and OpenMP as they are).
    """
    if threads is None:
        yield
        return
    if isinstance(threads, bool) or int(threads) != threads or threads < 1:
        raise ValueError(f"`threads` must be an integer >= 1 (or None), got {threads!r}.")
    threads = int(threads)
    torch = None
    if not blas_only:
        import torch

        old = torch.get_num_threads()
        torch.set_num_threads(threads)
    try:
        try:
            from threadpoolctl import threadpool_limits
        except ImportError:  # pragma: no cover - threadpoolctl is a dependency
            yield
            return
        with threadpool_limits(limits=threads, user_api="blas" if blas_only else None):
            yield
    finally:
        if torch is not None:
            torch.set_num_threads(old)


def set_threads(threads: int) -> None:
    """Cap torch's and the BLAS pools' threads for the rest of this process (e.g. in a worker's initialiser)."""
    threads = int(threads)
    if threads < 1:
        raise ValueError(f"`threads` must be >= 1, got {threads}.")
    import torch

    torch.set_num_threads(threads)
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - threadpoolctl is a dependency
        return
    threadpool_limits(limits=threads)
