"""Tests of ``sdpsolve certify`` and ``sdpsolve demo`` (certifiers.cli, the run engine certifiers.engine, the demo).

Oracles: the plugins' own outputs (a record's bounds must equal ``bound_margins`` of the same plugin on the
same example), the JSON-lines contract keys of :meth:`ExampleResult.to_json`, soundness across methods
(an example certified by Grad-cert can never be broken by PGD, and every PGD margin is below the Grad-cert
bound), counts computed from the records for the summary table, a serial run for ``--workers 2``, and exit
code 2 with a message naming the flag for bad input.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

import certifiers
from certifiers import engine
from certifiers._base import _REGISTRY
from certifiers._network import ReLUNetwork
from certifiers._plugins import registry
from certifiers.engine import reproducible
from certifiers.workflows import _demo
from sdpsolve import cli

CONTRACT_KEYS = {"index", "label", "predicted", "bounds", "bound_kind", "method", "eps", "time"}
D, M, K, N = 12, 8, 4, 24


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """A random 12-8-4 network (.npz) and 24 examples in [0, 1] (3 of them mislabelled)."""
    tmp = tmp_path_factory.mktemp("certify")
    rng = np.random.default_rng(20240501)
    net = ReLUNetwork(
        [rng.standard_normal((M, D)) / np.sqrt(D), rng.standard_normal((K, M))],
        [0.1 * rng.standard_normal(M), np.zeros(K)],
    )
    model = tmp / "net.npz"
    net.save_npz(model)
    X = rng.random((N, D))
    y = net.predict(X)
    y[:3] = (y[:3] + 1) % K
    data = tmp / "data.npz"
    np.savez(data, X=X, y=y)
    return {"model": model, "data": data, "net": net, "X": X, "y": y, "cache": tmp / "cache", "dir": tmp}


def _certify(capsys, files, *extra):
    argv = [
        "certify",
        "--model",
        str(files["model"]),
        "--data",
        str(files["data"]),
        "--cache-dir",
        str(files["cache"]),
        "--no-progress",
        "--batch-size",
        "7",
        *extra,
    ]
    code = cli.main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def _records(path):
    lines = path.read_text().splitlines()
    header = json.loads(lines[0])
    assert "sdpsolve_results" in header, lines[0]
    return header, [json.loads(ln) for ln in lines[1:]]


def _by_method(records):
    out = {}
    for r in records:
        out.setdefault(r["method"], {})[r["index"]] = r
    return out


def test_certify_records_contract_and_plugin_values(capsys, files, tmp_path):
    out_file = tmp_path / "run.jsonl"
    methods = ["grad-cert", "pgd", "ibp", "spectral"]
    code, out, err = _certify(
        capsys,
        files,
        "--method",
        "grad-cert",
        "--method",
        "pgd,ibp",
        "--method",
        "spectral",
        "--eps",
        "0.02",
        "--out",
        str(out_file),
    )
    assert code == 0, err
    header, records = _records(out_file)
    assert set(header["config"]["methods"]) == set(methods)
    assert len(records) == N * len(methods)
    by = _by_method(records)
    assert set(by) == set(methods) and all(sorted(v) == list(range(N)) for v in by.values())
    y = files["y"]
    pred = files["net"].predict(files["X"])
    for r in records:
        assert CONTRACT_KEYS <= set(r), r
        i = r["index"]
        assert r["label"] == y[i] and r["predicted"] == pred[i] and r["eps"] == 0.02
        assert set(r["bounds"]) == {str(j) for j in range(K) if j != y[i]}
        assert isinstance(r["key"], str) and r["model"] == "net"
        if r["method"] == "pgd":
            assert r["bound_kind"] == "attack" and isinstance(r["adversarial"], bool) and "certified" not in r
        else:
            assert isinstance(r["certified"], bool) and "adversarial" not in r
    # oracle: the records hold exactly what the plugins compute on their own
    for name in ("ibp", "spectral", "grad-cert"):
        plugin = certifiers.get_certifier(name, **({"cache_dir": files["cache"]} if name == "grad-cert" else {}))
        B, kind = plugin.bound_margins(files["net"], files["X"], y, 0.02)
        for i, r in by[name].items():
            assert r["bound_kind"] == kind
            assert r["bounds"] == {str(j): float(B[i, j]) for j in range(K) if j != y[i]}, (name, i)
            assert r["certified"] == bool(max(B[i, j] for j in range(K) if j != y[i]) < 0 and pred[i] == y[i])
    # the summary table counts what the records say
    for name in methods:
        recs = by[name].values()
        bad = sum(r["adversarial"] for r in recs) if name == "pgd" else sum(not r["certified"] for r in recs)
        line = next(ln for ln in out.splitlines() if ln.startswith(name + " "))
        assert f"{100 * bad / N:.1f}%" in line, (line, bad)
        assert ("attack error" if name == "pgd" else "certified error") in line
    assert f"clean error: {100 * np.mean(pred != y):.1f}% ({int(np.sum(pred != y))} of {N})" in out
    # `sdpsolve report` reads the file and counts the same errors
    assert cli.main(["report", str(out_file), "--no-plots", "--format", "json"]) == 0
    rows = {r["method"]: r for r in map(json.loads, capsys.readouterr().out.splitlines())}
    assert set(rows) == set(methods)
    for name in methods:
        recs = by[name].values()
        if name == "pgd":
            assert rows[name]["attack_error"] == pytest.approx(np.mean([r["adversarial"] for r in recs]))
        else:
            assert rows[name]["certified_error"] == pytest.approx(np.mean([not r["certified"] for r in recs]))
        assert rows[name]["model"] == "net" and rows[name]["n"] == N


def test_gradcert_certificate_never_broken_by_pgd(capsys, files, tmp_path):
    out_file = tmp_path / "run.jsonl"
    code, _, err = _certify(
        capsys, files, "--method", "pgd", "--method", "grad-cert", "--eps", "0.03", "--out", str(out_file)
    )
    assert code == 0, err
    by = _by_method(_records(out_file)[1])
    certified = [i for i, r in by["grad-cert"].items() if r["certified"]]
    # a meaningful instance: some examples certified, some not
    assert 0 < len(certified) < N, len(certified)
    for i, cert in by["grad-cert"].items():
        attack = by["pgd"][i]
        for j, b in cert["bounds"].items():
            assert attack["bounds"][j] <= b, (i, j, attack["bounds"][j], b)
        if cert["certified"]:
            assert not attack["adversarial"], i


def test_resume_skips_recorded_examples(capsys, files, tmp_path):
    out_file = tmp_path / "run.jsonl"
    args = ["--method", "ibp", "--method", "pgd", "--eps", "0.05", "--out", str(out_file)]
    assert _certify(capsys, files, *args, "--count", "10")[0] == 0
    first = out_file.read_text().splitlines()
    assert len(first) == 1 + 2 * 10
    code, out, err = _certify(capsys, files, *args, "--count", "20")
    assert code == 0, err
    second = out_file.read_text().splitlines()
    assert second[: len(first)] == first  # nothing rewritten
    assert len(second) == 1 + 2 * 20
    assert "20 (example, method) records were already in" in out
    recs = _records(out_file)[1]
    assert sorted((r["method"], r["index"]) for r in recs) == sorted((m, i) for m in ("ibp", "pgd") for i in range(20))
    # a third run over the same range does no work and adds nothing
    assert _certify(capsys, files, *args, "--count", "20")[0] == 0
    assert out_file.read_text().splitlines() == second
    # the same file with another ε: refused, naming the flag
    code, _, err = _certify(capsys, files, "--method", "ibp", "--method", "pgd", "--eps", "0.1", "--out", str(out_file))
    assert code == 2 and "--out" in err and "eps" in err


def test_workers_give_the_same_records(capsys, files, tmp_path):
    """--workers 2 runs the batches in 2 processes and solves Grad-cert's pair SDPs in 2 processes too (empty
    caches here); the records, keys and header equal a serial run's."""
    plans, unused = engine.plan_methods(["grad-cert", "sdp-cert"], workers=2)
    assert [p.options.get("workers") for p in plans] == [2, None] and unused == []
    assert "workers" not in plans[0].key_options()
    serial, parallel = tmp_path / "serial.jsonl", tmp_path / "parallel.jsonl"
    common = ["--method", "pgd,grad-cert,crown", "--eps", "0.04", "--seed", "3"]
    empty = [str(tmp_path / name) for name in ("cache1", "cache2")]  # fresh caches: both runs solve the pairs
    assert _certify(capsys, files, *common, "--out", str(serial), "--cache-dir", empty[0])[0] == 0
    code, _, err = _certify(capsys, files, *common, "--out", str(parallel), "--workers", "2", "--cache-dir", empty[1])
    assert code == 0, err

    a, b = reproducible(_records(serial)[1]), reproducible(_records(parallel)[1])
    assert len(a) == 3 * N
    assert a == b
    assert _records(serial)[0]["config"] == _records(parallel)[0]["config"]


def test_default_batches_are_per_method(files):
    """Without --batch-size each method takes its plugin's batch size: sdp-cert one example per task (so that
    --workers spreads it and each example is stored when done), whole-array methods 100; batches with nothing
    left to do are not tasks; a given batch_size applies to all; bad sizes are refused naming the argument."""
    plans, _ = engine.plan_methods(["sdp-cert", "ibp", "pgd"])
    assert engine.batch_sizes(plans) == {"sdp-cert": 1, "ibp": 100, "pgd": 100}
    assert engine.batch_sizes(plans, 7) == {"sdp-cert": 7, "ibp": 7, "pgd": 7}
    for bad in (0, -3, 2.5, True):
        with pytest.raises(ValueError, match="batch_size"):
            engine.batch_sizes(plans, bad)
    X, y = files["X"][:5], files["y"][:5]
    indices = np.arange(10, 15)
    batches = engine.make_batches(X, y, indices, plans, None, lambda m, i: m == "sdp-cert" and i == 12)
    shape = [(first, list(idx), {m: list(rows) for m, rows in todo.items()}) for first, _, _, idx, todo in batches]
    assert shape == [
        (10, list(range(10, 15)), {"ibp": list(range(5)), "pgd": list(range(5))}),
        (10, [10], {"sdp-cert": [0]}),
        (11, [11], {"sdp-cert": [0]}),
        (13, [13], {"sdp-cert": [0]}),
        (14, [14], {"sdp-cert": [0]}),
    ]


def test_sdpcert_records_do_not_depend_on_batching(files):
    """sdp-cert and ibp in one run: by default sdp-cert's records arrive one example at a time (also through
    --workers 2) and equal those of batches of 3 for both methods."""
    plans, _ = engine.plan_methods(["sdp-cert", "ibp"], {"time_limit": 5.0})
    engine.prepare_methods(plans, files["net"])
    X, y, eps = files["X"][:5], files["y"][:5], 0.05
    runs = []
    for batch_size, workers in ((None, 1), (None, 2), (3, 1)):
        calls = []
        out = engine.certify_examples(files["net"], X, y, eps, plans, batch_size=batch_size, workers=workers,
                                    threads=1, on_records=lambda m, recs, calls=calls: calls.append((m, len(recs))))
        if batch_size is None:
            assert sorted(calls) == sorted([("ibp", 5)] + [("sdp-cert", 1)] * 5)
        else:
            assert sorted(calls) == [("ibp", 2), ("ibp", 3), ("sdp-cert", 2), ("sdp-cert", 3)]
        assert all([r["index"] for r in recs] == list(range(5)) for recs in out.values())  # in index order
        runs.append({m: reproducible(recs) for m, recs in out.items()})
    assert runs[0] == runs[1] == runs[2]


def test_closed_form_methods_run_in_this_process(files, monkeypatch):
    """With --workers, the methods whose examples cost less than a worker's start (runs_in_workers False:
    grad-cert, ibp, frobenius) run their batches in this process, the others (pgd here) in the pool; the records
    equal a serial run's. A run of closed-form methods only starts no pool at all."""
    import concurrent.futures

    assert {n for n, cls in registry().items() if not cls.runs_in_workers} == {"grad-cert", "ibp", "frobenius"}
    plans, _ = engine.plan_methods(["ibp", "pgd", "grad-cert"], {"cache_dir": files["cache"]}, seed=3)
    engine.prepare_methods(plans, files["net"])
    X, y, eps = files["X"], files["y"], 0.04
    serial = engine.certify_examples(files["net"], X, y, eps, plans, batch_size=5, threads=1)

    here = []
    from certifiers.engine import _executors

    run_batch = _executors.run_batch

    def spy(network, plans_, eps_, batch):
        here.extend((m, int(batch[3][k])) for m, rows in batch[4].items() for k in rows)
        return run_batch(network, plans_, eps_, batch)

    monkeypatch.setattr(_executors, "run_batch", spy)  # this process only: the spawned workers import their own
    parallel = engine.certify_examples(files["net"], X, y, eps, plans, batch_size=5, workers=2, threads=1)
    assert sorted(here) == sorted((m, i) for m in ("ibp", "grad-cert") for i in range(N))
    assert {m: reproducible(r) for m, r in parallel.items()} == {m: reproducible(r) for m, r in serial.items()}

    def no_pool(*args, **kwargs):
        raise AssertionError("a process pool was started for closed-form methods")

    monkeypatch.setattr(concurrent.futures, "ProcessPoolExecutor", no_pool)
    monkeypatch.setattr(certifiers._pool, "ProcessPoolExecutor", no_pool)
    cheap = [p for p in plans if p.name != "pgd"]
    alone = engine.certify_examples(files["net"], X, y, eps, cheap, batch_size=5, workers=2, threads=1)
    assert {m: reproducible(r) for m, r in alone.items()} == {m: reproducible(serial[m]) for m in alone}


class _MarksItsBatches(certifiers.Certifier):
    """Interval bounds, after leaving a file per batch in ``folder`` and sleeping ``seconds`` (not registered)."""

    name = "marks-its-batches"

    def __init__(self, folder: str, seconds: float):
        super().__init__(folder=folder, seconds=seconds)

    def bound_margins(self, network, X, y, eps):
        import time
        from pathlib import Path

        Path(self.options["folder"], f"{X.sum():.12f}").touch()
        time.sleep(self.options["seconds"])
        return certifiers.get_certifier("ibp").bound_margins(network, X, y, eps)


def test_failure_while_storing_drops_the_batches_not_started(files, tmp_path, monkeypatch):
    """When storing a batch fails, the process pool's batches not yet started are cancelled (the error comes
    at once instead of after the whole run)."""
    monkeypatch.setitem(_REGISTRY, _MarksItsBatches.name, _MarksItsBatches)
    folder = tmp_path / "batches"
    folder.mkdir()
    plan = engine.MethodPlan(_MarksItsBatches.name, False, {}, instance=_MarksItsBatches(str(folder), 0.2))

    def fail(method, records):
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        engine.certify_examples(files["net"], files["X"], files["y"], 0.04, [plan], batch_size=1, workers=2,
                              threads=1, on_records=fail)
    ran = len(list(folder.iterdir()))
    assert 1 <= ran <= N // 2, f"{ran} of {N} batches ran after the first one failed to store"


def test_attack_seed_changes_random_starts(capsys, files, tmp_path):
    """--seed reaches the attack: two seeds give different PGD margins (so the workers test is not vacuous)."""
    runs = []
    for seed in ("1", "2"):
        path = tmp_path / f"s{seed}.jsonl"
        assert _certify(capsys, files, "--method", "pgd", "--eps", "0.2", "--seed", seed, "--out", str(path))[0] == 0
        runs.append([r["bounds"] for r in sorted(_records(path)[1], key=lambda r: r["index"])])
    assert runs[0] != runs[1]


def test_labels_key_and_summary_without_out(capsys, files, tmp_path):
    data = tmp_path / "labels.npz"
    np.savez(data, X=files["X"].reshape(N, 3, 4), labels=files["y"])
    code = cli.main(
        [
            "certify",
            "--model",
            str(files["model"]),
            "--data",
            str(data),
            "--method",
            "ibp",
            "--eps",
            "0",
            "--start",
            "3",
            "--count",
            "5",
            "--no-progress",
        ]
    )
    out, err = capsys.readouterr()
    assert code == 0, err
    # ε = 0: certified iff correctly classified; examples 3..7 are all correctly labelled
    assert "clean error: 0.0% (0 of 5)" in out
    line = next(ln for ln in out.splitlines() if ln.startswith("ibp "))
    assert "0.0%" in line and "examples [3, 8)" in out


@pytest.mark.parametrize(
    ("change", "flag"),
    [
        ({"--model": "missing.npz"}, "--model"),
        ({"--data": "missing.npz"}, "--data"),
        ({"--method": "no-such-method"}, "--method"),
        ({"--eps": "-0.1"}, "--eps"),
        ({"--eps": "nan"}, "--eps"),
        ({"--start": str(N)}, "--start"),
        ({"--start": "-1"}, "--start"),
        ({"--count": "0"}, "--count"),
        ({"--start": "20", "--count": "5"}, "--count"),
        ({"--data": "wide"}, "--data"),
        ({"--data": "pixels"}, "--data"),
        ({"--workers": "0"}, "--workers"),
        ({"--rtol": "-1"}, "--rtol"),
        ({"--time-limit": "0"}, "--time-limit"),
    ],
)
def test_bad_input_exit_2_names_flag(capsys, files, tmp_path, change, flag):
    wide = tmp_path / "wide.npz"
    np.savez(wide, X=np.zeros((4, D + 1)), y=np.zeros(4, dtype=int))
    pixels = tmp_path / "pixels.npz"
    np.savez(pixels, X=255 * files["X"], y=files["y"])
    opts = {"--model": str(files["model"]), "--data": str(files["data"]), "--method": "ibp", "--eps": "0.1"}
    for k, v in change.items():
        opts[k] = {"wide": str(wide), "pixels": str(pixels)}.get(v, v)
        if v == "missing.npz":
            opts[k] = str(tmp_path / v)
    argv = ["certify", "--no-progress"] + [x for kv in opts.items() for x in kv]
    code = cli.main(argv)
    out, err = capsys.readouterr()
    assert code == 2, (argv, out, err)
    assert flag in err and "Traceback" not in err, err
    if flag == "--method":
        assert "available:" in err and "grad-cert" in err and "pgd" in err
    if change.get("--data") == "pixels":
        assert "[0, 1]" in err


def test_gradcert_rejects_deep_network_naming_method(capsys, files, tmp_path):
    rng = np.random.default_rng(1)
    deep = ReLUNetwork(
        [rng.standard_normal((5, D)), rng.standard_normal((5, 5)), rng.standard_normal((K, 5))],
        [np.zeros(5), np.zeros(5), np.zeros(K)],
    )
    path = tmp_path / "deep.npz"
    deep.save_npz(path)
    code = cli.main(
        [
            "certify",
            "--model",
            str(path),
            "--data",
            str(files["data"]),
            "--method",
            "grad-cert",
            "--eps",
            "0.1",
            "--no-progress",
            "--cache-dir",
            str(tmp_path),
        ]
    )
    err = capsys.readouterr().err
    assert code == 2 and "--method grad-cert" in err and "one hidden layer" in err


def test_options_reach_only_plugins_that_accept_them(capsys, files):
    plans, unused = engine.plan_methods(
        ["grad-cert", "ibp", "pgd"], {"rtol": 1e-3, "bound": "probabilistic", "early_stop": False}, seed=5
    )
    opts = {p.name: p.options for p in plans}
    assert opts["grad-cert"] == {"rtol": 1e-3, "bound": "probabilistic", "rng": 5}
    assert opts["ibp"] == {} and opts["pgd"] == {}
    pgd = next(p for p in plans if p.name == "pgd")
    assert pgd.reseed and pgd.key_options()["seed"] == 5
    assert unused == ["early_stop"]
    if "sdp-cert" in certifiers.available():
        (plan,), unused = engine.plan_methods(["sdp-cert"], {"rtol": 1e-2, "early_stop": False})
        assert plan.options["early_stop"] is False and plan.options["rtol"] == 1e-2 and unused == []
    # a flag no selected method takes is reported, and the run still succeeds
    code, _, err = _certify(capsys, files, "--method", "ibp", "--eps", "0.1", "--rtol", "1e-3")
    assert code == 0 and "--rtol is ignored" in err


def test_sdpcert_flags_reach_the_plugin_and_its_records(capsys, files, tmp_path):
    """--bounds/--triangle/--time-limit go to sdp-cert only; its records carry per-target solve details, and its
    bounds are never looser than the interval bounds of the same run (oracle: the ibp plugin)."""
    plans, unused = engine.plan_methods(["sdp-cert", "ibp"], {"bounds": "crown", "triangle": True, "time_limit": 5.0})
    opts = {p.name: p.options for p in plans}
    assert opts["sdp-cert"]["bounds"] == "crown" and opts["sdp-cert"]["triangle"] is True
    assert opts["sdp-cert"]["time_limit"] == 5.0 and opts["ibp"] == {} and unused == []
    out_file = tmp_path / "sdp.jsonl"
    code, _, err = _certify(capsys, files, "--method", "sdp-cert,ibp", "--eps", "0.05", "--count", "4", "--bounds",
                            "crown", "--triangle", "--time-limit", "5", "--out", str(out_file))
    assert code == 0, err
    header, records = _records(out_file)
    by = _by_method(records)
    assert header["config"]["methods"]["sdp-cert"]["triangle"] is True
    for i, rec in by["sdp-cert"].items():
        assert set(rec["targets"]) <= set(rec["bounds"])
        for j, b in rec["bounds"].items():
            assert b <= by["ibp"][i]["bounds"][j] + 1e-9, (i, j)
    code, _, err = _certify(capsys, files, "--method", "ibp", "--eps", "0.1", "--triangle")
    assert code == 0 and "--triangle is ignored" in err
    plans, _ = engine.plan_methods(["sdp-cert"], {"relaxation": "paper"})
    assert plans[0].options["relaxation"] == "paper"
    code, _, err = _certify(capsys, files, "--method", "ibp", "--eps", "0.1", "--relaxation", "paper")
    assert code == 0 and "--relaxation is ignored" in err
    code, _, err = _certify(capsys, files, "--method", "sdp-cert", "--eps", "0.1", "--relaxation", "loose")
    assert code == 2 and "--relaxation" in err and "'paper'" in err
    plans, _ = engine.plan_methods(["sdp-cert", "ibp"], {"bounds_box": "unclipped"})
    assert plans[0].options["bounds_box"] == "unclipped" and "bounds_box" not in plans[1].options
    code, _, err = _certify(capsys, files, "--method", "crown", "--eps", "0.1", "--bounds-box", "unclipped")
    assert code == 0 and "--bounds-box is ignored" in err
    code, _, err = _certify(capsys, files, "--method", "sdp-cert", "--eps", "0.1", "--bounds-box", "wide")
    assert code == 2 and "--bounds-box" in err and "'unclipped'" in err


@pytest.mark.slow
def test_demo_runs_end_to_end(capsys, monkeypatch, tmp_path):
    """``sdpsolve demo`` at reduced size: trains, certifies, prints both tables, writes the records and the plot;
    results are mutually sound (SDP-cert included)."""
    results = []
    real = _demo.run_demo

    def spy(**kwargs):
        results.append(real(**kwargs))
        return results[-1]

    from certifiers.cli import _demo as demo_command

    monkeypatch.setattr(demo_command, "run_demo", spy)
    code = cli.main(
        [
            "demo",
            "--count",
            "12",
            "--holdout",
            "60",
            "--train",
            "1500",
            "--hidden",
            "16",
            "--epochs",
            "4",
            "--out-dir",
            str(tmp_path / "demo"),
            "--no-progress",
        ]
    )
    out, err = capsys.readouterr()
    assert code == 0, err
    (res,) = results
    assert res.network.layer_sizes == (784, 16, 10)
    assert res.holdout_error < 0.5  # it learned something (chance is 90% error)
    assert res.table in out and "held-out" in out
    assert {r.method for r in res.rows} == set(_demo.DEMO_METHODS) and "sdp-cert" in _demo.DEMO_METHODS
    # the paper-style table: one column per method, its errors and times per example as in the summary
    header, errors, times = (ln.strip() for ln in res.paper_table.splitlines())
    assert all(ln in out for ln in res.paper_table.splitlines())
    assert header.split()[:5] == ["network", "Strong-attack", "PGD-attack", "SDP-cert", "LP-cert"]
    assert errors.startswith("784-16-10") and times.startswith("time per example")
    for r in res.rows:
        assert f"{100 * r.error:.1f}%" in errors
    # the files: every record once, and a PNG
    assert res.results_path == tmp_path / "demo" / "results.jsonl" and str(res.results_path) in out
    lines = [json.loads(ln) for ln in res.results_path.read_text().splitlines()]
    assert len(lines) == 12 * len(_demo.DEMO_METHODS) and {r["method"] for r in lines} == set(_demo.DEMO_METHODS)
    assert res.plot_path == tmp_path / "demo" / "errors_by_method.png" and str(res.plot_path) in out
    assert res.plot_path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    attack = {r["index"]: r for r in res.records["pgd"]}
    for row in res.rows:
        assert row.n == 12
        line = next(ln for ln in out.splitlines() if ln.startswith(row.method + " "))
        assert f"{100 * row.error:.1f}%" in line
        if row.is_attack:
            continue
        # soundness across methods: certified ⇒ not broken by the attack; so certified error ≥ attack error
        for rec in res.records[row.method]:
            if rec["certified"]:
                assert not attack[rec["index"]]["adversarial"], (row.method, rec["index"])
        assert row.error >= res.row("pgd").error
    # CROWN and LP are never looser than IBP (same records, per example)
    ibp = {r["index"]: r for r in res.records["ibp"]}
    for name in ("crown", "lp"):
        for rec in res.records[name]:
            assert rec["certified"] >= ibp[rec["index"]]["certified"]


def test_demo_bad_flags(capsys):
    assert cli.main(["demo", "--count", "0"]) == 2
    assert "--count" in capsys.readouterr().err
    assert cli.main(["demo", "--count", "30", "--holdout", "20"]) == 2
    assert "--holdout" in capsys.readouterr().err
    assert cli.main(["demo", "--holdout", "4000", "--train", "2000"]) == 2
    assert "--train" in capsys.readouterr().err
