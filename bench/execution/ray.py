"""Ray tasks (``--executor ray``): one task per run on a local or remote Ray cluster.

A task runs in a private temporary store and returns the records; the driver stores them, so
the result store never has to be shared with the cluster. Recording files go through Ray's
object store only when a node lacks the identical file (``ship="auto"``). A task whose worker
dies is retried ``retries`` times, then recorded as an error naming the cause.
"""

from __future__ import annotations

import contextlib
import dataclasses
import tempfile
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bench.data.io import atomic_write, file_md5, md5_of
from bench.execution.local import WireSpec, from_wire, limit_threads, to_wire

if TYPE_CHECKING:
    from bench.execution.runner import RunOutcome, RunSpec

SHIP_MODES = ("auto", "always", "never")


def execute_remote(wire: WireSpec, force: bool = False, fetch: Callable[[], bytes] | None = None, digest: str | None = None, threads: int = 1) -> dict:
    """Run one spec where the result store is not visible; return what the driver should store.

    ``fetch`` returns the recording's bytes when they were shipped: they are written once into
    this machine's cache (by ``digest``) and read from there. Returns {"status", "message",
    "warnings", "payloads": {path relative to the store: record}, "host", "data"}.
    """
    import socket

    from bench import results as store
    from bench.execution.runner import execute
    from bench.paths import cache_dir

    spec = from_wire(wire)
    where = "path"
    if fetch is not None:
        local = cache_dir() / "shipped" / (digest or "nodigest") / spec.ref.path.name
        if not (local.is_file() and digest and md5_of(local) == digest):
            atomic_write(local, fetch())
        spec = dataclasses.replace(spec, ref=dataclasses.replace(spec.ref, path=local))
        where = "shipped"
    with tempfile.TemporaryDirectory(prefix="bench-remote-") as tmp_root:
        out = execute(spec, Path(tmp_root), force=True, threads=threads)
        payloads = {str(p.relative_to(tmp_root)): store.read(p) for p in out.paths}
    return {"status": out.status, "message": out.message, "warnings": out.warnings, "payloads": payloads,
            "host": socket.gethostname(), "data": where}


def store_remote(spec: RunSpec, root: Path, result: dict, force: bool = False) -> RunOutcome:
    """Driver side of ``execute_remote``: store the records, through the one skip check (rows
    the store already holds stay as they are)."""
    from bench.execution.runner import RunOutcome, check, write

    chk = check(spec, root, force)
    out = RunOutcome(spec, result["status"], [], result["message"], list(result.get("warnings", [])))
    if chk.refused:
        out.status, out.message = "error", f"refused: {chk.refused}"
        return out
    by_row = {payload.get("variant"): payload for payload in result["payloads"].values()}
    for v, path in chk.paths.items():
        if chk.complete.get(v):
            out.paths.append(path)
        elif v in by_row:
            write(path, by_row[v], out)
    return out


def _ray_task(wire: WireSpec, force: bool, shipped: list | None, digest: str | None, threads: int) -> dict:
    """Body of one Ray task (``shipped`` is a list so Ray does not fetch the bytes unasked)."""
    limit_threads(threads)
    fetch = None
    if shipped:
        import ray

        def fetch() -> bytes:
            return ray.get(shipped[0])

    try:
        return execute_remote(wire, force, fetch, digest, threads)
    except Exception as exc:  # entry import: the driver records it
        return {"failed": ("remote", type(exc).__name__, str(exc), traceback.format_exc())}


def _probe_files(expected: dict[str, tuple[int, str]]) -> dict[str, bool]:
    """On one node: which files exist there with the driver's size and digest."""
    seen = {}
    for path, (size, digest) in expected.items():
        p = Path(path)
        seen[path] = p.is_file() and p.stat().st_size == size and md5_of(p) == digest
    return seen


def _ship_plan(ray: Any, paths: list[Path], mode: str) -> dict[str, tuple[Any, str]]:
    """Recording files to send through the object store: {path: (object ref, md5)}."""
    files = sorted({str(p) for p in paths if Path(p).is_file()})
    if mode == "never" or not files:
        return {}
    expected = {p: (Path(p).stat().st_size, file_md5(p)) for p in files}
    missing = set(files)
    if mode == "auto":
        from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

        probe = ray.remote(num_cpus=0)(_probe_files)
        nodes = [n["NodeID"] for n in ray.nodes() if n.get("Alive")]
        answers = ray.get([probe.options(scheduling_strategy=NodeAffinitySchedulingStrategy(n, soft=False)).remote(expected) for n in nodes])
        missing = {p for ans in answers for p, ok in ans.items() if not ok}
    return {p: (ray.put(Path(p).read_bytes()), expected[p][1]) for p in sorted(missing)}


def _ray_cause(exc: BaseException) -> str:
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    oom = " (out of memory)" if "OutOfMemory" in type(exc).__name__ else ""
    return f"Ray task failed{oom}: {type(exc).__name__}: {first}"


def run_ray(specs: list[RunSpec], root: Path, force: bool, jobs: int, report: Callable, address: str | None = None,
            retries: int = 0, cpus_per_task: int = 1, gpus_per_task: float = 0, ship: str = "auto", threads: int = 1) -> list[RunOutcome]:
    """Run ``specs`` (already checked against the store) as Ray tasks; outcomes in order."""
    try:
        import ray
    except ImportError as exc:
        raise RuntimeError("--executor ray needs Ray: pip install 'ray>=2.9' (or the 'ray' extra of bench)") from exc
    from bench.execution.runner import record_failure

    if ship not in SHIP_MODES:
        raise ValueError(f"unknown ship mode {ship!r}; known: {SHIP_MODES}")
    started_here = not ray.is_initialized()
    if started_here and address:
        ray.init(address=address)
    elif started_here:
        ray.init(num_cpus=jobs * cpus_per_task if jobs > 1 else None, include_dashboard=False)
    outcomes: list[RunOutcome | None] = [None] * len(specs)
    pending: list = []
    try:
        shipped = _ship_plan(ray, [s.ref.path for s in specs], ship)
        task = ray.remote(_ray_task).options(num_cpus=cpus_per_task, num_gpus=gpus_per_task, max_retries=retries, retry_exceptions=False)
        index = {}
        per_task = max(1, min(int(threads), cpus_per_task))
        for i, spec in enumerate(specs):
            ref_digest = shipped.get(str(spec.ref.path))
            obj = [ref_digest[0]] if ref_digest else None
            ref = task.remote(to_wire(spec), force, obj, ref_digest[1] if ref_digest else None, per_task)
            index[ref] = i
        pending = list(index)
        while pending:
            done, pending = ray.wait(pending, num_returns=1)
            for ref in done:
                i = index[ref]
                try:
                    result = ray.get(ref)
                except ray.exceptions.RayError as exc:
                    tries = f" (after {retries + 1} attempts)" if retries else ""
                    msg = f"{_ray_cause(exc)} while running {specs[i].label()}{tries}"
                    out = record_failure(specs[i], root, "worker", type(exc).__name__, msg, force=force)
                else:
                    if "failed" in result:
                        out = record_failure(specs[i], root, *result["failed"], force=force)
                    else:
                        out = store_remote(specs[i], root, result, force)
                outcomes[i] = out
                report(out)
    except KeyboardInterrupt:
        for ref in pending:
            with contextlib.suppress(Exception):
                ray.cancel(ref, force=True)
        raise
    finally:
        if started_here:
            ray.shutdown()
    return outcomes  # type: ignore[return-value]


