"""The grasp paper's tables from stored results only.

- Table 3 (``grasp_table3.md``): per-session accuracy and F1 of the grasp/rest detector
  (task grasp-phase).
- Table 4 (``grasp_table4.md``): object accuracy and relaxed accuracy per animal and overall
  (task grasp-object).
- Table 5 (``grasp_table5.md``): the same as the train + validation share of trials falls from
  80% to 20% (``python -m bench sweep trainsize bilstm-grasp``, tags ``sweep-trainsize[-quick]``).

Aggregation as everywhere (bench.reports.collect): seeds averaged per recording first, then mean
± std (ddof 0) across recordings. Animal = first letter of the session name after an optional
``sim_`` prefix. The confusion matrices are drawn by bench.reports.figures and the site.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import numpy as np

from bench.reports import collect
from bench.reports import published as pub
from bench.reports.format import (
    LEADERBOARD_TAG,
    Table,
    mean_std,
    synthetic_notes,
    tag_suffix,
    write_report,
)

TRAINSIZE_TAG = "sweep-trainsize"
TABLE_COMMAND = "python -m bench table"


def animal(recording: str) -> str:
    """'sim_m_1' -> 'M', 'MRec40' -> 'M', 'ZRec32' -> 'Z'."""
    name = recording[4:] if recording.startswith("sim_") else recording
    return name[:1].upper() or "?"


def row_label(r: dict) -> str:
    """Entry label with variant and any config overrides (tuned runs)."""
    label = collect.label_of(r)
    if r.get("overrides"):
        label += " [" + ", ".join(f"{k}={v}" for k, v in sorted(r["overrides"].items())) + "]"
    return label


def _group(results: list[dict], key) -> dict:
    """{key(r): {recording: [results of its seeds]}} for completed results."""
    out: dict = defaultdict(lambda: defaultdict(list))
    for r in results:
        if collect.is_ok(r):
            out[key(r)][r["recording"]].append(r)
    return out


def _seed_mean(runs: list[dict], name: str) -> float | None:
    vals = [collect.value(r, name) for r in runs]
    return float(np.mean(vals)) if vals and all(v is not None for v in vals) else None


def _pct(values: list[float | None]) -> str:
    vals = [v for v in values if v is not None]
    if not vals:
        return "n/a"
    if len(vals) != len(values):
        return "error"
    m, s = mean_std(100 * np.asarray(vals))
    return f"{m:.1f} ± {s:.1f}" if len(vals) > 1 else f"{m:.1f}"


def detection_table(results: list[dict]) -> Table | None:
    """The paper's Table 3: per-session accuracy and F1 of the detector, then across sessions."""
    res = [r for r in results if r.get("task") == "grasp-phase" and collect.is_ok(r)]
    if not res:
        return None
    rows = []
    for label, recs in sorted(_group(res, row_label).items()):
        accs, f1s = [], []
        for rec, runs in sorted(recs.items()):
            acc, f1 = _seed_mean(runs, "Accuracy"), _seed_mean(runs, "F1")
            accs.append(acc)
            f1s.append(f1)
            rows.append([label, rec, _pct([acc]), f"{f1:.3f}" if f1 is not None else "n/a", str(len(runs))])
        f1_known = [v for v in f1s if v is not None]
        f1_cell = "n/a" if not f1_known else "error" if len(f1_known) != len(f1s) else f"{np.mean(f1_known):.3f} ± {np.std(f1_known):.3f}"
        rows.append([label, "**all sessions**", _pct(accs), f1_cell, ""])
    return Table("Table 3: grasp/rest detection on the test trials, accuracy (%) and F1 (grasp = positive class)",
                 ["Model", "Session", "Accuracy (%)", "F1", "seeds"], rows, notes=synthetic_notes(bool(r.get("synthetic")) for r in res),
                 footer=pub.PUBLISHED_GRASP_TABLE3, command=TABLE_COMMAND)


def object_table(results: list[dict]) -> Table | None:
    """The paper's Table 4: object accuracy and relaxed accuracy per animal and overall."""
    res = [r for r in results if r.get("task") == "grasp-object" and collect.is_ok(r)]
    if not res:
        return None
    rows = []
    for label, recs in sorted(_group(res, row_label).items()):
        by_animal: dict[str, list[str]] = defaultdict(list)
        for rec in recs:
            by_animal[animal(rec)].append(rec)
        for group, names in [(a, sorted(n)) for a, n in sorted(by_animal.items())] + [("all", sorted(recs))]:
            acc = [_seed_mean(recs[n], "Accuracy") for n in names]
            rel = [_seed_mean(recs[n], "RelaxedAccuracy") for n in names]
            k = sorted({len((run.get("eval") or {}).get("classes", [])) for n in names for run in recs[n]})
            objects = f"{k[0]}–{k[-1]}" if len(k) > 1 else str(k[0] if k else "?")
            rows.append([label, "**overall**" if group == "all" else group, ", ".join(names), _pct(acc), _pct(rel), objects])
    return Table("Table 4: object classification of grasp windows, mean ± std across sessions (seeds averaged first), %",
                 ["Model", "Animal", "Sessions", "Accuracy (%)", "Relaxed accuracy (%)", "objects"], rows,
                 notes=synthetic_notes(bool(r.get("synthetic")) for r in res), command=TABLE_COMMAND)


def share_of(r: dict) -> float | None:
    v = (r.get("run") or {}).get("load_options", {}).get("trainval_share")
    return float(v) if isinstance(v, (int, float)) else None


def trainsize_table(results: list[dict], tag: str = TRAINSIZE_TAG) -> Table | None:
    """The paper's Table 5: accuracy and relaxed accuracy against the train + validation share."""
    res = [r for r in results if r.get("task") == "grasp-object" and collect.is_ok(r) and share_of(r) is not None]
    if not res:
        return None
    grouped: dict = defaultdict(lambda: defaultdict(lambda: defaultdict(list)))
    for r in res:
        grouped[row_label(r)][share_of(r)][r["recording"]].append(r)
    rows = []
    for label, by_share in sorted(grouped.items()):
        for share in sorted(by_share, reverse=True):
            recs = by_share[share]
            acc = [_seed_mean(runs, "Accuracy") for _, runs in sorted(recs.items())]
            rel = [_seed_mean(runs, "RelaxedAccuracy") for _, runs in sorted(recs.items())]
            p = pub.PUBLISHED_GRASP_TABLE5.get(round(share, 2))
            rows.append([label, f"{100 * share:.0f}%", _pct(acc), _pct(rel), str(len(recs)), f"{p[0]:.1f} / {p[1]:.1f}" if p else "–"])
    quick = " --quick" if tag.endswith("-quick") else ""
    return Table("Table 5: object classification with a reduced training set; mean ± std across sessions, %. Published column: "
                 "the paper's real-data figures (accuracy / relaxed), for reference only",
                 ["Model", "Train + val share", "Accuracy (%)", "Relaxed accuracy (%)", "sessions", "published"], rows,
                 notes=synthetic_notes(bool(r.get("synthetic")) for r in res),
                 command=f"python -m bench sweep trainsize bilstm-grasp{quick}")


TITLES = {
    "grasp_table3": "Grasp/rest detection per session (paper's Table 3)",
    "grasp_table4": "Object classification per animal (paper's Table 4)",
    "grasp_table5": "Object classification against training-set size (paper's Table 5)",
}
INTRO = "Generated from the stored result JSONs by `python -m bench table`."


def table5_name(tag: str) -> str:
    return "grasp_table5.md" if tag == TRAINSIZE_TAG else f"grasp_table5_{tag}.md"


def write_trainsize_table(root: Path, out: Path, tag: str = TRAINSIZE_TAG) -> list[Path]:
    """``out/grasp_table5[_tag].md`` from the trainsize sweep stored under ``tag``."""
    results, _ = collect.load_results(root, tag, task="grasp-object", include_errors=False)
    t = trainsize_table(results, tag)
    return [write_report(Path(out) / table5_name(tag), TITLES["grasp_table5"], [t], INTRO)] if t else []


def write_grasp_tables(root: Path, out: Path, tag: str = LEADERBOARD_TAG) -> list[Path]:
    """grasp_table3/4[_tag].md (results under ``tag``) and grasp_table5[_tag].md for every stored
    trainsize sweep."""
    results, _ = collect.load_results(root, tag, include_errors=False)
    out = Path(out)
    written = []
    for name, table in (("grasp_table3", detection_table(results)), ("grasp_table4", object_table(results))):
        if table:
            written.append(write_report(out / f"{name}{tag_suffix(tag)}.md", TITLES[name], [table], INTRO))
    for sweep_tag in collect.stored_tags(root, TRAINSIZE_TAG):
        written += write_trainsize_table(root, out, sweep_tag)
    return written


def confusion_by_session(results: list[dict]) -> dict[str, list[dict]]:
    """{session: [{label, task, classes, matrix (seeds summed), seeds, synthetic}]}: the
    detector's panel first, then the object classifiers', sessions sorted."""
    acc: dict = defaultdict(dict)
    for r in results:
        ev = r.get("eval") or {}
        if not collect.is_ok(r) or r.get("task") not in ("grasp-phase", "grasp-object") or "confusion" not in ev:
            continue
        key = (r["task"], row_label(r))
        cur = acc[r["recording"]].get(key)
        m = np.asarray(ev["confusion"], dtype=np.int64)
        classes = [str(c) for c in ev.get("classes", [])]
        if cur is None or cur["classes"] != classes:  # seeds with other classes: the last one's panel
            acc[r["recording"]][key] = {"label": key[1], "task": r["task"], "classes": classes, "matrix": m, "seeds": 1, "synthetic": bool(r.get("synthetic"))}
        else:
            cur["matrix"] = cur["matrix"] + m
            cur["seeds"] += 1
    return {s: [v for _, v in sorted(panels.items(), key=lambda kv: (kv[0][0] != "grasp-phase", kv[0][1]))] for s, panels in sorted(acc.items())}
