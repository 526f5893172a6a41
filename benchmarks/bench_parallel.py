"""Wall time of one small sweep run sequentially, with local jobs, and as Ray tasks.

    .venv/bin/python benchmarks/bench_parallel.py [--runs 6] [--jobs 2] [--epochs 4]

The sweep: the test-only ``fault_tiny`` entry (tests/fault_entries) on a small synthetic
reaching file, one spec per seed, each in a fresh result store. Every executor's timing includes
its own start-up (worker processes importing torch, Ray starting its local cluster), which is
what a user pays. The script also checks that every executor produced the same metrics.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--runs", type=int, default=6, help="specs in the sweep (one per seed)")
    p.add_argument("--jobs", type=int, default=2, help="local worker processes / Ray CPUs")
    p.add_argument("--epochs", type=int, default=4, help="training epochs per run")
    p.add_argument("--no-ray", action="store_true", help="skip the Ray executor")
    args = p.parse_args(argv)

    work = Path(tempfile.mkdtemp(prefix="bench-parallel-"))
    os.environ["BENCH_CACHE"] = str(work / "cache")
    os.environ["BENCH_PROGRESS"] = "0"
    from bench.execution import run_all
    from bench.execution.local import available_cores
    from tests.fault_entries import _support as sup

    tiny = sup.tiny_mat(work)
    specs = [sup.spec("fault_tiny", tiny, seed=s, overrides={"epochs": args.epochs}) for s in range(args.runs)]
    run_all([sup.spec("fault_tiny", tiny, seed=999, variants=["base"])], work / "warm", progress=False)  # cache + lazy imports
    executors = {
        "sequential": lambda root: run_all(specs, root, progress=False),
        f"local --jobs {args.jobs}": lambda root: run_all(specs, root, jobs=args.jobs, progress=False),
    }
    try:
        import ray  # noqa: F401

        if not args.no_ray:
            executors["ray (local)"] = lambda root: run_all(specs, root, jobs=args.jobs, executor="ray", progress=False)
    except ImportError:
        print("ray is not installed: skipped")
    print(f"{args.runs} runs x 2 rows (fault_tiny, {args.epochs} epochs, {tiny.name}); {available_cores()} cores")
    reference = None
    for name, run in executors.items():
        root = work / name.split()[0]
        t0 = time.perf_counter()
        outs = run(root)
        wall = time.perf_counter() - t0
        bad = [o.message for o in outs if o.status != "ok"]
        metrics = sup.metrics_by_row(root)
        same = "reference" if reference is None else ("identical" if metrics == reference else "DIFFERENT")
        reference = reference or metrics
        print(f"{name:<18} {wall:7.1f} s   metrics {same}" + (f"   errors: {bad}" if bad else ""))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
