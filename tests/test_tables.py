import json

from bench import results as store
from bench.tables import PUBLISHED_REACHING, published_table2, table2, write_all

PAPER_TABLE2 = {
    "ANN2D": ("0.58 ± 0.06", "27.2 ± 6.3", "5.0 ± 1.2"),
    "ANN3D": ("0.62 ± 0.05", "137.8 ± 43.2", "11.5 ± 3.9"),
    "SNN3D": ("0.63 ± 0.05", "34.0 ± 9.0", "38.1 ± 11.6"),
    "SNN Streaming": ("0.58 ± 0.06", "29.2 ± 9.6", "0.4 ± 0.2"),
}
SESSIONS = ["indy_20160622_01", "indy_20160630_01", "indy_20170131_02", "loco_20170210_03", "loco_20170215_02", "loco_20170301_05"]


def rows_of(md: str) -> dict[str, list[str]]:
    out = {}
    for line in md.splitlines():
        if line.startswith("|") and not line.startswith("|--"):
            cells = [c.strip() for c in line.strip("|").split("|")]
            out[cells[0]] = cells[1:]
    return out


def test_published_table2_reproduces_paper_rows():
    rows = rows_of(published_table2())
    for name, cells in PAPER_TABLE2.items():
        assert tuple(rows[name]) == cells


def fake_result(row: str, display: str, rec: str, seed: int, r2: float, fp: float, macs: float, acs: float, synthetic: bool = False) -> dict:
    return {
        "schema": store.SCHEMA, "task": "reaching", "entry": row, "row": row, "variant": "base", "display": display,
        "recording": rec, "seed": seed, "synthetic": synthetic, "status": "ok", "overrides": {},
        "metrics": {"R2": r2, "Footprint": fp, "SynapticOperations": {"Effective_MACs": macs, "Effective_ACs": acs, "Dense": 1.0}},
    }


def test_measured_table2_from_stored_published_figures(tmp_path):
    """Results stored with NeuroBench's per-session figures give the paper's rows exactly."""
    for name, f in PUBLISHED_REACHING.items():
        row = name.lower().replace(" ", "-")
        for i, rec in enumerate(SESSIONS):
            r = fake_result(row, name, rec, 0, f["R2"][i], f["Footprint"][i], f["Effective_MACs"][i], f["Effective_ACs"][i])
            store.atomic_write_json(store.result_path(tmp_path, "leaderboard", "reaching", row, rec, 0), r)
    rows = rows_of(table2(store.load(tmp_path), synthetic=False))
    for name, cells in PAPER_TABLE2.items():
        assert tuple(rows[name][:3]) == cells


def test_seeds_averaged_first_and_synthetic_marked(tmp_path):
    for seed, r2 in ((0, 0.5), (1, 0.7)):
        r = fake_result("m", "M", "sim_a", seed, r2, 1000, 10, 0, synthetic=True)
        store.atomic_write_json(store.result_path(tmp_path, "leaderboard", "reaching", "m", "sim_a", seed), r)
    r = fake_result("m", "M", "sim_b", 0, 0.2, 1000, 10, 0, synthetic=True)
    store.atomic_write_json(store.result_path(tmp_path, "leaderboard", "reaching", "m", "sim_b", 0), r)
    md = table2(store.load(tmp_path), synthetic=True)
    assert "Synthetic" in md.splitlines()[0]
    assert rows_of(md)["M"][0] == "0.40 ± 0.20"  # sessions 0.6 and 0.2
    written = write_all(tmp_path, tmp_path / "out")
    text = (tmp_path / "out" / "leaderboard.md").read_text()
    assert "Synthetic" in text and "sim_a" in text
    assert any(p.name == "table2.md" for p in written)


def test_errors_listed_not_scored(tmp_path):
    r = fake_result("m", "M", "sim_a", 0, 0.5, 1000, 10, 0, synthetic=True)
    r.update(status="error", error={"stage": "train", "message": "boom"})
    store.atomic_write_json(store.result_path(tmp_path, "leaderboard", "reaching", "m", "sim_a", 0), r)
    write_all(tmp_path, tmp_path)
    text = (tmp_path / "leaderboard.md").read_text()
    assert "Failed runs" in text and "boom" in text
    assert table2([x for x in store.load(tmp_path) if x["status"] == "ok"], synthetic=True) == ""
    json.loads(json.dumps(r))
