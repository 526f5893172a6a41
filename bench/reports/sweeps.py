"""Reports of the sweeps (bench.sweeps runs them): the WS x N window grid (the AEGRU paper's
Fig. 3) and R2 / effective MACs against the target pruning rate (Fig. 4), from stored points.

Every point is an ordinary stored run under a sweep tag (``sweep-window[-quick]``,
``sweep-prune[-quick]``) with its config overrides; a point's figure is the mean over
recordings of the seed means, ± the std (ddof 0) over recordings.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bench.reports import collect
from bench.reports.format import Table, synthetic_notes, write_text

WINDOW_TAG = "sweep-window"
PRUNE_TAG = "sweep-prune"
WINDOW_KEYS = ("n", "ws")
PRUNE_KEYS = ("prune_rate",)


def load_points(root: Path, tag: str, row: str, keys: tuple[str, ...], recordings: list[str] | None = None) -> tuple[dict, bool]:
    """{point (values of ``keys``): {recording: {figure: [per-seed values]}}} of one row, and
    whether any of them is synthetic."""
    out: dict = defaultdict(lambda: defaultdict(lambda: defaultdict(list)))
    synthetic = False
    results, _ = collect.load_results(root, tag, include_errors=False)
    for r in results:
        o = r.get("overrides") or {}
        if not collect.is_ok(r) or r.get("row") != row or set(o) != set(keys):
            continue
        if recordings and r["recording"] not in recordings:
            continue
        synthetic |= bool(r.get("synthetic"))
        cell = out[tuple(o[k] for k in keys)][r["recording"]]
        for name, v in collect.figures_of(r).items():
            cell[name].append(v)
    return out, synthetic


def point_mean(cells: dict, name: str) -> tuple[float, float, int]:
    """Mean over recordings of the seed means; std (ddof 0) over recordings; recording count."""
    per_rec = [float(np.mean(c[name])) for c in cells.values() if c.get(name)]
    if not per_rec:
        return float("nan"), float("nan"), 0
    return float(np.mean(per_rec)), float(np.std(per_rec)), len(per_rec)


def sweep_rows(root: Path, tag: str, keys: tuple[str, ...]) -> dict[str, tuple[str, str]]:
    """{row: (entry, variant)} of the rows with stored points of this sweep (overrides exactly
    ``keys``) under ``tag``, sorted by row."""
    results, _ = collect.load_results(root, tag, include_errors=False)
    found = {str(r.get("row")): (str(r.get("entry")), str(r.get("variant", "base")))
             for r in results if collect.is_ok(r) and set(r.get("overrides") or {}) == set(keys)}
    return dict(sorted(found.items()))


@dataclass
class WindowGrid:
    row: str
    tag: str
    ns: list[int]
    wss: list[int]
    mean: list[list[float | None]]  # [n index][ws index]
    std: list[list[float | None]]
    count: list[list[int]]
    synthetic: bool


@dataclass
class PruneCurve:
    row: str
    entry: str
    variant: str
    tag: str
    rates: list[float]
    stats: dict[float, dict[str, tuple[float, float, int]]]  # rate -> figure -> (mean, std, recordings)
    synthetic: bool


def window_grid(root: Path, tag: str, row: str, recordings: list[str] | None = None) -> WindowGrid | None:
    pts, synthetic = load_points(root, tag, row, WINDOW_KEYS, recordings)
    if not pts:
        return None
    ns = sorted({p[0] for p in pts})
    wss = sorted({p[1] for p in pts})
    mean = [[None] * len(wss) for _ in ns]
    std = [[None] * len(wss) for _ in ns]
    count = [[0] * len(wss) for _ in ns]
    for i, n in enumerate(ns):
        for j, ws in enumerate(wss):
            if (n, ws) in pts:
                m, s, k = point_mean(pts[(n, ws)], "R2")
                mean[i][j], std[i][j], count[i][j] = (m, s, k) if k else (None, None, 0)
    return WindowGrid(row, tag, ns, wss, mean, std, count, synthetic)


def prune_curve(root: Path, tag: str, entry: str, variant: str, recordings: list[str] | None = None) -> PruneCurve | None:
    row = f"{entry}-{variant}"
    pts, synthetic = load_points(root, tag, row, PRUNE_KEYS, recordings)
    if not pts:
        return None
    rates = sorted(p[0] for p in pts)
    stats = {r: {m: point_mean(pts[(r,)], m) for m in ("R2", "Effective_MACs", "Dense", "ConnectionSparsity")} for r in rates}
    return PruneCurve(row, entry, variant, tag, rates, stats, synthetic)


def _quick(tag: str) -> str:
    return " --quick" if tag.endswith("-quick") else ""


def window_table(g: WindowGrid) -> Table:
    rows = [[str(n)] + [f"{g.mean[i][j]:.3f} ± {g.std[i][j]:.3f} ({g.count[i][j]})" if g.mean[i][j] is not None else "–" for j in range(len(g.wss))]
            for i, n in enumerate(g.ns)]
    kind = "synthetic sessions" if g.synthetic else "real recordings"
    return Table(f"{g.row}: mean R2 over recordings (seeds averaged first) ± std over recordings (n recordings), WS x N window grid, {kind}",
                 ["N \\ WS (samples)", *[f"{ws} ({ws * 4} ms)" for ws in g.wss]], rows, notes=synthetic_notes([g.synthetic]),
                 command=f"python -m bench sweep window {g.row} --ws {' '.join(map(str, g.wss))} --n {' '.join(map(str, g.ns))}{_quick(g.tag)} --plot-only")


def prune_table(c: PruneCurve) -> Table:
    rows = [[f"{r:g}", f"{s['R2'][0]:.3f} ± {s['R2'][1]:.3f}", f"{s['Effective_MACs'][0] / 1e3:.1f}", f"{s['Dense'][0] / 1e3:.1f}", f"{s['ConnectionSparsity'][0]:.3f}", str(s["R2"][2])]
            for r, s in c.stats.items()]
    kind = "synthetic sessions" if c.synthetic else "real recordings"
    return Table(f"{c.row}: R2 and NeuroBench effective MACs against the target pruning rate (means over recordings, seeds averaged first), {kind}",
                 ["target rate", "R2", "effective MACs (k)", "dense (k)", "connection sparsity", "recordings"], rows, notes=synthetic_notes([c.synthetic]),
                 command=f"python -m bench sweep prune {c.entry} --variant {c.variant} --rates {' '.join(f'{r:g}' for r in c.rates)}{_quick(c.tag)} --plot-only")


def window_report(root: Path, entry_name: str, tag: str, recordings: list[str] | None = None, out: Path | None = None) -> tuple[str, Path | None]:
    """Markdown and heatmap PNG of the stored WS x N grid (in ``out``, default ``root/sweeps``);
    returns (markdown, png)."""
    from bench.reports.figures import window_figure

    g = window_grid(root, tag, entry_name, recordings)
    if g is None:
        return f"no stored window-sweep results for {entry_name} under {Path(root) / tag}\n", None
    png = Path(out or Path(root) / "sweeps") / f"window_{entry_name}_{tag}.png"
    md = window_table(g).markdown() + "\n"
    window_figure(g, png)
    write_text(png.with_suffix(".md"), md)
    return md, png


def prune_report(root: Path, entry_name: str, variant: str, tag: str, recordings: list[str] | None = None, out: Path | None = None) -> tuple[str, Path | None]:
    """Markdown and PNG of R2 and effective MACs against the target pruning rate."""
    from bench.reports.figures import prune_figure

    row = f"{entry_name}-{variant}"
    c = prune_curve(root, tag, entry_name, variant, recordings)
    if c is None:
        return f"no stored pruning-sweep results for {row} under {Path(root) / tag}\n", None
    png = Path(out or Path(root) / "sweeps") / f"prune_{row}_{tag}.png"
    md = prune_table(c).markdown() + "\n"
    prune_figure(c, png)
    write_text(png.with_suffix(".md"), md)
    return md, png


def all_window_grids(root: Path) -> list[WindowGrid]:
    return [g for tag in collect.stored_tags(root, WINDOW_TAG) for row in sweep_rows(root, tag, WINDOW_KEYS) if (g := window_grid(root, tag, row))]


def all_prune_curves(root: Path) -> list[PruneCurve]:
    return [c for tag in collect.stored_tags(root, PRUNE_TAG) for entry, variant in sweep_rows(root, tag, PRUNE_KEYS).values()
            if (c := prune_curve(root, tag, entry, variant))]


def write_sweep_reports(root: Path, out: Path, tag: str = "leaderboard") -> list[Path]:
    """Markdown + PNG of every stored window and pruning sweep into ``out``. Sweeps live under
    their own tags, so ``tag`` (the leaderboard's) does not select among them: all are reported,
    each file named after its sweep tag."""
    written = []
    for g in all_window_grids(root):
        _, png = window_report(root, g.row, g.tag, out=out)
        written += [png, png.with_suffix(".md")] if png else []
    for c in all_prune_curves(root):
        _, png = prune_report(root, c.entry, c.variant, c.tag, out=out)
        written += [png, png.with_suffix(".md")] if png else []
    return written
