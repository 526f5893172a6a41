"""Causal window sums over a 4 ms stream, vectorised.

For sample i, a ``Windows(ws, n, lag)`` spec yields n consecutive sums of ``ws`` samples; the
newest window ends at sample ``i - lag`` (inclusive) and the oldest starts at
``i - lag - n*ws + 1``. Nothing after sample i is ever used.

Start of a stream (documented choice): samples before the first sample of the stream count as
zeros, exactly like NeuroBench's example models, whose input buffers start filled with zeros.
To prime the windows with real history instead, pass the preceding samples as part of ``x`` and
select the wanted samples with ``index`` (see ``bench.tasks.reaching``, option ``prime``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

TRANSFORMS = (None, "log_softplus")


@dataclass(frozen=True)
class Windows:
    """How a model sees the stream at each 4 ms sample: n windows of ws samples."""

    ws: int = 1  # samples summed per window (1 = raw 4 ms bins)
    n: int = 1  # windows per prediction, oldest first
    lag: int = 0  # samples left out at the newest end (NeuroBench's ANN3D/SNN3D leave out 1)
    transform: str | None = None  # None or "log_softplus": x -> log(softplus(x)) (AEGRU)

    def __post_init__(self) -> None:
        if self.ws < 1 or self.n < 1 or self.lag < 0:
            raise ValueError(f"Windows needs ws >= 1, n >= 1, lag >= 0; got {self}")
        if self.transform not in TRANSFORMS:
            raise ValueError(f"unknown window transform {self.transform!r}; known: {TRANSFORMS}")

    @property
    def span(self) -> int:
        """Samples of history one prediction depends on, sample i included."""
        return self.ws * self.n + self.lag

    def describe(self) -> str:
        t = f", {self.transform}" if self.transform else ""
        lag = f", lag {self.lag}" if self.lag else ""
        return f"{self.n}x{self.ws} samples{lag}{t}"


CHUNK_BYTES = 1 << 24  # float64 scratch per chunk of samples: memory stays flat in T


def _chunk_rows(spec: Windows, n_channels: int) -> int:
    return max(256, CHUNK_BYTES // (8 * max(1, spec.n * n_channels)))


def window_sums(x: np.ndarray, spec: Windows, index: np.ndarray | None = None, buffer_start: bool = False) -> np.ndarray:
    """Window sums for every sample (or the samples in ``index``) of the stream ``x`` (T, C).

    Returns (len(index), spec.n, C) float32, oldest window first, transform applied. ``x`` may
    be compact integer counts (uint8, as ``Recording.spikes``) or floats; integer sums are exact.

    The samples are processed in chunks of nearby samples: each chunk takes a zero-prefixed
    cumulative sum over only the rows its windows reach (at most chunk + span rows), so besides
    the output the memory used does not grow with T and the cost is linear in T (indices are
    visited in sorted order).

    ``buffer_start`` reproduces NeuroBench's ANN3D/SNN3D examples at the start of a stream: their
    input buffer begins as one zero row and grows by one row per sample up to ``span`` rows, and
    the windows are cut from the buffer's start. Before the buffer is full (sample i < span - 2)
    sample i therefore sees the windows of sample span - 2 with everything after i left out.
    """
    x = np.asarray(x)
    if x.ndim != 2:
        raise ValueError(f"window_sums expects a (T, C) stream, got shape {x.shape}")
    T, C = x.shape
    idx = np.arange(T) if index is None else np.asarray(index, dtype=np.int64).reshape(-1)
    if idx.size and (idx.min() < 0 or idx.max() >= T):
        raise IndexError(f"window index out of range [0, {T}): {idx.min()}..{idx.max()}")
    order = None
    if idx.size > 1 and np.any(idx[1:] < idx[:-1]):
        order = np.argsort(idx, kind="stable")  # sorted visits keep every chunk's rows local
        idx = idx[order]
    acc = np.float64 if x.dtype.kind == "f" else np.int64  # exact for counts either way
    out = np.empty((idx.size, spec.n, C), dtype=np.float32)
    table = _transform_table(x, spec)
    # end (exclusive, in cumsum coordinates) of window k for sample i: i + 1 - lag - (n-1-k)*ws
    offs = (np.arange(spec.n) - (spec.n - 1)) * spec.ws - spec.lag + 1  # (n,)
    step = _chunk_rows(spec, C)
    a = 0
    while a < idx.size:  # a chunk: at most ``step`` samples that lie within ``step`` rows
        b = min(a + step, max(a + 1, int(np.searchsorted(idx, idx[a] + step))))
        part = idx[a:b]
        anchor = np.maximum(part, spec.span - 2) if buffer_start else part
        ends = anchor[:, None] + offs[None, :]  # (B, n)
        starts = ends - spec.ws
        if buffer_start:  # nothing after sample i exists yet
            ends = np.minimum(ends, part[:, None] + 1)
            starts = np.minimum(starts, ends)
        ends = np.clip(ends, 0, T)
        starts = np.clip(starts, 0, T)
        lo, hi = int(starts.min()), int(ends.max())
        cs = np.zeros((hi - lo + 1, C), dtype=acc)
        np.cumsum(x[lo:hi], axis=0, dtype=acc, out=cs[1:])
        block = np.take(cs, ends - lo, axis=0)  # (B, n, C)
        block -= np.take(cs, starts - lo, axis=0)
        chunk = out[a:b]
        if table is not None:  # integer sums: the transform of each possible value, looked up
            np.take(table, block, out=chunk, mode="clip")
        else:
            chunk[...] = block
            apply_transform(chunk, spec.transform, out=chunk)
        a = b
    if order is not None:
        unsorted = np.empty_like(out)
        unsorted[order] = out
        out = unsorted
    return out


MAX_TABLE = 1 << 21  # entries of a transform lookup table (8 MB of float32)


def _transform_table(x: np.ndarray, spec: Windows) -> np.ndarray | None:
    """For integer counts and a transform: float32 transform of every window sum 0..ws*max.

    A window sum of counts is a whole number, so the transform of the whole output is a lookup
    in this table, bit-identical to applying it elementwise (tests/test_windows.py checks) and
    ~20x cheaper than log(softplus(.)) per element. None where the table does not apply.
    """
    if spec.transform is None or x.dtype.kind not in "ub" or x.size == 0:
        return None
    if x.dtype.kind == "b":
        top = 1
    elif x.dtype.itemsize == 1:
        top = 255  # no scan needed
    else:
        top = int(x.max())
    size = spec.ws * top + 1
    if size > MAX_TABLE:
        return None
    return apply_transform(np.arange(size, dtype=np.float32), spec.transform)


def apply_transform(x: np.ndarray, transform: str | None, out: np.ndarray | None = None) -> np.ndarray:
    """The window transform, elementwise in float32 (into ``out`` when given, e.g. in place)."""
    if transform is None:
        if out is not None and out is not x:
            out[...] = x
            return out
        return x
    if transform == "log_softplus":
        # log(softplus(x)), computed stably: softplus(x) = logaddexp(0, x)
        x = np.asarray(x, dtype=np.float32)
        if out is None:
            out = np.empty(x.shape, dtype=np.float32)
        np.logaddexp(np.float32(0.0), x, out=out)
        return np.log(out, out=out)
    raise ValueError(f"unknown window transform {transform!r}")


def window_label_series(labels: np.ndarray, spec: Windows, index: np.ndarray) -> np.ndarray:
    """Label at the last sample of each of the n windows: (len(index), n, D).

    Samples before the stream start take the first label (they exist only as padding).
    """
    idx = np.asarray(index, dtype=np.int64)
    offs = (np.arange(spec.n) - (spec.n - 1)) * spec.ws
    pos = np.clip(idx[:, None] + offs[None, :], 0, labels.shape[0] - 1)
    return np.asarray(labels)[pos].astype(np.float32)
