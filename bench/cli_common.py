"""Options shared by the commands that train and evaluate (run, sweep, tune), the argument
types that reject bad numbers in the parser, and the recording selection across tasks."""

from __future__ import annotations

import argparse
import difflib
import math
import sys
from pathlib import Path

from bench import paths

SEED_MAX = 2**32 - 1  # numpy's seed range


# --- argument types: a bad value is a parser error naming the allowed range ------------------


def int_range(lo: int | None = None, hi: int | None = None, what: str = "value"):
    """An argparse type: an integer in [lo, hi]."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{what} must be an integer, got {text!r}") from None
        if (lo is not None and value < lo) or (hi is not None and value > hi):
            allowed = f"{lo}..{hi}" if lo is not None and hi is not None else (f">= {lo}" if lo is not None else f"<= {hi}")
            raise argparse.ArgumentTypeError(f"{what} must be {allowed}, got {value}")
        return value

    parse.__name__ = what  # argparse names the type in its messages
    return parse


def float_range(lo: float, hi: float, *, lo_open: bool = False, hi_open: bool = False, what: str = "value"):
    """An argparse type: a finite float in the interval between lo and hi (bounds open or closed)."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{what} must be a number, got {text!r}") from None
        below = value <= lo if lo_open else value < lo
        above = value >= hi if hi_open else value > hi
        if not math.isfinite(value) or below or above:
            interval = f"{'(' if lo_open else '['}{lo:g}, {hi:g}{')' if hi_open else ']'}"
            raise argparse.ArgumentTypeError(f"{what} must lie in {interval}, got {text}")
        return value

    parse.__name__ = what
    return parse


seed_type = int_range(0, SEED_MAX, "seed")
jobs_type = int_range(1, 1024, "--jobs")
threads_type = int_range(1, 1024, "--threads")
retries_type = int_range(0, 100, "--retries")
positive_int = int_range(1, None, "value")


def positive_float(what: str):
    return float_range(0.0, math.inf, lo_open=True, hi_open=True, what=what)


def data_dir_type(must_exist: bool = True):
    """An argparse type for --data-dir: a folder (a regular file is refused, and a missing
    folder unless it may be created)."""

    def parse(text: str) -> Path:
        p = Path(text).expanduser()
        if p.exists() and not p.is_dir():
            raise argparse.ArgumentTypeError(f"{p} is a file, not a folder (--data-dir takes the folder holding the recordings)")
        if must_exist and not p.exists():
            raise argparse.ArgumentTypeError(f"data folder {p} does not exist")
        return p

    parse.__name__ = "--data-dir"
    return parse


def suggest(name: str, known: list[str], what: str) -> str:
    """``unknown <what> 'x'; did you mean y? (known: ...)``."""
    close = difflib.get_close_matches(name, known, n=3, cutoff=0.5)
    hint = f"; did you mean {', '.join(close)}?" if close else ""
    return f"unknown {what} {name!r}{hint} (known: {', '.join(known)})"


def task_type(text: str) -> str:
    from bench.tasks import TASK_NAMES

    if text not in TASK_NAMES:
        raise argparse.ArgumentTypeError(suggest(text, list(TASK_NAMES), "task"))
    return text


task_type.__name__ = "--task"


# --- shared options --------------------------------------------------------------------------


def add_run_options(p: argparse.ArgumentParser, seeds_default: tuple[int, ...] = (0,)) -> None:
    """--recording, --seeds, --data-dir, --results, --device, --quick, --force, --jobs, --prime."""
    p.add_argument("--recording", "-r", nargs="+", metavar="NAME", help="recordings to use (default: all of the task)")
    p.add_argument("--seeds", nargs="+", type=seed_type, default=list(seeds_default), metavar="N", help=f"seeds, 0..{SEED_MAX} (default: %(default)s)")
    p.add_argument("--data-dir", type=data_dir_type(), help="folder with real recordings; without it the synthetic default sessions are used")
    p.add_argument("--results", type=Path, default=None, help="result store (default: results/)")
    p.add_argument("--device", default="cpu", choices=["cpu", "cuda"], help="torch device (default: cpu)")
    p.add_argument("--quick", action="store_true", help="few epochs (smoke runs, CI), stored under the 'quick' tag; run --quick also uses only the first part of each session (reaches within 120 s, 300 grasp trials)")
    p.add_argument("--force", action="store_true", help="re-run runs whose identical result is already stored")
    p.add_argument("--jobs", "-j", type=jobs_type, default=None, help="parallel local processes, >= 1 (default: one per CPU core)")
    p.add_argument("--prime", action="store_true", help="prime the test windows with the samples before the test split (default: NeuroBench's zero start)")
    p.add_argument("--threads", type=threads_type, default=1, help="torch threads per run, >= 1 (default 1: fastest for these small models; capped at cores / jobs)")
    p.add_argument("--no-latency", action="store_true", help="skip the streaming latency measurement (deployment figures)")
    p.add_argument("--input-mode", default="binary", choices=["binary", "counts"], help="reaching inputs: NeuroBench's binary bins or spike counts")


def jobs_of(args: argparse.Namespace) -> int:
    """--jobs, or one worker per available core (each runs one torch thread, so a busy core
    never makes two threads of one run spin against each other)."""
    if getattr(args, "jobs", None):
        return int(args.jobs)
    from bench.execution.local import available_cores

    return max(1, available_cores())


def results_root(args: argparse.Namespace) -> Path:
    root = Path(args.results) if getattr(args, "results", None) else paths.results_dir()
    if root.exists() and not root.is_dir():
        raise ValueError(f"result store {root} is a file, not a folder (--results)")
    return root


def recordings_for(task_name: str, args: argparse.Namespace):
    """RecordingRefs of one task from --recording / --data-dir (synthetic default without)."""
    from bench.tasks import get_task

    return get_task(task_name).recordings(getattr(args, "recording", None), getattr(args, "data_dir", None))


def recordings_by_task(tasks: list[str], args: argparse.Namespace, stream=None) -> dict[str, list]:
    """RecordingRefs of every task that has the named recordings (or, without names, any
    usable recording in --data-dir); the tasks left out are named on ``stream`` with the
    reason. A named recording no task has, or no recording for any task, is a ValueError."""
    from bench.tasks import get_task

    stream = stream or sys.stderr
    names = getattr(args, "recording", None)
    data_dir = getattr(args, "data_dir", None)
    out: dict[str, list] = {}
    skipped: dict[str, str] = {}
    found: set[str] = set()
    why: dict[str, list[str]] = {}
    for task in tasks:
        t = get_task(task)
        if not names:
            try:
                out[task] = t.recordings(None, data_dir)
            except (ValueError, OSError, KeyError) as exc:
                skipped[task] = str(exc).strip("'\"")
            continue
        refs = []
        for name in names:
            try:
                refs += t.recordings([name], data_dir)
                found.add(name)
            except (ValueError, OSError, KeyError) as exc:
                why.setdefault(name, []).append(f"{task}: {str(exc).strip(chr(34) + chr(39))}")
        if refs:
            out[task] = refs
        else:
            skipped[task] = f"none of {names} is one of its recordings"
    missing = [n for n in names or [] if n not in found]
    if missing:
        detail = "; ".join(f"{n!r}: " + " | ".join(why.get(n, [])) for n in missing)
        raise ValueError(f"recording(s) {missing} not usable by any selected task ({detail})")
    if not out:
        raise ValueError("no recordings for the selected tasks: " + "; ".join(f"{k}: {v}" for k, v in skipped.items()))
    if len(tasks) > 1:
        for task, reason in skipped.items():
            print(f"skipped task {task}: {reason}", file=stream)
    return out


def tag_for(args: argparse.Namespace, base: str = "leaderboard") -> str:
    """Result namespace of a command: ``base``, or its quick twin with --quick."""
    if not getattr(args, "quick", False):
        return base
    return "quick" if base == "leaderboard" else f"{base}-quick"
