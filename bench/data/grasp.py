"""Grasp-decoding recordings (REFERENCE.md section 7): Neo reader, 40 ms binning, the paper's pipeline.

Flow: ``.neo.mat`` (or any file neo reads) -> ``load_grasp`` -> ``GraspRecording`` (trials binned at
40 ms, cached as .npz) -> ``prepare`` -> ``GraspSet`` (correct trials with obj < 85, identical objects
merged, rare objects dropped, trial-level stratified split, 12-bin sliding windows, grasp/rest labels).
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

BIN_S = 0.040  # the paper's bin width
READER_VERSION = "1"  # bump when binning or parsing changes: invalidates the .npz caches
PHASES = ("Start", "Rest", "Motor", "FixLOn", "Fix", "Cue", "Mem", "React", "Go", "Hold", "Rew",
          "Intert", "End")
OBJECT_MERGES = {11: 41, 13: 34, 14: 44, 16: 25, 12: 54}  # identical objects under two ids
MAX_OBJECT_ID = 85  # objects >= 85 are excluded by the paper
MIN_TRIALS_PER_OBJECT = 3


class GraspDataError(ValueError):
    """A grasp recording lacks something the pipeline needs; the message names file and trial."""


@dataclass(frozen=True, eq=False)
class GraspRecording:
    """One grasp session, every trial binned at 40 ms from its own t_start."""

    name: str
    counts: np.ndarray  # (T, U) float32: all trials' bins, concatenated in trial order
    offsets: np.ndarray  # (N + 1,) int64: trial i is counts[offsets[i]:offsets[i + 1]]
    obj: np.ndarray  # (N,) int64 object id as stored (before merging)
    correct: np.ndarray  # (N,) bool
    phase_labels: tuple[str, ...]  # column names of phase_times
    phase_times: np.ndarray  # (N, P) float64 s since the trial's t_start; NaN where absent
    unit_names: tuple[str, ...]
    identity: dict  # {"source": "file", "md5"} or {"source": "synthetic", "seed", ...}
    bin_s: float = BIN_S

    @property
    def trials(self) -> list[np.ndarray]:
        """Per-trial (n_bins_i, U) float32 count arrays (views into ``counts``)."""
        return [self.counts[a:b] for a, b in zip(self.offsets[:-1], self.offsets[1:])]

    @property
    def n_trials(self) -> int:
        return int(len(self.obj))

    @property
    def n_units(self) -> int:
        return int(self.counts.shape[1])

    @property
    def n_bins(self) -> np.ndarray:
        return np.diff(self.offsets)

    @property
    def synthetic(self) -> bool:
        return self.identity.get("source") == "synthetic"

    def events(self, i: int) -> dict[str, float]:
        """Phase label -> time (s) relative to the start of trial i."""
        row = self.phase_times[i]
        return {lab: float(t) for lab, t in zip(self.phase_labels, row) if np.isfinite(t)}

    def phase_bin(self, label: str) -> np.ndarray:
        """(N,) int64 index of the 40 ms bin holding each trial's ``label`` marker (-1 if absent)."""
        if label not in self.phase_labels:
            raise KeyError(f"{self.name}: no phase {label!r}; phases: {list(self.phase_labels)}")
        t = self.phase_times[:, self.phase_labels.index(label)]
        out = np.full(len(t), -1, dtype=np.int64)
        ok = np.isfinite(t)
        out[ok] = np.floor(t[ok] / self.bin_s + 1e-9).astype(np.int64)
        return out


# ---------------------------------------------------------------------------------------------
# reading


@dataclass
class _Trial:
    t_start: float  # s
    t_stop: float
    spikes: list[np.ndarray]  # per unit, s
    unit_names: list[str]
    annotations: dict
    events: dict[str, float]  # label -> absolute time (s)
    span: list  # per unit (t_start, t_stop), s
    has_events: bool
    obj: int = -1
    correct: bool = False


_UNIT_SCALE = {"s": 1.0, "sec": 1.0, "ms": 1e-3, "us": 1e-6}


def _to_seconds(units: object) -> float:
    u = str(units).strip()
    if u not in _UNIT_SCALE:
        import quantities as pq

        _UNIT_SCALE[u] = float(pq.Quantity(1.0, u).rescale("s").magnitude)
    return _UNIT_SCALE[u]


def _as_list(x: object) -> list:
    """A MATLAB cell as loadmat(squeeze_me=True) returns it: one struct, an array, or nothing."""
    if x is None:
        return []
    if isinstance(x, np.ndarray):
        return list(x.ravel())
    return [x]


def _struct_dict(s: object) -> dict:
    if s is None or not hasattr(s, "_fieldnames"):
        return {}
    return {f: getattr(s, f) for f in s._fieldnames}


def _labels(raw: object) -> list[str]:
    arr = np.atleast_1d(np.asarray(raw))
    return [str(v).strip() for v in arr.ravel()]


def _read_mat(path: Path) -> tuple[list[_Trial], dict]:
    """NeoMatlabIO's layout read straight from scipy's structs (no neo objects: ~4x faster).

    Same variable (``block``), same fields and units as ``NeoMatlabIO.read_block`` interprets;
    tests check both give the same trials.
    """
    import scipy.io

    try:
        d = scipy.io.loadmat(str(path), struct_as_record=False, squeeze_me=True)
    except NotImplementedError as e:  # MAT v7.3 (HDF5): not what NeoMatlabIO writes
        raise GraspDataError(f"{path}: not a MAT v5 file as NeoMatlabIO writes ({e})") from e
    if "block" not in d:
        found = sorted(k for k in d if not k.startswith("__"))
        raise GraspDataError(f"{path}: no variable 'block' (a neo Block); variables: {found}")
    blk = d["block"]
    trials = []
    for seg in _as_list(getattr(blk, "segments", None)):
        spikes, names, span = [], [], []
        for j, st in enumerate(_as_list(getattr(seg, "spiketrains", None))):
            k = _to_seconds(getattr(st, "times_units", "s"))
            spikes.append(np.atleast_1d(np.asarray(st.times, dtype=np.float64)) * k)
            span.append((float(st.t_start) * _to_seconds(getattr(st, "t_start_units", "s")),
                         float(st.t_stop) * _to_seconds(getattr(st, "t_stop_units", "s"))))
            name = getattr(st, "name", None)
            names.append(str(name) if isinstance(name, str) and name else f"unit {j:03d}")
        events = {}
        evs = _as_list(getattr(seg, "events", None))
        if evs:
            ev = evs[0]
            t = np.atleast_1d(np.asarray(ev.times, dtype=np.float64)) * _to_seconds(
                getattr(ev, "times_units", "s"))
            events = dict(zip(_labels(getattr(ev, "labels", [])), t.tolist()))
        trials.append(_make_trial(spikes, span, names, _struct_dict(
            getattr(seg, "annotations", None)), events, evs))
    return trials, _struct_dict(getattr(blk, "annotations", None))


def _read_neo(path: Path) -> tuple[list[_Trial], dict]:
    """Any format neo reads (NeoMatlabIO for .mat), through neo objects."""
    import neo

    if path.name.endswith(".mat"):
        blk = neo.io.NeoMatlabIO(str(path)).read_block()
    else:
        blk = neo.io.get_io(str(path)).read_block()
    if blk is None:
        raise GraspDataError(f"{path}: neo found no block in the file")
    trials = []
    for seg in blk.segments:
        spikes, span, names = [], [], []
        for j, st in enumerate(seg.spiketrains):
            spikes.append(np.asarray(st.times.rescale("s").magnitude, dtype=np.float64))
            span.append((float(st.t_start.rescale("s").magnitude),
                         float(st.t_stop.rescale("s").magnitude)))
            names.append(str(st.name) if st.name else f"unit {j:03d}")
        events = {}
        if seg.events:
            ev = seg.events[0]
            t = np.asarray(ev.times.rescale("s").magnitude, dtype=np.float64)
            events = dict(zip(_labels(ev.labels), np.atleast_1d(t).tolist()))
        trials.append(_make_trial(spikes, span, names, dict(seg.annotations), events,
                                  seg.events))
    return trials, dict(blk.annotations)


def _make_trial(spikes, span, names, ann, events, raw_events) -> _Trial:
    return _Trial(span[0][0] if span else np.nan, span[0][1] if span else np.nan, spikes, names,
                  ann, events, span, bool(len(raw_events)))


def read_trials(path: Path, engine: str = "auto") -> tuple[list[_Trial], dict]:
    """Parse and validate every trial; ``engine``: "auto", "scipy" (.mat only) or "neo"."""
    path = Path(path)
    if engine == "auto":
        engine = "scipy" if path.name.endswith(".mat") else "neo"
    if engine not in ("scipy", "neo"):
        raise ValueError(f"engine must be 'auto', 'scipy' or 'neo', not {engine!r}")
    if not path.exists():
        raise GraspDataError(f"{path}: no such file")
    try:
        trials, block_ann = (_read_mat if engine == "scipy" else _read_neo)(path)
    except GraspDataError:
        raise
    except (OSError, ValueError, IndexError, KeyError, TypeError, EOFError) as exc:
        # scipy/neo report truncated or foreign files with bare low-level errors
        raise GraspDataError(f"{path}: not a readable Neo recording (.neo.mat: MATLAB v5 with a 'block' struct): "
                             f"{type(exc).__name__}: {exc}") from exc
    _validate(trials, path)
    return trials, block_ann


def _validate(trials: list[_Trial], path: Path) -> None:
    if not trials:
        raise GraspDataError(f"{path}: the block holds no segments (one segment per trial)")
    n0 = len(trials[0].spikes)
    for i, tr in enumerate(trials):
        where = f"{path}: trial {i}"
        for key in ("obj", "correct"):
            if key not in tr.annotations:
                raise GraspDataError(f"{where}: segment annotation {key!r} is missing "
                                     f"(annotations: {sorted(tr.annotations)})")
        try:
            obj = float(np.asarray(tr.annotations["obj"]).ravel()[0])
            ok = float(np.asarray(tr.annotations["correct"]).ravel()[0])
        except (TypeError, ValueError, IndexError) as e:
            raise GraspDataError(f"{where}: annotations 'obj' / 'correct' must be numbers, got "
                                 f"{tr.annotations['obj']!r} / {tr.annotations['correct']!r}") from e
        if obj != round(obj):
            raise GraspDataError(f"{where}: annotation 'obj' = {obj} is not an integer object id")
        tr.obj = int(round(obj))
        tr.correct = ok == 1
        if not tr.spikes:
            raise GraspDataError(f"{where}: the segment holds no spiketrains")
        if len(tr.spikes) != n0:
            raise GraspDataError(f"{where}: {len(tr.spikes)} spiketrains (units), "
                                 f"but trial 0 has {n0}; every trial must hold the same units")
        spans = np.asarray(tr.span)  # (U, 2)
        bad = np.flatnonzero(np.abs(spans - spans[0]).max(axis=1) > 1e-6)
        if bad.size:
            j = int(bad[0])
            raise GraspDataError(f"{where}: spiketrain {j} spans {tuple(spans[j])} s but "
                                 f"spiketrain 0 spans {tuple(spans[0])} s; all spiketrains of a "
                                 f"trial must share t_start and t_stop")
        if not spans[0, 1] > spans[0, 0]:
            raise GraspDataError(f"{where}: t_stop {spans[0, 1]} s is not after t_start "
                                 f"{spans[0, 0]} s")
        if not tr.has_events:
            raise GraspDataError(f"{where}: no events; the phase markers must be seg.events[0]")
        missing = [lab for lab in ("Hold", "Rew") if lab not in tr.events]
        if missing and tr.correct:
            raise GraspDataError(f"{where}: phase label(s) {missing} missing from events[0] "
                                 f"(labels: {list(tr.events)})")


def file_md5(path: Path) -> str:
    h = hashlib.md5()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 22), b""):
            h.update(chunk)
    return h.hexdigest()


def _cache_path(md5: str) -> Path:
    from bench.paths import cache_dir

    key = f"{md5}-bin{int(round(BIN_S * 1000))}ms-v{READER_VERSION}"
    return cache_dir() / "grasp" / f"{key}.npz"


def _recording_name(path: Path) -> str:
    name = path.name
    for suffix in (".neo.mat", ".mat", ".nix", ".h5", ".pkl"):
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return path.stem


def load_grasp(path: Path, cache: bool = True) -> GraspRecording:
    """Read a grasp recording (``.neo.mat`` or any file neo reads) and bin its trials at 40 ms."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"grasp recording {path} does not exist")
    md5 = file_md5(path)
    cpath = _cache_path(md5)
    name = _recording_name(path)
    if cache and cpath.is_file():
        try:
            return _from_npz(cpath, name)
        except (OSError, KeyError, ValueError):
            pass  # a broken cache entry is rebuilt below
    trials, block_ann = read_trials(path)
    rec = _bin_trials(trials, block_ann, name, md5, path)
    if cache:
        _to_npz(rec, cpath)
    return rec


def _bin_trials(trials: list, block_ann: dict, name: str, md5: str, path: Path) -> GraspRecording:
    n_units = len(trials[0].spikes)
    blocks, lengths, phase_rows = [], [], []
    labels: list[str] = list(PHASES)
    for tr in trials:
        n_bins = int(np.floor((tr.t_stop - tr.t_start) / BIN_S + 1e-9))
        sizes = np.fromiter((len(s) for s in tr.spikes), dtype=np.int64, count=n_units)
        times = np.concatenate(tr.spikes) if sizes.sum() else np.zeros(0)
        unit = np.repeat(np.arange(n_units), sizes)
        b = np.floor((times - tr.t_start) / BIN_S + 1e-9).astype(np.int64)
        ok = (b >= 0) & (b < n_bins)
        counts = np.bincount(b[ok] * n_units + unit[ok], minlength=n_bins * n_units)
        blocks.append(counts.reshape(n_bins, n_units).astype(np.float32))  # (n_bins, U)
        lengths.append(n_bins)
        for lab in tr.events:
            if lab not in labels:
                labels.append(lab)
        phase_rows.append(tr.events)
    phase_times = np.full((len(trials), len(labels)), np.nan)
    for i, ev in enumerate(phase_rows):
        for lab, t in ev.items():
            phase_times[i, labels.index(lab)] = t - trials[i].t_start
    identity = _identity(block_ann, md5)
    return GraspRecording(
        name=name,
        counts=np.concatenate(blocks, axis=0) if blocks else np.zeros((0, n_units), np.float32),
        offsets=np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64),
        obj=np.array([tr.obj for tr in trials], dtype=np.int64),
        correct=np.array([tr.correct for tr in trials], dtype=bool),
        phase_labels=tuple(labels),
        phase_times=phase_times,
        unit_names=tuple(trials[0].unit_names),
        identity=identity,
    )


def _identity(block_ann: dict, md5: str) -> dict:
    if str(block_ann.get("source", "")) == "synthetic":
        return {"source": "synthetic", "seed": int(block_ann.get("seed", -1)),
                "generator_version": str(block_ann.get("generator_version", "")), "md5": md5}
    return {"source": "file", "md5": md5}


def _to_npz(rec: GraspRecording, cpath: Path) -> None:
    cpath.parent.mkdir(parents=True, exist_ok=True)
    counts = rec.counts
    if counts.size and counts.max() < 2**16:
        counts = counts.astype(np.uint16)  # a quarter of the float32 size on disk
    meta = {"phase_labels": list(rec.phase_labels), "unit_names": list(rec.unit_names),
            "identity": rec.identity, "bin_s": rec.bin_s}
    fd, tmp = tempfile.mkstemp(dir=cpath.parent, suffix=".npz.tmp")
    os.close(fd)
    with open(tmp, "wb") as f:
        np.savez(f, counts=counts, offsets=rec.offsets, obj=rec.obj, correct=rec.correct,
                 phase_times=rec.phase_times, meta=np.array(json.dumps(meta)))
    os.replace(tmp, cpath)


def _from_npz(cpath: Path, name: str) -> GraspRecording:
    with np.load(cpath, allow_pickle=False) as z:
        meta = json.loads(str(z["meta"]))
        return GraspRecording(
            name=name, counts=z["counts"].astype(np.float32), offsets=z["offsets"],
            obj=z["obj"], correct=z["correct"].astype(bool),
            phase_labels=tuple(meta["phase_labels"]), phase_times=z["phase_times"],
            unit_names=tuple(meta["unit_names"]), identity=meta["identity"],
            bin_s=float(meta["bin_s"]),
        )


# ---------------------------------------------------------------------------------------------
# pipeline


class WindowArray:
    """(W, window, U) float32 windows, cut on demand from the binned trials (no 2 GB copy).

    Indexing with an int, a slice, an index array or a boolean mask returns a numpy array;
    ``np.asarray(x)`` materialises all windows.
    """

    def __init__(self, counts: np.ndarray, starts: np.ndarray, window: int):
        self._view = np.lib.stride_tricks.sliding_window_view(counts, window, axis=0)  # (T', U, w)
        self.starts = starts  # (W,) int64 first bin of each window in ``counts``
        self.window = window
        self.shape = (len(starts), window, counts.shape[1])
        self.dtype = counts.dtype
        self.ndim = 3

    def __len__(self) -> int:
        return self.shape[0]

    def __getitem__(self, idx) -> np.ndarray:
        if isinstance(idx, tuple):
            return self[idx[0]][(slice(None),) + idx[1:]]
        sel = self.starts[idx]
        return np.ascontiguousarray(np.swapaxes(self._view[sel], -1, -2))  # (..., window, U)

    def __array__(self, dtype=None, copy=None) -> np.ndarray:
        out = self[np.arange(len(self))]
        return out if dtype is None else out.astype(dtype)


@dataclass(frozen=True, eq=False)
class GraspSet:
    """The windows of one recording, labelled for phase detection and object classification."""

    name: str
    x: WindowArray  # (W, window, U) float32 spike counts per 40 ms bin
    is_grasp: np.ndarray  # (W,) bool: the window's last bin lies in [Hold, Rew)
    obj: np.ndarray  # (W,) int64 object id after merging
    label: np.ndarray  # (W,) int64 index into ``classes``
    trial: np.ndarray  # (W,) int64 trial index in the GraspRecording
    split: dict[str, np.ndarray]  # "train" | "val" | "test" -> sorted window indices
    classes: np.ndarray  # (K,) int64 sorted object ids
    identity: dict
    n_units: int
    window: int = 12
    trial_split: dict | None = None  # "train" | "val" | "test" -> sorted trial indices

    @property
    def n_classes(self) -> int:
        return int(len(self.classes))

    def indices(self, split: str, grasp_only: bool = False) -> np.ndarray:
        """Window indices of a split ("train", "val", "test", "trainval"); grasp windows only
        for the object classification set."""
        if split == "trainval":
            idx = np.union1d(self.split["train"], self.split["val"])
        else:
            idx = self.split[split]
        return idx[self.is_grasp[idx]] if grasp_only else idx


def merged_objects(obj: np.ndarray) -> np.ndarray:
    """Object ids with identical objects mapped to one id (11->41, 13->34, 14->44, 16->25, 12->54)."""
    out = np.asarray(obj, dtype=np.int64).copy()
    for src, dst in OBJECT_MERGES.items():
        out[obj == src] = dst
    return out


def _round_half_up(x: float) -> int:
    return int(np.floor(x + 0.5))


def split_trials(obj: np.ndarray, *, test_share: float = 0.2, val_share: float = 0.2,
                 trainval_share: float | None = None, seed: int = 0) -> dict[str, np.ndarray]:
    """Positions 0..N-1 of trials split per object: test first, then validation of the rest.

    ``trainval_share`` (Table 5) keeps only that share of each object's trials for train +
    validation, from the same shuffled order, so smaller shares are subsets of larger ones and
    the test set does not change.
    """
    if not 0 < test_share < 1 or not 0 <= val_share < 1:
        raise ValueError(f"test_share {test_share} must be in (0, 1), val_share {val_share} in [0, 1)")
    if trainval_share is not None and not 0 < trainval_share <= 1 - test_share + 1e-9:
        raise ValueError(f"trainval_share {trainval_share} must be in (0, 1 - test_share = "
                         f"{1 - test_share:g}]")
    rng = np.random.default_rng(seed)
    parts: dict[str, list] = {"train": [], "val": [], "test": []}
    for o in np.unique(obj):
        pos = rng.permutation(np.flatnonzero(obj == o))
        n = len(pos)
        n_test = _round_half_up(test_share * n)
        rest = pos[n_test:]
        if trainval_share is not None:
            rest = rest[: min(len(rest), _round_half_up(trainval_share * n))]
        n_val = _round_half_up(val_share * len(rest))
        parts["test"].append(pos[:n_test])
        parts["val"].append(rest[:n_val])
        parts["train"].append(rest[n_val:])
    return {k: np.sort(np.concatenate(v)).astype(np.int64) if v else np.zeros(0, np.int64)
            for k, v in parts.items()}


def prepare(rec: GraspRecording, *, window: int = 12, test_share: float = 0.2,
            val_share: float = 0.2, trainval_share: float | None = None,
            seed: int = 0) -> GraspSet:
    """The paper's pipeline: filter, merge, drop rare objects, split trials, cut windows."""
    if window < 1:
        raise ValueError(f"window must be >= 1 bin, not {window}")
    obj = merged_objects(rec.obj)
    keep = rec.correct & (rec.obj < MAX_OBJECT_ID)
    ids, n_per = np.unique(obj[keep], return_counts=True)
    keep &= np.isin(obj, ids[n_per >= MIN_TRIALS_PER_OBJECT])
    kept = np.flatnonzero(keep)  # trial indices
    if kept.size == 0:
        raise GraspDataError(f"{rec.name}: no correct trial with obj < {MAX_OBJECT_ID} of an "
                             f"object with >= {MIN_TRIALS_PER_OBJECT} trials")
    hold, rew = rec.phase_bin("Hold")[kept], rec.phase_bin("Rew")[kept]
    n_bins = rec.n_bins[kept]
    n_win = np.maximum(n_bins - window + 1, 0)  # windows per kept trial
    w_trial = np.repeat(kept, n_win)  # (W,)
    first = np.repeat(np.cumsum(n_win) - n_win, n_win)
    local = np.arange(int(n_win.sum())) - first  # window's first bin inside its trial
    last = local + window - 1
    k_of_w = np.repeat(np.arange(len(kept)), n_win)
    starts = rec.offsets[w_trial] + local
    is_grasp = (last >= hold[k_of_w]) & (last < rew[k_of_w])
    classes = np.unique(obj[kept])
    w_obj = obj[w_trial]
    pos_split = split_trials(obj[kept], test_share=test_share, val_share=val_share,
                             trainval_share=trainval_share, seed=seed)
    trial_split = {k: kept[v] for k, v in pos_split.items()}
    split = {k: np.flatnonzero(np.isin(w_trial, v)) for k, v in trial_split.items()}
    return GraspSet(
        name=rec.name, x=WindowArray(rec.counts, starts.astype(np.int64), window),
        is_grasp=is_grasp, obj=w_obj, label=np.searchsorted(classes, w_obj).astype(np.int64),
        trial=w_trial.astype(np.int64), split=split, classes=classes.astype(np.int64),
        identity=dict(rec.identity), n_units=rec.n_units, window=window, trial_split=trial_split,
    )


def relaxed_neighbours(classes: np.ndarray) -> np.ndarray:
    """(K, K) bool: same object, or same shape (id // 10) with sizes (id % 10) one apart.

    The handle grips 0 and 1 (shape 0) are neighbours of each other by the same rule.
    """
    c = np.asarray(classes, dtype=np.int64)
    shape, size = c // 10, c % 10
    same_shape = shape[:, None] == shape[None, :]
    return (c[:, None] == c[None, :]) | (same_shape & (np.abs(size[:, None] - size[None, :]) == 1))


def resolve_grasp_recordings(names: list[str] | None, data_dir: Path | None):
    """Recordings to run on: ``*.neo.mat`` in ``data_dir`` (or the named ones), else the six
    synthetic default sessions."""
    from bench.tasks import RecordingRef

    if data_dir is None:
        from bench.data.synth_grasp import ensure_default_grasp_sessions

        paths = ensure_default_grasp_sessions(names=names)  # only the named ones are written
        refs = [RecordingRef(_recording_name(p), p, True) for p in paths]
    else:
        data_dir = Path(data_dir)
        if not data_dir.is_dir():
            raise FileNotFoundError(f"grasp data directory {data_dir} does not exist")
        refs = [RecordingRef(_recording_name(p), p, False)
                for p in sorted(data_dir.glob("*.neo.mat"))]
        if not refs:
            raise FileNotFoundError(f"no *.neo.mat files in {data_dir}")
    if names:
        known = {r.name: r for r in refs}
        missing = [n for n in names if n not in known]
        if missing:
            raise KeyError(f"unknown grasp recording(s) {missing}; available: {sorted(known)}")
        refs = [known[n] for n in names]
    return refs
