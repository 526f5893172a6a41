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
  python -m bench run ann2d snn3d --weights published --data-dir ~/data/zenodo
  python -m bench table                                 # regenerate results/*.md from stored results
  python -m bench table --published                     # Table II from the published figures alone
  python -m bench figures                               # Pareto figures (PNG) from stored results
  python -m bench site                                  # offline HTML site: results/site/index.html
  python -m bench data synth --out /tmp/synth           # write the synthetic sessions as .mat files
  python -m bench data download indy_20160630_01 --data-dir ~/data/zenodo
  python -m bench sweep window aegru --ws 10 20 40 --n 1 3 5
  python -m bench sweep prune aegru --rates 0 0.25 0.5 0.75
  python -m bench tune bilstm-grasp --trials 20
  python -m bench gate                                  # CI R2 gate (quick config)
  python -m bench export aegru -r sim_indy_1 --format onnx   # verified ONNX / NIR export
  python -m bench evaluate aegru -r sim_indy_1 --from-results  # re-score stored checkpoints
"""


def build_parser() -> argparse.ArgumentParser:
    from bench.cli_common import add_run_options, data_dir_type, int_range, retries_type, task_type

    p = argparse.ArgumentParser(prog="python -m bench", description="Leaderboard benchmarking of neural decoders with NeuroBench metrics.", epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

    s = sub.add_parser("list", help="list registered entries (name, task, kind)")
    s.add_argument("--task", type=task_type, help="only this task")
    s.add_argument("--verbose", "-v", action="store_true", help="also variants, windows and source file")
    s.set_defaults(func=cmd_list)

    s = sub.add_parser("run", help="train and evaluate entries; store one result per run", epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    s.add_argument("names", nargs="*", help="entries or rows (aegru, aegru-pruned, aegru:base)")
    s.add_argument("--all", action="store_true", help="every registered entry")
    s.add_argument("--task", type=task_type, help="only entries of this task (with --all)")
    s.add_argument("--weights", choices=["published", "neurobench"], help="evaluate the published weights instead of training (real NeuroBench sessions only; 'neurobench' is an alias)")
    s.add_argument("--executor", choices=["local", "ray"], default="local", help="where parallel runs go (with --jobs > 1 or ray)")
    s.add_argument("--address", help="Ray cluster address (default: a local Ray instance)")
    s.add_argument("--retries", type=retries_type, default=0, help="retries of a run whose worker died, >= 0 (default: 0)")
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

    s = sub.add_parser("site", help="static HTML site (sortable leaderboards, trade-off plots) from stored results")
    s.add_argument("--results", type=Path, help="result store (default: results/)")
    s.add_argument("--out", type=Path, help="folder for the pages (default: <results>/site)")
    s.add_argument("--tag", default="leaderboard", help="result namespace")
    s.set_defaults(func=cmd_site)

    s = sub.add_parser("data", help="download real recordings or write synthetic ones")
    dsub = s.add_subparsers(dest="data_command", metavar="ACTION")
    d = dsub.add_parser("download", help="fetch NeuroBench's sessions from Zenodo (md5-verified, resumable)")
    d.add_argument("sessions", nargs="*", help="session names (default: all six)")
    d.add_argument("--data-dir", type=data_dir_type(must_exist=False), default=Path("data"), help="destination folder (default: ./data)")
    d.add_argument("--base-url", help="mirror of zenodo.org/record/583331/files (also $BENCH_ZENODO_URL)")
    d.set_defaults(func=cmd_download)
    d = dsub.add_parser("synth", help="write synthetic sessions in the real file formats")
    d.add_argument("--task", choices=["reaching", "grasp"], default="reaching")
    d.add_argument("--out", type=Path, help="output folder (default: the cache, where runs look for them)")
    d.add_argument("--scale", choices=["default", "full"], default="default", help="reaching: a few minutes (default) or real length")
    d.add_argument("--seed", type=int_range(0, 2**31 - 1, "--seed"), help="override the sessions' seeds (0..2147483647; each session adds its index)")
    d.add_argument("--names", nargs="+", help="only these sessions")
    d.set_defaults(func=cmd_synth)

    s = sub.add_parser("sweep", help="parameter sweeps (window, prune, trainsize)")
    ssub = s.add_subparsers(dest="sweep_command", metavar="SWEEP")
    from bench.sweeps import add_sweep_parsers
    from bench.tune import add_tune_parser

    add_sweep_parsers(ssub)

    add_tune_parser(sub)

    s = sub.add_parser("gate", help="CI R2 gate: quick runs compared with tests/gate_reference.json")
    s.add_argument("--update", action="store_true", help="rewrite the reference with the current figures")
    s.add_argument("names", nargs="*", help="only these rows")
    s.set_defaults(func=cmd_gate)

    from bench.deploy.commands import add_parsers as add_deploy_parsers

    add_deploy_parsers(sub)  # export, evaluate
    return p


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt as exc:
        text = str(exc) or "interrupted: completed results are stored; run the same command again to finish"
        print(f"\n{text}", file=sys.stderr)
        return 130
    except _user_errors() as exc:
        print(f"error: {_describe(exc)}", file=sys.stderr)
        return 2


def _user_errors() -> tuple[type[BaseException], ...]:
    """What a user's input or environment causes: shown as one ``error:`` line, exit code 2.
    (The readers' RecordingError and GraspDataError are ValueErrors.)"""
    from bench.registry import RegistryError
    from bench.results import StoreError

    return (RegistryError, StoreError, ValueError, OSError)


def _describe(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.filename and exc.strerror:
        return f"{exc.filename}: {exc.strerror}"
    text = str(exc)
    return text[1:-1] if isinstance(exc, KeyError) and len(text) > 1 and text[0] == text[-1] == "'" else text


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
    from bench.cli_common import jobs_of, recordings_by_task, results_root, tag_for
    from bench.execution import plan, run_all
    from bench.results import check_name

    _discover()
    if args.all:
        selected = [(e, e.variant_names()) for e in registry.entries(args.task)]
    elif args.names:
        selected = registry.resolve(args.names)
        if args.task:
            selected = [(e, v) for e, v in selected if e.task == args.task]
    else:
        print("error: name entries to run, or --all (see `python -m bench list`)", file=sys.stderr)
        return 2
    if not selected:
        print(f"error: no registered entries for task {args.task!r}", file=sys.stderr)
        return 2
    weights = "published" if args.weights else None
    if weights:
        without = [e.name for e, _ in selected if e.published_weights is None]
        if without and not args.all:
            print(f"error: no published weights for {', '.join(without)} (entries with them: "
                  f"{', '.join(e.name for e in registry.entries() if e.published_weights) or 'none'})", file=sys.stderr)
            return 2
        selected = [(e, v) for e, v in selected if e.published_weights is not None]
        if not selected:
            print("error: none of the selected entries has published weights", file=sys.stderr)
            return 2
        if args.data_dir is None:
            print("error: --weights published needs the real NeuroBench sessions (--data-dir)", file=sys.stderr)
            return 2
    recordings = recordings_by_task(sorted({e.task for e, _ in selected}), args)
    selected = [(e, v) for e, v in selected if e.task in recordings]
    for refs in recordings.values():
        for ref in refs:
            check_name("recording name", ref.name)
    if weights:
        from bench.data.sessions import KNOWN

        bad = sorted({r.name for refs in recordings.values() for r in refs if r.synthetic or r.name not in KNOWN})
        if bad:
            print(f"error: published weights exist only for the real NeuroBench sessions ({', '.join(KNOWN)}); "
                  f"not for {', '.join(bad)}", file=sys.stderr)
            return 2
    root = results_root(args)
    tag = tag_for(args, "tuned" if args.tuned else "leaderboard")
    specs = plan(selected, recordings, args.seeds, quick=args.quick, quick_data=args.quick, device=args.device, weights=weights, tag=tag, prime=args.prime, input_mode=args.input_mode, latency=not args.no_latency)
    if args.tuned:
        from bench.tune import best_overrides

        for spec in specs:
            spec.overrides = best_overrides(spec.entry.name, root)
    if not specs:
        print("nothing to run (no recordings for the selected entries' tasks)", file=sys.stderr)
        return 2
    print(f"results -> {root / tag}")
    outcomes = run_all(specs, root, executor=args.executor, jobs=jobs_of(args), force=args.force, retries=args.retries,
                       threads=args.threads, address=args.address)
    failed = [o for o in outcomes if o.status == "error"]
    done = sum(o.status == "ok" for o in outcomes)
    reused = sum(o.status == "skipped" for o in outcomes)
    print(f"done: {done} ran, {reused} re-used, {len(failed)} failed")
    for o in failed:
        print(f"  FAILED {o.spec.label()}: {o.message}", file=sys.stderr)
    if not args.no_tables:
        from bench.reports import write_all

        for path in write_all(root, root, tag=tag):
            print(f"wrote {path}")
    return 1 if failed else 0


def cmd_table(args) -> int:
    from bench import paths
    from bench.reports import write_all
    from bench.reports.collect import STORE_ERRORS, load_results
    from bench.reports.reaching import published_text

    root = args.results or paths.results_dir()
    if args.published:
        try:  # bench's own runs on real recordings fill the challenge field's TBC cells
            results = load_results(root, args.tag, task="reaching", include_errors=False)[0]
        except STORE_ERRORS:
            results = []
        print(published_text(results))
        return 0
    for path in write_all(root, args.out or root, tag=args.tag):
        print(f"wrote {path}")
    return 0


def cmd_site(args) -> int:
    from bench import paths
    from bench.reports import site_dir, write_site

    root = args.results or paths.results_dir()
    written = write_site(root, args.out or site_dir(root, args.tag), tag=args.tag)
    index = next(p for p in written if p.name == "index.html")
    print(f"wrote {len(written)} pages ({sum(p.stat().st_size for p in written) / 1000:.0f} kB in all); open {index}")
    return 0


def cmd_figures(args) -> int:
    from bench import paths
    from bench.reports import write_figures, write_sweep_reports

    root = args.results or paths.results_dir()
    out = args.out or Path(root) / "figures"
    written = write_figures(root, out, tag=args.tag) + write_sweep_reports(root, Path(root) / "sweeps", tag=args.tag)
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
    from bench.cli_common import suggest

    if args.out is not None and args.out.exists() and not args.out.is_dir():
        raise ValueError(f"{args.out} is a file, not a folder (--out)")
    if args.task == "grasp":
        from bench.data.synth_grasp import DEFAULT_GRASP_SESSIONS as sessions
    else:
        from bench.data.synth_reaching import DEFAULT_SESSIONS as sessions
    known = [c.name for c in sessions]
    for name in args.names or []:
        if name.removesuffix(".mat") not in known:
            raise ValueError(suggest(name, known, f"synthetic {args.task} session"))
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
