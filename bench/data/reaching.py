"""Primate-reaching reader: a Zenodo-layout .mat v7.3 file -> a binned, split ``Recording``.

In ``binary`` mode the result is identical to ``neurobench.datasets.PrimateReaching(num_steps=1,
bin_width=0.004, biological_delay=0, train_ratio=r)`` on the same file (proved in
tests/test_reaching_reader.py); the conventions it reproduces live in ``reaching_grid``.
Spikes are stored compactly (``Recording.spikes``: uint8 per 4 ms sample and channel), so a
2,450 s, 96-channel session takes 59 MB instead of NeuroBench's 235 MB float32 array.

One deliberate difference: NeuroBench reads an empty cell's MATLAB dimension vector as spike
times (fake spikes at 0 s and/or 1 s). Those only reach its grid when ``t[0] - 0.004 <= 1`` s;
real sessions start far later (e.g. 148.984 s), so outputs agree on them. This reader never reads
empty cells as spikes.

Every file is checked before use, each failure a ``RecordingError`` naming file and variable:
sizes the file cannot hold (before anything is allocated, ``matfile.ReadBudget``), clock,
positions, text, no spikes, a split left empty, a cursor that never moves (R2 undefined).
``check_usable(recording, min_samples)`` adds the entry's window length (tasks call it).
"""

from __future__ import annotations

import dataclasses
import json
import warnings
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import h5py
import numpy as np

from bench.data import matfile
from bench.data.io import atomic_write, cache_note, file_md5, known_md5
from bench.data.matfile import RecordingError
from bench.data.reaching_grid import (
    BIN_WIDTH,
    bin_spikes,
    neurobench_edges,
    neurobench_segments,
    neurobench_split,
    split_sizes,
    velocity_labels,
)
from bench.data.recording import SPLITS, Recording
from bench.data.sessions import NEUROBENCH_SESSIONS, known_session

__all__ = ["RecordingError", "load_reaching", "check_usable", "resolve_recordings", "READER_VERSION"]

READER_VERSION = 1  # bump when the binned output of a file changes (its numbers, not its dtype)
CACHE_VERSION = 2  # bump when the cache's layout changes (2: compact "spikes" instead of "inputs")
INPUT_MODES = ("binary", "counts")
T_TOLERANCE = 1e-6  # s; t must sit on the 4 ms grid within this


# ----------------------------------------------------------------------------------------------
# cache of binned recordings


def _cache_root() -> Path:
    from bench.paths import cache_dir

    return cache_dir()


def _cache_path(name: str, md5: str, settings: dict) -> Path:
    import hashlib

    key = json.dumps(
        {"md5": md5, "name": name, "version": READER_VERSION, "cache": CACHE_VERSION, **settings},
        sort_keys=True,
    )
    return _cache_root() / "binned" / f"{name}-{hashlib.sha1(key.encode()).hexdigest()[:16]}.npz"


def _save_cache(path: Path, rec: Recording) -> None:
    meta = {
        k: getattr(rec, k)
        for k in ("name", "identity", "input_mode", "bin_width", "train_ratio", "extra")
    }
    meta["channel_names"] = list(rec.channel_names)
    arrays = {
        "spikes": rec.spikes,
        "labels": rec.labels,
        "segments": rec.segments,
        **{s: rec.split[s] for s in SPLITS},
        "meta": np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8),
    }
    try:
        atomic_write(path, lambda fh: np.savez(fh, **arrays), fsync=False)
    except OSError as e:  # a cache that cannot be written costs a re-read next time, nothing more
        warnings.warn(f"cannot write the binned cache {path}: {e}", stacklevel=3)


def _load_cache(path: Path, source: Path) -> Recording | None:
    """The cached recording, or None (with a note) when the entry is unreadable or inconsistent."""
    try:
        with np.load(path, allow_pickle=False) as z:
            meta = json.loads(z["meta"].tobytes().decode())
            spikes, labels = z["spikes"], z["labels"]
            split = {s: z[s] for s in SPLITS}
            segments = z["segments"]
        T = spikes.shape[0] if spikes.ndim == 2 else -1
        problems = [
            spikes.ndim != 2 or spikes.dtype.kind != "u",
            labels.shape != (T, 2),
            spikes.ndim == 2 and len(meta["channel_names"]) != spikes.shape[1],
            any(v.ndim != 1 or (v.size and (v.min() < 0 or v.max() >= T)) for v in split.values()),
        ]
        if any(problems):
            raise ValueError("arrays of inconsistent shapes")
        return Recording(
            name=meta["name"],
            spikes=spikes,
            labels=labels,
            segments=segments,
            split=split,
            channel_names=tuple(meta["channel_names"]),
            identity=meta["identity"],
            input_mode=meta["input_mode"],
            bin_width=meta["bin_width"],
            train_ratio=meta["train_ratio"],
            extra={**meta["extra"], "from_cache": True},
        )
    except Exception as e:  # noqa: BLE001 - any unreadable entry (zip, npy, JSON, keys) is rebuilt
        cache_note(path, f"{type(e).__name__}: {e}", source)
        return None


# ----------------------------------------------------------------------------------------------
# reading and validating


def _check_t(t_raw: np.ndarray, where: str) -> np.ndarray:
    if 1 not in t_raw.shape or t_raw.size < 2:
        raise RecordingError(
            f"{where}: variable 't' must have shape (1, k) with k >= 2, got {t_raw.shape}"
        )
    t = t_raw.reshape(-1)
    if not np.all(np.isfinite(t)):
        raise RecordingError(f"{where}: variable 't' {t_raw.shape} holds NaN or inf")
    dt = np.diff(t)
    if np.any(dt <= 0):
        i = int(np.argmax(dt <= 0))
        raise RecordingError(
            f"{where}: variable 't' {t_raw.shape} is not increasing (t[{i + 1}] = {t[i + 1]!r} <= t[{i}] = {t[i]!r})"
        )
    bad = np.abs(dt - BIN_WIDTH) > T_TOLERANCE
    if np.any(bad):
        i = int(np.argmax(bad))
        raise RecordingError(
            f"{where}: variable 't' {t_raw.shape} is not a regular 4 ms grid (t[{i + 1}] - t[{i}] = {dt[i]!r} s)"
        )
    return t


def _read_positions(f: h5py.File, where: str, k: int, budget: matfile.ReadBudget):
    """cursor_pos and target_pos (2, k), finite; finger_pos is checked (shape) but never read:
    nothing bench computes uses it."""
    out = []
    for name, rows in (("cursor_pos", (2,)), ("target_pos", (2,)), ("finger_pos", (3, 6))):
        ds = matfile.require(f, name)
        if ds.dtype.kind not in "fiu" or ds.ndim != 2 or ds.shape[0] not in rows:
            raise RecordingError(
                f"{where}: variable {name!r} must be a numeric matrix of shape "
                f"({'|'.join(map(str, rows))}, k), got {ds.shape} {ds.dtype}"
            )
        if ds.shape[1] != k:  # before reading: a wrong length costs nothing
            raise RecordingError(
                f"{where}: variable {name!r} has shape {ds.shape}, expected ({'|'.join(map(str, rows))}, {k}) to match 't'"
            )
        if name == "finger_pos":
            out.append(int(ds.shape[0]))
            continue
        a = matfile.read_matrix(f, name, rows=rows, budget=budget)
        if not np.all(np.isfinite(a)):
            n_bad = int(np.sum(~np.isfinite(a)))
            raise RecordingError(
                f"{where}: variable {name!r} {a.shape} holds {n_bad} NaN/inf values"
            )
        out.append(a)
    return out[0], out[1], out[2]


def _read_file(
    path: Path,
    input_mode: str,
    train_ratio: float,
    remove_inactive: bool,
    max_segment_length: int,
    md5_of_file: Callable[[], str],
) -> Recording:
    where = str(path)
    name = path.stem
    stats = {"n_spikes": 0, "n_spikes_off_t": 0, "empty_cells": 0}

    def channels(f: h5py.File, refs: np.ndarray, t0: float, t1: float, budget):
        for c in range(refs.shape[1]):  # one channel at a time keeps memory flat
            cells = [matfile.read_numeric_cell(f, r, "spikes", budget) for r in refs[:, c]]
            times = np.concatenate(cells)
            budget.used -= times.nbytes  # released once binned: the budget bounds the peak
            stats["n_spikes"] += times.size
            stats["n_spikes_off_t"] += int(np.count_nonzero((times < t0) | (times > t1)))
            stats["empty_cells"] += sum(x.size == 0 for x in cells)
            yield times

    with matfile.open_mat(path) as f:
        try:
            budget = matfile.ReadBudget(f)
            t = _check_t(matfile.read_matrix(f, "t", budget=budget), where)
            k = t.size
            cursor_pos, target_pos, finger_rows = _read_positions(f, where, k, budget)
            labels = velocity_labels(cursor_pos)  # (k, 2)
            all_segments = neurobench_segments(target_pos)
            del cursor_pos, target_pos
            spike_refs = matfile.read_cell_refs(f, "spikes", budget)  # (units, channels)
            names = matfile.read_char_cell(f, "chan_names", budget)
            if min(spike_refs.shape) == 0:
                raise RecordingError(
                    f"{where}: variable 'spikes' has shape {spike_refs.shape}; expected (units, channels), both >= 1"
                )
            if spike_refs.shape[1] != len(names):
                raise RecordingError(
                    f"{where}: variable 'spikes' has shape {spike_refs.shape} (units, channels) but 'chan_names' names {len(names)} channels"
                )
            known = known_session(name)
            if known is not None and known.channels != len(names):
                raise RecordingError(
                    f"{where}: session {name} has {known.channels} channels, but 'chan_names' of the file has {len(names)}"
                )
            attrs = matfile.root_attrs(f)
            edges = neurobench_edges(t)
            budget.take(k * len(names), f"the binned spikes ({k} samples x {len(names)} channels)")
            spikes = bin_spikes(
                channels(f, spike_refs, t[0], t[-1], budget), edges, k, len(names), input_mode
            )
        except OSError as e:  # HDF5 read errors past the open: a damaged file
            raise RecordingError(
                f"{where}: cannot be read (truncated or corrupt file?): {e}"
            ) from e
    n_cells = spike_refs.size
    if stats["n_spikes"] == 0:
        raise RecordingError(
            f"{where}: variable 'spikes' holds no spike times at all (all {n_cells} cells are empty)"
        )
    if not spikes.any():
        raise RecordingError(
            f"{where}: variable 'spikes': none of its {stats['n_spikes']} spike times lies within "
            f"variable 't' ({t[0]:.3f} .. {t[-1]:.3f} s), so every input would be zero"
        )
    split = neurobench_split(all_segments, train_ratio, remove_inactive, max_segment_length)
    md5 = md5_of_file()
    if attrs.get("synthetic"):
        identity = {
            "source": "synthetic",
            "seed": attrs.get("seed"),
            "generator_version": attrs.get("generator_version"),
            "md5": md5,
            "file": path.name,
        }
    else:
        identity = {"source": "file", "md5": md5, "file": path.name}
    extra = {
        "t0": float(t[0]),
        "duration_s": float(t[-1] - t[0] + BIN_WIDTH),
        "units": int(spike_refs.shape[0]),
        "finger_rows": finger_rows,
        "n_segments_neurobench": int(len(all_segments)),
        "neurobench_grid_len": int(edges.size),
        **stats,
        "remove_inactive": bool(remove_inactive),
        "reader_version": READER_VERSION,
    }
    if known is not None:
        extra["zenodo_md5_ok"] = md5 == known.md5
    return Recording(
        name=name,
        spikes=spikes,
        labels=labels,
        segments=all_segments[all_segments[:, 1] > all_segments[:, 0]],
        split=split,
        channel_names=tuple(names),
        identity=identity,
        input_mode=input_mode,
        bin_width=BIN_WIDTH,
        train_ratio=float(train_ratio),
        extra=extra,
    )


def head(rec: Recording, seconds: float) -> Recording:
    """The reaches of ``rec`` that end within its first ``seconds``, split again by the same
    rule (itself when it is no longer). ``quick`` runs use it (bench.tasks.reaching)."""
    n = int(round(seconds / rec.bin_width))
    if rec.n_samples <= n:
        return rec
    seg = rec.segments[rec.segments[:, 1] <= n]
    if len(seg) < 3 or int(seg[0, 0]) != 0:
        return rec  # too few reaches to split: the whole session
    end = int(seg[-1, 1])
    split = neurobench_split(seg, rec.train_ratio, bool(rec.extra.get("remove_inactive", False)))
    extra = {**rec.extra, "n_segments_neurobench": int(len(seg)), "head_s": float(seconds), "duration_s": end * rec.bin_width}
    return dataclasses.replace(rec, spikes=rec.spikes[:end], labels=rec.labels[:end], segments=seg, split=split, extra=extra)


def check_usable(recording: Recording, min_samples: int = 1) -> None:
    """Refuse, before any training, a recording the reaching task cannot score.

    Every split (train, val, test) must hold at least ``min_samples`` samples (an entry passes
    its input window, ``Windows.span``), and the cursor must move within each split in both
    dimensions: a constant velocity makes R2 (1 - SS_res / SS_tot with SS_tot = 0) undefined.
    Raises ``RecordingError`` naming the file, the variable and the split.
    """
    rec = recording
    where = rec.identity.get("file") or rec.name
    n_seg = int(rec.extra.get("n_segments_neurobench", len(rec.segments)))
    per_split = dict(zip(SPLITS, split_sizes(n_seg, rec.train_ratio)))
    need = max(1, int(min_samples))
    for s in SPLITS:
        idx = rec.split.get(s)
        n = 0 if idx is None else len(idx)
        if n == 0:
            dropped = " after inactive segments were removed" if rec.extra.get("remove_inactive") else ""
            raise RecordingError(
                f"{where}: the {s} split is empty{dropped}: variable 'target_pos' defines {n_seg} "
                f"reach segment(s) (target changes), and train_ratio {rec.train_ratio:g} gives the "
                f"{s} split {per_split[s]} of them, holding no samples; the task needs samples in "
                f"train, val and test"
            )
        if n < need:
            raise RecordingError(
                f"{where}: the {s} split holds {n} samples ({n * rec.bin_width * 1000:.0f} ms), "
                f"shorter than the entry's input window of {need} samples "
                f"({need * rec.bin_width * 1000:.0f} ms)"
            )
        lab = rec.labels[idx]
        still = [ax for ax, d in zip("xy", range(lab.shape[1])) if np.ptp(lab[:, d]) == 0]
        if still:
            raise RecordingError(
                f"{where}: variable 'cursor_pos' does not move along {' and '.join(still)} during "
                f"the {s} split ({n} samples): the velocity is constant, so R2 is undefined"
            )


def load_reaching(
    path: str | Path,
    input_mode: str = "binary",
    train_ratio: float = 0.5,
    cache: bool = True,
    *,
    remove_inactive: bool = False,
    max_segment_length: int = 2000,
) -> Recording:
    """Read, validate, bin (4 ms) and split one reaching session; cached by file md5 + settings.

    ``remove_inactive`` drops segments of ``max_segment_length`` samples or more from every split,
    like NeuroBench's ``remove_segments_inactive`` (off in the published baselines). A cache
    entry that cannot be read is rebuilt from the file, with a note on stderr.
    """
    path = Path(path)
    if input_mode not in INPUT_MODES:
        raise ValueError(f"input_mode must be one of {INPUT_MODES}, got {input_mode!r}")
    if not 0.0 <= train_ratio <= 1.0:
        raise ValueError(f"train_ratio must lie in [0, 1], got {train_ratio}")
    if path.name.endswith(".part"):
        raise RecordingError(f"{path}: a partial download (.part) is never used")
    if not path.is_file():
        raise RecordingError(f"{path}: no such file")
    md5 = known_md5(path)
    settings = {
        "input_mode": input_mode,
        "train_ratio": float(train_ratio),
        "remove_inactive": bool(remove_inactive),
        "max_segment_length": int(max_segment_length),
    }
    if md5 is not None and cache:
        cpath = _cache_path(path.stem, md5, settings)
        rec = _load_cache(cpath, path) if cpath.is_file() else None
        if rec is not None:
            check_usable(rec)
            return rec
    args = (path, input_mode, train_ratio, remove_inactive, max_segment_length)
    if md5 is not None:
        rec = _read_file(*args, lambda: md5)
    else:  # a file not seen before: hash it on a second thread while it is parsed
        with ThreadPoolExecutor(1) as pool:  # (hashlib releases the GIL)
            digest = pool.submit(file_md5, path)
            rec = _read_file(*args, digest.result)
    check_usable(rec)
    if cache:
        _save_cache(_cache_path(path.stem, rec.identity["md5"], settings), rec)
    return rec


# ----------------------------------------------------------------------------------------------
# which recordings to run on


def _probe(path: Path) -> bool | None:
    """None if the file does not open as HDF5; else whether it carries bench's synthetic mark."""
    try:
        with h5py.File(path, "r") as f:
            return bool(f.attrs.get(matfile.ATTR_PREFIX + "synthetic", 0))
    except OSError:
        return None


def resolve_recordings(names: list[str] | None = None, data_dir: Path | None = None) -> list:
    """Recordings to run on: sessions in ``data_dir``, or the synthetic defaults without one.

    With ``data_dir``: the six NeuroBench sessions found there (or the named ones; any other
    ``<name>.mat`` there may be named explicitly). Files that do not open as HDF5 (downloads in
    progress, damaged files) are skipped with a warning, or refused when named.
    """
    from bench.data.recording import RecordingRef

    wanted = [n[:-4] if n.endswith(".mat") else n for n in names] if names else None
    if data_dir is None:
        from bench.data.synth_reaching import ensure_default_sessions

        paths = {Path(p).stem: Path(p) for p in ensure_default_sessions()}
        order = wanted or list(paths)
        missing = [n for n in order if n not in paths]
        if missing:
            raise RecordingError(
                f"unknown synthetic session(s) {missing}; the defaults are {sorted(paths)} (pass a data directory for real sessions)"
            )
        return [RecordingRef(n, paths[n], True) for n in order]

    data_dir = Path(data_dir)
    if data_dir.exists() and not data_dir.is_dir():
        raise RecordingError(f"data directory {data_dir} is a file, not a directory")
    if not data_dir.is_dir():
        raise RecordingError(f"data directory {data_dir} does not exist")
    present = {p.stem: p for p in sorted(data_dir.glob("*.mat")) if p.is_file()}
    partial = sorted(p.name for p in data_dir.glob("*.part"))
    listing = f"{data_dir} holds {sorted(present) or 'no .mat files'}" + (
        f" and partial downloads {partial}" if partial else ""
    )
    refs = []
    for n in wanted or [s.name for s in NEUROBENCH_SESSIONS]:
        if n not in present:
            if wanted:
                raise RecordingError(f"session {n!r} not found: {listing}")
            continue
        synthetic = _probe(present[n])
        if synthetic is None:
            msg = f"{present[n]}: does not open as HDF5 (download in progress or damaged file)"
            if wanted:
                raise RecordingError(msg)
            warnings.warn(msg + "; skipped", stacklevel=2)
            continue
        refs.append(RecordingRef(n, present[n], synthetic))
    if not refs:
        raise RecordingError(
            f"none of the NeuroBench sessions {[s.name for s in NEUROBENCH_SESSIONS]} is usable: {listing}"
        )
    return refs
