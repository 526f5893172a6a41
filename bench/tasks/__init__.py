"""Tasks: what data an entry is trained and scored on, and with which metrics.

Each task module exposes a ``TASK`` object with:
    name, primary_metric, higher_is_better
    recordings(names, data_dir) -> list[RecordingRef]       which recordings to run on
    load(ref, **options) -> recording value                   (cached)
    make_data(recording, entry, cfg, seed, quick, device) -> the entry's training data view
    evaluate(model, data, entry) -> EvalOutcome               NeuroBench metrics + task metrics
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from pathlib import Path

_TASK_MODULES = {
    "reaching": "bench.tasks.reaching",
    "grasp-object": "bench.tasks.grasp",
    "grasp-phase": "bench.tasks.grasp",
}


@dataclass(frozen=True)
class RecordingRef:
    """A recording to run on: a name, where its file is, and whether it is synthetic."""

    name: str
    path: Path
    synthetic: bool


@dataclass
class EvalOutcome:
    metrics: dict  # metric name -> number or dict of numbers
    metric_errors: dict = field(default_factory=dict)  # metric name -> traceback text
    extra: dict = field(default_factory=dict)  # e.g. confusion matrix, n_test


def get_task(name: str):
    if name not in _TASK_MODULES:
        raise KeyError(f"unknown task {name!r}; known: {sorted(_TASK_MODULES)}")
    module = importlib.import_module(_TASK_MODULES[name])
    return module.TASKS[name] if hasattr(module, "TASKS") else module.TASK
