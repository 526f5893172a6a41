"""bench's execution core: plan runs against the store, then dispatch them.

    run_all(specs, root, executor="local" | "ray", jobs=1, ...) -> list[RunOutcome]

- ``runner``    RunSpec; ``check`` (the one skip check), ``record`` (the one record builder),
                ``execute`` (one run, isolated, every failure recorded)
- ``identity``  what decides a result's numbers (entry, config, data, reader, evaluation)
- ``isolation`` clean process state per run; read-only recordings
- ``local``     spawned worker pool (``--jobs N``)
- ``ray``       Ray tasks (``--executor ray``)

Before anything trains, :func:`run_all` proves the store writable and says how many runs it
re-uses (same identity as a stored result), how many it runs and why, and how to re-run.
"""

from __future__ import annotations

import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from bench import results as store
from bench.execution.runner import (
    WEIGHTS_VARIANT,
    Check,
    RunOutcome,
    RunSpec,
    check,
    config_for,
    execute,
    paths_for,
    plan,
    record_failure,
)

EXECUTORS = ("local", "ray")


class Interrupted(KeyboardInterrupt):
    """Ctrl-C during a sweep; its message says what was kept and how to resume."""

__all__ = ["run_all", "check_all", "StorePlan", "RunSpec", "RunOutcome", "plan", "execute", "check", "config_for",
           "paths_for", "record_failure", "WEIGHTS_VARIANT", "EXECUTORS", "Interrupted"]


@dataclass
class StorePlan:
    """What the store holds for a list of specs: which to re-use, run, or refuse, and why."""

    checks: list[Check]
    reuse: list[int] = field(default_factory=list)
    run: list[int] = field(default_factory=list)
    refused: dict[int, str] = field(default_factory=dict)
    why: Counter = field(default_factory=Counter)  # reason -> specs to run for it
    problems: list[str] = field(default_factory=list)  # unreadable files at planned paths

    def summary(self, force: bool = False) -> str:
        total = len(self.checks)
        lines = []
        if force:
            lines.append(f"{total} runs: {len(self.run)} to run (--force: stored results are replaced; "
                         "an error never replaces a completed result)")
        else:
            why = "; ".join(f"{reason}: {n}" for reason, n in self.why.most_common())
            lines.append(f"{total} runs: {len(self.reuse)} re-used (same identity as their stored result), "
                         f"{len(self.run)} to run" + (f" ({why})" if why else ""))
            if self.reuse:
                lines.append("  re-used results are not trained again; add --force to re-run them too")
        if self.refused:
            lines.append(f"  {len(self.refused)} refused:")
            lines += [f"    {msg}" for msg in sorted(set(self.refused.values()))]
        lines += [f"  note: {p}" for p in self.problems]
        return "\n".join(lines)


def _category(reason: str) -> str:
    return "with unreadable result files" if reason.startswith("unreadable result file") else reason


def check_all(specs: list[RunSpec], root: Path, force: bool = False) -> StorePlan:
    """The one skip check over every spec; two specs mapping to one file are refused."""
    checks = [check(s, root, force) for s in specs]
    out = StorePlan(checks)
    owner: dict[Path, int] = {}
    for i, chk in enumerate(checks):
        if not chk.refused:
            for path in chk.paths.values():
                j = owner.setdefault(path, i)
                if j != i and runner_key(specs[j]) != runner_key(specs[i]):
                    chk.refused = f"{specs[i].label()} and {specs[j].label()} map to one result file {path}"
        if chk.refused:
            out.refused[i] = chk.refused
        elif chk.done:
            out.reuse.append(i)
        else:
            out.run.append(i)
            first = next(r for v, r in chk.reasons.items() if not chk.complete.get(v))
            out.why[_category(first)] += 1
            out.problems += [r for r in chk.reasons.values() if r.startswith("unreadable result file")]
    return out


def _timing_seconds(path: Path) -> tuple[float, float] | None:
    """(shared load + training seconds, the rest) of the result stored at ``path``, or None."""
    rec = store.read(path, quiet=True)
    timing = rec.get("timing") if isinstance(rec, dict) else None
    if not isinstance(timing, dict):
        return None
    vals = {k: v for k, v in timing.items() if isinstance(v, (int, float))}
    return vals.get("load_s", 0.0) + vals.get("train_s", 0.0), sum(v for k, v in vals.items() if k not in ("load_s", "train_s"))


def stored_seconds(chk: Check, root: Path | None = None, base: Path | None = None) -> float | None:
    """Wall seconds the result(s) stored at a run's paths took (any identity), or None.

    ``base``: read the same relative paths under another store (``root`` is the run's store);
    where a recording is missing there, the same entry's mean over the recordings it holds."""
    total, shared = 0.0, None
    for path in chk.paths.values():
        if base is not None:
            try:
                path = base / path.relative_to(root)
            except ValueError:
                return None
        got = _timing_seconds(path)
        if got is None and base is not None:  # another recording of the same entry, seed and tag
            others = [t for t in (_timing_seconds(p) for p in sorted(path.parent.parent.glob(f"*/{path.name}"))[:8]) if t]
            got = (sum(t[0] for t in others) / len(others), sum(t[1] for t in others) / len(others)) if others else None
        if got is None:
            return None
        shared = got[0] if shared is None else shared
        total += got[1]
    return None if shared is None else shared + total


def expected_seconds(checks: list[Check], root: Path) -> list[float | None]:
    """Per run: its own stored timing, else the committed reference store's (``results/`` of the
    repository: the same run, or the same entry's mean over recordings), else None."""
    from bench.paths import REPO_ROOT

    reference = REPO_ROOT / "results"
    own = [stored_seconds(c) for c in checks]
    if Path(root).resolve() == reference.resolve():
        return own
    return [t if t is not None else stored_seconds(c, Path(root), reference) for c, t in zip(checks, own)]


def estimate_line(seconds: list[float | None], jobs: int) -> str:
    """'estimated time' of the runs to do from what each took when last stored (``expected_seconds``:
    here, or in the committed reference store; None where unknown)."""
    known = [t for t in seconds if t is not None]
    if not known:
        return f"  estimated time: unknown (no earlier result of these {len(seconds)} runs is stored)"
    mean = sum(known) / len(known)
    total = (sum(known) + mean * (len(seconds) - len(known))) / max(1, min(jobs, len(seconds)))
    guess = f" ({len(seconds) - len(known)} of them never stored: counted at the mean)" if len(known) < len(seconds) else ""
    return f"  estimated time: about {int(total // 60)} min {int(total % 60):02d} s with {jobs} job(s), from the stored timings of earlier runs{guess}"


def longest_first(todo: list[int], seconds) -> list[int]:
    """``todo`` ordered by expected time, longest first (a pool then ends with short runs, not
    with one long run on one worker); unknown times count as the mean; ties keep their order."""
    known = [seconds[i] for i in todo if seconds[i] is not None]
    mean = sum(known) / len(known) if known else 0.0
    return sorted(todo, key=lambda i: -(seconds[i] if seconds[i] is not None else mean))


def runner_key(spec: RunSpec) -> tuple:
    return (spec.entry.name, spec.ref.name, spec.seed, spec.tag, repr(sorted(spec.overrides.items())), repr(sorted(spec.load_options.items())))


def probe_store(root: Path, checks: list[Check]) -> None:
    """StoreError unless the store root and every existing folder a run will write into take a
    file (so a read-only or full store is found before anything trains)."""
    store.probe_writable(root)
    folders = set()
    for chk in checks:
        for path in chk.paths.values():
            d = path.parent
            while not d.exists() and d != d.parent:
                d = d.parent
            folders.add(d)
    for d in sorted(folders - {Path(root)}):
        store.probe_writable(d)


class _Reporter:
    """Progress bar, one line per finished run, and the store watch: a run that could not be
    stored stops the sweep when the store is no longer writable."""

    def __init__(self, total: int, progress: bool, root: Path, stream: TextIO) -> None:
        from tqdm import tqdm

        self.bar = tqdm(total=total, desc="runs", disable=not progress, unit="run", file=sys.stderr)
        self.progress, self.root, self.stream, self.finished = progress, root, stream, 0

    def __call__(self, out: RunOutcome) -> None:
        from tqdm import tqdm

        self.bar.update(1)
        self.finished += 1
        if self.progress:
            mark = {"ok": "ok", "skipped": "skip", "error": "FAILED"}[out.status]
            tqdm.write(f"[{mark}] {out.spec.label()}" + (f": {out.message}" if out.status == "error" else ""), file=self.stream)
            for w in out.warnings:
                tqdm.write(f"       warning: {w}", file=self.stream)
        if out.store_error:
            try:
                store.probe_writable(self.root)
            except store.StoreError as exc:
                raise store.StoreError(f"{exc}; stopped after {self.finished} runs: completed results are kept, "
                                       "run the same command again once the store can be written") from None

    def close(self) -> None:
        self.bar.close()


def run_all(specs: list[RunSpec], root: Path, *, executor: str = "local", jobs: int = 1, force: bool = False,
            retries: int = 0, progress: bool = True, threads: int = 1, address: str | None = None,
            cpus_per_task: int = 1, gpus_per_task: float = 0, ship: str = "auto", stream: TextIO | None = None) -> list[RunOutcome]:
    """Check ``specs`` against the store at ``root``, say what will happen, run what is missing.

    executor "local": in this process (``jobs`` = 1) or ``jobs`` spawned workers; "ray": Ray
    tasks. Every run uses ``threads`` torch threads (default 1). Outcomes come back in the order
    of ``specs``. A StoreError (store not writable, before or during the sweep) and a
    KeyboardInterrupt stop it; completed results are kept either way.
    """
    if executor not in EXECUTORS:
        raise ValueError(f"unknown executor {executor!r}; known: {EXECUTORS}")
    if jobs < 1 or retries < 0 or threads < 1:
        raise ValueError(f"jobs and threads must be >= 1 and retries >= 0, got jobs={jobs}, threads={threads}, retries={retries}")
    stream = stream or sys.stdout
    if not specs:
        return []
    root = Path(root)
    sp = check_all(specs, root, force)
    probe_store(root, sp.checks)
    # expected time of each run to do (re-used runs read nothing)
    seconds = dict(zip(sp.run, expected_seconds([sp.checks[i] for i in sp.run], root)))
    if progress:
        print(sp.summary(force), file=stream, flush=True)
        if sp.run:
            print(estimate_line(list(seconds.values()), jobs if executor == "local" else 1), file=stream, flush=True)
    outcomes: list[RunOutcome | None] = [None] * len(specs)
    for i in sp.reuse:
        outcomes[i] = RunOutcome(specs[i], "skipped", list(sp.checks[i].paths.values()), "already complete")
    for i, msg in sp.refused.items():
        outcomes[i] = RunOutcome(specs[i], "error", [], f"refused: {msg}")
    # a pool takes the longest runs first; specs sharing a training stay in their order
    reorder = jobs > 1 and not any(specs[i].share_training for i in sp.run)
    todo = longest_first(sp.run, seconds) if reorder else sp.run
    report = _Reporter(len(todo), progress, root, stream)
    try:
        if executor == "ray":
            from bench.execution.ray import run_ray

            done = run_ray([specs[i] for i in todo], root, force, jobs, report, address, retries, cpus_per_task, gpus_per_task, ship, threads)
        elif jobs > 1 and len(todo) > 1:
            from bench.execution.local import run_local

            done = run_local([specs[i] for i in todo], root, force, jobs, retries, report, threads)
        else:
            done = []
            for i in todo:
                out = execute(specs[i], root, force=force, threads=threads)
                done.append(out)
                report(out)
    except KeyboardInterrupt:
        raise Interrupted(f"interrupted after {report.finished} of {len(todo)} runs: completed results are stored; "
                          "run the same command again to resume (completed runs are re-used)") from None
    finally:
        report.close()
    for i, out in zip(todo, done):
        outcomes[i] = out
    return outcomes  # type: ignore[return-value]
