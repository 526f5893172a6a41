"""Synthetic reaching sessions: real-data statistics, determinism, file layout, peer readers."""

from __future__ import annotations

import importlib.util
import re
from dataclasses import replace
from pathlib import Path

import h5py
import numpy as np
import pytest

from bench.data.sessions import KNOWN
from bench.data.synth_reaching import (
    DEFAULT_SESSIONS,
    FULL_SCALE,
    GENERATOR_VERSION,
    SynthConfig,
    default_dir,
    ensure_sessions,
    generate,
    is_valid_session_file,
    synth_command,
    write_session,
)

REPO = Path(__file__).resolve().parent.parent
SHORT = SynthConfig("sim_indy_test", 96, duration_s=60.0, seed=7, finger_rows=6)
SHORT_LOCO = SynthConfig("sim_loco_test", 192, duration_s=40.0, seed=8, finger_rows=3)


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    monkeypatch.setenv("BENCH_CACHE", str(tmp_path / "cache"))


def _bins20(s, C):
    """(C, B) spike counts of all units per channel in 20 ms bins inside [t0, t_end]."""
    edges = np.arange(s.t[0], s.t[-1], 0.02)
    out = np.zeros((C, edges.size - 1))
    for c in range(C):
        out[c] = np.histogram(np.concatenate([row[c] for row in s.spikes]), edges)[0]
    return out


def _segments(target_pos):
    change = np.flatnonzero(np.abs(np.diff(target_pos, axis=0)).sum(1))
    return np.diff(np.r_[0, change + 1, len(target_pos)])


@pytest.fixture(scope="module")
def default_session():
    return generate(DEFAULT_SESSIONS[0])


def test_rate_statistics_match_real_sessions(default_session):
    s = default_session
    C = len(s.chan_names)
    cnt = _bins20(s, C)
    rate = cnt.sum(1) / (cnt.shape[1] * 0.02)
    assert 12 <= rate.mean() <= 19
    assert 6 <= np.median(rate) <= 15
    assert 30 <= rate.max() <= 60
    assert 4 <= int((rate < 0.5).sum()) <= 8
    assert 0.7 <= (cnt == 0).mean() <= 0.8
    assert 3 <= cnt.max() <= 6
    cut = int(0.8 * cnt.shape[1])  # the last 20% fires ~8% less
    assert 0.86 <= cnt[:, cut:].mean() / cnt[:, :cut].mean() <= 0.97


def test_behaviour_matches_real_sessions(default_session):
    s = default_session
    lengths = _segments(s.target_pos)
    per_min = len(lengths) / (len(s.t) * 0.004 / 60)
    assert 25 <= per_min <= 45
    assert (lengths > 2000).any(), "no idle period (> 8 s with the target put)"
    speed = np.hypot(*np.gradient(s.cursor_pos, axis=0).T) / 0.004  # mm/s
    assert 200 < np.percentile(speed, 99) < 800
    assert np.abs(s.cursor_pos).max() < 150


def test_one_sample_targets_occur():
    lengths = _segments(generate(replace(SHORT, one_sample_target_prob=0.2)).target_pos)
    assert (lengths == 1).any()


def test_neurons_lead_the_movement():
    """Population activity predicts velocity best from spikes ~50-200 ms before it."""
    s = generate(replace(SHORT, duration_s=120.0))
    cnt = _bins20(s, len(s.chan_names))  # (C, B)
    v = np.gradient(s.cursor_pos, axis=0)[::5][: cnt.shape[1]]  # (B, 2) at the 20 ms bins
    speed = np.hypot(*v.T)
    act = cnt.sum(0)
    lags = np.arange(-10, 16)  # bins: activity at b, speed at b + lag
    corr = [np.corrcoef(act[max(0, -lag): len(act) - max(0, lag)],
                        speed[max(0, lag): len(speed) - max(0, -lag)])[0, 1] for lag in lags]
    best = lags[int(np.argmax(corr))] * 20
    assert 20 <= best <= 240, best


def test_deterministic_by_seed():
    a, b = generate(SHORT), generate(SHORT)
    c = generate(replace(SHORT, seed=SHORT.seed + 1))
    np.testing.assert_array_equal(a.t, b.t)
    np.testing.assert_array_equal(a.cursor_pos, b.cursor_pos)
    for u in range(5):
        for ch in range(96):
            np.testing.assert_array_equal(a.spikes[u][ch], b.spikes[u][ch])
    assert not np.array_equal(a.cursor_pos, c.cursor_pos)
    assert a.attrs == {"bench_synthetic": 1, "bench_seed": 7,
                       "bench_generator_version": GENERATOR_VERSION, "bench_name": "sim_indy_test"}


def test_no_real_session_names():
    names = [c.name for c in DEFAULT_SESSIONS + FULL_SCALE]
    assert [c.name for c in DEFAULT_SESSIONS] == [c.name for c in FULL_SCALE]
    assert len(set(names)) == 6 and len({c.seed for c in DEFAULT_SESSIONS}) == 6
    for n in names:
        assert n not in KNOWN and not re.search(r"\d{6}", n), n
    assert [c.n_channels for c in DEFAULT_SESSIONS] == [96] * 3 + [192] * 3
    assert all(c.duration_s >= 2000 for c in FULL_SCALE[:1])


@pytest.fixture(scope="module")
def short_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("synth") / "sim_indy_test.mat"
    write_session(path, SHORT)
    return path


def test_file_layout(short_file):
    raw = short_file.read_bytes()[:128]
    assert raw.startswith(b"MATLAB 7.3 MAT-file") and raw[126:128] == b"IM"
    with h5py.File(short_file, "r") as f:
        k = int(round(SHORT.duration_s / 0.004))
        t = f["t"][()]
        assert t.shape == (1, k) and f["cursor_pos"].shape == (2, k)
        assert f["target_pos"].shape == (2, k) and f["finger_pos"].shape == (6, k)
        assert f["spikes"].shape == (5, 96) and f["chan_names"].shape == (1, 96)
        for name, cls in (("t", b"double"), ("spikes", b"cell"), ("chan_names", b"cell")):
            assert f[name].attrs["MATLAB_class"] == cls
        t = t[0]
        assert 100 <= t[0] < 400
        np.testing.assert_array_equal(np.round(t * 250), np.round(t[0] * 250) + np.arange(k))
        assert np.abs(np.diff(t) - 0.004).max() < 1e-9
        cells = [[f[f["spikes"][u, c]] for c in range(96)] for u in range(5)]
        empty = sum("MATLAB_empty" in d.attrs for row in cells for d in row)
        assert 150 <= empty <= 350  # ~half of the 480 cells, as in indy_20160630_01 (249)
        times = [d[()].ravel() if "MATLAB_empty" not in d.attrs else np.empty(0)
                 for row in cells for d in row]
        allt = np.concatenate(times)
        assert (allt < t[0]).sum() > 1000 and (allt > t[-1]).sum() > 500
        row0 = sum(len(x) for x in times[:96]) / allt.size
        assert 0.45 <= row0 <= 0.65
        cursor, finger = f["cursor_pos"][()], f["finger_pos"][()]
        assert np.abs(cursor + 10 * finger[1:3]).max() < 0.5  # mm
        name = f[f["chan_names"][0, 0]]
        assert "".join(map(chr, name[()].ravel())) == "M1 001"
        assert int(f.attrs["bench_synthetic"]) == 1 and int(f.attrs["bench_seed"]) == SHORT.seed


def test_192_channel_names():
    s = generate(SHORT_LOCO)
    assert s.chan_names[0] == "M1 001" and s.chan_names[95] == "M1 096"
    assert s.chan_names[96] == "S1 001" and s.chan_names[-1] == "S1 096"
    assert len(s.spikes) == 5 and all(len(r) == 192 for r in s.spikes)
    assert s.finger_pos.shape == (len(s.t), 3)


def test_neurobench_primate_reaching_loads_it(short_file):
    from neurobench.datasets import PrimateReaching

    ds = PrimateReaching(file_path=str(short_file.parent), filename=short_file.name, num_steps=1,
                         train_ratio=0.5, bin_width=0.004, download=False)
    k = int(round(SHORT.duration_s / 0.004))
    assert tuple(ds.samples.shape) == (96, k) and tuple(ds.labels.shape) == (2, k)
    rate = float(ds.samples.sum()) / (96 * SHORT.duration_s)
    assert 8 < rate < 20  # binary per 4 ms: close to the counts, no fake spikes from empty cells
    assert len(ds.ind_train) > len(ds.ind_test) > 0


def _leaves(x) -> list:
    """Cells of a nested list (mat73 nests rows, pymatreader flattens)."""
    if isinstance(x, list | tuple) or (isinstance(x, np.ndarray) and x.dtype == object):
        return [leaf for e in x for leaf in _leaves(e)]
    return [x]


@pytest.mark.parametrize("reader", ["mat73", "pymatreader"])
def test_independent_reader_sees_a_matlab_struct(short_file, reader):
    if reader == "mat73":
        mat73 = pytest.importorskip("mat73")
        d = mat73.loadmat(str(short_file))
    else:
        pymatreader = pytest.importorskip("pymatreader")
        d = pymatreader.read_mat(str(short_file))
    k = int(round(SHORT.duration_s / 0.004))
    for name in ("t", "cursor_pos", "target_pos", "finger_pos", "spikes", "chan_names"):
        assert name in d, name
    assert np.asarray(d["t"]).size == k
    assert np.asarray(d["cursor_pos"]).shape in ((k, 2), (2, k))
    assert np.asarray(d["finger_pos"]).shape in ((k, 6), (6, k))
    cells = _leaves(d["spikes"])
    assert len(cells) == 5 * 96
    n_spikes = sum(0 if c is None else np.size(c) for c in cells)  # empty cells hold nothing
    assert n_spikes == sum(x.size for row in generate(SHORT).spikes for x in row)
    names = list(np.asarray(d["chan_names"], dtype=object).ravel())
    assert names[0] == "M1 001" and len(names) == 96


def test_ensure_sessions_writes_once_and_repairs(tmp_path):
    cfg = replace(SHORT, duration_s=20.0)
    (path,) = ensure_sessions(tmp_path, [cfg])
    assert is_valid_session_file(path, cfg)
    mtime = path.stat().st_mtime_ns
    assert ensure_sessions(tmp_path, [cfg]) == [path] and path.stat().st_mtime_ns == mtime
    assert not is_valid_session_file(path, replace(cfg, seed=cfg.seed + 1))
    path.write_bytes(path.read_bytes()[: 5000])  # a crash mid-copy: never used
    assert not is_valid_session_file(path, cfg)
    ensure_sessions(tmp_path, [cfg])
    assert is_valid_session_file(path, cfg)
    assert not list(tmp_path.glob(".*tmp"))


def test_default_dir_and_command(tmp_path, capsys):
    assert default_dir().parts[-2:] == ("synthetic", GENERATOR_VERSION)
    assert str(default_dir()).startswith(str(tmp_path / "cache"))
    with pytest.raises(ValueError, match="sim_indy_1"):
        synth_command(tmp_path, "default", None, ["indy_20160630_01"])
    with pytest.raises(ValueError, match="scale"):
        synth_command(tmp_path, "huge", None, None)


def _learnability():
    spec = importlib.util.spec_from_file_location("synth_learnability", REPO / "benchmarks" / "synth_learnability.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_ridge_on_200ms_history_is_in_the_target_range():
    mod = _learnability()
    counts, labels, split = mod.session_arrays(generate(replace(DEFAULT_SESSIONS[1], duration_s=120.0)))
    r2 = mod.ridge_r2(counts, labels, split)
    assert 0.3 <= r2 <= 0.65, r2


def test_learnability_arrays_equal_the_reader(tmp_path):
    from bench.data.reaching import load_reaching

    cfg = replace(SHORT, duration_s=20.0)
    path = write_session(tmp_path / "sim_indy_test.mat", cfg)
    counts, labels, split = _learnability().session_arrays(generate(cfg))
    rec = load_reaching(path, input_mode="counts", cache=False)
    np.testing.assert_array_equal(rec.inputs, counts)
    np.testing.assert_allclose(rec.labels, labels)
    for k in ("train", "val", "test"):
        np.testing.assert_array_equal(rec.split[k], split[k])
    assert rec.identity["source"] == "synthetic" and rec.identity["seed"] == cfg.seed


def test_first_use_progress_bar_and_worker_processes(tmp_path, monkeypatch, capsys):
    """Missing sessions are generated (in worker processes here) under a bar naming them; the
    files equal those written in this process; nothing to do: no bar."""
    from bench.data import generation

    cfgs = [replace(SHORT, name="sim_a", duration_s=8.0), replace(SHORT_LOCO, name="sim_b", duration_s=6.0)]
    monkeypatch.setenv("BENCH_PROGRESS", "1")
    monkeypatch.setattr(generation, "MIN_POOL_WORK", 0.0)
    monkeypatch.setenv("BENCH_SYNTH_JOBS", "2")
    pooled = ensure_sessions(tmp_path / "pool", cfgs)
    err = capsys.readouterr().err
    assert "generating synthetic reaching sessions" in err and "sim_b (192 channels, 6 s)" in err
    monkeypatch.setenv("BENCH_SYNTH_JOBS", "1")
    local = ensure_sessions(tmp_path / "local", cfgs)
    assert [p.read_bytes() for p in pooled] == [p.read_bytes() for p in local]  # deterministic bytes
    capsys.readouterr()
    ensure_sessions(tmp_path / "pool", cfgs)
    assert capsys.readouterr().err == ""
    with pytest.raises(NotADirectoryError, match="is a file"):
        ensure_sessions(pooled[0], cfgs)
