"""The result store: one JSON per (entry, variant, recording, seed[, sweep point]).

Files are written atomically (unique temp file in the same folder, fsync, os.replace), so a
crash or a concurrent writer never leaves a half file, and two writers of the same run leave
one complete result. A failed run never replaces a completed one: its record goes beside it
as ``*.error.json``. Tables and figures read only these files.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import platform
import socket
import subprocess
import uuid
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

SCHEMA = 1
LEADERBOARD = "leaderboard"


def _slug(value: Any) -> str:
    text = str(value)
    return "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in text)


def overrides_key(overrides: dict | None) -> str:
    if not overrides:
        return ""
    return "__" + "_".join(f"{_slug(k)}{_slug(v)}" for k, v in sorted(overrides.items()))


def result_path(root: Path, tag: str, task: str, row_id: str, recording: str, seed: int, overrides: dict | None = None) -> Path:
    return Path(root) / _slug(tag) / _slug(task) / _slug(row_id) / _slug(recording) / f"seed{seed}{overrides_key(overrides)}.json"


def error_path(path: Path) -> Path:
    return path.with_name(path.stem + ".error.json")


def atomic_write_json(path: Path, payload: dict) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        with open(tmp, "w") as f:
            json.dump(payload, f, indent=1, sort_keys=True, default=_json_default)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def _json_default(obj: Any):
    if hasattr(obj, "item"):
        return obj.item()
    if hasattr(obj, "tolist"):
        return obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


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


def store(path: Path, payload: dict) -> Path:
    """Write a result; an error never overwrites a completed result (it goes beside it).

    The check and the write happen under the folder's lock, so a run completed by another
    process between them cannot be replaced by this one's error.
    """
    path = Path(path)
    with _folder_lock(path.parent):
        if payload.get("status") != "ok" and read(path, quiet=True).get("status") == "ok":
            target = error_path(path)
        else:
            target = path
        atomic_write_json(target, payload)
        if target == path and payload.get("status") == "ok" and error_path(path).exists():
            error_path(path).unlink()
    return target


def read(path: Path, quiet: bool = False) -> dict:
    try:
        with open(path) as f:
            return json.load(f)
    except FileNotFoundError:
        return {}
    except (OSError, json.JSONDecodeError) as exc:
        if not quiet:
            print(f"warning: unreadable result {path}: {exc}")
        return {}


def is_complete(path: Path, config_hash: str) -> bool:
    r = read(path, quiet=True)
    return r.get("status") == "ok" and r.get("config_hash") == config_hash


def load(root: Path, tag: str | None = LEADERBOARD, task: str | None = None, include_errors: bool = False) -> list[dict]:
    """Every stored result under ``root`` (optionally one tag / task), errors optional."""
    root = Path(root)
    base = root / _slug(tag) if tag else root
    out = []
    for p in sorted(base.rglob("*.json")):
        if p.name.startswith("."):
            continue
        is_err = p.name.endswith(".error.json")
        if is_err and not include_errors:
            continue
        r = read(p)
        if not r or r.get("schema") != SCHEMA:
            continue
        if task and r.get("task") != task:
            continue
        r["_path"] = str(p)
        out.append(r)
    return out


def config_hash(payload: dict) -> str:
    blob = json.dumps(payload, sort_keys=True, default=_json_default).encode()
    return hashlib.sha1(blob).hexdigest()[:12]


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
