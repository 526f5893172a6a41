"""The reaching reader: identical to NeuroBench's PrimateReaching, robust to real-file quirks, clear errors."""

from __future__ import annotations

import shutil
import sys
import types
from pathlib import Path

import h5py
import numpy as np
import pytest

from bench.data import reaching_grid
from bench.data.io import file_md5
from bench.data.matfile import write_reaching_mat
from bench.data.reaching import RecordingError, load_reaching, resolve_recordings
from bench.data.recording import RawReachingSession


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    monkeypatch.setenv("BENCH_CACHE", str(tmp_path / "cache"))


def make_session(
    seconds: float = 60.0,
    n_ch: int = 96,
    n_units: int = 5,
    t0: float = 148.984,
    seed: int = 0,
    finger_rows: int = 3,
    attrs: dict | None = None,
) -> RawReachingSession:
    """A hand-made session with the quirks of real files: empty cells, spikes outside t, one-sample
    targets, a target change at sample 0, an inactive (> 8 s) segment and spikes exactly on edges."""
    rng = np.random.default_rng(seed)
    k = int(round(seconds / 0.004))
    t = t0 + np.arange(k) * 0.004
    lengths = [1, 300, 2300]  # a change right after sample 0, then an inactive (> 8 s) segment
    while sum(lengths) < k:
        lengths.append(1 if rng.random() < 0.05 else int(rng.integers(150, 600)))
    targets = np.repeat(rng.integers(-8, 9, size=(len(lengths), 2)) * 10.0, lengths, axis=0)[:k]
    cursor = (
        np.cumsum(rng.normal(scale=0.3, size=(k, 2)), axis=0)
        + 0.02 * np.cumsum(targets, axis=0) / k
    )
    finger = np.zeros((k, finger_rows))
    finger[:, 1:3] = -cursor / 10.0
    edges = np.arange(t[0] - 0.004, t[-1], 0.004)  # NeuroBench's grid: hit its boundaries exactly
    spikes = []
    for u in range(n_units):
        row = []
        for c in range(n_ch):
            if rng.random() < 0.45:
                row.append(np.empty(0))
                continue
            n = rng.poisson((2.0 if u else 8.0) * (seconds + 4))
            s = rng.uniform(t[0] - 2, t[-1] + 2, n)
            if c % 7 == 0:
                s = np.concatenate([s, edges[[0, 1, 2, k // 2, -2, -1]]])
            row.append(np.sort(s))
        spikes.append(row)
    prefix = "M1" if n_ch <= 96 else "S1"
    names = [f"M1 {i:03d}" if i <= 96 else f"{prefix} {i - 96:03d}" for i in range(1, n_ch + 1)]
    return RawReachingSession(t, cursor, targets, finger, spikes, names, attrs=attrs or {})


@pytest.fixture(scope="module")
def session_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("mat") / "indy_proof_01.mat"
    write_reaching_mat(path, make_session())
    return path


def neurobench(path: Path, **kw):
    from neurobench.datasets import PrimateReaching

    return PrimateReaching(
        file_path=str(path.parent),
        filename=path.name,
        num_steps=1,
        bin_width=0.004,
        biological_delay=0,
        download=False,
        **kw,
    )


@pytest.mark.parametrize("train_ratio,remove_inactive", [(0.5, False), (0.8, False), (0.5, True)])
def test_identical_to_neurobench(session_file, train_ratio, remove_inactive):
    nb = neurobench(session_file, train_ratio=train_ratio, remove_segments_inactive=remove_inactive)
    rec = load_reaching(
        session_file, train_ratio=train_ratio, cache=False, remove_inactive=remove_inactive
    )
    k = rec.n_samples
    nb_x = nb.samples.numpy()  # (C, len(grid)); NeuroBench indexes it only below k
    assert nb_x.shape[1] in (k, k + 1) and nb.labels.shape == (2, k)
    assert np.array_equal(rec.inputs, nb_x[:, :k].T)
    assert np.array_equal(rec.labels, nb.labels.numpy().T)
    for split, nb_idx in (("train", nb.ind_train), ("val", nb.ind_val), ("test", nb.ind_test)):
        assert np.array_equal(rec.split[split], np.asarray(nb_idx, dtype=np.int64)), split
    # what a DataLoader over NeuroBench's test set yields, sample by sample
    for i in rec.split["test"][::97]:
        x, y = nb[int(i)]
        assert np.array_equal(x.numpy()[0], rec.inputs[i]) and np.array_equal(
            y.numpy(), rec.labels[i]
        )
    assert rec.inputs.dtype == np.float32 and rec.labels.dtype == np.float32
    assert rec.spikes.dtype == np.uint8 and rec.spikes.nbytes * 4 == rec.inputs.nbytes  # compact store
    assert rec.inputs.sum() > 0 and len(rec.split["test"]) > 0
    if remove_inactive:
        full = load_reaching(session_file, train_ratio=train_ratio, cache=False)
        assert sum(map(len, rec.split.values())) < sum(map(len, full.split.values()))


def test_recording_fields(session_file):
    s = make_session()
    rec = load_reaching(session_file, cache=False)
    assert rec.name == "indy_proof_01" and rec.n_channels == 96 and rec.channel_names[0] == "M1 001"
    assert rec.identity["source"] == "file" and len(rec.identity["md5"]) == 32
    assert rec.identity["file"] == "indy_proof_01.mat"
    seg = rec.segments
    assert (
        seg.dtype == np.int64
        and np.all(seg[:, 1] > seg[:, 0])
        and np.all(seg[1:, 0] == seg[:-1, 1])
    )
    assert seg[-1, 1] == rec.n_samples and np.any(seg[:, 1] - seg[:, 0] == 1)  # one-sample targets
    for split in ("train", "val", "test"):
        assert rec.split[split].dtype == np.int64 and np.all(np.diff(rec.split[split]) > 0)
    assert rec.split["train"].max() < rec.split["val"].min() < rec.split["test"].min()
    assert rec.extra["n_spikes_off_t"] > 0 and rec.extra["empty_cells"] > 0
    assert rec.extra["n_spikes"] == sum(x.size for row in s.spikes for x in row)


def test_counts_mode(session_file):
    binary = load_reaching(session_file, cache=False)
    counts = load_reaching(session_file, input_mode="counts", cache=False)
    s = make_session()
    assert counts.input_mode == "counts" and counts.inputs.max() > 1
    assert np.array_equal(counts.inputs > 0, binary.inputs > 0)
    t = s.t
    edges = np.arange(t[0] - 0.004, t[-1], 0.004)
    for c in (0, 7, 50):
        times = np.concatenate([row[c] for row in s.spikes])
        hist, _ = np.histogram(times, bins=edges)  # NeuroBench's binning, counted
        expected = np.zeros(len(t))
        n = min(len(hist), len(t) - 1)
        expected[1 : n + 1] = hist[:n]
        assert np.array_equal(counts.inputs[:, c], expected)


def test_six_row_finger_192_channels_and_synthetic_identity(tmp_path):
    path = tmp_path / "loco_small_1.mat"
    attrs = {"synthetic": 1, "seed": 11, "generator_version": "2"}
    write_reaching_mat(path, make_session(seconds=30, n_ch=192, finger_rows=6, attrs=attrs))
    rec = load_reaching(path, cache=False)
    assert rec.n_channels == 192 and rec.channel_names[-1] == "S1 096"
    assert rec.extra["finger_rows"] == 6
    assert rec.identity == {
        "source": "synthetic",
        "seed": 11,
        "generator_version": "2",
        "md5": file_md5(path),
        "file": path.name,
    }
    assert rec.synthetic


def test_neurobench_reads_empty_cells_as_spikes(tmp_path):
    """The documented difference: NeuroBench reads an empty cell's dimension vector as spike times.
    They only reach its grid when the session starts within about 1 s of zero, which real
    sessions never do; this reader ignores empty cells."""
    path = tmp_path / "indy_early_1.mat"
    s = make_session(seconds=12, n_ch=4, n_units=2, t0=0.0)
    s.spikes[0][2] = np.empty(0)
    s.spikes[1][2] = np.empty(0)  # channel 2 has no spike at all
    write_reaching_mat(path, s)
    with h5py.File(path, "r+") as f:
        f[f["spikes"][1, 2]][...] = [
            1,
            0,
        ]  # a (1, 0) empty, as in real files: 'spikes' at 1 s and 0 s
    nb = neurobench(path, train_ratio=0.5)
    rec = load_reaching(path, cache=False)
    assert rec.inputs[:, 2].sum() == 0
    hist, _ = np.histogram([0.0, 1.0], bins=np.arange(s.t[0] - 0.004, s.t[-1], 0.004))
    phantom = np.flatnonzero(hist) + 1  # the samples holding 0 s and 1 s
    nb_x = nb.samples.numpy()[:, : rec.n_samples].T  # (T, C)
    assert np.flatnonzero(nb_x[:, 2]).tolist() == phantom.tolist()
    assert not np.array_equal(rec.inputs, nb_x) and np.all(rec.inputs <= nb_x)
    keep = np.setdiff1d(np.arange(rec.n_samples), phantom)
    assert np.array_equal(rec.inputs[keep], nb_x[keep])  # identical everywhere else


def test_cache_and_md5_sidecar(session_file, tmp_path):
    first = load_reaching(session_file)
    again = load_reaching(session_file)
    assert again.extra.get("from_cache") and not first.extra.get("from_cache")
    assert np.array_equal(first.inputs, again.inputs) and np.array_equal(first.labels, again.labels)
    assert again.inputs.dtype == np.float32 and again.channel_names == first.channel_names
    assert again.spikes.dtype == first.spikes.dtype == np.uint8
    assert all(np.array_equal(first.split[s], again.split[s]) for s in first.split)
    assert np.array_equal(first.segments, again.segments) and again.identity == first.identity
    other = load_reaching(session_file, train_ratio=0.8)
    assert not other.extra.get("from_cache") and len(other.split["train"]) > len(
        first.split["train"]
    )
    binned = sorted((tmp_path / "cache" / "binned").iterdir())
    assert len(binned) == 2 and all(p.suffix == ".npz" for p in binned)
    import hashlib

    assert file_md5(session_file) == hashlib.md5(session_file.read_bytes()).hexdigest()
    assert len(list((tmp_path / "cache" / "md5").iterdir())) == 1


# ----------------------------------------------------------------------------------------------
# bad files


@pytest.fixture
def small_file(tmp_path) -> Path:
    path = tmp_path / "indy_small_1.mat"
    write_reaching_mat(path, make_session(seconds=2, n_ch=4, n_units=2))
    return path


def _edit(path: Path, fn) -> None:
    with h5py.File(path, "r+") as f:
        fn(f)


def _replace(name: str, data):
    def fn(f):
        attrs = dict(f[name].attrs)
        del f[name]
        ds = f.create_dataset(name, data=data)
        ds.attrs.update(attrs)

    return fn


def _t(f):
    return f["t"][()].copy()


@pytest.mark.parametrize(
    "edit,pattern",
    [
        (
            lambda f: f.__delitem__("cursor_pos"),
            r"indy_small_1\.mat: missing variable 'cursor_pos'",
        ),
        (lambda f: f.__delitem__("spikes"), r"missing variable 'spikes'"),
        (
            lambda f: _replace("cursor_pos", np.zeros((3, 500)))(f),
            r"'cursor_pos'.*\(2, k\), got \(3, 500\)",
        ),
        (
            lambda f: _replace("target_pos", np.zeros((2, 499)))(f),
            r"'target_pos' has shape \(2, 499\), expected \(2, 500\)",
        ),
        (
            lambda f: _replace("finger_pos", np.zeros((4, 500)))(f),
            r"'finger_pos'.*\(3\|6, k\), got \(4, 500\)",
        ),
        (
            lambda f: _replace("t", np.zeros((2, 250)))(f),
            r"'t' must have shape \(1, k\).*\(2, 250\)",
        ),
        (lambda f: _replace("t", _t(f)[:, ::-1])(f), r"'t' \(1, 500\) is not increasing"),
        (
            lambda f: _replace("t", _t(f) + (np.arange(500) >= 300) * 0.001)(f),
            r"'t' \(1, 500\) is not a regular 4 ms grid",
        ),
        (
            lambda f: _replace(
                "cursor_pos", np.where(np.arange(500) == 7, np.nan, f["cursor_pos"][()])
            )(f),
            r"'cursor_pos' \(2, 500\) holds 2 NaN",
        ),
        (
            lambda f: _replace("target_pos", np.full((2, 500), np.nan))(f),
            r"'target_pos' \(2, 500\) holds 1000 NaN",
        ),
        (
            lambda f: _replace("chan_names", f["chan_names"][()][:, :3])(f),
            r"'spikes' has shape \(2, 4\).*'chan_names' names 3 channels",
        ),
        (
            lambda f: _replace("spikes", np.zeros((2, 4)))(f),
            r"'spikes' must be a 2-D cell array of references",
        ),
    ],
)
def test_bad_file_errors(small_file, edit, pattern):
    _edit(small_file, edit)
    with pytest.raises(RecordingError, match=pattern):
        load_reaching(small_file, cache=False)


def test_known_session_channel_mismatch(tmp_path, small_file):
    wrong = tmp_path / "loco_20170210_03.mat"  # a 192-channel session
    shutil.copy(small_file, wrong)
    with pytest.raises(RecordingError, match=r"loco_20170210_03 has 192 channels.*has 4"):
        load_reaching(wrong, cache=False)


def test_truncated_non_hdf5_and_partial_files(tmp_path, small_file):
    data = small_file.read_bytes()
    truncated = tmp_path / "indy_trunc_1.mat"
    truncated.write_bytes(data[: len(data) // 2])
    with pytest.raises(
        RecordingError, match=r"indy_trunc_1\.mat: not a readable MATLAB v7\.3 / HDF5 file"
    ):
        load_reaching(truncated, cache=False)
    text = tmp_path / "indy_text_1.mat"
    text.write_text("<html>404 not found</html>")
    with pytest.raises(RecordingError, match="indy_text_1.mat: not a readable"):
        load_reaching(text, cache=False)
    part = tmp_path / "indy_small_1.mat.part"
    shutil.copy(small_file, part)
    with pytest.raises(RecordingError, match=r"partial download"):
        load_reaching(part, cache=False)
    with pytest.raises(RecordingError, match="no such file"):
        load_reaching(tmp_path / "missing.mat")
    with pytest.raises(ValueError, match="input_mode"):
        load_reaching(small_file, input_mode="rates")


# ----------------------------------------------------------------------------------------------
# resolve_recordings


def test_resolve_in_data_dir(tmp_path, small_file):
    d = tmp_path / "data"
    d.mkdir()
    shutil.copy(small_file, d / "loco_20170301_05.mat")
    shutil.copy(small_file, d / "indy_20160630_01.mat")
    shutil.copy(small_file, d / "other_session.mat")
    (d / "indy_20160622_01.mat.part").write_bytes(small_file.read_bytes()[:1000])
    (d / "indy_20170131_02.mat").write_bytes(small_file.read_bytes()[:1000])  # damaged
    with pytest.warns(UserWarning, match="indy_20170131_02.mat: does not open as HDF5"):
        refs = resolve_recordings(None, d)
    assert [r.name for r in refs] == ["indy_20160630_01", "loco_20170301_05"]  # NeuroBench's order
    assert all(r.path.parent == d and not r.synthetic for r in refs)
    refs = resolve_recordings(["other_session", "indy_20160630_01.mat"], d)
    assert [r.name for r in refs] == ["other_session", "indy_20160630_01"]
    with pytest.raises(
        RecordingError,
        match=r"'indy_20160622_01' not found: .*holds \['indy_20160630_01'.*partial downloads \['indy_20160622_01.mat.part'\]",
    ):
        resolve_recordings(["indy_20160622_01"], d)
    with pytest.raises(RecordingError, match="does not open as HDF5"):
        resolve_recordings(["indy_20170131_02"], d)
    with pytest.raises(RecordingError, match="does not exist"):
        resolve_recordings(None, tmp_path / "nowhere")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(RecordingError, match="none of the NeuroBench sessions"):
        resolve_recordings(None, empty)


def test_resolve_synthetic_defaults(tmp_path, monkeypatch):
    names = [f"sim_indy_{i}" for i in (1, 2, 3)] + [f"sim_loco_{i}" for i in (1, 2, 3)]
    fake = types.ModuleType("bench.data.synth_reaching")
    fake.ensure_default_sessions = lambda: [tmp_path / f"{n}.mat" for n in names]
    monkeypatch.setitem(sys.modules, "bench.data.synth_reaching", fake)
    refs = resolve_recordings(None, None)
    assert [r.name for r in refs] == names and all(r.synthetic for r in refs)
    assert [r.name for r in resolve_recordings(["sim_loco_2"], None)] == ["sim_loco_2"]
    with pytest.raises(
        RecordingError, match=r"unknown synthetic session\(s\) \['indy_20160630_01'\]"
    ):
        resolve_recordings(["indy_20160630_01"], None)


@pytest.mark.parametrize("t0", [148.984, 2617.332, 0.0, 37.1])
def test_spike_sample_index_matches_histogram(t0):
    rng = np.random.default_rng(int(t0))
    t = t0 + np.arange(5000) * 0.004
    edges = reaching_grid.neurobench_edges(t)
    times = np.concatenate([
        rng.uniform(t[0] - 1, t[-1] + 1, 20000), edges, edges + 1e-12, edges - 1e-12,
        np.nextafter(edges, np.inf), np.nextafter(edges, -np.inf), [np.nan, -np.inf, np.inf],
    ])
    idx = reaching_grid.spike_sample_index(times, edges)
    on = idx >= 0
    hist, _ = np.histogram(times[np.isfinite(times)], bins=edges)
    assert np.array_equal(np.bincount(idx[on] - 1, minlength=edges.size - 1), hist)
    # and spike by spike: the bin that np.histogram puts each single spike in
    for i in rng.choice(times.size - 3, 200, replace=False):
        h, _ = np.histogram(times[i : i + 1], bins=edges)
        assert idx[i] == (np.flatnonzero(h)[0] + 1 if h.any() else -1)


def test_md5_hashed_alongside_the_parse_equals_the_remembered_one(session_file, tmp_path, monkeypatch):
    """First sight (md5 computed on a second thread while parsing) and later loads agree."""
    from bench.data import io

    monkeypatch.setenv("BENCH_CACHE", str(tmp_path / "fresh"))
    assert io.known_md5(session_file) is None
    first = load_reaching(session_file, cache=False)
    assert io.known_md5(session_file) == first.identity["md5"] == io.md5_of(session_file)
    again = load_reaching(session_file, cache=False)
    assert again.identity == first.identity and np.array_equal(again.spikes, first.spikes)


def test_counts_beyond_255_widen_the_compact_store(tmp_path):
    """Counts that do not fit a byte widen the array (never wrap around)."""
    s = make_session(seconds=20, n_ch=3, n_units=2)
    t = s.t
    s.spikes[0][1] = np.sort(np.concatenate([s.spikes[0][1], np.full(300, t[100] - 0.002)]))
    path = tmp_path / "indy_dense_1.mat"
    write_reaching_mat(path, s)
    rec = load_reaching(path, input_mode="counts", cache=False)
    assert rec.spikes.dtype == np.uint16 and rec.spikes[101, 1] >= 300  # [t[99], t[100]) is sample 101
    assert load_reaching(path, cache=False).spikes.max() == 1  # binary mode stays 0/1 in uint8
