"""Primate-reaching reader: a Zenodo-layout .mat v7.3 file -> a binned, split ``Recording``.

In ``binary`` mode the result is identical to ``neurobench.datasets.PrimateReaching(num_steps=1,
bin_width=0.004, biological_delay=0, train_ratio=r)`` on the same file (proved in
tests/test_reaching_reader.py):

* grid: edges ``arange(t[0] - 0.004, t[-1], 0.004)``; sample j >= 1 holds the spikes of histogram
  bin j - 1 (``[edge[j-1], edge[j])``, the last bin closed); sample 0 is always empty;
* a channel's sample is 1 if any of its units fired (``counts``: the number of spikes);
* labels: ``torch.gradient(float32 cursor_pos)``, i.e. central differences per 4 ms sample;
* segments start where ``target_pos`` is about to change; the first floor(r * n) segments train,
  the next floor((n - train) / 2) validate, the rest test.

One deliberate difference: NeuroBench reads an empty cell's MATLAB dimension vector as spike
times (fake spikes at 0 s and/or 1 s). Those only reach its grid when ``t[0] - 0.004 <= 1`` s;
real sessions start far later (e.g. 148.984 s), so outputs agree on them. This reader never reads
empty cells as spikes.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import warnings
from collections.abc import Iterable
from pathlib import Path

import h5py
import numpy as np

from bench.data import matfile
from bench.data.matfile import RecordingError
from bench.data.recording import Recording
from bench.data.sessions import NEUROBENCH_SESSIONS, known_session

__all__ = ["RecordingError", "load_reaching", "resolve_recordings", "file_md5", "READER_VERSION"]

READER_VERSION = 1  # bump when the binned output of a file changes
BIN_WIDTH = 0.004  # s; NeuroBench's SAMPLING_RATE and the published baselines' bin_width
INPUT_MODES = ("binary", "counts")
T_TOLERANCE = 1e-6  # s; t must sit on the 4 ms grid within this


# ----------------------------------------------------------------------------------------------
# identity and cache


def file_md5(path: str | Path) -> str:
    """md5 of a file, remembered in a sidecar keyed on (path, size, mtime) so it is computed once."""
    path = Path(path).resolve()
    st = path.stat()
    side_dir = _cache_root() / "md5"
    side = side_dir / (hashlib.sha1(str(path).encode()).hexdigest()[:20] + ".json")
    stamp = {"path": str(path), "size": st.st_size, "mtime_ns": st.st_mtime_ns}
    try:
        known = json.loads(side.read_text())
        if {k: known.get(k) for k in stamp} == stamp:
            return known["md5"]
    except (OSError, ValueError, KeyError):
        pass
    with open(path, "rb") as fh:
        digest = hashlib.file_digest(fh, "md5").hexdigest()
    side_dir.mkdir(parents=True, exist_ok=True)
    _atomic_write_bytes(side, json.dumps({**stamp, "md5": digest}).encode())
    return digest


def _cache_root() -> Path:
    from bench.paths import cache_dir

    return cache_dir()


def _atomic_write_bytes(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def _cache_path(name: str, md5: str, settings: dict) -> Path:
    key = json.dumps(
        {"md5": md5, "name": name, "version": READER_VERSION, **settings}, sort_keys=True
    )
    return _cache_root() / "binned" / f"{name}-{hashlib.sha1(key.encode()).hexdigest()[:16]}.npz"


def _save_cache(path: Path, rec: Recording) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    inputs = rec.inputs
    small = np.uint8 if inputs.max(initial=0) <= 255 else np.uint32  # exact integers either way
    meta = {
        k: getattr(rec, k)
        for k in ("name", "identity", "input_mode", "bin_width", "train_ratio", "extra")
    }
    meta["channel_names"] = list(rec.channel_names)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as fh:
            np.savez(
                fh,
                inputs=inputs.astype(small),
                labels=rec.labels,
                segments=rec.segments,
                train=rec.split["train"],
                val=rec.split["val"],
                test=rec.split["test"],
                meta=np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8),
            )
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def _load_cache(path: Path) -> Recording | None:
    try:
        with np.load(path, allow_pickle=False) as z:
            meta = json.loads(z["meta"].tobytes().decode())
            return Recording(
                name=meta["name"],
                inputs=z["inputs"].astype(np.float32),
                labels=z["labels"],
                segments=z["segments"],
                split={s: z[s] for s in ("train", "val", "test")},
                channel_names=tuple(meta["channel_names"]),
                identity=meta["identity"],
                input_mode=meta["input_mode"],
                bin_width=meta["bin_width"],
                train_ratio=meta["train_ratio"],
                extra={**meta["extra"], "from_cache": True},
            )
    except (OSError, ValueError, KeyError):
        return None  # unreadable cache entry: rebuild it


# ----------------------------------------------------------------------------------------------
# NeuroBench's conventions, vectorised


def neurobench_edges(t: np.ndarray) -> np.ndarray:
    """NeuroBench's histogram edges (same float arithmetic): arange(t0 - 0.004, t_end, 0.004)."""
    return np.arange(t[0] - BIN_WIDTH, t[-1], BIN_WIDTH)


def spike_sample_index(times: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Sample index of each spike on NeuroBench's grid (np.histogram bin + 1); -1 = off the grid.

    Bin b holds edges[b] <= s < edges[b+1], the last bin also s == edges[-1]. The bin is found by
    arithmetic on the regular grid, then checked and corrected against the actual edges.
    """
    n = edges.size
    out = np.full(times.shape, -1, dtype=np.int64)
    if n < 2:
        return out
    on = np.flatnonzero((times >= edges[0]) & (times <= edges[-1]))  # NaN is off the grid
    s = times[on]
    b = np.floor((s - edges[0]) / BIN_WIDTH)
    b = np.clip(b, 0, n - 2).astype(np.int64)
    b -= (s < edges[b]) & (b > 0)  # float rounding can leave the guess one bin off
    b += (s >= edges[b + 1]) & (b < n - 2)
    bad = (s < edges[b]) | ((s >= edges[b + 1]) & (b < n - 2))
    if bad.any():  # exact fallback for whatever is still off
        b[bad] = np.minimum(np.searchsorted(edges, s[bad], side="right") - 1, n - 2)
    out[on] = b + 1
    return out


def bin_spikes(
    channel_times: Iterable[np.ndarray], edges: np.ndarray, k: int, n_ch: int, mode: str
) -> np.ndarray:
    """(k, C) float32 inputs from each channel's spike times (all units together): 1 if any spike
    (binary) or the spike count (counts) per sample of NeuroBench's grid."""
    out = np.zeros((k, n_ch), dtype=np.float32)
    c = -1
    for c, times in enumerate(channel_times):
        idx = spike_sample_index(times, edges)
        idx = np.sort(idx[(idx >= 0) & (idx < k)])  # NeuroBench's grid may hold one more sample
        if mode == "binary":
            out[idx, c] = 1.0
        else:
            first = np.flatnonzero(np.diff(idx, prepend=-1))  # start of each run of equal indices
            out[idx[first], c] = np.diff(first, append=idx.size)
    if c + 1 != n_ch:
        raise ValueError(f"bin_spikes: got spike times of {c + 1} channels, expected {n_ch}")
    return out


def velocity_labels(cursor_pos: np.ndarray) -> np.ndarray:
    """(k, 2) float32: np.gradient of float32 cursor_pos, equal to torch.gradient(..., dim=1)."""
    return np.ascontiguousarray(np.gradient(cursor_pos.astype(np.float32), axis=1).T)


def neurobench_segments(target_pos: np.ndarray) -> np.ndarray:
    """(n, 2) [start, stop): boundaries at samples i where target_pos[:, i+1] != target_pos[:, i]."""
    k = target_pos.shape[1]
    diff = np.diff(target_pos, axis=1, append=target_pos[:, -1:])
    flags = np.nonzero(np.sum(np.abs(diff), axis=0))[0]
    bounds = np.concatenate([[0], flags, [k]]).astype(np.int64)
    return np.stack([bounds[:-1], bounds[1:]], axis=1)


def neurobench_split(
    segments: np.ndarray,
    train_ratio: float,
    remove_inactive: bool = False,
    max_segment_length: int = 2000,
) -> dict[str, np.ndarray]:
    """Sample indices of the train/val/test segments, NeuroBench's rule (split_num=1, stride 4 ms)."""
    n = len(segments)
    train_len = math.floor(train_ratio * n)
    val_len = math.floor((n - train_len) / 2)
    lengths = segments[:, 1] - segments[:, 0]
    valid = (
        lengths < max_segment_length
        if (remove_inactive and max_segment_length > 0)
        else np.ones(n, bool)
    )
    group = np.full(n, 2)
    group[:train_len] = 0
    group[train_len : train_len + val_len] = 1
    group[~valid] = -1
    sample_group = np.repeat(group, lengths)  # segments tile [0, k) in order
    return {
        s: np.flatnonzero(sample_group == g).astype(np.int64)
        for g, s in enumerate(("train", "val", "test"))
    }


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


def _read_positions(f: h5py.File, where: str, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    out = []
    for name, rows in (("cursor_pos", (2,)), ("target_pos", (2,)), ("finger_pos", (3, 6))):
        a = matfile.read_matrix(f, name, rows=rows)
        if a.shape[1] != k:
            raise RecordingError(
                f"{where}: variable {name!r} has shape {a.shape}, expected ({'|'.join(map(str, rows))}, {k}) to match 't'"
            )
        if name != "finger_pos" and not np.all(np.isfinite(a)):
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
    md5: str,
) -> Recording:
    where = str(path)
    name = path.stem
    stats = {"n_spikes": 0, "n_spikes_off_t": 0, "empty_cells": 0}

    def channels(f: h5py.File, refs: np.ndarray, t0: float, t1: float):
        for c in range(refs.shape[1]):  # one channel at a time keeps memory flat
            cells = [matfile.read_numeric_cell(f, r, "spikes") for r in refs[:, c]]
            times = np.concatenate(cells)
            stats["n_spikes"] += times.size
            stats["n_spikes_off_t"] += int(np.count_nonzero((times < t0) | (times > t1)))
            stats["empty_cells"] += sum(x.size == 0 for x in cells)
            yield times

    with matfile.open_mat(path) as f:
        try:
            t = _check_t(matfile.read_matrix(f, "t"), where)
            k = t.size
            cursor_pos, target_pos, finger_pos = _read_positions(f, where, k)
            labels = velocity_labels(cursor_pos)  # (k, 2)
            all_segments = neurobench_segments(target_pos)
            finger = {
                "finger_rows": int(finger_pos.shape[0]),
                "finger_nan": int(np.sum(~np.isfinite(finger_pos))),
            }
            del cursor_pos, target_pos, finger_pos
            spike_refs = matfile.read_cell_refs(f, "spikes")  # (units, channels)
            names = matfile.read_char_cell(f, "chan_names")
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
            inputs = bin_spikes(
                channels(f, spike_refs, t[0], t[-1]), edges, k, len(names), input_mode
            )
        except OSError as e:  # HDF5 read errors past the open: a damaged file
            raise RecordingError(
                f"{where}: cannot be read (truncated or corrupt file?): {e}"
            ) from e
    split = neurobench_split(all_segments, train_ratio, remove_inactive, max_segment_length)

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
        **finger,
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
        inputs=inputs,
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
    like NeuroBench's ``remove_segments_inactive`` (off in the published baselines).
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
    md5 = file_md5(path)
    settings = {
        "input_mode": input_mode,
        "train_ratio": float(train_ratio),
        "remove_inactive": bool(remove_inactive),
        "max_segment_length": int(max_segment_length),
    }
    cpath = _cache_path(path.stem, md5, settings)
    if cache and cpath.is_file():
        rec = _load_cache(cpath)
        if rec is not None:
            return rec
    rec = _read_file(path, input_mode, train_ratio, remove_inactive, max_segment_length, md5)
    if cache:
        _save_cache(cpath, rec)
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
    from bench.tasks import RecordingRef

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
