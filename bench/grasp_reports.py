"""The grasp paper's tables and confusion figures, from stored results only; the trainsize sweep.

- Table 3: per-session accuracy and F1 of the grasp/rest detector (task grasp-phase).
- Table 4: object accuracy and relaxed accuracy per animal and overall (task grasp-object).
- Table 5: the same as the train + validation share of trials falls from 80% to 20%
  (``python -m bench sweep trainsize bilstm-grasp``, results under the tag "sweep-trainsize").
- figures/grasp_confusion_<session>.png: the confusion matrices of a session (seeds summed).

Aggregation as in bench.tables: seeds are averaged per recording first, then mean ± std (ddof 0)
across recordings. Animal = first letter of the session name after an optional ``sim_`` prefix.
"""

from __future__ import annotations

import argparse
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np

from bench import results as store
from bench.tables import SYNTHETIC_NOTE, markdown, mean_std

TRAINSIZE_TAG = "sweep-trainsize"
SHARES = (0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2)
# REFERENCE.md section 7: train+validation share -> (accuracy %, relaxed accuracy %), real data.
PUBLISHED_TABLE5 = {0.8: (74.1, 98.3), 0.7: (70.1, 97.1), 0.6: (69.0, 93.7), 0.5: (62.8, 94.0), 0.4: (63.8, 92.8), 0.3: (59.2, 87.5), 0.2: (51.0, 81.0)}
PUBLISHED_TABLE3 = "Published (real sessions): accuracy ≥ 98% and F1 ≥ 0.95 on all six sessions."


def animal(recording: str) -> str:
    """'sim_m_1' -> 'M', 'MRec40' -> 'M', 'ZRec32' -> 'Z'."""
    name = recording[4:] if recording.startswith("sim_") else recording
    return name[:1].upper() or "?"


def _row_label(r: dict) -> str:
    label = r.get("display") or r["entry"]
    if r.get("variant", "base") != "base":
        label += f" ({r['variant']})"
    if r.get("overrides"):
        label += " [" + ", ".join(f"{k}={v}" for k, v in sorted(r["overrides"].items())) + "]"
    return label


def _value(r: dict, name: str) -> float | None:
    v = r.get("metrics", {}).get(name)
    return float(v) if isinstance(v, (int, float)) else None


def _group(results: list[dict], key) -> dict:
    """{key(r): {recording: [results of its seeds]}} for completed results."""
    out: dict = defaultdict(lambda: defaultdict(list))
    for r in results:
        if r.get("status") == "ok":
            out[key(r)][r["recording"]].append(r)
    return out


def _seed_mean(runs: list[dict], name: str) -> float | None:
    vals = [_value(r, name) for r in runs]
    return float(np.mean(vals)) if vals and all(v is not None for v in vals) else None


def _pct(values: list[float | None]) -> str:
    vals = [v for v in values if v is not None]
    if not vals:
        return "n/a"
    if len(vals) != len(values):
        return "error"
    m, s = mean_std(100 * np.asarray(vals))
    return f"{m:.1f} ± {s:.1f}" if len(vals) > 1 else f"{m:.1f}"


def _synthetic_head(results: list[dict]) -> str:
    flags = {bool(r.get("synthetic")) for r in results}
    if flags == {True}:
        return SYNTHETIC_NOTE + "\n\n"
    if flags == {True, False}:
        return "> Mixed: synthetic sessions (names starting with sim_) and real recordings.\n\n"
    return ""


def table3(results: list[dict]) -> str:
    """Per-session accuracy and F1 of the detector, then mean ± std across sessions."""
    res = [r for r in results if r.get("task") == "grasp-phase" and r.get("status") == "ok"]
    if not res:
        return ""
    rows = []
    for label, recs in sorted(_group(res, _row_label).items()):
        accs, f1s = [], []
        for rec, runs in sorted(recs.items()):
            acc, f1 = _seed_mean(runs, "Accuracy"), _seed_mean(runs, "F1")
            accs.append(acc)
            f1s.append(f1)
            rows.append([label, rec, _pct([acc]), f"{f1:.3f}" if f1 is not None else "n/a", str(len(runs))])
        f1_mean = [v for v in f1s if v is not None]
        f1_cell = f"{np.mean(f1_mean):.3f} ± {np.std(f1_mean):.3f}" if f1_mean else "n/a"
        rows.append([label, "**all sessions**", _pct(accs), f1_cell, ""])
    head = _synthetic_head(res) + "Table 3: grasp/rest detection on the test trials, accuracy (%) and F1 (grasp = positive class)\n\n"
    return head + markdown(["Model", "Session", "Accuracy (%)", "F1", "seeds"], rows) + f"\n\n{PUBLISHED_TABLE3}"


def table4(results: list[dict]) -> str:
    """Object accuracy and relaxed accuracy per animal and overall (mean ± std across sessions)."""
    res = [r for r in results if r.get("task") == "grasp-object" and r.get("status") == "ok"]
    if not res:
        return ""
    rows = []
    for label, recs in sorted(_group(res, _row_label).items()):
        by_animal: dict[str, list[str]] = defaultdict(list)
        for rec in recs:
            by_animal[animal(rec)].append(rec)
        for group, names in [(a, sorted(n)) for a, n in sorted(by_animal.items())] + [("all", sorted(recs))]:
            acc = [_seed_mean(recs[n], "Accuracy") for n in names]
            rel = [_seed_mean(recs[n], "RelaxedAccuracy") for n in names]
            k = sorted({len(run.get("eval", {}).get("classes", [])) for n in names for run in recs[n]})
            rows.append([label, "**overall**" if group == "all" else group, ", ".join(names), _pct(acc), _pct(rel), "–".join(str(x) for x in (k[0], k[-1]) if k) if len(k) > 1 else str(k[0] if k else "?")])
    head = _synthetic_head(res) + "Table 4: object classification of grasp windows, mean ± std across sessions (seeds averaged first), %\n\n"
    return head + markdown(["Model", "Animal", "Sessions", "Accuracy (%)", "Relaxed accuracy (%)", "objects"], rows)


def table5(results: list[dict]) -> str:
    """Accuracy and relaxed accuracy against the train + validation share of trials."""
    res = [r for r in results if r.get("task") == "grasp-object" and r.get("status") == "ok" and _share(r) is not None]
    if not res:
        return ""
    rows = []
    for label, by_share in sorted(_group_share(res).items()):
        for share in sorted(by_share, reverse=True):
            recs = by_share[share]
            acc = [_seed_mean(runs, "Accuracy") for runs in recs.values()]
            rel = [_seed_mean(runs, "RelaxedAccuracy") for runs in recs.values()]
            pub = PUBLISHED_TABLE5.get(round(share, 2))
            rows.append([label, f"{100 * share:.0f}%", _pct(acc), _pct(rel), str(len(recs)), f"{pub[0]:.1f} / {pub[1]:.1f}" if pub else "–"])
    head = _synthetic_head(res) + "Table 5: object classification with a reduced training set; mean ± std across sessions, %. Published column: the paper's real-data figures (accuracy / relaxed), for reference only\n\n"
    return head + markdown(["Model", "Train + val share", "Accuracy (%)", "Relaxed accuracy (%)", "sessions", "published"], rows)


def _share(r: dict) -> float | None:
    v = r.get("run", {}).get("load_options", {}).get("trainval_share")
    return float(v) if isinstance(v, (int, float)) else None


def _group_share(results: list[dict]) -> dict:
    out: dict = defaultdict(lambda: defaultdict(lambda: defaultdict(list)))
    for r in results:
        out[_row_label(r)][_share(r)][r["recording"]].append(r)
    return out


def _write(path: Path, title: str, body: str) -> Path | None:
    if not body:
        return None
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"# {title}\n\nGenerated from the stored result JSONs by bench.grasp_reports.\n\n{body}\n")
    return path


def write_grasp_tables(results_root: Path, out_dir: Path, tag: str = store.LEADERBOARD) -> list[Path]:
    """grasp_table3.md, grasp_table4.md (results under ``tag``) and grasp_table5.md (the sweep)."""
    results = store.load(Path(results_root), tag=tag)
    sweep = store.load(Path(results_root), tag=TRAINSIZE_TAG)
    out = Path(out_dir)
    suffix = "" if tag == store.LEADERBOARD else f"_{tag}"  # as bench.tables names its files
    written = [
        _write(out / f"grasp_table3{suffix}.md", "Grasp/rest detection per session (paper's Table 3)", table3(results)),
        _write(out / f"grasp_table4{suffix}.md", "Object classification per animal (paper's Table 4)", table4(results)),
        _write(out / "grasp_table5.md", "Object classification against training-set size (paper's Table 5)", table5(sweep)),
    ]
    return [p for p in written if p is not None]


# --- figures -----------------------------------------------------------------------------------


def confusion_by_session(results: list[dict]) -> dict[str, list[dict]]:
    """{session: [{label, task, classes, matrix (seeds summed), seeds, synthetic}]}."""
    acc: dict = defaultdict(dict)
    for r in results:
        ev = r.get("eval", {})
        if r.get("status") != "ok" or r.get("task") not in ("grasp-phase", "grasp-object") or "confusion" not in ev:
            continue
        key = (r["task"], _row_label(r))
        cur = acc[r["recording"]].get(key)
        m = np.asarray(ev["confusion"], dtype=np.int64)
        if cur is None or cur["classes"] != ev["classes"]:
            acc[r["recording"]][key] = {"label": key[1], "task": r["task"], "classes": list(ev["classes"]), "matrix": m, "seeds": 1, "synthetic": bool(r.get("synthetic"))}
        else:
            cur["matrix"] = cur["matrix"] + m
            cur["seeds"] += 1
    return {s: [v for _, v in sorted(panels.items(), key=lambda kv: (kv[0][0] != "grasp-phase", kv[0][1]))] for s, panels in acc.items()}


def confusion_figure(session: str, panels: list[dict], path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

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


def write_grasp_figures(results_root: Path, out_dir: Path, tag: str = store.LEADERBOARD) -> list[Path]:
    """figures/grasp_confusion_<session>.png for every session with stored grasp results."""
    by_session = confusion_by_session(store.load(Path(results_root), tag=tag))
    return [confusion_figure(s, panels, Path(out_dir) / f"grasp_confusion_{store._slug(s)}.png") for s, panels in sorted(by_session.items())]


# --- the trainsize sweep -----------------------------------------------------------------------


def add_trainsize_parser(sweep_subparsers) -> argparse.ArgumentParser:
    """Add ``sweep trainsize`` (Table 5) to the sweep subcommands."""
    from bench.cli_common import add_run_options

    p = sweep_subparsers.add_parser(
        "trainsize", help="grasp: accuracy as the train + validation share of trials falls (Table 5)",
        epilog="example:\n  python -m bench sweep trainsize bilstm-grasp --shares 0.8 0.7 0.6 0.5 0.4 0.3 0.2",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("names", nargs="+", help="grasp entries (e.g. bilstm-grasp)")
    p.add_argument("--shares", nargs="+", type=float, default=list(SHARES), metavar="S", help="train + validation shares of the trials (default: %(default)s)")
    add_run_options(p)
    p.set_defaults(func=trainsize_command)
    return p


def trainsize_command(args: argparse.Namespace) -> int:
    from bench import registry
    from bench.cli_common import recordings_for, results_root, tag_for
    from bench.runner import RunSpec, run_specs

    try:
        registry.discover()
        selected = registry.resolve(args.names)
        bad = [e.name for e, _ in selected if not e.task.startswith("grasp")]
        if bad:
            raise ValueError(f"trainsize sweeps grasp entries only; {bad} are not")
        wrong = [s for s in args.shares if not 0 < s < 1]
        if wrong:
            raise ValueError(f"--shares must lie strictly between 0 and 1; got {wrong}")
        refs = {task: recordings_for(task, args) for task in {e.task for e, _ in selected}}
    except (registry.RegistryError, ValueError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    tag = tag_for(args, TRAINSIZE_TAG)
    specs = [RunSpec(entry, list(variants), ref, seed, quick=args.quick, device=args.device, tag=tag, load_options={"trainval_share": float(share)})
             for entry, variants in selected for share in args.shares for ref in refs[entry.task] for seed in args.seeds]
    root = results_root(args)
    print(f"{len(specs)} runs -> {root / tag}")
    outcomes = run_specs(specs, root, force=args.force, jobs=args.jobs)
    failed = [o for o in outcomes if o.status == "error"]
    path = _write(root / "grasp_table5.md" if tag == TRAINSIZE_TAG else root / f"grasp_table5_{tag}.md", "Object classification against training-set size (paper's Table 5)", table5(store.load(root, tag=tag)))
    if path:
        print(f"wrote {path}")
    for o in failed:
        print(f"  FAILED {o.spec.label()}: {o.message}", file=sys.stderr)
    return 1 if failed else 0
