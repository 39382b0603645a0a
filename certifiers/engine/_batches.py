"""Batches of a run: which examples of which methods form one task, and how one batch is run.

A batch is a tuple ``(first index, X, y, indices, {method: rows to do})``; it is the unit every executor
(serial, process pool, Dask) hands out, and the unit a worker returns: ``{method: [record, ...]}``.
"""

from __future__ import annotations

from collections.abc import Sequence
from numbers import Integral

import numpy as np

from .._plugins import registry


def run_batch(network, plans, eps: float, batch) -> dict[str, list[dict]]:
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


def batch_sizes(plans: Sequence, batch_size: int | None = None) -> dict[str, int]:
    """Examples per batch of each method: ``batch_size`` for all, or each plugin's ``default_batch_size``."""
    if batch_size is not None:
        if isinstance(batch_size, bool) or not isinstance(batch_size, Integral) or batch_size < 1:
            raise ValueError(
                f"`batch_size` must be an integer >= 1 (or None: each method's default), got {batch_size!r}."
            )
        return {plan.name: int(batch_size) for plan in plans}
    reg = registry()
    return {plan.name: int(reg[plan.name].default_batch_size) for plan in plans}


def make_batches(X, y, indices, plans, batch_size, done) -> list[tuple]:
    """The tasks of a run: ``(first index, X, y, indices, {method: rows to do})`` per batch with work left.

    Methods with the same batch size share their batches; the list is ordered by first index, larger batches
    first at the same index (a process pool takes them in this order). ``done(method, index)`` says which
    examples are already recorded (None: none).
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
