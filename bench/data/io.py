"""File primitives shared by the whole project: one md5 and one atomic write.

- :func:`file_md5` hashes a file in chunks and remembers the digest in the cache, keyed on the
  file's resolved path, size and mtime, so a file is hashed once until it changes.
- :func:`atomic_write` / :func:`atomic_write_json` write a file so that a reader sees either the
  old content or the new one, never half of it: a unique temp file created with O_EXCL in the
  target folder (never a planted symlink), fsync, ``os.replace``. A failure leaves no temp file.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO

CHUNK = 1 << 22


def md5_of(path: str | Path) -> str:
    """md5 of a file's bytes, computed now (no cache)."""
    h = hashlib.md5()
    with open(path, "rb") as fh:
        while block := fh.read(CHUNK):
            h.update(block)
    return h.hexdigest()


def _sidecar_dir() -> Path:
    from bench.paths import cache_dir

    return cache_dir() / "md5"


def file_md5(path: str | Path) -> str:
    """md5 of a file, remembered in a cache record keyed on (resolved path, size, mtime_ns)."""
    path = Path(path).resolve()
    st = path.stat()
    side = _sidecar_dir() / (hashlib.sha1(str(path).encode()).hexdigest()[:20] + ".json")
    stamp = {"path": str(path), "size": st.st_size, "mtime_ns": st.st_mtime_ns}
    try:
        known = json.loads(side.read_text())
        if {k: known.get(k) for k in stamp} == stamp and isinstance(known.get("md5"), str):
            return known["md5"]
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        pass
    digest = md5_of(path)
    try:
        atomic_write(side, json.dumps({**stamp, "md5": digest}))
    except OSError:
        pass  # a cache that cannot be written only costs a re-hash next time
    return digest


def atomic_write(path: str | Path, data: bytes | str | Callable[[BinaryIO], Any], *, fsync: bool = True) -> Path:
    """Write ``data`` (bytes, text, or a function writing into a binary file) to ``path`` atomically.

    The temp file is made by ``tempfile.mkstemp`` in the target folder (O_EXCL: a symlink planted
    at a predictable name is never followed); the target itself is replaced, not written through,
    so a symlink at ``path`` is replaced rather than followed.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as fh:
            if callable(data):
                data(fh)
            else:
                fh.write(data.encode() if isinstance(data, str) else data)
            fh.flush()
            if fsync:
                os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return path


def json_default(obj: Any) -> Any:
    """JSON for the values results carry: numpy/torch scalars and arrays, paths, sets."""
    if hasattr(obj, "detach"):  # torch tensor
        obj = obj.detach().cpu().numpy()
    if hasattr(obj, "tolist"):  # numpy array or scalar
        return obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
    if isinstance(obj, (set, frozenset)):
        return sorted(obj, key=repr)
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


def atomic_write_json(path: str | Path, payload: Any, *, indent: int | None = 1) -> Path:
    """Atomically write ``payload`` as JSON (keys sorted)."""
    text = json.dumps(payload, indent=indent, sort_keys=True, default=json_default)
    return atomic_write(path, text)
