"""PNG figures from stored results (matplotlib, Agg): the reaching Pareto view, the grasp
confusion matrices and the sweeps' heatmap and curve. The site draws the same data as SVG.

Agg's PNGs carry no date (only matplotlib's version), so the same store gives the same bytes
with the same matplotlib.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np

from bench.reports import collect
from bench.reports import published as pub
from bench.reports.format import LEADERBOARD_TAG, SYNTHETIC_TEXT, mean_std
from bench.reports.grasp import confusion_by_session


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def pareto_front(xs: list[float], ys: list[float]) -> list[int]:
    """Indices of the points no other point dominates (lower or equal cost x and higher y),
    sorted by x."""
    order = sorted(range(len(xs)), key=lambda i: (xs[i], -ys[i]))
    front, best = [], -np.inf
    for i in order:
        if ys[i] > best:
            front.append(i)
            best = ys[i]
    return front


def reaching_points(results: list[dict], synthetic: bool) -> list[dict]:
    """Measured reaching rows with R2, effective ops and footprint (mean, std across recordings)."""
    pts = []
    for row in collect.group_rows(results, task="reaching", synthetic=synthetic):
        r2, ops, fp = row.stat("R2"), row.stat("ops"), row.stat("Footprint")
        if r2 and ops and fp:
            pts.append({"label": row.label, "r2": r2, "ops": ops, "fp": fp})
    return pts


def published_points() -> list[dict]:
    pts = []
    for name, f in pub.PUBLISHED_REACHING.items():
        ops = [m + a for m, a in zip(f["Effective_MACs"], f["Effective_ACs"])]
        pts.append({"label": f"{name} (published)", "r2": mean_std(f["R2"]), "ops": mean_std(ops), "fp": mean_std(f["Footprint"])})
    return pts


def pareto_figure(points: list[dict], published: list[dict], title: str, path: Path, note: str = "") -> Path:
    plt = _plt()
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
    fig.suptitle(title + ("\n" + textwrap.fill(note, 150) if note else ""), fontsize=10)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=130)
    plt.close(fig)
    return path


def write_pareto_figures(root: Path, out: Path, tag: str = LEADERBOARD_TAG) -> list[Path]:
    """``out/pareto_synthetic.png`` / ``pareto_real.png``: R2 against ops and footprint."""
    results, _ = collect.load_results(root, tag, task="reaching", include_errors=False)
    written = []
    for synthetic in (True, False):
        pts = reaching_points(results, synthetic)
        if not pts:
            continue
        name = "pareto_synthetic.png" if synthetic else "pareto_real.png"
        note = (SYNTHETIC_TEXT + " Diamonds: published figures on the real data.") if synthetic else "Diamonds: published figures."
        title = f"Primate reaching: R2 against cost ({'synthetic sessions' if synthetic else 'real recordings'})"
        written.append(pareto_figure(pts, published_points(), title, Path(out) / name, note))
    return written


# --- grasp confusion matrices ------------------------------------------------------------------


def confusion_figure(session: str, panels: list[dict], path: Path) -> Path:
    plt = _plt()
    widths = [4.5 if p["task"] == "grasp-phase" else 10.0 for p in panels]
    height = 9.0 if any(p["task"] == "grasp-object" for p in panels) else 4.2
    fig, axes = plt.subplots(1, len(panels), figsize=(sum(widths), height), gridspec_kw={"width_ratios": widths}, squeeze=False, constrained_layout=True)
    for ax, p in zip(axes[0], panels):
        m = p["matrix"].astype(float)
        norm = m / np.maximum(m.sum(1, keepdims=True), 1)  # row = true class
        im = ax.imshow(norm, cmap="Blues", vmin=0, vmax=1)
        k = len(p["classes"])
        fs = 11 if k <= 4 else max(5, 9 - k // 12)
        ax.set_xticks(range(k), p["classes"], rotation=90 if k > 4 else 0, fontsize=fs)
        ax.set_yticks(range(k), p["classes"], fontsize=fs)
        ax.set_xlabel("predicted" + (" object id" if p["task"] == "grasp-object" else ""))
        ax.set_ylabel("true" + (" object id" if p["task"] == "grasp-object" else ""))
        acc = np.trace(m) / max(m.sum(), 1)
        seeds = f", {p['seeds']} seeds summed" if p["seeds"] > 1 else ""
        ax.set_title(f"{p['label']} ({p['task']})\naccuracy {100 * acc:.1f}%, n = {int(m.sum())}{seeds}", fontsize=10)
        if k <= 4:
            for i in range(k):
                for j in range(k):
                    ax.text(j, i, f"{int(m[i, j])}\n{100 * norm[i, j]:.1f}%", ha="center", va="center", fontsize=10, color="white" if norm[i, j] > 0.5 else "black")
        fig.colorbar(im, ax=ax, shrink=0.6, label="share of the true class")
    synth = " (synthetic session)" if any(p["synthetic"] for p in panels) else ""
    fig.suptitle(f"Confusion matrices, {session}{synth}, test trials", fontsize=12)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def write_confusion_figures(root: Path, out: Path, tag: str = LEADERBOARD_TAG) -> list[Path]:
    """``out/grasp_confusion_<session>.png`` for every session with stored grasp results."""
    from bench.results import _slug

    results, _ = collect.load_results(root, tag, include_errors=False)
    return [confusion_figure(s, panels, Path(out) / f"grasp_confusion_{_slug(s)}.png") for s, panels in confusion_by_session(results).items()]


# --- sweeps -----------------------------------------------------------------------------------


def window_figure(g, png: Path) -> Path:
    """Heatmap of mean R2 over the WS x N grid (a bench.reports.sweeps.WindowGrid)."""
    plt = _plt()
    grid = np.array([[np.nan if v is None else v for v in row] for row in g.mean], dtype=float)
    kind = "synthetic sessions" if g.synthetic else "real recordings"
    fig, ax = plt.subplots(figsize=(1.6 + 1.1 * len(g.wss), 1.4 + 0.8 * len(g.ns)))
    im = ax.imshow(grid, cmap="viridis", origin="lower", aspect="auto")
    for i in range(len(g.ns)):
        for j in range(len(g.wss)):
            if np.isfinite(grid[i, j]):
                ax.text(j, i, f"{grid[i, j]:.3f}", ha="center", va="center", color="w" if grid[i, j] < np.nanmean(grid) else "k", fontsize=9)
    ax.set_xticks(range(len(g.wss)), [str(w) for w in g.wss])
    ax.set_yticks(range(len(g.ns)), [str(n) for n in g.ns])
    ax.set_xlabel("window size WS (4 ms samples)")
    ax.set_ylabel("number of windows N")
    ax.set_title(f"{g.row}: mean R2 ({kind})", fontsize=10)
    fig.colorbar(im, ax=ax, label="R2")
    fig.tight_layout()
    png.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(png, dpi=120)
    plt.close(fig)
    return png


def prune_figure(c, png: Path) -> Path:
    """R2 (± std over recordings) and effective MACs against the target pruning rate."""
    plt = _plt()
    rates = c.rates
    r2 = np.array([c.stats[r]["R2"][0] for r in rates])
    r2s = np.array([c.stats[r]["R2"][1] for r in rates])
    macs = np.array([c.stats[r]["Effective_MACs"][0] for r in rates]) / 1e3
    kind = "synthetic sessions" if c.synthetic else "real recordings"
    fig, ax = plt.subplots(figsize=(6, 3.8))
    ax.errorbar(rates, r2, yerr=r2s, marker="o", color="tab:blue", capsize=3)
    ax.set_xlabel("target pruning rate")
    ax.set_ylabel("R2", color="tab:blue")
    ax2 = ax.twinx()
    ax2.plot(rates, macs, marker="s", color="tab:red")
    ax2.set_ylabel("effective MACs (k)", color="tab:red")
    ax.set_title(f"{c.row}: R2 and effective MACs ({kind})", fontsize=10)
    fig.tight_layout()
    png.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(png, dpi=120)
    plt.close(fig)
    return png
