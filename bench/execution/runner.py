"""One run: what it is (RunSpec), whether the store already holds it (:func:`check`, the one
skip check), and doing it (:func:`execute`): load, train once (or load published weights),
evaluate every variant, store one record per variant (:func:`record`, the one builder).

A run starts from a clean process state (bench.execution.isolation) on a read-only recording,
and anything it raises, SystemExit included, becomes its error record with the traceback; only
KeyboardInterrupt goes up. A failed run never replaces a completed result.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import time
import traceback
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench import results as store
from bench.data.io import file_md5, json_default
from bench.data.recording import RecordingRef
from bench.execution import identity as ids
from bench.execution import isolation
from bench.registry import BASE, Entry
from bench.tasks import get_task

WEIGHTS_VARIANT = "nbweights"  # row suffix of published weights evaluated without training


@dataclass
class RunSpec:
    """One training run (all its variants share the trained model)."""

    entry: Entry
    variants: list[str]
    ref: RecordingRef
    seed: int = 0
    quick: bool = False
    device: str = "cpu"
    weights: str | None = None  # "published": evaluate the published weights, no training
    overrides: dict = field(default_factory=dict)  # config overrides (sweeps)
    tag: str = store.LEADERBOARD  # result namespace: leaderboard, quick, sweep-...
    prime: bool = False
    input_mode: str = "binary"
    load_options: dict = field(default_factory=dict)  # extra task.load(...) options
    quick_data: bool = False  # a quick run on the task's quick_span of each session (``run --quick``: the smoke board)
    # config fields that do not affect training: runs differing only in them train once per
    # process (e.g. the pruning rate of a pruning sweep); results equal separate runs
    share_training: tuple[str, ...] = ()
    # measure the streaming latency (bench.deploy); not part of the identity: it decides no metric
    latency: bool = True

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
    warnings: list[str] = field(default_factory=list)
    store_error: str = ""  # the store failed while writing this run's result


def config_for(spec: RunSpec):
    cfg = spec.entry.make_config(quick=spec.quick, **spec.overrides)
    names = {f.name for f in dataclasses.fields(cfg)}
    unknown = sorted(set(spec.share_training) - names)
    if unknown:
        raise ValueError(f"share_training names {unknown}, which are not config fields of entry {spec.entry.name!r}")
    return cfg


def paths_for(spec: RunSpec, root: Path) -> dict[str, Path]:
    """Result file of every row; ValueError for a name that cannot name a file."""
    key = {**spec.load_options, **spec.overrides}  # load options (e.g. trainval_share) name the file too
    return {v: store.result_path(root, spec.tag, spec.entry.task, spec.entry.row_id(v), spec.ref.name, spec.seed, key) for v in spec.rows()}


def row_key(spec: RunSpec, variant: str) -> dict:
    """Which run a result file holds (see bench.results.record_key)."""
    return store.record_key({"tag": spec.tag, "task": spec.entry.task, "row": spec.entry.row_id(variant), "recording": spec.ref.name,
                             "seed": spec.seed, "overrides": spec.overrides, "load_options": spec.load_options})


# --- the one skip check ---------------------------------------------------------------------


@dataclass
class Check:
    """What the store holds for a spec: per row, whether its result is complete and why."""

    paths: dict[str, Path] = field(default_factory=dict)
    cfg: Any = None
    data: dict | None = None  # full data identity (md5, file)
    identity: dict | None = None
    ihash: str = ""
    complete: dict[str, bool] = field(default_factory=dict)
    reasons: dict[str, str] = field(default_factory=dict)  # row -> why it is re-used / run
    refused: str = ""  # the run must not happen (unusable name, a path holding another run)
    config_error: BaseException | None = None

    @property
    def done(self) -> bool:
        return bool(self.paths) and all(self.complete.values())


def check(spec: RunSpec, root: Path, force: bool = False) -> Check:
    """Compute the spec's identity and compare it with every row's stored result."""
    out = Check()
    try:
        out.paths = paths_for(spec, root)
    except ValueError as exc:
        out.refused = str(exc)
        return out
    try:
        out.cfg = config_for(spec)
    except (TypeError, ValueError) as exc:  # e.g. an override naming no config field
        out.config_error = exc
        out.complete = dict.fromkeys(out.paths, False)
        out.reasons = dict.fromkeys(out.paths, f"bad config: {exc}")
        return out
    why_unknown = ""
    try:
        out.data = ids.data_identity(spec.entry.task, spec.ref.path)
        out.identity = ids.run_identity(spec, out.cfg, out.data)
        out.ihash = store.identity_hash(out.identity)
    except (OSError, ValueError) as exc:
        why_unknown = f"data identity unknown ({exc})"
    for v, path in out.paths.items():
        done, why = _compare(spec, v, path, out, why_unknown)
        if done is None:
            out.refused = why
            return out
        out.complete[v] = done and not force
        out.reasons[v] = "forced (--force)" if done and force else why
    return out


def _compare(spec: RunSpec, variant: str, path: Path, chk: Check, why_unknown: str) -> tuple[bool | None, str]:
    """(complete, why) for one row; (None, why) when the file holds another run's result."""
    record, problem = store.inspect(path)
    if problem:
        return False, f"unreadable result file {path} ({problem})"
    if record is None:
        return False, "new"
    if store._plain(record.get("key") or store.record_key(record)) != row_key(spec, variant):
        return None, f"{path} holds the result of another run ({record.get('key')}); two runs map to one file"
    if record.get("status") != "ok":
        return False, "last attempt failed"
    if chk.identity is None:
        return False, why_unknown
    if record.get("migrated_from") == 1:
        why = ids.prove_legacy(record, spec, chk.cfg, chk.identity)
        return (True, "older result (schema 1) proven identical") if why is None else (False, why)
    if record.get("identity_hash") == chk.ihash:
        return True, "same identity"
    changed = ids.differences(record.get("identity") or {}, chk.identity)
    return False, f"identity changed ({', '.join(changed) or 'hash'})"


# --- the one record builder ------------------------------------------------------------------


def header(spec: RunSpec, chk: Check) -> dict:
    """Fields every record of this run shares."""
    entry = spec.entry
    return {
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
        "load_options": spec.load_options,
        "config": dataclasses.asdict(chk.cfg) if chk.cfg is not None else None,
        "identity": chk.identity,
        "identity_hash": chk.ihash,
        "data": chk.data,
        "run": {"weights": ids.normalise_weights(spec.weights), "prime": spec.prime, "input_mode": spec.input_mode,
                "quick": spec.quick, "load_options": spec.load_options, "device": spec.device,
                "share_training": list(spec.share_training)},
        "versions": store.provenance(),
        "started": store.now(),
    }


def record(head: dict, spec: RunSpec, variant: str, status: str, **fields: Any) -> dict:
    """One row's record: the run's header, the row, its status and ``fields``."""
    return head | {"variant": variant, "row": spec.entry.row_id(variant), "key": row_key(spec, variant), "status": status,
                   "finished": store.now()} | fields


def error_info(stage: str, exc: BaseException) -> dict:
    tb = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    return {"stage": stage, "type": type(exc).__name__, "message": str(exc) or repr(exc), "traceback": tb}


def write(path: Path, payload: dict, outcome: RunOutcome) -> None:
    """Store one record (JSON-safe first); a store failure is the outcome's, never a crash."""
    payload, problems = json_safe(payload)
    outcome.warnings += problems
    try:
        outcome.paths.append(store.store(path, payload))
    except store.ResultCollision as exc:
        outcome.status, outcome.message = "error", str(exc)
    except OSError as exc:
        outcome.status = "error"
        outcome.store_error = f"cannot write {path}: {exc.strerror or exc}"
        outcome.message = "; ".join(filter(None, [outcome.message, outcome.store_error]))


def record_failure(spec: RunSpec, root: Path, stage: str, err_type: str, message: str, tb: str = "", force: bool = False) -> RunOutcome:
    """Store an error record for every row of ``spec`` that is not complete (a worker died,
    an entry could not be imported)."""
    chk = check(spec, root, force)
    out = RunOutcome(spec, "error", [], f"{stage}: {err_type}: {message}")
    if chk.refused:
        out.message += f" ({chk.refused})"
        return out
    head = header(spec, chk)
    err = {"stage": stage, "type": err_type, "message": message, "traceback": tb}
    for v, path in chk.paths.items():
        if chk.complete.get(v):
            out.paths.append(path)
        else:
            write(path, record(head, spec, v, "error", error=err, timing={}), out)
    return out


def json_safe(value: Any, where: str = "", depth: int = 0) -> tuple[Any, list[str]]:
    """``value`` as plain JSON values (numpy, torch, sets, paths converted); what cannot be
    converted becomes its repr and is named in the returned problems."""
    problems: list[str] = []
    if depth > 32:
        return "<too deeply nested>", [f"{where or 'value'}: nested deeper than 32 levels"]
    if value is None or isinstance(value, (bool, int, float, str)):
        return value, problems
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            key = k if isinstance(k, str) else str(k)
            out[key], more = json_safe(v, f"{where}.{key}" if where else key, depth + 1)
            problems += more
        return out, problems
    if isinstance(value, (list, tuple)):
        out_list = []
        for i, v in enumerate(value):
            item, more = json_safe(v, f"{where}[{i}]", depth + 1)
            out_list.append(item)
            problems += more
        return out_list, problems
    try:
        converted = json_default(value)
    except Exception:  # noqa: BLE001 - anything unconvertible is reported, not raised
        text = repr(value)
        return (text[:200] + "...") if len(text) > 200 else text, [f"{where or 'value'}: {type(value).__name__} is not JSON (stored as its repr)"]
    return json_safe(converted, where, depth + 1)


def _report(report: Any) -> tuple[dict, list[str]]:
    """The training report as a small JSON object (history summarised), and its problems."""
    if report is None:
        return {}, []
    if not isinstance(report, dict):
        return {}, [f"train returned {type(report).__name__}, not a dict report (ignored)"]
    safe, problems = json_safe(report, "train")
    out = {}
    for k, v in safe.items():
        if isinstance(v, (int, float, str, bool)) or v is None:
            out[k] = v
        elif k == "history" and isinstance(v, list):
            out[k] = v[-50:]
        elif len(json.dumps(v)) < 2000:
            out[k] = v
        else:
            problems.append(f"train.{k}: {len(json.dumps(v))} characters, not stored")
    return out, problems


# --- doing a run -----------------------------------------------------------------------------


_RECORDINGS: dict[tuple, object] = {}
_SHARED: dict[tuple, tuple] = {}


def quick_cut(spec: RunSpec) -> bool:
    """Whether the run uses its task's ``quick_span`` of the session instead of all of it."""
    return bool(spec.quick and spec.quick_data and getattr(get_task(spec.entry.task), "quick_span", None))


def load_recording(task, ref: RecordingRef, spec: RunSpec):
    """The task's recording for ``spec`` (one kept in memory, keyed by the file's md5 too: runs
    go recording-major, and a file replaced under the same name is read again)."""
    try:
        stamp = file_md5(ref.path)
    except OSError:
        stamp = None
    cut = quick_cut(spec)
    key = (spec.entry.task, str(ref.path), stamp, spec.input_mode, json.dumps(spec.load_options, sort_keys=True, default=str), cut)
    if key not in _RECORDINGS:
        opts = dict(spec.load_options)
        if spec.entry.task == "reaching":
            opts.setdefault("input_mode", spec.input_mode)
        if cut:
            opts["quick_data"] = True
        _RECORDINGS.clear()
        _RECORDINGS[key] = task.load(ref, **opts)
    return _RECORDINGS[key]


def _shared_key(spec: RunSpec, cfg, chk: Check) -> tuple | None:
    if not spec.share_training or spec.weights:
        return None
    base = dataclasses.replace(cfg, **{f: getattr(spec.entry.config, f) for f in spec.share_training})
    data = json.dumps(ids.hashed_data(chk.data or {}), sort_keys=True, default=str)
    return (spec.entry.name, spec.entry.version, str(spec.ref.path), data, spec.seed, repr(dataclasses.asdict(base)),
            spec.quick, quick_cut(spec), spec.device, spec.prime, spec.input_mode, json.dumps(spec.load_options, sort_keys=True, default=str))


def _train(spec: RunSpec, model, data, cfg, chk: Check) -> Any:
    """entry.train, or the model trained earlier in this process for a spec differing only in
    ``share_training`` fields."""
    key = _shared_key(spec, cfg, chk)
    if key is not None and key in _SHARED:
        state, extras, report = _SHARED[key]
        model.load_state_dict(state)
        model.__dict__.update(copy.deepcopy(extras))
        return dict(report, shared_training=True) if isinstance(report, dict) else report
    report = spec.entry.train(model, data, cfg)
    if key is not None:
        extras = {k: v for k, v in model.__dict__.items() if k.startswith("_train")}
        _SHARED.clear()  # one trained model in memory at a time
        _SHARED[key] = (copy.deepcopy(model.state_dict()), copy.deepcopy(extras), copy.deepcopy(report))
    return report


def _published(spec: RunSpec, model):
    from bench.data.sessions import known_session

    entry = spec.entry
    if entry.published_weights is None:
        raise ValueError(f"entry {entry.name!r} has no published weights")
    if spec.ref.synthetic or known_session(spec.ref.name) is None:
        kind = "a synthetic recording" if spec.ref.synthetic else "not a NeuroBench session"
        raise ValueError(f"published weights exist only for the real NeuroBench sessions; {spec.ref.name!r} is {kind}")
    model.load_state_dict(entry.published_weights(spec.ref.name, spec.seed), strict=True)
    return entry.published_transform(model) if entry.published_transform is not None else model


def execute(spec: RunSpec, root: Path, force: bool = False, threads: int | None = None) -> RunOutcome:
    """Do one run unless the store holds it; store a record per row; never raises for what
    the run does (KeyboardInterrupt excepted)."""
    chk = check(spec, root, force)
    if chk.refused:
        return RunOutcome(spec, "error", [], f"refused: {chk.refused}")
    if chk.done:
        return RunOutcome(spec, "skipped", list(chk.paths.values()), "already complete")
    head = header(spec, chk)
    if chk.config_error is not None:
        out = RunOutcome(spec, "error", [], f"config: {type(chk.config_error).__name__}: {chk.config_error} (entry {spec.entry.name!r}, overrides {spec.overrides})")
        for v, path in chk.paths.items():
            write(path, record(head, spec, v, "error", error=error_info("config", chk.config_error)), out)
        return out
    with isolation.isolated(threads):
        return _run(spec, chk, head, force)


def _run(spec: RunSpec, chk: Check, head: dict, force: bool) -> RunOutcome:
    from bench.training import set_seed

    entry, task, cfg = spec.entry, get_task(spec.entry.task), chk.cfg
    out = RunOutcome(spec, "ok", [])
    timing: dict[str, float] = {}
    stage = "load"
    try:
        t0 = time.perf_counter()
        recording = isolation.freeze(load_recording(task, spec.ref, spec))
        fingerprint = isolation.digest(recording)
        timing["load_s"] = time.perf_counter() - t0
        _settle_data_identity(spec, chk, head, recording)
        stage = "build"
        set_seed(spec.seed)
        data = task.make_data(recording, entry, cfg, seed=spec.seed, quick=spec.quick, device=spec.device, prime=spec.prime)
        model = entry.build(data.n_inputs, data.n_outputs, cfg).to(spec.device)
        report: Any = {}
        if spec.weights:
            stage = "weights"
            model = _published(spec, model)
        else:
            stage = "train"
            t0 = time.perf_counter()
            report = _train(spec, model, data, cfg, chk)
            timing["train_s"] = time.perf_counter() - t0
        _unchanged(recording, fingerprint)
        stage = "report"
        report, problems = _report(report)
        out.warnings += problems
    except KeyboardInterrupt:
        raise
    except BaseException as exc:  # noqa: BLE001 - SystemExit too: the run's error, the sweep goes on
        err = error_info(stage, exc)
        out.status, out.message = "error", f"{stage}: {type(exc).__name__}: {exc}"
        for v, path in chk.paths.items():
            if not chk.complete.get(v):
                write(path, record(head, spec, v, "error", error=err, timing=timing), out)
        _forget(exc)
        return out
    failures: list[str] = []
    stages: dict[str, object] = {}  # variant models already computed in this run
    for v, path in chk.paths.items():
        if chk.complete.get(v):
            out.paths.append(path)
            continue
        fields: dict[str, Any] = {"train": report, "timing": dict(timing), "warnings": list(out.warnings)}
        stage = "variant"
        try:
            vmodel = model
            if v not in (BASE, WEIGHTS_VARIANT):
                t0 = time.perf_counter()
                vmodel = variant_model(entry, v, model, data, cfg, spec.seed, stages)
                fields["timing"]["variant_s"] = time.perf_counter() - t0
            stage = "evaluate"
            t0 = time.perf_counter()
            result = task.evaluate(vmodel, data, entry)
            fields["timing"]["eval_s"] = time.perf_counter() - t0
            _unchanged(recording, fingerprint)
            fields.update(metrics=result.metrics, metric_errors=result.metric_errors, eval=result.extra)
            stage = "deployment"  # latency, energy estimate, storage: failures are recorded inside, never raised
            from bench import deploy

            t0 = time.perf_counter()
            budget = deploy.latency_budget(sum(fields["timing"].values()), len(chk.paths))
            fields["deployment"] = deploy.measure(vmodel, data, entry, v, result.metrics, result.metric_errors, latency=spec.latency, max_seconds=budget)
            fields["timing"]["deploy_s"] = time.perf_counter() - t0
            primary = task.primary_metric
            if primary in result.metric_errors or primary not in result.metrics:
                fields["error"] = {"stage": "metric", "message": f"{primary} failed", "traceback": result.metric_errors.get(primary, "")}
                failures.append(f"{v}: {primary} failed")
                status = "error"
            else:
                status = "ok"
        except KeyboardInterrupt:
            raise
        except BaseException as exc:  # noqa: BLE001
            fields["error"] = error_info(stage, exc)
            failures.append(f"{v}: {stage}: {type(exc).__name__}: {exc}")
            status = "error"
            _forget(exc)
        payload = record(head, spec, v, status, **fields)
        write(path, payload, out)
        if status == "ok" and out.paths and out.paths[-1] == path:  # stored as the row's result
            _save_checkpoint(path, vmodel, entry, v, cfg, data, payload, out)
    if failures:
        out.status = "error"
        out.message = "; ".join(filter(None, failures + [out.store_error]))
    return out


def _save_checkpoint(path: Path, model, entry: Entry, variant: str, cfg, data, payload: dict, out: RunOutcome) -> None:
    """The row's trained model beside its result (bench.deploy.checkpoints); a failure is a warning."""
    from bench.deploy import checkpoints
    from bench.deploy.commands import result_identity

    try:
        checkpoints.save(checkpoints.checkpoint_path(path), model, entry=entry, variant=variant, cfg=cfg,
                         n_inputs=data.n_inputs, n_outputs=data.n_outputs, identity=result_identity(payload))
    except Exception as exc:  # noqa: BLE001 - the result is stored; the checkpoint is a convenience
        out.warnings.append(f"{path}: checkpoint not saved: {type(exc).__name__}: {exc}")


def _settle_data_identity(spec: RunSpec, chk: Check, head: dict, recording) -> None:
    """The data identity of what was loaded: the planned one when the file was probed (the
    loaded md5 must match it), else what the recording says about itself."""
    loaded = dict(getattr(recording, "identity", {}) or {})
    if chk.data is not None:
        if loaded.get("md5") and chk.data.get("md5") and loaded["md5"] != chk.data["md5"]:
            raise RuntimeError(f"{spec.ref.path}: the file changed while this run started (md5 {chk.data['md5']} when checked, "
                               f"{loaded['md5']} when loaded); run the command again")
        return
    chk.data = loaded
    chk.identity = ids.run_identity(spec, chk.cfg, loaded)
    chk.ihash = store.identity_hash(chk.identity)
    head.update(data=chk.data, identity=chk.identity, identity_hash=chk.ihash)


class InputModified(RuntimeError):
    """An entry wrote into the recording it was given."""


def _unchanged(recording, fingerprint: str) -> None:
    if isolation.digest(recording) != fingerprint:
        _RECORDINGS.clear()  # never hand the damaged arrays to the next run
        raise InputModified("the entry wrote into its input recording (its arrays changed during the run); "
                            "inputs are read-only: copy them before changing them")


def _forget(exc: BaseException) -> None:
    """After a failure, keep nothing that may hold the failed run's state."""
    _SHARED.clear()
    if isinstance(exc, InputModified):
        _RECORDINGS.clear()


def variant_model(entry: Entry, name: str, model, data, cfg, seed: int, stages: dict):
    """The model of variant ``name``; a chained variant (``base`` + ``step``) reuses the stored
    model of its base variant instead of recomputing it. Seeds are reset per stage so a
    variant's figures do not depend on which other variants ran before it."""
    from bench.training import set_seed

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


def plan(selected: Iterable[tuple[Entry, list[str]]], recordings: dict[str, list[RecordingRef]], seeds: Iterable[int], **kw) -> list[RunSpec]:
    """Cross entries x recordings of their task x seeds into run specs (recording-major per
    entry, so a recording and a shared training stay in memory across consecutive specs)."""
    specs = []
    seeds = list(dict.fromkeys(seeds))  # a seed or recording named twice runs once
    for entry, variants in selected:
        for ref in dict.fromkeys(recordings.get(entry.task, [])):
            for seed in seeds:
                specs.append(RunSpec(entry, list(variants), ref, seed, **kw))
    return specs
