"""Bayesian hyperparameter search (Optuna TPE) over an entry's declared search space.

``python -m bench tune bilstm-grasp --trials 30``: every trial samples one configuration from
``type(entry.config).SEARCH_SPACE`` (name -> tuple of choices), trains it on each selected
recording, and scores it by validation accuracy (the task's trial-level validation split; the
test split is never looked at). The study lives in a database (default
``<results>/tune/<entry>.db``; ``--storage`` points at a shared one), so a search can be resumed
or run from several machines; the best configuration goes to ``<results>/tune/<entry>.best.json``
and :func:`best_overrides` hands it to ``run --tuned``.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from pathlib import Path

from bench import results as store

TUNE_DIR = "tune"


def search_space(entry) -> dict[str, tuple]:
    """The entry's search space (its config class's ``SEARCH_SPACE``), checked against the config."""
    space = getattr(type(entry.config), "SEARCH_SPACE", None)
    if not space:
        raise ValueError(f"entry {entry.name!r} declares no SEARCH_SPACE on {type(entry.config).__name__}; nothing to tune")
    fields = {f.name for f in dataclasses.fields(entry.config)}
    unknown = sorted(set(space) - fields)
    if unknown:
        raise ValueError(f"entry {entry.name!r}: SEARCH_SPACE names {unknown}, which are not fields of {type(entry.config).__name__}")
    return {k: tuple(v) for k, v in space.items()}


def best_path(entry_name: str, results_root: Path) -> Path:
    return Path(results_root) / TUNE_DIR / f"{entry_name}.best.json"


def default_storage(entry_name: str, results_root: Path) -> str:
    path = Path(results_root) / TUNE_DIR / f"{entry_name}.db"
    path.parent.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{path.resolve()}"


def best_overrides(entry_name: str, results_root: Path) -> dict:
    """Config overrides of the best tuned configuration of ``entry_name`` ({} when never tuned)."""
    path = best_path(entry_name, results_root)
    if not path.is_file():
        return {}
    try:
        payload = json.loads(path.read_text())
        overrides = payload["overrides"]
    except (OSError, json.JSONDecodeError, KeyError) as exc:
        raise ValueError(f"{path}: unreadable tuning result ({type(exc).__name__}: {exc}); re-run `python -m bench tune {entry_name}`") from exc
    if payload.get("entry") != entry_name or not isinstance(overrides, dict):
        raise ValueError(f"{path}: holds no overrides for entry {entry_name!r}")
    return overrides


def validation_score(entry, ref, overrides: dict, *, seed: int = 0, quick: bool = False, device: str = "cpu", load_options: dict | None = None) -> dict:
    """Train ``entry`` with ``overrides`` on one recording; its validation accuracy and time."""
    from bench.execution import isolation
    from bench.execution.runner import RunSpec, load_recording
    from bench.tasks import get_task
    from bench.training import set_seed

    task = get_task(entry.task)
    spec = RunSpec(entry, ["base"], ref, seed, quick=quick, device=device, overrides=dict(overrides), load_options=dict(load_options or {}))
    cfg = entry.make_config(quick=quick, **overrides)
    with isolation.isolated():  # a trial starts from the same process state as a run
        recording = isolation.freeze(load_recording(task, ref, spec))
        set_seed(seed)
        data = task.make_data(recording, entry, cfg, seed=seed, quick=quick, device=device)
        model = entry.build(data.n_inputs, data.n_outputs, cfg).to(device)
        t0 = time.perf_counter()
        report = entry.train(model, data, cfg) or {}
        train_s = time.perf_counter() - t0
        accuracy = float(data.accuracy(model, "val"))
    return {"val_accuracy": accuracy, "train_s": train_s, "epochs_run": report.get("epochs_run") if isinstance(report, dict) else None}


def run_study(entry, refs: list, n_trials: int, *, results_root: Path, storage: str | None = None, study_name: str | None = None, seed: int = 0, quick: bool = False, device: str = "cpu", timeout: float | None = None, progress: bool = True):
    """Run (or resume) a TPE study maximising mean validation accuracy over ``refs``; writes
    ``<results>/tune/<entry>.best.json`` and returns the study."""
    import optuna

    space = search_space(entry)
    if not refs:
        raise ValueError(f"no recordings to tune {entry.name!r} on")
    storage = storage or default_storage(entry.name, results_root)
    study_name = study_name or f"{entry.name}{'-quick' if quick else ''}"
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(study_name=study_name, storage=storage, direction="maximize", load_if_exists=True)
    # 10 random trials, then TPE; a resumed study continues the seed sequence instead of
    # replaying the random configurations it has already tried
    study.sampler = optuna.samplers.TPESampler(seed=(seed + len(study.trials)) % 2**32, n_startup_trials=10)
    study.set_user_attr("entry", entry.name)
    study.set_user_attr("recordings", [r.name for r in refs])

    def objective(trial) -> float:
        overrides = {name: trial.suggest_categorical(name, list(choices)) for name, choices in space.items()}
        scores = []
        for ref in refs:
            out = validation_score(entry, ref, overrides, seed=seed, quick=quick, device=device)
            trial.set_user_attr(f"val_accuracy/{ref.name}", out["val_accuracy"])
            trial.set_user_attr(f"train_s/{ref.name}", round(out["train_s"], 2))
            scores.append(out["val_accuracy"])
        value = sum(scores) / len(scores)
        if progress:
            print(f"trial {trial.number}: val accuracy {value:.4f}  {overrides}", flush=True)
        return value

    study.optimize(objective, n_trials=n_trials, timeout=timeout, catch=())
    write_best(entry, study, results_root, storage, refs, quick)
    return study


def write_best(entry, study, results_root: Path, storage: str, refs: list, quick: bool) -> Path:
    """Store the study's best configuration where ``run --tuned`` finds it."""
    best = study.best_trial
    payload = {
        "entry": entry.name,
        "entry_version": entry.version,
        "task": entry.task,
        "objective": "mean validation accuracy (trial-level split)",
        "best_value": best.value,
        "overrides": dict(best.params),
        "best_trial": best.number,
        "per_recording": {k: v for k, v in best.user_attrs.items() if k.startswith("val_accuracy/")},
        "n_trials": len([t for t in study.trials if t.value is not None]),
        "study": study.study_name,
        "storage": storage,
        "recordings": [r.name for r in refs],
        "synthetic": all(getattr(r, "synthetic", False) for r in refs),
        "quick": quick,
        "created": store.now(),
        "versions": store.provenance(),
    }
    path = best_path(entry.name, results_root)
    store.atomic_write_json(path, payload)
    return path


def add_tune_parser(subparsers) -> argparse.ArgumentParser:
    """Add ``tune`` to the CLI's subcommands."""
    from bench.cli_common import data_dir_type, int_range, positive_float, seed_type

    p = subparsers.add_parser(
        "tune", help="Bayesian hyperparameter search (Optuna TPE) on validation accuracy",
        epilog="examples:\n  python -m bench tune bilstm-grasp --trials 30\n"
               "  python -m bench tune bilstm-grasp --trials 5 --quick -r sim_m_1\n"
               "  python -m bench tune bilstm-grasp --trials 50 --storage postgresql://host/db --study shared\n"
               "  python -m bench run bilstm-grasp --tuned       # train with the best configuration",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("entry", help="entry whose config declares a SEARCH_SPACE (e.g. bilstm-grasp)")
    p.add_argument("--trials", "-n", type=int_range(1, 100_000, "--trials"), default=20, help="trials to run in this call, >= 1 (default: %(default)s)")
    p.add_argument("--recording", "-r", nargs="+", metavar="NAME", help="recordings to score on (default: the first of the task)")
    p.add_argument("--data-dir", type=data_dir_type(), help="folder with real recordings (default: synthetic sessions)")
    p.add_argument("--results", type=Path, help="result store; the study and best config go to <results>/tune/")
    p.add_argument("--storage", help="Optuna storage URL to share a study (default: sqlite file under <results>/tune/)")
    p.add_argument("--study", help="study name (default: the entry's name); an existing study is resumed")
    p.add_argument("--seed", type=seed_type, default=0, help="sampler and training seed, 0..2**32-1 (default: 0)")
    p.add_argument("--timeout", type=positive_float("--timeout"), help="stop starting trials after this many seconds (> 0)")
    p.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    p.add_argument("--quick", action="store_true", help="few epochs per trial (smoke test); its own study name")
    p.set_defaults(func=tune_command)
    return p


def tune_command(args: argparse.Namespace) -> int:
    from bench import registry
    from bench.cli_common import recordings_for, results_root

    try:
        registry.discover()
        entry = registry.get(args.entry)
        search_space(entry)
        refs = recordings_for(entry.task, args)
    except (registry.RegistryError, ValueError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if not args.recording:
        refs = refs[:1]  # one session keeps a trial near a minute; name more with -r
    root = results_root(args)
    print(f"tuning {entry.name} on {', '.join(r.name for r in refs)}: {args.trials} trials")
    study = run_study(entry, refs, args.trials, results_root=root, storage=args.storage, study_name=args.study, seed=args.seed, quick=args.quick, device=args.device, timeout=args.timeout)
    best = study.best_trial
    print(f"best: val accuracy {best.value:.4f} (trial {best.number} of {len(study.trials)}) {best.params}")
    print(f"wrote {best_path(entry.name, root)}")
    return 0
