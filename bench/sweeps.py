"""Parameter sweeps through the runner: the WS x N window grid (the AEGRU paper's Fig. 3) and the
target pruning rate (Fig. 4). Every point is an ordinary stored run (tags ``sweep-window`` and
``sweep-prune``, config overrides in the file name); figures and tables are drawn from the stored
results only, so ``--plot-only`` redraws them without training.

    python -m bench sweep window aegru --ws 10 20 40 --n 1 3 5
    python -m bench sweep prune aegru --rates 0 0.1 0.2 0.3 0.4 0.5 0.6 0.7 0.8 0.9
"""

from __future__ import annotations

import argparse
import copy
import dataclasses
from collections import defaultdict
from pathlib import Path

import numpy as np

from bench import results as store
from bench.cli_common import add_run_options, recordings_for, results_root, tag_for
from bench.registry import BASE, Entry

SYNTHETIC_NOTE = "> Synthetic recordings (bench's generator), not real data: these figures are not comparable with published numbers."


# --- running ----------------------------------------------------------------------------------


def _entry(name: str) -> Entry:
    from bench import registry

    registry.discover()
    return registry.get(name)


def _specs(args: argparse.Namespace, entry: Entry, variants: list[str], points: list[dict], tag: str) -> list:
    from bench.runner import RunSpec

    refs = recordings_for(entry.task, args)
    return [
        RunSpec(entry, list(variants), ref, seed, quick=args.quick, device=args.device, overrides=dict(o), tag=tag, prime=args.prime, input_mode=args.input_mode)
        for ref in refs for seed in args.seeds for o in points
    ]


def memo_training(entry: Entry, ignore: tuple[str, ...]) -> Entry:
    """The entry with its training memoised per (recording, seed, config minus ``ignore``): sweep
    points that differ only in post-training settings (e.g. the pruning rate) train once. The
    runner seeds again before each variant, so results equal those of separate runs."""
    cache: dict = {}
    train = entry.train

    def memo_train(model, data, cfg):
        key = (data.recording.name, getattr(data.recording, "identity", {}).get("md5"), data.seed, repr(dataclasses.replace(cfg, **{f: getattr(entry.config, f) for f in ignore})))
        if key not in cache:
            report = train(model, data, cfg)
            extras = {k: v for k, v in model.__dict__.items() if k.startswith("_train")}
            cache.clear()  # one trained model in memory at a time (points are planned recording-major)
            cache[key] = (copy.deepcopy(model.state_dict()), copy.deepcopy(extras), report)
            return report
        state, extras, report = cache[key]
        model.load_state_dict(state)
        model.__dict__.update(copy.deepcopy(extras))
        return dict(report, memoised=True)

    return dataclasses.replace(entry, train=memo_train)


def _run(specs: list, args: argparse.Namespace) -> int:
    from bench.runner import run_specs

    outcomes = run_specs(specs, results_root(args), force=args.force, jobs=args.jobs)
    return 1 if any(o.status == "error" for o in outcomes) else 0


# --- reading stored points ----------------------------------------------------------------------


def load_points(root: Path, tag: str, row: str, keys: tuple[str, ...], recordings: list[str] | None = None) -> tuple[dict, bool]:
    """{point (values of ``keys``): {recording: {metric: [per-seed values]}}}, and whether any
    of them is synthetic."""
    out: dict = defaultdict(lambda: defaultdict(lambda: defaultdict(list)))
    synthetic = False
    for r in store.load(root, tag=tag):
        o = r.get("overrides") or {}
        if r.get("status") != "ok" or r.get("row") != row or set(o) != set(keys):
            continue
        if recordings and r["recording"] not in recordings:
            continue
        synthetic |= bool(r.get("synthetic"))
        cell = out[tuple(o[k] for k in keys)][r["recording"]]
        m = r.get("metrics", {})
        cell["R2"].append(float(m["R2"]))
        ops = m.get("SynapticOperations") or {}
        for name in ("Effective_MACs", "Dense"):
            if isinstance(ops.get(name), (int, float)):
                cell[name].append(float(ops[name]))
        if isinstance(m.get("ConnectionSparsity"), (int, float)):
            cell["ConnectionSparsity"].append(float(m["ConnectionSparsity"]))
    return out, synthetic


def point_mean(cells: dict, metric: str) -> tuple[float, float, int]:
    """Mean over recordings of the seed means; std (ddof 0) over recordings; recording count."""
    per_rec = [float(np.mean(c[metric])) for c in cells.values() if c.get(metric)]
    if not per_rec:
        return float("nan"), float("nan"), 0
    return float(np.mean(per_rec)), float(np.std(per_rec)), len(per_rec)


def _markdown(headers: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    return "\n".join(lines + ["| " + " | ".join(r) + " |" for r in rows])


def _header(synthetic: bool, title: str) -> str:
    return ((SYNTHETIC_NOTE + "\n\n") if synthetic else "") + title + "\n\n"


# --- window sweep (Fig. 3) ----------------------------------------------------------------------


def window_report(root: Path, entry_name: str, tag: str, recordings: list[str] | None = None) -> tuple[str, Path | None]:
    """Heatmap PNG + markdown of mean R2 over the stored WS x N grid; returns (markdown, png)."""
    pts, synthetic = load_points(root, tag, entry_name, ("n", "ws"), recordings)
    if not pts:
        return f"no stored window-sweep results for {entry_name} under {Path(root) / tag}\n", None
    ns = sorted({p[0] for p in pts})
    wss = sorted({p[1] for p in pts})
    grid = np.full((len(ns), len(wss)), np.nan)
    rows = []
    for i, n in enumerate(ns):
        row = [str(n)]
        for j, ws in enumerate(wss):
            cells = pts.get((n, ws))
            if cells:
                m, s, k = point_mean(cells, "R2")
                grid[i, j] = m
                row.append(f"{m:.3f} ± {s:.3f} ({k})")
            else:
                row.append("–")
        rows.append(row)
    kind = "synthetic sessions" if synthetic else "real recordings"
    md = _header(synthetic, f"{entry_name}: mean R2 over recordings (seeds averaged first) ± std over recordings (n recordings), WS x N window grid, {kind}")
    md += _markdown(["N \\ WS (samples)", *[f"{ws} ({ws * 4} ms)" for ws in wss]], rows) + "\n"
    png = _out_dir(root) / f"window_{entry_name}_{tag}.png"
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(1.6 + 1.1 * len(wss), 1.4 + 0.8 * len(ns)))
    im = ax.imshow(grid, cmap="viridis", origin="lower", aspect="auto")
    for i in range(len(ns)):
        for j in range(len(wss)):
            if np.isfinite(grid[i, j]):
                ax.text(j, i, f"{grid[i, j]:.3f}", ha="center", va="center", color="w" if grid[i, j] < np.nanmean(grid) else "k", fontsize=9)
    ax.set_xticks(range(len(wss)), [str(w) for w in wss])
    ax.set_yticks(range(len(ns)), [str(n) for n in ns])
    ax.set_xlabel("window size WS (4 ms samples)")
    ax.set_ylabel("number of windows N")
    ax.set_title(f"{entry_name}: mean R2 ({kind})", fontsize=10)
    fig.colorbar(im, ax=ax, label="R2")
    fig.tight_layout()
    fig.savefig(png, dpi=120)
    plt.close(fig)
    (png.with_suffix(".md")).write_text(md)
    return md, png


def cmd_window(args: argparse.Namespace) -> int:
    tag = tag_for(args, "sweep-window")
    rc = 0
    if not args.plot_only:
        entry = _entry(args.entry)
        points = [{"ws": ws, "n": n} for ws in args.ws for n in args.n]
        rc = _run(_specs(args, entry, [BASE], points, tag), args)
    md, png = window_report(results_root(args), args.entry, tag, args.recording)
    print(md + (f"\nwrote {png} and {png.with_suffix('.md')}" if png else ""))
    return rc


# --- pruning sweep (Fig. 4) ---------------------------------------------------------------------


def prune_report(root: Path, entry_name: str, variant: str, tag: str, recordings: list[str] | None = None) -> tuple[str, Path | None]:
    """R2 and effective MACs against the target pruning rate; returns (markdown, png)."""
    row = f"{entry_name}-{variant}"
    pts, synthetic = load_points(root, tag, row, ("prune_rate",), recordings)
    if not pts:
        return f"no stored pruning-sweep results for {row} under {Path(root) / tag}\n", None
    rates = sorted(p[0] for p in pts)
    stats = {r: {m: point_mean(pts[(r,)], m) for m in ("R2", "Effective_MACs", "Dense", "ConnectionSparsity")} for r in rates}
    rows = [[f"{r:g}", f"{s['R2'][0]:.3f} ± {s['R2'][1]:.3f}", f"{s['Effective_MACs'][0] / 1e3:.1f}", f"{s['Dense'][0] / 1e3:.1f}", f"{s['ConnectionSparsity'][0]:.3f}", str(s["R2"][2])] for r, s in stats.items()]
    kind = "synthetic sessions" if synthetic else "real recordings"
    md = _header(synthetic, f"{row}: R2 and NeuroBench effective MACs against the target pruning rate (means over recordings, seeds averaged first), {kind}")
    md += _markdown(["target rate", "R2", "effective MACs (k)", "dense (k)", "connection sparsity", "recordings"], rows) + "\n"
    png = _out_dir(root) / f"prune_{row}_{tag}.png"
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    r2 = np.array([stats[r]["R2"][0] for r in rates])
    r2s = np.array([stats[r]["R2"][1] for r in rates])
    macs = np.array([stats[r]["Effective_MACs"][0] for r in rates]) / 1e3
    fig, ax = plt.subplots(figsize=(6, 3.8))
    ax.errorbar(rates, r2, yerr=r2s, marker="o", color="tab:blue", capsize=3)
    ax.set_xlabel("target pruning rate")
    ax.set_ylabel("R2", color="tab:blue")
    ax2 = ax.twinx()
    ax2.plot(rates, macs, marker="s", color="tab:red")
    ax2.set_ylabel("effective MACs (k)", color="tab:red")
    ax.set_title(f"{row}: R2 and effective MACs ({kind})", fontsize=10)
    fig.tight_layout()
    fig.savefig(png, dpi=120)
    plt.close(fig)
    png.with_suffix(".md").write_text(md)
    return md, png


def cmd_prune(args: argparse.Namespace) -> int:
    tag = tag_for(args, "sweep-prune")
    rc = 0
    if not args.plot_only:
        entry = _entry(args.entry)
        entry.variant(args.variant)  # a clear error for an unknown variant
        if "prune_rate" not in {f.name for f in dataclasses.fields(entry.config)}:
            raise SystemExit(f"entry {entry.name!r} has no config field 'prune_rate' to sweep")
        points = [{"prune_rate": float(r)} for r in args.rates]
        rc = _run(_specs(args, memo_training(entry, ("prune_rate",)), [args.variant], points, tag), args)
    md, png = prune_report(results_root(args), args.entry, args.variant, tag, args.recording)
    print(md + (f"\nwrote {png} and {png.with_suffix('.md')}" if png else ""))
    return rc


def _out_dir(root: Path) -> Path:
    d = Path(root) / "sweeps"
    d.mkdir(parents=True, exist_ok=True)
    return d


def _rate(text: str) -> float:
    v = float(text)
    if not 0.0 <= v <= 1.0:
        raise argparse.ArgumentTypeError(f"pruning rate must lie in [0, 1], got {text}")
    return v


def add_sweep_parsers(subparsers) -> None:
    """Add ``window`` and ``prune`` to the ``sweep`` command's subparsers."""
    w = subparsers.add_parser("window", help="WS x N window grid: heatmap of mean R2 (AEGRU paper Fig. 3)",
                              epilog="example: python -m bench sweep window aegru --ws 10 20 40 --n 1 3 5 --quick", formatter_class=argparse.RawDescriptionHelpFormatter)
    w.add_argument("entry", help="entry whose config has fields ws and n (e.g. aegru)")
    w.add_argument("--ws", nargs="+", type=int, default=[10, 20, 40], help="window sizes in 4 ms samples (default: %(default)s)")
    w.add_argument("--n", nargs="+", type=int, default=[1, 3, 5], help="numbers of windows (default: %(default)s)")
    w.add_argument("--plot-only", action="store_true", help="redraw from stored results, no training")
    add_run_options(w)
    w.set_defaults(func=cmd_window)
    p = subparsers.add_parser("prune", help="target pruning rate: R2 and effective MACs (AEGRU paper Fig. 4)",
                              epilog="example: python -m bench sweep prune aegru --rates 0 0.25 0.5 0.75 --quick", formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("entry", help="entry with a pruning variant reading cfg.prune_rate (e.g. aegru)")
    p.add_argument("--rates", nargs="+", type=_rate, default=[0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9], help="target rates (default: %(default)s)")
    p.add_argument("--variant", default="pruned", help="the entry's pruning variant (default: %(default)s)")
    p.add_argument("--plot-only", action="store_true", help="redraw from stored results, no training")
    add_run_options(p)
    p.set_defaults(func=cmd_prune)


__all__ = ["add_sweep_parsers", "memo_training", "load_points", "point_mean", "window_report", "prune_report", "cmd_window", "cmd_prune"]
