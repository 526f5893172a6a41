"""Verified, resumable download of the primate-reaching sessions from Zenodo (record 583331).

A file is streamed into ``<name>.mat.part``, resumed with an HTTP Range request after an
interruption, and moved to ``<name>.mat`` with ``os.replace`` only once its md5 (and size, when
known) match. The verified md5 is remembered by ``bench.data.io`` (keyed by path, size and
mtime), so checking an already present file a second time costs one ``stat``.

Nothing is written outside the data folder: the ``.part`` file is created with O_EXCL and
appended to with O_NOFOLLOW, so a symbolic link planted at its name is refused, never followed;
a data folder that is a file or cannot be written is a clear error before any request.
"""

from __future__ import annotations

import difflib
import errno
import http.client
import os
import stat
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from bench.data import sessions
from bench.data.io import file_md5, md5_of, record_md5

ENV_BASE_URL = "BENCH_ZENODO_URL"
CHUNK = 1 << 20
RETRYABLE_HTTP = {408, 429, 500, 502, 503, 504}
_NET_ERRORS = (urllib.error.URLError, http.client.HTTPException, ConnectionError, TimeoutError)


class DownloadError(RuntimeError):
    """A download failed for good: HTTP error, retries exhausted or checksum mismatch."""


class _Interrupted(Exception):
    """The transfer stopped early; the .part file keeps what arrived."""


def resolve_base_url(override: str | None = None) -> str:
    """Zenodo base URL: the argument, else ``$BENCH_ZENODO_URL``, else record 583331."""
    url = override or os.environ.get(ENV_BASE_URL) or sessions.ZENODO_BASE_URL
    return url.rstrip("/")


def resolve_names(names: list[str] | None) -> list[sessions.KnownSession]:
    """Known sessions for ``names`` (all six when None); an unknown name suggests near matches."""
    if not names:
        return list(sessions.KNOWN.values())
    out = []
    for name in names:
        stem = name[:-4] if name.endswith(".mat") else name
        if stem not in sessions.KNOWN:
            close = difflib.get_close_matches(stem, list(sessions.KNOWN), n=3, cutoff=0.6)
            hint = f" Did you mean {', '.join(close)}?" if close else ""
            raise ValueError(
                f"unknown session {name!r}: no md5 is known for it, so it cannot be verified."
                f"{hint} Known sessions: {', '.join(sessions.KNOWN)}"
            )
        out.append(sessions.KNOWN[stem])
    return out


def check_data_dir(data_dir: Path) -> Path:
    """The data folder, created if missing; a file in its place or a folder that cannot be
    written is a DownloadError saying so (before any request is made)."""
    data_dir = Path(data_dir)
    if data_dir.exists() and not data_dir.is_dir():
        raise DownloadError(f"data directory {data_dir} is a file, not a directory")
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise DownloadError(f"cannot create the data directory {data_dir}: {e.strerror or e}") from e
    if not os.access(data_dir, os.W_OK | os.X_OK):
        raise DownloadError(f"data directory {data_dir} is not writable (permissions)")
    return data_dir


def _lstat(path: Path) -> os.stat_result | None:
    try:
        return path.lstat()
    except FileNotFoundError:
        return None


def _check_part(part: Path) -> os.stat_result | None:
    """The .part file's lstat, or None if absent; anything but a regular file is refused."""
    st = _lstat(part)
    if st is not None and not stat.S_ISREG(st.st_mode):
        kind = "a symbolic link" if stat.S_ISLNK(st.st_mode) else "not a regular file"
        raise DownloadError(f"{part} is {kind}; bench never writes through it. Remove it and run again")
    return st


def _open_part(part: Path, append: bool):
    """The .part file for writing: appended (O_NOFOLLOW) or created anew (O_EXCL after removing
    a stale regular file), so that a planted symlink is never followed."""
    flags = os.O_WRONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    if append:
        flags |= os.O_APPEND
    else:
        if _check_part(part) is not None:
            part.unlink()
        flags |= os.O_CREAT | os.O_EXCL
    try:
        fd = os.open(part, flags, 0o644)
    except OSError as e:
        if e.errno in (errno.ELOOP, errno.EEXIST):
            raise DownloadError(f"{part} appeared as a symbolic link or another file while "
                                f"downloading; bench never writes through it") from e
        raise DownloadError(f"cannot write {part}: {e.strerror or e}") from e
    return os.fdopen(fd, "ab" if append else "wb")


def is_valid(path: Path, md5: str, size: int | None = None) -> bool:
    """True when ``path`` exists with the expected size (if given) and md5."""
    path = Path(path)
    if not path.is_file() or (size is not None and path.stat().st_size != size):
        return False
    return file_md5(path) == md5.lower()


def _fetch(url: str, part: Path, timeout: float, progress: bool) -> bool:
    """One request into ``part``, resuming it when possible; True when a Range resume was used."""
    from tqdm import tqdm

    st = _check_part(part)
    offset = st.st_size if st is not None else 0
    req = urllib.request.Request(url, headers={"User-Agent": "bench-downloader/1"})
    if offset:
        req.add_header("Range", f"bytes={offset}-")
    try:
        resp = urllib.request.urlopen(req, timeout=timeout)
    except urllib.error.HTTPError as e:
        if e.code == 416 and offset:  # our .part is already as long as (or longer than) the file
            _check_part(part)
            part.unlink()
            raise _Interrupted("server refused the resume range (416); restarting") from e
        if e.code in RETRYABLE_HTTP:
            raise _Interrupted(f"HTTP {e.code} {e.reason}") from e
        raise DownloadError(f"HTTP {e.code} {e.reason} for {url}") from e
    with resp:
        resumed = offset > 0 and resp.status == 206
        if resumed:
            content_range = resp.headers.get("Content-Range", "")
            if not content_range.startswith(f"bytes {offset}-"):
                _check_part(part)
                part.unlink()
                raise _Interrupted(f"unexpected Content-Range {content_range!r}; restarting")
        else:
            offset = 0  # a 200 answer carries the whole file: start over
        length = resp.headers.get("Content-Length")
        expected = int(length) if length is not None else None
        received = 0
        total = offset + expected if expected is not None else None
        with (
            _open_part(part, append=resumed) as f,
            tqdm(
                total=total,
                initial=offset,
                unit="B",
                unit_scale=True,
                unit_divisor=1024,
                desc=part.name[: -len(".part")],
                disable=not progress,
                leave=False,
            ) as bar,
        ):
            while block := resp.read(CHUNK):
                f.write(block)
                received += len(block)
                bar.update(len(block))
            f.flush()
            os.fsync(f.fileno())
    if expected is not None and received < expected:
        raise _Interrupted(f"connection closed after {received} of {expected} bytes")
    return resumed


def download_file(
    url: str,
    dest: Path,
    md5: str,
    size: int | None = None,
    *,
    retries: int = 5,
    timeout: float = 60.0,
    backoff: float = 1.0,
    progress: bool = True,
) -> str:
    """Fetch ``url`` to ``dest`` verified by ``md5``; returns 'already valid', 'downloaded' or
    'resumed'. Network errors are retried ``retries`` times, resuming from the .part file."""
    dest = Path(dest)
    md5 = md5.lower()
    check_data_dir(dest.parent)
    if is_valid(dest, md5, size):
        return "already valid"
    part = dest.with_name(dest.name + ".part")
    st = _check_part(part)
    if size is not None and st is not None and st.st_size > size:
        part.unlink()
        st = None
    complete = size is not None and st is not None and st.st_size == size
    resumed = False
    for attempt in range(0 if complete else retries + 1):
        try:
            resumed = _fetch(url, part, timeout, progress) or resumed
            break
        except (_Interrupted, *_NET_ERRORS) as e:
            reason = getattr(e, "reason", None) or e
            if attempt == retries:
                raise DownloadError(
                    f"could not download {url} after {retries + 1} attempts: {reason}; "
                    f"{part} keeps what arrived and the next run resumes it"
                ) from e
            print(f"{dest.name}: {reason}; retrying ({attempt + 1}/{retries})", file=sys.stderr)
            time.sleep(backoff * 2**attempt)
    _check_part(part)
    got = md5_of(part)
    got_size = part.stat().st_size
    if got != md5 or (size is not None and got_size != size):
        part.unlink()
        size_note = f", size expected {size} got {got_size}" if size is not None else ""
        raise DownloadError(
            f"checksum mismatch for {dest.name}: md5 expected {md5}, got {got}{size_note}; "
            f"the partial file {part} was deleted and {dest} was not written"
        )
    os.replace(part, dest)  # a symlink planted at dest is replaced, not written through
    record_md5(dest, got)
    return "resumed" if resumed else "downloaded"


def download_sessions(
    names: list[str] | None,
    data_dir: Path,
    base_url: str | None = None,
    progress: bool = True,
) -> list[Path]:
    """Download (or confirm) known sessions into ``data_dir``; returns the verified .mat paths."""
    base = resolve_base_url(base_url)
    paths = []
    for s in resolve_names(names):
        dest = Path(data_dir) / f"{s.name}.mat"
        download_file(f"{base}/{s.name}.mat", dest, s.md5, progress=progress)
        paths.append(dest)
    return paths


def download_command(names: list[str] | None, data_dir: Path, base_url: str | None = None) -> int:
    """CLI body of ``bench data download``: one line per session; 0 if all are valid, 1 if any
    failed, 2 for an unknown session name."""
    try:
        chosen = resolve_names(names)
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    base = resolve_base_url(base_url)
    try:
        check_data_dir(data_dir)
    except DownloadError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    failed = 0
    for s in chosen:
        dest = Path(data_dir) / f"{s.name}.mat"
        try:
            status = download_file(f"{base}/{s.name}.mat", dest, s.md5)
        except DownloadError as e:
            failed += 1
            print(f"{s.name}: failed: {e}", file=sys.stderr)
            continue
        print(f"{s.name}: {status} ({dest.stat().st_size / 1e6:.1f} MB, md5 ok) -> {dest}")
    if failed:
        print(f"{failed} of {len(chosen)} sessions failed", file=sys.stderr)
    return 1 if failed else 0
