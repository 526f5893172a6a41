"""Grasp tables 3-5 and confusion figures from hand-made result JSONs; the trainsize parser."""

from __future__ import annotations

import argparse

import numpy as np
import pytest

from bench import results as store
from bench.reports.figures import write_confusion_figures
from bench.reports.grasp import animal, object_table, write_grasp_tables
from bench.sweeps import add_trainsize_parser


def table4(results):
    return object_table(results).markdown()


def _result(root, task, entry, rec, seed, metrics, *, conf, classes, tag="leaderboard", load_options=None, synthetic=True):
    row = entry
    payload = {
        "schema": store.SCHEMA, "task": task, "entry": entry, "display": entry.upper(), "row": row,
        "variant": "base", "recording": rec, "synthetic": synthetic, "seed": seed, "tag": tag,
        "overrides": {}, "status": "ok", "metrics": metrics,
        "eval": {"confusion": conf, "classes": classes},
        "run": {"load_options": load_options or {}},
    }
    path = store.result_path(root, tag, task, row, rec, seed, load_options)
    store.atomic_write_json(path, payload)
    return path


@pytest.fixture
def store_root(tmp_path):
    root = tmp_path / "results"
    objects = ["21", "22", "41"]
    acc = {"sim_m_1": 0.6, "sim_m_2": 0.8, "sim_z_1": 0.5}
    for rec, a in acc.items():
        for seed, delta in ((0, -0.05), (1, 0.05)):  # seed mean = a
            _result(root, "grasp-object", "bilstm-grasp", rec, seed, {"Accuracy": a + delta, "RelaxedAccuracy": a + delta + 0.1},
                    conf=[[3, 1, 0], [0, 4, 0], [1, 0, 2]], classes=objects)
            _result(root, "grasp-phase", "bilstm-grasp-phase", rec, seed, {"Accuracy": 0.97, "F1": 0.9},
                    conf=[[90, 3], [1, 6]], classes=["rest", "grasp"])
    for share, a in ((0.8, 0.7), (0.2, 0.4)):
        for rec in ("sim_m_1", "sim_z_1"):
            _result(root, "grasp-object", "bilstm-grasp", rec, 0, {"Accuracy": a, "RelaxedAccuracy": a + 0.2},
                    conf=[[1]], classes=["21"], tag="sweep-trainsize", load_options={"trainval_share": share})
    return root


def test_animal_names():
    assert [animal(n) for n in ("sim_m_1", "sim_z_3", "MRec40", "ZRec50")] == ["M", "Z", "M", "Z"]


def test_tables_from_stored_results(store_root, tmp_path):
    out = tmp_path / "out"
    paths = write_grasp_tables(store_root, out, "leaderboard")
    assert [p.name for p in paths] == ["grasp_table3.md", "grasp_table4.md", "grasp_table5.md"]
    t3, t4, t5 = (p.read_text() for p in paths)
    for text in (t3, t4, t5):
        assert "Synthetic recordings" in text  # every synthetic table says so above it
    cells = [[c.strip() for c in line.split("|")[1:-1]] for line in t3.splitlines() if line.startswith("| BILSTM")]
    assert ["BILSTM-GRASP-PHASE", "sim_m_2", "97.0", "0.900", "2"] in cells
    assert cells[-1][1:4] == ["**all sessions**", "97.0 ± 0.0", "0.900 ± 0.000"]
    # Table 4: animal M = sessions m_1 (60%), m_2 (80%) -> 70.0 ± 10.0; Z -> 50.0; overall 63.3 ± 12.5
    lines = {line.split("|")[2].strip(): line for line in t4.splitlines() if line.startswith("| BILSTM-GRASP ")}
    assert "70.0 ± 10.0" in lines["M"] and "80.0 ± 10.0" in lines["M"]
    assert "| 50.0 " in lines["Z"] and "63.3 ± 12.5" in lines["**overall**"]
    # Table 5: shares in decreasing order, published figures beside them
    rows = [line for line in t5.splitlines() if line.startswith("| BILSTM-GRASP ")]
    assert "80%" in rows[0] and "70.0 ± 0.0" in rows[0] and "74.1 / 98.3" in rows[0]
    assert "20%" in rows[1] and "40.0 ± 0.0" in rows[1] and "60.0 ± 0.0" in rows[1] and "51.0 / 81.0" in rows[1]


def test_table4_real_names_without_synthetic_note(tmp_path):
    _result(tmp_path, "grasp-object", "bilstm-grasp", "MRec40", 0, {"Accuracy": 0.7, "RelaxedAccuracy": 0.9}, conf=[[1]], classes=["21"], synthetic=False)
    text = table4(store.load(tmp_path))
    assert "Synthetic" not in text and "| M " in text.replace("|  M", "| M")


def test_missing_metric_is_not_a_number(tmp_path):
    _result(tmp_path, "grasp-object", "bilstm-grasp", "sim_m_1", 0, {"Accuracy": 0.7}, conf=[[1]], classes=["21"])
    assert "n/a" in table4(store.load(tmp_path))  # RelaxedAccuracy absent: never printed as 0


def test_confusion_figures(store_root, tmp_path):
    paths = write_confusion_figures(store_root, tmp_path / "figures", "leaderboard")
    assert sorted(p.name for p in paths) == ["grasp_confusion_sim_m_1.png", "grasp_confusion_sim_m_2.png", "grasp_confusion_sim_z_1.png"]
    from matplotlib.image import imread

    img = imread(paths[0])
    assert img.shape[0] > 300 and img.shape[1] > 800 and np.asarray(img).std() > 0.01


def test_trainsize_parser_defaults():
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers()
    add_trainsize_parser(sub)
    args = parser.parse_args(["trainsize", "bilstm-grasp", "--quick", "-r", "sim_m_1"])
    assert args.shares == [0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2] and args.recording == ["sim_m_1"] and args.quick
    with pytest.raises(SystemExit) as exc:  # a share outside (0, 1) is a usage error
        parser.parse_args(["trainsize", "bilstm-grasp", "--shares", "1.5"])
    assert exc.value.code == 2
