"""Command line: ``python -m bench <command>``. Heavy imports happen inside commands."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

EXAMPLES = """\
examples:
  python -m bench list                                  # every registered entry
  python -m bench run --all                             # full leaderboard on the synthetic default sessions
  python -m bench run ann2d aegru --seeds 0 1 2 3 4     # some entries, five seeds
  python -m bench run --all --quick -r sim_indy_1       # smoke run on one session
  python -m bench run --all --data-dir ~/data/zenodo    # the real recordings (see `data download`)
  python -m bench run ann2d snn3d --weights neurobench --data-dir ~/data/zenodo
  python -m bench table                                 # regenerate results/*.md from stored results
  python -m bench table --published                     # Table II from the published figures alone
  python -m bench figures                               # Pareto figures (PNG) from stored results
  python -m bench data synth --out /tmp/synth           # write the synthetic sessions as .mat files
  python -m bench data download indy_20160630_01 --data-dir ~/data/zenodo
  python -m bench sweep window aegru --ws 10 20 40 --n 1 3 5
  python -m bench sweep prune aegru --rates 0 0.25 0.5 0.75
  python -m bench tune bilstm-grasp --trials 20
  python -m bench gate                                  # CI R2 gate (quick config)
"""


def build_parser() -> argparse.ArgumentParser:
    from bench.cli_common import add_run_options

    p = argparse.ArgumentParser(prog="python -m bench", description="Leaderboard benchmarking of neural decoders with NeuroBench metrics.", epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

    s = sub.add_parser("list", help="list registered entries (name, task, kind)")
    s.add_argument("--task", help="only this task")
    s.add_argument("--verbose", "-v", action="store_true", help="also variants, windows and source file")
    s.set_defaults(func=cmd_list)

    s = sub.add_parser("run", help="train and evaluate entries; store one result per run", epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    s.add_argument("names", nargs="*", help="entries or rows (aegru, aegru-pruned, aegru:base)")
    s.add_argument("--all", action="store_true", help="every registered entry")
    s.add_argument("--task", help="only entries of this task (with --all)")
    s.add_argument("--weights", choices=["neurobench"], help="evaluate NeuroBench's published weights instead of training (real sessions only)")
    s.add_argument("--executor", choices=["local", "ray"], default="local", help="where parallel runs go (with --jobs > 1 or ray)")
    s.add_argument("--address", help="Ray cluster address (default: a local Ray instance)")
    s.add_argument("--retries", type=int, default=0, help="retries of a run whose worker died")
    s.add_argument("--no-tables", action="store_true", help="do not regenerate the tables afterwards")
    s.add_argument("--tuned", action="store_true", help="use the best configuration found by `python -m bench tune` (stored under the 'tuned' tag)")
    add_run_options(s)
    s.set_defaults(func=cmd_run)

    s = sub.add_parser("table", help="regenerate result tables (markdown) from stored results")
    s.add_argument("--results", type=Path, help="result store (default: results/)")
    s.add_argument("--out", type=Path, help="where to write the .md files (default: the result store)")
    s.add_argument("--published", action="store_true", help="print the tables built from the published figures alone")
    s.add_argument("--tag", default="leaderboard", help="result namespace (leaderboard, quick, ...)")
    s.set_defaults(func=cmd_table)

    s = sub.add_parser("figures", help="Pareto figures (PNG) from stored results")
    s.add_argument("--results", type=Path, help="result store (default: results/)")
    s.add_argument("--out", type=Path, help="folder for the PNGs (default: <results>/figures)")
    s.add_argument("--tag", default="leaderboard", help="result namespace")
    s.set_defaults(func=cmd_figures)

    s = sub.add_parser("data", help="download real recordings or write synthetic ones")
    dsub = s.add_subparsers(dest="data_command", metavar="ACTION")
    d = dsub.add_parser("download", help="fetch NeuroBench's sessions from Zenodo (md5-verified, resumable)")
    d.add_argument("sessions", nargs="*", help="session names (default: all six)")
    d.add_argument("--data-dir", type=Path, default=Path("data"), help="destination folder (default: ./data)")
    d.add_argument("--base-url", help="mirror of zenodo.org/record/583331/files (also $BENCH_ZENODO_URL)")
    d.set_defaults(func=cmd_download)
    d = dsub.add_parser("synth", help="write synthetic sessions in the real file formats")
    d.add_argument("--task", choices=["reaching", "grasp"], default="reaching")
    d.add_argument("--out", type=Path, help="output folder (default: the cache, where runs look for them)")
    d.add_argument("--scale", choices=["default", "full"], default="default", help="reaching: a few minutes (default) or real length")
    d.add_argument("--seed", type=int, help="override the sessions' seeds")
    d.add_argument("--names", nargs="+", help="only these sessions")
    d.set_defaults(func=cmd_synth)

    s = sub.add_parser("sweep", help="parameter sweeps (window, prune, trainsize)")
    ssub = s.add_subparsers(dest="sweep_command", metavar="SWEEP")
    _optional_parsers(ssub, [("bench.sweeps", "add_sweep_parsers"), ("bench.grasp_reports", "add_trainsize_parser")])

    _optional_parsers(sub, [("bench.tune", "add_tune_parser")])

    s = sub.add_parser("gate", help="CI R2 gate: quick runs compared with tests/gate_reference.json")
    s.add_argument("--update", action="store_true", help="rewrite the reference with the current figures")
    s.add_argument("names", nargs="*", help="only these rows")
    s.set_defaults(func=cmd_gate)
    return p


def _optional_parsers(sub, hooks) -> None:
    from bench.plugins import optional_module

    for module, fn in hooks:
        mod = optional_module(module)
        if mod is not None:
            getattr(mod, fn)(sub)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("interrupted: completed results are stored; run the same command again to finish", file=sys.stderr)
        return 130


def _discover():
    from bench import registry

    try:
        return registry.discover()
    except registry.RegistryError as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise SystemExit(2) from exc


def cmd_list(args) -> int:
    from bench import registry

    _discover()
    for e in registry.entries(args.task):
        line = f"{e.name:<22} {e.task:<13} {e.kind}"
        if args.verbose:
            win = e.windows_for(e.config).describe() if e.windows is not None else "-"
            line += f"  variants={','.join(e.variant_names())}  windows={win}  {Path(e.source).name}"
        print(line)
    return 0


def cmd_run(args) -> int:
    from bench import registry
    from bench.cli_common import recordings_for, results_root, tag_for
    from bench.runner import plan, run_specs

    _discover()
    try:
        if args.all:
            selected = [(e, e.variant_names()) for e in registry.entries(args.task)]
        elif args.names:
            selected = registry.resolve(args.names)
        else:
            print("error: name entries to run, or --all (see `python -m bench list`)", file=sys.stderr)
            return 2
    except registry.RegistryError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.weights:
        selected = [(e, v) for e, v in selected if e.published_weights is not None]
        if not selected:
            print("error: none of the selected entries has published weights", file=sys.stderr)
            return 2
        if args.data_dir is None:
            print("error: --weights neurobench needs the real sessions (--data-dir)", file=sys.stderr)
            return 2
    recordings = {}
    for task in sorted({e.task for e, _ in selected}):
        try:
            refs = recordings_for(task, args)
        except (ValueError, FileNotFoundError, KeyError) as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        if args.weights:
            from bench.data.sessions import KNOWN

            refs = [r for r in refs if r.name in KNOWN]
        recordings[task] = refs
    root = results_root(args)
    tag = tag_for(args, "tuned" if args.tuned else "leaderboard")
    specs = plan(selected, recordings, args.seeds, quick=args.quick, device=args.device, weights=args.weights, tag=tag, prime=args.prime, input_mode=args.input_mode)
    if args.tuned:
        from bench.tune import best_overrides

        for spec in specs:
            spec.overrides = best_overrides(spec.entry.name, root)
    if not specs:
        print("nothing to run (no recordings for the selected entries' tasks)", file=sys.stderr)
        return 2
    print(f"{len(specs)} runs -> {root / tag}")
    if args.jobs > 1 or args.executor == "ray":
        from bench.parallel import run_parallel

        outcomes = run_parallel(specs, root, force=args.force, jobs=max(1, args.jobs), progress=True, executor=args.executor, address=args.address, retries=args.retries)
    else:
        import torch

        torch.set_num_threads(max(1, args.threads))
        outcomes = run_specs(specs, root, force=args.force)
    failed = [o for o in outcomes if o.status == "error"]
    done = sum(o.status == "ok" for o in outcomes)
    skipped = sum(o.status == "skipped" for o in outcomes)
    print(f"done: {done} ran, {skipped} already complete, {len(failed)} failed")
    for o in failed:
        print(f"  FAILED {o.spec.label()}: {o.message}", file=sys.stderr)
    if not args.no_tables:
        from bench.tables import write_all

        for path in write_all(root, root, tag=tag):
            print(f"wrote {path}")
    return 1 if failed else 0


def cmd_table(args) -> int:
    from bench import paths
    from bench.tables import published_table2, write_all

    if args.published:
        print(published_table2())
        try:
            from bench.table3 import published_table3

            print()
            print(published_table3())
        except ImportError:
            pass
        return 0
    root = args.results or paths.results_dir()
    for path in write_all(root, args.out or root, tag=args.tag):
        print(f"wrote {path}")
    return 0


def cmd_figures(args) -> int:
    from bench import paths
    from bench.figures import write_figures

    root = args.results or paths.results_dir()
    out = args.out or Path(root) / "figures"
    written = write_figures(root, out, tag=args.tag)
    for path in written:
        print(f"wrote {path}")
    if not written:
        print("no stored results to plot (run `python -m bench run --all` first)", file=sys.stderr)
        return 1
    return 0


def cmd_download(args) -> int:
    from bench.data.download import download_command

    return download_command(args.sessions or None, args.data_dir, args.base_url)


def cmd_synth(args) -> int:
    if args.task == "grasp":
        from bench.data.synth_grasp import synth_grasp_command

        synth_grasp_command(args.out, args.seed, args.names)
        return 0
    from bench.data.synth_reaching import synth_command

    synth_command(args.out, args.scale, args.seed, args.names)
    return 0


def cmd_gate(args) -> int:
    from bench.gate import gate_command

    return gate_command(args.names or None, update=args.update)
