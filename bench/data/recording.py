"""The plain values that leave the data layer."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

SPLITS = ("train", "val", "test")


@dataclass(frozen=True)
class RecordingRef:
    """A recording to run on: a name, where its file is, and whether it is synthetic."""

    name: str
    path: Path
    synthetic: bool


def compact_counts(x: np.ndarray) -> np.ndarray:
    """(T, C) spike counts in the smallest unsigned integer type that holds them exactly.

    Integer arrays and float arrays of whole numbers >= 0 are accepted; anything else (negative,
    fractional or non-finite values) is a ValueError, since spikes are counts.
    """
    x = np.asarray(x)
    if x.ndim != 2:
        raise ValueError(f"spike counts must be a (T, C) array, got shape {x.shape}")
    if x.dtype in (np.uint8, np.uint16, np.uint32):
        return x
    if x.size and (x.dtype.kind not in "fiub" or not np.all(np.isfinite(x)) or x.min() < 0
                   or (x.dtype.kind == "f" and np.any(x != np.floor(x)))):
        raise ValueError("spike counts must be whole numbers >= 0")
    top = int(x.max()) if x.size else 0
    dtype = np.uint8 if top <= 0xFF else np.uint16 if top <= 0xFFFF else np.uint32
    return x.astype(dtype)


@dataclass(frozen=True, eq=False)
class Recording:
    """One primate-reaching session, binned on the 4 ms grid, ready for windowing.

    ``spikes[i]`` and ``labels[i]`` belong to the same 4 ms sample i (NeuroBench's convention).
    Spikes are kept compact (uint8 for binary inputs and real counts: 1 byte per sample and
    channel instead of 4); consumers convert the rows they use (``bench.windows`` sums them
    exactly, ``ReachingData.stream`` converts one split). ``inputs`` is a float32 copy of the
    whole array, made on each access, for code that wants NeuroBench's float layout.
    """

    name: str  # session name, e.g. "indy_20160630_01" or "sim_indy_1"
    spikes: np.ndarray  # (T, C) uint8 (uint16/32 if needed): binary (any unit fired) or counts
    labels: np.ndarray  # (T, 2) float32: cursor velocity x, y in mm per 4 ms sample
    segments: np.ndarray  # (S, 2) int64: [start, stop) sample indices of each reach
    split: dict[str, np.ndarray]  # "train" | "val" | "test" -> sorted int64 sample indices
    channel_names: tuple[str, ...]
    identity: dict  # {"source": "file", "md5": ...} or {"source": "synthetic", "seed": ..., ...}
    input_mode: str = "binary"  # "binary" (NeuroBench) or "counts"
    bin_width: float = 0.004
    train_ratio: float = 0.5
    extra: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "spikes", compact_counts(self.spikes))

    @property
    def inputs(self) -> np.ndarray:
        """(T, C) float32 copy of ``spikes`` (NeuroBench's dtype); a new array on each call."""
        return self.spikes.astype(np.float32)

    @property
    def n_channels(self) -> int:
        return int(self.spikes.shape[1])

    @property
    def n_samples(self) -> int:
        return int(self.spikes.shape[0])

    @property
    def synthetic(self) -> bool:
        return self.identity.get("source") == "synthetic"


@dataclass(frozen=True, eq=False)
class RawReachingSession:
    """What a Zenodo reaching file holds, in MATLAB's orientation already undone.

    This is what the synthetic generator produces and what ``bench.data.matfile`` writes.
    """

    t: np.ndarray  # (k,) float64 seconds, exact 4 ms grid, starting far from 0
    cursor_pos: np.ndarray  # (k, 2) float64 mm
    target_pos: np.ndarray  # (k, 2) float64 mm
    finger_pos: np.ndarray  # (k, 3) or (k, 6) float64 cm: z, -x, -y[, azimuth, elevation, roll]
    spikes: list[list[np.ndarray]]  # [unit_row][channel] -> 1-D float64 spike times (s); may be empty
    chan_names: list[str]  # e.g. ["M1 001", ...]
    attrs: dict = field(default_factory=dict)  # provenance written next to the data (synthetic only)
