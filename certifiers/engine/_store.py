"""A resumable, crash-safe store of finished results: one JSON object per line.

File layout (UTF-8, one JSON object per line, ``\\n``-terminated)::

    {"sdpsolve_results": 1, "config": {...}, "created": "2024-05-01T12:00:00+00:00"}   <- header
    {"key": "3f9c...", "index": 0, "target": 3, ...}                                     <- one record
    {"key": "a71b...", "index": 0, ...}

The header records the run configuration (model fingerprint, methods and their options, ε, …); reopening
the file with a different configuration raises :class:`StoreConfigError` instead of mixing two runs in one
file. Each record carries a ``key`` (see :func:`key_for`) naming the unit of work it finishes — one
(example, target class) pair or one whole example.

Crash safety (against ``kill -9`` of the writer; a single writer per file is enforced with ``flock``):

* a record is appended as one complete line by ``os.write`` on an ``O_APPEND`` descriptor, then ``fsync``;
  a line is therefore either complete (ends with ``\\n``) or, if the writer died inside the write, a trailing
  fragment without ``\\n``;
* on opening, a trailing fragment is cut off (``ftruncate``) before anything is appended, so it can never be
  glued to the next record; :func:`read_results` (read-only) simply ignores it;
* on reading, a key seen twice keeps its first record, so a record written twice (a crash between the write
  and the caller's bookkeeping, then a rerun) is never returned twice.

Examples
--------
>>> import tempfile, os
>>> path = os.path.join(tempfile.mkdtemp(), "run.jsonl")
>>> config = {"model": "ab12", "methods": {"ibp": {}}, "eps": 0.1}
>>> with ResultStore(path, config) as store:
...     k = key_for("ab12", "ibp", {}, 0.1, index=0)
...     store.add({"index": 0, "method": "ibp", "certified": True}, key=k)
True
>>> with ResultStore(path, config) as store:       # reopen: the finished work is known
...     store.has(k), len(store), store.add({"index": 0}, key=k)
(True, 1, False)
"""

from __future__ import annotations

import datetime
import hashlib
import json
import math
import os
import threading
from pathlib import Path

try:  # POSIX advisory locks; absent on Windows, where the single-writer rule is the caller's promise
    import fcntl
except ImportError:  # pragma: no cover - platform dependent
    fcntl = None

#: the header's marker key and the format version it holds
HEADER_KEY = "sdpsolve_results"
FORMAT_VERSION = 1


class StoreError(ValueError):
    """A result file that cannot be used as asked (not a result store, corrupt, or locked)."""


class StoreConfigError(StoreError):
    """The file was written by a run with a different configuration."""


def _canonical(obj) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def key_for(model: str, method: str, options: dict | None, eps: float, index: int, target: int | None = None) -> str:
    """The key of one unit of work: a hash of (model fingerprint, method, options, ε, index[, target]).

    Parameters
    ----------
    model : str
        The network's fingerprint (:meth:`ReLUNetwork.fingerprint`).
    method : str
        Certifier name.
    options : dict or None
        The method's options (JSON-serialisable; key order does not matter).
    eps : float
        Radius; compared exactly (0.1 and 0.1000000001 are different keys).
    index : int
        Example index in the data set.
    target : int, optional
        Target class for a per-(example, class) record; None for a whole-example record.

    Returns
    -------
    str
        32 hexadecimal characters.

    Examples
    --------
    >>> key_for("ab12", "ibp", {"x": 1, "y": 2}, 0.1, 5) == key_for("ab12", "ibp", {"y": 2, "x": 1}, 0.1, 5)
    True
    >>> key_for("ab12", "ibp", None, 0.1, 5) == key_for("ab12", "ibp", None, 0.1, 5, target=3)
    False
    """
    if not isinstance(model, str) or not model:
        raise TypeError(f"`model` must be a non-empty fingerprint string, got {model!r}.")
    if not isinstance(method, str) or not method:
        raise TypeError(f"`method` must be a non-empty string, got {method!r}.")
    if options is not None and not isinstance(options, dict):
        raise TypeError(f"`options` must be a dict or None, got {type(options).__name__}.")
    if isinstance(eps, bool) or not isinstance(eps, (int, float)) or not math.isfinite(float(eps)):
        raise ValueError(f"`eps` must be a finite float, got {eps!r}.")
    if isinstance(index, bool) or not hasattr(index, "__index__"):
        raise TypeError(f"`index` must be an int, got {type(index).__name__}.")
    if target is not None and (isinstance(target, bool) or not hasattr(target, "__index__")):
        raise TypeError(f"`target` must be an int or None, got {type(target).__name__}.")
    payload = [model, method, options or {}, repr(float(eps)), int(index), None if target is None else int(target)]
    try:
        text = _canonical(payload)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"`options` must be JSON-serialisable: {exc}") from None
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


def _parse_lines(data: bytes, name: str):
    """Complete lines of ``data`` → (header or None, list of (line number, record)); ignores a trailing fragment."""
    cut = data.rfind(b"\n") + 1
    header = None
    rows = []
    for lineno, raw in enumerate(data[:cut].split(b"\n")[:-1], start=1):
        if not raw.strip():
            continue
        try:
            obj = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise StoreError(f"{name}:{lineno}: corrupt line (not JSON: {exc}).") from None
        if not isinstance(obj, dict):
            raise StoreError(f"{name}:{lineno}: expected a JSON object, got {type(obj).__name__}.")
        if HEADER_KEY in obj:
            if lineno != 1 or rows:
                raise StoreError(f"{name}:{lineno}: a header line may only be the first line.")
            header = obj
            continue
        rows.append((lineno, obj))
    return header, rows, cut


def _dedupe(rows) -> tuple[dict, int]:
    """Records by key, first occurrence kept (records without a key are kept under a private key)."""
    out: dict = {}
    duplicates = 0
    for lineno, rec in rows:
        key = rec.get("key")
        if key is None:
            key = ("line", lineno)
        if key in out:
            duplicates += 1
            continue
        out[key] = rec
    return out, duplicates


def read_results(path) -> tuple[dict | None, list[dict]]:
    """Read a result file without modifying it: ``(config or None, records)``.

    Accepts a :class:`ResultStore` file (header + keyed records) or plain JSON lines. A trailing line without
    ``\\n`` (an interrupted write) is ignored; a key seen twice keeps its first record.
    """
    path = Path(path)
    data = path.read_bytes()
    header, rows, _ = _parse_lines(data, str(path))
    records, _ = _dedupe(rows)
    return (None if header is None else header.get("config")), list(records.values())


def reproducible(records) -> list[dict]:
    """What two runs of the same work must agree on: the records without their ``time`` fields (at any depth;
    measured, so they differ between runs), sorted by (method, index, target).

    Examples
    --------
    >>> reproducible([{"method": "ibp", "index": 1, "time": 0.2},
    ...               {"method": "ibp", "index": 0, "time": 0.1, "targets": {"3": {"time": 1.0, "rounds": 4}}}])
    [{'method': 'ibp', 'index': 0, 'targets': {'3': {'rounds': 4}}}, {'method': 'ibp', 'index': 1}]
    """

    def without_times(value):
        if isinstance(value, dict):
            return {k: without_times(v) for k, v in value.items() if k != "time"}
        if isinstance(value, list):
            return [without_times(v) for v in value]
        return value

    return sorted((without_times(r) for r in records),
                  key=lambda r: (r.get("method", ""), r.get("index", -1), r.get("target", -1)))


class ResultStore:
    """An append-only, crash-safe JSON-lines store of finished results (see the module docstring).

    Parameters
    ----------
    path : str or pathlib.Path
        The file; created (with its header) when absent or empty.
    config : dict
        The run configuration, JSON-serialisable (e.g. ``{"model": fingerprint, "methods": {name: options},
        "eps": [0.1]}``). Stored in the header of a new file; for an existing file it must equal the stored
        one (after a JSON round trip), else :class:`StoreConfigError`.
    fsync : bool
        ``fsync`` after every record (default True: a record that :meth:`add` returned for survives a
        machine crash, not only a killed process).

    Attributes
    ----------
    truncated_bytes : int
        Size of the interrupted trailing line cut off when the file was opened (0 if none).
    duplicates : int
        Records skipped on opening because their key appeared earlier in the file.

    Raises
    ------
    StoreConfigError
        The file holds a run with another configuration.
    StoreError
        The file is not a result store, has a corrupt complete line, or another process holds it open.
    """

    def __init__(self, path, config: dict, *, fsync: bool = True):
        if not isinstance(config, dict):
            raise TypeError(f"`config` must be a dict, got {type(config).__name__}.")
        try:
            self._config = json.loads(_canonical(config))
        except (TypeError, ValueError) as exc:
            raise TypeError(f"`config` must be JSON-serialisable: {exc}") from None
        self.path = Path(path)
        self._fsync = bool(fsync)
        self._lock = threading.Lock()
        self._records: dict = {}
        self.truncated_bytes = 0
        self.duplicates = 0
        existed = self.path.exists()
        self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o644)
        try:
            self._acquire_lock()
            self._load(created=not existed)
        except BaseException:
            os.close(self._fd)
            self._fd = None
            raise

    # -- opening ----------------------------------------------------------------------------------------
    def _acquire_lock(self) -> None:
        if fcntl is None:  # pragma: no cover - platform dependent
            return
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise StoreError(f"{self.path} is in use by another process (it holds the file's lock).") from None

    def _read_all(self) -> bytes:
        chunks = []
        offset = 0
        while True:
            chunk = os.pread(self._fd, 1 << 22, offset)
            if not chunk:
                return b"".join(chunks)
            chunks.append(chunk)
            offset += len(chunk)

    def _load(self, created: bool) -> None:
        data = self._read_all()
        header, rows, cut = _parse_lines(data, str(self.path))
        if cut < len(data):  # an interrupted write: cut it off before appending anything
            self.truncated_bytes = len(data) - cut
            os.ftruncate(self._fd, cut)
            os.fsync(self._fd)
        self._size = cut
        if header is None:
            if rows:
                raise StoreError(
                    f"{self.path}: not a result store (its first line is not a {HEADER_KEY!r} header); "
                    "refusing to append to it."
                )
            stamp = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
            self._append_line({HEADER_KEY: FORMAT_VERSION, "config": self._config, "created": stamp})
            if created:
                _fsync_directory(self.path.parent)
            return
        version = header.get(HEADER_KEY)
        if version != FORMAT_VERSION:
            raise StoreError(f"{self.path}: unsupported store format version {version!r} (expected {FORMAT_VERSION}).")
        stored = header.get("config")
        if _canonical(stored) != _canonical(self._config):
            raise StoreConfigError(
                f"{self.path} was written by a run with a different configuration; use another file or the same "
                f"settings. Differences: {_describe_difference(stored, self._config)}."
            )
        for lineno, rec in rows:
            if not isinstance(rec.get("key"), str):
                raise StoreError(f"{self.path}:{lineno}: record without a string 'key'.")
        self._records, self.duplicates = _dedupe(rows)

    # -- writing ----------------------------------------------------------------------------------------
    def _append_line(self, obj: dict) -> None:
        data = (json.dumps(obj, separators=(",", ":"), ensure_ascii=False) + "\n").encode("utf-8")
        view = memoryview(data)
        written = 0
        try:
            while written < len(data):
                written += os.write(self._fd, view[written:])
            if self._fsync:
                os.fsync(self._fd)
        except BaseException:
            # a failed or partial write (ENOSPC, EIO, an exception in a signal handler): remove the fragment
            try:
                os.ftruncate(self._fd, self._size)
            except OSError:  # pragma: no cover - the next open cuts the fragment off instead
                pass
            raise
        self._size += len(data)

    def add(self, record: dict, *, key: str | None = None) -> bool:
        """Append one finished record; return False (writing nothing) when its key is already stored.

        Parameters
        ----------
        record : dict
            JSON-serialisable; written with a ``"key"`` field first.
        key : str, optional
            The record's key (from :func:`key_for`); defaults to ``record["key"]``.
        """
        if self._fd is None:
            raise StoreError(f"{self.path}: the store is closed.")
        if not isinstance(record, dict):
            raise TypeError(f"`record` must be a dict, got {type(record).__name__}.")
        own = record.get("key")
        if key is None:
            key = own
        elif own is not None and own != key:
            raise ValueError(f"`key` {key!r} differs from record['key'] {own!r}.")
        if not isinstance(key, str) or not key:
            raise ValueError("a record needs a non-empty string key: pass `key=` (see key_for) or set record['key'].")
        obj = {"key": key, **{k: v for k, v in record.items() if k != "key"}}
        try:
            json.dumps(obj)
        except (TypeError, ValueError) as exc:
            raise TypeError(f"`record` must be JSON-serialisable: {exc}") from None
        with self._lock:
            if key in self._records:
                return False
            self._append_line(obj)
            self._records[key] = json.loads(json.dumps(obj))
        return True

    # -- reading ----------------------------------------------------------------------------------------
    @property
    def config(self) -> dict:
        """The run configuration stored in the header (a copy)."""
        return json.loads(_canonical(self._config))

    def has(self, key: str) -> bool:
        """Whether a record with this key is stored."""
        return key in self._records

    __contains__ = has

    def done_keys(self) -> frozenset[str]:
        """The keys of every stored record."""
        return frozenset(self._records)

    def records(self) -> list[dict]:
        """Every stored record (copies), in file order, each key once."""
        return [json.loads(json.dumps(r)) for r in self._records.values()]

    def __len__(self) -> int:
        return len(self._records)

    # -- closing ----------------------------------------------------------------------------------------
    def close(self) -> None:
        """Release the lock and the file descriptor (idempotent)."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> ResultStore:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __del__(self):  # pragma: no cover - depends on garbage collection
        fd = getattr(self, "_fd", None)
        if fd is not None:
            try:
                os.close(fd)
            except OSError:
                pass

    def __repr__(self) -> str:
        return f"ResultStore({str(self.path)!r}, {len(self._records)} records)"


def _describe_difference(stored, given) -> str:
    if not isinstance(stored, dict):
        return f"file config {stored!r} vs {given!r}"
    parts = []
    for k in sorted(set(stored) | set(given)):
        a, b = stored.get(k, "<absent>"), given.get(k, "<absent>")
        if _canonical(a) != _canonical(b):
            parts.append(f"{k}: file has {a!r}, this run has {b!r}")
    return "; ".join(parts) or "none"


def _fsync_directory(directory: Path) -> None:
    """Make a newly created file's directory entry durable (best effort; not possible everywhere)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:  # pragma: no cover - platform dependent
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover - platform dependent
        pass
    finally:
        os.close(fd)
