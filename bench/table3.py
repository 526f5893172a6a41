"""Table III of the AEGRU paper from stored results: R2 per recording, vanilla GRU vs AEGRU.

Cells are mean ± std over seeds (population std, ddof 0). The Average row follows the paper: for
each seed the mean R2 over the recordings, then the mean ± std of those per-seed means over the
seeds (the paper's average std, 0.005 / 0.008, is smaller than any per-session std, which only
this reading gives). Only seeds present on every recording enter the Average row.
"""

from __future__ import annotations

import argparse
from collections import defaultdict
from pathlib import Path

import numpy as np

from bench import results as store

COLUMNS = (("gru", "vanilla GRU"), ("aegru", "AEGRU"))
SYNTHETIC_NOTE = "> Synthetic recordings (bench's generator), not real data: these figures are not comparable with published numbers."
# REFERENCE.md section 4; the paper labels loco_20170210_03 'loco_20170131_02'
PUBLISHED = (
    ("indy_20160622_01", "0.74 ± 0.006", "0.76 ± 0.014"),
    ("indy_20160630_01", "0.64 ± 0.011", "0.65 ± 0.008"),
    ("indy_20170131_02", "0.75 ± 0.004", "0.76 ± 0.006"),
    ("loco_20170210_03", "0.61 ± 0.017", "0.68 ± 0.013"),
    ("loco_20170215_02", "0.60 ± 0.009", "0.62 ± 0.014"),
    ("loco_20170301_05", "0.66 ± 0.013", "0.70 ± 0.015"),
    ("Average", "0.67 ± 0.005", "0.70 ± 0.008"),
)


def _pm(values: list[float], digits: int = 3) -> str:
    v = np.asarray(values, dtype=float)
    return f"{v.mean():.{digits}f} ± {v.std(ddof=0):.{digits}f}" if v.size else "–"


def _markdown(headers: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    return "\n".join(lines + ["| " + " | ".join(r) + " |" for r in rows])


def collect(results: list[dict]) -> dict[str, dict[str, dict[int, float]]]:
    """{row: {recording: {seed: R2}}} of completed, un-overridden reaching results."""
    out: dict = defaultdict(lambda: defaultdict(dict))
    for r in results:
        r2 = r.get("metrics", {}).get("R2")
        if r.get("status") == "ok" and not r.get("overrides") and r.get("task") == "reaching" and isinstance(r2, (int, float)):
            out[r["row"]][r["recording"]][int(r["seed"])] = float(r2)
    return out


def average_row(cells: dict[str, dict[int, float]], recordings: list[str]) -> tuple[str, int]:
    """Mean ± std over seeds of the per-seed mean over ``recordings``; and the seed count."""
    seeds = set.intersection(*(set(cells.get(rec, {})) for rec in recordings)) if recordings else set()
    per_seed = [float(np.mean([cells[rec][s] for rec in recordings])) for s in sorted(seeds)]
    return _pm(per_seed), len(per_seed)


def table3(results: list[dict], synthetic: bool) -> str:
    """Markdown Table III for the real or the synthetic recordings ('' when there are none)."""
    subset = [r for r in results if bool(r.get("synthetic")) == synthetic]
    data = collect(subset)
    recordings = sorted({rec for row, _ in COLUMNS for rec in data.get(row, {})})
    if not recordings:
        return ""
    rows = []
    for rec in recordings:
        cells = [_pm(list(data.get(row, {}).get(rec, {}).values())) for row, _ in COLUMNS]
        n = [len(data.get(row, {}).get(rec, {})) for row, _ in COLUMNS]
        rows.append([rec, *cells, " / ".join(map(str, n))])
    avg = [average_row(data.get(row, {}), recordings) for row, _ in COLUMNS]
    rows.append(["Average", *[a for a, _ in avg], " / ".join(str(k) for _, k in avg)])
    kind = "synthetic sessions" if synthetic else "real recordings"
    title = (
        f"Table III, measured ({kind}): R2 mean ± std over seeds (std ddof 0); Average = mean ± std over "
        "seeds of the per-seed mean over recordings (seeds present on every recording)"
    )
    head = (SYNTHETIC_NOTE + "\n\n") if synthetic else ""
    return head + title + "\n\n" + _markdown(["Recording", *[c for _, c in COLUMNS], "seeds (GRU / AEGRU)"], rows)


def published_table3() -> str:
    title = "Table III, published (Wang, Wang, Liu, BioCAS 2024; the paper labels loco_20170210_03 'loco_20170131_02')"
    return title + "\n\n" + _markdown(["Recording", "vanilla GRU", "AEGRU"], [list(r) for r in PUBLISHED])


def write_table3(results_root: Path, out_dir: Path, published: bool = False, tag: str = store.LEADERBOARD) -> str:
    """Build Table III from ``results_root`` (real and synthetic parts), write
    ``out_dir/table3.md`` and return its text."""
    results = store.load(Path(results_root), tag=tag, task="reaching")
    parts = [t for t in (table3(results, synthetic=False), table3(results, synthetic=True)) if t]
    if not parts:
        parts = [f"Table III: no completed gru / aegru results under {Path(results_root) / tag}"]
    if published:
        parts.append(published_table3())
    text = "\n\n".join(parts) + "\n"
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    name = "table3.md" if tag == store.LEADERBOARD else f"table3_{tag}.md"  # a quick run never overwrites
    (out_dir / name).write_text(text)
    return text


def main(argv: list[str] | None = None) -> int:
    from bench import paths

    p = argparse.ArgumentParser(prog="python -m bench.table3", description="Table III (vanilla GRU vs AEGRU) from stored results")
    p.add_argument("--results", type=Path, default=None, help="result store (default: results/)")
    p.add_argument("--out", type=Path, default=None, help="output folder (default: the result store)")
    p.add_argument("--published", action="store_true", help="add the paper's Table III")
    args = p.parse_args(argv)
    root = args.results or paths.results_dir()
    print(write_table3(root, args.out or root, published=args.published))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
