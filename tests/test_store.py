"""The result store never crashes and never hides: bad files are reported once and skipped,
old schemas migrate, an unwritable store is found before training."""

from __future__ import annotations

import dataclasses
import errno
import json
import subprocess
import sys
from pathlib import Path

import pytest

from bench import results as store
from bench.execution import paths_for, run_all
from tests.fault_entries import _support as sup

REPO = Path(__file__).resolve().parent.parent
GOOD = {"schema": store.SCHEMA, "status": "ok", "task": "reaching", "entry": "x", "row": "x", "recording": "rec", "seed": 0,
        "overrides": {}, "metrics": {"R2": 0.5}}
BAD = {
    "truncated": '{"schema": 2, "status": "ok", "metr',
    "not_json": "this is not json",
    "empty": "",
    "list": "[1, 2]",
    "null": "null",
    "missing_keys": json.dumps({"schema": 2, "status": "ok"}),
    "metrics_null": json.dumps({**GOOD, "metrics": None}),
    "future_schema": json.dumps({**GOOD, "schema": 99}),
    "seed_text": json.dumps({**GOOD, "seed": "zero"}),
}
REASONS = {
    "truncated": "not JSON, truncated?", "not_json": "not JSON", "empty": "empty file", "list": "holds JSON list [1, 2]",
    "null": "holds JSON NoneType null", "missing_keys": "missing or non-text field(s) ['task', 'row', 'recording']",
    "metrics_null": "metrics is null", "future_schema": "schema 99 is not one this bench reads", "seed_text": 'seed "zero" is not an integer',
}


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    base = tmp_path_factory.getbasetemp()
    with sup.hermetic(base):
        return sup.tiny_mat(base)


def _populate(root: Path) -> dict[str, Path]:
    store.atomic_write_json(store.result_path(root, "leaderboard", "reaching", "x", "rec", 0), GOOD)
    legacy = {**GOOD, "schema": 1, "seed": 1, "run": {"load_options": {}}, "config_hash": "abc"}
    store.atomic_write_json(store.result_path(root, "leaderboard", "reaching", "x", "rec", 1), legacy)
    bad = {}
    for i, (name, text) in enumerate(BAD.items()):
        path = store.result_path(root, "leaderboard", "reaching", "x", f"bad_{name}", i)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        bad[name] = path
    return bad


def test_bad_files_are_reported_once_with_path_and_reason(tmp_path, capsys):
    bad = _populate(tmp_path)
    records, problems = store.load_store(tmp_path)
    assert sorted(r["seed"] for r in records) == [0, 1]
    legacy = [r for r in records if r["seed"] == 1][0]
    assert legacy["schema"] == store.SCHEMA and legacy["migrated_from"] == 1 and legacy["key"]["recording"] == "rec"
    by_path = {p.path: p.problem for p in problems}
    assert set(by_path) == set(bad.values())
    for name, path in bad.items():
        assert REASONS[name] in by_path[path], (name, by_path[path])
    store.load(tmp_path)
    store.load(tmp_path)  # every table and figure loads again: each file still reported once
    err = capsys.readouterr().err
    for path in bad.values():
        assert err.count(str(path)) == 1


def test_missing_store_is_an_error_and_creates_nothing(tmp_path):
    missing = tmp_path / "nowhere"
    with pytest.raises(store.StoreError, match="does not exist"):
        store.load_store(missing)
    assert not missing.exists()
    (tmp_path / "afile").write_text("x")
    with pytest.raises(store.StoreError, match="is a file"):
        store.load_store(tmp_path / "afile")


def test_table_command_on_a_missing_store_says_so_and_creates_nothing(tmp_path):
    missing = tmp_path / "no-results"
    out = subprocess.run([sys.executable, "-m", "bench", "table", "--results", str(missing)], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert out.returncode == 2, out.stdout + out.stderr
    assert "does not exist" in out.stderr and str(missing) in out.stderr and "Traceback" not in out.stderr
    assert not missing.exists()


def test_table_command_skips_a_list_in_the_store(tmp_path):
    bad = _populate(tmp_path)
    out = subprocess.run([sys.executable, "-m", "bench", "table", "--results", str(tmp_path)], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "Traceback" not in out.stderr
    assert str(bad["list"]) in out.stdout + out.stderr


def test_a_bad_file_at_a_run_path_is_kept_aside_and_the_run_goes_on(tiny, tmp_path, capsys):
    spec = sup.spec("fault_tiny", tiny, variants=["base"])
    path = paths_for(spec, tmp_path)["base"]
    path.parent.mkdir(parents=True)
    path.write_text("[1, 2]")
    out = run_all([spec], tmp_path)[0]
    assert out.status == "ok", out.message
    printed = capsys.readouterr()
    assert f"unreadable result file {path}" in printed.out and "holds JSON list" in printed.out
    assert store.read(path)["status"] == "ok"
    aside = list(path.parent.glob(path.name + ".unreadable-*"))
    assert len(aside) == 1 and aside[0].read_text() == "[1, 2]"  # nothing is lost


def test_unwritable_store_is_found_before_training(tiny, tmp_path, monkeypatch):
    calls = []
    spec = sup.spec("fault_tiny", tiny, variants=["base"])
    spec.entry = dataclasses.replace(spec.entry, train=lambda *a: calls.append(1) or {})
    (tmp_path / "afile").write_text("x")
    with pytest.raises(store.StoreError, match="cannot be created"):
        run_all([spec], tmp_path / "afile" / "results", progress=False)
    assert calls == []

    def read_only(*args, **kwargs):
        raise OSError(errno.EROFS, "Read-only file system")

    monkeypatch.setattr(store.tempfile, "mkstemp", read_only)
    with pytest.raises(store.StoreError, match="cannot be written: Read-only file system"):
        run_all([spec], tmp_path / "ro", progress=False)
    assert calls == []


def test_store_failing_mid_sweep_keeps_completed_results(tiny, tmp_path, monkeypatch):
    specs = [sup.spec("fault_tiny", tiny, seed=s, variants=["base"]) for s in (0, 1, 2)]
    real_write, real_mkstemp = store._io_atomic_write_json, store.tempfile.mkstemp
    writes = []

    def full_after_first(path, payload):
        if writes:
            raise OSError(errno.ENOSPC, "No space left on device")
        done = real_write(path, payload)
        writes.append(path)
        return done

    def probe(*args, **kwargs):
        if writes:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_mkstemp(*args, **kwargs)

    monkeypatch.setattr(store, "_io_atomic_write_json", full_after_first)
    monkeypatch.setattr(store.tempfile, "mkstemp", probe)
    with pytest.raises(store.StoreError, match="No space left on device; stopped after 2 runs: completed results are kept"):
        run_all(specs, tmp_path, progress=False)
    monkeypatch.undo()
    first = paths_for(specs[0], tmp_path)["base"]
    assert store.read(first)["status"] == "ok"
    assert not paths_for(specs[1], tmp_path)["base"].exists() and not paths_for(specs[2], tmp_path)["base"].exists()


def test_committed_reference_results_load_without_problems():
    root = REPO / "results"
    if not root.is_dir():
        pytest.skip("no committed results")
    records, problems = store.load_store(root, tag=None, include_errors=True)
    assert records and not problems, problems[:3]
