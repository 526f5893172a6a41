"""The result store: one JSON per (entry, variant, recording, seed[, sweep point]).

Layout: ``<root>/<tag>/<task>/<row>/<recording>/seed<k>[__<overrides>].json``. Every path
component must be a plain name (letters, digits, ``.``, ``_``, ``-``), so two different runs
never map to one file; a record also carries its ``key`` and a writer refuses to put a run
into a file that holds another run's result.

Files are written atomically (bench.data.io), under a per-folder lock, so a crash or a
concurrent writer never leaves a half file. A failed run never replaces a completed one: its
record goes beside it as ``*.error.json``. A file at a result path that is not a result
(truncated, not JSON, another shape) is moved aside, never silently replaced.

Reading: :func:`load_store` returns ``(records, problems)``: every file that is not a usable
result is a :class:`StoreProblem` (path + what is wrong) and is skipped; schema-1 records are
migrated in memory. :func:`load` keeps the old list-only interface and reports each problem
once per process on stderr.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import platform
import re
import shutil
import socket
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from bench.data.io import atomic_write_json as _io_atomic_write_json
from bench.data.io import json_default

SCHEMA = 2
KNOWN_SCHEMAS = (1, 2)
LEADERBOARD = "leaderboard"
SAFE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
RESULT_FILE = re.compile(r"seed\d+.*\.json")
MIN_FREE_BYTES = 16 << 20  # a store with less free space than this is refused before training


class StoreError(RuntimeError):
    """The result store cannot be used (missing, not writable, full); the message names it."""


@dataclass(frozen=True)
class StoreProblem:
    """A file in the store that is not a usable result, and what is wrong with it."""

    path: Path
    problem: str

    def __str__(self) -> str:
        return f"{self.path}: {self.problem}"


# --- paths ------------------------------------------------------------------------------------


def check_name(kind: str, value: Any) -> str:
    """``value`` as a path component, or a ValueError saying why it cannot be one."""
    text = str(value)
    if not SAFE_NAME.fullmatch(text):
        raise ValueError(f"{kind} {text!r} cannot name a result file: use letters, digits, '.', '_' "
                         f"and '-' only, starting with a letter or digit (rename it)")
    return text


def slug(value: Any) -> str:
    """A file-name-safe form of any text, for report files (result paths use check_name,
    which refuses what it would have to change)."""
    return "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in str(value))


_slug = slug  # the name report modules know


def _value_text(value: Any) -> str:
    text = str(value)
    return "".join(ch if ch.isalnum() or ch in "-." else "_" for ch in text)


def overrides_key(overrides: dict | None) -> str:
    """File-name suffix of a sweep point, e.g. ``__n2_ws10``; a residual ambiguity (a field
    ``n2`` beside a field ``n``) is caught by the record's key, never written over."""
    if not overrides:
        return ""
    return "__" + "_".join(f"{check_name('config field', k)}{_value_text(v)}" for k, v in sorted(overrides.items()))


def result_path(root: Path, tag: str, task: str, row_id: str, recording: str, seed: int, overrides: dict | None = None) -> Path:
    parts = [check_name("tag", tag), check_name("task", task), check_name("row", row_id), check_name("recording name", recording)]
    return Path(root).joinpath(*parts) / f"seed{int(seed)}{overrides_key(overrides)}.json"


def error_path(path: Path) -> Path:
    return path.with_name(path.stem + ".error.json")


def record_key(record: dict) -> dict:
    """What a result file holds: the run it belongs to (a record of either schema)."""
    run = record.get("run") if isinstance(record.get("run"), dict) else {}
    return {
        "tag": record.get("tag"), "task": record.get("task"), "row": record.get("row"),
        "recording": record.get("recording"), "seed": record.get("seed"),
        "overrides": _plain(record.get("overrides") or {}),
        "load_options": _plain(record.get("load_options", run.get("load_options")) or {}),
    }


def _plain(value: Any) -> Any:
    """JSON round trip, so keys compare equal however they were built (tuples, numpy scalars)."""
    return json.loads(json.dumps(value, sort_keys=True, default=json_default))


# --- reading ----------------------------------------------------------------------------------


def read(path: Path, quiet: bool = False) -> dict:
    """The JSON object at ``path``; {} when missing or not a JSON object (warns unless quiet)."""
    try:
        with open(path) as f:
            value = json.load(f)
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        if not quiet:
            print(f"warning: unreadable result {path}: {exc}", file=sys.stderr)
        return {}
    return value if isinstance(value, dict) else {}


def inspect(path: Path) -> tuple[dict | None, str | None]:
    """(record migrated to the current schema, None) or (None, what is wrong); (None, None)
    when there is no file."""
    try:
        with open(path) as f:
            text = f.read()
    except FileNotFoundError:
        return None, None
    except (OSError, UnicodeDecodeError) as exc:
        return None, f"cannot be read ({type(exc).__name__}: {exc})"
    try:
        value = json.loads(text)
    except ValueError as exc:
        what = "empty file" if not text.strip() else f"not JSON, truncated? ({exc})"
        return None, what
    problem = validate(value)
    if problem:
        return None, problem
    return migrate(value), None


def validate(value: Any) -> str | None:
    """What keeps ``value`` from being a stored result (None when it is one)."""
    if not isinstance(value, dict):
        return f"holds JSON {type(value).__name__} {_short(value)}, not a result object"
    schema = value.get("schema")
    if schema not in KNOWN_SCHEMAS:
        return f"result schema {schema!r} is not one this bench reads (knows {list(KNOWN_SCHEMAS)})"
    if value.get("status") not in ("ok", "error"):
        return f"status {_short(value.get('status'))} is neither 'ok' nor 'error'"
    missing = [k for k in ("task", "row", "recording") if not isinstance(value.get(k), str)]
    if missing:
        return f"missing or non-text field(s) {missing}"
    seed = value.get("seed")
    if not isinstance(seed, int) or isinstance(seed, bool):
        return f"seed {_short(seed)} is not an integer"
    if value.get("overrides") is not None and not isinstance(value.get("overrides"), dict):
        return "overrides is not an object"
    if value["status"] == "ok" and not isinstance(value.get("metrics"), dict):
        return f"status 'ok' but metrics is {_short(value.get('metrics'))}, not an object"
    return None


def _short(value: Any) -> str:
    text = json.dumps(value, default=str)
    return text if len(text) <= 40 else text[:37] + "..."


def migrate(record: dict) -> dict:
    """A record in the current schema's shape. Schema 1 lacked ``key`` and ``identity``:
    the key is rebuilt; the identity stays None (the runner proves schema-1 runs separately)."""
    if record.get("schema") == SCHEMA:
        return record
    out = dict(record)
    out["migrated_from"] = record.get("schema")
    out["schema"] = SCHEMA
    out.setdefault("overrides", {})
    out["key"] = record_key(record)
    out.setdefault("identity", None)
    return out


def _result_files(base: Path, depth: int) -> list[Path]:
    """Files laid out as results (``<tag>/<task>/<row>/<recording>/seed*.json`` below root)."""
    pattern = "/".join(["*"] * (depth - 1) + ["seed*.json"]) if depth > 1 else "seed*.json"
    return sorted(p for p in base.glob(pattern) if not p.name.startswith(".") and RESULT_FILE.fullmatch(p.name))


def load_store(root: Path, tag: str | None = LEADERBOARD, task: str | None = None, include_errors: bool = False) -> tuple[list[dict], list[StoreProblem]]:
    """Every usable result under ``root`` (one tag, one task, errors optional) and every file
    that is not one. A missing ``root`` is a StoreError; a missing tag folder holds nothing."""
    root = Path(root)
    if not root.exists():
        raise StoreError(f"result store {root} does not exist (run `python -m bench run` first, or pass --results)")
    if not root.is_dir():
        raise StoreError(f"result store {root} is a file, not a folder")
    base, depth = (root / tag, 4) if tag else (root, 5)
    if not base.is_dir():
        return [], []
    records, problems = [], []
    for p in _result_files(base, depth):
        is_err = p.name.endswith(".error.json")
        if is_err and not include_errors:
            continue
        record, problem = inspect(p)
        if problem:
            problems.append(StoreProblem(p, problem))
            continue
        if record is None or (task and record.get("task") != task):
            continue
        record["_path"] = str(p)
        records.append(record)
    return records, problems


def load_with_problems(root: Path, tag: str | None = LEADERBOARD, task: str | None = None, include_errors: bool = False) -> tuple[list[dict], list[StoreProblem]]:
    """:func:`load_store` for report writers: the problems are returned (for a page to list)
    and also printed on stderr, once per file and process, so no command hides them."""
    records, problems = load_store(root, tag, task, include_errors)
    report_problems(problems)
    return records, problems


_REPORTED: set[tuple[str, str]] = set()


def report_problems(problems: list[StoreProblem], stream=None) -> int:
    """Print each problem once per process (``warning: skipped PATH: WHAT``); returns how many
    were new."""
    new = 0
    for pr in problems:
        key = (str(pr.path), pr.problem)
        if key in _REPORTED:
            continue
        _REPORTED.add(key)
        new += 1
        print(f"warning: skipped {pr.path}: {pr.problem}", file=stream or sys.stderr)
    return new


def load(root: Path, tag: str | None = LEADERBOARD, task: str | None = None, include_errors: bool = False) -> list[dict]:
    """Like :func:`load_store`, problems reported once on stderr instead of returned."""
    records, problems = load_store(root, tag, task, include_errors)
    report_problems(problems)
    return records


# --- writing ----------------------------------------------------------------------------------


def atomic_write_json(path: Path, payload: Any) -> Path:
    """Atomic JSON write (bench.data.io), kept here for the store's callers."""
    return _io_atomic_write_json(path, payload)


@contextlib.contextmanager
def _folder_lock(folder: Path):
    """Exclusive lock on a result folder, across processes (flock on a hidden lock file)."""
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / ".lock", "a") as fh:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


class ResultCollision(StoreError):
    """A result file holds another run's result (two runs map to one path)."""


def store(path: Path, payload: dict) -> Path:
    """Write a result; an error never overwrites a completed result (it goes beside it).

    The check and the write happen under the folder's lock, so a run completed by another
    process between them cannot be replaced by this one's error. A file there that is not a
    result is moved aside (``<name>.unreadable-<time>``) and reported; a result of another run
    (different key) is never replaced: ResultCollision.
    """
    path = Path(path)
    with _folder_lock(path.parent):
        existing = read(path, quiet=True)
        problem = _not_a_result(path) if path.exists() and existing.get("status") not in ("ok", "error") else None
        if problem:
            aside = path.with_name(f"{path.name}.unreadable-{datetime.now(UTC):%Y%m%dT%H%M%S%f}")
            os.replace(path, aside)
            print(f"warning: {path} was not a result ({problem}); moved to {aside.name}", file=sys.stderr)
            existing = {}
        if existing and "key" in payload and validate(existing) is None and _plain(record_key(existing)) != _plain(payload["key"]):
            raise ResultCollision(f"{path} holds the result of another run ({record_key(existing)}); refusing to write "
                                  f"{payload['key']} there")
        target = error_path(path) if payload.get("status") != "ok" and existing.get("status") == "ok" else path
        _io_atomic_write_json(target, payload)
        if target == path and payload.get("status") == "ok" and error_path(path).exists():
            error_path(path).unlink()
    return target


def _not_a_result(path: Path) -> str | None:
    """Why the file at ``path`` is no result at all (None when it is, or is gone)."""
    _, problem = inspect(path)
    return problem


def probe_writable(folder: Path) -> None:
    """Create ``folder`` if needed and write, sync and remove a probe file in it; a StoreError
    naming the folder when that fails or the disk is nearly full."""
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StoreError(f"result store {folder} cannot be created: {exc.strerror or exc}") from exc
    try:
        fd, name = tempfile.mkstemp(prefix=".probe-", suffix=".tmp", dir=folder)
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(b"\0" * 4096)
                fh.flush()
                os.fsync(fh.fileno())
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(name)
        free = shutil.disk_usage(folder).free
    except OSError as exc:
        raise StoreError(f"result store {folder} cannot be written: {exc.strerror or exc}") from exc
    if free < MIN_FREE_BYTES:
        raise StoreError(f"result store {folder} is nearly full ({free / 1e6:.1f} MB free); free some space first")


# --- identity and provenance --------------------------------------------------------------------


def identity_hash(payload: dict) -> str:
    """Short digest of a run's identity (stable across processes and machines)."""
    blob = json.dumps(payload, sort_keys=True, default=json_default).encode()
    return hashlib.sha1(blob).hexdigest()[:12]


config_hash = identity_hash  # schema 1's name for the same digest


@lru_cache(maxsize=1)
def provenance() -> dict:
    """Versions, git commit and machine facts recorded with every result."""
    import neurobench
    import numpy
    import snntorch
    import torch

    import bench

    info = {
        "bench": bench.__version__,
        "torch": torch.__version__,
        "snntorch": snntorch.__version__,
        "neurobench": getattr(neurobench, "__version__", _dist_version("neurobench")),
        "numpy": numpy.__version__,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "host": socket.gethostname(),
    }
    info.update(_git_state())
    return info


def _dist_version(name: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(name)
    except PackageNotFoundError:
        return "unknown"


def _git_state() -> dict:
    from bench.paths import REPO_ROOT

    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=REPO_ROOT, capture_output=True, text=True, timeout=10).stdout.strip()

    try:
        commit = git("rev-parse", "HEAD")
        dirty = bool(git("status", "--porcelain", "--untracked-files=no"))
        return {"git_commit": commit or None, "git_dirty": dirty}
    except (OSError, subprocess.SubprocessError):
        return {"git_commit": None, "git_dirty": None}


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
