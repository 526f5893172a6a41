"""MATLAB v7.3 (HDF5 + 512-byte MATLAB header) helpers for the Zenodo reaching layout.

Writing: ``write_reaching_mat`` lays a ``RawReachingSession`` out exactly as the Zenodo files are
(REFERENCE.md section 1): variables transposed the MATLAB way, ``MATLAB_class`` attributes, cell
contents under ``#refs#``, empty cells as a (2,) uint64 dimension vector with ``MATLAB_empty``.

Reading: small helpers that decode cells and char arrays the way MATLAB means them; an empty
cell is never read as data (reading its dimension vector would inject fake spikes at 0 s / 1 s).
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import h5py
import numpy as np

from bench.data.recording import RawReachingSession

HEADER_SIZE = 512
HEADER_MAGIC = b"MATLAB 7.3 MAT-file"
REFS = "#refs#"
ATTR_PREFIX = "bench_"  # provenance attributes written on the root group


class RecordingError(ValueError):
    """A recording file that cannot be used; the message names the file, variable and shape."""


# ----------------------------------------------------------------------------------------------
# writing


def matlab_header(platform: str = "GLNXA64", created: float | None = None) -> bytes:
    """The 512-byte MATLAB v7.3 header: text padded with spaces, version 0x0200, 'IM', zeros."""
    stamp = time.strftime(
        "%a %b %d %H:%M:%S %Y", time.gmtime(created if created is not None else 0)
    )
    text = (
        f"MATLAB 7.3 MAT-file, Platform: {platform}, Created on: {stamp} HDF5 schema 1.00 .".encode(
            "ascii"
        )
    )
    if len(text) > 116:
        raise ValueError(f"MATLAB header text too long ({len(text)} > 116 bytes)")
    head = text.ljust(124, b" ") + b"\x00\x02" + b"IM"
    return head.ljust(HEADER_SIZE, b"\x00")


def _cls(ds: h5py.Dataset | h5py.Group, name: str) -> None:
    ds.attrs["MATLAB_class"] = np.bytes_(name)


class _RefWriter:
    """Creates cell contents under ``#refs#`` with MATLAB-style names (a, b, ..., z, ba, ...)."""

    def __init__(self, f: h5py.File) -> None:
        self.group = f.create_group(REFS)
        self.n = 0

    def _name(self) -> str:
        i, s = self.n, ""
        while True:
            s = chr(ord("a") + i % 26) + s
            i //= 26
            if i == 0:
                break
        self.n += 1
        return s

    def empty(self, matlab_class: str = "double") -> h5py.Reference:
        ds = self.group.create_dataset(self._name(), data=np.zeros(2, dtype=np.uint64))
        _cls(ds, matlab_class)
        ds.attrs["MATLAB_empty"] = np.uint8(1)
        return ds.ref

    def double_column(self, values: np.ndarray) -> h5py.Reference:
        """A MATLAB (n, 1) double column vector, stored by HDF5 as (1, n)."""
        v = np.asarray(values, dtype=np.float64).reshape(-1)
        if v.size == 0:
            return self.empty("double")
        ds = self.group.create_dataset(self._name(), data=v[None, :])
        _cls(ds, "double")
        return ds.ref

    def char(self, text: str) -> h5py.Reference:
        """A MATLAB (1, n) char row, stored by HDF5 as (n, 1) uint16."""
        if not text:
            return self.empty("char")
        codes = np.array([ord(c) for c in text], dtype=np.uint16)[:, None]
        ds = self.group.create_dataset(self._name(), data=codes)
        _cls(ds, "char")
        ds.attrs["MATLAB_int_decode"] = np.int32(2)
        return ds.ref


def _write_double(f: h5py.File, name: str, matrix_k_by_n: np.ndarray) -> None:
    """Write a numpy (k, n) matrix as MATLAB stores it: HDF5 shape (n, k)."""
    ds = f.create_dataset(
        name, data=np.ascontiguousarray(np.asarray(matrix_k_by_n, dtype=np.float64).T)
    )
    _cls(ds, "double")


def _write_cell(f: h5py.File, name: str, refs: np.ndarray) -> None:
    ds = f.create_dataset(name, data=refs, dtype=h5py.ref_dtype)
    _cls(ds, "cell")


def _attr_value(value):
    if isinstance(value, (bool, np.bool_)):
        return np.int64(int(value))
    if isinstance(value, (int, np.integer)):
        return np.int64(value)
    if isinstance(value, (float, np.floating)):
        return np.float64(value)
    if isinstance(value, str):
        return value
    return json.dumps(value, sort_keys=True, default=str)


def _check_session(s: RawReachingSession) -> int:
    t = np.asarray(s.t)
    if t.ndim != 1 or t.size < 2:
        raise ValueError(f"RawReachingSession.t must be (k,) with k >= 2, got {t.shape}")
    k = t.size
    for name, rows in (("cursor_pos", (2,)), ("target_pos", (2,)), ("finger_pos", (3, 6))):
        a = np.asarray(getattr(s, name))
        if a.ndim != 2 or a.shape[0] != k or a.shape[1] not in rows:
            raise ValueError(
                f"RawReachingSession.{name} must be ({k}, {'|'.join(map(str, rows))}), got {a.shape}"
            )
    n_ch = len(s.chan_names)
    if not s.spikes or any(len(row) != n_ch for row in s.spikes):
        raise ValueError(
            f"RawReachingSession.spikes must be [units][{n_ch} channels] (one per chan_name)"
        )
    return k


def write_reaching_mat(
    path: str | Path,
    session: RawReachingSession,
    platform: str = "GLNXA64",
    created: float | None = None,
) -> None:
    """Write ``session`` as a Zenodo-layout MATLAB v7.3 reaching file, atomically.

    ``session.attrs`` are stored as root attributes named ``bench_<key>`` (a key that already
    starts with ``bench_`` is kept as is), e.g. {"synthetic": 1, "seed": 3, "generator_version":
    "1"} -> bench_synthetic, bench_seed, bench_generator_version. The reader turns these into the
    recording's synthetic identity. ``created`` (epoch seconds) goes into the header text; the
    default (1970-01-01) keeps the bytes, and so the md5, a pure function of the session.
    """
    path = Path(path)
    _check_session(session)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with h5py.File(tmp, "w", userblock_size=HEADER_SIZE) as f:
            refs = _RefWriter(f)
            n_units, n_ch = len(session.spikes), len(session.chan_names)
            spike_refs = np.empty((n_units, n_ch), dtype=object)
            wf_refs = np.empty((n_units, n_ch), dtype=object)
            for u, row in enumerate(session.spikes):
                for c, times in enumerate(row):
                    spike_refs[u, c] = refs.double_column(times)
            for u in range(n_units):
                for c in range(n_ch):  # waveforms are never used: empty cells keep files small
                    wf_refs[u, c] = refs.empty("double")
            name_refs = np.empty((1, n_ch), dtype=object)
            for c, name in enumerate(session.chan_names):
                name_refs[0, c] = refs.char(name)

            _write_cell(f, "chan_names", name_refs)
            _write_double(f, "cursor_pos", session.cursor_pos)  # (k, 2) -> (2, k)
            _write_double(f, "finger_pos", session.finger_pos)  # (k, 3|6) -> (3|6, k)
            _write_cell(f, "spikes", spike_refs)  # (units, channels)
            _write_double(f, "t", np.asarray(session.t)[:, None])  # (k, 1) -> (1, k)
            _write_double(f, "target_pos", session.target_pos)
            _write_cell(f, "wf", wf_refs)
            for key, value in session.attrs.items():
                name = key if key.startswith(ATTR_PREFIX) else ATTR_PREFIX + key
                f.attrs[name] = _attr_value(value)
        with open(tmp, "r+b") as fh:
            fh.write(matlab_header(platform, created=created))
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


# ----------------------------------------------------------------------------------------------
# reading


def open_mat(path: str | Path) -> h5py.File:
    """Open a MATLAB v7.3 file read-only; anything that is not a complete HDF5 file is an error.

    Partial downloads (``*.part``) are refused by name even when HDF5 could open them.
    """
    path = Path(path)
    if path.name.endswith(".part"):
        raise RecordingError(f"{path}: a partial download (.part) is never used")
    if not path.is_file():
        raise RecordingError(f"{path}: no such file")
    try:
        return h5py.File(path, "r")
    except OSError as e:
        raise RecordingError(
            f"{path}: not a readable MATLAB v7.3 / HDF5 file (truncated or corrupt?): {e}"
        ) from e


def has_matlab_header(path: str | Path) -> bool:
    with open(path, "rb") as fh:
        return fh.read(len(HEADER_MAGIC)) == HEADER_MAGIC


def _where(f: h5py.File) -> str:
    return Path(f.filename).name


def require(f: h5py.File, name: str) -> h5py.Dataset:
    if name not in f or not isinstance(f[name], h5py.Dataset):
        have = sorted(k for k in f.keys() if k != REFS)
        raise RecordingError(f"{_where(f)}: missing variable {name!r} (file has {have})")
    return f[name]


def read_matrix(f: h5py.File, name: str, rows: tuple[int, ...] | None = None) -> np.ndarray:
    """A double matrix as HDF5 holds it (MATLAB transposed): shape (rows, k), float64."""
    ds = require(f, name)
    if ds.dtype.kind not in "fiu" or ds.ndim != 2:
        raise RecordingError(
            f"{_where(f)}: variable {name!r} must be a 2-D numeric matrix, got shape {ds.shape} dtype {ds.dtype}"
        )
    if rows is not None and ds.shape[0] not in rows:
        want = "|".join(map(str, rows))
        raise RecordingError(
            f"{_where(f)}: variable {name!r} must have shape ({want}, k), got {ds.shape}"
        )
    try:
        return np.asarray(ds[()], dtype=np.float64)
    except OSError as e:
        raise RecordingError(
            f"{_where(f)}: variable {name!r} {ds.shape} cannot be read (truncated file?): {e}"
        ) from e


def read_cell_refs(f: h5py.File, name: str) -> np.ndarray:
    """The object-reference array of a cell variable, shape as HDF5 holds it."""
    ds = require(f, name)
    if ds.dtype != h5py.ref_dtype or ds.ndim != 2:
        raise RecordingError(
            f"{_where(f)}: variable {name!r} must be a 2-D cell array of references, got shape {ds.shape} dtype {ds.dtype}"
        )
    return ds[()]


def is_empty_cell(ds: h5py.Dataset) -> bool:
    return "MATLAB_empty" in ds.attrs


def deref(f: h5py.File, ref, name: str) -> h5py.Dataset:
    if not ref:
        raise RecordingError(f"{_where(f)}: variable {name!r} holds a null reference")
    try:
        obj = f[ref]
    except (OSError, ValueError, KeyError) as e:
        raise RecordingError(f"{_where(f)}: variable {name!r} holds a broken reference: {e}") from e
    if not isinstance(obj, h5py.Dataset):
        raise RecordingError(f"{_where(f)}: variable {name!r} references a group, not a cell value")
    return obj


def read_numeric_cell(f: h5py.File, ref, name: str) -> np.ndarray:
    """One cell's numbers as a flat float64 vector; a MATLAB_empty cell gives an empty vector."""
    try:  # low-level fast path: one cell of thousands, the high-level wrappers dominate
        did = h5py.h5r.dereference(ref, f.id)
        if isinstance(did, h5py.h5d.DatasetID):
            if h5py.h5a.exists(did, b"MATLAB_empty"):
                return np.empty(0, dtype=np.float64)
            if did.get_type().get_class() == h5py.h5t.FLOAT:
                out = np.empty(did.get_space().get_simple_extent_dims(), dtype=np.float64)
                did.read(h5py.h5s.ALL, h5py.h5s.ALL, out)
                return out.reshape(-1)
    except (OSError, ValueError, KeyError, TypeError):
        pass  # fall through to the checked path, which names what is wrong
    ds = deref(f, ref, name)
    if is_empty_cell(ds):
        return np.empty(0, dtype=np.float64)
    if ds.dtype.kind not in "fiu":
        raise RecordingError(f"{_where(f)}: a cell of {name!r} holds {ds.dtype} data, not numbers")
    try:
        return np.asarray(ds[()], dtype=np.float64).reshape(-1)
    except OSError as e:
        raise RecordingError(
            f"{_where(f)}: a cell of {name!r} {ds.shape} cannot be read (truncated file?): {e}"
        ) from e


def read_spike_cells(f: h5py.File, name: str = "spikes") -> list[list[np.ndarray]]:
    """Spike times as [unit_row][channel] -> 1-D float64 seconds (empty cells -> empty arrays)."""
    refs = read_cell_refs(f, name)  # (units, channels)
    return [[read_numeric_cell(f, r, name) for r in row] for row in refs]


def decode_char(ds: h5py.Dataset) -> str:
    """A MATLAB char array (uint16 codes, stored transposed) as a Python string."""
    if is_empty_cell(ds):
        return ""
    codes = np.asarray(ds[()]).T.reshape(-1)  # MATLAB column-major order
    return "".join(map(chr, codes.tolist()))


def read_char_cell(f: h5py.File, name: str) -> list[str]:
    """A (1, n) or (n, 1) cell array of char rows as a list of n strings."""
    refs = read_cell_refs(f, name)
    if 1 not in refs.shape:
        raise RecordingError(
            f"{_where(f)}: variable {name!r} must be a (1, n) cell of strings, got {refs.shape}"
        )
    return [decode_char(deref(f, r, name)).strip() for r in refs.reshape(-1)]


def root_attrs(f: h5py.File, prefix: str = ATTR_PREFIX) -> dict:
    """Root attributes written by bench (``bench_*``), prefix stripped, decoded to Python values."""
    out = {}
    for key, value in f.attrs.items():
        if not key.startswith(prefix):
            continue
        if isinstance(value, bytes):
            value = value.decode()
        elif isinstance(value, np.generic):
            value = value.item()
        out[key[len(prefix) :]] = value
    return out
