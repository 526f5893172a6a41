"""Grasp data layer: Neo round trip, reader errors, the paper's pipeline, the synthetic sessions."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import quantities as pq

from bench.data import grasp as g
from bench.data import grasp_prepare as gp
from bench.data import synth_grasp as sg

TINY = sg.GraspSynthConfig("sim_tiny", n_units=6, n_trials=60, seed=3)


@pytest.fixture(scope="module")
def tiny_sim() -> sg.GraspSim:
    return sg.simulate(TINY)


@pytest.fixture
def tiny_file(tmp_path: Path) -> Path:
    return sg.write_session(tmp_path / "sim_tiny.neo.mat", TINY, engine="neo")


def _hand_recording(obj, correct, n_bins, hold_s=0.48, rew_s=0.68, n_units=2) -> g.GraspRecording:
    """Trials of constant length, unit 0 counting the bin index so windows can be checked."""
    n = len(obj)
    n_bins = np.broadcast_to(n_bins, (n,))
    blocks = []
    for nb in n_bins:
        c = np.zeros((nb, n_units), np.float32)
        c[:, 0] = np.arange(nb)
        blocks.append(c)
    times = np.full((n, len(g.PHASES)), np.nan)
    times[:, g.PHASES.index("Hold")] = hold_s
    times[:, g.PHASES.index("Rew")] = rew_s
    return g.GraspRecording(
        "hand", np.concatenate(blocks), np.concatenate([[0], np.cumsum(n_bins)]).astype(np.int64),
        np.asarray(obj, np.int64), np.asarray(correct, bool), g.PHASES, times,
        tuple(f"u{i}" for i in range(n_units)), {"source": "synthetic", "seed": 0})


# ---------------------------------------------------------------------------------------------
# reading


def test_neo_round_trip_bins_trials_and_keeps_provenance(tiny_file, tiny_sim):
    rec = g.load_grasp(tiny_file)
    assert rec.name == "sim_tiny" and rec.n_trials == 60 and rec.n_units == 6
    assert rec.identity["source"] == "synthetic" and rec.identity["seed"] == 3
    assert rec.identity["generator_version"] == sg.GENERATOR_VERSION
    assert rec.unit_names == tuple(tiny_sim.unit_names)
    np.testing.assert_array_equal(rec.obj, tiny_sim.obj)
    np.testing.assert_array_equal(rec.correct, tiny_sim.correct)
    for i in (0, 17, 59):  # counts against a direct histogram from the trial's t_start
        trial = rec.trials[i]
        edges = tiny_sim.t_start[i] + g.BIN_S * np.arange(trial.shape[0] + 1)
        per_unit = np.split(tiny_sim.spikes[i], np.cumsum(tiny_sim.counts[i])[:-1])
        for u, times in enumerate(per_unit):
            np.testing.assert_array_equal(trial[:, u], np.histogram(times, edges)[0])
        assert trial.shape[0] == int((tiny_sim.t_stop[i] - tiny_sim.t_start[i]) / g.BIN_S)
        ev = rec.events(i)
        assert list(ev) == tiny_sim.event_labels[i]
        np.testing.assert_allclose(list(ev.values()), tiny_sim.event_times[i] - tiny_sim.t_start[i])
    cached = list((Path(g._cache_path(rec.identity["md5"])).parent).glob("*.npz"))
    assert cached, "the binned recording is cached"
    again = g.load_grasp(tiny_file)
    np.testing.assert_array_equal(again.counts, rec.counts)
    np.testing.assert_array_equal(again.phase_times, rec.phase_times)


def test_fast_writer_reads_like_neo_writer_through_neomatlabio(tmp_path):
    a = sg.write_session(tmp_path / "a.neo.mat", TINY, engine="neo")
    b = sg.write_session(tmp_path / "b.neo.mat", TINY, engine="fast")
    ta, ann_a = g.read_trials(a, engine="neo")
    tb, ann_b = g.read_trials(b, engine="neo")  # NeoMatlabIO reads the fast file
    tc, _ = g.read_trials(b, engine="scipy")
    assert ann_a == ann_b
    for x, y, z in zip(ta, tb, tc):
        assert (x.obj, x.correct, x.t_start, x.t_stop) == (y.obj, y.correct, y.t_start, y.t_stop)
        assert (z.obj, z.correct, z.t_start, z.t_stop) == (y.obj, y.correct, y.t_start, y.t_stop)
        assert x.unit_names == y.unit_names == z.unit_names
        assert x.events == y.events == z.events
        for sa, sb, sc in zip(x.spikes, y.spikes, z.spikes):
            np.testing.assert_array_equal(sa, sb)
            np.testing.assert_array_equal(sb, sc)


def _write_block(path: Path, mutate) -> Path:
    """A 2-trial neo block, changed by ``mutate(block)``, written with NeoMatlabIO."""
    import neo
    import quantities as pq

    block = neo.Block(name="bad")
    for i in range(2):
        seg = neo.Segment()
        seg.annotate(obj=41, correct=1)
        t0 = 10.0 * i
        for _ in range(3):
            seg.spiketrains.append(neo.SpikeTrain([t0 + 0.5] * pq.s, t_start=t0 * pq.s,
                                                  t_stop=(t0 + 2) * pq.s))
        seg.events.append(neo.Event(np.array([t0, t0 + 1.0, t0 + 1.4]) * pq.s,
                                    labels=np.array(["Start", "Hold ", "Rew  "])))
        block.segments.append(seg)
    mutate(block)
    neo.io.NeoMatlabIO(str(path)).write_block(block)
    return path


@pytest.mark.parametrize("mutate, message", [
    (lambda b: b.segments[1].annotations.pop("obj"), "annotation 'obj' is missing"),
    (lambda b: b.segments[1].annotations.pop("correct"), "annotation 'correct' is missing"),
    (lambda b: b.segments[1].events.clear(), "no events"),
    (lambda b: setattr(b.segments[1].events[0], "labels", np.array(["Start", "Go   ", "Rew  "])),
     "['Hold'] missing"),
    (lambda b: b.segments[1].spiketrains.pop(), "2 spiketrains (units), but trial 0 has 3"),
    (lambda b: setattr(b.segments[1].spiketrains[2], "t_stop", 13.0 * pq.s),
     "share t_start and t_stop"),
    (lambda b: b.segments.clear(), "no segments"),
    (lambda b: b.segments[1].annotate(obj="cube"), "'obj' must be a number"),
])
@pytest.mark.parametrize("engine", ["scipy", "neo"])
def test_reader_names_file_trial_and_what_is_missing(tmp_path, mutate, message, engine):
    path = _write_block(tmp_path / "broken.neo.mat", mutate)
    with pytest.raises(g.GraspDataError) as err:
        g.read_trials(path, engine=engine)
    text = str(err.value)
    assert "broken.neo.mat" in text and message in text
    if "segments" not in message:
        assert "trial 1" in text


def test_error_trials_may_lack_hold_and_rew(tmp_path):
    def drop(b):
        b.segments[1].annotations["correct"] = 0
        b.segments[1].events[0].labels = np.array(["Start", "Go   ", "End  "])

    trials, _ = g.read_trials(_write_block(tmp_path / "err.neo.mat", drop))
    assert not trials[1].correct and "Hold" not in trials[1].events


# ---------------------------------------------------------------------------------------------
# pipeline


def test_filtering_merging_and_rare_objects():
    obj = [41] * 3 + [11] * 2 + [34] * 4 + [85] * 4 + [91] * 3 + [52] * 2 + [23] * 4 + [53] * 3
    correct = np.ones(len(obj), bool)
    correct[obj.index(23):obj.index(23) + 2] = False  # 23: only 2 correct trials left -> dropped
    rec = _hand_recording(obj, correct, 20)
    gs = gp.prepare(rec)
    assert gs.classes.tolist() == [34, 41, 53]  # 11 merged into 41; >= 85, 52 (2) and 23 gone
    kept = np.unique(gs.trial)
    assert set(rec.obj[kept]) == {41, 11, 34, 53}
    assert (gs.obj[rec.obj[gs.trial] == 11] == 41).all()
    assert rec.correct[kept].all() and (rec.obj[kept] < 85).all()
    np.testing.assert_array_equal(gs.classes[gs.label], gs.obj)
    assert gp.merged_objects(np.array([11, 12, 13, 14, 16, 15])).tolist() == [41, 54, 34, 44, 25, 15]


def test_trial_split_is_disjoint_stratified_and_windows_follow_trials():
    rng = np.random.default_rng(1)
    obj = rng.permutation(np.repeat([21, 22, 23, 31, 32], [12, 10, 15, 5, 20]))
    gs = gp.prepare(_hand_recording(obj, np.ones(len(obj), bool), 16), seed=7)
    ts = gs.trial_split
    assert sum(len(v) for v in ts.values()) == len(obj)
    assert not set(ts["train"]) & set(ts["val"]) and not set(ts["test"]) & set(ts["train"])
    assert not set(ts["val"]) & set(ts["test"])
    for o, n in zip([21, 22, 23, 31, 32], [12, 10, 15, 5, 20]):
        n_test = int(np.sum(obj[ts["test"]] == o))
        n_val = int(np.sum(obj[ts["val"]] == o))
        assert n_test == int(np.floor(0.2 * n + 0.5))
        assert n_val == int(np.floor(0.2 * (n - n_test) + 0.5))
    for name, windows in gs.split.items():  # a trial's windows all sit in its trial's split
        assert np.array_equal(np.unique(gs.trial[windows]), ts[name])
        assert np.all(np.diff(windows) > 0)
    again = gp.prepare(_hand_recording(obj, np.ones(len(obj), bool), 16), seed=7)
    assert all(np.array_equal(again.split[k], gs.split[k]) for k in gs.split)


def test_trainval_share_keeps_test_fixed_and_nests():
    obj = np.repeat(np.arange(21, 31), 12)
    rec = _hand_recording(obj, np.ones(len(obj), bool), 14)
    sets = {s: gp.prepare(rec, trainval_share=s).trial_split for s in (0.8, 0.5, 0.2)}
    full = gp.prepare(rec).trial_split
    for s, ts in sets.items():
        assert np.array_equal(ts["test"], full["test"])
        share = (len(ts["train"]) + len(ts["val"])) / len(obj)
        assert abs(share - s) < 0.05
    small = set(sets[0.2]["train"]) | set(sets[0.2]["val"])
    assert small <= set(sets[0.5]["train"]) | set(sets[0.5]["val"])
    with pytest.raises(ValueError, match="trainval_share"):
        gp.prepare(rec, trainval_share=0.9)


def test_window_labels_and_contents_match_a_hand_computation():
    # 30 bins; Hold at 0.50 s -> bin 12, Rew at 0.70 s -> bin 17: grasp iff 12 <= last bin < 17
    rec = _hand_recording([41] * 3, [True] * 3, 30, hold_s=0.50, rew_s=0.70)
    gs = gp.prepare(rec, window=12)
    first = gs.trial == gs.trial[0]
    assert first.sum() == 30 - 12 + 1
    last = np.arange(19) + 11
    np.testing.assert_array_equal(gs.is_grasp[first], (last >= 12) & (last < 17))
    assert gs.x.shape == (3 * 19, 12, 2)
    x = gs.x[np.flatnonzero(first)]
    np.testing.assert_array_equal(x[:, :, 0], np.arange(19)[:, None] + np.arange(12)[None, :])
    np.testing.assert_array_equal(np.asarray(gs.x)[5], x[5])
    assert gs.x[3].shape == (12, 2) and gs.x[2:4].shape == (2, 12, 2)
    assert gs.indices("test", grasp_only=True).size == gs.is_grasp[gs.split["test"]].sum()


def test_relaxed_neighbours():
    c = np.array([0, 1, 21, 22, 23, 25, 41])
    r = gp.relaxed_neighbours(c)
    pairs = {(a, b) for i, a in enumerate(c) for j, b in enumerate(c) if r[i, j] and a != b}
    assert pairs == {(0, 1), (1, 0), (21, 22), (22, 21), (22, 23), (23, 22)}
    assert r.diagonal().all() and (r == r.T).all()


# ---------------------------------------------------------------------------------------------
# the generator


def test_generator_content(tiny_sim):
    again = sg.simulate(TINY)
    assert all(np.array_equal(a, b) for a, b in zip(again.spikes, tiny_sim.spikes))
    assert len(set(sg.OBJECTS)) == 50 and {0, 1, 11, 12, 13, 14, 16, 85, 91} <= set(sg.OBJECTS)
    assert tiny_sim.correct.mean() > 0.8 and not tiny_sim.correct.all()
    for i in np.flatnonzero(tiny_sim.correct):
        assert tiny_sim.event_labels[i] == list(sg.PHASES)
        assert np.all(np.diff(tiny_sim.event_times[i]) > 0)
    dur = tiny_sim.t_stop - tiny_sim.t_start
    assert 4.5 < dur[tiny_sim.correct].mean() < 6.8
    n_spikes = sum(c.sum() for c in tiny_sim.counts)
    assert 5.0 < n_spikes / TINY.n_units / dur.sum() < 11.0  # ~7.7 Hz per unit
    for times, counts, t0, t1 in zip(tiny_sim.spikes, tiny_sim.counts, tiny_sim.t_start,
                                     tiny_sim.t_stop):
        assert np.all((times >= t0) & (times < t1))
        for part in np.split(times, np.cumsum(counts)[:-1]):
            assert np.all(np.diff(part) >= 0)


def test_rest_to_grasp_ratio_near_ten(tmp_path):
    cfg = replace(TINY, n_units=20, n_trials=120, seed=11)
    gs = gp.prepare(g.load_grasp(sg.write_session(tmp_path / "r.neo.mat", cfg, engine="fast")))
    ratio = (~gs.is_grasp).sum() / gs.is_grasp.sum()
    assert 7.0 < ratio < 14.0


def test_default_sessions_are_shaped_like_the_real_ones():
    cfgs = sg.DEFAULT_GRASP_SESSIONS
    assert len(cfgs) == 6 and len({c.seed for c in cfgs}) == 6
    assert {c.animal for c in cfgs} == {"m", "z"}
    assert min(c.n_units for c in cfgs) == 369 and max(c.n_units for c in cfgs) == 568
    assert min(c.n_trials for c in cfgs) == 610 and max(c.n_trials for c in cfgs) == 757
    assert not any("Rec" in c.name for c in cfgs)


def test_ensure_defaults_writes_once_and_resolve(tmp_path, monkeypatch, capsys):
    tiny = (replace(TINY, name="sim_a", seed=1, n_trials=30), replace(TINY, name="sim_b", seed=2,
                                                                      n_trials=30))
    monkeypatch.setattr(sg, "DEFAULT_GRASP_SESSIONS", tiny)
    paths = sg.ensure_default_grasp_sessions()
    assert [p.name for p in paths] == ["sim_a.grasp.npz", "sim_b.grasp.npz"]
    assert all(sg.GENERATOR_VERSION == p.parent.name for p in paths)
    stamp = [p.stat().st_mtime_ns for p in paths]
    assert [p.stat().st_mtime_ns for p in sg.ensure_default_grasp_sessions()] == stamp
    refs = g.resolve_grasp_recordings(["sim_b"], None)
    assert [(r.name, r.synthetic, r.path) for r in refs] == [("sim_b", True, paths[1])]
    rec = g.load_grasp(refs[0].path)
    assert rec.name == "sim_b" and rec.n_trials == 30 and rec.identity["seed"] == 2
    # `data synth --task grasp` writes the real format; a data dir of those resolves and reads alike
    neo_dir = tmp_path / "neo"
    written = sg.synth_grasp_command(neo_dir)
    assert [p.name for p in written] == ["sim_a.neo.mat", "sim_b.neo.mat"] and "wrote" in capsys.readouterr().out
    sg.synth_grasp_command(neo_dir)
    assert "kept" in capsys.readouterr().out
    refs = g.resolve_grasp_recordings(None, neo_dir)
    assert [r.name for r in refs] == ["sim_a", "sim_b"] and not refs[0].synthetic
    from_file = g.load_grasp(refs[1].path)
    np.testing.assert_array_equal(from_file.counts, rec.counts)
    with pytest.raises(g.GraspDataError, match="sim_a"):
        g.resolve_grasp_recordings(["MRec40"], neo_dir)
    with pytest.raises(g.GraspDataError, match="does not exist"):
        g.resolve_grasp_recordings(None, tmp_path / "nothing")
    with pytest.raises(g.GraspDataError, match="is a file, not a directory"):
        g.resolve_grasp_recordings(None, paths[0])
