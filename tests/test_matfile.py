"""MATLAB v7.3 writer/reader helpers: the Zenodo layout, checked with h5py and independent readers."""

from __future__ import annotations

import os

import h5py
import numpy as np
import pytest

from bench.data import matfile
from bench.data.recording import RawReachingSession


def small_session(
    n_units: int = 3, n_ch: int = 4, k: int = 500, finger_rows: int = 3, seed: int = 0
) -> RawReachingSession:
    rng = np.random.default_rng(seed)
    t = 148.984 + np.arange(k) * 0.004
    spikes = [
        [
            np.sort(rng.uniform(t[0] - 1, t[-1] + 1, 5 + u + c)) if (u + c) % 3 else np.empty(0)
            for c in range(n_ch)
        ]
        for u in range(n_units)
    ]
    return RawReachingSession(
        t=t,
        cursor_pos=rng.normal(size=(k, 2)),
        target_pos=np.repeat(rng.normal(size=(5, 2)), k // 5, axis=0),
        finger_pos=rng.normal(size=(k, finger_rows)),
        spikes=spikes,
        chan_names=[f"M1 {i:03d}" for i in range(1, n_ch + 1)],
        attrs={"synthetic": 1, "seed": 7, "generator_version": "test"},
    )


@pytest.fixture
def written(tmp_path):
    s = small_session()
    path = tmp_path / "sim_indy_1.mat"
    matfile.write_reaching_mat(path, s)
    return path, s


def test_header_layout(written):
    path, _ = written
    head = path.read_bytes()[:512]
    assert head.startswith(b"MATLAB 7.3 MAT-file, Platform: ")
    assert b"HDF5 schema 1.00 ." in head[:116]
    assert head[116:124] == b" " * 8
    assert int.from_bytes(head[124:126], "little") == 0x0200
    assert head[126:128] == b"IM"
    assert head[128:] == b"\x00" * 384
    assert matfile.has_matlab_header(path)
    with h5py.File(path, "r") as f:
        assert f.userblock_size == 512


def test_variables_shapes_and_classes(written):
    path, s = written
    k = s.t.size
    with h5py.File(path, "r") as f:
        assert set(f.keys()) == {
            "#refs#",
            "chan_names",
            "cursor_pos",
            "finger_pos",
            "spikes",
            "t",
            "target_pos",
            "wf",
        }
        assert f["t"].shape == (1, k)
        assert f["cursor_pos"].shape == (2, k) and f["target_pos"].shape == (2, k)
        assert f["finger_pos"].shape == (3, k)
        assert f["spikes"].shape == (3, 4) and f["wf"].shape == (3, 4)
        assert f["chan_names"].shape == (1, 4)
        for name in ("t", "cursor_pos", "target_pos", "finger_pos"):
            assert f[name].attrs["MATLAB_class"] == b"double"
        for name in ("spikes", "wf", "chan_names"):
            assert f[name].attrs["MATLAB_class"] == b"cell"
            assert f[name].dtype == h5py.ref_dtype
        np.testing.assert_array_equal(f["cursor_pos"][()], s.cursor_pos.T)
        char = f[f["chan_names"][0, 0]]
        assert char.dtype == np.uint16 and char.shape == (6, 1)
        assert char.attrs["MATLAB_class"] == b"char" and char.attrs["MATLAB_int_decode"] == 2
        # empty cells: a (2,) uint64 dimension vector [0, 0] marked MATLAB_empty, never a null ref
        empty = f[f["spikes"][0, 0]]
        assert empty.shape == (2,) and empty.dtype == np.uint64
        np.testing.assert_array_equal(empty[()], [0, 0])
        assert "MATLAB_empty" in empty.attrs
        full = f[f["spikes"][0, 1]]
        assert full.shape == (1, 6) and full.attrs["MATLAB_class"] == b"double"
        assert f.attrs["bench_synthetic"] == 1 and f.attrs["bench_seed"] == 7


def test_mat73_reads_matlab_struct(written):
    mat73 = pytest.importorskip("mat73")
    path, s = written
    d = mat73.loadmat(str(path), verbose=False)
    assert set(d) == {"chan_names", "cursor_pos", "finger_pos", "spikes", "t", "target_pos", "wf"}
    np.testing.assert_array_equal(d["t"], s.t)
    np.testing.assert_array_equal(d["cursor_pos"], s.cursor_pos)
    np.testing.assert_array_equal(d["finger_pos"], s.finger_pos)
    # MATLAB orientation: spikes is channels x units, chan_names channels x 1
    assert len(d["spikes"]) == 4 and all(len(row) == 3 for row in d["spikes"])
    assert [row[0] for row in d["chan_names"]] == s.chan_names
    for c in range(4):
        for u in range(3):
            cell = d["spikes"][c][u]
            if s.spikes[u][c].size == 0:
                assert cell is None  # mat73's value for an empty double
            else:
                np.testing.assert_array_equal(cell, s.spikes[u][c])


def test_pymatreader_reads_it(written):
    pymatreader = pytest.importorskip("pymatreader")
    path, s = written
    d = pymatreader.read_mat(str(path))
    assert d["chan_names"] == s.chan_names
    assert d["target_pos"].shape == (s.t.size, 2)
    assert len(d["spikes"]) == 12


def test_read_helpers_skip_empty_cells(written):
    path, s = written
    with matfile.open_mat(path) as f:
        cells = matfile.read_spike_cells(f)
        assert matfile.read_char_cell(f, "chan_names") == s.chan_names
        assert matfile.root_attrs(f) == {"synthetic": 1, "seed": 7, "generator_version": "test"}
        assert matfile.read_matrix(f, "finger_pos", rows=(3, 6)).shape == (3, s.t.size)
        with pytest.raises(matfile.RecordingError, match="'cursor_pos'.*shape"):
            matfile.read_matrix(f, "cursor_pos", rows=(3, 6))
        with pytest.raises(matfile.RecordingError, match="missing variable 'nope'"):
            matfile.require(f, "nope")
    for u in range(3):
        for c in range(4):
            np.testing.assert_array_equal(cells[u][c], s.spikes[u][c])


def test_six_row_finger_and_atomic_write(tmp_path):
    s = small_session(finger_rows=6, n_units=5, n_ch=2)
    path = tmp_path / "x.mat"
    matfile.write_reaching_mat(path, s)
    matfile.write_reaching_mat(path, s)  # overwrite in place
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.mat"]
    with h5py.File(path, "r") as f:
        assert f["finger_pos"].shape == (6, s.t.size) and f["spikes"].shape == (5, 2)
    umask = os.umask(0o022)
    os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask  # as a plain open() makes it, not mkstemp's 0600
    path.chmod(0o640)
    matfile.write_reaching_mat(path, s)  # replacing keeps the file's mode
    assert path.stat().st_mode & 0o777 == 0o640


def test_deterministic_bytes(tmp_path):
    s = small_session()
    matfile.write_reaching_mat(tmp_path / "a.mat", s)
    matfile.write_reaching_mat(tmp_path / "b.mat", s)
    assert (tmp_path / "a.mat").read_bytes() == (tmp_path / "b.mat").read_bytes()


def test_writer_rejects_bad_session(tmp_path):
    s = small_session()
    bad = RawReachingSession(
        s.t, s.cursor_pos[:, :1], s.target_pos, s.finger_pos, s.spikes, s.chan_names
    )
    with pytest.raises(ValueError, match="cursor_pos"):
        matfile.write_reaching_mat(tmp_path / "bad.mat", bad)
    assert not list(tmp_path.iterdir())
