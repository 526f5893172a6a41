"""The default grasp sessions are generated straight into the binned form: prove it changes nothing.

The arrays ``load_grasp`` gives for a ``.grasp.npz`` made by the generator must equal those it
gives after writing the same simulated session as a real ``.neo.mat`` (either writer) and
parsing it back; a damaged default file is generated again with a note; the first use shows a
progress bar naming what is generated.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from bench.data import grasp as g
from bench.data import synth_grasp as sg

SMALL = sg.GraspSynthConfig("sim_small", n_units=9, n_trials=70, seed=17)


def _same(a: g.GraspRecording, b: g.GraspRecording) -> None:
    assert a.name == b.name
    np.testing.assert_array_equal(a.counts, b.counts)
    assert a.counts.dtype == b.counts.dtype
    np.testing.assert_array_equal(a.offsets, b.offsets)
    np.testing.assert_array_equal(a.obj, b.obj)
    np.testing.assert_array_equal(a.correct, b.correct)
    assert a.phase_labels == b.phase_labels and a.unit_names == b.unit_names
    np.testing.assert_array_equal(a.phase_times, b.phase_times)  # NaN where absent, in both
    for key in ("source", "seed", "generator_version"):
        assert a.identity[key] == b.identity[key]


@pytest.mark.parametrize("engine", ["fast", "neo"])
def test_binned_default_equals_writing_and_reading_the_real_format(tmp_path, engine):
    direct = g.load_grasp(sg.write_binned_session(tmp_path / "sim_small.grasp.npz", SMALL))
    via_file = g.load_grasp(sg.write_session(tmp_path / "sim_small.neo.mat", SMALL, engine=engine), cache=False)
    _same(direct, via_file)
    assert direct.counts.sum() > 1000 and (~direct.correct).any()  # a real test: spikes, error trials
    again = g.load_grasp(tmp_path / "sim_small.neo.mat")  # and through the reader's cache
    _same(direct, g.load_grasp(tmp_path / "sim_small.neo.mat"))
    _same(again, via_file)


def test_damaged_default_session_is_generated_again(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(sg, "DEFAULT_GRASP_SESSIONS", (replace(SMALL, name="sim_a"),))
    (path,) = sg.ensure_default_grasp_sessions()
    good = g.load_grasp(path)
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 3])  # truncated
    rec = g.load_grasp(path)  # the task's load: rebuilt from the generator, with a note
    _same(rec, good)
    err = capsys.readouterr().err
    assert "note: cache entry" in err and "sim_a" in err and "rebuilding it from the generator" in err
    path.write_bytes(b"not a zip at all")
    assert sg.ensure_default_grasp_sessions() == [path]  # the resolver rebuilds it too
    _same(g.load_grasp(path), good)
    assert "note: cache entry" in capsys.readouterr().err


def test_a_damaged_binned_file_elsewhere_is_a_clear_error(tmp_path):
    bad = tmp_path / "mine.grasp.npz"
    bad.write_bytes(b"PK\x03\x04 truncated")
    with pytest.raises(g.GraspDataError, match=r"mine\.grasp\.npz: not a readable binned grasp recording"):
        g.load_grasp(bad)


def test_first_use_shows_what_is_generated(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("BENCH_PROGRESS", "1")
    monkeypatch.setattr(sg, "DEFAULT_GRASP_SESSIONS", (replace(SMALL, name="sim_a"), replace(SMALL, name="sim_b", seed=3)))
    sg.ensure_default_grasp_sessions()
    err = capsys.readouterr().err
    assert "generating synthetic grasp sessions" in err and "sim_b (9 units x 70 trials)" in err
    sg.ensure_default_grasp_sessions()
    assert capsys.readouterr().err == ""  # nothing to generate: no bar


def test_generation_in_worker_processes_equals_in_process(tmp_path, monkeypatch):
    """The pool path (spawned workers) writes the same files as the in-process path."""
    from bench.data import generation

    cfgs = (replace(SMALL, name="sim_a"), replace(SMALL, name="sim_b", seed=3))
    monkeypatch.setattr(sg, "DEFAULT_GRASP_SESSIONS", cfgs)
    monkeypatch.setattr(generation, "MIN_POOL_WORK", 0.0)
    monkeypatch.setenv("BENCH_SYNTH_JOBS", "2")
    pooled = sg.ensure_default_grasp_sessions(tmp_path / "pool")
    monkeypatch.setenv("BENCH_SYNTH_JOBS", "1")
    local = sg.ensure_default_grasp_sessions(tmp_path / "local")
    for a, b in zip(pooled, local):
        _same(g.read_binned(Path(a)), g.read_binned(Path(b)))
    monkeypatch.setenv("BENCH_SYNTH_JOBS", "0")
    with pytest.raises(ValueError, match="BENCH_SYNTH_JOBS"):
        generation.n_workers(2)
