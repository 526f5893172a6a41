"""Sweeps run through the runner and redraw from stored results; Table III aggregation."""

from __future__ import annotations

import argparse

import pytest

from bench import results as store
from bench import sweeps
from bench.execution import runner
from bench.reports.format import SYNTHETIC_NOTE
from bench.tasks import RecordingRef
from tests.conftest import make_recording


@pytest.fixture
def mem_recording(monkeypatch, tmp_path):
    """The runner loads an in-memory recording instead of a file."""
    rec = make_recording(32, 2400, seed=5, name="mem_sweep")
    ref = RecordingRef("mem_sweep", tmp_path / "mem_sweep.mat", True)
    monkeypatch.setattr(sweeps, "recordings_for", lambda task, args: [ref])
    monkeypatch.setattr(runner, "load_recording", lambda task, r, spec: rec)
    return rec


def _parse(argv: list[str]) -> argparse.Namespace:
    if "--jobs" not in argv:  # in-process runs: the tests patch this process's recordings
        argv = [*argv, "--jobs", "1"]
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd")
    sweeps.add_sweep_parsers(sub)
    return p.parse_args(argv)


def test_window_sweep_runs_stores_and_redraws(mem_recording, tmp_path):
    res = tmp_path / "res"
    args = _parse(["window", "aegru", "--ws", "5", "10", "--n", "1", "2", "--quick", "--results", str(res)])
    assert args.func(args) == 0
    stored = store.load(res, tag="sweep-window-quick")
    assert sorted((r["overrides"]["ws"], r["overrides"]["n"]) for r in stored) == [(5, 1), (5, 2), (10, 1), (10, 2)]
    assert all(r["status"] == "ok" and r["config"]["ws"] == r["overrides"]["ws"] for r in stored)
    png = res / "sweeps" / "window_aegru_sweep-window-quick.png"
    md = png.with_suffix(".md").read_text()
    assert png.stat().st_size > 1000 and SYNTHETIC_NOTE in md
    r2 = [r["metrics"]["R2"] for r in stored if r["overrides"] == {"ws": 10, "n": 2}][0]
    assert f"{r2:.3f}" in md
    png.unlink()
    args = _parse(["window", "aegru", "--plot-only", "--quick", "--results", str(res)])
    assert args.func(args) == 0 and png.exists()


def test_prune_sweep_trains_once_and_macs_fall(mem_recording, tmp_path, monkeypatch):
    from submissions import aegru

    calls = []
    real_train = aegru.ENTRY.train
    monkeypatch.setattr(sweeps, "_entry", lambda name: __import__("dataclasses").replace(aegru.ENTRY, train=lambda *a: calls.append(1) or real_train(*a)))
    res = tmp_path / "res"
    args = _parse(["prune", "aegru", "--rates", "0", "0.5", "0.9", "--quick", "--results", str(res)])
    assert args.func(args) == 0
    assert len(calls) == 1  # one training, three pruning points
    stored = {r["overrides"]["prune_rate"]: r for r in store.load(res, tag="sweep-prune-quick")}
    assert sorted(stored) == [0.0, 0.5, 0.9] and all(r["row"] == "aegru-pruned" for r in stored.values())
    macs = [stored[r]["metrics"]["SynapticOperations"]["Effective_MACs"] for r in (0.0, 0.5, 0.9)]
    assert macs[0] > macs[1] > macs[2]
    assert stored[0.0]["metrics"]["Footprint"] == stored[0.9]["metrics"]["Footprint"]
    md = (res / "sweeps" / "prune_aegru-pruned_sweep-prune-quick.md").read_text()
    assert "0.5" in md and SYNTHETIC_NOTE in md


def test_prune_sweep_with_two_jobs_trains_in_workers_and_matches_one_job(tmp_path):
    """`sweep prune aegru --jobs 2`: the shared training is a plain RunSpec field, so the specs
    travel to spawned workers; each point equals the in-process run."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    from tests.fault_entries import _support as sup

    tiny = sup.tiny_mat(tmp_path)
    args = ["sweep", "prune", "aegru", "--rates", "0", "0.5", "--quick", "--data-dir", str(tiny.parent), "-r", tiny.stem]
    repo = Path(__file__).resolve().parent.parent
    out = subprocess.run([sys.executable, "-m", "bench", *args, "--jobs", "2", "--results", str(tmp_path / "jobs2")], cwd=repo,
                         env=dict(os.environ, BENCH_PROGRESS="0"), capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stdout + out.stderr
    one = _parse([*args[1:], "--results", str(tmp_path / "jobs1")])
    assert one.func(one) == 0
    by_rate = {}
    for name in ("jobs1", "jobs2"):
        for r in store.load(tmp_path / name, tag="sweep-prune-quick"):
            by_rate.setdefault(r["overrides"]["prune_rate"], []).append(r)
    assert sorted(by_rate) == [0.0, 0.5]
    for rate, (a, b) in by_rate.items():
        assert a["status"] == b["status"] == "ok"
        assert a["metrics"] == b["metrics"], rate
        assert a["identity_hash"] == b["identity_hash"]
