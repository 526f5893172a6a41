"""Parameter sweeps through the runner: the WS x N window grid (the AEGRU paper's Fig. 3) and the
target pruning rate (Fig. 4). Every point is an ordinary stored run (tags ``sweep-window`` and
``sweep-prune``, config overrides in the file name); figures and tables are drawn from the stored
results only, so ``--plot-only`` redraws them without training.

    python -m bench sweep window aegru --ws 10 20 40 --n 1 3 5
    python -m bench sweep prune aegru --rates 0 0.1 0.2 0.3 0.4 0.5 0.6 0.7 0.8 0.9
"""

from __future__ import annotations

import argparse
import dataclasses

from bench.cli_common import (
    add_run_options,
    float_range,
    int_range,
    jobs_of,
    recordings_for,
    results_root,
    tag_for,
)
from bench.registry import BASE, Entry
from bench.reports.grasp import TRAINSIZE_TAG, write_trainsize_table
from bench.reports.sweeps import prune_report, window_report

# --- running ----------------------------------------------------------------------------------


def _entry(name: str) -> Entry:
    from bench import registry

    registry.discover()
    return registry.get(name)


def _specs(args: argparse.Namespace, entry: Entry, variants: list[str], points: list[dict], tag: str, share_training: tuple[str, ...] = ()) -> list:
    from bench.execution import RunSpec
    from bench.results import check_name

    refs = recordings_for(entry.task, args)
    for ref in refs:
        check_name("recording name", ref.name)
    return [
        RunSpec(entry, list(variants), ref, seed, quick=args.quick, device=args.device, overrides=dict(o), tag=tag, prime=args.prime,
                input_mode=args.input_mode, share_training=share_training)
        for ref in refs for seed in args.seeds for o in points
    ]


def _run(specs: list, args: argparse.Namespace) -> int:
    from bench.execution import run_all

    outcomes = run_all(specs, results_root(args), force=args.force, jobs=jobs_of(args), threads=args.threads)
    return 1 if any(o.status == "error" for o in outcomes) else 0


# --- window sweep (Fig. 3) ----------------------------------------------------------------------


def cmd_window(args: argparse.Namespace) -> int:
    tag = tag_for(args, "sweep-window")
    rc = 0
    entry = _entry(args.entry)  # a clear error for an unknown name, also with --plot-only
    missing = {"ws", "n"} - {f.name for f in dataclasses.fields(entry.config)}
    if missing:
        raise ValueError(f"entry {entry.name!r} has no config field(s) {sorted(missing)} to sweep (its windows are fixed)")
    if not args.plot_only:
        points = [{"ws": ws, "n": n} for ws in args.ws for n in args.n]
        rc = _run(_specs(args, entry, [BASE], points, tag), args)
    md, png = window_report(results_root(args), args.entry, tag, args.recording)
    print(md + (f"\nwrote {png} and {png.with_suffix('.md')}" if png else ""))
    return rc


# --- pruning sweep (Fig. 4) ---------------------------------------------------------------------


def cmd_prune(args: argparse.Namespace) -> int:
    tag = tag_for(args, "sweep-prune")
    rc = 0
    entry = _entry(args.entry)
    entry.variant(args.variant)  # a clear error for an unknown variant
    if "prune_rate" not in {f.name for f in dataclasses.fields(entry.config)}:
        raise ValueError(f"entry {entry.name!r} has no config field 'prune_rate' to sweep")
    if not args.plot_only:
        points = [{"prune_rate": float(r)} for r in args.rates]
        # the rate only changes the pruning variant: one training per (recording, seed)
        rc = _run(_specs(args, entry, [args.variant], points, tag, share_training=("prune_rate",)), args)
    md, png = prune_report(results_root(args), args.entry, args.variant, tag, args.recording)
    print(md + (f"\nwrote {png} and {png.with_suffix('.md')}" if png else ""))
    return rc


def add_sweep_parsers(subparsers) -> None:
    """Add ``window`` and ``prune`` to the ``sweep`` command's subparsers."""
    w = subparsers.add_parser("window", help="WS x N window grid: heatmap of mean R2 (AEGRU paper Fig. 3)",
                              epilog="example: python -m bench sweep window aegru --ws 10 20 40 --n 1 3 5 --quick", formatter_class=argparse.RawDescriptionHelpFormatter)
    w.add_argument("entry", help="entry whose config has fields ws and n (e.g. aegru)")
    w.add_argument("--ws", nargs="+", type=int_range(1, 100_000, "--ws"), default=[10, 20, 40], help="window sizes in 4 ms samples, >= 1 (default: %(default)s)")
    w.add_argument("--n", nargs="+", type=int_range(1, 10_000, "--n"), default=[1, 3, 5], help="numbers of windows, >= 1 (default: %(default)s)")
    w.add_argument("--plot-only", action="store_true", help="redraw from stored results, no training")
    add_run_options(w)
    w.set_defaults(func=cmd_window)
    p = subparsers.add_parser("prune", help="target pruning rate: R2 and effective MACs (AEGRU paper Fig. 4)",
                              epilog="example: python -m bench sweep prune aegru --rates 0 0.25 0.5 0.75 --quick", formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("entry", help="entry with a pruning variant reading cfg.prune_rate (e.g. aegru)")
    p.add_argument("--rates", nargs="+", type=float_range(0.0, 1.0, hi_open=True, what="pruning rate"), default=[0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9], help="target rates (default: %(default)s)")
    p.add_argument("--variant", default="pruned", help="the entry's pruning variant (default: %(default)s)")
    p.add_argument("--plot-only", action="store_true", help="redraw from stored results, no training")
    add_run_options(p)
    p.set_defaults(func=cmd_prune)
    add_trainsize_parser(subparsers)


# --- training-set size (grasp paper Table 5) ---------------------------------------------------

SHARES = (0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2)


def add_trainsize_parser(subparsers) -> argparse.ArgumentParser:
    """Add ``trainsize`` (the grasp paper's Table 5) to the sweep subcommands."""
    p = subparsers.add_parser(
        "trainsize", help="grasp: accuracy as the train + validation share of trials falls (Table 5)",
        epilog="example:\n  python -m bench sweep trainsize bilstm-grasp --shares 0.8 0.7 0.6 0.5 0.4 0.3 0.2",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("names", nargs="+", help="grasp entries (e.g. bilstm-grasp)")
    p.add_argument("--shares", nargs="+", type=float_range(0.0, 1.0, lo_open=True, hi_open=True, what="train + validation share"),
                   default=list(SHARES), metavar="S", help="train + validation shares of the trials, in (0, 1) (default: %(default)s)")
    add_run_options(p)
    p.set_defaults(func=cmd_trainsize)
    return p


def cmd_trainsize(args: argparse.Namespace) -> int:
    from bench import registry
    from bench.execution import RunSpec, run_all
    from bench.results import check_name

    registry.discover()
    selected = registry.resolve(args.names)
    bad = [e.name for e, _ in selected if not e.task.startswith("grasp")]
    if bad:
        raise ValueError(f"trainsize sweeps grasp entries only; {bad} are not")
    wrong = [s for s in args.shares if not 0 < s < 1]
    if wrong:
        raise ValueError(f"--shares must lie strictly between 0 and 1; got {wrong}")
    refs = {task: recordings_for(task, args) for task in {e.task for e, _ in selected}}
    for ref in (r for rs in refs.values() for r in rs):
        check_name("recording name", ref.name)
    tag = tag_for(args, TRAINSIZE_TAG)
    specs = [RunSpec(entry, list(variants), ref, seed, quick=args.quick, device=args.device, tag=tag, load_options={"trainval_share": float(share)})
             for entry, variants in selected for share in args.shares for ref in refs[entry.task] for seed in args.seeds]
    root = results_root(args)
    outcomes = run_all(specs, root, force=args.force, jobs=jobs_of(args), threads=args.threads)
    for path in write_trainsize_table(root, root, tag):
        print(f"wrote {path}")
    return 1 if any(o.status == "error" for o in outcomes) else 0


__all__ = ["add_sweep_parsers", "add_trainsize_parser", "window_report", "prune_report", "cmd_window", "cmd_prune", "cmd_trainsize"]
