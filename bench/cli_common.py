"""Options shared by the commands that train and evaluate (run, sweep, tune)."""

from __future__ import annotations

import argparse
from pathlib import Path

from bench import paths


def add_run_options(p: argparse.ArgumentParser, seeds_default: tuple[int, ...] = (0,)) -> None:
    """--recording, --seeds, --data-dir, --results, --device, --quick, --force, --jobs, --prime."""
    p.add_argument("--recording", "-r", nargs="+", metavar="NAME", help="recordings to use (default: all of the task)")
    p.add_argument("--seeds", nargs="+", type=int, default=list(seeds_default), metavar="N", help="seeds (default: %(default)s)")
    p.add_argument("--data-dir", type=Path, help="folder with real recordings; without it the synthetic default sessions are used")
    p.add_argument("--results", type=Path, default=None, help="result store (default: results/)")
    p.add_argument("--device", default="cpu", choices=["cpu", "cuda"], help="torch device (default: cpu)")
    p.add_argument("--quick", action="store_true", help="few epochs (smoke runs, CI); stored under the 'quick' tag")
    p.add_argument("--force", action="store_true", help="re-run runs that are already complete")
    p.add_argument("--jobs", "-j", type=int, default=1, help="parallel local processes (default: 1)")
    p.add_argument("--prime", action="store_true", help="prime the test windows with the samples before the test split (default: NeuroBench's zero start)")
    p.add_argument("--threads", type=int, default=1, help="torch threads of a sequential run (default 1: fastest for these small models; --jobs sets its own)")
    p.add_argument("--input-mode", default="binary", choices=["binary", "counts"], help="reaching inputs: NeuroBench's binary bins or spike counts")


def results_root(args: argparse.Namespace) -> Path:
    return Path(args.results) if getattr(args, "results", None) else paths.results_dir()


def recordings_for(task_name: str, args: argparse.Namespace):
    """RecordingRefs of a task from --recording / --data-dir (synthetic default without)."""
    from bench.tasks import get_task

    return get_task(task_name).recordings(getattr(args, "recording", None), getattr(args, "data_dir", None))


def tag_for(args: argparse.Namespace, base: str = "leaderboard") -> str:
    """Result namespace of a command: ``base``, or its quick twin with --quick."""
    if not getattr(args, "quick", False):
        return base
    return "quick" if base == "leaderboard" else f"{base}-quick"
