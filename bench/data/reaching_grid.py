"""NeuroBench's primate-reaching conventions, vectorised: grid, binning, labels, segments, split.

Each function reproduces what ``neurobench.datasets.PrimateReaching`` computes (same float
arithmetic where it matters), proved equal in tests/test_reaching_reader.py:

* grid: edges ``arange(t[0] - 0.004, t[-1], 0.004)``; sample j >= 1 holds the spikes of histogram
  bin j - 1 (``[edge[j-1], edge[j])``, the last bin closed); sample 0 is always empty;
* a channel's sample is 1 if any of its units fired (``counts``: the number of spikes);
* labels: ``torch.gradient(float32 cursor_pos)``, i.e. central differences per 4 ms sample;
* segments start where ``target_pos`` is about to change; the first floor(r * n) segments train,
  the next floor((n - train) / 2) validate, the rest test.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np

BIN_WIDTH = 0.004  # s; NeuroBench's SAMPLING_RATE and the published baselines' bin_width


def neurobench_edges(t: np.ndarray) -> np.ndarray:
    """NeuroBench's histogram edges (same float arithmetic): arange(t0 - 0.004, t_end, 0.004)."""
    return np.arange(t[0] - BIN_WIDTH, t[-1], BIN_WIDTH)


EDGE_MARGIN = 1e-6  # of a bin: spikes nearer an edge than this are placed by exact comparison


def spike_sample_index(times: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Sample index of each spike on NeuroBench's grid (np.histogram bin + 1); -1 = off the grid.

    Bin b holds edges[b] <= s < edges[b+1], the last bin also s == edges[-1]. The bin is found by
    arithmetic on the regular grid; a spike within ``EDGE_MARGIN`` of a bin of an edge (where
    float rounding could matter: the edges themselves are off the exact grid by < 1e-9 bin for
    sessions of days), near either end, or not finite is placed by exact comparison against the
    actual edges instead, so the result equals ``np.histogram``'s.
    """
    n = edges.size
    if n < 2:
        return np.full(times.shape, -1, dtype=np.int64)
    with np.errstate(invalid="ignore"):
        x = times - edges[0]
        x *= 1.0 / BIN_WIDTH
        b = np.floor(x)
        x -= b  # position inside the guessed bin, in [0, 1)
        unsure = (x < EDGE_MARGIN) | (x > 1 - EDGE_MARGIN) | ~(b >= 0) | (b > n - 3)
    i = np.flatnonzero(unsure)
    if i.size:
        b[i] = 0
    out = b.astype(np.int64)
    out += 1
    if i.size:
        s = times[i]
        j = np.searchsorted(edges, s, side="right")  # 1 + bin; 0 before the grid, n after it
        j[s == edges[-1]] = n - 1  # the last bin is closed
        j[(j == 0) | (j >= n)] = -1  # NaN sorts after everything
        out[i] = j
    return out


def bin_spikes(
    channel_times: Iterable[np.ndarray], edges: np.ndarray, k: int, n_ch: int, mode: str
) -> np.ndarray:
    """(k, C) compact spike array from each channel's spike times (all units together): 1 if any
    spike (``binary``) or the spike count (``counts``) per sample of NeuroBench's grid.

    uint8 unless a count exceeds 255 (then uint16 / uint32): a quarter of NeuroBench's float32.
    """
    out = np.zeros((k, n_ch), dtype=np.uint8)
    flat = out.reshape(-1)  # binary mode writes flat positions sample * C + channel
    c = -1
    for c, times in enumerate(channel_times):
        idx = spike_sample_index(times, edges)
        idx = idx[(idx >= 0) & (idx < k)]  # NeuroBench's grid may hold one more sample
        if mode == "binary":
            idx *= n_ch
            idx += c
            flat[idx] = 1
            continue
        if not idx.size:
            continue
        lo = int(idx.min())
        counts = np.bincount(idx - lo)
        top = int(counts.max())
        if top > np.iinfo(out.dtype).max:
            out = out.astype(np.uint16 if top <= 0xFFFF else np.uint32)
        out[lo : lo + counts.size, c] = counts
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


def split_sizes(n_segments: int, train_ratio: float) -> tuple[int, int, int]:
    """Segments per split under NeuroBench's rule: (train, val, test)."""
    train_len = math.floor(train_ratio * n_segments)
    val_len = math.floor((n_segments - train_len) / 2)
    return train_len, val_len, n_segments - train_len - val_len


def neurobench_split(
    segments: np.ndarray,
    train_ratio: float,
    remove_inactive: bool = False,
    max_segment_length: int = 2000,
) -> dict[str, np.ndarray]:
    """Sample indices of the train/val/test segments, NeuroBench's rule (split_num=1, stride 4 ms)."""
    n = len(segments)
    train_len, val_len, _ = split_sizes(n, train_ratio)
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
