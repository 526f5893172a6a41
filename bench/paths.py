"""Where bench keeps things: caches, results, the shared NeuroBench weights.

Every location can be moved with an environment variable so tests and CI stay hermetic.
"""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent


def cache_dir() -> Path:
    """Root of bench's caches (synthetic sessions, binned recordings). ``BENCH_CACHE`` moves it."""
    env = os.environ.get("BENCH_CACHE")
    root = Path(env) if env else Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "bench"
    if root.exists() and not root.is_dir():
        raise NotADirectoryError(f"bench's cache {root} is a file, not a folder (move it, or set BENCH_CACHE)")
    root.mkdir(parents=True, exist_ok=True)
    return root


def results_dir() -> Path:
    """Default result store: ``results/`` of the repository (``BENCH_RESULTS`` moves it)."""
    env = os.environ.get("BENCH_RESULTS")
    return Path(env) if env else REPO_ROOT / "results"


def neurobench_weights_dir() -> Path:
    """NeuroBench's published primate-reaching weights (``../shared/neurobench-weights``)."""
    env = os.environ.get("BENCH_NB_WEIGHTS")
    if env:
        return Path(env)
    return REPO_ROOT.parent / "shared" / "neurobench-weights" / "primate_reaching"
