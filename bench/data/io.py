"""File primitives shared by the whole project: one md5 and one atomic write.

- :func:`file_md5` hashes a file in chunks and remembers the digest in the cache, keyed on the
  file's resolved path, size and mtime, so a file is hashed once until it changes.
- :func:`atomic_write` / :func:`atomic_write_json` write a file so that a reader sees either the
  old content or the new one, never half of it: a unique temp file created with O_EXCL in the
  target folder (never a planted symlink), fsync, ``os.replace``. A failure leaves no temp file.
  :func:`atomic_output` does the same for writers that need a file name (h5py, neo).
- :func:`cache_note` says on stderr that a cache entry was unreadable and is being rebuilt.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
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


def _md5_record_path(path: Path) -> Path:
    return _sidecar_dir() / (hashlib.sha1(str(path).encode()).hexdigest()[:20] + ".json")


def _is_md5(text: object) -> bool:
    return isinstance(text, str) and len(text) == 32 and all(c in "0123456789abcdef" for c in text)


def known_md5(path: str | Path) -> str | None:
    """The remembered md5 of ``path`` as it is now, or None (never hashes, never notes)."""
    path = Path(path).resolve()
    try:
        st = path.stat()
        known = json.loads(_md5_record_path(path).read_text())
    except (OSError, ValueError):
        return None
    stamp = {"path": str(path), "size": st.st_size, "mtime_ns": st.st_mtime_ns}
    if isinstance(known, dict) and _is_md5(known.get("md5")) and {k: known.get(k) for k in stamp} == stamp:
        return known["md5"]
    return None


def file_md5(path: str | Path) -> str:
    """md5 of a file, remembered in a cache record keyed on (resolved path, size, mtime_ns).

    A record that does not parse or does not hold an md5 is rebuilt with a note on stderr; a
    record of an older version of the file (other size or mtime) is silently replaced.
    """
    path = Path(path).resolve()
    st = path.stat()
    side = _md5_record_path(path)
    stamp = {"path": str(path), "size": st.st_size, "mtime_ns": st.st_mtime_ns}
    try:
        text = side.read_text()
    except FileNotFoundError:
        text = None
    except OSError as e:
        cache_note(side, f"cannot be read: {e}", path)
        text = None
    if text is not None:
        try:
            known = json.loads(text)
            if not (isinstance(known, dict) and _is_md5(known.get("md5"))):
                raise ValueError("no md5 in the record")
            if {k: known.get(k) for k in stamp} == stamp:
                return known["md5"]
        except ValueError as e:
            cache_note(side, f"corrupt md5 record: {e}", path)
    digest = md5_of(path)
    record_md5(path, digest)
    return digest


def record_md5(path: str | Path, digest: str) -> None:
    """Remember ``digest`` as the md5 of ``path`` as it is now (e.g. right after a verified
    download), so :func:`file_md5` does not hash it again."""
    path = Path(path).resolve()
    st = path.stat()
    side = _md5_record_path(path)
    stamp = {"path": str(path), "size": st.st_size, "mtime_ns": st.st_mtime_ns}
    try:
        atomic_write(side, json.dumps({**stamp, "md5": digest}), fsync=False)
    except OSError:
        pass  # a cache that cannot be written only costs a re-hash next time


def cache_note(entry: str | Path, reason: str, source: str | Path) -> None:
    """One line on stderr: a cache entry could not be used and is rebuilt from its source."""
    print(f"note: cache entry {entry} is unusable ({reason}); rebuilding it from {source}", file=sys.stderr)


def _umask() -> int:
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except OSError:
        pass
    mask = os.umask(0o022)  # elsewhere: read it by setting it (and restore at once)
    os.umask(mask)
    return mask


def _final_mode(tmp: Path, path: Path) -> None:
    """Give the temp file the mode the target would get from a plain open(): the mode of the
    file it replaces, else 0o666 minus the umask (mkstemp creates files 0o600)."""
    try:
        st = os.lstat(path)
        mode = st.st_mode & 0o7777 if os.path.isfile(path) and not os.path.islink(path) else None
    except OSError:
        mode = None
    os.chmod(tmp, mode if mode is not None else 0o666 & ~_umask())


@contextmanager
def atomic_output(path: str | Path) -> Iterator[Path]:
    """A temp path next to ``path`` for writers that want a file name; on success it replaces
    ``path`` atomically, on failure it is removed. The temp file is created by ``mkstemp`` (O_EXCL
    in the target folder), so a planted symlink is never written through."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        _final_mode(tmp, path)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


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
        _final_mode(tmp, path)
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
