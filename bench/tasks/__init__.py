"""Tasks: what data an entry is trained and scored on, and with which metrics.

Each task module exposes a ``TASK`` object with:
    name, primary_metric, higher_is_better
    eval_version                                              bump when a metric's definition changes
    recordings(names, data_dir) -> list[RecordingRef]       which recordings to run on
    load(ref, **options) -> recording value                   (cached)
    make_data(recording, entry, cfg, seed, quick, device) -> the entry's training data view
    evaluate(model, data, entry) -> EvalOutcome               NeuroBench metrics + task metrics
"""

from __future__ import annotations

import importlib

from bench.data.recording import RecordingRef  # re-exported: it lives in the data layer

_TASK_MODULES = {
    "reaching": "bench.tasks.reaching",
    "grasp-object": "bench.tasks.grasp",
    "grasp-phase": "bench.tasks.grasp",
}


def __getattr__(name: str):
    """``EvalOutcome`` lives in bench.evaluation (imported on first use: it loads NeuroBench)."""
    if name == "EvalOutcome":
        from bench.evaluation import EvalOutcome

        return EvalOutcome
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


TASK_NAMES = tuple(_TASK_MODULES)
__all__ = ["RecordingRef", "EvalOutcome", "get_task", "TASK_NAMES"]


def get_task(name: str):
    if name not in _TASK_MODULES:
        import difflib

        close = difflib.get_close_matches(str(name), list(_TASK_MODULES), n=1, cutoff=0.5)
        hint = f"; did you mean {close[0]}?" if close else ""
        raise ValueError(f"unknown task {name!r}{hint} (known: {', '.join(_TASK_MODULES)})")
    module = importlib.import_module(_TASK_MODULES[name])
    return module.TASKS[name] if hasattr(module, "TASKS") else module.TASK
