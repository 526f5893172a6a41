"""MATLAB v7.3 (HDF5 + 512-byte MATLAB header) helpers for the Zenodo reaching layout.

Writing: ``write_reaching_mat`` lays a ``RawReachingSession`` out exactly as the Zenodo files are
(REFERENCE.md section 1): variables transposed the MATLAB way, ``MATLAB_class`` attributes, cell
contents under ``#refs#``, empty cells as a (2,) uint64 dimension vector with ``MATLAB_empty``.

Reading: small helpers that decode cells and char arrays the way MATLAB means them; an empty
cell is never read as data (reading its dimension vector would inject fake spikes at 0 s / 1 s).
"""

from __future__ import annotations

import json
import math
import os
import time
from pathlib import Path

import h5py
import numpy as np

from bench.data.io import atomic_output
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
    with atomic_output(path) as tmp:
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


# ----------------------------------------------------------------------------------------------
# sizes declared inside a file are checked before anything is allocated

MAX_EXPANSION = 1100  # deflate, HDF5's usual filter, cannot expand data more than ~1032:1
BUDGET_FLOOR = 64 << 20  # bytes any file may make bench allocate
BUDGET_PER_FILE_BYTE = 16  # ... plus this many per byte of the file


class ReadBudget:
    """What one file may make bench allocate, checked BEFORE each read.

    HDF5 stores each variable's shape in the file's metadata, where it can be forged: a 1 MB file
    can declare a (1, 10^9) double. Every dataset is checked before it is read:

    * its storage (bytes it occupies in the file) cannot exceed the file's size;
    * unfiltered data cannot be larger than its storage, compressed data not more than
      ``MAX_EXPANSION`` times its storage;
    * all reads together, and what the reader allocates from them (``take``), stay within
      ``BUDGET_FLOOR + BUDGET_PER_FILE_BYTE * file size``.
    """

    def __init__(self, f: h5py.File) -> None:
        self.where = _where(f)
        try:
            self.file_size = os.path.getsize(f.filename)
        except OSError:
            self.file_size = 0
        self.limit = BUDGET_FLOOR + BUDGET_PER_FILE_BYTE * self.file_size
        self.used = 0

    def _mb(self, n: float) -> str:
        return f"{n / 1e6:,.1f} MB"

    def take(self, nbytes: int, what: str) -> None:
        """Account ``nbytes`` about to be allocated for ``what`` (e.g. "variable 't'")."""
        if self.used + nbytes > self.limit:
            raise RecordingError(
                f"{self.where}: {what} needs {self._mb(nbytes)}, which brings what this "
                f"{self._mb(self.file_size)} file makes bench allocate to {self._mb(self.used + nbytes)}, "
                f"more than its limit of {self._mb(self.limit)}: the sizes declared in the file are not plausible"
            )
        self.used += nbytes

    def check(self, did: h5py.h5d.DatasetID, what: str, tid: h5py.h5t.TypeID | None = None) -> tuple[int, ...]:
        """Check a dataset's declared size against the file before reading it; returns its shape."""
        space = did.get_space()
        dims = tuple(space.get_simple_extent_dims())
        nbytes = math.prod(dims) * (tid or did.get_type()).get_size()
        storage = did.get_storage_size()
        if storage > self.file_size:
            shape = f"shape {dims}" if dims else "a scalar"
            raise RecordingError(
                f"{self.where}: {what} ({shape}) claims {self._mb(storage)} of storage in a "
                f"{self._mb(self.file_size)} file (truncated or forged file)"
            )
        if nbytes > storage:
            filtered = did.get_create_plist().get_nfilters() > 0
            if nbytes > (storage * MAX_EXPANSION if filtered else storage):
                how = f"{MAX_EXPANSION}x its compressed storage" if filtered else "its storage"
                shape = f"shape {dims}" if dims else "a scalar"
                raise RecordingError(
                    f"{self.where}: {what} declares {shape} ({self._mb(nbytes)}), more than the "
                    f"{self._mb(storage)} the file holds for it can contain (at most {how}): the "
                    f"declared size is impossible (forged or damaged file)"
                )
        self.take(nbytes, what)
        return dims


def _budget(f: h5py.File, budget: ReadBudget | None) -> ReadBudget:
    return budget if budget is not None else ReadBudget(f)


def _budget_for(did: h5py.h5d.DatasetID, budget: ReadBudget | None) -> ReadBudget:
    if budget is not None:
        return budget
    return ReadBudget(h5py.File(h5py.h5i.get_file_id(did)))  # a handle on the open file


def require(f: h5py.File, name: str) -> h5py.Dataset:
    if name not in f or not isinstance(f[name], h5py.Dataset):
        have = sorted(k for k in f.keys() if k != REFS)
        raise RecordingError(f"{_where(f)}: missing variable {name!r} (file has {have})")
    return f[name]


def read_matrix(
    f: h5py.File, name: str, rows: tuple[int, ...] | None = None, budget: ReadBudget | None = None
) -> np.ndarray:
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
    b = _budget(f, budget)
    b.check(ds.id, f"variable {name!r}")
    if ds.dtype != np.float64:
        b.take(ds.size * 8, f"variable {name!r} as float64")
    try:
        return np.asarray(ds[()], dtype=np.float64)
    except OSError as e:
        raise RecordingError(
            f"{_where(f)}: variable {name!r} {ds.shape} cannot be read (truncated file?): {e}"
        ) from e


def read_cell_refs(f: h5py.File, name: str, budget: ReadBudget | None = None) -> np.ndarray:
    """The object-reference array of a cell variable, shape as HDF5 holds it."""
    ds = require(f, name)
    if ds.dtype != h5py.ref_dtype or ds.ndim != 2:
        raise RecordingError(
            f"{_where(f)}: variable {name!r} must be a 2-D cell array of references, got shape {ds.shape} dtype {ds.dtype}"
        )
    b = _budget(f, budget)
    b.check(ds.id, f"variable {name!r}")
    b.take(ds.size * 64, f"the {ds.size} cell references of {name!r}")  # Python reference objects
    try:
        return ds[()]
    except OSError as e:
        raise RecordingError(
            f"{_where(f)}: variable {name!r} {ds.shape} cannot be read (truncated file?): {e}"
        ) from e


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


def read_numeric_cell(f: h5py.File, ref, name: str, budget: ReadBudget | None = None) -> np.ndarray:
    """One cell's numbers as a flat float64 vector; a MATLAB_empty cell gives an empty vector."""
    b = _budget(f, budget)
    try:  # low-level fast path: one cell of thousands, the high-level wrappers dominate
        did = h5py.h5r.dereference(ref, f.id)
        fast = isinstance(did, h5py.h5d.DatasetID)
        if fast and h5py.h5a.exists(did, b"MATLAB_empty"):
            return np.empty(0, dtype=np.float64)
        tid = did.get_type() if fast else None
        fast = fast and tid.get_class() == h5py.h5t.FLOAT
    except (OSError, ValueError, KeyError, TypeError):
        fast = False  # fall through to the checked path, which names what is wrong
    if fast:
        dims = b.check(did, f"a cell of {name!r}", tid)
        out = np.empty(dims, dtype=np.float64)
        try:
            did.read(h5py.h5s.ALL, h5py.h5s.ALL, out)
        except OSError as e:
            raise RecordingError(
                f"{_where(f)}: a cell of {name!r} {dims} cannot be read (truncated file?): {e}"
            ) from e
        return out.reshape(-1)
    ds = deref(f, ref, name)
    if is_empty_cell(ds):
        return np.empty(0, dtype=np.float64)
    if ds.dtype.kind not in "fiu":
        raise RecordingError(f"{_where(f)}: a cell of {name!r} holds {ds.dtype} data, not numbers")
    b.check(ds.id, f"a cell of {name!r}")
    b.take(ds.size * 8, f"a cell of {name!r} as float64")
    try:
        return np.asarray(ds[()], dtype=np.float64).reshape(-1)
    except OSError as e:
        raise RecordingError(
            f"{_where(f)}: a cell of {name!r} {ds.shape} cannot be read (truncated file?): {e}"
        ) from e


def read_spike_cells(f: h5py.File, name: str = "spikes") -> list[list[np.ndarray]]:
    """Spike times as [unit_row][channel] -> 1-D float64 seconds (empty cells -> empty arrays)."""
    budget = ReadBudget(f)
    refs = read_cell_refs(f, name, budget)  # (units, channels)
    return [[read_numeric_cell(f, r, name, budget) for r in row] for row in refs]


def _text_attr(value) -> str | None:
    if isinstance(value, bytes):
        return value.decode("ascii", "replace")
    if isinstance(value, np.ndarray) and value.size == 1:
        return _text_attr(value.reshape(-1)[0])
    return None if value is None else str(value)


def _attr_text(did: h5py.h5d.DatasetID, name: bytes) -> str | None:
    """A string attribute of a dataset, read through the low-level API (None if absent)."""
    if not h5py.h5a.exists(did, name):
        return None
    aid = h5py.h5a.open(did, name)
    buf = np.empty(aid.shape, dtype=aid.dtype)
    aid.read(buf)
    return _text_attr(buf)


def decode_char(ds: h5py.Dataset | h5py.h5d.DatasetID, name: str = "a char cell",
                budget: ReadBudget | None = None, where: str | None = None) -> str:
    """A MATLAB char array (UTF-16 code units, stored transposed) as a Python string.

    Refused with a RecordingError naming the file and ``name``: a cell whose MATLAB class is not
    char, data that are not integer code units, code units outside 0..0xFFFF, unpaired surrogates
    and characters that cannot be printed (control characters).
    """
    did = ds.id if isinstance(ds, h5py.Dataset) else ds
    if where is None:
        where = Path(os.fsdecode(h5py.h5i.get_file_id(did).name)).name
    what = f"{where}: a cell of {name!r}"
    if h5py.h5a.exists(did, b"MATLAB_empty"):
        return ""
    cls = _attr_text(did, b"MATLAB_class")
    if cls is not None and cls != "char":
        raise RecordingError(f"{what} holds MATLAB class {cls!r}, expected 'char' (text)")
    if did.get_type().get_class() != h5py.h5t.INTEGER:
        raise RecordingError(f"{what} holds {did.dtype} data, expected MATLAB char codes (uint16)")
    dims = _budget_for(did, budget).check(did, f"a cell of {name!r}")
    codes = np.empty(dims, dtype=did.dtype)
    did.read(h5py.h5s.ALL, h5py.h5s.ALL, codes)
    codes = codes.T.reshape(-1)  # MATLAB column-major order
    bad = (codes < 0) | (codes > 0xFFFF) if codes.dtype.kind == "i" else codes > 0xFFFF
    if np.any(bad):
        raise RecordingError(
            f"{what} holds character code {int(codes[np.argmax(bad)])}, outside MATLAB's 0..65535"
        )
    try:
        text = codes.astype("<u2").tobytes().decode("utf-16-le")
    except UnicodeDecodeError as e:
        raise RecordingError(f"{what} holds an impossible character sequence ({e.reason})") from e
    if not text.isprintable():
        c = next(ch for ch in text if not ch.isprintable())
        raise RecordingError(f"{what} holds a non-printable character (U+{ord(c):04X}) in {text!r}")
    return text


def read_char_cell(f: h5py.File, name: str, budget: ReadBudget | None = None) -> list[str]:
    """A (1, n) or (n, 1) cell array of char rows as a list of n strings."""
    b = _budget(f, budget)
    refs = read_cell_refs(f, name, b)
    if 1 not in refs.shape:
        raise RecordingError(
            f"{_where(f)}: variable {name!r} must be a (1, n) cell of strings, got {refs.shape}"
        )
    out = []
    for r in refs.reshape(-1):
        try:  # low-level dereference: the high-level one costs ~1 ms per cell
            did = h5py.h5r.dereference(r, f.id) if r else None
        except (OSError, ValueError, KeyError, TypeError):
            did = None
        if not isinstance(did, h5py.h5d.DatasetID):
            did = deref(f, r, name).id  # raises the error that names what is wrong
        out.append(decode_char(did, name, b, where=b.where).strip())
    return out


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
