"""Stored results as the reports see them: loaded once, grouped into leaderboard rows, and every
figure looked up by one name.

Aggregation (every table, plot and page): the seeds of a recording are averaged first; a row's
mean ± std is then taken across its recordings (population std, ddof 0). A figure missing for
one seed or recording makes the aggregate missing ("error"), never a smaller average.

Figure names: the metrics bench stores (``R2``, ``Footprint``, ...), the SynapticOperations parts
(``Dense``, ``Effective_MACs``, ``Effective_ACs``), ``ops`` (effective MACs + ACs), other
dictionary metrics as ``Name.part``, ``train_s``, and every number under a result's
``deployment`` record as ``deployment.<path>`` (latency, energy estimates: shown when present).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from bench import results as store
from bench.reports.format import LEADERBOARD_TAG

SYNOPS_PARTS = ("Dense", "Effective_MACs", "Effective_ACs")
MAIN_METRIC = {"reaching": "R2", "grasp-object": "Accuracy", "grasp-phase": "Accuracy"}
TASK_METRICS = {"reaching": ("R2",), "grasp-object": ("Accuracy", "RelaxedAccuracy"), "grasp-phase": ("Accuracy", "F1")}
TASK_ORDER = ("reaching", "grasp-object", "grasp-phase")


def load_results(root: Path, tag: str | None = LEADERBOARD_TAG, task: str | None = None,
                 include_errors: bool = True) -> tuple[list[dict], list[str]]:
    """(results, problems): the stored results of ``tag`` (errors included by default) and one
    line per file the store could not read. Uses the store's own loader; tolerates one that
    returns the records alone."""
    loader = getattr(store, "load_with_problems", None)
    out = loader(root, tag=tag, task=task, include_errors=include_errors) if loader else store.load(root, tag=tag, task=task, include_errors=include_errors)
    records, problems = out if isinstance(out, tuple) else (out, [])
    records = sorted(records, key=lambda r: (str(r.get("task")), str(r.get("row")), str(r.get("recording")), _int(r.get("seed")), str(r.get("_path", ""))))
    return records, sorted(_problem_text(p, root) for p in problems)


def _problem_text(problem, root: Path) -> str:
    """'path relative to the store: what is wrong' (relative, so reports do not depend on where
    the store lies)."""
    path, what = getattr(problem, "path", None), getattr(problem, "problem", None)
    if path is None or what is None:
        return str(problem)
    try:
        path = Path(path).resolve().relative_to(Path(root).resolve())
    except (ValueError, OSError):
        pass
    return f"{path}: {what}"


# Errors a report command turns into one clear line (a missing or unusable store).
STORE_ERRORS: tuple[type[BaseException], ...] = (OSError, getattr(store, "StoreError", OSError))


def _int(v) -> int:
    try:
        return int(v)
    except (TypeError, ValueError):
        return -1


def is_ok(r: dict) -> bool:
    return r.get("status") == "ok"


def is_board_run(r: dict) -> bool:
    """A leaderboard run: not a sweep point (config overrides) unless it is a tuned run."""
    return not r.get("overrides") or str(r.get("tag", "")).startswith("tuned")


# --- one figure of one result ------------------------------------------------------------------


def _number(v) -> float | None:
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return None
    v = float(v)
    return v if np.isfinite(v) else None


def _flatten(prefix: str, obj, out: dict, depth: int = 0) -> None:
    if isinstance(obj, dict) and depth < 4:
        for k in sorted(obj):
            _flatten(f"{prefix}.{k}" if prefix else str(k), obj[k], out, depth + 1)
    elif (v := _number(obj)) is not None:
        out[prefix] = v


def figures_of(r: dict) -> dict[str, float]:
    """Every number of a result under its figure name (see the module docstring); computed once
    per loaded result and kept on it under ``_figures``."""
    cached = r.get("_figures")
    if isinstance(cached, dict):
        return cached
    out: dict[str, float] = {}
    for name, v in sorted((r.get("metrics") or {}).items()):
        if name == "SynapticOperations" and isinstance(v, dict):
            for part in SYNOPS_PARTS:
                if (x := _number(v.get(part))) is not None:
                    out[part] = x
        elif isinstance(v, dict):
            _flatten(name, v, out)
        elif (x := _number(v)) is not None:
            out[name] = x
    if "Effective_MACs" in out and "Effective_ACs" in out:
        out["ops"] = out["Effective_MACs"] + out["Effective_ACs"]
    if (x := _number((r.get("timing") or {}).get("train_s"))) is not None:
        out["train_s"] = x
    if isinstance(r.get("deployment"), dict):
        _flatten("deployment", r["deployment"], out)
    r["_figures"] = out
    return out


def texts_of(r: dict) -> dict[str, str]:
    """The ``label`` strings of a result's deployment record by path (e.g. which energy table
    an estimate used), for the places that show the figure."""
    out: dict[str, str] = {}

    def walk(prefix: str, obj, depth: int) -> None:
        if isinstance(obj, dict) and depth < 4:
            for k in sorted(obj):
                walk(f"{prefix}.{k}", obj[k], depth + 1)
        elif isinstance(obj, str) and prefix.endswith(".label"):
            out[prefix] = obj

    if isinstance(r.get("deployment"), dict):
        walk("deployment", r["deployment"], 0)
    return out


def value(r: dict, name: str) -> float | None:
    return figures_of(r).get(name)


def label_of(r: dict) -> str:
    """'AEGRU', 'AEGRU (pruned)', 'ANN2D (published weights)'."""
    base = r.get("display") or r.get("entry") or r.get("row") or "?"
    v = r.get("variant", "base")
    if v == "base":
        return base
    return f"{base} ({'published weights' if v in ('nbweights', 'published') else v})"


def provenance(r: dict) -> dict[str, str]:
    """Commit, versions and date of a run, as short strings."""
    ver = r.get("versions") or (r.get("identity") or {}).get("versions") or {}
    commit = ver.get("git_commit") or (r.get("identity") or {}).get("git_commit") or "?"
    dirty = " (dirty)" if ver.get("git_dirty") else ""
    return {
        "commit": str(commit)[:10] + dirty,
        "versions": ", ".join(f"{k} {ver[k]}" for k in ("bench", "torch", "snntorch", "neurobench") if ver.get(k)),
        "date": str(r.get("finished") or r.get("started") or "?")[:10],
    }


# --- rows ----------------------------------------------------------------------------------------


@dataclass
class Cell:
    """One recording of one leaderboard row: its seeds' results."""

    recording: str
    runs: list[dict] = field(default_factory=list)

    @property
    def seeds(self) -> list[int]:
        return sorted(_int(r.get("seed")) for r in self.runs)

    def values(self, name: str) -> list[float | None]:
        return [value(r, name) for r in self.runs]

    def mean(self, name: str) -> float | None:
        """Seed mean; None when any seed lacks the figure."""
        vals = self.values(name)
        return float(np.mean(vals)) if vals and all(v is not None for v in vals) else None


@dataclass
class Row:
    """A leaderboard row (entry + variant) on one kind of data (synthetic or real)."""

    task: str
    row: str
    entry: str
    variant: str
    label: str
    kind: str
    synthetic: bool
    cells: dict[str, Cell] = field(default_factory=dict)

    @property
    def recordings(self) -> list[str]:
        return sorted(self.cells)

    def per_recording(self, name: str) -> list[float | None]:
        return [self.cells[rec].mean(name) for rec in self.recordings]

    def stat(self, name: str) -> tuple[float, float] | None:
        """(mean, std) across recordings of the seed means; None when one is missing."""
        vals = self.per_recording(name)
        if not vals or any(v is None for v in vals):
            return None
        a = np.asarray(vals, dtype=float)
        return float(a.mean()), float(a.std(ddof=0))

    def names(self) -> set[str]:
        return {k for c in self.cells.values() for r in c.runs for k in figures_of(r)}

    @property
    def seeds(self) -> list[int]:
        return sorted({s for c in self.cells.values() for s in c.seeds})

    def seed_counts(self) -> list[int]:
        return [len(self.cells[rec].runs) for rec in self.recordings]


def group_rows(results: Iterable[dict], task: str | None = None, synthetic: bool | None = None) -> list[Row]:
    """Completed leaderboard runs grouped into rows, in a stable order (task, row, data kind)."""
    rows: dict[tuple, Row] = {}
    for r in results:
        if not is_ok(r) or not is_board_run(r) or (task and r.get("task") != task):
            continue
        syn = bool(r.get("synthetic"))
        if synthetic is not None and syn != synthetic:
            continue
        key = (r.get("task"), r.get("row"), syn)
        if key not in rows:
            rows[key] = Row(task=str(r.get("task")), row=str(r.get("row")), entry=str(r.get("entry") or r.get("row")),
                            variant=str(r.get("variant", "base")), label=label_of(r), kind=str(r.get("kind", "")), synthetic=syn)
        rows[key].cells.setdefault(str(r.get("recording")), Cell(str(r.get("recording")))).runs.append(r)
    for row in rows.values():
        for c in row.cells.values():
            c.runs.sort(key=lambda x: _int(x.get("seed")))
    return [rows[k] for k in sorted(rows, key=lambda k: (TASK_ORDER.index(k[0]) if k[0] in TASK_ORDER else 99, str(k[0]), str(k[1]), k[2]))]


def ranked(rows: list[Row]) -> list[Row]:
    """Rows by their task's main metric, best first (missing last), ties by label."""
    def key(row: Row):
        s = row.stat(MAIN_METRIC.get(row.task, "R2"))
        return (s is None, -(s[0] if s else 0.0), row.label)

    return sorted(rows, key=key)


def failed_runs(results: Iterable[dict]) -> list[dict]:
    """Stored runs that ended in an error, in store order."""
    return [r for r in results if not is_ok(r)]


def error_line(r: dict) -> tuple[str, str]:
    """(stage, one-line message) of a failed run."""
    err = r.get("error") or {}
    msg = str(err.get("message") or err.get("type") or "error without message").replace("\n", " ")
    return str(err.get("stage", "?")), msg[:200]


def registered_entries() -> tuple[dict[str, list[tuple[str, str, str]]], str]:
    """({task: [(name, display, kind)]}, problem): the registry's entries per task, for listing
    entries without stored results. A registry that fails to load is reported, not raised."""
    from bench import registry

    try:
        registry.discover()
    except Exception as exc:  # noqa: BLE001 - the report still renders, with the reason
        return {}, f"registry could not be loaded: {exc}"
    out: dict[str, list] = defaultdict(list)
    for e in registry.entries():
        out[e.task].append((e.name, e.display or e.name, e.kind))
    return {t: sorted(v) for t, v in out.items()}, ""


def stored_tags(root: Path, prefix: str) -> list[str]:
    """Result namespaces under ``root`` named ``prefix`` or ``prefix-...`` (e.g. the quick twin
    of a sweep), sorted."""
    root = Path(root)
    if not root.is_dir():
        return []
    return sorted(p.name for p in root.iterdir() if p.is_dir() and (p.name == prefix or p.name.startswith(prefix + "-")))
