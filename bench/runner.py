"""The runner: plan (entry, variant, recording, seed) runs, train once, evaluate each variant,
store one result per variant. One failing run never stops the others.
"""

from __future__ import annotations

import copy
import dataclasses
import time
import traceback
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from bench import results as store
from bench.registry import BASE, Entry
from bench.tasks import RecordingRef, get_task
from bench.training import set_seed

WEIGHTS_VARIANT = "nbweights"  # NeuroBench's published weights, evaluated without training


@dataclass
class RunSpec:
    """One training run (all its variants share the trained model)."""

    entry: Entry
    variants: list[str]
    ref: RecordingRef
    seed: int = 0
    quick: bool = False
    device: str = "cpu"
    weights: str | None = None  # "neurobench": evaluate the published weights, no training
    overrides: dict = field(default_factory=dict)  # config overrides (sweeps)
    tag: str = store.LEADERBOARD  # result namespace: leaderboard, quick, sweep-...
    prime: bool = False
    input_mode: str = "binary"
    load_options: dict = field(default_factory=dict)  # extra task.load(...) options

    def label(self) -> str:
        extra = f" {self.overrides}" if self.overrides else ""
        return f"{self.entry.name} [{', '.join(self.variants)}] on {self.ref.name} seed {self.seed}{extra}"

    def rows(self) -> list[str]:
        return [WEIGHTS_VARIANT] if self.weights else list(self.variants)


@dataclass
class RunOutcome:
    spec: RunSpec
    status: str  # "ok" | "error" | "skipped"
    paths: list[Path]
    message: str = ""


def config_for(spec: RunSpec):
    return spec.entry.make_config(quick=spec.quick, **spec.overrides)


def identity_payload(spec: RunSpec, cfg) -> dict:
    return {
        "entry": spec.entry.name,
        "entry_version": spec.entry.version,
        "config": dataclasses.asdict(cfg),
        "weights": spec.weights,
        "prime": spec.prime,
        "input_mode": spec.input_mode,
        "quick": spec.quick,
        "load_options": spec.load_options,
    }


def paths_for(spec: RunSpec, root: Path) -> dict[str, Path]:
    key = {**spec.load_options, **spec.overrides}  # load options (e.g. trainval_share) name the file too
    return {v: store.result_path(root, spec.tag, spec.entry.task, spec.entry.row_id(v), spec.ref.name, spec.seed, key) for v in spec.rows()}


_RECORDINGS: dict[tuple, object] = {}


def load_recording(task, ref: RecordingRef, spec: RunSpec):
    key = (spec.entry.task, str(ref.path), spec.input_mode, tuple(sorted(spec.load_options.items())))
    if key not in _RECORDINGS:
        opts = dict(spec.load_options)
        if spec.entry.task == "reaching":
            opts.setdefault("input_mode", spec.input_mode)
        _RECORDINGS.clear()  # keep one recording in memory at a time
        _RECORDINGS[key] = task.load(ref, **opts)
    return _RECORDINGS[key]


def execute(spec: RunSpec, root: Path, force: bool = False) -> RunOutcome:
    """Train (or load published weights), evaluate every variant, store every result."""
    entry, task = spec.entry, get_task(spec.entry.task)
    paths = paths_for(spec, root)
    try:
        cfg = config_for(spec)
    except (TypeError, ValueError) as exc:  # e.g. an override naming no config field
        err = _error("config", exc)
        base = {"schema": store.SCHEMA, "task": entry.task, "entry": entry.name, "recording": spec.ref.name, "seed": spec.seed, "tag": spec.tag, "overrides": spec.overrides, "status": "error", "error": err, "started": store.now()}
        written = [store.store(p, base | {"variant": v, "row": entry.row_id(v)}) for v, p in paths.items()]
        return RunOutcome(spec, "error", written, f"config: {type(exc).__name__}: {exc} (entry {entry.name!r}, overrides {spec.overrides})")
    ident = identity_payload(spec, cfg)
    chash = store.config_hash(ident)
    if not force and all(store.is_complete(p, chash) for p in paths.values()):
        return RunOutcome(spec, "skipped", list(paths.values()), "already complete")
    base = {
        "schema": store.SCHEMA,
        "task": entry.task,
        "entry": entry.name,
        "entry_version": entry.version,
        "kind": entry.kind,
        "display": entry.display or entry.name,
        "recording": spec.ref.name,
        "synthetic": spec.ref.synthetic,
        "seed": spec.seed,
        "tag": spec.tag,
        "overrides": spec.overrides,
        "config": ident["config"],
        "config_hash": chash,
        "run": {k: ident[k] for k in ("weights", "prime", "input_mode", "quick", "load_options")} | {"device": spec.device},
        "versions": store.provenance(),
        "started": store.now(),
    }
    timing: dict[str, float] = {}
    stage = "load"
    try:
        t0 = time.perf_counter()
        recording = load_recording(task, spec.ref, spec)
        timing["load_s"] = time.perf_counter() - t0
        base["data"] = getattr(recording, "identity", {})
        stage = "build"
        set_seed(spec.seed)
        data = task.make_data(recording, entry, cfg, seed=spec.seed, quick=spec.quick, device=spec.device, prime=spec.prime)
        model = entry.build(data.n_inputs, data.n_outputs, cfg).to(spec.device)
        train_report: dict = {}
        if spec.weights:
            stage = "weights"
            if entry.published_weights is None:
                raise ValueError(f"entry {entry.name!r} has no published weights")
            model.load_state_dict(entry.published_weights(spec.ref.name), strict=True)
        else:
            stage = "train"
            t0 = time.perf_counter()
            train_report = entry.train(model, data, cfg) or {}
            timing["train_s"] = time.perf_counter() - t0
    except Exception as exc:  # the whole run failed: every variant gets the error
        err = _error(stage, exc)
        written = [store.store(p, base | {"variant": v, "row": entry.row_id(v), "status": "error", "error": err, "timing": timing, "finished": store.now()}) for v, p in paths.items()]
        return RunOutcome(spec, "error", written, f"{stage}: {type(exc).__name__}: {exc}")
    written, failures = [], []
    stages: dict[str, object] = {}  # variant models already computed in this run
    for v, path in paths.items():
        if not force and store.is_complete(path, chash):
            written.append(path)
            continue
        payload = base | {"variant": v, "row": entry.row_id(v), "train": _slim(train_report), "timing": dict(timing)}
        stage = "variant"
        try:
            vmodel = model
            if v not in (BASE, WEIGHTS_VARIANT):
                t0 = time.perf_counter()
                vmodel = variant_model(entry, v, model, data, cfg, spec.seed, stages)
                payload["timing"]["variant_s"] = time.perf_counter() - t0
            stage = "evaluate"
            t0 = time.perf_counter()
            outcome = task.evaluate(vmodel, data, entry)
            payload["timing"]["eval_s"] = time.perf_counter() - t0
            payload["metrics"] = outcome.metrics
            payload["metric_errors"] = outcome.metric_errors
            payload["eval"] = outcome.extra
            primary = task.primary_metric
            if primary in outcome.metric_errors or primary not in outcome.metrics:
                payload["status"] = "error"
                payload["error"] = {"stage": "metric", "message": f"{primary} failed", "traceback": outcome.metric_errors.get(primary, "")}
                failures.append(f"{v}: {primary} failed")
            else:
                payload["status"] = "ok"
        except Exception as exc:
            payload["status"] = "error"
            payload["error"] = _error(stage, exc)
            failures.append(f"{v}: {stage}: {type(exc).__name__}: {exc}")
        payload["finished"] = store.now()
        written.append(store.store(path, payload))
    status = "error" if failures else "ok"
    return RunOutcome(spec, status, written, "; ".join(failures))


def variant_model(entry: Entry, name: str, model, data, cfg, seed: int, stages: dict):
    """The model of variant ``name``; a chained variant (``base`` + ``step``) reuses the stored
    model of its base variant instead of recomputing it. Seeds are reset per stage so a
    variant's figures do not depend on which other variants ran before it."""
    if name in stages:
        return stages[name]
    variant = entry.variant(name)
    if variant.base and variant.step is not None and variant.base != BASE:
        base_model = variant_model(entry, variant.base, model, data, cfg, seed, stages)
        set_seed(seed)
        out = variant.step(copy.deepcopy(base_model), data, cfg)
    else:
        set_seed(seed)
        out = variant.apply(copy.deepcopy(model), data, cfg)
    stages[name] = out
    return out


def _error(stage: str, exc: BaseException) -> dict:
    return {"stage": stage, "type": type(exc).__name__, "message": str(exc), "traceback": traceback.format_exc()}


def _slim(report: dict) -> dict:
    """Keep the training report small: the history is summarised, not stored per batch."""
    out = {}
    for k, v in report.items():
        if isinstance(v, (int, float, str, bool)) or v is None:
            out[k] = v
        elif k == "history" and isinstance(v, list):
            out[k] = v[-50:]
        elif isinstance(v, dict) and len(str(v)) < 2000:
            out[k] = v
    return out


def plan(selected: Iterable[tuple[Entry, list[str]]], recordings: dict[str, list[RecordingRef]], seeds: Iterable[int], **kw) -> list[RunSpec]:
    """Cross entries × recordings of their task × seeds into run specs."""
    specs = []
    for entry, variants in selected:
        for ref in recordings.get(entry.task, []):
            for seed in seeds:
                specs.append(RunSpec(entry, list(variants), ref, seed, **kw))
    return specs


def run_specs(specs: list[RunSpec], root: Path, force: bool = False, progress: bool = True, jobs: int = 1) -> list[RunOutcome]:
    """Execute specs one after the other (``jobs`` > 1 uses bench.parallel when present)."""
    from tqdm import tqdm

    if jobs > 1:
        from bench.parallel import run_parallel

        return run_parallel(specs, root, force=force, jobs=jobs, progress=progress)
    outcomes = []
    bar = tqdm(specs, desc="runs", disable=not progress, unit="run")
    for spec in bar:
        bar.set_postfix_str(spec.label()[:60])
        out = execute(spec, root, force=force)
        outcomes.append(out)
        mark = {"ok": "ok", "skipped": "skip", "error": "FAILED"}[out.status]
        tqdm.write(f"[{mark}] {spec.label()}" + (f": {out.message}" if out.status == "error" else ""))
    return outcomes
