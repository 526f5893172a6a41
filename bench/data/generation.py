"""Run the synthetic generators for the sessions that are missing: in parallel, with a progress bar.

Generating a default session is CPU-bound numpy work of a few seconds. ``generate_all`` runs one
job per session in worker processes when there is enough work to pay for starting them, else in
this process, and shows one tqdm bar on stderr that names what is being generated
(``BENCH_PROGRESS=0`` hides it). ``BENCH_SYNTH_JOBS`` sets the number of worker processes
(default: up to 2, never more than the CPUs).

A worker is a fresh interpreter (``python -c``, importing this bench) that reads one pickled job
from stdin and writes its pickled result to stdout: unlike multiprocessing's ``spawn`` it never
re-runs the caller's main script, and unlike ``fork`` it is safe whatever threads the caller runs.
"""

from __future__ import annotations

import importlib
import os
import pickle
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")
MIN_POOL_WORK = 4.0  # estimated seconds of work below which the jobs run in this process


def show_progress() -> bool:
    return os.environ.get("BENCH_PROGRESS", "1") != "0"


def n_workers(n_jobs: int) -> int:
    env = os.environ.get("BENCH_SYNTH_JOBS")
    if env:
        try:
            wanted = int(env)
        except ValueError:
            raise ValueError(f"BENCH_SYNTH_JOBS must be a whole number >= 1, got {env!r}") from None
        if wanted < 1:
            raise ValueError(f"BENCH_SYNTH_JOBS must be a whole number >= 1, got {env!r}")
    else:
        wanted = 2
    return max(1, min(wanted, os.cpu_count() or 1, n_jobs))


def generate_all(
    job: Callable[[T], Any],
    items: Sequence[T],
    *,
    what: str,
    label: Callable[[T], str],
    cost_s: Callable[[T], float] = lambda item: 1.0,
) -> list[Any]:
    """``[job(item) for item in items]``, in worker processes when the work is large enough.

    ``what`` names the kind of session on the bar ("synthetic grasp sessions"), ``label(item)``
    the session, ``cost_s(item)`` an estimate of its seconds (decides whether a pool pays off).
    ``job`` must be a module-level function (it is pickled by name).
    """
    from tqdm import tqdm

    items = list(items)
    if not items:
        return []
    workers = n_workers(len(items))
    bar = tqdm(total=len(items), desc=f"generating {what}", unit="session", file=sys.stderr,
               disable=not show_progress(), leave=True)
    results: list[Any] = [None] * len(items)
    try:
        if workers == 1 or sum(cost_s(i) for i in items) < MIN_POOL_WORK:
            for k, item in enumerate(items):
                bar.set_postfix_str(label(item))
                results[k] = job(item)
                bar.update(1)
            return results
        # the longest jobs first, so that the workers finish together
        order = sorted(range(len(items)), key=lambda k: -cost_s(items[k]))
        running: dict[subprocess.Popen, tuple[int, Any]] = {}
        try:
            while order or running:
                while order and len(running) < workers:
                    k = order.pop(0)
                    running[_start(job, items[k])] = (k, None)
                    bar.set_postfix_str(", ".join(label(items[i]) for i, _ in running.values()))
                for proc in list(running):
                    if proc.poll() is None:
                        continue
                    k, _ = running.pop(proc)
                    results[k] = _finish(proc, label(items[k]))
                    bar.set_postfix_str(f"{label(items[k])} done")
                    bar.update(1)
                time.sleep(0.02)
        finally:
            for proc in running:  # an error or Ctrl-C: stop what is still running
                proc.kill()
                proc.wait()
        return results
    finally:
        bar.close()


def _start(job: Callable, item: Any) -> subprocess.Popen:
    """A worker interpreter running ``job(item)``; its stdout/stderr go to temp files."""
    payload = pickle.dumps((job.__module__, job.__qualname__, item))
    repo = str(Path(__file__).resolve().parents[2])  # this bench, whatever the worker's cwd holds
    code = f"import sys; sys.path.insert(0, {repo!r}); from bench.data.generation import _worker_main; _worker_main()"
    out, err = tempfile.TemporaryFile(), tempfile.TemporaryFile()
    proc = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=out, stderr=err)
    proc._bench_io = (out, err)  # type: ignore[attr-defined]
    proc.stdin.write(payload)
    proc.stdin.close()
    return proc


def _finish(proc: subprocess.Popen, what: str) -> Any:
    out, err = proc._bench_io  # type: ignore[attr-defined]
    try:
        out.seek(0)
        err.seek(0)
        if proc.returncode != 0:
            tail = err.read().decode(errors="replace").strip().splitlines()[-12:]
            raise RuntimeError(f"generating {what} failed in its worker process (exit code "
                               f"{proc.returncode}):\n" + "\n".join(tail))
        return pickle.loads(out.read())
    finally:
        out.close()
        err.close()


def _worker_main() -> None:
    module, name, item = pickle.loads(sys.stdin.buffer.read())
    job = importlib.import_module(module)
    for part in name.split("."):
        job = getattr(job, part)
    result = job(item)
    sys.stdout.buffer.write(pickle.dumps(result))
