"""bench.reports: Table II / III, the leaderboard, the challenge field and the writers' contract,
from hand-made result JSONs (no training)."""

from __future__ import annotations

import inspect
from pathlib import Path

import numpy as np
import pytest

from bench import reports
from bench import results as store
from bench.reports import published as pub
from bench.reports.format import SYNTHETIC_NOTE, SYNTHETIC_TEXT
from bench.reports.leaderboard import leaderboard
from bench.reports.reaching import (
    aegru_table3_published,
    challenge_field,
    table2_measured,
    table2_published,
    write_aegru_table3,
)

PAPER_TABLE2 = {
    "ANN2D": ("0.58 ± 0.06", "27.2 ± 6.3", "5.0 ± 1.2"),
    "ANN3D": ("0.62 ± 0.05", "137.8 ± 43.2", "11.5 ± 3.9"),
    "SNN3D": ("0.63 ± 0.05", "34.0 ± 9.0", "38.1 ± 11.6"),
    "SNN Streaming": ("0.58 ± 0.06", "29.2 ± 9.6", "0.4 ± 0.2"),
}
SESSIONS = list(pub.SESSIONS)


def rows_of(md: str) -> dict[str, list[str]]:
    out = {}
    for line in md.splitlines():
        if line.startswith("|") and not line.startswith("|--"):
            cells = [c.strip() for c in line.strip("|").split("|")]
            out[cells[0]] = cells[1:]
    return out


def fake_result(row: str, display: str, rec: str, seed: int, r2: float, fp: float, macs: float, acs: float,
                synthetic: bool = False, variant: str = "base", entry: str | None = None, **extra) -> dict:
    return {
        "schema": store.SCHEMA, "task": "reaching", "entry": entry or row, "row": row, "variant": variant, "display": display,
        "recording": rec, "seed": seed, "synthetic": synthetic, "status": "ok", "overrides": {}, "tag": "leaderboard", "kind": "submission",
        "metrics": {"R2": r2, "Footprint": fp, "SynapticOperations": {"Effective_MACs": macs, "Effective_ACs": acs, "Dense": 1.0}, **extra.pop("metrics", {})},
        **extra,
    }


def put(root: Path, r: dict) -> Path:
    path = store.result_path(root, r.get("tag", "leaderboard"), r["task"], r["row"], r["recording"], r["seed"], r.get("overrides"))
    store.atomic_write_json(path, r)
    return path


def test_published_table2_reproduces_paper_rows():
    rows = rows_of(table2_published().markdown())
    for name, cells in PAPER_TABLE2.items():
        assert tuple(rows[name]) == cells
    assert tuple(rows["AEGRU 50% pruning"]) == ("0.71 ± 0.05", "45.5 ± 6.3", "25.1 ± 3.3")


def test_measured_table2_from_stored_published_figures(tmp_path):
    """Results stored with the published per-session figures give the published rows exactly:
    the RSNN rows are aggregated the way the baselines' are."""
    for name, f in pub.PUBLISHED_REACHING.items():
        row = name.lower().replace(" ", "-")
        for i, rec in enumerate(SESSIONS):
            put(tmp_path, fake_result(row, name, rec, 0, f["R2"][i], f["Footprint"][i], f["Effective_MACs"][i], f["Effective_ACs"][i]))
    measured = rows_of(table2_measured(store.load(tmp_path), synthetic=False).markdown())
    published = rows_of(table2_published().markdown())
    for name, cells in PAPER_TABLE2.items():
        assert tuple(measured[name][:3]) == cells
    for name in ("tinyRSNN", "bigRSNN"):
        assert measured[name][:3] == published[name]
    assert published["tinyRSNN"] == ["0.66 ± 0.08", "27.1 ± 6.1", "0.3 ± 0.1"]
    assert published["bigRSNN"][0] == "0.70 ± 0.07"  # REFERENCE.md section 8: mean R2 0.698


def test_seeds_averaged_first_and_synthetic_marked(tmp_path):
    for seed, r2 in ((0, 0.5), (1, 0.7)):
        put(tmp_path, fake_result("m", "M", "sim_a", seed, r2, 1000, 10, 0, synthetic=True))
    put(tmp_path, fake_result("m", "M", "sim_b", 0, 0.2, 1000, 10, 0, synthetic=True))
    md = table2_measured(store.load(tmp_path), synthetic=True).markdown()
    assert md.splitlines()[0] == SYNTHETIC_NOTE
    assert rows_of(md)["M"][0] == "0.40 ± 0.20"  # sessions 0.6 and 0.2
    written = reports.write_all(tmp_path, tmp_path / "out")
    names = {p.relative_to(tmp_path / "out").as_posix() for p in written}
    assert {"leaderboard.md", "table2.md", "table3.md", "site/index.html", "site/reaching.html"} <= names
    text = (tmp_path / "out" / "leaderboard.md").read_text()
    assert SYNTHETIC_NOTE in text and "sim_a" in text


def test_missing_figure_is_error_not_a_smaller_mean(tmp_path):
    put(tmp_path, fake_result("m", "M", "sim_a", 0, 0.5, 1000, 10, 0, synthetic=True))
    r = fake_result("m", "M", "sim_b", 0, 0.7, 1000, 10, 0, synthetic=True)
    del r["metrics"]["SynapticOperations"]
    put(tmp_path, r)
    assert rows_of(table2_measured(store.load(tmp_path), synthetic=True).markdown())["M"][:3] == ["0.60 ± 0.10", "1.0 ± 0.0", "error"]


def test_errors_and_unreadable_files_listed_not_scored(tmp_path):
    r = fake_result("m", "M", "sim_a", 0, 0.5, 1000, 10, 0, synthetic=True)
    r.update(status="error", error={"stage": "train", "message": "boom | bad\nthing"})
    put(tmp_path, r)
    bad = store.result_path(tmp_path, "leaderboard", "reaching", "m", "sim_b", 0)
    bad.parent.mkdir(parents=True)
    bad.write_text('{"schema": 2, "status": "ok", "task": "reaching"')  # truncated
    reports.write_tables(tmp_path, tmp_path)
    text = (tmp_path / "leaderboard.md").read_text()
    assert "Failed runs" in text and "boom / bad thing" in text
    assert "Unreadable result files" in text and "leaderboard/reaching/m/sim_b/seed0.json" in text
    assert table2_measured([x for x in store.load(tmp_path) if x["status"] == "ok"], synthetic=True) is None


def test_table3_average_is_std_over_seeds_of_session_means(tmp_path):
    rng = np.random.default_rng(0)
    vals = {row: rng.uniform(0.5, 0.8, size=(3, 5)) for row in ("gru", "aegru")}  # (recordings, seeds)
    for row, v in vals.items():
        for i in range(3):
            for s in range(5):
                put(tmp_path, fake_result(row, row, f"sim_{i}", s, float(v[i, s]), 1, 1, 0, synthetic=True))
    put(tmp_path, fake_result("aegru", "aegru", "real_x", 0, 0.9, 1, 1, 0))
    (path,) = write_aegru_table3(tmp_path, tmp_path / "out", "leaderboard")
    text = path.read_text()
    assert path.name == "table3.md"
    synth = text[text.index(SYNTHETIC_NOTE):]
    for row, col in (("gru", 1), ("aegru", 2)):
        v = vals[row]
        line = [ln for ln in synth.splitlines() if ln.startswith("| sim_1 ")][0]
        assert line.split(" | ")[col] == f"{v[1].mean():.3f} ± {v[1].std():.3f}"
        per_seed = v.mean(0)
        avg = [ln for ln in synth.splitlines() if ln.startswith("| Average")][0]
        assert avg.split(" | ")[col] == f"{per_seed.mean():.3f} ± {per_seed.std():.3f}"
    real = text[: text.index(SYNTHETIC_NOTE)]
    assert "real_x" in real and "0.900 ± 0.000" in real and "sim_0" not in real
    assert aegru_table3_published().markdown() in text and "0.70 ± 0.008" in text


def test_challenge_field_fills_tbc_only_from_real_data(tmp_path):
    extra = {"metrics": {"ConnectionSparsity": 0.5, "ActivationSparsity": 0.25}}
    for i in range(2):
        put(tmp_path, fake_result("aegru-pruned", "AEGRU", f"sim_{i}", 0, 0.7, 45520, 25000, 0, synthetic=True, variant="pruned", entry="aegru", **extra))
    field = challenge_field(store.load(tmp_path))
    rows = rows_of(field.markdown())
    assert rows["AEGRU"][1:] == ["45,520", "TBC", "TBC", "≈54.3k", "TBC", "TBC"]
    assert "synthetic" in field.footer and rows["tinyRSNN"][:2] == ["0.660", "27,144"]
    for i, rec in enumerate(SESSIONS[:2]):
        put(tmp_path, fake_result("aegru-pruned", "AEGRU", rec, 0, 0.7, 45520, 25000 + 2000 * i, 0, variant="pruned", entry="aegru", **extra))
    rows = rows_of(challenge_field(store.load(tmp_path)).markdown())
    assert rows["AEGRU"][2] == "0.500 (bench, 2 real recordings, seeds 0)"
    assert rows["AEGRU"][5].startswith("26,000 (bench") and rows["AEGRU"][0] == "0.698"  # R2 stays the published one


def test_deployment_figures_shown_when_present(tmp_path):
    dep = {"latency": {"p50_us": 80.0, "p99_us": 120.0, "rtf_p99": 0.03, "machine": {"threads": 1}},
           "energy": {"per_prediction_nj": 200.0, "per_second_uj": 50.0, "label": "energy estimate (float32 45 nm, compute only)"}}
    put(tmp_path, fake_result("m", "M", "sim_a", 0, 0.5, 1000, 10, 0, synthetic=True, deployment=dep))
    put(tmp_path, fake_result("n", "N", "sim_a", 0, 0.4, 1000, 10, 0, synthetic=True))
    text = leaderboard(store.load(tmp_path))
    assert "latency p99 (µs)" in text and "energy / prediction (nJ, estimate)" in text
    by_model = {cells[0]: cells[1:] for cells in rows_of(text).values() if cells}
    assert "120.0" in by_model["M"] and "200.00" in by_model["M"]
    assert by_model["N"][-3] == "—"  # no deployment record: no figure, never 0
    from bench.reports import board, collect

    axes = board.deployment_axes(collect.group_rows(store.load(tmp_path)))
    assert [a[0] for a in axes] == ["deployment.energy.per_prediction_nj", "deployment.latency.p99_us"]
    assert "estimate" in axes[0][2] and "float32 45 nm" in axes[0][2]


def test_every_writer_has_one_signature(tmp_path):
    put(tmp_path, fake_result("m", "M", "sim_a", 0, 0.5, 1000, 10, 0, synthetic=True))
    writers = [*reports.TABLE_WRITERS, *reports.FIGURE_WRITERS, reports.write_site, reports.write_sweep_reports]
    for w in writers:
        assert list(inspect.signature(w).parameters) == ["root", "out", "tag"], w.__name__
        paths = w(tmp_path, tmp_path / "out" / w.__name__, "leaderboard")
        assert isinstance(paths, list) and all(isinstance(p, Path) and p.exists() for p in paths), w.__name__


def test_one_synthetic_notice_and_no_table_name_clash():
    root = Path(reports.__file__).parent.parent
    holders = [p for p in root.rglob("*.py") if SYNTHETIC_TEXT[:40] in p.read_text()]
    assert holders == [root / "reports" / "format.py"]
    import bench.reports.grasp as grasp
    import bench.reports.reaching as reaching

    assert not {n for n in dir(grasp) if "table3" in n} & {n for n in dir(reaching) if "table3" in n}


@pytest.mark.parametrize("tag, name", [("leaderboard", "leaderboard.md"), ("quick", "leaderboard_quick.md")])
def test_quick_tag_never_overwrites_the_leaderboard(tmp_path, tag, name):
    put(tmp_path, dict(fake_result("m", "M", "sim_a", 0, 0.5, 1000, 10, 0, synthetic=True), tag=tag))
    written = reports.write_all(tmp_path, tmp_path, tag)
    assert (tmp_path / name).exists()
    assert (reports.site_dir(tmp_path, tag) / "index.html") in written
