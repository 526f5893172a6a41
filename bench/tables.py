"""Markdown tables built from stored results only (and from published figures).

Aggregation: seeds are averaged per recording first; mean ± std are then taken across
recordings with the population std (ddof 0), as the AEGRU paper's Table II does. kB = 1000 B.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from bench import results as store
from bench.plugins import optional_module

SYNTHETIC_NOTE = "> Synthetic recordings (bench's generator), not real data: these figures are not comparable with published numbers."

# NeuroBench's published per-session figures (REFERENCE.md section 3; sessions in the order
# indy_20160622_01, indy_20160630_01, indy_20170131_02, loco_20170210_03, loco_20170215_02,
# loco_20170301_05). Reference data for the --published tables, never used as results.
PUBLISHED_REACHING = {
    "ANN2D": {
        "Footprint": [20824] * 3 + [33496] * 3,
        "Effective_MACs": [4306.3, 3595.2, 3607.3, 5852.0, 5995.0, 6462.8],
        "Effective_ACs": [0.0] * 6,
        "R2": [0.6327, 0.5241, 0.6217, 0.5727, 0.4746, 0.6272],
    },
    "ANN3D": {
        "Footprint": [94552] * 3 + [180952] * 3,
        "Effective_MACs": [10443.1, 7005.9, 6213.9, 14398.1, 14647.9, 16333.5],
        "Effective_ACs": [0.0] * 6,
        "R2": [0.6739, 0.5933, 0.6587, 0.5970, 0.5282, 0.6411],
    },
    "SNN3D": {
        "Footprint": [24972] * 3 + [43020] * 3,
        "Effective_MACs": [21504.0] * 3 + [43008.0] * 3,
        "Effective_ACs": [6321.5, 7215.4, 5009.0, 4860.2, 5612.5, 5969.9],
        "R2": [0.6968, 0.5772, 0.6517, 0.6226, 0.5677, 0.6813],
    },
    "SNN Streaming": {
        "Footprint": [19648] * 3 + [38848] * 3,
        "Effective_MACs": [0.0] * 6,
        "Effective_ACs": [396.6, 244.4, 185.9, 510.4, 558.8, 584.9],
        "R2": [0.6774, 0.5011, 0.5994, 0.5707, 0.5145, 0.6202],
    },
}
# The AEGRU paper's own rows (Table II), given only as mean ± std.
PUBLISHED_TABLE2_AEGRU = {
    "AEGRU w/o pruning": ("0.70 ± 0.06", "45.5 ± 6.3", "42.8 ± 4.1"),
    "AEGRU 50% pruning": ("0.71 ± 0.05", "45.5 ± 6.3", "25.1 ± 3.3"),
}


def mean_std(values: Iterable[float]) -> tuple[float, float]:
    v = np.asarray(list(values), dtype=float)
    return float(v.mean()), float(v.std(ddof=0))


def pm(values: Iterable[float], digits: int, scale: float = 1.0) -> str:
    v = [x / scale for x in values]
    if not v:
        return "n/a"
    m, s = mean_std(v)
    return f"{m:.{digits}f} ± {s:.{digits}f}"


def markdown(headers: list[str], rows: list[list[str]]) -> str:
    from tabulate import tabulate

    return tabulate(rows, headers=headers, tablefmt="github", disable_numparse=True)


def ops_pm(macs: list[float], acs: list[float]) -> str:
    """MACs + ACs (k) as the AEGRU paper prints it: mean(MACs) + mean(ACs) ± (std(MACs) + std(ACs)).

    The paper adds the two standard deviations rather than taking the std of the per-session
    sums; only this reproduces its SNN3D row (38.1 ± 11.6; the std of the sums is 10.4). For
    entries with only MACs or only ACs the two conventions agree.
    """
    if not macs:
        return "n/a"
    m1, s1 = mean_std(macs)
    m2, s2 = mean_std(acs)
    return f"{(m1 + m2) / 1000:.1f} ± {(s1 + s2) / 1000:.1f}"


def table2_row(r2: list[float], footprint: list[float], macs: list[float], acs: list[float]) -> list[str]:
    """One Table II row: R2 | Footprint (kB) | MACs + ACs (k), mean ± std across recordings."""
    return [pm(r2, 2), pm(footprint, 1, 1000.0), ops_pm(macs, acs)]


def published_table2() -> str:
    rows = []
    for name, f in PUBLISHED_REACHING.items():
        rows.append([name] + table2_row(f["R2"], f["Footprint"], f["Effective_MACs"], f["Effective_ACs"]))
    for name, cells in PUBLISHED_TABLE2_AEGRU.items():
        rows.append([name, *cells])
    head = "Table II (published figures: NeuroBench's per-session baselines aggregated here; AEGRU rows as printed in the paper)\n\n"
    return head + markdown(["Model", "R2", "Footprint (kB)", "MACs + ACs (k)"], rows)


# --- stored results ---------------------------------------------------------------------------


def metric(result: dict, name: str) -> float | None:
    m = result.get("metrics", {})
    if name in ("Effective_MACs", "Effective_ACs", "Dense"):
        v = m.get("SynapticOperations", {})
        v = v.get(name) if isinstance(v, dict) else None
    else:
        v = m.get(name)
    return float(v) if isinstance(v, (int, float)) else None


def per_recording(results: list[dict]) -> dict[tuple[str, str], dict[str, dict[str, list]]]:
    """{(task, row): {recording: {metric: [per-seed values]}}} for completed results."""
    out: dict = defaultdict(lambda: defaultdict(lambda: defaultdict(list)))
    for r in results:
        if r.get("status") != "ok" or (r.get("overrides") and not str(r.get("tag", "")).startswith("tuned")):
            continue
        cell = out[(r["task"], r["row"])][r["recording"]]
        cell["_seeds"].append(r["seed"])
        cell["_display"] = [label_of(r)]
        cell["_synthetic"] = [bool(r.get("synthetic"))]
        for name in METRIC_NAMES:
            v = metric(r, name)
            if v is not None:
                cell[name].append(v)
        train_s = r.get("timing", {}).get("train_s")
        if train_s is not None:
            cell["train_s"].append(train_s)
    return out


METRIC_NAMES = ("R2", "Accuracy", "RelaxedAccuracy", "F1", "Footprint", "ParameterCount", "ConnectionSparsity", "ActivationSparsity", "Dense", "Effective_MACs", "Effective_ACs", "MembraneUpdates")


def label_of(r: dict) -> str:
    base = r.get("display") or r["entry"]
    v = r.get("variant", "base")
    return base if v == "base" else f"{base} ({'NeuroBench weights' if v == 'nbweights' else v})"


def _seed_mean(cell: dict, name: str) -> float | None:
    v = cell.get(name)
    return float(np.mean(v)) if v else None


def table2(results: list[dict], synthetic: bool) -> str:
    """Table II from stored reaching results of real or synthetic recordings."""
    groups = per_recording([r for r in results if r.get("task") == "reaching" and bool(r.get("synthetic")) == synthetic])
    rows = []
    for _key, recs in sorted(groups.items(), key=lambda kv: kv[0][1]):
        cells = list(recs.values())
        r2 = [_seed_mean(c, "R2") for c in cells]
        fp = [_seed_mean(c, "Footprint") for c in cells]
        macs = [_seed_mean(c, "Effective_MACs") for c in cells]
        acs = [_seed_mean(c, "Effective_ACs") for c in cells]
        ops = "error" if any(v is None for v in macs + acs) else ops_pm(macs, acs)
        label = cells[0]["_display"][0]
        rows.append([label, _pm_opt(r2, 2), _pm_opt(fp, 1, 1000.0), ops, str(len(cells)), str(max(len(c["_seeds"]) for c in cells))])
    if not rows:
        return ""
    head = (SYNTHETIC_NOTE + "\n\n") if synthetic else ""
    title = f"Table II, measured ({'synthetic sessions' if synthetic else 'real recordings'}): mean ± std across recordings (seeds averaged first), std ddof 0, kB = 1000 B\n\n"
    return head + title + markdown(["Model", "R2", "Footprint (kB)", "MACs + ACs (k)", "recordings", "seeds"], rows)


def _pm_opt(values: list[float | None], digits: int, scale: float = 1.0) -> str:
    if not values or any(v is None for v in values):
        return "n/a" if not values else "error"
    return pm(values, digits, scale)


def _fmt(v: float | None, digits: int = 4) -> str:
    if v is None:
        return "—"
    if abs(v) >= 1000:
        return f"{v:,.0f}"
    return f"{v:.{digits}f}"


def leaderboard(results: list[dict]) -> str:
    """Per-task leaderboards: rows ranked by the task's metric; per-recording detail below."""
    parts = ["# Leaderboard", "", "Generated by `python -m bench table` from the stored result JSONs only.", ""]
    task_cols = {
        "reaching": ["R2"],
        "grasp-object": ["Accuracy", "RelaxedAccuracy"],
        "grasp-phase": ["Accuracy", "F1"],
    }
    cost_cols = ["Footprint", "ParameterCount", "ConnectionSparsity", "ActivationSparsity", "Dense", "Effective_MACs", "Effective_ACs", "MembraneUpdates"]
    errors = [r for r in results if r.get("status") != "ok"]
    for synthetic in (True, False):
        subset = [r for r in results if bool(r.get("synthetic")) == synthetic]
        groups = per_recording(subset)
        if not groups:
            continue
        parts += [f"## {'Synthetic sessions' if synthetic else 'Real recordings'}", ""]
        if synthetic:
            parts += [SYNTHETIC_NOTE, ""]
        for task, cols in task_cols.items():
            rows_of_task = {row: recs for (t, row), recs in groups.items() if t == task}
            if not rows_of_task:
                continue
            ranked = []
            for recs in rows_of_task.values():
                cells = list(recs.values())
                main = [_seed_mean(c, cols[0]) for c in cells]
                score = float(np.mean([m for m in main if m is not None])) if any(m is not None for m in main) else -np.inf
                line = [cells[0]["_display"][0]]
                for col in cols:
                    line.append(_pm_opt([_seed_mean(c, col) for c in cells], 3))
                for col in cost_cols:
                    vals = [_seed_mean(c, col) for c in cells]
                    line.append(_fmt(float(np.mean(vals)), 3) if vals and all(v is not None for v in vals) else "—")
                line.append(str(len(cells)))
                ranked.append((score, line))
            ranked.sort(key=lambda x: -x[0])
            headers = ["#", "Model"] + [f"{c} (mean ± std)" for c in cols] + ["Footprint (B)", "Params", "Conn. sparsity", "Act. sparsity", "Dense SynOps", "Eff. MACs", "Eff. ACs", "Mem. updates", "recordings"]
            parts += [f"### Task: {task}", "", markdown(headers, [[str(i + 1)] + line for i, (_, line) in enumerate(ranked)]), ""]
            recs_all = sorted({rec for recs in rows_of_task.values() for rec in recs})
            detail = []
            for _, line in ranked:
                label = line[0]
                row = next(r for r, recs in rows_of_task.items() if next(iter(recs.values()))["_display"][0] == label)
                detail.append([label] + [_fmt(_seed_mean(rows_of_task[row][rec], cols[0]), 3) if rec in rows_of_task[row] else "—" for rec in recs_all])
            parts += [f"{cols[0]} per recording (seed mean):", "", markdown(["Model"] + recs_all, detail), ""]
    if errors:
        parts += ["## Failed runs", "", markdown(["Row", "Recording", "Seed", "Stage", "Error"], [[r.get("row", "?"), r.get("recording", "?"), str(r.get("seed")), r.get("error", {}).get("stage", "?"), r.get("error", {}).get("message", "")[:120].replace("|", "/").replace("\n", " ")] for r in errors]), ""]
    return "\n".join(parts)


def write_all(root: Path, out: Path | None = None, tag: str = store.LEADERBOARD) -> list[Path]:
    """Write leaderboard.md, table2.md and the other tasks' tables from the stored results."""
    root = Path(root)
    out = Path(out or root)
    out.mkdir(parents=True, exist_ok=True)
    results = store.load(root, tag=tag, include_errors=True)
    written = []
    suffix = "" if tag == store.LEADERBOARD else f"_{tag}"
    lb = out / f"leaderboard{suffix}.md"
    lb.write_text(leaderboard(results) + "\n")
    written.append(lb)
    ok = [r for r in results if r.get("status") == "ok"]
    t2 = "\n\n".join(x for x in (table2(ok, synthetic=False), table2(ok, synthetic=True), published_table2()) if x)
    p = out / f"table2{suffix}.md"
    p.write_text("# Table II\n\n" + t2 + "\n")
    written.append(p)
    for module, fn in (("bench.table3", "write_table3"), ("bench.grasp_reports", "write_grasp_tables")):
        mod = optional_module(module)
        if mod is None:
            continue
        res = getattr(mod, fn)(root, out, tag=tag, **({"published": True} if fn == "write_table3" else {}))
        if isinstance(res, (list, tuple)):
            written += [Path(x) for x in res]
        elif fn == "write_table3":
            written.append(out / ("table3.md" if tag == store.LEADERBOARD else f"table3_{tag}.md"))
    return written
