"""Tests of ``sdpsolve certify --scheduler`` (certifiers.engine._dask, Dask distributed).

Oracle: a serial run of the same methods on the same examples (:func:`certifiers.cli.certify_examples` without
workers). A Dask run must give exactly the same records (``time`` fields aside: they are measured), each
(method, example) exactly once, the returned records in index order, and a result file equal to the serial
run's — also when a worker dies in the middle of a batch (the batch is run again elsewhere), and when the only
worker holding the scattered network dies (the network is sent again). Usage errors exit with code 2 and a
message naming ``--scheduler``.

Clusters: ``LocalCluster(n_workers=2, threads_per_worker=1, processes=True)``, one per module (a nanny restarts
a worker that died); each test stays well under 30 s on 2 cores.
"""

from __future__ import annotations

import logging
import os
import re
import socket
import sys

import pytest

from certifiers import engine
from certifiers.engine import _dask as _distributed
from certifiers.engine import _executors, reproducible
from sdpsolve import cli, limit_threads
from tests.certifiers.test_cli import N, _certify, _records, files  # noqa: F401  (files: the shared fixture)

needs_distributed = pytest.mark.skipif(
    not _distributed.is_available(), reason='Dask distributed is not installed (pip install "sdpsolve[distributed]")'
)
METHODS = ["ibp", "crown", "grad-cert", "pgd"]
EPS = 0.04
BATCH = 7  # 24 examples: batches at 0, 7, 14, 21


@pytest.fixture(scope="module")
def cluster():
    distributed = pytest.importorskip("distributed", reason="Dask distributed is not installed")
    with (
        _distributed.start_local_cluster(2) as cl,
        distributed.Client(cl, set_as_default=False) as client,
    ):
        yield cl, client


@needs_distributed
def test_local_cluster_keeps_malloc_defaults_and_this_environment(cluster):
    """A plain LocalCluster writes MALLOC_TRIM_THRESHOLD_ (and the BLAS thread variables) into the parent's
    os.environ and into its workers; the first slows numpy-heavy work 2x (module docstring of _distributed)."""
    _, client = cluster
    before = dict(os.environ)
    extra = _distributed.start_local_cluster(1)
    try:
        assert dict(os.environ) == before
        with pytest.importorskip("distributed").Client(extra, set_as_default=False) as c:
            env = c.run(lambda: os.environ.get("MALLOC_TRIM_THRESHOLD_"))
        assert set(env.values()) == {before.get("MALLOC_TRIM_THRESHOLD_")}
    finally:
        extra.close()
    assert set(client.run(lambda: os.environ.get("MALLOC_TRIM_THRESHOLD_")).values()) == {
        before.get("MALLOC_TRIM_THRESHOLD_")
    }


@needs_distributed
def test_local_cluster_workers_run_with_the_quiet_event_loop_settings(cluster):
    """Dask's defaults wake each worker's event loop every 10 ms (profiler) and 20 ms (tick), which cost sdp-cert
    about 10% per example; the local cluster's workers run with QUIET_WORKER_CONFIG, and this process's config is
    left as it was."""
    import dask

    _, client = cluster
    for key, value in _distributed.QUIET_WORKER_CONFIG.items():
        seen = client.run(lambda k=key: __import__("dask").config.get(k))
        assert set(seen.values()) == {value}, key
        assert dask.config.get(key) != value, key


@needs_distributed
def test_local_cluster_gives_each_worker_thread_one_task_at_a_time(cluster):
    """Dask's default worker-saturation (1.1) assigns two tasks to a one-thread worker, one of them waiting there
    while another worker may be idle; the local cluster's scheduler hands out one per thread, like a process pool."""
    import time

    import dask

    cl, client = cluster
    assert cl.scheduler.WORKER_SATURATION == 1.0
    assert dask.config.get("distributed.scheduler.worker-saturation") != 1.0  # this process's config untouched
    futures = client.map(time.sleep, [0.4] * 8, key=[f"saturation-probe-{i}" for i in range(8)])
    try:
        deadline = time.monotonic() + 5
        while sum(len(v) for v in client.processing().values()) < 2 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert [len(v) for v in client.processing().values()] == [1, 1]
    finally:
        client.gather(futures)


@pytest.fixture(scope="module")
def plans(files):  # noqa: F811
    plans, _ = engine.plan_methods(METHODS, {"cache_dir": files["cache"]}, seed=3)
    engine.prepare_methods(plans, files["net"])
    return plans


@pytest.fixture(scope="module")
def serial(files, plans):  # noqa: F811
    with limit_threads(1):
        return engine.certify_examples(files["net"], files["X"], files["y"], EPS, plans, batch_size=BATCH)


def _run(files, plans, scheduler, **kwargs):  # noqa: F811
    seen = []

    def on_records(method, records):
        seen.extend((method, r["index"]) for r in records)

    out = engine.certify_examples(
        files["net"],
        files["X"],
        files["y"],
        EPS,
        plans,
        batch_size=BATCH,
        scheduler=scheduler,
        on_records=on_records,
        threads=1,
        **kwargs,
    )
    return out, seen


def _check_same_as_serial(out, seen, serial):
    assert sorted(seen) == sorted((m, i) for m in METHODS for i in range(N)), "each record reported exactly once"
    for m in METHODS:
        assert [r["index"] for r in out[m]] == list(range(N)), f"{m}: returned records not in index order"
    assert reproducible(r for m in METHODS for r in out[m]) == reproducible(r for m in METHODS for r in serial[m])


@needs_distributed
def test_local_cluster_gives_the_serial_records(files, plans, serial, cluster):  # noqa: F811
    _, client = cluster
    out, seen = _run(files, plans, client)
    _check_same_as_serial(out, seen, serial)
    # batches may arrive in any order; the store of the CLI test below covers out-of-order writes
    assert len(serial["pgd"]) == N


@needs_distributed
def test_closed_form_methods_run_in_the_client(files, plans, serial, cluster, monkeypatch):  # noqa: F811
    """ibp and grad-cert (runs_in_workers False) run in this process; crown and pgd go to the cluster."""
    _, client = cluster
    here = set()
    run_batch = _executors.run_batch

    def spy(network, plans_, eps_, batch):
        here.update(batch[4])
        return run_batch(network, plans_, eps_, batch)

    monkeypatch.setattr(_executors, "run_batch", spy)  # the cluster's worker processes do not see it
    out, seen = _run(files, plans, client)
    assert here == {"ibp", "grad-cert"}
    _check_same_as_serial(out, seen, serial)


@needs_distributed
def test_cli_store_through_dask_equals_serial_store(capsys, files, cluster, tmp_path):  # noqa: F811
    cl, _ = cluster
    serial_out, dask_out = tmp_path / "serial.jsonl", tmp_path / "dask.jsonl"
    common = ["--method", ",".join(METHODS), "--eps", str(EPS), "--seed", "3", "--threads", "1"]
    code, serial_text, err = _certify(capsys, files, *common, "--out", str(serial_out))
    assert code == 0, err
    code, out, err = _certify(capsys, files, *common, "--out", str(dask_out), "--scheduler", cl.scheduler_address)
    assert code == 0, err
    h1, r1 = _records(serial_out)
    h2, r2 = _records(dask_out)
    assert h1["config"] == h2["config"]
    assert len(r2) == len({r["key"] for r in r2}) == len(METHODS) * N
    assert reproducible(r1) == reproducible(r2)
    assert {r["key"] for r in r1} == {r["key"] for r in r2}

    # the summary tables agree (method, error, value, bound kind; the time columns aside)
    def table(text):
        return [re.split(r"\s{2,}", ln)[:4] for ln in text.splitlines() if ln.split(" ")[0] in METHODS]

    assert len(table(out)) == len(METHODS) and table(out) == table(serial_text)
    # a rerun through Dask finds everything stored and adds nothing
    before = dask_out.read_text()
    code, out, err = _certify(capsys, files, *common, "--out", str(dask_out), "--scheduler", cl.scheduler_address)
    assert code == 0, err
    assert dask_out.read_text() == before and f"{len(METHODS) * N} (example, method) records" in out


class _DiesOnce:
    """A plugin wrapper whose first call on the batch starting at ``first`` kills its worker process.

    ``marker`` is created atomically (``O_EXCL``) just before ``os._exit``: exactly one process dies, whichever
    runs that batch first; the re-run (on another worker or the restarted one) goes through.
    """

    def __init__(self, plugin, first: int, marker: str):
        self.plugin, self.first, self.marker = plugin, first, marker

    def certify(self, network, X, y, eps, *, indices=None):
        if int(indices[0]) == self.first:
            try:
                fd = os.open(self.marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
            except FileExistsError:
                pass
            else:
                os.close(fd)
                os._exit(1)
        return self.plugin.certify(network, X, y, eps, indices=indices)


def _with_crash(plans, first, marker):
    out = []
    for p in plans:
        q = engine.MethodPlan(p.name, p.is_attack, dict(p.options), p.reseed, p.seed, p.instance, p.prepare_time)
        if p.name == "crown":
            q.instance = _DiesOnce(p.instance, first, str(marker))
        out.append(q)
    return out


@needs_distributed
def test_worker_dying_mid_batch_is_retried(files, plans, serial, cluster, tmp_path):  # noqa: F811
    _, client = cluster
    marker = tmp_path / "died"
    out, seen = _run(files, _with_crash(plans, BATCH, marker), client)
    assert marker.exists(), "the worker was not killed: the test checked nothing"
    _check_same_as_serial(out, seen, serial)


@needs_distributed
def test_lost_scattered_network_is_sent_again(files, plans, serial, tmp_path, caplog):  # noqa: F811
    """One worker: when it dies, the network scattered to it is gone; the batches are submitted again."""
    import distributed

    caplog.set_level(logging.WARNING, logger="certifiers.engine._dask")
    marker = tmp_path / "died"
    with (
        distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=True, dashboard_address=":0") as cl,
        distributed.Client(cl, set_as_default=False) as client,
    ):
        out, seen = _run(files, _with_crash(plans, 2 * BATCH, marker), client)
    assert marker.exists()
    assert "submitted again" in caplog.text, "the re-submission path was not taken"
    _check_same_as_serial(out, seen, serial)


@needs_distributed
def test_threads_share_one_worker(files, plans, serial):  # noqa: F811
    """Two threads in one worker run two batches at once, each on its own copy of the prepared plugins."""
    import distributed

    with (
        distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=False, dashboard_address=":0") as cl,
        distributed.Client(cl, set_as_default=False) as client,
    ):
        out, seen = _run(files, plans, client)
    _check_same_as_serial(out, seen, serial)


@needs_distributed
def test_scheduler_local_spelling(files, plans, serial):  # noqa: F811
    out, seen = _run(files, plans, "local", workers=2)
    _check_same_as_serial(out, seen, serial)


def test_heap_threshold_is_set_during_batches_only(monkeypatch):
    """Under Dask's MALLOC_TRIM_THRESHOLD_: mmap/trim thresholds 32/64 MiB while any batch runs, restored after."""
    calls = []
    monkeypatch.setattr(_distributed, "_mallopt", lambda: lambda param, value: calls.append((param, value)))
    monkeypatch.delenv("MALLOC_MMAP_THRESHOLD_", raising=False)
    monkeypatch.delenv("MALLOC_TRIM_THRESHOLD_", raising=False)
    with _distributed.heap_allocations():
        pass
    assert calls == [], "changed the allocator outside a Dask worker"
    monkeypatch.setenv("MALLOC_TRIM_THRESHOLD_", "65536")
    with _distributed.heap_allocations(), _distributed.heap_allocations():  # two batches at once
        assert calls == [(-3, 32 << 20), (-1, 64 << 20)]
    assert calls[2:] == [(-3, 128 << 10), (-1, 65536)], "not restored to the worker's own trim threshold"
    calls.clear()
    monkeypatch.setenv("MALLOC_TRIM_THRESHOLD_", "not a number")  # unreadable: glibc's default comes back
    with _distributed.heap_allocations():
        pass
    assert calls == [(-3, 32 << 20), (-1, 64 << 20), (-3, 128 << 10), (-1, 128 << 10)]
    calls.clear()
    monkeypatch.setenv("MALLOC_MMAP_THRESHOLD_", "1000000")  # the user's own choice is kept
    with _distributed.heap_allocations():
        pass
    assert calls == []


# -- usage errors (these need no cluster) -----------------------------------------------------------------
def _argv(files, *extra):  # noqa: F811
    return [
        "certify",
        "--model",
        str(files["model"]),
        "--data",
        str(files["data"]),
        "--method",
        "ibp",
        "--eps",
        "0.1",
        "--no-progress",
        *extra,
    ]


def test_scheduler_with_workers_is_a_usage_error(capsys, files):  # noqa: F811
    code = cli.main(_argv(files, "--scheduler", "tcp://127.0.0.1:8786", "--workers", "2"))
    err = capsys.readouterr().err
    assert code == 2 and "--scheduler" in err and "--workers" in err and "local" in err, err
    with pytest.raises(ValueError, match="`workers` must be 1"):
        engine.certify_examples(files["net"], files["X"], files["y"], 0.1, [], scheduler="tcp://127.0.0.1:1", workers=2)


def test_missing_distributed_names_the_extra(capsys, files, monkeypatch):  # noqa: F811
    monkeypatch.setitem(sys.modules, "distributed", None)  # `import distributed` raises ImportError
    code = cli.main(_argv(files, "--scheduler", "local"))
    err = capsys.readouterr().err
    assert code == 2 and 'pip install "sdpsolve[distributed]"' in err and "Traceback" not in err, err
    from sdpsolve import MissingDependencyError

    with pytest.raises(MissingDependencyError, match=r"sdpsolve\[distributed\]"):
        _distributed.open_client("local")


@needs_distributed
def test_unreachable_scheduler_names_the_flag(capsys, files, monkeypatch):  # noqa: F811
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setattr(_distributed, "CONNECT_TIMEOUT", 1.0)
    code = cli.main(_argv(files, "--scheduler", f"tcp://127.0.0.1:{port}"))
    err = capsys.readouterr().err
    assert code == 2 and f"--scheduler tcp://127.0.0.1:{port}" in err and "within 1 s" in err, err
    assert "Traceback" not in err
    code = cli.main(_argv(files, "--scheduler", "  "))
    assert code == 2 and "--scheduler" in capsys.readouterr().err
