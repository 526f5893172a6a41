"""Local worker processes (``--jobs N``): spawned, one run at a time each.

Specs travel as plain values (:class:`WireSpec`): an entry goes by (name, source file) and a
worker imports that file (bench.registry.load_entry), so entries from folders outside
``baselines``/``submissions`` work too. Workers write results into the store themselves
(atomic writes under folder locks). Each uses ``threads`` torch threads (default 1), so N jobs
never oversubscribe the cores. A worker that dies (killed, out of memory) is detected and its
run recorded as an error naming the cause; ``retries`` re-runs it first.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import pickle
import signal
import sys
import time
import traceback
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bench.execution.runner import RunOutcome, RunSpec

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
    registered = registry._REGISTRY.get(spec.entry.name)
    if registered != spec.entry:  # a modified entry: ship it whole (its functions must be importable)
        try:
            blob = pickle.dumps(spec.entry)
        except (pickle.PicklingError, TypeError, AttributeError) as exc:
            raise ValueError(f"{spec.entry.source}: entry {spec.entry.name!r} differs from the registered one and "
                             f"cannot be sent to a worker ({exc}); vary it through RunSpec.overrides instead") from exc
    return WireSpec(spec.entry.name, spec.entry.source, fields, blob)


def from_wire(wire: WireSpec) -> RunSpec:
    from bench.execution.runner import RunSpec
    from bench.registry import load_entry

    entry = load_entry(wire.entry, wire.source)  # imports the module a shipped entry refers to
    if wire.entry_blob:
        entry = pickle.loads(wire.entry_blob)
    return RunSpec(entry=entry, **wire.fields)


# --- threads, failures ------------------------------------------------------------------------


def available_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def thread_budget(jobs: int, cores: int | None = None, threads: int = 1) -> int:
    """Torch threads per worker: ``threads`` (default 1), never more than the worker's share of
    the cores, so two threads never spin against one busy core."""
    return max(1, min(int(threads), (cores or available_cores()) // max(1, jobs)))


def limit_threads(n: int) -> None:
    """Set this process's BLAS/OpenMP and torch thread counts to ``n``."""
    for var in THREAD_VARS:
        os.environ[var] = str(n)
    import torch

    torch.set_num_threads(n)
    with contextlib.suppress(RuntimeError):  # only settable before the first parallel region
        torch.set_num_interop_threads(n)


@contextlib.contextmanager
def thread_env(n: int) -> Iterator[None]:
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


# --- the pool ---------------------------------------------------------------------------------


def _worker_main(conn: Any, threads: int) -> None:
    """A worker: run specs sent by the driver until told to stop (or the driver is gone)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the driver decides what an interrupt ends
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))  # finally blocks run
    limit_threads(threads)
    from bench.execution.runner import execute

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
            out = execute(spec, Path(root), force=force, threads=threads)
            reply = ("done", out.status, [str(p) for p in out.paths], out.message, out.warnings, out.store_error)
        except Exception as exc:  # what execute does not record itself (entry import)
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


def run_local(specs: list[RunSpec], root: Path, force: bool, jobs: int, retries: int, report: Callable, threads: int = 1) -> list[RunOutcome]:
    """Run ``specs`` on ``jobs`` spawned workers; outcomes in the order of ``specs``."""
    import multiprocessing as mp
    from multiprocessing.connection import wait

    from bench.execution.runner import RunOutcome, record_failure

    ctx = mp.get_context("spawn")
    threads = thread_budget(jobs, threads=threads)
    wires = [to_wire(s) for s in specs]
    pending = deque(range(len(specs)))
    attempts = [0] * len(specs)
    outcomes: list[RunOutcome | None] = [None] * len(specs)
    workers: list[_Worker] = []

    def start() -> _Worker:
        parent, child = ctx.Pipe()
        with thread_env(threads):
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
                        _, status, paths, message, warnings, store_error = reply
                        finish(i, RunOutcome(specs[i], status, [Path(p) for p in paths], message, warnings, store_error))
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
        stop(workers)
    return outcomes  # type: ignore[return-value]


def stop(workers: list[_Worker]) -> None:
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
