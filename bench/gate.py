"""CI R2 gate: every registered row, trained in its quick configuration on one small synthetic
session per task with seed 0, must score no more than TOLERANCE below its committed reference.

    python -m bench gate            # compare (exit 1 on a regression or a missing reference)
    python -m bench gate --update   # rewrite tests/gate_reference.json deliberately

CPU runs are deterministic for a seed, so on one machine the figures repeat exactly; the
tolerance absorbs floating-point differences between machines and library builds.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

from bench import paths
from bench import results as store

REFERENCE = paths.REPO_ROOT / "tests" / "gate_reference.json"
TOLERANCE = 0.03  # absolute, in units of the task's primary metric (R2 or accuracy)
SEED = 0


def gate_recordings() -> dict:
    """One small synthetic recording per task (written once into the cache)."""
    from bench.data.recording import RecordingRef

    root = paths.cache_dir() / "gate"
    root.mkdir(parents=True, exist_ok=True)
    refs = {}
    from bench.data.synth_reaching import SynthConfig, write_session

    reach = root / "gate_reach.mat"
    if not reach.exists():
        write_session(reach, SynthConfig(name="gate_reach", n_channels=96, duration_s=150.0, seed=2024))
    refs["reaching"] = RecordingRef("gate_reach", reach, True)
    from bench.data.synth_grasp import GraspSynthConfig
    from bench.data.synth_grasp import write_session as write_grasp

    grasp = root / "gate_grasp.neo.mat"
    if not grasp.exists():
        # small but complete: every object with ~8 trials, written by neo itself
        write_grasp(grasp, GraspSynthConfig(name="gate_grasp", n_units=48, n_trials=400, seed=2024), engine="neo")
    refs["grasp-object"] = refs["grasp-phase"] = RecordingRef("gate_grasp", grasp, True)
    return refs


def measure(rows: list[str] | None = None, results_root: Path | None = None) -> dict[str, float | str]:
    """Quick-train every selected row on the gate recordings; row -> primary metric (or error)."""
    from bench import registry
    from bench.execution import RunSpec, execute
    from bench.tasks import get_task

    registry.discover()
    selected = registry.resolve(rows) if rows else [(e, e.variant_names()) for e in registry.entries()]
    refs = gate_recordings()
    out: dict[str, float | str] = {}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(results_root or tmp)
        for entry, variants in selected:
            if entry.task not in refs:
                for v in variants:
                    out[entry.row_id(v)] = f"error: no gate recording for task {entry.task}"
                continue
            spec = RunSpec(entry, list(variants), refs[entry.task], seed=SEED, quick=True, tag="gate")
            outcome = execute(spec, root, force=True, threads=1)
            metric = get_task(entry.task).primary_metric
            for v in variants:
                path = store.result_path(root, "gate", entry.task, entry.row_id(v), spec.ref.name, SEED)
                r = store.read(path, quiet=True)
                err = store.read(store.error_path(path), quiet=True)
                value = (r.get("metrics") or {}).get(metric) if r.get("status") == "ok" and not err else None
                if isinstance(value, (int, float)):
                    out[entry.row_id(v)] = float(value)
                else:
                    e = (err or r).get("error") or {"stage": "run", "message": outcome.message or f"no {metric} stored"}
                    out[entry.row_id(v)] = f"error: {e.get('stage')}: {e.get('message')}"
    return out


def load_reference() -> dict:
    if not REFERENCE.exists():
        return {}
    return json.loads(REFERENCE.read_text())


def check(measured: dict, reference: dict, tolerance: float = TOLERANCE) -> list[str]:
    """Problems: regressions beyond tolerance, errors, rows without a reference."""
    problems = []
    refs = reference.get("rows", {})
    for row, value in sorted(measured.items()):
        if isinstance(value, str):
            problems.append(f"{row}: {value}")
        elif row not in refs:
            problems.append(f"{row}: no reference figure (run `python -m bench gate --update` and commit tests/gate_reference.json)")
        elif value < refs[row] - tolerance:
            problems.append(f"{row}: {value:.4f} fell more than {tolerance} below the reference {refs[row]:.4f}")
    return problems


def gate_command(rows: list[str] | None = None, update: bool = False) -> int:
    measured = measure(rows)
    reference = load_reference()
    for row, value in sorted(measured.items()):
        ref = reference.get("rows", {}).get(row)
        shown = f"{value:.4f}" if isinstance(value, float) else value
        print(f"{row:<24} {shown:<12} reference {ref if ref is not None else '—'}")
    if update:
        bad = {r: v for r, v in measured.items() if isinstance(v, str)}
        if bad:
            print(f"not updating: {len(bad)} rows failed", file=sys.stderr)
            return 1
        rows_ref = dict(reference.get("rows", {}))
        rows_ref.update(measured)
        payload = {"tolerance": TOLERANCE, "seed": SEED, "note": "quick configs on the gate sessions; update with `python -m bench gate --update`", "versions": {k: store.provenance()[k] for k in ("torch", "neurobench", "snntorch")}, "rows": rows_ref}
        REFERENCE.write_text(json.dumps(payload, indent=1, sort_keys=True) + "\n")
        print(f"wrote {REFERENCE}")
        return 0
    problems = check(measured, reference)
    for p in problems:
        print(f"GATE: {p}", file=sys.stderr)
    return 1 if problems else 0
