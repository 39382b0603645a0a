"""The crash-safe result store: bookkeeping, configuration conflicts, torn lines, and kill -9 at random moments.

Oracle of the kill test: an uninterrupted run of the same writer; after any number of SIGKILLs and a final
restart the record list must equal it exactly (same records, same order, no duplicates), and after every kill
the file's records must be a prefix of it.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

import certifiers.engine._store as store_mod
from certifiers.engine._store import (
    HEADER_KEY,
    ResultStore,
    StoreConfigError,
    StoreError,
    key_for,
    read_results,
)

CONFIG = {"model": "f00dfeed", "methods": {"sdp": {"rank": 4}}, "eps": [0.1]}


def _key(i, t=None):
    return key_for("f00dfeed", "sdp", {"rank": 4}, 0.1, i, t)


def test_add_has_records_and_reopen(tmp_path):
    path = tmp_path / "r.jsonl"
    with ResultStore(path, CONFIG) as s:
        assert len(s) == 0 and s.done_keys() == frozenset()
        assert s.add({"index": 0, "target": 1, "bound": -0.5}, key=_key(0, 1))
        assert s.add({"key": _key(0), "index": 0, "certified": True})
        assert not s.add({"index": 0, "target": 1, "bound": 99.0}, key=_key(0, 1))  # already done
        assert s.has(_key(0, 1)) and _key(0) in s and not s.has(_key(1))
    with ResultStore(path, dict(CONFIG)) as s:
        assert s.done_keys() == {_key(0, 1), _key(0)}
        assert s.records() == [
            {"key": _key(0, 1), "index": 0, "target": 1, "bound": -0.5},
            {"key": _key(0), "index": 0, "certified": True},
        ]
        assert s.config == CONFIG
        s.records()[0]["bound"] = 7.0  # copies: the store is not changed through them
        assert s.records()[0]["bound"] == -0.5
    lines = path.read_text().splitlines()
    assert len(lines) == 3 and json.loads(lines[0])[HEADER_KEY] == 1
    config, recs = read_results(path)
    assert config == CONFIG and [r["key"] for r in recs] == [_key(0, 1), _key(0)]


def test_conflicting_configuration_is_refused_and_file_untouched(tmp_path):
    path = tmp_path / "r.jsonl"
    with ResultStore(path, CONFIG) as s:
        s.add({"index": 0}, key=_key(0))
    before = path.read_bytes()
    other = {**CONFIG, "eps": [0.2]}
    expected = r"different configuration.*eps: file has \[0\.1\], this run has \[0\.2\]"
    with pytest.raises(StoreConfigError, match=expected):
        ResultStore(path, other)
    assert path.read_bytes() == before
    # tuples vs lists and key order are the same configuration
    with ResultStore(path, {"eps": (0.1,), "methods": {"sdp": {"rank": 4}}, "model": "f00dfeed"}) as s:
        assert len(s) == 1


def test_trailing_fragment_is_ignored_then_truncated(tmp_path):
    path = tmp_path / "r.jsonl"
    with ResultStore(path, CONFIG) as s:
        s.add({"index": 0}, key=_key(0))
    good = path.read_bytes()
    fragment = b'{"key":"' + _key(1).encode() + b'","index":1,"pa'
    with open(path, "ab") as f:
        f.write(fragment)
    assert [r["index"] for r in read_results(path)[1]] == [0]
    assert path.read_bytes() == good + fragment  # reading alone changes nothing
    with ResultStore(path, CONFIG) as s:
        assert s.truncated_bytes == len(fragment)
        assert not s.has(_key(1))
        assert s.add({"index": 1}, key=_key(1))
    lines = path.read_bytes().split(b"\n")
    assert lines[-1] == b"" and all(json.loads(line) for line in lines[:-1])
    assert [r["index"] for r in read_results(path)[1]] == [0, 1]


def test_torn_header_is_rewritten(tmp_path):
    path = tmp_path / "r.jsonl"
    path.write_bytes(b'{"sdpsolve_res')
    with ResultStore(path, CONFIG) as s:
        assert s.truncated_bytes == 14
        s.add({"index": 0}, key=_key(0))
    assert read_results(path) == (CONFIG, [{"key": _key(0), "index": 0}])


def test_duplicate_keys_keep_the_first_record(tmp_path):
    path = tmp_path / "r.jsonl"
    with ResultStore(path, CONFIG) as s:
        s.add({"index": 0, "bound": 1.0}, key=_key(0))
        s.add({"index": 1, "bound": 2.0}, key=_key(1))
    with open(path, "a") as f:  # as if a rerun had written the same unit again before its bookkeeping
        f.write(json.dumps({"key": _key(0), "index": 0, "bound": 5.0}) + "\n")
    with ResultStore(path, CONFIG) as s:
        assert s.duplicates == 1
        assert [(r["index"], r["bound"]) for r in s.records()] == [(0, 1.0), (1, 2.0)]
    assert [r["bound"] for r in read_results(path)[1]] == [1.0, 2.0]


def test_refuses_foreign_corrupt_and_locked_files(tmp_path):
    plain = tmp_path / "plain.jsonl"
    plain.write_text('{"index": 0, "method": "ibp"}\n{"index": 1, "method": "ibp"}\n')
    with pytest.raises(StoreError, match="not a result store"):
        ResultStore(plain, CONFIG)
    assert read_results(plain) == (None, [{"index": 0, "method": "ibp"}, {"index": 1, "method": "ibp"}])

    corrupt = tmp_path / "corrupt.jsonl"
    with ResultStore(corrupt, CONFIG) as s:
        s.add({"index": 0}, key=_key(0))
    with open(corrupt, "a") as f:
        f.write("{not json}\n")
    with pytest.raises(StoreError, match=r"corrupt\.jsonl:3: corrupt line"):
        ResultStore(corrupt, CONFIG)

    locked = tmp_path / "locked.jsonl"
    first = ResultStore(locked, CONFIG)
    if store_mod.fcntl is not None:
        with pytest.raises(StoreError, match="in use by another process"):
            ResultStore(locked, CONFIG)
    first.close()
    first.close()  # idempotent
    with pytest.raises(StoreError, match="closed"):
        first.add({"index": 0}, key=_key(0))
    with ResultStore(locked, CONFIG) as s:
        assert len(s) == 0


def test_failed_write_leaves_no_fragment(tmp_path, monkeypatch):
    path = tmp_path / "r.jsonl"
    s = ResultStore(path, CONFIG)
    s.add({"index": 0}, key=_key(0))
    size = path.stat().st_size
    real_write = os.write

    def half_then_fail(fd, data):
        real_write(fd, bytes(data[: len(data) // 2]))
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(store_mod.os, "write", half_then_fail)
    with pytest.raises(OSError, match="No space left"):
        s.add({"index": 1, "pad": "x" * 100}, key=_key(1))
    monkeypatch.setattr(store_mod.os, "write", real_write)
    assert path.stat().st_size == size and not s.has(_key(1))
    assert s.add({"index": 1}, key=_key(1))
    s.close()
    assert [r["index"] for r in read_results(path)[1]] == [0, 1]


def test_key_for_and_add_validation(tmp_path):
    assert len(_key(0)) == 32 and _key(0) == _key(0)
    assert key_for("m", "a", {"x": 1, "y": [1, 2]}, 0.1, 3) == key_for("m", "a", {"y": [1, 2], "x": 1}, 0.1, 3)
    variants = {
        key_for("m", "a", {}, 0.1, 3), key_for("m2", "a", {}, 0.1, 3), key_for("m", "b", {}, 0.1, 3),
        key_for("m", "a", {"r": 1}, 0.1, 3), key_for("m", "a", {}, 0.1000000001, 3), key_for("m", "a", {}, 0.1, 4),
        key_for("m", "a", {}, 0.1, 3, 0), key_for("m", "a", {}, 0.1, 3, 1),
    }
    assert len(variants) == 8
    assert key_for("m", "a", None, 0.1, 3) == key_for("m", "a", {}, 0.1, 3)
    with pytest.raises(TypeError, match="`model`"):
        key_for("", "a", {}, 0.1, 0)
    with pytest.raises(ValueError, match="`eps` must be a finite float"):
        key_for("m", "a", {}, float("nan"), 0)
    with pytest.raises(TypeError, match="`index`"):
        key_for("m", "a", {}, 0.1, 1.5)
    with pytest.raises(TypeError, match="`options` must be JSON-serialisable"):
        key_for("m", "a", {"f": object()}, 0.1, 0)
    with ResultStore(tmp_path / "r.jsonl", CONFIG) as s:
        with pytest.raises(ValueError, match="needs a non-empty string key"):
            s.add({"index": 0})
        with pytest.raises(ValueError, match="differs from record"):
            s.add({"key": "a", "index": 0}, key="b")
        with pytest.raises(TypeError, match="JSON-serialisable"):
            s.add({"index": object()}, key="k")
        with pytest.raises(TypeError, match="`record` must be a dict"):
            s.add([1, 2], key="k")
        assert len(s) == 0
    with pytest.raises(TypeError, match="`config` must be a dict"):
        ResultStore(tmp_path / "x.jsonl", [("model", "m")])


# -- kill -9 at random moments --------------------------------------------------------------------------------
WRITER = textwrap.dedent(
    """
    import importlib.util, sys, time
    # load the module by path: it needs only the standard library (and this keeps the child's start fast)
    spec = importlib.util.spec_from_file_location("store_under_test", sys.argv[1])
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    path, n = sys.argv[2], int(sys.argv[3])
    config = {"model": "f00dfeed", "methods": {"sdp": {"rank": 4}}, "eps": [0.1]}
    store = mod.ResultStore(path, config)
    for i in range(n):
        for t in (0, 1, 2, None):  # three (example, target) records, then the example record
            key = mod.key_for("f00dfeed", "sdp", {"rank": 4}, 0.1, i, t)
            if store.has(key):
                continue
            u = 4 * i + (3 if t is None else t)
            record = {"index": i, "target": t, "bound": (u * 7919 % 1000) / 1000 - 0.5,
                      # every 7th record is large, so that some kills land inside a write
                      "pad": "x" * (1_500_000 if u % 7 == 0 else u % 13)}
            store.add(record, key=key)
            time.sleep(0.002)
    store.close()
    print("finished", len(store.done_keys()))
    """
)


def _run_writer(script: Path, path: Path, n: int) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, str(script), store_mod.__file__, str(path), str(n)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def _check_file_integrity(path: Path) -> None:
    data = path.read_bytes()
    assert data.endswith(b"\n"), "the completed file ends inside a line"
    lines = data.split(b"\n")[:-1]
    assert HEADER_KEY in json.loads(lines[0])
    keys = [json.loads(line)["key"] for line in lines[1:]]
    assert len(keys) == len(set(keys)), "duplicate records in the file"


def test_kill9_at_random_moments_then_resume_matches_uninterrupted_run(tmp_path):
    script = tmp_path / "writer.py"
    script.write_text(WRITER)
    n = 12  # 48 records
    ref_path = tmp_path / "reference.jsonl"
    t0 = time.perf_counter()
    proc = _run_writer(script, ref_path, n)
    out, err = proc.communicate(timeout=60)
    full = time.perf_counter() - t0
    assert proc.returncode == 0, err.decode()
    _, reference = read_results(ref_path)
    assert len(reference) == 4 * n

    torn = injected = kills = 0
    for seed in range(4):
        rng = random.Random(seed)
        path = tmp_path / f"run{seed}.jsonl"
        for _ in range(3):
            proc = _run_writer(script, path, n)
            time.sleep(rng.uniform(0.0, 0.5 * full))
            proc.kill()  # SIGKILL
            proc.communicate()
            kills += proc.returncode == -9
            if not path.exists():
                continue
            data = path.read_bytes()
            torn += bool(data) and not data.endswith(b"\n")
            _, partial = read_results(path)
            assert partial == reference[: len(partial)], f"seed {seed}: records after a kill are not a prefix"
            if rng.random() < 0.5 and data.endswith(b"\n") and len(partial) < len(reference):
                # a torn write as other filesystems can leave it: a prefix of the next line without its newline
                line = json.dumps(reference[len(partial)], separators=(",", ":")).encode()
                with open(path, "ab") as f:
                    f.write(line[: rng.randrange(1, len(line))])
                injected += 1
        proc = _run_writer(script, path, n)
        _, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, f"seed {seed}: restart failed: {err.decode()}"
        _check_file_integrity(path)
        _, final = read_results(path)
        assert final == reference, f"seed {seed}: final records differ from the uninterrupted run"
    assert kills >= 4, f"only {kills} of 12 writers were killed before finishing: the kill times are too late"
    assert injected >= 1
    print(f"full run {full:.2f} s, {kills} kills, {torn} left a torn trailing line, {injected} torn lines injected")
