"""What decides a stored result's numbers: its identity.

A run's identity is the entry (name, version, resolved config), the weights source, the data
(a file's md5, or for bench's synthetic files the generator, its version, seed, session name
and array shapes), the reader's version and options (input mode, priming, load options) and
the task's evaluation version. Two runs with the same identity give the same numbers, so a
stored result with the same identity is re-used; any difference means the run is redone.

The data identity is known before anything is loaded: the file's md5 is cached by path, size
and mtime (bench.data.io.file_md5), and what a synthetic file says about itself is cached by
that md5, so checking a whole leaderboard costs a few stat calls.

Results stored by an older bench (schema 1) recorded less: :func:`prove_legacy` says whether
such a result is provably the run asked for now (same old hash, same file md5 or the same
default synthetic session, reader and evaluation unchanged since).
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

from bench import results as store
from bench.data.io import atomic_write_json, file_md5

LEGACY_READER_VERSION = "1"  # what schema-1 results were read with (both readers)
LEGACY_EVAL_VERSION = "1"  # and scored with
WEIGHTS_ALIASES = {"neurobench": "published"}  # old spelling -> the one spelling


def task_family(task: str) -> str:
    return "reaching" if task == "reaching" else "grasp"


def reader_identity(task: str) -> dict:
    """The reader that turns the task's files into arrays, and its version."""
    if task_family(task) == "reaching":
        from bench.data import reaching as reader
    else:
        from bench.data import grasp as reader
    return {"reader": reader.__name__, "version": str(reader.READER_VERSION)}


def eval_version(task: str) -> str:
    from bench.tasks import get_task

    return str(getattr(get_task(task), "eval_version", "1"))


def data_identity(task: str, path: Path) -> dict:
    """What a recording file is: {"source": "file", "md5"} or, for bench's synthetic files,
    {"source": "synthetic", "generator", "generator_version", "seed", "name", "shape", "md5"};
    plus "file" (its name). Raises OSError when the file cannot be read."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such recording file")
    md5 = file_md5(path)
    family = task_family(task)
    from bench.paths import cache_dir

    cpath = cache_dir() / "identity" / f"{family}-{md5}.json"
    facts = None
    try:
        facts = json.loads(cpath.read_text())
        if not isinstance(facts, dict) or facts.get("md5") != md5:
            facts = None
    except (OSError, ValueError):
        facts = None
    if facts is None:
        facts = {"md5": md5, **(_reaching_facts(path) if family == "reaching" else _grasp_facts(path))}
        try:
            atomic_write_json(cpath, facts)
        except OSError:
            pass  # an unwritable cache only costs the probe again next time
    return {**facts, "file": path.name}


def _text(value: Any) -> str | None:
    if isinstance(value, bytes):
        return value.decode(errors="replace")
    if hasattr(value, "shape") and getattr(value, "size", 0) == 1:
        return _text(value.reshape(-1)[0])
    return None if value is None else str(value)


def _reaching_facts(path: Path) -> dict:
    """Root attributes and array shapes of a reaching file (HDF5); a plain file otherwise."""
    import h5py

    try:
        with h5py.File(path, "r") as f:
            a = f.attrs
            if int(a.get("bench_synthetic", 0)) != 1:
                return {"source": "file"}
            return {
                "source": "synthetic", "generator": "bench.data.synth_reaching",
                "generator_version": _text(a.get("bench_generator_version")),
                "seed": int(a.get("bench_seed", -1)), "name": _text(a.get("bench_name")),
                "shape": {"t": list(f["t"].shape), "spikes": list(f["spikes"].shape)},
            }
    except (OSError, KeyError, ValueError, TypeError):
        return {"source": "file"}  # the reader names what is wrong with it when it loads


def _grasp_facts(path: Path) -> dict:
    """A grasp file's own annotations (read through the cached reader)."""
    from bench.data.grasp import load_grasp

    try:
        rec = load_grasp(path)
    except (OSError, ValueError):
        return {"source": "file"}
    ident = dict(rec.identity)
    if ident.get("source") != "synthetic":
        return {"source": "file"}
    return {
        "source": "synthetic", "generator": "bench.data.synth_grasp",
        "generator_version": str(ident.get("generator_version")), "seed": int(ident.get("seed", -1)),
        "name": None, "shape": {"units": rec.n_units, "trials": rec.n_trials},
    }


def hashed_data(data: dict) -> dict:
    """The part of a data identity that decides the numbers: a file's md5, or a synthetic
    session's generator, version, seed, name and shapes (not its bytes: another machine's
    HDF5 library may write the same arrays differently)."""
    if data.get("source") == "synthetic":
        return {k: data.get(k) for k in ("source", "generator", "generator_version", "seed", "name", "shape")}
    return {"source": data.get("source", "file"), "md5": data.get("md5")}


def normalise_weights(weights: str | None) -> str | None:
    return WEIGHTS_ALIASES.get(weights, weights) if weights else None


def run_identity(spec, cfg, data: dict) -> dict:
    """The identity of one run (RunSpec ``spec`` with resolved config ``cfg`` on ``data``)."""
    entry = spec.entry
    return {
        "entry": entry.name,
        "entry_version": str(entry.version),
        "task": entry.task,
        "config": dataclasses.asdict(cfg),
        "weights": normalise_weights(spec.weights),
        "quick": bool(spec.quick),
        "prime": bool(spec.prime),
        "input_mode": spec.input_mode,
        "load_options": dict(spec.load_options),
        "data": hashed_data(data),
        "reader": reader_identity(entry.task),
        "eval_version": eval_version(entry.task),
    } | _quick_data(spec)


def _quick_data(spec) -> dict:
    """A quick run on part of each session names the part (absent otherwise, so the identity of
    every other run is what it was)."""
    from bench.execution.runner import quick_cut
    from bench.tasks import get_task

    return {"quick_data": get_task(spec.entry.task).quick_span} if quick_cut(spec) else {}


def differences(old: dict, new: dict) -> list[str]:
    """Top-level identity fields that differ, in words (for the plan's summary)."""
    out = []
    for k in sorted(set(old) | set(new)):
        if store._plain(old.get(k)) != store._plain(new.get(k)):
            out.append(k)
    return out


def _legacy_hash(spec, cfg) -> str:
    """Schema 1's config hash of ``spec`` (it knew ``weights`` as 'neurobench')."""
    weights = "neurobench" if normalise_weights(spec.weights) == "published" else spec.weights
    return store.identity_hash({
        "entry": spec.entry.name, "entry_version": spec.entry.version, "config": dataclasses.asdict(cfg),
        "weights": weights, "prime": spec.prime, "input_mode": spec.input_mode, "quick": spec.quick,
        "load_options": spec.load_options,
    })


def prove_legacy(record: dict, spec, cfg, ident: dict) -> str | None:
    """None when the schema-1 ``record`` is provably the run of ``spec`` with identity
    ``ident``; else why not (in words)."""
    if record.get("config_hash") != _legacy_hash(spec, cfg):
        return "older result (schema 1) of another entry version, config or run options"
    if ident["reader"]["version"] != LEGACY_READER_VERSION:
        return f"older result (schema 1) read with reader version {LEGACY_READER_VERSION}, now {ident['reader']['version']}"
    if ident["eval_version"] != LEGACY_EVAL_VERSION:
        return f"older result (schema 1) scored with evaluation version {LEGACY_EVAL_VERSION}, now {ident['eval_version']}"
    old, new = record.get("data") or {}, ident["data"]
    if new.get("source") == "file":
        if old.get("source") == "file" and old.get("md5") and old.get("md5") == new.get("md5"):
            return None
        return "older result (schema 1) of another file (md5 differs)"
    if new.get("source") == "synthetic":
        same = old.get("source") == "synthetic" and str(old.get("generator_version")) == str(new.get("generator_version")) and old.get("seed") == new.get("seed")
        if same and _is_default_session(spec.entry.task, new):
            return None
        return "older result (schema 1) of a synthetic session it cannot be proven identical to (it recorded no shapes)"
    return "older result (schema 1) of data of unknown identity"


def _is_default_session(task: str, data: dict) -> bool:
    """Whether synthetic ``data`` is exactly one of the generator's default sessions (the only
    synthetic files a schema-1 bench ran on unless told otherwise)."""
    shape = data.get("shape") or {}
    if task_family(task) == "reaching":
        from bench.data.synth_reaching import DEFAULT_SESSIONS, DT

        for c in DEFAULT_SESSIONS:
            if c.name == data.get("name") and c.seed == data.get("seed"):
                return max(shape.get("t") or [0]) == int(round(c.duration_s / DT)) and (shape.get("spikes") or [0, 0])[-1] == c.n_channels
        return False
    from bench.data.synth_grasp import DEFAULT_GRASP_SESSIONS

    return any(c.seed == data.get("seed") and c.n_units == shape.get("units") for c in DEFAULT_GRASP_SESSIONS)
