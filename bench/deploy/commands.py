"""``python -m bench export`` and ``python -m bench evaluate``: the deployment commands.

export NAME -r REC [--format nir|onnx] [--from-results | --weights published] [--out DIR]
    Where the model comes from: ``--from-results`` the checkpoint stored beside the run's result
    (``bench.deploy.checkpoints``), ``--weights published`` NeuroBench's published weights (real
    sessions only); with neither, the stored checkpoint when there is one, else the entry is
    trained now in its quick configuration (said on the terminal and in the export's report).
    The export is proved on the recording's whole test split (``--limit`` shortens it).

evaluate NAME -r REC --from-results
    Re-scores the stored checkpoint of each row with the task's evaluation and compares every
    stored metric with the new value: exit 0 only when all are identical.
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
from pathlib import Path
from typing import Any

IDENTITY_KEYS = ("entry", "row", "variant", "recording", "seed", "tag", "key", "identity_hash", "config_hash")


def result_identity(record: dict) -> dict:
    """The identity a checkpoint shares with the result beside it (fields the record has)."""
    return {k: record[k] for k in IDENTITY_KEYS if k in record}


def add_parsers(sub: argparse._SubParsersAction) -> None:
    """Add the ``export`` and ``evaluate`` sub-commands to bench's parser."""
    from bench.cli_common import data_dir_type, seed_type

    s = sub.add_parser("export", help="export a trained entry to NIR or ONNX, proved by a round trip on the test stream")
    s.add_argument("name", nargs="?", help="entry or row (snn-streaming, aegru, aegru-pruned-q8)")
    s.add_argument("--recording", "-r", metavar="NAME", help="recording whose run (and test stream) to use")
    s.add_argument("--support", action="store_true", help="print which registered entry exports to which format (untrained models, short synthetic stream)")
    s.add_argument("--format", choices=["nir", "onnx"], help="default: nir for spiking entries, onnx otherwise")
    src = s.add_mutually_exclusive_group()
    src.add_argument("--from-results", action="store_true", help="use the checkpoint stored beside the run's result (error if none)")
    src.add_argument("--weights", choices=["published"], help="NeuroBench's published weights (real sessions only)")
    s.add_argument("--out", type=Path, default=Path("exports"), help="output folder (default: ./exports)")
    s.add_argument("--seed", type=seed_type, default=0, help="seed of the stored run (default 0)")
    s.add_argument("--tag", default=None, help="result namespace of the stored run (default: leaderboard)")
    s.add_argument("--results", type=Path, help="result store (default: results/)")
    s.add_argument("--data-dir", type=data_dir_type(), help="folder with real recordings (default: synthetic sessions)")
    s.add_argument("--limit", type=int, help="prove on the first N test samples only")
    s.set_defaults(func=cmd_export)

    s = sub.add_parser("evaluate", help="re-score a stored checkpoint; must reproduce the stored metrics exactly")
    s.add_argument("name", help="entry or row")
    s.add_argument("--recording", "-r", required=True, metavar="NAME")
    s.add_argument("--from-results", action="store_true", required=True, help="the checkpoint stored beside the result (required)")
    s.add_argument("--seed", type=seed_type, default=0)
    s.add_argument("--tag", default=None, help="result namespace (default: leaderboard)")
    s.add_argument("--results", type=Path, help="result store (default: results/)")
    s.add_argument("--data-dir", type=data_dir_type(), help="folder with real recordings")
    s.set_defaults(func=cmd_evaluate)


# --- shared ----------------------------------------------------------------------------------------


def _rows(name: str) -> tuple[Any, list[str]]:
    from bench import registry

    registry.discover()
    [(entry, variants)] = registry.resolve([name])
    return entry, variants


def _root(args) -> Path:
    from bench import paths

    return Path(args.results) if args.results else paths.results_dir()


def _stored(entry, variant: str, args) -> tuple[Path, dict]:
    from bench import results as store

    tag = args.tag or store.LEADERBOARD
    path = store.result_path(_root(args), tag, entry.task, entry.row_id(variant), args.recording, args.seed)
    return path, store.read(path, quiet=True)


def _run_options(record: dict) -> dict:
    run = record.get("run") if isinstance(record.get("run"), dict) else {}
    return {
        "prime": bool(run.get("prime", False)),
        "input_mode": run.get("input_mode", "binary"),
        "quick": bool(run.get("quick", False)),
        "load_options": dict(record.get("load_options") or run.get("load_options") or {}),
    }


def _data(entry, cfg, args, seed: int, opts: dict):
    from bench.tasks import get_task

    task = get_task(entry.task)
    refs = task.recordings([args.recording], args.data_dir)
    load = dict(opts.get("load_options", {}))
    if entry.task == "reaching":
        load.setdefault("input_mode", opts.get("input_mode", "binary"))
    recording = task.load(refs[0], **load)
    data = task.make_data(recording, entry, cfg, seed=seed, quick=opts.get("quick", False), device="cpu", prime=opts.get("prime", False))
    return task, refs[0], data


# --- export ----------------------------------------------------------------------------------------


def _model_for_export(entry, variant: str, args) -> tuple[Any, Any, dict]:
    """(model, data, provenance) from the chosen source."""
    from bench.deploy import checkpoints
    from bench.training import set_seed

    path, record = _stored(entry, variant, args)
    ckpt = checkpoints.checkpoint_path(path)
    if args.weights:
        if entry.published_weights is None:
            raise ValueError(f"entry {entry.name!r} has no published weights (only NeuroBench's four baselines do)")
        cfg = entry.make_config()
        task, ref, data = _data(entry, cfg, args, args.seed, {})
        if ref.synthetic:
            raise ValueError(f"published weights exist only for the real NeuroBench sessions; {ref.name!r} is a synthetic recording")
        model = entry.build(data.n_inputs, data.n_outputs, cfg)
        model.load_state_dict(entry.published_weights(ref.name, args.seed), strict=True)
        transform = getattr(entry, "published_transform", None)
        model = transform(model) if transform is not None else model
        return model.eval(), data, {"weights": "published", "recording": ref.name}
    if args.from_results or ckpt.is_file():
        if not ckpt.is_file():
            hint = " (a --quick run is stored under --tag quick)" if not args.tag else ""
            raise FileNotFoundError(f"no checkpoint at {ckpt}{hint}: run `python -m bench run {entry.row_id(variant)} -r {args.recording}` first (runs save their model beside the result)")
        model, meta = checkpoints.load(ckpt, entry, identity=result_identity(record) if record else None)
        task, ref, data = _data(entry, checkpoints.config_from(entry, meta["config"]), args, args.seed, _run_options(record))
        return model, data, {"weights": "checkpoint", "checkpoint": str(ckpt), "identity_hash": record.get("identity_hash", "")}
    print(f"no stored checkpoint at {ckpt}; training {entry.name} in its quick configuration (seed {args.seed}) for this export", file=sys.stderr)
    cfg = entry.make_config(quick=True)
    task, ref, data = _data(entry, cfg, args, args.seed, {"quick": True})
    set_seed(args.seed)
    model = entry.build(data.n_inputs, data.n_outputs, cfg)
    entry.train(model, data, cfg)
    if variant != "base":
        set_seed(args.seed)
        model = entry.variant(variant).apply(copy.deepcopy(model), data, cfg)
    return model.eval(), data, {"weights": "trained now (quick configuration)", "seed": args.seed}


def cmd_export(args) -> int:
    from bench.deploy import export as ex

    if args.support:
        from bench import registry
        from bench.deploy.support import markdown, support_table

        registry.discover()
        print(markdown(support_table(registry.entries())))
        return 0
    if not args.name or not args.recording:
        print("error: export needs NAME and --recording (or --support)", file=sys.stderr)
        return 2
    entry, variants = _rows(args.name)
    variant = variants[0] if len(variants) == 1 or args.name != entry.name else "base"
    fmt = args.format or ex.default_format(entry)
    try:
        model, data, prov = _model_for_export(entry, variant, args)
    except Exception as exc:  # a missing checkpoint, weights or recording: a message, not a traceback
        print(f"error: {exc}", file=sys.stderr)
        return 1
    inputs = ex.test_inputs(entry, data, args.limit)
    row = entry.row_id(variant)
    stem = f"{row}_{args.recording}_seed{args.seed}" + ("_published" if args.weights else "")
    prov.update({"row": row, "recording": args.recording})
    try:
        report = ex.export_verified(model, entry, fmt, inputs, args.out / stem, prov)
    except ex.ExportUnsupported as exc:
        print(f"{row} cannot be exported to {fmt.upper()}; missing:", file=sys.stderr)
        for m in exc.missing:
            print(f"  - {m}", file=sys.stderr)
        return 2
    except ex.RoundTripError as exc:
        print(f"{row} -> {fmt.upper()}: {exc}; no file written", file=sys.stderr)
        return 1
    print(f"wrote {report['file']} ({report['bytes'] / 1000:.1f} kB), model from {prov['weights']}")
    print(f"round trip on {report['n_samples']} test samples of {args.recording}: max |diff| {report['max_abs_diff']:.3g} <= {report['tolerance']:g} "
          f"(read back with {report['read_back_with']}; compared with {report['compared_with']})")
    return 0


# --- evaluate --------------------------------------------------------------------------------------


def compare_metrics(stored: dict, new: dict) -> list[tuple[str, Any, Any]]:
    """(name, stored, new) for every stored metric whose new value is not identical."""
    norm = lambda v: json.loads(json.dumps(v, sort_keys=True))  # noqa: E731 - JSON round trip, as stored
    return [(k, stored[k], new.get(k)) for k in sorted(stored) if norm(new.get(k)) != norm(stored[k])]


def cmd_evaluate(args) -> int:
    import torch

    from bench.deploy import checkpoints

    entry, variants = _rows(args.name)
    torch.set_num_threads(1)
    failed = 0
    for v in variants:
        path, record = _stored(entry, v, args)
        row = entry.row_id(v)
        if record.get("status") != "ok":
            hint = " (a --quick run is stored under --tag quick)" if not args.tag else ""
            print(f"{row}: no completed result at {path}{hint}", file=sys.stderr)
            failed += 1
            continue
        try:
            model, meta = checkpoints.load(checkpoints.checkpoint_path(path), entry, identity=result_identity(record))
            task, _, data = _data(entry, checkpoints.config_from(entry, meta["config"]), args, args.seed, _run_options(record))
            outcome = task.evaluate(model, data, entry)
        except Exception as exc:
            print(f"{row}: {type(exc).__name__}: {exc}", file=sys.stderr)
            failed += 1
            continue
        stored = record.get("metrics", {})
        diff = compare_metrics(stored, outcome.metrics)
        if diff:
            failed += 1
            print(f"{row} on {args.recording} seed {args.seed}: {len(diff)} of {len(stored)} metrics differ from the stored result:")
            for k, a, b in diff:
                print(f"  {k}: stored {a!r}, now {b!r}")
        else:
            print(f"{row} on {args.recording} seed {args.seed}: all {len(stored)} stored metrics reproduced exactly from {checkpoints.checkpoint_path(path)}")
    return 1 if failed else 0
