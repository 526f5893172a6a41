"""Run specs in parallel: local worker processes (``--jobs N``) or Ray tasks (``--executor ray``).

Specs travel as plain values: an entry goes by (name, source file) and each worker re-imports
that file, so entries from user folders outside ``baselines``/``submissions`` work too. Local
workers are spawned processes, one run at a time each, with torch threads set so that N jobs
share the cores; they write results into the store themselves (atomic writes). Ray tasks run in
a private temporary store and return the payloads; the driver stores them, so the result store
never has to be shared with the cluster. A worker that dies (killed, out of memory) is detected
and its run recorded as an error with the cause; ``retries`` re-runs it first. Runs that are
already complete are skipped unless ``force``, so an interrupted sweep resumes where it stopped.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import importlib
import importlib.util
import os
import pickle
import signal
import sys
import tempfile
import time
import traceback
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # heavy imports stay out of the spawned workers' start-up
    from bench.registry import Entry
    from bench.runner import RunOutcome, RunSpec

EXECUTORS = ("local", "ray")
SHIP_MODES = ("auto", "always", "never")
THREAD_VARS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "NUMEXPR_NUM_THREADS")


# --- specs as plain values -------------------------------------------------------------------


@dataclass(frozen=True)
class WireSpec:
    """A RunSpec without functions: the entry travels by name and source file."""

    entry: str
    source: str
    fields: dict  # every other RunSpec field (plain values)
    entry_blob: bytes | None = None  # pickled Entry when the spec's entry is not the registered one


def to_wire(spec: RunSpec) -> WireSpec:
    from bench import registry

    fields = {f.name: getattr(spec, f.name) for f in dataclasses.fields(spec) if f.name != "entry"}
    blob = None
    try:
        registered = registry.get(spec.entry.name)
    except registry.RegistryError:
        registered = None
    if registered != spec.entry:  # a modified entry: ship it whole (its functions must be importable)
        try:
            blob = pickle.dumps(spec.entry)
        except (pickle.PicklingError, TypeError, AttributeError) as exc:
            raise ValueError(f"{spec.entry.source}: entry {spec.entry.name!r} differs from the registered one and "
                             f"cannot be sent to a worker ({exc}); vary it through RunSpec.overrides instead") from exc
    return WireSpec(spec.entry.name, spec.entry.source, fields, blob)


def from_wire(wire: WireSpec) -> RunSpec:
    from bench.runner import RunSpec

    entry = load_entry(wire.entry, wire.source)  # imports the module a shipped entry refers to
    if wire.entry_blob:
        entry = pickle.loads(wire.entry_blob)
    return RunSpec(entry=entry, **wire.fields)


def load_entry(name: str, source: str | Path) -> Entry:
    """The registered entry ``name``, importing its ``source`` file first when it is not known."""
    from bench import registry

    try:
        entry = registry.get(name)
        if Path(entry.source).resolve() == Path(source).resolve():
            return entry
    except registry.RegistryError:
        pass
    _import_source(Path(source))
    try:
        return registry.get(name)
    except registry.RegistryError as exc:
        raise registry.RegistryError(f"{source}: importing it did not register entry {name!r}: {exc}") from None


def _import_source(file: Path) -> None:
    from bench.registry import PACKAGES, RegistryError

    file = file.resolve()
    if not file.is_file():
        raise RegistryError(f"{file}: entry source file not found on this machine ({os.uname().nodename})")
    try:
        for pkg in PACKAGES:  # a package module keeps its package name (relative imports work)
            spec = importlib.util.find_spec(pkg)
            dirs = [Path(p).resolve() for p in (spec.submodule_search_locations or [])] if spec else []
            if file.parent in dirs:
                mod_name = f"{pkg}.{file.stem}"
                if mod_name in sys.modules:
                    importlib.reload(sys.modules[mod_name])
                else:
                    importlib.import_module(mod_name)
                return
        mod_name = f"bench_user_{hashlib.md5(str(file).encode()).hexdigest()[:10]}_{file.stem}"
        while mod_name in sys.modules:  # registry was reset: run the file again under a new name
            mod_name += "_"
        mspec = importlib.util.spec_from_file_location(mod_name, file)
        module = importlib.util.module_from_spec(mspec)
        sys.modules[mod_name] = module
        mspec.loader.exec_module(module)
    except RegistryError:
        raise
    except Exception as exc:
        raise RegistryError(f"{file}: failed to import: {type(exc).__name__}: {exc}") from exc


# --- threads, failures ------------------------------------------------------------------------


def available_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def thread_budget(jobs: int, cores: int | None = None) -> int:
    """Torch threads per worker so that ``jobs`` workers do not oversubscribe the cores."""
    return max(1, (cores or available_cores()) // max(1, jobs))


def limit_threads(n: int) -> None:
    """Set this process's BLAS/OpenMP and torch thread counts to ``n``."""
    for var in THREAD_VARS:
        os.environ[var] = str(n)
    import torch

    torch.set_num_threads(n)
    with contextlib.suppress(RuntimeError):  # only settable before the first parallel region
        torch.set_num_interop_threads(n)


@contextlib.contextmanager
def _thread_env(n: int) -> Iterator[None]:
    """Spawned children inherit these variables before they import numpy or torch."""
    old = {v: os.environ.get(v) for v in THREAD_VARS}
    os.environ.update({v: str(n) for v in THREAD_VARS})
    try:
        yield
    finally:
        for v, val in old.items():
            if val is None:
                os.environ.pop(v, None)
            else:
                os.environ[v] = val


def death_cause(exitcode: int | None) -> str:
    """Human words for a worker's exit code (negative: killed by that signal)."""
    if exitcode is None:
        return "worker vanished"
    if exitcode < 0:
        name = signal.Signals(-exitcode).name if -exitcode in signal.valid_signals() else str(-exitcode)
        hint = " (possibly out of memory)" if -exitcode == signal.SIGKILL else ""
        return f"worker killed by {name}{hint}"
    return f"worker exited with code {exitcode}"


def record_failure(spec: RunSpec, root: Path, stage: str, err_type: str, message: str, tb: str = "", force: bool = False) -> RunOutcome:
    """Store an error result for every row of ``spec`` (never over a completed result)."""
    from bench import results as store
    from bench.runner import RunOutcome, config_for, identity_payload, paths_for

    try:
        ident = identity_payload(spec, config_for(spec))
        chash = store.config_hash(ident)
    except Exception:  # a bad override: still say which run failed
        ident, chash = {"config": None} | {k: None for k in ("weights", "prime", "input_mode", "quick", "load_options")}, ""
    entry = spec.entry
    base = {
        "schema": store.SCHEMA, "task": entry.task, "entry": entry.name, "entry_version": entry.version,
        "kind": entry.kind, "display": entry.display or entry.name, "recording": spec.ref.name,
        "synthetic": spec.ref.synthetic, "seed": spec.seed, "tag": spec.tag, "overrides": spec.overrides,
        "config": ident["config"], "config_hash": chash, "versions": store.provenance(),
        "run": {k: ident[k] for k in ("weights", "prime", "input_mode", "quick", "load_options")} | {"device": spec.device},
        "status": "error", "error": {"stage": stage, "type": err_type, "message": message, "traceback": tb},
        "started": store.now(), "finished": store.now(), "timing": {},
    }
    written = []
    for v, path in paths_for(spec, root).items():
        if not force and chash and store.is_complete(path, chash):
            written.append(path)
            continue
        written.append(store.store(path, base | {"variant": v, "row": entry.row_id(v)}))
    return RunOutcome(spec, "error", written, f"{stage}: {err_type}: {message}")


# --- the public entry point -------------------------------------------------------------------


def run_parallel(
    specs: list[RunSpec],
    root: Path,
    *,
    force: bool = False,
    jobs: int = 2,
    progress: bool = True,
    executor: str = "local",
    address: str | None = None,
    retries: int = 0,
    cpus_per_task: int = 1,
    gpus_per_task: float = 0,
    ship: str = "auto",
) -> list[RunOutcome]:
    """Execute ``specs`` in parallel; outcomes come back in the order of ``specs``.

    local: ``jobs`` spawned worker processes, torch threads = cores // jobs each.
    ray: one Ray task per spec (``num_cpus=cpus_per_task``, ``num_gpus=gpus_per_task``) on the
    cluster at ``address`` (a local Ray with ``jobs`` x ``cpus_per_task`` CPUs when None);
    ``ship`` says whether recording files go through Ray's object store ("auto": only when a
    node does not hold the identical file). A run whose worker dies is retried ``retries`` times,
    then recorded as an error naming the cause; the other runs go on.
    """
    if executor not in EXECUTORS:
        raise ValueError(f"unknown executor {executor!r}; known: {EXECUTORS}")
    if ship not in SHIP_MODES:
        raise ValueError(f"unknown ship mode {ship!r}; known: {SHIP_MODES}")
    if jobs < 1 or retries < 0:
        raise ValueError(f"jobs must be >= 1 and retries >= 0, got jobs={jobs}, retries={retries}")
    root = Path(root)
    if not specs:
        return []
    report = _Reporter(len(specs), progress)
    try:
        if executor == "ray":
            return _run_ray(specs, root, force, jobs, report, address, retries, cpus_per_task, gpus_per_task, ship)
        return _run_local(specs, root, force, jobs, retries, report)
    finally:
        report.close()


class _Reporter:
    """Progress bar and one line per finished run, as the sequential runner prints them."""

    def __init__(self, total: int, progress: bool) -> None:
        from tqdm import tqdm

        self.bar = tqdm(total=total, desc="runs", disable=not progress, unit="run")
        self.progress = progress

    def __call__(self, out: RunOutcome) -> None:
        from tqdm import tqdm

        self.bar.update(1)
        if self.progress:
            mark = {"ok": "ok", "skipped": "skip", "error": "FAILED"}[out.status]
            tqdm.write(f"[{mark}] {out.spec.label()}" + (f": {out.message}" if out.status == "error" else ""))

    def close(self) -> None:
        self.bar.close()


# --- local worker processes -------------------------------------------------------------------


def _worker_main(conn: Any, threads: int) -> None:
    """A worker: run specs sent by the driver until told to stop (or the driver is gone)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the driver decides what an interrupt ends
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))  # finally blocks run
    limit_threads(threads)
    from bench.runner import execute

    while True:
        try:
            job = conn.recv()
        except (EOFError, OSError):
            return
        if job is None:
            return
        wire, root, force = job
        stage = "load-entry"
        try:
            spec = from_wire(wire)
            stage = "execute"
            out = execute(spec, Path(root), force=force)
            reply = ("done", out.status, [str(p) for p in out.paths], out.message)
        except Exception as exc:  # what execute does not record itself (entry import, bad config)
            reply = ("failed", stage, type(exc).__name__, str(exc), traceback.format_exc())
        try:
            conn.send(reply)
        except (BrokenPipeError, OSError):
            return


@dataclass
class _Worker:
    proc: Any
    conn: Any
    index: int | None = None  # spec in flight


def _run_local(specs: list[RunSpec], root: Path, force: bool, jobs: int, retries: int, report: Callable) -> list[RunOutcome]:
    import multiprocessing as mp
    from multiprocessing.connection import wait

    from bench.runner import RunOutcome

    ctx = mp.get_context("spawn")
    threads = thread_budget(jobs)
    wires = [to_wire(s) for s in specs]
    pending = deque(range(len(specs)))
    attempts = [0] * len(specs)
    outcomes: list[RunOutcome | None] = [None] * len(specs)
    workers: list[_Worker] = []

    def start() -> _Worker:
        parent, child = ctx.Pipe()
        with _thread_env(threads):
            proc = ctx.Process(target=_worker_main, args=(child, threads), daemon=True)
            proc.start()
        child.close()
        return _Worker(proc, parent)

    def finish(i: int, out: RunOutcome) -> None:
        outcomes[i] = out
        report(out)

    try:
        workers = [start() for _ in range(min(jobs, len(specs)))]
        while pending or any(w.index is not None for w in workers):
            for w in workers:
                if w.index is None and pending:
                    w.index = pending.popleft()
                    attempts[w.index] += 1
                    w.conn.send((wires[w.index], str(root), force))
            wait([w.conn for w in workers] + [w.proc.sentinel for w in workers])
            alive = []
            for w in workers:
                reply, eof = None, False
                try:
                    if w.conn.poll():
                        reply = w.conn.recv()
                except (EOFError, OSError):
                    eof = True
                if reply is not None and w.index is not None:
                    i, w.index = w.index, None
                    if reply[0] == "done":
                        finish(i, RunOutcome(specs[i], reply[1], [Path(p) for p in reply[2]], reply[3]))
                    else:
                        _, stage, etype, msg, tb = reply
                        finish(i, record_failure(specs[i], root, stage, etype, msg, tb, force))
                if not eof and w.proc.is_alive():
                    alive.append(w)
                    continue
                w.proc.join(5)
                w.conn.close()
                if w.index is not None:  # died with a run in flight
                    i = w.index
                    if attempts[i] <= retries:
                        pending.appendleft(i)
                    else:
                        tries = f" (after {attempts[i]} attempts)" if attempts[i] > 1 else ""
                        msg = f"{death_cause(w.proc.exitcode)} while running {specs[i].label()}{tries}"
                        finish(i, record_failure(specs[i], root, "worker", "WorkerDied", msg, force=force))
            workers = alive + [start() for _ in range(min(jobs - len(alive), len(pending)))]
    finally:
        _stop(workers)
    return outcomes  # type: ignore[return-value]


def _stop(workers: list[_Worker]) -> None:
    """Idle workers are told to stop; busy ones (interrupt) are terminated."""
    for w in workers:
        with contextlib.suppress(OSError, ValueError):
            if w.index is None and w.proc.is_alive():
                w.conn.send(None)
            elif w.proc.is_alive():
                w.proc.terminate()
    deadline = time.monotonic() + 10
    for w in workers:
        w.proc.join(max(0.1, deadline - time.monotonic()))
        if w.proc.is_alive():
            w.proc.kill()
            w.proc.join(5)


# --- shared by the Ray path: execute into a private store, return the payloads ------------------


def file_digest(path: str | Path) -> str:
    h = hashlib.md5()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 22), b""):
            h.update(chunk)
    return h.hexdigest()


def execute_remote(wire: WireSpec, force: bool = False, fetch: Callable[[], bytes] | None = None, digest: str | None = None) -> dict:
    """Run one spec where the result store is not visible; return what the driver should store.

    ``fetch`` returns the recording's bytes when they were shipped: they are written once into
    this machine's cache (by ``digest``) and read from there. Returns {"status", "message",
    "payloads": {path relative to the store: payload}, "host", "data"}.
    """
    import socket

    from bench import results as store
    from bench.paths import cache_dir
    from bench.runner import execute

    spec = from_wire(wire)
    where = "path"
    if fetch is not None:
        local = cache_dir() / "shipped" / (digest or "nodigest") / spec.ref.path.name
        if not (local.is_file() and digest and file_digest(local) == digest):
            local.parent.mkdir(parents=True, exist_ok=True)
            tmp = local.with_name(f".{local.name}.{os.getpid()}.tmp")
            tmp.write_bytes(fetch())
            os.replace(tmp, local)
        spec = dataclasses.replace(spec, ref=dataclasses.replace(spec.ref, path=local))
        where = "shipped"
    with tempfile.TemporaryDirectory(prefix="bench-remote-") as tmp_root:
        out = execute(spec, Path(tmp_root), force=True)
        payloads = {str(p.relative_to(tmp_root)): store.read(p) for p in out.paths}
    return {"status": out.status, "message": out.message, "payloads": payloads, "host": socket.gethostname(), "data": where}


def store_remote(spec: RunSpec, root: Path, result: dict, force: bool = False) -> RunOutcome:
    """Driver side of ``execute_remote``: store the payloads (completed results are kept)."""
    from bench import results as store
    from bench.runner import RunOutcome

    written = []
    for rel, payload in result["payloads"].items():
        path = Path(root) / rel
        if not force and store.is_complete(path, payload.get("config_hash", "")):
            written.append(path)
            continue
        written.append(store.store(path, payload))
    return RunOutcome(spec, result["status"], written, result["message"])


# --- Ray ----------------------------------------------------------------------------------------


def _ray_task(wire: WireSpec, force: bool, shipped: list | None, digest: str | None, threads: int) -> dict:
    """Body of one Ray task (``shipped`` is a list so Ray does not fetch the bytes unasked)."""
    limit_threads(threads)
    fetch = None
    if shipped:
        import ray

        def fetch() -> bytes:
            return ray.get(shipped[0])

    try:
        return execute_remote(wire, force, fetch, digest)
    except Exception as exc:  # entry import, bad config: the driver records it
        return {"failed": ("remote", type(exc).__name__, str(exc), traceback.format_exc())}


def _probe_files(expected: dict[str, tuple[int, str]]) -> dict[str, bool]:
    """On one node: which files exist there with the driver's size and digest."""
    seen = {}
    for path, (size, digest) in expected.items():
        p = Path(path)
        seen[path] = p.is_file() and p.stat().st_size == size and file_digest(p) == digest
    return seen


def _ship_plan(ray: Any, paths: list[Path], mode: str) -> dict[str, tuple[Any, str]]:
    """Recording files to send through the object store: {path: (object ref, md5)}."""
    files = sorted({str(p) for p in paths if Path(p).is_file()})
    if mode == "never" or not files:
        return {}
    expected = {p: (Path(p).stat().st_size, file_digest(p)) for p in files}
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


def _run_ray(specs: list[RunSpec], root: Path, force: bool, jobs: int, report: Callable, address: str | None,
             retries: int, cpus_per_task: int, gpus_per_task: float, ship: str) -> list[RunOutcome]:
    try:
        import ray
    except ImportError as exc:
        raise RuntimeError("--executor ray needs Ray: pip install 'ray>=2.9' (or the 'ray' extra of bench)") from exc
    from bench import results as store
    from bench.runner import RunOutcome, config_for, identity_payload, paths_for

    started_here = not ray.is_initialized()
    if started_here and address:
        ray.init(address=address)
    elif started_here:
        ray.init(num_cpus=jobs * cpus_per_task if jobs > 1 else None, include_dashboard=False)
    outcomes: list[RunOutcome | None] = [None] * len(specs)
    todo = []
    for i, spec in enumerate(specs):  # the driver skips what is complete: nothing is shipped for it
        paths = paths_for(spec, root)
        chash = store.config_hash(identity_payload(spec, config_for(spec)))
        if not force and all(store.is_complete(p, chash) for p in paths.values()):
            outcomes[i] = RunOutcome(spec, "skipped", list(paths.values()), "already complete")
            report(outcomes[i])
        else:
            todo.append(i)
    pending: list = []
    try:
        shipped = _ship_plan(ray, [specs[i].ref.path for i in todo], ship)
        task = ray.remote(_ray_task).options(num_cpus=cpus_per_task, num_gpus=gpus_per_task, max_retries=retries, retry_exceptions=False)
        index = {}
        for i in todo:
            ref_digest = shipped.get(str(specs[i].ref.path))
            obj = [ref_digest[0]] if ref_digest else None
            ref = task.remote(to_wire(specs[i]), force, obj, ref_digest[1] if ref_digest else None, max(1, cpus_per_task))
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
