"""A direct writer of NeoMatlabIO's ``.neo.mat`` layout (MAT v5 structs, zlib-compressed).

neo's own writer needs about 1 ms per spiketrain (minutes for a 552-unit, 745-trial session);
this writes the same structs (Block > Segments > SpikeTrains + Event, with the same fields and
units) straight from a simulated session's arrays. tests/test_grasp_data.py checks that neo's
reader and bench's read both writers' files alike.
"""

from __future__ import annotations

import struct
import zlib

import numpy as np


def padded_labels(labels: list[str]) -> np.ndarray:
    """Labels as the real files hold them: one char matrix, shorter labels padded with spaces."""
    w = max(len(s) for s in labels)
    return np.array([s.ljust(w) for s in labels])


# MAT v5 (Level 5) elements: NeoMatlabIO's struct layout written directly, compressed (MAT v7)
_MI_INT8, _MI_INT32, _MI_UINT32, _MI_DOUBLE, _MI_INT64 = 1, 5, 6, 9, 12
_MI_MATRIX, _MI_COMPRESSED, _MI_UTF8 = 14, 15, 16
_MX_CELL, _MX_STRUCT, _MX_CHAR, _MX_DOUBLE, _MX_INT64 = 1, 2, 4, 6, 14


def _el(mi: int, data: bytes) -> bytes:
    return struct.pack("<II", mi, len(data)) + data + b"\0" * (-len(data) % 8)


def _matrix(mx: int, dims: tuple[int, ...], body: bytes, name: str = "") -> bytes:
    payload = (_el(_MI_UINT32, struct.pack("<II", mx, 0))
               + _el(_MI_INT32, struct.pack(f"<{len(dims)}i", *dims))
               + _el(_MI_INT8, name.encode("ascii")) + body)
    return struct.pack("<II", _MI_MATRIX, len(payload)) + payload


def _enc(v) -> bytes:
    """One value as a MAT v5 array, the way scipy.io.savemat stores neo's structs."""
    if isinstance(v, bytes):  # already encoded
        return v
    if isinstance(v, dict):
        names = list(v)
        width = max([len(k) for k in names] + [0]) + 1
        body = _el(_MI_INT32, struct.pack("<i", width))
        body += _el(_MI_INT8, b"".join(k.encode("ascii").ljust(width, b"\0") for k in names))
        return _matrix(_MX_STRUCT, (1, 1), body + b"".join(_enc(v[k]) for k in names))
    if isinstance(v, list):
        return _matrix(_MX_CELL, (1, len(v)), b"".join(_enc(x) for x in v))
    if isinstance(v, str):
        if not v:
            return _matrix(_MX_CHAR, (0, 0), _el(_MI_UTF8, b""))
        return _matrix(_MX_CHAR, (1, len(v)), _el(_MI_UTF8, v.encode("ascii")))
    a = np.asarray(v)
    if a.dtype.kind == "U":  # char matrix, one row per label, stored column-major
        rows = a.reshape(-1)
        chars = rows.view("<U1").reshape(len(rows), -1)  # (n, width), '' past shorter labels
        chars = np.where(chars == "", " ", chars).T.ravel()  # column-major, padded with spaces
        return _matrix(_MX_CHAR, chars.reshape(-1, len(rows)).shape[::-1],
                       _el(_MI_UTF8, "".join(chars).encode("ascii")))
    if a.dtype.kind in "iub":
        return _matrix(_MX_INT64, (1, a.size), _el(_MI_INT64, a.astype("<i8").tobytes()))
    return _matrix(_MX_DOUBLE, (1, a.size), _el(_MI_DOUBLE, a.astype("<f8").tobytes()))


def write_neo_mat(path: str, sim) -> None:
    """Write ``sim`` (a ``synth_grasp.GraspSim``) as NeoMatlabIO would, compressed."""

    fields = ("times", "times_units", "t_start", "t_start_units", "t_stop", "t_stop_units", "name")
    width = max(len(f) for f in fields) + 1
    st_head = (_el(_MI_INT32, struct.pack("<i", width))
               + _el(_MI_INT8, b"".join(f.encode().ljust(width, b"\0") for f in fields)))
    flags = _el(_MI_UINT32, struct.pack("<II", _MX_STRUCT, 0)) + _el(_MI_INT32, struct.pack("<2i", 1, 1))
    flags += _el(_MI_INT8, b"")
    unit_s = _enc("s")
    names = [_enc(n) for n in sim.unit_names]
    dbl_flags = _el(_MI_UINT32, struct.pack("<II", _MX_DOUBLE, 0))
    segments = []
    for i in range(len(sim.obj)):
        span = _enc(float(sim.t_start[i])) + unit_s + _enc(float(sim.t_stop[i])) + unit_s
        trains = []
        bounds = np.concatenate([[0], np.cumsum(sim.counts[i])])
        raw = sim.spikes[i].astype("<f8").tobytes()
        for j, name in enumerate(names):
            a, b = int(bounds[j]) * 8, int(bounds[j + 1]) * 8
            times = (dbl_flags + _el(_MI_INT32, struct.pack("<2i", 1, (b - a) // 8)) + _el(_MI_INT8, b"")
                     + _el(_MI_DOUBLE, raw[a:b]))
            payload = (flags + st_head + struct.pack("<II", _MI_MATRIX, len(times)) + times + unit_s
                       + span + name)
            trains.append(struct.pack("<II", _MI_MATRIX, len(payload)) + payload)
        event = {"times": np.asarray(sim.event_times[i], dtype=np.float64), "times_units": "s",
                 "labels": padded_labels(sim.event_labels[i]), "name": "phases"}
        segments.append(_enc({"spiketrains": _matrix(_MX_CELL, (1, len(trains)), b"".join(trains)),
                              "events": [event], "name": f"trial {i}",
                              "annotations": {"obj": int(sim.obj[i]),
                                              "correct": int(sim.correct[i])}}))
    ann = {k: (v if isinstance(v, str) else int(v)) for k, v in sim.annotations.items()}
    body_fields = {"segments": _matrix(_MX_CELL, (1, len(segments)), b"".join(segments)),
                   "name": sim.cfg.name, "annotations": ann}
    block = _enc(body_fields)
    # rename the top-level array: the variable name sits in the third sub-element
    block = _matrix(_MX_STRUCT, (1, 1), block[8 + 16 + 16 + 8:], name="block")
    comp = zlib.compressobj(1)
    with open(path, "wb") as f:
        header = b"MATLAB 5.0 MAT-file, written by bench.data.synth_grasp".ljust(116, b" ")
        f.write(header + b"\0" * 8 + struct.pack("<H", 0x0100) + b"IM")
        data = comp.compress(block) + comp.flush()
        f.write(struct.pack("<II", _MI_COMPRESSED, len(data)))
        f.write(data)
