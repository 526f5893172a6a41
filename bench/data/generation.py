"""Run the synthetic generators for the sessions that are missing: in parallel, with a progress bar.

Generating a default session is CPU-bound numpy work of a few seconds. ``generate_all`` runs one
job per session in worker processes (``spawn``: safe whatever threads the caller runs) when
there is enough work to pay for starting them, else in this process, and shows one tqdm bar on
stderr that names what is being generated (``BENCH_PROGRESS=0`` hides it). ``BENCH_SYNTH_JOBS``
sets the number of worker processes (default: up to 2, never more than the CPUs).
"""

from __future__ import annotations

import multiprocessing
import os
import sys
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
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
        ctx = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as pool:
            # the longest jobs first, so that the two workers finish together
            order = sorted(range(len(items)), key=lambda k: -cost_s(items[k]))
            running = {pool.submit(job, items[k]): k for k in order}
            bar.set_postfix_str(", ".join(label(items[k]) for k in order[:workers]))
            while running:
                done, _ = wait(running, return_when=FIRST_COMPLETED)
                for fut in done:
                    k = running.pop(fut)
                    results[k] = fut.result()
                    bar.set_postfix_str(f"{label(items[k])} done")
                    bar.update(1)
        return results
    finally:
        bar.close()
