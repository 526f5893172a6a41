"""Figures from stored results: the accuracy/cost Pareto view of the reaching leaderboard."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from bench import results as store
from bench.plugins import optional_module
from bench.tables import PUBLISHED_REACHING, SYNTHETIC_NOTE, _seed_mean, mean_std, per_recording


def _points(results: list[dict], synthetic: bool) -> list[dict]:
    groups = per_recording([r for r in results if r.get("task") == "reaching" and bool(r.get("synthetic")) == synthetic])
    pts = []
    for _key, recs in sorted(groups.items()):
        cells = list(recs.values())
        r2 = [_seed_mean(c, "R2") for c in cells]
        ops = [(_seed_mean(c, "Effective_MACs") or 0.0) + (_seed_mean(c, "Effective_ACs") or 0.0) for c in cells]
        fp = [_seed_mean(c, "Footprint") for c in cells]
        if any(v is None for v in r2 + fp):
            continue
        pts.append({"label": cells[0]["_display"][0], "r2": mean_std(r2), "ops": mean_std(ops), "fp": mean_std(fp)})
    return pts


def _published_points() -> list[dict]:
    pts = []
    for name, f in PUBLISHED_REACHING.items():
        ops = [m + a for m, a in zip(f["Effective_MACs"], f["Effective_ACs"])]
        pts.append({"label": f"{name} (published)", "r2": mean_std(f["R2"]), "ops": mean_std(ops), "fp": mean_std(f["Footprint"])})
    return pts


def pareto_front(xs: list[float], ys: list[float]) -> list[int]:
    """Indices of points not dominated (lower cost x, higher y), sorted by x."""
    order = sorted(range(len(xs)), key=lambda i: (xs[i], -ys[i]))
    front, best = [], -np.inf
    for i in order:
        if ys[i] > best:
            front.append(i)
            best = ys[i]
    return front


def pareto_figure(points: list[dict], published: list[dict], title: str, path: Path, note: str = "") -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(13, 5.2), constrained_layout=True)
    cmap = plt.get_cmap("tab10")
    for ax, key, xlabel in ((axes[0], "ops", "effective operations per sample (MACs + ACs, log)"), (axes[1], "fp", "memory footprint (bytes, log)")):
        for i, p in enumerate(points):
            x, xe = p[key]
            y, ye = p["r2"]
            ax.errorbar(max(x, 1.0), y, xerr=xe, yerr=ye, fmt="o", ms=8, capsize=3, color=cmap(i % 10), label=p["label"])
            ax.annotate(p["label"], (max(x, 1.0), y), textcoords="offset points", xytext=(6, 6 - 11 * (i % 3)), fontsize=8)
        for p in published:
            x, _ = p[key]
            y, _ = p["r2"]
            ax.plot(max(x, 1.0), y, marker="D", mfc="none", mec="0.45", ms=7, ls="none")
            ax.annotate(p["label"], (max(x, 1.0), y), textcoords="offset points", xytext=(5, -11), fontsize=7, color="0.4")
        if points:
            front = pareto_front([max(p[key][0], 1.0) for p in points], [p["r2"][0] for p in points])
            ax.plot([max(points[i][key][0], 1.0) for i in front], [points[i]["r2"][0] for i in front], "--", color="0.6", lw=1, zorder=0, label="Pareto front (measured)")
        ax.set_xscale("log")
        ax.set_xlabel(xlabel)
        ax.set_ylabel("R2 (mean ± std across recordings)")
        ax.grid(True, which="both", alpha=0.3)
    axes[0].legend(fontsize=8, loc="lower right")
    import textwrap

    fig.suptitle(title + ("\n" + textwrap.fill(note, 150) if note else ""), fontsize=10)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=130)
    plt.close(fig)
    return path


def write_figures(root: Path, out: Path, tag: str = store.LEADERBOARD) -> list[Path]:
    results = [r for r in store.load(root, tag=tag) if r.get("status") == "ok"]
    written = []
    for synthetic in (True, False):
        pts = _points(results, synthetic)
        if not pts:
            continue
        name = "pareto_synthetic.png" if synthetic else "pareto_real.png"
        note = SYNTHETIC_NOTE.lstrip("> ") + " Diamonds: NeuroBench's published figures on the real data." if synthetic else "Diamonds: NeuroBench's published figures."
        written.append(pareto_figure(pts, _published_points(), f"Primate reaching: R2 against cost ({'synthetic sessions' if synthetic else 'real recordings'})", Path(out) / name, note))
    for module, fn in (("bench.grasp_reports", "write_grasp_figures"),):
        mod = optional_module(module)
        if mod is None:
            continue
        written += [Path(p) for p in getattr(mod, fn)(root, out, tag=tag)]
    return written
