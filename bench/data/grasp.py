"""Grasp recordings (REFERENCE.md section 7): read Neo files, bin trials at 40 ms, cache, find.

Flow: ``.neo.mat`` (or any file neo reads) -> ``read_trials`` (parsed and validated) ->
``bin_trials`` -> ``GraspRecording`` (compact counts, cached as .npz) -> ``bench.data.grasp_prepare``
(the paper's filter / split / window pipeline).

bench's binned form is also a file format: ``<name>.grasp.npz`` (what the cache holds, plus the
session's name). The default synthetic sessions are generated straight into it (no 126 MB
.neo.mat written and parsed back; ``python -m bench data synth --task grasp`` writes those), and
``load_grasp`` reads it like any recording. A cache entry or default session that cannot be read
is rebuilt from its source with a note.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bench.data.grasp_neo import MAX_TRIAL_S, GraspDataError, Trial, read_trials
from bench.data.io import atomic_write, cache_note, file_md5
from bench.data.recording import compact_counts

__all__ = ["GraspDataError", "GraspRecording", "MAX_TRIAL_S", "bin_trials", "load_grasp",
           "read_binned", "read_trials", "resolve_grasp_recordings", "write_binned"]

BIN_S = 0.040  # the paper's bin width
READER_VERSION = "1"  # bump when binning or parsing changes the numbers: invalidates results
CACHE_VERSION = "2"  # bump when the .npz layout changes (2: compact counts, session name)
BINNED_SUFFIX = ".grasp.npz"
PHASES = ("Start", "Rest", "Motor", "FixLOn", "Fix", "Cue", "Mem", "React", "Go", "Hold", "Rew",
          "Intert", "End")
BUDGET_FLOOR = 256 << 20  # bytes of binned counts any file may make bench allocate
BUDGET_PER_FILE_BYTE = 32  # ... plus this many per byte of the file


@dataclass(frozen=True, eq=False)
class GraspRecording:
    """One grasp session, every trial binned at 40 ms from its own t_start."""

    name: str
    counts: np.ndarray  # (T, U) uint8 (wider if needed): all trials' bins, in trial order
    offsets: np.ndarray  # (N + 1,) int64: trial i is counts[offsets[i]:offsets[i + 1]]
    obj: np.ndarray  # (N,) int64 object id as stored (before merging)
    correct: np.ndarray  # (N,) bool
    phase_labels: tuple[str, ...]  # column names of phase_times
    phase_times: np.ndarray  # (N, P) float64 s since the trial's t_start; NaN where absent
    unit_names: tuple[str, ...]
    identity: dict  # {"source": "file", "md5"} or {"source": "synthetic", "seed", ...}
    bin_s: float = BIN_S

    def __post_init__(self) -> None:
        object.__setattr__(self, "counts", compact_counts(self.counts))

    @property
    def trials(self) -> list[np.ndarray]:
        """Per-trial (n_bins_i, U) count arrays (views into ``counts``)."""
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

    def head(self, n_trials: int) -> "GraspRecording":
        """The session's first ``n_trials`` trials (itself when it holds no more)."""
        if n_trials >= self.n_trials:
            return self
        end = int(self.offsets[n_trials])
        return dataclasses.replace(self, counts=self.counts[:end], offsets=self.offsets[:n_trials + 1], obj=self.obj[:n_trials],
                                   correct=self.correct[:n_trials], phase_times=self.phase_times[:n_trials])

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
# binning (one function for files and for the generator's arrays: identical results)


def n_bins_of(t_start: np.ndarray, t_stop: np.ndarray) -> np.ndarray:
    """Whole 40 ms bins of each trial (a trailing partial bin is dropped)."""
    return np.floor((np.asarray(t_stop) - np.asarray(t_start)) / BIN_S + 1e-9).astype(np.int64)


def bin_trials(
    name: str,
    *,
    t_start: np.ndarray,
    t_stop: np.ndarray,
    spikes: Sequence[tuple[np.ndarray, np.ndarray]],
    obj: np.ndarray,
    correct: np.ndarray,
    events: Sequence[dict[str, float]],
    unit_names: Sequence[str],
    identity: dict,
    max_bytes: int | None = None,
    where: str | None = None,
) -> GraspRecording:
    """Bin every trial at 40 ms from its own t_start.

    ``spikes[i]`` = (flat spike times of trial i in s, unit after unit; spikes per unit (U,)).
    ``events[i]``: phase label -> absolute time (s). The counts array is sized and checked
    against ``max_bytes`` before it is allocated.
    """
    n_units = len(unit_names)
    n_bins = n_bins_of(t_start, t_stop)
    total = int(n_bins.sum())
    if max_bytes is not None and total * n_units > max_bytes:
        raise GraspDataError(
            f"{where or name}: its {len(n_bins)} trials span {total} bins of 40 ms x {n_units} "
            f"units = {total * n_units / 1e6:,.0f} MB of counts, more than the file can "
            f"plausibly hold (at most {max_bytes / 1e6:,.0f} MB): the trial spans are absurd"
        )
    offsets = np.concatenate([[0], np.cumsum(n_bins)]).astype(np.int64)
    counts = np.zeros((total, n_units), dtype=np.uint8)
    for i, (times, sizes) in enumerate(spikes):
        nb = int(n_bins[i])
        unit = np.repeat(np.arange(n_units), sizes)
        b = np.floor((times - t_start[i]) / BIN_S + 1e-9).astype(np.int64)
        ok = (b >= 0) & (b < nb)
        block = np.bincount(b[ok] * n_units + unit[ok], minlength=nb * n_units)
        top = int(block.max(initial=0))
        if top > np.iinfo(counts.dtype).max:
            counts = counts.astype(np.uint16 if top <= 0xFFFF else np.uint32)
        counts[offsets[i]:offsets[i + 1]] = block.reshape(nb, n_units)
    labels: list[str] = list(PHASES)
    for ev in events:
        labels.extend(lab for lab in ev if lab not in labels)
    phase_times = np.full((len(events), len(labels)), np.nan)
    col = {lab: j for j, lab in enumerate(labels)}
    for i, ev in enumerate(events):
        for lab, t in ev.items():
            phase_times[i, col[lab]] = t - t_start[i]
    return GraspRecording(
        name=name, counts=counts, offsets=offsets, obj=np.asarray(obj, dtype=np.int64),
        correct=np.asarray(correct, dtype=bool), phase_labels=tuple(labels),
        phase_times=phase_times, unit_names=tuple(unit_names), identity=identity,
    )


def _identity(block_ann: dict, md5: str) -> dict:
    if str(block_ann.get("source", "")) == "synthetic":
        return {"source": "synthetic", "seed": int(block_ann.get("seed", -1)),
                "generator_version": str(block_ann.get("generator_version", "")), "md5": md5}
    return {"source": "file", "md5": md5}


def _recording_from_trials(trials: list[Trial], block_ann: dict, name: str, md5: str,
                           path: Path) -> GraspRecording:
    size = path.stat().st_size
    return bin_trials(
        name,
        t_start=np.array([tr.t_start for tr in trials]), t_stop=np.array([tr.t_stop for tr in trials]),
        spikes=[(np.concatenate(tr.spikes) if any(len(s) for s in tr.spikes) else np.zeros(0),
                 np.fromiter((len(s) for s in tr.spikes), dtype=np.int64, count=len(tr.spikes)))
                for tr in trials],
        obj=np.array([tr.obj for tr in trials], dtype=np.int64),
        correct=np.array([tr.correct for tr in trials], dtype=bool),
        events=[tr.events for tr in trials], unit_names=trials[0].unit_names,
        identity=_identity(block_ann, md5),
        max_bytes=BUDGET_FLOOR + BUDGET_PER_FILE_BYTE * size, where=str(path),
    )


# ---------------------------------------------------------------------------------------------
# bench's binned form: the cache and the .grasp.npz format


def write_binned(rec: GraspRecording, path: Path) -> Path:
    """Write ``rec`` as a binned ``.npz`` (the cache entry / ``.grasp.npz`` layout), atomically."""
    meta = {"name": rec.name, "phase_labels": list(rec.phase_labels),
            "unit_names": list(rec.unit_names), "identity": rec.identity, "bin_s": rec.bin_s,
            "cache_version": CACHE_VERSION}
    arrays = {"counts": rec.counts, "offsets": rec.offsets, "obj": rec.obj,
              "correct": rec.correct, "phase_times": rec.phase_times,
              "meta": np.array(json.dumps(meta))}
    return atomic_write(path, lambda fh: np.savez(fh, **arrays), fsync=False)


def read_binned(path: Path, name: str | None = None) -> GraspRecording:
    """Read a binned ``.npz``; any damage or inconsistency is a ValueError saying what."""
    with np.load(path, allow_pickle=False) as z:
        meta = json.loads(str(z["meta"]))
        counts, offsets = z["counts"], z["offsets"].astype(np.int64)
        obj, correct, phase_times = z["obj"], z["correct"].astype(bool), z["phase_times"]
    n = len(obj)
    if meta.get("cache_version") != CACHE_VERSION:
        raise ValueError(f"layout version {meta.get('cache_version')!r}, expected {CACHE_VERSION!r}")
    if (counts.ndim != 2 or offsets.shape != (n + 1,) or offsets[0] != 0 or np.any(np.diff(offsets) < 0)
            or offsets[-1] != counts.shape[0] or len(correct) != n or phase_times.shape != (n, len(meta["phase_labels"]))
            or len(meta["unit_names"]) != counts.shape[1]):
        raise ValueError("arrays of inconsistent shapes")
    return GraspRecording(
        name=name or meta["name"], counts=counts, offsets=offsets, obj=obj.astype(np.int64),
        correct=correct, phase_labels=tuple(meta["phase_labels"]), phase_times=phase_times,
        unit_names=tuple(meta["unit_names"]), identity=meta["identity"], bin_s=float(meta["bin_s"]),
    )


def _cache_path(md5: str) -> Path:
    from bench.paths import cache_dir

    key = f"{md5}-bin{int(round(BIN_S * 1000))}ms-v{READER_VERSION}-c{CACHE_VERSION}"
    return cache_dir() / "grasp" / f"{key}.npz"


def recording_name(path: Path) -> str:
    name = Path(path).name
    for suffix in (BINNED_SUFFIX, ".neo.mat", ".mat", ".nix", ".h5", ".pkl"):
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return Path(path).stem


def _load_binned_file(path: Path) -> GraspRecording:
    """A ``.grasp.npz``; a damaged default synthetic session is generated again (with a note)."""
    name = recording_name(path)
    try:
        return read_binned(path, name)
    except Exception as e:  # noqa: BLE001 - zip, npy, JSON or shape damage alike
        from bench.data import synth_grasp

        cfg = synth_grasp.default_config_for(path)
        if cfg is None:
            raise GraspDataError(f"{path}: not a readable binned grasp recording "
                                 f"({type(e).__name__}: {e})") from e
        cache_note(path, f"{type(e).__name__}: {e}", f"the generator (session {cfg.name}, seed {cfg.seed})")
        synth_grasp.write_binned_session(path, cfg)
        return read_binned(path, name)


def load_grasp(path: Path, cache: bool = True) -> GraspRecording:
    """Read a grasp recording (``.neo.mat``, any file neo reads, or bench's ``.grasp.npz``) and
    bin its trials at 40 ms; cached by the file's md5 (a broken cache entry is rebuilt)."""
    path = Path(path)
    if not path.is_file():
        raise GraspDataError(f"{path}: no such grasp recording file")
    if path.name.endswith(BINNED_SUFFIX):
        return _load_binned_file(path)
    md5 = file_md5(path)
    cpath = _cache_path(md5)
    name = recording_name(path)
    if cache and cpath.is_file():
        try:
            return read_binned(cpath, name)
        except Exception as e:  # noqa: BLE001 - any damage: rebuilt below from the file
            cache_note(cpath, f"{type(e).__name__}: {e}", path)
    trials, block_ann = read_trials(path)
    rec = _recording_from_trials(trials, block_ann, name, md5, path)
    if cache:
        try:
            write_binned(rec, cpath)
        except OSError as e:  # a cache that cannot be written costs a re-read, nothing more
            cache_note(cpath, f"cannot be written: {e}", path)
    return rec


# ---------------------------------------------------------------------------------------------
# which recordings to run on


def resolve_grasp_recordings(names: list[str] | None, data_dir: Path | None):
    """Recordings to run on: ``*.neo.mat`` in ``data_dir`` (or the named ones), else the six
    synthetic default sessions (generated on first use, straight into the binned form)."""
    from bench.data.recording import RecordingRef

    if data_dir is None:
        from bench.data.synth_grasp import ensure_default_grasp_sessions

        paths = ensure_default_grasp_sessions(names=names)  # only the named ones are made
        refs = [RecordingRef(recording_name(p), p, True) for p in paths]
    else:
        data_dir = Path(data_dir)
        if data_dir.exists() and not data_dir.is_dir():
            raise GraspDataError(f"grasp data directory {data_dir} is a file, not a directory")
        if not data_dir.is_dir():
            raise GraspDataError(f"grasp data directory {data_dir} does not exist")
        refs = [RecordingRef(recording_name(p), p, False)
                for p in sorted(data_dir.glob("*.neo.mat"))]
        if not refs:
            raise GraspDataError(f"no *.neo.mat files in {data_dir}")
    if names:
        known = {r.name: r for r in refs}
        missing = [n for n in names if n not in known]
        if missing:
            raise GraspDataError(f"unknown grasp recording(s) {missing}; available: {sorted(known)}")
        refs = [known[n] for n in names]
    return refs
