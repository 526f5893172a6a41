"""Checkpoints beside results: a run's trained model, reloadable without retraining.

``<result>.json`` gets ``<result>.ckpt.pt`` beside it: a plain dict of tensors and one JSON
string, so it loads with ``torch.load(weights_only=True)`` and no code is ever unpickled::

    {"format": "bench-checkpoint", "version": 1,
     "state_dict": {name: tensor},
     "meta_json": '{"entry", "variant", "row", "entry_version", "config", "n_inputs",
                    "n_outputs", "identity", "attributes"}'}

``identity`` is what the result says it is (entry, variant, recording, seed, config hash, data
identity, ...): a checkpoint whose identity does not match the result beside it is refused.
``attributes`` keeps the JSON-able summaries variants attach to the model
(``quantization_summary``, ``pruning_summary``), which the storage footprint and the energy
table read. Loading rebuilds the model with the entry's ``build`` and the stored config and
loads the state dict strictly.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import torch
from torch import nn

from bench.data.io import atomic_write, json_default

FORMAT, VERSION = "bench-checkpoint", 1
ATTRIBUTES = ("quantization_summary", "pruning_summary")
SUFFIX = ".ckpt.pt"


class CheckpointError(RuntimeError):
    """A checkpoint that is missing, unreadable, of another format or of another run."""


def checkpoint_path(result_path: str | Path) -> Path:
    """Where the checkpoint of the result at ``result_path`` lives (beside it)."""
    p = Path(result_path)
    return p.with_name(p.name[: -len(".json")] + SUFFIX if p.name.endswith(".json") else p.name + SUFFIX)


def _jsonable(value: Any) -> Any:
    return json.loads(json.dumps(value, default=json_default))


def save(path: str | Path, model: nn.Module, *, entry, variant: str, cfg: Any, n_inputs: int, n_outputs: int, identity: dict) -> Path:
    """Write the checkpoint atomically; returns its path."""
    config = dataclasses.asdict(cfg) if dataclasses.is_dataclass(cfg) else dict(cfg)
    attributes = {a: _jsonable(getattr(model, a)) for a in ATTRIBUTES if isinstance(getattr(model, a, None), dict)}
    meta = {
        "entry": entry.name,
        "entry_version": entry.version,
        "variant": variant,
        "row": entry.row_id(variant) if variant in entry.variant_names() else f"{entry.name}-{variant}",
        "config": config,
        "n_inputs": int(n_inputs),
        "n_outputs": int(n_outputs),
        "identity": _jsonable(identity),
        "attributes": attributes,
    }
    state = {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}
    payload = {"format": FORMAT, "version": VERSION, "state_dict": state, "meta_json": json.dumps(meta, sort_keys=True, default=json_default)}
    return atomic_write(path, lambda fh: torch.save(payload, fh))


def read(path: str | Path) -> tuple[dict, dict]:
    """(state_dict, meta) of a checkpoint file, loaded with weights_only=True."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"no checkpoint at {path}")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # truncated file, foreign pickle, ...
        raise CheckpointError(f"{path}: not a loadable checkpoint ({type(exc).__name__}: {exc})") from exc
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise CheckpointError(f"{path}: not a bench checkpoint (format {payload.get('format') if isinstance(payload, dict) else type(payload).__name__!r})")
    if payload.get("version") != VERSION:
        raise CheckpointError(f"{path}: checkpoint version {payload.get('version')!r}, this bench reads {VERSION}")
    try:
        meta = json.loads(payload["meta_json"])
        state = payload["state_dict"]
    except (KeyError, TypeError, json.JSONDecodeError) as exc:
        raise CheckpointError(f"{path}: checkpoint without readable metadata or state dict ({exc})") from exc
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise CheckpointError(f"{path}: state_dict is not a dict of tensors")
    return state, meta


def check_identity(meta: dict, identity: dict, path: Path | str = "") -> None:
    """Refuse a checkpoint whose stored identity differs from ``identity`` on a shared key."""
    stored = meta.get("identity", {})
    want = _jsonable(identity)
    diff = {k: (stored[k], want[k]) for k in want if k in stored and stored[k] != want[k]}
    if diff:
        raise CheckpointError(f"{path}: checkpoint belongs to another run: " + "; ".join(f"{k}: checkpoint {a!r} != result {b!r}" for k, (a, b) in diff.items()))


def load(path: str | Path, entry, identity: dict | None = None) -> tuple[nn.Module, dict]:
    """Rebuild ``entry``'s model from a checkpoint; returns (model in eval mode, meta)."""
    state, meta = read(path)
    if meta.get("entry") != entry.name:
        raise CheckpointError(f"{path}: checkpoint of entry {meta.get('entry')!r}, not {entry.name!r}")
    if meta.get("entry_version") != entry.version:
        raise CheckpointError(f"{path}: checkpoint of {entry.name} version {meta.get('entry_version')!r}; the registered entry is version {entry.version!r}")
    if identity is not None:
        check_identity(meta, identity, path)
    cfg = config_from(entry, meta.get("config", {}))
    model = entry.build(int(meta["n_inputs"]), int(meta["n_outputs"]), cfg)
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        raise CheckpointError(f"{path}: state dict does not fit {entry.name}'s model: {exc}") from exc
    for name, value in meta.get("attributes", {}).items():
        setattr(model, name, value)
    return model.eval(), meta


def config_from(entry, stored: dict) -> Any:
    """The entry's config dataclass with the stored values (JSON lists back to tuples)."""
    fields = {f.name: f for f in dataclasses.fields(entry.config)}
    unknown = sorted(set(stored) - set(fields))
    if unknown:
        raise CheckpointError(f"checkpoint config has fields {unknown} that {entry.name}'s config does not")
    values = {}
    for k, v in stored.items():
        default = getattr(entry.config, k)
        values[k] = tuple(v) if isinstance(default, tuple) and isinstance(v, list) else v
    return dataclasses.replace(entry.config, **values)
