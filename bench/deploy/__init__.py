"""Deployment figures of a trained model: measured latency, energy estimate, storage footprint.

The runner makes ONE call per evaluated row, after evaluation::

    payload["deployment"] = deploy.measure(vmodel, data, entry, v, outcome.metrics,
                                           outcome.metric_errors, latency=not no_latency,
                                           max_seconds=deploy.latency_budget(run_s, n_rows))

and ``deploy.checkpoints.save(...)`` beside the result. Each part that fails is recorded under
``errors`` with its message (never a number): a latency whose proof fails, an energy estimate
whose operation counts failed, a storage count that cannot be made.

Modules: ``steppers`` (one streaming step), ``latency``, ``energy``, ``storage``,
``checkpoints``, ``export`` / ``nir_format`` (verified NIR and ONNX files). NeuroBench 2.3's
NeuronOperations and ActivationSparsityByLayer (guarded) live in ``bench.neuron_metrics``, beside
the evaluation that runs them.
"""

from __future__ import annotations

import copy
import traceback

from torch import nn

from bench.deploy import energy as _energy
from bench.deploy.latency import measure_latency
from bench.deploy.storage import storage_footprint

LATENCY_SHARE = 0.08  # of a run's wall time, shared by its rows (the issue allows 10%)


def latency_budget(run_seconds: float, n_rows: int = 1) -> float:
    """Seconds of stepping one row may spend: 8 % of the run's wall time so far, split across
    its rows, so that latency stays under 10 % of a run (steps are capped, never the proof)."""
    return max(0.0, LATENCY_SHARE * float(run_seconds) / max(1, n_rows))


def _error(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}\n" + traceback.format_exc(limit=3)


def measure(model: nn.Module, data, entry, variant: str, metrics: dict, metric_errors: dict | None = None, *,
            latency: bool = True, max_seconds: float = 20.0, energy_table: str | None = None, export: bool = True) -> dict:
    """Latency (unless ``latency=False``), energy estimate, storage footprint and verified
    exports (unless ``export=False``) of one row."""
    out: dict = {}
    errors: dict[str, str] = {}
    if latency:
        try:
            out["latency"] = measure_latency(copy.deepcopy(model).cpu(), data, entry, max_seconds=max_seconds)
        except Exception as exc:
            errors["latency"] = _error(exc)
    else:
        out["latency_skipped"] = "--no-latency"
    table = energy_table or _energy.table_for(variant, model)
    try:
        out["energy"] = _energy.estimate(metrics, entry.task, entry.spiking, table, metric_errors)
    except Exception as exc:
        errors["energy"] = f"{type(exc).__name__}: {exc}"
    try:
        out["storage"] = storage_footprint(model)
    except Exception as exc:
        errors["storage"] = _error(exc)
    if export:  # ONNX / NIR written to a temporary folder and read back on the first test inputs
        try:
            from bench.deploy.export import verify_all

            out["export"] = verify_all(model, data, entry)
        except Exception as exc:
            errors["export"] = _error(exc)
    out["errors"] = errors
    return out
