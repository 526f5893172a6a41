"""The Zenodo download against a real HTTP server on 127.0.0.1 (Range support, cut-offs, errors)."""

from __future__ import annotations

import hashlib
import os
import random
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from bench.data import download as dl
from bench.data import sessions

NAME = "sim_dl_1"


def _content(n: int = 300_000) -> bytes:
    header = b"MATLAB 7.3 MAT-file, Platform: GLNXA64, synthetic download test".ljust(512, b" ")
    return header + random.Random(0).randbytes(n)


@dataclass
class Served:
    content: bytes
    ranges: bool = True  # answer Range requests with 206
    cut: int = 0  # how many responses still to cut off halfway through the body
    corrupt: bool = False  # flip one byte of every body
    requests: list[tuple[str, str | None]] = field(default_factory=list)


def _handler(state: Served) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        timeout = 5

        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            rng = self.headers.get("Range")
            state.requests.append((self.path, rng))
            if self.path != f"/files/{NAME}.mat":
                self.send_error(404, "Not Found")
                return
            data, total, start = state.content, len(state.content), 0
            if state.corrupt:
                data = data[:1000] + bytes([data[1000] ^ 0xFF]) + data[1001:]
            if rng and state.ranges:
                start = int(rng.removeprefix("bytes=").split("-")[0])
                if start >= total:
                    self.send_response(416)
                    self.send_header("Content-Range", f"bytes */{total}")
                    self.end_headers()
                    return
                self.send_response(206)
                self.send_header("Content-Range", f"bytes {start}-{total - 1}/{total}")
            else:
                self.send_response(200)
            body = data[start:]
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if state.cut > 0:  # HTTP/1.0: returning closes the connection mid-body
                state.cut -= 1
                body = body[: len(body) // 2]
            self.wfile.write(body)

    return Handler


@pytest.fixture(autouse=True)
def _hermetic(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BENCH_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv(dl.ENV_BASE_URL, raising=False)
    monkeypatch.setattr(dl, "CHUNK", 16 * 1024)


@pytest.fixture
def server():
    state = Served(_content())
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield state, f"http://127.0.0.1:{httpd.server_address[1]}/files"
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)
    assert not thread.is_alive()


def _md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


def _get(base: str, dest: Path, state: Served, **kw: object) -> str:
    kw = {"progress": False, "backoff": 0.0, "timeout": 5.0, **kw}
    return dl.download_file(f"{base}/{NAME}.mat", dest, _md5(state.content), **kw)


def test_fresh_download_is_verified_and_cached(server, tmp_path: Path) -> None:
    state, base = server
    dest = tmp_path / "data" / f"{NAME}.mat"
    assert _get(base, dest, state, size=len(state.content)) == "downloaded"
    assert dest.read_bytes() == state.content
    assert not dest.with_name(dest.name + ".part").exists()
    from bench.data.io import known_md5

    assert known_md5(dest) == _md5(state.content)  # remembered: the next check costs a stat
    assert sorted(p.name for p in dest.parent.iterdir()) == [dest.name]  # nothing else written
    assert state.requests == [(f"/files/{NAME}.mat", None)]


def test_valid_file_is_skipped_without_a_request(server, tmp_path: Path) -> None:
    state, base = server
    dest = tmp_path / f"{NAME}.mat"
    _get(base, dest, state)
    assert len(state.requests) == 1
    assert _get(base, dest, state) == "already valid"
    assert len(state.requests) == 1
    # same size, new content and mtime: the sidecar no longer applies, the file is re-fetched
    dest.write_bytes(bytes(len(state.content)))
    st = dest.stat()
    os.utime(dest, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    assert not dl.is_valid(dest, _md5(state.content))
    assert _get(base, dest, state) == "downloaded"
    assert dest.read_bytes() == state.content and len(state.requests) == 2


def test_interrupted_transfer_resumes_with_range(server, tmp_path: Path) -> None:
    state, base = server
    state.cut = 1
    dest = tmp_path / f"{NAME}.mat"
    assert _get(base, dest, state) == "resumed"
    half = len(state.content) // 2
    assert state.requests == [
        (f"/files/{NAME}.mat", None),
        (f"/files/{NAME}.mat", f"bytes={half}-"),
    ]
    assert dest.read_bytes() == state.content


def test_server_without_range_support_restarts(server, tmp_path: Path) -> None:
    state, base = server
    state.ranges, state.cut = False, 1
    dest = tmp_path / f"{NAME}.mat"
    # a stale, wrong .part from an earlier run must not end up in the file either
    dest.with_name(dest.name + ".part").write_bytes(b"garbage" * 100)
    assert _get(base, dest, state) == "downloaded"
    # both Range requests got 200: the 700 stale bytes were dropped, then the cut-off 200 body
    half = len(state.content) // 2
    assert [r for _, r in state.requests] == ["bytes=700-", f"bytes={half}-"]
    assert dest.read_bytes() == state.content


def test_corrupted_content_deletes_part_and_says_so(server, tmp_path: Path) -> None:
    state, base = server
    state.corrupt = True
    dest = tmp_path / f"{NAME}.mat"
    with pytest.raises(dl.DownloadError) as err:
        _get(base, dest, state)
    msg = str(err.value)
    assert "checksum mismatch" in msg and NAME in msg and "deleted" in msg
    assert _md5(state.content) in msg
    bad = state.content[:1000] + bytes([state.content[1000] ^ 0xFF]) + state.content[1001:]
    assert _md5(bad) in msg
    assert not dest.exists() and not dest.with_name(dest.name + ".part").exists()


def test_http_404_is_a_clear_error_without_retries(server, tmp_path: Path) -> None:
    state, base = server
    dest = tmp_path / "nope.mat"
    with pytest.raises(dl.DownloadError, match=r"HTTP 404 Not Found for http://127\.0\.0\.1:\d+/"):
        dl.download_file(f"{base}/nope.mat", dest, "0" * 32, progress=False, backoff=0.0)
    assert len(state.requests) == 1 and not dest.exists()


def test_retries_are_bounded_and_keep_the_part(server, tmp_path: Path) -> None:
    state, base = server
    state.cut = 100
    dest = tmp_path / f"{NAME}.mat"
    with pytest.raises(dl.DownloadError, match="after 3 attempts"):
        _get(base, dest, state, retries=2)
    assert len(state.requests) == 3 and not dest.exists()
    part = dest.with_name(dest.name + ".part")
    assert part.exists() and state.content.startswith(part.read_bytes())
    state.cut = 0
    assert _get(base, dest, state) == "resumed"  # the next run picks up where it stopped
    assert dest.read_bytes() == state.content


def test_sessions_and_command(server, tmp_path: Path, monkeypatch, capsys) -> None:
    state, base = server
    known = sessions.KnownSession(NAME, 96, _md5(state.content))
    monkeypatch.setattr(sessions, "KNOWN", {NAME: known})
    monkeypatch.setenv(dl.ENV_BASE_URL, base)  # no base_url argument: the env var is used
    paths = dl.download_sessions([NAME], tmp_path, progress=False)
    assert paths == [tmp_path / f"{NAME}.mat"] and paths[0].read_bytes() == state.content
    assert dl.download_command(None, tmp_path, base) == 0
    assert "already valid" in capsys.readouterr().out
    assert len(state.requests) == 1

    paths[0].unlink()
    state.corrupt = True
    assert dl.download_command([NAME], tmp_path, base) == 1
    assert "failed: checksum mismatch" in capsys.readouterr().err


def test_unknown_session_suggests_near_match(capsys) -> None:
    with pytest.raises(ValueError, match="Did you mean indy_20160622_01"):
        dl.resolve_names(["indy_20160622_1"])
    assert dl.download_command(["loco_20170210_3"], Path("unused"), "http://127.0.0.1:9") == 2
    assert "loco_20170210_03" in capsys.readouterr().err


# --- a hostile or broken data folder ------------------------------------------------------------


def test_data_dir_that_is_a_file_is_a_clear_error(server, tmp_path: Path, capsys) -> None:
    state, base = server
    not_a_dir = tmp_path / "data"
    not_a_dir.write_text("I am a file")
    with pytest.raises(dl.DownloadError, match=r"data directory .*data is a file, not a directory"):
        _get(base, not_a_dir / f"{NAME}.mat", state)
    assert dl.download_command(None, not_a_dir, base) == 1
    assert "is a file, not a directory" in capsys.readouterr().err
    assert state.requests == [] and not_a_dir.read_text() == "I am a file"


def test_read_only_data_dir_is_a_clear_error(server, tmp_path: Path, monkeypatch) -> None:
    state, base = server
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    if os.geteuid() == 0:  # root writes anywhere: make the permission check see what a user sees
        real = os.access
        monkeypatch.setattr(os, "access", lambda p, mode, **kw: False if Path(p) == ro else real(p, mode, **kw))
    try:
        with pytest.raises(dl.DownloadError, match=r"data directory .*ro is not writable"):
            _get(base, ro / f"{NAME}.mat", state)
        assert state.requests == [] and list(ro.iterdir()) == []
    finally:
        ro.chmod(0o755)


@pytest.mark.parametrize("existing", [b"", b"stolen partial data"])
def test_symlink_planted_at_the_part_file_is_never_followed(server, tmp_path: Path, existing: bytes) -> None:
    """Fresh download and resume alike: a .part that is a symlink is refused, its target untouched."""
    state, base = server
    data = tmp_path / "data"
    data.mkdir()
    outside = tmp_path / "outside.txt"
    outside.write_bytes(existing)
    dest = data / f"{NAME}.mat"
    dest.with_name(dest.name + ".part").symlink_to(outside)
    with pytest.raises(dl.DownloadError, match=r"\.mat\.part is a symbolic link; bench never writes through it"):
        _get(base, dest, state)
    assert outside.read_bytes() == existing and not dest.exists()
    assert state.requests == []


def test_symlink_at_the_target_is_replaced_not_written_through(server, tmp_path: Path) -> None:
    state, base = server
    data = tmp_path / "data"
    data.mkdir()
    outside = tmp_path / "outside.txt"
    outside.write_bytes(b"keep me")
    dest = data / f"{NAME}.mat"
    dest.symlink_to(outside)
    assert _get(base, dest, state) == "downloaded"
    assert outside.read_bytes() == b"keep me"
    assert not dest.is_symlink() and dest.read_bytes() == state.content


@pytest.mark.parametrize("append", [False, True])
def test_part_that_becomes_a_symlink_after_the_check_is_refused_by_open(tmp_path: Path, monkeypatch, append: bool) -> None:
    """The window between the check and the open: O_EXCL (new file) and O_NOFOLLOW (resume)
    refuse a symlink that appears there; its target is never written."""
    outside = tmp_path / "outside.txt"
    outside.write_bytes(b"keep me")
    part = tmp_path / f"{NAME}.mat.part"
    part.symlink_to(outside)
    monkeypatch.setattr(dl, "_check_part", lambda path: None)  # the check ran before the link appeared
    with pytest.raises(dl.DownloadError, match="symbolic link"):
        dl._open_part(part, append=append)
    assert outside.read_bytes() == b"keep me" and part.is_symlink()
