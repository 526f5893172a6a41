"""The reaching papers' tables from stored results, beside the published figures.

- Table II of the AEGRU paper (``table2.md``): R2, Footprint (kB) and MACs + ACs (k), mean ± std
  across recordings (seeds averaged first, std ddof 0, kB = 1000 B), measured rows (real and
  synthetic recordings apart) and published rows: NeuroBench's baselines and the ZenkeLab RSNNs
  aggregated from their per-session figures exactly as the measured rows, the AEGRU rows as the
  paper prints them.
- Table III of the AEGRU paper (``table3.md``): R2 per recording, vanilla GRU against AEGRU; cells
  are mean ± std over seeds. The Average row follows the paper: for each seed the mean R2 over the
  recordings, then mean ± std of those per-seed means over the seeds (the paper's average std,
  0.005 / 0.008, is smaller than any per-session std, which only this reading gives). Only seeds
  present on every recording enter it.
- The BioCAS 2024 challenge field as NeuroBench's leaderboard lists it (``table --published``),
  with the cells it leaves "TBC" for AEGRU filled from bench's runs on real recordings only.
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
    num,
    ops_pm,
    pm,
    synthetic_notes,
    tag_suffix,
    write_report,
)

TABLE2_HEADERS = ["Model", "R2", "Footprint (kB)", "MACs + ACs (k)"]
TABLE_COMMAND = "python -m bench table"


def table2_cells(r2: list, footprint: list, macs: list, acs: list) -> list[str]:
    """One Table II row: R2 | Footprint (kB) | MACs + ACs (k), mean ± std across recordings."""
    return [pm(r2, 2), pm(footprint, 1, 1000.0), ops_pm(macs, acs)]


def table2_published() -> Table:
    """Published Table II: per-session figures aggregated here; AEGRU rows as printed."""
    rows = []
    for name, f in pub.PUBLISHED_REACHING.items():
        rows.append([name, *table2_cells(f["R2"], f["Footprint"], f["Effective_MACs"], f["Effective_ACs"])])
    rows += [[name, *cells] for name, cells in pub.PUBLISHED_TABLE2_AEGRU.items()]
    return Table("Table II, published (real recordings): NeuroBench's baselines and the ZenkeLab RSNNs aggregated here from their "
                 "per-session figures (mean ± std across the six sessions, ddof 0); AEGRU rows as printed in the paper",
                 TABLE2_HEADERS, rows, command="python -m bench table --published", published=True)


def table2_measured(results: list[dict], synthetic: bool) -> Table | None:
    """Table II from stored reaching results of real or synthetic recordings (None: no rows)."""
    rows = []
    for row in sorted(collect.group_rows(results, task="reaching", synthetic=synthetic), key=lambda r: r.row):
        cells = table2_cells(row.per_recording("R2"), row.per_recording("Footprint"), row.per_recording("Effective_MACs"), row.per_recording("Effective_ACs"))
        rows.append([row.label, *cells, str(len(row.cells)), str(max(row.seed_counts()))])
    if not rows:
        return None
    kind = "synthetic sessions" if synthetic else "real recordings"
    return Table(f"Table II, measured ({kind}): mean ± std across recordings (seeds averaged first), std ddof 0, kB = 1000 B",
                 [*TABLE2_HEADERS, "recordings", "seeds"], rows, notes=synthetic_notes([synthetic]), command=TABLE_COMMAND)


def table2_tables(results: list[dict]) -> list[Table]:
    return [t for t in (table2_measured(results, False), table2_measured(results, True)) if t] + [table2_published()]


# --- Table III ---------------------------------------------------------------------------------

TABLE3_COLUMNS = (("gru", "vanilla GRU"), ("aegru", "AEGRU"))


def _pm3(values: list[float]) -> str:
    v = np.asarray(values, dtype=float)
    return f"{v.mean():.3f} ± {v.std(ddof=0):.3f}" if v.size else "–"


def r2_by_seed(results: list[dict]) -> dict[str, dict[str, dict[int, float]]]:
    """{row: {recording: {seed: R2}}} of completed, un-overridden reaching results."""
    out: dict = defaultdict(lambda: defaultdict(dict))
    for r in results:
        r2 = collect.value(r, "R2")
        if collect.is_ok(r) and not r.get("overrides") and r.get("task") == "reaching" and r2 is not None:
            out[r["row"]][r["recording"]][int(r["seed"])] = r2
    return out


def average_row(cells: dict[str, dict[int, float]], recordings: list[str]) -> tuple[str, int]:
    """Mean ± std over seeds of the per-seed mean over ``recordings``; and the seed count."""
    seeds = set.intersection(*(set(cells.get(rec, {})) for rec in recordings)) if recordings else set()
    per_seed = [float(np.mean([cells[rec][s] for rec in recordings])) for s in sorted(seeds)]
    return _pm3(per_seed), len(per_seed)


def aegru_table3(results: list[dict], synthetic: bool) -> Table | None:
    """The AEGRU paper's Table III for the real or the synthetic recordings (None: no rows)."""
    data = r2_by_seed([r for r in results if bool(r.get("synthetic")) == synthetic])
    recordings = sorted({rec for row, _ in TABLE3_COLUMNS for rec in data.get(row, {})})
    if not recordings:
        return None
    rows = []
    for rec in recordings:
        cells = [_pm3(list(data.get(row, {}).get(rec, {}).values())) for row, _ in TABLE3_COLUMNS]
        n = [len(data.get(row, {}).get(rec, {})) for row, _ in TABLE3_COLUMNS]
        rows.append([rec, *cells, " / ".join(map(str, n))])
    avg = [average_row(data.get(row, {}), recordings) for row, _ in TABLE3_COLUMNS]
    rows.append(["Average", *[a for a, _ in avg], " / ".join(str(k) for _, k in avg)])
    kind = "synthetic sessions" if synthetic else "real recordings"
    title = (f"Table III, measured ({kind}): R2 mean ± std over seeds (std ddof 0); Average = mean ± std over "
             "seeds of the per-seed mean over recordings (seeds present on every recording)")
    return Table(title, ["Recording", *[c for _, c in TABLE3_COLUMNS], "seeds (GRU / AEGRU)"], rows,
                 notes=synthetic_notes([synthetic]), command=TABLE_COMMAND)


def aegru_table3_published() -> Table:
    return Table("Table III, published (Wang, Wang, Liu, BioCAS 2024; the paper labels loco_20170210_03 'loco_20170131_02')",
                 ["Recording", "vanilla GRU", "AEGRU"], [list(r) for r in pub.PUBLISHED_TABLE3],
                 command="python -m bench table --published", published=True)


def aegru_table3_tables(results: list[dict]) -> list[Table]:
    return [t for t in (aegru_table3(results, False), aegru_table3(results, True)) if t] + [aegru_table3_published()]


# --- the challenge field -----------------------------------------------------------------------

FIELD_HEADERS = ["Entry", "R2", "Footprint (B)", "Conn. sparsity", "Act. sparsity", "Dense SynOps", "Eff. MACs", "Eff. ACs"]
TBC = "TBC"


def _field_cell(v: float | int | str | None, digits: int) -> str:
    if isinstance(v, str):
        return v
    return "–" if v is None else num(float(v), digits)


def challenge_field(results: list[dict]) -> Table:
    """NeuroBench's leaderboard of the BioCAS 2024 challenge field, AEGRU's TBC cells filled from
    bench's ``aegru-pruned`` runs on real recordings (the challenge entry is the 50% pruned model)
    and marked as bench's; on synthetic data they stay TBC, and the note says why."""
    rows = [[name, num(r2, 3), _field_cell(fp, 0), _field_cell(cs, 3), _field_cell(act, 3), _field_cell(dense, 0), _field_cell(macs, 0), _field_cell(acs, 0)]
            for name, r2, fp, cs, act, dense, macs, acs in pub.CHALLENGE_FIELD]
    aegru = [num(float(np.mean(pub.AEGRU_R2_PER_SESSION)), 3), num(pub.AEGRU_FOOTPRINT_MEAN, 0), TBC, TBC, pub.AEGRU_DENSE_APPROX, TBC, TBC]
    real = [r for r in collect.group_rows(results, task="reaching", synthetic=False) if r.row == "aegru-pruned"]
    synthetic = [r for r in collect.group_rows(results, task="reaching", synthetic=True) if r.row == "aegru-pruned"]
    notes = []
    if real:
        row = real[0]
        tag = f"bench, {len(row.cells)} real recording{'s' if len(row.cells) != 1 else ''}, seeds {','.join(map(str, row.seeds))}"
        for i, (name, digits) in ((2, ("ConnectionSparsity", 3)), (3, ("ActivationSparsity", 3)), (5, ("Effective_MACs", 0)), (6, ("Effective_ACs", 0))):
            s = row.stat(name)
            aegru[i] = f"{num(s[0], digits)} ({tag})" if s else "TBC (bench: metric failed)"
        notes.append("AEGRU's TBC cells are filled from bench's aegru-pruned runs on the real recordings (marked 'bench'); the other cells are NeuroBench's.")
    elif synthetic:
        notes.append("AEGRU's TBC cells stay TBC: bench's aegru-pruned runs in this store are on synthetic sessions, whose "
                     "sparsity and operation counts say nothing about the real recordings. Run "
                     "`python -m bench run aegru --data-dir DIR` on the real sessions to fill them.")
    else:
        notes.append("AEGRU's TBC cells stay TBC: no aegru-pruned results are stored.")
    rows.insert(2, ["AEGRU", *aegru])
    notes.append("–: not among bench's reference facts (REFERENCE.md).")
    return Table("BioCAS 2024 Grand Challenge (primate reaching), as NeuroBench's leaderboard lists it (REFERENCE.md sections 5, 6, 8; real recordings)",
                 FIELD_HEADERS, rows, footer=" ".join(notes), command="python -m bench table --published", published=True)


# --- writers -----------------------------------------------------------------------------------


def write_table2(root: Path, out: Path, tag: str = LEADERBOARD_TAG) -> list[Path]:
    """``out/table2[_tag].md``: measured (real, synthetic) and published Table II."""
    results, _ = collect.load_results(root, tag, task="reaching", include_errors=False)
    return [write_report(Path(out) / f"table2{tag_suffix(tag)}.md", "Table II", table2_tables(results))]


def write_aegru_table3(root: Path, out: Path, tag: str = LEADERBOARD_TAG) -> list[Path]:
    """``out/table3[_tag].md``: measured Table III (real, synthetic) and the published one."""
    results, _ = collect.load_results(root, tag, task="reaching", include_errors=False)
    tables: list = aegru_table3_tables(results)
    if len(tables) == 1:
        tables.insert(0, f"Table III: no completed gru / aegru results under {Path(root) / tag}")
    return [write_report(Path(out) / f"table3{tag_suffix(tag)}.md", "Table III", tables)]


def published_text(results: list[dict]) -> str:
    """What ``python -m bench table --published`` prints."""
    return "\n\n".join(t.markdown() for t in (table2_published(), aegru_table3_published(), challenge_field(results)))
